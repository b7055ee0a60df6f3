//! The embedded store's durability: backups taken while writes go on, and group commit
//! (many writes, one transaction) answering each write only once its batch is durable.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use creditkit_api::{CaptureRequest, HoldRequest, QuoteRequest};
use creditkit_ledger::time::ManualClock;
use creditkit_pricing::{Item, Request};

fn rewrite() -> QuoteRequest {
    QuoteRequest {
        wallet_id: None,
        request: Request::single(Item::new("rewrite")),
        project: None,
        stream: None,
        conversation_id: None,
    }
}

/// A full charge with the keys `h{n}` and `c{n}`; returns the quote and hold ids.
async fn charge(ledger: &Ledger, p: &Principal, n: usize) -> (String, String) {
    let q = ledger.quote(p, &rewrite()).await.unwrap();
    let h = ledger
        .hold(
            p,
            &HoldRequest {
                quote_id: q.id.clone(),
            },
            &format!("h{n}"),
        )
        .await
        .unwrap();
    ledger
        .capture(
            p,
            &h.id,
            &CaptureRequest {
                amount_millicredits: Some(1000),
                actual: None,
            },
            &format!("c{n}"),
        )
        .await
        .unwrap();
    (q.id, h.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_to_an_audited_ledger_that_replays_its_keys() {
    let env = env(Store::Sqlite).await;
    let (p, wallet) = env.workspace(LANDING, None).await;
    env.ledger
        .grant(&p, &grant_req(1_000_000_000, None), "seed")
        .await
        .unwrap();
    // Eight writers charge without pause while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (ledger, p, stop) = (env.ledger.clone(), p.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                let (quote, hold) = charge(&ledger, &p, n).await;
                acked.push((n, quote, hold, std::time::Instant::now()));
                n += 8;
            }
            acked
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let path = std::env::temp_dir().join(format!(
        "creditkit-backup-{}.db",
        std::process::id() as u64 * 1000 + rand_suffix()
    ));
    let started = std::time::Instant::now();
    let bytes = env.ledger.backup(&path).await.unwrap();
    let backed_up_at = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for w in workers {
        acked.extend(w.await.unwrap());
    }
    assert!(acked.len() > 20, "writes went on: {}", acked.len());
    assert!(bytes > 0);
    // A second backup to the same file is refused: a backup never overwrites.
    assert!(env.ledger.backup(&path).await.is_err());
    env.ledger.audit(&wallet).await.unwrap();

    let url = format!("sqlite://{}", path.display());
    let restored = Ledger::open(&url, Arc::new(ManualClock::new(T0)), Config::default())
        .await
        .expect("the backup opens");
    restored
        .audit(&wallet)
        .await
        .expect("the backup is consistent");
    // Every key acknowledged before the backup began replays its first answer; keys
    // acknowledged while it ran may or may not be in it, and after it, are not.
    let mut replayed = 0;
    for (n, quote, hold, acked_at) in &acked {
        let again = restored
            .hold(
                &p,
                &HoldRequest {
                    quote_id: quote.clone(),
                },
                &format!("h{n}"),
            )
            .await;
        let same = matches!(&again, Ok(h) if &h.id == hold);
        if *acked_at < started {
            assert!(same, "key h{n}, acknowledged before the backup: {again:?}");
        }
        replayed += usize::from(same);
    }
    assert!(replayed > 0, "the backup holds acknowledged keys");
    println!(
        "backup: {bytes} bytes while {} charges ran; {replayed} of their keys were in it ({:?} after)",
        acked.len(),
        backed_up_at.elapsed()
    );
    restored.audit(&wallet).await.unwrap();
    let _ = std::fs::remove_file(&path);
}

fn rand_suffix() -> u64 {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).unwrap();
    u32::from_le_bytes(b) as u64 % 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_commits_and_each_is_durable_when_answered() {
    let env = env(Store::Sqlite).await;
    let (p, wallet) = env.workspace(LANDING, None).await;
    env.ledger
        .grant(&p, &grant_req(1_000_000_000, None), "seed")
        .await
        .unwrap();
    let before = env.ledger.writer_stats().await;
    let mut tasks = Vec::new();
    for n in 0..200 {
        let (ledger, p) = (env.ledger.clone(), p.clone());
        tasks.push(tokio::spawn(async move { charge(&ledger, &p, n).await }));
    }
    let mut holds = Vec::new();
    for t in tasks {
        holds.push(t.await.unwrap().1);
    }
    let stats = env.ledger.writer_stats().await;
    let (batches, writes) = (stats.batches - before.batches, stats.writes - before.writes);
    println!("group commit: {writes} writes in {batches} commits");
    assert!(
        writes >= 400,
        "hold and capture each wrote (a quote writes nothing): {writes}"
    );
    assert!(
        batches < writes,
        "concurrent writes shared commits: {writes} writes, {batches} commits"
    );
    // Answered means durable: a fresh ledger on the same file (a restarted process)
    // sees every charge.
    let url = env.url.clone();
    let reopened = Ledger::open(&url, Arc::new(ManualClock::new(T0)), Config::default())
        .await
        .unwrap();
    reopened.audit(&wallet).await.unwrap();
    let b = reopened.balance(&p, None).await.unwrap();
    assert_eq!(b.lifetime_used_millicredits, 200 * 1000);
    assert_eq!(holds.len(), 200);
}

/// The log is copied back into the database by the checkpoint thread, not only once it
/// reaches SQLite's 1,000 pages inside a commit: after a few dozen writes and a pause,
/// the database file has grown with them; with SQLite's own checkpointing alone it has not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_thread_copies_the_log_back_beside_the_writer() {
    for background_checkpoint in [false, true] {
        let config = Config {
            background_checkpoint,
            ..Config::default()
        };
        let env = env_with(Store::Sqlite, config).await;
        let (p, wallet) = env.workspace(LANDING, None).await;
        env.ledger
            .grant(&p, &grant_req(1_000_000, None), "seed")
            .await
            .unwrap();
        let path = env
            .url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let file_bytes = || std::fs::metadata(&path).unwrap().len();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let before = file_bytes();
        for n in 0..20 {
            charge(&env.ledger, &p, n).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let after = file_bytes();
        println!("background checkpoint {background_checkpoint}: database file {before} -> {after} bytes");
        if background_checkpoint {
            assert!(
                after > before,
                "the log was copied back: {before} -> {after}"
            );
        } else {
            assert_eq!(after, before, "SQLite alone copies only at 1,000 pages");
        }
        env.ledger.audit(&wallet).await.unwrap();
    }
}

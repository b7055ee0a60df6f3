//! The real binary under load, killed with SIGKILL mid-load, restarted on the same
//! database: the ledger audits clean and holds left open by the crash release
//! themselves. On SQLite and PostgreSQL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str, demo: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_creditkit"))
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--seed-demo",
        ])
        .arg(demo)
        .args(["--hold-ttl-ms", "1500", "--sweep-ms", "200"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start creditkit serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some((_, rest)) = line.split_once("serving http://") {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
    };
    std::thread::spawn(move || for _ in lines {}); // keep draining the log
    Server { child, base }
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: &str,
    key: Option<String>,
    body: Value,
) -> Option<(u16, Value)> {
    let mut req = http.post(url).bearer_auth(token).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.ok()?))
}

async fn kill_mid_load_and_restart(store: Store) {
    let db = fresh_url(store).await;
    let dir = std::env::temp_dir().join(format!("creditkit-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let demo = dir.join(format!("{store:?}-demo.json"));
    let _ = std::fs::remove_file(&demo);
    let server = start(&db, &demo);
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(&demo).unwrap()).unwrap();
    let kappax = &tokens["products"][0];
    let key = kappax["api_key"].as_str().unwrap().to_string();
    let wallet = kappax["wallet_id"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let (s, _) = post(
        &http,
        format!("{}/v1/topups", server.base),
        &key,
        Some("topup".into()),
        json!({ "pack_id": "small" }),
    )
    .await
    .unwrap();
    assert_eq!(s, 200);

    // Load: quote, hold, and capture about half of the holds; the rest stay open.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..8u64 {
        let (http, base, key, stop, done) = (
            http.clone(),
            server.base.clone(),
            key.clone(),
            stop.clone(),
            done.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let Some((200, q)) = post(
                    &http,
                    format!("{base}/v1/quotes"),
                    &key,
                    None,
                    json!({ "request": { "action": "static_creative" } }),
                )
                .await
                else {
                    continue;
                };
                let Some((200, h)) = post(
                    &http,
                    format!("{base}/v1/holds"),
                    &key,
                    Some(format!("h{w}-{i}")),
                    json!({ "quote_id": q["id"] }),
                )
                .await
                else {
                    continue;
                };
                if i.is_multiple_of(2) {
                    let url = format!("{base}/v1/holds/{}/capture", h["id"].as_str().unwrap());
                    post(
                        &http,
                        url,
                        &key,
                        Some(format!("c{w}-{i}")),
                        json!({ "amount_millicredits": 2000 }),
                    )
                    .await;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while done.load(Ordering::Relaxed) < 60 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server); // SIGKILL mid-load
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }

    // Restart on the same database: consistent, and the crash's open holds expire.
    let server = start(&db, &demo);
    let ledger = Ledger::open(&db, Arc::new(SystemClock), Config::default())
        .await
        .unwrap();
    ledger.audit(&wallet).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await; // > hold TTL + sweep interval
    let b: Value = http
        .get(format!("{}/v1/balance", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["held_millicredits"], 0, "stale holds released: {b}");
    let used = b["lifetime_used_millicredits"].as_u64().unwrap();
    assert!(
        used > 0 && used.is_multiple_of(2000),
        "only whole captures were charged: {b}"
    );
    assert_eq!(
        b["balance_millicredits"].as_u64().unwrap(),
        1_130_000 - used
    );
    ledger.audit(&wallet).await.unwrap();
    ledger.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_server_killed_mid_load_restarts_consistent() {
    kill_mid_load_and_restart(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_server_killed_mid_load_restarts_consistent() {
    kill_mid_load_and_restart(Store::Postgres).await;
}

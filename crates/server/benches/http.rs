//! Charges per second over HTTP, and what the database alone does, side by side:
//! `cargo xtask bench http` (or `cargo bench -p creditkit-server --bench http`).
//!
//! The server (release build, its own 2-thread runtime) and a load generator (keep-alive
//! connections, its own runtime) share the machine. A charge is quote + hold + capture,
//! each call with a fresh idempotency key. Closed loop at 1, 4, 16, 64 and 256 clients on
//! one hot wallet, 64 clients over 64 wallets, then open loop at fixed rates (latency
//! counted from when each charge was due, so a stall is not hidden). Baselines run in the
//! same process: SQLite `synchronous = FULL` committing one UPDATE + INSERT per
//! transaction, and a pgbench-style hot row on PostgreSQL (16 connections).
//! `CREDITKIT_BENCH_SECONDS` sets each point's length (default 3); `CREDITKIT_BENCH_STORES`
//! picks `sqlite`, `postgres` or both (default); `CREDITKIT_BENCH_SOAK_SECONDS` adds a long
//! open-loop run at half the best rate, printing memory, rows and the database's size each minute
//! (`cargo xtask bench http` runs 600 s). `CREDITKIT_BENCH_PROFILE=1` samples the
//! process with `perf` during the 64-client point on one wallet and prints where the
//! server's CPU goes per charge (`support/profile.rs`).

// Rates, percentiles and ratios are reported as floats; no amount is.
#![allow(clippy::float_arithmetic)]

#[path = "support/profile.rs"]
mod profile;

use std::sync::Arc;
use std::time::{Duration, Instant};

use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger, Principal};
use creditkit_server::{router, AppState, Options, Rate, RateLimits};
use serde_json::{json, Value};
use sqlx::Connection;

/// The allocator `creditkit serve` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CARD: &str = include_str!("../../../examples/ratecards/landing.json");

struct Target {
    base: String,
    key: String,
    wallets: Vec<String>,
    ledger: Arc<Ledger>,
}

/// Latencies of one kind of call, in microseconds.
#[derive(Default)]
struct Lat(Vec<u32>);

impl Lat {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros().min(u32::MAX as u128) as u32);
    }
    fn pct(&mut self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() as f64 * q) as usize).min(self.0.len() - 1);
        self.0[i] as f64 / 1000.0
    }
}

async fn call(http: &reqwest::Client, t: &Target, path: &str, key: &str, body: Value) -> Value {
    let r = http
        .post(format!("{}{path}", t.base))
        .bearer_auth(&t.key)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// One charge; returns each call's latency.
async fn charge(http: &reqwest::Client, t: &Target, wallet: &str, n: u64) -> [Duration; 3] {
    let a = Instant::now();
    let q = call(
        http,
        t,
        "/v1/quotes",
        &format!("q{n}"),
        json!({ "wallet_id": wallet, "request": { "action": "rewrite" } }),
    )
    .await;
    let b = Instant::now();
    let h = call(
        http,
        t,
        "/v1/holds",
        &format!("h{n}"),
        json!({ "quote_id": q["id"] }),
    )
    .await;
    let c = Instant::now();
    let hold = h["id"].as_str().unwrap();
    call(
        http,
        t,
        &format!("/v1/holds/{hold}/capture"),
        &format!("c{n}"),
        json!({ "amount_millicredits": 1000 }),
    )
    .await;
    [b - a, c - b, c.elapsed()]
}

struct Point {
    label: String,
    charges_per_s: f64,
    /// p50, p99, p999 of every call (quote, hold and capture together), ms.
    p: [f64; 3],
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next() -> u64 {
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

async fn closed_loop(
    t: &Arc<Target>,
    http: &reqwest::Client,
    clients: usize,
    wallets: usize,
    secs: f64,
) -> Point {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (t, http) = (t.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::default();
            let mut done = 0u64;
            while Instant::now() < deadline {
                let w = &t.wallets[c % wallets];
                for d in charge(&http, &t, w, next()).await {
                    lat.push(d);
                }
                done += 1;
            }
            (lat, done)
        }));
    }
    let mut all = Lat::default();
    let mut total = 0;
    for task in tasks {
        let (lat, done) = task.await.unwrap();
        all.0.extend(lat.0);
        total += done;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Point {
        label: format!("closed, {clients} clients, {wallets} wallet(s)"),
        charges_per_s: total as f64 / elapsed,
        p: [all.pct(0.50), all.pct(0.99), all.pct(0.999)],
    }
}

/// Charges started at a fixed rate whatever the answers; latency from when each was due.
async fn open_loop(t: &Arc<Target>, http: &reqwest::Client, rate: f64, secs: f64) -> Point {
    let count = (rate * secs).max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..count {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (t, http) = (t.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let calls = charge(&http, &t, &t.wallets[0], next()).await;
            (calls, due.elapsed())
        }));
    }
    let mut all = Lat::default();
    for task in tasks {
        let (calls, since_due) = task.await.unwrap();
        // Each call's own time, plus (for the first) any wait past its due time.
        let queued = since_due.saturating_sub(calls.iter().sum());
        all.push(calls[0] + queued);
        all.push(calls[1]);
        all.push(calls[2]);
    }
    Point {
        label: format!("open, {rate:.0} charges/s offered, 1 wallet"),
        charges_per_s: count as f64 / started.elapsed().as_secs_f64(),
        p: [all.pct(0.50), all.pct(0.99), all.pct(0.999)],
    }
}

/// The floor HTTP alone sets here: an axum route that reads a JSON body and answers a
/// small JSON object (no auth, no database), on the same runtime, driven by the same
/// load generator with three calls per "charge". No charge over HTTP can beat it.
fn http_floor(
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    secs: f64,
) -> f64 {
    let base = server_rt.block_on(async {
        let app = axum::Router::new().route(
            "/floor",
            axum::routing::post(|axum::Json(v): axum::Json<Value>| async move {
                axum::Json(json!({ "id": "hld_0123456789abcdef01234567", "echo": v }))
            }),
        );
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", socket.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        base
    });
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let calls = client_rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (http, url) = (http.clone(), format!("{base}/floor"));
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let r = http
                        .post(&url)
                        .bearer_auth("ck_live_0123456789abcdef")
                        .header("idempotency-key", format!("k{n}"))
                        .json(&json!({ "wallet_id": "wal_0123456789abcdef01234567", "request": { "action": "rewrite" } }))
                        .send()
                        .await
                        .expect("the floor answers");
                    let _: Value = r.json().await.unwrap();
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });
    calls as f64 / 3.0 / started.elapsed().as_secs_f64()
}

/// CPU time (user + system) of the server runtime's threads so far, in seconds.
fn server_cpu_s() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != "server" {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    // Linux reports these in USER_HZ, 100 per second.
    ticks as f64 / 100.0
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

/// How long idempotency keys replay here: a minute (production keeps them 24 hours), so a
/// 10-minute soak reaches the steady state where pruning keeps storage flat.
const RETENTION_MS: i64 = 60_000;

/// The server on its own runtime (2 workers), a workspace, 64 wallets with credits.
fn start(server_rt: &tokio::runtime::Runtime, url: &str, background_checkpoint: bool) -> Target {
    server_rt.block_on(async {
        let ledger = Arc::new(
            Ledger::open(
                url,
                Arc::new(SystemClock),
                Config {
                    retention_ms: RETENTION_MS,
                    background_checkpoint,
                    ..Config::default()
                },
            )
            .await
            .expect("open the ledger"),
        );
        // As in production: the sweeper settles and prunes while the load runs.
        creditkit_server::spawn_sweeper(ledger.clone(), Duration::from_secs(5));
        let off = Rate {
            per_second: 0,
            burst: 0,
        };
        let app = router(
            AppState::with_limits(
                ledger.clone(),
                RateLimits {
                    session: off,
                    workspace: off,
                    failures: off,
                },
            ),
            &Options::default(),
        );
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", socket.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        let ws = ledger
            .create_workspace(&Principal::operator(""), "bench", CARD, None)
            .await
            .unwrap();
        let key = ledger
            .create_api_key(&Principal::operator(&ws.id), None)
            .await
            .unwrap();
        let p = ledger.authenticate(&key.secret).await.unwrap();
        let mut wallets = vec![ws.wallet_id.clone()];
        while wallets.len() < 64 {
            wallets.push(
                ledger
                    .create_wallet(&p, creditkit_api::WalletKind::Organization)
                    .await
                    .unwrap(),
            );
        }
        for (i, w) in wallets.iter().enumerate() {
            let grant = creditkit_api::admin::GrantRequest {
                amount_millicredits: 1_000_000_000_000,
                reason: "bench".into(),
                wallet_id: Some(w.clone()),
                expires_at_ms: None,
            };
            ledger.grant(&p, &grant, &format!("seed{i}")).await.unwrap();
        }
        Target {
            base,
            key: key.secret,
            wallets,
            ledger,
        }
    })
}

/// SQLite alone: one UPDATE + INSERT per transaction, `synchronous = FULL`, WAL, through
/// the C library directly (prepared statements, no driver between), as fast as one
/// durable transaction at a time goes on this disk.
fn sqlite_baseline(secs: f64) -> f64 {
    let path = std::env::temp_dir().join(format!("creditkit-baseline-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE w (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
         CREATE TABLE e (seq INTEGER PRIMARY KEY, w INTEGER NOT NULL, delta INTEGER NOT NULL);
         INSERT INTO w VALUES (1, 1000000000);",
    )
    .unwrap();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        let tx = c.transaction().unwrap();
        tx.prepare_cached("UPDATE w SET balance = balance - 1 WHERE id = 1")
            .unwrap()
            .execute([])
            .unwrap();
        tx.prepare_cached("INSERT INTO e (w, delta) VALUES (1, -1)")
            .unwrap()
            .execute([])
            .unwrap();
        tx.commit().unwrap();
        n += 1;
    }
    drop(c);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// PostgreSQL alone, pgbench-style: 16 connections, each transaction one UPDATE of one
/// hot row and one INSERT.
async fn postgres_baseline(url: &str, secs: f64) -> f64 {
    let mut setup = sqlx::PgConnection::connect(url).await.unwrap();
    for s in [
        "CREATE TABLE bench_w (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE bench_e (seq BIGSERIAL PRIMARY KEY, w INT NOT NULL, delta BIGINT NOT NULL)",
        "INSERT INTO bench_w VALUES (1, 1000000000)",
    ] {
        sqlx::query(s).execute(&mut setup).await.unwrap();
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut n = 0u64;
            while started.elapsed().as_secs_f64() < secs {
                let mut tx = c.begin().await.unwrap();
                sqlx::query("UPDATE bench_w SET balance = balance - 1 WHERE id = 1")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO bench_e (w, delta) VALUES (1, -1)")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// A long open-loop run at `rate`: each minute, throughput, p99 and what the process and
/// the database hold (memory and storage stay flat once the retention window is full).
/// The database's size on disk: SQLite's file and its log; PostgreSQL's database.
async fn database_bytes(url: &str) -> u64 {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or(rest);
        return [path.to_string(), format!("{path}-wal")]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
    }
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return 0;
    };
    let size: Result<(i64,), _> = sqlx::query_as("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await;
    size.map_or(0, |(n,)| n.max(0) as u64)
}

#[allow(clippy::too_many_arguments)] // one soak's setting
fn soak(
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    target: &Arc<Target>,
    http: &reqwest::Client,
    url: &str,
    rate: f64,
    secs: f64,
) {
    println!(
        "soak: {rate:.0} charges/s offered for {secs:.0} s, keys kept {} s",
        RETENTION_MS / 1000
    );
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < secs {
        let chunk = (secs - started.elapsed().as_secs_f64()).min(60.0);
        let p = client_rt.block_on(open_loop(target, http, rate, chunk));
        let rows = server_rt.block_on(target.ledger.row_counts()).unwrap();
        let rows: Vec<String> = rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        let size_mib = client_rt.block_on(database_bytes(url)) as f64 / (1 << 20) as f64;
        println!(
            "  {:>4.0} s: {:.0} charges/s, p99 {:.2} ms, RSS {:.0} MiB, database {size_mib:.1} MiB, rows: {}",
            started.elapsed().as_secs_f64(),
            p.charges_per_s,
            p.p[1],
            rss_mib(),
            rows.join(", ")
        );
    }
}

fn main() {
    let secs: f64 = std::env::var("CREDITKIT_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let profiling = std::env::var("CREDITKIT_BENCH_PROFILE").is_ok_and(|v| v == "1");
    let soak_secs: f64 = std::env::var("CREDITKIT_BENCH_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    // SQLite runs twice: with its log checkpointed inside commits (SQLite's default),
    // then as creditkit runs it, checkpointed by a thread of its own.
    let sqlite = [(Store::Sqlite, false), (Store::Sqlite, true)];
    let stores: Vec<(Store, bool)> = match std::env::var("CREDITKIT_BENCH_STORES").as_deref() {
        Ok("sqlite") => sqlite.to_vec(),
        Ok("postgres") => vec![(Store::Postgres, true)],
        _ => [&sqlite[..], &[(Store::Postgres, true)]].concat(),
    };
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    println!("creditkit HTTP bench: quote + hold + capture per charge, {secs} s per point");
    println!(
        "floor: HTTP alone (axum JSON echo, 3 calls per charge, 64 clients): {:.0} charges/s",
        http_floor(&server_rt, &client_rt, secs)
    );
    for (store, background_checkpoint) in stores {
        let url = client_rt.block_on(fresh_url(store));
        let baseline = client_rt.block_on(async {
            match store {
                Store::Sqlite => (
                    "SQLite alone, FULL, UPDATE + INSERT per tx (tx/s)",
                    sqlite_baseline(secs),
                ),
                Store::Postgres => (
                    "PostgreSQL alone, pgbench-style hot row, 16 connections (tx/s)",
                    postgres_baseline(&url, secs).await,
                ),
            }
        });
        let target = Arc::new(start(&server_rt, &url, background_checkpoint));
        let rss_start = rss_mib();
        let rows_start = server_rt.block_on(target.ledger.row_counts()).unwrap();
        let batches_start = server_rt.block_on(target.ledger.writer_stats());
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .build()
            .unwrap();
        let checkpoints = match (store, background_checkpoint) {
            (Store::Postgres, _) => "",
            (_, false) => ", log checkpointed inside commits (SQLite's default)",
            (_, true) => ", log checkpointed by its own thread (the default here)",
        };
        println!(
            "\n{store:?}{checkpoints} — baseline: {}: {:.0}",
            baseline.0, baseline.1
        );
        println!(
            "{:<44} {:>11} {:>9} {:>9} {:>9} {:>9} {:>12}",
            "load", "charges/s", "p50 ms", "p99 ms", "p999 ms", "÷ base", "server CPU"
        );
        let mut best: f64 = 0.0;
        // Each point, with the server's CPU time per charge (steadier than a rate on a
        // shared machine: what a change saves shows here even when the rate is noisy).
        let run = |point: &dyn Fn() -> Point| {
            let cpu = server_cpu_s();
            let started = Instant::now();
            let p = point();
            let charges = p.charges_per_s * started.elapsed().as_secs_f64();
            let cpu_us = (server_cpu_s() - cpu) * 1e6 / charges;
            println!(
                "{:<44} {:>11.0} {:>9.2} {:>9.2} {:>9.2} {:>8.2}× {:>7.0} µs/ch",
                p.label,
                p.charges_per_s,
                p.p[0],
                p.p[1],
                p.p[2],
                p.charges_per_s / baseline.1,
                cpu_us
            );
            p
        };
        let mut total_charges = 0.0;
        for clients in [1, 4, 16, 64, 256] {
            let recording = (clients == 64 && profiling).then(profile::start);
            let cpu = server_cpu_s();
            let p = run(&|| client_rt.block_on(closed_loop(&target, &http, clients, 1, secs)));
            best = best.max(p.charges_per_s);
            total_charges += p.charges_per_s * secs;
            match recording {
                Some(Ok(recording)) => {
                    let charges = p.charges_per_s * secs;
                    recording.report(charges, (server_cpu_s() - cpu) * 1e6 / charges);
                }
                Some(Err(why)) => println!("profile: {why}"),
                None => {}
            }
        }
        let p = run(&|| client_rt.block_on(closed_loop(&target, &http, 64, 64, secs)));
        total_charges += p.charges_per_s * secs;
        for share in [0.25, 0.5] {
            let p = run(&|| client_rt.block_on(open_loop(&target, &http, best * share, secs)));
            total_charges += p.charges_per_s * secs;
        }
        let rows_end = server_rt.block_on(target.ledger.row_counts()).unwrap();
        let batches_end = server_rt.block_on(target.ledger.writer_stats());
        let writes = batches_end.writes - batches_start.writes;
        let batches = batches_end.batches - batches_start.batches;
        if batches > 0 {
            println!(
                "group commit: {writes} writes in {batches} commits ({:.1} writes per fsync); {:.1} SQLite statements per charge",
                writes as f64 / batches as f64,
                (batches_end.statements - batches_start.statements) as f64 / total_charges
            );
        }
        let per_charge: Vec<String> = rows_end
            .iter()
            .zip(&rows_start)
            .map(|((t, end), (_, start))| {
                format!("{t} {:.2}", (end - start) as f64 / total_charges)
            })
            .collect();
        println!("rows per charge: {}", per_charge.join(", "));
        println!(
            "process RSS: {rss_start:.0} MiB at start, {:.0} MiB at end",
            rss_mib()
        );
        // The soak runs the way creditkit runs (SQLite's checkpoint thread; PostgreSQL).
        if soak_secs > 0.0 && background_checkpoint {
            soak(
                &server_rt,
                &client_rt,
                &target,
                &http,
                &url,
                best * 0.5,
                soak_secs,
            );
        }
        for w in &target.wallets {
            server_rt
                .block_on(target.ledger.audit(w))
                .expect("the ledger is consistent after the load");
        }
    }
}

//! The real binary under load, killed with SIGKILL mid-load, restarted on the same
//! database: the ledger audits clean, holds left open by the crash release themselves,
//! and every event committed before or after the crash reaches a real webhook receiver
//! (none lost; a redelivery carries the same id). On SQLite and PostgreSQL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use creditkit_api::admin::{DeliveryStatus, NewWebhookEndpoint};
use creditkit_ledger::Principal;

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
        .arg("--allow-private-webhooks")
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

/// A webhook receiver on a real socket: the event ids it got, in order.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let sink = sink.clone();
            async move {
                let id = headers
                    .get("creditkit-event-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                sink.lock().unwrap().push(id);
                axum::http::StatusCode::OK
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (url, got)
}

async fn kill_mid_load_and_restart(store: Store) {
    let db = fresh_url(store).await;
    // Subscribe a receiver to every event before the server starts.
    let (hook, received) = receiver().await;
    {
        // The receiver is on this machine: a private target, allowed for this test.
        let config = Config {
            allow_private_webhooks: true,
            ..Config::default()
        };
        let ledger = Ledger::open(&db, Arc::new(SystemClock), config)
            .await
            .unwrap();
        let endpoint = NewWebhookEndpoint {
            url: hook,
            events: Vec::new(),
            workspace_id: None,
        };
        ledger
            .create_webhook_endpoint(&Principal::operator(""), &endpoint)
            .await
            .unwrap();
        ledger.close().await;
    }
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
    // Every hold and capture the server acknowledged (200): none may be lost.
    let acked: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..8u64 {
        let (http, base, key, stop, done, acked) = (
            http.clone(),
            server.base.clone(),
            key.clone(),
            stop.clone(),
            done.clone(),
            acked.clone(),
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
                let hold_id = h["id"].as_str().unwrap().to_string();
                let mut captured = false;
                if i.is_multiple_of(2) {
                    let url = format!("{base}/v1/holds/{hold_id}/capture");
                    captured = matches!(
                        post(
                            &http,
                            url,
                            &key,
                            Some(format!("c{w}-{i}")),
                            json!({ "amount_millicredits": 2000 }),
                        )
                        .await,
                        Some((200, _))
                    );
                }
                acked.lock().unwrap().push((hold_id, captured));
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
    // Nothing acknowledged was lost: every hold is there, every capture charged.
    let acked = acked.lock().unwrap().clone();
    for (hold_id, captured) in &acked {
        let h: Value = http
            .get(format!("{}/v1/holds/{hold_id}", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            h["id"] == hold_id.as_str(),
            "acknowledged hold {hold_id} lost: {h}"
        );
        if *captured {
            assert_eq!(h["status"], "captured", "{h}");
            assert_eq!(h["captured_millicredits"], 2000, "{h}");
        }
    }
    println!(
        "{store:?}: {} acknowledged holds ({} captured) all there after SIGKILL",
        acked.len(),
        acked.iter().filter(|a| a.1).count()
    );
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

    // Every event the database holds (committed before or after the crash) arrives.
    let operator = Principal::operator("");
    let mut committed = Vec::new();
    for _ in 0..300 {
        committed.clear();
        let mut pending = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = ledger
                .events(&operator, None, cursor.as_deref(), Some(200))
                .await
                .unwrap();
            for r in &page.items {
                committed.push(r.event.id.clone());
                pending += r
                    .deliveries
                    .iter()
                    .filter(|d| d.status != DeliveryStatus::Delivered)
                    .count();
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = received.lock().unwrap().clone();
    let unique: std::collections::BTreeSet<&String> = got.iter().collect();
    let lost: Vec<_> = committed.iter().filter(|id| !unique.contains(id)).collect();
    let phantom: Vec<_> = unique.iter().filter(|id| !committed.contains(id)).collect();
    println!(
        "{store:?}: {} events committed, {} deliveries received ({} redelivered with the same id)",
        committed.len(),
        got.len(),
        got.len() - unique.len()
    );
    assert!(
        committed.len() > 100,
        "the load made events: {}",
        committed.len()
    );
    assert!(lost.is_empty(), "events never delivered: {lost:?}");
    assert!(
        phantom.is_empty(),
        "deliveries of events that were never committed: {phantom:?}"
    );
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

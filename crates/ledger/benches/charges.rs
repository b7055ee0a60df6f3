//! Charges per second and latency: `cargo bench -p creditkit-ledger --bench charges`.
//!
//! A charge is the full money path: quote → hold → capture, each its own database
//! transaction. Two shapes, each on SQLite and PostgreSQL, side by side in one run:
//! every worker on one hot wallet (row-lock contention), and workers spread over many
//! wallets. Set CREDITKIT_BENCH_CHARGES to change the count (default 2000).

// Timings and ratios are reported as floats; no amount is.
#![allow(clippy::float_arithmetic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use creditkit_api::{CaptureRequest, HoldRequest, QuoteRequest};
use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger, Principal};
use creditkit_pricing::{Item, Request};

const CARD: &str = include_str!("../../../examples/ratecards/landing.json");
const WORKERS: usize = 16;

async fn charge(ledger: &Ledger, p: &Principal, wallet: &str, n: usize) -> Duration {
    let start = Instant::now();
    let req = QuoteRequest {
        wallet_id: Some(wallet.to_string()),
        request: Request::single(Item::new("rewrite")),
        project: None,
        stream: None,
        conversation_id: None,
    };
    let q = ledger.quote(p, &req).await.expect("quote");
    let h = ledger
        .hold(p, &HoldRequest { quote_id: q.id }, &format!("h{n}"))
        .await
        .expect("hold");
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
        .expect("capture");
    start.elapsed()
}

async fn scenario(store: Store, wallets: usize, charges: usize) -> (f64, Duration, Duration) {
    let url = fresh_url(store).await;
    let ledger = Arc::new(
        Ledger::open(&url, Arc::new(SystemClock), Config::default())
            .await
            .unwrap(),
    );
    let operator = creditkit_ledger::Principal::operator("");
    let ws = ledger
        .create_workspace(&operator, "bench", CARD, None)
        .await
        .unwrap();
    let key = ledger
        .create_api_key(&creditkit_ledger::Principal::operator(&ws.id), None)
        .await
        .unwrap();
    let p = ledger.authenticate(&key.secret).await.unwrap();
    let mut ids = vec![ws.wallet_id.clone()];
    while ids.len() < wallets {
        ids.push(
            ledger
                .create_wallet(&p, creditkit_api::WalletKind::Organization)
                .await
                .unwrap(),
        );
    }
    for (i, w) in ids.iter().enumerate() {
        let grant = creditkit_api::admin::GrantRequest {
            amount_millicredits: (charges as u64 + 10) * 1000,
            reason: "bench".into(),
            wallet_id: Some(w.clone()),
            expires_at_ms: None,
        };
        ledger.grant(&p, &grant, &format!("seed{i}")).await.unwrap();
    }
    let ids = Arc::new(ids);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let (ledger, p, ids) = (ledger.clone(), p.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = worker;
            while n < charges {
                lat.push(charge(&ledger, &p, &ids[n % ids.len()], n).await);
                n += WORKERS;
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    for w in ids.iter() {
        ledger
            .audit(w)
            .await
            .expect("ledger consistent after the bench");
    }
    ledger.close().await;
    lat.sort();
    let pct = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (charges as f64 / elapsed.as_secs_f64(), pct(0.50), pct(0.99))
}

fn main() {
    let charges: usize = std::env::var("CREDITKIT_BENCH_CHARGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("creditkit ledger bench: {charges} charges (quote + hold + capture), {WORKERS} concurrent workers");
    println!(
        "{:<10} {:<16} {:>12} {:>10} {:>10}",
        "store", "wallets", "charges/s", "p50 ms", "p99 ms"
    );
    let mut rows = Vec::new();
    for store in [Store::Sqlite, Store::Postgres] {
        for (label, wallets) in [("1 (hot)", 1), ("64", 64)] {
            let (rate, p50, p99) = rt.block_on(scenario(store, wallets, charges));
            println!(
                "{:<10} {:<16} {:>12.0} {:>10.2} {:>10.2}",
                format!("{store:?}"),
                label,
                rate,
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
            rows.push(((store, wallets), rate));
        }
    }
    let get = |s, w| {
        rows.iter()
            .find(|(k, _)| *k == (s, w))
            .map(|(_, r)| *r)
            .unwrap_or(f64::NAN)
    };
    println!(
        "ratios: PostgreSQL/SQLite hot {:.2}×, many {:.2}×; many/hot SQLite {:.2}×, PostgreSQL {:.2}×",
        get(Store::Postgres, 1) / get(Store::Sqlite, 1),
        get(Store::Postgres, 64) / get(Store::Sqlite, 64),
        get(Store::Sqlite, 64) / get(Store::Sqlite, 1),
        get(Store::Postgres, 64) / get(Store::Postgres, 1),
    );
}

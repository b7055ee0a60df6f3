//! The example backend is the template operators copy: it settles only a hold the
//! signed-in user confirmed (issue 30, item 9). Real creditkit over HTTP on both stores,
//! the example backend over HTTP in front of it, the demo's workspaces.

use std::sync::Arc;
use std::time::Duration;

use creditkit_example_operator::{router as backend, Config};
use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_ledger::time::SystemClock;
use creditkit_ledger::Ledger;
use serde_json::{json, Value};

async fn serve(app: axum::Router) -> String {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}

struct SignedIn {
    token: String,
    cookie: String,
}

async fn sign_in(http: &reqwest::Client, site: &str, member: &str) -> SignedIn {
    let resp = http
        .post(format!("{site}/demo/session"))
        .json(&json!({ "product": "kappax", "member": member }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    SignedIn {
        token: body["token"].as_str().unwrap().to_string(),
        cookie,
    }
}

/// A hold `who` confirms in the browser, with their session.
async fn confirm(http: &reqwest::Client, api: &str, who: &SignedIn) -> String {
    let q: Value = http
        .post(format!("{api}/v1/quotes"))
        .bearer_auth(&who.token)
        .json(&json!({ "request": { "action": "headline_variant" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h: Value = http
        .post(format!("{api}/v1/holds"))
        .bearer_auth(&who.token)
        .header("Idempotency-Key", "confirm-1")
        .json(&json!({ "quote_id": q["id"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    h["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{h}"))
        .to_string()
}

async fn run(http: &reqwest::Client, site: &str, cookie: Option<&str>, hold: &str) -> (u16, Value) {
    let mut req = http
        .post(format!("{site}/demo/run"))
        .json(&json!({ "product": "kappax", "hold_id": hold }));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn only_the_confirming_member_s_hold_is_settled(store: Store) {
    let url = fresh_url(store).await;
    let ledger = Arc::new(
        Ledger::open(&url, Arc::new(SystemClock), Default::default())
            .await
            .unwrap(),
    );
    let dir = std::env::temp_dir().join(format!(
        "creditkit-ownership-{store:?}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys.json");
    creditkit_server::demo::seed(&ledger, &keys).await.unwrap();
    let state = creditkit_server::AppState::new(ledger.clone());
    let api = serve(creditkit_server::router(state, &Default::default())).await;
    let mut config = Config::from_seed_file(&api, &keys).unwrap();
    config.work = Duration::ZERO;
    let site = serve(backend(config)).await;
    let http = reqwest::Client::new();
    let alice = sign_in(&http, &site, "alice").await;
    let bob = sign_in(&http, &site, "bob").await;
    let hold = confirm(&http, &api, &alice).await;
    let balance = || async {
        let b: Value = http
            .get(format!("{api}/v1/balance"))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            b["balance_millicredits"].clone(),
            b["held_millicredits"].clone(),
        )
    };
    let before = balance().await;
    // Bob sends Alice's hold id; nobody signed in sends it: refused, nothing settled.
    let (status, body) = run(&http, &site, Some(&bob.cookie), &hold).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(run(&http, &site, None, &hold).await.0, 401);
    assert_eq!(balance().await, before);
    // Alice's own: run and charged.
    let (status, body) = run(&http, &site, Some(&alice.cookie), &hold).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("captured")),
        "{body}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_confirming_member_s_hold_is_settled_on_sqlite() {
    only_the_confirming_member_s_hold_is_settled(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_confirming_member_s_hold_is_settled_on_postgres() {
    only_the_confirming_member_s_hold_is_settled(Store::Postgres).await;
}

//! The token data route and quotes that count a chat turn's text on the server.

use std::io::Read;
use std::sync::Arc;

use creditkit_api::Quote;
use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_ledger::time::ManualClock;
use creditkit_ledger::{Config, Ledger, Principal};
use creditkit_server::{router, AppState, Options};
use creditkit_tokens::{sha256_hex, Bpe, Encoding};
use reqwest::StatusCode;
use serde_json::{json, Value};

const KAPPAX: &str = include_str!("../../../examples/ratecards/kappax.json");
const TEXT: &str = include_str!("../../tokens/tests/corpus/languages.txt");

async fn start() -> (String, String, Arc<Ledger>) {
    let url = fresh_url(Store::Sqlite).await;
    let ledger = Arc::new(
        Ledger::open(
            &url,
            Arc::new(ManualClock::new(1_768_478_400_000)),
            Config::default(),
        )
        .await
        .unwrap(),
    );
    let ws = ledger
        .create_workspace(&Principal::operator(""), "KappaX", KAPPAX, None)
        .await
        .unwrap();
    let key = ledger
        .create_api_key(&Principal::operator(&ws.id), None)
        .await
        .unwrap()
        .secret;
    let app = router(AppState::new(ledger.clone()), &Options::default());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (base, key, ledger)
}

#[tokio::test]
async fn token_data_is_served_verifiable_cacheable_and_gzipped() {
    let (base, _, _) = start().await;
    let http = reqwest::Client::new();
    for enc in Encoding::ALL {
        let url = format!("{base}/v1/tokenizers/{}", enc.name());
        let raw = http.get(&url).send().await.unwrap();
        assert_eq!(raw.status(), StatusCode::OK);
        let etag = raw.headers()["etag"].to_str().unwrap().to_string();
        assert!(raw.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let bytes = raw.bytes().await.unwrap();
        assert_eq!(bytes.len(), enc.asset().bytes);
        assert_eq!(sha256_hex(&bytes), enc.asset().sha256);
        assert_eq!(etag, format!("\"{}\"", enc.asset().sha256));

        let gz = http
            .get(&url)
            .header("accept-encoding", "br, gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        let packed = gz.bytes().await.unwrap();
        assert!(
            packed.len() < bytes.len() * 3 / 4,
            "{} of {}",
            packed.len(),
            bytes.len()
        );
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, bytes);

        let again = http
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    let missing = http
        .get(format!("{base}/v1/tokenizers/p50k_base"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let v: Value = missing.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("o200k_base"), "{v}");
}

async fn post_quote(base: &str, key: &str, params: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/quotes"))
        .bearer_auth(key)
        .json(&json!({ "request": { "items": [ { "action": "chat_turn", "params": params } ] } }))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_quote_counts_the_turn_text_exactly_with_the_model_tokenizer() {
    let (base, key, _) = start().await;
    let n = Bpe::embedded(Encoding::O200kBase).count(TEXT);
    let by_text = post_quote(
        &base,
        &key,
        json!({ "model": "kappax-agent", "input_text": TEXT }),
    )
    .await;
    assert_eq!(by_text.0, StatusCode::OK, "{}", by_text.1);
    let by_count = post_quote(
        &base,
        &key,
        json!({ "model": "kappax-agent", "input_tokens": n }),
    )
    .await;
    let (a, b): (Quote, Quote) = (
        serde_json::from_value(by_text.1).unwrap(),
        serde_json::from_value(by_count.1).unwrap(),
    );
    assert!(
        a.estimate
            .lines
            .iter()
            .any(|l| l.label == format!("Input — {n} tokens")),
        "{:?}",
        a.estimate.lines
    );
    assert_eq!(a.estimate.min_millicredits, b.estimate.min_millicredits);
    assert_eq!(a.estimate.max_millicredits, b.estimate.max_millicredits);

    // Both forms at once, a text over the limit, and a text for no model: clear errors.
    let (s, v) = post_quote(
        &base,
        &key,
        json!({ "model": "kappax-agent", "input_text": "hi", "input_tokens": 1 }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains("not both"), "{v}");
    let (s, v) = post_quote(&base, &key, json!({ "input_text": "hi" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = post_quote(
        &base,
        &key,
        json!({ "model": "kappax-agent", "input_text": "" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Clients that give up mid-request (navigation, timeouts) must not wedge the database:
/// SQLite has one connection, and a transaction cancelled half way used to hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_requests_leave_the_database_usable() {
    let (base, key, _) = start().await;
    let body = json!({ "request": { "items": [ { "action": "chat_turn", "params": { "model": "kappax-agent", "input_text": TEXT } } ] } });
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let (base, key, body) = (base.clone(), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_micros(200 + (i * 37) % 3000))
                .build()
                .unwrap();
            let _ = client
                .post(format!("{base}/v1/quotes"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    for _ in 0..5 {
        let resp = client
            .post(format!("{base}/v1/quotes"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .expect("the server still answers after abandoned requests");
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

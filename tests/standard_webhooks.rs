//! creditkit's outbound webhooks verified by the Standard Webhooks library from PyPI
//! (`standardwebhooks`, installed by `cargo xtask`), as an operator's Python backend
//! would: a real delivery from the real server's worker, verified; the same delivery
//! with one byte changed, refused.

use std::sync::Mutex;

use axum::http::HeaderMap;
use creditkit_api::admin::{EventType, GrantRequest, NewWebhookEndpoint};
use creditkit_ledger::Principal;

use crate::*;

const LANDING: &str = include_str!("../examples/ratecards/landing.json");

type Got = Arc<Mutex<Vec<(HeaderMap, String)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the PyPI library: cargo xtask test installs it, then runs this with --ignored"]
async fn deliveries_verify_with_the_standard_webhooks_library() {
    let py = std::env::var_os("CREDITKIT_PY_STANDARDWEBHOOKS").expect(
        "CREDITKIT_PY_STANDARDWEBHOOKS is not set: run `cargo xtask test`, which installs standardwebhooks",
    );
    let root = std::env::temp_dir().join(format!("creditkit-stdwh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let db = format!("sqlite://{}?mode=rwc", root.join("hooks.db").display());
    let config = Config {
        allow_private_webhooks: true,
        ..Config::default()
    };
    let ledger = Arc::new(
        Ledger::open(&db, Arc::new(SystemClock), config)
            .await
            .unwrap(),
    );
    let _worker = creditkit_server::spawn_delivery_worker(ledger.clone());
    // The operator's receiver.
    let got: Got = Arc::default();
    let inbox = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let inbox = inbox.clone();
            async move {
                inbox.lock().unwrap().push((headers, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let operator = Principal::operator("");
    let ws = ledger
        .create_workspace(&operator, "Acme", LANDING, None)
        .await
        .unwrap();
    let endpoint = NewWebhookEndpoint {
        url,
        events: vec![EventType::GrantAdded],
        workspace_id: Some(ws.id.clone()),
    };
    let created = ledger
        .create_webhook_endpoint(&operator, &endpoint)
        .await
        .unwrap();
    assert!(created.secret.starts_with("whsec_"), "{}", created.secret);
    let grant = GrantRequest {
        amount_millicredits: 25_000,
        reason: "welcome".into(),
        wallet_id: None,
        expires_at_ms: None,
    };
    ledger
        .grant(&Principal::operator(&ws.id), &grant, "g")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let (headers, body) = loop {
        if let Some(first) = got.lock().unwrap().first().cloned() {
            break first;
        }
        assert!(Instant::now() < deadline, "no delivery arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let names = json!({
        "webhook-id": header("webhook-id"),
        "webhook-timestamp": header("webhook-timestamp"),
        "webhook-signature": header("webhook-signature"),
    });
    std::fs::write(root.join("headers.json"), names.to_string()).unwrap();
    std::fs::write(root.join("body.json"), &body).unwrap();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, folder, tamper = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
body = open(folder + "/body.json", "rb").read()
if tamper:
    body = body.replace(b"25", b"26", 1)
headers = json.load(open(folder + "/headers.json"))
payload = Webhook(secret).verify(body, headers)
print("verified", payload["type"])
"#;
    let run = |tamper: &str| {
        std::process::Command::new("python3")
            .env("PYTHONPATH", &py)
            .args([
                "-c",
                script,
                &created.secret,
                &root.to_string_lossy(),
                tamper,
            ])
            .output()
            .expect("python3 runs")
    };
    let good = run("0");
    let said = String::from_utf8_lossy(&good.stdout).to_string();
    assert!(
        good.status.success() && said.trim() == "verified grant.added",
        "the library refused a real delivery: {said} {}",
        String::from_utf8_lossy(&good.stderr)
    );
    let bad = run("1");
    assert!(!bad.status.success(), "a changed body verified");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("WebhookVerificationError"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    println!("standard webhooks: {said}; a changed body refused");
    let _ = std::fs::remove_dir_all(&root);
}

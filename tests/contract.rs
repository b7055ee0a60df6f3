//! The HTTP contract checked from outside: Schemathesis (PyPI, pinned and installed by
//! `cargo xtask`) reads the server's own `/v1/openapi.json` and `/admin/v1/openapi.json`
//! and runs every operation with each class of credential (a workspace API key, a
//! member's browser session, the operator key) against the real server on each store,
//! with `--checks all` and the stateful links the documents declare (quote → hold →
//! capture). Any finding fails the test; the counts are printed.

use creditkit_ledger::testing::{fresh_url, Store};
use creditkit_server::limit::{Rate, RateLimits};

use crate::*;

/// Statuses a schema-valid request may get: 402 (not enough credits), 410 (the quote
/// expired) and 422 (well-formed, refused by a rule of the card or the account: an
/// action the card does not have, a plan it does not sell) besides Schemathesis' own.
const CONFIG: &str = r#"
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "402", "403", "404", "409", "410", "422", "429"]
"#;

struct Run {
    name: &'static str,
    doc: &'static str,
    token: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Schemathesis: cargo xtask test installs it, then runs this with --ignored"]
async fn schemathesis_finds_nothing_on_either_store() {
    let bin = std::env::var_os("CREDITKIT_SCHEMATHESIS").expect(
        "CREDITKIT_SCHEMATHESIS is not set: run `cargo xtask test`, which installs Schemathesis",
    );
    let examples = std::env::var("CREDITKIT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "10".into());
    let root = std::env::temp_dir().join(format!("creditkit-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let config = root.join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut failed = Vec::new();
    for store in [Store::Sqlite, Store::Postgres] {
        let (base, runs) = serve(store, &root).await;
        for run in runs {
            let out = tokio::process::Command::new(&bin)
                .arg("--config-file")
                .arg(&config)
                .arg("--no-color")
                .arg("run")
                .arg(format!("{base}{}", run.doc))
                .args(["--url", &base])
                .args(["-H", &format!("Authorization: Bearer {}", run.token)])
                .args([
                    "--checks",
                    "all",
                    "--max-examples",
                    &examples,
                    "--seed",
                    "20261205",
                ])
                .args(["--workers", "1"])
                .current_dir(&root)
                .output()
                .await
                .expect("schemathesis runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let summary = text
                .lines()
                .skip_while(|l| !l.contains("SUMMARY"))
                .filter(|l| {
                    ["Selected:", "Tested:", "generated", "❌", "⚠️"]
                        .iter()
                        .any(|k| l.contains(k))
                })
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" | ");
            println!("schemathesis {store:?} {}: {summary}", run.name);
            if !out.status.success() {
                println!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
                failed.push(format!("{store:?} {}", run.name));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "Schemathesis found failures in: {failed:?}"
    );
}

/// The real server on `store`, seeded with the demo's products, paid through the local
/// Stripe stand-in, without rate limits (the fuzzer is one client sending many bad
/// credentials on purpose); the credentials to run with.
async fn serve(store: Store, root: &Path) -> (String, Vec<Run>) {
    let db = fresh_url(store).await;
    let ledger = Arc::new(
        Ledger::open(&db, Arc::new(SystemClock), Config::default())
            .await
            .unwrap(),
    );
    let keys = root.join(format!("keys-{store:?}.json"));
    let _ = std::fs::remove_file(&keys);
    let demo = creditkit_server::demo::seed(&ledger, &keys).await.unwrap();
    let product = &demo["products"][0];
    let api_key = product["api_key"].as_str().unwrap().to_string();
    let operator = ledger.create_operator_key(Some("contract")).await.unwrap();
    let api_socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", api_socket.local_addr().unwrap());
    let (payments, _) = stripe_standin(&base, &base).await;
    let off = Rate {
        per_second: 0,
        burst: 0,
    };
    let limits = RateLimits {
        session: off,
        workspace: off,
        failures: off,
    };
    let app = router(
        AppState::with_limits(ledger.clone(), limits).with_payments(payments),
        &Options::default(),
    );
    tokio::spawn(async move { axum::serve(api_socket, app).await.unwrap() });
    let session: Value = reqwest::Client::new()
        .post(format!("{base}/v1/sessions"))
        .bearer_auth(&api_key)
        .json(&json!({ "external_id": "alice", "ttl_seconds": 86400 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = session["token"]
        .as_str()
        .expect("a session token")
        .to_string();
    // The session first: the API key's run may sign its member out (that is one of the
    // operations it may call).
    let runs = vec![
        Run {
            name: "browser session",
            doc: "/v1/openapi.json",
            token: session,
        },
        Run {
            name: "workspace API key",
            doc: "/v1/openapi.json",
            token: api_key,
        },
        Run {
            name: "operator key",
            doc: "/admin/v1/openapi.json",
            token: operator.secret,
        },
    ];
    (base, runs)
}

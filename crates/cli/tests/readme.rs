//! The README's "Run it for real" section, run line for line against the real binary
//! and a fresh PostgreSQL database: what a newcomer types is what works.

use std::process::Command;

use creditkit_ledger::testing::{fresh_url, Store};

fn block(readme: &str) -> String {
    let section = readme
        .split("<!-- run-it-for-real -->")
        .nth(1)
        .and_then(|s| s.split("<!-- /run-it-for-real -->").next())
        .expect("README.md marks the walkthrough with <!-- run-it-for-real -->");
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = section[start..].find("```").expect("the block ends") + start;
    section[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_it_for_real_works_as_written() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let steps = block(&readme);
    let db = fresh_url(Store::Postgres).await;
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, receiver) = (free_port(), free_port());
    let tmp = std::env::temp_dir().join(format!("creditkit-readme-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_creditkit"))
        .parent()
        .unwrap();
    // The steps exactly as written; the harness only stops the server they start.
    let script =
        format!("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{steps}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(root)
        .env("DATABASE_URL", &db)
        .env("CREDITKIT", format!("http://127.0.0.1:{port}"))
        .env("RECEIVER", format!("127.0.0.1:{receiver}"))
        .env("TMPDIR", &tmp)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CREDITKIT_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed:\n{stdout}\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    // Ada's balance (250), the capture's status, 250 − 10 + 25 after the grant, and the
    // receiver verified two events (the charge, the goodwill grant).
    let at = |l: &str| lines.iter().position(|x| *x == l);
    assert!(at("250000") < at("\"captured\""), "{stdout}");
    assert!(at("\"captured\"") < at("265000"), "{stdout}");
    assert_eq!(lines.last(), Some(&"2"), "{stdout}");
    let log = std::fs::read_to_string(tmp.join("creditkit-webhooks.log")).unwrap();
    for kind in ["grant.added", "charge.captured"] {
        assert!(log.contains(&format!("verified {kind}")), "{log}");
    }
}

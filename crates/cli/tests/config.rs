//! `creditkit serve` refuses, at start, a configuration that would let payments be
//! forged or misdirected (issue 30, item 13): it exits with the reason, serving nothing.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GOOD_SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";

#[test]
fn serve_refuses_weak_payment_configuration() {
    let dir = std::env::temp_dir().join(format!("creditkit-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, Option<&str>, &str); 4] = [
        (
            "",
            Some("https://api.example.com"),
            "webhook signing secret is empty",
        ),
        (
            "whsec_short",
            Some("https://api.example.com"),
            "webhook signing secret is too short",
        ),
        (GOOD_SECRET, None, "payments need --public-url"),
        (
            GOOD_SECRET,
            Some("api.example.com"),
            "payments need --public-url",
        ),
    ];
    for (i, (secret, public_url, reason)) in cases.into_iter().enumerate() {
        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{i}.db")).display()
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditkit"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--db", &db])
            .args(["--stripe-secret-key", "sk_test_creditkit"])
            .args(["--stripe-webhook-secret", secret])
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = public_url {
            cmd.args(["--public-url", url]);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("case {i}: serve started with a weak configuration ({reason})");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert!(!status.success(), "case {i}: {stderr}");
        assert!(
            stderr.contains("refusing to start") && stderr.contains(reason),
            "case {i}: wanted `{reason}` in: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! The token-counting benchmark in headless Chromium: our full count and per-keystroke
//! update against the npm packages `gpt-tokenizer` and `js-tiktoken` on the same 10k
//! characters, in one run. Prints every figure and the ratios. Run by `cargo xtask
//! bench`, which builds the page, bundles the npm packages and sets
//! `CREDITKIT_BENCH_SITE` (and `CHROMEDRIVER`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use creditkit_server::{router, AppState, Options};
use serde_json::Value;

mod browser;

#[tokio::main]
async fn main() {
    let Some(site) = std::env::var_os("CREDITKIT_BENCH_SITE").map(PathBuf::from) else {
        // Never a silent pass: without its page there is nothing to measure.
        eprintln!("CREDITKIT_BENCH_SITE is not set: run `cargo xtask bench tokens` (builds the page and the npm bundle)");
        std::process::exit(2);
    };
    let root = std::env::temp_dir().join(format!("creditkit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let db = format!("sqlite://{}?mode=rwc", root.join("bench.db").display());
    let ledger = Arc::new(
        Ledger::open(&db, Arc::new(SystemClock), Config::default())
            .await
            .unwrap(),
    );
    let app = router(
        AppState::new(ledger),
        &Options {
            cors_origins: Vec::new(),
            static_dir: Some(site),
        },
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });

    let (mut driver, port) = browser::start_chromedriver(&root);
    let result = async {
        let c = browser::connect(port, &root).await?;
        let out = async {
            c.goto(&format!("{base}/www/bench-tokens.html"))
                .await
                .map_err(|e| e.to_string())?;
            let deadline = Instant::now() + Duration::from_secs(300);
            loop {
                let v = c
                    .execute("return window.__bench || null", Vec::new())
                    .await
                    .map_err(|e| e.to_string())?;
                if !v.is_null() {
                    break Ok::<Value, String>(v);
                }
                if Instant::now() > deadline {
                    break Err("the benchmark page did not finish in 300 s".to_string());
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        .await;
        let _ = c.close().await;
        out
    }
    .await;
    let _ = driver.kill();
    let _ = driver.wait();
    let _ = std::fs::remove_dir_all(&root);
    let v = result.unwrap();
    if let Some(e) = v.get("error") {
        panic!("benchmark page failed: {e}");
    }
    report(&v);
}

fn report(v: &Value) {
    report_counts(v);
    let w = &v["widget"];
    let f = |k: &str| w[k].as_f64().unwrap_or(f64::NAN);
    println!("  the widget's own path (<creditkit-estimate input>, \"hello world \" typed a key at a time in the middle of the 10k characters, then backspaced):");
    println!(
        "    the browser's own edit of the textarea (no widget)   {:>8.2} µs  ({:.2} µs with a macrotask after each)",
        f("browser_us"),
        f("browser_flush_us")
    );
    println!(
        "    the widget's part: input event → count (handler)  {:>8.2} µs",
        f("handler_us")
    );
    println!(
        "    the widget's part: … → estimate shown             {:>8.2} µs  (target ≤ 10 µs)",
        f("shown_us")
    );
    println!(
        "    shown count after a keystroke exact ({} tokens): {}",
        w["tokens"], w["exact"]
    );
    assert_eq!(
        w["exact"],
        Value::Bool(true),
        "the widget's count after typing is not the full count"
    );
}

fn report_counts(v: &Value) {
    println!(
        "token counting in headless Chromium, {} chars of prose and code, medians:",
        v["chars"]
    );
    for (enc, r) in v["encodings"].as_object().into_iter().flatten() {
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        println!("  {enc}: rank data loaded in {:.1} ms", f("load_ms"));
        println!(
            "    creditkit full count   {:>8.4} ms  ({} tokens)",
            f("ours_full_ms"),
            r["ours_tokens"]
        );
        println!(
            "    creditkit keystroke    {:>8.4} ms  (exact after: {})",
            f("ours_keystroke_ms"),
            r["keystroke_exact"]
        );
        println!(
            "    … handed over as an edit {:>8.4} ms  (exact after: {}; whole text each time is the line above)",
            f("ours_edit_keystroke_ms"),
            r["edit_exact"]
        );
        for lib in ["gpt-tokenizer", "js-tiktoken"] {
            println!(
                "    {lib:<22} {:>8.4} ms  ({} tokens)",
                f(&format!("{lib}_full_ms")),
                r[format!("{lib}_tokens")]
            );
        }
        println!(
            "    ratio: {:.2}x faster than gpt-tokenizer, {:.2}x faster than the best of the two",
            f("ratio_vs_gpt_tokenizer"),
            f("ratio_vs_best")
        );
        println!(
            "    1 MB paste: {:.1} ms (exact: {}); lone surrogates as U+FFFD: {}; empty: {}",
            f("paste_1mb_ms"),
            r["paste_1mb_exact"],
            r["lone_surrogate_ok"],
            r["empty_ok"]
        );
        let agree = r["ours_tokens"] == r["gpt-tokenizer_tokens"]
            && r["ours_tokens"] == r["js-tiktoken_tokens"];
        println!("    all three counts agree: {agree}");
    }
}

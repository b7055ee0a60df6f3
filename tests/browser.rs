//! Headless Chromium over WebDriver, shared by the e2e test and the token benchmark.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

pub(crate) type Result<T, E = String> = std::result::Result<T, E>;

pub(crate) fn start_chromedriver(root: &Path) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let tmp = root.join("chrome-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
    (child, port)
}

pub(crate) async fn connect(port: u16, root: &Path) -> Result<Client> {
    connect_with(
        port,
        root,
        "chrome-profile",
        &["--window-size=1280,1000"],
        None,
    )
    .await
}

/// A session with its own profile and extra Chromium flags (dark mode), optionally a
/// phone's screen (`phone_width_px` × 800, touch; desktop windows cannot be that narrow).
/// Every session prefers reduced motion, so screenshots show dialogs fully drawn.
pub(crate) async fn connect_with(
    port: u16,
    root: &Path,
    profile: &str,
    extra: &[&str],
    phone_width_px: Option<u32>,
) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    let profile = root.join(profile);
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--force-prefers-reduced-motion",
    ]
    .iter()
    .chain(extra)
    .map(|a| a.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut options = json!({ "binary": "/usr/bin/chromium", "args": args });
    if let Some(width) = phone_width_px {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": 800, "pixelRatio": 2, "touch": true }
        });
    }
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(format!("WebDriver session: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

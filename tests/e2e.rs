//! End to end, deployed as an operator would: the real creditkit server (embedded
//! SQLite, seeded demo) on one origin, the example operator backend on another serving
//! the Trunk-built page — signing visitors in with sessions, settling their holds with
//! the API keys it keeps — driven in headless Chromium over WebDriver. Screenshots of
//! each state go to `target/e2e-artifacts/`. Run by `cargo xtask test`, which builds
//! the page first and sets `CREDITKIT_E2E_DIST` and `CHROMEDRIVER`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use creditkit_ledger::time::SystemClock;
use creditkit_ledger::{Config, Ledger};
use creditkit_server::{router, AppState, Options};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

mod account;
mod audit;
mod browser;
mod clients;
mod contract;
mod flows;
mod locale;
mod package;
mod page;
mod promise;
mod size;
mod standard_webhooks;
mod topup;

use browser::{connect, connect_with, start_chromedriver, Result};
pub(crate) use page::*;

struct Env {
    /// The operator's site (the page and its backend).
    base: String,
    /// The creditkit API.
    api: String,
    /// What the seed wrote: per product, its API key and members (server side only).
    demo: Value,
    artifacts: PathBuf,
    http: reqwest::Client,
    /// How the npm scratch app was built (served at `/scratch/`).
    scratch: String,
    /// The Stripe stand-in (its test controls: a card that declines).
    stripe: String,
}

/// The built page. Never skipped: without it the test fails and says how to run it.
fn dist() -> PathBuf {
    let dist = std::env::var_os("CREDITKIT_E2E_DIST")
        .map(PathBuf::from)
        .expect(
            "CREDITKIT_E2E_DIST is not set: run `cargo xtask test`, which builds the page first",
        );
    assert!(
        dist.join("index.html").exists(),
        "{} holds no built page",
        dist.display()
    );
    dist
}

/// Payments through a local Stripe stand-in serving on a free port: its checkout page
/// "pays", its signed webhooks (to `api`) add the credits; buyers return to `origin`.
pub(crate) async fn stripe_standin(
    api: &str,
    origin: &str,
) -> (creditkit_server::payments::Payments, String) {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe = format!("http://{}", socket.local_addr().unwrap());
    let (secret_key, webhook_secret) = ("sk_test_e2e", "whsec_e2e_0123456789");
    let standin = creditkit_stripe_standin::StandIn::new(creditkit_stripe_standin::Config {
        base: stripe.clone(),
        secret_key: secret_key.into(),
        webhook_url: format!("{api}/v1/webhooks/stripe"),
        webhook_secret: webhook_secret.into(),
        clock: Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        }),
    });
    let app = standin.router();
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let payments = creditkit_server::payments::Payments {
        provider: Arc::new(creditkit_server::payments::stripe::Stripe::new(
            creditkit_server::payments::stripe::StripeConfig {
                secret_key: secret_key.into(),
                webhook_secret: webhook_secret.into(),
                api_base: stripe.clone(),
            },
        )),
        public_url: api.to_string(),
        return_origins: vec![origin.to_string()],
    };
    (payments, stripe)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and packages: cargo xtask test builds them, then runs this with --ignored"]
async fn the_demo_page_prices_charges_and_blocks_like_it_says() {
    let dist = dist();
    let root = std::env::temp_dir().join(format!("creditkit-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let site = root.join("site");
    copy_dir(&dist, &site);
    let scratch = package::build_scratch_app(&root, &site);

    // Two origins, as deployed: the API, and the operator's site calling it (CORS).
    let api_socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", api_socket.local_addr().unwrap());
    let base = format!("http://{}", site_socket.local_addr().unwrap());

    // The real server on embedded SQLite, seeded like `cargo xtask demo`. Its keys go
    // to a file the operator's backend reads, outside anything the browser can fetch.
    let db = format!("sqlite://{}?mode=rwc", root.join("e2e.db").display());
    let ledger = Arc::new(
        Ledger::open(&db, Arc::new(SystemClock), Config::default())
            .await
            .unwrap(),
    );
    let _listener = ledger.spawn_listener(&db).await.unwrap();
    let keys = root.join("demo-keys.json");
    let demo = creditkit_server::demo::seed(&ledger, &keys).await.unwrap();
    // Payments through a local Stripe stand-in: its checkout page "pays", its signed
    // webhooks add the credits.
    let (payments, stripe) = stripe_standin(&api, &base).await;
    // Auto top-ups are charged by the server's worker, as `creditkit serve` runs it.
    let _topups = creditkit_server::spawn_topup_worker(ledger.clone(), payments.provider.clone());
    let app = router(
        AppState::new(ledger.clone()).with_payments(payments),
        &Options {
            cors_origins: vec![base.clone()],
            static_dir: None,
        },
    );
    tokio::spawn(async move { axum::serve(api_socket, app).await.unwrap() });
    let mut operator = creditkit_example_operator::Config::from_seed_file(&api, &keys).unwrap();
    operator.static_dir = Some(site.clone());
    let backend = creditkit_example_operator::router(operator);
    tokio::spawn(async move { axum::serve(site_socket, backend).await.unwrap() });

    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let env = Env {
        base,
        api,
        demo,
        artifacts,
        http: reqwest::Client::new(),
        scratch,
        stripe,
    };
    // The browser can never read the operator's secrets.
    let leaked = env
        .http
        .get(format!("{}/demo-keys.json", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(leaked.status(), 404, "the seed file is not served");

    let (mut driver, port) = start_chromedriver(&root);
    let browser = connect(port, &root).await;
    let mut outcome = match &browser {
        Ok(c) => scenario(c, &env).await,
        Err(e) => Err(e.clone()),
    };
    if outcome.is_ok() {
        // A second browser: a 360 px phone whose system prefers the dark theme.
        outcome = match connect_with(
            port,
            &root,
            "chrome-phone",
            &["--force-dark-mode"],
            Some(360),
        )
        .await
        {
            Ok(phone) => {
                let result = audit::phone_in_the_dark(&phone, &env).await;
                if result.is_err() {
                    let _ = shot(&phone, &env, "failure-phone").await;
                }
                let _ = phone.close().await;
                result
            }
            Err(e) => Err(e),
        };
    }
    if let Ok(c) = browser {
        if let Err(e) = &mut outcome {
            let _ = shot(&c, &env, "failure").await;
            // What the page knew: a Rust panic in the wasm, the URL, and the API calls
            // that completed (a call still pending has no entry yet).
            let state = js(
                &c,
                "return [window.__creditkitPanic ?? null, location.href,
                  performance.getEntriesByType('resource')
                    .filter(e => e.name.includes('/v1/'))
                    .map(e => `${e.name.replace(location.origin, '')} ${Math.round(e.startTime)}+${Math.round(e.duration)}ms`)];",
            )
            .await;
            e.push_str(&format!("\npage state: {state:?}"));
        }
        let _ = c.close().await; // always, or Chrome is left running
    }
    let _ = driver.kill();
    let _ = driver.wait();
    let _ = std::fs::remove_dir_all(&root);
    outcome.unwrap();
}

async fn scenario(c: &Client, env: &Env) -> Result<()> {
    c.goto(&format!("{}/#kappax", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        ".ck-balance-amount",
        "the seeded balance",
        balance_is("130 credits"),
    )
    .await?;
    wait_text(
        c,
        "[data-action=static_creative] .ck-estimate-amount",
        "an estimate",
        |t| t == "2 credits",
    )
    .await?;
    let first_ms = js(c, "return window.__creditkitFirstEstimateMs ?? null;").await?;
    println!("time to first estimate after navigation start: {first_ms} ms");
    shot(c, env, "01-loaded").await?;
    audit::audit(c, "the demo page").await?;

    // Live estimate: the turn's count changes on every keystroke, no request per key.
    let input = c
        .find(Locator::Css("#demo-chat-input"))
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = vec![text(c, "#demo-turn-cost").await?];
    for ch in "Write a headline for our spring sale".chars() {
        input
            .send_keys(&ch.to_string())
            .await
            .map_err(|e| e.to_string())?;
        let t = wait_text(c, "#demo-turn-cost", "the turn estimate to change", |t| {
            Some(&t.to_string()) != seen.last()
        })
        .await?;
        seen.push(t);
    }
    let last = seen.last().cloned().unwrap_or_default();
    if !last.contains("credits") || !last.contains("tokens") {
        return Err(format!("turn estimate reads {last:?}"));
    }
    // Once the o200k_base ranks have arrived (fetched lazily from /v1/tokenizers and
    // verified), the count is exact: the count the server computes when it quotes.
    let typed = "Write a headline for our spring sale";
    let want = creditkit_tokens::Bpe::embedded(creditkit_tokens::Encoding::O200kBase).count(typed);
    wait_text(c, "#demo-turn-cost", "the exact token count", |t| {
        t.contains(&format!("{want} tokens (o200k_base)"))
    })
    .await?;
    let exact = js(c, "const e = document.querySelector('#demo-turn-cost'); return [e.dataset.exact, e.dataset.tokens];").await?;
    if exact != json!(["true", want.to_string()]) {
        return Err(format!("turn cost data reads {exact}, want exact {want}"));
    }
    shot(c, env, "02-typing").await?;

    // Confirm an action, with the keyboard alone: the balance drops by exactly the
    // confirmed amount.
    js(c, "document.activeElement?.blur(); return true;").await?;
    audit::walk_dialog(
        c,
        "[data-action=static_creative] .demo-run",
        "[role=dialog]",
        "the confirm dialog",
    )
    .await?;
    wait_text(c, "[role=dialog] h2", "the confirm dialog", |t| {
        t.starts_with("Confirm")
    })
    .await?;
    let dialog = text(c, "[role=dialog]").await?;
    if !dialog.contains("Cost: 2 credits") || !dialog.contains("Balance after: 128 credits") {
        return Err(format!("confirm dialog reads {dialog:?}"));
    }
    shot(c, env, "03-confirm").await?;
    audit::audit(c, "the confirm dialog").await?;
    // Focus starts on the primary action: Enter confirms.
    audit::tab_to(c, "[role=dialog] .ck-primary").await?;
    audit::press(c, fantoccini::key::Key::Enter).await?;
    wait_text(c, "[role=dialog] .ck-done", "the charge", |t| {
        t.contains("Charged 2 credits")
    })
    .await?;
    wait_text(
        c,
        ".ck-balance-amount",
        "the balance after the charge",
        balance_is("128 credits"),
    )
    .await?;
    shot(c, env, "04-charged").await?;
    click(c, "[role=dialog] .ck-primary").await?; // Close

    // Another member spends (confirmed in their browser, settled by the backend): the
    // badge follows without a reload.
    charge_over_http(env, "headline_variant", 1000).await?;
    wait_text(
        c,
        ".ck-balance-amount",
        "the balance after Bob's charge",
        balance_is("127 credits"),
    )
    .await?;

    // The backend signs Alice out everywhere: her page's next call is refused, renews
    // its session through the backend (the refresher) and goes on.
    let kappax = &env.demo["products"][0];
    let alice = kappax["members"][0]["id"]
        .as_str()
        .ok_or("no Alice in the seed")?;
    let key = kappax["api_key"].as_str().ok_or("no API key in the seed")?;
    let out = env
        .http
        .delete(format!("{}/v1/members/{alice}/sessions", env.api))
        .bearer_auth(key)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if out.status() != 204 {
        return Err(format!("signing Alice out: {}", out.status()));
    }

    // A failing generation is not charged.
    click(c, "#demo-fail").await?;
    run_action(c, "static_creative").await?;
    click(c, "[role=dialog] .ck-primary").await?;
    wait_text(c, "[role=dialog] .ck-failed", "the failure", |t| {
        t.contains("Nothing was charged")
    })
    .await?;
    shot(c, env, "05-failed-not-charged").await?;
    let sessions = js(c, "return performance.getEntriesByType('resource').filter(e => e.name.includes('/demo/session')).length;").await?;
    if sessions.as_u64().unwrap_or(0) < 2 {
        return Err(format!(
            "the revoked session was not renewed ({sessions} sign-ins)"
        ));
    }
    click(c, "[role=dialog] .ck-primary").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_text(
        c,
        ".ck-balance-amount",
        "an unchanged balance",
        balance_is("127 credits"),
    )
    .await?;

    // Spend down: low banner, then the insufficient prompt.
    for expected in [
        "107 credits",
        "87 credits",
        "67 credits",
        "47 credits",
        "27 credits",
        "7 credits",
    ] {
        run_action(c, "multi_asset_campaign").await?;
        click(c, "[role=dialog] .ck-primary").await?;
        wait_text(c, "[role=dialog] .ck-done", "the charge", |t| {
            t.contains("Charged 20 credits")
        })
        .await?;
        wait_text(c, ".ck-balance-amount", "the balance", move |t| {
            t.trim() == expected
        })
        .await?;
        click(c, "[role=dialog] .ck-primary").await?;
        if expected == "87 credits" {
            wait_text(
                c,
                ".ck-banner[data-level=low]",
                "the low-balance banner",
                |t| t.contains("Low balance"),
            )
            .await?;
            shot(c, env, "06-low-balance").await?;
        }
    }
    wait_text(
        c,
        ".ck-banner[data-level=critical]",
        "the critical banner",
        |t| t.contains("Almost out"),
    )
    .await?;
    audit::walk_dialog(
        c,
        "[data-action=multi_asset_campaign] .demo-run",
        "[role=alertdialog]",
        "the insufficient prompt",
    )
    .await?;
    wait_text(
        c,
        "[role=alertdialog] [data-field=shortfall]",
        "the insufficient prompt",
        |t| t == "13 credits",
    )
    .await?;
    shot(c, env, "07-insufficient").await?;
    audit::audit(c, "the insufficient prompt").await?;

    // Buy from the prompt: checkout opens in a new window (Stripe's page; the local
    // stand-in here), is paid there; its signed webhook adds the credits, and the
    // pending action continues to its confirm dialog on its own.
    let home = c.window().await.map_err(|e| e.to_string())?;
    // KappaX offers its monthly plan and a pack: the pack, bought here.
    let plan = text(c, "[role=alertdialog] [data-offer=plan]").await?;
    if !plan.starts_with("Upgrade to Monthly") {
        return Err(format!("the plan offered reads {plan:?}"));
    }
    click(c, "[role=alertdialog] [data-offer=pack]").await?;
    pay_in_checkout_window(c, env, &home).await?;
    let dialog = wait_text(
        c,
        "[role=dialog] h2",
        "the pending action's confirm dialog",
        |t| t.contains("Multi-asset"),
    )
    .await?;
    shot(c, env, "08-topped-up-continues").await?;
    click(c, "[role=dialog] .ck-primary").await?;
    wait_text(c, "[role=dialog] .ck-done", "the charge", |t| {
        t.contains("Charged 20 credits")
    })
    .await?;
    // 7 left + the smallest KappaX pack covering 13 (1,000 credits) − 20 charged.
    let after = wait_text(
        c,
        ".ck-balance-amount",
        "the balance after top-up and charge",
        balance_is("987 credits"),
    )
    .await?;
    shot(c, env, "09-continued").await?;
    // History filtered by type, and usage grouped by month, from their selects.
    js(
        c,
        "const s = document.querySelector('.ck-transactions select'); s.value = 'charge';
         s.dispatchEvent(new Event('change', { bubbles: true }));
         const u = document.querySelector('.ck-usage select'); u.value = 'month';
         u.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    )
    .await?;
    // One row per paid action, named as on the card, never by its id.
    wait_text(c, ".ck-transactions tbody", "only charges, by name", |t| {
        !t.is_empty()
            && !t.contains("Released")
            && !t.contains("Credits added")
            && t.contains("Multi-asset campaign")
            && t.contains("Charged 20 credits")
            && !t.contains("multi_asset_campaign")
    })
    .await?;
    wait_text(c, ".ck-usage svg", "usage by month", |t| {
        t.contains("2026-")
    })
    .await?;
    println!("pending action `{dialog}` continued after the top-up; balance now {after}");
    click(c, "[role=dialog] .ck-primary").await?;

    flows::streamed_turn(c, env).await?;
    flows::caps_set_by_an_admin_stop_a_member(c, env).await?;

    // The plain-HTML page: custom elements and the JS estimator, no build step.
    c.goto(&format!("{}/www/index.html", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        "#estimate .ck-estimate-amount",
        "the element's estimate",
        |t| t == "2 credits",
    )
    .await?;
    wait_text(c, "#js-estimate", "the JS estimator", |t| {
        t.contains("→ 25 credits")
    })
    .await?;
    wait_text(
        c,
        "#balance .ck-balance-amount",
        "the element's balance",
        |t| t.contains("credits"),
    )
    .await?;
    click(c, "#confirm .ck-confirm-open").await?;
    wait_text(
        c,
        "#confirm [role=dialog] h2",
        "the element's dialog",
        |t| t.contains("Generate"),
    )
    .await?;
    click(c, "#confirm [role=dialog] .ck-primary").await?;
    wait_text(c, "#events", "the confirmed event", |t| {
        t.starts_with("creditkit:confirmed") && t.contains("hold_id")
    })
    .await?;
    // The JS token counter: exact as typed, and bad input counted as it is sent.
    let field = c
        .find(Locator::Css("#tokens-input"))
        .await
        .map_err(|e| e.to_string())?;
    let typed = "Summarise this thread in 3 bullet points, por favor 🙏";
    field.send_keys(typed).await.map_err(|e| e.to_string())?;
    let want = creditkit_tokens::Bpe::embedded(creditkit_tokens::Encoding::O200kBase).count(typed);
    wait_text(c, "#tokens-count", "the exact count", |t| {
        t.starts_with(&format!("{want} tokens"))
    })
    .await?;
    wait_text(
        c,
        "#turn .ck-estimate-tokens",
        "the element's exact count",
        |t| t.contains(&format!("{want} tokens (o200k_base)")),
    )
    .await?;
    let turn = text(c, "#turn .ck-estimate-amount").await?;
    if turn != "2–3 credits" {
        return Err(format!("the chat turn element prices {turn:?}"));
    }
    let checks = js(c, "return window.__tokenChecks ?? null;").await?;
    if checks != json!({ "empty": 0, "loneSurrogates": true, "pasteExact": true }) {
        return Err(format!("token checks on the plain page: {checks}"));
    }
    shot(c, env, "10-plain-html-elements").await?;
    audit::audit(c, "the plain-HTML page").await?;
    promise::browser_estimates_equal_server_quotes(c, env).await?;
    package::scratch_app_works(c, env, &env.scratch).await?;
    locale::a_french_page_reads_french(c, env).await?;
    package::first_estimate_times(c, env).await?;

    account::kopai_free_message(c, env).await?;

    // The other seed products: set an action's options in the editor, see the engine's
    // own estimate, confirm, and see the balance drop by exactly what was charged.
    flows::product_action(
        c,
        env,
        "campaigns",
        "campaign_creation",
        &[("platforms", "3"), ("posts_per_week", "2")],
        120,
        "12-campaign",
    )
    .await?;
    flows::product_action(
        c,
        env,
        "landing",
        "image",
        &[("resolution", "2k")],
        250,
        "13-landing-image",
    )
    .await?;
    account::plan_and_buy(c, env).await?;
    account::plan_lifecycle(c, env).await?;
    account::a_failed_payment_says_so(c, env).await?;
    account::earnings(c, env).await?;
    topup::auto_topup(c, env).await?;
    flows::product_action(
        c,
        env,
        "kumari",
        "compare_mode",
        &[("models", "3")],
        110,
        "14-kumari-compare",
    )
    .await?;
    Ok(())
}

/// Clicks an action's Run expecting no confirm dialog (a prompt instead).
async fn run_action_blocked(c: &Client, action: &str) -> Result<()> {
    click(c, &format!("[data-action={action}] .demo-run")).await
}

/// "15.5" → 15500 milli-credits (exact decimal, no floats).
fn parse_millicredits(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 {
        return None;
    }
    let frac_mc: u64 = format!("{frac:0<3}").parse().ok()?;
    Some(whole.replace(',', "").parse::<u64>().ok()? * 1000 + frac_mc)
}

/// 104500 → "104.5", as the widget shows it in an English locale.
fn credits_text(mc: u64) -> String {
    let (whole, frac) = (mc / 1000, mc % 1000);
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// Bob confirms `action` with a session the backend minted; the backend captures it.
async fn charge_over_http(env: &Env, action: &str, amount: u64) -> Result<()> {
    let kappax = &env.demo["products"][0];
    let key = kappax["api_key"].as_str().ok_or("no API key in the seed")?;
    let post = |path: &str, token: &str, idem: Option<&str>, body: Value| {
        let mut r = env
            .http
            .post(format!("{}/v1{path}", env.api))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = idem {
            r = r.header("Idempotency-Key", k);
        }
        r.send()
    };
    let json_of =
        |r: reqwest::Response| async move { r.json::<Value>().await.map_err(|e| e.to_string()) };
    let session = json_of(
        post("/sessions", key, None, json!({ "external_id": "bob" }))
            .await
            .map_err(|e| e.to_string())?,
    )
    .await?;
    let bob = session["token"]
        .as_str()
        .ok_or(format!("no session: {session}"))?;
    let q = json_of(
        post(
            "/quotes",
            bob,
            None,
            json!({ "request": { "action": action } }),
        )
        .await
        .map_err(|e| e.to_string())?,
    )
    .await?;
    let h = json_of(
        post(
            "/holds",
            bob,
            Some("e2e-hold"),
            json!({ "quote_id": q["id"] }),
        )
        .await
        .map_err(|e| e.to_string())?,
    )
    .await?;
    let id = h["id"].as_str().ok_or(format!("hold failed: {h}"))?;
    // Bob's session cannot settle its own hold; the backend can.
    let refused = post(
        &format!("/holds/{id}/capture"),
        bob,
        Some("e2e-self"),
        json!({ "amount_millicredits": 0 }),
    )
    .await
    .map_err(|e| e.to_string())?;
    if refused.status() != 403 {
        return Err(format!(
            "a session settled its own hold: {}",
            refused.status()
        ));
    }
    let c = post(
        &format!("/holds/{id}/capture"),
        key,
        Some("e2e-capture"),
        json!({ "amount_millicredits": amount }),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !c.status().is_success() {
        return Err(format!("capture: {}", c.status()));
    }
    Ok(())
}

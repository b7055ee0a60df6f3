//! The npm package as a frontend developer uses it: `npm install` the tarball that
//! `cargo xtask package` packed into a scratch app, bundle the app with esbuild, serve it
//! beside the demo, and drive it in Chromium: the balance shows, an estimate prices, a
//! confirm places a hold.

use std::path::{Path, PathBuf};
use std::process::Command;

use fantoccini::Client;

use crate::browser::Result;
use crate::{click, wait_text, Env};

/// A required input of this test, from `cargo xtask test`. Never skipped.
fn required(var: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!("{var} is not set: run `cargo xtask test`, which packs the npm packages first")
    })
}

const APP_JS: &str = r#"
import init, { Estimator, setSessionRefresher } from "@creditkit/widget";
import "@creditkit/widget/creditkit.css";
import initEstimator, { Estimator as PricingOnly, loadTokenCounter } from "@creditkit/estimator";

// As the package's README says: init() finds creditkit_bg.wasm next to this bundle.
await init();
const signIn = async () => {
  const r = await fetch("/demo/session", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ product: "kappax", member: "bob" }) });
  return (await r.json()).token;
};
const api = (await (await fetch("/demo/products")).json())[0].api;
const token = await signIn();
setSessionRefresher(signIn);
for (const el of document.querySelectorAll("creditkit-balance, creditkit-estimate, creditkit-confirm")) {
  el.setAttribute("api", api);
  el.setAttribute("token", token);
}
document.addEventListener("creditkit:confirmed", (e) => {
  document.getElementById("events").textContent = `confirmed ${JSON.stringify(e.detail)}`;
});
const card = await (await fetch(`${api}/v1/card`, { headers: { authorization: `Bearer ${token}` } })).text();
document.getElementById("js").textContent =
  new Estimator(card).estimate({ action: "static_creative", quantity: 3 }).max_millicredits;

// The estimator package alone, beside the widget: its own module (and allocator). A chat
// turn typed character by character, each keystroke counted, then the whole text at once.
await initEstimator();
const turn = "Write a haiku about credits, 你好 🙂 fn main() { 42 }\n".repeat(200);
// Its input tokens as the estimate prices them: bounded until the counter module is
// loaded (loadTokenCounter loads it), then exactly the counter's count.
const inputLine = () => new PricingOnly(card)
  .estimate({ action: "chat_turn", params: { model: "kappax-agent", input_text: turn } })
  .lines.find((l) => l.kind === "input_tokens").label;
const bounded = inputLine();
const counter = await loadTokenCounter(api, "o200k_base");
const counted = inputLine();
let live = 0;
for (let i = 1; i <= turn.length; i += 1) live = counter.update(turn.slice(0, i));
// loadTokenCounter is the package's JavaScript: fetched once, a new counter each call,
// an unknown encoding refused before any fetch.
const again = await loadTokenCounter(api, "o200k_base");
const unknown = await loadTokenCounter(api, "p50k_base").then(() => "loaded", (e) => e.message);
document.getElementById("estimator").textContent = [
  new PricingOnly(card).estimate({ action: "static_creative", quantity: 3 }).max_millicredits,
  live === counter.count(turn) ? "typed = pasted" : `typed ${live} != pasted ${counter.count(turn)}`,
  again !== counter && again.update("") === 0 && counter.count("hello") === again.count("hello") ? "shared" : "not shared",
  unknown.startsWith("unknown encoding `p50k_base`") ? "refused" : `unknown: ${unknown}`,
  counted === `Input — ${counter.count(turn)} tokens` && bounded !== counted
    ? "priced exactly" : `priced: ${bounded} then ${counted}`,
  live,
].join(" ");
"#;

const INDEX_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A scratch app using @creditkit/widget</title>
<link rel="stylesheet" href="app.css"></head>
<body><main>
  <h1>Scratch app</h1>
  <p>Balance: <creditkit-balance id="balance" variant="inline"></creditkit-balance></p>
  <creditkit-estimate id="estimate" request='{"action": "static_creative", "quantity": 2}'></creditkit-estimate>
  <creditkit-confirm id="confirm" label="Generate a static creative" request='{"action": "static_creative"}'></creditkit-confirm>
  <p id="js"></p>
  <p id="estimator"></p>
  <p id="events"></p>
</main>
<script type="module" src="app.js"></script>
</body></html>
"#;

/// Installs the packed tarball into a scratch app, bundles it with esbuild into
/// `site/scratch/`, and copies the wasm beside the bundle. Returns what it ran.
pub(crate) fn build_scratch_app(work: &Path, site: &Path) -> String {
    let packages = required("CREDITKIT_PACKAGES");
    let esbuild = required("CREDITKIT_ESBUILD");
    let tarball = |package: &str| {
        std::fs::read_dir(&packages)
            .unwrap_or_else(|e| panic!("{}: {e}", packages.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}-")))
            })
            .unwrap_or_else(|| panic!("no {package}-*.tgz in {}", packages.display()))
    };
    let tarballs = [tarball("creditkit-widget"), tarball("creditkit-estimator")];
    let app = work.join("scratch-app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("package.json"),
        "{\"name\": \"scratch\", \"private\": true, \"type\": \"module\"}\n",
    )
    .unwrap();
    std::fs::write(app.join("app.js"), APP_JS).unwrap();
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--offline"])
        .args(&tarballs)
        .current_dir(&app));
    let out = site.join("scratch");
    run(Command::new(&esbuild)
        .args([
            "app.js",
            "--bundle",
            "--format=esm",
            "--target=es2022",
            "--log-level=warning",
        ])
        .arg(format!("--outdir={}", out.display()))
        .current_dir(&app));
    // Each package's init() finds its wasm next to the bundle, and so do the embed's
    // parts (fetched when a group is first shown): every .wasm of each package.
    let mut copied = 0;
    for package in ["widget", "estimator"] {
        let installed = app.join("node_modules/@creditkit").join(package);
        for entry in std::fs::read_dir(&installed).unwrap() {
            let wasm = entry.unwrap().path();
            if wasm.extension().and_then(|e| e.to_str()) == Some("wasm") {
                std::fs::copy(&wasm, out.join(wasm.file_name().unwrap()))
                    .unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
                copied += 1;
            }
        }
    }
    assert!(
        copied > 3,
        "the packages hold {copied} wasm files: no parts?"
    );
    std::fs::write(out.join("index.html"), INDEX_HTML).unwrap();
    let names: Vec<_> = tarballs
        .iter()
        .map(|t| {
            t.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    format!("npm install {} + esbuild --bundle", names.join(" "))
}

/// The scratch app in the browser: what a developer sees after following the README.
pub(crate) async fn scratch_app_works(c: &Client, env: &Env, built: &str) -> Result<()> {
    c.goto(&format!("{}/scratch/index.html", env.base))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(
        c,
        "#balance .ck-balance-amount",
        "the package's balance",
        |t| t.contains("credits"),
    )
    .await?;
    wait_text(
        c,
        "#estimate .ck-estimate-amount",
        "the package's estimate",
        |t| t == "4 credits",
    )
    .await?;
    wait_text(c, "#js", "the package's Estimator", |t| t == "6000").await?;
    let typed = wait_text(c, "#estimator", "the estimator package", |t| {
        t.starts_with("6000 typed = pasted shared refused priced exactly ")
            && t.rsplit(' ').next().and_then(|n| n.parse::<u32>().ok()) > Some(1_000)
    })
    .await?;
    click(c, "#confirm .ck-confirm-open").await?;
    wait_text(
        c,
        "#confirm [role=dialog] h2",
        "the package's dialog",
        |t| t.contains("Generate"),
    )
    .await?;
    click(c, "#confirm [role=dialog] .ck-primary").await?;
    wait_text(c, "#events", "a hold placed from the package", |t| {
        t.starts_with("confirmed") && t.contains("hold_id")
    })
    .await?;
    println!("package: a scratch app ({built}) shows the balance, prices, and places a hold");
    println!("package: @creditkit/estimator beside it prices alike, counts a chat turn typed key by key as pasted, and prices its text exactly once loadTokenCounter has loaded the counter module ({typed})");
    Ok(())
}

/// Time to first estimate with the embeddable module (the plain page), median of 5
/// loads, with where the time goes: the module and the card fetched, the estimate
/// shown (milliseconds after navigation start). Printed, not asserted: a figure.
pub(crate) async fn first_estimate_times(c: &Client, env: &Env) -> Result<()> {
    for (page, path, selector) in [
        (
            "embeddable module (plain page)",
            "/www/index.html",
            "#estimate .ck-estimate-amount",
        ),
        ("demo page", "/#kappax", ".ck-estimate-amount"),
    ] {
        first_estimate_median(c, env, page, path, selector).await?;
    }
    // Leave the demo's document, so the next visit of one of its products loads anew.
    c.goto("about:blank").await.map_err(|e| e.to_string())
}

async fn first_estimate_median(
    c: &Client,
    env: &Env,
    page: &str,
    path: &str,
    selector: &str,
) -> Result<()> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        // A new document each time (the demo's path differs only by its fragment).
        c.goto("about:blank").await.map_err(|e| e.to_string())?;
        c.goto(&format!("{}{path}", env.base))
            .await
            .map_err(|e| e.to_string())?;
        wait_text(c, selector, "the estimate", |t| !t.is_empty()).await?;
        let v = crate::js(
            c,
            "const end = (part) => Math.round((performance.getEntriesByType('resource')
                 .find((e) => e.name.includes(part) && e.name.includes('.wasm') === part.includes('.wasm')) || { responseEnd: NaN }).responseEnd);
             const timeline = performance.getEntriesByType('resource')
                 .filter((e) => /v1|demo|wasm|\\.js/.test(e.name))
                 .map((e) => `${e.name.replace(location.origin, '').replace(/^http:\\/\\/[^/]+/, '').slice(0, 40)} ${Math.round(e.startTime)}–${Math.round(e.responseEnd)}`);
             return [end('_bg.wasm'), end('/v1/card'), Math.round(window.__creditkitFirstEstimateMs), timeline];",
        )
        .await?;
        let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
        runs.push((n(2), n(0), n(1)));
        // The plain page shows only the first screen (balance, estimate, confirm): the
        // parts of the other groups are never fetched.
        let parts = crate::js(
            c,
            "return performance.getEntriesByType('resource').map((e) => e.name)
                 .filter((n) => /\\/(split|chunk)_[^/]*\\.wasm$/.test(n));",
        )
        .await?;
        if path.starts_with("/www/") && parts.as_array().is_none_or(|p| !p.is_empty()) {
            return Err(format!("the first screen fetched the parts {parts}"));
        }
        if runs.len() == 5 {
            println!(
                "first estimate, the last load's requests (start–end ms): {}",
                v[3]
            );
        }
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, wasm, card) = runs[runs.len() / 2];
    println!(
        "first estimate, {page}, median of 5: {first} ms after navigation (wasm fetched at {wasm} ms, card at {card} ms); all: {:?}",
        runs.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    Ok(())
}

//! Project automation; needs only cargo. `cargo xtask help` lists the commands.
//!
//! Every command installs what it needs when it is missing and skips what already
//! answers with the right version, so the README's two commands work on a new machine.

mod build;
mod clean;
mod config;
mod package;
mod phases;
mod size;
mod split;
mod tools;
mod wasm;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::{build_page, cargo_wasm, served_files};
use crate::config::{target_dir, WasmConfig};
use crate::phases::Phases;
use crate::wasm::{bindgen_and_opt, named_copy};

const HELP: &str = "cargo xtask <command>

  demo     run the demo: the server on SQLite with seeded workspaces + the widget page
  test     run every test: native (SQLite + PostgreSQL), in headless Chrome, end to end,
           and print each phase's time; `test --quick` is the loop while working: formatting,
           lints, native tests on SQLite (no browser, no PostgreSQL, no wasm build)
  bench    run the benchmarks: token counting (native, and in Chromium vs npm tokenizers),
           estimates/second, charges/second per store, charges over HTTP;
           `bench tokens` for tokens only, `bench http` for the HTTP load only
           (`bench http --profile`: with where the server's CPU goes, from perf)
  sim      the ledger's seeded simulation, long: sim [OPERATIONS] [SEED]
  size     what ships, wasm and JS (raw, gzip): the embeddable widget, the estimator alone,
           the demo page, beside floors (a minimal Leptos page, the engine alone), built
           alike, with a per-crate table of each shipped module; `size top [N]` lists the
           N largest functions of the modules the last `size` built, `size table FILE` the
           per-crate table of any module optimized with names (wasm-opt -g)
  page     build the demo page into dist/ (trunk build --release), and the shipped
           modules into dist/embed (the widget) and dist/estimator (the engine alone)
  package  the npm packages (@creditkit/widget, @creditkit/estimator) in target/package
  fuzz     fuzz the card parser for a while: fuzz [SECONDS]
  tools    install the tools the tests need, and nothing else
  clean-stale  free disk: build outputs of other clones of this project, the project's
           scratch files in the temp directory, and the shared target directory when it
           has grown past its bound (`clean-stale --dry-run` only lists them)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("test") => match args.get(1).map(String::as_str) {
            None => test(&root, false),
            Some("--quick") => test(&root, true),
            Some(other) => bail!("unknown option `{other}` (test [--quick])"),
        },
        Some("clean-stale") => {
            clean::clean_stale(&root, args.get(1).map(String::as_str) == Some("--dry-run"))
        }
        Some("demo") => demo(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("tokens") => {
            bench_tokens_in_browser(&root)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("http") => {
            bench_http(args.get(2).map(String::as_str) == Some("--profile"))
        }
        Some("bench") => bench(&root),
        Some("sim") => sim(
            args.get(1).map_or("200000", String::as_str),
            args.get(2).map(String::as_str),
        ),
        Some("size") if args.get(1).map(String::as_str) == Some("top") => {
            let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(40);
            for module in WasmConfig::read(&root)?.modules {
                size::print_top(&named_copy(&root, &module.name), n)?;
            }
            Ok(())
        }
        Some("size") if args.get(1).map(String::as_str) == Some("table") => {
            let file = args
                .get(2)
                .context("size table FILE.wasm (optimized with -g)")?;
            size::print_table(file, Path::new(file))
        }
        Some("size") => size(&root),
        Some("page") => build_page(&root).map(|_| ()),
        Some("package") => package::package(&root).map(|_| ()),
        Some("fuzz") => fuzz(args.get(1).map_or("60", String::as_str)),
        Some("tools") => tools::ensure_test_tools(&root).map(|_| ()),
        Some("help" | "--help" | "-h") | None => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the project root")
        .to_path_buf()
}

/// Runs a command with inherited output; fails with the command line if it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let line = format!("{cmd:?}");
    eprintln!("xtask: {line}");
    let status = cmd.status().with_context(|| format!("starting {line}"))?;
    if !status.success() {
        bail!("failed ({status}): {line}");
    }
    Ok(())
}

/// `cargo xtask test [--quick]`: every test, each phase timed; `--quick` is the loop to
/// run while working (formatting, lints, native unit and conformance tests on SQLite; no
/// browser, no PostgreSQL, no wasm or release build).
fn test(root: &Path, quick: bool) -> Result<()> {
    let mut phases = Phases::new();
    let result = test_phases(root, quick, &mut phases);
    phases.print(match (&result, quick) {
        (Ok(()), true) => "quick tier passed",
        (Ok(()), false) => "all tests passed",
        (Err(_), _) => "failed",
    });
    result
}

/// The native packages tested in one build: all but what runs in a browser (the widget,
/// the demo page) and, for `--quick`, the end-to-end test. One package set for the build
/// and the run, so cargo unifies features once and builds every dependency once.
fn native_test(quick: bool) -> Command {
    let mut cargo = Command::new("cargo");
    // Every failing test binary is reported, not only the first.
    cargo.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    for package in ["creditkit-widget", "creditkit-demo"] {
        cargo.args(["--exclude", package]);
    }
    if quick {
        cargo.args(["--exclude", "creditkit-e2e"]);
    }
    cargo
}

fn test_phases(root: &Path, quick: bool, phases: &mut Phases) -> Result<()> {
    let tools = phases.time("tools", || {
        if quick {
            return tools::ensure_lint_tools().map(|()| None);
        }
        // Everything the later phases use, so their times are building and testing.
        let tools = tools::ensure_test_tools(root)?;
        tools::ensure_page_tools(root, &WasmConfig::read(root)?)?;
        tools::ensure_e2e_npm()?;
        tools::ensure_e2e_pypi()?;
        Ok(Some(tools))
    })?;
    // CI checks what review checks: formatting and lints first, they fail fastest.
    phases.time("lints", || lints(root, quick))?;
    phases.time("native build", || {
        step("native build (cargo test --no-run)");
        run(native_test(quick).arg("--no-run"))
    })?;
    let Some(tools) = tools else {
        return phases.time("native tests", || {
            step("native tests on SQLite (quick: no PostgreSQL, no README run-through)");
            run(native_test(true).args(["--", "--skip", "postgres", "--skip", "run_it_for_real"]))
        });
    };
    phases.time("native tests", || {
        step("native tests (SQLite and PostgreSQL)");
        // The end-to-end tests are built here (one feature set for every native build)
        // and ignored until the page is built; the e2e phase runs them.
        run(native_test(false).env("CREDITKIT_TEST_POSTGRES", &tools.postgres))
    })?;
    // Never the whole workspace for wasm32: servers' dependencies do not build there.
    // One build for every crate tested in the browser.
    let target = WasmConfig::read(root)?.build.target;
    let browser_tests = || {
        let mut cargo = Command::new("cargo");
        cargo.args(["test", "--locked", "--target", &target]);
        for package in WASM_PACKAGES {
            cargo.args(["-p", package]);
        }
        cargo
            .env("CHROMEDRIVER", &tools.chromedriver)
            .env("PATH", &tools.path);
        cargo
    };
    phases.time("wasm build", || {
        step("wasm build of the browser tests");
        run(browser_tests().arg("--no-run"))
    })?;
    phases.time("browser tests", || {
        step(&format!(
            "browser tests in headless Chrome: {}",
            WASM_PACKAGES.join(", ")
        ));
        run(&mut browser_tests())
    })?;
    let page_path = phases.time("page", || build_page(root))?;
    phases.time("package", || package::pack(root))?;
    let (axe, esbuild) = tools::ensure_e2e_npm()?;
    let pypi = tools::ensure_e2e_pypi()?;
    let schemathesis = tools::ensure_schemathesis()?;
    let py_client = tools::ensure_py_client_env()?;
    phases.time("e2e", || {
        step("end to end: the server + the page in headless Chromium (screenshots in target/e2e-artifacts)");
        run(Command::new("cargo")
            .args(["test", "--workspace", "--locked"])
            .args(["--exclude", "creditkit-widget", "--exclude", "creditkit-demo"])
            .args(["--test", "e2e", "--", "--ignored", "--nocapture", "--test-threads=1"])
            .env("CREDITKIT_E2E_DIST", root.join("dist"))
            .env("CREDITKIT_AXE", &axe)
            .env("CREDITKIT_PACKAGES", target_dir(root).join("package"))
            .env("CREDITKIT_ESBUILD", &esbuild)
            .env("CREDITKIT_PY_STANDARDWEBHOOKS", &pypi)
            .env("CREDITKIT_SCHEMATHESIS", &schemathesis)
            .env("CREDITKIT_PY_CLIENT_ENV", &py_client)
            .env("CHROMEDRIVER", &tools.chromedriver)
            .env("PATH", &page_path))
    })
}

/// Crates that run their tests in the browser as well as natively.
const WASM_PACKAGES: &[&str] = &["creditkit-pricing", "creditkit-tokens", "creditkit-widget"];

fn lints(root: &Path, quick: bool) -> Result<()> {
    step("formatting (cargo fmt --check)");
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    step("lints (cargo clippy --workspace --all-targets -- -D warnings)");
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    if quick {
        return Ok(());
    }
    // The widget's browser code only compiles for wasm32: lint it there too. The
    // estimator twice: with the counter compiled in (the widget's) and without (its own
    // module, beside the token counter's; linted with the widget, that one's allocator
    // would meet the estimator's).
    let wasm_lints: [&[&str]; 2] = [
        &["creditkit-widget", "creditkit-demo", "creditkit-estimator"],
        &["creditkit-estimator", "creditkit-token-counter"],
    ];
    let target = WasmConfig::read(root)?.build.target;
    for packages in wasm_lints {
        let mut clippy = Command::new("cargo");
        clippy.args(["clippy", "--locked", "--target", &target]);
        for p in packages {
            clippy.args(["-p", p]);
        }
        run(clippy.args(["--all-targets", "--", "-D", "warnings"]))?;
    }
    Ok(())
}

/// Sizes side by side, built the same way: the embeddable module, the demo page, and
/// probes (`xtask/probes`) that hold only what every widget page must contain.
fn size(root: &Path) -> Result<()> {
    let path = build_page(root)?;
    let config = WasmConfig::read(root)?;
    let lazy: Vec<&str> = config
        .modules
        .iter()
        .filter(|m| m.lazy)
        .map(|m| m.name.as_str())
        .collect();
    let mut rows = Vec::new();
    for (name, bytes) in served_files(root, &config)? {
        let label = match name.split_once('/') {
            Some(("embed", file)) if file.starts_with("split_") || file.starts_with("chunk_") => {
                format!("embed part (fetched when shown): {name}")
            }
            Some(("embed", _)) => format!("embeddable (widget): {name}"),
            Some(("estimator", file)) if lazy.iter().any(|l| file.starts_with(l)) => {
                format!("token counter (lazy): {name}")
            }
            Some(("estimator", _)) => format!("estimator alone: {name}"),
            _ => format!("demo page: {name}"),
        };
        rows.push((label, bytes));
    }
    let probes = [
        ("floor: minimal Leptos page", "creditkit-probe-leptos", None),
        (
            "floor: pricing engine (card + estimate)",
            "creditkit-probe-engine",
            None,
        ),
        (
            "floor: engine + the wire types the widget reads",
            "creditkit-probe-engine",
            Some("wire"),
        ),
        (
            "the same wire types read by serde_json instead",
            "creditkit-probe-engine",
            Some("serde-wire"),
        ),
        (
            "floor: both (Leptos + engine + wire types)",
            "creditkit-probe-leptos",
            Some("engine"),
        ),
    ];
    for (label, package, feature) in probes {
        step(&format!("building {label}"));
        let features: Vec<String> = feature.iter().map(|f| f.to_string()).collect();
        let built = cargo_wasm(root, &config, package, &features)?;
        let name = format!(
            "{package}{}",
            feature.map_or(String::new(), |f| format!("-{f}"))
        )
        .replace('-', "_");
        let out = target_dir(root).join("size").join(&name);
        let _ = std::fs::remove_dir_all(&out);
        bindgen_and_opt(root, &config, &path, &built, &out, &name, &[])?;
        rows.push((
            label.to_string(),
            std::fs::read(out.join(format!("{name}_bg.wasm")))?,
        ));
    }
    for m in &config.modules {
        size::print_table(
            &format!("{} (dist/{})", m.package, m.dir),
            &named_copy(root, &m.name),
        )?;
    }
    println!("\n{:<52} {:>10} {:>10}", "", "raw bytes", "gzip -9");
    for (label, bytes) in &rows {
        println!("{label:<52} {:>10} {:>10}", bytes.len(), gzip_len(bytes)?);
    }
    let total = |kinds: &[&str]| -> Result<usize> {
        let mut total = 0;
        for (label, bytes) in &rows {
            if kinds.iter().any(|k| label.starts_with(k)) {
                total += gzip_len(bytes)?;
            }
        }
        Ok(total)
    };
    println!(
        "embeddable (widget), first screen (balance, estimate, confirm), wasm + JS: {} bytes gzip (target 80 KB = {} bytes)",
        total(&["embeddable (widget)"])?,
        80 * 1024
    );
    let parts: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(
        &std::fs::read_to_string(root.join("dist/embed/parts.json"))?,
    )?;
    for (group, files) in &parts {
        let mut gz = 0;
        for f in files {
            gz += gzip_len(&std::fs::read(root.join("dist/embed").join(f))?)?;
        }
        println!(
            "  group {group:<14} fetched when first shown: {gz} bytes gzip in {} files (target 40 KB = {} bytes)",
            files.len(),
            40 * 1024
        );
    }
    println!(
        "estimator alone, wasm + JS: {} bytes gzip (target 40 KB = {} bytes)",
        total(&["estimator alone"])?,
        40 * 1024
    );
    println!(
        "estimator + its token counter, once a page counts: {} bytes gzip",
        total(&["estimator alone", "token counter (lazy)"])?
    );
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?.len())
}

/// The demo as an operator runs it: creditkit on one port (the API, seeded, taking
/// payments), the example operator backend on another serving the page — signing
/// visitors in with sessions and settling their holds with the API keys, which stay on
/// the server — and a local stand-in for Stripe on a third (its checkout page says it
/// takes no payment; its signed webhooks are what add credits).
fn demo(root: &Path) -> Result<()> {
    let path = build_page(root)?;
    step("building the server and the example operator backend");
    run(Command::new("cargo").args([
        "build",
        "--locked",
        "-p",
        "creditkit-cli",
        "-p",
        "creditkit-example-operator",
        "-p",
        "creditkit-stripe-standin",
    ]))?;
    // A fresh demo database each run, so the story starts from the seeded balances.
    let target = target_dir(root);
    let data = target.join("demo");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let listen = std::env::var("CREDITKIT_DEMO_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let api_listen =
        std::env::var("CREDITKIT_DEMO_API_LISTEN").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let stripe_listen =
        std::env::var("CREDITKIT_DEMO_STRIPE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8082".into());
    let keys = data.join("demo-keys.json");
    // Test-mode keys shared by creditkit and the local Stripe stand-in (no network).
    let (secret_key, webhook_secret) = (
        "sk_test_creditkit_demo",
        "whsec_creditkit_demo_not_a_real_secret",
    );
    let mut stripe = Command::new(target.join("debug/stripe-standin"))
        .args(["--listen", &stripe_listen, "--webhook"])
        .arg(format!("http://{api_listen}/v1/webhooks/stripe"))
        .args([
            "--secret-key",
            secret_key,
            "--webhook-secret",
            webhook_secret,
        ])
        .spawn()
        .context("starting the Stripe stand-in")?;
    let mut api = Command::new(target.join("debug/creditkit"))
        .args(["serve", "--listen", &api_listen, "--cors"])
        .arg(format!("http://{listen}"))
        .args([
            "--stripe-secret-key",
            secret_key,
            "--stripe-webhook-secret",
            webhook_secret,
        ])
        .arg("--stripe-api-base")
        .arg(format!("http://{stripe_listen}"))
        .arg("--public-url")
        .arg(format!("http://{api_listen}"))
        .arg("--seed-demo")
        .arg(&keys)
        .arg("--db")
        .arg(format!(
            "sqlite://{}?mode=rwc",
            data.join("creditkit.db").display()
        ))
        .spawn()
        .context("starting creditkit serve")?;
    // The seed file appears once the workspaces exist.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !keys.exists() {
        if std::time::Instant::now() > deadline || api.try_wait()?.is_some() {
            let _ = api.kill();
            let _ = stripe.kill();
            bail!("creditkit serve did not seed the demo");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    step(&format!(
        "creditkit demo on http://{listen}/ (API at http://{api_listen}; Ctrl-C stops it)"
    ));
    let backend = run(Command::new(target.join("debug/example-operator"))
        .args(["--listen", &listen, "--static", "dist", "--keys"])
        .arg(&keys)
        .arg("--api")
        .arg(format!("http://{api_listen}"))
        .env("PATH", path));
    for child in [&mut api, &mut stripe] {
        let _ = child.kill();
        let _ = child.wait();
    }
    backend
}

fn bench(root: &Path) -> Result<()> {
    step("tokens: native counting speed (MiB/s) and one keystroke at 10k chars");
    run(Command::new("cargo").args([
        "bench",
        "--locked",
        "-p",
        "creditkit-tokens",
        "--bench",
        "count",
    ]))?;
    bench_tokens_in_browser(root)?;
    step("pricing: estimates per second");
    run(Command::new("cargo").args([
        "bench",
        "--locked",
        "-p",
        "creditkit-pricing",
        "--bench",
        "estimate",
    ]))?;
    step("ledger: charges per second on SQLite and PostgreSQL");
    let postgres = tools::ensure_postgres()?;
    run(Command::new("cargo")
        .args([
            "bench",
            "--locked",
            "-p",
            "creditkit-ledger",
            "--bench",
            "charges",
        ])
        .env("CREDITKIT_TEST_POSTGRES", postgres))?;
    bench_http(false)
}

/// Charges over HTTP against the release server, beside what each database does alone;
/// `profile`: with where the server's CPU goes (`perf`, `benches/support/profile.rs`).
fn bench_http(profile: bool) -> Result<()> {
    step("server: charges over HTTP (closed and open loop) beside the databases alone");
    let postgres = tools::ensure_postgres()?;
    // Ten minutes per store at half the best rate: memory and storage stay flat.
    let soak = std::env::var("CREDITKIT_BENCH_SOAK_SECONDS").unwrap_or_else(|_| "600".into());
    run(Command::new("cargo")
        .args([
            "bench",
            "--locked",
            "-p",
            "creditkit-server",
            "--bench",
            "http",
        ])
        .env("CREDITKIT_TEST_POSTGRES", postgres)
        .env("CREDITKIT_BENCH_SOAK_SECONDS", soak)
        .env("CREDITKIT_BENCH_PROFILE", if profile { "1" } else { "0" }))
}

/// The ledger's simulation for as long as asked (release build, both stores).
fn sim(operations: &str, seed: Option<&str>) -> Result<()> {
    step(&format!(
        "ledger simulation: {operations} operations per store"
    ));
    let postgres = tools::ensure_postgres()?;
    let mut cmd = Command::new("cargo");
    cmd.args([
        "test",
        "--release",
        "--locked",
        "-p",
        "creditkit-ledger",
        "--test",
        "simulation",
        "--",
        "--nocapture",
    ])
    .env("CREDITKIT_TEST_POSTGRES", postgres)
    .env("CREDITKIT_SIM_OPS", operations);
    if let Some(seed) = seed {
        cmd.env("CREDITKIT_SIM_SEED", seed);
    }
    run(&mut cmd)
}

/// Our counter vs `gpt-tokenizer` and `js-tiktoken` in headless Chromium, one run.
fn bench_tokens_in_browser(root: &Path) -> Result<()> {
    let path = build_page(root)?;
    let npm = tools::ensure_bench_npm()?;
    let chromedriver = tools::ensure_chrome()?;
    step("tokens: bundling the npm tokenizers for the benchmark page");
    let site = target_dir(root).join("bench-tokens");
    let _ = std::fs::remove_dir_all(&site);
    copy_dir(&root.join("dist"), &site)?;
    copy_dir(&root.join("www"), &site.join("www"))?;
    std::fs::copy(
        root.join("bench/tokens.html"),
        site.join("www/bench-tokens.html"),
    )?;
    std::fs::copy(
        root.join("crates/tokens/tests/corpus/mixed_10k.txt"),
        site.join("www/bench-text.txt"),
    )?;
    std::fs::copy(
        root.join("examples/ratecards/kappax.json"),
        site.join("www/bench-card.json"),
    )?;
    run(Command::new(npm.join("node_modules/.bin/esbuild"))
        .arg(root.join("bench/libs.js"))
        .args([
            "--bundle",
            "--format=esm",
            "--minify",
            "--log-level=warning",
        ])
        .arg(format!(
            "--outfile={}",
            site.join("www/bench-libs.js").display()
        ))
        .env("NODE_PATH", npm.join("node_modules"))
        .current_dir(&npm))?;
    step("tokens: in headless Chromium against gpt-tokenizer and js-tiktoken");
    run(Command::new("cargo")
        .args([
            "bench",
            "--locked",
            "-p",
            "creditkit-e2e",
            "--bench",
            "tokens",
        ])
        .env("CREDITKIT_BENCH_SITE", &site)
        .env("CHROMEDRIVER", &chromedriver)
        .env("PATH", &path))
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn fuzz(seconds: &str) -> Result<()> {
    let seconds: u64 = seconds
        .parse()
        .context("fuzz SECONDS must be a whole number")?;
    if !tools::answers("cargo", &["fuzz", "--version"], "cargo-fuzz") {
        run(Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked"])
            .env_remove("CARGO_TARGET_DIR"))?;
    }
    // Start from valid cards so the fuzzer explores the estimator, not only JSON errors.
    let corpus = Path::new("fuzz/corpus/card_parser");
    std::fs::create_dir_all(corpus)?;
    for entry in std::fs::read_dir("examples/ratecards")? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, corpus.join(name))?;
        }
    }
    // cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets this machine's stable rustc take them.
    run(Command::new("cargo")
        .args([
            "fuzz",
            "run",
            "card_parser",
            "--",
            &format!("-max_total_time={seconds}"),
            "-max_len=4096",
        ])
        .env("RUSTC_BOOTSTRAP", "1"))
}

pub(crate) fn step(what: &str) {
    eprintln!("\n==> {what}");
}

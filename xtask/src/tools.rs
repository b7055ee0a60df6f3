//! Installs the tools tests need when they are missing, at pinned versions.
//!
//! Skips a tool that already answers with the right version, so a warm machine pays
//! nothing; a new machine pays once (~3 min for these, ~9 with trunk).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::config::{Toolchain, WasmConfig};
use crate::{run, step};

/// Paths the test steps need.
pub(crate) struct Tools {
    pub(crate) chromedriver: PathBuf,
    /// Admin URL of the PostgreSQL the conformance tests create databases on.
    pub(crate) postgres: String,
    /// PATH with cargo's bin directory first, so `wasm-bindgen-test-runner` is found.
    pub(crate) path: String,
}

/// True when `program args…` runs and its output contains `needle`.
pub(crate) fn answers(program: &str, args: &[&str], needle: &str) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(needle))
        .unwrap_or(false)
}

fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin")
}

/// The exact `wasm-bindgen` version in Cargo.lock: the CLI must equal it.
pub(crate) fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    bail!("{package} is not in Cargo.lock")
}

/// The wasm32 target of the stable toolchain, which the browser tests build for.
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup")?;
    if !String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// The toolchain the shipped modules are built with (`wasm.toml`'s `[toolchain]`, a
/// dated nightly), with its components and targets, so `-Z build-std` can rebuild std for
/// size with `-C panic=immediate-abort` (ARCHITECTURE.md, widget invariants).
fn ensure_shipped_toolchain(toolchain: &Toolchain) -> Result<()> {
    let channel = toolchain.channel.as_str();
    if !answers("rustup", &["run", channel, "rustc", "--version"], "rustc") {
        step(&format!(
            "installing Rust {channel} (for the shipped wasm modules)"
        ));
        let mut install = Command::new("rustup");
        install.args(["toolchain", "install", channel, "--profile", "minimal"]);
        for component in &toolchain.components {
            install.args(["--component", component]);
        }
        for target in &toolchain.targets {
            install.args(["--target", target]);
        }
        run(&mut install)
            .context("the shipped wasm modules are built with -Z build-std, which needs nightly")?;
    }
    let installed = |what: &str| -> Result<String> {
        let out = Command::new("rustup")
            .args([what, "list", "--installed", "--toolchain", channel])
            .output()
            .context("running rustup")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let targets = installed("target")?;
    for target in toolchain
        .targets
        .iter()
        .filter(|t| !targets.contains(t.as_str()))
    {
        run(Command::new("rustup").args(["target", "add", target, "--toolchain", channel]))?;
    }
    let components = installed("component")?;
    for component in toolchain
        .components
        .iter()
        .filter(|c| !components.contains(c.as_str()))
    {
        run(Command::new("rustup").args(["component", "add", component, "--toolchain", channel]))?;
    }
    // Trunk builds offline, and the standard library it rebuilds has crates of its own:
    // into cargo's cache first (on a new machine nothing else fetches them).
    let sysroot = Command::new("rustup")
        .args(["run", channel, "rustc", "--print", "sysroot"])
        .output()
        .context("asking rustc for its sysroot")?;
    let library = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim())
        .join("lib/rustlib/src/rust/library/Cargo.toml");
    run(Command::new("rustup")
        .args(["run", channel, "cargo", "fetch", "--locked"])
        .arg("--manifest-path")
        .arg(&library))?;
    Ok(())
}

/// What the quick tier needs: the lints' components.
pub(crate) fn ensure_lint_tools() -> Result<()> {
    step("checking tools (clippy, rustfmt)");
    for (component, probe) in [("clippy", "clippy"), ("rustfmt", "fmt")] {
        if !answers("cargo", &[probe, "--version"], "") {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

pub(crate) fn ensure_test_tools(root: &Path) -> Result<Tools> {
    step("checking tools (installing what is missing)");
    let bin = cargo_bin();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    ensure_wasm_target()?;
    ensure_wasm_bindgen(root, &bin)?;
    ensure_lint_tools()?;
    let chromedriver = ensure_chrome()?;
    let postgres = ensure_postgres()?;
    Ok(Tools {
        chromedriver,
        postgres,
        path,
    })
}

/// Trunk and wasm-opt at the versions `wasm.toml` pins (Trunk cannot download here).
/// Returns the PATH to build with.
pub(crate) fn ensure_page_tools(root: &Path, config: &WasmConfig) -> Result<String> {
    let bin = cargo_bin();
    ensure_wasm_target()?;
    ensure_shipped_toolchain(&config.toolchain)?;
    ensure_wasm_bindgen(root, &bin)?;
    if !answers(
        &bin.join("trunk").to_string_lossy(),
        &["--version"],
        &format!("trunk {}", config.tools.trunk),
    ) {
        step(&format!(
            "installing trunk {} (a few minutes, once)",
            config.tools.trunk
        ));
        // In a target directory of its own, removed after (not the shared one).
        run(Command::new("cargo")
            .args(["install", "--locked", "trunk", "--version"])
            .arg(&config.tools.trunk)
            .env_remove("CARGO_TARGET_DIR"))?;
    }
    // It prints no version: each version has its own directory.
    let wasm_split = cache_dir().join(format!("wasm-split-{}", config.tools.wasm_split));
    if !wasm_split.join("bin/wasm-split-cli").exists() {
        step(&format!(
            "installing wasm-split-cli {} (wasm_split_cli_support, a minute or two, once)",
            config.tools.wasm_split
        ));
        run(Command::new("cargo")
            .args(["install", "--locked", "wasm_split_cli_support"])
            .args(["--features", "build-binary", "--version"])
            .arg(&config.tools.wasm_split)
            .arg("--root")
            .arg(&wasm_split)
            .env_remove("CARGO_TARGET_DIR"))?;
    }
    let binaryen = cache_dir().join("binaryen");
    let wasm_opt = binaryen.join("node_modules/.bin/wasm-opt");
    if !answers(
        &wasm_opt.to_string_lossy(),
        &["--version"],
        &format!("version {}", config.tools.binaryen),
    ) {
        npm_install(
            &binaryen,
            &[&format!("binaryen@{}.0.0", config.tools.binaryen)],
        )?;
    }
    Ok(format!(
        "{}:{}:{}:{}",
        bin.display(),
        binaryen.join("node_modules/.bin").display(),
        wasm_split.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    ))
}

/// The npm tokenizers the token benchmark compares against, and the bundler for them.
const BENCH_NPM: &[&str] = &[
    "gpt-tokenizer@4.0.0",
    "js-tiktoken@1.0.21",
    "esbuild@0.28.2",
];

/// The accessibility engine the e2e injects into each page it audits, and the bundler
/// its scratch app installs the npm package with.
const E2E_NPM: &[&str] = &[
    "axe-core@4.10.3",
    "esbuild@0.28.2",
    // The TypeScript client: its types generated from the OpenAPI documents, checked
    // with the compiler in the e2e.
    "openapi-typescript@7.13.0",
    "openapi-fetch@0.17.0",
    "typescript@5.9.3",
];

/// Installs the e2e's npm packages (pinned) once; returns (axe.min.js, esbuild).
pub(crate) fn ensure_e2e_npm() -> Result<(PathBuf, PathBuf)> {
    let dir = cache_dir().join("e2e-npm");
    let stamp = dir.join("installed.txt");
    let want = E2E_NPM.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n")?;
        npm_install(&dir, E2E_NPM)?;
        std::fs::write(&stamp, &want)?;
    }
    Ok((
        dir.join("node_modules/axe-core/axe.min.js"),
        dir.join("node_modules/.bin/esbuild"),
    ))
}

/// A command of the e2e's npm packages (`openapi-typescript`, `tsc`), installed if needed.
pub(crate) fn e2e_npm_bin(name: &str) -> Result<PathBuf> {
    ensure_e2e_npm()?;
    Ok(cache_dir().join("e2e-npm/node_modules/.bin").join(name))
}

/// The Standard Webhooks library from PyPI, the e2e's outside check of creditkit's
/// webhook signatures (issue 33).
const E2E_PYPI: &[&str] = &["standardwebhooks==1.3.0"];

/// Installs the e2e's PyPI packages (pinned) once into a folder of their own (no virtual
/// environment needed: the test puts it on `PYTHONPATH`); returns the folder.
pub(crate) fn ensure_e2e_pypi() -> Result<PathBuf> {
    let dir = cache_dir().join("e2e-pypi");
    let stamp = dir.join("installed.txt");
    let want = E2E_PYPI.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        if !answers("python3", &["-m", "pip", "--version"], "pip") {
            apt(&["update", "-q"])?;
            apt(&["install", "-y", "-q", "python3", "python3-pip"])?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&dir)
            .args(E2E_PYPI))?;
        std::fs::write(&stamp, &want)?;
    }
    Ok(dir)
}

/// Schemathesis, the outside check of the OpenAPI contract, pinned, in a virtualenv of
/// its own (its dependencies stay out of the machine's Python); returns its command.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

pub(crate) fn ensure_schemathesis() -> Result<PathBuf> {
    let dir = cache_dir().join("schemathesis");
    let stamp = dir.join("installed.txt");
    let bin = dir.join("bin").join("schemathesis");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(SCHEMATHESIS) || !bin.exists() {
        if !answers("python3", &["-m", "venv", "--help"], "venv") {
            apt(&["update", "-q"])?;
            apt(&["install", "-y", "-q", "python3-venv"])?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
        run(Command::new(dir.join("bin").join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
        ]))?;
        std::fs::write(&stamp, SCHEMATHESIS)?;
    }
    Ok(bin)
}

/// The Python client's test environment: a virtualenv with its runtime (httpx) and
/// pytest, pinned; the e2e pip-installs the client into it. Returns the virtualenv.
const PY_CLIENT: &[&str] = &[
    "httpx==0.28.1",
    "pytest==8.3.4",
    // To build the package itself (pip install of a source tree).
    "setuptools==75.8.0",
    "wheel==0.45.1",
];

pub(crate) fn ensure_py_client_env() -> Result<PathBuf> {
    let dir = cache_dir().join("py-client");
    let stamp = dir.join("installed.txt");
    let want = PY_CLIENT.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
        run(Command::new(dir.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PY_CLIENT))?;
        std::fs::write(&stamp, &want)?;
    }
    Ok(dir)
}

/// Installs the benchmark's npm packages (pinned) once; returns their folder.
pub(crate) fn ensure_bench_npm() -> Result<PathBuf> {
    let dir = cache_dir().join("bench-npm");
    let stamp = dir.join("installed.txt");
    let want = BENCH_NPM.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n")?;
        npm_install(&dir, BENCH_NPM)?;
        std::fs::write(&stamp, &want)?;
    }
    Ok(dir)
}

/// wasm-bindgen-cli (and its test runner) at exactly the version in Cargo.lock.
fn ensure_wasm_bindgen(root: &Path, bin: &Path) -> Result<()> {
    let version = locked_version(root, "wasm-bindgen")?;
    let wanted = format!("wasm-bindgen {version}");
    let installed = answers(
        &bin.join("wasm-bindgen").to_string_lossy(),
        &["--version"],
        &wanted,
    ) && bin.join("wasm-bindgen-test-runner").exists();
    if !installed {
        // Not --locked: its lockfile wants a crate version this registry lacks.
        run(Command::new("cargo")
            .args(["install", "wasm-bindgen-cli", "--version"])
            .arg(format!("={version}"))
            .env_remove("CARGO_TARGET_DIR"))?;
    }
    Ok(())
}

/// `npm install` of `packages` into `dir` (Node.js and npm from Debian when missing).
fn npm_install(dir: &Path, packages: &[&str]) -> Result<()> {
    if !answers("npm", &["--version"], ".") {
        apt(&["update", "-q"])?;
        apt(&["install", "-y", "-q", "nodejs", "npm"])?;
    }
    std::fs::create_dir_all(dir)?;
    run(Command::new("npm")
        .args(["install", "--prefix"])
        .arg(dir)
        .args(["--no-audit", "--no-fund"])
        .args(packages))
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("creditkit")
}

/// Debian's Chromium and ChromeDriver (a downloaded browser cannot run here).
pub(crate) fn ensure_chrome() -> Result<PathBuf> {
    let driver = PathBuf::from("/usr/bin/chromedriver");
    if driver.exists() && Path::new("/usr/bin/chromium").exists() {
        return Ok(driver);
    }
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "chromium", "chromium-driver"])?;
    if !driver.exists() {
        bail!(
            "chromium-driver installed but {} is missing",
            driver.display()
        );
    }
    Ok(driver)
}

/// A PostgreSQL server on 127.0.0.1:5432 the tests can use with trust auth as
/// `postgres`: already running, started from an installed cluster, or installed from
/// Debian's packages. Returns the admin URL (`CREDITKIT_TEST_POSTGRES` wins).
pub(crate) fn ensure_postgres() -> Result<String> {
    if let Ok(url) = std::env::var("CREDITKIT_TEST_POSTGRES") {
        return Ok(url);
    }
    let url = "postgres://postgres@127.0.0.1:5432/postgres".to_string();
    if postgres_answers() {
        return Ok(url);
    }
    if !Path::new("/usr/bin/pg_ctlcluster").exists() {
        step("installing PostgreSQL (Debian packages)");
        apt(&["update", "-q"])?;
        apt(&["install", "-y", "-q", "postgresql"])?;
    }
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .context("no PostgreSQL cluster under /etc/postgresql")?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let version = versions
        .iter()
        .max()
        .context("no PostgreSQL cluster under /etc/postgresql")?;
    // Tests connect over loopback without a password.
    let hba = format!("/etc/postgresql/{version}/main/pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap_or_default();
    if !text.contains("127.0.0.1/32            trust")
        && !text
            .lines()
            .any(|l| l.starts_with("host") && l.contains("127.0.0.1/32") && l.ends_with("trust"))
    {
        let patched = format!(
            "host    all             all             127.0.0.1/32            trust\n{text}"
        );
        std::fs::write(&hba, patched).with_context(|| format!("writing {hba}"))?;
    }
    step(&format!("starting PostgreSQL {version}"));
    let _ = run(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        version,
        "main",
        "start",
    ]));
    let _ = run(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        version,
        "main",
        "reload",
    ]));
    for _ in 0..60 {
        if postgres_answers() {
            return Ok(url);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    bail!("PostgreSQL did not come up on 127.0.0.1:5432")
}

fn postgres_answers() -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
}

fn apt(args: &[&str]) -> Result<()> {
    let sudo = !answers("id", &["-u"], "0") && answers("sudo", &["-n", "true"], "");
    let mut c = if sudo {
        Command::new("sudo")
    } else {
        Command::new("apt-get")
    };
    if sudo {
        c.arg("apt-get");
    }
    c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut c)
}

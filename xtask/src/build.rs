//! Building what a browser loads: the demo page (Trunk), the shipped modules
//! (`dist/embed`, `dist/estimator`) and, for `size`, anything built alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{run, step, tools};

/// Builds the demo page (index.html) with Trunk into `dist/`, and the embeddable module
/// beside it in `dist/embed/`; returns the PATH used.
pub(crate) fn build_page(root: &Path) -> Result<String> {
    let path = tools::ensure_page_tools(root)?;
    step("building the page (trunk build --release)");
    run(Command::new("cargo").args(["fetch", "--locked"]))?;
    run(shipped_build(
        Command::new("trunk")
            .args(["build", "--release", "--offline"])
            .env("PATH", &path)
            .env("TRUNK_OFFLINE", "true"),
    ))?;
    build_embed(root, &path)?;
    for (name, bytes) in served_files(root)? {
        eprintln!("xtask: {name}: {} KB", bytes.len() / 1024);
    }
    Ok(path)
}

/// What embedders ship, each a directory of `dist/` that is also its npm package's
/// content: `embed/` is `creditkit-widget` with the `start` feature (registers the
/// custom elements on load; no demo) plus its stylesheet, `estimator/` the pricing
/// module alone (`creditkit-estimator`). Built with the page's wasm-opt settings.
pub(crate) fn build_embed(root: &Path, path: &str) -> Result<()> {
    let (_, esbuild) = tools::ensure_e2e_npm()?;
    for dir in SHIPPED_DIRS {
        let _ = std::fs::remove_dir_all(root.join("dist").join(dir));
    }
    for (package, feature, dir, name) in MODULES {
        step(&format!("building {dir}/{name}.js ({package})"));
        let built = cargo_wasm(root, package, feature)?;
        let out = root.join("dist").join(dir);
        bindgen_and_opt(root, path, &built, &out, name)?;
        minify_js(&esbuild, &out.join(format!("{name}.js")))?;
    }
    std::fs::copy(
        root.join("crates/widget/style/creditkit.css"),
        root.join("dist/embed/creditkit.css"),
    )?;
    // The estimator's entry point: the module plus `loadTokenCounter` in JavaScript
    // (counted with it by `size` and the e2e's budget), shipped minified like the glue.
    for file in ["index.js", "index.d.ts"] {
        std::fs::copy(
            root.join("crates/estimator/npm").join(file),
            root.join("dist/estimator").join(file),
        )?;
    }
    minify_js(&esbuild, &root.join("dist/estimator/index.js"))?;
    Ok(())
}

/// The shipped modules: (package, feature, directory in `dist/`, module name).
/// The estimator's package holds two: the engine (its first load) and the token counter
/// its `loadTokenCounter` loads when a page first counts.
pub(crate) const MODULES: [(&str, Option<&str>, &str, &str); 3] = [
    ("creditkit-widget", Some("start"), "embed", "creditkit"),
    (
        "creditkit-estimator",
        None,
        "estimator",
        "creditkit_estimator",
    ),
    ("creditkit-token-counter", None, "estimator", COUNTER_MODULE),
];

/// The directories of `dist/` the shipped modules go to.
const SHIPPED_DIRS: [&str; 2] = ["embed", "estimator"];

/// The estimator package's second module, loaded when a page first counts tokens.
pub(crate) const COUNTER_MODULE: &str = "creditkit_token_counter";

/// Builds `package` for wasm32 with the `wasm-release` profile; returns the raw module.
pub(crate) fn cargo_wasm(root: &Path, package: &str, feature: Option<&str>) -> Result<PathBuf> {
    let mut cargo = Command::new("cargo");
    cargo.args(["build", "--locked", "--target", "wasm32-unknown-unknown"]);
    cargo.args(["--profile", "wasm-release", "-p", package]);
    if let Some(f) = feature {
        cargo.args(["--features", f]);
    }
    run(shipped_build(&mut cargo))?;
    Ok(root.join(format!(
        "{SHIPPED_TARGET_DIR}/wasm32-unknown-unknown/wasm-release/{}.wasm",
        package.replace('-', "_")
    )))
}

/// How every module a browser loads is compiled (the shipped ones, the demo page through
/// Trunk, the size probes): the standard library is rebuilt with it (`-Z build-std`, on
/// the nightly toolchain) for size: optimised like our code (`opt-level = "z"`, its
/// size-over-speed algorithms), and with `panic = immediate-abort` a panic is a trap, so
/// no panic message, formatting machinery or source location is compiled in. Nothing
/// may panic on input anyway (the engine is property-tested for it). In its own target
/// directory: a std built this way is not the one the tests use.
fn shipped_build(cmd: &mut Command) -> &mut Command {
    cmd.env("RUSTUP_TOOLCHAIN", tools::SHIPPED_TOOLCHAIN)
        .env("CARGO_TARGET_DIR", SHIPPED_TARGET_DIR)
        .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
        .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size")
        // Joined to `.cargo/config.toml`'s flags for this target.
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none",
        )
}

/// Where [`shipped_build`] builds: apart from `target/`'s stable builds.
const SHIPPED_TARGET_DIR: &str = "target/shipped";

/// wasm-bindgen (`--target web`) into `out` as `{name}.js` + `{name}_bg.wasm`, then
/// wasm-opt in place with index.html's settings, so every module is built alike.
pub(crate) fn bindgen_and_opt(
    root: &Path,
    path: &str,
    built: &Path,
    out: &Path,
    name: &str,
) -> Result<()> {
    let html = std::fs::read_to_string(root.join("index.html"))?;
    let level = attribute(&html, "data-wasm-opt").context("index.html: data-wasm-opt")?;
    let params = attribute(&html, "data-wasm-opt-params").unwrap_or_default();
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--out-name", name, "--out-dir"])
        .arg(out)
        .arg(built)
        .env("PATH", path))?;
    let wasm = out.join(format!("{name}_bg.wasm"));
    // A copy with function names, for the per-crate table, outside what is served.
    let named = named_copy(root, name);
    std::fs::create_dir_all(root.join("target/size"))?;
    for (target, names) in [(named, true), (wasm.clone(), false)] {
        let mut opt = Command::new("wasm-opt");
        opt.arg(format!("-O{level}"))
            .arg(&wasm)
            .arg("-o")
            .arg(&target);
        opt.args(params.split_whitespace()).env("PATH", path);
        if names {
            opt.arg("-g");
        }
        run(&mut opt)?;
    }
    Ok(())
}

/// Minifies wasm-bindgen's glue in place with esbuild (ES module in, ES module out;
/// `new URL("…_bg.wasm", import.meta.url)` stays as bundlers look for it). Its first
/// line, the `@ts-self-types` pointer to the declarations, is kept.
fn minify_js(esbuild: &Path, js: &Path) -> Result<()> {
    let text = std::fs::read_to_string(js).with_context(|| format!("reading {}", js.display()))?;
    let first = text.lines().next().unwrap_or_default();
    let minified = js.with_extension("min.js");
    let mut cmd = Command::new(esbuild);
    cmd.arg(js)
        .args(["--minify", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", minified.display()));
    if first.starts_with("/* @ts-self-types=") {
        cmd.arg(format!("--banner:js={first}"));
    }
    run(&mut cmd)?;
    std::fs::rename(&minified, js)?;
    Ok(())
}

/// Where [`bindgen_and_opt`] keeps the module built into `out` with its names.
pub(crate) fn named_copy(root: &Path, name: &str) -> PathBuf {
    root.join(format!("target/size/{name}-named.wasm"))
}

/// The page's and the embed's `.wasm` and `.js` files, named relative to `dist/`.
pub(crate) fn served_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for dir in std::iter::once("").chain(SHIPPED_DIRS) {
        for entry in std::fs::read_dir(root.join("dist").join(dir))? {
            let p = entry?.path();
            if matches!(p.extension().and_then(|e| e.to_str()), Some("wasm" | "js")) {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                let name = if dir.is_empty() {
                    name.into_owned()
                } else {
                    format!("{dir}/{name}")
                };
                files.push((name, std::fs::read(&p)?));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The value of `name="…"` in `html`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_string())
}

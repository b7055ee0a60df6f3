//! One module through the tools every shipped module goes through: wasm-bindgen, then
//! wasm-opt with `wasm.toml`'s settings, and esbuild for the glue.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::config::{target_dir, WasmConfig};
use crate::run;

/// wasm-bindgen (`--target web`, and `bindgen_args`) into `out` as `{name}.js` +
/// `{name}_bg.wasm`, then wasm-opt in place with `wasm.toml`'s settings, so every module
/// is built alike.
pub(crate) fn bindgen_and_opt(
    root: &Path,
    config: &WasmConfig,
    path: &str,
    built: &Path,
    out: &Path,
    name: &str,
    bindgen_args: &[&str],
) -> Result<()> {
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--out-name", name])
        .args(bindgen_args)
        .arg("--out-dir")
        .arg(out)
        .arg(built)
        .env("PATH", path))?;
    let wasm = out.join(format!("{name}_bg.wasm"));
    // A copy with function names, for the per-crate table, outside what is served.
    let named = named_copy(root, name);
    std::fs::create_dir_all(named.parent().context("named copy's directory")?)?;
    optimise(config, path, &wasm, &named, true, &[])?;
    optimise(config, path, &wasm, &wasm, false, &[])
}

/// wasm-opt with `wasm.toml`'s level and passes (and `extra`), `names` kept or not.
pub(crate) fn optimise(
    config: &WasmConfig,
    path: &str,
    from: &Path,
    to: &Path,
    names: bool,
    extra: &[&str],
) -> Result<()> {
    let mut opt = Command::new("wasm-opt");
    opt.args(extra);
    opt.arg(format!("-O{}", config.wasm_opt.level))
        .arg(from)
        .arg("-o")
        .arg(to)
        .args(&config.wasm_opt.params)
        .env("PATH", path);
    if names {
        opt.arg("-g");
    }
    run(&mut opt)
}

/// Minifies wasm-bindgen's glue in place with esbuild (ES module in, ES module out;
/// `new URL("…_bg.wasm", import.meta.url)` stays as bundlers look for it). Its first
/// line, the `@ts-self-types` pointer to the declarations, is kept. With `bundle`, what
/// it imports from its own directory (the `inline_js` snippets, a split module's
/// loader) is bundled in: a page fetches one file before the module can start, not the
/// glue and then each of its imports in turn.
pub(crate) fn minify_js(esbuild: &Path, js: &Path, bundle: bool) -> Result<()> {
    let text = std::fs::read_to_string(js).with_context(|| format!("reading {}", js.display()))?;
    let first = text.lines().next().unwrap_or_default();
    let minified = js.with_extension("min.js");
    let mut cmd = Command::new(esbuild);
    cmd.arg(js)
        .args(["--minify", "--format=esm", "--log-level=warning"])
        // A split module's glue names `./__wasm_split.js` once per part it imports (the
        // same module each time): harmless, and not ours to fix.
        .arg("--log-override:duplicate-object-key=silent")
        .arg(format!("--outfile={}", minified.display()));
    if bundle {
        cmd.arg("--bundle");
    }
    if first.starts_with("/* @ts-self-types=") {
        cmd.arg(format!("--banner:js={first}"));
    }
    run(&mut cmd)?;
    std::fs::rename(&minified, js)?;
    Ok(())
}

/// Where [`bindgen_and_opt`] keeps the module built into `out` with its names.
pub(crate) fn named_copy(root: &Path, name: &str) -> PathBuf {
    target_dir(root).join(format!("size/{name}-named.wasm"))
}

//! Building what a browser loads: the demo page (Trunk), the shipped modules
//! (`dist/embed`, `dist/estimator`) and, for `size`, anything built alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::config::WasmConfig;
use crate::wasm::{bindgen_and_opt, minify_js, optimise};
use crate::{run, step, tools};

/// Builds the demo page (index.html) with Trunk into `dist/`, and the embeddable module
/// beside it in `dist/embed/`; returns the PATH used.
pub(crate) fn build_page(root: &Path) -> Result<String> {
    let config = WasmConfig::read(root)?;
    let path = tools::ensure_page_tools(root, &config)?;
    step("building the page (trunk build --release)");
    run(Command::new("cargo").args(["fetch", "--locked"]))?;
    run(config.shipped_build(
        root,
        Command::new("trunk")
            .args(["build", "--release", "--offline"])
            .env("PATH", &path)
            .env("TRUNK_OFFLINE", "true"),
    ))?;
    // Trunk leaves wasm-opt to us (index.html says 0), so the page is optimised exactly
    // like the shipped modules.
    for entry in std::fs::read_dir(root.join("dist"))? {
        let wasm = entry?.path();
        if wasm.extension().and_then(|e| e.to_str()) == Some("wasm") {
            optimise(&config, &path, &wasm, &wasm, false, &[])?;
        }
    }
    build_embed(root, &config, &path)?;
    for (name, bytes) in served_files(root, &config)? {
        eprintln!("xtask: {name}: {} KB", bytes.len() / 1024);
    }
    Ok(path)
}

/// What embedders ship, each a directory of `dist/` that is also its npm package's
/// content: `embed/` is `creditkit-widget` with the `start` feature (registers the
/// custom elements on load; no demo) plus its stylesheet, `estimator/` the pricing
/// module alone (`creditkit-estimator`) and its token counter. The modules are
/// `wasm.toml`'s, built with its settings.
pub(crate) fn build_embed(root: &Path, config: &WasmConfig, path: &str) -> Result<()> {
    let (_, esbuild) = tools::ensure_e2e_npm()?;
    for dir in config.shipped_dirs() {
        let _ = std::fs::remove_dir_all(root.join("dist").join(dir));
    }
    for module in &config.modules {
        let (package, dir, name) = (&module.package, &module.dir, &module.name);
        step(&format!("building {dir}/{name}.js ({package})"));
        let out = root.join("dist").join(dir);
        if module.split {
            crate::split::build_split(root, config, path, &esbuild, module, &out)?;
        } else {
            let built = cargo_wasm(root, config, package, &module.features)?;
            bindgen_and_opt(root, config, path, &built, &out, name, &[])?;
        }
        minify_js(&esbuild, &out.join(format!("{name}.js")), true)?;
        // Bundled into the glue: not shipped beside it.
        let _ = std::fs::remove_dir_all(out.join("snippets"));
        let _ = std::fs::remove_file(out.join("__wasm_split.js"));
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
    // Not bundled: it imports the estimator's glue, which pages may import too (one copy).
    minify_js(&esbuild, &root.join("dist/estimator/index.js"), false)?;
    Ok(())
}

/// Builds `package` for the browser as `wasm.toml` says; returns the raw module.
pub(crate) fn cargo_wasm(
    root: &Path,
    config: &WasmConfig,
    package: &str,
    features: &[String],
) -> Result<PathBuf> {
    let mut cargo = Command::new("cargo");
    cargo.args(["build", "--locked", "--target", &config.build.target]);
    cargo.args(["--profile", &config.build.profile, "-p", package]);
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
    }
    run(config.shipped_build(root, &mut cargo))?;
    Ok(config.built_wasm(root, package))
}

/// The page's and the embed's `.wasm` and `.js` files, named relative to `dist/`.
pub(crate) fn served_files(root: &Path, config: &WasmConfig) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for dir in std::iter::once("").chain(config.shipped_dirs()) {
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

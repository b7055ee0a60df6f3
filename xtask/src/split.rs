//! The embed split at its `#[lazy]` functions (`crates/widget/src/lazy.rs`): a first-screen
//! module and parts the browser fetches when a group is first shown.
//!
//! Built with relocations kept (`--emit-relocs`, in a target directory of its own: other
//! flags), then `wasm-split-cli` (wasm_split_cli_support, what cargo-leptos runs) cuts it
//! into the main module, one `split_*.wasm` per group and `chunk_*.wasm` for code groups
//! share, plus `__wasm_split.js`, which fetches and instantiates them against the main
//! module's memory and function table. wasm-bindgen then reads the main module, keeping
//! the exports the parts link to; every piece goes through wasm-opt like any module.
//! `parts.json` lists, per group, the files it fetches (for size checks and preloading).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::config::{Module, WasmConfig};
use crate::run;
use crate::wasm::{bindgen_and_opt, minify_js, optimise};

/// Features wasm-opt must allow in a part: the main module says them in its target
/// features section; a part has none.
const PART_FEATURES: &[&str] = &[
    "--enable-reference-types",
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-multivalue",
];

/// Builds `module` split into `out` (`dist/<dir>`).
pub(crate) fn build_split(
    root: &Path,
    config: &WasmConfig,
    path: &str,
    esbuild: &Path,
    module: &Module,
    out: &Path,
) -> Result<()> {
    let mut cargo = Command::new("cargo");
    cargo.args(["build", "--locked", "--target", &config.build.target]);
    cargo.args(["--profile", &config.build.profile, "-p", &module.package]);
    if !module.features.is_empty() {
        cargo.args(["--features", &module.features.join(",")]);
    }
    run(config.shipped_split_build(root, &mut cargo))?;
    let built = config.built_split_wasm(root, &module.package);

    let pieces = crate::config::target_dir(root)
        .join("split")
        .join(&module.name);
    let _ = std::fs::remove_dir_all(&pieces);
    std::fs::create_dir_all(&pieces)?;
    run(Command::new("wasm-split-cli")
        .args(["--target", "web", "--out-name", &module.name])
        .arg(&built)
        .arg(&pieces)
        .env("PATH", path))?;
    let name = &module.name;
    bindgen_and_opt(
        root,
        config,
        path,
        &pieces.join(format!("{name}.wasm")),
        out,
        name,
        &["--keep-lld-exports"],
    )?;
    let js = std::fs::read_to_string(pieces.join("__wasm_split.js"))?;
    let parts = parts(&js)?;
    for entry in std::fs::read_dir(&pieces)? {
        let p = entry?.path();
        let file = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if file.ends_with(".wasm") && (file.starts_with("split_") || file.starts_with("chunk_")) {
            optimise(config, path, &p, &out.join(&file), false, PART_FEATURES)?;
        }
    }
    std::fs::write(out.join("__wasm_split.js"), &js)?;
    minify_js(esbuild, &out.join("__wasm_split.js"), false)?;
    std::fs::write(
        out.join("parts.json"),
        serde_json::to_string_pretty(&parts)? + "\n",
    )?;
    Ok(())
}

/// Each group's files, read from `__wasm_split.js`: its own part, then the chunks it
/// waits for. A group is named as in `lazy.rs` (`buy`, `plan`, …).
pub(crate) fn parts(js: &str) -> Result<BTreeMap<String, Vec<String>>> {
    // `const __chunk_9 = makeLoad(() => { … new URL("./chunk_9.wasm", …) … }, []);`
    // `export const __wasm_split_load_buy_123 = wrapAsyncCb(makeLoad(() => {
    //      … new URL("./split_buy_123.wasm", …) … }, [__chunk_9, __chunk_10]));`
    let mut chunks = BTreeMap::new();
    let mut groups = BTreeMap::new();
    // Definitions start a line; a definition's body has `const`s of its own.
    let mut defs: Vec<String> = Vec::new();
    for line in js.lines() {
        match line
            .strip_prefix("export const ")
            .or_else(|| line.strip_prefix("const "))
        {
            Some(def) if def.starts_with("__") => defs.push(def.to_string()),
            _ => {
                if let Some(def) = defs.last_mut() {
                    def.push('\n');
                    def.push_str(line);
                }
            }
        }
    }
    for def in &defs {
        let Some((ident, rest)) = def.split_once(" = ") else {
            continue;
        };
        let Some(file) = rest
            .split_once("new URL(\"./")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(f, _)| f.to_string())
        else {
            continue;
        };
        if let Some(chunk) = ident.strip_prefix("__chunk_") {
            chunks.insert(format!("__chunk_{chunk}"), file);
        } else if let Some(group) = ident.strip_prefix("__wasm_split_load_") {
            let deps = rest
                .rsplit_once(", [")
                .map(|(_, d)| d.split(']').next().unwrap_or_default())
                .context("a group without its list of chunks")?;
            let group = group.rsplit_once('_').map_or(group, |(g, _)| g).to_string();
            let deps: Vec<String> = deps
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect();
            groups.insert(group, (file, deps));
        }
    }
    if groups.is_empty() {
        bail!("__wasm_split.js names no group: was the module built with its `split` feature?");
    }
    let mut out = BTreeMap::new();
    for (group, (file, deps)) in groups {
        let mut files = vec![file];
        for d in deps {
            files.push(
                chunks
                    .get(&d)
                    .with_context(|| format!("{group} waits for {d}, which loads no file"))?
                    .clone(),
            );
        }
        out.insert(group, files);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_are_read_from_the_loader() {
        let js = r#"import { initSync } from "./creditkit.js";
const __chunk_9 = makeLoad(() => {
    const src = fetch(new URL("./chunk_9.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
const __chunk_10 = makeLoad(() => {
    const src = fetch(new URL("./chunk_10.wasm", import.meta.url));
}
, []);
export const __wasm_split_load_buy_1683 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_buy_1683.wasm", import.meta.url));
}
, [__chunk_9, __chunk_10]));
export const __wasm_split_load_plan_1683 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_plan_1683.wasm", import.meta.url));
}
, []));
"#;
        let parts = super::parts(js).unwrap();
        assert_eq!(
            parts.get("buy").unwrap(),
            &["split_buy_1683.wasm", "chunk_9.wasm", "chunk_10.wasm"]
        );
        assert_eq!(parts.get("plan").unwrap(), &["split_plan_1683.wasm"]);
        assert!(super::parts("const x = 1;").is_err());
    }
}

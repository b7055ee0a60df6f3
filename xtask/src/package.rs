//! `cargo xtask package`: the npm packages frontend developers install, packed with
//! `npm pack` from what `cargo xtask page` builds (`dist/embed`, `dist/estimator`) plus
//! each crate's hand-written `npm/` files (package.json, README, element types).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// (crate directory, directory in `dist/`): `@creditkit/widget`, `@creditkit/estimator`,
/// `@creditkit/client` (the operator's TypeScript client).
const PACKAGES: [(&str, &str); 3] = [
    ("crates/widget", "embed"),
    ("crates/estimator", "estimator"),
    ("crates/client", "client"),
];

/// `dist/client`: the OpenAPI documents as the server serves them (`creditkit openapi`)
/// and their TypeScript types (openapi-typescript), for `@creditkit/client`.
fn client_types(root: &Path) -> Result<()> {
    let out = root.join("dist").join("client");
    std::fs::create_dir_all(&out)?;
    let generate = crate::tools::e2e_npm_bin("openapi-typescript")?;
    for (name, flag) in [("workspace", None), ("operator", Some("--operator"))] {
        let mut cargo = Command::new("cargo");
        cargo.args([
            "run",
            "-q",
            "--locked",
            "-p",
            "creditkit-cli",
            "--",
            "openapi",
        ]);
        cargo.args(flag);
        let doc = cargo
            .current_dir(root)
            .output()
            .context("running creditkit openapi")?;
        if !doc.status.success() {
            bail!(
                "creditkit openapi failed: {}",
                String::from_utf8_lossy(&doc.stderr)
            );
        }
        let json = out.join(format!("{name}.json"));
        std::fs::write(&json, &doc.stdout)?;
        crate::run(
            Command::new(&generate)
                .arg(&json)
                .arg("-o")
                .arg(out.join(format!("{name}.d.ts")))
                // A field with a default may be left out of a request.
                .arg("--default-non-nullable=false"),
        )?;
    }
    Ok(())
}

/// Builds the modules and packs each package; returns the tarballs' paths.
pub(crate) fn package(root: &Path) -> Result<Vec<PathBuf>> {
    let config = crate::config::WasmConfig::read(root)?;
    let path = crate::tools::ensure_page_tools(root, &config)?;
    crate::build::build_embed(root, &config, &path)?;
    pack(root)
}

/// Packs the modules already in `dist/` into `target/package/*.tgz`.
pub(crate) fn pack(root: &Path) -> Result<Vec<PathBuf>> {
    let version = workspace_version(root)?;
    let out_root = crate::config::target_dir(root).join("package");
    let mut tarballs = Vec::new();
    client_types(root)?;
    for (crate_dir, dist_dir) in PACKAGES {
        crate::step(&format!(
            "packing {crate_dir} (dist/{dist_dir} + {crate_dir}/npm)"
        ));
        let out = out_root.join(dist_dir);
        let _ = std::fs::remove_dir_all(&out);
        // The hand-written files first: what `dist/` has of them (the estimator's
        // `index.js`, minified) is what ships.
        crate::copy_dir(&root.join(crate_dir).join("npm"), &out)?;
        crate::copy_dir(&root.join("dist").join(dist_dir), &out)?;
        let manifest = out.join("package.json");
        let text = std::fs::read_to_string(&manifest)?;
        if !text.contains("\"version\": \"0.0.0\"") {
            bail!("{crate_dir}/npm/package.json: expected the placeholder version 0.0.0");
        }
        std::fs::write(
            &manifest,
            text.replace(
                "\"version\": \"0.0.0\"",
                &format!("\"version\": \"{version}\""),
            ),
        )?;
        let packed = Command::new("npm")
            .args(["pack", "--silent", "--pack-destination"])
            .arg(&out_root)
            .current_dir(&out)
            .output()
            .context("running npm pack (npm is needed, as for wasm-opt)")?;
        if !packed.status.success() {
            bail!(
                "npm pack failed: {}",
                String::from_utf8_lossy(&packed.stderr)
            );
        }
        let name = String::from_utf8_lossy(&packed.stdout).trim().to_string();
        let tarball = out_root.join(name.lines().last().unwrap_or_default());
        let bytes = std::fs::metadata(&tarball)
            .with_context(|| format!("npm pack wrote no {}", tarball.display()))?
            .len();
        eprintln!("xtask: {} ({bytes} bytes)", tarball.display());
        tarballs.push(tarball);
    }
    Ok(tarballs)
}

/// `version` of `[workspace.package]` in the root Cargo.toml.
fn workspace_version(root: &Path) -> Result<String> {
    let toml = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let section = toml
        .split("[workspace.package]")
        .nth(1)
        .context("Cargo.toml: no [workspace.package]")?;
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .context("Cargo.toml: no workspace version")?;
    Ok(line
        .split('"')
        .nth(1)
        .context("Cargo.toml: version is not a string")?
        .to_string())
}

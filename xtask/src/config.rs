//! The wasm build settings, read from `wasm.toml` at the project root: the one place
//! every step that builds for a browser takes them from (the shipped modules, Trunk's
//! demo page, the size probes, the toolchain and tool installs).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WasmConfig {
    pub(crate) toolchain: Toolchain,
    pub(crate) build: Build,
    #[serde(rename = "wasm-opt")]
    pub(crate) wasm_opt: WasmOpt,
    pub(crate) tools: ToolVersions,
    #[serde(rename = "module")]
    pub(crate) modules: Vec<Module>,
}

/// rust-toolchain.toml's `[toolchain]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Toolchain {
    pub(crate) channel: String,
    pub(crate) components: Vec<String>,
    pub(crate) targets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Build {
    pub(crate) target: String,
    pub(crate) profile: String,
    pub(crate) build_std: Vec<String>,
    pub(crate) build_std_features: Vec<String>,
    pub(crate) rustflags: Vec<String>,
    pub(crate) target_subdir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WasmOpt {
    pub(crate) level: String,
    pub(crate) params: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolVersions {
    pub(crate) trunk: String,
    pub(crate) binaryen: String,
    /// `wasm_split_cli_support`'s `wasm-split-cli`, which splits a module at its
    /// `#[lazy]` functions.
    #[serde(rename = "wasm-split")]
    pub(crate) wasm_split: String,
}

/// A module embedders ship: `package` (with `features`) into `dist/{dir}/{name}.js`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Module {
    pub(crate) package: String,
    #[serde(default)]
    pub(crate) features: Vec<String>,
    pub(crate) dir: String,
    pub(crate) name: String,
    /// Loaded by its package when first needed, not with the first screen.
    #[serde(default)]
    pub(crate) lazy: bool,
    /// Split at its `#[lazy]` functions into a first-screen module and parts fetched
    /// when first shown (wasm-split; `xtask/src/split.rs`).
    #[serde(default)]
    pub(crate) split: bool,
}

impl WasmConfig {
    pub(crate) fn read(root: &Path) -> Result<WasmConfig> {
        let path = root.join("wasm.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let config: WasmConfig =
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        config.check(root)?;
        Ok(config)
    }

    /// What other files must agree with: the profile exists, Trunk leaves wasm-opt to
    /// xtask and builds with the same profile.
    fn check(&self, root: &Path) -> Result<()> {
        if !self.toolchain.targets.contains(&self.build.target) {
            bail!(
                "wasm.toml: [toolchain] targets must include {}",
                self.build.target
            );
        }
        let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
        if !manifest.contains(&format!("[profile.{}]", self.build.profile)) {
            bail!(
                "wasm.toml: profile {} is not in Cargo.toml",
                self.build.profile
            );
        }
        let html = std::fs::read_to_string(root.join("index.html"))?;
        let wanted = [
            format!("data-cargo-profile-release=\"{}\"", self.build.profile),
            "data-wasm-opt=\"0\"".to_string(),
        ];
        for attribute in wanted {
            if !html.contains(&attribute) {
                bail!("index.html: the demo's Trunk link must say {attribute} (wasm.toml decides how the page is built)");
            }
        }
        Ok(())
    }

    /// The shipped modules' own target directory, under the build's.
    pub(crate) fn target_dir(&self, root: &Path) -> PathBuf {
        target_dir(root).join(&self.build.target_subdir)
    }

    /// Sets the environment of a cargo (or Trunk) command so that it builds the way every
    /// module a browser loads is built.
    pub(crate) fn shipped_build<'c>(
        &self,
        root: &Path,
        cmd: &'c mut std::process::Command,
    ) -> &'c mut std::process::Command {
        let flags_var = self.rustflags_var();
        cmd.env("RUSTUP_TOOLCHAIN", &self.toolchain.channel)
            .env("CARGO_TARGET_DIR", self.target_dir(root))
            .env("CARGO_UNSTABLE_BUILD_STD", self.build.build_std.join(","))
            .env(
                "CARGO_UNSTABLE_BUILD_STD_FEATURES",
                self.build.build_std_features.join(","),
            )
            .env(flags_var, self.build.rustflags.join(" "))
    }

    /// [`Self::shipped_build`] for a module split at its `#[lazy]` functions: the linker
    /// keeps its relocations (the splitter reads them), in a target directory of its own
    /// (other flags would rebuild std in the shared one each time).
    pub(crate) fn shipped_split_build<'c>(
        &self,
        root: &Path,
        cmd: &'c mut std::process::Command,
    ) -> &'c mut std::process::Command {
        let mut flags = self.build.rustflags.clone();
        flags.push("-Clink-arg=--emit-relocs".into());
        self.shipped_build(root, cmd)
            .env("CARGO_TARGET_DIR", self.split_target_dir(root))
            .env(self.rustflags_var(), flags.join(" "))
    }

    fn split_target_dir(&self, root: &Path) -> PathBuf {
        target_dir(root).join(format!("{}-split", self.build.target_subdir))
    }

    fn rustflags_var(&self) -> String {
        format!(
            "CARGO_TARGET_{}_RUSTFLAGS",
            self.build.target.to_uppercase().replace('-', "_")
        )
    }

    /// Where cargo puts what [`Self::shipped_split_build`] built of `package`.
    pub(crate) fn built_split_wasm(&self, root: &Path, package: &str) -> PathBuf {
        self.built_in(&self.split_target_dir(root), package)
    }

    /// Where cargo puts what [`Self::shipped_build`] built of `package`.
    pub(crate) fn built_wasm(&self, root: &Path, package: &str) -> PathBuf {
        self.built_in(&self.target_dir(root), package)
    }

    fn built_in(&self, target_dir: &Path, package: &str) -> PathBuf {
        target_dir
            .join(&self.build.target)
            .join(&self.build.profile)
            .join(format!("{}.wasm", package.replace('-', "_")))
    }

    /// The shipped modules' directories in `dist/`, each once.
    pub(crate) fn shipped_dirs(&self) -> Vec<&str> {
        let mut dirs: Vec<&str> = self.modules.iter().map(|m| m.dir.as_str()).collect();
        dirs.dedup();
        dirs
    }
}

/// The build's target directory: `CARGO_TARGET_DIR` (CI shares one across clones,
/// outside them) or the project's `target/`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

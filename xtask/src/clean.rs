//! `cargo xtask clean-stale`: frees the disk that this project's builds and tests leave
//! behind on a machine kept from one use to the next (ARCHITECTURE.md, "Dev loop").
//!
//! - build outputs (`target/`, `fuzz/target/`) of other clones of this project found
//!   under the usual scratch places, unless written in the last half hour (in use);
//! - what the project's tests and scripts leave in the temp directory (`creditkit-*`,
//!   Chrome's profiles and scoped directories) when over an hour old;
//! - the shared target directory (`CARGO_TARGET_DIR` outside the clone, as CI sets it)
//!   when it has grown past [`SHARED_TARGET_BOUND_BYTES`]: cargo never removes outputs
//!   of dependency versions no longer used, so it is rebuilt from nothing then.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::config::target_dir;

/// A full `cargo xtask test` leaves under 6 GB; twice that is stale outputs piling up.
const SHARED_TARGET_BOUND_BYTES: u64 = 12 << 30;
const IN_USE: Duration = Duration::from_secs(30 * 60);
const STALE_TEMP: Duration = Duration::from_secs(60 * 60);

pub(crate) fn clean_stale(root: &Path, dry_run: bool) -> Result<()> {
    let root = root.canonicalize()?;
    let mut freed = 0;
    for clone in other_clones(&root) {
        for dir in [clone.join("target"), clone.join("fuzz/target")] {
            if !dir.is_dir() {
                continue;
            }
            if recently_written(&dir) {
                eprintln!(
                    "clean-stale: kept {} (written in the last 30 minutes)",
                    dir.display()
                );
                continue;
            }
            freed += remove(&dir, "another clone's build outputs", dry_run);
        }
    }
    let temp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&temp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with("creditkit-")
                || name.starts_with(".org.chromium.Chromium.")
                || name.starts_with("scoped_dir")
                || name.starts_with(".com.google.Chrome.");
            if ours && age(&entry.path()).is_some_and(|a| a > STALE_TEMP) {
                freed += remove(&entry.path(), "a test's scratch file", dry_run);
            }
        }
    }
    let shared = target_dir(&root);
    if !shared.starts_with(&root) && shared.is_dir() {
        let size = disk_usage(&shared);
        eprintln!(
            "clean-stale: shared target directory {}: {:.1} GB (bound {} GB)",
            shared.display(),
            gb(size),
            SHARED_TARGET_BOUND_BYTES >> 30
        );
        if size > SHARED_TARGET_BOUND_BYTES {
            freed += remove(
                &shared,
                "the shared target directory, past its bound",
                dry_run,
            );
        }
    }
    let verb = if dry_run { "would free" } else { "freed" };
    eprintln!("clean-stale: {verb} {:.2} GB", gb(freed));
    Ok(())
}

/// Checkouts of this project (a `wasm.toml` and `xtask/`) other than `root`, up to three
/// levels under the temp directories, `/work`, `/var/tmp` and the home directory.
fn other_clones(root: &Path) -> Vec<PathBuf> {
    let mut places = vec![
        std::env::temp_dir(),
        "/tmp".into(),
        "/var/tmp".into(),
        "/work".into(),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        places.push(home.into());
    }
    if let Some(parent) = root.parent() {
        places.push(parent.to_path_buf());
    }
    let mut found = Vec::new();
    for place in places {
        find_clones(&place, 3, &mut found);
    }
    found.retain(|c| c.canonicalize().is_ok_and(|c| c != root));
    found.sort();
    found.dedup();
    found
}

fn find_clones(dir: &Path, depth: u32, found: &mut Vec<PathBuf>) {
    if dir.join("wasm.toml").is_file() && dir.join("xtask/src").is_dir() {
        if let Ok(dir) = dir.canonicalize() {
            found.push(dir);
        }
        return;
    }
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let name = entry.file_name();
        let skip =
            name.to_string_lossy().starts_with('.') || name == "target" || name == "node_modules";
        if is_dir && !skip {
            find_clones(&entry.path(), depth - 1, found);
        }
    }
}

/// True when cargo wrote into the build directory lately (a build may be running).
fn recently_written(target: &Path) -> bool {
    let mut dirs = vec![target.to_path_buf()];
    for profile in ["debug", "release", "shipped", "wasm32-unknown-unknown"] {
        dirs.push(target.join(profile));
        dirs.push(target.join(profile).join("deps"));
        dirs.push(target.join(profile).join(".fingerprint"));
    }
    dirs.iter().any(|d| age(d).is_some_and(|a| a < IN_USE))
}

fn age(path: &Path) -> Option<Duration> {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
}

/// Removes `path` (unless `dry_run`); returns the bytes it held.
fn remove(path: &Path, what: &str, dry_run: bool) -> u64 {
    let size = disk_usage(path);
    let verb = if dry_run { "would remove" } else { "removing" };
    eprintln!(
        "clean-stale: {verb} {what}: {} ({:.2} GB)",
        path.display(),
        gb(size)
    );
    if dry_run {
        return size;
    }
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => size,
        Err(e) => {
            eprintln!("clean-stale: could not remove {}: {e}", path.display());
            0
        }
    }
}

/// Bytes held by the files under `path` (symbolic links not followed).
pub(crate) fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries.flatten().map(|e| disk_usage(&e.path())).sum()
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

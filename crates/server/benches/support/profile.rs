//! Where the server's CPU goes under load: `perf record` attached to this process
//! around one point, the server threads' samples summed by what they run (kernel,
//! SQLite, allocator, HTTP, JSON, ledger, …) and printed in µs per charge beside the
//! top frames. `CREDITKIT_BENCH_PROFILE=1` turns it on; it needs `perf` and
//! `perf_event_paranoid` ≤ 2 (the default lets a process profile its own children).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

pub(crate) struct Recording {
    perf: Child,
    file: std::path::PathBuf,
}

/// Starts sampling this process, or says why it cannot.
pub(crate) fn start() -> Result<Recording, String> {
    let file = std::env::temp_dir().join(format!("creditkit-bench-{}.perf", std::process::id()));
    let perf = Command::new("perf")
        .args(["record", "-F", "997", "-o"])
        .arg(&file)
        .args(["-p", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("perf: {e}"))?;
    // Let perf attach before the load starts.
    std::thread::sleep(std::time::Duration::from_millis(500));
    Ok(Recording { perf, file })
}

/// What each kind of work costs per charge, from the server threads' samples.
const KINDS: &[(&str, &[&str])] = &[
    (
        "SQLite (C library)",
        &[
            "sqlite3",
            "pcache",
            "pager",
            "btree",
            "vdbe",
            "wal",
            "balance_",
            "allocateCursor",
            "releaseMem",
            "getPage",
            "memjrnl",
            "moveTo",
            "insertCell",
            "fillInCell",
            "accessPayload",
            "subjournal",
            "yy_",
            "unixWrite",
            "unixSync",
            "unixRead",
        ],
    ),
    (
        "ledger (Rust) and its SQLite adapter",
        &["creditkit_ledger", "rusqlite", "sqlx", "libsqlite3"],
    ),
    (
        "allocator (mimalloc; glibc malloc is SQLite's)",
        &[
            "mi_",
            "_mi_",
            "malloc",
            "_int_free",
            "cfree",
            "unlink_chunk",
            "_int_realloc",
            "realloc",
        ],
    ),
    (
        "HTTP (hyper, axum, tower, http)",
        &[
            "hyper",
            "axum",
            "tower",
            "http::",
            "httparse",
            "http_body",
            "bytes::",
            "matchit",
        ],
    ),
    (
        "JSON (serde_json)",
        &["serde_json", "serde_path_to_error", "serde_core", "serde::"],
    ),
    ("pricing engine", &["creditkit_pricing"]),
    (
        "HMAC and SHA-256 (auth, signed quotes)",
        &["sha2::", "hmac", "digest_blocks"],
    ),
    (
        "server (auth, handlers, limits)",
        &["creditkit_server", "creditkit_api"],
    ),
    (
        "tokio and futures",
        &["tokio", "futures", "mio::", "parking_lot"],
    ),
    (
        "memcpy, formatting, hashing",
        &[
            "memmove",
            "memcpy",
            "memset",
            "memcmp",
            "alloc::fmt",
            "core::fmt",
            "alloc::",
            "core::",
            "sip::",
            "std::",
        ],
    ),
];

fn kind_of(dso: &str, symbol: &str) -> &'static str {
    if dso.contains("kernel") {
        return if [
            "fsync", "ext4", "jbd2", "blk_", "bio", "folio", "filemap", "iowrite", "virtio",
            "writev", "pwrite", "vfs_",
        ]
        .iter()
        .any(|p| symbol.contains(p))
        {
            "kernel: files and fsync"
        } else if [
            "task_switch",
            "schedule",
            "futex",
            "wake",
            "idle",
            "enqueue",
            "dequeue",
            "pick_next",
            "update_curr",
        ]
        .iter()
        .any(|p| symbol.contains(p))
        {
            "kernel: threads waking and sleeping"
        } else {
            "kernel: TCP and other system calls"
        };
    }
    let bare = symbol
        .trim_start_matches('<')
        .trim_start_matches("core::ptr::drop_in_place<");
    KINDS
        .iter()
        .find(|(_, prefixes)| {
            prefixes
                .iter()
                .any(|p| bare.starts_with(p) || (p.contains("::") && bare.contains(p)))
        })
        .map_or("other", |(kind, _)| kind)
}

impl Recording {
    /// Stops sampling and prints the breakdown for `charges` charges.
    pub(crate) fn report(mut self, charges: f64, server_cpu_us_per_charge: f64) {
        let _ = Command::new("kill")
            .args(["-INT", &self.perf.id().to_string()])
            .status();
        let _ = self.perf.wait();
        let out = Command::new("perf")
            .args([
                "report",
                "--no-children",
                "--sort",
                "comm,dso,sym",
                "--stdio",
                "-i",
            ])
            .arg(&self.file)
            .stderr(Stdio::null())
            .output();
        let _ = std::fs::remove_file(&self.file);
        let Ok(out) = out else {
            println!("profile: `perf report` did not run");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut kinds: BTreeMap<&str, f64> = BTreeMap::new();
        let mut frames: Vec<(f64, String)> = Vec::new();
        let mut server = 0.0;
        for line in text.lines() {
            // `  3.50%  server  http-…  [.] _mi_page_malloc_zero`
            let mut parts = line.split_whitespace();
            let (Some(pct), Some(comm), Some(dso)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Some(pct) = pct.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) else {
                continue;
            };
            if comm != "server" {
                continue;
            }
            let symbol: String = parts.skip(1).collect::<Vec<_>>().join(" ");
            server += pct;
            *kinds.entry(kind_of(dso, &symbol)).or_default() += pct;
            frames.push((pct, symbol));
        }
        if server == 0.0 {
            println!("profile: no samples of the server's threads (is perf allowed here?)");
            return;
        }
        let us = |pct: f64| pct / server * server_cpu_us_per_charge;
        println!(
            "\nwhere the server's CPU goes ({charges:.0} charges, {server_cpu_us_per_charge:.0} µs of server CPU per charge = 3 requests):"
        );
        let mut sorted: Vec<_> = kinds.into_iter().collect();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (kind, pct) in sorted {
            println!(
                "  {kind:<48} {:>5.1}%  {:>6.0} µs/charge",
                pct / server * 100.0,
                us(pct)
            );
        }
        frames.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!("  top frames:");
        for (pct, symbol) in frames.iter().take(15) {
            let short: String = symbol.chars().take(90).collect();
            println!("    {:>5.1}%  {short}", pct / server * 100.0);
        }
    }
}

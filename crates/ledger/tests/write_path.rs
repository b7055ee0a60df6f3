//! Every write goes through `src/write.rs` (authorise → begin → the operation → finish).
//!
//! The compiler already keeps the writer private to `write.rs`, so nothing else can
//! begin a transaction. What it cannot see, this test reads in the sources:
//! - no file but `write.rs` and storage (`db/`) commits a write's transaction itself
//!   (which would skip the wallet's save and the idempotency record);
//! - every public method that takes a caller (`p: &Principal`) and writes gets its
//!   `Call` from `authorise` or `authorise_keyed`, which check the caller's right first.

use std::fs;
use std::path::{Path, PathBuf};

/// Methods that take a caller but write as the ledger, and why.
const OWN_CALLS: &[(&str, &str)] = &[(
    "revoke_session",
    "a session may always end itself (sign-out); ending another needs `mint_session`",
)];

fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(out.len() > 20, "the ledger's sources were not found");
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string()
}

/// Each `fn` of a file: its name, its signature and body (up to the next `fn`).
fn functions(text: &str) -> Vec<(String, String)> {
    let starts: Vec<usize> = text
        .match_indices("fn ")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &start)| {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            let chunk = &text[start..end];
            let name: String = chunk[3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // The visibility is just before `fn` (and `async`).
            let before = &text[start.saturating_sub(24)..start];
            let public = before
                .trim_end()
                .trim_end_matches("async")
                .trim_end()
                .ends_with("pub");
            (
                if public { format!("pub {name}") } else { name },
                chunk.to_string(),
            )
        })
        .collect()
}

#[test]
fn only_the_write_path_commits_a_write() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        let file = relative(&path);
        if file == "src/write.rs" || file.starts_with("src/db") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            if line.contains("tx.commit()") || line.contains("writer.begin") {
                offenders.push(format!("{file}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a write must end through `Ledger::finish`, `keep` or `commit` (src/write.rs):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_public_write_by_a_caller_is_authorised_first() {
    const WRITES: &[&str] = &[
        "self.begin(",
        ".begin_on::<",
        ".begin_on(",
        ".begin_on_also",
        ".begin_wallet(",
        ".begin_hold_write(",
        ".write_one(",
        "self.insert_member(",
    ];
    let mut checked = 0;
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        let file = relative(&path);
        for (name, body) in functions(&text) {
            let Some(name) = name.strip_prefix("pub ") else {
                continue;
            };
            let signature = body.split('{').next().unwrap_or("");
            if !signature.contains("p: &Principal") || !WRITES.iter().any(|w| body.contains(w)) {
                continue;
            }
            checked += 1;
            let authorised =
                body.contains("self.authorise(p, ") || body.contains("self.authorise_keyed(p, ");
            let excused = OWN_CALLS.iter().any(|(n, _)| *n == name);
            if !authorised && !excused {
                offenders.push(format!("{file}: {name}"));
            }
            if authorised {
                // The right is checked before anything is read: the first statement.
                let first = body
                    .split_once('{')
                    .map(|(_, rest)| rest.trim_start())
                    .unwrap_or("");
                let first_is_authorise = first.starts_with("let call = self.authorise");
                if !first_is_authorise && !excused {
                    offenders.push(format!(
                        "{file}: {name} reads or checks before it authorises"
                    ));
                }
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} public writes were found: is the scan broken?"
    );
    assert!(
        offenders.is_empty(),
        "a public write by a caller takes its `Call` from `authorise`/`authorise_keyed` as its first step:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scan_finds_what_it_looks_for() {
    let text = "impl X {\n    pub async fn good(&self, p: &Principal) -> R {\n        let call = self.authorise(p, Op::Read)?;\n        self.write_one(call, q).await\n    }\n    fn helper() {}\n}\n";
    let fns = functions(text);
    assert_eq!(fns.len(), 2);
    assert_eq!(fns[0].0, "pub good");
    assert!(fns[0].1.contains("write_one"));
    assert_eq!(fns[1].0, "helper");
}

//! The shape a newcomer can hold in the head, checked in the sources:
//! - in the ledger and the pricing engine, files of at most 700 lines and functions of
//!   at most 100, and no glob imports outside test modules (`use super::*` in a test
//!   module is Rust's idiom);
//! - in every crate of the workspace, no import circle between modules: at each level
//!   of a crate's module tree, the modules (each with everything under it) import one
//!   another one way only. A module's own children and its parent are not circles.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 700;
const MAX_FN_LINES: usize = 100;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's text without its `#[cfg(test)] mod tests { … }` (the rest of the file from
/// there: test modules come last here).
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Functions longer than `MAX_FN_LINES`: `fn` lines whose closing brace (the first line
/// at the same indentation that is `}`) is too far below.
fn long_functions(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) fn ",
            "pub(crate) async fn ",
            "pub(super) fn ",
            "pub(super) async fn ",
            "const fn ",
            "pub const fn ",
        ]
        .iter()
        .any(|p| t.starts_with(p));
        if !is_fn {
            continue;
        }
        let indent = line.len() - t.len();
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            let length = end + 2;
            if length > MAX_FN_LINES {
                out.push((i + 1, length, t.chars().take(60).collect()));
            }
        }
    }
    out
}

#[test]
fn ledger_and_engine_files_and_functions_are_short_and_import_by_name() {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root.join("crates/ledger/src"), &mut files);
    rust_files(&root.join("crates/pricing/src"), &mut files);
    assert!(files.len() > 40, "the sources were not found");
    let mut problems = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            problems.push(format!("{name}: {lines} lines (at most {MAX_FILE_LINES})"));
        }
        for (at, length, head) in long_functions(&text) {
            problems.push(format!(
                "{name}:{at}: `{head}` is {length} lines (at most {MAX_FN_LINES})"
            ));
        }
        let test_module = path.file_name().is_some_and(|f| f == "tests.rs");
        for (i, line) in without_tests(&text).lines().enumerate() {
            let t = line.trim();
            if !test_module && t.starts_with("use ") && t.ends_with("::*;") {
                problems.push(format!("{name}:{}: a glob import: `{t}`", i + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A crate's modules: path (`a::b`, root `""`) → file text.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if matches!(parts.last().map(String::as_str), Some("mod")) {
            parts.pop();
        }
        if parts.len() == 1 && matches!(parts[0].as_str(), "lib" | "main") {
            parts.clear();
        }
        if parts.first().is_some_and(|p| p == "bin") || parts.last().is_some_and(|p| p == "tests") {
            continue; // binaries are crates of their own; `tests.rs` is a test module
        }
        let text = fs::read_to_string(&path).unwrap();
        // Comments name modules too (doc links); only code imports.
        let code: Vec<&str> = without_tests(&text)
            .lines()
            .map(|l| match l.find("//") {
                Some(at) if !l[..at].contains('"') => &l[..at],
                _ => l,
            })
            .collect();
        out.insert(parts.join("::"), code.join("\n"));
    }
    out
}

/// The paths a module's text names (`crate::a::b::C`, `super::x`, `self::y`), as
/// absolute segment lists; braces are expanded one level deep at a time.
fn named_paths(module: &str, text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 6)].iter().collect();
        let starts_word = i == 0
            || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        let base: Option<(Vec<String>, usize)> = if !starts_word {
            None
        } else if rest.starts_with("crate:") {
            Some((Vec::new(), 7))
        } else if rest.starts_with("super:") {
            let mut parts: Vec<String> = module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            parts.pop();
            Some((parts, 7))
        } else if rest.starts_with("self::") {
            Some((
                module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                6,
            ))
        } else {
            None
        };
        let Some((base, skip)) = base else {
            i += 1;
            continue;
        };
        // Read the path after it, expanding a `{…}` group into its items.
        let mut j = i + skip;
        let start = j;
        let mut depth = 0;
        while j < bytes.len() {
            let c = bytes[j];
            if c == '{' {
                depth += 1;
            } else if c == '}' {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') {
                break;
            }
            j += 1;
        }
        let tail: String = bytes[start..j].iter().collect();
        for item in expand(&tail) {
            let mut path = base.clone();
            path.extend(
                item.split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(str::to_string),
            );
            out.push(path);
        }
        i = j.max(i + 1);
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tail: &str) -> Vec<String> {
    let Some(open) = tail.find('{') else {
        return vec![tail.to_string()];
    };
    let prefix = &tail[..open];
    let inner = &tail[open + 1..tail.rfind('}').unwrap_or(tail.len())];
    let mut items = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(inner[from..k].trim().to_string());
                from = k + 1;
            }
            _ => {}
        }
    }
    items.push(inner[from..].trim().to_string());
    items
        .into_iter()
        .filter(|s| !s.is_empty())
        .flat_map(|item| {
            expand(&item)
                .into_iter()
                .map(|e| format!("{prefix}{e}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The module a path reaches: its longest prefix that is a module; a name the module
/// re-exports (`pub use m::X`) reaches `m`.
fn target(
    path: &[String],
    mods: &BTreeMap<String, String>,
    reexports: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<String> {
    let mut best = None;
    for n in 0..=path.len() {
        let candidate = path[..n].join("::");
        if mods.contains_key(&candidate) {
            best = Some((n, candidate));
        }
    }
    let (n, module) = best?;
    // `crate::X` where the root re-exports X from one of its modules.
    if let (Some(name), Some(map)) = (path.get(n), reexports.get(&module)) {
        if let Some(from) = map.get(name) {
            return Some(from.clone());
        }
    }
    Some(module)
}

/// `pub use a::b::{X, Y};` and `pub(crate) use a::X;` in each module: name → module.
fn reexports(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (module, text) in mods {
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let t = line.trim();
            let Some(rest) = t
                .strip_prefix("pub use ")
                .or_else(|| t.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let rest = rest.trim_end_matches(';');
            let rest = rest.strip_prefix("self::").unwrap_or(rest);
            for item in expand(rest) {
                let segs: Vec<&str> = item.split("::").collect();
                if segs.len() < 2 {
                    continue;
                }
                let mut from: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
                from.extend(&segs[..segs.len() - 1]);
                let name = segs[segs.len() - 1].split(" as ").last().unwrap().trim();
                let candidate = from.join("::");
                if mods.contains_key(&candidate) {
                    map.insert(name.to_string(), candidate);
                }
            }
        }
        out.insert(module.clone(), map);
    }
    out
}

/// Import circles among siblings at every level of one crate's module tree.
fn circles(src: &Path) -> Vec<String> {
    let mods = modules(src);
    let reexports = reexports(&mods);
    // Edges between siblings: from `a::x::…` to `a::y::…` counts as `x → y` under `a`.
    let mut edges: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (module, text) in &mods {
        for path in named_paths(module, text) {
            let Some(to) = target(&path, &mods, &reexports) else {
                continue;
            };
            let from: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
            let to_parts: Vec<&str> = to.split("::").filter(|s| !s.is_empty()).collect();
            let common = from
                .iter()
                .zip(&to_parts)
                .take_while(|(a, b)| a == b)
                .count();
            if common == from.len() || common == to_parts.len() {
                continue; // a module and its own ancestor or descendant
            }
            edges
                .entry(from[..common].join("::"))
                .or_default()
                .insert((from[common].to_string(), to_parts[common].to_string()));
        }
    }
    let mut found = Vec::new();
    for (parent, pairs) in &edges {
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (a, b) in pairs {
            next.entry(a).or_default().push(b);
        }
        // A depth-first search for a path back to where it started.
        for start in next.keys() {
            let mut stack = vec![(*start, vec![*start])];
            let mut seen = BTreeSet::new();
            while let Some((at, trail)) = stack.pop() {
                for n in next.get(at).into_iter().flatten() {
                    // Each circle once: from its smallest module.
                    if n == start && trail.iter().all(|m| m >= start) {
                        let mut c = trail.clone();
                        c.push(n);
                        let name = if parent.is_empty() {
                            "crate".to_string()
                        } else {
                            parent.clone()
                        };
                        found.push(format!("{}: {name}: {}", src.display(), c.join(" → ")));
                    } else if seen.insert(*n) {
                        let mut t = trail.clone();
                        t.push(n);
                        stack.push((n, t));
                    }
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn no_crate_has_an_import_circle() {
    let root = workspace();
    let mut crates = Vec::new();
    for dir in ["crates", "xtask"] {
        let base = root.join(dir);
        if base.join("src").is_dir() {
            crates.push(base.join("src"));
        }
        for entry in fs::read_dir(&base).unwrap() {
            let src = entry.unwrap().path().join("src");
            if src.is_dir() {
                crates.push(src);
            }
        }
    }
    assert!(crates.len() >= 10, "the workspace's crates were not found");
    let found: Vec<String> = crates.iter().flat_map(|src| circles(src)).collect();
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn a_circle_is_found() {
    let dir = std::env::temp_dir().join(format!("creditkit-shape-{}", std::process::id()));
    fs::create_dir_all(dir.join("parse")).unwrap();
    fs::write(
        dir.join("lib.rs"),
        "mod estimate;\nmod parse;\npub use estimate::price;\n",
    )
    .unwrap();
    fs::write(
        dir.join("estimate.rs"),
        "use crate::parse::CHAT;\npub fn price() {}\n",
    )
    .unwrap();
    fs::write(dir.join("parse.rs"), "mod actions;\n").unwrap();
    fs::write(
        dir.join("parse/actions.rs"),
        "use crate::{price, map::Map};\npub const CHAT: u8 = 0;\n",
    )
    .unwrap();
    let found = circles(&dir);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with("crate: estimate → parse → estimate"),
        "{found:?}"
    );
    assert_eq!(
        long_functions(&format!("fn f() {{\n{}}}\n", "    x;\n".repeat(120))),
        vec![(1, 122, "fn f() {".to_string())]
    );
}

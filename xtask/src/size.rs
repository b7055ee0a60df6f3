//! `cargo xtask size`: what each module weighs, and which crates the weight is in.
//!
//! Every module is measured as served (wasm-bindgen, then wasm-opt with index.html's
//! settings, gzip -9). The per-crate table reads a copy optimized the same way but with
//! its function names kept (`-g`), attributes each function body to the crate its
//! demangled name starts with (a monomorphised generic counts for the generic's crate,
//! e.g. serde_json's deserializer instantiated for our types counts as serde_json),
//! and data segments to "data". Gzip per crate compresses that crate's bodies alone:
//! it ranks the crates; it does not add up to the module's gzip size.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use wasmparser::{KnownCustom, Name, Parser, Payload};

/// Function bodies with their demangled names (or `(unnamed)`).
type Functions<'a> = Vec<(String, &'a [u8])>;

/// Each function body with its demangled name, and the data segments' bytes.
fn functions(wasm: &[u8]) -> Result<(Functions<'_>, Vec<u8>)> {
    let mut imported = 0u32;
    let mut bodies = Vec::new();
    let mut names = BTreeMap::new();
    let mut data = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(&wasm[body.range()]),
            Payload::DataSection(reader) => {
                for segment in reader {
                    data.extend_from_slice(segment?.data);
                }
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(reader) = section.as_known() {
                    for name in reader {
                        if let Name::Function(map) = name? {
                            for naming in map {
                                let naming = naming?;
                                names.insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut named = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let index = imported + u32::try_from(i)?;
        let name = names.get(&index).map_or("(unnamed)".to_string(), |n| {
            format!("{:#}", rustc_demangle::demangle(n))
        });
        named.push((name, body));
    }
    Ok((named, data))
}

/// Bytes of function bodies (and data) per crate, largest first: (crate, raw, gzip).
pub(crate) fn by_crate(wasm: &[u8]) -> Result<Vec<(String, usize, usize)>> {
    let (functions, data) = functions(wasm)?;
    let mut per_crate: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, body) in functions {
        per_crate
            .entry(crate_of(&name))
            .or_default()
            .extend_from_slice(body);
    }
    per_crate.insert("data (strings, tables)".into(), data);
    let mut rows = Vec::new();
    for (name, bytes) in per_crate {
        rows.push((name, bytes.len(), super::gzip_len(&bytes)?));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    Ok(rows)
}

/// The crate a (possibly mangled) function name belongs to: the first path segment of
/// the demangled name, looking through `<&mut T as Trait>` to `T`.
fn crate_of(demangled: &str) -> String {
    let s = demangled
        .trim_start_matches(['<', '&', '*', '(', '['])
        .trim_start_matches("mut ")
        .trim_start_matches("const ")
        .trim_start_matches("dyn ");
    // Names from the standard library carry a hash: `core[c5930c85a12de822]::…`.
    let first = s.find("::").map(|end| &s[..end]);
    let first = first.map(|f| f.split_once('[').map_or(f, |(name, _)| name));
    match first {
        Some(f) if !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            f.to_string()
        }
        _ if s.starts_with("__wbg") || s.starts_with("__wbindgen") => "wasm_bindgen".into(),
        _ => "(other: runtime, intrinsics)".into(),
    }
}

/// The `n` largest functions, for `cargo xtask size top`: (raw bytes, name).
pub(crate) fn print_top(wasm_with_names: &Path, n: usize) -> Result<()> {
    let bytes = std::fs::read(wasm_with_names)
        .with_context(|| format!("reading {}", wasm_with_names.display()))?;
    let (mut functions, _) = functions(&bytes)?;
    functions.sort_by_key(|f| std::cmp::Reverse(f.1.len()));
    println!("\n{}: the {n} largest functions", wasm_with_names.display());
    for (name, body) in functions.iter().take(n) {
        let name: String = name.chars().take(150).collect();
        println!("{:>8}  {name}", body.len());
    }
    Ok(())
}

/// Prints the per-crate table of `wasm_with_names` (the module optimized with `-g`).
pub(crate) fn print_table(title: &str, wasm_with_names: &Path) -> Result<()> {
    let bytes = std::fs::read(wasm_with_names)
        .with_context(|| format!("reading {}", wasm_with_names.display()))?;
    let rows = by_crate(&bytes)?;
    println!("\n{title}: function bodies by crate");
    println!("{:<40} {:>10} {:>10}", "crate", "raw bytes", "gzip alone");
    for (name, raw, gz) in rows.iter().filter(|r| r.1 >= 512) {
        println!("{name:<40} {raw:>10} {gz:>10}");
    }
    let small: usize = rows.iter().filter(|r| r.1 < 512).map(|r| r.1).sum();
    println!("{:<40} {small:>10}", "(crates under 512 bytes each)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn names_are_attributed_to_the_crate_they_start_with() {
        assert_eq!(
            crate_of("serde_json::de::from_str::h0123456789abcdef"),
            "serde_json"
        );
        assert_eq!(
            crate_of("<&mut creditkit_pricing::Card as core::fmt::Debug>::fmt"),
            "creditkit_pricing"
        );
        assert_eq!(
            crate_of("core[c5930c85a12de822]::str::count::do_count_chars"),
            "core"
        );
        assert_eq!(crate_of("__wbindgen_malloc"), "wasm_bindgen");
        assert_eq!(crate_of("memcpy"), "(other: runtime, intrinsics)");
    }
}

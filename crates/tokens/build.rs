//! With the `embed` feature: writes each encoding's rank asset into OUT_DIR from the
//! `tiktoken-rs` crate's data (a registry package; nothing is fetched), and checks it
//! against the hash committed in `src/assets.rs`, which the browser verifies too.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/assets.rs");
    #[cfg(feature = "embed")]
    embed::run();
}

#[cfg(feature = "embed")]
mod embed {
    use sha2::{Digest, Sha256};
    use std::io::Write;

    pub(super) fn run() {
        let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
        let committed = std::fs::read_to_string("src/assets.rs").unwrap();
        let mut problems = Vec::new();
        for (name, bpe, count) in [
            ("o200k_base", tiktoken_rs::o200k_base().unwrap(), 200_000u32),
            (
                "cl100k_base",
                tiktoken_rs::cl100k_base().unwrap(),
                100_256u32,
            ),
        ] {
            let specials: Vec<Vec<u8>> = bpe
                .special_tokens()
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect();
            let mut lens = Vec::with_capacity(count as usize);
            let mut bytes = Vec::new();
            for rank in 0..count {
                match bpe.decode_bytes(&[rank]) {
                    Ok(b) if !b.is_empty() && b.len() < 256 && !specials.contains(&b) => {
                        lens.push(b.len() as u8);
                        bytes.extend_from_slice(&b);
                    }
                    _ => lens.push(0),
                }
            }
            let mut asset = Vec::new();
            asset.extend_from_slice(b"CKTK");
            asset.push(1);
            asset.push(name.len() as u8);
            asset.extend_from_slice(name.as_bytes());
            asset.extend_from_slice(&count.to_le_bytes());
            asset.extend_from_slice(&lens);
            asset.extend_from_slice(&bytes);
            let digest = Sha256::digest(&asset);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let line = format!("sha256: \"{hex}\",\n    bytes: {},", asset.len());
            if !committed.contains(&line) {
                problems.push(format!("{name}: {line}"));
            }
            std::fs::File::create(out.join(format!("{name}.cktk")))
                .and_then(|mut f| f.write_all(&asset))
                .unwrap();
        }
        if !problems.is_empty() {
            panic!(
                "the rank assets differ from src/assets.rs (tiktoken-rs data changed?); \
                 update it to:\n{}",
                problems.join("\n")
            );
        }
    }
}

//! In headless Chrome: the wasm build counts the corpus exactly as the native build
//! (whose counts `tests/exact.rs` checks against tiktoken and writes to counts.txt).
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use creditkit_tokens::{Bpe, Encoding, Incremental};
use wasm_bindgen_test::*;

mod common;

wasm_bindgen_test_configure!(run_in_browser);

const COUNTS: &str = include_str!("corpus/counts.txt");

#[wasm_bindgen_test]
fn wasm_counts_equal_the_native_counts() {
    let texts = common::corpus();
    let mut checked = 0;
    for line in COUNTS.lines() {
        let mut f = line.split(' ');
        let (name, o, c) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let text = &texts.iter().find(|(n, _)| n == name).unwrap().1;
        for (enc, want) in [(Encoding::O200kBase, o), (Encoding::Cl100kBase, c)] {
            let bpe = Bpe::from_asset(enc, Bpe::asset_bytes(enc)).unwrap();
            assert_eq!(bpe.count(text).to_string(), want, "{name} {enc}");
            checked += 1;
        }
    }
    assert_eq!(checked, texts.len() * 2);
}

#[wasm_bindgen_test]
fn wasm_incremental_typing_stays_exact() {
    let bpe = Arc::new(
        Bpe::from_asset(Encoding::O200kBase, Bpe::asset_bytes(Encoding::O200kBase)).unwrap(),
    );
    let mut inc = Incremental::new(bpe.clone());
    let mut text = String::new();
    for c in "Hello, wörld! It's 2026 — 你好 🙂\n\n  done".chars() {
        text.push(c);
        assert_eq!(inc.set(&text).unwrap(), bpe.count(&text));
    }
}

//! Counts equal tiktoken's (the `tiktoken-rs` crate, the same Rust core as OpenAI's
//! Python package) on a corpus and on random text built to hit every regex branch.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::OnceLock;

use creditkit_tokens::{pieces, Bpe, Encoding};

mod common;
use common::corpus;
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;

fn reference(enc: Encoding) -> &'static CoreBPE {
    static O: OnceLock<CoreBPE> = OnceLock::new();
    static C: OnceLock<CoreBPE> = OnceLock::new();
    match enc {
        Encoding::O200kBase => O.get_or_init(|| tiktoken_rs::o200k_base().unwrap()),
        Encoding::Cl100kBase => C.get_or_init(|| tiktoken_rs::cl100k_base().unwrap()),
    }
}

/// The pre-tokenizer regex split, from the same pattern tiktoken-rs uses.
fn reference_split(enc: Encoding, text: &str) -> Vec<String> {
    static RE: OnceLock<[fancy_regex::Regex; 2]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        [
            fancy_regex::Regex::new(tiktoken_rs::O200K_BASE_PAT_STR).unwrap(),
            fancy_regex::Regex::new("'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s").unwrap(),
        ]
    });
    let re = &re[if enc == Encoding::O200kBase { 0 } else { 1 }];
    re.find_iter(text)
        .map(|m| m.unwrap().as_str().to_string())
        .collect()
}

fn check(enc: Encoding, text: &str) -> Result<(), String> {
    let ours: Vec<String> = pieces(enc, text)
        .map(|p| text[p.start..p.end].to_string())
        .collect();
    let theirs = reference_split(enc, text);
    if ours != theirs {
        let i = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
        return Err(format!(
            "{enc}: split differs at piece {i}: ours {:?} vs regex {:?} in {text:?}",
            ours.get(i),
            theirs.get(i)
        ));
    }
    let bpe = Bpe::embedded(enc);
    let expected = reference(enc).encode_ordinary(text);
    let got = bpe.encode(text);
    if got != expected {
        return Err(format!(
            "{enc}: tokens differ for {text:?}: {got:?} vs {expected:?}"
        ));
    }
    if bpe.count(text) != expected.len() as u64 {
        return Err(format!("{enc}: count differs for {text:?}"));
    }
    Ok(())
}

#[test]
fn corpus_counts_equal_tiktoken() {
    let mut failures = Vec::new();
    for enc in Encoding::ALL {
        for (name, text) in corpus() {
            if let Err(e) = check(enc, &text) {
                failures.push(format!("[{name}] {}", &e[..e.len().min(600)]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The same counts, checked again in headless Chrome by tests/web.rs.
    let mut lines = Vec::new();
    for (name, text) in corpus() {
        let o = Bpe::embedded(Encoding::O200kBase).count(&text);
        let c = Bpe::embedded(Encoding::Cl100kBase).count(&text);
        lines.push(format!("{name} {o} {c}"));
    }
    let rendered = lines.join("\n") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/counts.txt");
    if std::env::var_os("CREDITKIT_BLESS").is_some() {
        std::fs::write(path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == rendered,
        "tests/corpus/counts.txt is stale: run with CREDITKIT_BLESS=1"
    );
}

/// Chars chosen to hit every class and every branch of both regexes.
fn alphabet() -> Vec<char> {
    "aAbZzs'tTSlLrRevVmMdD \t\n\r\u{b}\u{c}0159١½Ⅻ!?./-_=<>|`\"#ſǅǄᾈ\u{301}\u{94d}\u{3000}\u{a0}\u{85}\u{2028}的中ア한ñÉß\u{1F44D}\u{1F3FD}\u{200d}\u{fffd}\u{feff}"
        .chars()
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    let alphabet = alphabet();
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(alphabet).prop_map(|c| c.to_string()),
            1 => proptest::sample::select(vec!["'s", "'ll", "'RE", " the", "   ", "\n\n", " \n ", "ABC", "abc", "123456", "/*", "é", "ǅa"])
                .prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_counts_equal_tiktoken(t in text()) {
        for enc in Encoding::ALL {
            prop_assert!(check(enc, &t).is_ok(), "{}", check(enc, &t).unwrap_err());
        }
    }

    /// What incremental counting relies on: a later piece never looked less far.
    #[test]
    fn horizons_never_go_back(t in text()) {
        for enc in Encoding::ALL {
            let mut last = 0;
            for p in pieces(enc, &t) {
                prop_assert!(p.horizon >= last, "{enc}: {t:?}");
                prop_assert!(p.horizon >= p.end);
                last = p.horizon;
            }
        }
    }

    /// Long pieces merge with a heap; it must agree with tiktoken's scan on them.
    #[test]
    fn long_pieces_merge_like_tiktoken(unit in "[a-c!= ]{1,4}", n in 20usize..120) {
        let t = unit.repeat(n);
        for enc in Encoding::ALL {
            prop_assert!(check(enc, &t).is_ok(), "{}", check(enc, &t).unwrap_err());
        }
    }
}

#[test]
fn a_tampered_asset_is_refused() {
    for enc in Encoding::ALL {
        let mut data = Bpe::asset_bytes(enc).to_vec();
        assert_eq!(data.len(), enc.asset().bytes);
        let last = data.len() - 1;
        data[last] ^= 1;
        let err = Bpe::from_asset(enc, &data).err().expect("refused");
        assert!(err.to_string().contains("failed verification"), "{err}");
        assert!(Bpe::from_asset(enc, &data[..100]).is_err());
        let other = Encoding::ALL.into_iter().find(|&e| e != enc).unwrap();
        assert!(Bpe::from_asset(other, Bpe::asset_bytes(enc)).is_err());
    }
}

#[test]
fn a_one_megabyte_paste_counts_on_both_paths() {
    // Normal text and one adversarial single piece of 1 MB.
    let prose = include_str!("corpus/mixed_10k.txt").repeat(100);
    let bang = "!".repeat(1 << 20);
    for enc in Encoding::ALL {
        let bpe = Bpe::embedded(enc);
        assert_eq!(
            bpe.count(&prose),
            reference(enc).encode_ordinary(&prose).len() as u64
        );
        let n = bpe.count(&bang);
        assert!(n > 0 && n < (1 << 20), "{enc}: {n}");
    }
}

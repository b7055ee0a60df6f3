//! Incremental counting equals a full recount after any sequence of edits.
#![allow(clippy::float_arithmetic)] // edit positions are drawn as fractions of the length
#![cfg(not(target_arch = "wasm32"))]

use std::sync::{Arc, OnceLock};

use creditkit_tokens::{pieces, Bpe, Encoding, Incremental};
use proptest::prelude::*;

fn bpe(enc: Encoding) -> Arc<Bpe> {
    static CELLS: [OnceLock<Arc<Bpe>>; 2] = [OnceLock::new(), OnceLock::new()];
    CELLS[enc as usize]
        .get_or_init(|| Arc::new(Bpe::from_asset(enc, Bpe::asset_bytes(enc)).unwrap()))
        .clone()
}

#[derive(Clone, Debug)]
enum Edit {
    /// Insert at a fraction of the length.
    Insert(f64, String),
    /// Delete `len` chars at a fraction.
    Delete(f64, usize),
    /// Replace `len` chars at a fraction.
    Replace(f64, usize, String),
}

fn char_pos(t: &str, f: f64) -> usize {
    let chars = t.chars().count();
    let n = ((chars as f64) * f) as usize;
    t.char_indices().nth(n).map_or(t.len(), |(i, _)| i)
}

fn apply(t: &str, e: &Edit) -> String {
    let mut s = t.to_string();
    match e {
        Edit::Insert(f, x) => s.insert_str(char_pos(t, *f), x),
        Edit::Delete(f, n) | Edit::Replace(f, n, _) => {
            let a = char_pos(t, *f);
            let b = t[a..]
                .char_indices()
                .nth(*n)
                .map_or(t.len(), |(i, _)| a + i);
            let with = match e {
                Edit::Replace(_, _, x) => x.as_str(),
                _ => "",
            };
            s.replace_range(a..b, with);
        }
    }
    s
}

fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "a", "A", " ", "\n", "\r\n", "'", "s", "'ll", "1", "12345", "!", "/", "\t", "é",
            "\u{301}", "的", "🙂", "\u{3000}", " the", "   ", "HTTP", "Request", "x = y;\n",
            "    ", "ſ",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9 '\n!.]{1,12}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (0.0..=1.0f64, snippet()).prop_map(|(f, s)| Edit::Insert(f, s)),
        2 => (0.0..=1.0f64, 1usize..6).prop_map(|(f, n)| Edit::Delete(f, n)),
        1 => (0.0..=1.0f64, 1usize..6, snippet()).prop_map(|(f, n, s)| Edit::Replace(f, n, s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn edits_keep_the_count_equal_to_a_full_recount(
        seed in proptest::collection::vec(snippet(), 0..60),
        edits in proptest::collection::vec(edit(), 1..40),
    ) {
        for enc in Encoding::ALL {
            let full = bpe(enc);
            let mut inc = Incremental::new(full.clone());
            let mut text = seed.concat();
            inc.set(&text).unwrap();
            for e in &edits {
                text = apply(&text, e);
                let n = inc.set(&text).unwrap();
                prop_assert_eq!(inc.text(), text.as_str());
                let expected: Vec<(usize, usize)> = pieces(enc, &text).map(|p| (p.start, p.end)).collect();
                let got: Vec<(usize, usize)> = inc.split().iter().map(|&(a, b, _)| (a, b)).collect();
                prop_assert_eq!(&got, &expected, "{} after {:?}", enc, e);
                prop_assert_eq!(n, full.count(&text), "{} after {:?} on {:?}", enc, e, text);
            }
        }
    }
}

proptest! {
    /// Edits in JavaScript's UTF-16 offsets, mixed with whole-text sets (which move what
    /// the remembered position points at), keep the count equal to a full recount.
    #[test]
    fn utf16_edits_count_like_a_full_recount(
        start in "[a-z €🙂\n]{0,40}",
        edits in prop::collection::vec((0usize..64, 0usize..4, "[a-z €🙂\n]{0,3}", any::<bool>()), 1..16),
    ) {
        let full = bpe(Encoding::O200kBase);
        let mut inc = Incremental::new(full.clone());
        inc.set(&start).unwrap();
        let mut text: Vec<u16> = start.encode_utf16().collect();
        for (at, removed, inserted, whole) in edits {
            let at = at.min(text.len());
            let end = (at + removed).min(text.len());
            let boundary = |i: usize| i == text.len() || !(0xDC00..0xE000).contains(&text[i]);
            let before = inc.count();
            let fits = boundary(at) && boundary(end);
            if whole && fits {
                text.splice(at..end, inserted.encode_utf16());
                let now = String::from_utf16(&text).unwrap();
                inc.set(&now).unwrap();
            } else if !fits {
                // Inside a surrogate pair: refused, and nothing changes.
                prop_assert!(inc.edit_utf16(at, end - at, &inserted).is_err());
                prop_assert_eq!(inc.count(), before);
                continue;
            } else {
                inc.edit_utf16(at, end - at, &inserted).unwrap();
                text.splice(at..end, inserted.encode_utf16());
            }
            let now = String::from_utf16(&text).unwrap();
            prop_assert_eq!(inc.text(), now.as_str());
            prop_assert_eq!(inc.count(), full.count(&now));
        }
    }
}

#[test]
fn typing_into_ten_thousand_chars_resplits_only_nearby() {
    let text = include_str!("corpus/mixed_10k.txt");
    for enc in Encoding::ALL {
        let full = bpe(enc);
        let mut inc = Incremental::new(full.clone());
        inc.set(text).unwrap();
        let mid = (0..=text.len() / 2)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap();
        let mut edited = text.to_string();
        for (i, c) in "hello world".chars().enumerate() {
            edited.insert(mid + i, c);
            assert_eq!(inc.set(&edited).unwrap(), full.count(&edited));
            assert!(
                inc.last_resplit() <= 3,
                "{enc}: re-split {} of {} pieces",
                inc.last_resplit(),
                inc.pieces()
            );
        }
        // Deleting in the middle, too.
        for _ in 0..5 {
            edited.remove(mid + 2);
            assert_eq!(inc.set(&edited).unwrap(), full.count(&edited));
            assert!(
                inc.last_resplit() <= 3,
                "{enc}: re-split {} pieces",
                inc.last_resplit()
            );
        }
        // A paste, a select-all delete, and the empty text.
        let pasted = format!("{edited}{}", text);
        assert_eq!(inc.set(&pasted).unwrap(), full.count(&pasted));
        assert_eq!(inc.set("").unwrap(), 0);
        assert_eq!(inc.pieces(), 0);
    }
}

#[test]
fn a_splice_off_a_char_boundary_is_refused_and_changes_nothing() {
    let mut inc = Incremental::new(bpe(Encoding::O200kBase));
    inc.set("héllo").unwrap();
    let before = inc.count();
    assert!(inc.splice(2..3, "x").is_err());
    assert!(inc.splice(4..99, "x").is_err());
    assert_eq!(inc.text(), "héllo");
    assert_eq!(inc.count(), before);
}

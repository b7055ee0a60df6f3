//! Chat turns given as text: counted by the model's tokenizer before pricing.
#![cfg(not(target_arch = "wasm32"))]

use creditkit_pricing::tokens::{Bpe, Count, Encoding, Tokenizer};
use creditkit_pricing::{count_input_text, estimate, parse_card, Item, Request, INPUT_TEXT};

const KAPPAX: &str = include_str!("../../../examples/ratecards/kappax.json");

fn turn(text: &str) -> Request {
    Request::single(
        Item::new("chat_turn")
            .param("model", "kappax-agent")
            .param(INPUT_TEXT, text.to_string()),
    )
}

#[test]
fn exact_with_ranks_a_true_range_without_and_the_same_price_as_the_count() {
    let card = parse_card(KAPPAX).unwrap();
    let text = "Rewrite the hero headline so it speaks to founders, and keep it under ten words.";
    let bpe = Bpe::embedded(Encoding::O200kBase);
    let n = bpe.count(text);

    let exact = count_input_text(&card, &turn(text), |_| Some(bpe as &dyn Tokenizer)).unwrap();
    assert!(exact.exact());
    assert_eq!(exact.counts[0].unwrap().min, n);
    let by_count = Request::single(
        Item::new("chat_turn")
            .param("model", "kappax-agent")
            .param("input_tokens", n),
    );
    assert_eq!(
        estimate(&card, &exact.request).unwrap(),
        estimate(&card, &by_count).unwrap()
    );

    // Before the ranks arrive: true bounds around the exact count, priced at the top.
    let pending = count_input_text(&card, &turn(text), |_| None).unwrap();
    let c = pending.counts[0].unwrap();
    assert!(!pending.exact());
    assert!(
        c.min <= n && n <= c.max && c.min <= c.likely && c.likely <= c.max,
        "{c:?} vs {n}"
    );
    let low = estimate(&card, &pending.with(|c| c.min)).unwrap();
    let high = estimate(&card, &pending.request).unwrap();
    let real = estimate(&card, &exact.request).unwrap();
    assert!(low.min_millicredits <= real.min_millicredits);
    assert!(real.max_millicredits <= high.max_millicredits);
}

#[test]
fn models_without_a_tokenizer_are_approximate_and_bad_names_are_refused() {
    let card = KAPPAX.replace(r#""tokenizer": "o200k_base","#, "");
    let card = parse_card(&card).unwrap();
    let counted = count_input_text(&card, &turn("hello world"), |_| {
        panic!("no exact tokenizer is asked for")
    })
    .unwrap();
    assert!(!counted.exact());

    let bad = KAPPAX.replace("o200k_base", "o200k base!");
    let err = parse_card(&bad).unwrap_err().to_string();
    assert!(err.contains("is not a tokenizer name"), "{err}");
    assert!(err.contains("models[0].tokenizer"), "{err}");
}

/// Another model family's tokenizer plugs in behind the same trait.
struct Words;

impl Tokenizer for Words {
    fn name(&self) -> &str {
        "words-v1"
    }

    fn count(&self, text: &str) -> Count {
        Count::exact(text.split_whitespace().count() as u64)
    }
}

#[test]
fn a_plugged_in_tokenizer_counts_its_models_and_a_host_without_it_approximates() {
    let card = parse_card(&KAPPAX.replace("o200k_base", "words-v1")).unwrap();
    let words = Words;
    let counted = count_input_text(&card, &turn("one two three four"), |name| {
        (name == "words-v1").then_some(&words as &dyn Tokenizer)
    })
    .unwrap();
    assert!(counted.exact());
    assert_eq!(counted.counts[0].unwrap().max, 4);
    let without = count_input_text(&card, &turn("one two three four"), |_| None).unwrap();
    assert!(!without.exact());
}

#[test]
fn a_routed_turn_given_as_text_spans_its_models_counts() {
    let card = parse_card(include_str!("../../../examples/ratecards/kumari.json")).unwrap();
    let text = "Compare these two contracts and list every clause that differs.";
    let routed = Request::single(Item::new("routing_mode").param(INPUT_TEXT, text.to_string()));
    let bpe = Bpe::embedded(Encoding::O200kBase);
    let counted = count_input_text(&card, &routed, |_| Some(bpe as &dyn Tokenizer)).unwrap();
    // GPT-4o counts exactly; the lightweight model and Claude name no tokenizer and are
    // approximated: the count spans both, and the request is priced at its top.
    let c = counted.counts[0].unwrap();
    let n = bpe.count(text);
    assert!(c.min <= n && n <= c.max, "{c:?} spans GPT-4o's {n}");
    assert!(!counted.exact());
    let e = estimate(&card, &counted.request).unwrap();
    assert_eq!(
        (e.min_millicredits, e.max_millicredits),
        (1_000, 4_000),
        "1–4 credits"
    );
    // A chat action neither named nor routed is still refused, with the reason.
    let plain = Request::single(Item::new("direct_message").param(INPUT_TEXT, text.to_string()));
    let e = count_input_text(&card, &plain, |_| None).unwrap_err();
    assert!(e.to_string().contains("routed"), "{e}");
}

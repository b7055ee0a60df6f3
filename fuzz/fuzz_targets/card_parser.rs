//! Any bytes into the card parser and, for cards that parse, into the estimator:
//! never a panic, and every estimate keeps `min <= expected <= max`.
#![no_main]

use creditkit_pricing::{estimate, parse_card, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // "card\u{0}request": the part after a NUL, if any, is an estimate request.
    let (card_text, request_text) = text.split_once('\0').unwrap_or((text, r#"{"action":"a"}"#));
    let Ok(card) = parse_card(card_text) else { return };
    if let Ok(e) = Request::from_json(request_text).and_then(|r| estimate(&card, &r)) {
        assert!(e.min_millicredits <= e.expected_millicredits && e.expected_millicredits <= e.max_millicredits);
    }
});

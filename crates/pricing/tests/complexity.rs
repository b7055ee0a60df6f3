//! A card's composites are checked in time linear in the card, and what one expands to
//! is bounded (issue 30, item 11): a deep or wide card is refused with the reason, never
//! priced into millions of lines. Natively and in the browser (the engine runs there).
//! Walked naively, the deep card below is 50^40 paths: the test would never end.

use creditkit_pricing::parse_card;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// A card whose composites `c0 … c{levels-1}` each have `width` components all naming
/// the next level; the last level's components name a fixed-price action.
fn card(levels: usize, width: usize) -> String {
    let mut actions = vec![r#"{ "id": "leaf", "name": "Leaf", "cost": 1 }"#.to_string()];
    for l in 0..levels {
        let next = if l + 1 == levels {
            "leaf".to_string()
        } else {
            format!("c{}", l + 1)
        };
        let components: Vec<String> = (0..width)
            .map(|_| format!(r#"{{ "action": "{next}" }}"#))
            .collect();
        actions.push(format!(
            r#"{{ "id": "c{l}", "name": "Level {l}", "cost": {{ "composite": [{}] }} }}"#,
            components.join(", ")
        ));
    }
    format!(
        r#"{{ "id": "deep", "name": "Deep", "version": "1", "currency": {{ "code": "USD", "exponent": 2 }}, "actions": [{}] }}"#,
        actions.join(", ")
    )
}

fn problems(text: &str) -> Vec<String> {
    match parse_card(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn deep_and_wide_composites_are_refused_quickly() {
    // 40 levels of 50 components: 50^40 paths if walked naively.
    let deep = problems(&card(40, 50));
    assert!(
        deep.iter().any(|p| p.contains("deep; the limit is 4")),
        "{deep:?}"
    );
    // 4 levels (allowed) of 50: 6,250,000 parts for one item.
    let wide = problems(&card(4, 50));
    assert!(
        wide.iter()
            .any(|p| p.contains("priced parts; the limit is 256")),
        "{wide:?}"
    );
    // 4 levels of 4: 256 parts, the limit: accepted.
    assert_eq!(problems(&card(4, 4)), Vec::<String>::new());
    assert!(!problems(&card(4, 5)).is_empty(), "625 parts are refused");
}

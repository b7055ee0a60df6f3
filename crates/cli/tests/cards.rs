//! `creditkit card schema`, `card diff` and `card check` on the example cards.

use std::process::Command;

use serde_json::Value;

fn creditkit(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_creditkit"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

const CARDS: [&str; 5] = ["kappax", "campaigns", "landing", "kumari", "kopai"];

#[test]
fn the_example_cards_name_the_schema_and_pass_it() {
    let (ok, schema) = creditkit(&["card", "schema"]);
    assert!(ok);
    let schema: Value = serde_json::from_str(&schema).unwrap();
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schema/ratecard.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        schema, on_disk,
        "`card schema` prints the file the cards name"
    );
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    for name in CARDS {
        let path = format!(
            "{}/../../examples/ratecards/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let card: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            card["$schema"], "../../schema/ratecard.schema.json",
            "{name}"
        );
        let errors: Vec<String> = validator
            .iter_errors(&card)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        // The schema and the parser agree on what a card may hold: an unknown field is
        // an error to both.
        let mut typo = card.clone();
        typo["actions"][0]["costs"] = Value::from(1);
        assert!(!validator.is_valid(&typo), "{name}: schema accepts a typo");
        assert!(
            creditkit_pricing::parse_card(&typo.to_string()).is_err(),
            "{name}: parser accepts a typo"
        );
    }
}

#[test]
fn card_diff_says_what_each_price_did() {
    let dir = std::env::temp_dir().join(format!("creditkit-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let old = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ratecards/landing.json"
    ))
    .unwrap();
    let new = old
        .replace(r#""2k": 60"#, r#""2k": 75"#)
        .replace(r#""cost": 10"#, r#""cost": 8"#);
    std::fs::write(dir.join("new.json"), &new).unwrap();
    let new_path = dir.join("new.json");
    let (ok, out) = creditkit(&[
        "card",
        "diff",
        "examples/ratecards/landing.json",
        new_path.to_str().unwrap(),
        "--text",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("Image generation (resolution=2k): 60 → 75 credits (+25%)"),
        "{out}"
    );
    assert!(
        out.contains("Section content generation: 10 → 8 credits (-20%)"),
        "{out}"
    );
    // A landing page with sections gets cheaper too: composites are priced, not guessed.
    let (ok, json) = creditkit(&[
        "card",
        "diff",
        "examples/ratecards/landing.json",
        new_path.to_str().unwrap(),
    ]);
    assert!(ok);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["change"] != "unchanged"));
    let (ok, same) = creditkit(&[
        "card",
        "diff",
        "examples/ratecards/landing.json",
        "examples/ratecards/landing.json",
        "--text",
    ]);
    assert!(ok);
    assert_eq!(same.trim(), "no price changed");
    // A broken card is refused with its problems, exit 1.
    std::fs::write(dir.join("bad.json"), "{\"id\": \"x\"}").unwrap();
    let bad = dir.join("bad.json");
    let (ok, out) = creditkit(&[
        "card",
        "diff",
        "examples/ratecards/landing.json",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("problems"), "{out}");
}

//! Property tests: random cards and requests never panic, and every estimate keeps its
//! invariants (min <= expected <= max, lines add up to the subtotal, rounding is
//! monotone). Native only: proptest needs a clock and OS randomness.
#![cfg(not(target_arch = "wasm32"))]

use creditkit_pricing::{
    estimate, format_scaled, parse_card, parse_scaled, Millicredits, Request, Rounding,
    RoundingMode, ToJson,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (0u64..200).prop_map(|n| json!(n)),
        2 => (0u64..200_000).prop_map(|m| json!(format_scaled(m, 3))),
        1 => Just(json!(-3)),
        1 => Just(json!(0.5)),
        1 => Just(json!(0.0001)),
        1 => Just(json!(u64::MAX)),
        1 => Just(json!("1e9")),
        1 => prop_oneof![Just("low"), Just("high"), Just("gold")].prop_map(|t| json!({ "tier": t })),
    ]
}

fn cost() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => amount(),
        1 => Just(json!("free")),
        2 => Just(json!("chat")),
        2 => (proptest::collection::btree_map(prop_oneof![Just("a"), Just("b"), Just("c")], amount(), 0..3), proptest::option::of(prop_oneof![Just("a"), Just("z")]))
            .prop_map(|(choices, default)| json!({ "options": { "param": "opt", "choices": choices, "default": default } })),
        2 => (amount(), amount(), proptest::option::of(amount()), proptest::bool::ANY, proptest::collection::btree_map(prop_oneof![Just("lo"), Just("hi")], amount(), 0..2))
            .prop_map(|(min, max, expected, with_param, levels)| json!({ "range": {
                "min": min, "max": max, "expected": expected,
                "param": if with_param { json!("level") } else { Value::Null }, "levels": levels } })),
        1 => proptest::collection::vec((0usize..5, proptest::bool::ANY, 0u64..4), 0..3)
            .prop_map(|cs| json!({ "composite": cs.into_iter().map(|(a, q, f)| json!({
                "action": format!("a{a}"), "quantity_from": if q { json!(["n"]) } else { json!([]) }, "factor": f })).collect::<Vec<_>>() })),
    ]
}

fn action(i: usize) -> impl Strategy<Value = Value> {
    (
        cost(),
        proptest::option::of((0u64..5, 0u64..8, proptest::option::of(0u64..8))),
        proptest::bool::ANY,
    )
        .prop_map(move |(cost, counts, per)| {
            let mut a = json!({ "id": format!("a{i}"), "cost": cost });
            if let Some((min, max, default)) = counts {
                a["counts"] = json!({ "n": { "min": min, "max": max, "default": default } });
                if per {
                    a["per"] = json!(["n"]);
                }
            }
            a
        })
}

fn card() -> impl Strategy<Value = Value> {
    (
        (0..5usize).prop_flat_map(|n| (0..n).map(action).collect::<Vec<_>>()),
        proptest::collection::vec((amount(), proptest::option::of(amount()), proptest::option::of(amount()), proptest::option::of(0u64..5000)), 0..3),
        proptest::collection::vec((0usize..3, amount(), 0u64..6), 0..3),
        (amount(), prop_oneof![Just("up"), Just("down"), Just("nearest"), Just("sideways")]),
        amount(),
    )
        .prop_map(|(actions, models, agents, (step, mode), low)| {
            json!({
                "id": "p", "name": "prop", "version": "1",
                "tiers": { "low": low, "high": 50 },
                "rounding": { "step": step, "mode": mode },
                "actions": actions,
                "models": models.into_iter().enumerate().map(|(i, (per, inp, out, max_out))| json!({
                    "id": format!("m{i}"), "per_message": per, "input_per_1k_tokens": inp,
                    "output_per_1k_tokens": out, "max_output_tokens": max_out })).collect::<Vec<_>>(),
                "agents": agents.into_iter().enumerate().map(|(i, (m, addon, free))| json!({
                    "id": format!("g{i}"), "model": format!("m{m}"), "publisher_addon": addon, "free_messages": free })).collect::<Vec<_>>(),
            })
        })
}

// Mostly valid cards, so the estimator itself is exercised, not only the validator.
fn ok_amount() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..50_000, 1 => Just(0u64), 1 => 0u64..1_000_000_000]
}

fn ok_cost(n_actions: usize) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => ok_amount().prop_map(|m| json!(format_scaled(m, 3))),
        1 => Just(json!({ "tier": "low" })),
        1 => Just(json!("free")),
        3 => Just(json!("chat")),
        2 => (proptest::collection::btree_map(prop_oneof![Just("a"), Just("b"), Just("c")], ok_amount(), 1..3), proptest::bool::ANY)
            .prop_map(|(choices, with_default)| {
                let first = choices.keys().next().copied();
                json!({ "options": { "param": "opt", "choices": choices.into_iter().map(|(k, v)| (k.to_string(), json!(format_scaled(v, 3)))).collect::<serde_json::Map<_, _>>(),
                    "default": if with_default { json!(first) } else { Value::Null } } })
            }),
        2 => (ok_amount(), 0u64..100_000, proptest::bool::ANY).prop_map(|(min, spread, levels)| {
            let max = min + spread;
            let mut r = json!({ "range": { "min": format_scaled(min, 3), "max": format_scaled(max, 3) } });
            if levels {
                r["range"]["param"] = json!("level");
                r["range"]["levels"] = json!({ "lo": format_scaled(min, 3), "hi": format_scaled(max, 3) });
            }
            r
        }),
        // Components point only at lower-numbered actions: no cycles.
        2 => proptest::collection::vec((0usize..n_actions.max(1), proptest::bool::ANY, 1u64..4), 1..3)
            .prop_map(|cs| cs)
            .prop_map(move |cs| if n_actions == 0 { json!(1) } else { json!({ "composite": cs.into_iter().map(|(a, q, f)| json!({
                "action": format!("a{a}"), "quantity_from": if q { json!(["n"]) } else { json!([]) }, "factor": f })).collect::<Vec<_>>() }) }),
    ]
}

fn ok_card() -> impl Strategy<Value = Value> {
    (
        (1..6usize).prop_flat_map(|n| (0..n).map(|i| (ok_cost(i), proptest::bool::ANY)).collect::<Vec<_>>()),
        (0u64..3, 0u64..6),
        proptest::collection::vec((ok_amount(), proptest::option::of(ok_amount()), proptest::option::of((ok_amount(), 1u64..5000))), 1..3),
        proptest::collection::vec((ok_amount(), 0u64..6), 0..3),
        (1u64..5000, prop_oneof![Just("up"), Just("down"), Just("nearest")]),
    )
        .prop_map(|(actions, (min, spread), models, agents, (step, mode))| {
            // One `n` for every action: a composite passes it down, so bounds must agree.
            let actions: Vec<Value> = actions.into_iter().enumerate().map(|(i, (cost, per))| {
                let mut a = json!({ "id": format!("a{i}"), "cost": cost,
                    "counts": { "n": { "min": min, "max": min + spread, "default": min } } });
                if per { a["per"] = json!(["n"]); }
                a
            }).collect();
            // Composites may only hold actions that can be priced inside them.
            let priceable: Vec<bool> = actions.iter().map(|a| {
                a["cost"] != json!("chat") && !(a["cost"]["options"].is_object() && a["cost"]["options"]["default"].is_null())
            }).collect();
            let actions: Vec<Value> = actions.into_iter().map(|mut a| {
                if let Some(cs) = a["cost"]["composite"].as_array() {
                    let kept: Vec<Value> = cs.iter().filter(|c| {
                        let j: usize = c["action"].as_str().unwrap()[1..].parse().unwrap();
                        priceable[j]
                    }).cloned().collect();
                    a["cost"] = if kept.is_empty() { json!(1) } else { json!({ "composite": kept }) };
                }
                a
            }).collect();
            let n_models = models.len();
            json!({
                "id": "p", "name": "prop", "version": "1",
                "tiers": { "low": 3 },
                "rounding": { "step": format_scaled(step, 3), "mode": mode },
                "actions": actions,
                "models": models.into_iter().enumerate().map(|(i, (per, inp, out))| {
                    let mut m = json!({ "id": format!("m{i}"), "per_message": format_scaled(per, 3) });
                    if let Some(inp) = inp { m["input_per_1k_tokens"] = json!(format_scaled(inp, 3)); }
                    if let Some((out, max)) = out {
                        m["output_per_1k_tokens"] = json!(format_scaled(out, 3));
                        m["max_output_tokens"] = json!(max);
                    }
                    m
                }).collect::<Vec<_>>(),
                "agents": agents.into_iter().enumerate().map(|(i, (addon, free))| json!({
                    "id": format!("g{i}"), "model": format!("m{}", i % n_models), "publisher_addon": format_scaled(addon, 3), "free_messages": free })).collect::<Vec<_>>(),
            })
        })
}

fn check_estimates(
    card: &creditkit_pricing::Card,
    requests: Vec<Value>,
) -> Result<usize, TestCaseError> {
    let mut priced = 0;
    // The card's canonical form (its hash) is what serde writes, byte for byte.
    prop_assert_eq!(card.to_json_string(), serde_json::to_string(card).unwrap());
    for r in requests {
        let Ok(request) = Request::from_value(&(&r).into()) else {
            continue;
        };
        prop_assert_eq!(
            request.to_json_string(),
            serde_json::to_string(&request).unwrap()
        );
        if let Ok(e) = estimate(card, &request) {
            priced += 1;
            // What the browser's modules hand to JavaScript is what the server writes.
            prop_assert_eq!(e.to_json_string(), serde_json::to_string(&e).unwrap());
            prop_assert!(e.min_millicredits <= e.expected_millicredits);
            prop_assert!(e.expected_millicredits <= e.max_millicredits);
            prop_assert_eq!(e.exact, e.min_millicredits == e.max_millicredits);
            let (mut min, mut max, mut exp) = (0u64, 0u64, 0u64);
            for l in &e.lines {
                prop_assert!(
                    l.min_millicredits <= l.expected_millicredits
                        && l.expected_millicredits <= l.max_millicredits
                );
                min += l.min_millicredits;
                max += l.max_millicredits;
                exp += l.expected_millicredits;
            }
            prop_assert_eq!(
                (min, max, exp),
                (
                    e.subtotal.min_millicredits,
                    e.subtotal.max_millicredits,
                    e.subtotal.expected_millicredits
                )
            );
            // Rounding up never charges less than the lines.
            if card.rounding.mode == RoundingMode::Up {
                prop_assert!(e.max_millicredits >= e.subtotal.max_millicredits);
            }
            // Pinning every choice can only narrow the range: the estimate is deterministic.
            prop_assert_eq!(&estimate(card, &request).unwrap(), &e);
        }
    }
    Ok(priced)
}

/// A request that is valid by construction for `card`, steered by random numbers.
fn good_request(card: &creditkit_pricing::Card, rnd: &[u64]) -> Value {
    use creditkit_pricing::Cost;
    let mut r = rnd.iter().copied().cycle();
    let mut next = move || r.next().unwrap_or(0);
    let items: Vec<Value> = (0..1 + next() % 3)
        .map(|_| {
            let action = &card.actions[(next() as usize) % card.actions.len()];
            let mut params = serde_json::Map::new();
            for (name, c) in &action.counts {
                params.insert(name.clone(), json!(c.min + next() % (c.max - c.min + 1)));
            }
            match &action.cost {
                Cost::Options { param, choices, .. } => {
                    let keys: Vec<_> = choices.keys().collect();
                    params.insert(param.clone(), json!(keys[(next() as usize) % keys.len()]));
                }
                Cost::Range {
                    param: Some(param),
                    levels,
                    ..
                } if next() % 2 == 0 => {
                    let keys: Vec<_> = levels.keys().collect();
                    params.insert(param.clone(), json!(keys[(next() as usize) % keys.len()]));
                }
                Cost::Chat => {
                    let model = if !card.agents.is_empty() && next() % 2 == 0 {
                        let agent = &card.agents[(next() as usize) % card.agents.len()];
                        params.insert("agent".into(), json!(agent.id));
                        params.insert("messages_used".into(), json!(next() % 8));
                        card.model(&agent.model).unwrap()
                    } else {
                        let m = &card.models[(next() as usize) % card.models.len()];
                        params.insert("model".into(), json!(m.id));
                        m
                    };
                    if model.input_per_1k_tokens.is_some() {
                        params.insert("input_tokens".into(), json!(next() % 200_000));
                    }
                    if let (Some(max), true) = (model.max_output_tokens, next() % 2 == 0) {
                        params.insert("output_tokens".into(), json!(next() % (max + 1)));
                    }
                }
                _ => {}
            }
            json!({ "action": action.id, "quantity": 1 + next() % 5, "params": params })
        })
        .collect();
    json!({ "items": items })
}

fn param() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        prop_oneof![Just("a"), Just("b"), Just("z")].prop_map(|v| ("opt".to_string(), json!(v))),
        prop_oneof![Just("lo"), Just("hi"), Just("mid")]
            .prop_map(|v| ("level".to_string(), json!(v))),
        (0u64..10).prop_map(|v| ("n".to_string(), json!(v))),
        (0usize..3).prop_map(|v| ("model".to_string(), json!(format!("m{v}")))),
        (0usize..3).prop_map(|v| ("agent".to_string(), json!(format!("g{v}")))),
        (0u64..100_000).prop_map(|v| ("input_tokens".to_string(), json!(v))),
        (0u64..6000).prop_map(|v| ("output_tokens".to_string(), json!(v))),
        (0u64..8).prop_map(|v| ("messages_used".to_string(), json!(v))),
        Just(("bogus".to_string(), json!(1))),
        Just(("n".to_string(), json!(-1))),
    ]
}

fn request() -> impl Strategy<Value = Value> {
    proptest::collection::vec((0usize..6, prop_oneof![5 => 1u64..4, 1 => Just(0u64), 1 => Just(u64::MAX)], proptest::collection::vec(param(), 0..5)), 1..4)
        .prop_map(|items| {
            json!({ "items": items.into_iter().map(|(a, q, ps)| json!({
                "action": format!("a{a}"), "quantity": q,
                "params": ps.into_iter().collect::<serde_json::Map<_, _>>() })).collect::<Vec<_>>() })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn hostile_cards_and_requests_never_panic(card in card(), requests in proptest::collection::vec(request(), 1..6)) {
        let Ok(card) = parse_card(&card.to_string()) else { return Ok(()) };
        check_estimates(&card, requests)?;
    }

    #[test]
    fn valid_cards_price_with_ordered_ranges(card in ok_card(), requests in proptest::collection::vec(request(), 1..4),
                                             rnds in proptest::collection::vec(proptest::collection::vec(proptest::num::u64::ANY, 12), 4)) {
        let card = parse_card(&card.to_string()).map_err(|e| TestCaseError::fail(format!("generator made a bad card: {e}")))?;
        check_estimates(&card, requests)?;
        // Valid by construction: each must price, or fail only by overflow.
        for rnd in &rnds {
            let request = Request::from_value(&(&good_request(&card, rnd)).into()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            match estimate(&card, &request) {
                Ok(_) => {}
                Err(e) => prop_assert_eq!(e.kind, creditkit_pricing::EstimateErrorKind::Overflow, "{}", e),
            }
        }
        let good: Vec<Value> = rnds.iter().map(|r| good_request(&card, r)).collect();
        check_estimates(&card, good)?;
    }

    #[test]
    fn arbitrary_text_never_panics_the_card_parser(text in ".{0,400}") {
        let _ = parse_card(&text);
        let _ = Request::from_json(&text);
    }

    #[test]
    fn rounding_is_monotone(step in 1u64..10_000, a in 0u64..1_000_000_000, b in 0u64..1_000_000_000,
                            mode in prop_oneof![Just(RoundingMode::Up), Just(RoundingMode::Down), Just(RoundingMode::Nearest)]) {
        let r = Rounding { step_millicredits: step, mode };
        let (lo, hi) = (a.min(b), a.max(b));
        let (rlo, rhi) = (r.apply(Millicredits(lo)).unwrap(), r.apply(Millicredits(hi)).unwrap());
        prop_assert!(rlo <= rhi);
        prop_assert_eq!(rlo.0 % step, 0);
        prop_assert!(rlo.0.abs_diff(lo) < step);
    }

    #[test]
    fn decimal_text_round_trips(m in 0u64..u64::MAX / 1000) {
        prop_assert_eq!(parse_scaled(&format_scaled(m, 3), 3).unwrap(), m);
    }
}

//! What a new card version does to prices: each action priced on both cards with the
//! same probe requests (every option, level, model and agent), by the same estimator
//! that quotes. Used by `creditkit card diff` and the operator's card upload.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::amount::Millicredits;
use crate::card::{Action, Card, Cost};
use crate::estimate::{estimate, Span};
use crate::request::{Item, Request};

/// How a price moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Unchanged,
    Up,
    Down,
    /// The range moved both ways (a lower minimum and a higher maximum, say).
    Reshaped,
    Added,
    Removed,
}

/// One priced variant of one action on the old and the new card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PriceChange {
    pub action: String,
    /// The action's name (the new card's, or the old one's if removed).
    pub name: String,
    /// What was priced beyond the defaults: `resolution=2k`, `model=gpt-4o, 1000 input
    /// tokens`; empty for the action as it is.
    pub variant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Span>,
    pub change: Change,
    /// `Image (resolution=2k): 60 → 75 credits (+25%)`.
    pub display: String,
}

/// Input tokens a chat probe sends: prices per 1k tokens show as they are.
const PROBE_INPUT_TOKENS: u64 = 1000;

/// Every action of either card, every variant, priced on both.
pub fn diff(old: &Card, new: &Card) -> Vec<PriceChange> {
    let ids: BTreeSet<&str> = old
        .actions
        .iter()
        .chain(&new.actions)
        .map(|a| a.id.as_str())
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let (a_old, a_new) = (old.action(id), new.action(id));
        let name = a_new.or(a_old).map_or(id, |a| a.name.as_str()).to_string();
        let mut probes: Vec<(String, Item)> = Vec::new();
        for (card, action) in [(old, a_old), (new, a_new)] {
            if let Some(action) = action {
                for probe in probes_of(card, action) {
                    if !probes.iter().any(|(v, _)| *v == probe.0) {
                        probes.push(probe);
                    }
                }
            }
        }
        for (variant, item) in probes {
            let request = Request::single(item);
            let price = |card: &Card, action: Option<&Action>| {
                action?;
                estimate(card, &request).ok().map(|e| Span {
                    min_millicredits: e.min_millicredits,
                    max_millicredits: e.max_millicredits,
                    expected_millicredits: e.expected_millicredits,
                })
            };
            let (before, after) = (price(old, a_old), price(new, a_new));
            let change = change_of(before, after);
            out.push(PriceChange {
                display: display(&name, &variant, before, after, change),
                action: id.to_string(),
                name: name.clone(),
                variant,
                before,
                after,
                change,
            });
        }
    }
    out
}

fn change_of(before: Option<Span>, after: Option<Span>) -> Change {
    match (before, after) {
        (None, None) => Change::Unchanged,
        (None, Some(_)) => Change::Added,
        (Some(_), None) => Change::Removed,
        (Some(b), Some(a)) => {
            let lower =
                a.min_millicredits < b.min_millicredits || a.max_millicredits < b.max_millicredits;
            let higher =
                a.min_millicredits > b.min_millicredits || a.max_millicredits > b.max_millicredits;
            match (lower, higher) {
                (false, false) => Change::Unchanged,
                (true, false) => Change::Down,
                (false, true) => Change::Up,
                (true, true) => Change::Reshaped,
            }
        }
    }
}

fn span_text(s: Span) -> String {
    if s.min_millicredits == s.max_millicredits {
        format!("{}", Millicredits(s.max_millicredits))
    } else {
        format!(
            "{}–{}",
            Millicredits(s.min_millicredits),
            Millicredits(s.max_millicredits)
        )
    }
}

fn display(
    name: &str,
    variant: &str,
    before: Option<Span>,
    after: Option<Span>,
    change: Change,
) -> String {
    let what = if variant.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({variant})")
    };
    match (before, after) {
        (Some(b), Some(_)) if change == Change::Unchanged => {
            format!("{what}: {} credits, unchanged", span_text(b))
        }
        (Some(b), Some(a)) => {
            let percent = if b.max_millicredits > 0 {
                let (from, to) = (
                    i128::from(b.max_millicredits),
                    i128::from(a.max_millicredits),
                );
                let p = (to - from) * 100 / from;
                format!(" ({}{p}%)", if p >= 0 { "+" } else { "" })
            } else {
                String::new()
            };
            format!(
                "{what}: {} → {} credits{percent}",
                span_text(b),
                span_text(a)
            )
        }
        (None, Some(a)) => format!("{what}: new, {} credits", span_text(a)),
        (Some(b), None) => format!("{what}: removed (was {} credits)", span_text(b)),
        (None, None) => format!("{what}: cannot be priced on either card"),
    }
}

/// The requests that show an action's prices: its defaults, then each option, level,
/// model and agent.
fn probes_of(card: &Card, action: &Action) -> Vec<(String, Item)> {
    let mut base = Item::new(action.id.clone());
    for (name, c) in &action.counts {
        base = base.param(name.clone(), c.default.unwrap_or(c.min));
    }
    match &action.cost {
        Cost::Options { param, choices, .. } => choices
            .keys()
            .map(|c| {
                (
                    format!("{param}={c}"),
                    base.clone().param(param.clone(), c.clone()),
                )
            })
            .collect(),
        Cost::Range {
            param: Some(param),
            levels,
            ..
        } => std::iter::once((String::new(), base.clone()))
            .chain(levels.keys().map(|l| {
                (
                    format!("{param}={l}"),
                    base.clone().param(param.clone(), l.clone()),
                )
            }))
            .collect(),
        Cost::Chat => {
            let tokens = |i: Item| i.param("input_tokens", PROBE_INPUT_TOKENS);
            let models = card.models.iter().map(|m| {
                (
                    format!("model={}, {PROBE_INPUT_TOKENS} input tokens", m.id),
                    tokens(base.clone().param("model", m.id.clone())),
                )
            });
            let agents = card.agents.iter().map(|a| {
                (
                    format!("agent={}, after its free messages", a.id),
                    tokens(
                        base.clone()
                            .param("agent", a.id.clone())
                            .param("messages_used", a.free_messages),
                    ),
                )
            });
            models.chain(agents).collect()
        }
        _ => vec![(String::new(), base)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_card;

    fn card(image_2k: u32, section: u32) -> Card {
        parse_card(&format!(
            r#"{{"id": "t", "name": "T", "version": "1", "actions": [
                {{"id": "image", "name": "Image", "cost": {{"options": {{"param": "resolution", "choices": {{"1k": 30, "2k": {image_2k}}}}}}}}},
                {{"id": "section", "name": "Section", "cost": {section}}}
            ]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn each_option_says_what_it_did() {
        let d = diff(&card(60, 10), &card(75, 10));
        let by = |v: &str| d.iter().find(|c| c.variant == v).unwrap();
        assert_eq!(by("resolution=1k").change, Change::Unchanged);
        assert_eq!(by("resolution=2k").change, Change::Up);
        assert_eq!(
            by("resolution=2k").display,
            "Image (resolution=2k): 60 → 75 credits (+25%)"
        );
        assert_eq!(by("").change, Change::Unchanged);
    }

    #[test]
    fn added_and_removed_actions() {
        let old = card(60, 10);
        let new = parse_card(
            r#"{"id": "t", "name": "T", "version": "2", "actions": [{"id": "logo", "name": "Logo", "cost": 5}]}"#,
        )
        .unwrap();
        let d = diff(&old, &new);
        assert!(d
            .iter()
            .any(|c| c.action == "logo" && c.change == Change::Added));
        assert!(d
            .iter()
            .filter(|c| c.action != "logo")
            .all(|c| c.change == Change::Removed));
    }
}

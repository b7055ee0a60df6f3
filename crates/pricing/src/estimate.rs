//! The estimator: a validated card and a request in, a priced range with a line per
//! charge out. Pure, deterministic, integer-only: the browser and the server run this
//! same function, so the estimate shown is the amount charged.

use serde::{Deserialize, Serialize};

use crate::amount::{Millicredits, MILLI_PER_CREDIT};
use crate::card::{Action, Card, CardRef, Component, Cost};
use crate::error::{EstimateError, EstimateErrorKind};
use crate::limits::{MAX_DEPTH, MAX_ITEMS};
use crate::map::Map;
use crate::request::{Item, ParamValue, Request};

mod chat;

/// What a line charges for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Action,
    Free,
    /// Per-message runtime infrastructure cost of a model.
    Infra,
    InputTokens,
    OutputTokens,
    /// The agent creator's per-message fee; accrues to the creator.
    PublisherAddon,
    /// Messages inside an agent's free allowance.
    FreeMessage,
}

/// One charge of an estimate. Lines add up to [`Estimate::subtotal`] exactly.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Line {
    /// Index of the request item this line prices.
    pub item: usize,
    pub action: String,
    pub kind: LineKind,
    pub label: String,
    /// How many units this line counts (items × per-unit counts).
    pub quantity: u64,
    pub min_millicredits: u64,
    pub max_millicredits: u64,
    pub expected_millicredits: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// A priced range: `min <= expected <= max`, in milli-credits.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Span {
    pub min_millicredits: u64,
    pub max_millicredits: u64,
    pub expected_millicredits: u64,
}

impl Span {
    pub const fn exact(m: u64) -> Span {
        Span {
            min_millicredits: m,
            max_millicredits: m,
            expected_millicredits: m,
        }
    }

    fn range(min: u64, max: u64, expected: u64) -> Span {
        debug_assert!(min <= expected && expected <= max);
        Span {
            min_millicredits: min,
            max_millicredits: max,
            expected_millicredits: expected,
        }
    }

    fn checked_mul(self, n: u64) -> Option<Span> {
        Some(Span {
            min_millicredits: self.min_millicredits.checked_mul(n)?,
            max_millicredits: self.max_millicredits.checked_mul(n)?,
            expected_millicredits: self.expected_millicredits.checked_mul(n)?,
        })
    }

    fn checked_add(self, o: Span) -> Option<Span> {
        Some(Span {
            min_millicredits: self.min_millicredits.checked_add(o.min_millicredits)?,
            max_millicredits: self.max_millicredits.checked_add(o.max_millicredits)?,
            expected_millicredits: self
                .expected_millicredits
                .checked_add(o.expected_millicredits)?,
        })
    }
}

/// The price of a request: a range, the expected value, and where it comes from.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::FromJson,
    creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Estimate {
    /// Totals after the card's rounding rule.
    pub min_millicredits: u64,
    pub max_millicredits: u64,
    pub expected_millicredits: u64,
    /// `min == max`: nothing left to chance, the charge will be exactly this.
    pub exact: bool,
    /// Sum of the lines before rounding.
    pub subtotal: Span,
    pub lines: Vec<Line>,
    pub card: CardRef,
}

impl Estimate {
    pub fn min(&self) -> Millicredits {
        Millicredits(self.min_millicredits)
    }
    pub fn max(&self) -> Millicredits {
        Millicredits(self.max_millicredits)
    }
    pub fn expected(&self) -> Millicredits {
        Millicredits(self.expected_millicredits)
    }

    /// "30 credits", "2–3 credits": how a user is shown this estimate.
    pub fn display(&self) -> String {
        let unit = |m: Millicredits| {
            if m.0 == MILLI_PER_CREDIT {
                "credit"
            } else {
                "credits"
            }
        };
        if self.exact {
            format!("{} {}", self.min(), unit(self.min()))
        } else {
            format!("{}–{} {}", self.min(), self.max(), unit(self.max()))
        }
    }
}

/// Prices `request` with `card`.
pub fn estimate(card: &Card, request: &Request) -> Result<Estimate, EstimateError> {
    if request.items.is_empty() {
        return Err(EstimateError::new(
            EstimateErrorKind::InvalidRequest,
            "items",
            "needs at least one item",
        ));
    }
    if request.items.len() > MAX_ITEMS {
        return Err(EstimateError::new(
            EstimateErrorKind::InvalidRequest,
            "items",
            format!(
                "has {} items; the limit is {MAX_ITEMS}",
                request.items.len()
            ),
        ));
    }
    let mut lines = Vec::new();
    for (i, item) in request.items.iter().enumerate() {
        let path = if request.items.len() == 1 {
            String::new()
        } else {
            format!("items[{i}]")
        };
        let mut ctx = Ctx {
            card,
            item_index: i,
            lines: &mut lines,
        };
        ctx.price(&path, item, 1, 0, None)?;
    }
    let overflow = || {
        EstimateError::new(
            EstimateErrorKind::Overflow,
            "",
            "the total is too large to price",
        )
    };
    let mut subtotal = Span::default();
    for l in &lines {
        subtotal = subtotal
            .checked_add(Span::range(
                l.min_millicredits,
                l.max_millicredits,
                l.expected_millicredits,
            ))
            .ok_or_else(overflow)?;
    }
    let round = |m: u64| {
        card.rounding
            .apply(Millicredits(m))
            .map(|r| r.0)
            .ok_or_else(overflow)
    };
    let (min, max, expected) = (
        round(subtotal.min_millicredits)?,
        round(subtotal.max_millicredits)?,
        round(subtotal.expected_millicredits)?,
    );
    debug_assert!(min <= expected && expected <= max);
    Ok(Estimate {
        min_millicredits: min,
        max_millicredits: max,
        expected_millicredits: expected,
        exact: min == max,
        subtotal,
        lines,
        card: card.card_ref(),
    })
}

struct Ctx<'a> {
    card: &'a Card,
    item_index: usize,
    lines: &'a mut Vec<Line>,
}

fn err(kind: EstimateErrorKind, path: &str, message: impl Into<String>) -> EstimateError {
    EstimateError::new(kind, path, message)
}

fn at(path: &str, key: &str) -> String {
    crate::walk::join(path, key)
}

fn known_list(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.map(|s| s.as_ref().to_string()).take(20).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// The option an item chose (or the action's default), and its price for one unit.
fn chosen_option<'a>(
    params_path: &str,
    action: &Action,
    item: &'a Item,
    param: &str,
    choices: &Map<Millicredits>,
    default: &'a Option<String>,
) -> Result<(&'a str, u64), EstimateError> {
    let choice = match (item.params.get(param), default) {
        (Some(ParamValue::Text(c)), _) => c.as_str(),
        (Some(other), _) => {
            return Err(err(
                EstimateErrorKind::InvalidParam,
                &at(params_path, param),
                format!(
                    "expected one of {}, found {other}",
                    known_list(choices.keys())
                ),
            ))
        }
        (None, Some(d)) => d.as_str(),
        (None, None) => {
            return Err(err(
                EstimateErrorKind::MissingParam,
                &at(params_path, param),
                format!(
                    "missing parameter `{param}` for `{}` (one of: {})",
                    action.id,
                    known_list(choices.keys())
                ),
            ))
        }
    };
    match choices.get(choice) {
        Some(amount) => Ok((choice, amount.0)),
        None => Err(unknown_choice(params_path, param, choice, choices)),
    }
}

/// `param` names `name`, which is not one of `known`'s keys.
fn unknown_choice(
    params_path: &str,
    param: &str,
    name: &str,
    known: &Map<Millicredits>,
) -> EstimateError {
    err(
        EstimateErrorKind::InvalidParam,
        &at(params_path, param),
        format!(
            "unknown {param} `{name}` (one of: {})",
            known_list(known.keys())
        ),
    )
}

/// A complexity range's price for one unit with its line's label: exact at the level
/// the item names, else the range.
fn ranged(
    params_path: &str,
    cost: &Cost,
    item: &Item,
    label: String,
) -> Result<(String, Span), EstimateError> {
    let Cost::Range {
        min,
        max,
        expected,
        param,
        levels,
    } = cost
    else {
        return Ok((label, Span::exact(0)));
    };
    let level = param
        .as_ref()
        .and_then(|p| item.params.get(p).map(|v| (p, v)));
    Ok(match level {
        None => (label, Span::range(min.0, max.0, expected.0)),
        Some((p, value)) => {
            let (name, amount) = chosen_level(params_path, p, value, levels)?;
            (format!("{label} — {name}"), Span::exact(amount))
        }
    })
}

/// The complexity level an item named, and its exact price for one unit.
fn chosen_level<'a>(
    params_path: &str,
    param: &str,
    value: &'a ParamValue,
    levels: &Map<Millicredits>,
) -> Result<(&'a str, u64), EstimateError> {
    match value {
        ParamValue::Text(name) => match levels.get(name) {
            Some(a) => Ok((name.as_str(), a.0)),
            None => Err(unknown_choice(params_path, param, name, levels)),
        },
        other => Err(err(
            EstimateErrorKind::InvalidParam,
            &at(params_path, param),
            format!(
                "expected one of {}, found {other}",
                known_list(levels.keys())
            ),
        )),
    }
}

impl Ctx<'_> {
    /// Prices one item (or one component of a composite) `outer` times.
    fn price(
        &mut self,
        path: &str,
        item: &Item,
        outer: u64,
        depth: usize,
        via: Option<&str>,
    ) -> Result<(), EstimateError> {
        let card = self.card;
        let Some(action) = card.action(&item.action) else {
            return Err(err(
                EstimateErrorKind::UnknownAction,
                &at(path, "action"),
                format!(
                    "unknown action `{}` (card `{}` has: {})",
                    item.action,
                    card.id,
                    known_list(card.actions.iter().map(|a| &a.id))
                ),
            ));
        };
        if depth > MAX_DEPTH {
            return Err(err(
                EstimateErrorKind::InvalidRequest,
                path,
                "composite actions nest too deep",
            ));
        }
        if item.quantity == 0 {
            return Err(err(
                EstimateErrorKind::InvalidRequest,
                &at(path, "quantity"),
                "quantity must be at least 1",
            ));
        }
        check_param_names(path, action, &item.params)?;
        let counts = resolve_counts(path, action, &item.params)?;
        let overflow = || {
            err(
                EstimateErrorKind::Overflow,
                path,
                "the total is too large to price",
            )
        };
        let mut units = outer.checked_mul(item.quantity).ok_or_else(overflow)?;
        let mut per_label = String::new();
        for name in &action.per {
            let n = counts[name];
            units = units.checked_mul(n).ok_or_else(overflow)?;
            per_label.push_str(&format!(" × {n} {}", action.counts[name].label));
        }
        let label = match via {
            Some(parent) => format!("{} ({parent}){per_label}", action.name),
            None => format!("{}{per_label}", action.name),
        };
        let params_path = at(path, "params");
        match &action.cost {
            Cost::Free => self.push(action, LineKind::Free, label, units, Span::exact(0), path),
            Cost::Fixed { amount } => self.push(
                action,
                LineKind::Action,
                label,
                units,
                Span::exact(amount.0),
                path,
            ),
            Cost::Options {
                param,
                choices,
                default,
            } => {
                let (choice, amount) =
                    chosen_option(&params_path, action, item, param, choices, default)?;
                let label = format!("{label} — {choice}");
                self.push(
                    action,
                    LineKind::Action,
                    label,
                    units,
                    Span::exact(amount),
                    path,
                )
            }
            Cost::Range { .. } => {
                let (label, span) = ranged(&params_path, &action.cost, item, label)?;
                self.push(action, LineKind::Action, label, units, span, path)
            }
            Cost::Chat => self.price_chat(path, action, item, units),
            Cost::Composite { components } => {
                for (ci, c) in components.iter().enumerate() {
                    self.price_component(path, ci, c, &counts, units, depth, &action.name)?;
                }
                Ok(())
            }
        }
    }

    /// One component of a composite action, priced as its own item `units` times: its
    /// quantity its factor times the parent's counts it names, its params its own fixed
    /// ones plus the parent's counts it also takes (a campaign via chat passes its
    /// platforms down).
    #[allow(clippy::too_many_arguments)]
    fn price_component(
        &mut self,
        path: &str,
        ci: usize,
        c: &Component,
        counts: &Map<u64>,
        units: u64,
        depth: usize,
        parent: &str,
    ) -> Result<(), EstimateError> {
        let overflow = || {
            err(
                EstimateErrorKind::Overflow,
                path,
                "the total is too large to price",
            )
        };
        let mut n = c.factor;
        for name in &c.quantity_from {
            n = n.checked_mul(counts[name]).ok_or_else(overflow)?;
        }
        if n == 0 {
            return Ok(()); // e.g. zero rewrites: nothing to price
        }
        let mut params = c.params.clone();
        if let Some(child_action) = self.card.action(&c.action) {
            for (name, value) in counts {
                if child_action.counts.contains_key(name) && !params.contains_key(name) {
                    params.insert(name.clone(), ParamValue::Count(*value));
                }
            }
        }
        let child = Item {
            action: c.action.clone(),
            quantity: n,
            params,
        };
        let cpath = if path.is_empty() {
            format!("components[{ci}]")
        } else {
            format!("{path}.components[{ci}]")
        };
        self.price(&cpath, &child, units, depth + 1, Some(parent))
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &self,
        action: &Action,
        kind: LineKind,
        label: String,
        quantity: u64,
        total: Span,
        model: Option<String>,
        agent: Option<String>,
    ) -> Line {
        Line {
            item: self.item_index,
            action: action.id.clone(),
            kind,
            label,
            quantity,
            min_millicredits: total.min_millicredits,
            max_millicredits: total.max_millicredits,
            expected_millicredits: total.expected_millicredits,
            model,
            agent,
        }
    }

    fn push(
        &mut self,
        action: &Action,
        kind: LineKind,
        label: String,
        units: u64,
        unit: Span,
        path: &str,
    ) -> Result<(), EstimateError> {
        self.push_tagged(action, kind, label, units, unit, path, None, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_tagged(
        &mut self,
        action: &Action,
        kind: LineKind,
        label: String,
        units: u64,
        unit: Span,
        path: &str,
        model: Option<String>,
        agent: Option<String>,
    ) -> Result<(), EstimateError> {
        let total = unit.checked_mul(units).ok_or_else(|| {
            err(
                EstimateErrorKind::Overflow,
                path,
                "the total is too large to price",
            )
        })?;
        let line = self.line(action, kind, label, units, total, model, agent);
        self.lines.push(line);
        Ok(())
    }
}

fn check_param_names(
    path: &str,
    action: &Action,
    params: &Map<ParamValue>,
) -> Result<(), EstimateError> {
    let names = action.param_names();
    for key in params.keys() {
        if !names.contains(&key.as_str()) {
            return Err(err(
                EstimateErrorKind::UnknownParam,
                &at(&at(path, "params"), key),
                format!(
                    "unknown parameter `{key}` for `{}` (it takes: {})",
                    action.id,
                    known_list(names.iter())
                ),
            ));
        }
    }
    Ok(())
}

fn resolve_counts(
    path: &str,
    action: &Action,
    params: &Map<ParamValue>,
) -> Result<Map<u64>, EstimateError> {
    let mut out = Map::new();
    for (name, spec) in &action.counts {
        let ppath = at(&at(path, "params"), name);
        let n = match (params.get(name), spec.default) {
            (Some(ParamValue::Count(n)), _) => *n,
            (Some(other), _) => {
                return Err(err(
                    EstimateErrorKind::InvalidParam,
                    &ppath,
                    format!("expected a whole number of {}, found {other}", spec.label),
                ))
            }
            (None, Some(d)) => d,
            (None, None) => {
                return Err(err(
                    EstimateErrorKind::MissingParam,
                    &ppath,
                    format!(
                        "missing parameter `{name}` for `{}` ({} to {} {})",
                        action.id, spec.min, spec.max, spec.label
                    ),
                ))
            }
        };
        if n < spec.min || n > spec.max {
            return Err(err(
                EstimateErrorKind::InvalidParam,
                &ppath,
                format!("{n} {} is outside {}..={}", spec.label, spec.min, spec.max),
            ));
        }
        out.insert(name.clone(), n);
    }
    Ok(out)
}

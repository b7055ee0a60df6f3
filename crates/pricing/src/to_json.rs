//! The engine's values written as JSON without serde: the card's canonical form (what
//! its hash is taken over) and what the WebAssembly modules hand to JavaScript.
//!
//! The server still writes these types with their serde derives; the tests hold the
//! two to the same bytes, so a card hashes alike on both sides and in every store.

use crate::amount::{Millicredits, Rounding, RoundingMode};
use crate::card::{
    Action, Agent, Card, CardRef, Component, Contact, Cost, CountParam, Currency, Model,
};
use crate::card::{Feature, Pack, PackQuantity, Plan, Renewal};
use crate::estimate::{Estimate, Line, LineKind, Span};
use crate::json::write_str;
use crate::map::Map;
use crate::money::{Money, PackCover, PackOffer, PlanCover, Shortfall};
use crate::request::{Item, ParamValue, Request};

/// A value written as compact JSON, fields in declaration order (as serde writes them).
pub trait ToJson {
    fn write_json(&self, out: &mut String);

    /// Whether a field marked "skipped when empty" leaves this value out.
    fn is_empty_field(&self) -> bool {
        false
    }

    fn to_json_string(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

impl ToJson for u64 {
    fn write_json(&self, out: &mut String) {
        // Digits without `core::fmt`: this is on every amount of every estimate.
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut n = *self;
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend(buf[i..].iter().map(|&b| b as char));
    }
}

impl ToJson for i64 {
    fn write_json(&self, out: &mut String) {
        if *self < 0 {
            out.push('-');
        }
        self.unsigned_abs().write_json(out);
    }
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut String) {
        u64::from(*self).write_json(out);
    }
}

impl ToJson for usize {
    fn write_json(&self, out: &mut String) {
        (*self as u64).write_json(out);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
    /// A flag skipped when empty is written only when set.
    fn is_empty_field(&self) -> bool {
        !*self
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for Millicredits {
    fn write_json(&self, out: &mut String) {
        self.0.write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
    fn is_empty_field(&self) -> bool {
        self.is_none()
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.write_json(out);
        }
        out.push(']');
    }
    fn is_empty_field(&self) -> bool {
        self.is_empty()
    }
}

impl<T: ToJson> ToJson for Map<T> {
    fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, k);
            out.push(':');
            v.write_json(out);
        }
        out.push('}');
    }
    fn is_empty_field(&self) -> bool {
        self.is_empty()
    }
}

/// Writes `{"name":value,…}`; fields after `;` are left out when empty
/// (`#[serde(skip_serializing_if = …)]`). `first` says whether nothing is written yet.
#[macro_export]
macro_rules! to_json_fields {
    ($out:ident, $self:ident, $first:expr, $($f:ident),* $(; $($s:ident),*)?) => {{
        let mut first: bool = $first;
        $(
            $out.push_str(if first { "\"" } else { ",\"" });
            first = false;
            $out.push_str(concat!(stringify!($f), "\":"));
            $crate::to_json::ToJson::write_json(&$self.$f, $out);
        )*
        $($(
            if !$crate::to_json::ToJson::is_empty_field(&$self.$s) {
                $out.push_str(if first { "\"" } else { ",\"" });
                first = false;
                $out.push_str(concat!(stringify!($s), "\":"));
                $crate::to_json::ToJson::write_json(&$self.$s, $out);
            }
        )*)?
        let _ = first;
    }};
}

/// `ToJson` for structs: `Type { field, …; skipped_when_empty, … }`.
#[macro_export]
macro_rules! to_json_struct {
    ($($t:ident { $($f:ident),* $(; $($s:ident),*)? })*) => {$(
        impl $crate::to_json::ToJson for $t {
            fn write_json(&self, out: &mut String) {
                out.push('{');
                $crate::to_json_fields!(out, self, true, $($f),* $(; $($s),*)?);
                out.push('}');
            }
        }
    )*};
}

/// For an enum of names: `as_str` and `parse` (the wire names, as serde writes them:
/// the tests compare) and `ToJson`. One table per enum, read by both directions.
#[macro_export]
macro_rules! wire_names {
    ($($t:ident { $($v:ident = $name:literal),* $(,)? })*) => {$(
        impl $t {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $name,)* }
            }
            /// The variant with wire name `name`.
            pub fn parse(name: &str) -> Option<$t> {
                match name { $($name => Some($t::$v),)* _ => None }
            }
        }
        impl $crate::to_json::ToJson for $t {
            fn write_json(&self, out: &mut String) {
                $crate::json::write_str(out, self.as_str());
            }
        }
    )*};
}

wire_names! {
    RoundingMode { Up = "up", Down = "down", Nearest = "nearest" }
    Renewal { Monthly = "monthly", Once = "once" }
    LineKind {
        Action = "action", Free = "free", Infra = "infra", InputTokens = "input_tokens",
        OutputTokens = "output_tokens", PublisherAddon = "publisher_addon",
        FreeMessage = "free_message"
    }
}

impl ToJson for ParamValue {
    fn write_json(&self, out: &mut String) {
        match self {
            ParamValue::Count(n) => n.write_json(out),
            ParamValue::Text(s) => write_str(out, s),
        }
    }
}

/// Internally tagged by `kind`, as `#[serde(tag = "kind")]` writes it.
impl ToJson for Cost {
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"kind\":");
        match self {
            Cost::Free => out.push_str("\"free\""),
            Cost::Chat => out.push_str("\"chat\""),
            Cost::Fixed { amount } => {
                out.push_str("\"fixed\",\"amount\":");
                amount.write_json(out);
            }
            Cost::Options {
                param,
                choices,
                default,
            } => {
                out.push_str("\"options\",\"param\":");
                param.write_json(out);
                out.push_str(",\"choices\":");
                choices.write_json(out);
                out.push_str(",\"default\":");
                default.write_json(out);
            }
            Cost::Range {
                min,
                max,
                expected,
                param,
                levels,
            } => {
                out.push_str("\"range\",\"min\":");
                min.write_json(out);
                out.push_str(",\"max\":");
                max.write_json(out);
                out.push_str(",\"expected\":");
                expected.write_json(out);
                out.push_str(",\"param\":");
                param.write_json(out);
                out.push_str(",\"levels\":");
                levels.write_json(out);
            }
            Cost::Composite { components } => {
                out.push_str("\"composite\",\"components\":");
                components.write_json(out);
            }
        }
        out.push('}');
    }
}

to_json_struct! {
    Card { id, name, version, currency, rounding, tiers, actions, models, agents, packs, plans, notes; contact }
    Contact { ; email, url, beyond_packs }
    Currency { code, exponent, credit_value_micros }
    Rounding { step_millicredits, mode }
    Action { id, name, category, cost, counts, per; route }
    CountParam { label, min, max, default }
    Component { action, quantity_from, factor, params }
    Model {
        id, name, class, per_message, input_per_1k_tokens, output_per_1k_tokens,
        max_input_tokens, max_output_tokens, expected_output_tokens, tokenizer
    }
    Agent { id, name, model, publisher_addon, free_messages }
    Pack { id, name, credits, price_minor, validity_months; quantity }
    PackQuantity { min, max }
    Plan { id, name, credits, renewal, price_minor; features }
    Feature { id, name; limit, unit }
    Estimate {
        min_millicredits, max_millicredits, expected_millicredits, exact, subtotal, lines, card
    }
    Span { min_millicredits, max_millicredits, expected_millicredits }
    Line {
        item, action, kind, label, quantity, min_millicredits, max_millicredits,
        expected_millicredits; model, agent
    }
    CardRef { id, version, hash }
    Money { currency, amount_minor, display }
    PackOffer {
        id, name, credits, price, per_credit_micros, per_credit_display, validity_months; quantity
    }
    PackCover { pack, quantity, credits, price }
    PlanCover { id, name, credits, renewal, price }
    Shortfall { balance_millicredits, required_millicredits, shortfall_millicredits, pack, plan; contact }
    Request { items }
    Item { action, quantity; params }
}

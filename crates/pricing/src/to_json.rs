//! The engine's values written as JSON without serde: the card's canonical form (what
//! its hash is taken over) and what the WebAssembly modules hand to JavaScript.
//!
//! Structs derive it (`#[derive(ToJson)]`, creditkit-wire-derive) from their own fields
//! and serde attributes; enums of names through `wire_names!`. The server still writes
//! these types with their serde derives; the tests hold the two to the same bytes, so a
//! card hashes alike on both sides and in every store.

use crate::amount::{Millicredits, RoundingMode};
use crate::card::{Cost, Renewal};
use crate::diff::Change;
use crate::estimate::LineKind;
use crate::json::write_str;
use crate::map::Map;
use crate::request::ParamValue;

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
        impl $crate::from_json::FromJson for $t {
            fn from_json(
                v: &$crate::json::Value,
            ) -> Result<Self, $crate::from_json::DecodeError> {
                v.as_str().and_then(<$t>::parse).ok_or_else(|| {
                    $crate::from_json::DecodeError::expected(concat!("a ", stringify!($t), " name"), v)
                })
            }
        }
    )*};
}

wire_names! {
    RoundingMode { Up = "up", Down = "down", Nearest = "nearest" }
    Renewal { Monthly = "monthly", Once = "once" }
    Change {
        Unchanged = "unchanged", Up = "up", Down = "down", Reshaped = "reshaped",
        Added = "added", Removed = "removed",
    }
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

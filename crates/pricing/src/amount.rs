//! Exact amounts: credits as integer milli-credits, money as integer minor units.
//!
//! Card authors write amounts in credits (`1`, `"2.5"`, `0.25`); the engine stores
//! them as [`Millicredits`] (1 credit = 1000). No amount is ever held in a float: a
//! JSON float literal is read back through its shortest decimal text (`0.1` → `"0.1"`)
//! and that text is parsed exactly, so `0.1` means exactly 100 milli-credits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Milli-credits per credit.
pub const MILLI_PER_CREDIT: u64 = 1000;

/// Largest amount a card may state for one price: one billion credits.
pub const MAX_PRICE_MILLICREDITS: u64 = 1_000_000_000 * MILLI_PER_CREDIT;

/// An amount of credits in milli-credits (1 credit = 1000).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Millicredits(pub u64);

impl Millicredits {
    pub const ZERO: Millicredits = Millicredits(0);

    pub const fn from_credits(credits: u64) -> Option<Millicredits> {
        match credits.checked_mul(MILLI_PER_CREDIT) {
            Some(v) => Some(Millicredits(v)),
            None => None,
        }
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    pub fn checked_add(self, other: Millicredits) -> Option<Millicredits> {
        self.0.checked_add(other.0).map(Millicredits)
    }

    pub fn checked_mul(self, factor: u64) -> Option<Millicredits> {
        self.0.checked_mul(factor).map(Millicredits)
    }

    /// Whole credits, rounded up (what a user is shown as "at most").
    pub const fn credits_ceil(self) -> u64 {
        self.0.div_ceil(MILLI_PER_CREDIT)
    }
}

impl fmt::Display for Millicredits {
    /// Credits with up to three decimals and no trailing zeros: `2`, `2.5`, `0.125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(self.0, 3))
    }
}

/// Formats `value / 10^scale` exactly, without trailing zeros.
pub fn format_scaled(value: u64, scale: u32) -> String {
    let divisor = 10u64.pow(scale);
    let whole = value / divisor;
    let frac = value % divisor;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = scale as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Formats `value / 10^scale` exactly with exactly `scale` decimals (money: `10.00`).
pub fn format_fixed(value: u64, scale: u32) -> String {
    if scale == 0 {
        return value.to_string();
    }
    let divisor = 10u64.pow(scale);
    format!(
        "{}.{:0width$}",
        value / divisor,
        value % divisor,
        width = scale as usize
    )
}

/// Why a decimal could not be read exactly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("must not be negative (got {0})")]
    Negative(String),
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    #[error("`{text}` has more than {scale} decimal places")]
    TooPrecise { text: String, scale: u32 },
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// Parses a non-negative decimal text into an integer scaled by `10^scale`.
///
/// `parse_scaled("2.5", 3) == Ok(2500)`. Trailing zeros beyond the scale are fine
/// (`"1.2000"` at scale 3); significant digits beyond it are refused, never rounded.
pub fn parse_scaled(text: &str, scale: u32) -> Result<u64, DecimalError> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(DecimalError::Negative(t.to_string()));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !is_digits(whole) || !is_digits(frac) {
        return Err(DecimalError::NotANumber(text.to_string()));
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > scale as usize {
        return Err(DecimalError::TooPrecise {
            text: text.to_string(),
            scale,
        });
    }
    let overflow = || DecimalError::Overflow(text.to_string());
    let mut value: u64 = 0;
    for b in whole.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    let mut frac_value: u64 = 0;
    for i in 0..scale as usize {
        let digit = frac_trimmed
            .as_bytes()
            .get(i)
            .map_or(0, |b| u64::from(b - b'0'));
        frac_value = frac_value * 10 + digit;
    }
    value
        .checked_mul(10u64.pow(scale))
        .and_then(|v| v.checked_add(frac_value))
        .ok_or_else(overflow)
}

/// Reads a JSON number or decimal string exactly at `scale` decimals.
///
/// A number is read from the literal the author wrote, digit for digit (`2.675`,
/// `25e-3`): never through a float.
pub fn parse_json_scaled(value: &crate::json::Value, scale: u32) -> Result<u64, DecimalError> {
    use crate::json::Value;
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return u
                    .checked_mul(10u64.pow(scale))
                    .ok_or_else(|| DecimalError::Overflow(u.to_string()));
            }
            let literal = n.as_str();
            if literal.starts_with('-') {
                return Err(DecimalError::Negative(literal.to_string()));
            }
            match n.plain() {
                Some(plain) => parse_scaled(&plain, scale).map_err(|e| match e {
                    // Name the literal as written, not its expansion.
                    DecimalError::Overflow(_) => DecimalError::Overflow(literal.to_string()),
                    DecimalError::TooPrecise { scale, .. } => DecimalError::TooPrecise {
                        text: literal.to_string(),
                        scale,
                    },
                    other => other,
                }),
                // More than 64 digits either side of the point.
                None if literal.contains("e-") || literal.contains("E-") => {
                    Err(DecimalError::TooPrecise {
                        text: literal.to_string(),
                        scale,
                    })
                }
                None => Err(DecimalError::Overflow(literal.to_string())),
            }
        }
        Value::String(s) => parse_scaled(s, scale),
        other => Err(DecimalError::NotANumber(other.to_string())),
    }
}

/// How a total is rounded to the card's step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Towards more credits: the default, so a charge is never below the price.
    Up,
    /// Towards fewer credits: in the user's favour.
    Down,
    /// To the nearest step, halves up.
    Nearest,
}

/// The rounding rule a card states for its totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Rounding {
    pub step_millicredits: u64,
    pub mode: RoundingMode,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            step_millicredits: 1,
            mode: RoundingMode::Up,
        }
    }
}

impl Rounding {
    /// Rounds `amount` to a multiple of the step. Monotone: `a <= b` implies
    /// `round(a) <= round(b)`, which keeps `min <= expected <= max` and keeps an actual
    /// charge under a quoted maximum. `None` on overflow.
    pub fn apply(self, amount: Millicredits) -> Option<Millicredits> {
        let step = self.step_millicredits.max(1);
        let v = amount.0;
        let down = v - v % step;
        let rounded = match self.mode {
            RoundingMode::Down => down,
            RoundingMode::Up if v.is_multiple_of(step) => v,
            RoundingMode::Up => down.checked_add(step)?,
            RoundingMode::Nearest if (v % step) * 2 >= step => down.checked_add(step)?,
            RoundingMode::Nearest => down,
        };
        Some(Millicredits(rounded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        let cases: &[(&str, u32, Result<u64, ()>)] = &[
            ("1", 3, Ok(1000)),
            ("2.5", 3, Ok(2500)),
            ("0.001", 3, Ok(1)),
            ("1.2000", 3, Ok(1200)),
            ("+3", 3, Ok(3000)),
            (".5", 3, Ok(500)),
            ("5.", 3, Ok(5000)),
            ("0.0001", 3, Err(())),
            ("-1", 3, Err(())),
            ("", 3, Err(())),
            (".", 3, Err(())),
            ("1e3", 3, Err(())),
            ("abc", 3, Err(())),
            ("18446744073709551615", 3, Err(())),
            ("10.00", 2, Ok(1000)),
        ];
        for (text, scale, want) in cases {
            let got = parse_scaled(text, *scale).map_err(|_| ());
            assert_eq!(&got, want, "parse_scaled({text:?}, {scale})");
        }
    }

    #[test]
    fn json_floats_mean_their_literal() {
        let v = crate::json::parse(
            "[0.1, 0.3, 2.675, 1e-3, -0.5, 7, 25E-3, 1.5e1, 2.6750000000000001, 1e-999, 1e999]",
        )
        .unwrap();
        let got: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| parse_json_scaled(x, 3).ok())
            .collect();
        assert_eq!(
            got,
            vec![
                Some(100),
                Some(300),
                Some(2675),
                Some(1),
                None,
                Some(7000),
                Some(25),
                Some(15000),
                // Digits beyond a milli-credit are refused, not rounded away by a float.
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(Millicredits(2500).to_string(), "2.5");
        assert_eq!(Millicredits(3000).to_string(), "3");
        assert_eq!(Millicredits(125).to_string(), "0.125");
        assert_eq!(format_fixed(1000, 2), "10.00");
        assert_eq!(format_fixed(5, 2), "0.05");
    }

    #[test]
    fn rounding_modes() {
        let r = |mode, step, v| {
            Rounding {
                step_millicredits: step,
                mode,
            }
            .apply(Millicredits(v))
            .unwrap()
            .0
        };
        assert_eq!(r(RoundingMode::Up, 1000, 1001), 2000);
        assert_eq!(r(RoundingMode::Up, 1000, 2000), 2000);
        assert_eq!(r(RoundingMode::Down, 1000, 1999), 1000);
        assert_eq!(r(RoundingMode::Nearest, 1000, 1500), 2000);
        assert_eq!(r(RoundingMode::Nearest, 1000, 1499), 1000);
        assert!(Rounding {
            step_millicredits: 1000,
            mode: RoundingMode::Up
        }
        .apply(Millicredits(u64::MAX))
        .is_none());
    }
}

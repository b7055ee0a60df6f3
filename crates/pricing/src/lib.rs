//! `creditkit-pricing`: rate cards and the estimator.
//!
//! One function, [`estimate`], prices a [`Request`] with a validated [`Card`]. It runs
//! natively on the server and as WebAssembly in the browser, so the estimate a user
//! sees and the amount the server charges come from the same code.
//!
//! ```
//! use creditkit_pricing::{estimate, parse_card, Item, Request};
//! let card = parse_card(r#"{
//!     "id": "landing", "name": "Landing builder", "version": "1",
//!     "actions": [{"id": "image", "cost": {"options": {"param": "resolution", "choices": {"1k": 30, "2k": 60}}}}]
//! }"#).unwrap();
//! let e = estimate(&card, &Request::single(Item::new("image").param("resolution", "2k").quantity(2))).unwrap();
//! assert_eq!(e.max_millicredits, 120_000);
//! assert_eq!(e.display(), "120 credits");
//! ```
//!
//! **Invariants.** No I/O, no clock, no randomness, no floats in amounts: every amount
//! is an integer number of milli-credits (1 credit = 1000), and every arithmetic step
//! is checked. For any card and request, `min <= expected <= max`, and the lines add
//! up to the subtotal before the card's rounding rule.

mod amount;
mod card;
mod diff;
mod error;
mod estimate;
pub mod from_json;
pub mod json;
mod map;
mod money;
mod parse;
mod request;
mod text;
pub mod to_json;
mod walk;

pub use amount::{
    format_fixed, format_scaled, parse_json_scaled, parse_scaled, DecimalError, Millicredits,
    Rounding, RoundingMode, MAX_PRICE_MILLICREDITS, MILLI_PER_CREDIT,
};
pub use card::{
    Action, Agent, Card, CardRef, Component, Contact, Cost, CountParam, Currency, Feature, Model,
    Pack, PackQuantity, Plan, Renewal,
};
pub use creditkit_tokens as tokens;
pub use creditkit_wire_derive::{FromJson, ToJson};
pub use diff::{diff, Change, PriceChange};
pub use error::{EstimateError, EstimateErrorKind};
pub use estimate::{estimate, Estimate, Line, LineKind, Span};
pub use from_json::FromJson;
pub use map::Map;
pub use money::{
    credits_to_money, pack_offer, pack_offers, shortfall, smallest_pack_covering,
    smallest_plan_covering, upgrade_covering, Money, PackCover, PackOffer, PlanCover, Shortfall,
};
pub use parse::{card_from_value, parse_card, CardError};
pub use request::{Item, ParamValue, Request, INPUT_TEXT};
pub use text::{chat_model, count_input_text, input_count, Counted, TokenizerKind};
pub use to_json::ToJson;

// The derives name `::creditkit_pricing`, which is this crate here too.
extern crate self as creditkit_pricing;
pub use walk::Problem;

/// Limits on everything a card or request may hold. Each error that hits one names it.
pub mod limits {
    pub const MAX_CARD_BYTES: usize = 1 << 20;
    pub const MAX_ACTIONS: usize = 1000;
    pub const MAX_MODELS: usize = 500;
    pub const MAX_AGENTS: usize = 5000;
    pub const MAX_PACKS: usize = 100;
    pub const MAX_PLANS: usize = 100;
    pub const MAX_FEATURES: usize = 50;
    pub const MAX_TIERS: usize = 50;
    pub const MAX_NOTES: usize = 50;
    pub const MAX_CHOICES: usize = 100;
    pub const MAX_COMPONENTS: usize = 50;
    pub const MAX_COUNTS_PER_ACTION: usize = 8;
    /// Composite actions nest at most this deep.
    pub const MAX_DEPTH: usize = 4;
    /// What one composite action expands to when priced: at most this many priced
    /// parts (each component, through every level), so an estimate stays small and
    /// quick (50 components 4 deep would be 6 million lines for one item).
    pub const MAX_EXPANDED_PARTS: u64 = 256;
    pub const MAX_ID_BYTES: usize = 64;
    pub const MAX_TEXT_CHARS: usize = 4096;
    /// A chat turn's `input_text` (counted into `input_tokens` by the model's tokenizer).
    pub const MAX_INPUT_TEXT_BYTES: usize = 1 << 20;
    pub const MAX_COUNT_VALUE: u64 = 1_000_000;
    pub const MAX_QUANTITY: u64 = 100_000;
    pub const MAX_ITEMS: usize = 100;
    pub const MAX_TOKENS: u64 = 10_000_000;
    pub const MAX_FREE_MESSAGES: u64 = 1_000_000;
    pub const MAX_PACK_CREDITS: u64 = 1_000_000_000;
    /// Most units of a pack one purchase buys (a pack bought by amount names its own
    /// range within this; others are bought 1 to 100 at a time).
    pub const MAX_PACK_UNITS: u64 = 10_000;
    /// Money: at most 10^12 minor units for a price, 1 major unit (10^6 micros) for a credit's value.
    pub const MAX_MONEY_MINOR: u64 = 1_000_000_000_000;
    pub const MAX_MONEY_MICROS: u64 = 1_000_000;
}

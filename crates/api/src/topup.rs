//! Auto top-up: a wallet buys a pack by itself, with the card saved at a checkout, when
//! its available credits fall below a threshold, exactly once per crossing and within
//! the monthly limits the member chose inside the operator's bounds.

use serde::{Deserialize, Serialize};

/// `PUT /v1/auto-top-up`: the rule a member sets on a wallet (members: their own
/// personal wallet; admins and the backend: any of the workspace's).
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::ToJson,
    creditkit_pricing::FromJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"below_credits": 100, "pack_id": "medium", "max_per_month": 3})))]
pub struct AutoTopUpRequest {
    /// Default: the session's or the workspace's wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    /// Buy when the available credits fall below this many.
    pub below_credits: u64,
    /// The card's pack to buy (its price is the card's when the top-up happens).
    pub pack_id: String,
    /// Units of the pack (a custom amount of a pack sold by the unit); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// At most this many top-ups a calendar month (UTC), within the operator's bound.
    pub max_per_month: u32,
    /// At most this much money a calendar month, in minor units (cents); default: the
    /// operator's bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount_minor_per_month: Option<u64>,
}

/// What the operator allows a workspace (`PUT /admin/v1/workspaces/{ws}/auto-top-up`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::ToJson,
    creditkit_pricing::FromJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AutoTopUpBounds {
    /// Off: no rule may be set, and the rules set do not fire.
    pub enabled: bool,
    /// The most top-ups a rule may allow a month.
    pub max_per_month: u32,
    /// The most money a rule may spend a month, in minor units.
    pub max_amount_minor_per_month: u64,
}

impl Default for AutoTopUpBounds {
    /// On, up to 5 top-ups and 500.00 a month: what a customer expects unasked, bounded.
    fn default() -> AutoTopUpBounds {
        AutoTopUpBounds {
            enabled: true,
            max_per_month: 5,
            max_amount_minor_per_month: 50_000,
        }
    }
}

/// A rule as it stands.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::ToJson,
    creditkit_pricing::FromJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AutoTopUpRule {
    pub below_credits: u64,
    pub pack_id: String,
    /// The card's name for the pack (its id when the card no longer sells it).
    pub pack_name: String,
    pub quantity: u64,
    /// What one top-up buys and costs at today's card.
    pub credits: u64,
    pub amount_minor: u64,
    pub currency: String,
    pub max_per_month: u32,
    pub max_amount_minor_per_month: u64,
    /// `active`; `needs_card` (no card saved yet: buy once with `save_card`);
    /// `paused` (3 payments failed in a row, or the operator turned it off: update the
    /// card, or set the rule again).
    pub status: String,
    /// Payments failed in a row (0 after a success).
    pub failures: u32,
    /// Why the last payment failed, in the provider's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When a failed top-up is tried again (1 h, then 6 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<i64>,
}

/// `GET /v1/auto-top-up`: a wallet's rule, its card and this month's use.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    creditkit_pricing::ToJson,
    creditkit_pricing::FromJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AutoTopUp {
    pub wallet_id: String,
    pub bounds: AutoTopUpBounds,
    /// `None`: no rule set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<AutoTopUpRule>,
    /// A card was saved for payments made without the member (at a checkout with
    /// `save_card`), and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_saved_at_ms: Option<i64>,
    /// Top-ups paid or under way this calendar month, and their amount.
    pub this_month_count: u32,
    pub this_month_amount_minor: u64,
}

//! What an end user reads about where their credits come from: the plan they are on,
//! what is left of its allowance and when it renews, and the balance broken down by
//! when each part expires (seeds 000, 001, 002, 003).

use creditkit_pricing::Renewal;
use serde::{Deserialize, Serialize};

/// `GET /v1/allowance`: the wallet's plan and what its balance is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Allowance {
    pub wallet_id: String,
    /// `None` for a wallet on no plan (credits from packs and grants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanStatus>,
    /// The balance by where it came from, soonest to expire first; parts that never
    /// expire last. Their sum is the balance.
    pub parts: Vec<CreditPart>,
}

/// The plan a wallet is on, as its user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlanStatus {
    pub id: String,
    /// The card's name for it (the id when the card no longer has the plan).
    pub name: String,
    pub renewal: Renewal,
    /// What the plan gives each cycle (or once).
    pub allowance_millicredits: u64,
    /// What is left of it now (unused plan credits).
    pub left_millicredits: u64,
    /// When a monthly allowance resets to the full amount; unused credits do not roll
    /// over. `None` for a one-time plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_at_ms: Option<i64>,
}

/// One part of the balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreditPart {
    /// `plan` (its allowance, monthly or one-time), `pack` or `grant` (credits given
    /// with a reason).
    pub source: String,
    /// The plan's or pack's name on the card, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub remaining_millicredits: u64,
    /// `None`: never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

/// `GET /v1/agents`: an agent as its card shows it to this member (seed 004): what a
/// message costs after the free ones, and how many free ones are left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AgentOffer {
    pub id: String,
    pub name: String,
    /// The model it runs on, by the card's name for it.
    pub model_name: String,
    /// One paid message: the model's runtime plus the creator's add-on (a range where
    /// the price depends on the message's length).
    pub per_message: creditkit_pricing::Span,
    pub publisher_addon_millicredits: u64,
    pub free_messages: u64,
    /// Free messages this member has not used (charged or confirmed) in this workspace.
    pub free_left: u64,
}

/// Narrows usage and history to one member, one action, one month (`2026-01`): a month
/// broken down by action and member, a member's own history (seeds 000, 001). A caller
/// without `read_team` sees only their own member's charges whatever it asks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UsageFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
}

/// `GET /v1/conversations/{id}`: what one chat has cost so far (seed 000: "running
/// session usage is visible at the top of the chat"), counted by the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConversationUsage {
    pub conversation_id: String,
    /// Turns confirmed (charged, running, or released without charge).
    pub turns: u64,
    /// Charged for its turns (refunded ones not counted).
    pub charged_millicredits: u64,
    /// Reserved by turns still running.
    pub held_millicredits: u64,
}

/// `GET /v1/wallets`: a wallet the caller may use (seed 004: personal and organization
/// wallets are separate), for the wallet switcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WalletSummary {
    pub wallet_id: String,
    pub kind: crate::WalletKind,
    /// Balance minus what running actions hold.
    pub available_millicredits: u64,
}

/// `GET /v1/price-notice`: a scheduled card version not yet in force for this wallet
/// (seed 000: customers are told in advance; a subscription keeps its prices until
/// its renewal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PriceNotice {
    pub version_no: u32,
    /// When the new prices take effect.
    pub effective_at_ms: i64,
    /// When they apply to this wallet: the effective date, or the first renewal on or
    /// after it for a wallet on a plan.
    pub applies_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Old → new for the actions this member used most in the last 30 days (up to
    /// five, most used first), those whose price changes.
    pub changes: Vec<creditkit_pricing::PriceChange>,
    /// Other prices that change (actions this member has not used lately).
    pub other_changes: u32,
}

/// `GET /v1/entitlements`: what the wallet's plan includes beyond credits (seed 004).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Entitlements {
    pub wallet_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    pub features: Vec<creditkit_pricing::Feature>,
}

/// `GET /v1/entitlements/{feature}?amount=N`: whether the plan includes a feature (up to
/// `amount` of it), for the operator's backend before it runs the feature; when not,
/// the smallest plan above that does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EntitlementCheck {
    pub feature: String,
    pub allowed: bool,
    /// The plan's limit (absent: unlimited, or not included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// When not allowed: the smallest plan above the wallet's that allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_plan_id: Option<String>,
}

/// Where a creator's payout stands (seed 004: withdraw available earnings to a bank).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayoutState {
    /// Asked for; the operator approves it (earnings are set aside meanwhile).
    Requested,
    /// Sent to the creator's connected account.
    Paid,
    /// Refused by the operator, or the transfer failed or was reversed: the earnings
    /// are available again.
    Failed,
}

impl PayoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutState::Requested => "requested",
            PayoutState::Paid => "paid",
            PayoutState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<PayoutState> {
        Some(match s {
            "requested" => PayoutState::Requested,
            "paid" => PayoutState::Paid,
            "failed" => PayoutState::Failed,
            _ => return None,
        })
    }
}

/// One payout (`GET /v1/payouts`, the operator's `GET /admin/v1/payouts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Payout {
    pub id: String,
    pub wallet_id: String,
    pub amount_millicredits: u64,
    /// What it is worth in money (the card's credit value), when the card says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub status: PayoutState,
    /// Why it failed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<i64>,
}

/// A creator's account with the payment provider that payouts are sent to (Stripe
/// Connect): `GET /v1/payout-account`; `POST` starts or resumes its onboarding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PayoutAccount {
    pub wallet_id: String,
    /// `none`, `pending` (onboarding not finished) or `ready` (payouts enabled).
    pub status: String,
    /// Where to finish onboarding (answers to `POST` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_url: Option<String>,
}

//! `creditkit-api`: the JSON shapes of the `/v1` HTTP API.
//!
//! The server serialises these and the widget deserialises them, from this one crate,
//! so the two cannot drift apart. Amounts are integer milli-credits (`*_millicredits`);
//! signed where they are changes (`delta`), unsigned where they are levels. Times are
//! Unix milliseconds (`*_at_ms`).

pub mod access;
mod account;
pub mod admin;
pub mod decode;
mod encode;
mod error;
mod topup;

use serde::{Deserialize, Serialize};

pub use access::{permits, Actor, Op, Role};
pub use account::{
    AgentOffer, Allowance, ConversationUsage, CreditPart, EntitlementCheck, Entitlements, Payout,
    PayoutAccount, PayoutState, PlanStatus, PriceNotice, UsageFilter, WalletSummary,
};
pub use creditkit_pricing::json;
pub use creditkit_pricing::{
    CardRef, Estimate, Line, LineKind, PackCover, PackOffer, PlanCover, Request, Shortfall,
};
pub use decode::{from_json_text, FromJson};
pub use error::{ApiError, ErrorCode};
pub use topup::{AutoTopUp, AutoTopUpBounds, AutoTopUpRequest, AutoTopUpRule};

/// Whose credits a wallet holds (Kopai keeps personal and organization wallets apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum WalletKind {
    /// Shared by every member of the workspace.
    Workspace,
    Personal,
    /// An organization's wallet; receives creator earnings.
    Organization,
}

impl WalletKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WalletKind::Workspace => "workspace",
            WalletKind::Personal => "personal",
            WalletKind::Organization => "organization",
        }
    }

    pub fn parse(s: &str) -> Option<WalletKind> {
        Some(match s {
            "workspace" => WalletKind::Workspace,
            "personal" => WalletKind::Personal,
            "organization" => WalletKind::Organization,
            _ => return None,
        })
    }
}

/// `GET /v1/me`: who is calling and what it may do (the widget hides what it may not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Me {
    pub workspace_id: String,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    pub rights: Vec<Op>,
}

/// Low-balance state shown to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BalanceState {
    Ok,
    /// Below the low threshold (default 100 credits).
    Low,
    /// At or below the critical threshold (default 10 credits).
    Critical,
}

impl BalanceState {
    pub fn of(available: u64, low: u64, critical: u64) -> BalanceState {
        if available <= critical {
            BalanceState::Critical
        } else if available < low {
            BalanceState::Low
        } else {
            BalanceState::Ok
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Balance {
    pub wallet_id: String,
    pub kind: WalletKind,
    /// Credits in the wallet, including those held for confirmed actions.
    pub balance_millicredits: u64,
    /// Reserved by active holds; not spendable until captured or released.
    pub held_millicredits: u64,
    /// `balance - held`: what a new action may use.
    pub available_millicredits: u64,
    pub state: BalanceState,
    pub low_threshold_millicredits: u64,
    pub critical_threshold_millicredits: u64,
    pub lifetime_used_millicredits: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transaction: Option<Transaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// Credits owed after a refund took back more than was left unspent; the next
    /// purchase repays it first. The balance itself never goes below zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub debt_millicredits: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// Start a checkout: the payment provider's page for a pack (× quantity) or a plan.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"pack_id": "medium", "quantity": 1})))]
pub struct CheckoutRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 10000)))]
    pub quantity: Option<u64>,
    /// Default: the session's or the workspace's wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    /// Where the provider sends the buyer afterwards (an allowed origin's page);
    /// default: a "you can close this window" page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Save the card for payments made without the buyer (auto top-up): Stripe's
    /// `setup_future_usage=off_session`, which its page tells the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_card: Option<bool>,
}

/// A checkout to open: the credits arrive when the provider confirms the payment
/// (a signed webhook), on the balance stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckoutStarted {
    pub id: String,
    pub url: String,
    pub credits: u64,
    pub amount_minor: u64,
    pub currency: String,
}

/// Where a payment stands (`GET /v1/checkouts/{id}`): credits come only with `paid`,
/// which only the provider's signed webhook sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// Opened, not paid yet (or paid by a method that confirms later).
    Pending,
    Paid,
    /// The payment failed; nothing was charged.
    Failed,
    /// The checkout page expired unpaid.
    Expired,
}

impl CheckoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Pending => "pending",
            CheckoutState::Paid => "paid",
            CheckoutState::Failed => "failed",
            CheckoutState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<CheckoutState> {
        Some(match s {
            "pending" => CheckoutState::Pending,
            "paid" => CheckoutState::Paid,
            "failed" => CheckoutState::Failed,
            "expired" => CheckoutState::Expired,
            _ => return None,
        })
    }
}

/// A checkout as the buyer follows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckoutStatus {
    pub id: String,
    pub status: CheckoutState,
    pub credits: u64,
    pub amount_minor: u64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at_ms: Option<i64>,
}

/// `POST /v1/subscription`: change the wallet's paid plan through the provider (an
/// upgrade now, the difference invoiced and granted at once; a downgrade from the next
/// period), or end it at the period's end (`cancel_at_period_end: true`) and resume it
/// (`false`). Exactly one of the two.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SubscriptionChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_at_period_end: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
}

/// A wallet's paid subscription (`GET /v1/subscription`; `null` on no paid plan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Subscription {
    pub wallet_id: String,
    pub plan_id: String,
    /// What a period costs, in minor units of `currency`.
    pub amount_minor: u64,
    pub currency: String,
    /// When the current period ends (the next renewal, or the end when canceling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_at_ms: Option<i64>,
    /// Ends at the period's end instead of renewing.
    pub cancel_at_period_end: bool,
    /// A downgrade, from the next period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_plan_id: Option<String>,
    /// An upgrade whose prorated invoice is not paid yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_plan_id: Option<String>,
}

/// Whose spending a cap bounds, within one wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapScope {
    /// Everything spent from the wallet.
    Wallet,
    /// One member's spending (`subject`: the member id).
    Member,
    /// One project's (`subject`: the project name).
    Project,
}

/// How often a cap's count starts again (UTC calendar, or the wallet's plan cycle).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    Day,
    /// From Monday 00:00 UTC.
    Week,
    /// From the 1st, 00:00 UTC.
    Month,
    /// The wallet's plan billing cycle (a calendar month without a plan).
    Cycle,
}

/// A spending cap and where it stands now. Holds count as well as captures, so
/// confirmed actions in flight cannot pass it together.
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
pub struct Cap {
    pub id: String,
    pub wallet_id: String,
    pub scope: CapScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub limit_millicredits: u64,
    pub period: CapPeriod,
    pub period_start_ms: i64,
    pub resets_at_ms: i64,
    /// Charged in this period.
    pub spent_millicredits: u64,
    /// Held for confirmed actions not yet settled.
    pub reserved_millicredits: u64,
    pub left_millicredits: u64,
}

/// Set a cap (workspace admins, the backend).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"scope": "member", "subject": "mem_01a24845a29057f0bf675e6dcd17", "limit_millicredits": 100000, "period": "month"})))]
pub struct NewCap {
    pub scope: CapScope,
    /// The member id or project name (`member` and `project` scopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Default: the workspace wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub limit_millicredits: u64,
    pub period: CapPeriod,
}

/// Price a request before the user confirms it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"request": {"action": "section", "quantity": 2}, "conversation_id": "chat_42"})))]
pub struct QuoteRequest {
    /// Defaults to the caller's workspace wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    pub request: Request,
    /// Free-form project name for usage reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// A chat turn streamed in chunks: the hold reserves the input and this many output
    /// tokens now, and grows as the model streams, up to the estimate's maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamStart>,
    /// The chat this turn belongs to (the page's id for it, at most 200 characters):
    /// the server counts each conversation's spend (`GET /v1/conversations/{id}`),
    /// across session refreshes and reloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreamStart {
    pub first_output_tokens: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Quote {
    pub id: String,
    pub wallet_id: String,
    pub estimate: Estimate,
    pub expires_at_ms: i64,
    /// What a hold for this quote reserves: the estimate's maximum, or for a streamed
    /// turn its first chunk (the estimate's maximum is what the user confirms).
    pub hold_millicredits: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub streaming: bool,
    pub available_millicredits: u64,
    /// True when the maximum is more than is available: a hold would be refused.
    pub would_exceed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<Shortfall>,
    /// A spending cap a hold would pass (it would be refused): which, what is left,
    /// when it resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
}

/// Confirm a quote: reserve its maximum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"quote_id": "qt_01a2485cc723c7724cee788324c0"})))]
pub struct HoldRequest {
    pub quote_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Active,
    Captured,
    Released,
    /// Timed out and released itself.
    Expired,
    /// Captured, then refunded to the grants it was drawn from.
    Refunded,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Captured => "captured",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
            HoldStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<HoldStatus> {
        Some(match s {
            "active" => HoldStatus::Active,
            "captured" => HoldStatus::Captured,
            "released" => HoldStatus::Released,
            "expired" => HoldStatus::Expired,
            "refunded" => HoldStatus::Refunded,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hold {
    pub id: String,
    pub quote_id: String,
    pub wallet_id: String,
    /// Reserved: the confirmed quote's maximum. A capture can never exceed it.
    pub amount_millicredits: u64,
    pub status: HoldStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_millicredits: Option<u64>,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
    /// A streamed turn: what the user confirmed and how far the stream has come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<HoldStream>,
    /// The member whose session confirmed it (none for the backend's own holds): a
    /// backend settles a hold for the member who asked, and checks this first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HoldStream {
    /// The most this turn may cost: the confirmed estimate's maximum.
    pub confirmed_max_millicredits: u64,
    /// Output tokens reserved for (the hold's amount prices them).
    pub reserved_output_tokens: u64,
    /// Output tokens generated as of the last extension, and what they cost: a stream
    /// abandoned midway is charged this when its hold times out.
    pub generated_output_tokens: u64,
    pub generated_millicredits: u64,
}

/// Grow a streaming hold as the model streams (the backend, once per chunk, with an
/// `Idempotency-Key` per chunk).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"generated_output_tokens": 256, "reserve_output_tokens": 512})))]
pub struct ExtendRequest {
    /// Output tokens produced so far.
    pub generated_output_tokens: u64,
    /// Output tokens to have reserved from now on (at least the generated ones).
    pub reserve_output_tokens: u64,
}

/// Charge for a completed operation: the actual amount, directly or as the actual
/// request priced by the same card that priced the quote. With neither, an exact quote
/// is charged at its price; a ranged one is refused (`amount_required`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"amount_millicredits": 8500})))]
pub struct CaptureRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_millicredits: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<Request>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"pack_id": "small"})))]
pub struct TopUpRequest {
    pub pack_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 10000)))]
    pub quantity: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlanRequest {
    pub plan_id: String,
}

/// What a ledger entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// Credits added: plan allowance, pack top-up, free grant.
    Grant,
    /// Credits taken for a completed operation.
    Charge,
    /// Credits returned to the grants a charge drew from.
    Refund,
    /// Credits that reached their expiry (plan cycle end, 12-month pack).
    Expiry,
    /// Credits reserved for a confirmed quote.
    Hold,
    /// A reservation returned (failed operation, timeout, rest after capture).
    Release,
    Payout,
    Earning,
    /// Credits taken back by the operator (a support correction), with its reason.
    Revoke,
}

impl TransactionKind {
    pub const ALL: [TransactionKind; 9] = [
        TransactionKind::Grant,
        TransactionKind::Charge,
        TransactionKind::Refund,
        TransactionKind::Expiry,
        TransactionKind::Hold,
        TransactionKind::Release,
        TransactionKind::Payout,
        TransactionKind::Earning,
        TransactionKind::Revoke,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Grant => "grant",
            TransactionKind::Charge => "charge",
            TransactionKind::Refund => "refund",
            TransactionKind::Expiry => "expiry",
            TransactionKind::Hold => "hold",
            TransactionKind::Release => "release",
            TransactionKind::Payout => "payout",
            TransactionKind::Earning => "earning",
            TransactionKind::Revoke => "revoke",
        }
    }

    pub fn parse(s: &str) -> Option<TransactionKind> {
        TransactionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Transaction {
    pub seq: i64,
    pub kind: TransactionKind,
    /// Change of the wallet's balance (negative for charges and expiries).
    pub delta_millicredits: i64,
    /// Change of the held amount (holds +, releases and captures −).
    pub held_delta_millicredits: i64,
    /// Change of a creator's earnings (publisher add-ons earned +, paid out −): an
    /// earning or a payout moves these, not the balance.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub earnings_delta_millicredits: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at_ms: i64,
}

/// A page of a list; pass `next_cursor` back as `cursor` for the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageGroup {
    Action,
    Project,
    Member,
    Month,
}

impl UsageGroup {
    pub fn parse(s: &str) -> Option<UsageGroup> {
        Some(match s {
            "action" => UsageGroup::Action,
            "project" => UsageGroup::Project,
            "member" => UsageGroup::Member,
            "month" => UsageGroup::Month,
            _ => return None,
        })
    }

    /// The wire name (`"action"`, …), as [`UsageGroup::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageGroup::Action => "action",
            UsageGroup::Project => "project",
            UsageGroup::Member => "member",
            UsageGroup::Month => "month",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UsageRow {
    /// The action id, project, member id or `YYYY-MM`; `""` when unknown.
    pub key: String,
    pub used_millicredits: u64,
    pub charges: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Usage {
    pub wallet_id: String,
    pub group_by: UsageGroup,
    pub rows: Vec<UsageRow>,
    pub total_millicredits: u64,
}

/// A person in a workspace. Members have no password or token of their own: the
/// operator's backend signs them in and mints a short-lived session for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The operator's own id for this person (to mint sessions without a lookup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"name": "Ada", "role": "admin", "external_id": "user-1"})))]
pub struct NewMember {
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 200), regex(pattern = r"\S"))
    )]
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// Changes to a member; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 200), regex(pattern = r"\S"))
    )]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Mint a browser session for one member (operator's backend, with the API key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"external_id": "user-1", "ttl_seconds": 900})))]
pub struct SessionRequest {
    /// The member, by creditkit id …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// … or by the operator's own id for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Binds the session to one wallet (the member's personal wallet, say); default:
    /// the workspace wallet, and any wallet the member may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    /// Lifetime; default 1 hour, at most 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 60, max = 86400)))]
    pub ttl_seconds: Option<u64>,
    /// Narrows what the session may do (default: all its role may, see the table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<Vec<Op>>,
    /// Binds the session to one project: every quote it makes is that project's (its
    /// caps apply whether or not the page names it; another project is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 200)))]
    pub project: Option<String>,
}

/// A session: the token the browser sends as `Authorization: Bearer …` (shown once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Session {
    pub id: String,
    pub token: String,
    pub workspace_id: String,
    pub member_id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    pub rights: Vec<Op>,
    pub expires_at_ms: i64,
    /// The project it is bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub wallet_id: String,
    pub card: CardRef,
    pub low_threshold_millicredits: u64,
    pub critical_threshold_millicredits: u64,
    /// Suspended by the operator: sessions are refused, nothing new is spent.
    #[serde(default)]
    pub suspended: bool,
    #[serde(default)]
    pub created_at_ms: i64,
}

/// Low-balance thresholds of a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"low_threshold_millicredits": 100000, "critical_threshold_millicredits": 10000})))]
pub struct Thresholds {
    pub low_threshold_millicredits: u64,
    pub critical_threshold_millicredits: u64,
}

/// Pushed on the balance event stream after any change to a wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BalanceEvent {
    pub wallet_id: String,
    pub balance: Balance,
}

/// A creator's earnings from publisher add-ons (seed 004), in an organization wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Earnings {
    pub wallet_id: String,
    /// Settled and not yet paid out.
    pub available_millicredits: u64,
    /// Accrued in the last 24 h; becomes available when it settles.
    pub pending_millicredits: u64,
    pub paid_out_millicredits: u64,
    /// The platform's share of the add-ons (display only).
    pub platform_share_millicredits: u64,
    /// Smallest payout that can be requested.
    pub minimum_payout_millicredits: u64,
    pub payout_available: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::ToJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PayoutRequest {
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub amount_millicredits: u64,
}

/// Which organization wallet receives an agent's publisher add-ons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PayeeRequest {
    pub wallet_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewWallet {
    pub kind: WalletKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WalletCreated {
    pub wallet_id: String,
    pub kind: WalletKind,
}

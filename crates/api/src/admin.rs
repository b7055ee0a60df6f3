//! The operator's API (`/admin/v1`, behind the operator key) and the money calls only
//! the operator makes on `/v1` (grants and revocations).

use serde::{Deserialize, Serialize};

use crate::CardRef;

/// Onboard a customer: a workspace with its wallet, priced by `card`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewWorkspace {
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 200), regex(pattern = r"\S"))
    )]
    pub name: String,
    /// The rate card (JSON), validated; becomes version 1.
    pub card: serde_json::Value,
    /// A plan of the card to start on (its allowance is granted now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
}

/// A rate-card version of a workspace. Quotes keep the version they were priced with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardVersion {
    /// 1, 2, … per workspace.
    pub version_no: u32,
    pub card: CardRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at_ms: i64,
    /// A scheduled version: when it takes effect (for a wallet on a plan, from its
    /// first renewal on or after this). Absent: in force since it was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at_ms: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardUpload {
    pub card: serde_json::Value,
    /// Why this version (shown in the version list and the customers' notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Schedules the version: at least the server's notice lead time ahead (14 days
    /// unless configured). Customers see the notice; `card.scheduled` is emitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at_ms: Option<i64>,
    /// In force now although it raises or removes a price (before launch, say).
    /// Without it, such a version must be scheduled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub without_notice: bool,
}

/// A new version and what each action's price did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardUploaded {
    pub version: CardVersion,
    pub diff: Vec<creditkit_pricing::PriceChange>,
}

/// A workspace API key as listed: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiKeyInfo {
    pub id: String,
    /// The key's first characters (`ck_sk_3f9a1c2b`), to tell keys apart.
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at_ms: Option<i64>,
    /// Refused from this time on (a rotated key's grace period ends here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

/// A key just made: the secret is shown this once and stored only hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    pub secret: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"name": "acme backend"})))]
pub struct NewApiKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 200), regex(pattern = r"\S"))
    )]
    pub name: Option<String>,
}

/// Replace a key: a new one now; the old one keeps working for the grace period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RotateApiKey {
    /// Default 0: the old key stops at once. At most 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u64>,
}

/// Credits given by the operator (support goodwill, a promotion, a top-up paid elsewhere).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"amount_millicredits": 25000, "reason": "outage on the 14th"})))]
pub struct GrantRequest {
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub amount_millicredits: u64,
    /// Why: kept on the grant and its ledger entry.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 500), regex(pattern = r"\S"))
    )]
    pub reason: String,
    /// Default: the workspace wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

/// Credits taken back by the operator: an amount (from the soonest-expiring grants), or
/// what is unspent of one grant. Held credits are never taken; the balance never goes
/// below zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(example = serde_json::json!({"amount_millicredits": 5000, "reason": "refunded by card"})))]
pub struct RevokeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub amount_millicredits: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 500), regex(pattern = r"\S"))
    )]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
}

/// A list of workspaces; pass `next_cursor` back as `cursor`.
pub type WorkspacePage = crate::Page<crate::Workspace>;

/// An operator key as listed (`creditkit admin key list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OperatorKeyInfo {
    pub id: String,
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OperatorKeyCreated {
    #[serde(flatten)]
    pub info: OperatorKeyInfo,
    pub secret: String,
}

/// What creditkit tells the operator's backend about, as outbound webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum EventType {
    /// A wallet's available credits fell below its low threshold.
    #[serde(rename = "balance.low")]
    BalanceLow,
    /// … to or below its critical threshold.
    #[serde(rename = "balance.critical")]
    BalanceCritical,
    /// … to zero.
    #[serde(rename = "balance.empty")]
    BalanceEmpty,
    #[serde(rename = "hold.created")]
    HoldCreated,
    /// Released in full: the operation failed, was cancelled or timed out.
    #[serde(rename = "hold.released")]
    HoldReleased,
    #[serde(rename = "charge.captured")]
    ChargeCaptured,
    #[serde(rename = "charge.refunded")]
    ChargeRefunded,
    #[serde(rename = "grant.added")]
    GrantAdded,
    #[serde(rename = "grant.expired")]
    GrantExpired,
    #[serde(rename = "credits.revoked")]
    CreditsRevoked,
    #[serde(rename = "payout.requested")]
    PayoutRequested,
    /// A card version was scheduled: the operator tells customers of the new prices.
    #[serde(rename = "card.scheduled")]
    CardScheduled,
    /// An auto top-up was paid: its credits were granted.
    #[serde(rename = "topup.succeeded")]
    TopUpSucceeded,
    /// An auto top-up's payment failed (declined, needs the customer, provider down);
    /// it is tried again later, or the rule pauses (`data.paused`).
    #[serde(rename = "topup.failed")]
    TopUpFailed,
}

impl EventType {
    pub const ALL: [EventType; 14] = [
        EventType::BalanceLow,
        EventType::BalanceCritical,
        EventType::BalanceEmpty,
        EventType::HoldCreated,
        EventType::HoldReleased,
        EventType::ChargeCaptured,
        EventType::ChargeRefunded,
        EventType::GrantAdded,
        EventType::GrantExpired,
        EventType::CreditsRevoked,
        EventType::PayoutRequested,
        EventType::CardScheduled,
        EventType::TopUpSucceeded,
        EventType::TopUpFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BalanceLow => "balance.low",
            EventType::BalanceCritical => "balance.critical",
            EventType::BalanceEmpty => "balance.empty",
            EventType::HoldCreated => "hold.created",
            EventType::HoldReleased => "hold.released",
            EventType::ChargeCaptured => "charge.captured",
            EventType::ChargeRefunded => "charge.refunded",
            EventType::GrantAdded => "grant.added",
            EventType::GrantExpired => "grant.expired",
            EventType::CreditsRevoked => "credits.revoked",
            EventType::PayoutRequested => "payout.requested",
            EventType::CardScheduled => "card.scheduled",
            EventType::TopUpSucceeded => "topup.succeeded",
            EventType::TopUpFailed => "topup.failed",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// One event as delivered: `{id, type, created_at_ms, workspace_id, data}`. The id is
/// the same on every delivery attempt, so receivers can drop duplicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub created_at_ms: i64,
    pub workspace_id: String,
    pub data: serde_json::Value,
}

/// Subscribe an endpoint (the operator's) to events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewWebhookEndpoint {
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1, max = 2000),
            regex(pattern = r"^[hH][tT][tT][pP][sS]?://")
        )
    )]
    pub url: String,
    /// Which events; empty or absent: all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventType>,
    /// Only this workspace's events (default: every workspace's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Empty: every event.
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at_ms: Option<i64>,
}

/// An endpoint just made, with the secret its deliveries are signed with (shown once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WebhookEndpointCreated {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Retried for a day without a 2xx.
    Failed,
}

/// One try at delivering an event to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeliveryAttempt {
    pub at_ms: i64,
    /// The endpoint's HTTP status; absent when it could not be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Delivery {
    pub endpoint_id: String,
    pub status: DeliveryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<i64>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// An event with what became of its deliveries (`GET /admin/v1/events`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventRecord {
    #[serde(flatten)]
    pub event: Event,
    pub deliveries: Vec<Delivery>,
}

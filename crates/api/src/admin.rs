//! The operator's API (`/admin/v1`, behind the operator key) and the money calls only
//! the operator makes on `/v1` (grants and revocations).

use serde::{Deserialize, Serialize};

use crate::CardRef;

/// Onboard a customer: a workspace with its wallet, priced by `card`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewWorkspace {
    pub name: String,
    /// The rate card (JSON), validated; becomes version 1.
    pub card: serde_json::Value,
    /// A plan of the card to start on (its allowance is granted now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
}

/// A rate-card version of a workspace. Quotes keep the version they were priced with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardVersion {
    /// 1, 2, … per workspace.
    pub version_no: u32,
    pub card: CardRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardUpload {
    pub card: serde_json::Value,
    /// Why this version (shown in the version list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A new version and what each action's price did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardUploaded {
    pub version: CardVersion,
    pub diff: Vec<creditkit_pricing::PriceChange>,
}

/// A workspace API key as listed: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    pub secret: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Replace a key: a new one now; the old one keeps working for the grace period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateApiKey {
    /// Default 0: the old key stops at once. At most 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u64>,
}

/// Credits given by the operator (support goodwill, a promotion, a top-up paid elsewhere).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRequest {
    pub amount_millicredits: u64,
    /// Why: kept on the grant and its ledger entry.
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
pub struct RevokeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_millicredits: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
}

/// A list of workspaces; pass `next_cursor` back as `cursor`.
pub type WorkspacePage = crate::Page<crate::Workspace>;

/// An operator key as listed (`creditkit admin key list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct OperatorKeyCreated {
    #[serde(flatten)]
    pub info: OperatorKeyInfo,
    pub secret: String,
}

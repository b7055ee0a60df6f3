//! The one error vocabulary: every error the ledger, the server and the widget speak.

use serde::{Deserialize, Serialize};

use crate::Shortfall;

/// A stable, machine-readable error code. The HTTP status follows from it
/// ([`ErrorCode::status`]); clients branch on it, never on the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, wrong types, a missing header): its shape is
    /// not what the OpenAPI document describes. 400.
    InvalidRequest,
    /// The card has no such action.
    UnknownAction,
    /// The action takes no such parameter.
    UnknownParam,
    /// A parameter the action needs is missing.
    MissingParam,
    /// A value is well-formed but not acceptable: an unknown choice, out of bounds, or
    /// against a rule of the card or the account (a plan it does not sell, a payout
    /// under the minimum, thresholds out of order). 422, as are the other codes of a
    /// well-formed request refused.
    InvalidParam,
    /// A total does not fit in 64 bits of milli-credits.
    Overflow,
    /// A rate card failed validation; the message lists every problem.
    InvalidCard,
    /// No credentials, or credentials this server does not know (revoked, tampered).
    Unauthorized,
    /// A session token past its expiry: mint a new one.
    SessionExpired,
    /// Authenticated, but this credential may not do this (see the permission table).
    Forbidden,
    /// The workspace is suspended by the operator.
    WorkspaceSuspended,
    /// Unknown id, or another workspace's id (indistinguishable on purpose).
    NotFound,
    InsufficientCredits,
    /// A spending cap would be passed; `cap` says which, what is left and when it resets.
    CapExceeded,
    /// A streaming hold may not grow past what the user confirmed.
    BeyondConfirmedMaximum,
    QuoteExpired,
    HoldNotActive,
    CaptureExceedsHold,
    /// A capture of a ranged quote must say what the operation used.
    AmountRequired,
    IdempotencyConflict,
    PayloadTooLarge,
    /// Too many requests from this credential or workspace; retry after `Retry-After`.
    RateLimited,
    /// This server takes no payments (no provider configured).
    PaymentsNotConfigured,
    /// The payment provider refused or could not be reached; nothing was bought.
    PaymentProviderError,
    Internal,
    /// A code this build does not know (a newer server); treat as a failure.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::InvalidRequest,
        ErrorCode::UnknownAction,
        ErrorCode::UnknownParam,
        ErrorCode::MissingParam,
        ErrorCode::InvalidParam,
        ErrorCode::Overflow,
        ErrorCode::InvalidCard,
        ErrorCode::Unauthorized,
        ErrorCode::SessionExpired,
        ErrorCode::Forbidden,
        ErrorCode::WorkspaceSuspended,
        ErrorCode::NotFound,
        ErrorCode::InsufficientCredits,
        ErrorCode::CapExceeded,
        ErrorCode::BeyondConfirmedMaximum,
        ErrorCode::QuoteExpired,
        ErrorCode::HoldNotActive,
        ErrorCode::CaptureExceedsHold,
        ErrorCode::AmountRequired,
        ErrorCode::IdempotencyConflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::PaymentsNotConfigured,
        ErrorCode::PaymentProviderError,
        ErrorCode::Internal,
        ErrorCode::Unknown,
    ];

    /// The wire name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::UnknownParam => "unknown_param",
            ErrorCode::MissingParam => "missing_param",
            ErrorCode::InvalidParam => "invalid_param",
            ErrorCode::Overflow => "overflow",
            ErrorCode::InvalidCard => "invalid_card",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::WorkspaceSuspended => "workspace_suspended",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InsufficientCredits => "insufficient_credits",
            ErrorCode::CapExceeded => "cap_exceeded",
            ErrorCode::BeyondConfirmedMaximum => "beyond_confirmed_maximum",
            ErrorCode::QuoteExpired => "quote_expired",
            ErrorCode::HoldNotActive => "hold_not_active",
            ErrorCode::CaptureExceedsHold => "capture_exceeds_hold",
            ErrorCode::AmountRequired => "amount_required",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PaymentsNotConfigured => "payments_not_configured",
            ErrorCode::PaymentProviderError => "payment_provider_error",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The code named `name`; a name this build does not know is [`ErrorCode::Unknown`]
    /// (as serde's `#[serde(other)]` reads it).
    pub fn parse(name: &str) -> ErrorCode {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .unwrap_or(ErrorCode::Unknown)
    }

    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            // The request's shape: what the OpenAPI document describes.
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized | ErrorCode::SessionExpired => 401,
            ErrorCode::InsufficientCredits | ErrorCode::CapExceeded => 402,
            ErrorCode::Forbidden | ErrorCode::WorkspaceSuspended => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::HoldNotActive
            | ErrorCode::IdempotencyConflict
            | ErrorCode::BeyondConfirmedMaximum => 409,
            ErrorCode::QuoteExpired => 410,
            ErrorCode::PayloadTooLarge => 413,
            // Well-formed, and refused by a rule of the card or the account: an action
            // the card does not have, a plan it does not sell, a payout under the minimum.
            ErrorCode::UnknownAction
            | ErrorCode::UnknownParam
            | ErrorCode::MissingParam
            | ErrorCode::InvalidParam
            | ErrorCode::Overflow
            | ErrorCode::InvalidCard
            | ErrorCode::CaptureExceedsHold
            | ErrorCode::AmountRequired => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::PaymentsNotConfigured => 501,
            ErrorCode::PaymentProviderError => 502,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
        }
    }
}

impl From<creditkit_pricing::EstimateErrorKind> for ErrorCode {
    fn from(kind: creditkit_pricing::EstimateErrorKind) -> ErrorCode {
        use creditkit_pricing::EstimateErrorKind as K;
        match kind {
            K::UnknownAction => ErrorCode::UnknownAction,
            K::UnknownParam => ErrorCode::UnknownParam,
            K::MissingParam => ErrorCode::MissingParam,
            K::InvalidParam => ErrorCode::InvalidParam,
            K::Overflow => ErrorCode::Overflow,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

/// Every error body: a stable machine code, a sentence for people, and details where
/// they help the caller fix things.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, creditkit_pricing::FromJson)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Where in the request the problem is (`request.items[1].action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For `insufficient_credits`: what is missing and what covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<Shortfall>,
    /// For `cap_exceeded`: the cap, what is left of it and when it resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<crate::Cap>,
    /// For `rate_limited`: when to try again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            path: None,
            shortfall: None,
            cap: None,
            retry_after_ms: None,
        }
    }

    pub fn at(mut self, path: impl Into<String>) -> ApiError {
        self.path = Some(path.into());
        self
    }
}

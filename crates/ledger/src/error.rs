use creditkit_api::{codes, ApiError, Shortfall};
use creditkit_pricing::{CardError, EstimateError};

/// Why a ledger call did not happen. Every variant but `Storage` and `Corrupt` is the
/// caller's to fix, and none of them changed anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("missing or unknown credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// Unknown id, or an id of another workspace (indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Invalid {
        path: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Estimate(EstimateError),
    #[error("{0}")]
    Card(CardError),
    #[error("insufficient credits: {} available, {} required, {} short",
        fmt_mc(.0.balance_millicredits), fmt_mc(.0.required_millicredits), fmt_mc(.0.shortfall_millicredits))]
    Insufficient(Box<Shortfall>),
    #[error("quote `{0}` has expired; ask for a new quote")]
    QuoteExpired(String),
    #[error("hold `{id}` is {status}, not active")]
    HoldNotActive { id: String, status: String },
    #[error("capture of {} credits exceeds the {} credits held", fmt_mc(*.amount), fmt_mc(*.held))]
    CaptureExceedsHold { amount: u64, held: u64 },
    #[error("idempotency key `{0}` was already used with a different request")]
    IdempotencyConflict(String),
    /// A stored refusal replayed for a retried idempotency key.
    #[error("{}", .0.message)]
    Replayed(Box<ApiError>),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("ledger invariant broken: {0}")]
    Corrupt(String),
}

pub(crate) fn fmt_mc(m: u64) -> String {
    creditkit_pricing::Millicredits(m).to_string()
}

impl LedgerError {
    pub(crate) fn invalid(message: impl Into<String>) -> LedgerError {
        LedgerError::Invalid {
            path: None,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Config(_) | LedgerError::Storage(_) | LedgerError::Corrupt(_) => {
                codes::INTERNAL
            }
            LedgerError::Unauthorized => codes::UNAUTHORIZED,
            LedgerError::Forbidden(_) => codes::FORBIDDEN,
            LedgerError::NotFound(_) => codes::NOT_FOUND,
            LedgerError::Invalid { .. } | LedgerError::Estimate(_) => codes::INVALID_REQUEST,
            LedgerError::Card(_) => codes::INVALID_CARD,
            LedgerError::Insufficient(_) => codes::INSUFFICIENT_CREDITS,
            LedgerError::QuoteExpired(_) => codes::QUOTE_EXPIRED,
            LedgerError::HoldNotActive { .. } => codes::HOLD_NOT_ACTIVE,
            LedgerError::CaptureExceedsHold { .. } => codes::CAPTURE_EXCEEDS_HOLD,
            LedgerError::IdempotencyConflict(_) => codes::IDEMPOTENCY_CONFLICT,
            LedgerError::Replayed(e) => match e.code.as_str() {
                codes::INSUFFICIENT_CREDITS => codes::INSUFFICIENT_CREDITS,
                _ => codes::INVALID_REQUEST,
            },
        }
    }

    /// The body a client sees. Internal causes are not leaked: the server logs them.
    pub fn to_api(&self) -> ApiError {
        let internal = matches!(
            self,
            LedgerError::Config(_) | LedgerError::Storage(_) | LedgerError::Corrupt(_)
        );
        if let LedgerError::Replayed(e) = self {
            return (**e).clone();
        }
        ApiError {
            code: self.code().to_string(),
            message: if internal {
                "internal error; it has been logged".to_string()
            } else {
                self.to_string()
            },
            path: match self {
                LedgerError::Invalid { path, .. } => path.clone(),
                LedgerError::Estimate(e) if !e.path.is_empty() => {
                    Some(format!("request.{}", e.path))
                }
                _ => None,
            },
            shortfall: match self {
                LedgerError::Insufficient(s) => Some((**s).clone()),
                _ => None,
            },
        }
    }
}

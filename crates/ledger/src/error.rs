use creditkit_api::{ApiError, ErrorCode, Shortfall};
use creditkit_pricing::{CardError, EstimateError};

/// Why a ledger call did not happen. Every variant but `Storage`, `Config` and `Corrupt`
/// is the caller's to fix, and none of them changed anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("configuration: {0}")]
    Config(String),
    /// Unknown, revoked or tampered credentials (the reason is safe to tell).
    #[error("{0}")]
    Unauthorized(String),
    #[error("this session expired; ask the application for a new one")]
    SessionExpired,
    #[error("{0}")]
    Forbidden(String),
    #[error("this workspace is suspended")]
    Suspended,
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
    #[error("this would pass the {} cap: {} credits are left until it resets on {}", cap_name(.0), fmt_mc(.0.left_millicredits), crate::time::utc_text(.0.resets_at_ms))]
    CapExceeded(Box<creditkit_api::Cap>),
    #[error("{0}")]
    BeyondConfirmedMaximum(String),
    #[error("quote `{0}` has expired; ask for a new quote")]
    QuoteExpired(String),
    #[error("hold `{id}` is {status}, not active")]
    HoldNotActive { id: String, status: String },
    #[error("capture of {} credits exceeds the {} credits held", fmt_mc(*.amount), fmt_mc(*.held))]
    CaptureExceedsHold { amount: u64, held: u64 },
    #[error("{0}")]
    AmountRequired(String),
    #[error("idempotency key `{0}` was already used with a different request")]
    IdempotencyConflict(String),
    /// A stored answer replayed for a retried idempotency key.
    #[error("{}", .0.message)]
    Replayed(Box<ApiError>),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// The write batch this write was in could not be committed: nothing of it is stored.
    #[error("storage: {0}")]
    Unavailable(String),
    #[error("ledger invariant broken: {0}")]
    Corrupt(String),
}

fn cap_name(c: &creditkit_api::Cap) -> String {
    let period = match c.period {
        creditkit_api::CapPeriod::Day => "daily",
        creditkit_api::CapPeriod::Week => "weekly",
        creditkit_api::CapPeriod::Month => "monthly",
        creditkit_api::CapPeriod::Cycle => "billing-cycle",
    };
    match (c.scope, &c.subject) {
        (creditkit_api::CapScope::Member, Some(m)) => format!("{period} member ({m})"),
        (creditkit_api::CapScope::Project, Some(p)) => format!("{period} project `{p}`"),
        _ => format!("{period} wallet"),
    }
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

    pub(crate) fn invalid_at(path: &str, message: impl Into<String>) -> LedgerError {
        LedgerError::Invalid {
            path: Some(path.to_string()),
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            LedgerError::Config(_)
            | LedgerError::Storage(_)
            | LedgerError::Unavailable(_)
            | LedgerError::Corrupt(_) => ErrorCode::Internal,
            LedgerError::Unauthorized(_) => ErrorCode::Unauthorized,
            LedgerError::SessionExpired => ErrorCode::SessionExpired,
            LedgerError::Forbidden(_) => ErrorCode::Forbidden,
            LedgerError::Suspended => ErrorCode::WorkspaceSuspended,
            LedgerError::NotFound(_) => ErrorCode::NotFound,
            LedgerError::Invalid { .. } => ErrorCode::InvalidParam,
            LedgerError::Estimate(e) => e.kind.into(),
            LedgerError::Card(_) => ErrorCode::InvalidCard,
            LedgerError::Insufficient(_) => ErrorCode::InsufficientCredits,
            LedgerError::CapExceeded(_) => ErrorCode::CapExceeded,
            LedgerError::BeyondConfirmedMaximum(_) => ErrorCode::BeyondConfirmedMaximum,
            LedgerError::QuoteExpired(_) => ErrorCode::QuoteExpired,
            LedgerError::HoldNotActive { .. } => ErrorCode::HoldNotActive,
            LedgerError::CaptureExceedsHold { .. } => ErrorCode::CaptureExceedsHold,
            LedgerError::AmountRequired(_) => ErrorCode::AmountRequired,
            LedgerError::IdempotencyConflict(_) => ErrorCode::IdempotencyConflict,
            LedgerError::Replayed(e) => e.code,
        }
    }

    /// True when the cause is ours (storage, configuration, a broken invariant): logged,
    /// never shown.
    pub fn is_internal(&self) -> bool {
        self.code() == ErrorCode::Internal
    }

    /// The body a client sees. Internal causes are not leaked: the server logs them.
    pub fn to_api(&self) -> ApiError {
        if let LedgerError::Replayed(e) = self {
            return (**e).clone();
        }
        let mut e = ApiError::new(
            self.code(),
            if self.is_internal() {
                "internal error; it has been logged".to_string()
            } else {
                self.to_string()
            },
        );
        e.path = match self {
            LedgerError::Invalid { path, .. } => path.clone(),
            LedgerError::Estimate(e) if !e.path.is_empty() => Some(format!("request.{}", e.path)),
            _ => None,
        };
        if let LedgerError::Insufficient(s) = self {
            e.shortfall = Some((**s).clone());
        }
        if let LedgerError::CapExceeded(c) = self {
            e.cap = Some((**c).clone());
        }
        e
    }
}

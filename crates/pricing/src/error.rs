//! Why a request could not be priced: one error for the request's reader
//! (`request.rs`), the text counter (`text.rs`) and the engine (`estimate.rs`).

use serde::{Deserialize, Serialize};

/// Why a request could not be priced. Never a panic, never a silent zero.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[error("{}", if .path.is_empty() { .message.clone() } else { format!("{}: {}", .path, .message) })]
pub struct EstimateError {
    pub kind: EstimateErrorKind,
    /// Where in the request, e.g. `items[2].params.resolution`.
    pub path: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EstimateErrorKind {
    /// The request itself is malformed (bad JSON, wrong types, zero quantity).
    InvalidRequest,
    UnknownAction,
    UnknownParam,
    MissingParam,
    /// A parameter is present but not acceptable (unknown choice, out of bounds).
    InvalidParam,
    /// The total does not fit in 64 bits of milli-credits.
    Overflow,
}

impl EstimateErrorKind {
    /// Stable machine-readable code for APIs.
    pub fn code(self) -> &'static str {
        match self {
            EstimateErrorKind::InvalidRequest => "invalid_request",
            EstimateErrorKind::UnknownAction => "unknown_action",
            EstimateErrorKind::UnknownParam => "unknown_param",
            EstimateErrorKind::MissingParam => "missing_param",
            EstimateErrorKind::InvalidParam => "invalid_param",
            EstimateErrorKind::Overflow => "overflow",
        }
    }
}

impl EstimateError {
    pub(crate) fn new(
        kind: EstimateErrorKind,
        path: &str,
        message: impl Into<String>,
    ) -> EstimateError {
        EstimateError {
            kind,
            path: path.to_string(),
            message: message.into(),
        }
    }
}

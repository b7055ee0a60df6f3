//! What the extractors and the answers that are not a JSON wire type add to an
//! operation.

use aide::generate::GenContext;
use aide::openapi::Operation;
use aide::operation::{OperationInput, OperationOutput};
use axum::Json;
use creditkit_api::{ApiError, ErrorCode};
use serde_json::{json, Value};

use super::{add_errors, AUTH, AUTH_ERRORS, IDEMPOTENT, OPTIONAL_BODY};
use crate::extract::{
    AppError, Auth, Body, EventsAuth, Key, MaybeBody, OperatorAuth, Query, Token,
};

impl OperationInput for Auth {
    fn operation_input(_: &mut GenContext, op: &mut Operation) {
        op.extensions.insert(AUTH.into(), json!("bearer"));
        add_errors(op, AUTH_ERRORS);
    }
}

impl OperationInput for EventsAuth {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        Auth::operation_input(ctx, op);
        op.extensions.insert(AUTH.into(), json!("bearer_or_query"));
    }
}

impl OperationInput for Token {}

impl OperationInput for OperatorAuth {
    fn operation_input(_: &mut GenContext, op: &mut Operation) {
        op.extensions.insert(AUTH.into(), json!("operator"));
        add_errors(op, AUTH_ERRORS);
    }
}

impl OperationInput for Key {
    fn operation_input(_: &mut GenContext, op: &mut Operation) {
        op.extensions.insert(IDEMPOTENT.into(), json!(true));
        add_errors(
            op,
            &[
                ErrorCode::InvalidRequest,
                ErrorCode::InvalidParam,
                ErrorCode::IdempotencyConflict,
            ],
        );
    }
}

impl<T: schemars::JsonSchema> OperationInput for Body<T> {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        Json::<T>::operation_input(ctx, op);
        add_errors(
            op,
            &[
                ErrorCode::InvalidRequest,
                ErrorCode::InvalidParam,
                ErrorCode::PayloadTooLarge,
            ],
        );
    }
}

impl<T: schemars::JsonSchema> OperationInput for MaybeBody<T> {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        Body::<T>::operation_input(ctx, op);
        op.extensions.insert(OPTIONAL_BODY.into(), json!(true));
    }
}

/// Its responses are the codes listed by the extractors and [`doc`], turned into
/// responses by [`finish`].
impl OperationOutput for AppError {
    type Inner = ApiError;

    fn inferred_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, aide::openapi::Response)> {
        ctx.schema.subschema_for::<ApiError>();
        Vec::new()
    }
}

/// A response of `text/event-stream` (the balance events), documented as such.
pub(crate) struct EventStream<T>(pub T);

impl<T: axum::response::IntoResponse> axum::response::IntoResponse for EventStream<T> {
    fn into_response(self) -> axum::response::Response {
        self.0.into_response()
    }
}

impl<T> OperationOutput for EventStream<T> {
    type Inner = ();

    fn operation_response(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Option<aide::openapi::Response> {
        Some(aide::openapi::Response {
            description: "a stream of `balance` events (each a Balance as JSON), and `end` (an ApiError) when the credential ends".into(),
            content: [(
                "text/event-stream".to_string(),
                aide::openapi::MediaType::default(),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        })
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        op: &mut Operation,
    ) -> Vec<(Option<u16>, aide::openapi::Response)> {
        Self::operation_response(ctx, op)
            .map(|r| (Some(200), r))
            .into_iter()
            .collect()
    }
}

/// Answers that are not a JSON wire type, each documented by its own kind.
macro_rules! documented {
    ($(#[$doc:meta])* $name:ident: $($status:literal $mime:literal $schema:tt $desc:literal),+) => {
        $(#[$doc])*
        pub(crate) struct $name(pub axum::response::Response);

        impl axum::response::IntoResponse for $name {
            fn into_response(self) -> axum::response::Response {
                self.0
            }
        }

        impl OperationOutput for $name {
            type Inner = ();

            fn inferred_responses(
                _: &mut GenContext,
                _: &mut Operation,
            ) -> Vec<(Option<u16>, aide::openapi::Response)> {
                vec![$((Some($status), response($mime, json!($schema), $desc))),+]
            }
        }
    };
}

fn response(mime: &str, schema: Value, description: &str) -> aide::openapi::Response {
    let media = aide::openapi::MediaType {
        schema: Some(aide::openapi::SchemaObject {
            json_schema: schemars::Schema::try_from(schema).unwrap_or_default(),
            example: None,
            external_docs: None,
        }),
        ..Default::default()
    };
    aide::openapi::Response {
        description: description.into(),
        content: [(mime.to_string(), media)].into_iter().collect(),
        ..Default::default()
    }
}

documented!(
    /// `/healthz`: a line of text.
    Health: 200 "text/plain" { "type": "string" } "ok", 503 "text/plain" { "type": "string" } "the database cannot be reached"
);
documented!(
    /// `/metrics`: Prometheus' text format.
    Metrics: 200 "text/plain" { "type": "string" } "Prometheus text exposition format"
);
documented!(
    /// `GET /v1/card`: the card as uploaded.
    CardJson: 200 "application/json" { "$ref": "#/components/schemas/RateCard" } "the rate card that prices this wallet"
);
documented!(
    /// A tokenizer's rank data, immutable (`ETag`: its SHA-256).
    RankData: 200 "application/octet-stream" { "type": "string", "contentEncoding": "binary" } "the rank data", 304 "application/octet-stream" { "type": "string" } "not modified (If-None-Match matched the ETag)"
);
documented!(
    /// The payment provider's webhook, acknowledged.
    Acknowledged: 200 "application/json" { "type": "object" } "the event was applied (or was already)"
);

impl<T: schemars::JsonSchema> aide::operation::OperationInput for Query<T> {
    fn operation_input(ctx: &mut aide::generate::GenContext, op: &mut aide::openapi::Operation) {
        axum::extract::Query::<T>::operation_input(ctx, op);
        super::add_errors(op, &[ErrorCode::InvalidRequest, ErrorCode::InvalidParam]);
    }
}

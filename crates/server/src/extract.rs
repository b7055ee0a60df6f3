//! Errors as JSON, and the extractors every handler uses: a JSON body with reasons,
//! the caller (`Auth` for `/v1`, `OperatorAuth` for `/admin/v1`), the idempotency key.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use creditkit_api::{ApiError, ErrorCode};
use creditkit_ledger::{LedgerError, Principal};

use crate::limit::Refusal;
use crate::{AppState, MAX_BODY_BYTES};

/// An error response: status from the code, body [`ApiError`], `Retry-After` when
/// rate limited.
#[derive(Debug)]
pub struct AppError(pub Box<ApiError>);

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        AppError(Box::new(e))
    }
}

impl From<LedgerError> for AppError {
    fn from(e: LedgerError) -> Self {
        if e.is_internal() {
            // The cause goes to the log (with the request's id from its span), never out.
            tracing::error!(error = %e, "internal error");
        }
        AppError::from(e.to_api())
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        let mut e = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many requests from this {}; retry in {} ms",
                r.scope, r.retry_after_ms
            ),
        );
        e.retry_after_ms = Some(r.retry_after_ms);
        AppError::from(e)
    }
}

pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> AppError {
    AppError::from(ApiError::new(code, message))
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let retry = self.0.retry_after_ms;
        let mut r = (status_of(self.0.code), Json(*self.0)).into_response();
        if let Some(ms) = retry {
            let secs = ms.div_ceil(1000).max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}

pub(crate) type ApiResult<T> = Result<Json<T>, AppError>;

/// A JSON body whose rejections are JSON errors with a reason, not plain text.
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + serde::Serialize> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .is_some_and(|m| m.eq_ignore_ascii_case("application/json") || m.ends_with("+json"));
        if !json {
            return Err(error(
                ErrorCode::InvalidRequest,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = body_bytes(req, state).await?;
        object(&bytes)?;
        let read = Json::<T>::from_bytes(&bytes).or_else(|e| match e {
            JsonRejection::JsonDataError(_) => integral(&bytes).map(Json).ok_or(e),
            e => Err(e),
        });
        match read {
            Ok(Json(v)) => no_nul(&bytes, &v).map(|()| Body(v)),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(error(
                ErrorCode::InvalidRequest,
                format!("malformed JSON: {}", e.body_text()),
            )),
            Err(e) => Err(error(ErrorCode::InvalidRequest, e.body_text())),
        }
    }
}

/// The body's bytes, a too-large body refused as such.
async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<axum::body::Bytes, AppError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                error(
                    ErrorCode::PayloadTooLarge,
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                error(ErrorCode::InvalidRequest, e.body_text())
            }
        })
}

/// The body read again with each whole number written as a float (`618.0`, which
/// JSON Schema counts as an integer) turned into that integer; `None` when that does
/// not make it fit either (the first error is the one reported).
fn integral<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                    if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                        *v = serde_json::Value::from(f as u64);
                    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                        *v = serde_json::Value::from(f as i64);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&mut value);
    serde_json::from_value(value).ok()
}

/// No text the server keeps holds the NUL character (`\u0000`): PostgreSQL cannot store
/// it, and no name, reason or id needs it. Refused at the door, the same on every store;
/// fields the server ignores may hold anything. The body is scanned first, so a body
/// without the escape costs nothing more.
pub(crate) fn no_nul<T: serde::Serialize>(bytes: &[u8], read: &T) -> Result<(), AppError> {
    let escaped = |i: usize| bytes[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0;
    let maybe = bytes
        .windows(6)
        .enumerate()
        .any(|(i, w)| w.eq_ignore_ascii_case(b"\\u0000") && escaped(i));
    if !maybe {
        return Ok(());
    }
    fn holds(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(holds),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds(v)),
            _ => false,
        }
    }
    if serde_json::to_value(read).is_ok_and(|v| holds(&v)) {
        // Well-formed JSON (the document allows any text): a rule of this server, 422.
        return Err(error(
            ErrorCode::InvalidParam,
            "text may not contain the NUL character (\\u0000)",
        ));
    }
    Ok(())
}

/// Every body is a JSON object: serde would also read a struct from an array of its
/// fields in order, which no client means to send.
fn object(bytes: &[u8]) -> Result<(), AppError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err(error(
            ErrorCode::InvalidRequest,
            "the body must be a JSON object",
        )),
    }
}

/// A JSON body that may be left out: absent or blank means the defaults.
pub(crate) struct MaybeBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + serde::Serialize + Default> FromRequest<S>
    for MaybeBody<T>
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeBody(T::default()));
        }
        object(&bytes)?;
        let v: T = serde_json::from_slice(&bytes)
            .or_else(|e| integral(&bytes).ok_or(e))
            .map_err(|e| error(ErrorCode::InvalidRequest, format!("malformed JSON: {e}")))?;
        no_nul(&bytes, &v)?;
        Ok(MaybeBody(v))
    }
}

/// `Authorization: Bearer <secret>`, or `?access_token=` for EventSource (which cannot
/// set headers): only where `query_ok` (the event stream, [`EventsAuth`]) and only for a
/// session, since a URL ends up in logs and histories (an API key never goes there).
fn bearer(parts: &Parts, query_ok: bool) -> Result<Option<String>, AppError> {
    let header_token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    if header_token.is_some() {
        return Ok(header_token);
    }
    let Some(token) = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("access_token=")))
    else {
        return Ok(None);
    };
    if query_ok && token.starts_with(creditkit_ledger::SESSION_PREFIX) {
        return Ok(Some(token.to_string()));
    }
    Err(error(
        ErrorCode::Unauthorized,
        "`access_token` in the URL is taken only by GET /v1/events and only for a browser session (EventSource cannot send headers); send `Authorization: Bearer <token>`",
    ))
}

/// The client's address (the connection's; empty where the server was started without
/// it, as in tests: one bucket for all).
fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// A credential that does not hold counts against its client's failures.
fn count_failure(state: &AppState, client: &str, e: &LedgerError) {
    if matches!(
        e,
        LedgerError::Unauthorized(_) | LedgerError::SessionExpired
    ) {
        state.limits.failed(client);
    }
}

/// The caller on `/v1`: a workspace API key or a browser session. Browser sessions are
/// rate-limited per session (before the database is asked) and per workspace.
pub(crate) struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, false).await.map(Auth)
    }
}

/// The caller of `GET /v1/events`: as [`Auth`], and a session may also name itself in
/// the URL (`?access_token=`), which EventSource needs.
pub(crate) struct EventsAuth(pub Principal);

impl FromRequestParts<AppState> for EventsAuth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, true).await.map(EventsAuth)
    }
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
    query_ok: bool,
) -> Result<Principal, AppError> {
    let token = bearer(parts, query_ok)?.ok_or_else(|| {
        error(
            ErrorCode::Unauthorized,
            "send `Authorization: Bearer <API key or session token>`",
        )
    })?;
    if token.starts_with(creditkit_ledger::SESSION_PREFIX) {
        state.limits.check_credential(&token)?;
    }
    let client = client_address(parts);
    state.limits.check_not_guessing(&client)?;
    let p = state
        .ledger
        .authenticate(&token)
        .await
        .inspect_err(|e| count_failure(state, &client, e))?;
    if p.actor.is_browser() {
        state.limits.check_workspace(&p.workspace_id)?;
    }
    Ok(p)
}

/// The credential a request was made with, as sent (after [`Auth`] accepted it): a
/// long-lived response (the event stream) asks again whether it still holds.
pub(crate) struct Token(pub String);

impl FromRequestParts<AppState> for Token {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        bearer(parts, true)?.map(Token).ok_or_else(|| {
            error(
                ErrorCode::Unauthorized,
                "send `Authorization: Bearer <token>`",
            )
        })
    }
}

/// The operator on `/admin/v1`.
pub(crate) struct OperatorAuth;

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts, false)?.ok_or_else(|| {
            error(
                ErrorCode::Unauthorized,
                "send `Authorization: Bearer <operator key>`",
            )
        })?;
        let client = client_address(parts);
        state.limits.check_not_guessing(&client)?;
        if !token.starts_with(creditkit_ledger::OPERATOR_KEY_PREFIX) {
            // A real credential of the wrong kind is a 403; garbage stays a 401.
            if state.ledger.authenticate(&token).await.is_ok() {
                return Err(error(
                    ErrorCode::Forbidden,
                    "the admin API takes the operator key, not a workspace key or session",
                ));
            }
        }
        state
            .ledger
            .authenticate_operator(&token)
            .await
            .inspect_err(|e| count_failure(state, &client, e))?;
        Ok(OperatorAuth)
    }
}

/// The `Idempotency-Key` header every call that moves credits needs.
pub(crate) struct Key(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Key {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if key.is_empty() {
            return Err(AppError::from(
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    "this call changes credits: send an `Idempotency-Key` header, and the same one when you retry",
                )
                .at("Idempotency-Key"),
            ));
        }
        Ok(Key(key.to_string()))
    }
}

/// Query parameters whose rejections are JSON errors with a reason, as a body's are.
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| error(ErrorCode::InvalidRequest, e.body_text()))
    }
}

/// The same for the URL, before routing: no id holds a NUL, so a path with `%00` names
/// nothing (404); a query parameter with one is a value refused (422).
pub(crate) async fn refuse_nul(req: Request, next: axum::middleware::Next) -> Response {
    let nul = |text: &str| {
        text.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    if nul(req.uri().path()) {
        return error(
            ErrorCode::NotFound,
            "nothing here has a NUL character (%00) in its id",
        )
        .into_response();
    }
    if req.uri().query().is_some_and(nul) {
        return error(
            ErrorCode::InvalidParam,
            "a query parameter may not contain the NUL character (%00)",
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::integral;

    /// A whole number written as a float reads as the integer, beside unknown fields of
    /// any kind (what Schemathesis sent).
    #[test]
    fn whole_floats_read_as_integers() {
        let body = br#"{"\ud903\udcad'2": [-10384356], "x": {"y": false, "z": -2.35012346474296e+177}, "low_threshold_millicredits": 2318.0, "critical_threshold_millicredits": 2251799813685247.0}"#;
        let t: Option<creditkit_api::Thresholds> = integral(body);
        let t = t.expect("read");
        assert_eq!(
            (
                t.low_threshold_millicredits,
                t.critical_threshold_millicredits
            ),
            (2318, 2_251_799_813_685_247)
        );
    }
}

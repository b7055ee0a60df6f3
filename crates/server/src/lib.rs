//! `creditkit-server`: the `/v1` JSON API over the ledger.
//!
//! Thin by design: each handler authenticates, extracts, calls one [`Ledger`] method
//! and maps its result. Errors are JSON `{code, message, path?, shortfall?}` with a
//! stable code; internal causes go to the log, never to the client.

pub mod demo;
mod openapi;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State,
};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use creditkit_api::{
    codes, ApiError, CaptureRequest, HoldRequest, NewMember, PlanRequest, QuoteRequest,
    TopUpRequest, TransactionKind, UsageGroup,
};
use creditkit_ledger::{Ledger, LedgerError, Principal};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Largest request body accepted (a rate card is the biggest thing anyone sends).
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct AppState {
    pub ledger: Arc<Ledger>,
    metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(ledger: Arc<Ledger>) -> AppState {
        AppState {
            ledger,
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// Server options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Origins allowed to call the API from a browser (`*` for any).
    pub cors_origins: Vec<String>,
    /// A directory of static files (the demo page) served at `/`.
    pub static_dir: Option<std::path::PathBuf>,
}

/// The whole HTTP surface.
pub fn router(state: AppState, options: &Options) -> Router {
    let v1 = Router::new()
        .route("/card", get(get_card).put(put_card))
        .route("/packs", get(get_packs))
        .route("/quotes", post(post_quote))
        .route("/holds", post(post_hold))
        .route("/holds/{id}", get(get_hold))
        .route("/holds/{id}/capture", post(post_capture))
        .route("/holds/{id}/release", post(post_release))
        .route("/holds/{id}/refund", post(post_refund))
        .route("/wallets", post(post_wallet))
        .route("/agents/{id}/payee", axum::routing::put(put_payee))
        .route("/earnings", get(get_earnings))
        .route("/payouts", post(post_payout))
        .route("/balance", get(get_balance))
        .route("/topups", post(post_topup))
        .route("/plan", post(post_plan))
        .route("/usage", get(get_usage))
        .route("/transactions", get(get_transactions))
        .route("/members", get(get_members).post(post_member))
        .route("/events", get(get_events))
        .route("/tokenizers/{name}", get(get_tokenizer))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }));
    let mut app = Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .layer(middleware::from_fn(run_to_completion))
        .with_state(state);
    if let Some(dir) = &options.static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    if !options.cors_origins.is_empty() {
        let origins = if options.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                options
                    .cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::PUT])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::HeaderName::from_static("idempotency-key"),
                ]),
        );
    }
    app
}

/// Releases timed-out holds and expires grants in the background.
pub fn spawn_sweeper(ledger: Arc<Ledger>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = ledger.sweep().await {
                eprintln!("creditkit: sweep failed: {e}");
            }
        }
    })
}

// ------------------------------------------------------------------- errors

/// An error response: status from the stable code, body [`ApiError`].
pub struct AppError(ApiError);

impl From<LedgerError> for AppError {
    fn from(e: LedgerError) -> Self {
        if e.code() == codes::INTERNAL {
            eprintln!("creditkit: internal error: {e}");
        }
        AppError(e.to_api())
    }
}

fn error(code: &str, message: impl Into<String>) -> AppError {
    AppError(ApiError {
        code: code.to_string(),
        message: message.into(),
        path: None,
        shortfall: None,
    })
}

pub fn status_of(code: &str) -> StatusCode {
    match code {
        codes::UNAUTHORIZED => StatusCode::UNAUTHORIZED,
        codes::FORBIDDEN => StatusCode::FORBIDDEN,
        codes::NOT_FOUND => StatusCode::NOT_FOUND,
        codes::INSUFFICIENT_CREDITS => StatusCode::PAYMENT_REQUIRED,
        codes::QUOTE_EXPIRED => StatusCode::GONE,
        codes::HOLD_NOT_ACTIVE | codes::IDEMPOTENCY_CONFLICT => StatusCode::CONFLICT,
        codes::CAPTURE_EXCEEDS_HOLD | codes::INVALID_CARD => StatusCode::UNPROCESSABLE_ENTITY,
        codes::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        codes::INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (status_of(&self.0.code), Json(self.0)).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, AppError>;

/// Runs each request on its own task, so a client that goes away mid-request (a page
/// navigated away, a timeout) cannot cancel a ledger write half way: sqlx connections are
/// not cancel-safe, and SQLite has a single one. The write completes or rolls back, its
/// connection returns to the pool, and an idempotent retry gets the recorded answer.
async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("creditkit: request task failed: {e}");
            error(codes::INTERNAL, "the request failed on the server").into_response()
        }
    }
}

/// An encoding's rank asset, for browsers to count tokens exactly as this server does.
/// Public (the data is tiktoken's), immutable (named by content hash in the `ETag`;
/// the widget checks it against the SHA-256 compiled into it), gzip when accepted.
async fn get_tokenizer(Path(name): Path<String>, headers: axum::http::HeaderMap) -> Response {
    use creditkit_tokens::{Bpe, Encoding};
    use std::sync::OnceLock;
    let Some(encoding) = Encoding::from_name(name.trim_end_matches(".cktk")) else {
        return error(
            codes::NOT_FOUND,
            format!(
                "no tokenizer `{name}` (known: {})",
                Encoding::ALL.map(|e| e.name()).join(", ")
            ),
        )
        .into_response();
    };
    let raw = Bpe::asset_bytes(encoding);
    let etag = format!("\"{}\"", encoding.asset().sha256);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = if gzip {
        static GZ: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
        let body = GZ[encoding as usize].get_or_init(|| {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let _ = z.write_all(raw);
            z.finish().unwrap_or_default()
        });
        let mut r = body.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        raw.to_vec().into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

async fn not_found() -> AppError {
    error(codes::NOT_FOUND, "no such endpoint; see /v1/openapi.json")
}

// ------------------------------------------------------------------- extractors

/// A JSON body whose rejections are JSON errors with a reason, not plain text.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(error(
                codes::INVALID_REQUEST,
                "send the body as JSON with Content-Type: application/json",
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(error(
                codes::INVALID_REQUEST,
                format!("malformed JSON: {}", e.body_text()),
            )),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(error(codes::INVALID_REQUEST, e.body_text()))
            }
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(error(
                    codes::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                ))
            }
            Err(e) => Err(error(codes::INVALID_REQUEST, e.body_text())),
        }
    }
}

/// The caller, from `Authorization: Bearer <key or session token>` (or
/// `?access_token=` for EventSource, which cannot set headers).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header_token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let query_token = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("access_token=").map(str::to_string))
        });
        let token = header_token.or(query_token).ok_or_else(|| {
            error(
                codes::UNAUTHORIZED,
                "send `Authorization: Bearer <API key or session token>`",
            )
        })?;
        Ok(Auth(state.ledger.authenticate(token.trim()).await?))
    }
}

/// The `Idempotency-Key` header every mutating call needs.
pub struct Key(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Key {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if key.is_empty() {
            return Err(AppError(ApiError {
                code: codes::INVALID_REQUEST.into(),
                message: "this call changes credits: send an `Idempotency-Key` header, and the same one when you retry".into(),
                path: Some("Idempotency-Key".into()),
                shortfall: None,
            }));
        }
        Ok(Key(key.to_string()))
    }
}

#[derive(Deserialize)]
struct WalletQuery {
    wallet_id: Option<String>,
}

// ------------------------------------------------------------------- handlers

async fn healthz(State(s): State<AppState>) -> Response {
    match s.ledger.workspace("ws_healthz_probe").await {
        Err(LedgerError::NotFound(_)) => (StatusCode::OK, "ok\n").into_response(),
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            eprintln!("creditkit: health check failed: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn get_card(State(s): State<AppState>, Auth(p): Auth) -> Result<Response, AppError> {
    let json = s.ledger.card_json(&p.workspace_id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

async fn put_card(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(card): Body<serde_json::Value>,
) -> ApiResult<creditkit_api::CardRef> {
    Ok(Json(s.ledger.set_card(&p, &card.to_string()).await?))
}

async fn get_packs(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Vec<creditkit_api::PackOffer>> {
    let card = s.ledger.card(&p.workspace_id).await?;
    Ok(Json(creditkit_pricing::pack_offers(&card)))
}

async fn post_quote(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<QuoteRequest>,
) -> ApiResult<creditkit_api::Quote> {
    Ok(Json(s.ledger.quote(&p, &req).await?))
}

async fn post_hold(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Body(req): Body<HoldRequest>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.hold(&p, &req, &k).await?))
}

async fn get_hold(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.get_hold(&p, &id).await?))
}

async fn post_capture(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
    Body(req): Body<CaptureRequest>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.capture(&p, &id, &req, &k).await?))
}

async fn post_release(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.release(&p, &id, &k).await?))
}

async fn post_refund(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.refund(&p, &id, &k).await?))
}

async fn post_wallet(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<creditkit_api::NewWallet>,
) -> ApiResult<creditkit_api::WalletCreated> {
    let wallet_id = s.ledger.create_wallet(&p, req.kind).await?;
    Ok(Json(creditkit_api::WalletCreated {
        wallet_id,
        kind: req.kind,
    }))
}

async fn put_payee(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(agent): Path<String>,
    Body(req): Body<creditkit_api::PayeeRequest>,
) -> Result<StatusCode, AppError> {
    s.ledger.set_payee(&p, &agent, &req.wallet_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_earnings(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Earnings> {
    Ok(Json(s.ledger.earnings(&p, q.wallet_id.as_deref()).await?))
}

async fn post_payout(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Query(q): Query<WalletQuery>,
    Body(req): Body<creditkit_api::PayoutRequest>,
) -> ApiResult<creditkit_api::Earnings> {
    Ok(Json(
        s.ledger
            .payout(&p, q.wallet_id.as_deref(), req.amount_millicredits, &k)
            .await?,
    ))
}

async fn get_balance(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(s.ledger.balance(&p, q.wallet_id.as_deref()).await?))
}

async fn post_topup(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Query(q): Query<WalletQuery>,
    Body(req): Body<TopUpRequest>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(
        s.ledger
            .top_up(&p, q.wallet_id.as_deref(), &req, &k)
            .await?,
    ))
}

async fn post_plan(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Query(q): Query<WalletQuery>,
    Body(req): Body<PlanRequest>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(
        s.ledger
            .change_plan(&p, q.wallet_id.as_deref(), &req.plan_id, &k)
            .await?,
    ))
}

#[derive(Deserialize)]
struct UsageQuery {
    wallet_id: Option<String>,
    group_by: Option<String>,
}

async fn get_usage(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<UsageQuery>,
) -> ApiResult<creditkit_api::Usage> {
    let group = match q.group_by.as_deref() {
        None => UsageGroup::Action,
        Some(g) => UsageGroup::parse(g).ok_or_else(|| {
            error(
                codes::INVALID_REQUEST,
                format!("group_by `{g}` is not one of action, project, member, month"),
            )
        })?,
    };
    Ok(Json(
        s.ledger.usage(&p, q.wallet_id.as_deref(), group).await?,
    ))
}

#[derive(Deserialize)]
struct TransactionsQuery {
    wallet_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn get_transactions(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<TransactionsQuery>,
) -> ApiResult<creditkit_api::Page<creditkit_api::Transaction>> {
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(TransactionKind::parse(k).ok_or_else(|| {
            let all: Vec<_> = TransactionKind::ALL.iter().map(|k| k.as_str()).collect();
            error(
                codes::INVALID_REQUEST,
                format!("type `{k}` is not one of {}", all.join(", ")),
            )
        })?),
    };
    let limit = match q.limit.as_deref() {
        None => None,
        Some(l) => Some(l.parse::<u32>().map_err(|_| {
            error(
                codes::INVALID_REQUEST,
                format!("limit `{l}` is not a whole number"),
            )
        })?),
    };
    Ok(Json(
        s.ledger
            .transactions(&p, q.wallet_id.as_deref(), kind, q.cursor.as_deref(), limit)
            .await?,
    ))
}

async fn get_members(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Vec<creditkit_api::Member>> {
    Ok(Json(s.ledger.members(&p).await?))
}

async fn post_member(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<NewMember>,
) -> ApiResult<creditkit_api::MemberCreated> {
    Ok(Json(s.ledger.add_member(&p, &req.name, req.role).await?))
}

/// Server-sent events: the wallet's balance now, then again after every change to it,
/// by anyone (on PostgreSQL, on any instance).
async fn get_events(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let first = s.ledger.balance(&p, q.wallet_id.as_deref()).await?;
    let wallet_id = first.wallet_id.clone();
    let rx = s.ledger.subscribe();
    let ledger = s.ledger.clone();
    let initial = stream::iter([Ok(balance_event(&first))]);
    let updates = stream::unfold(
        (rx, ledger, p, wallet_id),
        |(mut rx, ledger, p, wallet_id)| async move {
            loop {
                match rx.recv().await {
                    Ok(changed) if changed == wallet_id => {
                        let event = match ledger.balance(&p, Some(&wallet_id)).await {
                            Ok(b) => balance_event(&b),
                            Err(e) => Event::default().event("error").data(e.to_api().message),
                        };
                        return Some((Ok(event), (rx, ledger, p, wallet_id)));
                    }
                    Ok(_) => continue,
                    // Fell behind: send the current balance rather than every missed one.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok(b) = ledger.balance(&p, Some(&wallet_id)).await {
                            return Some((Ok(balance_event(&b)), (rx, ledger, p, wallet_id)));
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(futures_util::StreamExt::chain(initial, updates))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn balance_event(b: &creditkit_api::Balance) -> Event {
    let body = creditkit_api::BalanceEvent {
        wallet_id: b.wallet_id.clone(),
        balance: b.clone(),
    };
    Event::default()
        .event("balance")
        .data(serde_json::to_string(&body).unwrap_or_default())
}

// ------------------------------------------------------------------- metrics

/// (method, route, status).
type RouteKey = (String, String, u16);

#[derive(Default)]
struct Metrics {
    /// (method, route, status) → (count, total microseconds)
    requests: Mutex<BTreeMap<RouteKey, (u64, u64)>>,
}

async fn record(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let elapsed_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let mut m = s.metrics.requests.lock().expect("metrics lock");
    let e = m
        .entry((method, route, response.status().as_u16()))
        .or_insert((0, 0));
    e.0 += 1;
    e.1 = e.1.saturating_add(elapsed_us);
    response
}

async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::from(
        "# HELP creditkit_http_requests_total HTTP requests by method, route and status.\n# TYPE creditkit_http_requests_total counter\n",
    );
    let m = s.metrics.requests.lock().expect("metrics lock").clone();
    for ((method, route, status), (count, _)) in &m {
        out.push_str(&format!("creditkit_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}\n"));
    }
    out.push_str("# HELP creditkit_http_request_seconds_sum Time spent serving requests.\n# TYPE creditkit_http_request_seconds_sum counter\n");
    for ((method, route, status), (_, us)) in &m {
        let (secs, micros) = (us / 1_000_000, us % 1_000_000);
        out.push_str(&format!("creditkit_http_request_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {secs}.{micros:06}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

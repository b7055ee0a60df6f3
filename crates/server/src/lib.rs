//! `creditkit-server`: the HTTP API over the ledger.
//!
//! `/v1` is the workspace API (a workspace's secret API key from the operator's
//! backend, or a browser session the backend minted); `/admin/v1` the operator's
//! (the operator key). Thin by design: each handler authenticates, extracts, calls one
//! [`Ledger`] method — which checks the caller against the permission table — and maps
//! its result. Errors are JSON `{code, message, path?, shortfall?, retry_after_ms?}`
//! with a stable code; internal causes go to the log, never to the client. One log
//! line per request (`tracing`), with its id, status and latency.

#![recursion_limit = "512"]

mod admin;
mod assets;
mod deliveries;
pub mod demo;
mod extract;
pub mod limit;
mod openapi;
pub mod payments;
pub mod signing;
mod v1;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aide::axum::routing::get_with;
use aide::axum::ApiRouter;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use creditkit_api::ErrorCode;
use creditkit_ledger::{Ledger, LedgerError};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

pub use deliveries::spawn_delivery_worker;
pub use extract::{status_of, AppError};
pub use limit::{Rate, RateLimits, STREAMS_PER_SESSION, STREAMS_PER_WORKSPACE};
pub use openapi::{document as openapi_document, Face as OpenApiFace};
pub use payments::topups::spawn_topup_worker;

/// Largest request body accepted (a rate card is the biggest thing anyone sends).
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct AppState {
    pub ledger: Arc<Ledger>,
    metrics: Arc<Metrics>,
    limits: Arc<limit::Limits>,
    streams: Arc<limit::StreamSlots>,
    payments: Option<payments::Payments>,
    /// How often an open event stream asks whether its credential still holds.
    stream_recheck: std::time::Duration,
}

impl AppState {
    pub fn new(ledger: Arc<Ledger>) -> AppState {
        AppState::with_limits(ledger, RateLimits::default())
    }

    pub fn with_limits(ledger: Arc<Ledger>, limits: RateLimits) -> AppState {
        AppState {
            ledger,
            metrics: Arc::new(Metrics::default()),
            limits: Arc::new(limit::Limits::new(limits)),
            streams: Arc::default(),
            payments: None,
            stream_recheck: v1::STREAM_RECHECK,
        }
    }

    /// Event streams re-check their credential this often (30 s unless told; tests
    /// shorten it to see a revocation end a quiet stream).
    pub fn with_stream_recheck(mut self, every: std::time::Duration) -> AppState {
        self.stream_recheck = every;
        self
    }

    /// Takes payments through `payments` (checkout and its webhook).
    pub fn with_payments(mut self, payments: payments::Payments) -> AppState {
        self.payments = Some(payments);
        self
    }
}

/// Server options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Origins allowed to call the API from a browser (`*` for any).
    pub cors_origins: Vec<String>,
    /// A directory of static files served at `/`.
    pub static_dir: Option<std::path::PathBuf>,
}

/// The `/v1` and `/admin/v1` routers, each finished into its OpenAPI document (kept
/// for [`openapi::document`]). Each is generated from its own router, one after the
/// other: aide keeps the schemas it has seen in a per-thread context until
/// `finish_api` takes them.
fn api_routers() -> (Router<AppState>, Router<AppState>) {
    aide::generate::extract_schemas(true);
    let mut workspace_doc = aide::openapi::OpenApi::default();
    let workspace = ApiRouter::new()
        .nest("/v1", v1::routes())
        .api_route(
            "/healthz",
            get_with(
                healthz,
                openapi::doc(None, "Liveness and database reachability", &[]),
            ),
        )
        .api_route(
            "/metrics",
            get_with(metrics, openapi::doc(None, "Prometheus metrics", &[])),
        )
        .api_route(
            "/v1/openapi.json",
            get_with(
                openapi::get_workspace_doc,
                openapi::doc(None, "This document", &[]),
            ),
        )
        .finish_api(&mut workspace_doc);
    openapi::finish(workspace_doc, openapi::Face::Workspace);
    let mut operator_doc = aide::openapi::OpenApi::default();
    let operator = ApiRouter::new()
        .nest("/admin/v1", admin::routes())
        .api_route(
            "/admin/v1/openapi.json",
            get_with(
                openapi::get_operator_doc,
                openapi::doc(None, "This document", &[]),
            ),
        )
        .finish_api(&mut operator_doc);
    openapi::finish(operator_doc, openapi::Face::Operator);
    (workspace, operator)
}

/// The whole HTTP surface.
pub fn router(state: AppState, options: &Options) -> Router {
    let (workspace, operator) = api_routers();
    let mut app = workspace
        .merge(operator)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .layer(middleware::from_fn(run_to_completion))
        .layer(middleware::from_fn(extract::refuse_nul))
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
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::HeaderName::from_static("idempotency-key"),
                    header::HeaderName::from_static("x-request-id"),
                ])
                .expose_headers([
                    header::RETRY_AFTER,
                    header::HeaderName::from_static("x-request-id"),
                ]),
        );
    }
    app.layer(middleware::from_fn(log_request))
}

/// Releases timed-out holds, expires grants and prunes old sessions in the background.
pub fn spawn_sweeper(ledger: Arc<Ledger>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = ledger.sweep().await {
                tracing::error!(error = %e, "sweep failed");
            }
        }
    })
}

/// One log line per request: id (the caller's `X-Request-Id`, or a new one, echoed
/// back), method, route (the matched pattern: ids and tokens stay out of the log),
/// status and latency. Everything logged while serving it carries the id.
async fn log_request(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_request_id, str::to_string);
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %id);
    let start = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or("unmatched", |r| r.0.as_str())
        .to_string();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(%method, %route, status, latency_us, "request");
        } else {
            tracing::info!(%method, %route, status, latency_us, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return "req_unknown".into();
    }
    format!("req_{}", creditkit_ledger::hex(&bytes))
}

/// Runs each request on its own task, so a client that goes away mid-request (a page
/// navigated away, a timeout) cannot cancel a ledger write half way: sqlx connections are
/// not cancel-safe, and SQLite has a single one. The write completes or rolls back, its
/// connection returns to the pool, and an idempotent retry gets the recorded answer.
async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            extract::error(ErrorCode::Internal, "the request failed on the server").into_response()
        }
    }
}

async fn not_found() -> AppError {
    extract::error(
        ErrorCode::NotFound,
        "no such endpoint; see /v1/openapi.json",
    )
}

async fn healthz(State(s): State<AppState>) -> openapi::Health {
    openapi::Health(match s.ledger.workspace("ws_healthz_probe").await {
        Ok(_) | Err(LedgerError::NotFound(_)) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    })
}

// ------------------------------------------------------------------- metrics

/// (method, route, status): each from a bounded set, so no caller can add series
/// ([`method_label`]; a route is a pattern of the router or `unmatched`).
type RouteKey = (&'static str, String, u16);

/// The methods the API serves by name; any other (a caller can invent them) is `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, label)| label)
}

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
    let method = method_label(req.method());
    let start = Instant::now();
    let mut response = next.run(req).await;
    let elapsed_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    {
        let mut m = s.metrics.requests.lock().expect("metrics lock");
        let e = m
            .entry((method, route.clone(), response.status().as_u16()))
            .or_insert((0, 0));
        e.0 += 1;
        e.1 = e.1.saturating_add(elapsed_us);
    }
    response.extensions_mut().insert(RouteName(route));
    response
}

/// The matched route pattern, handed from inside the router to the request log.
#[derive(Clone)]
struct RouteName(String);

async fn metrics(State(s): State<AppState>) -> openapi::Metrics {
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
    openapi::Metrics(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

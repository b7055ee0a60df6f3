//! An operator's backend, as small as it can be: the integration example, and the
//! demo's backend. It keeps the workspaces' secret API keys on the server and gives the
//! browser only what it needs:
//!
//! 1. **Sign-in** (`POST /demo/session`): after your own login, mint a short-lived
//!    creditkit session for that user (`POST /v1/sessions` with the API key). The page
//!    gives the token to the widget, and asks again when it ends. (The demo's own
//!    "login" is a cookie naming who signed in here; yours is your app's.)
//! 2. **Run a confirmed operation** (`POST /demo/run`): the page confirmed a quote (the
//!    widget placed the hold with the session); it sends the hold id here. This backend
//!    reads what was confirmed (the hold and its quote) — never trusting the page for
//!    the price, and settling only a hold the signed-in user confirmed (`Hold::member_id`)
//!    — runs the operation, then settles with the API key: capture what was used (at
//!    most the hold), or release the hold when the operation failed.
//! 3. **Stream a chat turn** (`GET /demo/stream`, `stream.rs`): grow the hold chunk by
//!    chunk as the model streams, pause when credits run out, charge what was generated.
//! 4. **Buying credits** needs nothing here: the widget opens creditkit's checkout
//!    (`POST /v1/checkout`, Stripe's page) and Stripe's signed webhook to creditkit adds
//!    the credits. Subscribe to creditkit's own webhooks to hear about it.
//!
//! Every call that moves credits carries an idempotency key derived from what it
//! settles and a secret of this backend (`App::settle_key`): a retry after a timeout
//! cannot charge twice, and no browser can guess the key to take it first. (creditkit
//! also keeps each credential's keys apart: a session's keys are never the API key's.)

mod stream;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use creditkit_api::{CaptureRequest, Hold, HoldStatus, SessionRequest};
use serde::Deserialize;
use serde_json::{json, Value};

/// One product (workspace) this backend serves, with its secret API key.
#[derive(Clone, Debug, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub api_key: String,
}

/// What the backend needs: where creditkit is, the products' keys, the page to serve.
#[derive(Clone, Debug)]
pub struct Config {
    /// The creditkit API's base URL, as the browser reaches it (CORS allows this page).
    pub api: String,
    pub products: Vec<Product>,
    pub static_dir: Option<PathBuf>,
    /// How long the simulated operation takes.
    pub work: Duration,
}

impl Config {
    /// Reads the products from the file `creditkit serve --seed-demo FILE` wrote.
    pub fn from_seed_file(api: &str, file: &std::path::Path) -> anyhow::Result<Config> {
        #[derive(Deserialize)]
        struct Seed {
            products: Vec<Product>,
        }
        let text = std::fs::read_to_string(file)?;
        let seed: Seed = serde_json::from_str(&text)?;
        Ok(Config {
            api: api.trim_end_matches('/').to_string(),
            products: seed.products,
            static_dir: None,
            work: Duration::from_millis(300),
        })
    }
}

pub(crate) struct App {
    config: Config,
    keys: BTreeMap<String, String>,
    http: reqwest::Client,
    /// 128 random bits, in every idempotency key this backend sends.
    key_secret: String,
    /// Who signed in on which browser: sign-in id (the cookie) → (product, member id).
    signins: std::sync::Mutex<BTreeMap<String, (String, String)>>,
}

type Shared = State<Arc<App>>;

pub fn router(config: Config) -> Router {
    let app = Arc::new(App {
        keys: config
            .products
            .iter()
            .map(|p| (p.id.clone(), p.api_key.clone()))
            .collect(),
        http: reqwest::Client::new(),
        config: config.clone(),
        key_secret: random_hex(),
        signins: std::sync::Mutex::default(),
    });
    let mut r = Router::new()
        .route("/demo/products", get(products))
        .route("/demo/session", post(session))
        .route("/demo/run", post(run))
        .route("/demo/stream", get(stream::stream))
        .with_state(app);
    if let Some(dir) = &config.static_dir {
        r = r.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    r
}

/// A refusal for the page: a status, a sentence it can show, and creditkit's error body
/// when it came from creditkit.
pub(crate) struct Refusal(pub(crate) StatusCode, pub(crate) String, pub(crate) Value);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "message": self.1 }))).into_response()
    }
}

/// creditkit's refusal as the page's: its status, its sentence, its error body.
impl From<creditkit_client::Error> for Refusal {
    fn from(e: creditkit_client::Error) -> Refusal {
        match e {
            creditkit_client::Error::Api { status, error } => Refusal(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                error.message.clone(),
                serde_json::to_value(&*error).unwrap_or(Value::Null),
            ),
            creditkit_client::Error::Transport(_) => {
                refuse(StatusCode::BAD_GATEWAY, "creditkit cannot be reached")
            }
        }
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal(status, message.into(), Value::Null)
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("OS randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cookie naming this browser's sign-in to `product`.
fn signin_cookie(product: &str) -> String {
    let safe: String = product
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("demo_signin_{safe}")
}

impl App {
    /// The member signed in to `product` on the browser that sent `headers`, or a 401.
    pub(crate) fn signed_in(
        &self,
        headers: &axum::http::HeaderMap,
        product: &str,
    ) -> Result<String, Refusal> {
        let name = signin_cookie(product);
        let id = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(&name)?.strip_prefix('='));
        let signins = self.signins.lock().expect("sign-ins lock");
        id.and_then(|id| signins.get(id))
            .filter(|(p, _)| p == product)
            .map(|(_, member)| member.clone())
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "sign in first"))
    }

    /// Refuses to settle a hold the signed-in member did not confirm: the page sends
    /// hold ids, and a hold id can be read by others of the workspace.
    pub(crate) fn check_owner(&self, hold: &Hold, member: &str) -> Result<(), Refusal> {
        if hold.member_id.as_deref() == Some(member) {
            Ok(())
        } else {
            Err(refuse(
                StatusCode::FORBIDDEN,
                "this action was confirmed by someone else",
            ))
        }
    }

    /// The idempotency key of one settlement step (`what`: capture, release, extend…)
    /// of a hold: the same on a retry, unguessable outside this backend.
    pub(crate) fn settle_key(&self, what: &str, hold_id: &str) -> String {
        format!("{what}-{hold_id}-{}", self.key_secret)
    }

    pub(crate) fn key(&self, product: &str) -> Result<&str, Refusal> {
        self.keys
            .get(product)
            .map(String::as_str)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, format!("no product `{product}`")))
    }

    /// creditkit's API with the product's key: the typed client, over this backend's
    /// connection pool.
    pub(crate) fn api(&self, key: &str) -> creditkit_client::Client {
        creditkit_client::Client::with_http(self.http.clone(), &self.config.api, key)
    }
}

async fn products(State(app): Shared) -> Json<Value> {
    let list: Vec<Value> = app
        .config
        .products
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name, "api": app.config.api }))
        .collect();
    Json(Value::Array(list))
}

#[derive(Deserialize)]
struct SessionAsk {
    product: String,
    /// Who signed in: here `alice` or `bob` (their external ids); in your app, the user
    /// your own login established.
    member: String,
}

/// Step 1, sign-in: a 15-minute session for the signed-in user, and (the demo's login)
/// a cookie saying who signed in on this browser.
async fn session(State(app): Shared, Json(ask): Json<SessionAsk>) -> Result<Response, Refusal> {
    let key = app.key(&ask.product)?;
    let s = app
        .api(key)
        .create_session(&SessionRequest {
            external_id: Some(ask.member.clone()),
            ttl_seconds: Some(900),
            ..SessionRequest::default()
        })
        .await?;
    let member = s.member_id.clone();
    let id = random_hex();
    let mut signins = app.signins.lock().expect("sign-ins lock");
    if signins.len() >= 10_000 {
        signins.clear(); // a demo's memory stays bounded: everyone signs in again
    }
    signins.insert(id.clone(), (ask.product.clone(), member));
    drop(signins);
    let cookie = format!(
        "{}={id}; Path=/demo; HttpOnly; SameSite=Strict",
        signin_cookie(&ask.product)
    );
    Ok((
        [(axum::http::header::SET_COOKIE, cookie)],
        Json(json!({ "token": s.token, "expires_at_ms": s.expires_at_ms })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct RunAsk {
    product: String,
    hold_id: String,
    /// The demo's "make the next generation fail".
    #[serde(default)]
    fail: bool,
}

/// Step 2: run what the user confirmed, then settle its hold.
async fn run(
    State(app): Shared,
    headers: axum::http::HeaderMap,
    Json(ask): Json<RunAsk>,
) -> Result<Json<Value>, Refusal> {
    let key = app.key(&ask.product)?;
    let member = app.signed_in(&headers, &ask.product)?;
    // What was confirmed, from creditkit: another workspace's hold is not found.
    let api = app.api(key);
    let hold = api.get_hold(&ask.hold_id).await?;
    app.check_owner(&hold, &member)?;
    if hold.status != HoldStatus::Active {
        return Err(refuse(
            StatusCode::CONFLICT,
            "this action was already settled",
        ));
    }
    let quote = api.get_quote(&hold.quote_id).await?;
    // The operation itself (simulated): takes a moment, fails when asked to.
    tokio::time::sleep(app.config.work).await;
    if ask.fail {
        api.release(&hold.id, &app.settle_key("release", &hold.id))
            .await?;
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The generation failed (simulated).",
        ));
    }
    // Charge what was used: an exact quote at its price (no amount); a range at what the
    // operation used — here the estimate's expected amount. Never above the hold.
    let capture = CaptureRequest {
        amount_millicredits: (!quote.estimate.exact).then(|| {
            quote
                .estimate
                .expected_millicredits
                .min(hold.amount_millicredits)
        }),
        actual: None,
    };
    let settled = api
        .capture(&hold.id, &capture, &app.settle_key("capture", &hold.id))
        .await?;
    Ok(Json(serde_json::to_value(settled).unwrap_or(Value::Null)))
}

//! `creditkit-client`: creditkit's HTTP API for an operator's Rust backend, typed with
//! the wire types of `creditkit-api` (the same structs the server writes and the OpenAPI
//! documents describe). A refusal is an [`Error::Api`] whose [`ErrorCode`] a caller
//! branches on; the message is for people.
//!
//! ```no_run
//! # async fn f() -> Result<(), creditkit_client::Error> {
//! use creditkit_api::SessionRequest;
//! let api = creditkit_client::Client::new("http://127.0.0.1:8080", "ck_sk_…");
//! let session = api.create_session(&SessionRequest { external_id: Some("alice".into()), ..Default::default() }).await?;
//! # let _ = session; Ok(()) }
//! ```

use creditkit_api::admin::{ApiKeyCreated, GrantRequest, NewApiKey, NewWorkspace};
use creditkit_api::{
    ApiError, Balance, CaptureRequest, ErrorCode, ExtendRequest, Hold, HoldRequest, Quote,
    QuoteRequest, Session, SessionRequest, Workspace,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a call can end with besides its answer.
#[derive(Debug)]
pub enum Error {
    /// creditkit answered with an error body.
    Api { status: u16, error: Box<ApiError> },
    /// No answer, or one that is not creditkit's (a proxy's page, a cut connection).
    Transport(String),
}

impl Error {
    /// The error code; [`ErrorCode::Unknown`] when creditkit was not reached.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Api { error, .. } => error.code,
            Error::Transport(_) => ErrorCode::Unknown,
        }
    }

    /// creditkit's error body, when it answered.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api { error, .. } => Some(error),
            Error::Transport(_) => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Api { status, error } => {
                write!(f, "{status} {}: {}", error.code.as_str(), error.message)
            }
            Error::Transport(why) => write!(f, "creditkit cannot be reached: {why}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// One credential (a workspace API key, or the operator key for the `admin_*` calls)
/// against one server.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// `base` is the server's root (`https://credits.example.com`), without `/v1`.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Client {
        Client::with_http(reqwest::Client::new(), base, token)
    }

    /// Shares `http`'s connection pool.
    pub fn with_http(
        http: reqwest::Client,
        base: impl Into<String>,
        token: impl Into<String>,
    ) -> Client {
        Client {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            token: token.into(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        idempotency_key: Option<&str>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        if (200..300).contains(&status) {
            // A 204 has no body: read it as JSON `null` (the `()` answers).
            let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(text)
                .map_err(|e| Error::Transport(format!("unexpected answer to {path}: {e}")));
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(error) => Err(Error::Api {
                status,
                error: Box::new(error),
            }),
            Err(_) => Err(Error::Transport(format!(
                "{status} from {path}, not creditkit's error body"
            ))),
        }
    }

    const NO_BODY: Option<&'static ()> = None;

    // ------------------------------------------------------------ the workspace API

    pub async fn balance(&self, wallet_id: Option<&str>) -> Result<Balance> {
        let q = wallet_id
            .map(|w| format!("?wallet_id={w}"))
            .unwrap_or_default();
        self.call(Method::GET, &format!("/v1/balance{q}"), None, Self::NO_BODY)
            .await
    }

    /// A short-lived browser session for a member (sign-in).
    pub async fn create_session(&self, req: &SessionRequest) -> Result<Session> {
        self.call(Method::POST, "/v1/sessions", None, Some(req))
            .await
    }

    pub async fn quote(&self, req: &QuoteRequest) -> Result<Quote> {
        self.call(Method::POST, "/v1/quotes", None, Some(req)).await
    }

    pub async fn get_quote(&self, id: &str) -> Result<Quote> {
        self.call(
            Method::GET,
            &format!("/v1/quotes/{id}"),
            None,
            Self::NO_BODY,
        )
        .await
    }

    /// Confirm a quote: reserve its maximum.
    pub async fn hold(&self, req: &HoldRequest, idempotency_key: &str) -> Result<Hold> {
        self.call(Method::POST, "/v1/holds", Some(idempotency_key), Some(req))
            .await
    }

    pub async fn get_hold(&self, id: &str) -> Result<Hold> {
        self.call(Method::GET, &format!("/v1/holds/{id}"), None, Self::NO_BODY)
            .await
    }

    /// Charge what the operation used (never above the hold); the default request
    /// charges an exact quote at its price.
    pub async fn capture(
        &self,
        id: &str,
        req: &CaptureRequest,
        idempotency_key: &str,
    ) -> Result<Hold> {
        self.call(
            Method::POST,
            &format!("/v1/holds/{id}/capture"),
            Some(idempotency_key),
            Some(req),
        )
        .await
    }

    /// The operation failed: nothing is charged.
    pub async fn release(&self, id: &str, idempotency_key: &str) -> Result<Hold> {
        let path = format!("/v1/holds/{id}/release");
        self.call(
            Method::POST,
            &path,
            Some(idempotency_key),
            Some(&serde_json::json!({})),
        )
        .await
    }

    /// Grow a streamed turn's hold, chunk by chunk.
    pub async fn extend(
        &self,
        id: &str,
        req: &ExtendRequest,
        idempotency_key: &str,
    ) -> Result<Hold> {
        self.call(
            Method::POST,
            &format!("/v1/holds/{id}/extend"),
            Some(idempotency_key),
            Some(req),
        )
        .await
    }

    pub async fn grant(&self, req: &GrantRequest, idempotency_key: &str) -> Result<Balance> {
        self.call(Method::POST, "/v1/grants", Some(idempotency_key), Some(req))
            .await
    }

    // ------------------------------------------------------------- the operator API

    /// Onboard a customer (the operator key).
    pub async fn admin_create_workspace(&self, req: &NewWorkspace) -> Result<Workspace> {
        self.call(Method::POST, "/admin/v1/workspaces", None, Some(req))
            .await
    }

    /// A workspace API key for the customer's backend; the secret is in this answer only.
    pub async fn admin_create_api_key(
        &self,
        workspace_id: &str,
        req: &NewApiKey,
    ) -> Result<ApiKeyCreated> {
        let path = format!("/admin/v1/workspaces/{workspace_id}/keys");
        self.call(Method::POST, &path, None, Some(req)).await
    }

    pub async fn admin_grant(
        &self,
        workspace_id: &str,
        req: &GrantRequest,
        idempotency_key: &str,
    ) -> Result<Balance> {
        let path = format!("/admin/v1/workspaces/{workspace_id}/grants");
        self.call(Method::POST, &path, Some(idempotency_key), Some(req))
            .await
    }
}

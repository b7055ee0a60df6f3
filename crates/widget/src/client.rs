//! The HTTP client: the server's `/v1` API with the shared wire types.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use creditkit_api::FromJson;
use creditkit_api::{
    ApiError, Balance, CheckoutRequest, CheckoutStarted, ErrorCode, Hold, HoldRequest, Page, Quote,
    QuoteRequest, Transaction, Usage,
};
use creditkit_pricing::{PackOffer, Request};
use gloo_net::http::{Request as Http, RequestBuilder};

use crate::copy::words;
use crate::format::credits_text;

/// Asks the host page for a fresh session token (its backend mints one); `None` when
/// it cannot. Called when the server says the session expired or is unknown.
pub type Refresh = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>>>>>;

/// Where the API is and who is calling. Cheap to clone; clones share the token, so a
/// refreshed session reaches every component at once.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    token: Rc<RefCell<String>>,
    refresh: Option<Refresh>,
    wallet_id: Option<String>,
    /// Stands in for a component that is gone: every call fails at once.
    detached: bool,
    /// Who the session is, once asked: it does not change while the session lives
    /// (shared by the client's clones; the panels ask it on every change otherwise).
    me: Rc<RefCell<Option<Me>>>,
}

impl PartialEq for Client {
    fn eq(&self, other: &Client) -> bool {
        self.base_url == other.base_url
            && self.wallet_id == other.wallet_id
            && *self.token.borrow() == *other.token.borrow()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("wallet_id", &self.wallet_id)
            .finish_non_exhaustive()
    }
}

/// The caller, as `GET /v1/me` says.
pub use creditkit_api::Me;

/// Why a call failed, in a form the user can be shown ([`ClientError::words`]).
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one value at a time, moved rarely: boxing buys nothing
pub enum ClientError {
    /// The server answered with an error.
    Api { status: u16, error: ApiError },
    /// The server could not be reached.
    Network(String),
    /// The server answered something this client does not understand.
    Decode(String),
}

impl ClientError {
    /// One sentence for the user; never raw JSON.
    pub fn words(&self) -> String {
        match self {
            ClientError::Api { error, .. } => match error.code {
                ErrorCode::InsufficientCredits => match &error.shortfall {
                    Some(s) => (words().needs_have)(
                        &credits_text(s.required_millicredits),
                        &credits_text(s.balance_millicredits),
                    ),
                    None => words().not_enough_for_action.into(),
                },
                ErrorCode::Unauthorized | ErrorCode::SessionExpired => words().session_ended.into(),
                ErrorCode::QuoteExpired => words().price_expired.into(),
                ErrorCode::Forbidden => words().role_forbids.into(),
                ErrorCode::WorkspaceSuspended => words().suspended.into(),
                ErrorCode::RateLimited => words().rate_limited.into(),
                _ => sentence(&error.message),
            },
            ClientError::Network(_) => words().unreachable.into(),
            ClientError::Decode(_) => words().not_understood.into(),
        }
    }

    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }
}

fn sentence(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    // Server messages are ASCII-led; full Unicode case tables would cost the page ~10 KB.
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

impl Client {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Client {
        Client {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token: Rc::new(RefCell::new(token.into())),
            refresh: None,
            wallet_id: None,
            detached: false,
            me: Rc::default(),
        }
    }

    /// What a task that outlives its component (an element mounted again with a new
    /// token) gets: a client whose every call fails without touching the network.
    pub(crate) fn detached() -> Client {
        Client {
            detached: true,
            ..Client::new("", "")
        }
    }

    /// Acts on this wallet instead of the workspace's shared one.
    pub fn with_wallet(mut self, wallet_id: Option<String>) -> Client {
        self.wallet_id = wallet_id.filter(|w| !w.is_empty());
        self
    }

    /// Gets a new session token when the current one has ended.
    pub fn with_refresh(mut self, refresh: Refresh) -> Client {
        self.refresh = Some(refresh);
        self
    }

    /// The wallet it acts on (`None`: the caller's default).
    pub fn wallet_id(&self) -> Option<&str> {
        self.wallet_id.as_deref()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn token(&self) -> String {
        self.token.borrow().clone()
    }

    /// Replaces the session token; returns false when there is no refresher or it
    /// brought nothing new.
    pub async fn refresh_token(&self) -> bool {
        let Some(refresh) = &self.refresh else {
            return false;
        };
        match refresh().await {
            Some(t) if !t.is_empty() && t != *self.token.borrow() => {
                *self.token.borrow_mut() = t;
                true
            }
            _ => false,
        }
    }

    fn url(&self, path: &str) -> String {
        let mut url = format!("{}/v1{path}", self.base_url);
        if let Some(w) = &self.wallet_id {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("wallet_id=");
            url.push_str(&encode(w));
        }
        url
    }

    fn auth(&self, b: RequestBuilder) -> RequestBuilder {
        b.header("authorization", &format!("Bearer {}", self.token.borrow()))
    }

    /// Sends a request built by `build`; once more with a refreshed token when the
    /// session has ended.
    async fn send(
        &self,
        // `dyn`: one body for every request (each closure type was a copy of it).
        build: &dyn Fn(&Client) -> Result<Http, gloo_net::Error>,
    ) -> Result<gloo_net::http::Response, ClientError> {
        let network = |e: gloo_net::Error| ClientError::Network(e.to_string());
        if self.detached {
            return Err(ClientError::Network(
                "this part of the page was removed".into(),
            ));
        }
        let resp = build(self)
            .map_err(network)?
            .send()
            .await
            .map_err(network)?;
        if resp.status() == 401 && self.refresh_token().await {
            return build(self).map_err(network)?.send().await.map_err(network);
        }
        // Refused for the session's request rate, before anything was done: once more
        // after the wait the server names (a second at most), as a person would.
        if resp.status() == 429 {
            let wait_ms = resp
                .headers()
                .get("retry-after")
                .and_then(|s| s.trim().parse::<i32>().ok())
                .map_or(1000, |s| s.saturating_mul(1000).clamp(50, 1000));
            sleep_ms(wait_ms).await;
            return build(self).map_err(network)?.send().await.map_err(network);
        }
        Ok(resp)
    }

    /// `GET path`, decoded. The request and the answer's text are one (non-generic)
    /// function for every type: only the decoding is per type (`cargo xtask size`).
    async fn get<T: FromJson>(&self, path: &str) -> Result<T, ClientError> {
        decode_text(&self.get_text(path).await?)
    }

    pub(crate) async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let url = self.url(path);
        let resp = self.send(&|c| c.auth(Http::get(&url)).build()).await?;
        body_text(resp).await
    }

    async fn post<T: FromJson>(
        &self,
        path: &str,
        body: &impl creditkit_pricing::ToJson,
        key: Option<&str>,
    ) -> Result<T, ClientError> {
        decode_text(&self.post_text(path, body.to_json_string(), key).await?)
    }

    async fn post_text(
        &self,
        path: &str,
        body: String,
        key: Option<&str>,
    ) -> Result<String, ClientError> {
        let url = self.url(path);
        let resp = self
            .send(&|c| {
                let mut b = c
                    .auth(Http::post(&url))
                    .header("content-type", "application/json");
                if let Some(k) = key {
                    b = b.header("idempotency-key", k);
                }
                b.body(body.clone())
            })
            .await?;
        body_text(resp).await
    }

    pub async fn balance(&self) -> Result<Balance, ClientError> {
        self.get("/balance").await
    }

    /// The workspace's rate card as JSON (parse it with `creditkit_pricing::parse_card`).
    pub async fn card_json(&self) -> Result<String, ClientError> {
        let url = self.url("/card");
        let resp = self.send(&|c| c.auth(Http::get(&url)).build()).await?;
        if resp.ok() {
            resp.text()
                .await
                .map_err(|e| ClientError::Decode(e.to_string()))
        } else {
            Err(body_text(resp)
                .await
                .err()
                .unwrap_or(ClientError::Decode("error without a body".into())))
        }
    }

    /// The plan, what is left of its allowance and when it renews; the balance by expiry.
    pub async fn allowance(&self) -> Result<creditkit_api::Allowance, ClientError> {
        self.get("/allowance").await
    }

    /// What the chat `id` has cost so far, counted by the server.
    pub async fn conversation(
        &self,
        id: &str,
    ) -> Result<creditkit_api::ConversationUsage, ClientError> {
        self.get(&format!("/conversations/{}", encode(id))).await
    }

    /// The wallets this caller may use, with what each has available.
    pub async fn wallets(&self) -> Result<Vec<creditkit_api::WalletSummary>, ClientError> {
        self.get("/wallets").await
    }

    /// The card's agents for this member: a paid message's price, the free ones left.
    pub async fn agents(&self) -> Result<Vec<creditkit_api::AgentOffer>, ClientError> {
        self.get("/agents").await
    }

    /// A creator's earnings in this client's wallet.
    pub async fn earnings(&self) -> Result<creditkit_api::Earnings, ClientError> {
        self.get("/earnings").await
    }

    /// Requests a payout of `amount` milli-credits of available earnings.
    pub async fn payout(
        &self,
        amount: u64,
        key: &str,
    ) -> Result<creditkit_api::Earnings, ClientError> {
        let body = creditkit_api::PayoutRequest {
            amount_millicredits: amount,
        };
        self.post("/payouts", &body, Some(key)).await
    }

    pub async fn packs(&self) -> Result<Vec<PackOffer>, ClientError> {
        self.get("/packs").await
    }

    /// Prices a request; `stream` makes it a streamed turn whose hold starts with that
    /// many output tokens and grows as the model streams.
    pub async fn quote(
        &self,
        request: &Request,
        project: Option<&str>,
        stream: Option<u64>,
    ) -> Result<Quote, ClientError> {
        self.quote_turn(request, project, stream, None).await
    }

    /// [`Client::quote`] for a turn of the chat `conversation` (counted per chat).
    pub async fn quote_turn(
        &self,
        request: &Request,
        project: Option<&str>,
        stream: Option<u64>,
        conversation: Option<&str>,
    ) -> Result<Quote, ClientError> {
        let body = QuoteRequest {
            conversation_id: conversation.map(str::to_string),
            wallet_id: self.wallet_id.clone(),
            request: request.clone(),
            project: project.map(str::to_string),
            stream: stream.map(|first_output_tokens| creditkit_api::StreamStart {
                first_output_tokens,
            }),
        };
        self.post("/quotes", &body, None).await
    }

    /// Who this session is and what it may do.
    pub async fn me(&self) -> Result<Me, ClientError> {
        if let Some(me) = self.me.borrow().clone() {
            return Ok(me);
        }
        let me: Me = self.get("/me").await?;
        *self.me.borrow_mut() = Some(me.clone());
        Ok(me)
    }

    pub async fn members(&self) -> Result<Vec<creditkit_api::Member>, ClientError> {
        self.get("/members").await
    }

    pub async fn caps(&self) -> Result<Vec<creditkit_api::Cap>, ClientError> {
        self.get("/caps").await
    }

    pub async fn create_cap(
        &self,
        cap: &creditkit_api::NewCap,
    ) -> Result<creditkit_api::Cap, ClientError> {
        self.post("/caps", cap, None).await
    }

    /// Sets the workspace's low-balance alert levels (admins).
    pub async fn set_thresholds(&self, t: &creditkit_api::Thresholds) -> Result<(), ClientError> {
        let url = self.url("/thresholds");
        let body = creditkit_pricing::ToJson::to_json_string(t);
        let resp = self
            .send(&|c| {
                c.auth(Http::put(&url))
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await?;
        no_content(resp).await
    }

    /// The wallet's auto top-up: its rule, whether a card is saved, this month's.
    pub async fn auto_topup(&self) -> Result<creditkit_api::AutoTopUp, ClientError> {
        self.get("/auto-top-up").await
    }

    /// Sets the wallet's auto top-up (the client's wallet unless `req` names one).
    pub async fn set_auto_topup(
        &self,
        req: &creditkit_api::AutoTopUpRequest,
    ) -> Result<creditkit_api::AutoTopUp, ClientError> {
        let mut req = req.clone();
        if req.wallet_id.is_none() {
            req.wallet_id.clone_from(&self.wallet_id);
        }
        let url = self.url("/auto-top-up");
        let body = creditkit_pricing::ToJson::to_json_string(&req);
        let resp = self
            .send(&|c| {
                c.auth(Http::put(&url))
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await?;
        decode_text(&body_text(resp).await?)
    }

    /// Turns the wallet's auto top-up off.
    pub async fn delete_auto_topup(&self) -> Result<creditkit_api::AutoTopUp, ClientError> {
        let url = self.url("/auto-top-up");
        let resp = self.send(&|c| c.auth(Http::delete(&url)).build()).await?;
        decode_text(&body_text(resp).await?)
    }

    pub async fn delete_cap(&self, id: &str) -> Result<(), ClientError> {
        let url = self.url(&format!("/caps/{}", encode(id)));
        let resp = self.send(&|c| c.auth(Http::delete(&url)).build()).await?;
        no_content(resp).await
    }

    /// Confirms a quote: its maximum is reserved. Settling it (capture or release)
    /// is the application backend's, with its API key.
    pub async fn hold(&self, quote_id: &str, key: &str) -> Result<Hold, ClientError> {
        self.post(
            "/holds",
            &HoldRequest {
                quote_id: quote_id.to_string(),
            },
            Some(key),
        )
        .await
    }

    /// Opens a checkout (the payment provider's page) for a pack or a plan.
    pub async fn checkout(&self, req: &CheckoutRequest) -> Result<CheckoutStarted, ClientError> {
        self.post("/checkout", req, None).await
    }

    /// Creates (or resumes) the creator's payout account: the provider's onboarding page.
    pub async fn connect_payout_account(
        &self,
    ) -> Result<creditkit_api::PayoutAccount, ClientError> {
        decode_text(&self.post_text("/payout-account", "{}".into(), None).await?)
    }

    /// Changes the paid plan, or cancels / resumes it, through the provider.
    pub async fn change_subscription(
        &self,
        req: &creditkit_api::SubscriptionChange,
    ) -> Result<Option<creditkit_api::Subscription>, ClientError> {
        self.post("/subscription", req, None).await
    }

    /// Where a payment stands (pending until the provider says paid, failed or expired).
    pub async fn checkout_status(
        &self,
        checkout_id: &str,
    ) -> Result<creditkit_api::CheckoutStatus, ClientError> {
        self.get(&format!("/checkouts/{}", encode(checkout_id)))
            .await
    }

    pub async fn get_hold(&self, hold_id: &str) -> Result<Hold, ClientError> {
        self.get(&format!("/holds/{}", encode(hold_id))).await
    }

    pub async fn usage(&self, group_by: &str) -> Result<Usage, ClientError> {
        self.usage_of(group_by, &creditkit_api::UsageFilter::default())
            .await
    }

    /// Usage grouped by `group_by`, of one member, action or month when `filter` says.
    pub async fn usage_of(
        &self,
        group_by: &str,
        filter: &creditkit_api::UsageFilter,
    ) -> Result<Usage, ClientError> {
        let path = format!(
            "/usage?group_by={}{}",
            encode(group_by),
            filter_query(filter)
        );
        self.get(&path).await
    }

    pub async fn transactions(&self, kind: Option<&str>) -> Result<Page<Transaction>, ClientError> {
        self.transactions_of(kind, &creditkit_api::UsageFilter::default())
            .await
    }

    /// The latest 50 entries, of one kind, member, action or month when asked.
    pub async fn transactions_of(
        &self,
        kind: Option<&str>,
        filter: &creditkit_api::UsageFilter,
    ) -> Result<Page<Transaction>, ClientError> {
        let kind = kind
            .map(|k| format!("&type={}", encode(k)))
            .unwrap_or_default();
        let path = format!("/transactions?limit=50{kind}{}", filter_query(filter));
        self.get(&path).await
    }

    /// The server-sent balance events URL (EventSource cannot send headers).
    pub fn events_url(&self) -> String {
        let url = self.url("/events");
        format!(
            "{url}{}access_token={}",
            if url.contains('?') { '&' } else { '?' },
            encode(&self.token.borrow())
        )
    }
}

/// A successful answer's text; an error answer as the API's error (or the status).
async fn body_text(resp: gloo_net::http::Response) -> Result<String, ClientError> {
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    match from_json::<ApiError>(&text) {
        Ok(error) => Err(ClientError::Api { status, error }),
        Err(_) => Err(ClientError::Api {
            status,
            error: ApiError::new(ErrorCode::Unknown, (words().server_answered)(status)),
        }),
    }
}

/// An answer with nothing to read: `Ok` on success, else the API's error.
async fn no_content(resp: gloo_net::http::Response) -> Result<(), ClientError> {
    if resp.ok() {
        return Ok(());
    }
    Err(body_text(resp)
        .await
        .err()
        .unwrap_or(ClientError::Decode("error without a body".into())))
}

/// An answer's text as `T`.
#[allow(clippy::result_large_err)] // the client's one error type, as every call returns it
pub(crate) fn decode_text<T: FromJson>(text: &str) -> Result<T, ClientError> {
    from_json(text).map_err(|e| ClientError::Decode(e.to_string()))
}

/// JSON text → `T` through the engine's JSON parser (the card's) and the wire types'
/// serde-free readers (`creditkit_api::decode`): serde's per-type `Deserialize` impls
/// weighed ~100 KB of this module. `cargo xtask size` measures it.
pub(crate) fn from_json<T: FromJson>(text: &str) -> Result<T, creditkit_api::decode::DecodeError> {
    creditkit_api::from_json_text(text)
}

/// `&member_id=…&action=…&month=…` for the parts `filter` names.
fn filter_query(filter: &creditkit_api::UsageFilter) -> String {
    let mut q = String::new();
    for (name, value) in [
        ("member_id", &filter.member_id),
        ("action", &filter.action),
        ("month", &filter.month),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            q.push_str(&format!("&{name}={}", encode(v)));
        }
    }
    q
}

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// A fresh idempotency key: one per user decision, reused by its retries.
#[allow(clippy::float_arithmetic)] // Math.random() scaled to 32 random bits; not an amount
pub(crate) fn new_key(prefix: &str) -> String {
    let a = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let b = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    format!("{prefix}-{:08x}{:08x}-{}", a, b, js_sys::Date::now() as u64)
}

/// Resolves after `ms` milliseconds (the browser's timer).
pub(crate) async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

//! A local stand-in for the Stripe endpoints creditkit uses, for tests and the demo
//! (no network here). It checks what creditkit sends as Stripe's API reference
//! describes it, answers in Stripe's shapes, and sends webhooks signed the way Stripe
//! signs them — with its own HMAC code, so creditkit's verifier is tested against an
//! independent signer.
//!
//! - `POST /v1/checkout/sessions`: secret-key bearer auth (401 otherwise), a
//!   form-encoded body (400 otherwise), an `Idempotency-Key` (creditkit always sends
//!   one; a repeat returns the first answer, a repeat with other parameters is an
//!   `idempotency_error`), the parameters creditkit uses and no unknown one (Stripe:
//!   "Received unknown parameter"), amounts of at least 50 minor units.
//! - `GET /pay/{session}`: the checkout page, labelled as simulated: no payment taken.
//! - `POST /pay/{session}`: "pays": sends `checkout.session.completed` (and, for a
//!   subscription, `invoice.paid` with `billing_reason=subscription_create`) to the
//!   webhook URL, then redirects to the session's `success_url`.
//! - `GET` / `POST /v1/subscriptions/{id}`: the subscription (its item and product), and
//!   a new price for its item or `cancel_at_period_end`, checked as Stripe's reference
//!   describes; an upgrade with `always_invoice` sends `invoice.paid`
//!   (`subscription_update`) at once; a renewal bills the price then in force, and a
//!   subscription set to cancel ends at its period's end instead.
//! - Connect: `POST /v1/accounts` (Express), `POST /v1/account_links` (its onboarding
//!   page, `/connect/{account}`, whose "Finish" sends `account.updated` with payouts
//!   enabled), `POST /v1/transfers` (to an enabled account, keyed), and
//!   `/_test/reverse/{transfer}` (`transfer.reversed`).
//! - `POST /pay/{session}/decline`: a bank debit that fails later: the session completes
//!   unpaid, then `checkout.session.async_payment_failed`.
//! - Saved cards and off-session payments (auto top-up): `topups.rs`.
//! - `POST /_test/expire/{session}` (`checkout.session.expired`), `POST /_test/renew/{subscription}`, `/_test/refund/{payment_intent}?amount=N`,
//!   `/_test/cancel/{subscription}`, `/_test/replay/{event}`: what Stripe would send
//!   later (a renewal, a refund, the end of a subscription, a retried delivery).

mod connect;
mod subscriptions;
mod topups;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use connect::*;
use subscriptions::*;

/// Unix seconds, from the caller's clock (tests run creditkit on a manual clock).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

#[derive(Clone)]
pub struct Config {
    /// Where its own pages are (the `url` of a session).
    pub base: String,
    /// The secret key creditkit must present (`sk_test_…`).
    pub secret_key: String,
    /// Where events go (creditkit's `/v1/webhooks/stripe`) and the secret they are
    /// signed with (`whsec_…`).
    pub webhook_url: String,
    pub webhook_secret: String,
    pub clock: Clock,
}

/// One checkout-session request: headers of note, and the form fields in order.
pub type SeenRequest = (BTreeMap<String, String>, Vec<(String, String)>);

/// What the stand-in saw and sent, for tests to read.
#[derive(Default)]
pub struct Record {
    /// Every checkout-session request: (headers of note, form fields).
    pub requests: Vec<SeenRequest>,
    sessions: BTreeMap<String, Value>,
    idempotent: BTreeMap<String, (Vec<(String, String)>, Value)>,
    /// Events sent: (event, creditkit's HTTP status).
    pub sent: Vec<(Value, u16)>,
    refunded: BTreeMap<String, u64>,
    /// Subscriptions by id: their item, product, price a period and whether they end
    /// at the period's end.
    subscriptions: BTreeMap<String, Value>,
    /// Every subscription update request: (idempotency key, form fields).
    pub updates: Vec<(String, Vec<(String, String)>)>,
    /// Connected accounts (id → payouts enabled) and their onboarding return URLs.
    accounts: BTreeMap<String, (bool, String)>,
    /// Transfers by idempotency key: (the transfer, its form fields).
    pub transfers: BTreeMap<String, (Value, Vec<(String, String)>)>,
    /// Every off-session payment request: (headers of note, form fields).
    pub intent_requests: Vec<SeenRequest>,
    cards: topups::Cards,
    next: u64,
}

#[derive(Clone)]
pub struct StandIn {
    config: Config,
    pub record: Arc<Mutex<Record>>,
    http: reqwest::Client,
}

/// Parameters creditkit may send; Stripe refuses unknown ones, and so does this.
const KNOWN: &[&str] = &[
    "mode",
    "line_items[0][price_data][currency]",
    "line_items[0][price_data][unit_amount]",
    "line_items[0][price_data][product_data][name]",
    "line_items[0][price_data][recurring][interval]",
    "line_items[0][quantity]",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "metadata[creditkit_checkout]",
    "metadata[creditkit_workspace]",
    "payment_intent_data[metadata][creditkit_checkout]",
    "subscription_data[metadata][creditkit_checkout]",
    "customer_creation",
    "payment_intent_data[setup_future_usage]",
    "metadata[creditkit_save_card]",
];

fn stripe_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

/// Stripe's scheme: `t=…,v1=hex(HMAC-SHA256(secret, "t.body"))`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

impl StandIn {
    pub fn new(config: Config) -> StandIn {
        StandIn {
            config,
            record: Arc::new(Mutex::new(Record::default())),
            http: reqwest::Client::new(),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route(
                "/v1/subscriptions/{id}",
                get(get_subscription)
                    .post(update_subscription)
                    .delete(delete_subscription),
            )
            .route("/pay/{id}", get(pay_page).post(pay))
            .route("/pay/{id}/decline", post(decline))
            .route("/v1/accounts", post(create_account))
            .route("/v1/account_links", post(create_account_link))
            .route("/connect/{account}", get(connect_page).post(connect))
            .route("/v1/transfers", post(create_transfer))
            .route("/_test/reverse/{transfer}", post(reverse))
            .route("/_test/expire/{session}", post(expire))
            .route("/_test/renew/{sub}", post(renew))
            .route("/_test/refund/{pi}", post(refund))
            .route("/_test/cancel/{sub}", post(cancel))
            .route("/_test/replay/{event}", post(replay))
            .route("/v1/payment_intents", post(topups::create_intent))
            .route("/v1/payment_intents/{id}", get(topups::get_intent))
            .route("/_test/card/{pm}", post(topups::set_card))
            .route("/_test/cards", post(topups::set_cards))
            .route("/_test/outage", post(topups::set_outage))
            .with_state(self.clone())
    }

    fn id(&self, prefix: &str) -> String {
        let mut r = self.record.lock().unwrap();
        r.next += 1;
        let mut b = [0u8; 6];
        let _ = getrandom::getrandom(&mut b);
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{prefix}_test_{hex}{}", r.next)
    }

    /// Sends an event to creditkit, signed now; returns creditkit's status.
    pub async fn send(&self, event: &Value) -> u16 {
        let body = event.to_string();
        let now = (self.config.clock)();
        let status = self
            .http
            .post(&self.config.webhook_url)
            .header("content-type", "application/json")
            .header(
                "stripe-signature",
                sign(&self.config.webhook_secret, now, &body),
            )
            .body(body)
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        self.record
            .lock()
            .unwrap()
            .sent
            .push((event.clone(), status));
        status
    }

    fn event(&self, kind: &str, object: Value) -> Value {
        json!({
            "id": self.id("evt"), "object": "event", "api_version": "2024-06-20",
            "created": (self.config.clock)(), "livemode": false, "type": kind,
            "data": { "object": object },
        })
    }

    fn invoice(&self, sub: &str, reason: &str, amount: u64, currency: &str) -> Value {
        let now = (self.config.clock)();
        json!({
            "id": self.id("in"), "object": "invoice", "subscription": sub, "billing_reason": reason,
            "amount_paid": amount, "currency": currency, "payment_intent": self.id("pi"), "status": "paid",
            "lines": { "object": "list", "data": [{ "period": { "start": now, "end": now + 30 * 86_400 } }] },
        })
    }
}

async fn create_session(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if header("authorization") != Some(format!("Bearer {}", s.config.secret_key)) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    if !header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Stripe takes form-encoded bodies",
        );
    }
    let Some(idem) = header("idempotency-key") else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "creditkit always sends an Idempotency-Key",
        );
    };
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Malformed form body",
        );
    };
    s.record.lock().unwrap().requests.push((
        BTreeMap::from([("idempotency-key".to_string(), idem.clone())]),
        fields.clone(),
    ));
    if let Some((first, answer)) = s.record.lock().unwrap().idempotent.get(&idem) {
        return if *first == fields {
            Json(answer.clone()).into_response()
        } else {
            stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with",
            )
        };
    }
    if let Some((k, _)) = fields.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("Received unknown parameter: {k}"),
        );
    }
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let mode = get("mode").unwrap_or_default();
    let currency = get("line_items[0][price_data][currency]").unwrap_or_default();
    let unit: Option<u64> =
        get("line_items[0][price_data][unit_amount]").and_then(|v| v.parse().ok());
    let quantity: Option<u64> = get("line_items[0][quantity]").and_then(|v| v.parse().ok());
    let interval = get("line_items[0][price_data][recurring][interval]");
    let absolute =
        |k: &str| get(k).is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
    let problem = if !matches!(mode.as_str(), "payment" | "subscription") {
        Some("mode must be payment or subscription")
    } else if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        Some("currency must be a three-letter ISO code in lower case")
    } else if unit.is_none_or(|u| u < 50) {
        Some("unit_amount must be at least 50 (the minimum charge)")
    } else if quantity.is_none_or(|q| q < 1) {
        Some("quantity must be at least 1")
    } else if get("line_items[0][price_data][product_data][name]").is_none_or(|n| n.is_empty()) {
        Some("product_data[name] is required")
    } else if !absolute("success_url") || !absolute("cancel_url") {
        Some("success_url and cancel_url must be absolute URLs")
    } else if (mode == "subscription") != interval.is_some() {
        Some("a subscription needs recurring[interval]; a payment must not have one")
    } else if interval
        .as_deref()
        .is_some_and(|i| !matches!(i, "day" | "week" | "month" | "year"))
    {
        Some("recurring[interval] must be day, week, month or year")
    } else if mode != "payment"
        && (get("customer_creation").is_some()
            || get("payment_intent_data[setup_future_usage]").is_some())
    {
        Some("customer_creation and payment_intent_data are for payment mode only")
    } else if get("customer_creation")
        .is_some_and(|c| !matches!(c.as_str(), "always" | "if_required"))
    {
        Some("customer_creation must be always or if_required")
    } else if get("payment_intent_data[setup_future_usage]")
        .is_some_and(|u| !matches!(u.as_str(), "off_session" | "on_session"))
    {
        Some("setup_future_usage must be off_session or on_session")
    } else {
        None
    };
    if let Some(message) = problem {
        return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", message);
    }
    let metadata: serde_json::Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|key| (key.to_string(), Value::from(v.clone())))
        })
        .collect();
    let id = s.id("cs");
    let session = json!({
        "id": id, "object": "checkout.session", "url": format!("{}/pay/{id}", s.config.base),
        "mode": mode, "amount_total": unit.unwrap_or(0) * quantity.unwrap_or(1), "currency": currency,
        "payment_status": "unpaid", "status": "open", "client_reference_id": get("client_reference_id"),
        "metadata": metadata, "success_url": get("success_url"), "cancel_url": get("cancel_url"),
        "livemode": false, "payment_intent": null, "subscription": null,
        "line_items_name": get("line_items[0][price_data][product_data][name]"),
        "setup_future_usage": get("payment_intent_data[setup_future_usage]"), "customer": null,
    });
    let mut r = s.record.lock().unwrap();
    r.sessions.insert(id, session.clone());
    r.idempotent.insert(idem, (fields, session.clone()));
    Json(session).into_response()
}

async fn pay_page(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    let Some(session) = s.record.lock().unwrap().sessions.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such checkout").into_response();
    };
    let amount = session["amount_total"].as_u64().unwrap_or(0);
    let what = session["line_items_name"].as_str().unwrap_or("Credits");
    let every = if session["mode"] == "subscription" {
        " a month"
    } else {
        ""
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Simulated checkout</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 32em; margin: 3em auto\">\
         <p role=\"note\" style=\"background: #fff3cd; padding: .6em\"><strong>Simulated checkout (test mode):</strong> no payment is taken. \
         A real deployment opens Stripe's page here.</p>\
         <h1>{what}</h1><p>Total: <strong>{}.{:02} {}{every}</strong></p>\
         <form method=\"post\"><button id=\"pay\" type=\"submit\">Pay (simulated)</button></form>\
         <form method=\"post\" action=\"/pay/{id}/decline\"><button id=\"decline\" type=\"submit\">Pay by bank debit, declined later (simulated)</button></form>\
         <p><a href=\"{}\">Cancel</a></p></body></html>",
        amount / 100,
        amount % 100,
        session["currency"].as_str().unwrap_or("").to_uppercase(),
        session["cancel_url"].as_str().unwrap_or("/")
    ))
    .into_response()
}

/// "Pays": the session completes, creditkit hears it (signed), the buyer goes back.
async fn pay(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    let Some(mut session) = s.record.lock().unwrap().sessions.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such checkout").into_response();
    };
    if session["status"] == "complete" {
        return Redirect::to(session["success_url"].as_str().unwrap_or("/")).into_response();
    }
    session["status"] = "complete".into();
    session["payment_status"] = "paid".into();
    let subscription = session["mode"] == "subscription";
    if subscription {
        session["subscription"] = s.id("sub").into();
        session["invoice"] = s.id("in").into();
    } else {
        let save = session["setup_future_usage"] == "off_session";
        s.pay_intent(&mut session, save);
    }
    s.record
        .lock()
        .unwrap()
        .sessions
        .insert(id, session.clone());
    let completed = s.event("checkout.session.completed", session.clone());
    s.send(&completed).await;
    if subscription {
        let sub = session["subscription"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let amount = session["amount_total"].as_u64().unwrap_or(0);
        let currency = session["currency"].as_str().unwrap_or("usd").to_string();
        let (item, product) = (s.id("si"), s.id("prod"));
        s.record.lock().unwrap().subscriptions.insert(
            sub.clone(),
            json!({ "id": sub, "object": "subscription", "status": "active", "cancel_at_period_end": false,
                    "items": { "data": [{ "id": item, "price": { "product": product, "unit_amount": amount, "currency": currency } }] } }),
        );
        let invoice = s.invoice(&sub, "subscription_create", amount, &currency);
        let paid = s.event("invoice.paid", invoice);
        s.send(&paid).await;
    }
    Redirect::to(session["success_url"].as_str().unwrap_or("/")).into_response()
}

/// A payment by a method that confirms later (a bank debit) and then fails: the
/// session completes unpaid, the buyer goes back, and `async_payment_failed` follows.
async fn decline(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    let Some(mut session) = s.record.lock().unwrap().sessions.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such checkout").into_response();
    };
    if session["status"] == "complete" {
        return Redirect::to(session["success_url"].as_str().unwrap_or("/")).into_response();
    }
    session["status"] = "complete".into();
    session["payment_status"] = "unpaid".into();
    s.record
        .lock()
        .unwrap()
        .sessions
        .insert(id, session.clone());
    let completed = s.event("checkout.session.completed", session.clone());
    s.send(&completed).await;
    let failed = s.event("checkout.session.async_payment_failed", session.clone());
    s.send(&failed).await;
    Redirect::to(session["success_url"].as_str().unwrap_or("/")).into_response()
}

/// An open session's page times out unpaid (Stripe: after 24 hours by default).
async fn expire(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    let Some(mut session) = s.record.lock().unwrap().sessions.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such checkout").into_response();
    };
    if session["status"] != "open" {
        return (StatusCode::CONFLICT, "only an open session expires").into_response();
    }
    session["status"] = "expired".into();
    s.record
        .lock()
        .unwrap()
        .sessions
        .insert(id, session.clone());
    let event = s.event("checkout.session.expired", session);
    let status = s.send(&event).await;
    Json(json!({ "event": event, "creditkit_status": status })).into_response()
}

/// The session a subscription or payment intent came from.
fn session_of(s: &StandIn, field: &str, id: &str) -> Option<Value> {
    s.record
        .lock()
        .unwrap()
        .sessions
        .values()
        .find(|v| v[field] == id)
        .cloned()
}

async fn renew(State(s): State<StandIn>, Path(sub): Path<String>) -> Response {
    let Some(subscription) = s.record.lock().unwrap().subscriptions.get(&sub).cloned() else {
        return (StatusCode::NOT_FOUND, "no such subscription").into_response();
    };
    // At the period's end a subscription set to cancel ends instead of renewing.
    if subscription["cancel_at_period_end"] == true {
        return cancel(State(s), Path(sub)).await;
    }
    let price = &subscription["items"]["data"][0]["price"];
    let invoice = s.invoice(
        &sub,
        "subscription_cycle",
        price["unit_amount"].as_u64().unwrap_or(0),
        price["currency"].as_str().unwrap_or("usd"),
    );
    let event = s.event("invoice.paid", invoice);
    let status = s.send(&event).await;
    Json(json!({ "event": event, "creditkit_status": status })).into_response()
}

fn authorized(s: &StandIn, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {}", s.config.secret_key).as_str())
}

#[derive(serde::Deserialize)]
struct RefundQuery {
    amount: Option<u64>,
}

async fn refund(
    State(s): State<StandIn>,
    Path(pi): Path<String>,
    Query(q): Query<RefundQuery>,
) -> Response {
    let Some(session) = session_of(&s, "payment_intent", &pi) else {
        return (StatusCode::NOT_FOUND, "no such payment").into_response();
    };
    let total = session["amount_total"].as_u64().unwrap_or(0);
    let refunded = {
        let mut r = s.record.lock().unwrap();
        let so_far = r.refunded.entry(pi.clone()).or_insert(0);
        *so_far = (*so_far + q.amount.unwrap_or(total)).min(total);
        *so_far
    };
    let charge = json!({
        "id": s.id("ch"), "object": "charge", "payment_intent": pi, "amount": total,
        "amount_refunded": refunded, "refunded": refunded == total, "currency": session["currency"],
    });
    let event = s.event("charge.refunded", charge);
    let status = s.send(&event).await;
    Json(json!({ "event": event, "creditkit_status": status })).into_response()
}

async fn cancel(State(s): State<StandIn>, Path(sub): Path<String>) -> Response {
    if let Some(stored) = s.record.lock().unwrap().subscriptions.get_mut(&sub) {
        stored["status"] = "canceled".into();
    }
    let object = json!({ "id": sub, "object": "subscription", "status": "canceled" });
    let event = s.event("customer.subscription.deleted", object);
    let status = s.send(&event).await;
    Json(json!({ "event": event, "creditkit_status": status })).into_response()
}

/// Sends an event again, as Stripe does when it retries a delivery (same id).
async fn replay(State(s): State<StandIn>, Path(event_id): Path<String>) -> Response {
    let event = s
        .record
        .lock()
        .unwrap()
        .sent
        .iter()
        .find(|(e, _)| e["id"] == event_id.as_str())
        .map(|(e, _)| e.clone());
    let Some(event) = event else {
        return (StatusCode::NOT_FOUND, "no such event").into_response();
    };
    let status = s.send(&event).await;
    Json(json!({ "creditkit_status": status })).into_response()
}

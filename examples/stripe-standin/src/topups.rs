//! Cards saved at Checkout and charged off session (auto top-up), checked as Stripe's
//! reference describes them:
//!
//! - A payment-mode session with `payment_intent_data[setup_future_usage]=off_session`
//!   (and `customer_creation=always`) makes, when paid, a customer with the card
//!   attached as a payment method; the session names the customer, its payment intent
//!   (`GET /v1/payment_intents/{id}`) the customer and the payment method.
//! - `POST /v1/payment_intents`: secret key, form body, an `Idempotency-Key` (a repeat
//!   with the same parameters answers what the first got, a decline included; with
//!   others, `idempotency_error`), `amount` ≥ 50, a lower-case currency, a `customer`
//!   that exists, a `payment_method` attached to it, and `off_session=true` with
//!   `confirm=true`. Succeeds (then `payment_intent.succeeded`), or declines with 402
//!   and the intent in `requires_payment_method` (`card_declined`, or
//!   `authentication_required`: an off-session payment cannot ask its owner), then
//!   `payment_intent.payment_failed`.
//! - Test controls: `POST /_test/card/{pm}?result=ok|decline|authenticate` (one card),
//!   `POST /_test/cards?result=…` (every other card), and
//!   `POST /_test/outage?on=true|false` (500 `api_error`, nothing recorded, as Stripe
//!   does not keep a 500 under its key).

use super::*;

const KNOWN_INTENT: &[&str] = &[
    "amount",
    "currency",
    "customer",
    "payment_method",
    "off_session",
    "confirm",
    "description",
    "metadata[creditkit_topup]",
    "metadata[creditkit_workspace]",
];

/// An off-session request kept under its key: its form fields, status and answer.
pub(crate) type Keyed = (Vec<(String, String)>, u16, Value);

/// The saved cards and off-session payments.
#[derive(Default)]
pub(crate) struct Cards {
    /// Customer → the payment methods attached to it.
    pub(crate) customers: BTreeMap<String, Vec<String>>,
    /// Payment method → what charging it does (`ok`, `decline`, `authenticate`).
    pub(crate) results: BTreeMap<String, String>,
    pub(crate) intents: BTreeMap<String, Value>,
    /// Off-session requests by key.
    pub(crate) keyed: BTreeMap<String, Keyed>,
    pub(crate) outage: bool,
    /// What charging a card not named in `results` does (`ok` unless set).
    pub(crate) default_result: Option<String>,
}

impl StandIn {
    /// A session being paid: its payment intent, and the card kept if it asked.
    pub(crate) fn pay_intent(&self, session: &mut Value, fields_saved: bool) {
        let pi = self.id("pi");
        let mut customer = Value::Null;
        let mut method = Value::Null;
        if fields_saved {
            let (cus, pm) = (self.id("cus"), self.id("pm"));
            self.record
                .lock()
                .unwrap()
                .cards
                .customers
                .insert(cus.clone(), vec![pm.clone()]);
            customer = cus.into();
            method = pm.into();
        }
        session["customer"] = customer.clone();
        session["payment_intent"] = pi.clone().into();
        let intent = json!({
            "id": pi, "object": "payment_intent", "status": "succeeded",
            "amount": session["amount_total"], "amount_received": session["amount_total"],
            "currency": session["currency"], "customer": customer, "payment_method": method,
            "setup_future_usage": if fields_saved { Value::from("off_session") } else { Value::Null },
        });
        self.record.lock().unwrap().cards.intents.insert(pi, intent);
    }
}

fn answer(status: u16, body: &Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body.clone()),
    )
        .into_response()
}

/// `GET /v1/payment_intents/{id}`.
pub(crate) async fn get_intent(
    State(s): State<StandIn>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&s, &headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    match s.record.lock().unwrap().cards.intents.get(&id) {
        Some(pi) => Json(pi.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such payment_intent: '{id}'"),
        ),
    }
}

/// `POST /v1/payment_intents`, off session and confirmed at once.
pub(crate) async fn create_intent(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = match connect::form_of(&s, &headers, &body, KNOWN_INTENT) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "creditkit always sends an Idempotency-Key",
        );
    };
    s.record.lock().unwrap().intent_requests.push((
        BTreeMap::from([("idempotency-key".into(), key.clone())]),
        fields.clone(),
    ));
    if s.record.lock().unwrap().cards.outage {
        return stripe_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unexpected error occurred (simulated outage)",
        );
    }
    if let Some((first, status, body)) = s.record.lock().unwrap().cards.keyed.get(&key) {
        return if *first == fields {
            answer(*status, body)
        } else {
            stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with",
            )
        };
    }
    let get = |k: &str| connect::field(&fields, k);
    let amount: Option<u64> = get("amount").and_then(|a| a.parse().ok());
    let currency = get("currency").unwrap_or_default();
    let customer = get("customer").unwrap_or_default();
    let method = get("payment_method").unwrap_or_default();
    let attached = s
        .record
        .lock()
        .unwrap()
        .cards
        .customers
        .get(&customer)
        .is_some_and(|pms| pms.contains(&method));
    let problem = if amount.is_none_or(|a| a < 50) {
        Some("amount must be at least 50 (the minimum charge)")
    } else if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        Some("currency must be a three-letter ISO code in lower case")
    } else if !attached {
        Some("the payment_method is not attached to that customer")
    } else if get("off_session").as_deref() != Some("true")
        || get("confirm").as_deref() != Some("true")
    {
        Some("a payment without the customer needs off_session=true and confirm=true")
    } else {
        None
    };
    if let Some(message) = problem {
        return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", message);
    }
    let result = {
        let r = s.record.lock().unwrap();
        r.cards
            .results
            .get(&method)
            .or(r.cards.default_result.as_ref())
            .cloned()
            .unwrap_or_else(|| "ok".into())
    };
    let metadata: serde_json::Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|key| (key.to_string(), Value::from(v.clone())))
        })
        .collect();
    let id = s.id("pi");
    let ok = result == "ok";
    let mut intent = json!({
        "id": id, "object": "payment_intent", "amount": amount, "currency": currency,
        "customer": customer, "payment_method": method, "metadata": metadata,
        "description": get("description"),
        "status": if ok { "succeeded" } else { "requires_payment_method" },
        "amount_received": if ok { amount.unwrap_or(0) } else { 0 },
    });
    let (status, body, event) = if ok {
        (200, intent.clone(), "payment_intent.succeeded")
    } else {
        let (code, message) = if result == "authenticate" {
            (
                "authentication_required",
                "This payment requires authentication by the customer: they are not here to give it.",
            )
        } else {
            ("card_declined", "Your card was declined.")
        };
        intent["last_payment_error"] = json!({ "code": code, "message": message });
        let error = json!({ "error": {
            "type": "card_error", "code": code, "message": message, "payment_intent": intent,
        }});
        (402, error, "payment_intent.payment_failed")
    };
    {
        let mut r = s.record.lock().unwrap();
        r.cards.intents.insert(id, intent.clone());
        r.cards.keyed.insert(key, (fields, status, body.clone()));
    }
    // Stripe's event comes on its own, after or before the answer is read.
    let event = s.event(event, intent);
    let sender = s.clone();
    tokio::spawn(async move {
        sender.send(&event).await;
    });
    answer(status, &body)
}

#[derive(serde::Deserialize)]
pub(crate) struct CardResult {
    result: String,
}

/// How charging a saved payment method goes from now on.
pub(crate) async fn set_card(
    State(s): State<StandIn>,
    Path(pm): Path<String>,
    Query(q): Query<CardResult>,
) -> Response {
    if !matches!(q.result.as_str(), "ok" | "decline" | "authenticate") {
        return (
            StatusCode::BAD_REQUEST,
            "result: ok, decline or authenticate",
        )
            .into_response();
    }
    s.record.lock().unwrap().cards.results.insert(pm, q.result);
    StatusCode::NO_CONTENT.into_response()
}

/// How charging every card not set one by one goes from now on.
pub(crate) async fn set_cards(State(s): State<StandIn>, Query(q): Query<CardResult>) -> Response {
    if !matches!(q.result.as_str(), "ok" | "decline" | "authenticate") {
        return (
            StatusCode::BAD_REQUEST,
            "result: ok, decline or authenticate",
        )
            .into_response();
    }
    s.record.lock().unwrap().cards.default_result = Some(q.result);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct Outage {
    on: bool,
}

pub(crate) async fn set_outage(State(s): State<StandIn>, Query(q): Query<Outage>) -> Response {
    s.record.lock().unwrap().cards.outage = q.on;
    StatusCode::NO_CONTENT.into_response()
}

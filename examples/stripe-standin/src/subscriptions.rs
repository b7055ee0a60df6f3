//! `GET` / `POST` / `DELETE /v1/subscriptions/{id}`, checked as Stripe's reference
//! describes them: a new price for the item (an upgrade invoiced at once), the end at
//! the period's end, the end now.

use super::*;

/// Parameters creditkit may send to `POST /v1/subscriptions/{id}`.
const KNOWN_UPDATE: &[&str] = &[
    "items[0][id]",
    "items[0][price_data][currency]",
    "items[0][price_data][product]",
    "items[0][price_data][unit_amount]",
    "items[0][price_data][recurring][interval]",
    "proration_behavior",
    "metadata[creditkit_plan]",
    "cancel_at_period_end",
];

pub(crate) async fn get_subscription(
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
    match s.record.lock().unwrap().subscriptions.get(&id) {
        Some(sub) => Json(sub.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such subscription",
        ),
    }
}

/// `POST /v1/subscriptions/{id}`: a new price for its item (Stripe's `price_data` on a
/// subscription item names an existing product), or `cancel_at_period_end`. An upgrade
/// with `always_invoice` is invoiced at once: the stand-in bills the whole difference
/// (Stripe prorates it by the time left; creditkit grants the credits either way).
pub(crate) async fn update_subscription(
    State(s): State<StandIn>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&s, &headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    let Some(idem) = headers
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
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Malformed form body",
        );
    };
    s.record
        .lock()
        .unwrap()
        .updates
        .push((idem, fields.clone()));
    if let Some((k, _)) = fields
        .iter()
        .find(|(k, _)| !KNOWN_UPDATE.contains(&k.as_str()))
    {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("Received unknown parameter: {k}"),
        );
    }
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let Some(mut sub) = s.record.lock().unwrap().subscriptions.get(&id).cloned() else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such subscription",
        );
    };
    if let Some(flag) = get("cancel_at_period_end") {
        if !matches!(flag.as_str(), "true" | "false") {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "cancel_at_period_end is true or false",
            );
        }
        sub["cancel_at_period_end"] = (flag == "true").into();
    }
    let mut invoice = None;
    if let Some(unit) = get("items[0][price_data][unit_amount]") {
        let price = sub["items"]["data"][0]["price"].clone();
        let problem = if get("items[0][id]").as_deref() != sub["items"]["data"][0]["id"].as_str() {
            Some("items[0][id] is not this subscription's item")
        } else if get("items[0][price_data][product]").as_deref() != price["product"].as_str() {
            Some("price_data[product] must name the item's product")
        } else if get("items[0][price_data][currency]").as_deref() != price["currency"].as_str() {
            Some("a subscription's currency does not change")
        } else if get("items[0][price_data][recurring][interval]").as_deref() != Some("month") {
            Some("recurring[interval] must stay month")
        } else if !matches!(
            get("proration_behavior").as_deref(),
            Some("always_invoice" | "none" | "create_prorations")
        ) {
            Some("proration_behavior must be always_invoice, create_prorations or none")
        } else {
            None
        };
        if let Some(message) = problem {
            return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        }
        let Ok(new) = unit.parse::<u64>() else {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "unit_amount must be an integer",
            );
        };
        let old = price["unit_amount"].as_u64().unwrap_or(0);
        sub["items"]["data"][0]["price"]["unit_amount"] = new.into();
        if get("proration_behavior").as_deref() == Some("always_invoice") && new > old {
            let currency = price["currency"].as_str().unwrap_or("usd").to_string();
            invoice = Some(s.invoice(&id, "subscription_update", new - old, &currency));
        }
    }
    s.record
        .lock()
        .unwrap()
        .subscriptions
        .insert(id, sub.clone());
    if let Some(invoice) = invoice {
        let paid = s.event("invoice.paid", invoice);
        s.send(&paid).await;
    }
    Json(sub).into_response()
}

/// `DELETE /v1/subscriptions/{id}`: ends it now and says so (`deleted`).
pub(crate) async fn delete_subscription(
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
    let known = s.record.lock().unwrap().subscriptions.contains_key(&id);
    if !known {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such subscription",
        );
    }
    s.record.lock().unwrap().updates.push((
        headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        vec![("DELETE".into(), id.clone())],
    ));
    cancel(State(s), Path(id)).await
}

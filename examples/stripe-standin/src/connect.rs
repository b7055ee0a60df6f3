//! Connect, for creators' payouts: accounts (Express), their onboarding page, transfers
//! to them and reversals, checked as Stripe's reference describes them.

use super::*;

/// The form fields of a request, or Stripe's refusal: the secret key, a form body, only
/// the parameters listed.
pub(crate) fn form_of(
    s: &StandIn,
    headers: &HeaderMap,
    body: &[u8],
    known: &[&str],
) -> Result<Vec<(String, String)>, Box<Response>> {
    if !authorized(s, headers) {
        return Err(Box::new(stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        )));
    }
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return Err(Box::new(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Malformed form body",
        )));
    };
    if let Some((k, _)) = fields.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(Box::new(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("Received unknown parameter: {k}"),
        )));
    }
    Ok(fields)
}

pub(crate) fn field(fields: &[(String, String)], k: &str) -> Option<String> {
    fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone())
}

/// `POST /v1/accounts` (Connect, Express): a connected account, payouts not enabled
/// until onboarding is finished.
pub(crate) async fn create_account(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = match form_of(
        &s,
        &headers,
        &body,
        &[
            "type",
            "capabilities[transfers][requested]",
            "metadata[creditkit_wallet]",
        ],
    ) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if field(&fields, "type").as_deref() != Some("express") {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "type must be express, standard or custom",
        );
    }
    let id = s.id("acct");
    s.record
        .lock()
        .unwrap()
        .accounts
        .insert(id.clone(), (false, String::new()));
    Json(json!({ "id": id, "object": "account", "type": "express", "payouts_enabled": false, "charges_enabled": false })).into_response()
}

/// `POST /v1/account_links`: the onboarding page for an account.
pub(crate) async fn create_account_link(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = match form_of(
        &s,
        &headers,
        &body,
        &["account", "type", "return_url", "refresh_url"],
    ) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let account = field(&fields, "account").unwrap_or_default();
    let absolute = |k: &str| {
        field(&fields, k).is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
    };
    if field(&fields, "type").as_deref() != Some("account_onboarding")
        || !absolute("return_url")
        || !absolute("refresh_url")
    {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "type=account_onboarding with absolute return_url and refresh_url",
        );
    }
    let mut r = s.record.lock().unwrap();
    let Some(entry) = r.accounts.get_mut(&account) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such account",
        );
    };
    entry.1 = field(&fields, "return_url").unwrap_or_default();
    Json(json!({ "object": "account_link", "url": format!("{}/connect/{account}", s.config.base) }))
        .into_response()
}

pub(crate) async fn connect_page(Path(account): Path<String>) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Simulated onboarding</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 32em; margin: 3em auto\">\
         <p role=\"note\" style=\"background: #fff3cd; padding: .6em\"><strong>Simulated Stripe onboarding (test mode):</strong> no details are collected.</p>\
         <h1>Payouts account {account}</h1><form method=\"post\"><button id=\"finish\" type=\"submit\">Finish (simulated)</button></form></body></html>"
    ))
}

/// Onboarding finished: payouts enabled, `account.updated` sent, back to the return URL.
pub(crate) async fn connect(State(s): State<StandIn>, Path(account): Path<String>) -> Response {
    let back = {
        let mut r = s.record.lock().unwrap();
        let Some(entry) = r.accounts.get_mut(&account) else {
            return (StatusCode::NOT_FOUND, "no such account").into_response();
        };
        entry.0 = true;
        entry.1.clone()
    };
    let object = json!({ "id": account, "object": "account", "payouts_enabled": true, "charges_enabled": true });
    let event = s.event("account.updated", object);
    s.send(&event).await;
    Redirect::to(&back).into_response()
}

/// `POST /v1/transfers`: to an account with payouts enabled, at least 1 minor unit,
/// keyed (a repeat answers the first transfer).
pub(crate) async fn create_transfer(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = match form_of(
        &s,
        &headers,
        &body,
        &[
            "amount",
            "currency",
            "destination",
            "metadata[creditkit_payout]",
        ],
    ) {
        Ok(f) => f,
        Err(r) => return *r,
    };
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
    if let Some((first, _)) = s.record.lock().unwrap().transfers.get(&idem) {
        return Json(first.clone()).into_response();
    }
    let amount: Option<u64> = field(&fields, "amount").and_then(|a| a.parse().ok());
    let destination = field(&fields, "destination").unwrap_or_default();
    let enabled = s
        .record
        .lock()
        .unwrap()
        .accounts
        .get(&destination)
        .map(|a| a.0);
    let problem = match (amount, enabled) {
        (None | Some(0), _) => Some("amount must be a positive integer"),
        (_, None) => Some("No such destination"),
        (_, Some(false)) => Some("the destination account cannot receive transfers yet"),
        _ => None,
    };
    if let Some(message) = problem {
        return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", message);
    }
    let transfer = json!({ "id": s.id("tr"), "object": "transfer", "amount": amount, "currency": field(&fields, "currency"),
                           "destination": destination, "reversed": false });
    s.record
        .lock()
        .unwrap()
        .transfers
        .insert(idem, (transfer.clone(), fields));
    Json(transfer).into_response()
}

/// A transfer reversed later (Stripe: the platform reversed it, or the account closed).
pub(crate) async fn reverse(State(s): State<StandIn>, Path(transfer): Path<String>) -> Response {
    let found = s
        .record
        .lock()
        .unwrap()
        .transfers
        .values()
        .find(|(t, _)| t["id"] == transfer.as_str())
        .map(|(t, _)| t.clone());
    let Some(mut object) = found else {
        return (StatusCode::NOT_FOUND, "no such transfer").into_response();
    };
    object["reversed"] = true.into();
    let event = s.event("transfer.reversed", object);
    let status = s.send(&event).await;
    Json(json!({ "event": event, "creditkit_status": status })).into_response()
}

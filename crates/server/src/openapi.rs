//! The OpenAPI 3.1 description served at `/v1/openapi.json`.

use serde_json::{json, Value};

fn op(
    summary: &str,
    body: Option<&str>,
    response: &str,
    idempotent: bool,
    errors: &[(&str, &str)],
) -> Value {
    let mut responses = json!({ "200": { "description": "OK", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{response}") } } } } });
    for (status, why) in errors {
        responses[*status] = json!({ "description": why, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    }
    let mut o =
        json!({ "summary": summary, "responses": responses, "security": [{ "bearer": [] }] });
    if let Some(b) = body {
        o["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{b}") } } } });
    }
    let mut params = vec![
        json!({ "name": "wallet_id", "in": "query", "required": false, "schema": { "type": "string" } }),
    ];
    if idempotent {
        params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": true, "schema": { "type": "string", "maxLength": 200 },
            "description": "Retries with the same key and body return the first result; a different body is a 409." }));
    }
    o["parameters"] = Value::Array(params);
    o
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } })
}

pub(crate) fn document() -> Value {
    let common = [("401", "unauthorized"), ("404", "not_found")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut v = common.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let mut capture = op(
        "Charge the actual amount (never above the hold)",
        Some("CaptureRequest"),
        "Hold",
        true,
        &with(&[("409", "hold_not_active"), ("422", "capture_exceeds_hold")]),
    );
    capture["parameters"]
        .as_array_mut()
        .unwrap()
        .push(id_param());
    let mut release = op(
        "Release a hold in full (failed operation: nothing charged)",
        None,
        "Hold",
        true,
        &with(&[("409", "hold_not_active")]),
    );
    release["parameters"]
        .as_array_mut()
        .unwrap()
        .push(id_param());
    let mut refund = op(
        "Refund a captured charge to the grants it came from (admins)",
        None,
        "Hold",
        true,
        &with(&[("403", "forbidden"), ("409", "hold_not_active")]),
    );
    refund["parameters"]
        .as_array_mut()
        .unwrap()
        .push(id_param());
    let mut payee = op(
        "Name the organization wallet receiving an agent's publisher add-ons (admins)",
        Some("PayeeRequest"),
        "Empty",
        false,
        &with(&[("403", "forbidden")]),
    );
    payee["parameters"].as_array_mut().unwrap().push(id_param());
    payee["responses"] = json!({ "204": { "description": "set" } });
    let mut get_hold = op("A hold", None, "Hold", false, &common);
    get_hold["parameters"]
        .as_array_mut()
        .unwrap()
        .push(id_param());
    let mut tx = op(
        "Ledger entries, newest first",
        None,
        "TransactionPage",
        false,
        &with(&[("400", "invalid_request")]),
    );
    for (name, desc) in [
        (
            "type",
            "grant, charge, refund, expiry, hold, release, payout, earning",
        ),
        ("cursor", "next_cursor of the previous page"),
        ("limit", "1 to 200, default 50"),
    ] {
        tx["parameters"].as_array_mut().unwrap().push(json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": desc }));
    }
    let mut usage = op(
        "Credits used by action, project, member or month",
        None,
        "Usage",
        false,
        &common,
    );
    usage["parameters"].as_array_mut().unwrap().push(json!({ "name": "group_by", "in": "query", "schema": { "type": "string", "enum": ["action", "project", "member", "month"] } }));
    let obj = |props: Value, required: &[&str]| json!({ "type": "object", "properties": props, "required": required });
    let mc = json!({ "type": "integer", "minimum": 0, "description": "milli-credits (1 credit = 1000)" });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "creditkit", "version": env!("CARGO_PKG_VERSION"),
            "description": "Credits ledger: quote a request, hold its maximum, capture the actual amount or release it. Amounts are integer milli-credits." },
        "servers": [{ "url": "/" }],
        "paths": {
            "/v1/card": { "get": op("The workspace's rate card (JSON) for the browser estimator", None, "RateCard", false, &common),
                          "put": op("Replace the rate card (admins)", Some("RateCard"), "CardRef", false, &with(&[("403", "forbidden"), ("422", "invalid_card")])) },
            "/v1/packs": { "get": op("Credit packs with per-credit prices", None, "PackOffers", false, &common) },
            "/v1/quotes": { "post": op("Price a request before the user confirms. A chat item may give `input_text` instead of `input_tokens`: the server counts it with the model's tokenizer, exactly as the widget does", Some("QuoteRequest"), "Quote", false, &with(&[("400", "invalid_request")])) },
            "/v1/holds": { "post": op("Confirm a quote: reserve its maximum", Some("HoldRequest"), "Hold", true, &with(&[("402", "insufficient_credits"), ("403", "forbidden"), ("409", "idempotency_conflict"), ("410", "quote_expired")])) },
            "/v1/holds/{id}": { "get": get_hold },
            "/v1/holds/{id}/capture": { "post": capture },
            "/v1/holds/{id}/release": { "post": release },
            "/v1/holds/{id}/refund": { "post": refund },
            "/v1/wallets": { "post": op("Create a wallet, e.g. an organization wallet (admins)", Some("NewWallet"), "WalletCreated", false, &with(&[("403", "forbidden")])) },
            "/v1/agents/{id}/payee": { "put": payee },
            "/v1/earnings": { "get": op("Creator earnings: available, pending (24 h), paid out, platform share", None, "Earnings", false, &common) },
            "/v1/payouts": { "post": op("Request a payout of available earnings, at least the minimum (admins)", Some("PayoutRequest"), "Earnings", true, &with(&[("403", "forbidden")])) },
            "/v1/balance": { "get": op("Balance, held, available, low-balance state", None, "Balance", false, &common) },
            "/v1/topups": { "post": op("Add a pack's credits (admins)", Some("TopUpRequest"), "Balance", true, &with(&[("403", "forbidden")])) },
            "/v1/plan": { "post": op("Change the plan (admins)", Some("PlanRequest"), "Balance", true, &with(&[("403", "forbidden")])) },
            "/v1/usage": { "get": usage },
            "/v1/transactions": { "get": tx },
            "/v1/members": { "get": op("Members", None, "Members", false, &common), "post": op("Add a member (admins)", Some("NewMember"), "MemberCreated", false, &with(&[("403", "forbidden")])) },
            "/v1/events": { "get": { "summary": "Server-sent events: `balance` after every change to the wallet (token may be passed as ?access_token=)",
                "responses": { "200": { "description": "text/event-stream of BalanceEvent" } } } },
            "/v1/tokenizers/{name}": { "get": { "summary": "An encoding's token rank data (`o200k_base`, `cl100k_base`), public and immutable; the widget fetches it lazily and verifies its SHA-256 (the ETag)",
                "responses": { "200": { "description": "application/octet-stream (gzip when accepted)" }, "304": { "description": "not modified" }, "404": { "description": "not_found" } } } },
            "/healthz": { "get": { "summary": "Liveness and database reachability", "responses": { "200": { "description": "ok" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "text exposition" } } } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "workspace API key (operator backend) or member session token (browser)" } },
            "schemas": {
                "Error": obj(json!({ "code": { "type": "string", "enum": ["invalid_request", "unauthorized", "forbidden", "not_found", "insufficient_credits", "quote_expired", "hold_not_active", "capture_exceeds_hold", "idempotency_conflict", "invalid_card", "payload_too_large", "internal"] },
                    "message": { "type": "string" }, "path": { "type": "string" }, "shortfall": { "$ref": "#/components/schemas/Shortfall" } }), &["code", "message"]),
                "Shortfall": obj(json!({ "balance_millicredits": mc, "required_millicredits": mc, "shortfall_millicredits": mc, "pack": { "type": "object" }, "plan": { "type": "object" } }), &["balance_millicredits", "required_millicredits", "shortfall_millicredits"]),
                "RateCard": { "type": "object", "description": "See README: actions, models, agents, packs, plans, currency, rounding" },
                "CardRef": obj(json!({ "id": { "type": "string" }, "version": { "type": "string" }, "hash": { "type": "string" } }), &["id", "version", "hash"]),
                "PackOffers": { "type": "array", "items": { "type": "object" } },
                "Request": { "type": "object", "description": "{action, quantity?, params?} or {items: [...]}" },
                "QuoteRequest": obj(json!({ "request": { "$ref": "#/components/schemas/Request" }, "wallet_id": { "type": "string" }, "project": { "type": "string" } }), &["request"]),
                "Quote": obj(json!({ "id": { "type": "string" }, "wallet_id": { "type": "string" }, "estimate": { "type": "object" }, "expires_at_ms": { "type": "integer" },
                    "hold_millicredits": mc, "available_millicredits": mc, "would_exceed": { "type": "boolean" }, "shortfall": { "$ref": "#/components/schemas/Shortfall" } }), &["id", "wallet_id", "estimate", "expires_at_ms", "hold_millicredits", "available_millicredits", "would_exceed"]),
                "HoldRequest": obj(json!({ "quote_id": { "type": "string" } }), &["quote_id"]),
                "Hold": obj(json!({ "id": { "type": "string" }, "quote_id": { "type": "string" }, "wallet_id": { "type": "string" }, "amount_millicredits": mc,
                    "status": { "type": "string", "enum": ["active", "captured", "released", "expired", "refunded"] }, "captured_millicredits": mc, "expires_at_ms": { "type": "integer" }, "created_at_ms": { "type": "integer" } }),
                    &["id", "quote_id", "wallet_id", "amount_millicredits", "status", "expires_at_ms", "created_at_ms"]),
                "CaptureRequest": obj(json!({ "amount_millicredits": mc, "actual": { "$ref": "#/components/schemas/Request" } }), &[]),
                "Balance": obj(json!({ "wallet_id": { "type": "string" }, "kind": { "type": "string" }, "balance_millicredits": mc, "held_millicredits": mc, "available_millicredits": mc,
                    "state": { "type": "string", "enum": ["ok", "low", "critical"] }, "low_threshold_millicredits": mc, "critical_threshold_millicredits": mc, "lifetime_used_millicredits": mc,
                    "last_transaction": { "$ref": "#/components/schemas/Transaction" }, "plan_id": { "type": "string" } }),
                    &["wallet_id", "balance_millicredits", "held_millicredits", "available_millicredits", "state"]),
                "TopUpRequest": obj(json!({ "pack_id": { "type": "string" }, "quantity": { "type": "integer", "minimum": 1, "maximum": 100 } }), &["pack_id"]),
                "PlanRequest": obj(json!({ "plan_id": { "type": "string" } }), &["plan_id"]),
                "Transaction": obj(json!({ "seq": { "type": "integer" }, "kind": { "type": "string" }, "delta_millicredits": { "type": "integer" }, "held_delta_millicredits": { "type": "integer" },
                    "grant_id": { "type": "string" }, "hold_id": { "type": "string" }, "member_id": { "type": "string" }, "action": { "type": "string" }, "project": { "type": "string" }, "created_at_ms": { "type": "integer" } }),
                    &["seq", "kind", "delta_millicredits", "held_delta_millicredits", "created_at_ms"]),
                "TransactionPage": obj(json!({ "items": { "type": "array", "items": { "$ref": "#/components/schemas/Transaction" } }, "next_cursor": { "type": "string" } }), &["items"]),
                "Usage": obj(json!({ "wallet_id": { "type": "string" }, "group_by": { "type": "string" }, "rows": { "type": "array", "items": { "type": "object" } }, "total_millicredits": mc }), &["wallet_id", "group_by", "rows", "total_millicredits"]),
                "Members": { "type": "array", "items": { "type": "object" } },
                "NewMember": obj(json!({ "name": { "type": "string" }, "role": { "type": "string", "enum": ["viewer", "member", "admin", "owner"] } }), &["name", "role"]),
                "Earnings": obj(json!({ "wallet_id": { "type": "string" }, "available_millicredits": mc, "pending_millicredits": mc, "paid_out_millicredits": mc,
                    "platform_share_millicredits": mc, "minimum_payout_millicredits": mc, "payout_available": { "type": "boolean" } }), &["wallet_id", "available_millicredits", "pending_millicredits"]),
                "PayoutRequest": obj(json!({ "amount_millicredits": mc }), &["amount_millicredits"]),
                "PayeeRequest": obj(json!({ "wallet_id": { "type": "string" } }), &["wallet_id"]),
                "NewWallet": obj(json!({ "kind": { "type": "string", "enum": ["workspace", "personal", "organization"] } }), &["kind"]),
                "WalletCreated": obj(json!({ "wallet_id": { "type": "string" }, "kind": { "type": "string" } }), &["wallet_id", "kind"]),
                "Empty": { "type": "object" },
                "MemberCreated": obj(json!({ "member": { "type": "object" }, "token": { "type": "string" } }), &["member", "token"])
            }
        }
    })
}

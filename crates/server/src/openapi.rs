//! The OpenAPI 3.1 description served at `/v1/openapi.json`, built from one table of
//! operations. Each operation names the right it needs (`x-creditkit-right`, the
//! permission table's column) and its idempotency; the tidy test checks the table
//! against the router and the README.

use serde_json::{json, Map, Value};

/// method, path, summary, right needed, request body schema, response schema,
/// takes an Idempotency-Key, error codes beyond 401/404.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    bool,
    &'static [&'static str],
);

const OPERATIONS: &[Row] = &[
    ("get", "/v1/me", "Who is calling: actor, member, wallet and rights", Some("read"), None, "Me", false, &[]),
    ("get", "/v1/workspace", "The caller's workspace: name, card, thresholds", Some("read"), None, "Workspace", false, &[]),
    ("put", "/v1/thresholds", "Set the low and critical balance thresholds", Some("manage_wallets"), Some("Thresholds"), "Workspace", false, &["403"]),
    ("get", "/v1/card", "The workspace's rate card (JSON) for the browser estimator", Some("read"), None, "RateCard", false, &[]),
    ("put", "/v1/card", "Refused for every /v1 credential: rate cards are the operator's (POST /admin/v1/workspaces/{ws}/cards)", Some("set_card"), Some("RateCard"), "CardUploaded", false, &["403"]),
    ("get", "/v1/packs", "Credit packs with per-credit prices", Some("read"), None, "PackOffers", false, &[]),
    ("post", "/v1/quotes", "Price a request before the user confirms. A chat item may give `input_text` instead of `input_tokens`: the server counts it with the model's tokenizer, exactly as the widget does", Some("quote"), Some("QuoteRequest"), "Quote", false, &["400", "403"]),
    ("get", "/v1/quotes/{id}", "A quote given earlier (what the user confirmed)", Some("read"), None, "Quote", false, &[]),
    ("post", "/v1/holds", "Confirm a quote: reserve its maximum", Some("hold"), Some("HoldRequest"), "Hold", true, &["402", "403", "409", "410"]),
    ("get", "/v1/holds/{id}", "A hold", Some("read"), None, "Hold", false, &[]),
    ("post", "/v1/holds/{id}/capture", "Charge the actual amount (never above the hold); no body charges an exact quote at its price", Some("settle"), Some("CaptureRequest"), "Hold", true, &["403", "409", "422"]),
    ("post", "/v1/holds/{id}/release", "Release a hold in full (the operation failed: nothing charged)", Some("settle"), None, "Hold", true, &["403", "409"]),
    ("post", "/v1/holds/{id}/refund", "Refund a captured charge to the grants it came from", Some("refund"), None, "Hold", true, &["403", "409"]),
    ("post", "/v1/holds/{id}/extend", "Grow a streamed turn's hold as the model streams (once per chunk): never past the confirmed maximum; refused when a cap or the balance cannot cover the next chunk", Some("settle"), Some("ExtendRequest"), "Hold", true, &["402", "403", "409"]),
    ("get", "/v1/caps", "Spending caps with what was spent and held in their current period", Some("read"), None, "Caps", false, &[]),
    ("post", "/v1/caps", "Set a spending cap per wallet, member or project, per day, week, month or plan cycle", Some("set_caps"), Some("NewCap"), "Cap", false, &["400", "403"]),
    ("delete", "/v1/caps/{id}", "Remove a spending cap", Some("set_caps"), None, "Empty", false, &["403"]),
    ("get", "/v1/wallets", "The wallets the caller may use (the workspace's, organizations', a member's own personal one) with what each has available", Some("read"), None, "Wallets", false, &[]),
    ("post", "/v1/wallets", "Create a wallet, e.g. an organization wallet", Some("manage_wallets"), Some("NewWallet"), "WalletCreated", false, &["403"]),
    ("get", "/v1/earnings", "Creator earnings: available, pending (24 h), paid out, platform share", Some("read"), None, "Earnings", false, &[]),
    ("get", "/v1/payouts", "The wallet's payouts and where each stands: requested, paid (transferred to the creator's connected account) or failed (the earnings available again)", Some("read"), None, "Payouts", false, &[]),
    ("get", "/v1/payout-account", "Whether the creator's account with the payment provider can receive payouts: none, pending or ready", Some("read"), None, "PayoutAccount", false, &[]),
    ("post", "/v1/payout-account", "Create the creator's connected account (Stripe Connect) if there is none; answers the provider's onboarding page to finish or resume", Some("payout"), None, "PayoutAccount", false, &["403", "501"]),
    ("post", "/v1/payouts", "Request a payout of available earnings, at least the minimum", Some("payout"), Some("PayoutRequest"), "Earnings", true, &["403"]),
    ("get", "/v1/balance", "Balance, held, available, low-balance state", Some("read"), None, "Balance", false, &[]),
    ("get", "/v1/agents", "The card's agents for this member: a paid message's price (runtime + add-on) and the free messages left", Some("read"), None, "AgentOffers", false, &[]),
    ("get", "/v1/conversations/{id}", "What a chat's turns have cost so far (the page's conversation id, given when quoting), counted by the server; without `read_team` the caller's own turns", Some("read"), None, "ConversationUsage", false, &[]),
    ("get", "/v1/allowance", "The plan, what is left of its allowance and when it renews; the balance by when each part expires", Some("read"), None, "Allowance", false, &[]),
    ("get", "/v1/entitlements", "What the wallet's plan includes beyond credits: features and their limits", Some("read"), None, "Entitlements", false, &[]),
    ("get", "/v1/entitlements/{feature}", "Whether the plan includes a feature (`?amount=N`: up to N of it), for the backend before it runs it; when not, the smallest plan above that does", Some("read"), None, "EntitlementCheck", false, &["404"]),
    ("get", "/v1/price-notice", "A price change scheduled and not yet in force for this wallet (`null` when none): when it applies (a plan's renewal on or after the date), old → new for the member's most used actions", Some("read"), None, "PriceNotice", false, &[]),
    ("post", "/v1/topups", "Add a pack's credits, paid through the operator's own checkout", Some("grant"), Some("TopUpRequest"), "Balance", true, &["403"]),
    ("post", "/v1/plan", "Record a plan change (paid through the operator's checkout)", Some("change_plan"), Some("PlanRequest"), "Balance", true, &["403"]),
    ("post", "/v1/grants", "Give credits with a reason (support goodwill, a promotion)", Some("grant"), Some("GrantRequest"), "Balance", true, &["403"]),
    ("post", "/v1/revocations", "Take credits back with a reason (never reserved ones, never below zero)", Some("grant"), Some("RevokeRequest"), "Balance", true, &["400", "403"]),
    ("get", "/v1/usage", "Credits used by action, project, member or month, narrowed by `member_id`, `action`, `month` (2026-01); without `read_team` only the caller's own (naming another member: 403)", Some("read"), None, "Usage", false, &["400", "403"]),
    ("get", "/v1/transactions", "Ledger entries, newest first, by `type`, `member_id`, `action`, `month`; without `read_team` the caller's own and those of no member (naming another member: 403)", Some("read"), None, "TransactionPage", false, &["400", "403"]),
    ("get", "/v1/members", "Members", Some("read"), None, "Members", false, &[]),
    ("post", "/v1/members", "Add a member (only owners add owners)", Some("manage_members"), Some("NewMember"), "Member", false, &["403"]),
    ("get", "/v1/members/{id}", "A member", Some("read"), None, "Member", false, &[]),
    ("patch", "/v1/members/{id}", "Rename a member or change their role", Some("manage_members"), Some("MemberUpdate"), "Member", false, &["403"]),
    ("delete", "/v1/members/{id}", "Remove a member and end their sessions", Some("manage_members"), None, "Empty", false, &["403"]),
    ("delete", "/v1/members/{id}/sessions", "Sign a member out everywhere: end all their sessions", Some("mint_session"), None, "Empty", false, &["403"]),
    ("post", "/v1/sessions", "Mint a short-lived browser session for a member (the operator's backend)", Some("mint_session"), Some("SessionRequest"), "Session", false, &["403"]),
    ("delete", "/v1/sessions/{id}", "End a session (`current`: the caller's own, sign-out)", None, None, "Empty", false, &["403"]),
    ("post", "/v1/checkout", "Open the payment provider's checkout for a pack or a plan (members: their own wallet); credits arrive when its webhook confirms the payment", Some("buy"), Some("CheckoutRequest"), "CheckoutStarted", false, &["400", "403", "501", "502"]),
    ("get", "/v1/checkout/done", "The page a buyer returns to from the provider's checkout: what the provider has said so far (processing, received, failed, expired), never received before its webhook", None, None, "Text", false, &[]),
    ("get", "/v1/subscription", "The wallet's paid subscription (`null` on none): its plan, price a period, renewal, and what is set to change (a downgrade from the next period, an upgrade awaiting its invoice, the end at the period's end)", Some("read"), None, "Subscription", false, &[]),
    ("post", "/v1/subscription", "Change the paid plan through the provider (an upgrade now: the prorated difference invoiced and its credits granted when paid; a downgrade from the next period), or `cancel_at_period_end` true / false (cancel, resume); one subscription per wallet", Some("buy"), Some("SubscriptionChange"), "Subscription", false, &["400", "403", "501"]),
    ("get", "/v1/checkouts/{id}", "Where a payment stands: pending until the provider's webhook says paid, failed or expired (the caller's own; any of the workspace's with `read_team`)", Some("read"), None, "CheckoutStatus", false, &[]),
    ("post", "/v1/webhooks/{provider}", "The payment provider's signed webhook (`stripe`): checkout paid, invoice paid, charge refunded, subscription ended; each event applied once", None, None, "Object", false, &["400"]),
    ("get", "/v1/events", "Server-sent events: `balance` after every change to the wallet, `end` (an error body) when the credential ends (token may be passed as ?access_token=)", Some("read"), None, "EventStream", false, &[]),
    ("get", "/v1/tokenizers/{name}", "An encoding's token rank data (`o200k_base`, `cl100k_base`), public and immutable; the widget fetches it lazily and verifies its SHA-256 (the ETag)", None, None, "Binary", false, &[]),
    ("get", "/v1/openapi.json", "This document", None, None, "Object", false, &[]),
    ("get", "/admin/v1/workspaces", "Every workspace, a page at a time", Some("manage_workspaces"), None, "WorkspacePage", false, &[]),
    ("post", "/admin/v1/workspaces", "Onboard a customer: workspace, wallet, card version 1, optional plan", Some("manage_workspaces"), Some("NewWorkspace"), "Workspace", false, &["400", "422"]),
    ("get", "/admin/v1/workspaces/{ws}", "A workspace", Some("manage_workspaces"), None, "Workspace", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/suspend", "Suspend: sessions refused, nothing new spent, held operations still settle", Some("manage_workspaces"), None, "Workspace", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/resume", "Resume a suspended workspace", Some("manage_workspaces"), None, "Workspace", false, &[]),
    ("get", "/admin/v1/workspaces/{ws}/cards", "Every rate-card version", Some("manage_workspaces"), None, "CardVersions", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/cards", "Upload a new rate-card version (validated); returns what each action's price did. A version that raises or removes a price is scheduled (`effective_at_ms`, at least the notice lead time ahead, 14 days unless configured; emits `card.scheduled`) or says `without_notice`", Some("set_card"), Some("CardUpload"), "CardUploaded", false, &["400", "422"]),
    ("get", "/admin/v1/workspaces/{ws}/keys", "API keys (prefix, last use, expiry, revocation; never the secret)", Some("manage_workspaces"), None, "ApiKeys", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/keys", "Create an API key (the secret is shown once)", Some("manage_workspaces"), Some("NewApiKey"), "ApiKeyCreated", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/keys/{key}/rotate", "Replace a key; the old one works for `grace_seconds` (default 0)", Some("manage_workspaces"), Some("RotateApiKey"), "ApiKeyCreated", false, &["400"]),
    ("post", "/admin/v1/workspaces/{ws}/keys/{key}/revoke", "Revoke a key at once", Some("manage_workspaces"), None, "ApiKey", false, &[]),
    ("get", "/admin/v1/workspaces/{ws}/members", "Members", Some("manage_workspaces"), None, "Members", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/members", "Add a member", Some("manage_members"), Some("NewMember"), "Member", false, &["400"]),
    ("post", "/admin/v1/workspaces/{ws}/sessions", "Mint a browser session for a member", Some("mint_session"), Some("SessionRequest"), "Session", false, &["400"]),
    ("get", "/admin/v1/workspaces/{ws}/balance", "The workspace wallet's balance (or `wallet_id`'s)", Some("read"), None, "Balance", false, &[]),
    ("post", "/admin/v1/workspaces/{ws}/grants", "Give credits with a reason", Some("grant"), Some("GrantRequest"), "Balance", true, &["400"]),
    ("post", "/admin/v1/workspaces/{ws}/revocations", "Take credits back with a reason", Some("grant"), Some("RevokeRequest"), "Balance", true, &["400"]),
    ("put", "/v1/agents/{id}/payee", "Refused for every /v1 credential: payees are the operator's (PUT /admin/v1/workspaces/{ws}/agents/{agent}/payee)", Some("assign_payee"), Some("PayeeRequest"), "Empty", false, &["403"]),
    ("put", "/admin/v1/workspaces/{ws}/agents/{agent}/payee", "Pay an agent's publisher add-ons, wherever it is used, to this (its creator's) workspace's organization wallet; again to reassign", Some("assign_payee"), Some("PayeeRequest"), "Empty", false, &["400"]),
    ("get", "/admin/v1/webhooks", "Webhook endpoints (never their secrets)", Some("manage_workspaces"), None, "WebhookEndpoints", false, &[]),
    ("post", "/admin/v1/webhooks", "Subscribe an endpoint to events (all, or some; all workspaces, or one); its signing secret is shown once", Some("manage_workspaces"), Some("NewWebhookEndpoint"), "WebhookEndpointCreated", false, &["400"]),
    ("delete", "/admin/v1/webhooks/{id}", "Stop an endpoint; its pending deliveries are dropped", Some("manage_workspaces"), None, "Empty", false, &[]),
    ("get", "/admin/v1/payouts", "Payouts in a state (`?status=requested`, the default: the queue to decide), oldest first", Some("manage_workspaces"), None, "Payouts", false, &[]),
    ("post", "/admin/v1/payouts/{id}/approve", "Transfer a requested payout to the creator's connected account: paid, or failed when the provider refuses (the earnings available again)", Some("manage_workspaces"), None, "Payout", false, &["400", "404", "501"]),
    ("post", "/admin/v1/payouts/{id}/reject", "Refuse a payout with a reason: it fails and the earnings are available again", Some("manage_workspaces"), Some("PayoutRejection"), "Payout", false, &["400", "404"]),
    ("get", "/admin/v1/events", "Events, newest first, each with its deliveries and their attempts", Some("manage_workspaces"), None, "EventPage", false, &[]),
    ("get", "/healthz", "Liveness and database reachability", None, None, "Text", false, &[]),
    ("get", "/metrics", "Prometheus metrics", None, None, "Text", false, &[]),
];

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn operation(row: &Row) -> Value {
    let (_, path, summary, right, body, response, idempotent, errors) = *row;
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({ "description": "OK", "content": { "application/json": { "schema": schema_ref(response) } } }),
    );
    let mut codes: Vec<&str> = vec!["401", "404"];
    codes.extend_from_slice(errors);
    if right.is_some_and(|r| r != "read") {
        codes.push("429");
    }
    for status in codes {
        responses.insert(
            status.into(),
            json!({ "description": status, "content": { "application/json": { "schema": schema_ref("Error") } } }),
        );
    }
    let mut params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    if path.starts_with("/v1/") && right.is_some() {
        params.push(json!({ "name": "wallet_id", "in": "query", "required": false, "schema": { "type": "string" } }));
    }
    if idempotent {
        params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": true, "schema": { "type": "string", "maxLength": 200 },
            "description": "Retries with the same key and body return the first result; a different body is a 409." }));
    }
    let security = if path.starts_with("/admin/") {
        json!([{ "operator": [] }])
    } else if right.is_some() {
        json!([{ "bearer": [] }])
    } else {
        json!([])
    };
    let mut o = json!({ "summary": summary, "responses": responses, "parameters": params, "security": security });
    if let Some(r) = right {
        o["x-creditkit-right"] = json!(r);
    }
    if let Some(b) = body {
        o["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema_ref(b) } } });
    }
    o
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for row in OPERATIONS {
        let entry = paths.entry(row.1).or_insert_with(|| json!({}));
        entry[row.0] = operation(row);
    }
    let obj = |props: Value, required: &[&str]| json!({ "type": "object", "properties": props, "required": required });
    let s = |t: &str| json!({ "type": t });
    let mc = json!({ "type": "integer", "minimum": 0, "description": "milli-credits (1 credit = 1000)" });
    let codes: Vec<&str> = creditkit_api::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let rights: Vec<&str> = creditkit_api::Op::ALL.iter().map(|o| o.as_str()).collect();
    let roles = json!({ "type": "string", "enum": ["viewer", "member", "admin", "owner"] });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "creditkit", "version": env!("CARGO_PKG_VERSION"),
            "description": "Credits ledger: quote a request, hold its maximum, capture the actual amount or release it. Amounts are integer milli-credits. /v1 takes a workspace API key (the operator's backend) or a browser session; /admin/v1 the operator key. `x-creditkit-right` names the right each operation needs (ARCHITECTURE.md has the table)." },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "workspace API key (`ck_sk_…`, the operator's backend) or browser session token (`ck_ss_…`)" },
                "operator": { "type": "http", "scheme": "bearer", "description": "operator key (`ck_op_…`, `creditkit admin key create`)" }
            },
            "schemas": {
                "Error": obj(json!({ "code": { "type": "string", "enum": codes }, "message": s("string"), "path": s("string"),
                    "shortfall": schema_ref("Shortfall"), "retry_after_ms": s("integer") }), &["code", "message"]),
                "Shortfall": obj(json!({ "balance_millicredits": mc, "required_millicredits": mc, "shortfall_millicredits": mc, "pack": s("object"), "plan": s("object") }), &["balance_millicredits", "required_millicredits", "shortfall_millicredits"]),
                "RateCard": { "type": "object", "description": "`creditkit card schema` prints its JSON Schema" },
                "CardRef": obj(json!({ "id": s("string"), "version": s("string"), "hash": s("string") }), &["id", "version", "hash"]),
                "PackOffers": { "type": "array", "items": s("object") },
                "Request": { "type": "object", "description": "{action, quantity?, params?} or {items: [...]}" },
                "QuoteRequest": obj(json!({ "request": schema_ref("Request"), "wallet_id": s("string"), "project": s("string"), "conversation_id": s("string"),
                    "stream": obj(json!({ "first_output_tokens": s("integer") }), &["first_output_tokens"]) }), &["request"]),
                "Quote": obj(json!({ "id": s("string"), "wallet_id": s("string"), "estimate": s("object"), "expires_at_ms": s("integer"),
                    "hold_millicredits": mc, "available_millicredits": mc, "would_exceed": s("boolean"), "shortfall": schema_ref("Shortfall") }), &["id", "wallet_id", "estimate", "expires_at_ms", "hold_millicredits", "available_millicredits", "would_exceed"]),
                "HoldRequest": obj(json!({ "quote_id": s("string") }), &["quote_id"]),
                "Hold": obj(json!({ "id": s("string"), "quote_id": s("string"), "wallet_id": s("string"), "amount_millicredits": mc,
                    "status": { "type": "string", "enum": ["active", "captured", "released", "expired", "refunded"] }, "captured_millicredits": mc, "expires_at_ms": s("integer"), "created_at_ms": s("integer") }),
                    &["id", "quote_id", "wallet_id", "amount_millicredits", "status", "expires_at_ms", "created_at_ms"]),
                "CaptureRequest": obj(json!({ "amount_millicredits": mc, "actual": schema_ref("Request") }), &[]),
                "Balance": obj(json!({ "wallet_id": s("string"), "kind": s("string"), "balance_millicredits": mc, "held_millicredits": mc, "available_millicredits": mc,
                    "state": { "type": "string", "enum": ["ok", "low", "critical"] }, "low_threshold_millicredits": mc, "critical_threshold_millicredits": mc, "lifetime_used_millicredits": mc,
                    "last_transaction": schema_ref("Transaction"), "plan_id": s("string") }),
                    &["wallet_id", "balance_millicredits", "held_millicredits", "available_millicredits", "state"]),
                "TopUpRequest": obj(json!({ "pack_id": s("string"), "quantity": { "type": "integer", "minimum": 1, "maximum": 10000, "description": "1 to 100 units, or the pack's own range (`quantity` on the card: a pack bought by amount)" } }), &["pack_id"]),
                "PlanRequest": obj(json!({ "plan_id": s("string") }), &["plan_id"]),
                "GrantRequest": obj(json!({ "amount_millicredits": mc, "reason": s("string"), "wallet_id": s("string"), "expires_at_ms": s("integer") }), &["amount_millicredits", "reason"]),
                "RevokeRequest": obj(json!({ "amount_millicredits": mc, "grant_id": s("string"), "reason": s("string"), "wallet_id": s("string") }), &["reason"]),
                "Transaction": obj(json!({ "seq": s("integer"), "kind": { "type": "string", "enum": creditkit_api::TransactionKind::ALL.map(|k| k.as_str()) },
                    "delta_millicredits": s("integer"), "held_delta_millicredits": s("integer"), "grant_id": s("string"), "hold_id": s("string"), "member_id": s("string"),
                    "action": s("string"), "project": s("string"), "note": s("string"), "created_at_ms": s("integer") }),
                    &["seq", "kind", "delta_millicredits", "held_delta_millicredits", "created_at_ms"]),
                "TransactionPage": obj(json!({ "items": { "type": "array", "items": schema_ref("Transaction") }, "next_cursor": s("string") }), &["items"]),
                "Usage": obj(json!({ "wallet_id": s("string"), "group_by": s("string"), "rows": { "type": "array", "items": s("object") }, "total_millicredits": mc }), &["wallet_id", "group_by", "rows", "total_millicredits"]),
                "Member": obj(json!({ "id": s("string"), "name": s("string"), "role": roles, "external_id": s("string"), "created_at_ms": s("integer") }), &["id", "name", "role"]),
                "Members": { "type": "array", "items": schema_ref("Member") },
                "NewMember": obj(json!({ "name": s("string"), "role": roles, "external_id": s("string") }), &["name", "role"]),
                "MemberUpdate": obj(json!({ "name": s("string"), "role": roles }), &[]),
                "SessionRequest": obj(json!({ "member_id": s("string"), "external_id": s("string"), "wallet_id": s("string"),
                    "ttl_seconds": { "type": "integer", "minimum": 60, "maximum": 86400 }, "rights": { "type": "array", "items": { "type": "string", "enum": rights } } }), &[]),
                "Session": obj(json!({ "id": s("string"), "token": s("string"), "workspace_id": s("string"), "member_id": s("string"), "role": roles,
                    "wallet_id": s("string"), "rights": { "type": "array", "items": s("string") }, "expires_at_ms": s("integer") }), &["id", "token", "member_id", "role", "rights", "expires_at_ms"]),
                "Me": obj(json!({ "workspace_id": s("string"), "actor": s("string"), "member_id": s("string"), "wallet_id": s("string"), "rights": { "type": "array", "items": s("string") } }), &["workspace_id", "actor", "rights"]),
                "Earnings": obj(json!({ "wallet_id": s("string"), "available_millicredits": mc, "pending_millicredits": mc, "paid_out_millicredits": mc,
                    "platform_share_millicredits": mc, "minimum_payout_millicredits": mc, "payout_available": s("boolean") }), &["wallet_id", "available_millicredits", "pending_millicredits"]),
                "Wallets": { "type": "array", "items": obj(json!({ "wallet_id": s("string"), "kind": { "enum": ["workspace", "personal", "organization"] }, "available_millicredits": mc }),
                    &["wallet_id", "kind", "available_millicredits"]) },
                "AgentOffers": { "type": "array", "items": obj(json!({ "id": s("string"), "name": s("string"), "model_name": s("string"),
                    "per_message": obj(json!({ "min_millicredits": mc, "max_millicredits": mc, "expected_millicredits": mc }), &["min_millicredits", "max_millicredits", "expected_millicredits"]), "publisher_addon_millicredits": mc, "free_messages": s("integer"), "free_left": s("integer") }),
                    &["id", "name", "model_name", "per_message", "publisher_addon_millicredits", "free_messages", "free_left"]) },
                "ConversationUsage": obj(json!({ "conversation_id": s("string"), "turns": s("integer"), "charged_millicredits": mc, "held_millicredits": mc }),
                    &["conversation_id", "turns", "charged_millicredits", "held_millicredits"]),
                "Allowance": obj(json!({ "wallet_id": s("string"),
                    "plan": obj(json!({ "id": s("string"), "name": s("string"), "renewal": { "enum": ["monthly", "once"] }, "allowance_millicredits": mc,
                        "left_millicredits": mc, "renews_at_ms": s("integer") }), &["id", "name", "renewal", "allowance_millicredits", "left_millicredits"]),
                    "parts": { "type": "array", "items": obj(json!({ "source": s("string"), "name": s("string"), "remaining_millicredits": mc, "expires_at_ms": s("integer") }), &["source", "remaining_millicredits"]) } }),
                    &["wallet_id", "parts"]),
                "Entitlements": obj(json!({ "wallet_id": s("string"), "plan_id": s("string"), "features": { "type": "array", "items": obj(json!({ "id": s("string"), "name": s("string"), "limit": s("integer"), "unit": s("string") }), &["id", "name"]) } }), &["wallet_id", "features"]),
                "EntitlementCheck": obj(json!({ "feature": s("string"), "allowed": s("boolean"), "limit": s("integer"), "plan_id": s("string"), "upgrade_plan_id": s("string") }), &["feature", "allowed"]),
                "PriceNotice": { "oneOf": [{ "type": "null" }, obj(json!({ "version_no": s("integer"), "effective_at_ms": s("integer"), "applies_at_ms": s("integer"), "note": s("string"),
                    "changes": { "type": "array", "items": s("object") }, "other_changes": s("integer") }), &["version_no", "effective_at_ms", "applies_at_ms", "changes", "other_changes"])] },
                "Payout": obj(json!({ "id": s("string"), "wallet_id": s("string"), "amount_millicredits": mc, "amount_minor": s("integer"), "currency": s("string"),
                    "status": { "enum": ["requested", "paid", "failed"] }, "failure": s("string"), "created_at_ms": s("integer"), "decided_at_ms": s("integer") }),
                    &["id", "wallet_id", "amount_millicredits", "status", "created_at_ms"]),
                "Payouts": { "type": "array", "items": schema_ref("Payout") },
                "PayoutAccount": obj(json!({ "wallet_id": s("string"), "status": { "enum": ["none", "pending", "ready"] }, "onboarding_url": s("string") }), &["wallet_id", "status"]),
                "PayoutRejection": obj(json!({ "reason": s("string") }), &["reason"]),
                "PayoutRequest": obj(json!({ "amount_millicredits": mc }), &["amount_millicredits"]),
                "PayeeRequest": obj(json!({ "wallet_id": s("string") }), &["wallet_id"]),
                "NewWallet": obj(json!({ "kind": { "type": "string", "enum": ["workspace", "personal", "organization"] } }), &["kind"]),
                "WalletCreated": obj(json!({ "wallet_id": s("string"), "kind": s("string") }), &["wallet_id", "kind"]),
                "Thresholds": obj(json!({ "low_threshold_millicredits": mc, "critical_threshold_millicredits": mc }), &["low_threshold_millicredits", "critical_threshold_millicredits"]),
                "Workspace": obj(json!({ "id": s("string"), "name": s("string"), "wallet_id": s("string"), "card": schema_ref("CardRef"),
                    "low_threshold_millicredits": mc, "critical_threshold_millicredits": mc, "suspended": s("boolean"), "created_at_ms": s("integer") }), &["id", "name", "wallet_id", "card"]),
                "WorkspacePage": obj(json!({ "items": { "type": "array", "items": schema_ref("Workspace") }, "next_cursor": s("string") }), &["items"]),
                "NewWorkspace": obj(json!({ "name": s("string"), "card": schema_ref("RateCard"), "plan_id": s("string") }), &["name", "card"]),
                "CardUpload": obj(json!({ "card": schema_ref("RateCard"), "note": s("string"), "effective_at_ms": s("integer"), "without_notice": s("boolean") }), &["card"]),
                "CardVersion": obj(json!({ "version_no": s("integer"), "card": schema_ref("CardRef"), "note": s("string"), "created_at_ms": s("integer"), "effective_at_ms": s("integer") }), &["version_no", "card", "created_at_ms"]),
                "CardVersions": { "type": "array", "items": schema_ref("CardVersion") },
                "CardUploaded": obj(json!({ "version": schema_ref("CardVersion"), "diff": { "type": "array", "items": s("object") } }), &["version", "diff"]),
                "ApiKey": obj(json!({ "id": s("string"), "prefix": s("string"), "name": s("string"), "created_at_ms": s("integer"), "last_used_at_ms": s("integer"),
                    "expires_at_ms": s("integer"), "revoked_at_ms": s("integer") }), &["id", "prefix", "created_at_ms"]),
                "ApiKeys": { "type": "array", "items": schema_ref("ApiKey") },
                "ApiKeyCreated": { "allOf": [schema_ref("ApiKey"), obj(json!({ "secret": s("string") }), &["secret"])] },
                "NewApiKey": obj(json!({ "name": s("string") }), &[]),
                "RotateApiKey": obj(json!({ "grace_seconds": { "type": "integer", "minimum": 0, "maximum": 604800 } }), &[]),
                "EventType": { "type": "string", "enum": creditkit_api::admin::EventType::ALL.map(|e| e.as_str()) },
                "Event": obj(json!({ "id": s("string"), "type": schema_ref("EventType"), "created_at_ms": s("integer"), "workspace_id": s("string"), "data": s("object") }), &["id", "type", "created_at_ms", "workspace_id", "data"]),
                "NewWebhookEndpoint": obj(json!({ "url": s("string"), "events": { "type": "array", "items": schema_ref("EventType") }, "workspace_id": s("string") }), &["url"]),
                "WebhookEndpoint": obj(json!({ "id": s("string"), "url": s("string"), "events": { "type": "array", "items": schema_ref("EventType") }, "workspace_id": s("string"),
                    "created_at_ms": s("integer"), "disabled_at_ms": s("integer") }), &["id", "url", "events", "created_at_ms"]),
                "WebhookEndpoints": { "type": "array", "items": schema_ref("WebhookEndpoint") },
                "WebhookEndpointCreated": { "allOf": [schema_ref("WebhookEndpoint"), obj(json!({ "secret": s("string") }), &["secret"])] },
                "EventPage": obj(json!({ "items": { "type": "array", "items": { "allOf": [schema_ref("Event"), obj(json!({ "deliveries": { "type": "array", "items": s("object") } }), &["deliveries"])] } }, "next_cursor": s("string") }), &["items"]),
                "CheckoutRequest": obj(json!({ "pack_id": s("string"), "plan_id": s("string"), "quantity": { "type": "integer", "minimum": 1, "maximum": 10000, "description": "1 to 100 units, or the pack's own range (`quantity` on the card: a pack bought by amount)" },
                    "wallet_id": s("string"), "return_url": s("string") }), &[]),
                "SubscriptionChange": obj(json!({ "plan_id": s("string"), "cancel_at_period_end": s("boolean"), "wallet_id": s("string") }), &[]),
                "Subscription": { "oneOf": [{ "type": "null" }, obj(json!({ "wallet_id": s("string"), "plan_id": s("string"), "amount_minor": s("integer"), "currency": s("string"), "renews_at_ms": s("integer"),
                    "cancel_at_period_end": s("boolean"), "next_plan_id": s("string"), "upgrade_plan_id": s("string") }), &["wallet_id", "plan_id", "amount_minor", "currency", "cancel_at_period_end"])] },
                "CheckoutStatus": obj(json!({ "id": s("string"), "status": { "enum": ["pending", "paid", "failed", "expired"] }, "credits": s("integer"), "amount_minor": s("integer"), "currency": s("string"),
                    "pack_id": s("string"), "plan_id": s("string"), "created_at_ms": s("integer"), "completed_at_ms": s("integer") }), &["id", "status", "credits", "amount_minor", "currency", "created_at_ms"]),
                "CheckoutStarted": obj(json!({ "id": s("string"), "url": s("string"), "credits": s("integer"), "amount_minor": s("integer"), "currency": s("string") }), &["id", "url", "credits", "amount_minor", "currency"]),
                "Cap": obj(json!({ "id": s("string"), "wallet_id": s("string"), "scope": { "type": "string", "enum": ["wallet", "member", "project"] }, "subject": s("string"),
                    "limit_millicredits": mc, "period": { "type": "string", "enum": ["day", "week", "month", "cycle"] }, "period_start_ms": s("integer"), "resets_at_ms": s("integer"),
                    "spent_millicredits": mc, "reserved_millicredits": mc, "left_millicredits": mc }), &["id", "wallet_id", "scope", "limit_millicredits", "period", "resets_at_ms", "left_millicredits"]),
                "Caps": { "type": "array", "items": schema_ref("Cap") },
                "NewCap": obj(json!({ "scope": { "type": "string", "enum": ["wallet", "member", "project"] }, "subject": s("string"), "wallet_id": s("string"),
                    "limit_millicredits": mc, "period": { "type": "string", "enum": ["day", "week", "month", "cycle"] } }), &["scope", "limit_millicredits", "period"]),
                "ExtendRequest": obj(json!({ "generated_output_tokens": s("integer"), "reserve_output_tokens": s("integer") }), &["generated_output_tokens", "reserve_output_tokens"]),
                "EventStream": { "type": "string", "description": "text/event-stream of BalanceEvent" },
                "Binary": { "type": "string", "format": "binary" },
                "Text": s("string"),
                "Object": s("object"),
                "Empty": s("object")
            }
        }
    })
}

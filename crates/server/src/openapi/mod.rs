//! The OpenAPI 3.1 documents, `/v1/openapi.json` and `/admin/v1/openapi.json`, generated
//! by aide from the routers themselves:
//!
//! - each handler's extractors and return type give its parameters, request body and
//!   response schema (schemars derives on the wire types in `creditkit-api`, the same
//!   structs serde writes);
//! - the extractors say what they add: [`Auth`](crate::extract::Auth) the bearer scheme
//!   and the errors any authenticated call can meet, [`Key`](crate::extract::Key) the
//!   `Idempotency-Key` header, [`Body`](crate::extract::Body) the body errors;
//! - each route, where it is registered, adds its summary, the right it needs
//!   (`x-creditkit-right`, the permission table's column) and the error codes beyond
//!   those ([`doc`]).
//!
//! Nothing here names a field: a wire type changed is a document changed.

use std::sync::OnceLock;

use aide::openapi::{OpenApi, Operation};
use aide::transform::TransformOperation;
use axum::Json;
use creditkit_api::{ErrorCode, Op};
use serde_json::{json, Map, Value};

mod io;
mod links;

pub(crate) use io::{Acknowledged, CardJson, EventStream, Health, Metrics, RankData};
use links::{add_links, operation_id};

/// Extensions the extractors and [`doc`] leave on an operation; [`finish`] turns them
/// into the standard fields (responses, security, parameters) and keeps the codes.
const ERRORS: &str = "x-creditkit-errors";
const AUTH: &str = "x-creditkit-auth";
const IDEMPOTENT: &str = "x-creditkit-idempotent";
const OPTIONAL_BODY: &str = "x-creditkit-optional-body";

/// The codes any call with a credential can be answered with.
const AUTH_ERRORS: &[ErrorCode] = &[
    ErrorCode::Unauthorized,
    ErrorCode::SessionExpired,
    ErrorCode::Forbidden,
    ErrorCode::WorkspaceSuspended,
    ErrorCode::NotFound,
    ErrorCode::RateLimited,
];

pub(crate) fn add_errors(op: &mut Operation, codes: &[ErrorCode]) {
    let list = op
        .extensions
        .entry(ERRORS.to_string())
        .or_insert_with(|| json!([]));
    if let Some(list) = list.as_array_mut() {
        for code in codes {
            let name = json!(code.as_str());
            if !list.contains(&name) {
                list.push(name);
            }
        }
    }
}

/// A route's own documentation: what it does, the right it needs (`None`: public, or
/// any credential) and the error codes it adds to those of its extractors.
pub(crate) fn doc(
    right: Option<Op>,
    summary: &'static str,
    errors: &'static [ErrorCode],
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    move |t| {
        let mut t = t.summary(summary);
        let op = t.inner_mut();
        if let Some(right) = right {
            op.extensions
                .insert("x-creditkit-right".into(), json!(right.as_str()));
        }
        add_errors(op, errors);
        t
    }
}

/// Which document.
#[derive(Clone, Copy)]
pub enum Face {
    /// `/v1` (workspace API key or browser session), plus `/healthz` and `/metrics`.
    Workspace,
    /// `/admin/v1` (operator key).
    Operator,
}

static WORKSPACE_DOC: OnceLock<Value> = OnceLock::new();
static OPERATOR_DOC: OnceLock<Value> = OnceLock::new();

/// The document served for `face` (kept by [`finish`] when the router was built).
pub fn document(face: Face) -> Value {
    let cell = match face {
        Face::Workspace => &WORKSPACE_DOC,
        Face::Operator => &OPERATOR_DOC,
    };
    if cell.get().is_none() {
        let _ = crate::api_routers();
    }
    cell.get().cloned().unwrap_or(Value::Null)
}

pub(crate) async fn get_workspace_doc() -> Json<Value> {
    Json(document(Face::Workspace))
}

pub(crate) async fn get_operator_doc() -> Json<Value> {
    Json(document(Face::Operator))
}

/// aide's output made complete: errors as responses with [`ApiError`]'s schema,
/// security, path parameters, the idempotency header, the info block; then kept for
/// [`document`].
pub(crate) fn finish(api: OpenApi, face: Face) {
    let mut doc = serde_json::to_value(&api).unwrap_or(Value::Null);
    let (title, description) = match face {
        Face::Workspace => (
            "creditkit workspace API",
            "Credits ledger: quote a request, hold its maximum, capture the actual amount or release it. Amounts are integer milli-credits. /v1 takes a workspace API key (the operator's backend) or a browser session. `x-creditkit-right` names the right each operation needs (ARCHITECTURE.md has the table); `x-creditkit-errors` the error codes it can answer with.",
        ),
        Face::Operator => (
            "creditkit operator API",
            "The operator's API (/admin/v1, the operator key): onboard customers, publish rate cards, keys, webhooks, payouts. `x-creditkit-errors` lists the error codes each operation can answer with.",
        ),
    };
    doc["openapi"] = json!("3.1.0");
    doc["info"] =
        json!({ "title": title, "version": env!("CARGO_PKG_VERSION"), "description": description });
    doc["servers"] = json!([{ "url": "/" }]);
    let schemes = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "workspace API key (`ck_sk_…`, the operator's backend) or browser session token (`ck_ss_…`)" },
        "access_token": { "type": "apiKey", "in": "query", "name": "access_token", "description": "the same token, for EventSource (which sends no headers)" },
        "operator": { "type": "http", "scheme": "bearer", "description": "operator key (`ck_op_…`, `creditkit admin key create`)" }
    });
    let components = doc["components"].as_object_mut().map(std::mem::take);
    let mut components = components.unwrap_or_default();
    components.insert("securitySchemes".into(), schemes);
    let schemas = components.entry("schemas").or_insert_with(|| json!({}));
    let (card, defs) = rate_card_schema();
    schemas["RateCard"] = card;
    for (name, def) in defs {
        schemas[format!("RateCard_{name}")] = def;
    }
    doc["components"] = Value::Object(components);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                op["operationId"] = json!(operation_id(method, path));
                complete(path, op);
            }
        }
    }
    add_links(&mut doc);
    bound_integers(&mut doc);
    let cell = match face {
        Face::Workspace => &WORKSPACE_DOC,
        Face::Operator => &OPERATOR_DOC,
    };
    let _ = cell.set(doc);
}

/// A parameter is absent or has a value: `null` is no value on the wire (schemars
/// writes an `Option` as "or null").
fn not_null(schema: &mut Value) {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
    }
    if let Some(any) = schema.get_mut("anyOf").and_then(Value::as_array_mut) {
        any.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
    }
}

/// An integer's JSON Schema says what the Rust type holds: schemars names the format
/// (`uint64`), the bounds make it a constraint a validator checks.
fn bound_integers(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            let bounds = match o.get("format").and_then(Value::as_str) {
                Some("uint64") => Some((json!(0), json!(u64::MAX))),
                Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
                Some("uint32") => Some((json!(0), json!(u32::MAX))),
                Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
                Some("uint16") => Some((json!(0), json!(u16::MAX))),
                Some("uint8") => Some((json!(0), json!(u8::MAX))),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                o.entry("minimum").or_insert(min);
                o.entry("maximum").or_insert(max);
            }
            for v in o.values_mut() {
                bound_integers(v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// The rate card's own JSON Schema (`creditkit card schema`), a valid 3.1 schema, and
/// its `$defs` hoisted to components of their own (`RateCard_cost`): generators resolve
/// references to components, not into them.
fn rate_card_schema() -> (Value, Map<String, Value>) {
    let mut schema: Value =
        serde_json::from_str(include_str!("../../../../schema/ratecard.schema.json"))
            .unwrap_or_else(|_| json!({ "type": "object" }));
    fn rebase(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get_mut("$ref") {
                    if let Some(rest) = r.strip_prefix("#/$defs/") {
                        *r = format!("#/components/schemas/RateCard_{rest}");
                    }
                }
                o.values_mut().for_each(rebase);
            }
            Value::Array(a) => a.iter_mut().for_each(rebase),
            _ => {}
        }
    }
    rebase(&mut schema);
    let mut defs = Map::new();
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
        o.remove("$id");
        if let Some(Value::Object(d)) = o.remove("$defs") {
            defs = d;
        }
    }
    (schema, defs)
}

fn complete(path: &str, op: &mut Value) {
    let Some(o) = op.as_object_mut() else { return };
    let params = o
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut params = params;
    for name in path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
    {
        if !params
            .iter()
            .any(|p| p["in"] == "path" && p["name"] == name)
        {
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
    }
    if o.remove(IDEMPOTENT).is_some() {
        params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": true,
            "schema": { "type": "string", "minLength": 1, "maxLength": 200 },
            "description": "Retries with the same key and body return the first result; a different body is a 409." }));
    }
    for p in &mut params {
        if let Some(schema) = p.get_mut("schema") {
            not_null(schema);
        }
    }
    o.insert("parameters".into(), Value::Array(params));
    if let Some(schema) = o
        .get_mut("requestBody")
        .and_then(|b| b.pointer_mut("/content/application~1json/schema"))
    {
        if schema == &json!(true) || schema == &json!({}) {
            *schema = json!({ "type": "object" });
        }
    }
    let auth = o.remove(AUTH);
    let security = match auth.as_ref().and_then(Value::as_str) {
        Some("bearer") => json!([{ "bearer": [] }]),
        Some("bearer_or_query") => json!([{ "bearer": [] }, { "access_token": [] }]),
        Some("operator") => json!([{ "operator": [] }]),
        _ => json!([]),
    };
    o.insert("security".into(), security);
    if o.remove(OPTIONAL_BODY).is_some() {
        if let Some(body) = o.get_mut("requestBody") {
            body["required"] = json!(false);
        }
    }
    let codes: Vec<ErrorCode> = o
        .get(ERRORS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(ErrorCode::parse)
        .collect();
    // Any request can be malformed (a NUL in the URL, a query that does not parse).
    let mut codes = codes;
    if !codes.contains(&ErrorCode::InvalidRequest) {
        codes.insert(0, ErrorCode::InvalidRequest);
        if let Some(list) = o.get_mut(ERRORS).and_then(Value::as_array_mut) {
            list.insert(0, json!(ErrorCode::InvalidRequest.as_str()));
        } else {
            o.insert(ERRORS.into(), json!([ErrorCode::InvalidRequest.as_str()]));
        }
    }
    let responses = o
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else { return };
    if let Some(ok) = responses.get_mut("200") {
        if ok["description"].as_str().is_none_or(str::is_empty) {
            ok["description"] = json!("OK");
        }
    }
    let mut by_status: Map<String, Value> = Map::new();
    for code in codes {
        let status = code.status().to_string();
        let list = by_status.entry(status).or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(json!(code.as_str()));
        }
    }
    for (status, names) in by_status {
        let listed: Vec<String> = names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|n| format!("`{n}`"))
            .collect();
        responses.insert(
            status,
            json!({
                "description": format!("error: {}", listed.join(", ")),
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ApiError" } } },
                "x-creditkit-codes": names,
            }),
        );
    }
}

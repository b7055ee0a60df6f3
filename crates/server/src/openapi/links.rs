//! The links between operations (OpenAPI links) and the operation ids they name.

use serde_json::{json, Value};

/// What one operation's answer lets a client call next (OpenAPI links, which a
/// stateful fuzzer follows: quote → hold → capture): from (method, path), to (method,
/// path), and the values it takes from the answer (`id` into a path parameter, or into
/// a body field when the name starts with `body.`).
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const WS: &[(&str, &str)] = &[("ws", "$response.body#/id")];

const LINKS: &[Link] = &[
    (
        "post",
        "/v1/quotes",
        "post",
        "/v1/holds",
        &[("body.quote_id", "$response.body#/id")],
    ),
    ("post", "/v1/quotes", "get", "/v1/quotes/{id}", ID),
    ("post", "/v1/holds", "get", "/v1/holds/{id}", ID),
    ("post", "/v1/holds", "post", "/v1/holds/{id}/capture", ID),
    ("post", "/v1/holds", "post", "/v1/holds/{id}/release", ID),
    ("post", "/v1/holds", "post", "/v1/holds/{id}/refund", ID),
    ("post", "/v1/holds", "post", "/v1/holds/{id}/extend", ID),
    (
        "post",
        "/v1/holds/{id}/capture",
        "post",
        "/v1/holds/{id}/refund",
        ID,
    ),
    ("post", "/v1/caps", "delete", "/v1/caps/{id}", ID),
    ("post", "/v1/members", "get", "/v1/members/{id}", ID),
    ("post", "/v1/members", "patch", "/v1/members/{id}", ID),
    ("post", "/v1/members", "delete", "/v1/members/{id}", ID),
    (
        "post",
        "/v1/members",
        "delete",
        "/v1/members/{id}/sessions",
        ID,
    ),
    ("post", "/v1/sessions", "delete", "/v1/sessions/{id}", ID),
    ("post", "/v1/checkout", "get", "/v1/checkouts/{id}", ID),
    (
        "post",
        "/admin/v1/workspaces",
        "get",
        "/admin/v1/workspaces/{ws}",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/suspend",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/resume",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "get",
        "/admin/v1/workspaces/{ws}/cards",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/cards",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "get",
        "/admin/v1/workspaces/{ws}/keys",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/keys",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "get",
        "/admin/v1/workspaces/{ws}/members",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/members",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/sessions",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "get",
        "/admin/v1/workspaces/{ws}/balance",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/grants",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces",
        "post",
        "/admin/v1/workspaces/{ws}/revocations",
        WS,
    ),
    (
        "post",
        "/admin/v1/workspaces/{ws}/keys",
        "post",
        "/admin/v1/workspaces/{ws}/keys/{key}/rotate",
        &[("ws", "$request.path.ws"), ("key", "$response.body#/id")],
    ),
    (
        "post",
        "/admin/v1/workspaces/{ws}/keys",
        "post",
        "/admin/v1/workspaces/{ws}/keys/{key}/revoke",
        &[("ws", "$request.path.ws"), ("key", "$response.body#/id")],
    ),
    (
        "post",
        "/admin/v1/webhooks",
        "delete",
        "/admin/v1/webhooks/{id}",
        ID,
    ),
];

/// Each link whose both ends are in this document, on the source's 200 answer; a link
/// naming an operation that does not exist is a bug the tidy test reports.
pub(super) fn add_links(doc: &mut Value) {
    for (from_method, from, to_method, to, values) in LINKS {
        if doc["paths"][*to][*to_method].is_null() {
            continue;
        }
        let Some(ok) = doc["paths"][*from][*from_method]["responses"]["200"].as_object_mut() else {
            continue;
        };
        let mut link = json!({ "operationId": operation_id(to_method, to) });
        for (name, expr) in *values {
            match name.strip_prefix("body.") {
                Some(field) => link["requestBody"][field] = json!(expr),
                None => link["parameters"][*name] = json!(expr),
            }
        }
        let links = ok.entry("links").or_insert_with(|| json!({}));
        links[operation_id(to_method, to)] = link;
    }
}

/// `post_v1_holds_id_capture`: the method and the path's words, for generated clients
/// and for links.
pub(super) fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    format!("{method}_{}", words.join("_"))
}

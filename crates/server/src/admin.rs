//! `/admin/v1`: the operator's API, behind the operator key. Onboards customers
//! (workspaces, API keys, members, card versions) and corrects balances (grants and
//! revocations with a reason). Each call acts as the operator on one workspace through
//! the same ledger methods, and so the same permission check, as `/v1`.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use creditkit_api::admin::{
    ApiKeyCreated, ApiKeyInfo, CardUpload, CardUploaded, CardVersion, EventRecord, GrantRequest,
    NewApiKey, NewWebhookEndpoint, NewWorkspace, RevokeRequest, RotateApiKey, WebhookEndpoint,
    WebhookEndpointCreated,
};
use creditkit_api::{Balance, Member, NewMember, Page, Session, SessionRequest, Workspace};
use creditkit_ledger::Principal;
use serde::Deserialize;

use crate::extract::{ApiResult, Body, Key, MaybeBody, OperatorAuth};
use crate::AppState;

/// Every `/admin/v1` route, one per line (the tidy test reads them from here).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list_workspaces).post(create_workspace))
        .route("/workspaces/{ws}", get(get_workspace))
        .route("/workspaces/{ws}/suspend", post(suspend))
        .route("/workspaces/{ws}/resume", post(resume))
        .route("/workspaces/{ws}/cards", get(list_cards).post(upload_card))
        .route("/workspaces/{ws}/keys", get(list_keys).post(create_key))
        .route("/workspaces/{ws}/keys/{key}/rotate", post(rotate_key))
        .route("/workspaces/{ws}/keys/{key}/revoke", post(revoke_key))
        .route(
            "/workspaces/{ws}/members",
            get(list_members).post(create_member),
        )
        .route("/workspaces/{ws}/sessions", post(create_session))
        .route("/workspaces/{ws}/balance", get(balance))
        .route("/workspaces/{ws}/grants", post(grant))
        .route("/workspaces/{ws}/revocations", post(revoke))
        .route(
            "/workspaces/{ws}/agents/{agent}/payee",
            axum::routing::put(put_payee),
        )
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}", axum::routing::delete(disable_webhook))
        .route("/events", get(list_events))
        .route("/payouts", get(crate::payments::payouts::list))
        .route(
            "/payouts/{id}/approve",
            post(crate::payments::payouts::approve),
        )
        .route(
            "/payouts/{id}/reject",
            post(crate::payments::payouts::reject),
        )
}

/// The operator acting on `ws`, once it is known to exist.
async fn on(s: &AppState, ws: &str) -> Result<Principal, crate::extract::AppError> {
    s.ledger.workspace(ws).await?;
    Ok(Principal::operator(ws))
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_workspaces(
    State(s): State<AppState>,
    _: OperatorAuth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Page<Workspace>> {
    let p = Principal::operator("");
    Ok(Json(
        s.ledger
            .list_workspaces(&p, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

async fn create_workspace(
    State(s): State<AppState>,
    _: OperatorAuth,
    Body(req): Body<NewWorkspace>,
) -> ApiResult<Workspace> {
    let p = Principal::operator("");
    Ok(Json(
        s.ledger
            .create_workspace(&p, &req.name, &req.card.to_string(), req.plan_id.as_deref())
            .await?,
    ))
}

async fn get_workspace(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<Workspace> {
    Ok(Json(s.ledger.workspace(&ws).await?))
}

async fn suspend(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<Workspace> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.set_suspended(&p, true).await?))
}

async fn resume(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<Workspace> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.set_suspended(&p, false).await?))
}

async fn list_cards(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<Vec<CardVersion>> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.card_versions(&p).await?))
}

async fn upload_card(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Body(req): Body<CardUpload>,
) -> ApiResult<CardUploaded> {
    let p = on(&s, &ws).await?;
    Ok(Json(
        s.ledger
            .upload_card(&p, &req.card.to_string(), &(&req).into())
            .await?,
    ))
}

async fn list_keys(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<Vec<ApiKeyInfo>> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.api_keys(&p).await?))
}

async fn create_key(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    MaybeBody(req): MaybeBody<NewApiKey>,
) -> ApiResult<ApiKeyCreated> {
    let p = on(&s, &ws).await?;
    Ok(Json(
        s.ledger.create_api_key(&p, req.name.as_deref()).await?,
    ))
}

async fn rotate_key(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path((ws, key)): Path<(String, String)>,
    MaybeBody(req): MaybeBody<RotateApiKey>,
) -> ApiResult<ApiKeyCreated> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.rotate_api_key(&p, &key, &req).await?))
}

async fn revoke_key(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path((ws, key)): Path<(String, String)>,
) -> ApiResult<ApiKeyInfo> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.revoke_api_key(&p, &key).await?))
}

async fn list_members(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<Vec<Member>> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.members(&p).await?))
}

async fn create_member(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Body(req): Body<NewMember>,
) -> ApiResult<Member> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.add_member(&p, &req).await?))
}

async fn create_session(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Body(req): Body<SessionRequest>,
) -> ApiResult<Session> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.create_session(&p, &req).await?))
}

#[derive(Deserialize)]
struct WalletQuery {
    wallet_id: Option<String>,
}

async fn balance(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Query(q): Query<WalletQuery>,
) -> ApiResult<Balance> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.balance(&p, q.wallet_id.as_deref()).await?))
}

async fn grant(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Key(k): Key,
    Body(req): Body<GrantRequest>,
) -> ApiResult<Balance> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.grant(&p, &req, &k).await?))
}

async fn revoke(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Key(k): Key,
    Body(req): Body<RevokeRequest>,
) -> ApiResult<Balance> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.revoke(&p, &req, &k).await?))
}

async fn list_webhooks(
    State(s): State<AppState>,
    _: OperatorAuth,
) -> ApiResult<Vec<WebhookEndpoint>> {
    Ok(Json(
        s.ledger.webhook_endpoints(&Principal::operator("")).await?,
    ))
}

async fn create_webhook(
    State(s): State<AppState>,
    _: OperatorAuth,
    Body(req): Body<NewWebhookEndpoint>,
) -> ApiResult<WebhookEndpointCreated> {
    Ok(Json(
        s.ledger
            .create_webhook_endpoint(&Principal::operator(""), &req)
            .await?,
    ))
}

async fn disable_webhook(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, crate::extract::AppError> {
    s.ledger
        .disable_webhook_endpoint(&Principal::operator(""), &id)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct EventsQuery {
    workspace_id: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Events, newest first, with each delivery and its attempts.
async fn list_events(
    State(s): State<AppState>,
    _: OperatorAuth,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Page<EventRecord>> {
    Ok(Json(
        s.ledger
            .events(
                &Principal::operator(""),
                q.workspace_id.as_deref(),
                q.cursor.as_deref(),
                q.limit,
            )
            .await?,
    ))
}

/// The creator's workspace `ws` is paid an agent's publisher add-ons, into its wallet.
async fn put_payee(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path((ws, agent)): Path<(String, String)>,
    Body(req): Body<creditkit_api::PayeeRequest>,
) -> Result<axum::http::StatusCode, crate::extract::AppError> {
    let p = on(&s, &ws).await?;
    s.ledger.set_payee(&p, &agent, &req.wallet_id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

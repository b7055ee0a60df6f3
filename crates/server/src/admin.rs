//! `/admin/v1`: the operator's API, behind the operator key. Onboards customers
//! (workspaces, API keys, members, card versions) and corrects balances (grants and
//! revocations with a reason). Each call acts as the operator on one workspace through
//! the same ledger methods, and so the same permission check, as `/v1`.

use crate::extract::Query;
use aide::axum::routing::{delete_with, get_with, post_with, put_with};
use aide::axum::ApiRouter;
use axum::extract::{Path, State};
use axum::Json;
use creditkit_api::admin::{
    ApiKeyCreated, ApiKeyInfo, CardUpload, CardUploaded, CardVersion, EventRecord, GrantRequest,
    NewApiKey, NewWebhookEndpoint, NewWorkspace, RevokeRequest, RotateApiKey, WebhookEndpoint,
    WebhookEndpointCreated,
};
use creditkit_api::{Balance, Member, NewMember, Page, Session, SessionRequest, Workspace};
use creditkit_ledger::Principal;
use serde::Deserialize;

use crate::extract::{ApiResult, Body, Key, MaybeBody, OperatorAuth};
use crate::openapi::doc;
use crate::AppState;
use creditkit_api::ErrorCode as E;
use creditkit_api::Op;

/// Every `/admin/v1` route, one per line (the tidy test reads them from here).
pub(crate) fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/workspaces", get_with(list_workspaces, doc(Some(Op::ManageWorkspaces), "Every workspace, a page at a time", &[])).post_with(create_workspace, doc(Some(Op::ManageWorkspaces), "Onboard a customer: workspace, wallet, card version 1, optional plan", &[E::InvalidParam, E::InvalidCard])))
        .api_route("/workspaces/{ws}", get_with(get_workspace, doc(Some(Op::ManageWorkspaces), "A workspace", &[])))
        .api_route("/workspaces/{ws}/suspend", post_with(suspend, doc(Some(Op::ManageWorkspaces), "Suspend: sessions refused, nothing new spent, held operations still settle", &[])))
        .api_route("/workspaces/{ws}/resume", post_with(resume, doc(Some(Op::ManageWorkspaces), "Resume a suspended workspace", &[])))
        .api_route("/workspaces/{ws}/cards", get_with(list_cards, doc(Some(Op::ManageWorkspaces), "Every rate-card version", &[])).post_with(upload_card, doc(Some(Op::SetCard), "Upload a new rate-card version (validated); returns what each action's price did. A version that raises or removes a price is scheduled (`effective_at_ms`, at least the notice lead time ahead, 14 days unless configured; emits `card.scheduled`) or says `without_notice`", &[E::InvalidParam, E::InvalidCard])))
        .api_route("/workspaces/{ws}/keys", get_with(list_keys, doc(Some(Op::ManageWorkspaces), "API keys (prefix, last use, expiry, revocation; never the secret)", &[])).post_with(create_key, doc(Some(Op::ManageWorkspaces), "Create an API key (the secret is shown once)", &[])))
        .api_route("/workspaces/{ws}/keys/{key}/rotate", post_with(rotate_key, doc(Some(Op::ManageWorkspaces), "Replace a key; the old one works for `grace_seconds` (default 0)", &[E::InvalidParam])))
        .api_route("/workspaces/{ws}/keys/{key}/revoke", post_with(revoke_key, doc(Some(Op::ManageWorkspaces), "Revoke a key at once", &[])))
        .api_route("/workspaces/{ws}/members",
            get_with(list_members, doc(Some(Op::ManageWorkspaces), "Members", &[])).post_with(create_member, doc(Some(Op::ManageMembers), "Add a member", &[E::InvalidParam])),
        )
        .api_route("/workspaces/{ws}/sessions", post_with(create_session, doc(Some(Op::MintSession), "Mint a browser session for a member", &[E::InvalidParam])))
        .api_route("/workspaces/{ws}/balance", get_with(balance, doc(Some(Op::Read), "The workspace wallet's balance (or `wallet_id`'s)", &[])))
        .api_route("/workspaces/{ws}/auto-top-up", get_with(get_topup_bounds, doc(Some(Op::ManageWorkspaces), "What the workspace's auto top-up rules may do: on or off, the most top-ups and money a month", &[])).put_with(put_topup_bounds, doc(Some(Op::ManageWorkspaces), "Set them: off stops every rule of the workspace from firing; lower limits apply to rules set before", &[E::InvalidParam])))
        .api_route("/workspaces/{ws}/grants", post_with(grant, doc(Some(Op::Grant), "Give credits with a reason", &[E::InvalidParam])))
        .api_route("/workspaces/{ws}/revocations", post_with(revoke, doc(Some(Op::Grant), "Take credits back with a reason", &[E::InvalidParam])))
        .api_route("/workspaces/{ws}/agents/{agent}/payee",
            put_with(put_payee, doc(Some(Op::AssignPayee), "Pay an agent's publisher add-ons, wherever it is used, to this (its creator's) workspace's organization wallet; again to reassign", &[E::InvalidParam])),
        )
        .api_route("/webhooks", get_with(list_webhooks, doc(Some(Op::ManageWorkspaces), "Webhook endpoints (never their secrets)", &[])).post_with(create_webhook, doc(Some(Op::ManageWorkspaces), "Subscribe an endpoint to events (all, or some; all workspaces, or one); its signing secret is shown once", &[E::InvalidParam])))
        .api_route("/webhooks/{id}", delete_with(disable_webhook, doc(Some(Op::ManageWorkspaces), "Stop an endpoint; its pending deliveries are dropped", &[])))
        .api_route("/events", get_with(list_events, doc(Some(Op::ManageWorkspaces), "Events, newest first, each with its deliveries and their attempts", &[])))
        .api_route("/payouts", get_with(crate::payments::payouts::list, doc(Some(Op::ManageWorkspaces), "Payouts in a state (`?status=requested`, the default: the queue to decide), oldest first", &[])))
        .api_route("/payouts/{id}/approve",
            post_with(crate::payments::payouts::approve, doc(Some(Op::ManageWorkspaces), "Transfer a requested payout to the creator's connected account: paid, or failed when the provider refuses (the earnings available again)", &[E::InvalidParam, E::NotFound, E::PaymentsNotConfigured])),
        )
        .api_route("/payouts/{id}/reject",
            post_with(crate::payments::payouts::reject, doc(Some(Op::ManageWorkspaces), "Refuse a payout with a reason: it fails and the earnings are available again", &[E::InvalidParam, E::NotFound])),
        )
}

/// The operator acting on `ws`, once it is known to exist.
async fn on(s: &AppState, ws: &str) -> Result<Principal, crate::extract::AppError> {
    s.ledger.workspace(ws).await?;
    Ok(Principal::operator(ws))
}

#[derive(Deserialize, schemars::JsonSchema)]
struct ListQuery {
    cursor: Option<String>,
    /// At most 200 a page.
    #[schemars(range(min = 1, max = 200))]
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

#[derive(Deserialize, schemars::JsonSchema)]
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

async fn get_topup_bounds(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
) -> ApiResult<creditkit_api::AutoTopUpBounds> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.topup_bounds(&p).await?))
}

async fn put_topup_bounds(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(ws): Path<String>,
    Body(bounds): Body<creditkit_api::AutoTopUpBounds>,
) -> ApiResult<creditkit_api::AutoTopUpBounds> {
    let p = on(&s, &ws).await?;
    Ok(Json(s.ledger.set_topup_bounds(&p, &bounds).await?))
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
) -> Result<axum::response::NoContent, crate::extract::AppError> {
    s.ledger
        .disable_webhook_endpoint(&Principal::operator(""), &id)
        .await?;
    Ok(axum::response::NoContent)
}

#[derive(Deserialize, schemars::JsonSchema)]
struct EventsQuery {
    workspace_id: Option<String>,
    cursor: Option<String>,
    /// At most 200 a page.
    #[schemars(range(min = 1, max = 200))]
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
) -> Result<axum::response::NoContent, crate::extract::AppError> {
    let p = on(&s, &ws).await?;
    s.ledger.set_payee(&p, &agent, &req.wallet_id).await?;
    Ok(axum::response::NoContent)
}

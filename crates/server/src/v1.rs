//! `/v1`: the workspace API. Each handler extracts, calls one [`Ledger`] method (which
//! checks the caller against the permission table) and maps its result.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use creditkit_api::admin::{GrantRequest, RevokeRequest};
use creditkit_api::{
    Actor, CaptureRequest, ErrorCode, HoldRequest, MemberUpdate, NewMember, Op, PlanRequest,
    QuoteRequest, SessionRequest, Thresholds, TopUpRequest, TransactionKind, UsageGroup,
};
use creditkit_ledger::Principal;
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};

use crate::extract::{error, ApiResult, AppError, Auth, Body, EventsAuth, Key, Token};
use crate::AppState;

/// Every `/v1` route, one per line (the tidy test reads them from here).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(get_me))
        .route("/workspace", get(get_workspace))
        .route("/thresholds", put(put_thresholds))
        .route("/card", get(get_card).put(put_card))
        .route("/packs", get(get_packs))
        .route("/quotes", post(post_quote))
        .route("/quotes/{id}", get(get_quote))
        .route("/holds", post(post_hold))
        .route("/holds/{id}", get(get_hold))
        .route("/holds/{id}/capture", post(post_capture))
        .route("/holds/{id}/release", post(post_release))
        .route("/holds/{id}/refund", post(post_refund))
        .route("/holds/{id}/extend", post(post_extend))
        .route("/caps", get(get_caps).post(post_cap))
        .route("/caps/{id}", axum::routing::delete(delete_cap))
        .route("/wallets", get(get_wallets).post(post_wallet))
        .route("/agents/{id}/payee", put(put_payee))
        .route("/earnings", get(get_earnings))
        .route("/allowance", get(get_allowance))
        .route("/price-notice", get(get_price_notice))
        .route("/entitlements", get(get_entitlements))
        .route("/entitlements/{feature}", get(get_entitlement))
        .route("/agents", get(get_agents))
        .route("/conversations/{id}", get(get_conversation))
        .route(
            "/payouts",
            get(crate::payments::payouts::get_payouts).post(post_payout),
        )
        .route(
            "/payout-account",
            get(crate::payments::payouts::get_account).post(crate::payments::payouts::post_account),
        )
        .route("/balance", get(get_balance))
        .route("/topups", post(post_topup))
        .route("/plan", post(post_plan))
        .route("/grants", post(post_grant))
        .route("/revocations", post(post_revocation))
        .route("/usage", get(get_usage))
        .route("/transactions", get(get_transactions))
        .route("/members", get(get_members).post(post_member))
        .route(
            "/members/{id}",
            get(get_member).patch(patch_member).delete(delete_member),
        )
        .route(
            "/members/{id}/sessions",
            axum::routing::delete(delete_member_sessions),
        )
        .route("/sessions", post(post_session))
        .route("/sessions/{id}", axum::routing::delete(delete_session))
        .route("/checkout", post(crate::payments::routes::post_checkout))
        .route(
            "/checkouts/{id}",
            get(crate::payments::routes::get_checkout),
        )
        .route(
            "/subscription",
            get(crate::payments::routes::get_subscription)
                .post(crate::payments::routes::post_subscription),
        )
        .route(
            "/checkout/done",
            get(crate::payments::routes::checkout_done),
        )
        .route(
            "/webhooks/{provider}",
            post(crate::payments::routes::post_webhook),
        )
        .route("/events", get(get_events))
        .route("/tokenizers/{name}", get(crate::assets::get_tokenizer))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
}

#[derive(Deserialize)]
pub(crate) struct WalletQuery {
    wallet_id: Option<String>,
}

/// Who the caller is and what it may do (the widget hides what it may not).
#[derive(Serialize)]
struct Me {
    workspace_id: String,
    actor: Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wallet_id: Option<String>,
    rights: Vec<Op>,
}

async fn get_me(Auth(p): Auth) -> Json<Me> {
    Json(Me {
        rights: p.rights().iter().copied().filter(|op| p.may(*op)).collect(),
        workspace_id: p.workspace_id,
        actor: p.actor,
        member_id: p.member_id,
        wallet_id: p.wallet_id,
    })
}

async fn get_workspace(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<creditkit_api::Workspace> {
    Ok(Json(s.ledger.own_workspace(&p).await?))
}

async fn put_thresholds(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(t): Body<Thresholds>,
) -> ApiResult<creditkit_api::Workspace> {
    Ok(Json(s.ledger.set_thresholds(&p, &t).await?))
}

async fn get_card(State(s): State<AppState>, Auth(p): Auth) -> Result<Response, AppError> {
    let json = s.ledger.card_json(&p).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// Rate cards are the operator's (`/admin/v1`): refused here for every credential,
/// with the reason, rather than a bare 405.
async fn put_card(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(card): Body<serde_json::Value>,
) -> ApiResult<creditkit_api::admin::CardUploaded> {
    Ok(Json(
        s.ledger
            .upload_card(&p, &card.to_string(), &Default::default())
            .await?,
    ))
}

async fn get_packs(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Vec<creditkit_api::PackOffer>> {
    p.require(Op::Read)?;
    let card = s.ledger.card(&p.workspace_id).await?;
    Ok(Json(creditkit_pricing::pack_offers(&card)))
}

async fn post_quote(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<QuoteRequest>,
) -> ApiResult<creditkit_api::Quote> {
    Ok(Json(s.ledger.quote(&p, &req).await?))
}

async fn get_quote(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Quote> {
    Ok(Json(s.ledger.get_quote(&p, &id).await?))
}

async fn post_hold(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Body(req): Body<HoldRequest>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.hold(&p, &req, &k).await?))
}

async fn get_hold(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.get_hold(&p, &id).await?))
}

async fn post_capture(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
    Body(req): Body<CaptureRequest>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.capture(&p, &id, &req, &k).await?))
}

async fn post_release(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.release(&p, &id, &k).await?))
}

async fn post_refund(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.refund(&p, &id, &k).await?))
}

async fn post_extend(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Path(id): Path<String>,
    Body(req): Body<creditkit_api::ExtendRequest>,
) -> ApiResult<creditkit_api::Hold> {
    Ok(Json(s.ledger.extend(&p, &id, &req, &k).await?))
}

async fn get_caps(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<Vec<creditkit_api::Cap>> {
    Ok(Json(s.ledger.caps(&p, q.wallet_id.as_deref()).await?))
}

async fn post_cap(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<creditkit_api::NewCap>,
) -> ApiResult<creditkit_api::Cap> {
    Ok(Json(s.ledger.create_cap(&p, &req).await?))
}

async fn delete_cap(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.ledger.delete_cap(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_wallets(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Vec<creditkit_api::WalletSummary>> {
    Ok(Json(s.ledger.wallets(&p).await?))
}

async fn post_wallet(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<creditkit_api::NewWallet>,
) -> ApiResult<creditkit_api::WalletCreated> {
    let wallet_id = s.ledger.create_wallet(&p, req.kind).await?;
    Ok(Json(creditkit_api::WalletCreated {
        wallet_id,
        kind: req.kind,
    }))
}

/// Refused for every `/v1` credential, with the reason: the operator names payees
/// (`PUT /admin/v1/workspaces/{ws}/agents/{agent}/payee`).
async fn put_payee(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(agent): Path<String>,
    Body(req): Body<creditkit_api::PayeeRequest>,
) -> Result<StatusCode, AppError> {
    s.ledger.set_payee(&p, &agent, &req.wallet_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_earnings(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Earnings> {
    Ok(Json(s.ledger.earnings(&p, q.wallet_id.as_deref()).await?))
}

async fn get_allowance(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Allowance> {
    Ok(Json(s.ledger.allowance(&p, q.wallet_id.as_deref()).await?))
}

async fn get_entitlements(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Entitlements> {
    Ok(Json(
        s.ledger.entitlements(&p, q.wallet_id.as_deref()).await?,
    ))
}

#[derive(serde::Deserialize)]
struct EntitlementQuery {
    wallet_id: Option<String>,
    amount: Option<u64>,
}

async fn get_entitlement(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(feature): Path<String>,
    Query(q): Query<EntitlementQuery>,
) -> ApiResult<creditkit_api::EntitlementCheck> {
    Ok(Json(
        s.ledger
            .check_entitlement(&p, q.wallet_id.as_deref(), &feature, q.amount)
            .await?,
    ))
}

async fn get_price_notice(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<Option<creditkit_api::PriceNotice>> {
    Ok(Json(
        s.ledger.price_notice(&p, q.wallet_id.as_deref()).await?,
    ))
}

async fn get_agents(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Vec<creditkit_api::AgentOffer>> {
    Ok(Json(s.ledger.agents(&p).await?))
}

async fn get_conversation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::ConversationUsage> {
    Ok(Json(s.ledger.conversation(&p, &id).await?))
}

async fn post_payout(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Query(q): Query<WalletQuery>,
    Body(req): Body<creditkit_api::PayoutRequest>,
) -> ApiResult<creditkit_api::Earnings> {
    Ok(Json(
        s.ledger
            .payout(&p, q.wallet_id.as_deref(), req.amount_millicredits, &k)
            .await?,
    ))
}

async fn get_balance(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(s.ledger.balance(&p, q.wallet_id.as_deref()).await?))
}

async fn post_topup(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Query(q): Query<WalletQuery>,
    Body(req): Body<TopUpRequest>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(
        s.ledger
            .top_up(&p, q.wallet_id.as_deref(), &req, &k)
            .await?,
    ))
}

async fn post_plan(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Query(q): Query<WalletQuery>,
    Body(req): Body<PlanRequest>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(
        s.ledger
            .change_plan(&p, q.wallet_id.as_deref(), &req.plan_id, &k)
            .await?,
    ))
}

async fn post_grant(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Body(req): Body<GrantRequest>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(s.ledger.grant(&p, &req, &k).await?))
}

async fn post_revocation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Key(k): Key,
    Body(req): Body<RevokeRequest>,
) -> ApiResult<creditkit_api::Balance> {
    Ok(Json(s.ledger.revoke(&p, &req, &k).await?))
}

#[derive(Deserialize)]
struct UsageQuery {
    wallet_id: Option<String>,
    group_by: Option<String>,
    #[serde(flatten)]
    filter: FilterQuery,
}

/// `member_id`, `action` and `month` (`2026-01`) narrowing usage and history.
#[derive(Deserialize)]
struct FilterQuery {
    member_id: Option<String>,
    action: Option<String>,
    month: Option<String>,
}

impl FilterQuery {
    fn checked(self) -> Result<creditkit_api::UsageFilter, AppError> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let month = given(self.month);
        if let Some(m) = &month {
            let b = m.as_bytes();
            let ok = b.len() == 7
                && b[4] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || c.is_ascii_digit())
                && matches!(
                    &m[5..],
                    "01" | "02"
                        | "03"
                        | "04"
                        | "05"
                        | "06"
                        | "07"
                        | "08"
                        | "09"
                        | "10"
                        | "11"
                        | "12"
                );
            if !ok {
                return Err(error(
                    ErrorCode::InvalidRequest,
                    format!("month `{m}` is not a month like 2026-01"),
                ));
            }
        }
        Ok(creditkit_api::UsageFilter {
            member_id: given(self.member_id),
            action: given(self.action),
            month,
        })
    }
}

async fn get_usage(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<UsageQuery>,
) -> ApiResult<creditkit_api::Usage> {
    let group = match q.group_by.as_deref() {
        None => UsageGroup::Action,
        Some(g) => UsageGroup::parse(g).ok_or_else(|| {
            error(
                ErrorCode::InvalidRequest,
                format!("group_by `{g}` is not one of action, project, member, month"),
            )
        })?,
    };
    let filter = q.filter.checked()?;
    Ok(Json(
        s.ledger
            .usage_filtered(&p, q.wallet_id.as_deref(), group, &filter)
            .await?,
    ))
}

#[derive(Deserialize)]
struct TransactionsQuery {
    wallet_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    #[serde(flatten)]
    filter: FilterQuery,
}

async fn get_transactions(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<TransactionsQuery>,
) -> ApiResult<creditkit_api::Page<creditkit_api::Transaction>> {
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(TransactionKind::parse(k).ok_or_else(|| {
            let all: Vec<_> = TransactionKind::ALL.iter().map(|k| k.as_str()).collect();
            error(
                ErrorCode::InvalidRequest,
                format!("type `{k}` is not one of {}", all.join(", ")),
            )
        })?),
    };
    let limit = match q.limit.as_deref() {
        None => None,
        Some(l) => Some(l.parse::<u32>().map_err(|_| {
            error(
                ErrorCode::InvalidRequest,
                format!("limit `{l}` is not a whole number"),
            )
        })?),
    };
    Ok(Json(
        s.ledger
            .transactions_filtered(
                &p,
                q.wallet_id.as_deref(),
                kind,
                &q.filter.checked()?,
                q.cursor.as_deref(),
                limit,
            )
            .await?,
    ))
}

async fn get_members(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Vec<creditkit_api::Member>> {
    Ok(Json(s.ledger.members(&p).await?))
}

async fn get_member(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<creditkit_api::Member> {
    Ok(Json(s.ledger.member(&p, &id).await?))
}

async fn post_member(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<NewMember>,
) -> ApiResult<creditkit_api::Member> {
    Ok(Json(s.ledger.add_member(&p, &req).await?))
}

async fn patch_member(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Body(req): Body<MemberUpdate>,
) -> ApiResult<creditkit_api::Member> {
    Ok(Json(s.ledger.update_member(&p, &id, &req).await?))
}

async fn delete_member(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.ledger.remove_member(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs a member out everywhere: every session of theirs ends.
async fn delete_member_sessions(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.ledger.revoke_member_sessions(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post_session(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<SessionRequest>,
) -> ApiResult<creditkit_api::Session> {
    Ok(Json(s.ledger.create_session(&p, &req).await?))
}

/// Ends a session; `current` is the caller's own (sign-out).
async fn delete_session(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = if id == "current" {
        p.credential_id.clone()
    } else {
        id
    };
    s.ledger.revoke_session(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Server-sent events: the wallet's balance now, then again after every change to it,
/// by anyone (on PostgreSQL, on any instance). Ends when the credential stops being
/// valid (an expired or revoked session): the browser reconnects with a fresh one.
/// How often an open event stream asks whether its credential still holds (also before
/// each event it sends): a revoked session, a removed member or a suspended workspace
/// stops receiving within this, with an `end` event.
pub(crate) const STREAM_RECHECK: Duration = Duration::from_secs(30);

async fn get_events(
    State(s): State<AppState>,
    EventsAuth(p): EventsAuth,
    Token(token): Token,
    Query(q): Query<WalletQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let session = p.actor.is_browser().then_some(p.credential_id.as_str());
    let slot = crate::limit::StreamSlots::take(&s.streams, session, &p.workspace_id)?;
    let first = s.ledger.balance(&p, q.wallet_id.as_deref()).await?;
    let open = OpenStream {
        rx: s.ledger.subscribe(),
        ledger: s.ledger.clone(),
        wallet_id: first.wallet_id.clone(),
        token,
        p,
        recheck: s.stream_recheck,
        _slot: slot,
    };
    let initial = stream::iter([Ok(balance_event(&first))]);
    let updates = stream::unfold(Some(open), |open: Option<OpenStream>| async move {
        let mut open = open?;
        match open.next().await {
            Ok(Some(b)) => Some((Ok(balance_event(&b)), Some(open))),
            Ok(None) => None,
            Err(e) => Some((Ok(error_event(&e)), None)),
        }
    });
    Ok(Sse::new(futures_util::StreamExt::chain(initial, updates))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// An event stream's state: what it listens to, and the credential it re-checks.
struct OpenStream {
    rx: tokio::sync::broadcast::Receiver<String>,
    ledger: std::sync::Arc<creditkit_ledger::Ledger>,
    wallet_id: String,
    token: String,
    p: Principal,
    /// How long it waits, with no change, before it asks again.
    recheck: Duration,
    /// Its place among the session's and the workspace's open streams.
    _slot: crate::limit::StreamSlot,
}

impl OpenStream {
    /// The wallet's next balance; `Err` ends the stream (the credential no longer holds,
    /// or the session's time is over), `None` when the server shuts down.
    async fn next(
        &mut self,
    ) -> Result<Option<creditkit_api::Balance>, creditkit_ledger::LedgerError> {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            // A session's stream ends when the session does; the browser reconnects with a new one.
            let left_ms = self.p.expires_at_ms.map(|t| t - self.ledger.now_ms());
            if left_ms.is_some_and(|ms| ms <= 0) {
                return Err(creditkit_ledger::LedgerError::SessionExpired);
            }
            let wait = left_ms.map_or(self.recheck, |ms| {
                self.recheck.min(Duration::from_millis(ms as u64))
            });
            let (changed, ticked) = match tokio::time::timeout(wait, self.rx.recv()).await {
                Err(_) => (false, true),
                Ok(Ok(changed)) => (changed == self.wallet_id, false),
                // Fell behind: send the current balance rather than every missed one.
                Ok(Err(RecvError::Lagged(_))) => (true, false),
                Ok(Err(RecvError::Closed)) => return Ok(None),
            };
            let at_session_end =
                left_ms.is_some_and(|ms| u128::from(ms.unsigned_abs()) <= wait.as_millis());
            if (ticked && at_session_end) || (!ticked && !changed) {
                continue; // the session's end (the top ends it), or another wallet's change
            }
            // Before each event and on each tick: does the credential still hold?
            let now = self.ledger.authenticate(&self.token).await?;
            now.require(Op::Read)?;
            self.p = now;
            if changed {
                return self
                    .ledger
                    .balance(&self.p, Some(&self.wallet_id))
                    .await
                    .map(Some);
            }
        }
    }
}

fn balance_event(b: &creditkit_api::Balance) -> Event {
    let body = creditkit_api::BalanceEvent {
        wallet_id: b.wallet_id.clone(),
        balance: b.clone(),
    };
    Event::default()
        .event("balance")
        .data(serde_json::to_string(&body).unwrap_or_default())
}

/// The last event of a stream: why it ends, as an error body.
fn error_event(e: &creditkit_ledger::LedgerError) -> Event {
    Event::default()
        .event("end")
        .data(serde_json::to_string(&e.to_api()).unwrap_or_default())
}

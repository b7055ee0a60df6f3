//! `/v1`: the workspace API. Each handler extracts, calls one [`Ledger`] method (which
//! checks the caller against the permission table) and maps its result.

use std::convert::Infallible;
use std::time::Duration;

use crate::extract::Query;
use aide::axum::routing::{delete_with, get_with, post_with, put_with};
use aide::axum::ApiRouter;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use creditkit_api::admin::{GrantRequest, RevokeRequest};
use creditkit_api::{
    CaptureRequest, ErrorCode, HoldRequest, MemberUpdate, NewMember, Op, PlanRequest, QuoteRequest,
    SessionRequest, Thresholds, TopUpRequest, TransactionKind, UsageGroup,
};
use creditkit_ledger::Principal;
use futures_util::stream::{self, Stream};
use serde::Deserialize;

use crate::extract::{error, ApiResult, AppError, Auth, Body, EventsAuth, Key, Token};
use crate::openapi::doc;
use crate::AppState;
use creditkit_api::ErrorCode as E;

/// Every `/v1` route, one per line (the tidy test reads them from here).
pub(crate) fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/me", get_with(get_me, doc(Some(Op::Read), "Who is calling: actor, member, wallet and rights", &[])))
        .api_route("/workspace", get_with(get_workspace, doc(Some(Op::Read), "The caller's workspace: name, card, thresholds", &[])))
        .api_route("/thresholds", put_with(put_thresholds, doc(Some(Op::ManageWallets), "Set the low and critical balance thresholds", &[E::Forbidden])))
        .api_route("/card", get_with(get_card, doc(Some(Op::Read), "The workspace's rate card (JSON) for the browser estimator", &[])).put_with(put_card, doc(Some(Op::SetCard), "Refused for every /v1 credential: rate cards are the operator's (POST /admin/v1/workspaces/{ws}/cards)", &[E::Forbidden])))
        .api_route("/packs", get_with(get_packs, doc(Some(Op::Read), "Credit packs with per-credit prices", &[])))
        .api_route("/quotes", post_with(post_quote, doc(Some(Op::Quote), "Price a request before the user confirms. A chat item may give `input_text` instead of `input_tokens`: the server counts it with the model's tokenizer, exactly as the widget does", &[E::UnknownAction, E::UnknownParam, E::MissingParam, E::InvalidParam, E::Overflow, E::Forbidden])))
        .api_route("/quotes/{id}", get_with(get_quote, doc(Some(Op::Read), "A quote given earlier (what the user confirmed)", &[])))
        .api_route("/holds", post_with(post_hold, doc(Some(Op::Hold), "Confirm a quote: reserve its maximum", &[E::InsufficientCredits, E::CapExceeded, E::Forbidden, E::HoldNotActive, E::QuoteExpired])))
        .api_route("/holds/{id}", get_with(get_hold, doc(Some(Op::Read), "A hold", &[])))
        .api_route("/holds/{id}/capture", post_with(post_capture, doc(Some(Op::Settle), "Charge the actual amount (never above the hold); no body charges an exact quote at its price", &[E::Forbidden, E::HoldNotActive, E::CaptureExceedsHold, E::AmountRequired])))
        .api_route("/holds/{id}/release", post_with(post_release, doc(Some(Op::Settle), "Release a hold in full (the operation failed: nothing charged)", &[E::Forbidden, E::HoldNotActive])))
        .api_route("/holds/{id}/refund", post_with(post_refund, doc(Some(Op::Refund), "Refund a captured charge to the grants it came from", &[E::Forbidden, E::HoldNotActive])))
        .api_route("/holds/{id}/extend", post_with(post_extend, doc(Some(Op::Settle), "Grow a streamed turn's hold as the model streams (once per chunk): never past the confirmed maximum; refused when a cap or the balance cannot cover the next chunk", &[E::InsufficientCredits, E::CapExceeded, E::Forbidden, E::HoldNotActive, E::BeyondConfirmedMaximum])))
        .api_route("/caps", get_with(get_caps, doc(Some(Op::Read), "Spending caps with what was spent and held in their current period", &[])).post_with(post_cap, doc(Some(Op::SetCaps), "Set a spending cap per wallet, member or project, per day, week, month or plan cycle", &[E::InvalidParam, E::Forbidden])))
        .api_route("/caps/{id}", delete_with(delete_cap, doc(Some(Op::SetCaps), "Remove a spending cap", &[E::Forbidden])))
        .api_route("/wallets", get_with(get_wallets, doc(Some(Op::Read), "The wallets the caller may use (the workspace's, organizations', a member's own personal one) with what each has available", &[])).post_with(post_wallet, doc(Some(Op::ManageWallets), "Create a wallet, e.g. an organization wallet", &[E::Forbidden])))
        .api_route("/agents/{id}/payee", put_with(put_payee, doc(Some(Op::AssignPayee), "Refused for every /v1 credential: payees are the operator's (PUT /admin/v1/workspaces/{ws}/agents/{agent}/payee)", &[E::Forbidden])))
        .api_route("/earnings", get_with(get_earnings, doc(Some(Op::Read), "Creator earnings: available, pending (24 h), paid out, platform share", &[])))
        .api_route("/allowance", get_with(get_allowance, doc(Some(Op::Read), "The plan, what is left of its allowance and when it renews; the balance by when each part expires", &[])))
        .api_route("/price-notice", get_with(get_price_notice, doc(Some(Op::Read), "A price change scheduled and not yet in force for this wallet (`null` when none): when it applies (a plan's renewal on or after the date), old → new for the member's most used actions", &[])))
        .api_route("/entitlements", get_with(get_entitlements, doc(Some(Op::Read), "What the wallet's plan includes beyond credits: features and their limits", &[])))
        .api_route("/entitlements/{feature}", get_with(get_entitlement, doc(Some(Op::Read), "Whether the plan includes a feature (`?amount=N`: up to N of it), for the backend before it runs it; when not, the smallest plan above that does", &[E::NotFound])))
        .api_route("/agents", get_with(get_agents, doc(Some(Op::Read), "The card's agents for this member: a paid message's price (runtime + add-on) and the free messages left", &[])))
        .api_route("/conversations/{id}", get_with(get_conversation, doc(Some(Op::Read), "What a chat's turns have cost so far (the page's conversation id, given when quoting), counted by the server; without `read_team` the caller's own turns", &[])))
        .api_route("/payouts",
            get_with(crate::payments::payouts::get_payouts, doc(Some(Op::Read), "The wallet's payouts and where each stands: requested, paid (transferred to the creator's connected account) or failed (the earnings available again)", &[])).post_with(post_payout, doc(Some(Op::Payout), "Request a payout of available earnings, at least the minimum", &[E::Forbidden])),
        )
        .api_route("/payout-account",
            get_with(crate::payments::payouts::get_account, doc(Some(Op::Read), "Whether the creator's account with the payment provider can receive payouts: none, pending or ready", &[])).post_with(crate::payments::payouts::post_account, doc(Some(Op::Payout), "Create the creator's connected account (Stripe Connect) if there is none; answers the provider's onboarding page to finish or resume", &[E::Forbidden, E::PaymentsNotConfigured])),
        )
        .api_route("/auto-top-up", get_with(get_auto_topup, doc(Some(Op::Read), "The wallet's auto top-up: its rule (threshold, pack, monthly limits, status, failures), whether a card is saved, this month's top-ups, the operator's bounds", &[])).put_with(put_auto_topup, doc(Some(Op::Buy), "Set the wallet's auto top-up (members: their own wallet): buy a pack with the saved card when the available credits fall below a threshold, exactly once per crossing, at most N times and an amount a month within the operator's bounds", &[E::InvalidParam, E::Forbidden])).delete_with(delete_auto_topup, doc(Some(Op::Buy), "Remove the wallet's auto top-up (a top-up not yet paid is called off)", &[E::Forbidden])))
        .api_route("/balance", get_with(get_balance, doc(Some(Op::Read), "Balance, held, available, low-balance state", &[])))
        .api_route("/topups", post_with(post_topup, doc(Some(Op::Grant), "Add a pack's credits, paid through the operator's own checkout", &[E::Forbidden])))
        .api_route("/plan", post_with(post_plan, doc(Some(Op::ChangePlan), "Record a plan change (paid through the operator's checkout)", &[E::Forbidden])))
        .api_route("/grants", post_with(post_grant, doc(Some(Op::Grant), "Give credits with a reason (support goodwill, a promotion)", &[E::Forbidden])))
        .api_route("/revocations", post_with(post_revocation, doc(Some(Op::Grant), "Take credits back with a reason (never reserved ones, never below zero)", &[E::InvalidParam, E::Forbidden])))
        .api_route("/usage", get_with(get_usage, doc(Some(Op::Read), "Credits used by action, project, member or month, narrowed by `member_id`, `action`, `month` (2026-01); without `read_team` only the caller's own (naming another member: 403)", &[E::InvalidParam, E::Forbidden])))
        .api_route("/transactions", get_with(get_transactions, doc(Some(Op::Read), "Ledger entries, newest first, by `type`, `member_id`, `action`, `month`; without `read_team` the caller's own and those of no member (naming another member: 403)", &[E::InvalidParam, E::Forbidden])))
        .api_route("/members", get_with(get_members, doc(Some(Op::Read), "Members", &[])).post_with(post_member, doc(Some(Op::ManageMembers), "Add a member (only owners add owners)", &[E::Forbidden])))
        .api_route("/members/{id}",
            get_with(get_member, doc(Some(Op::Read), "A member", &[])).patch_with(patch_member, doc(Some(Op::ManageMembers), "Rename a member or change their role", &[E::Forbidden])).delete_with(delete_member, doc(Some(Op::ManageMembers), "Remove a member and end their sessions", &[E::Forbidden])),
        )
        .api_route("/members/{id}/sessions",
            delete_with(delete_member_sessions, doc(Some(Op::MintSession), "Sign a member out everywhere: end all their sessions", &[E::Forbidden])),
        )
        .api_route("/sessions", post_with(post_session, doc(Some(Op::MintSession), "Mint a short-lived browser session for a member (the operator's backend)", &[E::Forbidden])))
        .api_route("/sessions/{id}", delete_with(delete_session, doc(None, "End a session (`current`: the caller's own, sign-out)", &[E::Forbidden])))
        .api_route("/checkout", post_with(crate::payments::routes::post_checkout, doc(Some(Op::Buy), "Open the payment provider's checkout for a pack or a plan (members: their own wallet); credits arrive when its webhook confirms the payment", &[E::InvalidParam, E::Forbidden, E::PaymentsNotConfigured, E::PaymentProviderError])))
        .api_route("/checkouts/{id}",
            get_with(crate::payments::routes::get_checkout, doc(Some(Op::Read), "Where a payment stands: pending until the provider's webhook says paid, failed or expired (the caller's own; any of the workspace's with `read_team`)", &[])),
        )
        .api_route("/subscription",
            get_with(crate::payments::routes::get_subscription, doc(Some(Op::Read), "The wallet's paid subscription (`null` on none): its plan, price a period, renewal, and what is set to change (a downgrade from the next period, an upgrade awaiting its invoice, the end at the period's end)", &[]))
                .post_with(crate::payments::routes::post_subscription, doc(Some(Op::Buy), "Change the paid plan through the provider (an upgrade now: the prorated difference invoiced and its credits granted when paid; a downgrade from the next period), or `cancel_at_period_end` true / false (cancel, resume); one subscription per wallet", &[E::InvalidParam, E::Forbidden, E::PaymentsNotConfigured])),
        )
        .api_route("/checkout/done",
            get_with(crate::payments::routes::checkout_done, doc(None, "The page a buyer returns to from the provider's checkout: what the provider has said so far (processing, received, failed, expired), never received before its webhook", &[])),
        )
        .api_route("/webhooks/{provider}",
            post_with(crate::payments::routes::post_webhook, doc(None, "The payment provider's signed webhook (`stripe`): checkout paid, invoice paid, charge refunded, subscription ended; each event applied once", &[E::InvalidRequest, E::Unauthorized, E::NotFound, E::PaymentsNotConfigured])),
        )
        .api_route("/events", get_with(get_events, doc(Some(Op::Read), "Server-sent events: `balance` after every change to the wallet, `end` (an error body) when the credential ends (token may be passed as ?access_token=)", &[])))
        .api_route("/tokenizers/{name}", get_with(crate::assets::get_tokenizer, doc(None, "An encoding's token rank data (`o200k_base`, `cl100k_base`), public and immutable; the widget fetches it lazily and verifies its SHA-256 (the ETag)", &[E::NotFound])))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct WalletQuery {
    wallet_id: Option<String>,
}

async fn get_me(Auth(p): Auth) -> Json<creditkit_api::Me> {
    Json(creditkit_api::Me {
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

async fn get_card(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> Result<crate::openapi::CardJson, AppError> {
    let json = s.ledger.card_json(&p).await?;
    Ok(crate::openapi::CardJson(
        ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
    ))
}

/// Rate cards are the operator's (`/admin/v1`): refused here for every credential,
/// with the reason, rather than a bare 405.
async fn put_card(
    State(s): State<AppState>,
    Auth(p): Auth,
    body: axum::body::Bytes,
) -> ApiResult<creditkit_api::admin::CardUploaded> {
    // Read as it came: the ledger refuses every /v1 caller before it looks at a card.
    let card = String::from_utf8_lossy(&body);
    Ok(Json(
        s.ledger.upload_card(&p, &card, &Default::default()).await?,
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
) -> Result<axum::response::NoContent, AppError> {
    s.ledger.delete_cap(&p, &id).await?;
    Ok(axum::response::NoContent)
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
    body: axum::body::Bytes,
) -> Result<axum::response::NoContent, AppError> {
    // As `put_card`: the ledger refuses every /v1 caller first.
    let wallet = serde_json::from_slice::<creditkit_api::PayeeRequest>(&body)
        .map(|r| r.wallet_id)
        .unwrap_or_default();
    s.ledger.set_payee(&p, &agent, &wallet).await?;
    Ok(axum::response::NoContent)
}

async fn get_earnings(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::Earnings> {
    Ok(Json(s.ledger.earnings(&p, q.wallet_id.as_deref()).await?))
}

async fn get_auto_topup(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::AutoTopUp> {
    Ok(Json(s.ledger.auto_topup(&p, q.wallet_id.as_deref()).await?))
}

async fn put_auto_topup(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<creditkit_api::AutoTopUpRequest>,
) -> ApiResult<creditkit_api::AutoTopUp> {
    Ok(Json(s.ledger.set_auto_topup(&p, &req).await?))
}

async fn delete_auto_topup(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletQuery>,
) -> ApiResult<creditkit_api::AutoTopUp> {
    Ok(Json(
        s.ledger
            .delete_auto_topup(&p, q.wallet_id.as_deref())
            .await?,
    ))
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

#[derive(serde::Deserialize, schemars::JsonSchema)]
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

#[derive(Deserialize, schemars::JsonSchema)]
struct UsageQuery {
    wallet_id: Option<String>,
    #[schemars(with = "Option<UsageGroup>")]
    group_by: Option<String>,
    #[serde(flatten)]
    filter: FilterQuery,
}

/// `member_id`, `action` and `month` (`2026-01`) narrowing usage and history.
#[derive(Deserialize, schemars::JsonSchema)]
struct FilterQuery {
    member_id: Option<String>,
    action: Option<String>,
    /// A calendar month, `2026-01`.
    #[schemars(regex(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    month: Option<String>,
}

impl FilterQuery {
    fn checked(self) -> Result<creditkit_api::UsageFilter, AppError> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        // An empty month is not a month (the document's pattern says so): refused.
        let month = self.month;
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

#[derive(Deserialize, schemars::JsonSchema)]
struct TransactionsQuery {
    wallet_id: Option<String>,
    #[serde(rename = "type")]
    #[schemars(with = "Option<TransactionKind>")]
    kind: Option<String>,
    cursor: Option<String>,
    /// Entries a page, at most 200.
    #[schemars(with = "Option<u32>", range(min = 1, max = 200))]
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
        None => None,
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
) -> Result<axum::response::NoContent, AppError> {
    s.ledger.remove_member(&p, &id).await?;
    Ok(axum::response::NoContent)
}

/// Signs a member out everywhere: every session of theirs ends.
async fn delete_member_sessions(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<axum::response::NoContent, AppError> {
    s.ledger.revoke_member_sessions(&p, &id).await?;
    Ok(axum::response::NoContent)
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
) -> Result<axum::response::NoContent, AppError> {
    let id = if id == "current" {
        p.credential_id.clone()
    } else {
        id
    };
    s.ledger.revoke_session(&p, &id).await?;
    Ok(axum::response::NoContent)
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
) -> Result<crate::openapi::EventStream<Sse<impl Stream<Item = Result<Event, Infallible>>>>, AppError>
{
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
    Ok(crate::openapi::EventStream(
        Sse::new(futures_util::StreamExt::chain(initial, updates))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    ))
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

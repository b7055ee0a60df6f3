//! Creators' payouts through the payment provider (seed 004): the creator connects an
//! account (`/v1/payout-account`), requests a payout (`POST /v1/payouts`, `v1.rs`),
//! follows it (`GET /v1/payouts`); the operator approves or rejects it
//! (`/admin/v1/payouts`), approval transferring it through the provider.

use crate::extract::Query;
use axum::extract::{Path, State};
use axum::Json;
use creditkit_api::{ErrorCode, Payout, PayoutAccount, PayoutState};
use serde::Deserialize;

use super::ReturnUrls;
use crate::extract::{error, ApiResult, AppError, Auth, Body, OperatorAuth};
use crate::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct WalletParam {
    wallet_id: Option<String>,
}

fn payments(s: &AppState) -> Result<super::Payments, AppError> {
    s.payments.clone().ok_or_else(|| {
        error(
            ErrorCode::PaymentsNotConfigured,
            "this server takes no payments: payouts are arranged with the application's operator",
        )
    })
}

fn provider_error(e: super::PaymentError) -> AppError {
    tracing::warn!(error = %e, "the payment provider refused a payout call");
    error(
        ErrorCode::PaymentProviderError,
        "the payment provider could not do this now; nothing changed, try again",
    )
}

/// `GET /v1/payout-account`: whether the wallet's creator has an account ready.
pub(crate) async fn get_account(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletParam>,
) -> ApiResult<PayoutAccount> {
    Ok(Json(
        s.ledger.payout_account(&p, q.wallet_id.as_deref()).await?,
    ))
}

/// `POST /v1/payout-account`: creates the connected account if there is none, and
/// answers the provider's onboarding page to finish it (or to resume it).
pub(crate) async fn post_account(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletParam>,
) -> ApiResult<PayoutAccount> {
    p.require(creditkit_api::Op::Payout)?;
    let payments = payments(&s)?;
    let (wallet_id, known) = s
        .ledger
        .payout_account_to_onboard(&p, q.wallet_id.as_deref())
        .await?;
    let account = match known {
        Some(a) => a,
        None => {
            let a = payments
                .provider
                .create_payout_account(&wallet_id)
                .await
                .map_err(provider_error)?;
            s.ledger
                .payout_account_created(&wallet_id, payments.provider.name(), &a)
                .await?;
            a
        }
    };
    let base = payments.public_url.trim_end_matches('/');
    let urls = ReturnUrls {
        success: format!("{base}/v1/checkout/done?connected=1"),
        cancel: format!("{base}/v1/checkout/done?canceled=1"),
    };
    let url = payments
        .provider
        .payout_onboarding(&account, &urls)
        .await
        .map_err(provider_error)?;
    let mut answer = s.ledger.payout_account(&p, Some(&wallet_id)).await?;
    answer.onboarding_url = Some(url);
    Ok(Json(answer))
}

/// `GET /v1/payouts`: the wallet's payouts and where each stands.
pub(crate) async fn get_payouts(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletParam>,
) -> ApiResult<Vec<Payout>> {
    Ok(Json(s.ledger.payouts(&p, q.wallet_id.as_deref()).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct StatusParam {
    #[schemars(with = "Option<PayoutState>")]
    status: Option<String>,
}

/// `GET /admin/v1/payouts?status=requested`: the operator's queue.
pub(crate) async fn list(
    State(s): State<AppState>,
    _: OperatorAuth,
    Query(q): Query<StatusParam>,
) -> ApiResult<Vec<Payout>> {
    let status = match q.status.as_deref() {
        None => PayoutState::Requested,
        Some(name) => PayoutState::parse(name).ok_or_else(|| {
            AppError::from(
                creditkit_api::ApiError::new(
                    ErrorCode::InvalidRequest,
                    "status is requested, paid or failed",
                )
                .at("status"),
            )
        })?,
    };
    Ok(Json(s.ledger.payouts_in(status).await?))
}

/// `POST /admin/v1/payouts/{id}/approve`: transfers it to the creator's account; the
/// provider's refusal fails it (the earnings are available again).
pub(crate) async fn approve(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(id): Path<String>,
) -> ApiResult<Payout> {
    let payments = payments(&s)?;
    let transfer = s.ledger.payout_transfer(&id).await?;
    if transfer.provider != payments.provider.name() {
        return Err(error(
            ErrorCode::PaymentProviderError,
            "the creator's account is with another payment provider",
        ));
    }
    match payments.provider.transfer(&transfer).await {
        Ok(transfer_ref) => Ok(Json(s.ledger.payout_paid(&id, &transfer_ref).await?)),
        Err(e) => {
            tracing::warn!(error = %e, payout = %id, "the transfer was refused");
            Ok(Json(
                s.ledger
                    .payout_failed(&id, "the payment provider refused the transfer")
                    .await?,
            ))
        }
    }
}

#[derive(Deserialize, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Rejection {
    #[schemars(length(min = 1, max = 500), regex(pattern = r"\S"))]
    reason: String,
}

/// `POST /admin/v1/payouts/{id}/reject`: the payout fails with the reason; the earnings
/// are available again.
pub(crate) async fn reject(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(id): Path<String>,
    Body(r): Body<Rejection>,
) -> ApiResult<Payout> {
    Ok(Json(s.ledger.payout_failed(&id, &r.reason).await?))
}

//! `POST /v1/checkout`, its return page, and `POST /v1/webhooks/{provider}`.

use crate::extract::Query;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use creditkit_api::{
    ApiError, CheckoutRequest, CheckoutStarted, CheckoutState, CheckoutStatus, ErrorCode,
    Subscription, SubscriptionChange,
};
use serde::Deserialize;

use super::{PaymentError, ProviderEvent, ReturnUrls};
use crate::extract::{error, ApiResult, AppError, Auth, Body};
use crate::AppState;

/// Opens a checkout for a pack or a plan: the provider's page, whose payment the
/// provider's webhook confirms. Nothing is credited here.
pub(crate) async fn post_checkout(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<CheckoutRequest>,
) -> ApiResult<CheckoutStarted> {
    p.require(creditkit_api::Op::Buy)?;
    let payments = s.payments.clone().ok_or_else(|| {
        error(
            ErrorCode::PaymentsNotConfigured,
            "this server takes no payments: buy through the application, or ask its operator",
        )
    })?;
    // The return URL is checked before anything is recorded.
    return_urls(&payments, req.return_url.as_deref(), "")?;
    let draft = s
        .ledger
        .begin_checkout(&p, &req, payments.provider.name())
        .await?;
    let urls = return_urls(&payments, req.return_url.as_deref(), &draft.id)?;
    let checkout = payments
        .provider
        .create_checkout(&draft, &urls)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, checkout = %draft.id, "checkout refused by the provider");
            error(
                ErrorCode::PaymentProviderError,
                "the payment provider could not open a checkout; nothing was charged, try again",
            )
        })?;
    s.ledger
        .checkout_opened(&draft.id, &checkout.provider_ref)
        .await?;
    Ok(Json(CheckoutStarted {
        id: draft.id,
        url: checkout.url,
        credits: draft.credits,
        amount_minor: draft.amount_minor,
        currency: draft.currency,
    }))
}

/// Where the buyer comes back: a page of an allowed origin, or our own small page.
fn return_urls(
    payments: &super::Payments,
    asked: Option<&str>,
    checkout_id: &str,
) -> Result<ReturnUrls, AppError> {
    if let Some(url) = asked {
        let allowed = payments
            .return_origins
            .iter()
            .any(|o| o != "*" && (url == o || url.starts_with(&format!("{o}/"))));
        if !allowed {
            return Err(AppError::from(
                ApiError::new(
                    ErrorCode::InvalidParam,
                    "return_url must be a page of an origin this server allows (--cors)",
                )
                .at("return_url"),
            ));
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok(ReturnUrls {
            success: format!("{url}{sep}checkout=returned&checkout_id={checkout_id}"),
            cancel: format!("{url}{sep}checkout=canceled&checkout_id={checkout_id}"),
        });
    }
    let base = payments.public_url.trim_end_matches('/');
    Ok(ReturnUrls {
        success: format!("{base}/v1/checkout/done?checkout_id={checkout_id}"),
        cancel: format!("{base}/v1/checkout/done?canceled=1"),
    })
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct DoneQuery {
    canceled: Option<String>,
    checkout_id: Option<String>,
    connected: Option<String>,
}

/// The page a buyer lands on after the provider's checkout (in its own window): what
/// the provider has said so far, never "received" before it says paid. A pending
/// payment's page looks again every few seconds.
pub(crate) async fn checkout_done(
    State(s): State<AppState>,
    Query(q): Query<DoneQuery>,
) -> Html<String> {
    let state = match q.checkout_id.as_deref() {
        Some(id) if q.canceled.is_none() => s.ledger.checkout_state(id).await.ok(),
        _ => None,
    };
    let (title, line, again) = match (&q.canceled, state) {
        (None, None) if q.connected.is_some() => (
            "Account details received".to_string(),
            "You can close this window. Payouts can be requested once the payment provider has verified the account.".to_string(),
            false,
        ),
        (Some(_), _) => (
            "Checkout canceled".to_string(),
            "Nothing was charged. You can close this window.".to_string(),
            false,
        ),
        (None, Some(c)) => match c.status {
            CheckoutState::Paid => (
                "Payment received".to_string(),
                format!("{} credits were added. You can close this window.", c.credits),
                false,
            ),
            CheckoutState::Pending => (
                "Payment processing".to_string(),
                "Your credits are added as soon as the payment is confirmed; this page updates by itself.".to_string(),
                true,
            ),
            CheckoutState::Failed => (
                "Payment failed".to_string(),
                "Nothing was charged. Close this window and try again, or use another payment method.".to_string(),
                false,
            ),
            CheckoutState::Expired => (
                "Checkout expired".to_string(),
                "Nothing was charged. Close this window and start again.".to_string(),
                false,
            ),
        },
        (None, None) => (
            "Payment processing".to_string(),
            "Your credits are added as soon as the payment is confirmed; you can close this window.".to_string(),
            false,
        ),
    };
    let refresh = if again {
        "<meta http-equiv=\"refresh\" content=\"3\">"
    } else {
        ""
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}<title>{title}</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 30em; margin: 4em auto\"><h1>{title}</h1><p role=\"status\">{line}</p></body></html>"
    ))
}

/// Subscriptions a newer paid one replaced (two plan checkouts paid before either's
/// webhook arrived) are ended at the provider now, so the customer is not charged
/// twice; one the provider will not end stays listed and is tried at the next payment.
async fn end_replaced(s: &AppState, payments: &super::Payments, wallet_id: &str) {
    let Ok(replaced) = s.ledger.replaced_subscriptions(wallet_id).await else {
        return;
    };
    for (provider, sub) in replaced {
        if provider != payments.provider.name() {
            continue;
        }
        let end = creditkit_ledger::Ledger::end_replaced(&provider, &sub, wallet_id);
        match payments.provider.update_subscription(&end).await {
            Ok(()) => {
                let _ = s.ledger.replaced_ended(&provider, &sub).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, subscription = %sub, "a replaced subscription could not be ended at the provider")
            }
        }
    }
}

/// `POST /v1/subscription`: a plan change or a cancellation, through the provider. It
/// is recorded first (the provider's invoice may arrive before its answer) and undone
/// if the provider refuses; credits come only with the provider's paid invoice.
pub(crate) async fn post_subscription(
    State(s): State<AppState>,
    Auth(p): Auth,
    Body(req): Body<SubscriptionChange>,
) -> ApiResult<Option<Subscription>> {
    p.require(creditkit_api::Op::Buy)?;
    let payments = s.payments.clone().ok_or_else(|| {
        error(
            ErrorCode::PaymentsNotConfigured,
            "this server takes no payments: change plan through the application, or ask its operator",
        )
    })?;
    let update = s.ledger.prepare_subscription_change(&p, &req).await?;
    if update.provider != payments.provider.name() {
        return Err(error(
            ErrorCode::PaymentProviderError,
            "this subscription was bought through another payment provider",
        ));
    }
    s.ledger.subscription_changed(&update).await?;
    if let Err(e) = payments.provider.update_subscription(&update).await {
        tracing::warn!(error = %e, subscription = %update.subscription_ref, "plan change refused by the provider");
        s.ledger.subscription_change_undone(&update).await?;
        return Err(error(
            ErrorCode::PaymentProviderError,
            "the payment provider could not change the subscription; nothing changed, try again",
        ));
    }
    Ok(Json(
        s.ledger.subscription(&p, Some(&update.wallet_id)).await?,
    ))
}

/// `GET /v1/subscription`: the wallet's paid subscription (`null` on none).
pub(crate) async fn get_subscription(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<WalletParam>,
) -> ApiResult<Option<Subscription>> {
    Ok(Json(
        s.ledger.subscription(&p, q.wallet_id.as_deref()).await?,
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct WalletParam {
    wallet_id: Option<String>,
}

/// `GET /v1/checkouts/{id}`: where a payment stands (the caller's own, or any of the
/// workspace's with `read_team`).
pub(crate) async fn get_checkout(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<CheckoutStatus> {
    Ok(Json(s.ledger.checkout_status(&p, &id).await?))
}

/// The provider's webhook: verified, then applied once. A 2xx tells the provider it
/// was handled (or safely ignored); anything else makes it retry later.
pub(crate) async fn post_webhook(
    state: State<AppState>,
    provider: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<crate::openapi::Acknowledged, AppError> {
    webhook(state, provider, headers, body)
        .await
        .map(crate::openapi::Acknowledged)
}

async fn webhook(
    State(s): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let payments = s.payments.clone().ok_or_else(|| {
        error(
            ErrorCode::PaymentsNotConfigured,
            "this server takes no payments",
        )
    })?;
    if provider != payments.provider.name() {
        return Err(error(
            ErrorCode::NotFound,
            format!("no payment provider `{provider}` here"),
        ));
    }
    let now_s = s.ledger.now_ms().div_euclid(1000);
    let event = payments
        .provider
        .read_webhook(&headers, &body, now_s)
        .map_err(|e| {
            tracing::warn!(error = %e, "refused a payment webhook");
            let code = match e {
                PaymentError::Signature(_) => ErrorCode::Unauthorized,
                _ => ErrorCode::InvalidRequest,
            };
            error(code, e.to_string())
        })?;
    let name = payments.provider.name();
    let applied = match &event {
        ProviderEvent::Paid { paid, saved_card } => {
            let balance = s.ledger.complete_checkout(paid).await?;
            end_replaced(&s, &payments, &balance.wallet_id).await;
            if let (true, Some(payment_ref)) = (*saved_card, &paid.payment_ref) {
                // The card to charge again: asked of the provider, not read from the
                // event. Failing here, the provider retries the event (applied once).
                let (customer, method) = payments.provider.saved_card(payment_ref).await.map_err(|e| {
                    tracing::warn!(error = %e, checkout = %paid.checkout_id, "reading a saved card failed");
                    error(ErrorCode::PaymentProviderError, "the saved card could not be read; send the event again")
                })?;
                s.ledger
                    .save_payment_method(name, &paid.checkout_id, &customer, &method)
                    .await?;
            }
            Some(balance)
        }
        ProviderEvent::TopUpPaid {
            topup_id,
            payment_ref,
            amount_minor,
            currency,
        } => Some(
            s.ledger
                .topup_paid(name, topup_id, payment_ref, *amount_minor, currency)
                .await?,
        ),
        ProviderEvent::PeriodPaid { period, reason } => {
            s.ledger.renew_subscription(period, *reason).await?
        }
        ProviderEvent::Refunded {
            event_id,
            payment_ref,
            refunded_minor,
        } => {
            s.ledger
                .refund_payment(name, event_id, payment_ref, *refunded_minor)
                .await?
        }
        ProviderEvent::SubscriptionEnded {
            event_id,
            subscription_ref,
        } => {
            // A subscription creditkit never started has nothing to end: handled.
            s.ledger
                .end_subscription(name, event_id, subscription_ref)
                .await?;
            return Ok(
                (StatusCode::OK, Json(serde_json::json!({ "applied": true }))).into_response(),
            );
        }
        ProviderEvent::CheckoutFailed {
            checkout_id,
            session_ref,
            expired,
            ..
        } => {
            let known = s
                .ledger
                .checkout_failed(name, checkout_id, session_ref, *expired)
                .await?;
            if !known {
                return Err(error(
                    ErrorCode::NotFound,
                    "this event names a checkout creditkit did not open",
                ));
            }
            return Ok(
                (StatusCode::OK, Json(serde_json::json!({ "applied": true }))).into_response(),
            );
        }
        ProviderEvent::AccountUpdated { account_ref, ready } => {
            if !s
                .ledger
                .payout_account_updated(name, account_ref, *ready)
                .await?
            {
                tracing::debug!(account = %account_ref, "an account creditkit did not create");
            }
            return Ok(
                (StatusCode::OK, Json(serde_json::json!({ "applied": true }))).into_response(),
            );
        }
        ProviderEvent::TransferReversed { transfer_ref } => {
            s.ledger.transfer_reversed(name, transfer_ref).await?;
            return Ok(
                (StatusCode::OK, Json(serde_json::json!({ "applied": true }))).into_response(),
            );
        }
        ProviderEvent::Ignored { event_id, kind } => {
            tracing::debug!(event = %event_id, kind = %kind, "payment webhook ignored");
            return Ok(
                (StatusCode::OK, Json(serde_json::json!({ "ignored": kind }))).into_response(),
            );
        }
    };
    match applied {
        Some(_) => {
            Ok((StatusCode::OK, Json(serde_json::json!({ "applied": true }))).into_response())
        }
        // Names a subscription or payment not known yet (its own event may still be on
        // the way): the provider retries later.
        None => Err(error(
            ErrorCode::NotFound,
            "this event names a payment or subscription creditkit does not know yet",
        )),
    }
}

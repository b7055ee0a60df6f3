//! `POST /v1/checkout`, its return page, and `POST /v1/webhooks/{provider}`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use creditkit_api::{ApiError, CheckoutRequest, CheckoutStarted, ErrorCode};
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
    let urls = return_urls(&payments, req.return_url.as_deref())?;
    let draft = s
        .ledger
        .begin_checkout(&p, &req, payments.provider.name())
        .await?;
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
fn return_urls(payments: &super::Payments, asked: Option<&str>) -> Result<ReturnUrls, AppError> {
    if let Some(url) = asked {
        let allowed = payments
            .return_origins
            .iter()
            .any(|o| o != "*" && (url == o || url.starts_with(&format!("{o}/"))));
        if !allowed {
            return Err(AppError::from(
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    "return_url must be a page of an origin this server allows (--cors)",
                )
                .at("return_url"),
            ));
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok(ReturnUrls {
            success: format!("{url}{sep}checkout=paid"),
            cancel: format!("{url}{sep}checkout=canceled"),
        });
    }
    let base = payments.public_url.trim_end_matches('/');
    Ok(ReturnUrls {
        success: format!("{base}/v1/checkout/done"),
        cancel: format!("{base}/v1/checkout/done?canceled=1"),
    })
}

#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    canceled: Option<String>,
}

/// The page a buyer lands on after the provider's checkout (in its own window).
pub(crate) async fn checkout_done(Query(q): Query<DoneQuery>) -> Html<String> {
    let (title, line) = if q.canceled.is_some() {
        (
            "Checkout canceled",
            "Nothing was charged. You can close this window.",
        )
    } else {
        (
            "Payment received",
            "Thank you. Your credits appear in a moment; you can close this window.",
        )
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 30em; margin: 4em auto\"><h1>{title}</h1><p>{line}</p></body></html>"
    ))
}

/// The provider's webhook: verified, then applied once. A 2xx tells the provider it
/// was handled (or safely ignored); anything else makes it retry later.
pub(crate) async fn post_webhook(
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
        ProviderEvent::Paid(paid) => Some(s.ledger.complete_checkout(paid).await?),
        ProviderEvent::PeriodPaid { period, first } => {
            s.ledger.renew_subscription(period, *first).await?
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

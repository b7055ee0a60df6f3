//! Payments: a provider behind a trait (Stripe is the one implemented), the checkout
//! route, and the provider's webhook, which is the only way money becomes credits.
//!
//! The provider's events are verified (signature, tolerance), then applied through the
//! ledger exactly once each (the event id is the idempotency key, stored with the
//! change): a forged, stale or replayed event changes nothing.

pub(crate) mod payouts;
pub(crate) mod routes;
pub mod stripe;
pub mod topups;

use std::future::Future;
use std::pin::Pin;

use axum::http::HeaderMap;
use creditkit_ledger::{
    CheckoutDraft, DueTopUp, Paid, PaidPeriod, PayoutTransfer, PeriodReason, SubscriptionUpdate,
    TopUpOutcome,
};

/// Where the provider sends the buyer back.
#[derive(Clone, Debug)]
pub struct ReturnUrls {
    pub success: String,
    pub cancel: String,
}

/// A checkout page the buyer opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    pub provider_ref: String,
    pub url: String,
}

/// What a provider's verified webhook says, in the ledger's terms.
#[derive(Clone, Debug)]
pub enum ProviderEvent {
    /// A checkout was paid; `saved_card`: the buyer asked to keep the card, and the
    /// payment to read it from (its customer and payment method).
    Paid { paid: Paid, saved_card: bool },
    /// An auto top-up's off-session payment succeeded (its webhook; the worker may have
    /// heard it first).
    TopUpPaid {
        topup_id: String,
        payment_ref: String,
        amount_minor: u64,
        currency: String,
    },
    /// A subscription's invoice was paid: its first, a renewal, or a plan change's.
    PeriodPaid {
        period: PaidPeriod,
        reason: PeriodReason,
    },
    /// A payment was refunded; `refunded_minor` is the total refunded so far.
    Refunded {
        event_id: String,
        payment_ref: String,
        refunded_minor: u64,
    },
    SubscriptionEnded {
        event_id: String,
        subscription_ref: String,
    },
    /// A checkout's payment failed, or its page expired unpaid.
    CheckoutFailed {
        event_id: String,
        checkout_id: String,
        session_ref: String,
        expired: bool,
    },
    /// A connected account's state: whether it can receive payouts.
    AccountUpdated { account_ref: String, ready: bool },
    /// A transfer to a connected account was reversed: that payout failed.
    TransferReversed { transfer_ref: String },
    /// Verified, but nothing creditkit acts on.
    Ignored { event_id: String, kind: String },
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("webhook signature: {0}")]
    Signature(#[from] crate::signing::SignatureError),
    #[error("webhook body: {0}")]
    Body(String),
    #[error("the payment provider: {0}")]
    Provider(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A payment provider: makes checkout pages, and reads its own webhooks.
pub trait PaymentProvider: Send + Sync {
    /// The name the ledger records with each checkout and event (`stripe`).
    fn name(&self) -> &'static str;

    fn create_checkout<'a>(
        &'a self,
        draft: &'a CheckoutDraft,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<Checkout, PaymentError>>;

    /// Changes a subscription: its plan (an upgrade invoiced now, prorated; a downgrade
    /// from the next period), or whether it ends at the period's end.
    fn update_subscription<'a>(
        &'a self,
        update: &'a SubscriptionUpdate,
    ) -> BoxFuture<'a, Result<(), PaymentError>>;

    /// Creates a creator's connected account (Stripe Connect, Express) for a wallet.
    fn create_payout_account<'a>(
        &'a self,
        wallet_id: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentError>>;

    /// The page where the creator finishes (or resumes) onboarding their account.
    fn payout_onboarding<'a>(
        &'a self,
        account_ref: &'a str,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<String, PaymentError>>;

    /// Transfers an approved payout to the creator's account; the provider's transfer id.
    fn transfer<'a>(
        &'a self,
        payout: &'a PayoutTransfer,
    ) -> BoxFuture<'a, Result<String, PaymentError>>;

    /// Charges a top-up to the card saved for its wallet, off session, keyed by
    /// [`DueTopUp::idempotency_key`]: paid, declined, or no answer.
    fn charge_saved<'a>(&'a self, topup: &'a DueTopUp) -> BoxFuture<'a, TopUpOutcome>;

    /// The customer and payment method a payment was made with (to charge it again).
    fn saved_card<'a>(
        &'a self,
        payment_ref: &'a str,
    ) -> BoxFuture<'a, Result<(String, String), PaymentError>>;

    /// Verifies a webhook request (`now` in unix seconds) and reads its event.
    fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<ProviderEvent, PaymentError>;
}

/// Payments as configured for this server.
#[derive(Clone)]
pub struct Payments {
    pub provider: std::sync::Arc<dyn PaymentProvider>,
    /// The API's public base URL (for the default "you can close this window" page):
    /// configured, never taken from a request's `Host` header, which a caller sets.
    pub public_url: String,
    /// Origins a `return_url` may point into (the `--cors` origins).
    pub return_origins: Vec<String>,
}

//! Stripe, the few endpoints creditkit uses, as its API reference describes them (a
//! client of our own: an SDK would weigh more than these two calls give).
//!
//! - `POST /v1/checkout/sessions`: form-encoded, the secret key as bearer, an
//!   `Idempotency-Key` (our checkout id, so a retry never opens two sessions), the price
//!   inline (`line_items[0][price_data]`, `recurring[interval]=month` for a plan), our
//!   checkout id in `client_reference_id` and in the metadata of the session, and of the
//!   payment intent or subscription it creates.
//! - Webhooks, verified with the endpoint's signing secret (`Stripe-Signature`):
//!   `checkout.session.completed` / `.async_payment_succeeded` (paid), `invoice.paid`
//!   (`subscription_create`: the first period, `subscription_cycle`: a renewal),
//!   `charge.refunded`, `customer.subscription.deleted`, and
//!   `checkout.session.async_payment_failed` / `.expired` (the buyer sees it failed),
//!   `account.updated` (a creator's account can receive payouts), `transfer.reversed`.
//! - Subscriptions: `GET`/`POST`/`DELETE /v1/subscriptions/{id}` (plan changes, cancel
//!   at period end, resume, end now).
//! - Auto top-up: a checkout with `save_card` adds `customer_creation=always` and
//!   `payment_intent_data[setup_future_usage]=off_session`; its payment intent
//!   (`GET /v1/payment_intents/{id}`) names the customer and card kept. A top-up is
//!   `POST /v1/payment_intents` with `off_session=true&confirm=true`, keyed
//!   `{topup}-{attempt}`; `payment_intent.succeeded` naming `creditkit_topup` grants it
//!   if the answer did not. (A declined off-session intent stays
//!   `requires_payment_method`: it cannot succeed later without us.)
//! - Connect, for creators' payouts: `POST /v1/accounts` (Express), `POST
//!   /v1/account_links` (onboarding), `POST /v1/transfers` (a payout, keyed by its id).

use axum::http::HeaderMap;
use creditkit_ledger::{
    CheckoutDraft, DueTopUp, Paid, PaidPeriod, PayoutTransfer, PeriodReason, PlanChange,
    SubscriptionUpdate, TopUpOutcome,
};
use serde_json::Value;

use super::{BoxFuture, Checkout, PaymentError, PaymentProvider, ProviderEvent, ReturnUrls};

pub const NAME: &str = "stripe";

/// Stripe's keys: `sk_live_…` / `sk_test_…` and the webhook endpoint's `whsec_…`.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    pub secret_key: String,
    pub webhook_secret: String,
    /// `https://api.stripe.com`, or a local stand-in in tests and the demo.
    pub api_base: String,
}

/// Stripe's webhook signing secrets are `whsec_` and 32 more characters; a shorter one
/// is a placeholder or a mistake, and would let anyone forge a payment.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 24;

impl StripeConfig {
    /// Refuses a configuration that would let payments be forged: no secret key, or an
    /// empty or short webhook signing secret.
    pub fn check(&self) -> Result<(), String> {
        if self.secret_key.trim().is_empty() {
            return Err("the Stripe secret key is empty".into());
        }
        let secret = self.webhook_secret.trim();
        if secret.chars().count() < MIN_WEBHOOK_SECRET_CHARS {
            return Err(format!(
                "the Stripe webhook signing secret is {} (at least {MIN_WEBHOOK_SECRET_CHARS} characters): copy the endpoint's `whsec_…` secret from Stripe",
                if secret.is_empty() { "empty" } else { "too short" }
            ));
        }
        Ok(())
    }
}

pub struct Stripe {
    config: StripeConfig,
    http: reqwest::Client,
}

impl Stripe {
    pub fn new(config: StripeConfig) -> Stripe {
        Stripe {
            config,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .user_agent(concat!("creditkit/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("an HTTP client"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base.trim_end_matches('/'))
    }

    /// Sends a request with the secret key; Stripe's JSON, or its error's message.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, PaymentError> {
        let resp = request
            .bearer_auth(&self.config.secret_key)
            .send()
            .await
            .map_err(|e| PaymentError::Provider(format!("cannot reach Stripe: {e}")))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| {
            PaymentError::Provider(format!("Stripe answered {status} with no JSON: {e}"))
        })?;
        if !status.is_success() {
            let message = body
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(PaymentError::Provider(format!(
                "Stripe answered {status}: {message}"
            )));
        }
        Ok(body)
    }

    /// The form of `POST /v1/subscriptions/{id}` moving its item to another plan's
    /// price: an upgrade prorated and invoiced now (`always_invoice`), a downgrade from
    /// the next period (`none`: nothing credited or charged for this one).
    pub fn plan_change_form(
        update: &SubscriptionUpdate,
        item_id: &str,
        product: &str,
    ) -> Vec<(String, String)> {
        let item = "items[0]";
        vec![
            (format!("{item}[id]"), item_id.into()),
            (
                format!("{item}[price_data][currency]"),
                update.currency.clone(),
            ),
            (format!("{item}[price_data][product]"), product.into()),
            (
                format!("{item}[price_data][unit_amount]"),
                update.unit_amount_minor.to_string(),
            ),
            (
                format!("{item}[price_data][recurring][interval]"),
                "month".into(),
            ),
            (
                "proration_behavior".into(),
                if update.change == PlanChange::Upgrade {
                    "always_invoice"
                } else {
                    "none"
                }
                .into(),
            ),
            (
                "metadata[creditkit_plan]".into(),
                update.plan_id.clone().unwrap_or_default(),
            ),
        ]
    }

    /// The form Stripe's `POST /v1/checkout/sessions` takes for this checkout.
    pub fn checkout_form(draft: &CheckoutDraft, urls: &ReturnUrls) -> Vec<(String, String)> {
        let item = "line_items[0]";
        let mut f: Vec<(String, String)> = vec![
            (
                "mode".into(),
                if draft.recurring {
                    "subscription"
                } else {
                    "payment"
                }
                .into(),
            ),
            (
                format!("{item}[price_data][currency]"),
                draft.currency.clone(),
            ),
            (
                format!("{item}[price_data][unit_amount]"),
                draft.unit_amount_minor.to_string(),
            ),
            (
                format!("{item}[price_data][product_data][name]"),
                draft.description.clone(),
            ),
            (format!("{item}[quantity]"), draft.quantity.to_string()),
            ("success_url".into(), urls.success.clone()),
            ("cancel_url".into(), urls.cancel.clone()),
            ("client_reference_id".into(), draft.id.clone()),
            ("metadata[creditkit_checkout]".into(), draft.id.clone()),
            (
                "metadata[creditkit_workspace]".into(),
                draft.workspace_id.clone(),
            ),
        ];
        if draft.recurring {
            f.push((
                format!("{item}[price_data][recurring][interval]"),
                "month".into(),
            ));
            f.push((
                "subscription_data[metadata][creditkit_checkout]".into(),
                draft.id.clone(),
            ));
        } else {
            f.push((
                "payment_intent_data[metadata][creditkit_checkout]".into(),
                draft.id.clone(),
            ));
        }
        if draft.save_card {
            // Kept on a customer for payments made without the buyer (auto top-up):
            // Checkout shows the buyer that the card is saved.
            f.push(("customer_creation".into(), "always".into()));
            f.push((
                "payment_intent_data[setup_future_usage]".into(),
                "off_session".into(),
            ));
            f.push(("metadata[creditkit_save_card]".into(), "true".into()));
        }
        f
    }

    /// The form of `POST /v1/payment_intents` charging a saved card off session, and
    /// confirming at once (the answer says paid or declined).
    pub fn topup_form(t: &DueTopUp, customer: &str, method: &str) -> Vec<(String, String)> {
        vec![
            ("amount".into(), t.amount_minor.to_string()),
            ("currency".into(), t.currency.clone()),
            ("customer".into(), customer.into()),
            ("payment_method".into(), method.into()),
            ("off_session".into(), "true".into()),
            ("confirm".into(), "true".into()),
            ("description".into(), t.description.clone()),
            ("metadata[creditkit_topup]".into(), t.id.clone()),
            (
                "metadata[creditkit_workspace]".into(),
                t.workspace_id.clone(),
            ),
        ]
    }

    /// What Stripe answered a top-up's payment intent: `succeeded` is paid; an error
    /// with a `payment_intent` (a decline, `authentication_required`) is declined;
    /// anything else (5xx, no answer, a status still processing) is no answer yet,
    /// asked again with the same key.
    fn topup_outcome(status: u16, body: &Value) -> TopUpOutcome {
        if (200..300).contains(&status) {
            return match (text(body, "status").as_deref(), text(body, "id")) {
                (Some("succeeded"), Some(payment_ref)) => TopUpOutcome::Paid {
                    payment_ref,
                    amount_minor: body.get("amount").and_then(Value::as_u64).unwrap_or(0),
                    currency: text(body, "currency").unwrap_or_default(),
                },
                (other, _) => TopUpOutcome::Unavailable {
                    message: format!(
                        "the payment is {} at Stripe",
                        other.unwrap_or("in an unknown state")
                    ),
                },
            };
        }
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_string();
        let declined = status == 402
            || body.pointer("/error/type").and_then(Value::as_str) == Some("card_error");
        if declined {
            TopUpOutcome::Declined { message }
        } else {
            TopUpOutcome::Unavailable {
                message: format!("Stripe answered {status}: {message}"),
            }
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn amount(v: &Value, key: &str) -> Result<u64, PaymentError> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| PaymentError::Body(format!("`{key}` is not an amount")))
}

/// An id field that may be a string or an expanded object (`{"id": …}`).
fn id_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// An invoice's subscription: `subscription` in older API versions,
/// `parent.subscription_details.subscription` in newer ones.
fn invoice_subscription(inv: &Value) -> Option<String> {
    id_of(inv, "subscription").or_else(|| {
        inv.pointer("/parent/subscription_details/subscription")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// When the invoiced period ends (ms): its first line's period, else the invoice's.
fn invoice_period_end_ms(inv: &Value) -> Option<i64> {
    inv.pointer("/lines/data/0/period/end")
        .and_then(Value::as_i64)
        .or_else(|| inv.get("period_end").and_then(Value::as_i64))
        .map(|s| s * 1000)
}

/// Reads a verified event's body into what creditkit does with it.
pub fn read_event(body: &[u8]) -> Result<ProviderEvent, PaymentError> {
    let event: Value =
        serde_json::from_slice(body).map_err(|e| PaymentError::Body(e.to_string()))?;
    let event_id = text(&event, "id").ok_or_else(|| PaymentError::Body("no event id".into()))?;
    let kind = text(&event, "type").unwrap_or_default();
    let obj = event
        .pointer("/data/object")
        .ok_or_else(|| PaymentError::Body("no data.object".into()))?;
    Ok(match kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            if text(obj, "payment_status").as_deref() != Some("paid") {
                // Paid later by an asynchronous method: its own event will say so.
                return Ok(ProviderEvent::Ignored { event_id, kind });
            }
            // Our checkout id from the metadata this server set on the session, never from
            // `client_reference_id` (a Payment Link's customer sets that one).
            let checkout_id = obj
                .pointer("/metadata/creditkit_checkout")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    PaymentError::Body("the session names no creditkit checkout".into())
                })?;
            let session_ref =
                text(obj, "id").ok_or_else(|| PaymentError::Body("no session id".into()))?;
            let saved_card = obj
                .pointer("/metadata/creditkit_save_card")
                .and_then(Value::as_str)
                == Some("true");
            let paid = Paid {
                provider: NAME.into(),
                event_id,
                checkout_id,
                session_ref,
                payment_ref: id_of(obj, "payment_intent"),
                subscription_ref: id_of(obj, "subscription"),
                amount_minor: amount(obj, "amount_total")?,
                currency: text(obj, "currency").unwrap_or_default(),
                period_end_ms: None,
            };
            ProviderEvent::Paid { paid, saved_card }
        }
        "payment_intent.succeeded" => {
            // Ours only when it names a top-up (a checkout's comes with its session).
            let Some(topup_id) = obj
                .pointer("/metadata/creditkit_topup")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return Ok(ProviderEvent::Ignored { event_id, kind });
            };
            ProviderEvent::TopUpPaid {
                topup_id,
                payment_ref: text(obj, "id")
                    .ok_or_else(|| PaymentError::Body("no payment intent id".into()))?,
                amount_minor: amount(obj, "amount_received").or_else(|_| amount(obj, "amount"))?,
                currency: text(obj, "currency").unwrap_or_default(),
            }
        }
        "invoice.paid" => {
            let Some(subscription_ref) = invoice_subscription(obj) else {
                return Ok(ProviderEvent::Ignored { event_id, kind });
            };
            let reason = match text(obj, "billing_reason").as_deref() {
                Some("subscription_create") => PeriodReason::Create,
                Some("subscription_update") => PeriodReason::Update,
                _ => PeriodReason::Cycle,
            };
            ProviderEvent::PeriodPaid {
                period: PaidPeriod {
                    provider: NAME.into(),
                    event_id,
                    subscription_ref,
                    payment_ref: id_of(obj, "payment_intent"),
                    amount_minor: amount(obj, "amount_paid")?,
                    currency: text(obj, "currency").unwrap_or_default(),
                    period_end_ms: invoice_period_end_ms(obj),
                },
                reason,
            }
        }
        "charge.refunded" => ProviderEvent::Refunded {
            event_id,
            payment_ref: id_of(obj, "payment_intent")
                .ok_or_else(|| PaymentError::Body("the charge names no payment intent".into()))?,
            refunded_minor: amount(obj, "amount_refunded")?,
        },
        "checkout.session.async_payment_failed" | "checkout.session.expired" => {
            ProviderEvent::CheckoutFailed {
                expired: kind == "checkout.session.expired",
                event_id,
                checkout_id: obj
                    .pointer("/metadata/creditkit_checkout")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        PaymentError::Body("the session names no creditkit checkout".into())
                    })?,
                session_ref: text(obj, "id")
                    .ok_or_else(|| PaymentError::Body("no session id".into()))?,
            }
        }
        "account.updated" => ProviderEvent::AccountUpdated {
            account_ref: text(obj, "id")
                .ok_or_else(|| PaymentError::Body("no account id".into()))?,
            ready: obj.get("payouts_enabled").and_then(Value::as_bool) == Some(true),
        },
        "transfer.reversed" => ProviderEvent::TransferReversed {
            transfer_ref: text(obj, "id")
                .ok_or_else(|| PaymentError::Body("no transfer id".into()))?,
        },
        "customer.subscription.deleted" => ProviderEvent::SubscriptionEnded {
            event_id,
            subscription_ref: text(obj, "id")
                .ok_or_else(|| PaymentError::Body("no subscription id".into()))?,
        },
        _ => ProviderEvent::Ignored { event_id, kind },
    })
}

impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_checkout<'a>(
        &'a self,
        draft: &'a CheckoutDraft,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<Checkout, PaymentError>> {
        Box::pin(async move {
            let request = self
                .http
                .post(self.url("/v1/checkout/sessions"))
                .header("Idempotency-Key", &draft.id)
                .form(&Stripe::checkout_form(draft, urls));
            let body = self.call(request).await?;
            match (text(&body, "id"), text(&body, "url")) {
                (Some(provider_ref), Some(url)) => Ok(Checkout { provider_ref, url }),
                _ => Err(PaymentError::Provider(
                    "Stripe's session has no id or url".into(),
                )),
            }
        })
    }

    fn update_subscription<'a>(
        &'a self,
        update: &'a SubscriptionUpdate,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            let url = self.url(&format!("/v1/subscriptions/{}", update.subscription_ref));
            if update.change == PlanChange::EndNow {
                // Ends it now (Stripe: "Cancel a subscription"), idempotent by its key.
                let request = self.http.delete(&url).header("Idempotency-Key", &update.id);
                return self.call(request).await.map(|_| ());
            }
            let form = match update.change {
                PlanChange::EndNow => Vec::new(),
                PlanChange::Cancel => vec![("cancel_at_period_end".into(), "true".into())],
                PlanChange::Resume => vec![("cancel_at_period_end".into(), "false".into())],
                PlanChange::Upgrade | PlanChange::Downgrade => {
                    // The item to change and its product, from the subscription.
                    let sub = self.call(self.http.get(&url)).await?;
                    let item = sub.pointer("/items/data/0").ok_or_else(|| {
                        PaymentError::Provider("the subscription has no item".into())
                    })?;
                    let (Some(item_id), Some(product)) = (
                        text(item, "id"),
                        item.get("price").and_then(|p| id_of(p, "product")),
                    ) else {
                        return Err(PaymentError::Provider(
                            "the subscription's item names no id or product".into(),
                        ));
                    };
                    Stripe::plan_change_form(update, &item_id, &product)
                }
            };
            let request = self
                .http
                .post(&url)
                .header("Idempotency-Key", &update.id)
                .form(&form);
            self.call(request).await.map(|_| ())
        })
    }

    fn create_payout_account<'a>(
        &'a self,
        wallet_id: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async move {
            let form = [
                ("type", "express"),
                ("capabilities[transfers][requested]", "true"),
                ("metadata[creditkit_wallet]", wallet_id),
            ];
            let request = self
                .http
                .post(self.url("/v1/accounts"))
                .header("Idempotency-Key", format!("acct-{wallet_id}"))
                .form(&form);
            let account = self.call(request).await?;
            text(&account, "id")
                .ok_or_else(|| PaymentError::Provider("Stripe's account has no id".into()))
        })
    }

    fn payout_onboarding<'a>(
        &'a self,
        account_ref: &'a str,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async move {
            let form = [
                ("account", account_ref),
                ("type", "account_onboarding"),
                ("return_url", urls.success.as_str()),
                ("refresh_url", urls.cancel.as_str()),
            ];
            let link = self
                .call(self.http.post(self.url("/v1/account_links")).form(&form))
                .await?;
            text(&link, "url")
                .ok_or_else(|| PaymentError::Provider("Stripe's account link has no url".into()))
        })
    }

    fn transfer<'a>(
        &'a self,
        payout: &'a PayoutTransfer,
    ) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async move {
            let amount = payout.amount_minor.to_string();
            let form = [
                ("amount", amount.as_str()),
                ("currency", payout.currency.as_str()),
                ("destination", payout.account_ref.as_str()),
                ("metadata[creditkit_payout]", payout.payout_id.as_str()),
            ];
            let request = self
                .http
                .post(self.url("/v1/transfers"))
                .header("Idempotency-Key", &payout.payout_id)
                .form(&form);
            let transfer = self.call(request).await?;
            text(&transfer, "id")
                .ok_or_else(|| PaymentError::Provider("Stripe's transfer has no id".into()))
        })
    }

    fn charge_saved<'a>(&'a self, t: &'a DueTopUp) -> BoxFuture<'a, TopUpOutcome> {
        Box::pin(async move {
            let (Some(customer), Some(method)) = (&t.customer_ref, &t.method_ref) else {
                return TopUpOutcome::Declined {
                    message: "no card is saved for this wallet".into(),
                };
            };
            let sent = self
                .http
                .post(self.url("/v1/payment_intents"))
                .bearer_auth(&self.config.secret_key)
                .header("Idempotency-Key", t.idempotency_key())
                .form(&Stripe::topup_form(t, customer, method))
                .send()
                .await;
            let resp = match sent {
                Ok(resp) => resp,
                Err(e) => {
                    return TopUpOutcome::Unavailable {
                        message: format!("cannot reach Stripe: {e}"),
                    }
                }
            };
            let status = resp.status().as_u16();
            match resp.json::<Value>().await {
                Ok(body) => Stripe::topup_outcome(status, &body),
                Err(e) => TopUpOutcome::Unavailable {
                    message: format!("Stripe answered {status} with no JSON: {e}"),
                },
            }
        })
    }

    fn saved_card<'a>(
        &'a self,
        payment_ref: &'a str,
    ) -> BoxFuture<'a, Result<(String, String), PaymentError>> {
        Box::pin(async move {
            let url = self.url(&format!("/v1/payment_intents/{payment_ref}"));
            let pi = self.call(self.http.get(url)).await?;
            match (id_of(&pi, "customer"), id_of(&pi, "payment_method")) {
                (Some(customer), Some(method)) => Ok((customer, method)),
                _ => Err(PaymentError::Provider(
                    "the payment names no customer or payment method to charge again".into(),
                )),
            }
        })
    }

    fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<ProviderEvent, PaymentError> {
        let signature = headers
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok());
        crate::signing::verify(&self.config.webhook_secret, signature, body, now)?;
        read_event(body)
    }
}

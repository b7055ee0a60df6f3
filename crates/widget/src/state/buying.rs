//! Credits in from the browser's side: the host's purchase flow or the server's checkout
//! (credits arrive on the balance stream, never from the browser), and which wallet the
//! page acts on.

use super::*;
use crate::client::sleep_ms;
use crate::format::credits_text;
use creditkit_api::CheckoutState;

/// How often, and how many times, a checkout's state is asked (15 minutes).
const CHECKOUT_POLL_MS: i32 = 1_000;
const CHECKOUT_POLLS: u32 = 900;

impl Credits {
    /// The host's purchase flow (its checkout), used by the buy buttons.
    pub fn set_buy(&self, buy: Buy) {
        self.buy_handler.set_value(Some(buy));
    }

    /// Buys `quantity` of a pack, or a plan: emits `creditkit:buy`, then runs the host's
    /// purchase flow if one was set, else opens the server's checkout (the payment
    /// provider's page, in a window opened by this click so no popup blocker stops
    /// it). Credits are added by a verified payment, never by the browser; when they
    /// arrive on the balance stream, a waiting action continues to its confirm dialog.
    pub fn buy(&self, pack_id: Option<String>, plan_id: Option<String>, quantity: u64) {
        let purchase = Purchase {
            pack_id,
            plan_id,
            quantity: quantity.max(1),
        };
        self.emit("creditkit:buy", &purchase);
        let this = *self;
        if let Some(buy) = self.buy_handler.get_value() {
            spawn_local(async move {
                match buy(purchase).await {
                    Ok(()) => {
                        this.notice.set(None);
                        this.refresh_balance().await;
                        this.revision.update(|r| *r += 1);
                        this.continue_if_covered();
                    }
                    Err(e) => this.notice.set(Some(e)),
                }
            });
            return;
        }
        self.open_checkout(creditkit_api::CheckoutRequest {
            pack_id: purchase.pack_id,
            plan_id: purchase.plan_id,
            quantity: Some(purchase.quantity),
            ..Default::default()
        });
    }

    /// Buys `quantity` of a pack through the server's checkout with the card saved for
    /// auto top-up (the host's purchase flow cannot save it for creditkit's provider).
    pub fn buy_saving_card(&self, pack_id: String, quantity: u64) {
        self.open_checkout(creditkit_api::CheckoutRequest {
            pack_id: Some(pack_id),
            quantity: Some(quantity.max(1)),
            save_card: Some(true),
            ..Default::default()
        });
    }

    /// Opens the server's checkout (the payment provider's page, in a window opened by
    /// this click so no popup blocker stops it) and follows it.
    fn open_checkout(&self, req: creditkit_api::CheckoutRequest) {
        let this = *self;
        // Opened now, while this is still the user's click; pointed at the page below.
        let window =
            web_sys::window().and_then(|w| w.open_with_url_and_target("", "_blank").ok().flatten());
        spawn_local(async move {
            match this.client().checkout(&req).await {
                Ok(started) => {
                    let opened = window
                        .as_ref()
                        .is_some_and(|w| w.location().set_href(&started.url).is_ok());
                    if !opened {
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().set_href(&started.url);
                        }
                    }
                    this.notice.set(Some(words().pay_in_window.into()));
                    this.follow_checkout(started.id);
                }
                Err(e) => {
                    if let Some(w) = &window {
                        let _ = w.close();
                    }
                    let words = if e.code() == Some(creditkit_api::ErrorCode::PaymentsNotConfigured)
                    {
                        words().pay_with_app.to_string()
                    } else {
                        e.words()
                    };
                    this.notice.set(Some(words));
                }
            }
        });
    }

    /// Follows a checkout until the provider has said how it went: the notice says the
    /// payment is processing, then the credits added, or that it failed or expired
    /// (nothing charged): never "received" before the provider says paid. Gives up
    /// after 15 minutes (the credits still arrive on the balance stream).
    fn follow_checkout(&self, checkout_id: String) {
        let this = *self;
        spawn_local(async move {
            for _ in 0..CHECKOUT_POLLS {
                sleep_ms(CHECKOUT_POLL_MS).await;
                let Ok(c) = this.client().checkout_status(&checkout_id).await else {
                    continue;
                };
                let said = match c.status {
                    CheckoutState::Pending => continue,
                    CheckoutState::Paid => {
                        (words().payment_received)(&credits_text(c.credits * 1000))
                    }
                    CheckoutState::Failed => words().payment_failed.to_string(),
                    CheckoutState::Expired => words().checkout_expired.to_string(),
                };
                this.notice.set(Some(said));
                if c.status == CheckoutState::Paid {
                    // What was bought (a plan's subscription) is read again too.
                    this.refresh_balance().await;
                    this.revision.update(|r| *r += 1);
                }
                return;
            }
        });
    }

    /// Acts on `wallet_id` from now on (the wallet switcher): the balance, the event
    /// stream and everything below follow it.
    pub fn switch_wallet(&self, wallet_id: Option<String>) {
        let client = self.client().with_wallet(wallet_id);
        self.client.set_value(client);
        let streaming = self.stream.with_value(Option::is_some);
        if streaming {
            self.follow_events();
        }
        let this = *self;
        spawn_local(async move {
            this.refresh_balance().await;
            this.revision.update(|r| *r += 1);
        });
    }
}

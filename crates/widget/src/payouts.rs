//! A creator's payouts reaching their bank (seed 004, issue 32): the account payouts
//! are sent to (connect it on the provider's page, finish setting it up), and each
//! payout's state: requested, paid, or failed with the earnings available again.

use creditkit_api::{Payout, PayoutAccount, PayoutState};
use leptos::prelude::*;

use crate::copy::words;
use crate::follow::{on_wallet, read};
use crate::format::{credits_text, day};
use crate::state::Credits;

/// The payout account's state, with the button that opens the provider's onboarding
/// (in a window opened by the click, as checkout is), and the wallet's payouts.
#[component]
pub fn PayoutStatus() -> impl IntoView {
    let credits = Credits::get();
    let account = on_wallet(credits, "/payout-account");
    let payouts = on_wallet(credits, "/payouts");
    let failed = RwSignal::new(None::<String>);
    let connect = move |_| {
        let window =
            web_sys::window().and_then(|w| w.open_with_url_and_target("", "_blank").ok().flatten());
        leptos::task::spawn_local(async move {
            match credits.client().connect_payout_account().await {
                Ok(PayoutAccount {
                    onboarding_url: Some(url),
                    ..
                }) => {
                    if let Some(w) = &window {
                        let _ = w.location().set_href(&url);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if let Some(w) = &window {
                        let _ = w.close();
                    }
                    failed.set(Some(e.words()));
                }
            }
        });
    };
    view! {
        {move || read::<PayoutAccount>(&account).and_then(Result::ok).map(|a| {
            let ready = a.status == "ready";
            let (line, button) = match a.status.as_str() {
                "ready" => (words().payout_account_ready, None),
                "pending" => (words().payout_account_pending, Some(words().finish_payout_account)),
                _ => (words().payout_account_none, Some(words().connect_payout_account)),
            };
            view! {
                <p class="ck-note" data-field="payout-account" data-ready=ready.to_string()>{line}</p>
                {button.map(|b| view! { <button type="button" class="ck-secondary" on:click=connect>{b}</button> })}
            }
        })}
        {move || failed.get().map(|e| view! { <p role="alert" class="ck-failed">{e}</p> })}
        {move || read::<Vec<Payout>>(&payouts).and_then(Result::ok).filter(|l| !l.is_empty()).map(|list| {
            let rows = list.into_iter().map(|p| {
                let state = match p.status {
                    PayoutState::Requested => words().payout_waiting.to_string(),
                    PayoutState::Paid => (words().payout_paid)(&day(p.decided_at_ms.unwrap_or(p.created_at_ms))),
                    PayoutState::Failed => (words().payout_failed)(p.failure.as_deref().unwrap_or("")),
                };
                view! { <tr data-payout=p.status.as_str()><td>{day(p.created_at_ms)}</td><td>{credits_text(p.amount_millicredits)}</td><td>{state}</td></tr> }
            }).collect_view();
            view! {
                <table class="ck-expiry" aria-label=words().payouts_title>
                    <caption>{words().payouts_title}</caption>
                    <tbody>{rows}</tbody>
                </table>
            }
        })}
    }
}

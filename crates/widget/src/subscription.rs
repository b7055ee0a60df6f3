//! A paid plan's lifecycle for the person paying it (issue 32): what it costs, when it
//! renews or ends, and the changes they may make, each saying when it takes effect: an
//! upgrade now (the difference charged and its credits added at once), a switch to a
//! cheaper plan from the next renewal, cancel at the period's end, resume. Changes go
//! through the server to the payment provider; credits come only with its paid invoice.

use creditkit_api::{Subscription, SubscriptionChange};
use creditkit_pricing::{Card, Renewal};
use leptos::prelude::*;

use crate::copy::words;
use crate::follow::{on_wallet, read};
use crate::format::{credits_text, day, money_text};
use crate::state::Credits;

/// The wallet's paid subscription and its changes; nothing on no paid plan.
#[component]
pub fn SubscriptionPanel() -> impl IntoView {
    let credits = Credits::get();
    let subscription = on_wallet(credits, "/subscription");
    let said = RwSignal::new(None::<Result<String, String>>);
    let change = move |req: SubscriptionChange, done: String| {
        leptos::task::spawn_local(async move {
            let r = credits
                .client()
                .change_subscription(&req)
                .await
                .map(|_| done)
                .map_err(|e| e.words());
            if r.is_ok() {
                credits.revision.update(|n| *n += 1);
                credits.refresh_balance().await;
            }
            said.set(Some(r));
        });
    };
    move || {
        let card = credits.card.get()?;
        let sub = read::<Option<Subscription>>(&subscription)?.ok()??;
        Some(view! {
            <section class="ck-subscription" aria-labelledby="ck-subscription-title">
                <h2 id="ck-subscription-title">{words().subscription_title}</h2>
                {status_view(&card, &sub, change)}
                {changes_view(&card, &sub, change)}
                {move || said.get().map(|r| match r {
                    Ok(t) => view! { <p role="status" class="ck-note">{t}</p> }.into_any(),
                    Err(e) => view! { <p role="alert" class="ck-failed">{e}</p> }.into_any(),
                })}
            </section>
        })
    }
}

fn plan_name(card: &Card, id: &str) -> String {
    card.plan(id)
        .map_or_else(|| id.to_string(), |p| p.name.clone())
}

fn price(card: &Card, minor: u64) -> String {
    let Some(c) = card.currency.as_ref() else {
        return String::new();
    };
    money_text(&creditkit_pricing::Money {
        currency: c.code.clone(),
        amount_minor: minor,
        display: creditkit_pricing::format_fixed(minor, c.exponent),
    })
}

/// "Pro, $79.00 a month. Renews on 15 Feb 2026." and what is set to change, with the
/// cancel or resume button.
fn status_view(
    card: &Card,
    sub: &Subscription,
    change: impl Fn(SubscriptionChange, String) + Copy + 'static,
) -> impl IntoView {
    let when = sub.renews_at_ms.map(day).unwrap_or_default();
    let line = (words().subscribed_to)(
        &plan_name(card, &sub.plan_id),
        &price(card, sub.amount_minor),
    );
    let state = if sub.cancel_at_period_end {
        (words().ends_on)(&when)
    } else if let Some(next) = &sub.next_plan_id {
        (words().changes_on)(&plan_name(card, next), &when)
    } else if let Some(up) = &sub.upgrade_plan_id {
        (words().upgrade_waiting)(&plan_name(card, up))
    } else {
        (words().renews_on)(&when)
    };
    let wallet_id = sub.wallet_id.clone();
    let button = if sub.cancel_at_period_end {
        let done = words().resumed.to_string();
        view! {
            <button type="button" class="ck-secondary" data-change="resume" on:click=move |_| change(SubscriptionChange { cancel_at_period_end: Some(false), wallet_id: Some(wallet_id.clone()), ..Default::default() }, done.clone())>{words().resume_button}</button>
        }
        .into_any()
    } else {
        let done = words().canceled.to_string();
        view! {
            <button type="button" class="ck-secondary" data-change="cancel" on:click=move |_| change(SubscriptionChange { cancel_at_period_end: Some(true), wallet_id: Some(wallet_id.clone()), ..Default::default() }, done.clone())>{words().cancel_button}</button>
        }
        .into_any()
    };
    view! {
        <p data-field="subscription"><strong>{line}</strong></p>
        <p class="ck-note" data-field="subscription-state">{state}</p>
        {button}
    }
}

/// The other paid monthly plans: an upgrade now, a cheaper one from the renewal.
fn changes_view(
    card: &Card,
    sub: &Subscription,
    change: impl Fn(SubscriptionChange, String) + Copy + 'static,
) -> Option<impl IntoView> {
    if sub.cancel_at_period_end {
        return None;
    }
    let current = card.plan(&sub.plan_id);
    let when = sub.renews_at_ms.map(day).unwrap_or_default();
    let rows = card
        .plans
        .iter()
        .filter(|p| p.renewal == Renewal::Monthly && p.price_minor.unwrap_or(0) > 0)
        .filter(|p| p.id != sub.plan_id && sub.next_plan_id.as_deref() != Some(p.id.as_str()))
        .map(|p| {
            let up = current.is_none_or(|c| (p.credits, p.price_minor) > (c.credits, c.price_minor));
            let (label, note, done) = if up {
                (
                    (words().upgrade_now)(&p.name),
                    words().upgrade_note.to_string(),
                    (words().upgraded)(&p.name),
                )
            } else {
                (
                    (words().switch_on)(&p.name, &when),
                    words().downgrade_note.to_string(),
                    (words().changes_on)(&p.name, &when),
                )
            };
            let allowance = (words().per_month)(&credits_text(p.credits * 1000));
            let amount = p.price_minor.map(|m| price(card, m)).unwrap_or_default();
            let req = SubscriptionChange {
                plan_id: Some(p.id.clone()),
                wallet_id: Some(sub.wallet_id.clone()),
                ..Default::default()
            };
            view! {
                <li class="ck-offer" data-plan=p.id.clone()>
                    <span class="ck-offer-name">{p.name.clone()}</span>
                    <span class="ck-offer-credits">{allowance}</span>
                    <span class="ck-offer-price">{amount}</span>
                    <span class="ck-note">{note}</span>
                    <button type="button" class="ck-secondary" data-change=if up { "upgrade" } else { "downgrade" } on:click=move |_| change(req.clone(), done.clone())>{label}</button>
                </li>
            }
        })
        .collect_view();
    Some(view! { <ul class="ck-offers ck-plans">{rows}</ul> })
}

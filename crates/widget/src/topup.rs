//! `<AutoTopUpPanel/>`: the wallet's automatic top-up, in the member's words: what it
//! buys and when, how many this month, a form to set or turn it off, and when a
//! payment failed, "auto top-up failed — update your card" with the button that fixes
//! it (a checkout that saves the new card, which resumes the rule).

use creditkit_api::{AutoTopUp, AutoTopUpRequest, AutoTopUpRule};
use creditkit_pricing::{pack_offers, PackOffer};
use leptos::prelude::*;

use crate::copy::topup_words;
use crate::format::{credits_text, money_text, when};
use crate::state::Credits;

/// The packs a top-up may buy: sold for money, with the units one purchase takes.
fn topup_packs(credits: Credits) -> Vec<(PackOffer, u64)> {
    credits
        .card
        .get()
        .map(|card| {
            pack_offers(&card)
                .into_iter()
                .filter(|o| o.price.is_some())
                .map(|o| {
                    let units = o.quantity.map_or(1, |q| q.min);
                    (o, units)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// "Starter" and "$5.00" for a pack bought `units` at a time.
fn pack_words(o: &PackOffer, units: u64) -> (String, String) {
    let price = o.price.as_ref().map(money_text).unwrap_or_default();
    let price = if units > 1 {
        format!("{units} × {price}")
    } else {
        price
    };
    (o.name.clone(), price)
}

/// What a rule buys, in words: its pack's name and price on today's card.
fn rule_pack(packs: &[(PackOffer, u64)], r: &AutoTopUpRule) -> (String, String) {
    packs
        .iter()
        .find(|(o, _)| o.id == r.pack_id)
        .map_or((r.pack_name.clone(), String::new()), |(o, _)| {
            pack_words(o, r.quantity)
        })
}

/// The failure line and the button that fixes it.
fn failure(credits: Credits, packs: &[(PackOffer, u64)], r: &AutoTopUpRule) -> impl IntoView {
    let t = topup_words();
    let (name, price) = rule_pack(packs, r);
    let (pack, units) = (r.pack_id.clone(), r.quantity);
    let next = match (r.status.as_str(), r.retry_at_ms) {
        ("paused", _) => t.paused.to_string(),
        (_, Some(at)) => (t.retry_at)(&when(at)),
        _ => String::new(),
    };
    view! {
        <div class="ck-topup-failed" role="alert">
            <p><strong>{t.failed}</strong>" "{r.last_error.clone().unwrap_or_default()}</p>
            <p>{next}</p>
            <button type="button" class="ck-primary" on:click=move |_| credits.buy_saving_card(pack.clone(), units)>
                {(t.update_card)(&name, &price)}
            </button>
        </div>
    }
}

/// Where the rule stands, in one line (or what it waits for).
fn status(credits: Credits, packs: &[(PackOffer, u64)], s: &AutoTopUp) -> AnyView {
    let t = topup_words();
    let Some(r) = &s.rule else {
        return view! { <p class="ck-note">{t.card_note}</p> }.into_any();
    };
    if r.failures > 0 || r.status == "paused" {
        return failure(credits, packs, r).into_any();
    }
    let (name, price) = rule_pack(packs, r);
    if r.status == "needs_card" {
        let (pack, units) = (r.pack_id.clone(), r.quantity);
        return view! {
            <p>{t.needs_card}</p>
            <button type="button" class="ck-primary" on:click=move |_| credits.buy_saving_card(pack.clone(), units)>
                {(t.save_card)(&name, &price)}
            </button>
        }
        .into_any();
    }
    view! {
        <p class="ck-topup-status" data-field="topup-status">
            {(t.on)(&credits_text(r.below_credits * 1000), &name, &credits_text(r.credits * 1000), &price)}
            " "{(t.this_month)(s.this_month_count, r.max_per_month)}
        </p>
    }
    .into_any()
}

#[component]
pub fn AutoTopUpPanel() -> impl IntoView {
    let credits = Credits::get();
    let t = topup_words();
    let data = LocalResource::new(move || {
        // Read again on each balance event: a top-up paid or failed changes the wallet.
        credits.revision.track();
        credits.balance.track();
        let client = credits.client();
        async move { client.auto_topup().await }
    });
    let below = RwSignal::new(String::new());
    let pack = RwSignal::new(String::new());
    let times = RwSignal::new("3".to_string());
    let said = RwSignal::new(None::<Result<&'static str, String>>);
    // The form starts from the rule as first read; later reads (each balance event)
    // never overwrite what the member is typing.
    let filled = StoredValue::new(false);
    Effect::new(move |_| {
        if let (Some(Ok(s)), false) = (data.get(), filled.get_value()) {
            filled.set_value(true);
            if let Some(r) = &s.rule {
                below.set(r.below_credits.to_string());
                pack.set(r.pack_id.clone());
                times.set(r.max_per_month.to_string());
            }
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(below_credits) = below.get_untracked().trim().parse::<u64>() else {
            said.set(Some(Err(t.invalid_below.into())));
            return;
        };
        let max = data
            .get_untracked()
            .and_then(Result::ok)
            .map_or(1, |s| s.bounds.max_per_month);
        let Some(max_per_month) = times
            .get_untracked()
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
        else {
            said.set(Some(Err((t.invalid_times)(max))));
            return;
        };
        let packs = topup_packs(credits);
        let chosen = pack.get_untracked();
        let Some((o, units)) = packs.iter().find(|(o, _)| o.id == chosen).or(packs.first()) else {
            said.set(Some(Err(t.no_pack.into())));
            return;
        };
        let req = AutoTopUpRequest {
            wallet_id: None,
            below_credits,
            pack_id: o.id.clone(),
            quantity: (*units > 1).then_some(*units),
            max_per_month,
            max_amount_minor_per_month: None,
        };
        leptos::task::spawn_local(async move {
            match credits.client().set_auto_topup(&req).await {
                Ok(_) => {
                    said.set(Some(Ok(t.saved)));
                    credits.revision.update(|r| *r += 1);
                }
                Err(e) => said.set(Some(Err(e.words()))),
            }
        });
    };
    let turn_off = move |_| {
        leptos::task::spawn_local(async move {
            match credits.client().delete_auto_topup().await {
                Ok(_) => {
                    said.set(Some(Ok(t.turned_off)));
                    credits.revision.update(|r| *r += 1);
                }
                Err(e) => said.set(Some(Err(e.words()))),
            }
        });
    };
    view! {
        <section class="ck-topup" aria-labelledby="ck-topup-title">
            <h3 id="ck-topup-title">{t.title}</h3>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="ck-failed" role="alert">{e.words()}</p> }.into_any(),
                Ok(s) if !s.bounds.enabled => view! { <p class="ck-note">{t.off_by_operator}</p> }.into_any(),
                Ok(s) => {
                    let packs = topup_packs(credits);
                    let has_rule = s.rule.is_some();
                    let options = packs.iter().map(|(o, units)| {
                        let (name, price) = pack_words(o, *units);
                        let id = o.id.clone();
                        let selected = move || pack.get() == id;
                        view! { <option value=o.id.clone() selected=selected>{format!("{name} ({}, {price})", credits_text(o.credits * units * 1000))}</option> }
                    }).collect_view();
                    view! {
                        {status(credits, &packs, &s)}
                        <form class="ck-topup-form" on:submit=save>
                            <label>{t.below_label}<input type="text" inputmode="numeric" size="6" name="below" prop:value=move || below.get() on:change=move |ev| below.set(event_target_value(&ev))/></label>
                            <label>{t.pack_label}<select name="pack" on:change=move |ev| pack.set(event_target_value(&ev))>{options}</select></label>
                            <label>{t.times_label}<input type="text" inputmode="numeric" size="3" name="times" prop:value=move || times.get() on:change=move |ev| times.set(event_target_value(&ev))/></label>
                            <button type="submit" class="ck-primary">{t.save}</button>
                            {has_rule.then(|| view! { <button type="button" class="ck-secondary" on:click=turn_off>{t.turn_off}</button> })}
                        </form>
                    }.into_any()
                }
            })}
            {move || said.get().map(|r| match r {
                Ok(text) => view! { <p class="ck-note" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="ck-failed" role="alert">{text}</p> }.into_any(),
            })}
        </section>
    }
}

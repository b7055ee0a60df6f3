//! What an end user sees of their credits beyond the balance: what they can buy (packs
//! with their per-credit price and volume saving, plans with the current one marked),
//! the plan they are on with its allowance and reset date, when their credits expire,
//! and a creator's earnings (seeds 000–004). Each is a component and an element.

use creditkit_api::{Allowance, Earnings, PriceNotice};
use creditkit_pricing::{pack_offers, Card, PriceChange, Renewal, Span};
use leptos::prelude::*;

use crate::copy::words;
use crate::follow::{following, on_wallet, read};
use crate::format::{credits_number, credits_text, day, money_text};
use crate::state::Credits;

/// The card's support contact as a sentence with a link, when it names one.
fn support(card: Option<&Card>) -> Option<impl IntoView> {
    card.and_then(|c| c.contact.clone()).map(support_line)
}

/// Packs and plans to buy: each pack's price per credit and what it saves against the
/// dearest pack per credit; each plan's allowance, the current one marked. A button
/// opens the operator's checkout (`creditkit:buy`, or the host's `set_buy`).
#[component]
pub fn BuyCredits() -> impl IntoView {
    let credits = Credits::get();
    move || {
        let card = credits.card.get()?;
        let current = credits
            .balance
            .with(|b| b.as_ref().and_then(|b| b.plan_id.clone()));
        let offers = pack_offers(&card);
        let dearest = offers.iter().filter_map(|o| o.per_credit_micros).max();
        let packs = offers
            .into_iter()
            .map(|o| {
                let saving = match (dearest, o.per_credit_micros) {
                    (Some(d), Some(p)) if p < d => Some((d - p) * 100 / d),
                    _ => None,
                };
                let price = o.price.as_ref().map(money_text);
                let per_credit = o.per_credit_display.clone().zip(o.price.as_ref()).map(|(per, m)| {
                    (words().per_credit)(&crate::format::unit_price_text(&per, &m.currency))
                });
                let validity = match o.validity_months {
                    Some(n) => (words().valid_months)(n),
                    None => words().never_expire.to_string(),
                };
                let id = o.id.clone();
                if let Some(units) = o.quantity {
                    let amount = by_amount(&card, &o, units, credits);
                    return view! {
                        <li class="ck-offer" data-pack=o.id.clone()>
                            <span class="ck-offer-name">{o.name.clone()}</span>
                            {per_credit.map(|p| view! { <span class="ck-offer-per">{p}</span> })}
                            {saving.filter(|s| *s > 0).map(|s| view! { <span class="ck-offer-saving" data-field="saving">{(words().saving)(s)}</span> })}
                            <span class="ck-note">{validity}</span>
                            {amount}
                        </li>
                    }
                    .into_any();
                }
                let credits_label = credits_text(o.credits * 1000);
                let label = (words().buy)(&o.name, &credits_label, &price.clone().map(|p| (words().for_price)(&p)).unwrap_or_default());
                view! {
                    <li class="ck-offer" data-pack=o.id.clone()>
                        <span class="ck-offer-name">{o.name.clone()}</span>
                        <span class="ck-offer-credits">{credits_label.clone()}</span>
                        {price.map(|p| view! { <span class="ck-offer-price">{p}</span> })}
                        {per_credit.map(|p| view! { <span class="ck-offer-per">{p}</span> })}
                        {saving.filter(|s| *s > 0).map(|s| view! { <span class="ck-offer-saving" data-field="saving">{(words().saving)(s)}</span> })}
                        <span class="ck-note">{validity}</span>
                        <button type="button" class="ck-secondary" aria-label=label on:click=move |_| credits.buy(Some(id.clone()), None, 1)>{words().buy_button}</button>
                    </li>
                }
                .into_any()
            })
            .collect_view();
        let plans = card
            .plans
            .iter()
            .map(|p| {
                let is_current = current.as_deref() == Some(p.id.as_str());
                let allowance = match p.renewal {
                    Renewal::Monthly => (words().per_month)(&credits_text(p.credits * 1000)),
                    Renewal::Once => (words().once)(&credits_text(p.credits * 1000)),
                };
                let price = p.price_minor.and_then(|m| card_money(&card, m));
                let id = p.id.clone();
                let label = (words().switch_to)(&p.name);
                view! {
                    <li class="ck-offer" data-plan=p.id.clone() aria-current=is_current.then_some("true")>
                        <span class="ck-offer-name">{p.name.clone()}</span>
                        {(p.credits > 0).then(|| view! { <span class="ck-offer-credits">{allowance}</span> })}
                        {price.map(|p| view! { <span class="ck-offer-price">{p}</span> })}
                        {features_view(&p.features)}
                        {if is_current {
                            view! { <strong class="ck-current">{words().current_plan}</strong> }.into_any()
                        } else {
                            view! { <button type="button" class="ck-secondary" aria-label=label on:click=move |_| credits.buy(None, Some(id.clone()), 1)>{words().choose_button}</button> }.into_any()
                        }}
                    </li>
                }
            })
            .collect_view();
        let (has_packs, has_plans) = (!card.packs.is_empty(), !card.plans.is_empty());
        Some(view! {
            <section class="ck-buy" aria-labelledby="ck-buy-title">
                <h2 id="ck-buy-title">{words().buy_title}</h2>
                {has_plans.then(|| view! { <h3>{words().plans_heading}</h3><ul class="ck-offers ck-plans">{plans}</ul> })}
                {has_packs.then(|| view! { <h3>{words().packs_heading}</h3><ul class="ck-offers ck-packs">{packs}</ul> })}
                {move || credits.notice.get().map(|n| view! { <p role="alert" class="ck-failed">{n}</p> })}
                {support(Some(&card))}
            </section>
        })
    }
}

/// A pack bought by amount (Kumari's Custom Pack, "from $10"): how many units, with
/// what they come to as the user types; the buy button takes that many.
fn by_amount(
    card: &Card,
    o: &creditkit_pricing::PackOffer,
    units: creditkit_pricing::PackQuantity,
    credits: Credits,
) -> impl IntoView {
    let chosen = RwSignal::new(Some(units.min));
    let (unit_credits, unit_price) = (o.credits, o.price.as_ref().map(|m| m.amount_minor));
    let money = {
        let card = card.clone();
        move |minor: u64| card_money(&card, minor)
    };
    let from = unit_price
        .and_then(|p| money(p * units.min))
        .map(|p| (words().from_price)(&p));
    let each = (words().units_of)(
        &credits_text(unit_credits * 1000),
        &unit_price.and_then(&money).unwrap_or_default(),
    );
    let total = {
        let money = money.clone();
        std::sync::Arc::new(move || {
            chosen.get().map(|n| {
                let price = unit_price
                    .and_then(|p| money(p * n))
                    .map(|p| (words().for_price)(&p));
                format!(
                    "{}{}",
                    credits_text(unit_credits * n * 1000),
                    price.unwrap_or_default()
                )
            })
        })
    };
    let total_text = total.clone();
    let (id, name) = (o.id.clone(), o.name.clone());
    let input_id = format!("ck-units-{}", o.id);
    view! {
        {from.map(|f| view! { <span class="ck-offer-price" data-field="from">{f}</span> })}
        <label for=input_id.clone()>{each}</label>
        <input id=input_id type="number" inputmode="numeric" min=units.min.to_string() max=units.max.to_string() step="1"
            value=units.min.to_string() aria-invalid=move || chosen.get().is_none().then_some("true")
            on:input=move |ev| chosen.set(event_target_value(&ev).trim().parse::<u64>().ok().filter(|n| (units.min..=units.max).contains(n)))/>
        <span class="ck-offer-credits" data-field="total" aria-live="polite">{move || total_text().unwrap_or_else(|| (words().units_range)(units.min, units.max))}</span>
        <button type="button" class="ck-secondary" disabled=move || chosen.get().is_none()
            aria-label=move || (words().buy)(&name, &total().unwrap_or_default(), "")
            on:click=move |_| if let Some(n) = chosen.get_untracked() { credits.buy(Some(id.clone()), None, n) }>{words().buy_button}</button>
    }
}

/// `minor` units of the card's currency, in the user's locale.
fn card_money(card: &Card, minor: u64) -> Option<String> {
    let c = card.currency.as_ref()?;
    Some(money_text(&creditkit_pricing::Money {
        currency: c.code.clone(),
        amount_minor: minor,
        display: creditkit_pricing::format_fixed(minor, c.exponent),
    }))
}

/// The plan the wallet is on: what is left of its allowance, when it resets (unused
/// credits do not roll over), and the balance by when each part expires.
#[component]
pub fn PlanAllowance() -> impl IntoView {
    let credits = Credits::get();
    let allowance = following(credits, || "/allowance".into());
    view! {
        <section class="ck-plan" aria-labelledby="ck-plan-title">
            <h2 id="ck-plan-title">{words().plan_title}</h2>
            {move || read::<Allowance>(&allowance).map(|r| match r {
                Err(e) => view! { <p class="ck-failed">{e.words()}</p> }.into_any(),
                Ok(a) => {
                    let features = a.plan.as_ref().and_then(|p| credits.card.with(|c| c.as_ref().and_then(|c| c.plan(&p.id)).map(|p| p.features.clone()))).unwrap_or_default();
                    view! { {plan_view(a)} {features_view(&features)} }.into_any()
                }
            })}
        </section>
    }
}

/// A price change told in advance (seed 000): when it applies to this wallet (a plan
/// keeps today's prices until it renews), and old → new for the actions this member
/// uses most. Shows nothing when no change is scheduled.
#[component]
pub fn PriceChangeNotice() -> impl IntoView {
    let credits = Credits::get();
    let notice = on_wallet(credits, "/price-notice");
    move || match read::<Option<PriceNotice>>(&notice) {
        Some(Ok(Some(n))) => notice_view(n).into_any(),
        _ => ().into_any(),
    }
}

fn notice_view(n: PriceNotice) -> impl IntoView {
    let when = if n.applies_at_ms > n.effective_at_ms {
        (words().notice_at_renewal)(&day(n.effective_at_ms), &day(n.applies_at_ms))
    } else {
        (words().notice_on)(&day(n.applies_at_ms))
    };
    let rows = n
        .changes
        .iter()
        .map(|c| {
            let (before, after) = (change_price(c.before), change_price(c.after));
            view! { <li data-action=c.action.clone()>{change_name(c)}": "{before}" → "{after}</li> }
        })
        .collect_view();
    let others = (n.other_changes > 0).then(|| {
        view! { <p class="ck-note" data-field="others">{(words().notice_others)(n.other_changes)}</p> }
    });
    let note = n
        .note
        .map(|t| view! { <p class="ck-note" data-field="note">{t}</p> });
    view! {
        <aside class="ck-price-notice" aria-labelledby="ck-notice-title">
            <h2 id="ck-notice-title">{words().notice_title}</h2>
            <p data-field="when">{when}</p>
            <ul>{rows}</ul>
            {others}
            {note}
        </aside>
    }
}

/// "Image generation (2k)": the action and the option values priced, not the ids.
fn change_name(c: &PriceChange) -> String {
    let values: Vec<&str> = c
        .variant
        .split(", ")
        .filter(|v| !v.is_empty())
        .map(|v| v.split_once('=').map_or(v, |(_, value)| value))
        .collect();
    if values.is_empty() {
        c.name.clone()
    } else {
        format!("{} ({})", c.name, values.join(", "))
    }
}

/// The price before or after a change; "no longer offered" for an action removed.
fn change_price(s: Option<Span>) -> String {
    s.map_or_else(|| words().notice_gone.to_string(), |s| span_text(&s))
}

/// What a plan includes beyond credits (seed 004): "Knowledge base (PDF): up to 1 file".
fn features_view(features: &[creditkit_pricing::Feature]) -> Option<impl IntoView> {
    (!features.is_empty()).then(|| {
        let rows = features
            .iter()
            .map(|f| {
                let text = match f.limit {
                    Some(n) => (words().up_to)(&f.name, n, f.unit.as_deref().unwrap_or("")),
                    None => f.name.clone(),
                };
                view! { <li data-feature=f.id.clone()>{text}</li> }
            })
            .collect_view();
        view! { <ul class="ck-features" aria-label=words().features_title>{rows}</ul> }
    })
}

fn plan_view(a: Allowance) -> impl IntoView {
    let plan = match a.plan {
        None => view! { <p class="ck-note" data-field="plan">{words().no_plan}</p> }.into_any(),
        Some(p) => {
            let left = credits_text(p.left_millicredits);
            let total = credits_text(p.allowance_millicredits);
            let note = match p.renews_at_ms {
                Some(at) => (words().resets_on)(&day(at)),
                None => words().once_note.to_string(),
            };
            view! {
                <p data-field="plan"><strong>{p.name.clone()}</strong></p>
                <p data-field="allowance">{(words().allowance_left)(&left, &total)}</p>
                <meter min="0" max=p.allowance_millicredits.to_string() value=p.left_millicredits.to_string() aria-label=(words().allowance_left)(&left, &total)></meter>
                <p class="ck-note" data-field="resets">{note}</p>
            }
            .into_any()
        }
    };
    let parts = a
        .parts
        .into_iter()
        .map(|part| {
            let what = match (part.source.as_str(), part.name) {
                ("plan", Some(n)) => (words().source_plan)(&n),
                ("pack", Some(n)) => n,
                ("grant", _) => words().source_grant.to_string(),
                (_, Some(n)) => n,
                (other, None) => other.to_string(),
            };
            let until = match part.expires_at_ms {
                Some(at) => (words().expires_on)(&day(at)),
                None => words().never_expire.to_string(),
            };
            view! { <tr><td>{what}</td><td>{credits_text(part.remaining_millicredits)}</td><td>{until}</td></tr> }
        })
        .collect_view();
    view! {
        {plan}
        <table class="ck-expiry" aria-label=words().expiry_title>
            <caption>{words().expiry_title}</caption>
            <thead><tr><th scope="col">{words().from}</th><th scope="col">{words().credits}</th><th scope="col">{words().expires}</th></tr></thead>
            <tbody>{parts}</tbody>
        </table>
    }
}

/// A creator's earnings from publisher add-ons (seed 004): available, pending (about
/// 24 h), paid out, the platform's share, the payout minimum, and a payout request.
#[component]
pub fn EarningsPanel() -> impl IntoView {
    let credits = Credits::get();
    let earnings = following(credits, || "/earnings".into());
    let asked = RwSignal::new(None::<Result<Earnings, String>>);
    let request = move |amount: u64| {
        let key = crate::client::new_key("payout");
        leptos::task::spawn_local(async move {
            let r = credits
                .client()
                .payout(amount, &key)
                .await
                .map_err(|e| e.words());
            if r.is_ok() {
                credits.revision.update(|n| *n += 1);
            }
            asked.set(Some(r));
        });
    };
    view! {
        <section class="ck-earnings" aria-labelledby="ck-earnings-title">
            <h2 id="ck-earnings-title">{words().earnings_title}</h2>
            {move || read::<Earnings>(&earnings).map(|r| match r {
                Err(e) => view! { <p class="ck-failed">{e.words()}</p> }.into_any(),
                Ok(e) => {
                    let available = e.available_millicredits;
                    let can = e.payout_available && available >= e.minimum_payout_millicredits;
                    view! {
                        <dl class="ck-shortfall">
                            <dt>{words().available_now}</dt><dd data-field="available">{credits_text(available)}</dd>
                            <dt>{words().pending}</dt><dd data-field="pending">{credits_text(e.pending_millicredits)}</dd>
                            <dt>{words().paid_out_total}</dt><dd data-field="paid-out">{credits_text(e.paid_out_millicredits)}</dd>
                            <dt>{words().platform_share}</dt><dd data-field="share">{credits_text(e.platform_share_millicredits)}</dd>
                        </dl>
                        <p class="ck-note">{(words().minimum_payout)(&credits_text(e.minimum_payout_millicredits))}</p>
                        <button type="button" class="ck-primary" disabled=!can on:click=move |_| request(available)>
                            {(words().request_payout)(&credits_text(available))}
                        </button>
                    }.into_any()
                }
            })}
            <crate::payouts::PayoutStatus/>
            {move || asked.get().map(|r| match r {
                Ok(_) => view! { <p role="status" class="ck-note">{words().payout_requested}</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="ck-failed">{e}</p> }.into_any(),
            })}
        </section>
    }
}

/// "1.5 credits", or "2–6 credits" where the price depends on the message.
fn span_text(s: &creditkit_pricing::Span) -> String {
    if s.min_millicredits == s.max_millicredits {
        credits_text(s.max_millicredits)
    } else {
        format!(
            "{}–{}",
            credits_number(s.min_millicredits),
            credits_text(s.max_millicredits)
        )
    }
}

/// The card's agents (seed 004): the model each runs on, what a message costs once the
/// free ones are used (runtime plus the creator's add-on), and the free messages this
/// member has left, counted by the server (right after a reload too).
#[component]
pub fn AgentCards() -> impl IntoView {
    let credits = Credits::get();
    let agents = following(credits, || "/agents".into());
    view! {
        <section class="ck-agents" aria-labelledby="ck-agents-title">
            <h2 id="ck-agents-title">{words().agents_title}</h2>
            {move || read::<Vec<creditkit_api::AgentOffer>>(&agents).map(|r| match r {
                Err(e) => view! { <p class="ck-failed">{e.words()}</p> }.into_any(),
                Ok(list) => view! {
                    <ul class="ck-agent-cards">
                        {list.into_iter().map(|a| {
                            let price = span_text(&a.per_message);
                            view! {
                                <li class="ck-agent" data-agent=a.id.clone()>
                                    <strong>{a.name.clone()}</strong>
                                    <span class="ck-note">{(words().runs_on)(&a.model_name)}</span>
                                    <span data-field="per-message">{if a.free_messages > 0 { (words().per_message_after_free)(&price) } else { (words().per_message)(&price) }}</span>
                                    {(a.free_messages > 0).then(|| view! { <span data-field="free-left">{(words().free_left)(a.free_left, a.free_messages)}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </section>
    }
}

/// The low-balance alerts (seed 001: "Set low balance alerts"): the level below which the
/// balance warns, and the critical one. Admins and owners set them for the workspace;
/// a member reads them.
#[component]
pub fn LowBalanceAlerts() -> impl IntoView {
    let credits = Credits::get();
    let may_set = LocalResource::new(move || {
        let client = credits.client();
        async move {
            client
                .me()
                .await
                .is_ok_and(|me| me.rights.contains(&creditkit_api::Op::ManageWallets))
        }
    });
    let low = RwSignal::new(String::new());
    let critical = RwSignal::new(String::new());
    let said = RwSignal::new(None::<Result<(), String>>);
    Effect::new(move |_| {
        credits.balance.with(|b| {
            if let Some(b) = b {
                low.set(
                    credits_number(b.low_threshold_millicredits)
                        .replace(['\u{a0}', '\u{202f}', ','], ""),
                );
                critical.set(
                    credits_number(b.critical_threshold_millicredits)
                        .replace(['\u{a0}', '\u{202f}', ','], ""),
                );
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parse =
            |s: String| creditkit_pricing::parse_scaled(&s.trim().replace(',', "."), 3).ok();
        let (Some(l), Some(c)) = (parse(low.get_untracked()), parse(critical.get_untracked()))
        else {
            said.set(Some(Err(words().alerts_invalid.to_string())));
            return;
        };
        if c > l {
            said.set(Some(Err(words().alerts_order.to_string())));
            return;
        }
        leptos::task::spawn_local(async move {
            let t = creditkit_api::Thresholds {
                low_threshold_millicredits: l,
                critical_threshold_millicredits: c,
            };
            let r = credits
                .client()
                .set_thresholds(&t)
                .await
                .map_err(|e| e.words());
            if r.is_ok() {
                credits.refresh_balance().await;
            }
            said.set(Some(r));
        });
    };
    view! {
        <section class="ck-alerts" aria-labelledby="ck-alerts-title">
            <h2 id="ck-alerts-title">{words().alerts_title}</h2>
            {move || credits.balance.get().map(|b| view! {
                <p class="ck-note" data-field="alerts">{(words().alerts_now)(&credits_text(b.low_threshold_millicredits), &credits_text(b.critical_threshold_millicredits))}</p>
            })}
            {move || may_set.get().filter(|m| *m).map(|_| view! {
                <form on:submit=save>
                    <label>{words().alerts_low}<input type="text" inputmode="decimal" prop:value=move || low.get() on:input=move |ev| low.set(event_target_value(&ev))/></label>
                    <label>{words().alerts_critical}<input type="text" inputmode="decimal" prop:value=move || critical.get() on:input=move |ev| critical.set(event_target_value(&ev))/></label>
                    <button type="submit" class="ck-secondary">{words().alerts_save}</button>
                </form>
            })}
            {move || said.get().map(|r| match r {
                Ok(()) => view! { <p role="status" class="ck-note">{words().alerts_saved}</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="ck-failed">{e}</p> }.into_any(),
            })}
        </section>
    }
}

/// Which wallet the page acts on, where a member has more than one (seed 004: personal
/// and organization wallets are separate): each with what it has available.
#[component]
pub fn WalletSwitcher() -> impl IntoView {
    let credits = Credits::get();
    let wallets = following(credits, || "/wallets".into());
    let current = move || {
        credits
            .balance
            .with(|b| b.as_ref().map(|b| b.wallet_id.clone()))
    };
    // The last list read stays shown while it is read again (the switch itself makes
    // every panel read again): the control never vanishes under the user's pointer.
    let last = StoredValue::new(None::<Vec<creditkit_api::WalletSummary>>);
    move || {
        let list = match read::<Vec<creditkit_api::WalletSummary>>(&wallets) {
            Some(Ok(list)) => {
                last.set_value(Some(list.clone()));
                list
            }
            _ => last.get_value()?,
        };
        (list.len() > 1).then(|| {
            view! {
                <label class="ck-wallets">{words().wallet_label}
                    <select on:change=move |ev| credits.switch_wallet(Some(event_target_value(&ev)))>
                        {list.into_iter().map(|w| {
                            let kind = match w.kind {
                                creditkit_api::WalletKind::Workspace => words().wallet_workspace,
                                creditkit_api::WalletKind::Personal => words().wallet_personal,
                                creditkit_api::WalletKind::Organization => words().wallet_organization,
                            };
                            let selected = current().as_deref() == Some(w.wallet_id.as_str());
                            view! { <option value=w.wallet_id.clone() selected=selected>{format!("{kind} · {}", credits_text(w.available_millicredits))}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }
        })
    }
}

/// "Questions about your credits? support@…": the card's support contact, shown where a
/// user looks for help (the insufficient prompt, the history).
pub(crate) fn support_line(c: creditkit_pricing::Contact) -> impl IntoView {
    let (href, shown) = match (&c.email, &c.url) {
        (Some(e), _) => (format!("mailto:{e}"), e.clone()),
        (None, Some(u)) => (
            u.clone(),
            u.trim_start_matches("https://")
                .trim_start_matches("http://")
                .to_string(),
        ),
        (None, None) => (String::new(), String::new()),
    };
    view! {
        <p class="ck-note ck-support" data-field="support">
            {words().support_question}" "<a href=href target="_blank" rel="noopener">{shown}</a>
        </p>
    }
}

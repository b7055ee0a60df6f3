//! The embeddable components. Each reads [`Credits`] from context.

use creditkit_api::{BalanceState, TransactionKind};
use creditkit_pricing::Request;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::copy::words;
use crate::format::{cap_sentence, credits_number, credits_text, estimate_text, money_text, when};
use crate::state::{Credits, Flow, Outcome};

/// Available credits in a badge (held credits beside them); click for details.
/// Live: follows the server's events, so any member's charge shows at once.
#[component]
pub fn BalanceBadge(
    /// `header` (default) or `inline` (next to a chat input, inside a modal).
    #[prop(optional, into)]
    variant: Option<String>,
) -> impl IntoView {
    let credits = Credits::get();
    let open = RwSignal::new(false);
    let variant = variant.unwrap_or_else(|| "header".into());
    let state = move || {
        credits.balance.with(|b| match b.as_ref().map(|b| b.state) {
            Some(BalanceState::Ok) => "ok",
            Some(BalanceState::Low) => "low",
            Some(BalanceState::Critical) => "critical",
            None => "loading",
        })
    };
    let available = move || {
        credits.balance.with(|b| {
            b.as_ref()
                .map(|b| credits_text(b.available_millicredits))
                .unwrap_or_else(|| "…".into())
        })
    };
    let held = move || {
        credits.balance.with(|b| match b {
            Some(b) if b.held_millicredits > 0 => {
                (words().held)(&credits_number(b.held_millicredits))
            }
            _ => String::new(),
        })
    };
    view! {
        <div class="ck-balance" data-variant=variant data-state=state>
            <button
                type="button"
                class="ck-balance-button"
                aria-expanded=move || open.get().to_string()
                aria-label=move || (words().balance_aria)(&available())
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="ck-balance-amount" aria-live="polite">{available}</span>
                <span class="ck-balance-held">{held}</span>
            </button>
            <Show when=move || open.get()>
                <div class="ck-balance-details" role="region" aria-label=words().balance_details>
                    {move || credits.balance.with(|b| b.as_ref().map(|b| view! {
                        <dl>
                            <dt>{words().balance}</dt><dd>{credits_text(b.balance_millicredits)}</dd>
                            <dt>{words().held_for_running}</dt><dd>{credits_text(b.held_millicredits)}</dd>
                            <dt>{words().used_all_time}</dt><dd>{credits_text(b.lifetime_used_millicredits)}</dd>
                            <dt>{words().last_transaction}</dt>
                            <dd>{b.last_transaction.as_ref().map(|t| format!("{} {} — {}", kind_label(t.kind), signed(t.delta_millicredits), when(t.created_at_ms))).unwrap_or_else(|| words().none_yet.into())}</dd>
                        </dl>
                    }))}
                </div>
            </Show>
        </div>
    }
}

pub(crate) fn signed(delta: i64) -> String {
    let sign = if delta < 0 { "−" } else { "+" };
    format!("{sign}{}", credits_text(delta.unsigned_abs()))
}

pub(crate) fn kind_label(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::Grant => words().kind_grant,
        TransactionKind::Charge => words().kind_charge,
        TransactionKind::Refund => words().kind_refund,
        TransactionKind::Expiry => words().kind_expiry,
        TransactionKind::Hold => words().kind_hold,
        TransactionKind::Release => words().kind_release,
        TransactionKind::Payout => words().kind_payout,
        TransactionKind::Earning => words().kind_earning,
        TransactionKind::Revoke => words().kind_revoke,
    }
}

/// Below the low threshold a warning, at the critical one an alert (thresholds come
/// from the server). Renders nothing while the balance is fine. Its "Add credits" runs
/// `on_add_credits`, or, without one, opens what can be bought ([`crate::BuyCredits`]).
#[component]
pub fn LowBalanceBanner(
    /// Called by the banner's "Add credits" button.
    #[prop(optional, into)]
    on_add_credits: Option<Callback<()>>,
) -> impl IntoView {
    let credits = Credits::get();
    let buying = RwSignal::new(false);
    let on_add_credits = Some(
        on_add_credits.unwrap_or_else(|| Callback::new(move |()| buying.update(|b| *b = !*b))),
    );
    let state = move || {
        credits
            .balance
            .with(|b| b.as_ref().map(|b| (b.state, b.available_millicredits)))
    };
    let banner = move || {
        match state() {
        Some((BalanceState::Low, left)) => Some(view! {
            <div class="ck-banner" data-level="low" role="status">
                <span>{(words().low_balance)(&credits_text(left))}</span>
                {on_add_credits.map(|cb| view! { <button type="button" class="ck-link" on:click=move |_| cb.run(())>{words().add_credits}</button> })}
            </div>
        }
        .into_any()),
        Some((BalanceState::Critical, left)) => Some(view! {
            <div class="ck-banner" data-level="critical" role="alert">
                <span>{if left == 0 { words().out_of_credits.to_string() } else { (words().almost_out)(&credits_text(left)) }}</span>
                {on_add_credits.map(|cb| view! { <button type="button" class="ck-link" on:click=move |_| cb.run(())>{words().add_credits}</button> })}
            </div>
        }
        .into_any()),
        _ => None,
    }
    };
    view! { {banner} {move || buying.get().then(|| crate::lazy::loaded(crate::lazy::buy))} }
}

/// The cost of `request`, recomputed locally by the pricing engine whenever it changes —
/// no network round-trip per keystroke. "30 credits" or "2–3 credits".
///
/// With `text`, the request is a chat turn and `text` its message: it is counted with the
/// model's tokenizer on every change (exactly, once the model's ranks have been fetched;
/// bounds until then) and priced as the turn's `input_tokens`.
#[component]
pub fn LiveEstimate(
    /// The request to price; `None` shows nothing.
    #[prop(into)]
    request: Signal<Option<Request>>,
    /// Shown before the amount.
    #[prop(optional, into)]
    label: Option<String>,
    /// A chat turn's text, counted into the request's `input_tokens`: a signal of the
    /// whole text, or a [`TypedText`](crate::tokens::TypedText) fed edit by edit.
    #[prop(optional, into)]
    text: Option<crate::tokens::TurnText>,
) -> impl IntoView {
    let credits = Credits::get();
    let counted = text.map(|text| {
        let model = move || {
            let r = request.get()?;
            credits.card.with(|card| {
                let item = r.items.first()?;
                creditkit_pricing::chat_model(card.as_ref()?, item).cloned()
            })
        };
        crate::tokens::live_count(model, text, credits.client().base_url().to_string())
    });
    // A request that carries its turn's text (`input_text`) is counted exactly once the
    // model's ranks are here: fetch them the first time, then price again.
    let arrived = RwSignal::new(0u32);
    Effect::new(move |_| {
        let Some(r) = request.get() else { return };
        let missing = credits.card.with(|card| {
            card.as_ref()
                .map(|card| creditkit_estimator::missing_ranks(card, &r))
                .unwrap_or_default()
        });
        for e in missing.into_iter().filter(|e| !crate::tokens::loading(*e)) {
            let base = credits.client().base_url().to_string();
            leptos::task::spawn_local(async move {
                if crate::tokens::load(&base, e).await.is_ok() {
                    arrived.update(|n| *n += 1);
                }
            });
        }
    });
    let result = Memo::new(move |_| {
        let request = request.get()?;
        arrived.track();
        let count = counted.map(|(c, _)| c.get().0);
        credits.card.with(|card| {
            card.as_ref().map(|card| {
                let priced = match count {
                    None => creditkit_estimator::price(card, &request),
                    Some(c) => crate::tokens::estimate_turn(card, &request, &c),
                };
                priced.map_err(|e| estimate_problem(&e))
            })
        })
    });
    let tokens_line = move || {
        counted.map(|(c, error)| {
            let (count, basis) = c.get();
            format!(
                " · {}",
                crate::tokens::count_text(&count, basis, error.get().as_deref())
            )
        })
    };
    let label = label.unwrap_or_else(|| words().estimated_cost.into());
    // Once marked, the effect reads nothing, so it never runs again (not per keystroke).
    Effect::new(move |marked: Option<bool>| {
        if marked == Some(true) {
            return true;
        }
        let shown = result.with(|r| matches!(r, Some(Ok(_))));
        if shown {
            mark_first_estimate();
        }
        shown
    });
    // The structure is rebuilt only when the state changes (loading, priced, refused);
    // while typing, only the amount's and the count's text change in place.
    let state = Memo::new(move |_| {
        result.with(|r| match r {
            None => 0u8,
            Some(Ok(_)) => 1,
            Some(Err(_)) => 2,
        })
    });
    let amount = move || {
        result.with(|r| match r {
            Some(Ok(e)) => estimate_text(e),
            _ => String::new(),
        })
    };
    let refusal = move || {
        result.with(|r| match r {
            Some(Err(message)) => message.clone(),
            _ => String::new(),
        })
    };
    let exceeds = Memo::new(move |_| {
        let max = result.with(|r| r.as_ref()?.as_ref().ok().map(|e| e.max_millicredits))?;
        Some(max > credits.available_millicredits()?)
    });
    view! {
        <div
            class="ck-estimate"
            aria-live="polite"
            data-min=move || result.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|e| e.min_millicredits.to_string()))
            data-max=move || result.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|e| e.max_millicredits.to_string()))
        >
            {move || match state.get() {
                0 => view! { <span class="ck-estimate-loading">"…"</span> }.into_any(),
                1 => view! {
                    <span class="ck-estimate-label">{label.clone()}{words().colon}</span>
                    <strong class="ck-estimate-amount">{amount}</strong>
                    <span class="ck-estimate-tokens">{tokens_line}</span>
                    {move || (exceeds.get() == Some(true)).then(|| view! { <span class="ck-estimate-warning">{words().more_than_balance}</span> })}
                }.into_any(),
                _ => view! { <span class="ck-estimate-error">{refusal}</span> }.into_any(),
            }}
        </div>
    }
}

/// Records when the page first showed an estimate (`window.__creditkitFirstEstimateMs`,
/// milliseconds since navigation start) so tests and benchmarks can read it.
fn mark_first_estimate() {
    let Some(w) = web_sys::window() else { return };
    let key = wasm_bindgen::JsValue::from_str("__creditkitFirstEstimateMs");
    if js_sys::Reflect::has(&w, &key).unwrap_or(true) {
        return;
    }
    if let Some(p) = w.performance() {
        let _ = js_sys::Reflect::set(&w, &key, &p.now().into());
    }
}

/// The confirm dialog for the open quote: the exact cost (or the range and its
/// maximum, which is all that can be charged), the balance after, Confirm / Cancel.
/// Modal: focus moves in, Tab stays in, Escape cancels, focus returns on close.
#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let credits = Credits::get();
    let dialog = NodeRef::<html::Div>::new();
    // An auto-confirmed turn runs without the dialog; only a failure is shown.
    let open = Memo::new(move |_| {
        let unattended = credits.unattended.get();
        credits.flow.with(|f| match f {
            Flow::Confirming { .. } | Flow::Working { .. } | Flow::Done { .. } => !unattended,
            Flow::Failed { .. } => true,
            _ => false,
        })
    });

    modal_focus(move || open.get(), dialog);

    let on_keydown = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close(credits);
        }
        "Tab" => {
            if let Some(d) = dialog.get() {
                trap_tab(&d, &ev);
            }
        }
        _ => {}
    };

    move || {
        if !open.get() {
            return None;
        }
        let flow = credits.flow.get();
        let body = match flow {
            Flow::Confirming { label, quote } => {
                let e = &quote.estimate;
                let cost = if e.exact { credits_text(e.max_millicredits) } else { (words().at_most)(&estimate_text(e), &credits_text(e.max_millicredits)) };
                let streamed = quote.streaming.then(|| view! {
                    <p class="ck-note" data-field="streamed">{(words().streamed)(&credits_text(quote.hold_millicredits), &credits_text(e.max_millicredits))}</p>
                });
                let after = quote.available_millicredits.saturating_sub(quote.hold_millicredits);
                let low = credits.balance.with(|b| b.as_ref().map(|b| after < b.low_threshold_millicredits)).unwrap_or(false);
                view! {
                    <h2 id="ck-confirm-title">{(words().confirm_title)(&label)}</h2>
                    <p class="ck-confirm-cost">{words().cost_label}<strong>{cost}</strong></p>
                    <ul class="ck-lines">
                        {e.lines.iter().filter(|l| l.max_millicredits > 0 || l.kind == creditkit_pricing::LineKind::FreeMessage).map(|l| view! {
                            <li>{l.label.clone()}" — "{if l.min_millicredits == l.max_millicredits { credits_text(l.max_millicredits) } else { format!("{}–{}", credits_number(l.min_millicredits), credits_text(l.max_millicredits)) }}</li>
                        }).collect_view()}
                    </ul>
                    <p class="ck-confirm-after">{words().balance_after}<strong>{credits_text(after)}</strong></p>
                    {streamed}
                    {(!e.exact).then(|| view! { <p class="ck-note">{words().charged_what_used}</p> })}
                    {low.then(|| view! { <p class="ck-warning" role="note">{words().below_low_level}</p> })}
                    <div class="ck-actions">
                        <button type="button" class="ck-secondary" on:click=move |_| credits.cancel()>{words().cancel}</button>
                        <button type="button" class="ck-primary" on:click=move |_| credits.confirm()>{(words().confirm_button)(&credits_text(quote.hold_millicredits))}</button>
                    </div>
                }
                .into_any()
            }
            Flow::Working { label, hold } => {
                let max = hold.stream.as_ref().map_or(hold.amount_millicredits, |st| st.confirmed_max_millicredits);
                let status = move || match (credits.paused.get(), credits.running_millicredits.get()) {
                    (Some(short), _) => (words().paused)(&credits_text(short.shortfall_millicredits)),
                    (None, Some(so_far)) => (words().streaming)(&credits_text(so_far), &credits_text(max)),
                    (None, None) => (words().working)(&credits_text(hold.amount_millicredits)),
                };
                let buy = move || credits.paused.get().and_then(|short| short.pack).map(|p| {
                    let (id, qty) = (p.pack.id.clone(), p.quantity);
                    view! { <button type="button" class="ck-primary" on:click=move |_| credits.buy(Some(id.clone()), None, qty)>{(words().buy)(&p.pack.name, &credits_text(p.credits * 1000), "")}</button> }
                });
                view! {
                    <h2 id="ck-confirm-title">{label}</h2>
                    <p role="status" class="ck-working" data-paused=move || credits.paused.with(Option::is_some).to_string()>{status}</p>
                    <div class="ck-actions">{buy}</div>
                }
                .into_any()
            }
            Flow::Done { label, outcome } => {
                let text = match outcome {
                    Outcome::Charged { charged_millicredits, confirmed_millicredits } => {
                        (words().done_charged)(&credits_text(charged_millicredits), &credits_text(confirmed_millicredits))
                    }
                    Outcome::Held { amount_millicredits, .. } => (words().confirmed_held)(&credits_text(amount_millicredits)),
                };
                view! {
                    <h2 id="ck-confirm-title">{label}</h2>
                    <p role="status" class="ck-done">{text}</p>
                    <div class="ck-actions"><button type="button" class="ck-primary" on:click=move |_| close(credits)>{words().close}</button></div>
                }
                .into_any()
            }
            Flow::Failed { label, message } => view! {
                <h2 id="ck-confirm-title">{label}</h2>
                <p role="alert" class="ck-failed">{message}</p>
                <div class="ck-actions"><button type="button" class="ck-primary" on:click=move |_| close(credits)>{words().close}</button></div>
            }
            .into_any(),
            _ => return None,
        };
        Some(view! {
            <div class="ck-backdrop">
                <div class="ck-dialog" role="dialog" aria-modal="true" aria-labelledby="ck-confirm-title" node_ref=dialog on:keydown=on_keydown>
                    {body}
                </div>
            </div>
        })
    }
}

fn close(credits: Credits) {
    match credits.flow.get_untracked() {
        Flow::Working { .. } => {} // the operation finishes on its own; it cannot be abandoned half-charged
        Flow::Confirming { .. } | Flow::Insufficient { .. } => credits.cancel(),
        _ => credits.flow.set(Flow::Idle),
    }
}

/// A modal's focus: moves into the dialog when `open` turns true, and back to what had
/// it when the dialog closes. The opener is often disabled while its action is priced
/// (and a disabled button drops focus), so the element last focused outside any dialog
/// stands in for it; focus goes back in the next task, once the opener is enabled
/// again, unless another dialog has opened meanwhile.
fn modal_focus(open: impl Fn() -> bool + 'static, dialog: NodeRef<html::Div>) {
    let outside = StoredValue::new_local(None::<web_sys::HtmlElement>);
    let restore = StoredValue::new_local(None::<web_sys::HtmlElement>);
    let listener = window_event_listener(leptos::ev::focusin, move |ev| {
        let target = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(el) = target.filter(|el| !in_dialog(el)) {
            outside.set_value(Some(el));
        }
    });
    on_cleanup(move || listener.remove());
    Effect::new(move |_| {
        if open() {
            if restore.with_value(Option::is_none) {
                let body = document().body();
                let active = document()
                    .active_element()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    .filter(|e| Some(e) != body.as_ref() && !in_dialog(e));
                restore.set_value(active.or_else(|| outside.get_value()));
            }
            if let Some(d) = dialog.get() {
                focus_first(&d);
            }
        } else if let Some(el) = restore.get_value() {
            restore.set_value(None);
            set_timeout(
                move || {
                    let modal_open = document()
                        .query_selector("[aria-modal=true]")
                        .ok()
                        .flatten()
                        .is_some();
                    if !modal_open {
                        let _ = el.focus();
                    }
                },
                std::time::Duration::ZERO,
            );
        }
    });
}

fn in_dialog(el: &web_sys::HtmlElement) -> bool {
    el.closest("[role=dialog], [role=alertdialog]")
        .ok()
        .flatten()
        .is_some()
}

fn focusable(root: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = root.query_selector_all("button:not([disabled]), [href], input:not([disabled]), select, textarea, [tabindex]:not([tabindex='-1'])") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

fn focus_first(root: &web_sys::Element) {
    // The primary action last in the row; focus it so Enter confirms and Escape cancels.
    let items = focusable(root);
    if let Some(el) = items
        .iter()
        .find(|e| e.class_list().contains("ck-primary"))
        .or(items.first())
    {
        let _ = el.focus();
    }
}

fn trap_tab(root: &web_sys::Element, ev: &web_sys::KeyboardEvent) {
    let items = focusable(root);
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return;
    };
    let active = document().active_element();
    let is = |e: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>())
    };
    let inside = items.iter().any(&is);
    if ev.shift_key() && (is(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (is(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// Blocks an action the balance cannot cover: balance, required, shortfall, and the
/// smallest pack or plan that covers it. The action waits and continues after a top-up.
#[component]
pub fn InsufficientPrompt() -> impl IntoView {
    let credits = Credits::get();
    let dialog = NodeRef::<html::Div>::new();
    modal_focus(
        move || {
            credits
                .flow
                .with(|f| matches!(f, Flow::Insufficient { .. } | Flow::CapReached { .. }))
        },
        dialog,
    );
    let on_keydown = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            credits.cancel();
        }
        "Tab" => {
            if let Some(d) = dialog.get() {
                trap_tab(&d, &ev);
            }
        }
        _ => {}
    };
    move || {
        let (label, shortfall) = match credits.flow.get() {
            Flow::Insufficient { label, shortfall } => (label, shortfall),
            Flow::CapReached { label, cap } => {
                return Some(view! {
                    <div class="ck-backdrop">
                        <div class="ck-dialog ck-insufficient" role="alertdialog" aria-modal="true" aria-labelledby="ck-cap-title" aria-describedby="ck-cap-body" node_ref=dialog on:keydown=on_keydown>
                            <h2 id="ck-cap-title">{words().cap_reached}</h2>
                            <div id="ck-cap-body">
                                <p data-field="cap">{format!("{label}: {}", cap_sentence(&cap))}</p>
                                <p class="ck-note">{words().cap_note}</p>
                            </div>
                            <div class="ck-actions">
                                <button type="button" class="ck-primary" on:click=move |_| credits.cancel()>{words().ok}</button>
                            </div>
                        </div>
                    </div>
                }.into_any());
            }
            _ => return None,
        };
        let pack = shortfall.pack.clone().map(|p| {
            let (id, qty) = (p.pack.id.clone(), p.quantity);
            let price = p.price.as_ref().map(|m| (words().for_price)(&money_text(m))).unwrap_or_default();
            let text = if qty > 1 { (words().buy_many)(qty, &p.pack.name, &credits_text(p.credits * 1000), &price) } else { (words().buy)(&p.pack.name, &credits_text(p.credits * 1000), &price) };
            view! { <button type="button" class="ck-primary" data-offer="pack" on:click=move |_| credits.buy(Some(id.clone()), None, qty)>{text}</button> }
        });
        let plan = shortfall.plan.clone().map(|p| {
            let id = p.id.clone();
            let price = p.price.as_ref().map(|m| format!(" — {}", money_text(m))).unwrap_or_default();
            let text = (words().upgrade)(&p.name, &credits_text(p.credits * 1000), &price);
            view! { <button type="button" class="ck-primary" data-offer="plan" on:click=move |_| credits.buy(None, Some(id.clone()), 1)>{text}</button> }
        });
        // Nothing to buy covers it: the seller's contact is the offer ("get in touch").
        let contact = shortfall.contact.clone().map(|c| {
            let href = c.url.clone().or_else(|| c.email.as_ref().map(|e| format!("mailto:{e}"))).unwrap_or_default();
            view! { <a class="ck-primary ck-contact" href=href target="_blank" rel="noopener">{words().get_in_touch}</a> }
        });
        let on_top =
            shortfall.plan.is_none() && shortfall.pack.is_none() && shortfall.contact.is_none();
        let support = credits
            .card
            .get()
            .and_then(|c| c.contact.clone())
            .map(crate::account::support_line);
        let notice = credits.notice.get();
        Some(view! {
            <div class="ck-backdrop">
                <div class="ck-dialog ck-insufficient" role="alertdialog" aria-modal="true" aria-labelledby="ck-insufficient-title" aria-describedby="ck-insufficient-body" node_ref=dialog on:keydown=on_keydown>
                    <h2 id="ck-insufficient-title">{words().not_enough}</h2>
                    <div id="ck-insufficient-body">
                        <p>{(words().needs)(&label, &credits_text(shortfall.required_millicredits))}</p>
                        <dl class="ck-shortfall">
                            <dt>{words().your_balance}</dt><dd data-field="balance">{credits_text(shortfall.balance_millicredits)}</dd>
                            <dt>{words().required}</dt><dd data-field="required">{credits_text(shortfall.required_millicredits)}</dd>
                            <dt>{words().missing}</dt><dd data-field="shortfall">{credits_text(shortfall.shortfall_millicredits)}</dd>
                        </dl>
                        <p class="ck-note">{words().insufficient_note}</p>
                        {on_top.then(|| view! { <p class="ck-note" data-field="no-offer">{words().nothing_to_buy}</p> })}
                        {notice.map(|n| view! { <p role="alert" class="ck-failed">{n}</p> })}
                        {support}
                    </div>
                    <div class="ck-actions">
                        <button type="button" class="ck-secondary" on:click=move |_| credits.cancel()>{words().not_now}</button>
                        {plan}
                        {pack}
                        {contact}
                    </div>
                </div>
            </div>
        }.into_any())
    }
}

/// Why a request cannot be priced, in the page's language: the kind of problem and the
/// parameter it is about (the engine's own message is for developers, in English).
pub(crate) fn estimate_problem(e: &creditkit_pricing::EstimateError) -> String {
    use creditkit_pricing::EstimateErrorKind as K;
    let param = e.path.rsplit('.').next().unwrap_or_default().to_string();
    let w = words();
    match e.kind {
        K::UnknownAction => w.problem_unknown_action.to_string(),
        K::MissingParam => (w.problem_missing)(&param),
        K::UnknownParam | K::InvalidParam => (w.problem_invalid)(&param),
        K::Overflow => w.problem_too_large.to_string(),
        _ => w.problem_request.to_string(),
    }
}

//! The embeddable components. Each reads [`Credits`] from context.

use creditkit_api::{BalanceState, TransactionKind};
use creditkit_pricing::{estimate, Estimate, Request};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

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
                format!("{} held", credits_number(b.held_millicredits))
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
                aria-label=move || format!("Credit balance: {} available. Show details", available())
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="ck-balance-amount" aria-live="polite">{available}</span>
                <span class="ck-balance-held">{held}</span>
            </button>
            <Show when=move || open.get()>
                <div class="ck-balance-details" role="region" aria-label="Balance details">
                    {move || credits.balance.with(|b| b.as_ref().map(|b| view! {
                        <dl>
                            <dt>"Balance"</dt><dd>{credits_text(b.balance_millicredits)}</dd>
                            <dt>"Held for running actions"</dt><dd>{credits_text(b.held_millicredits)}</dd>
                            <dt>"Used, all time"</dt><dd>{credits_text(b.lifetime_used_millicredits)}</dd>
                            <dt>"Last transaction"</dt>
                            <dd>{b.last_transaction.as_ref().map(|t| format!("{} {} — {}", kind_label(t.kind), signed(t.delta_millicredits), when(t.created_at_ms))).unwrap_or_else(|| "none yet".into())}</dd>
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
        TransactionKind::Grant => "Credits added",
        TransactionKind::Charge => "Charge",
        TransactionKind::Refund => "Refund",
        TransactionKind::Expiry => "Expired",
        TransactionKind::Hold => "Held",
        TransactionKind::Release => "Released",
        TransactionKind::Payout => "Payout",
        TransactionKind::Earning => "Earning",
        TransactionKind::Revoke => "Credits removed",
    }
}

/// Below the low threshold a warning, at the critical one an alert (thresholds come
/// from the server). Renders nothing while the balance is fine.
#[component]
pub fn LowBalanceBanner(
    /// Called by the banner's "Add credits" button.
    #[prop(optional, into)]
    on_add_credits: Option<Callback<()>>,
) -> impl IntoView {
    let credits = Credits::get();
    let state = move || {
        credits
            .balance
            .with(|b| b.as_ref().map(|b| (b.state, b.available_millicredits)))
    };
    move || {
        match state() {
        Some((BalanceState::Low, left)) => Some(view! {
            <div class="ck-banner" data-level="low" role="status">
                <span>{format!("Low balance: {} left.", credits_text(left))}</span>
                {on_add_credits.map(|cb| view! { <button type="button" class="ck-link" on:click=move |_| cb.run(())>"Add credits"</button> })}
            </div>
        }
        .into_any()),
        Some((BalanceState::Critical, left)) => Some(view! {
            <div class="ck-banner" data-level="critical" role="alert">
                <span>{if left == 0 { "You are out of credits. New actions are paused; your past work stays available.".to_string() } else { format!("Almost out of credits: {} left.", credits_text(left)) }}</span>
                {on_add_credits.map(|cb| view! { <button type="button" class="ck-link" on:click=move |_| cb.run(())>"Add credits"</button> })}
            </div>
        }
        .into_any()),
        _ => None,
    }
    }
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
    /// A chat turn's text, counted into the request's `input_tokens`.
    #[prop(optional, into)]
    text: Option<Signal<String>>,
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
    let result = Memo::new(move |_| {
        let request = request.get()?;
        let count = counted.map(|(c, _)| c.get().0);
        credits.card.with(|card| {
            card.as_ref().map(|card| {
                let priced = match count {
                    None => estimate(card, &request),
                    Some(c) => crate::tokens::estimate_turn(card, &request, &c),
                };
                priced.map_err(|e| e.message.clone())
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
    let label = label.unwrap_or_else(|| "Estimated cost".into());
    Effect::new(move |_| {
        if result.with(|r| matches!(r, Some(Ok(_)))) {
            mark_first_estimate();
        }
    });
    view! {
        <div
            class="ck-estimate"
            aria-live="polite"
            data-min=move || result.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|e| e.min_millicredits.to_string()))
            data-max=move || result.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|e| e.max_millicredits.to_string()))
        >
            {move || result.with(|r| match r {
                None => view! { <span class="ck-estimate-loading">"…"</span> }.into_any(),
                Some(Ok(e)) => view! {
                    <span class="ck-estimate-label">{label.clone()}": "</span>
                    <strong class="ck-estimate-amount">{estimate_text(e)}</strong>
                    <span class="ck-estimate-tokens">{tokens_line}</span>
                    <Exceeds estimate=e.clone()/>
                }.into_any(),
                Some(Err(message)) => view! { <span class="ck-estimate-error">{message.clone()}</span> }.into_any(),
            })}
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

#[component]
fn Exceeds(estimate: Estimate) -> impl IntoView {
    let credits = Credits::get();
    move || {
        let available = credits.available_millicredits()?;
        (estimate.max_millicredits > available)
            .then(|| view! { <span class="ck-estimate-warning">" · more than your balance"</span> })
    }
}

/// The confirm dialog for the open quote: the exact cost (or the range and its
/// maximum, which is all that can be charged), the balance after, Confirm / Cancel.
/// Modal: focus moves in, Tab stays in, Escape cancels, focus returns on close.
#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let credits = Credits::get();
    let dialog = NodeRef::<html::Div>::new();
    let open = Memo::new(move |_| {
        credits.flow.with(|f| {
            matches!(
                f,
                Flow::Confirming { .. }
                    | Flow::Working { .. }
                    | Flow::Done { .. }
                    | Flow::Failed { .. }
            )
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
        let flow = credits.flow.get();
        let body = match flow {
            Flow::Confirming { label, quote } => {
                let e = &quote.estimate;
                let cost = if e.exact { credits_text(e.max_millicredits) } else { format!("{} (at most {})", estimate_text(e), credits_text(e.max_millicredits)) };
                let streamed = quote.streaming.then(|| view! {
                    <p class="ck-note" data-field="streamed">{format!(
                        "Charged as it streams: {} reserved now, more as the answer grows, never past {}.",
                        credits_text(quote.hold_millicredits), credits_text(e.max_millicredits))}</p>
                });
                let after = quote.available_millicredits.saturating_sub(quote.hold_millicredits);
                let low = credits.balance.with(|b| b.as_ref().map(|b| after < b.low_threshold_millicredits)).unwrap_or(false);
                view! {
                    <h2 id="ck-confirm-title">{format!("Confirm: {label}")}</h2>
                    <p class="ck-confirm-cost">"Cost: " <strong>{cost}</strong></p>
                    <ul class="ck-lines">
                        {e.lines.iter().filter(|l| l.max_millicredits > 0 || l.kind == creditkit_pricing::LineKind::FreeMessage).map(|l| view! {
                            <li>{l.label.clone()}" — "{if l.min_millicredits == l.max_millicredits { credits_text(l.max_millicredits) } else { format!("{}–{}", credits_number(l.min_millicredits), credits_text(l.max_millicredits)) }}</li>
                        }).collect_view()}
                    </ul>
                    <p class="ck-confirm-after">"Balance after: " <strong>{credits_text(after)}</strong></p>
                    {streamed}
                    {(!e.exact).then(|| view! { <p class="ck-note">"You are charged what the action actually uses, never more than the maximum above."</p> })}
                    {low.then(|| view! { <p class="ck-warning" role="note">"This leaves you below your low-balance level."</p> })}
                    <div class="ck-actions">
                        <button type="button" class="ck-secondary" on:click=move |_| credits.cancel()>"Cancel"</button>
                        <button type="button" class="ck-primary" on:click=move |_| credits.confirm()>{format!("Confirm — {}", credits_text(quote.hold_millicredits))}</button>
                    </div>
                }
                .into_any()
            }
            Flow::Working { label, hold } => {
                let max = hold.stream.as_ref().map_or(hold.amount_millicredits, |st| st.confirmed_max_millicredits);
                let status = move || match (credits.paused.get(), credits.running_millicredits.get()) {
                    (Some(short), _) => format!(
                        "Paused: out of credits. {} more are needed to go on; add credits and it continues.",
                        credits_text(short.shortfall_millicredits)
                    ),
                    (None, Some(so_far)) => format!("Streaming… {} so far (at most {}).", credits_text(so_far), credits_text(max)),
                    (None, None) => format!("Working… {} held.", credits_text(hold.amount_millicredits)),
                };
                let buy = move || credits.paused.get().and_then(|short| short.pack).map(|p| {
                    let (id, qty) = (p.pack.id.clone(), p.quantity);
                    view! { <button type="button" class="ck-primary" on:click=move |_| credits.buy(Some(id.clone()), None, qty)>{format!("Buy {} ({})", p.pack.name, credits_text(p.credits * 1000))}</button> }
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
                        format!("Done. Charged {} (you confirmed up to {}).", credits_text(charged_millicredits), credits_text(confirmed_millicredits))
                    }
                    Outcome::Held { amount_millicredits, .. } => format!("Confirmed: {} held.", credits_text(amount_millicredits)),
                };
                view! {
                    <h2 id="ck-confirm-title">{label}</h2>
                    <p role="status" class="ck-done">{text}</p>
                    <div class="ck-actions"><button type="button" class="ck-primary" on:click=move |_| close(credits)>"Close"</button></div>
                }
                .into_any()
            }
            Flow::Failed { label, message } => view! {
                <h2 id="ck-confirm-title">{label}</h2>
                <p role="alert" class="ck-failed">{message}</p>
                <div class="ck-actions"><button type="button" class="ck-primary" on:click=move |_| close(credits)>"Close"</button></div>
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
                            <h2 id="ck-cap-title">"Spending cap reached"</h2>
                            <div id="ck-cap-body">
                                <p data-field="cap">{format!("{label}: {}", cap_sentence(&cap))}</p>
                                <p class="ck-note">"Nothing was started, and buying credits would not change this."</p>
                            </div>
                            <div class="ck-actions">
                                <button type="button" class="ck-primary" on:click=move |_| credits.cancel()>"OK"</button>
                            </div>
                        </div>
                    </div>
                }.into_any());
            }
            _ => return None,
        };
        let pack = shortfall.pack.clone().map(|p| {
            let (id, qty) = (p.pack.id.clone(), p.quantity);
            let price = p.price.as_ref().map(|m| format!(" for {}", money_text(m))).unwrap_or_default();
            let text = if qty > 1 { format!("Buy {qty} × {} ({}){price}", p.pack.name, credits_text(p.credits * 1000)) } else { format!("Buy {} ({}){price}", p.pack.name, credits_text(p.credits * 1000)) };
            view! { <button type="button" class="ck-primary" on:click=move |_| credits.buy(Some(id.clone()), None, qty)>{text}</button> }
        });
        let plan = shortfall.plan.clone().map(|p| {
            let id = p.id.clone();
            let price = p.price.as_ref().map(|m| format!(" — {}", money_text(m))).unwrap_or_default();
            let text = format!("Upgrade to {} ({}){price}", p.name, credits_text(p.credits * 1000));
            view! { <button type="button" class="ck-primary" on:click=move |_| credits.buy(None, Some(id.clone()), 1)>{text}</button> }
        });
        let notice = credits.notice.get();
        Some(view! {
            <div class="ck-backdrop">
                <div class="ck-dialog ck-insufficient" role="alertdialog" aria-modal="true" aria-labelledby="ck-insufficient-title" aria-describedby="ck-insufficient-body" node_ref=dialog on:keydown=on_keydown>
                    <h2 id="ck-insufficient-title">"Not enough credits"</h2>
                    <div id="ck-insufficient-body">
                        <p>{format!("{label} needs {}.", credits_text(shortfall.required_millicredits))}</p>
                        <dl class="ck-shortfall">
                            <dt>"Your balance"</dt><dd data-field="balance">{credits_text(shortfall.balance_millicredits)}</dd>
                            <dt>"Required"</dt><dd data-field="required">{credits_text(shortfall.required_millicredits)}</dd>
                            <dt>"Missing"</dt><dd data-field="shortfall">{credits_text(shortfall.shortfall_millicredits)}</dd>
                        </dl>
                        <p class="ck-note">"Nothing was started. Add credits and this action continues where you left it."</p>
                        {notice.map(|n| view! { <p role="alert" class="ck-failed">{n}</p> })}
                    </div>
                    <div class="ck-actions">
                        <button type="button" class="ck-secondary" on:click=move |_| credits.cancel()>"Not now"</button>
                        {plan}
                        {pack}
                    </div>
                </div>
            </div>
        }.into_any())
    }
}

//! The demo page: an editor with the product's actions, a chat panel with per-turn
//! live estimates, usage and history, and a switch between the five seed products.
//!
//! It is an operator's page like any other: its backend (`examples/operator`, at this
//! page's origin) lists the products, signs the visitor in as Alice (admin) or Bob
//! (member) by minting a short-lived session, runs each confirmed operation and settles
//! its hold with the workspace's API key, and sells credits through a simulated
//! checkout. The page itself holds only the session token.

use std::rc::Rc;

use creditkit_api::Hold;
use creditkit_pricing::{Action, Card, Cost, Item, Request};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use creditkit_widget::format::credits_text;
use creditkit_widget::tokens;
use creditkit_widget::{
    AgentCards, AutoConfirm, AutoTopUpPanel, BalanceBadge, BuyCredits, ChatTotal, Client,
    ConfirmDialog, Credits, EarningsPanel, Flow, InsufficientPrompt, LiveEstimate,
    LowBalanceAlerts, LowBalanceBanner, Operation, PlanAllowance, PriceChangeNotice, SpendingCaps,
    SubscriptionPanel, TransactionList, UsageChart, WalletSwitcher,
};

/// A product as the demo backend lists it: no secrets.
#[derive(Clone, Debug, Deserialize, PartialEq)]
struct Product {
    id: String,
    name: String,
    /// The creditkit API's base URL (another origin than this page).
    api: String,
}

#[derive(Deserialize)]
struct SessionAnswer {
    token: String,
}

pub(crate) fn mount_if_present() {
    use wasm_bindgen::JsCast;
    let Some(el) = document().get_element_by_id("creditkit-demo") else {
        return;
    };
    let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() else {
        return;
    };
    leptos::mount::mount_to(el, Demo).forget();
}

/// POSTs JSON to the demo backend (this page's origin); its error bodies carry a message.
async fn backend<T: for<'de> Deserialize<'de>>(
    path: &str,
    body: &impl Serialize,
) -> Result<T, String> {
    let body = serde_json::to_string(body).map_err(|e| e.to_string())?;
    let resp = gloo_net::http::Request::post(path)
        .header("content-type", "application/json")
        .body(body)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|_| "The demo backend cannot be reached.".to_string())?;
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if resp.ok() {
        return serde_json::from_str(&text).map_err(|e| e.to_string());
    }
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("The demo backend answered {}.", resp.status()));
    Err(message)
}

/// A session for `member` of `product`, minted by the demo backend with the API key.
async fn session(product: String, member: &'static str) -> Option<String> {
    let body = serde_json::json!({ "product": product, "member": member });
    backend::<SessionAnswer>("/demo/session", &body)
        .await
        .ok()
        .map(|s| s.token)
}

/// The whole demo page.
#[component]
fn Demo() -> impl IntoView {
    let config = LocalResource::new(|| async {
        let resp = gloo_net::http::Request::get("/demo/products")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        resp.json::<Vec<Product>>().await.map_err(|e| e.to_string())
    });
    move || {
        config.get().map(|r| match r {
            Ok(products) if !products.is_empty() => view! { <Products products=products/> }.into_any(),
            Ok(_) => view! { <p class="ck-failed">"The demo has no products."</p> }.into_any(),
            Err(e) => view! { <p class="ck-failed">{format!("Could not load the demo products ({e}). Start it with `cargo xtask demo`.")}</p> }.into_any(),
        })
    }
}

#[component]
fn Products(products: Vec<Product>) -> impl IntoView {
    let start = location_hash()
        .and_then(|h| products.iter().position(|p| p.id == h))
        .unwrap_or(0);
    let index = RwSignal::new(start);
    let as_member = RwSignal::new(false);
    let options = products.iter().enumerate().map(|(i, p)| view! { <option value=i.to_string() selected=i == start>{p.name.clone()}</option> }).collect_view();
    let list = products.clone();
    let signed_in = LocalResource::new(move || {
        let p = list[index.get().min(list.len() - 1)].clone();
        let member = if as_member.get() { "bob" } else { "alice" };
        async move { (session(p.id.clone(), member).await, p, member) }
    });
    view! {
        <header class="demo-header">
            <h1>"creditkit demo"</h1>
            <label>"Product "
                <select id="demo-product" on:change=move |ev| {
                    if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                        index.set(i);
                    }
                }>{options}</select>
            </label>
            <label class="demo-member"><input type="checkbox" on:change=move |ev| as_member.set(event_target_checked(&ev))/>" act as Bob (member; Alice is an admin)"</label>
        </header>
        {move || signed_in.get().map(|(token, p, member)| {
            set_location_hash(&p.id);
            match token {
                None => view! { <p class="ck-failed" role="alert">"The demo backend could not sign you in."</p> }.into_any(),
                Some(token) => {
                    let id = p.id.clone();
                    let client = Client::new(p.api.clone(), token)
                        .with_refresh(Rc::new(move || Box::pin(session(id.clone(), member))));
                    view! { <Workspace client=client product=p.id.clone()/> }.into_any()
                }
            }
        })}
    }
}

#[component]
fn Workspace(client: Client, product: String) -> impl IntoView {
    // Buying opens creditkit's checkout (Stripe's page; a local stand-in here): the
    // credits arrive through Stripe's signed webhook, never from the browser.
    let credits = Credits::provide(client);
    let fail_next = RwSignal::new(false);
    let topup_open = RwSignal::new(false);
    let results = RwSignal::new(Vec::<String>::new());
    view! {
        <section class="demo-bar" aria-label="Your credits">
            <BalanceBadge/>
            <WalletSwitcher/>
            <button type="button" id="demo-topup" class="ck-secondary" aria-expanded=move || topup_open.get().to_string() on:click=move |_| topup_open.update(|o| *o = !*o)>"Add credits"</button>
            <label class="demo-fail"><input type="checkbox" id="demo-fail" on:change=move |ev| fail_next.set(event_target_checked(&ev))/>" make the next generation fail"</label>
        </section>
        <LowBalanceBanner on_add_credits=Callback::new(move |_| topup_open.set(true))/>
        <PriceChangeNotice/>
        <Show when=move || topup_open.get()><TopUp/></Show>
        {move || credits.notice.get().map(|n| view! { <p class="ck-failed" role="alert">{n}</p> })}
        <main class="demo-grid">
            <section class="demo-editor" aria-label="Editor">
                <h2>"Actions"</h2>
                {let product = product.clone(); move || credits.card.get().map(|card| {
                    let actions: Vec<Action> = card.actions.iter().filter(|a| !matches!(a.cost, Cost::Chat)).cloned().collect();
                    if actions.is_empty() {
                        return view! { <p class="ck-note">"Everything this product sells is priced per chat message: see the chat."</p> }.into_any();
                    }
                    actions.into_iter().map(|a| view! { <ActionRow action=a product=product.clone() fail_next=fail_next results=results/> }).collect_view().into_any()
                })}
                <ul class="demo-results" aria-label="Results">
                    {move || results.get().into_iter().rev().map(|r| view! { <li>{r}</li> }).collect_view()}
                </ul>
            </section>
            <section class="demo-chat" aria-label="Chat">
                {move || credits.card.with(|c| c.as_ref().is_some_and(|c| !c.agents.is_empty())).then(|| view! { <AgentCards/> })}
                {move || credits.card.get().and_then(|card| {
                    let action = card.actions.iter().find(|a| matches!(a.cost, Cost::Chat))?.clone();
                    Some(view! { <Chat card=card.clone() action=action product=product.clone() fail_next=fail_next/> })
                })}
            </section>
            <section class="demo-usage" aria-label="Usage and history">
                <h2>"Usage"</h2>
                <UsageChart/>
                <h2>"Spending caps"</h2>
                <SpendingCaps/>
                <LowBalanceAlerts/>
                <h2>"History"</h2>
                <TransactionList/>
            </section>
        </main>
        <ConfirmDialog/>
        <InsufficientPrompt/>
    }
}

/// What the visitor can buy, the plan they are on, and (a creator, on Kopai) their
/// earnings: the shipped components, over a note on the simulated checkout.
#[component]
fn TopUp() -> impl IntoView {
    let credits = Credits::get();
    view! {
        <section class="demo-topup" aria-label="Add credits">
            <p class="ck-note">"Checkout opens in a new window: a local stand-in for Stripe here (no payment is taken). The credits arrive when its signed webhook confirms the payment."</p>
            <BuyCredits/>
            <PlanAllowance/>
            <SubscriptionPanel/>
            {move || credits.card.with(|c| c.as_ref().is_some_and(|c| c.packs.iter().any(|p| p.price_minor.is_some()))).then(|| view! { <AutoTopUpPanel/> })}
            {move || credits.card.with(|c| c.as_ref().is_some_and(|c| !c.agents.is_empty())).then(|| view! { <EarningsPanel/> })}
        </section>
    }
}

/// One action with its options, its live estimate and a Run button.
#[component]
fn ActionRow(
    action: Action,
    product: String,
    fail_next: RwSignal<bool>,
    results: RwSignal<Vec<String>>,
) -> impl IntoView {
    let credits = Credits::get();
    let item = RwSignal::new(default_item(&action));
    let request = Signal::derive(move || Some(Request::single(item.get())));
    let controls = controls(&action, item);
    let free = matches!(action.cost, Cost::Free);
    let name = action.name.clone();
    let id = action.id.clone();
    let run = move |_| {
        let request = Request::single(item.get_untracked());
        if free {
            results.update(|r| r.push(format!("{name} — free")));
            return;
        }
        let op = run_on_backend(product.clone(), fail_next, results, name.clone());
        credits.request(request, name.clone(), Some("demo".into()), Some(op));
    };
    let busy = move || {
        credits
            .flow
            .with(|f| !matches!(f, Flow::Idle | Flow::Done { .. } | Flow::Failed { .. }))
    };
    view! {
        <div class="demo-action" data-action=id.clone()>
            <div class="demo-action-name">{action.name.clone()}</div>
            <div class="demo-controls">{controls}</div>
            <LiveEstimate request=request label="Cost"/>
            <button type="button" class="ck-primary demo-run" disabled=busy on:click=run>{if free { "Run (free)" } else { "Run" }}</button>
        </div>
    }
}

fn default_item(action: &Action) -> Item {
    let mut item = Item::new(action.id.clone());
    for (name, c) in &action.counts {
        item = item.param(name.clone(), c.default.unwrap_or(c.min));
    }
    if let Cost::Options {
        param,
        choices,
        default,
    } = &action.cost
    {
        if let Some(choice) = default.clone().or_else(|| choices.keys().next().cloned()) {
            item = item.param(param.clone(), choice);
        }
    }
    item
}

fn controls(action: &Action, item: RwSignal<Item>) -> impl IntoView {
    let mut out = Vec::new();
    for (name, c) in &action.counts {
        let n = name.clone();
        let (min, max) = (c.min, c.max);
        let value = c.default.unwrap_or(c.min).to_string();
        out.push(
            view! {
                <label>{c.label.clone()}" "
                    <input type="number" min=min.to_string() max=max.to_string() value=value data-param=n.clone()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u64>().unwrap_or(min).clamp(min, max);
                            item.update(|i| { i.params.insert(n.clone(), v.into()); });
                        }/>
                </label>
            }
            .into_any(),
        );
    }
    match &action.cost {
        Cost::Options {
            param,
            choices,
            default,
        } => {
            let p = param.clone();
            let options = choices
                .iter()
                .map(|(k, v)| view! { <option value=k.clone() selected=default.as_deref() == Some(k.as_str())>{format!("{k} — {}", credits_text(v.0))}</option> })
                .collect_view();
            out.push(view! { <label>{param.clone()}" "<select data-param=p.clone() on:change=move |ev| { let v = event_target_value(&ev); item.update(|i| { i.params.insert(p.clone(), v.into()); }); }>{options}</select></label> }.into_any());
        }
        Cost::Range {
            param: Some(param),
            levels,
            ..
        } if !levels.is_empty() => {
            let p = param.clone();
            let options = levels.iter().map(|(k, v)| view! { <option value=k.clone()>{format!("{k} — {}", credits_text(v.0))}</option> }).collect_view();
            out.push(
                view! {
                    <label>{param.clone()}" "
                        <select data-param=p.clone() on:change=move |ev| {
                            let v = event_target_value(&ev);
                            item.update(|i| { if v.is_empty() { i.params.remove(&p); } else { i.params.insert(p.clone(), v.into()); } });
                        }>
                            <option value="">"not known yet (range)"</option>
                            {options}
                        </select>
                    </label>
                }
                .into_any(),
            );
        }
        _ => {}
    }
    out
}

/// The confirmed hold goes to the demo backend, which runs the (simulated) operation —
/// failing when asked to — and settles the hold with the workspace's API key: it
/// captures what the quote priced (a range is charged its expected amount), or
/// releases it when the operation failed.
fn run_on_backend(
    product: String,
    fail_next: RwSignal<bool>,
    results: RwSignal<Vec<String>>,
    name: String,
) -> Operation {
    Rc::new(move |hold: Hold| {
        let (product, name) = (product.clone(), name.clone());
        Box::pin(async move {
            let fail = take_fail(fail_next);
            let body = serde_json::json!({ "product": product, "hold_id": hold.id, "fail": fail });
            let settled = backend::<Hold>("/demo/run", &body).await;
            if let Ok(h) = &settled {
                let charged = h.captured_millicredits.unwrap_or(0);
                results.update(|r| r.push(format!("{name} — charged {}", credits_text(charged))));
            }
            settled
        })
    })
}

/// Output tokens a streamed turn's hold starts with.
const FIRST_CHUNK_TOKENS: u64 = 64;

/// Streams a confirmed chat turn from the demo backend (server-sent events): text as it
/// arrives, the running cost, a pause when credits run out (resumed by itself after a
/// top-up), and the settled hold at the end.
async fn stream_turn(
    product: &str,
    hold_id: &str,
    fail: bool,
    credits: Credits,
    on_text: impl Fn(String) + 'static,
) -> Result<Hold, String> {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let url = format!(
        "/demo/stream?product={}&hold_id={}&fail={fail}",
        js_sys::encode_uri_component(product),
        js_sys::encode_uri_component(hold_id)
    );
    let source = web_sys::EventSource::new(&url)
        .map_err(|_| "The chat stream could not start.".to_string())?;
    let on_text = std::rc::Rc::new(on_text);
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let data = |ev: &web_sys::MessageEvent| {
            ev.data()
                .as_string()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .unwrap_or_default()
        };
        let on_text = on_text.clone();
        let chunk =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let d = data(&ev);
                on_text(d["text"].as_str().unwrap_or("").to_string());
                if let Some(mc) = d["running_millicredits"].as_u64() {
                    credits.progress(mc);
                }
            });
        let paused =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let short = serde_json::from_value(data(&ev)["shortfall"].clone()).ok();
                credits.pause(short);
            });
        let resumed = Closure::<dyn FnMut()>::new(move || credits.pause(None));
        let (s1, s2) = (source.clone(), source.clone());
        let (ok, fail) = (resolve.clone(), reject.clone());
        let done =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                s1.close();
                let _ = ok.call1(
                    &JsValue::NULL,
                    &JsValue::from_str(&data(&ev)["hold"].to_string()),
                );
            });
        let failed =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                s2.close();
                let message = data(&ev)["message"]
                    .as_str()
                    .unwrap_or("The chat stream failed.")
                    .to_string();
                let _ = fail.call1(&JsValue::NULL, &JsValue::from_str(&message));
            });
        // A dropped connection must not start the turn again: stop and report.
        let s3 = source.clone();
        let lost = Closure::<dyn FnMut()>::new(move || {
            if s3.ready_state() != web_sys::EventSource::OPEN {
                s3.close();
                let _ = reject.call1(
                    &JsValue::NULL,
                    &JsValue::from_str("The chat stream was interrupted."),
                );
            }
        });
        for (name, f) in [
            ("chunk", chunk.as_ref()),
            ("paused", paused.as_ref()),
            ("done", done.as_ref()),
            ("failed", failed.as_ref()),
        ] {
            let _ = source.add_event_listener_with_callback(name, f.unchecked_ref());
        }
        let _ =
            source.add_event_listener_with_callback("resumed", resumed.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("error", lost.as_ref().unchecked_ref());
        // Live as long as the stream: one turn's worth, released with the page.
        chunk.forget();
        paused.forget();
        resumed.forget();
        done.forget();
        failed.forget();
        lost.forget();
    });
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(v) => serde_json::from_str(&v.as_string().unwrap_or_default())
            .map_err(|_| "The chat stream ended strangely.".to_string()),
        Err(e) => Err(e
            .as_string()
            .unwrap_or_else(|| "The chat stream failed.".into())),
    }
}

/// Reads and clears "make the next generation fail".
fn take_fail(fail_next: RwSignal<bool>) -> bool {
    let fail = fail_next.get_untracked();
    if fail {
        fail_next.set(false);
        if let Some(el) = document().get_element_by_id("demo-fail") {
            use wasm_bindgen::JsCast;
            if let Ok(input) = el.dyn_into::<web_sys::HtmlInputElement>() {
                input.set_checked(false);
            }
        }
    }
    fail
}

#[derive(Clone, Debug, PartialEq)]
struct Turn {
    text: String,
    reply: String,
}

/// The chat panel: the turn's cost recomputed on every keystroke, the session total at
/// the top, and new messages paused (history kept) at zero balance.
#[component]
fn Chat(
    card: std::sync::Arc<Card>,
    action: Action,
    product: String,
    fail_next: RwSignal<bool>,
) -> impl IntoView {
    let credits = Credits::get();
    // The message, fed edit by edit from the textarea's input events (the widget's
    // counting path: only the edit crosses into WebAssembly).
    let text = tokens::TypedText::default();
    let field = NodeRef::<leptos::html::Textarea>::new();
    {
        let following = StoredValue::new_local(None::<creditkit_widget::typing::Following>);
        Effect::new(move |_| {
            if let Some(el) = field.get() {
                following.set_value(Some(creditkit_widget::typing::follow_edits(&el, &text)));
            }
        });
    }
    let model = RwSignal::new(
        card.models
            .first()
            .map(|m| m.id.clone())
            .unwrap_or_default(),
    );
    let agent = RwSignal::new(card.agents.first().map(|a| a.id.clone()));
    let used = RwSignal::new(std::collections::BTreeMap::<String, u64>::new());
    let turns = RwSignal::new(Vec::<Turn>::new());
    let action_id = action.id.clone();
    let product_id = product.clone();

    let request_for = {
        let action_id = action_id.clone();
        move |tokens: u64| {
            let mut item = Item::new(action_id.clone()).param("input_tokens", tokens);
            match agent.get() {
                Some(a) => {
                    let n = used.with(|u| u.get(&a).copied().unwrap_or(0));
                    item = item.param("agent", a).param("messages_used", n);
                }
                None => item = item.param("model", model.get()),
            }
            Request::single(item)
        }
    };
    // The selected model, and its exact ranks loaded the first time it is selected.
    let current_model = {
        let card = card.clone();
        let request_for = request_for.clone();
        move || {
            let request = request_for(0);
            creditkit_pricing::chat_model(&card, &request.items[0]).cloned()
        }
    };
    let (count, ranks_error) = tokens::live_count(
        current_model.clone(),
        text.into(),
        credits.client().base_url().to_string(),
    );
    let turn_estimate = {
        let card = card.clone();
        let request_for = request_for.clone();
        Memo::new(move |_| {
            let (c, _) = count.get();
            let e = tokens::estimate_turn(&card, &request_for(0), &c).map_err(|e| e.message)?;
            Ok::<_, String>((e.min_millicredits, e.max_millicredits, e.exact))
        })
    };
    let paused = move || credits.available_millicredits() == Some(0);
    let send = {
        let request_for = request_for.clone();
        let card = card.clone();
        move || {
            let message = text.text();
            if message.trim().is_empty() || paused() {
                return;
            }
            // The server counts the text with the model's tokenizer (the same code and
            // data as the count shown here); the hold covers the quote's maximum.
            let mut request = request_for(0);
            if let Some(item) = request.items.first_mut() {
                item.params.remove("input_tokens");
                item.params.insert(
                    creditkit_pricing::INPUT_TEXT.to_string(),
                    creditkit_pricing::ParamValue::Text(message.clone()),
                );
            }
            let agent_now = agent.get_untracked();
            let product = product.clone();
            let clear_input = move || {
                text.set("");
                if let Some(el) = document().get_element_by_id("demo-chat-input") {
                    use wasm_bindgen::JsCast;
                    if let Ok(t) = el.dyn_into::<web_sys::HtmlTextAreaElement>() {
                        t.set_value("");
                    }
                }
            };
            // A model priced per output token streams: its hold grows chunk by chunk.
            let streams = creditkit_pricing::chat_model(&card, &request.items[0])
                .is_some_and(|m| m.output_per_1k_tokens.is_some());
            if streams {
                let asked = message.clone();
                let op: Operation = Rc::new(move |hold: Hold| {
                    let (product, asked) = (product.clone(), asked.clone());
                    Box::pin(async move {
                        turns.update(|t| {
                            t.push(Turn {
                                text: asked,
                                reply: String::new(),
                            })
                        });
                        clear_input();
                        let fail = take_fail(fail_next);
                        let on_text = move |chunk: String| {
                            turns.update(|t| {
                                if let Some(last) = t.last_mut() {
                                    last.reply.push_str(&chunk);
                                }
                            })
                        };
                        let settled =
                            stream_turn(&product, &hold.id, fail, credits, on_text).await?;
                        let cost = settled.captured_millicredits.unwrap_or(0);
                        turns.update(|t| {
                            if let Some(last) = t.last_mut() {
                                last.reply.push_str(&format!(
                                    "(this turn cost {}, exactly)",
                                    credits_text(cost)
                                ));
                            }
                        });
                        Ok(settled)
                    })
                });
                credits.request_streamed(
                    request,
                    "Send message",
                    Some("chat".into()),
                    FIRST_CHUNK_TOKENS,
                    op,
                );
                return;
            }
            let op: Operation = Rc::new(move |hold: Hold| {
                let (product, message, agent_now) =
                    (product.clone(), message.clone(), agent_now.clone());
                Box::pin(async move {
                    let fail = take_fail(fail_next);
                    let body =
                        serde_json::json!({ "product": product, "hold_id": hold.id, "fail": fail });
                    let settled = backend::<Hold>("/demo/run", &body).await?;
                    let cost = settled.captured_millicredits.unwrap_or(0);
                    if let Some(a) = agent_now {
                        used.update(|u| *u.entry(a).or_insert(0) += 1);
                    }
                    turns.update(|t| {
                        t.push(Turn {
                            text: message.clone(),
                            reply: format!(
                                "(simulated reply — this turn cost {})",
                                credits_text(cost)
                            ),
                        })
                    });
                    clear_input();
                    Ok(settled)
                })
            });
            credits.request(
                request,
                "Send message".to_string(),
                Some("chat".into()),
                Some(op),
            );
        }
    };
    let send_click = send.clone();
    let models = card
        .models
        .iter()
        .map(|m| view! { <option value=m.id.clone()>{m.name.clone()}</option> })
        .collect_view();
    let agents = card.agents.iter().map(|a| view! { <option value=a.id.clone()>{format!("{} ({} free messages)", a.name, a.free_messages)}</option> }).collect_view();
    let has_agents = !card.agents.is_empty();
    view! {
        <h2>"Chat"</h2>
        <ChatTotal conversation=conversation_id(&product_id)/>
        <ol class="demo-turns">
            {move || turns.get().into_iter().map(|t| view! { <li><p class="demo-you">{t.text}</p><p class="demo-reply">{t.reply}</p></li> }).collect_view()}
        </ol>
        {if has_agents {
            view! { <label>"Agent " <select id="demo-agent" on:change=move |ev| agent.set(Some(event_target_value(&ev)))>{agents}</select></label> }.into_any()
        } else {
            view! { <label>"Model " <select id="demo-model" on:change=move |ev| model.set(event_target_value(&ev))>{models}</select></label> }.into_any()
        }}
        <textarea
            id="demo-chat-input"
            rows="3"
            aria-label="Message"
            placeholder=move || if paused() { "Out of credits: add credits to send new messages." } else { "Type a message; its cost updates as you type." }
            disabled=paused
            node_ref=field
            on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" && !ev.shift_key() { ev.prevent_default(); send(); }
        ></textarea>
        <div class="demo-turn-cost" id="demo-turn-cost" aria-live="polite"
            data-tokens=move || count.get().0.likely.to_string()
            data-exact=move || matches!(count.get().1, tokens::Basis::Exact(_)).to_string()
            data-min=move || turn_estimate.get().ok().map(|t| t.0.to_string())
            data-max=move || turn_estimate.get().ok().map(|t| t.1.to_string())>
            {move || {
                let (c, basis) = count.get();
                match turn_estimate.get() {
                    Ok((lo, hi, exact)) => {
                        let cost = if exact || lo == hi { credits_text(hi) } else { format!("{}–{}", creditkit_widget::format::credits_number(lo), credits_text(hi)) };
                        let tokens = tokens::count_text(&c, basis, ranks_error.get().as_deref());
                        text.track();
                        let chars = text.text().chars().count();
                        format!("This turn: {chars} characters, {tokens} · {cost}")
                    }
                    Err(e) => e,
                }
            }}
        </div>
        <button type="button" class="ck-primary" id="demo-send" disabled=paused on:click=move |_| send_click()>"Send"</button>
        // The operator lets a user choose turns of up to 10 credits to run unasked.
        <AutoConfirm ceiling_credits=10/>
        {move || paused().then(|| view! { <p class="ck-note">"New messages are paused at zero balance; your conversation stays here."</p> })}
    }
}

/// This browser's conversation with `product`'s chat: an id kept in local storage, so
/// the server's running total follows it across reloads and session refreshes.
#[allow(clippy::float_arithmetic)] // Math.random() scaled to 32 random bits; not an amount
fn conversation_id(product: &str) -> String {
    let key = format!("demo-conversation-{product}");
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    if let Some(id) = storage
        .as_ref()
        .and_then(|s| s.get_item(&key).ok().flatten())
    {
        return id;
    }
    let id = format!(
        "{product}-{:x}",
        (js_sys::Math::random() * 4_294_967_296.0) as u64
    );
    if let Some(s) = storage {
        let _ = s.set_item(&key, &id);
    }
    id
}

fn location_hash() -> Option<String> {
    let h = web_sys::window()?.location().hash().ok()?;
    Some(h.trim_start_matches('#').to_string()).filter(|h| !h.is_empty())
}

fn set_location_hash(id: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(id);
    }
}

//! Custom elements for any web page, configured by attributes:
//!
//! - `<creditkit-balance api token [wallet] [variant] [banner]>`: the live balance badge
//!   (and the low-balance banner with `banner`).
//! - `<creditkit-estimate request [card] [api token] [label] [input]>`: the live estimate
//!   of the JSON `request`, priced locally (from the `card` JSON, or the workspace's card).
//!   With `input` (a CSS selector of a textarea or input), the request is a chat turn whose
//!   text is that field's value: counted with the model's tokenizer on every keystroke.
//! - `<creditkit-confirm request label api token [wallet]>`: a button that quotes,
//!   confirms and holds; emits `creditkit:confirmed` (detail: `hold_id`, `quote_id`,
//!   `amount_millicredits`) for the page's backend to settle (capture or release with
//!   its API key), or `creditkit:insufficient`; buy buttons emit `creditkit:buy`.
//!
//! - `<creditkit-buy api token [wallet]>`: packs (price per credit, volume saving) and
//!   plans (the current one marked); a choice emits `creditkit:buy` and opens checkout.
//! - `<creditkit-plan api token [wallet]>`: the plan, what is left of its allowance, when
//!   it resets, and when each part of the balance expires.
//! - `<creditkit-subscription api token [wallet]>`: the paid plan, when it renews or
//!   ends, and its changes (upgrade now, a cheaper plan from the renewal, cancel, resume).
//! - `<creditkit-notice api token [wallet]>`: a scheduled price change, when it applies
//!   to this wallet and old → new for the member's most used actions (empty when none).
//! - `<creditkit-earnings api token wallet>`: a creator's earnings and a payout request.
//! - `<creditkit-wallets api token>`: which wallet the page acts on (personal,
//!   organization, shared), for a caller with more than one.
//! - `<creditkit-alerts api token>`: the low-balance alert levels (admins set them).
//! - `<creditkit-auto-top-up api token [wallet]>`: automatic top-up (buy a pack with the
//!   saved card when credits run low), and "update your card" when a payment failed.
//! - `<creditkit-agents api token>`: each agent's price per message and the free
//!   messages this member has left.
//!
//! Elements with the same `api`, `token` and `wallet` share one state: one balance, one
//! event stream, one flow (a blocked action continues when a top-up arrives).
//!
//! Sessions end; `setSessionRefresher(async () => token)` tells the elements how to get
//! a new one from the page's backend. The words are in the page's language (`lang` on
//! the element or an ancestor, else the browser's; English and French), and
//! `setLocale(tag)` chooses one.

use std::any::Any;

use creditkit_pricing::Request;
use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::client::Client;
use crate::components::{
    BalanceBadge, ConfirmDialog, InsufficientPrompt, LiveEstimate, LowBalanceBanner,
};
use crate::copy::words;
use crate::lazy::{self, loaded};
use crate::shared::Lease;
use crate::state::{Credits, Flow};
use crate::tokens::TypedText;
use crate::typing::{follow_edits, Following};

#[wasm_bindgen(inline_js = r#"
export function defineElement(tag, attributes, mount) {
  if (customElements.get(tag)) return;
  customElements.define(tag, class extends HTMLElement {
    static get observedAttributes() { return attributes; }
    connectedCallback() { if (!this._ck) this._ck = mount(this); }
    disconnectedCallback() { if (this._ck) { this._ck.free(); this._ck = null; this.replaceChildren(); } }
    attributeChangedCallback(name, before, after) {
      if (!this._ck || before === after) return;
      // Who is calling changed: start over with the new client.
      if (name === "api" || name === "token" || name === "wallet") {
        this._ck.free(); this.replaceChildren(); this._ck = mount(this);
      } else {
        this._ck.update();
      }
    }
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = defineElement)]
    fn define_element(
        tag: &str,
        attributes: js_sys::Array,
        mount: &Closure<dyn FnMut(web_sys::HtmlElement) -> Mounted>,
    );
}

/// A mounted element: re-reads its attributes on `update`, tears down on `unmount`.
#[wasm_bindgen]
pub struct Mounted {
    handle: Option<Box<dyn Any>>,
    update: Box<dyn Fn()>,
}

#[wasm_bindgen]
impl Mounted {
    pub fn update(&self) {
        (self.update)();
    }

    /// Removes what was mounted (also done by `free()`).
    pub fn unmount(&mut self) {
        self.handle.take();
    }
}

const COMMON: &[&str] = &["api", "token", "wallet"];

pub(crate) fn register() {
    // Elements already in the page mount as soon as they are defined, and a shared
    // state starts loading before its first view mounts (which is where Leptos would
    // set up its executor): set it up first.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    define("creditkit-balance", &["variant", "banner"], mount_balance);
    define(
        "creditkit-estimate",
        &["request", "card", "label"],
        mount_estimate,
    );
    define("creditkit-confirm", &["request", "label"], mount_confirm);
    // The other groups are fetched when first shown (see `lazy.rs`).
    define("creditkit-buy", &[], |el| mount_panel(el, lazy::buy));
    define("creditkit-plan", &[], |el| mount_panel(el, lazy::plan));
    define("creditkit-subscription", &[], |el| {
        mount_panel(el, lazy::subscription)
    });
    define("creditkit-notice", &[], |el| mount_panel(el, lazy::notice));
    define("creditkit-wallets", &[], |el| {
        mount_panel(el, lazy::wallets)
    });
    define("creditkit-alerts", &[], |el| mount_panel(el, lazy::alerts));
    define("creditkit-auto-top-up", &[], |el| {
        mount_panel(el, lazy::topup)
    });
    define("creditkit-agents", &[], |el| mount_panel(el, lazy::agents));
    define("creditkit-earnings", &[], |el| {
        mount_panel(el, lazy::earnings)
    });
}

/// An element that shows one component over its caller's shared state.
fn mount_panel<Fut>(el: web_sys::HtmlElement, panel: fn() -> Fut) -> Mounted
where
    Fut: std::future::Future<Output = AnyView> + Send + 'static,
{
    let host: web_sys::Element = el.clone().unchecked_into();
    let lease = Lease::take(client_of(&host), signed_in(&host));
    let credits = lease.credits;
    credits.set_events_target(host.clone().into());
    let handle = mount_to(el, move || {
        provide_context(credits);
        loaded(panel)
    });
    Mounted {
        handle: Some(Box::new((handle, lease))),
        update: Box::new(|| {}),
    }
}

fn define(tag: &str, extra: &[&str], mount: fn(web_sys::HtmlElement) -> Mounted) {
    let attributes: js_sys::Array = COMMON
        .iter()
        .chain(extra)
        .map(|a| JsValue::from_str(a))
        .collect();
    let closure = Closure::<dyn FnMut(web_sys::HtmlElement) -> Mounted>::new(
        move |host: web_sys::HtmlElement| {
            page_language(&host);
            mount(host)
        },
    );
    define_element(tag, attributes, &closure);
    closure.forget(); // registered for the page's lifetime
}

/// The words follow the language of the page around the element: its own `lang` or its
/// nearest ancestor's (`<html lang="fr">`); without one, the browser's (the default).
fn page_language(host: &web_sys::HtmlElement) {
    let lang = host
        .closest("[lang]")
        .ok()
        .flatten()
        .and_then(|e| attr(&e, "lang"));
    if let Some(lang) = lang {
        crate::copy::set_locale(&lang);
    }
}

fn attr(el: &web_sys::Element, name: &str) -> Option<String> {
    el.get_attribute(name).filter(|v| !v.trim().is_empty())
}

thread_local! {
    /// The page's `setSessionRefresher` callback: `async () => token`.
    static REFRESHER: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
}

/// Registers how the elements get a new session token when theirs ends: a function
/// returning (a promise of) the token, from the page's backend. Without one, an ended
/// session asks the user to reload.
#[wasm_bindgen(js_name = setSessionRefresher)]
pub fn set_session_refresher(refresher: js_sys::Function) {
    REFRESHER.with(|r| *r.borrow_mut() = Some(refresher));
}

async fn refreshed_token() -> Option<String> {
    let f = REFRESHER.with(|r| r.borrow().clone())?;
    let value = f.call0(&JsValue::NULL).ok()?;
    let value = match value.dyn_into::<js_sys::Promise>() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await.ok()?,
        Err(v) => v,
    };
    value.as_string()
}

/// Whether the element has a session to call the API with. Until the page sets
/// `token` (the element mounts again then), it asks the server nothing: a call without
/// one could only be refused.
fn signed_in(el: &web_sys::Element) -> bool {
    attr(el, "token").is_some()
}

fn client_of(el: &web_sys::Element) -> Client {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    Client::new(
        attr(el, "api").unwrap_or(origin),
        attr(el, "token").unwrap_or_default(),
    )
    .with_wallet(attr(el, "wallet"))
    .with_refresh(std::rc::Rc::new(|| Box::pin(refreshed_token())))
}

fn request_of(el: &web_sys::Element) -> Result<Option<Request>, String> {
    match attr(el, "request") {
        None => Ok(None),
        Some(json) => Request::from_json(&json)
            .map(Some)
            .map_err(|e| format!("request: {}", e.message)),
    }
}

fn mount_balance(el: web_sys::HtmlElement) -> Mounted {
    let host: web_sys::Element = el.clone().unchecked_into();
    let variant = attr(&host, "variant");
    let banner = host.has_attribute("banner");
    // Until the page sets a token it asks the server nothing (a call could only be refused).
    let lease = Lease::take(client_of(&host), signed_in(&host));
    let credits = lease.credits;
    credits.set_events_target(host.clone().into());
    let handle = mount_to(el, move || {
        provide_context(credits);
        view! {
            <BalanceBadge variant=variant.clone().unwrap_or_else(|| "header".into())/>
            {banner.then(|| view! { <LowBalanceBanner/> })}
        }
    });
    Mounted {
        // The view goes first, then the element's use of the shared state.
        handle: Some(Box::new((handle, lease))),
        update: Box::new(|| {}),
    }
}

/// The value of the field `selector` names, followed edit by edit (see `typing.rs`).
fn follow_input(
    selector: &str,
    problem: RwSignal<Option<String>>,
) -> (TypedText, Option<Following>) {
    let typed = TypedText::default();
    let field = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten());
    let Some(field) = field else {
        problem.set(Some(format!("input: no element matches `{selector}`")));
        return (typed, None);
    };
    let following = follow_edits(&field, &typed);
    (typed, Some(following))
}

fn mount_estimate(el: web_sys::HtmlElement) -> Mounted {
    let host: web_sys::Element = el.clone().unchecked_into();
    let request = RwSignal::new(None::<Request>);
    let problem = RwSignal::new(None::<String>);
    let read = {
        let host = host.clone();
        move || match request_of(&host) {
            Ok(r) => {
                request.set(r);
                problem.set(None);
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    read();
    let label = attr(&host, "label");
    let (text, following) = match attr(&host, "input") {
        Some(selector) => {
            let (typed, following) = follow_input(&selector, problem);
            (Some(typed), following)
        }
        None => (None, None),
    };
    let h = host.clone();
    // With its own `card` it prices alone, asking nothing; else it shares its caller's
    // state (the card and balance the page's other elements have).
    let lease = attr(&host, "card")
        .is_none()
        .then(|| Lease::take(client_of(&host), signed_in(&host)));
    let shared = lease.as_ref().map(|l| l.credits);
    let handle = mount_to(el, move || {
        let credits = shared.unwrap_or_else(|| Credits::new(client_of(&h)));
        provide_context(credits);
        if let (None, Some(json)) = (shared, attr(&h, "card")) {
            if let Err(e) = credits.set_card_json(&json) {
                problem.set(Some(e));
            }
        }
        view! {
            {match text {
                Some(text) => view! { <LiveEstimate request=request text=text label=label.clone().unwrap_or_else(|| words().estimated_cost.into())/> }.into_any(),
                None => view! { <LiveEstimate request=request label=label.clone().unwrap_or_else(|| words().estimated_cost.into())/> }.into_any(),
            }}
            {move || problem.get().or_else(|| credits.notice.get()).map(|p| view! { <span class="ck-estimate-error" role="alert">{p}</span> })}
        }
    });
    Mounted {
        handle: Some(Box::new((handle, lease, following))),
        update: Box::new(read),
    }
}

fn mount_confirm(el: web_sys::HtmlElement) -> Mounted {
    let host: web_sys::Element = el.clone().unchecked_into();
    let request = RwSignal::new(None::<Request>);
    let label = RwSignal::new(String::new());
    let read = {
        let host = host.clone();
        move || {
            request.set(request_of(&host).ok().flatten());
            label.set(attr(&host, "label").unwrap_or_else(|| words().run.into()));
        }
    };
    read();
    let h = host.clone();
    let lease = Lease::take(client_of(&host), signed_in(&host));
    let (credits, seat) = (lease.credits, lease.seat());
    let handle = mount_to(el, move || {
        provide_context(credits);
        let busy = move || {
            credits
                .flow
                .with(|f| !matches!(f, Flow::Idle | Flow::Done { .. } | Flow::Failed { .. }))
        };
        view! {
            <button
                type="button"
                class="ck-primary ck-confirm-open"
                disabled=move || busy() || request.with(Option::is_none)
                on:click={
                    let target: web_sys::EventTarget = h.clone().into();
                    move |_| {
                        if let Some(r) = request.get_untracked() {
                            seat.take_flow(&target);
                            credits.request(r, label.get_untracked(), None, None);
                        }
                    }
                }
            >
                {move || label.get()}
            </button>
            <LiveEstimate request=request label=words().cost/>
            {move || credits.notice.get().map(|p| view! { <span class="ck-estimate-error" role="alert">{p}</span> })}
            // Elements sharing the state show one dialog: the one that started the flow.
            {move || seat.shows_flow().then(|| view! { <ConfirmDialog/> <InsufficientPrompt/> })}
        }
    });
    Mounted {
        handle: Some(Box::new((handle, lease))),
        update: Box::new(read),
    }
}

//! The shared state every component reads: balance, card, and the paid-action flow
//! (quote → confirm → hold → run → capture or release).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use creditkit_api::{Balance, BalanceEvent, Hold, HoldStatus, Quote};
use creditkit_pricing::{parse_card, Card, Request, Shortfall};
use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::client::{new_key, Client, ClientError};
use crate::copy::words;

/// The work a confirmed action does once its credits are held: the host page hands the
/// hold to its backend, which runs the operation and settles the hold with its API key
/// (capture what was used, never above the hold; or release it when the operation
/// failed). Resolves to the settled hold, or to a message when the operation failed.
/// The browser never settles: a session may not capture or release.
pub type Operation = Rc<dyn Fn(Hold) -> Pin<Box<dyn Future<Output = Result<Hold, String>>>>>;

/// What a buy button asks for: a pack (with a quantity) or a plan of the card.
#[derive(Clone, Debug, PartialEq, Eq, creditkit_pricing::ToJson)]
pub struct Purchase {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    pub quantity: u64,
}

/// The details of the element's events (`creditkit:confirmed`, …), as JavaScript gets them.
#[derive(creditkit_pricing::ToJson)]
struct Confirmed {
    quote_id: String,
    hold_id: String,
    amount_millicredits: u64,
    estimate: creditkit_api::Estimate,
}
#[derive(creditkit_pricing::ToJson)]
struct Charged {
    hold_id: String,
    charged_millicredits: u64,
}
#[derive(creditkit_pricing::ToJson)]
struct Released {
    hold_id: String,
}

/// The host's purchase flow (its checkout). Resolves once the purchase is done (the
/// credits may arrive a moment later, on the balance stream) or to a message.
pub type Buy = Rc<dyn Fn(Purchase) -> Pin<Box<dyn Future<Output = Result<(), String>>>>>;

/// Where a paid action is.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one value at a time, moved rarely: boxing buys nothing
pub enum Flow {
    Idle,
    /// Asking the server for a quote.
    Quoting {
        label: String,
    },
    /// The confirm dialog is open on this quote.
    Confirming {
        label: String,
        quote: Quote,
    },
    /// Credits are held; the operation runs.
    Working {
        label: String,
        hold: Hold,
    },
    /// Blocked: not enough credits. The action waits in `pending` until a top-up.
    Insufficient {
        label: String,
        shortfall: Shortfall,
    },
    /// Blocked by a spending cap: buying does not help; an admin can raise it, or it
    /// resets.
    CapReached {
        label: String,
        cap: creditkit_api::Cap,
    },
    Done {
        label: String,
        outcome: Outcome,
    },
    /// The operation or a call failed; nothing was charged.
    Failed {
        label: String,
        message: String,
    },
}

/// How a confirmed action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Charged `charged_millicredits`, at most the `confirmed_millicredits` the user agreed to.
    /// Settled by the host's backend.
    Charged {
        charged_millicredits: u64,
        confirmed_millicredits: u64,
    },
    /// Held for the host's backend to settle (custom element without an operation).
    Held {
        hold_id: String,
        amount_millicredits: u64,
    },
}

#[derive(Clone)]
struct Pending {
    request: Request,
    label: String,
    project: Option<String>,
    operation: Option<Operation>,
    /// A streamed turn: output tokens its hold starts with.
    stream: Option<u64>,
    /// The chat it is a turn of ([`Credits::conversation`] when it was asked for).
    conversation: Option<String>,
}

/// Context for every component: `Credits::provide(client)` once, `Credits::get()` below.
#[derive(Clone, Copy)]
pub struct Credits {
    client: StoredValue<Client, LocalStorage>,
    pub balance: RwSignal<Option<Balance>>,
    pub card: RwSignal<Option<Arc<Card>>>,
    pub flow: RwSignal<Flow>,
    /// A problem to show in words (a failed load, a failed top-up).
    pub notice: RwSignal<Option<String>>,
    /// Credits charged by confirmed actions since the page loaded.
    pub session_spent_millicredits: RwSignal<u64>,
    /// Bumped after every charge, release or top-up (usage and history reload on it).
    pub revision: RwSignal<u64>,
    /// A streamed turn's cost so far (`progress`), while it runs.
    pub running_millicredits: RwSignal<Option<u64>>,
    /// A streamed turn paused for want of credits (`pause`), with what covers it.
    pub paused: RwSignal<Option<Shortfall>>,
    /// The chat the next turns belong to (the page's id for it): the server counts what
    /// each conversation has cost ([`crate::ChatTotal`]).
    pub conversation: RwSignal<Option<String>>,
    /// Turns at most this many milli-credits run without a dialog, once the user opts
    /// in ([`crate::AutoConfirm`]); `None`: every turn asks.
    pub auto_confirm_millicredits: RwSignal<Option<u64>>,
    /// The current flow was confirmed by the user's standing choice, not a dialog.
    pub unattended: RwSignal<bool>,
    pending: StoredValue<Option<Pending>, LocalStorage>,
    buy_handler: StoredValue<Option<Buy>, LocalStorage>,
    events_target: StoredValue<Option<web_sys::EventTarget>, LocalStorage>,
    stream: StoredValue<Option<EventStream>, LocalStorage>,
}

/// The open event stream and its message handler (dropped together).
type EventStream = (
    web_sys::EventSource,
    Closure<dyn FnMut(web_sys::MessageEvent)>,
);

/// A card being fetched and parsed, shared by everything that asks for it meanwhile.
type CardFetch = Shared<LocalBoxFuture<'static, Result<Arc<Card>, String>>>;

thread_local! {
    /// In-flight card loads by (API, token): the elements of a page mount together, and
    /// one request and one parse serve them all.
    static CARD_FETCHES: std::cell::RefCell<Vec<((String, String), CardFetch)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The workspace's card for `client`, fetched and parsed once however many ask at once.
async fn shared_card(client: &Client) -> Result<Arc<Card>, String> {
    let key = (client.base_url().to_string(), client.token());
    let fetch = CARD_FETCHES.with(|f| {
        let mut f = f.borrow_mut();
        if let Some((_, fetch)) = f.iter().find(|(k, _)| *k == key) {
            return fetch.clone();
        }
        let client = client.clone();
        let fetch = async move {
            let json = client.card_json().await.map_err(|e| e.words())?;
            parse_card(&json)
                .map(Arc::new)
                .map_err(|e| (words().invalid_card)(&e.to_string()))
        }
        .boxed_local()
        .shared();
        f.push((key.clone(), fetch.clone()));
        fetch
    });
    let card = fetch.await;
    CARD_FETCHES.with(|f| f.borrow_mut().retain(|(k, _)| *k != key));
    card
}

mod buying;

impl Credits {
    /// Creates the state, provides it as context, loads the card and balance and
    /// follows the server's balance events.
    pub fn provide(client: Client) -> Credits {
        let credits = Credits::new(client);
        provide_context(credits);
        credits.start();
        credits
    }

    /// Loads the card and balance and follows the server's balance events (closed on
    /// the current owner's cleanup).
    pub(crate) fn start(&self) {
        self.load();
        self.follow_events();
        self.pause_events_while_hidden();
    }

    /// A page kept in the browser's back/forward cache must not keep its event stream:
    /// HTTP/1.1 allows six connections per host, and a few cached pages' streams would
    /// leave none for the page the user is on (its requests would wait forever). Close
    /// the stream on `pagehide`; on `pageshow` from the cache, reopen it and reload the
    /// balance (it may have changed meanwhile).
    fn pause_events_while_hidden(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let stream = self.stream;
        let on_hide = Closure::<dyn FnMut()>::new(move || {
            stream.try_update_value(|s| {
                if let Some((source, _)) = s.take() {
                    source.close();
                }
            });
        });
        let this = *self;
        let on_show = Closure::<dyn FnMut(web_sys::PageTransitionEvent)>::new(
            move |ev: web_sys::PageTransitionEvent| {
                if ev.persisted() {
                    this.follow_events();
                    spawn_local(async move { this.refresh_balance().await });
                }
            },
        );
        let _ =
            window.add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
        let _ =
            window.add_event_listener_with_callback("pageshow", on_show.as_ref().unchecked_ref());
        let listeners = StoredValue::new_local((on_hide, on_show));
        on_cleanup(move || {
            listeners.try_with_value(|(hide, show)| {
                let _ = window
                    .remove_event_listener_with_callback("pagehide", hide.as_ref().unchecked_ref());
                let _ = window
                    .remove_event_listener_with_callback("pageshow", show.as_ref().unchecked_ref());
            });
        });
    }

    /// The state without any network activity (for tests and for callers that load
    /// the card themselves).
    pub fn new(client: Client) -> Credits {
        Credits {
            client: StoredValue::new_local(client),
            balance: RwSignal::new(None),
            card: RwSignal::new(None),
            flow: RwSignal::new(Flow::Idle),
            notice: RwSignal::new(None),
            session_spent_millicredits: RwSignal::new(0),
            revision: RwSignal::new(0),
            running_millicredits: RwSignal::new(None),
            paused: RwSignal::new(None),
            conversation: RwSignal::new(None),
            auto_confirm_millicredits: RwSignal::new(None),
            unattended: RwSignal::new(false),
            pending: StoredValue::new_local(None),
            buy_handler: StoredValue::new_local(None),
            events_target: StoredValue::new_local(None),
            stream: StoredValue::new_local(None),
        }
    }

    /// The state provided above this component. Panics when none was provided: that is
    /// a programming error in the embedding app, not an input.
    pub fn get() -> Credits {
        use_context::<Credits>()
            .expect("creditkit: call Credits::provide(client) above this component")
    }

    /// The client. A task still running after its component was removed (an element
    /// mounted again with a new token) gets one whose calls fail, never a panic.
    pub fn client(&self) -> Client {
        self.client.try_get_value().unwrap_or_else(Client::detached)
    }

    /// DOM events (`creditkit:confirmed`, `creditkit:insufficient`, …) go to this target.
    pub fn set_events_target(&self, target: web_sys::EventTarget) {
        self.events_target.set_value(Some(target));
    }

    pub fn set_card_json(&self, json: &str) -> Result<(), String> {
        let card = parse_card(json).map_err(|e| (words().invalid_card)(&e.to_string()))?;
        self.card.set(Some(Arc::new(card)));
        Ok(())
    }

    /// Loads the card and the balance.
    pub fn load(&self) {
        let this = *self;
        spawn_local(async move {
            match shared_card(&this.client()).await {
                Ok(card) => this.card.set(Some(card)),
                Err(e) => this.notice.set(Some(e)),
            }
            this.refresh_balance().await;
        });
    }

    pub async fn refresh_balance(&self) {
        match self.client().balance().await {
            Ok(b) => self.balance.set(Some(b)),
            Err(e) => self.notice.set(Some(e.words())),
        }
    }

    /// Follows `/v1/events`: every change by any member shows at once. When the
    /// session ends (the server's `end` event, or a refused reconnect), the token is
    /// refreshed through the host and the stream reopened.
    pub fn follow_events(&self) {
        let Ok(source) = web_sys::EventSource::new(&self.client().events_url()) else {
            return;
        };
        let this = *self;
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                match ev.type_().as_str() {
                    "balance" => {
                        if let Some(text) = ev.data().as_string() {
                            if let Ok(e) = crate::client::from_json::<BalanceEvent>(&text) {
                                this.balance.set(Some(e.balance));
                                this.continue_if_covered();
                            }
                        }
                    }
                    // "end" (the session ended) or a reconnect the server refused.
                    _ => {
                        let closed = this.stream.try_with_value(|s| {
                            s.as_ref().is_none_or(|(src, _)| {
                                ev.type_() == "end"
                                    || src.ready_state() == web_sys::EventSource::CLOSED
                            })
                        }) == Some(true);
                        if closed {
                            this.close_events();
                            spawn_local(async move {
                                if this.client().refresh_token().await {
                                    this.follow_events();
                                }
                            });
                        }
                    }
                }
            });
        for name in ["balance", "end", "error"] {
            let _ =
                source.add_event_listener_with_callback(name, on_message.as_ref().unchecked_ref());
        }
        self.close_events();
        self.stream.set_value(Some((source, on_message)));
        let stream = self.stream;
        on_cleanup(move || {
            stream.try_with_value(|s| {
                if let Some((s, _)) = s {
                    s.close();
                }
            });
        });
    }

    fn close_events(&self) {
        self.stream.try_update_value(|s| {
            if let Some((old, _)) = s.take() {
                old.close();
            }
        });
    }

    /// A blocked action continues once the balance covers it (a purchase landed, by
    /// this page's buy button or anywhere else).
    pub(crate) fn continue_if_covered(&self) {
        let Some(Flow::Insufficient { shortfall, .. }) = self.flow.try_get_untracked() else {
            return;
        };
        let covered = self
            .available_millicredits()
            .is_some_and(|a| a >= shortfall.required_millicredits);
        if covered {
            self.notice.set(None);
            if self.has_pending() {
                self.quote_pending();
            } else {
                self.flow.set(Flow::Idle);
            }
        }
    }

    /// Available credits (balance minus holds), once loaded.
    pub fn available_millicredits(&self) -> Option<u64> {
        self.balance
            .try_with(|b| b.as_ref().map(|b| b.available_millicredits))
            .flatten()
    }

    /// Starts a paid action: quote it, then open the confirm dialog — or the
    /// insufficient-credit prompt, keeping the action until credits are added.
    pub fn request(
        &self,
        request: Request,
        label: impl Into<String>,
        project: Option<String>,
        operation: Option<Operation>,
    ) {
        let pending = Pending {
            request,
            label: label.into(),
            project,
            operation,
            stream: None,
            conversation: self.conversation.get_untracked(),
        };
        self.pending.set_value(Some(pending.clone()));
        self.quote_pending();
    }

    /// Like [`Credits::request`] for a chat turn the host streams: its hold reserves the
    /// input and `first_output_tokens` now, and grows as the model streams (the host's
    /// backend extends it), never past the maximum the user confirms. The operation
    /// reports the cost so far with [`Credits::progress`], and a pause for want of
    /// credits with [`Credits::pause`].
    pub fn request_streamed(
        &self,
        request: Request,
        label: impl Into<String>,
        project: Option<String>,
        first_output_tokens: u64,
        operation: Operation,
    ) {
        let pending = Pending {
            request,
            label: label.into(),
            project,
            operation: Some(operation),
            stream: Some(first_output_tokens),
            conversation: self.conversation.get_untracked(),
        };
        self.pending.set_value(Some(pending));
        self.quote_pending();
    }

    /// A streamed turn's cost so far.
    pub fn progress(&self, running_millicredits: u64) {
        self.running_millicredits.set(Some(running_millicredits));
    }

    /// A streamed turn paused because the next chunk is not covered (`Some`, with what
    /// covers it), or resumed (`None`).
    pub fn pause(&self, shortfall: Option<Shortfall>) {
        self.paused.set(shortfall);
    }

    fn quote_pending(&self) {
        let Some(p) = self.pending.get_value() else {
            return;
        };
        let this = *self;
        self.flow.set(Flow::Quoting {
            label: p.label.clone(),
        });
        spawn_local(async move {
            match this
                .client()
                .quote_turn(
                    &p.request,
                    p.project.as_deref(),
                    p.stream,
                    p.conversation.as_deref(),
                )
                .await
            {
                Ok(quote) => match (&quote.cap, &quote.shortfall) {
                    (Some(cap), _) => this.flow.set(Flow::CapReached {
                        label: p.label.clone(),
                        cap: cap.clone(),
                    }),
                    (None, Some(s)) => this.insufficient(&p.label, s.clone()),
                    (None, None) => {
                        let limit = this.auto_confirm_millicredits.get_untracked();
                        let auto = limit.is_some_and(|l| auto_confirms(l, &quote.estimate));
                        this.unattended.set(auto);
                        this.flow.set(Flow::Confirming {
                            label: p.label.clone(),
                            quote,
                        });
                        if auto {
                            this.confirm();
                        }
                    }
                },
                Err(e) => this.fail(&p.label, &e),
            }
        });
    }

    fn insufficient(&self, label: &str, shortfall: Shortfall) {
        self.emit("creditkit:insufficient", &shortfall);
        self.flow.set(Flow::Insufficient {
            label: label.to_string(),
            shortfall,
        });
    }

    fn fail(&self, label: &str, e: &ClientError) {
        match e {
            ClientError::Api { error, .. } if error.cap.is_some() => {
                if let Some(cap) = error.cap.clone() {
                    self.emit("creditkit:cap", &cap);
                    self.flow.set(Flow::CapReached {
                        label: label.to_string(),
                        cap,
                    });
                }
            }
            ClientError::Api { error, .. } if error.shortfall.is_some() => {
                self.insufficient(
                    label,
                    error.shortfall.clone().unwrap_or_else(|| unreachable!()),
                );
            }
            _ => self.flow.set(Flow::Failed {
                label: label.to_string(),
                message: e.words(),
            }),
        }
    }

    /// The user confirmed the open quote: hold its credits, then run the operation.
    pub fn confirm(&self) {
        let Flow::Confirming { label, quote } = self.flow.get_untracked() else {
            return;
        };
        let operation = self
            .pending
            .with_value(|p| p.as_ref().and_then(|p| p.operation.clone()));
        let this = *self;
        let key = new_key("hold");
        spawn_local(async move {
            let client = this.client();
            let hold = match client.hold(&quote.id, &key).await {
                Ok(h) => h,
                Err(e) => return this.fail(&label, &e),
            };
            this.pending.set_value(None);
            let detail = Confirmed {
                quote_id: quote.id.clone(),
                hold_id: hold.id.clone(),
                amount_millicredits: hold.amount_millicredits,
                estimate: quote.estimate.clone(),
            };
            this.emit("creditkit:confirmed", &detail);
            let Some(operation) = operation else {
                let outcome = Outcome::Held {
                    hold_id: hold.id.clone(),
                    amount_millicredits: hold.amount_millicredits,
                };
                this.flow.set(Flow::Done { label, outcome });
                return;
            };
            this.running_millicredits.set(None);
            this.paused.set(None);
            this.flow.set(Flow::Working {
                label: label.clone(),
                hold: hold.clone(),
            });
            let settled = operation(hold.clone()).await;
            this.paused.set(None);
            this.settled(label, &hold, settled).await;
            this.refresh_balance().await;
            this.revision.update(|r| *r += 1);
        });
    }

    /// Shows how an operation ended, from the hold as the server has it: charged (never
    /// above what was confirmed), or released with nothing charged.
    async fn settled(&self, label: String, hold: &Hold, result: Result<Hold, String>) {
        let (settled, message) = match result {
            Ok(h) => (Ok(h), None),
            // The backend said it failed: read what became of the hold.
            Err(message) => (self.client().get_hold(&hold.id).await, Some(message)),
        };
        match settled {
            Ok(h) if h.status == HoldStatus::Captured => {
                let charged = h.captured_millicredits.unwrap_or(0);
                self.session_spent_millicredits
                    .update(|s| *s = s.saturating_add(charged));
                self.emit(
                    "creditkit:charged",
                    &Charged {
                        hold_id: h.id.clone(),
                        charged_millicredits: charged,
                    },
                );
                let outcome = Outcome::Charged {
                    charged_millicredits: charged,
                    confirmed_millicredits: hold.amount_millicredits,
                };
                self.flow.set(Flow::Done { label, outcome });
            }
            Ok(h) if h.status == HoldStatus::Active => {
                let message = format!(
                    "{} {}",
                    message.unwrap_or_else(|| words().result_unknown.into()),
                    words().stays_reserved
                );
                self.flow.set(Flow::Failed { label, message });
            }
            Ok(h) => {
                self.emit(
                    "creditkit:released",
                    &Released {
                        hold_id: h.id.clone(),
                    },
                );
                let message = format!(
                    "{} {}",
                    message.unwrap_or_else(|| words().did_not_complete.into()),
                    words().nothing_charged
                );
                self.flow.set(Flow::Failed { label, message });
            }
            Err(e) => {
                let message = format!("{} {}", message.unwrap_or_default(), e.words());
                self.flow.set(Flow::Failed {
                    label,
                    message: message.trim().to_string(),
                });
            }
        }
    }

    /// Closes the dialog or prompt; a blocked action is dropped.
    pub fn cancel(&self) {
        self.pending.set_value(None);
        self.flow.set(Flow::Idle);
    }

    /// Whether an action waits for credits.
    pub fn has_pending(&self) -> bool {
        self.pending
            .try_with_value(Option::is_some)
            .unwrap_or(false)
    }

    pub(crate) fn emit(&self, name: &str, detail: &dyn creditkit_pricing::ToJson) {
        let target = self
            .events_target
            .try_get_value()
            .flatten()
            .or_else(|| web_sys::window().and_then(|w| w.document()).map(Into::into));
        let Some(target) = target else { return };
        let init = web_sys::CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        let detail = js_sys::JSON::parse(&detail.to_json_string()).unwrap_or(JsValue::NULL);
        init.set_detail(&detail);
        if let Ok(ev) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = target.dispatch_event(&ev);
        }
    }
}

/// Whether a turn runs without asking, under the user's standing limit (seed 000:
/// "never charged for something you haven't agreed to"): its maximum is within the
/// limit, and the price is known well enough (the maximum at most twice the minimum).
/// Anything else opens the dialog.
pub fn auto_confirms(limit_millicredits: u64, e: &creditkit_pricing::Estimate) -> bool {
    e.max_millicredits <= limit_millicredits
        && e.max_millicredits <= e.min_millicredits.saturating_mul(2)
}

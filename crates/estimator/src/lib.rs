//! The WebAssembly pricing module on its own, for apps that draw their own UI (React,
//! Vue, …): `new Estimator(card).estimate(request)` prices with the same engine the
//! server charges with, and `loadTokenCounter` counts a chat turn's tokens exactly as
//! the server will. TypeScript declarations come with the module. The widget
//! (`creditkit-widget`) is built on this crate and exports the same API.
//!
//! Token counting is `creditkit-token-counter`: in the widget's module through feature
//! `counter`; in the estimator's package a second module that its `loadTokenCounter`
//! loads, whose counts reach [`price`] through [`use_token_counts`] (`counts.rs`).

#[cfg(not(feature = "counter"))]
mod counts;
pub mod text;

#[cfg(not(feature = "counter"))]
pub use counts::use_token_counts;
#[cfg(feature = "fetch")]
pub use creditkit_token_counter::load_token_counter;
#[cfg(feature = "counter")]
pub use creditkit_token_counter::{ranks, TokenCounter};

use creditkit_pricing::tokens::Tokenizer;
use creditkit_pricing::{estimate, parse_card, Card, Millicredits, Request, ToJson};
use wasm_bindgen::prelude::*;

use crate::text::estimate_text;

/// Talc, not Rust's default wasm allocator (dlmalloc): smaller here (feature `talc`).
#[cfg(all(target_arch = "wasm32", feature = "talc"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** One charge line of an estimate; amounts in milli-credits (1 credit = 1000). */
export interface EstimateLine {
  item: number; action: string;
  kind: "action" | "free" | "infra" | "input_tokens" | "output_tokens" | "publisher_addon" | "free_message";
  label: string; quantity: number;
  min_millicredits: number; max_millicredits: number; expected_millicredits: number;
  model?: string; agent?: string;
}
/** What a request will cost: exact when min equals max. */
export interface Estimate {
  min_millicredits: number; max_millicredits: number; expected_millicredits: number;
  exact: boolean;
  subtotal: { min_millicredits: number; max_millicredits: number; expected_millicredits: number };
  lines: EstimateLine[];
  card: { id: string; version: string; hash: string };
}
/** `{action, quantity?, params?}` or `{items: [...]}`. */
export type EstimateRequest =
  | { action: string; quantity?: number; params?: Record<string, string | number> }
  | { items: { action: string; quantity?: number; params?: Record<string, string | number> }[] };
/** Thrown by the estimator: a stable code and the path at fault. */
export interface EstimateFailure { code: string; path: string; message: string }
"#;

/// A rate card loaded for estimating.
#[wasm_bindgen]
pub struct Estimator {
    card: Card,
}

#[wasm_bindgen]
impl Estimator {
    /// Parses and validates a rate card (JSON text). Throws an `Error` listing every
    /// problem with its path.
    #[wasm_bindgen(constructor)]
    pub fn new(card_json: &str) -> Result<Estimator, JsError> {
        parse_card(card_json)
            .map(|card| Estimator { card })
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// `sha256:…` of the card's meaning; every estimate carries it.
    #[wasm_bindgen(getter)]
    pub fn hash(&self) -> String {
        self.card.hash().to_string()
    }

    /// Prices a request. Throws an `EstimateFailure` object on a bad request. A chat
    /// item may give `input_text`: it is counted with the model's tokenizer exactly as
    /// the server counts it once that encoding's ranks are loaded (`loadTokenCounter`),
    /// and bounded until then.
    #[wasm_bindgen(unchecked_return_type = "Estimate")]
    pub fn estimate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EstimateRequest | string")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let e = self.priced(request)?;
        js_sys::JSON::parse(&e.to_json_string())
    }

    /// "30 credits" or "2–3 credits", in the page's locale.
    pub fn display(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EstimateRequest | string")] request: JsValue,
    ) -> Result<String, JsValue> {
        Ok(estimate_text(&self.priced(request)?))
    }

    /// What is missing for `required` with `balance` (both milli-credits), and what
    /// covers it: the smallest pack, the plan above `plan` (the wallet's now), or the
    /// seller's contact; `undefined` when the balance suffices.
    pub fn shortfall(
        &self,
        balance_millicredits: f64,
        required_millicredits: f64,
        plan: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let whole = |v: f64| {
            (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0)
                .then_some(v as u64)
        };
        let (Some(b), Some(r)) = (whole(balance_millicredits), whole(required_millicredits)) else {
            return Err(failure(
                "invalid_request",
                "",
                "amounts must be whole, non-negative milli-credits",
            ));
        };
        match creditkit_pricing::shortfall(
            &self.card,
            Millicredits(b),
            Millicredits(r),
            plan.as_deref(),
        ) {
            None => Ok(JsValue::UNDEFINED),
            Some(s) => js_sys::JSON::parse(&s.to_json_string()),
        }
    }
}

impl Estimator {
    /// The one path from a JavaScript request to an estimate: JSON, then [`price`].
    fn priced(&self, request: JsValue) -> Result<creditkit_pricing::Estimate, JsValue> {
        let json = match request.as_string() {
            Some(s) => s,
            None => js_sys::JSON::stringify(&request)
                .map(String::from)
                .map_err(|_| failure("invalid_request", "", "the request is not JSON"))?,
        };
        let fail =
            |e: creditkit_pricing::EstimateError| failure(e.kind.code(), &e.path, &e.message);
        let request = Request::from_json(&json).map_err(fail)?;
        price(&self.card, &request).map_err(fail)
    }
}

/// Prices `request` as the server will: each chat item's `input_text` counted by
/// `count_input_text` (the server's function) with the counters this page has loaded —
/// exact once they are here, true bounds until then — then estimated. The widget's live
/// estimates and `Estimator.estimate` both come through here.
pub fn price(
    card: &creditkit_pricing::Card,
    request: &Request,
) -> Result<creditkit_pricing::Estimate, creditkit_pricing::EstimateError> {
    #[cfg(feature = "counter")]
    let held: Vec<_> = creditkit_pricing::tokens::Encoding::ALL
        .into_iter()
        .filter_map(ranks::loaded)
        .collect();
    #[cfg(feature = "counter")]
    let find = |name: &str| {
        held.iter()
            .find(|b| b.encoding().name() == name)
            .map(|b| &**b as &dyn Tokenizer)
    };
    #[cfg(not(feature = "counter"))]
    let held = counts::held();
    #[cfg(not(feature = "counter"))]
    let find = |name: &str| {
        held.iter()
            .find(|t| t.name() == name)
            .map(|t| t as &dyn Tokenizer)
    };
    let counted = creditkit_pricing::count_input_text(card, request, find)?;
    estimate(card, &counted.request)
}

/// The encodings whose ranks [`price`] needs for `request`'s `input_text` to be counted
/// exactly, and that this page has not loaded yet.
#[cfg(feature = "counter")]
pub fn missing_ranks(
    card: &creditkit_pricing::Card,
    request: &Request,
) -> Vec<creditkit_pricing::tokens::Encoding> {
    let mut out = Vec::new();
    for item in &request.items {
        if !item.params.contains_key(creditkit_pricing::INPUT_TEXT) {
            continue;
        }
        let Some(model) = creditkit_pricing::chat_model(card, item) else {
            continue;
        };
        if let creditkit_pricing::TokenizerKind::Exact(e) = model.tokenizer_kind() {
            if ranks::loaded(e).is_none() && !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

fn failure(code: &str, path: &str, message: &str) -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"code".into(), &code.into());
    let _ = js_sys::Reflect::set(&o, &"path".into(), &path.into());
    let _ = js_sys::Reflect::set(&o, &"message".into(), &message.into());
    o.into()
}

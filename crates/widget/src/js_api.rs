//! The plain JavaScript estimator: load a rate card, estimate a request — the same
//! engine the server charges with. TypeScript declarations come with the module.

use creditkit_pricing::{estimate, parse_card, Card, Millicredits, Request};
use wasm_bindgen::prelude::*;

use crate::format::estimate_text;

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

    /// Prices a request. Throws an `EstimateFailure` object on a bad request.
    #[wasm_bindgen(unchecked_return_type = "Estimate")]
    pub fn estimate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EstimateRequest | string")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let json = match request.as_string() {
            Some(s) => s,
            None => js_sys::JSON::stringify(&request)
                .map(String::from)
                .map_err(|_| failure("invalid_request", "", "the request is not JSON"))?,
        };
        let request =
            Request::from_json(&json).map_err(|e| failure(e.kind.code(), &e.path, &e.message))?;
        let e = estimate(&self.card, &request)
            .map_err(|e| failure(e.kind.code(), &e.path, &e.message))?;
        let text =
            serde_json::to_string(&e).map_err(|e| failure("internal", "", &e.to_string()))?;
        js_sys::JSON::parse(&text)
    }

    /// "30 credits" or "2–3 credits", in the page's locale.
    pub fn display(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EstimateRequest | string")] request: JsValue,
    ) -> Result<String, JsValue> {
        let json = request
            .as_string()
            .map(Ok)
            .unwrap_or_else(|| js_sys::JSON::stringify(&request).map(String::from))?;
        let request =
            Request::from_json(&json).map_err(|e| failure(e.kind.code(), &e.path, &e.message))?;
        let e = estimate(&self.card, &request)
            .map_err(|e| failure(e.kind.code(), &e.path, &e.message))?;
        Ok(estimate_text(&e))
    }

    /// What is missing for `required` with `balance` (both milli-credits), and the
    /// smallest pack or plan that covers it; `undefined` when the balance suffices.
    pub fn shortfall(
        &self,
        balance_millicredits: f64,
        required_millicredits: f64,
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
        match creditkit_pricing::shortfall(&self.card, Millicredits(b), Millicredits(r)) {
            None => Ok(JsValue::UNDEFINED),
            Some(s) => js_sys::JSON::parse(&serde_json::to_string(&s).unwrap_or_default()),
        }
    }
}

fn failure(code: &str, path: &str, message: &str) -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"code".into(), &code.into());
    let _ = js_sys::Reflect::set(&o, &"path".into(), &path.into());
    let _ = js_sys::Reflect::set(&o, &"message".into(), &message.into());
    o.into()
}

/// Exact token counts for `o200k_base` and `cl100k_base`, equal to tiktoken's; the rank
/// data is fetched separately and verified by SHA-256 (see `loadTokenCounter`).
#[wasm_bindgen]
pub struct TokenCounter {
    bpe: std::sync::Arc<creditkit_pricing::tokens::Bpe>,
    live: creditkit_pricing::tokens::Incremental,
}

#[wasm_bindgen]
impl TokenCounter {
    /// A counter from rank data already in memory (refused unless its SHA-256 matches).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoding: &str, bytes: &[u8]) -> Result<TokenCounter, JsError> {
        let e = encoding_named(encoding)?;
        let bpe = creditkit_pricing::tokens::Bpe::from_asset(e, bytes)
            .map_err(|err| JsError::new(&err.to_string()))?;
        Ok(TokenCounter::with(std::sync::Arc::new(bpe)))
    }

    fn with(bpe: std::sync::Arc<creditkit_pricing::tokens::Bpe>) -> TokenCounter {
        TokenCounter {
            live: creditkit_pricing::tokens::Incremental::new(bpe.clone()),
            bpe,
        }
    }

    /// The encoding's name, e.g. `o200k_base`.
    #[wasm_bindgen(getter)]
    pub fn encoding(&self) -> String {
        self.bpe.encoding().name().to_string()
    }

    /// The exact token count of `text` (lone surrogates count as U+FFFD, as sent).
    pub fn count(&self, text: &str) -> f64 {
        self.bpe.count(text) as f64
    }

    /// The count of `text`, re-tokenizing only what changed since the last call: call it
    /// on every input event of a text box.
    pub fn update(&mut self, text: &str) -> f64 {
        match self.live.set(text) {
            Ok(n) => n as f64,
            Err(_) => self.bpe.count(text) as f64,
        }
    }
}

fn encoding_named(name: &str) -> Result<creditkit_pricing::tokens::Encoding, JsError> {
    creditkit_pricing::tokens::Encoding::from_name(name).ok_or_else(|| {
        JsError::new(&format!(
            "unknown encoding `{name}` (known: o200k_base, cl100k_base)"
        ))
    })
}

/// Fetches an encoding's rank data from a creditkit API (`{api}/v1/tokenizers/{name}`),
/// verifies it, and returns a counter. Loaded once per page.
#[wasm_bindgen(js_name = loadTokenCounter)]
pub async fn load_token_counter(api: String, encoding: String) -> Result<TokenCounter, JsError> {
    let e = encoding_named(&encoding)?;
    let bpe = crate::tokens::load(&api, e)
        .await
        .map_err(|err| JsError::new(&err))?;
    Ok(TokenCounter::with(bpe))
}

//! The WebAssembly pricing module on its own, for apps that draw their own UI (React,
//! Vue, …): `new Estimator(card).estimate(request)` prices with the same engine the
//! server charges with, and `loadTokenCounter` counts a chat turn's tokens exactly as
//! the server will. TypeScript declarations come with the module. The widget
//! (`creditkit-widget`) is built on this crate and exports the same API.

pub mod ranks;
pub mod text;

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
/// `count_input_text` (the server's function) with the ranks this page has loaded —
/// exact once they are here, true bounds until then — then estimated. The widget's live
/// estimates and `Estimator.estimate` both come through here.
pub fn price(
    card: &creditkit_pricing::Card,
    request: &Request,
) -> Result<creditkit_pricing::Estimate, creditkit_pricing::EstimateError> {
    let held: Vec<_> = creditkit_pricing::tokens::Encoding::ALL
        .into_iter()
        .filter_map(ranks::loaded)
        .collect();
    let counted = creditkit_pricing::count_input_text(card, request, |name| {
        held.iter()
            .find(|b| b.encoding().name() == name)
            .map(|b| &**b as &dyn creditkit_pricing::tokens::Tokenizer)
    })?;
    estimate(card, &counted.request)
}

/// The encodings whose ranks [`price`] needs for `request`'s `input_text` to be counted
/// exactly, and that this page has not loaded yet.
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

/// Exact token counts for `o200k_base` and `cl100k_base`, equal to tiktoken's; the rank
/// data is fetched separately and verified by SHA-256 (see `loadTokenCounter`).
#[wasm_bindgen]
pub struct TokenCounter {
    bpe: std::sync::Arc<creditkit_pricing::tokens::Bpe>,
    live: creditkit_pricing::tokens::Incremental,
    /// The last edit's position in the held text, as (UTF-16 units, bytes): typing
    /// stays near it, so mapping the next offset walks a few chars, not the text.
    cursor: (usize, usize),
}

#[wasm_bindgen]
impl TokenCounter {
    /// A counter from rank data already in memory (refused unless its SHA-256 matches).
    /// The page keeps the data: `Estimator.estimate` then counts `input_text` exactly.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoding: &str, bytes: &[u8]) -> Result<TokenCounter, JsError> {
        let e = encoding_named(encoding)?;
        let bpe = creditkit_pricing::tokens::Bpe::from_asset(e, bytes)
            .map_err(|err| JsError::new(&err.to_string()))?;
        Ok(TokenCounter::with(crate::ranks::keep(bpe)))
    }

    /// A new counter over the same rank data (nothing is parsed or verified again): one
    /// per text box.
    pub fn another(&self) -> TokenCounter {
        TokenCounter::with(self.bpe.clone())
    }

    /// Whether `encoding` is one this module counts exactly (`o200k_base`, `cl100k_base`).
    pub fn knows(encoding: &str) -> bool {
        creditkit_pricing::tokens::Encoding::from_name(encoding).is_some()
    }

    fn with(bpe: std::sync::Arc<creditkit_pricing::tokens::Bpe>) -> TokenCounter {
        TokenCounter {
            live: creditkit_pricing::tokens::Incremental::new(bpe.clone()),
            bpe,
            cursor: (0, 0),
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
        self.cursor = (0, 0);
        match self.live.set(text) {
            Ok(n) => n as f64,
            Err(_) => self.bpe.count(text) as f64,
        }
    }

    /// The count after one edit of the text last given to `update` or `edit`: at
    /// `offset`, `removed` UTF-16 units (JavaScript string indices) replaced by
    /// `inserted`. Only the edit crosses into WebAssembly, so a keystroke costs the same
    /// in a 10-character and a 10,000-character message. Throws when the edit does not
    /// fit the text (call `update` with the whole text then).
    pub fn edit(&mut self, offset: f64, removed: f64, inserted: &str) -> Result<f64, JsError> {
        let units = |v: f64| {
            (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64)
                .then_some(v as usize)
        };
        let misfit = || JsError::new("the edit does not fit the counted text; call update(text)");
        let (Some(offset), Some(removed)) = (units(offset), units(removed)) else {
            return Err(misfit());
        };
        let text = self.live.text();
        let start = utf16_to_byte(text, self.cursor, offset).ok_or_else(misfit)?;
        let end = utf16_to_byte(text, (offset, start), offset + removed).ok_or_else(misfit)?;
        let n = self
            .live
            .splice(start..end, inserted)
            .map_err(|_| misfit())?;
        self.cursor = (offset, start);
        Ok(n as f64)
    }
}

/// The byte offset in `text` of UTF-16 offset `target`, walking from `from` (a known
/// (UTF-16, byte) pair): forward, or back when the target is before it. `None` past the
/// end or inside a surrogate pair.
fn utf16_to_byte(text: &str, from: (usize, usize), target: usize) -> Option<usize> {
    let (mut units, mut bytes) = if text.is_char_boundary(from.1) && from.1 <= text.len() {
        from
    } else {
        (0, 0)
    };
    if target < units {
        for c in text[..bytes].chars().rev() {
            units -= c.len_utf16();
            bytes -= c.len_utf8();
            if units <= target {
                break;
            }
        }
    }
    let mut chars = text[bytes..].chars();
    while units < target {
        let c = chars.next()?;
        units += c.len_utf16();
        bytes += c.len_utf8();
    }
    (units == target).then_some(bytes)
}

fn encoding_named(name: &str) -> Result<creditkit_pricing::tokens::Encoding, JsError> {
    creditkit_pricing::tokens::Encoding::from_name(name).ok_or_else(|| {
        JsError::new(&format!(
            "unknown encoding `{name}` (known: o200k_base, cl100k_base)"
        ))
    })
}

/// Fetches an encoding's rank data from a creditkit API (`{api}/v1/tokenizers/{name}`),
/// verifies it, and returns a counter. Loaded once per page. (Without `fetch`, the
/// package's `index.js` defines it, in JavaScript, with `fromBytes` and `another`.)
#[cfg(feature = "fetch")]
#[wasm_bindgen(js_name = loadTokenCounter)]
pub async fn load_token_counter(api: String, encoding: String) -> Result<TokenCounter, JsError> {
    let e = encoding_named(&encoding)?;
    let bpe = crate::ranks::load(&api, e)
        .await
        .map_err(|err| JsError::new(&err))?;
    Ok(TokenCounter::with(bpe))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::{utf16_to_byte, TokenCounter};
    use proptest::prelude::*;

    proptest! {
        /// Edits in JavaScript's UTF-16 offsets keep the count equal to a full recount.
        #[test]
        fn edits_count_like_a_full_recount(
            start in "[a-z €🙂\n]{0,40}",
            edits in prop::collection::vec((0usize..64, 0usize..4, "[a-z €🙂\n]{0,3}"), 1..12),
        ) {
            let encoding = creditkit_tokens::Encoding::O200kBase;
            let bytes = creditkit_tokens::Bpe::asset_bytes(encoding);
            let mut counter = TokenCounter::from_bytes("o200k_base", bytes).unwrap();
            counter.update(&start);
            let mut text: Vec<u16> = start.encode_utf16().collect();
            for (at, removed, inserted) in edits {
                // Keep the edit on char boundaries, as a text box's edits are.
                let at = at.min(text.len());
                let end = (at + removed).min(text.len());
                let boundary = |i: usize| i == text.len() || !(0xDC00..0xE000).contains(&text[i]);
                if !boundary(at) || !boundary(end) {
                    continue;
                }
                let n = counter.edit(at as f64, (end - at) as f64, &inserted).unwrap();
                text.splice(at..end, inserted.encode_utf16());
                let now = String::from_utf16(&text).unwrap();
                prop_assert_eq!(n, counter.count(&now));
            }
        }
    }

    #[test]
    fn utf16_offsets_map_to_bytes_from_any_known_position() {
        let text = "a€🙂b"; // 1 + 3 + 4 + 1 bytes; 1 + 1 + 2 + 1 UTF-16 units
        let expected = [
            (0, Some(0)),
            (1, Some(1)),
            (2, Some(4)),
            (3, None),
            (4, Some(8)),
            (5, Some(9)),
            (6, None),
        ];
        for from in [(0, 0), (2, 4), (4, 8), (5, 9)] {
            for (target, bytes) in expected {
                assert_eq!(
                    utf16_to_byte(text, from, target),
                    bytes,
                    "{from:?} → {target}"
                );
            }
        }
        assert_eq!(
            utf16_to_byte(text, (1, 2), 4),
            Some(8),
            "a stale cursor mid-char"
        );
    }
}

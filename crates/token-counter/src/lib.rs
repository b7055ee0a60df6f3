//! Exact token counts in the browser, equal to tiktoken's and to what the creditkit
//! server counts: `TokenCounter` over rank data fetched once per page and checked by
//! SHA-256 (`ranks`). A WebAssembly module of its own in the estimator's package, loaded
//! by its `loadTokenCounter` when a page first counts (the rank data is fetched then
//! anyway), so an estimator's first screen does not carry the tokenizer. Inside the
//! widget's module it is a dependency like any other (`creditkit-estimator`'s feature
//! `counter`).

pub mod ranks;

use wasm_bindgen::prelude::*;

/// Talc, not Rust's default wasm allocator (dlmalloc), for this module on its own.
#[cfg(all(target_arch = "wasm32", feature = "talc"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Exact token counts for `o200k_base` and `cl100k_base`, equal to tiktoken's; the rank
/// data is fetched separately and verified by SHA-256 (see `loadTokenCounter`).
#[wasm_bindgen]
pub struct TokenCounter {
    bpe: std::sync::Arc<creditkit_tokens::Bpe>,
    live: creditkit_tokens::Incremental,
}

#[wasm_bindgen]
impl TokenCounter {
    /// A counter from rank data already in memory (refused unless its SHA-256 matches).
    /// The page keeps the data: `Estimator.estimate` then counts `input_text` exactly.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoding: &str, bytes: &[u8]) -> Result<TokenCounter, JsError> {
        let e = encoding_named(encoding)?;
        let bpe = creditkit_tokens::Bpe::from_asset(e, bytes)
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
        creditkit_tokens::Encoding::from_name(encoding).is_some()
    }

    fn with(bpe: std::sync::Arc<creditkit_tokens::Bpe>) -> TokenCounter {
        TokenCounter {
            live: creditkit_tokens::Incremental::new(bpe.clone()),
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
        let n = self
            .live
            .edit_utf16(offset, removed, inserted)
            .map_err(|_| misfit())?;
        Ok(n as f64)
    }
}

fn encoding_named(name: &str) -> Result<creditkit_tokens::Encoding, JsError> {
    creditkit_tokens::Encoding::named(name).map_err(|e| JsError::new(&e))
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
    use super::TokenCounter;
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
}

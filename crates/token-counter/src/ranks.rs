//! Token rank data in the browser: fetched from a creditkit API once per page, refused
//! unless its SHA-256 is the one compiled in, shared by every counter on the page (the
//! widget's chat boxes and `loadTokenCounter` alike) and, in the widget, by
//! `creditkit_estimator::price`. The fetch is Rust's with feature `fetch` (the widget's);
//! the estimator's package fetches in JavaScript and hands the bytes to
//! `TokenCounter.fromBytes`, which keeps them here too.

use std::cell::RefCell;
use std::sync::Arc;

use creditkit_tokens::{Bpe, Encoding};

thread_local! {
    static LOADED: RefCell<Vec<Arc<Bpe>>> = const { RefCell::new(Vec::new()) };
}

/// The ranks of `encoding`, if they have been loaded.
pub fn loaded(encoding: Encoding) -> Option<Arc<Bpe>> {
    LOADED.with(|l| {
        l.borrow()
            .iter()
            .find(|b| b.encoding() == encoding)
            .cloned()
    })
}

/// Keeps verified ranks for the page; the ones kept first when their encoding already is.
pub fn keep(bpe: Bpe) -> Arc<Bpe> {
    if let Some(b) = loaded(bpe.encoding()) {
        return b;
    }
    let bpe = Arc::new(bpe);
    LOADED.with(|l| l.borrow_mut().push(bpe.clone()));
    bpe
}

#[cfg(feature = "fetch")]
pub use fetch::{load, loading};

#[cfg(feature = "fetch")]
mod fetch {
    use std::cell::RefCell;
    use std::sync::Arc;

    use creditkit_tokens::{Bpe, Encoding};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    thread_local! {
        static IN_FLIGHT: RefCell<Vec<Encoding>> = const { RefCell::new(Vec::new()) };
    }

    /// Whether a load of `encoding` is under way.
    pub fn loading(encoding: Encoding) -> bool {
        IN_FLIGHT.with(|f| f.borrow().contains(&encoding))
    }

    /// Fetches, verifies and keeps the ranks of `encoding` from the API at `base_url`.
    pub async fn load(base_url: &str, encoding: Encoding) -> Result<Arc<Bpe>, String> {
        if let Some(b) = super::loaded(encoding) {
            return Ok(b);
        }
        IN_FLIGHT.with(|f| f.borrow_mut().push(encoding));
        let result = fetch(base_url, encoding).await;
        IN_FLIGHT.with(|f| f.borrow_mut().retain(|&e| e != encoding));
        Ok(super::keep(result?))
    }

    async fn fetch(base_url: &str, encoding: Encoding) -> Result<Bpe, String> {
        let url = format!(
            "{}/v1/tokenizers/{}",
            base_url.trim_end_matches('/'),
            encoding.name()
        );
        let bytes = fetch_bytes(&url)
            .await
            .map_err(|e| format!("could not fetch the {encoding} token data: {e}"))?;
        Bpe::from_asset(encoding, &bytes).map_err(|e| e.to_string())
    }

    /// GET `url` and its body as bytes, through the browser's `fetch`.
    async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
        let window = web_sys::window().ok_or("no window")?;
        let described = |e: wasm_bindgen::JsValue| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "network error".into())
        };
        let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
            .await
            .map_err(described)?
            .dyn_into()
            .map_err(|_| "not a response".to_string())?;
        if !response.ok() {
            return Err(format!("HTTP {}", response.status()));
        }
        let buffer = JsFuture::from(response.array_buffer().map_err(described)?)
            .await
            .map_err(described)?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }
}

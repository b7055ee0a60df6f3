//! Token counts from the page's token-counter module (the estimator's package loads it in
//! `loadTokenCounter`), so this module prices `input_text` exactly without carrying a
//! tokenizer: the package registers each encoding's counter here once its verified rank
//! data is loaded, and [`crate::price`] asks it through the `Tokenizer` trait, as the
//! server asks its own.

use std::cell::RefCell;

use creditkit_pricing::tokens::{Count, Encoding, Pending, Tokenizer};
use wasm_bindgen::prelude::*;

thread_local! {
    static COUNTERS: RefCell<Vec<(Encoding, js_sys::Function)>> = const { RefCell::new(Vec::new()) };
}

/// Registers `count(text) → number` as this page's exact counter for `encoding` (one per
/// encoding: a second replaces the first). Called by the package's `loadTokenCounter`
/// with a counter from the token-counter module; estimates then count `input_text`
/// exactly. Throws on an encoding this module does not know.
#[wasm_bindgen(js_name = useTokenCounts)]
pub fn use_token_counts(encoding: &str, count: js_sys::Function) -> Result<(), JsError> {
    let e = Encoding::named(encoding).map_err(|e| JsError::new(&e))?;
    COUNTERS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(held, _)| *held != e);
        c.push((e, count));
    });
    Ok(())
}

/// The counters registered so far, for one estimate.
pub(crate) fn held() -> Vec<JsCounts> {
    COUNTERS.with(|c| {
        c.borrow()
            .iter()
            .map(|(encoding, count)| JsCounts {
                encoding: *encoding,
                count: count.clone(),
            })
            .collect()
    })
}

/// An encoding's counter in the other module, seen as a [`Tokenizer`].
pub(crate) struct JsCounts {
    encoding: Encoding,
    count: js_sys::Function,
}

impl Tokenizer for JsCounts {
    fn name(&self) -> &str {
        self.encoding.name()
    }

    /// The other module's exact count; should it throw or answer anything but a whole,
    /// non-negative number, the true bounds of a counter not loaded yet (never a guess
    /// below the count: a hold must cover it).
    fn count(&self, text: &str) -> Count {
        let answer = self
            .count
            .call1(&JsValue::NULL, &JsValue::from_str(text))
            .ok()
            .and_then(|v| v.as_f64());
        match answer {
            Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => {
                Count::exact(n as u64)
            }
            _ => Pending(self.encoding).count(text),
        }
    }
}

//! Token counts in the browser, the way the server counts them.
//!
//! A model that names an encoding (`o200k_base`, `cl100k_base`) is counted exactly once
//! that encoding's ranks have arrived: they are not in the wasm; [`load`] fetches them
//! from the API (`/v1/tokenizers/{name}`) the first time such a model is selected and
//! refuses them unless their SHA-256 is the one compiled in. Until then the count is
//! shown as true bounds (every piece is a token at least, every byte one at most).
//! Models without a known encoding use the stated approximation, always as a range.

use std::sync::Arc;

use creditkit_pricing::tokens::{Count, Encoding, Incremental};
use creditkit_pricing::{Model, TokenizerKind};

use crate::copy::words;

pub use creditkit_estimator::ranks::{load, loaded, loading};

/// How a live count was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    Exact(Encoding),
    /// The encoding is known but its ranks are not here yet.
    Loading(Encoding),
    Approximate,
}

/// The chat box's counter: incremental once the model's ranks are loaded.
#[derive(Default)]
pub struct LiveCount {
    incremental: Option<Incremental>,
}

impl LiveCount {
    pub fn count(&mut self, model: &Model, text: &str) -> (Count, Basis) {
        let (encoding, basis) = match model.tokenizer_kind() {
            TokenizerKind::Exact(e) => (loaded(e), Basis::Loading(e)),
            TokenizerKind::Named(_) | TokenizerKind::Approximate => (None, Basis::Approximate),
        };
        let Some(bpe) = encoding else {
            return (creditkit_pricing::input_count(model, text), basis);
        };
        let e = bpe.encoding();
        if self.incremental.as_ref().map(Incremental::encoding) != Some(e) {
            self.incremental = Some(Incremental::new(bpe.clone()));
        }
        let n = match self.incremental.as_mut().map(|i| i.set(text)) {
            Some(Ok(n)) => n,
            _ => bpe.count(text),
        };
        (Count::exact(n), Basis::Exact(e))
    }
}

/// The live count of `text` for the model `model()` names, recomputed on every change:
/// exact once that model's ranks have arrived (fetched from `base_url` the first time the
/// model is used), true bounds until then. Also returns the load error, if any.
pub fn live_count(
    model: impl Fn() -> Option<Model> + Clone + Send + Sync + 'static,
    text: leptos::prelude::Signal<String>,
    base_url: String,
) -> (
    leptos::prelude::Memo<(Count, Basis)>,
    leptos::prelude::RwSignal<Option<String>>,
) {
    use leptos::prelude::*;
    let arrived = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    {
        let model = model.clone();
        Effect::new(move |_| {
            let Some(m) = model() else { return };
            if let TokenizerKind::Exact(e) = m.tokenizer_kind() {
                if loaded(e).is_none() && !loading(e) {
                    let base = base_url.clone();
                    leptos::task::spawn_local(async move {
                        match load(&base, e).await {
                            Ok(_) => arrived.update(|n| *n += 1),
                            Err(err) => error.set(Some(err)),
                        }
                    });
                }
            }
        });
    }
    let live = Arc::new(std::sync::Mutex::new(LiveCount::default()));
    let count = Memo::new(move |_| {
        arrived.track();
        let Some(m) = model() else {
            return (Count::default(), Basis::Approximate);
        };
        let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
        text.with(|t| live.count(&m, t))
    });
    (count, error)
}

/// "7 tokens (o200k_base)", "5–36 tokens (loading the exact count…)", "≈9 tokens (…)".
pub fn count_text(count: &Count, basis: Basis, error: Option<&str>) -> String {
    match basis {
        Basis::Exact(e) => (words().tokens_exact)(count.min, e.name()),
        Basis::Loading(_) => match error {
            Some(err) => (words().tokens_failed)(count.min, count.max, err),
            None => (words().tokens_loading)(count.min, count.max),
        },
        Basis::Approximate => (words().tokens_approximate)(count.likely, count.min, count.max),
    }
}

/// Prices a chat turn whose input is `count` tokens: the first item's `input_tokens` at
/// the count's maximum, and, when the count is a range, its minimum for the low end.
pub fn estimate_turn(
    card: &creditkit_pricing::Card,
    request: &creditkit_pricing::Request,
    count: &Count,
) -> Result<creditkit_pricing::Estimate, creditkit_pricing::EstimateError> {
    let with = |n: u64| {
        let mut r = request.clone();
        if let Some(item) = r.items.first_mut() {
            item.params.insert(
                "input_tokens".into(),
                creditkit_pricing::ParamValue::Count(n),
            );
        }
        r
    };
    let mut high = creditkit_pricing::estimate(card, &with(count.max))?;
    if !count.is_exact() {
        let low = creditkit_pricing::estimate(card, &with(count.min))?;
        high.min_millicredits = low.min_millicredits;
        high.exact = false;
    }
    Ok(high)
}

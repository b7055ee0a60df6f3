//! Token counts in the browser, the way the server counts them.
//!
//! A model that names an encoding (`o200k_base`, `cl100k_base`) is counted exactly once
//! that encoding's ranks have arrived: they are not in the wasm; [`load`] fetches them
//! from the API (`/v1/tokenizers/{name}`) the first time such a model is selected and
//! refuses them unless their SHA-256 is the one compiled in. Until then the count is
//! shown as true bounds (every piece is a token at least, every byte one at most).
//! Models without a known encoding use the stated approximation, always as a range.

use std::sync::{Arc, Mutex};

use creditkit_pricing::tokens::{splice_utf16, Count, Encoding, Incremental, Utf16Cursor};
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

/// The chat box's counter. It holds the turn's text, set whole or edited in place
/// (an input event's edit, so a keystroke does not carry the whole text across), and
/// counts it incrementally once the model's ranks are loaded.
#[derive(Default)]
pub struct LiveCount {
    /// The text while no encoding holds it (approximate, or ranks still loading).
    plain: String,
    cursor: Utf16Cursor,
    /// Holds the text once an encoding's ranks are here.
    incremental: Option<Incremental>,
}

impl LiveCount {
    /// The exact count, once an encoding holds the text.
    fn exact_total(&self) -> Option<u64> {
        self.incremental.as_ref().map(Incremental::count)
    }

    /// The text as counted.
    pub fn text(&self) -> &str {
        self.incremental
            .as_ref()
            .map_or(&self.plain, Incremental::text)
    }

    /// Replaces the whole text (re-counting only around what changed).
    pub fn set(&mut self, text: &str) {
        match self.incremental.as_mut().map(|i| i.set(text)) {
            Some(Ok(_)) => {}
            // Too long to count incrementally: held plain, counted whole.
            Some(Err(_)) | None => {
                self.incremental = None;
                self.plain.clear();
                self.plain.push_str(text);
                self.cursor = Utf16Cursor::default();
            }
        }
    }

    /// One edit in JavaScript's string offsets: at UTF-16 unit `offset`, `removed` units
    /// replaced by `inserted`. `false` (nothing changed) when it does not fit the text:
    /// [`LiveCount::set`] the whole text then.
    pub fn edit(&mut self, offset: usize, removed: usize, inserted: &str) -> bool {
        match self.incremental.as_mut() {
            Some(i) => i.edit_utf16(offset, removed, inserted).is_ok(),
            None => splice_utf16(&mut self.plain, &mut self.cursor, offset, removed, inserted),
        }
    }

    pub fn count(&mut self, model: &Model) -> (Count, Basis) {
        let (encoding, basis) = match model.tokenizer_kind() {
            TokenizerKind::Exact(e) => (loaded(e), Basis::Loading(e)),
            TokenizerKind::Named(_) | TokenizerKind::Approximate => (None, Basis::Approximate),
        };
        let Some(bpe) = encoding else {
            return (creditkit_pricing::input_count(model, self.text()), basis);
        };
        let e = bpe.encoding();
        if self.incremental.as_ref().map(Incremental::encoding) != Some(e) {
            let text = match self.incremental.take() {
                Some(i) => i.text().to_owned(),
                None => std::mem::take(&mut self.plain),
            };
            let mut fresh = Incremental::new(bpe.clone());
            match fresh.set(&text) {
                Ok(_) => self.incremental = Some(fresh),
                Err(_) => {
                    self.plain = text;
                    return (Count::exact(bpe.count(&self.plain)), Basis::Exact(e));
                }
            }
        }
        let n = self.incremental.as_ref().map_or(0, Incremental::count);
        (Count::exact(n), Basis::Exact(e))
    }
}

/// Where a live count's text comes from.
#[derive(Clone)]
pub enum TurnText {
    /// A signal of the whole text: each change is diffed against the last.
    Whole(leptos::prelude::Signal<String>),
    /// A text fed edit by edit (see [`TypedText`]).
    Typed(TypedText),
}

impl From<leptos::prelude::Signal<String>> for TurnText {
    fn from(s: leptos::prelude::Signal<String>) -> Self {
        TurnText::Whole(s)
    }
}

impl From<leptos::prelude::RwSignal<String>> for TurnText {
    fn from(s: leptos::prelude::RwSignal<String>) -> Self {
        TurnText::Whole(s.into())
    }
}

impl From<TypedText> for TurnText {
    fn from(t: TypedText) -> Self {
        TurnText::Typed(t)
    }
}

/// A turn's text fed by its field's input events, one edit at a time: the count is
/// brought up to date in the event handler, and only the edit crosses into WebAssembly
/// (see `typing.rs`). Owned by the reactive owner it is made under, like a signal.
#[derive(Clone, Copy)]
pub struct TypedText {
    live: leptos::prelude::StoredValue<Arc<Mutex<LiveCount>>>,
    /// Bumped on every change of the text.
    changed: leptos::prelude::RwSignal<u64>,
    /// Bumped when the count may have changed: an exact count that stayed the same (most
    /// keystrokes inside a word) wakes nothing, so the estimate is not priced again.
    recount: leptos::prelude::RwSignal<u64>,
}

impl Default for TypedText {
    fn default() -> Self {
        TypedText {
            live: leptos::prelude::StoredValue::new(Arc::default()),
            changed: leptos::prelude::RwSignal::new(0),
            recount: leptos::prelude::RwSignal::new(0),
        }
    }
}

impl TypedText {
    fn live(&self) -> Arc<Mutex<LiveCount>> {
        use leptos::prelude::GetValue;
        self.live.try_get_value().unwrap_or_default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut LiveCount) -> R) -> R {
        use leptos::prelude::Update;
        let live = self.live();
        let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
        let before = live.exact_total();
        let r = f(&mut live);
        let after = live.exact_total();
        drop(live);
        self.changed.try_update(|n| *n += 1);
        if before.is_none() || before != after {
            self.recount.try_update(|n| *n += 1);
        }
        r
    }

    /// The field's whole text (when it was set other than by typing).
    pub fn set(&self, text: &str) {
        self.with(|live| live.set(text));
    }

    /// One edit, as [`LiveCount::edit`]; `false` when it does not fit.
    pub fn edit(&self, offset: usize, removed: usize, inserted: &str) -> bool {
        self.with(|live| live.edit(offset, removed, inserted))
    }

    /// Subscribes the running effect or memo to every change of the text.
    pub fn track(&self) {
        use leptos::prelude::Track;
        self.changed.track();
    }

    /// Subscribes the running memo to every change that may change the count.
    fn track_count(&self) {
        use leptos::prelude::Track;
        self.recount.track();
    }

    /// The text as counted.
    pub fn text(&self) -> String {
        self.live()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .text()
            .to_owned()
    }
}

/// The live count of the turn's text for the model `model()` names, recomputed on every
/// change: exact once that model's ranks have arrived (fetched from `base_url` the first
/// time the model is used), true bounds until then. Also returns the load error, if any.
pub fn live_count(
    model: impl Fn() -> Option<Model> + Clone + Send + Sync + 'static,
    text: TurnText,
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
    let live = match &text {
        TurnText::Typed(t) => t.live(),
        TurnText::Whole(_) => Arc::default(),
    };
    let count = Memo::new(move |_| {
        arrived.track();
        let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
        match &text {
            TurnText::Whole(whole) => whole.with(|t| live.set(t)),
            TurnText::Typed(t) => t.track_count(),
        }
        match model() {
            Some(m) => live.count(&m),
            None => (Count::default(), Basis::Approximate),
        }
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

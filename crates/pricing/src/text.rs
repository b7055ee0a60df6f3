//! Chat input given as text: counted into `input_tokens` by the model's tokenizer.
//!
//! The browser and the server call the same [`count_input_text`]: the browser with the
//! ranks it has loaded (or none yet), the server with the ranks compiled in, so the input
//! count a user sees is the count the server quotes.

use creditkit_tokens::{Approximate, Count, Encoding, Pending, Tokenizer};

use crate::request::INPUT_TEXT;
use crate::{Card, EstimateError, EstimateErrorKind, Item, Model, ParamValue, Request};

/// How a model's input is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenizerKind<'m> {
    /// A byte-pair encoding this kit counts exactly (once its ranks are loaded).
    Exact(Encoding),
    /// A tokenizer the host plugs in behind [`Tokenizer`] (another model family); a host
    /// without it counts by the approximation.
    Named(&'m str),
    Approximate,
}

impl Model {
    pub fn tokenizer_kind(&self) -> TokenizerKind<'_> {
        match self.tokenizer.as_deref() {
            None | Some("approximate") => TokenizerKind::Approximate,
            Some(name) => match Encoding::from_name(name) {
                Some(e) => TokenizerKind::Exact(e),
                None => TokenizerKind::Named(name),
            },
        }
    }
}

/// The chat model an item runs on (by its `model` or `agent` parameter), if any.
/// Inconsistent parameters are left for [`crate::estimate`] to report.
pub fn chat_model<'c>(card: &'c Card, item: &Item) -> Option<&'c Model> {
    let text = |k: &str| match item.params.get(k) {
        Some(ParamValue::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    let id = match text("model") {
        Some(m) => m,
        None => &card.agent(text("agent")?)?.model,
    };
    card.model(id)
}

/// The input count of `text` for `model` without its tokenizer at hand: the true bounds
/// of a known encoding (pieces to bytes), else the stated approximation.
pub fn input_count(model: &Model, text: &str) -> Count {
    match model.tokenizer_kind() {
        TokenizerKind::Exact(e) => Pending(e).count(text),
        TokenizerKind::Named(_) | TokenizerKind::Approximate => Approximate.count(text),
    }
}

/// A request whose `input_text` parameters became `input_tokens`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// The request to price: each `input_tokens` is the exact count, or the count's
    /// maximum when it is a range (a hold must cover the most it can be).
    pub request: Request,
    /// The count of each item that had text (`None` for the others).
    pub counts: Vec<Option<Count>>,
}

impl Counted {
    /// Whether every text was counted exactly.
    pub fn exact(&self) -> bool {
        self.counts.iter().flatten().all(Count::is_exact)
    }

    /// The same request with each counted `input_tokens` set to `pick(count)`
    /// (e.g. the minimum, to price a range's low end).
    pub fn with(&self, pick: impl Fn(&Count) -> u64) -> Request {
        let mut request = self.request.clone();
        for (item, count) in request.items.iter_mut().zip(&self.counts) {
            if let Some(c) = count {
                item.params
                    .insert("input_tokens".to_string(), ParamValue::Count(pick(c)));
            }
        }
        request
    }
}

/// Counts every item's `input_text` with its model's tokenizer. `tokenizers` gives the
/// tokenizer the host has for a name (the server: every exact encoding, plus any it plugs
/// in); a name it has none for is bounded (a known encoding) or approximated.
pub fn count_input_text<'t>(
    card: &Card,
    request: &Request,
    tokenizers: impl Fn(&str) -> Option<&'t dyn Tokenizer>,
) -> Result<Counted, EstimateError> {
    let mut out = request.clone();
    let mut counts = Vec::with_capacity(out.items.len());
    for (i, item) in out.items.iter_mut().enumerate() {
        let Some(value) = item.params.remove(INPUT_TEXT) else {
            counts.push(None);
            continue;
        };
        let path = format!("items[{i}].params.{INPUT_TEXT}");
        let ParamValue::Text(text) = value else {
            return Err(EstimateError::new(
                EstimateErrorKind::InvalidParam,
                &path,
                "expected the turn's text as a string",
            ));
        };
        if item.params.contains_key("input_tokens") {
            return Err(EstimateError::new(
                EstimateErrorKind::InvalidParam,
                &path,
                "give `input_text` or `input_tokens`, not both",
            ));
        }
        let count_with = |model: &Model| match model.tokenizer.as_deref().and_then(&tokenizers) {
            Some(t) => t.count(&text),
            None => input_count(model, &text),
        };
        let count = match chat_model(card, item) {
            Some(model) => count_with(model),
            // A routed turn (Kumari's routing mode): the router's models may count the
            // text differently; the count spans theirs, so the hold covers the most.
            None => card
                .action(&item.action)
                .into_iter()
                .flat_map(|a| a.route.iter())
                .filter_map(|id| card.model(id))
                .map(count_with)
                .reduce(|a, b| Count {
                    min: a.min.min(b.min),
                    likely: a.likely.max(b.likely),
                    max: a.max.max(b.max),
                })
                .ok_or_else(|| {
                    EstimateError::new(
                        EstimateErrorKind::InvalidParam,
                        &path,
                        "`input_text` needs a chat action with a known `model` or `agent`, or a routed one",
                    )
                })?,
        };
        item.params
            .insert("input_tokens".to_string(), ParamValue::Count(count.max));
        counts.push(Some(count));
    }
    Ok(Counted {
        request: out,
        counts,
    })
}

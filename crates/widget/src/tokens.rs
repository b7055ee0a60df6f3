//! Token counts for per-token model prices.
//!
//! Until a model has an exact tokenizer, its input is counted by a stated
//! approximation with bounds: a BPE token covers 1 to [`MAX_BYTES_PER_TOKEN`] bytes of
//! UTF-8 in practice for prose and code, so a text of `b` bytes is between
//! `ceil(b / MAX_BYTES_PER_TOKEN)` and `b` tokens; the likely count is `ceil(b / 4)`.
//! The estimate prices both bounds, so it is shown as a range, never as exact.

/// Bytes of UTF-8 per token at the top of what English prose and code reach.
pub const MAX_BYTES_PER_TOKEN: u64 = 8;

/// An approximate token count with its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenCount {
    pub min: u64,
    pub likely: u64,
    pub max: u64,
}

impl TokenCount {
    pub fn exact(&self) -> bool {
        self.min == self.max
    }
}

/// The approximate count for `text`.
pub fn approximate(text: &str) -> TokenCount {
    let bytes = text.len() as u64;
    TokenCount {
        min: bytes.div_ceil(MAX_BYTES_PER_TOKEN),
        likely: bytes.div_ceil(4),
        max: bytes,
    }
}

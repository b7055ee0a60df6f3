//! A count kept up to date under edits.
//!
//! The text is held as its pieces (start, horizon, tokens). A piece's split depends only
//! on bytes before its horizon, so an edit at byte `a` can only change pieces whose
//! horizon is past `a`: re-splitting starts at the first of them and stops as soon as a
//! new piece ends where an old piece (after the edit) started — from there the text and
//! therefore the split are identical. The property test in `tests/incremental.rs` checks
//! the result against a full recount after random edit sequences.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::{pieces, Bpe, Utf16Cursor};

/// Longest text an [`Incremental`] holds (offsets are stored as `u32`).
pub const MAX_TEXT_BYTES: usize = 64 << 20;

/// The text would exceed [`MAX_TEXT_BYTES`], or an edit range is not on char boundaries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TooLong {
    pub bytes: usize,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a text of {} bytes is longer than the {} bytes counted incrementally",
            self.bytes, MAX_TEXT_BYTES
        )
    }
}

impl std::error::Error for TooLong {}

#[derive(Clone, Copy, Debug)]
struct Slot {
    start: u32,
    horizon: u32,
    tokens: u32,
}

/// An exact token count of a text being edited.
pub struct Incremental {
    bpe: Arc<Bpe>,
    text: String,
    slots: Vec<Slot>,
    total: u64,
    scratch: Vec<(usize, u32)>,
    fresh: Vec<Slot>,
    resplit: usize,
    /// Where the last UTF-16 edit was (see [`Incremental::edit_utf16`]).
    cursor: Utf16Cursor,
}

impl Incremental {
    pub fn new(bpe: Arc<Bpe>) -> Incremental {
        Incremental {
            bpe,
            text: String::new(),
            slots: Vec::new(),
            total: 0,
            scratch: Vec::new(),
            fresh: Vec::new(),
            resplit: 0,
            cursor: Utf16Cursor::default(),
        }
    }

    pub fn encoding(&self) -> crate::Encoding {
        self.bpe.encoding()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The exact token count of [`Incremental::text`].
    pub fn count(&self) -> u64 {
        self.total
    }

    /// How many pieces the last edit re-split (and re-tokenized).
    pub fn last_resplit(&self) -> usize {
        self.resplit
    }

    /// Number of pieces the text splits into.
    pub fn pieces(&self) -> usize {
        self.slots.len()
    }

    /// Replaces the text with `new`, re-counting only around what changed.
    pub fn set(&mut self, new: &str) -> Result<u64, TooLong> {
        let old = self.text.as_bytes();
        let n = new.as_bytes();
        let mut prefix = old.iter().zip(n).take_while(|(a, b)| a == b).count();
        while !(self.text.is_char_boundary(prefix) && new.is_char_boundary(prefix)) {
            prefix -= 1;
        }
        let room = old.len().min(n.len()) - prefix;
        let mut suffix = old
            .iter()
            .rev()
            .zip(n.iter().rev())
            .take(room)
            .take_while(|(a, b)| a == b)
            .count();
        while !(self.text.is_char_boundary(old.len() - suffix)
            && new.is_char_boundary(n.len() - suffix))
        {
            suffix -= 1;
        }
        let (old_end, new_end) = (old.len() - suffix, n.len() - suffix);
        if prefix == old_end && prefix == new_end {
            return Ok(self.total);
        }
        self.splice(prefix..old_end, &new[prefix..new_end])
    }

    /// One edit in JavaScript's string offsets: at UTF-16 unit `offset`, `removed` units
    /// replaced by `inserted`. Typing stays near the last edit, so mapping the offset
    /// walks a few chars, not the text. Refused (nothing changes) when it does not fit.
    pub fn edit_utf16(
        &mut self,
        offset: usize,
        removed: usize,
        inserted: &str,
    ) -> Result<u64, TooLong> {
        let mut cursor = self.cursor;
        let Some(bytes) = cursor.range(&self.text, offset, removed) else {
            return Err(TooLong {
                bytes: self.text.len(),
            });
        };
        let n = self.splice(bytes, inserted)?;
        self.cursor = cursor;
        Ok(n)
    }

    /// Replaces the bytes `range` of the text with `insert`.
    pub fn splice(&mut self, range: Range<usize>, insert: &str) -> Result<u64, TooLong> {
        let Range { start: a, end: b } = range;
        let old_len = self.text.len();
        if a > b || b > old_len || !self.text.is_char_boundary(a) || !self.text.is_char_boundary(b)
        {
            return Err(TooLong { bytes: old_len });
        }
        let new_len = old_len - (b - a) + insert.len();
        if new_len > MAX_TEXT_BYTES {
            return Err(TooLong { bytes: new_len });
        }
        // The first piece the edit can reach.
        let mut k = self
            .slots
            .partition_point(|s| s.start as usize <= a)
            .saturating_sub(1);
        while k > 0 && self.slots[k - 1].horizon as usize > a {
            k -= 1;
        }
        if k < self.slots.len() && self.slots[k].horizon as usize <= a {
            k += 1;
        }
        let restart = self.slots.get(k).map_or(old_len, |s| s.start as usize);
        if a < self.cursor.bytes {
            // The text before the remembered position changed: walk from the start.
            self.cursor = Utf16Cursor::default();
        }
        self.text.replace_range(a..b, insert);
        let edit_end = a + insert.len();
        let delta = new_len as i64 - old_len as i64;

        let bytes = self.text.as_bytes();
        let ranks = self.bpe.ranks();
        self.fresh.clear();
        let mut m = k;
        let mut synced = false;
        let mut split = pieces(self.bpe.encoding(), &self.text);
        split.seek(restart);
        for p in split {
            let tokens = ranks.count_piece(&bytes[p.start..p.end], &mut self.scratch);
            self.fresh.push(Slot {
                start: p.start as u32,
                horizon: p.horizon as u32,
                tokens: tokens as u32,
            });
            if p.end >= edit_end {
                let old_pos = p.end as i64 - delta;
                while m < self.slots.len() && i64::from(self.slots[m].start) < old_pos {
                    m += 1;
                }
                if m < self.slots.len() && i64::from(self.slots[m].start) == old_pos {
                    synced = true;
                    break;
                }
            }
        }
        if !synced {
            m = self.slots.len();
        }
        self.resplit = self.fresh.len();
        let removed: u64 = self.slots[k..m].iter().map(|s| u64::from(s.tokens)).sum();
        let added: u64 = self.fresh.iter().map(|s| u64::from(s.tokens)).sum();
        self.total = self.total - removed + added;
        for s in &mut self.slots[m..] {
            s.start = (i64::from(s.start) + delta) as u32;
            s.horizon = (i64::from(s.horizon) + delta) as u32;
        }
        self.slots.splice(k..m, self.fresh.drain(..));
        Ok(self.total)
    }

    /// The pieces as `(start, end, tokens)`, for tests.
    pub fn split(&self) -> Vec<(usize, usize, u64)> {
        let ends = self
            .slots
            .iter()
            .skip(1)
            .map(|s| s.start as usize)
            .chain(std::iter::once(self.text.len()));
        self.slots
            .iter()
            .zip(ends)
            .map(|(s, e)| (s.start as usize, e, u64::from(s.tokens)))
            .collect()
    }
}

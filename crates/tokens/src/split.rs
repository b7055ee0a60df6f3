//! The pre-tokenizers: text → pieces, exactly as tiktoken's regexes split it.
//!
//! BPE never merges across a piece boundary, so a count is the sum of per-piece counts.
//! The two patterns are matched by hand (no regex engine in the wasm): each alternative
//! is a greedy run with the backtracking its regex would do spelled out. Each piece also
//! reports its *horizon*: one past the last byte the matcher looked at (`len + 1` when it
//! looked at the end of the text). A piece whose horizon is at or before an edit cannot
//! change, which is what makes incremental counting exact (see `incremental.rs`).

use crate::class::{self, Class};
use crate::Encoding;

/// One piece: `start..end`, and how far its matcher looked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
    pub horizon: usize,
}

/// A cursor that remembers how far it has looked.
struct Scan<'a> {
    b: &'a [u8],
    seen: usize,
}

impl Scan<'_> {
    /// The class and UTF-8 length of the char at `i`, or `None` at the end.
    #[inline]
    fn peek(&mut self, i: usize) -> Option<(Class, usize)> {
        let Some(&x) = self.b.get(i) else {
            self.seen = self.seen.max(self.b.len() + 1);
            return None;
        };
        if x < 0x80 {
            self.seen = self.seen.max(i + 1);
            return Some((class::of_ascii(x), 1));
        }
        let (len, c) = decode(self.b, i, x);
        self.seen = self.seen.max(i + len);
        Some((class::of(c), len))
    }

    #[inline]
    fn byte(&mut self, i: usize) -> Option<u8> {
        match self.b.get(i) {
            Some(&x) => {
                self.seen = self.seen.max(i + 1);
                Some(x)
            }
            None => {
                self.seen = self.seen.max(self.b.len() + 1);
                None
            }
        }
    }

    /// Extends `i` over chars of `class` as long as `keep` holds.
    #[inline]
    fn run(&mut self, mut i: usize, keep: impl Fn(Class) -> bool) -> usize {
        while let Some((c, l)) = self.peek(i) {
            if !keep(c) {
                break;
            }
            i += l;
        }
        i
    }

    /// The length of a contraction at `i` (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`,
    /// any case, `ſ` for `s` as Unicode case folding has it), or 0.
    #[inline]
    fn contraction(&mut self, i: usize) -> usize {
        if self.byte(i) != Some(b'\'') {
            return 0;
        }
        let Some(x) = self.byte(i + 1) else { return 0 };
        match x | 0x20 {
            b's' | b't' | b'm' | b'd' => return 2,
            b'r' | b'v' | b'l' => {
                let want = match x | 0x20 {
                    b'r' | b'v' => b'e',
                    _ => b'l',
                };
                if self.byte(i + 2).map(|y| y | 0x20) == Some(want) {
                    return 3;
                }
                return 0;
            }
            _ => {}
        }
        // U+017F LATIN SMALL LETTER LONG S folds to `s`.
        if x == 0xC5 && self.byte(i + 2) == Some(0xBF) {
            return 3;
        }
        0
    }
}

/// Decodes the multi-byte char starting at `i` (the text is valid UTF-8).
#[inline]
fn decode(b: &[u8], i: usize, x: u8) -> (usize, char) {
    let cont = |k: usize| u32::from(b.get(i + k).copied().unwrap_or(0x80) & 0x3f);
    let (len, c) = if x < 0xE0 {
        (2, (u32::from(x & 0x1f) << 6) | cont(1))
    } else if x < 0xF0 {
        (3, (u32::from(x & 0x0f) << 12) | (cont(1) << 6) | cont(2))
    } else {
        (
            4,
            (u32::from(x & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
        )
    };
    (
        len,
        char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER),
    )
}

/// Splits `text` into pieces.
pub fn pieces(encoding: Encoding, text: &str) -> Pieces<'_> {
    Pieces {
        encoding,
        scan: Scan {
            b: text.as_bytes(),
            seen: 0,
        },
        at: 0,
    }
}

/// Iterator over the pieces of a text; see [`pieces`].
pub struct Pieces<'a> {
    encoding: Encoding,
    scan: Scan<'a>,
    at: usize,
}

impl Pieces<'_> {
    /// Restarts the split at `at`, which must be a piece boundary of the text.
    pub fn seek(&mut self, at: usize) {
        self.at = at;
    }
}

impl Iterator for Pieces<'_> {
    type Item = Piece;

    #[inline]
    fn next(&mut self) -> Option<Piece> {
        let start = self.at;
        if start >= self.scan.b.len() {
            return None;
        }
        self.scan.seen = start;
        let end = match self.encoding {
            Encoding::O200kBase => o200k(&mut self.scan, start),
            Encoding::Cl100kBase => cl100k(&mut self.scan, start),
        };
        debug_assert!(end > start && end <= self.scan.b.len());
        self.at = end;
        Some(Piece {
            start,
            end,
            horizon: self.scan.seen.max(end),
        })
    }
}

/// `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
/// |`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
/// |`\p{N}{1,3}`|` ?[^\s\p{L}\p{N}]+[\r\n/]*`|`\s*[\r\n]+`|`\s+(?!\S)`|`\s+`
fn o200k(s: &mut Scan<'_>, p: usize) -> usize {
    let Some((c0, l0)) = s.peek(p) else { return p };
    // Alternatives 1 and 2, each first with the one-char prefix, then without.
    let word = |s: &mut Scan<'_>, first: bool| {
        let at = |s: &mut Scan<'_>, q| {
            if first {
                o200k_lower_word(s, q)
            } else {
                o200k_upper_word(s, q)
            }
        };
        if c0.is_prefix() {
            if let Some(e) = at(s, p + l0) {
                return Some(e);
            }
        }
        at(s, p)
    };
    if let Some(e) = word(s, true).or_else(|| word(s, false)) {
        return e + s.contraction(e);
    }
    if c0 == Class::Number {
        return numbers(s, p, l0);
    }
    if let Some(e) = punct(s, p, c0, l0) {
        return s.run_bytes(e, |b| matches!(b, b'\r' | b'\n' | b'/'));
    }
    let ws = whitespace(s, p);
    if let Some(nl) = ws.last_newline {
        return nl + 1;
    }
    if ws.end == s.b.len() {
        return ws.end;
    }
    if ws.last_start > p {
        return ws.last_start;
    }
    ws.end
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` at `q`.
#[inline]
fn o200k_lower_word(s: &mut Scan<'_>, q: usize) -> Option<usize> {
    // The greedy upper-ish run, remembering its last char that is also lower-ish.
    let mut i = q;
    let mut last_both = None;
    let next = loop {
        match s.peek(i) {
            Some((c, l)) if c.is_upperish() => {
                if c.is_lowerish() {
                    last_both = Some(i + l);
                }
                i += l;
            }
            other => break other,
        }
    };
    match next {
        Some((c, l)) if c.is_lowerish() => Some(s.run(i + l, Class::is_lowerish)),
        // Backtracking gives back chars until the lower-ish `+` can take one.
        _ => last_both,
    }
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` at `q`.
#[inline]
fn o200k_upper_word(s: &mut Scan<'_>, q: usize) -> Option<usize> {
    let r = s.run(q, Class::is_upperish);
    (r > q).then(|| s.run(r, Class::is_lowerish))
}

/// `\p{N}{1,3}` at `p`, whose first char (of length `l0`) is a number.
#[inline]
fn numbers(s: &mut Scan<'_>, p: usize, l0: usize) -> usize {
    let mut e = p + l0;
    for _ in 0..2 {
        match s.peek(e) {
            Some((Class::Number, l)) => e += l,
            _ => break,
        }
    }
    e
}

/// ` ?[^\s\p{L}\p{N}]+` at `p`: the end of the punctuation run, if there is one.
#[inline]
fn punct(s: &mut Scan<'_>, p: usize, c0: Class, l0: usize) -> Option<usize> {
    if s.b[p] == b' ' {
        if let Some((c, l)) = s.peek(p + 1) {
            if c.is_punct() {
                return Some(s.run(p + 1 + l, Class::is_punct));
            }
        }
    }
    c0.is_punct().then(|| s.run(p + l0, Class::is_punct))
}

struct Whitespace {
    end: usize,
    /// Start of the run's last char.
    last_start: usize,
    last_newline: Option<usize>,
}

/// The whitespace run at `p`.
#[inline]
fn whitespace(s: &mut Scan<'_>, p: usize) -> Whitespace {
    let mut i = p;
    let mut last_start = p;
    let mut last_newline = None;
    while let Some((c, l)) = s.peek(i) {
        if !c.is_space() {
            break;
        }
        if c == Class::Newline {
            last_newline = Some(i);
        }
        last_start = i;
        i += l;
    }
    Whitespace {
        end: i,
        last_start,
        last_newline,
    }
}

impl Scan<'_> {
    #[inline]
    fn run_bytes(&mut self, mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
        while let Some(b) = self.byte(i) {
            if !keep(b) {
                break;
            }
            i += 1;
        }
        i
    }
}

/// `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+`
/// |`\s++$|\s*[\r\n]|\s+(?!\S)|\s`
fn cl100k(s: &mut Scan<'_>, p: usize) -> usize {
    let Some((c0, l0)) = s.peek(p) else { return p };
    if c0 == Class::Other {
        let n = s.contraction(p);
        if n > 0 {
            return p + n;
        }
    }
    if c0.is_letter() {
        return s.run(p + l0, Class::is_letter);
    }
    if c0.is_prefix() {
        if let Some((c1, l1)) = s.peek(p + l0) {
            if c1.is_letter() {
                return s.run(p + l0 + l1, Class::is_letter);
            }
        }
    }
    if c0 == Class::Number {
        return numbers(s, p, l0);
    }
    if let Some(e) = punct(s, p, c0, l0) {
        return s.run_bytes(e, |b| matches!(b, b'\r' | b'\n'));
    }
    let ws = whitespace(s, p);
    if ws.end == s.b.len() {
        return ws.end;
    }
    if let Some(nl) = ws.last_newline {
        return nl + 1;
    }
    if ws.last_start > p {
        return ws.last_start;
    }
    p + l0
}

//! The character classes the pre-tokenizers need, as one table lookup.
//!
//! Both encodings split text with a regex over Unicode general categories and
//! `White_Space`. [`Class`] is the coarsest partition of `char` that answers every
//! question those regexes ask. `table.rs` is generated from `regex-syntax`'s Unicode
//! data — the same data `tiktoken` matches with — by `tests/classes.rs`, which fails when
//! the two disagree on any of the 1,114,112 code points (`CREDITKIT_BLESS=1` rewrites it).

/// A partition of `char` for the pre-tokenizers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Class {
    /// Punctuation, symbols, controls, unassigned: `[^\s\p{L}\p{N}\p{M}]`.
    Other = 0,
    /// `\p{Lu}` or `\p{Lt}`.
    Upper = 1,
    /// `\p{Ll}`.
    Lower = 2,
    /// `\p{Lm}` or `\p{Lo}`: both upper- and lower-ish for o200k.
    OtherLetter = 3,
    /// `\p{M}`: not a letter, but a letter-ish continuation for o200k.
    Mark = 4,
    /// `\p{N}`.
    Number = 5,
    /// `\s` except `\r` and `\n`.
    Space = 6,
    /// `\r` or `\n`.
    Newline = 7,
}

impl Class {
    const ALL: [Class; 8] = [
        Class::Other,
        Class::Upper,
        Class::Lower,
        Class::OtherLetter,
        Class::Mark,
        Class::Number,
        Class::Space,
        Class::Newline,
    ];

    pub(crate) fn from_bits(bits: u32) -> Class {
        Class::ALL[(bits & 7) as usize]
    }

    /// `\p{L}`.
    #[inline]
    pub fn is_letter(self) -> bool {
        matches!(self, Class::Upper | Class::Lower | Class::OtherLetter)
    }

    /// `\s`.
    #[inline]
    pub fn is_space(self) -> bool {
        matches!(self, Class::Space | Class::Newline)
    }

    /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]` (o200k).
    #[inline]
    pub fn is_upperish(self) -> bool {
        matches!(self, Class::Upper | Class::OtherLetter | Class::Mark)
    }

    /// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]` (o200k).
    #[inline]
    pub fn is_lowerish(self) -> bool {
        matches!(self, Class::Lower | Class::OtherLetter | Class::Mark)
    }

    /// `[^\r\n\p{L}\p{N}]`: may open a word as its one-character prefix.
    #[inline]
    pub fn is_prefix(self) -> bool {
        matches!(self, Class::Other | Class::Mark | Class::Space)
    }

    /// `[^\s\p{L}\p{N}]`: punctuation runs.
    #[inline]
    pub fn is_punct(self) -> bool {
        matches!(self, Class::Other | Class::Mark)
    }
}

include!("table.rs");

const fn ascii_table() -> [Class; 128] {
    let mut t = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_uppercase() {
            Class::Upper
        } else if c.is_ascii_lowercase() {
            Class::Lower
        } else if c.is_ascii_digit() {
            Class::Number
        } else if c == b'\r' || c == b'\n' {
            Class::Newline
        } else if c == b' ' || c == b'\t' || c == 0x0b || c == 0x0c {
            Class::Space
        } else {
            Class::Other
        };
        b += 1;
    }
    t
}

static ASCII: [Class; 128] = ascii_table();

/// The class of an ASCII byte.
#[inline]
pub fn of_ascii(b: u8) -> Class {
    ASCII[(b & 0x7f) as usize]
}

/// The class of `c`.
#[inline]
pub fn of(c: char) -> Class {
    let c = c as u32;
    if c < 128 {
        return ASCII[c as usize];
    }
    // Entries are `start << 3 | class`, sorted; find the last start <= c.
    let ranges = ranges();
    let key = (c << 3) | 7;
    let i = ranges.partition_point(|&e| e <= key);
    Class::from_bits(ranges[i - 1])
}

/// The table as `start << 3 | class` entries, sorted (unpacked from `PACKED` once).
fn ranges() -> &'static [u32] {
    static RANGES: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    RANGES.get_or_init(|| {
        let mut out = Vec::with_capacity(RANGE_COUNT);
        let (mut value, mut shift, mut start) = (0u32, 0, 0u32);
        for &byte in PACKED.iter() {
            value |= u32::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                start += value >> 3;
                out.push(start << 3 | (value & 7));
                (value, shift) = (0, 0);
            }
        }
        debug_assert_eq!(out.len(), RANGE_COUNT);
        out
    })
}

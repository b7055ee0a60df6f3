//! Token counts for chat pricing, exact where an encoding is known.
//!
//! - [`Bpe`] counts exactly as OpenAI's tiktoken does for `o200k_base` and `cl100k_base`:
//!   [`pieces`] splits text as tiktoken's regex does (matched by hand, see `split.rs`),
//!   [`Ranks`] merges each piece (leftmost lowest rank first, as tiktoken).
//! - [`Incremental`] keeps a count up to date under edits, re-splitting only the pieces
//!   an edit can reach; it always equals a full recount. Edits may come in JavaScript's
//!   UTF-16 offsets ([`Incremental::edit_utf16`], [`Utf16Cursor`]).
//! - [`Tokenizer`] is what pricing asks: a [`Count`] that is exact or a stated range.
//!   [`Pending`] bounds a count while an encoding's ranks are still loading;
//!   [`Approximate`] is the stated fallback for models without a known tokenizer.
//!
//! The rank data is not compiled into the browser build: it is a separate asset
//! (generated from the `tiktoken-rs` crate by `build.rs`), verified by SHA-256 against
//! [`Asset::sha256`] before use. The `embed` feature compiles it in for the server.

mod assets;
pub mod class;
mod incremental;
mod ranks;
mod split;
mod utf16;

use std::fmt;

use sha2::{Digest, Sha256};

pub use assets::Asset;
pub use incremental::{Incremental, TooLong, MAX_TEXT_BYTES};
pub use ranks::Ranks;
pub use split::{pieces, Piece, Pieces};
pub use utf16::{splice_utf16, Utf16Cursor};

/// A byte-pair encoding this crate counts exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-5, o-series.
    O200kBase,
    /// GPT-4, GPT-3.5-turbo, text-embedding-3.
    Cl100kBase,
}

impl Encoding {
    pub const ALL: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

    /// The name tiktoken uses, e.g. `o200k_base`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    pub fn from_name(name: &str) -> Option<Encoding> {
        Encoding::ALL.into_iter().find(|e| e.name() == name)
    }

    /// [`Encoding::from_name`], or the sentence a caller shows for a name it does not know.
    pub fn named(name: &str) -> Result<Encoding, String> {
        Encoding::from_name(name)
            .ok_or_else(|| format!("unknown encoding `{name}` (known: o200k_base, cl100k_base)"))
    }

    /// The identity of this encoding's rank asset.
    pub fn asset(self) -> &'static Asset {
        match self {
            Encoding::O200kBase => &assets::O200K_BASE,
            Encoding::Cl100kBase => &assets::CL100K_BASE,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a rank asset was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssetError {
    /// The bytes are not the asset this build expects (tampered, truncated, stale cache).
    HashMismatch {
        encoding: Encoding,
        expected: &'static str,
        actual: String,
    },
    /// The bytes hash right but do not parse (cannot happen for a released asset).
    Malformed(String),
}

impl fmt::Display for AssetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetError::HashMismatch {
                encoding,
                expected,
                actual,
            } => write!(
                f,
                "the {encoding} token data failed verification (SHA-256 {actual}, expected {expected})"
            ),
            AssetError::Malformed(why) => write!(f, "the token data is malformed: {why}"),
        }
    }
}

impl std::error::Error for AssetError {}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An exact counter for one encoding.
pub struct Bpe {
    encoding: Encoding,
    ranks: Ranks,
}

impl Bpe {
    /// Verifies `data` against the encoding's committed SHA-256, then loads it.
    pub fn from_asset(encoding: Encoding, data: &[u8]) -> Result<Bpe, AssetError> {
        let asset = encoding.asset();
        let actual = sha256_hex(data);
        if actual != asset.sha256 {
            return Err(AssetError::HashMismatch {
                encoding,
                expected: asset.sha256,
                actual,
            });
        }
        let ranks = Ranks::parse(data)?;
        if ranks.name != encoding.name() {
            return Err(AssetError::Malformed(format!(
                "asset is for {}, not {encoding}",
                ranks.name
            )));
        }
        Ok(Bpe { encoding, ranks })
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn ranks(&self) -> &Ranks {
        &self.ranks
    }

    /// The exact number of tokens in `text`.
    pub fn count(&self, text: &str) -> u64 {
        let b = text.as_bytes();
        let mut scratch = Vec::new();
        pieces(self.encoding, text)
            .map(|p| self.ranks.count_piece(&b[p.start..p.end], &mut scratch) as u64)
            .sum()
    }

    /// The token ranks of `text` (what tiktoken's `encode_ordinary` returns).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        for p in pieces(self.encoding, text) {
            self.ranks.encode_piece(&b[p.start..p.end], &mut out);
        }
        out
    }
}

#[cfg(feature = "embed")]
mod embedded {
    use super::*;
    use std::sync::OnceLock;

    static O200K: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.cktk"));
    static CL100K: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.cktk"));

    impl Bpe {
        /// The asset bytes compiled into this binary (what a server serves).
        pub fn asset_bytes(encoding: Encoding) -> &'static [u8] {
            match encoding {
                Encoding::O200kBase => O200K,
                Encoding::Cl100kBase => CL100K,
            }
        }

        /// The compiled-in counter, loaded on first use.
        pub fn embedded(encoding: Encoding) -> &'static Bpe {
            static CELLS: [OnceLock<Bpe>; 2] = [OnceLock::new(), OnceLock::new()];
            let i = Encoding::ALL
                .iter()
                .position(|&e| e == encoding)
                .unwrap_or(0);
            CELLS[i].get_or_init(|| {
                Bpe::from_asset(encoding, Bpe::asset_bytes(encoding))
                    .expect("the build checked the embedded asset's hash")
            })
        }
    }
}

/// A token count: exact when `min == max`, else bounds with a likely value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Count {
    pub min: u64,
    pub likely: u64,
    pub max: u64,
}

impl Count {
    pub fn exact(n: u64) -> Count {
        Count {
            min: n,
            likely: n,
            max: n,
        }
    }

    pub fn is_exact(&self) -> bool {
        self.min == self.max
    }
}

/// Counts a model's input tokens.
pub trait Tokenizer {
    /// What the count is based on, e.g. `o200k_base` or `approximate`.
    fn name(&self) -> &str;
    fn count(&self, text: &str) -> Count;
}

impl Tokenizer for Bpe {
    fn name(&self) -> &str {
        self.encoding.name()
    }

    fn count(&self, text: &str) -> Count {
        Count::exact(Bpe::count(self, text))
    }
}

/// Bytes of UTF-8 per token that [`Approximate`] states as the top for prose and code.
pub const APPROXIMATE_MAX_BYTES_PER_TOKEN: u64 = 8;

/// The stated approximation for models without a known tokenizer: a text of `b` bytes is
/// `ceil(b / 8)` to `b` tokens, likely `ceil(b / 4)`. Always shown as a range.
#[derive(Clone, Copy, Debug, Default)]
pub struct Approximate;

impl Tokenizer for Approximate {
    fn name(&self) -> &str {
        "approximate"
    }

    fn count(&self, text: &str) -> Count {
        let b = text.len() as u64;
        Count {
            min: b.div_ceil(APPROXIMATE_MAX_BYTES_PER_TOKEN),
            likely: b.div_ceil(4),
            max: b,
        }
    }
}

/// A known encoding whose ranks have not arrived yet. Its bounds are true bounds: every
/// piece is at least one token, every token at least one byte.
#[derive(Clone, Copy, Debug)]
pub struct Pending(pub Encoding);

impl Tokenizer for Pending {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn count(&self, text: &str) -> Count {
        let n = pieces(self.0, text).count() as u64;
        let b = text.len() as u64;
        Count {
            min: n,
            likely: b.div_ceil(4).clamp(n, b),
            max: b,
        }
    }
}

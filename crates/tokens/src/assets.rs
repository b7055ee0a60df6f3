//! The rank assets' identities. `build.rs` (feature `embed`) regenerates each asset from
//! the `tiktoken-rs` crate and refuses to build if it no longer matches these lines; the
//! browser refuses an asset whose SHA-256 is not the one here.

use crate::Encoding;

/// A lazily loaded rank asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    pub encoding: Encoding,
    /// Lowercase hex SHA-256 of the asset's bytes.
    pub sha256: &'static str,
    /// Size of the asset in bytes.
    pub bytes: usize,
}

pub(crate) const O200K_BASE: Asset = Asset {
    encoding: Encoding::O200kBase,
    sha256: "72bf15d505c6050adde30fc339de84a87fb009ca64b5797d336c76d262004984",
    bytes: 1597690,
};

pub(crate) const CL100K_BASE: Asset = Asset {
    encoding: Encoding::Cl100kBase,
    sha256: "bf7e1a3ef0250c3c9e204da29ea66f2e8a67900c9a20ab565f40e38616071762",
    bytes: 744107,
};

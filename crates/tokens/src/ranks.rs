//! The rank table (token bytes → rank) and byte-pair merging.
//!
//! Asset format (little endian), written by `build.rs` from the `tiktoken-rs` crate's
//! data and verified by SHA-256 before use:
//! `b"CKTK" | version u8 = 1 | name_len u8 | name | count u32 | count × len u8 | bytes`,
//! tokens in rank order (a length of 0 marks an unused rank).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::AssetError;

const MAGIC: &[u8; 4] = b"CKTK";
const VERSION: u8 = 1;
/// Pieces longer than this merge with a heap (O(n log n)) instead of tiktoken's O(n²)
/// scan; both merge the leftmost lowest-ranked pair first, so the result is identical.
const LINEAR_MAX_BYTES: usize = 128;

/// The ranks of one encoding.
pub struct Ranks {
    pub(crate) name: String,
    bytes: Vec<u8>,
    /// `offsets[r]..offsets[r + 1]` are the bytes of rank `r`.
    offsets: Vec<u32>,
    /// Open addressing: `rank + 1`, or 0 for empty.
    table: Vec<u32>,
    mask: usize,
}

#[inline]
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(23);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(23);
    }
    h ^ (h >> 29)
}

impl Ranks {
    /// Parses an asset (already verified by hash).
    pub(crate) fn parse(data: &[u8]) -> Result<Ranks, AssetError> {
        let bad = |why: &str| AssetError::Malformed(why.to_string());
        if data.len() < 10 || &data[..4] != MAGIC {
            return Err(bad("not a creditkit rank asset (bad magic)"));
        }
        if data[4] != VERSION {
            return Err(bad("unsupported asset version"));
        }
        let name_len = data[5] as usize;
        let name_end = 6 + name_len;
        let name = data
            .get(6..name_end)
            .and_then(|n| std::str::from_utf8(n).ok())
            .ok_or_else(|| bad("bad encoding name"))?
            .to_string();
        let count_bytes = data
            .get(name_end..name_end + 4)
            .ok_or_else(|| bad("truncated"))?;
        let count = u32::from_le_bytes([
            count_bytes[0],
            count_bytes[1],
            count_bytes[2],
            count_bytes[3],
        ]) as usize;
        if count > 1 << 22 {
            return Err(bad("too many tokens"));
        }
        let lens_start = name_end + 4;
        let lens = data
            .get(lens_start..lens_start + count)
            .ok_or_else(|| bad("truncated lengths"))?;
        let bytes = data[lens_start + count..].to_vec();
        let mut offsets = Vec::with_capacity(count + 1);
        let mut at = 0u32;
        offsets.push(0);
        for &l in lens {
            at += u32::from(l);
            offsets.push(at);
        }
        if at as usize != bytes.len() {
            return Err(bad("lengths do not add up to the token bytes"));
        }
        let slots = (count * 2).next_power_of_two().max(16);
        let mut ranks = Ranks {
            name,
            bytes,
            offsets,
            table: vec![0; slots],
            mask: slots - 1,
        };
        for (r, &len) in lens.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let mut i = hash(ranks.token(r as u32)) as usize & ranks.mask;
            while ranks.table[i] != 0 {
                i = (i + 1) & ranks.mask;
            }
            ranks.table[i] = r as u32 + 1;
        }
        Ok(ranks)
    }

    /// The bytes of rank `r`.
    #[inline]
    pub fn token(&self, r: u32) -> &[u8] {
        let r = r as usize;
        &self.bytes[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }

    /// Number of ranks.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rank of exactly these bytes.
    #[inline]
    pub fn rank(&self, piece: &[u8]) -> Option<u32> {
        let mut i = hash(piece) as usize & self.mask;
        loop {
            let e = self.table[i];
            if e == 0 {
                return None;
            }
            if self.token(e - 1) == piece {
                return Some(e - 1);
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    fn rank_or_max(&self, piece: &[u8]) -> u32 {
        self.rank(piece).unwrap_or(u32::MAX)
    }

    /// Number of tokens of one piece.
    #[inline]
    pub fn count_piece(&self, piece: &[u8], scratch: &mut Vec<(usize, u32)>) -> usize {
        if piece.len() <= 1 || self.rank(piece).is_some() {
            return piece.len().min(1);
        }
        if piece.len() <= LINEAR_MAX_BYTES {
            self.merge_linear(piece, scratch);
            scratch.len() - 1
        } else {
            self.merge_heap(piece).len()
        }
    }

    /// The ranks of one piece's tokens.
    pub fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>) {
        if piece.is_empty() {
            return;
        }
        if let Some(r) = self.rank(piece) {
            out.push(r);
            return;
        }
        let bounds: Vec<usize> = if piece.len() <= LINEAR_MAX_BYTES {
            let mut scratch = Vec::new();
            self.merge_linear(piece, &mut scratch);
            scratch.iter().map(|&(i, _)| i).collect()
        } else {
            let mut b = self.merge_heap(piece);
            b.push(piece.len());
            b
        };
        for w in bounds.windows(2) {
            out.push(self.rank_or_max(&piece[w[0]..w[1]]));
        }
    }

    /// tiktoken's `_byte_pair_merge`: leaves the part boundaries (and `len`) in `parts`.
    fn merge_linear(&self, piece: &[u8], parts: &mut Vec<(usize, u32)>) {
        parts.clear();
        let mut min = (u32::MAX, usize::MAX);
        for i in 0..piece.len() - 1 {
            let r = self.rank_or_max(&piece[i..i + 2]);
            if r < min.0 {
                min = (r, i);
            }
            parts.push((i, r));
        }
        parts.push((piece.len() - 1, u32::MAX));
        parts.push((piece.len(), u32::MAX));
        let rank_at = |parts: &Vec<(usize, u32)>, i: usize| {
            if i + 3 < parts.len() {
                self.rank_or_max(&piece[parts[i].0..parts[i + 3].0])
            } else {
                u32::MAX
            }
        };
        while min.0 != u32::MAX {
            let i = min.1;
            if i > 0 {
                parts[i - 1].1 = rank_at(parts, i - 1);
            }
            parts[i].1 = rank_at(parts, i);
            parts.remove(i + 1);
            min = (u32::MAX, usize::MAX);
            for (i, &(_, r)) in parts[..parts.len() - 1].iter().enumerate() {
                if r < min.0 {
                    min = (r, i);
                }
            }
        }
    }

    /// The same merge order with a heap and a linked list: the start of every part.
    fn merge_heap(&self, piece: &[u8]) -> Vec<usize> {
        let n = piece.len();
        const NONE: usize = usize::MAX;
        // Parts are identified by their start byte.
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        let mut alive = vec![true; n];
        let mut version = vec![0u32; n];
        let mut heap = BinaryHeap::with_capacity(n);
        let pair_rank = |next: &Vec<usize>, i: usize| -> u32 {
            let j = next[i];
            if j >= n {
                return u32::MAX;
            }
            let k = next[j];
            self.rank_or_max(&piece[i..k.min(n)])
        };
        for i in 0..n - 1 {
            let r = pair_rank(&next, i);
            if r != u32::MAX {
                heap.push(Reverse((r, i, 0u32)));
            }
        }
        while let Some(Reverse((r, i, v))) = heap.pop() {
            if !alive[i] || version[i] != v {
                continue;
            }
            // Merge part `i` with the next one.
            let j = next[i];
            alive[j] = false;
            next[i] = next[j];
            if next[i] < n {
                prev[next[i]] = i;
            }
            version[i] += 1;
            let ri = pair_rank(&next, i);
            if ri != u32::MAX {
                heap.push(Reverse((ri, i, version[i])));
            }
            let p = prev[i];
            if p != NONE && p < n {
                version[p] += 1;
                let rp = pair_rank(&next, p);
                if rp != u32::MAX {
                    heap.push(Reverse((rp, p, version[p])));
                }
            }
            let _ = r;
        }
        (0..n).filter(|&i| alive[i]).collect()
    }
}

//! Edits given in JavaScript's string offsets (UTF-16 units), applied to UTF-8 text.
//!
//! A text box reports an edit as (offset, removed, inserted) in UTF-16 units; the text
//! here is UTF-8. [`Utf16Cursor`] remembers the last edit's position in both units, so
//! mapping the next offset walks the few chars typing moved, not the whole text.

use std::ops::Range;

/// A known position in a text as (UTF-16 units, bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf16Cursor {
    units: usize,
    pub(crate) bytes: usize,
}

impl Utf16Cursor {
    /// The bytes of `text` that the UTF-16 units `offset..offset + removed` cover,
    /// remembering `offset`'s position for the next call. `None` past the end or when
    /// either end falls inside a surrogate pair (the edit does not fit the text).
    pub fn range(&mut self, text: &str, offset: usize, removed: usize) -> Option<Range<usize>> {
        let start = self.walk(text, offset)?;
        *self = Utf16Cursor {
            units: offset,
            bytes: start,
        };
        let end = self.walk(text, offset.checked_add(removed)?)?;
        Some(start..end)
    }

    /// The byte offset of UTF-16 offset `target`, walking from this position: forward,
    /// or back when the target is before it.
    fn walk(&self, text: &str, target: usize) -> Option<usize> {
        let (mut units, mut bytes) =
            if self.bytes <= text.len() && text.is_char_boundary(self.bytes) {
                (self.units, self.bytes)
            } else {
                (0, 0)
            };
        if target < units {
            for c in text[..bytes].chars().rev() {
                units -= c.len_utf16();
                bytes -= c.len_utf8();
                if units <= target {
                    break;
                }
            }
        }
        let mut chars = text[bytes..].chars();
        while units < target {
            let c = chars.next()?;
            units += c.len_utf16();
            bytes += c.len_utf8();
        }
        (units == target).then_some(bytes)
    }
}

/// Applies one edit in UTF-16 units to `text`; `false` (and `text` unchanged) when it
/// does not fit.
pub fn splice_utf16(
    text: &mut String,
    cursor: &mut Utf16Cursor,
    offset: usize,
    removed: usize,
    inserted: &str,
) -> bool {
    match cursor.range(text, offset, removed) {
        Some(bytes) => {
            text.replace_range(bytes, inserted);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{splice_utf16, Utf16Cursor};

    #[test]
    fn utf16_offsets_map_to_bytes_from_any_known_position() {
        let text = "a€🙂b"; // 1 + 3 + 4 + 1 bytes; 1 + 1 + 2 + 1 UTF-16 units
        let expected = [
            (0, Some(0)),
            (1, Some(1)),
            (2, Some(4)),
            (3, None),
            (4, Some(8)),
            (5, Some(9)),
            (6, None),
        ];
        for (units, bytes) in [(0, 0), (2, 4), (4, 8), (5, 9), (1, 2)] {
            for (target, want) in expected {
                let from = Utf16Cursor { units, bytes };
                assert_eq!(
                    from.walk(text, target),
                    want,
                    "from {units}/{bytes} to {target}"
                );
            }
        }
    }

    #[test]
    fn an_edit_inside_a_surrogate_pair_changes_nothing() {
        let mut text = "a🙂b".to_string();
        let mut cursor = Utf16Cursor::default();
        assert!(!splice_utf16(&mut text, &mut cursor, 2, 1, "x"));
        assert!(!splice_utf16(&mut text, &mut cursor, 1, 1, "x"));
        assert!(!splice_utf16(&mut text, &mut cursor, 5, 0, "x"));
        assert_eq!(text, "a🙂b");
        assert!(splice_utf16(&mut text, &mut cursor, 1, 2, "€"));
        assert!(splice_utf16(&mut text, &mut cursor, 3, 0, "!"));
        assert_eq!(text, "a€b!");
    }
}

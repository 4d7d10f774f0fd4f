//! A value as the cross-check remembers it: length, CRC-32C and the first bytes, so that
//! memory does not grow with the size of the values a WAL writes.

use std::cmp::Ordering;
use std::fmt;

/// Bytes of a value kept verbatim; a value no longer than this is kept whole.
pub const KEPT_BYTES: usize = 64;

/// A value, summarised. Two values are taken as equal when their lengths, CRC-32Cs and
/// first [`KEPT_BYTES`] bytes agree (a CRC-32C catches every error burst up to 32 bits,
/// so any flipped byte shows).
#[derive(Clone, PartialEq, Eq)]
pub struct ValueDigest {
    len: u64,
    crc: u32,
    head: Box<[u8]>,
}

impl ValueDigest {
    /// Summarise `value`.
    pub fn of(value: &[u8]) -> ValueDigest {
        ValueDigest {
            len: value.len() as u64,
            crc: etcd_proto::crc32c::checksum(value),
            head: value.get(..KEPT_BYTES).unwrap_or(value).into(),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for the empty value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the whole value is kept.
    fn whole(&self) -> bool {
        self.head.len() as u64 == self.len
    }

    /// `bytes.Compare(value, other)` as etcd's txn compare does, or `None` when the kept
    /// bytes cannot decide it (long values equal in their first bytes, for `<`/`>`).
    pub fn cmp_bytes(&self, other: &[u8]) -> Option<Ordering> {
        if self.whole() {
            return Some(self.head.as_ref().cmp(other));
        }
        let other_head = other.get(..KEPT_BYTES).unwrap_or(other);
        match self.head.as_ref().cmp(other_head) {
            Ordering::Equal if other.len() <= KEPT_BYTES => Some(Ordering::Greater),
            Ordering::Equal => None,
            o => Some(o),
        }
    }

    /// Whether `self` equals `other` (see the type's documentation for what equal means).
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        *self == ValueDigest::of(other)
    }
}

impl fmt::Debug for ValueDigest {
    /// Escaped first bytes (at most 48), then the length when not shown whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        let shown = self.head.get(..SHOWN).unwrap_or(&self.head);
        let text = etcd_proto::text::escape_bytes(shown);
        if shown.len() as u64 == self.len {
            write!(f, "\"{text}\"")
        } else {
            write!(
                f,
                "\"{text}\"…({} bytes, crc32c {:08x})",
                self.len, self.crc
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_compare_exactly() {
        let d = ValueDigest::of(b"abc");
        assert_eq!(d.cmp_bytes(b"abc"), Some(Ordering::Equal));
        assert_eq!(d.cmp_bytes(b"abd"), Some(Ordering::Less));
        assert_eq!(d.cmp_bytes(b"ab"), Some(Ordering::Greater));
        assert!(d.eq_bytes(b"abc") && !d.eq_bytes(b"abC"));
    }

    #[test]
    fn long_values_decide_only_what_their_head_decides() {
        let mut v = vec![b'x'; 1000];
        let d = ValueDigest::of(&v);
        assert_eq!(d.cmp_bytes(&v), None);
        assert!(d.eq_bytes(&v));
        assert_eq!(d.cmp_bytes(b"y"), Some(Ordering::Less));
        assert_eq!(d.cmp_bytes(b"xx"), Some(Ordering::Greater));
        v[700] ^= 1;
        assert!(!d.eq_bytes(&v));
        assert!(format!("{d:?}").contains("1000 bytes"));
    }
}

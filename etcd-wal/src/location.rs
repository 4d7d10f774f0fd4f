//! Where a record is: one location type for findings, events and everything that points
//! into a WAL.

use std::cmp::Ordering;
use std::fmt;

use crate::segment::SegmentName;

/// A record's place in a WAL directory.
///
/// Displayed as `<segment> at byte <offset>, record #<ordinal>`, the wording every command
/// uses. Ordered by place in the log: segment position, then offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalLocation {
    /// The segment's name (for a missing segment, the name inferred from its neighbours).
    pub segment: SegmentName,
    /// Position of the segment in the sorted directory listing (for a missing segment, the
    /// position of the segment after the gap).
    pub segment_pos: usize,
    /// Byte offset of the record's 8-byte length word in the segment.
    pub offset: u64,
    /// 0-based record number in the segment.
    pub ordinal: u64,
}

impl WalLocation {
    /// The segment's file name.
    pub fn file_name(&self) -> String {
        self.segment.file_name()
    }

    /// `(segment position, offset)`: the key the log is ordered by.
    pub fn key(&self) -> (usize, u64) {
        (self.segment_pos, self.offset)
    }

    /// `at byte <offset>, record #<ordinal>` without the segment name.
    pub fn at(&self) -> String {
        format!("at byte {}, record #{}", self.offset, self.ordinal)
    }
}

impl PartialOrd for WalLocation {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WalLocation {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.segment_pos, self.offset, self.ordinal, self.segment).cmp(&(
            other.segment_pos,
            other.offset,
            other.ordinal,
            other.segment,
        ))
    }
}

impl fmt::Display for WalLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}, record #{}",
            self.segment, self.offset, self.ordinal
        )
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for WalLocation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("WalLocation", 3)?;
        st.serialize_field("segment", &self.segment.file_name())?;
        st.serialize_field("offset", &self.offset)?;
        st.serialize_field("ordinal", &self.ordinal)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_and_orders() {
        let a = WalLocation {
            segment: SegmentName { seq: 0, index: 0 },
            segment_pos: 0,
            offset: 1077360,
            ordinal: 2508,
        };
        assert_eq!(
            a.to_string(),
            "0000000000000000-0000000000000000.wal at byte 1077360, record #2508"
        );
        let b = WalLocation {
            segment: SegmentName { seq: 1, index: 9 },
            segment_pos: 1,
            offset: 0,
            ordinal: 0,
        };
        assert!(a < b);
        assert_eq!(b.at(), "at byte 0, record #0");
    }
}

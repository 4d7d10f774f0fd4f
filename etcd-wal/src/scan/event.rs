//! What a pass lends its observer while it reads.

use crate::finding::Finding;
use crate::location::WalLocation;
use crate::record::{EntryRef, Record};
use crate::segment::SegmentName;

/// How far a record could be trusted when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RecordStatus {
    /// Before any damage, CRC chain verified.
    Verified,
    /// This record's data does not match its stored CRC (the damage itself).
    CrcMismatch,
    /// This record's CRC matched but its payload is invalid (the damage itself).
    Invalid,
    /// After damage, and the chain verified it (trusting the damaged record's stored CRC
    /// or a resync point).
    AfterDamageVerified,
    /// After damage, and nothing could verify it (the first record after a resync).
    AfterDamageUnverified,
}

impl RecordStatus {
    /// Whether the CRC chain vouches for the record (before or after damage).
    pub fn trusted(self) -> bool {
        matches!(
            self,
            RecordStatus::Verified | RecordStatus::AfterDamageVerified
        )
    }
}

/// A record as the pass reads it; borrows from the segment buffer.
#[derive(Debug, Clone, Copy)]
pub struct RecordEvent<'a> {
    /// Where the record is.
    pub at: WalLocation,
    /// Frame length in bytes (length word, record, padding).
    pub frame_len: u64,
    /// The record.
    pub record: Record<'a>,
    /// The entry, for entry records that decode.
    pub entry: Option<EntryRef<'a>>,
    /// How far it can be trusted.
    pub status: RecordStatus,
}

/// What a pass reports while it reads, in file order.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A segment is about to be read.
    SegmentStart {
        /// Position in the directory listing.
        pos: usize,
        /// The segment's name.
        name: SegmentName,
        /// Size in bytes.
        size: u64,
    },
    /// A record.
    Record(RecordEvent<'a>),
    /// Damage, reported before the record it concerns (if that record is readable).
    Finding(&'a Finding),
}

//! Findings: damage observed in the data, with where it is.

use std::fmt;

use crate::record::RecordType;

/// What kind of damage (names fixed by the `verify --json` contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum FindingKind {
    /// A record's data does not match its stored running CRC.
    CrcMismatch,
    /// A record in the last segment failed to decode or match its CRC and holds an
    /// all-zero 512-byte sector chunk: etcd calls it torn and repairs it away.
    TornWrite,
    /// The file ends inside a frame (length word or record), or a protobuf field runs
    /// past the record.
    TruncatedRecord,
    /// A length word asks for a record etcd refuses to read (≥ 10 MiB in 3.4.10+/3.5).
    OversizedLength,
    /// A record that does not decode (protobuf error, unknown type, undecodable payload,
    /// conflicting metadata).
    InvalidRecord,
    /// A crc record at a segment start disagrees with the running CRC of the segments
    /// before it (etcd: "wal: crc mismatch").
    ChainBreak,
    /// A segment is missing: the sequence has a gap and the CRC chain breaks across it.
    MissingSegment,
    /// The sequence numbers have a gap although the CRC chain continues (a renamed
    /// segment); etcd refuses to open the WAL ("wal: file not found").
    SegmentGap,
    /// Non-zero data after a zero length word: etcd treats the zero word as the end and
    /// silently drops (and later overwrites) what follows.
    RecordsAfterEnd,
}

impl FindingKind {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::CrcMismatch => "crc_mismatch",
            FindingKind::TornWrite => "torn_write",
            FindingKind::TruncatedRecord => "truncated_record",
            FindingKind::OversizedLength => "oversized_length",
            FindingKind::InvalidRecord => "invalid_record",
            FindingKind::ChainBreak => "chain_break",
            FindingKind::MissingSegment => "missing_segment",
            FindingKind::SegmentGap => "segment_gap",
            FindingKind::RecordsAfterEnd => "records_after_end",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How etcd's decoder (3.4/3.5) reacts when it reaches this damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EtcdReaction {
    /// `io.ErrUnexpectedEOF`: tolerated by read-only readers; the server repairs it when
    /// it lies in the last segment.
    UnexpectedEof,
    /// A fatal error in every reader.
    Fatal,
    /// A fatal error only for `ReadAll` (the server's replay), ignored by
    /// `ValidSnapshotEntries` (e.g. an unknown record type, conflicting metadata).
    FatalOnReplay,
    /// etcd does not notice: it treats a zero length word as the end of the segment.
    Silent,
    /// Detected when etcd opens the WAL (segment selection), not while decoding.
    FatalOnOpen,
}

/// One piece of damage.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// What kind of damage.
    pub kind: FindingKind,
    /// Segment file name (for a missing segment, its inferred name).
    pub segment: String,
    /// Position of the segment in the sorted directory listing (for a missing segment,
    /// the position of the segment after the gap).
    pub segment_pos: usize,
    /// Byte offset of the damaged frame's length word (for `records_after_end`, of the
    /// zero length word); `None` for a missing segment.
    pub offset: Option<u64>,
    /// 0-based record number in the segment.
    pub ordinal: Option<u64>,
    /// Record type, when the damaged record's bytes still tell it.
    pub record_type: Option<RecordType>,
    /// Raft index of the damaged entry, when its bytes still tell it.
    pub index: Option<u64>,
    /// Raft term of the damaged entry, when its bytes still tell it.
    pub term: Option<u64>,
    /// CRC stored in the record (or crc record), when relevant.
    pub expected_crc: Option<u32>,
    /// CRC computed over the data, when relevant.
    pub actual_crc: Option<u32>,
    /// Length of the damaged frame claimed by its length word, in bytes.
    pub frame_len: Option<u64>,
    /// How etcd's decoder reacts.
    pub reaction: EtcdReaction,
    /// The error string etcd 3.4/3.5 produce here (before any repair).
    pub etcd_error: String,
    /// A one-line human description.
    pub message: String,
    /// Where reading could resume after the damage (offset of the next frame that
    /// decodes and chains), if found in the same segment.
    pub resync_offset: Option<u64>,
}

impl Finding {
    /// A finding in `segment` (position `segment_pos` in the listing) with only what every
    /// finding has; callers fill in location, record and CRC details that apply.
    pub fn new(
        kind: FindingKind,
        segment: String,
        segment_pos: usize,
        reaction: EtcdReaction,
        etcd_error: &str,
        message: String,
    ) -> Finding {
        Finding {
            kind,
            segment,
            segment_pos,
            offset: None,
            ordinal: None,
            record_type: None,
            index: None,
            term: None,
            expected_crc: None,
            actual_crc: None,
            frame_len: None,
            reaction,
            etcd_error: etcd_error.to_string(),
            message,
            resync_offset: None,
        }
    }
}

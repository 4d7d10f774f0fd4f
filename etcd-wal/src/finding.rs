//! Findings: damage observed in the data, with where it is.

use std::fmt;

use crate::location::WalLocation;
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
    /// A segment with no record at all (0 bytes, or zeros from byte 0): etcd writes a crc,
    /// a metadata and a state record at the head of every segment it creates, so its
    /// records and entries are gone. etcd does not notice: it reads the segment as ending
    /// at once.
    EmptySegment,
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
            FindingKind::EmptySegment => "empty_segment",
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
    /// Where: the damaged frame's length word (for `records_after_end`, the zero length
    /// word; for a missing or empty segment, byte 0 of that segment: all of it is gone).
    pub at: WalLocation,
    /// Record type, when the damaged record's bytes still tell it.
    pub record_type: Option<RecordType>,
    /// Raft index of the damaged entry, when its bytes still tell it (for a missing or
    /// empty segment: the first index it should hold).
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
    /// The error string etcd 3.4/3.5 produce here (before any repair; empty when etcd does
    /// not notice).
    pub etcd_error: String,
    /// A one-line human description.
    pub message: String,
    /// Where reading could resume after the damage (offset of the next frame that
    /// decodes and chains), if found in the same segment.
    pub resync_offset: Option<u64>,
}

impl Finding {
    /// Start a finding of `kind` at `at`; the builder fills in what applies.
    pub fn builder(kind: FindingKind, at: WalLocation, reaction: EtcdReaction) -> FindingBuilder {
        FindingBuilder(Finding {
            kind,
            at,
            record_type: None,
            index: None,
            term: None,
            expected_crc: None,
            actual_crc: None,
            frame_len: None,
            reaction,
            etcd_error: String::new(),
            message: String::new(),
            resync_offset: None,
        })
    }

    /// The segment's file name.
    pub fn segment(&self) -> String {
        self.at.file_name()
    }

    /// Position of the segment in the directory listing.
    pub fn segment_pos(&self) -> usize {
        self.at.segment_pos
    }

    /// The damaged entry's raft position, when its bytes tell both index and term.
    pub fn entry(&self) -> Option<etcd_proto::RaftPos> {
        Some(etcd_proto::RaftPos {
            index: self.index?,
            term: self.term?,
        })
    }

    /// Whether the finding has a record place in an existing file (not a missing segment).
    pub fn in_existing_file(&self) -> bool {
        self.kind != FindingKind::MissingSegment
    }
}

/// Builds a [`Finding`] in one place (the scanner reports each damage through it).
#[derive(Debug, Clone)]
#[must_use]
pub struct FindingBuilder(Finding);

impl FindingBuilder {
    /// The error etcd gives.
    pub fn etcd_error(mut self, e: impl Into<String>) -> Self {
        self.0.etcd_error = e.into();
        self
    }

    /// The human description.
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.0.message = m.into();
        self
    }

    /// The damaged frame's length.
    pub fn frame_len(mut self, len: u64) -> Self {
        self.0.frame_len = Some(len);
        self
    }

    /// What the damaged record's bytes still tell: its type and the entry's index and term.
    pub fn record(
        mut self,
        rtype: Option<RecordType>,
        index: Option<u64>,
        term: Option<u64>,
    ) -> Self {
        self.0.record_type = rtype;
        self.0.index = index;
        self.0.term = term;
        self
    }

    /// Stored (expected) and computed (actual) CRC.
    pub fn crc(mut self, expected: Option<u32>, actual: Option<u32>) -> Self {
        self.0.expected_crc = expected;
        self.0.actual_crc = actual;
        self
    }

    /// The finding.
    pub fn build(self) -> Finding {
        self.0
    }
}

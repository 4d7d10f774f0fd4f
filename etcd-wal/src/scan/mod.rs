//! One pass over every segment, emulating etcd 3.4/3.5's decoder record by record
//! (`wal/decoder.go` `decodeRecord`, plus the per-type checks of `ReadAll` and
//! `ValidSnapshotEntries`), and carrying on past damage to describe what lies beyond.
//!
//! The pass reads each byte once, through one bounded buffer per segment, and keeps only
//! aggregates (no entry data), so memory does not grow with the WAL.
//!
//! Layout: this module holds the results ([`Scan`] and its parts) and the entry points;
//! [`Event`]s are in `event`, the segment loop in `scanner`, the per-record decoder in
//! `step`, the judgement of sequence gaps in `sequence`, and what is read out of damaged
//! bytes in `salvage`.

mod event;
mod salvage;
mod scanner;
mod sequence;
mod step;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use etcd_proto::RaftPos;
use etcd_proto::pb::etcdserverpb::Metadata;

pub use event::{Event, RecordEvent, RecordStatus};

use crate::error::Error;
use crate::finding::Finding;
use crate::location::WalLocation;
use crate::segment::{SegmentName, WalDir};

/// Most entry runs remembered (a run is a stretch of consecutive raft indexes).
const MAX_RUNS: usize = 100_000;

/// How a segment's record stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum SegmentEnd {
    /// The file ends right after the last record.
    Eof,
    /// A zero length word (preallocated space) follows the last record, zeros to EOF.
    ZeroTail,
    /// A zero length word followed by non-zero data (see `records_after_end`).
    ZeroWordWithData,
    /// Damage stopped the reading of this segment (no resync point found).
    Damaged,
}

/// What one segment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SegmentSummary {
    /// File name.
    pub file: String,
    /// Parsed name.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub name: SegmentName,
    /// Size in bytes.
    pub size: u64,
    /// Records read (including ones after damage that could be framed).
    pub records: u64,
    /// Entry records read.
    pub entries: u64,
    /// Smallest raft index among its entries.
    pub first_index: Option<u64>,
    /// Raft index of its last entry.
    pub last_index: Option<u64>,
    /// Term of its last entry.
    pub last_term: Option<u64>,
    /// End of the last good record before any damage (etcd's `lastValidOff`), in bytes.
    pub valid_offset: u64,
    /// End of the last record read at all (after resyncs).
    pub data_end: u64,
    /// How the record stream ended.
    pub end: SegmentEnd,
    /// CRC stored in the segment's first crc record, if it starts with one.
    pub start_crc: Option<u32>,
    /// Running CRC after the last record read.
    pub end_crc: u32,
}

/// A WAL snapshot record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SnapshotRecord {
    /// Raft index and term of the snapshot.
    pub pos: RaftPos,
    /// Whether it carries a ConfState (etcd 3.5+ writes one for index > 0).
    pub has_conf_state: bool,
    /// Where the record is.
    pub at: WalLocation,
    /// Whether it was read before the first damage.
    pub before_damage: bool,
}

/// A stretch of entries with consecutive indexes, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRun {
    /// First index.
    pub first: u64,
    /// Last index.
    pub last: u64,
    /// Term of the last entry.
    pub last_term: u64,
    /// Segment position.
    pub segment_pos: usize,
    /// Whether the run lies before the first damage.
    pub before_damage: bool,
}

/// Raft HardState with where it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HardStateAt {
    /// Term.
    pub term: u64,
    /// Vote (a member ID).
    pub vote: u64,
    /// Commit index.
    pub commit: u64,
    /// Where the state record is.
    pub at: WalLocation,
}

/// What lies after the first damage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Beyond {
    /// Records read after the damaged one.
    pub records: u64,
    /// Entry records among them.
    pub entries: u64,
    /// Smallest entry index among them.
    pub first_index: Option<u64>,
    /// Largest entry index among them.
    pub last_index: Option<u64>,
    /// Whether the CRC chain verified again after the damage (trusting the damaged
    /// record's stored CRC, or from a resync point).
    pub resynchronised: bool,
    /// Whether everything after the first damage verified (no further finding).
    pub intact: bool,
}

/// The result of one pass.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The directory listing the pass read.
    pub dir: WalDir,
    /// Per segment, in listing order.
    pub segments: Vec<SegmentSummary>,
    /// Findings in stream order.
    pub findings: Vec<Finding>,
    /// Node and cluster ID from the first metadata record.
    pub metadata: Option<Metadata>,
    /// Last HardState read before the first damage (what etcd's readers see).
    pub hard_state: Option<HardStateAt>,
    /// Last HardState read at all (including after damage).
    pub last_hard_state: Option<HardStateAt>,
    /// Snapshot records.
    pub snapshots: Vec<SnapshotRecord>,
    /// Entry runs in log order (capped at 100,000 runs; see `runs_truncated`).
    pub runs: Vec<EntryRun>,
    /// Whether `runs` hit its cap.
    pub runs_truncated: bool,
    /// Records and entries in total.
    pub records: u64,
    /// Entry records in total.
    pub entries: u64,
    /// Last entry read before the first damage.
    pub last_entry_before_damage: Option<RaftPos>,
    /// What lies after the first damage, if any.
    pub beyond: Option<Beyond>,
}

impl Scan {
    /// The largest raft index of any entry read (damaged or not).
    pub fn last_index(&self) -> Option<u64> {
        self.segments.iter().filter_map(|s| s.last_index).max()
    }

    /// Entries beyond the first damage that the last HardState (read anywhere) says were
    /// committed: what a cut at the damage would drop of the committed log.
    pub fn committed_beyond_damage(&self) -> Option<u64> {
        let b = self.beyond?;
        Some(match (b.first_index, b.last_index, self.last_hard_state) {
            (Some(first), Some(last), Some(h)) => h
                .commit
                .min(last)
                .saturating_sub(first.saturating_sub(1))
                .min(b.entries),
            _ => 0,
        })
    }
}

/// Read every segment of `wal_dir` once. `Err` only when files cannot be read at all.
pub fn scan_dir(wal_dir: &Path) -> Result<Scan, Error> {
    scan_dir_with(wal_dir, &mut |_| {})
}

/// Like [`scan_dir`], calling `visit` for every segment, record and finding as the pass
/// reads them (for streaming consumers such as a dump). Memory stays bounded: records are
/// lent to `visit` and then dropped.
pub fn scan_dir_with(wal_dir: &Path, visit: &mut dyn FnMut(Event<'_>)) -> Result<Scan, Error> {
    scan_dir_interruptible(wal_dir, visit, &AtomicBool::new(false))
}

/// Like [`scan_dir_with`], stopping early once `should_interrupt` is set (e.g. by `visit`
/// when its reader went away). The `Scan` of an interrupted pass covers only what was read.
pub fn scan_dir_interruptible(
    wal_dir: &Path,
    visit: &mut dyn FnMut(Event<'_>),
    should_interrupt: &AtomicBool,
) -> Result<Scan, Error> {
    let dir = WalDir::read(wal_dir)?;
    if dir.segments.is_empty() {
        return Err(Error::NoSegments {
            path: wal_dir.to_path_buf(),
        });
    }
    scanner::run(dir, visit, should_interrupt)
}

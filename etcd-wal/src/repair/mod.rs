//! Repair = plan, then apply.
//!
//! [`plan`] reads the WAL (never writes) and picks the safest way back to a WAL etcd starts
//! on, saying exactly what it costs:
//! - **fix**: one damaged byte inside a record's data, located from the CRC syndrome
//!   ([`fix::single_byte_fixes`]); accepted only when exactly one candidate exists, the
//!   record then decodes and the chain verifies through every following record. Loses nothing.
//! - **tail**: what etcd's own `wal.Repair` does for a torn tail (truncate the last segment
//!   at its valid offset), when the kept log still reaches the db's consistent index.
//! - **truncate**: cut at the first damaged record and drop later segments, only when the
//!   kept log still reaches the db's consistent index.
//! - **rebuild**: when the cut would land below the db's consistent index: a new WAL for the
//!   same member and cluster with a snapshot record at the consistent index, a matching
//!   `.snap`, a consistent HardState and every intact entry beyond the consistent index.
//! - **rejoin**: a member of a multi-member cluster that would lose entries it may have
//!   acknowledged: nothing local is safe; remove and re-add it (steps spelled out).
//!
//! [`apply()`] is the only code in this crate that writes to existing files: it backs up
//! every file it changes or removes into a dated folder, stages the new state beside the
//! old one (hard links for unchanged files) and swaps it in with one atomic directory
//! exchange, fsyncing files and directories. Interrupted at any point, the data dir is
//! either as before or as planned. [`undo`] puts the newest backup back the same way.

mod collect;
mod cut;
pub mod fix;
mod patch;
mod plan;
mod rebuild;

pub mod apply;

use std::path::{Path, PathBuf};

use etcd_proto::RaftPos;
use etcd_proto::pb::raftpb::ConfState;

use crate::finding::Finding;
use crate::payload::KeyRange;

pub use apply::{Applied, ApplyOptions, Changed, UndoPlan, apply, plan_undo, undo};
pub use plan::plan;

/// Most distinct keys listed for the writes a plan drops.
const MAX_KEYS: usize = 2_000;
/// Most bytes of entry data a rebuild keeps in memory.
const MAX_REBUILD_BYTES: usize = 512 << 20;

/// What the db (`member/snap/db`) says, filled in by the caller (etcd-snap reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbInfo {
    /// `meta/consistent_index`: the last raft index applied to the db.
    pub consistent_index: u64,
    /// `meta/term` (etcd 3.5+; `None` for a 3.4 db).
    pub term: Option<u64>,
    /// `meta/confState` (etcd 3.5+; `None` for a 3.4 db).
    pub conf_state: Option<ConfState>,
}

/// The newest valid `.snap` file, whose v2-store JSON (membership) a rebuild reuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapSource {
    /// The file.
    pub path: PathBuf,
    /// Its raft term.
    pub term: u64,
    /// Its raft index.
    pub index: u64,
    /// Its ConfState.
    pub conf_state: ConfState,
    /// `raftpb.Snapshot.data`: the v2 store JSON, reused byte for byte.
    pub v2_json: Vec<u8>,
}

/// Everything [`plan`] needs.
#[derive(Debug, Clone, Default)]
pub struct RepairInput {
    /// The WAL directory.
    pub wal_dir: PathBuf,
    /// The snap directory (`member/snap`), when there is one.
    pub snap_dir: Option<PathBuf>,
    /// The data dir (backups go into a dated folder here).
    pub data_dir: PathBuf,
    /// The db's state, when readable.
    pub db: Option<DbInfo>,
    /// Every readable `.snap`'s snapshot (for etcd's start prediction).
    pub snap_files: Option<Vec<RaftPos>>,
    /// The newest valid `.snap`, for a rebuild.
    pub snap: Option<SnapSource>,
    /// Voting members (1 for a single-member cluster), when known.
    pub voters: Option<usize>,
    /// What etcd does with the WAL, when the caller predicted it for a given release
    /// (`etcd_member` adapts the decoder's reactions per release); `None`: predicted here
    /// with etcd 3.4/3.5.1's rules.
    pub prediction: Option<crate::predict::Prediction>,
}

/// Which plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PlanKind {
    /// Nothing to repair.
    Nothing,
    /// One damaged byte put back (no data lost).
    Fix,
    /// etcd's own torn-tail repair.
    Tail,
    /// Cut at the first damage, drop later segments.
    Truncate,
    /// A new WAL from the db's consistent index on.
    Rebuild,
    /// Remove and re-add the member (cluster member that would lose acknowledged entries).
    Rejoin,
    /// The db is gone: etcd rebuilds it by replaying the whole WAL (from index 1) once the
    /// `.snap` files that make it look for a db are moved aside (planned by `etcd-member`).
    DbRebuild,
    /// The db's last bolt transaction is dropped (its meta page overwritten with the one
    /// before): bbolt opens the older tree, etcd replays the WAL entries above its consistent
    /// index (planned by `etcd-member`).
    DbRevertMeta,
    /// Nothing can be done here.
    Impossible,
}

impl PlanKind {
    /// JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Nothing => "nothing",
            PlanKind::Fix => "fix",
            PlanKind::Tail => "tail",
            PlanKind::Truncate => "truncate",
            PlanKind::Rebuild => "rebuild",
            PlanKind::Rejoin => "rejoin",
            PlanKind::DbRebuild => "db_rebuild",
            PlanKind::DbRevertMeta => "db_revert_meta",
            PlanKind::Impossible => "impossible",
        }
    }
}

/// One file operation of a plan (paths absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "op", rename_all = "snake_case"))]
pub enum FileChange {
    /// Keep the first `to_size` bytes.
    Truncate {
        /// The file.
        path: PathBuf,
        /// Size now.
        from_size: u64,
        /// Size after.
        to_size: u64,
    },
    /// Change one byte.
    Patch {
        /// The file.
        path: PathBuf,
        /// Its size (unchanged).
        size: u64,
        /// Byte offset.
        offset: u64,
        /// Byte now.
        old: u8,
        /// Byte after.
        new: u8,
    },
    /// Replace `old.len()` bytes at `offset` (a bolt meta page reverted: more than one
    /// byte, the file's size unchanged).
    Overwrite {
        /// The file.
        path: PathBuf,
        /// Its size (unchanged).
        size: u64,
        /// Byte offset.
        offset: u64,
        /// The bytes now (lower-case hex in JSON).
        #[cfg_attr(feature = "serde", serde(serialize_with = "hex_bytes"))]
        old: Vec<u8>,
        /// The bytes after (lower-case hex in JSON).
        #[cfg_attr(feature = "serde", serde(serialize_with = "hex_bytes"))]
        new: Vec<u8>,
        /// What the bytes are, for people ("meta page 1").
        what: String,
    },
    /// Remove the file.
    Remove {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// Create a file from the first `size` bytes of another one (or replace one that is
    /// also listed as removed): a db taken from a `snapshot save` file (its SHA-256 trailer
    /// left out) or from a peer.
    CopyFrom {
        /// The file.
        path: PathBuf,
        /// The file copied.
        from: PathBuf,
        /// Bytes copied (its size after).
        size: u64,
    },
    /// Create a new file (or replace one that is also listed as removed).
    Create {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// CRC-32C of its contents.
        crc32c: u32,
        /// The contents.
        #[cfg_attr(feature = "serde", serde(skip))]
        bytes: Vec<u8>,
    },
}

#[cfg(feature = "serde")]
fn hex_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    s.serialize_str(&out)
}

impl FileChange {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileChange::Truncate { path, .. }
            | FileChange::Patch { path, .. }
            | FileChange::Overwrite { path, .. }
            | FileChange::CopyFrom { path, .. }
            | FileChange::Remove { path, .. }
            | FileChange::Create { path, .. } => path,
        }
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            FileChange::Truncate {
                path,
                from_size,
                to_size,
            } => format!(
                "truncate {} from {from_size} to {to_size} bytes",
                path.display()
            ),
            FileChange::Patch {
                path,
                offset,
                old,
                new,
                ..
            } => format!(
                "change byte {offset} of {} from {old:#04x} to {new:#04x}",
                path.display()
            ),
            FileChange::Overwrite {
                path,
                offset,
                new,
                what,
                ..
            } => format!(
                "overwrite {what} of {}: {} bytes at {offset}",
                path.display(),
                new.len()
            ),
            FileChange::Remove { path, size } => {
                format!("remove {} ({size} bytes)", path.display())
            }
            FileChange::CopyFrom { path, from, size } => format!(
                "create {} from the first {size} bytes of {}",
                path.display(),
                from.display()
            ),
            FileChange::Create { path, size, .. } => {
                format!("create {} ({size} bytes)", path.display())
            }
        }
    }
}

/// What a plan drops, and what that costs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Dropped {
    /// Records dropped (any type).
    pub records: u64,
    /// Entry records dropped.
    pub entries: u64,
    /// Smallest dropped entry index.
    pub first_index: Option<u64>,
    /// Largest dropped entry index.
    pub last_index: Option<u64>,
    /// Dropped entries committed per the last HardState.
    pub committed: u64,
    /// Dropped entries the db already holds (index ≤ consistent index).
    pub in_db: u64,
    /// Dropped entries neither in the db nor kept: lost.
    pub lost: u64,
    /// Lost entries that were committed.
    pub lost_committed: u64,
    /// Indexes known to exist (a damaged record's header names them) but unreadable.
    pub unreadable_indexes: Vec<u64>,
    /// Keys touched by the lost entries (from their payloads).
    pub keys: Vec<KeyRange>,
    /// Whether `keys` was cut at its limit.
    pub keys_truncated: bool,
}

/// What the repaired log holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Kept {
    /// Last raft index in the log after the repair.
    pub last_index: u64,
    /// Snapshot record the rebuilt WAL starts from.
    pub snapshot: Option<RaftPos>,
    /// HardState after the repair.
    pub hard_state: Option<KeptHardState>,
    /// The db's consistent index (the log must reach it).
    pub db_consistent_index: Option<u64>,
}

/// The HardState a repaired log ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeptHardState {
    /// Term.
    pub term: u64,
    /// Vote (a member ID; 16 hex digits in JSON).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub vote: u64,
    /// Commit index.
    pub commit: u64,
}

impl From<crate::scan::HardStateAt> for KeptHardState {
    fn from(h: crate::scan::HardStateAt) -> Self {
        KeptHardState {
            term: h.term,
            vote: h.vote,
            commit: h.commit,
        }
    }
}

/// A repair plan: computed read-only, carried out by [`apply()`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RepairPlan {
    /// Which plan.
    pub kind: PlanKind,
    /// One line.
    pub summary: String,
    /// Why this plan and not a gentler one.
    pub reasons: Vec<String>,
    /// The first damage (what the plan repairs). Not serialized: the member-level layer
    /// writes findings in their one JSON shape.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub damage: Option<Finding>,
    /// What etcd does on this WAL now.
    pub etcd_now: String,
    /// File operations, in the order `apply` stages them.
    pub changes: Vec<FileChange>,
    /// What the plan drops.
    pub dropped: Dropped,
    /// Whether applying it loses committed data (needs `--allow-data-loss`).
    pub loses_committed_data: bool,
    /// What the repaired log holds.
    pub kept: Kept,
    /// The member belongs to a cluster of more than one voter: removing it and adding it
    /// back (a rejoin) is offered beside any local fix, and is the plan for `rejoin`. The
    /// steps need the cluster's names and URLs, which the member-level layer supplies.
    pub rejoin_offered: bool,
    /// The WAL dir.
    pub wal_dir: PathBuf,
    /// The data dir.
    pub data_dir: PathBuf,
    /// Leftovers of an interrupted apply found in the data dir (cleaned by the next apply).
    pub leftovers: Vec<PathBuf>,
}

impl RepairPlan {
    /// Whether applying it changes any file.
    pub fn writes(&self) -> bool {
        !self.changes.is_empty()
    }
}

//! The inspection as JSON: the `summary` object `verify --json` prints last, and the whole
//! [`Inspection`] (summary fields, then `findings` and `notes`).
//!
//! Every ID (member, cluster, vote) is a string of 16 hex digits; CRCs are 8 hex digits;
//! no number exceeds 2^53 − 1.

use etcd_proto::RaftPos;
use etcd_proto::json::ser::{hex_id, opt_hex_id};
use etcd_wal::predict::TailRepair;
use etcd_wal::scan::{HardStateAt, SegmentEnd};
use serde::Serialize;
use serde::ser::SerializeMap as _;

use crate::crosscheck::{History, ValueReport};
use crate::inspect::Inspection;
use crate::live::Holder;

/// A HardState as JSON.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HardStateJson {
    /// Term.
    pub term: u64,
    /// Vote.
    #[serde(serialize_with = "hex_id")]
    pub vote: u64,
    /// Commit index.
    pub commit: u64,
}

impl From<HardStateAt> for HardStateJson {
    fn from(h: HardStateAt) -> Self {
        HardStateJson {
            term: h.term,
            vote: h.vote,
            commit: h.commit,
        }
    }
}

/// The wedge: where the log ends and what the db has applied.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Wedge {
    /// Last index of the log etcd keeps.
    pub log_ends_at: Option<u64>,
    /// The consistent index etcd starts with.
    pub db_consistent_index: Option<u64>,
}

/// What lies beyond the first WAL damage.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BeyondJson {
    /// Records read after the damaged one.
    pub records: u64,
    /// Entries among them.
    pub entries: u64,
    /// Smallest entry index.
    pub first_index: Option<u64>,
    /// Largest entry index.
    pub last_index: Option<u64>,
    /// Entries among them that the last HardState commits.
    pub committed_entries: u64,
    /// Whether the CRC chain verifies again after the damage.
    pub chain_resynchronised: bool,
    /// Whether everything after the first damage verifies.
    pub intact: bool,
}

/// A WAL snapshot record as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRecordJson {
    /// Index.
    pub index: u64,
    /// Term.
    pub term: u64,
    /// Whether it carries a ConfState.
    pub conf_state: bool,
    /// Its segment, relative as findings name files.
    pub file: String,
    /// Byte offset of its record.
    pub offset: u64,
}

/// One segment as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentJson {
    /// The file, relative as findings name files.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Records read.
    pub records: u64,
    /// Entries read.
    pub entries: u64,
    /// Smallest index.
    pub first_index: Option<u64>,
    /// Largest index.
    pub last_index: Option<u64>,
    /// End of the last good record before damage.
    pub valid_offset: u64,
    /// How the records end.
    pub end: SegmentEnd,
}

/// A live process holding a file.
#[derive(Debug, Clone, Serialize)]
pub struct LiveJson {
    /// The file, relative as findings name files.
    pub file: String,
    /// Lock kind.
    pub lock: String,
    /// PIDs.
    pub pids: Vec<u32>,
}

/// The `value_check` object (with `check_values`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ValueCheckJson<'a> {
    /// It ran.
    Performed {
        /// Always true.
        performed: bool,
        /// Complete or partial history.
        history: History,
        /// The db's consistent index.
        consistent_index: u64,
        /// First WAL index replayed.
        first_index: Option<u64>,
        /// Entries replayed.
        entries_replayed: u64,
        /// Keys checked.
        keys_checked: u64,
        /// Keys whose outcome the WAL alone does not determine.
        keys_not_checkable: u64,
        /// Keys whose db record differs.
        keys_mismatched: u64,
        /// Revision records compared one by one (complete history only).
        revisions_checked: u64,
        /// Older revision records that differ.
        revisions_mismatched: u64,
        /// Remarks.
        notes: &'a [String],
    },
    /// It could not run.
    NotPerformed {
        /// Always false.
        performed: bool,
        /// Why.
        reason: &'a str,
    },
}

impl<'a> ValueCheckJson<'a> {
    fn of(v: &'a Result<ValueReport, String>) -> ValueCheckJson<'a> {
        match v {
            Ok(r) => ValueCheckJson::Performed {
                performed: true,
                history: r.history,
                consistent_index: r.consistent_index,
                first_index: r.first_index,
                entries_replayed: r.entries_replayed,
                keys_checked: r.keys_checked,
                keys_not_checkable: r.keys_not_checkable,
                keys_mismatched: r.keys_mismatched,
                revisions_checked: r.revisions_checked,
                revisions_mismatched: r.revisions_mismatched,
                notes: &r.notes,
            },
            Err(reason) => ValueCheckJson::NotPerformed {
                performed: false,
                reason,
            },
        }
    }
}

/// The summary of an [`Inspection`]: what `verify --json` prints on its last line (with
/// `"type": "summary"`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary<'a> {
    /// What etcd does on start: `starts`, `repairs_tail`, `refuses`.
    pub etcd_outcome: etcd_wal::predict::Outcome,
    /// The error etcd exits with or repairs.
    pub etcd_error: Option<&'a str>,
    /// etcd's log line for a refusal.
    pub etcd_log_message: Option<&'a str>,
    /// The release line that wrote the data, as far as it tells (see
    /// [`crate::release::detect_line`]).
    pub release: String,
    /// Where later releases behave differently.
    pub later_releases: Option<&'a str>,
    /// The release whose rules the verdict follows: the one asked for, else the rig's
    /// release of the line that wrote the data (null when the data cannot tell).
    pub etcd_version: Option<crate::release::EtcdVersion>,
    /// Without `--etcd-version`: what each release of the test rig does with the same
    /// bytes (`[{"release", "etcd_outcome", "etcd_error", "wedged"}]`).
    pub by_release: &'a [crate::inspect::ReleaseVerdict],
    /// Starts, but every write times out.
    pub wedged: bool,
    /// The wedge's numbers.
    pub wedge: Option<Wedge>,
    /// Which step of etcd's start decides.
    pub decided_by: crate::boot::DecidedBy,
    /// etcd's own tail repair.
    pub repair: Option<&'a TailRepair>,
    /// The snapshot etcd replays from.
    pub start_snapshot: RaftPos,
    /// Last index etcd's log holds after start.
    pub last_index_after_start: Option<u64>,
    /// Number of findings.
    pub findings: usize,
    /// Member ID (WAL metadata).
    #[serde(serialize_with = "opt_hex_id")]
    pub member_id: Option<u64>,
    /// Cluster ID (WAL metadata).
    #[serde(serialize_with = "opt_hex_id")]
    pub cluster_id: Option<u64>,
    /// Records read.
    pub records: u64,
    /// Entries read.
    pub entries: u64,
    /// Largest index read.
    pub last_index: Option<u64>,
    /// Last entry before the first damage.
    pub last_entry_before_damage: Option<RaftPos>,
    /// The HardState etcd reads (the last before the damage).
    pub hard_state: Option<HardStateJson>,
    /// The last HardState anywhere in the WAL.
    pub last_hard_state: Option<HardStateJson>,
    /// What lies beyond the first damage.
    pub beyond_damage: Option<BeyondJson>,
    /// The WAL's snapshot records.
    pub snapshot_records: Vec<SnapshotRecordJson>,
    /// The `.snap` etcd loads.
    pub snap_picked: Option<&'a str>,
    /// `.snap` files etcd renames `.broken`.
    pub snap_would_rename_broken: Option<&'a [String]>,
    /// The db's consistent index.
    pub db_consistent_index: Option<u64>,
    /// The db's term.
    pub db_term: Option<u64>,
    /// The db's size in bytes.
    pub db_size: Option<u64>,
    /// Per segment.
    pub segments: Vec<SegmentJson>,
    /// Live processes holding files.
    pub live_etcd: Vec<LiveJson>,
    /// With `check_values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_check: Option<ValueCheckJson<'a>>,
}

impl Inspection {
    /// The summary, for JSON.
    pub fn summary(&self) -> Summary<'_> {
        let s = &self.scan;
        let p = &self.prediction;
        let b = &self.boot;
        let dir = &self.dir;
        let rel_seg = |name: String| dir.relative(&dir.wal.join(name));
        let db = self.db();
        let snap = self.member.as_ref().and_then(|m| m.snap.as_ref().ok());
        let outcome_starts = b.outcome != etcd_wal::predict::Outcome::Refuses;
        Summary {
            etcd_outcome: b.outcome,
            etcd_error: b.etcd_error.as_deref(),
            etcd_log_message: b.etcd_message.as_deref(),
            release: crate::release::detect_line(self),
            later_releases: p.later_releases.as_deref(),
            etcd_version: self.etcd_version,
            by_release: &self.by_release,
            wedged: b.wedged,
            wedge: b.wedged.then_some(Wedge {
                log_ends_at: p.last_index_after_start,
                db_consistent_index: b.consistent_index,
            }),
            decided_by: b.decided_by,
            repair: p
                .repair
                .as_ref()
                .filter(|_| outcome_starts || b.repaired_first),
            start_snapshot: p.start_snapshot,
            last_index_after_start: p.last_index_after_start.filter(|_| outcome_starts),
            findings: self.findings.len(),
            member_id: s.metadata.as_ref().map(|m| m.node_id),
            cluster_id: s.metadata.as_ref().map(|m| m.cluster_id),
            records: s.records,
            entries: s.entries,
            last_index: s.last_index(),
            last_entry_before_damage: s.last_entry_before_damage,
            hard_state: s.hard_state.map(HardStateJson::from),
            last_hard_state: s.last_hard_state.map(HardStateJson::from),
            beyond_damage: s.beyond.map(|bd| BeyondJson {
                records: bd.records,
                entries: bd.entries,
                first_index: bd.first_index,
                last_index: bd.last_index,
                committed_entries: s.committed_beyond_damage().unwrap_or(0),
                chain_resynchronised: bd.resynchronised,
                intact: bd.intact,
            }),
            snapshot_records: s
                .snapshots
                .iter()
                .map(|r| SnapshotRecordJson {
                    index: r.pos.index,
                    term: r.pos.term,
                    conf_state: r.has_conf_state,
                    file: rel_seg(r.at.file_name()),
                    offset: r.at.offset,
                })
                .collect(),
            snap_picked: snap.and_then(|d| d.picked.as_deref()),
            snap_would_rename_broken: snap.map(|d| d.would_rename_broken.as_slice()),
            db_consistent_index: db.and_then(|d| d.meta.consistent_index),
            db_term: db.and_then(|d| d.meta.term),
            db_size: db.map(|d| d.file_size),
            segments: s
                .segments
                .iter()
                .map(|g| SegmentJson {
                    file: rel_seg(g.file.clone()),
                    size: g.size,
                    records: g.records,
                    entries: g.entries,
                    first_index: g.first_index,
                    last_index: g.last_index,
                    valid_offset: g.valid_offset,
                    end: g.end,
                })
                .collect(),
            live_etcd: self
                .holders
                .iter()
                .map(|h: &Holder| LiveJson {
                    file: dir.relative(&h.file),
                    lock: h.lock.clone(),
                    pids: h.pids.clone(),
                })
                .collect(),
            value_check: self.values.as_ref().map(ValueCheckJson::of),
        }
    }
}

/// The whole inspection: the summary's fields, then `findings` (each object as on a
/// `verify --json` finding line) and `notes`.
impl Serialize for Inspection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let summary = serde_json::to_value(self.summary()).map_err(serde::ser::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let serde_json::Value::Object(o) = summary {
            // (The summary's `findings` count gives way to the findings themselves.)
            for (k, v) in o.iter().filter(|(k, _)| k.as_str() != "findings") {
                m.serialize_entry(k, v)?;
            }
        }
        m.serialize_entry("findings", &self.findings)?;
        m.serialize_entry("notes", &self.notes)?;
        m.end()
    }
}

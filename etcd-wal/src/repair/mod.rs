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
//! [`apply`] is the only code in this crate that writes to existing files: it backs up
//! every file it changes or removes into a dated folder, stages the new state beside the
//! old one (hard links for unchanged files) and swaps it in with one atomic directory
//! exchange, fsyncing files and directories. Interrupted at any point, the data dir is
//! either as before or as planned. [`undo`] puts the newest backup back the same way.

pub mod apply;
pub mod fix;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::finding::{Finding, FindingKind};
use crate::payload::{self, KeyRange};
use crate::pb::raftpb::{ConfState, HardState};
use crate::predict::{self, Context, Outcome};
use crate::reader::SegmentReader;
use crate::record::{self, Record, RecordType};
use crate::scan::{self, Event, RecordStatus, Scan};
use crate::segment::SegmentName;
use crate::writer::{SEGMENT_SIZE, SegmentBuilder};

pub use apply::{Applied, ApplyOptions, RepairError, apply, undo};

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

/// A cluster member as the data records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberInfo {
    /// Member ID (`%x` in etcdctl).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Peer URLs.
    pub peer_urls: Vec<String>,
    /// Client URLs.
    pub client_urls: Vec<String>,
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
    /// `(term, index)` of every readable `.snap` (for etcd's start prediction).
    pub snap_files: Option<Vec<(u64, u64)>>,
    /// The newest valid `.snap`, for a rebuild.
    pub snap: Option<SnapSource>,
    /// Voting members (1 for a single-member cluster), when known.
    pub voters: Option<usize>,
    /// This member and every member of its cluster, when known (for the rejoin steps).
    pub this_member: Option<MemberInfo>,
    /// Every member of the cluster (including this one).
    pub members: Vec<MemberInfo>,
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
    /// Remove the file.
    Remove {
        /// The file.
        path: PathBuf,
        /// Its size.
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

impl FileChange {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileChange::Truncate { path, .. }
            | FileChange::Patch { path, .. }
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
            FileChange::Remove { path, size } => {
                format!("remove {} ({size} bytes)", path.display())
            }
            FileChange::Create { path, size, .. } => {
                format!("create {} ({size} bytes)", path.display())
            }
        }
    }
}

/// A step for the operator (or a test) to carry out against the running cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "op", rename_all = "snake_case"))]
pub enum ManualStep {
    /// Run `etcdctl` (with `--endpoints` of a healthy member) with these arguments.
    Etcdctl {
        /// Arguments after `etcdctl`.
        args: Vec<String>,
        /// What it does.
        why: String,
    },
    /// Move the data dir aside (keep it).
    MoveAside {
        /// The data dir.
        from: PathBuf,
        /// Where to.
        to: PathBuf,
    },
    /// Start etcd with these flags (plus the usual listen URLs).
    Start {
        /// Flags.
        flags: Vec<String>,
        /// What it does.
        why: String,
    },
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
    /// Snapshot record `(index, term)` the rebuilt WAL starts from.
    pub snapshot: Option<(u64, u64)>,
    /// HardState after the repair.
    pub hard_state: Option<(u64, u64, u64)>,
    /// The db's consistent index (the log must reach it).
    pub db_consistent_index: Option<u64>,
}

/// A repair plan: computed read-only, carried out by [`apply`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RepairPlan {
    /// Which plan.
    pub kind: PlanKind,
    /// One line.
    pub summary: String,
    /// Why this plan and not a gentler one.
    pub reasons: Vec<String>,
    /// The first damage (what the plan repairs).
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
    /// For a member of a multi-member cluster: the safe alternative (the primary plan for
    /// `rejoin`).
    pub cluster_steps: Vec<ManualStep>,
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

/// One entry as the pass saw it.
#[derive(Debug, Clone, Copy)]
struct EntryAt {
    pos: usize,
    offset: u64,
    index: u64,
    term: u64,
    trusted: bool,
}

/// What the pass collects for planning.
#[derive(Debug, Default)]
struct Collected {
    entries: Vec<EntryAt>,
    /// Raw entry data (walpb data field) by position, for trusted entries above the floor.
    beyond: Vec<(EntryAt, Vec<u8>)>,
    beyond_bytes: usize,
    /// Keys of every entry after the first finding, by index (bounded).
    keys_after_damage: Vec<(u64, u64, Vec<KeyRange>)>,
    /// The running CRC before the first damaged record, and that record's place.
    fix_site: Option<FixSite>,
    last_stored: u32,
    seen_damage: bool,
    /// (segment position, offset) of every record.
    records: Vec<(usize, u64)>,
}

#[derive(Debug, Clone)]
struct FixSite {
    pos: usize,
    offset: u64,
    prev_crc: u32,
    stored: u32,
    raw_type: i64,
}

fn collect(wal_dir: &Path, floor: u64) -> Result<(Scan, Collected), Error> {
    let mut c = Collected::default();
    let scan = scan::scan_dir_with(wal_dir, &mut |ev| match ev {
        Event::SegmentStart { .. } => {}
        Event::Finding(_) => c.seen_damage = true,
        Event::Record(r) => {
            if r.status == RecordStatus::CrcMismatch && c.fix_site.is_none() {
                c.fix_site = Some(FixSite {
                    pos: r.segment_pos,
                    offset: r.offset,
                    prev_crc: c.last_stored,
                    stored: r.record.crc,
                    raw_type: r.record.raw_type,
                });
            }
            c.last_stored = r.record.crc;
            c.records.push((r.segment_pos, r.offset));
            let Some(e) = r
                .entry
                .filter(|_| r.record.record_type() == Some(RecordType::Entry))
            else {
                return;
            };
            let trusted = matches!(
                r.status,
                RecordStatus::Verified | RecordStatus::AfterDamageVerified
            );
            let at = EntryAt {
                pos: r.segment_pos,
                offset: r.offset,
                index: e.index,
                term: e.term,
                trusted,
            };
            c.entries.push(at);
            if trusted && e.index > floor && c.beyond_bytes <= MAX_REBUILD_BYTES {
                c.beyond_bytes += r.record.data.len();
                c.beyond.push((at, r.record.data.to_vec()));
            }
            if c.seen_damage && c.keys_after_damage.len() < 1_000_000 {
                let keys = payload::decode_entry(e.entry_type, e.data).keys();
                c.keys_after_damage
                    .push((r.segment_pos as u64, r.offset, keys));
            }
        }
    })?;
    Ok((scan, c))
}

/// Where a finding makes us cut: (segment position, byte offset).
fn cut_of(f: &Finding) -> (usize, u64) {
    (f.segment_pos, f.offset.unwrap_or(0))
}

fn before(e: &EntryAt, cut: (usize, u64)) -> bool {
    (e.pos, e.offset) < cut
}

/// Compute the plan (read-only: nothing is written, locked or renamed).
pub fn plan(input: &RepairInput) -> Result<RepairPlan, Error> {
    let ci = input.db.as_ref().map(|d| d.consistent_index);
    let (scan, c) = collect(&input.wal_dir, ci.unwrap_or(u64::MAX))?;
    let ctx = Context {
        snap_files: input.snap_files.clone(),
        db_consistent_index: ci,
        voters: input.voters,
    };
    let prediction = predict::predict(&scan, &ctx);
    let etcd_now = match prediction.outcome {
        Outcome::Starts if prediction.wedged => {
            "starts, but its log ends below the db's consistent index: every write times out"
                .to_string()
        }
        Outcome::Starts => "starts".to_string(),
        Outcome::RepairsTail => format!(
            "repairs its tail ({}) and starts{}",
            prediction.etcd_error.as_deref().unwrap_or("unexpected EOF"),
            if prediction.wedged {
                ", but wedged: the log ends below the db's consistent index"
            } else {
                ""
            }
        ),
        Outcome::Refuses => format!(
            "refuses to start: {}",
            prediction.etcd_error.as_deref().unwrap_or("?")
        ),
    };
    let mut p = RepairPlan {
        kind: PlanKind::Nothing,
        summary: String::new(),
        reasons: Vec::new(),
        damage: scan.findings.first().cloned(),
        etcd_now,
        changes: Vec::new(),
        dropped: Dropped::default(),
        loses_committed_data: false,
        kept: Kept {
            db_consistent_index: ci,
            ..Kept::default()
        },
        cluster_steps: Vec::new(),
        wal_dir: input.wal_dir.clone(),
        data_dir: input.data_dir.clone(),
        leftovers: apply::leftovers(&input.data_dir, &input.wal_dir),
    };
    let last_index_all = scan
        .segments
        .iter()
        .filter_map(|s| s.last_index)
        .max()
        .unwrap_or(0);
    let Some(first) = scan.findings.first().cloned() else {
        p.kept.last_index = last_index_all;
        if prediction.wedged {
            // No damage, but the log ends below the db: only a rebuild helps.
            return rebuild(input, &scan, &c, p, (scan.segments.len(), 0));
        }
        p.summary = "nothing to repair: every record verifies".into();
        return Ok(p);
    };

    // 1. fix: one damaged byte.
    match try_fix(&scan, &c) {
        Ok(change) => {
            p.kind = PlanKind::Fix;
            p.kept.last_index = last_index_all;
            p.kept.hard_state = scan.last_hard_state.map(|h| (h.term, h.vote, h.commit));
            p.summary = format!(
                "fix: {}; the record's CRC then matches and every following record verifies; nothing is lost",
                change.describe()
            );
            p.changes.push(change);
            cluster_guard(input, &mut p);
            return Ok(p);
        }
        Err(why) => p.reasons.push(format!("fix not possible: {why}")),
    }

    // 2. cut at the first damage.
    let cut = match &prediction.repair {
        Some(r) if prediction.outcome == Outcome::RepairsTail => {
            let pos = scan.dir.segments.len().saturating_sub(1);
            (pos, r.truncate_at)
        }
        _ => cut_of(&first),
    };
    let kept_last = c
        .entries
        .iter()
        .rfind(|e| before(e, cut))
        .map_or(0, |e| e.index);
    if let Some(ci) = ci {
        if kept_last < ci {
            p.reasons.push(format!(
                "cutting at the first damage keeps the log up to index {kept_last}, below the db's \
                 consistent index {ci}: etcd would start but time out on every write"
            ));
            return rebuild(input, &scan, &c, p, cut);
        }
    } else {
        p.reasons
            .push("the db's consistent index is unknown: cannot check the cut against it".into());
    }
    account(&mut p, &scan, &c, cut, ci, kept_last);
    p.kept.last_index = kept_last;
    p.kept.hard_state = kept_hard_state(&scan, cut).map(|h| (h.term, h.vote, h.commit));
    p.changes = cut_changes(&scan, cut);
    p.kind = if prediction.outcome == Outcome::RepairsTail {
        PlanKind::Tail
    } else {
        PlanKind::Truncate
    };
    p.summary = format!(
        "{}: cut {} at byte {}{}; the log keeps entries up to index {kept_last}; {} entries dropped ({} already in the db, {} lost, {} of them committed)",
        p.kind.as_str(),
        scan.segments
            .get(cut.0)
            .map_or("?".to_string(), |s| s.file.clone()),
        cut.1,
        if cut.0 + 1 < scan.segments.len() {
            format!(
                " and drop {} later segment(s)",
                scan.segments.len() - cut.0 - 1
            )
        } else {
            String::new()
        },
        p.dropped.entries,
        p.dropped.in_db,
        p.dropped.lost,
        p.dropped.lost_committed
    );
    cluster_guard(input, &mut p);
    Ok(p)
}

/// For a member of a multi-member cluster: the rejoin steps, and when the plan drops
/// entries the member may have acknowledged, rejoin becomes the plan.
fn cluster_guard(input: &RepairInput, p: &mut RepairPlan) {
    if input.voters.is_none_or(|v| v <= 1) {
        return;
    }
    p.cluster_steps = rejoin_steps(input);
    if p.dropped.lost > 0 {
        p.reasons.push(format!(
            "this member belongs to a {}-member cluster and the plan drops {} entries it may have \
             acknowledged: the leader would later send a commit index beyond its log and etcd \
             panics (tocommit(X) is out of range [lastIndex(Y)]); remove and re-add it instead",
            input.voters.unwrap_or(0),
            p.dropped.lost
        ));
        p.kind = PlanKind::Rejoin;
        p.changes.clear();
        p.summary = "rejoin: remove this member from the cluster and add it back with an empty data dir (steps below)".into();
        p.loses_committed_data = false;
    }
}

fn rejoin_steps(input: &RepairInput) -> Vec<ManualStep> {
    let Some(me) = &input.this_member else {
        return Vec::new();
    };
    let id = format!("{:x}", me.id);
    let peers = me.peer_urls.join(",");
    let mut initial: Vec<String> = Vec::new();
    for m in &input.members {
        for u in &m.peer_urls {
            initial.push(format!("{}={u}", m.name));
        }
    }
    let aside = {
        let mut s = input.data_dir.clone().into_os_string();
        s.push(format!(".removed-{id}"));
        PathBuf::from(s)
    };
    let mut flags = vec![
        "--name".to_string(),
        me.name.clone(),
        "--data-dir".to_string(),
        input.data_dir.display().to_string(),
        "--initial-advertise-peer-urls".to_string(),
        peers.clone(),
        "--initial-cluster".to_string(),
        initial.join(","),
        "--initial-cluster-state".to_string(),
        "existing".to_string(),
    ];
    // A dedicated WAL dir (etcd's `--wal-dir`) goes aside too: etcd would otherwise start
    // on the old WAL beside the empty data dir.
    let wal_aside = (!input.wal_dir.starts_with(&input.data_dir)).then(|| {
        flags.push("--wal-dir".into());
        flags.push(input.wal_dir.display().to_string());
        let mut s = input.wal_dir.clone().into_os_string();
        s.push(format!(".removed-{id}"));
        ManualStep::MoveAside {
            from: input.wal_dir.clone(),
            to: PathBuf::from(s),
        }
    });
    if !me.client_urls.is_empty() {
        flags.push("--advertise-client-urls".into());
        flags.push(me.client_urls.join(","));
    }
    let mut steps = vec![
        ManualStep::Etcdctl {
            args: vec!["member".into(), "remove".into(), id.clone()],
            why: format!("on a healthy member: remove this member ({id}) from the cluster"),
        },
        ManualStep::Etcdctl {
            args: vec![
                "member".into(),
                "add".into(),
                me.name.clone(),
                format!("--peer-urls={peers}"),
            ],
            why: "add it back as a new member with the same name and peer URLs".into(),
        },
        ManualStep::MoveAside {
            from: input.data_dir.clone(),
            to: aside,
        },
    ];
    steps.extend(wal_aside);
    steps.push(ManualStep::Start {
        flags,
        why: "start it with an empty data dir; it receives a snapshot from the leader".into(),
    });
    steps
}

fn kept_hard_state(scan: &Scan, cut: (usize, u64)) -> Option<crate::scan::HardStateAt> {
    // The last HardState before the cut: the scan keeps only the last one before the first
    // damage, which is the one before the cut whenever the cut is the first damage.
    scan.hard_state.filter(|h| (h.segment_pos, h.offset) < cut)
}

fn account(
    p: &mut RepairPlan,
    scan: &Scan,
    c: &Collected,
    cut: (usize, u64),
    ci: Option<u64>,
    kept_last: u64,
) {
    let commit = scan.last_hard_state.map_or(0, |h| h.commit);
    let mut d = Dropped {
        records: c.records.iter().filter(|&&r| r >= cut).count() as u64,
        ..Dropped::default()
    };
    let mut lost_at: BTreeSet<(u64, u64)> = BTreeSet::new();
    for e in c.entries.iter().filter(|e| !before(e, cut)) {
        d.entries += 1;
        d.first_index = Some(d.first_index.map_or(e.index, |f| f.min(e.index)));
        d.last_index = Some(d.last_index.map_or(e.index, |l| l.max(e.index)));
        if e.index <= commit {
            d.committed += 1;
        }
        if ci.is_some_and(|ci| e.index <= ci) {
            d.in_db += 1;
        } else if e.index > kept_last {
            d.lost += 1;
            if e.index <= commit {
                d.lost_committed += 1;
            }
            lost_at.insert((e.pos as u64, e.offset));
        }
    }
    for f in &scan.findings {
        if let Some(i) = f.index {
            if ci.is_none_or(|ci| i > ci) && !d.unreadable_indexes.contains(&i) {
                d.unreadable_indexes.push(i);
            }
        }
    }
    let mut keys: BTreeSet<KeyRange> = BTreeSet::new();
    for (pos, off, ks) in &c.keys_after_damage {
        if lost_at.contains(&(*pos, *off)) {
            for k in ks {
                if keys.len() >= MAX_KEYS {
                    d.keys_truncated = true;
                    break;
                }
                keys.insert(k.clone());
            }
        }
    }
    d.keys = keys.into_iter().collect();
    p.loses_committed_data = d.lost_committed > 0
        || d.unreadable_indexes
            .iter()
            .any(|&i| i <= commit && i > kept_last);
    p.dropped = d;
}

/// The file operations of a cut: truncate the cut segment, remove every later one.
fn cut_changes(scan: &Scan, cut: (usize, u64)) -> Vec<FileChange> {
    let mut out = Vec::new();
    for (pos, seg) in scan.dir.segments.iter().enumerate() {
        if pos == cut.0 {
            if cut.1 == 0 && pos > 0 {
                out.push(FileChange::Remove {
                    path: seg.path.clone(),
                    size: seg.size,
                });
            } else if seg.size != cut.1 {
                out.push(FileChange::Truncate {
                    path: seg.path.clone(),
                    from_size: seg.size,
                    to_size: cut.1,
                });
            }
        } else if pos > cut.0 {
            out.push(FileChange::Remove {
                path: seg.path.clone(),
                size: seg.size,
            });
        }
    }
    out
}

/// A single-byte fix of the first damaged record, or why not.
fn try_fix(scan: &Scan, c: &Collected) -> Result<FileChange, String> {
    let [first] = scan.findings.as_slice() else {
        return Err(format!(
            "{} findings (a fix repairs exactly one damaged record)",
            scan.findings.len()
        ));
    };
    if first.kind != FindingKind::CrcMismatch {
        return Err(format!(
            "the damage is {}, not a CRC mismatch inside a record (a damaged length word lies outside the CRC)",
            first.kind
        ));
    }
    if !scan.beyond.is_some_and(|b| b.intact) {
        return Err("the records after the damage do not all verify".into());
    }
    let site = c
        .fix_site
        .as_ref()
        .filter(|s| s.pos == first.segment_pos && Some(s.offset) == first.offset)
        .ok_or("the damaged record could not be read back")?;
    let seg = scan.dir.segments.get(site.pos).ok_or("segment vanished")?;
    let mut r = SegmentReader::open(&seg.path).map_err(|e| e.to_string())?;
    let word = r.u64_le(site.offset).map_err(|e| e.to_string())?;
    let frame = crate::frame::Frame::decode(word);
    let rec_len = usize::try_from(frame.rec_len).map_err(|e| e.to_string())?;
    let rec_bytes = r
        .bytes(site.offset + 8, rec_len)
        .map_err(|e| e.to_string())?
        .to_vec();
    let rec = Record::decode(&rec_bytes).map_err(|e| e.to_string())?;
    if rec.crc != site.stored || rec.raw_type != site.raw_type {
        return Err("the damaged record changed while planning".into());
    }
    // data is the last field etcd writes: it ends the record.
    let data_start = rec_bytes.len().saturating_sub(rec.data.len());
    if rec_bytes.get(data_start..) != Some(rec.data) {
        return Err("the record's data field is not where etcd writes it".into());
    }
    let fixes = fix::single_byte_fixes(site.prev_crc, rec.data, site.stored, 2);
    let fx = match fixes.as_slice() {
        [] => {
            return Err(
                "no single changed byte explains the CRC mismatch (more than one byte is damaged)"
                    .into(),
            );
        }
        [one] => *one,
        _ => return Err("more than one single-byte change matches the CRC: ambiguous".into()),
    };
    let mut data = rec.data.to_vec();
    let old = *data.get(fx.pos).ok_or("fix position out of range")?;
    let new = old ^ fx.xor;
    if let Some(b) = data.get_mut(fx.pos) {
        *b = new;
    }
    // The fixed record must decode as its type.
    let decodes = match RecordType::from_raw(rec.raw_type) {
        Some(RecordType::Entry) => record::EntryRef::decode(&data).is_ok(),
        Some(RecordType::State) => record::decode_hard_state(&data).is_ok(),
        Some(RecordType::Snapshot) => record::decode_snapshot(&data).is_ok(),
        Some(RecordType::Metadata) => record::decode_metadata(&data).is_ok(),
        _ => false,
    };
    if !decodes {
        return Err("the only matching change leaves a record that does not decode".into());
    }
    if crate::crc::append(site.prev_crc, &data) != site.stored {
        return Err("internal: fix does not match".into());
    }
    let offset = site.offset + 8 + (data_start + fx.pos) as u64;
    Ok(FileChange::Patch {
        path: seg.path.clone(),
        size: seg.size,
        offset,
        old,
        new,
    })
}

/// Rebuild the WAL from the db's consistent index on.
fn rebuild(
    input: &RepairInput,
    scan: &Scan,
    c: &Collected,
    mut p: RepairPlan,
    cut: (usize, u64),
) -> Result<RepairPlan, Error> {
    let impossible = |mut p: RepairPlan, why: String| {
        p.kind = PlanKind::Impossible;
        p.summary = format!("nothing can be done here: {why}");
        p.reasons.push(why);
        Ok(p)
    };
    let Some(db) = &input.db else {
        return impossible(p, "no db to rebuild from".into());
    };
    let ci = db.consistent_index;
    let Some(meta) = &scan.metadata else {
        return impossible(
            p,
            "no readable WAL metadata record (member and cluster ID)".into(),
        );
    };
    let Some(snap_dir) = &input.snap_dir else {
        return impossible(p, "no snap directory".into());
    };
    let Some(snap) = &input.snap else {
        return impossible(
            p,
            "no valid .snap file whose membership data (v2 store) a new .snap could reuse".into(),
        );
    };
    if c.beyond_bytes > MAX_REBUILD_BYTES {
        return impossible(
            p,
            "too many entries beyond the consistent index to rebuild in memory".into(),
        );
    }
    // Term at the consistent index: the db (3.5), else the WAL entry at that index, else a
    // bracket of verified entries around it, else the .snap if it sits exactly there.
    let term = db
        .term
        .or_else(|| {
            c.entries
                .iter()
                .rev()
                .find(|e| e.index == ci && e.trusted)
                .map(|e| e.term)
        })
        .or_else(|| {
            let below = c
                .entries
                .iter()
                .filter(|e| e.trusted && e.index <= ci)
                .map(|e| e.term)
                .max();
            let above = c
                .entries
                .iter()
                .filter(|e| e.trusted && e.index > ci)
                .map(|e| e.term)
                .min();
            match (below, above) {
                (Some(b), Some(a)) if a == b => Some(a),
                (Some(b), None) if c.entries.iter().all(|e| e.term <= b) => Some(b),
                _ => None,
            }
        })
        .or((snap.index == ci).then_some(snap.term));
    let Some(term) = term else {
        return impossible(p, format!("the term of index {ci} cannot be established"));
    };
    let conf_state = db
        .conf_state
        .clone()
        .unwrap_or_else(|| snap.conf_state.clone());
    // Entries beyond the consistent index, with ReadAll's replace semantics, contiguous
    // from ci + 1.
    let mut beyond: Vec<(u64, u64, &[u8])> = Vec::new();
    for (e, data) in &c.beyond {
        let Some(pos) = e.index.checked_sub(ci + 1) else {
            continue;
        };
        let pos = usize::try_from(pos).unwrap_or(usize::MAX);
        if pos > beyond.len() {
            break;
        }
        beyond.truncate(pos);
        beyond.push((e.index, e.term, data.as_slice()));
    }
    let last = beyond.last().map_or(ci, |&(i, _, _)| i);
    let last_term = beyond.last().map_or(term, |&(_, t, _)| t);
    let hs_src = scan.last_hard_state;
    let hs_term = hs_src.map_or(0, |h| h.term).max(last_term).max(term);
    let vote = hs_src.filter(|h| h.term == hs_term).map_or(0, |h| h.vote);
    let commit = hs_src.map_or(ci, |h| h.commit).clamp(ci, last);
    let hs = HardState {
        term: hs_term,
        vote,
        commit,
    };
    let with_conf = db.conf_state.is_some() || scan.snapshots.iter().any(|s| s.has_conf_state);
    let mut b = SegmentBuilder::new(0);
    b.metadata(meta.node_id, meta.cluster_id);
    b.snapshot(ci, term, with_conf.then_some(&conf_state));
    for (_, _, data) in &beyond {
        b.push(RecordType::Entry, data);
    }
    b.hard_state(&hs);
    let seg_bytes = b.finish(Some(SEGMENT_SIZE));
    let new_seg = input
        .wal_dir
        .join(SegmentName { seq: 0, index: 0 }.file_name());
    let raw_snap = etcd_proto::snap::encode_raft_snapshot(&snap.v2_json, &conf_state, ci, term);
    let snap_bytes = etcd_proto::snap::encode_snap_file(&raw_snap);
    let snap_path = snap_dir.join(etcd_proto::snap::snap_file_name(term, ci));

    // Accounting: everything in the old WAL after the snapshot is replaced; entries ≤ ci
    // are in the db, entries beyond `last` are lost.
    let commit_old = hs_src.map_or(0, |h| h.commit);
    let mut d = Dropped::default();
    let kept_set: BTreeSet<u64> = beyond.iter().map(|&(i, _, _)| i).collect();
    let mut lost_at: BTreeSet<(u64, u64)> = BTreeSet::new();
    for e in &c.entries {
        if kept_set.contains(&e.index) && e.index > ci {
            continue;
        }
        d.entries += 1;
        d.first_index = Some(d.first_index.map_or(e.index, |f| f.min(e.index)));
        d.last_index = Some(d.last_index.map_or(e.index, |l| l.max(e.index)));
        if e.index <= commit_old {
            d.committed += 1;
        }
        if e.index <= ci {
            d.in_db += 1;
        } else if e.index > last {
            d.lost += 1;
            if e.index <= commit_old {
                d.lost_committed += 1;
            }
            lost_at.insert((e.pos as u64, e.offset));
        }
    }
    for f in &scan.findings {
        if let Some(i) = f.index {
            if i > last && !d.unreadable_indexes.contains(&i) {
                d.unreadable_indexes.push(i);
            }
        }
    }
    let mut keys: BTreeSet<KeyRange> = BTreeSet::new();
    for (pos, off, ks) in &c.keys_after_damage {
        if lost_at.contains(&(*pos, *off)) {
            keys.extend(ks.iter().take(MAX_KEYS).cloned());
        }
    }
    d.keys_truncated = keys.len() > MAX_KEYS;
    d.keys = keys.into_iter().take(MAX_KEYS).collect();
    d.records = scan.records;
    p.loses_committed_data = d.lost_committed > 0
        || d.unreadable_indexes
            .iter()
            .any(|&i| i <= commit_old && i > last);
    p.dropped = d;
    let _ = cut;

    let mut changes = Vec::new();
    if !snap_path.exists() {
        changes.push(FileChange::Create {
            size: snap_bytes.len() as u64,
            crc32c: crate::crc::append(0, &snap_bytes),
            path: snap_path.clone(),
            bytes: snap_bytes,
        });
    }
    for seg in &scan.dir.segments {
        if seg.path != new_seg {
            changes.push(FileChange::Remove {
                path: seg.path.clone(),
                size: seg.size,
            });
        }
    }
    // The new first segment replaces the old one of the same name (backed up first).
    if let Some(old) = scan.dir.segments.iter().find(|s| s.path == new_seg) {
        changes.push(FileChange::Remove {
            path: old.path.clone(),
            size: old.size,
        });
    }
    changes.push(FileChange::Create {
        size: seg_bytes.len() as u64,
        crc32c: crate::crc::append(0, &seg_bytes),
        path: new_seg,
        bytes: seg_bytes,
    });
    p.changes = changes;
    p.kind = PlanKind::Rebuild;
    p.kept = Kept {
        last_index: last,
        snapshot: Some((ci, term)),
        hard_state: Some((hs.term, hs.vote, hs.commit)),
        db_consistent_index: Some(ci),
    };
    p.summary = format!(
        "rebuild: a new WAL for member {:x} of cluster {:x} starting from a snapshot at the db's consistent index {ci} (term {term}) with {} intact entries beyond it, a matching .snap with the membership data of {}; {} old entries replaced ({} already in the db, {} lost, {} of them committed)",
        meta.node_id,
        meta.cluster_id,
        beyond.len(),
        match snap.path.file_name() {
            Some(n) if n == "db" => "the db's members bucket (no .snap to reuse)".to_string(),
            Some(n) => n.to_string_lossy().into_owned(),
            None => "?".to_string(),
        },
        p.dropped.entries,
        p.dropped.in_db,
        p.dropped.lost,
        p.dropped.lost_committed
    );
    cluster_guard(input, &mut p);
    Ok(p)
}

//! Quorum-loss recovery that keeps every committed write any member still holds.
//!
//! Given the data dirs of (ideally all) members of one cluster, some damaged, [`plan`]
//! establishes, read-only:
//!
//! - **what was committed**: the highest commit index any intact HardState records, or
//!   that a majority of the voters' intact logs proves (an entry with the same index and
//!   term in more than half of the voters' logs; an acknowledged write always is);
//! - **what each member holds**: its intact log (the entries before the first WAL damage,
//!   with etcd's replace-on-rewrite semantics), its HardState, and its db's consistent
//!   index when the db is usable (it opens and no page is damaged);
//! - **the source**: the usable db plus the member log that, together, keep the most
//!   committed entries: the db holds everything up to its consistent index, the log
//!   supplies the entries above it, checked entry by entry against every member whose own
//!   HardState commits that index (same term). Ties go to the higher consistent index (less
//!   to replay), then to a log and db of the same member;
//! - **what is lost**: committed entries above what the source keeps (none when some
//!   member still holds them intact).
//!
//! [`build`] writes the recovered data dir (never touching the inputs): the source db, a
//! `.snap` at its consistent index with the cluster's membership (the v2 store of the
//! db's member's newest `.snap`, else made from the db's members bucket, as `repair`'s
//! rebuild does) and a WAL for the log's member and cluster ID holding a snapshot record
//! there, the kept entries and a HardState committing them. Started with
//! `--force-new-cluster` (the [`runbook()`]), etcd replays the entries above the db's
//! consistent index, keeps the member and cluster ID, and removes the other members; the
//! runbook then adds them back one by one, each with an empty data dir.
//!
//! [`plan`] refuses (the plan's `refused`) a single dir, dirs of different clusters, copies
//! of one member and dirs whose logs hold different entries at the same index and term (no
//! common history).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use etcd_proto::RaftPos;
use etcd_wal::pb::raftpb::HardState;
use etcd_wal::record::{RecordType, decode_hard_state, decode_snapshot};
use etcd_wal::scan::{self, Event, RecordStatus};
use etcd_wal::segment::SegmentName;
use etcd_wal::writer::{SEGMENT_SIZE, SegmentBuilder};

use crate::cluster::ClusterView;
use crate::error::Error;
use crate::inspect::{Inspection, Options, inspect};
use crate::paths::MemberDir;
use crate::runbook::{self, Runbook};

/// Entries above the db's consistent index a recovery holds in memory while it writes
/// the WAL (the entries' bytes).
const MAX_REPLAY_BYTES: usize = 512 << 20;

/// One member's intact log.
#[derive(Debug, Clone, Default)]
struct Log {
    /// (index, term, CRC-32C of the entry record's bytes), contiguous.
    entries: Vec<(u64, u64, u32)>,
    /// The last HardState before the first damage.
    hard_state: Option<HardState>,
    /// Snapshot records (index, term) before the first damage.
    snapshots: Vec<RaftPos>,
    /// Whether the WAL has damage (the log ends before it).
    damaged: bool,
    /// Entries after the damage that the CRC chain still vouches for (index → term, CRC):
    /// not a source (etcd does not read past damage), but proof of what this member had
    /// appended, for the majority rule and the agreement check.
    beyond: BTreeMap<u64, (u64, u32)>,
}

impl Log {
    fn first(&self) -> Option<u64> {
        self.entries.first().map(|e| e.0)
    }

    fn last(&self) -> Option<u64> {
        self.entries.last().map(|e| e.0)
    }

    fn at(&self, index: u64) -> Option<(u64, u64, u32)> {
        let first = self.first()?;
        let pos = usize::try_from(index.checked_sub(first)?).ok()?;
        self.entries.get(pos).copied()
    }

    /// The entry at `index` in the intact log, or vouched for after the damage.
    fn held(&self, index: u64) -> Option<(u64, u32)> {
        self.at(index)
            .map(|e| (e.1, e.2))
            .or_else(|| self.beyond.get(&index).copied())
    }

    fn term_at(&self, index: u64) -> Option<u64> {
        self.at(index).map(|e| e.1).or_else(|| {
            self.snapshots
                .iter()
                .find(|s| s.index == index)
                .map(|s| s.term)
        })
    }

    /// Append with raft's semantics: an entry at an index already held replaces it and
    /// everything after it.
    fn push(&mut self, index: u64, term: u64, crc: u32) {
        if let Some(first) = self.first() {
            if index < first {
                self.entries.clear();
            } else if let Ok(keep) = usize::try_from(index - first) {
                if keep < self.entries.len() {
                    self.entries.truncate(keep);
                } else if keep > self.entries.len() {
                    // A gap (a snapshot record moved the log on): start over from here.
                    self.entries.clear();
                }
            }
        }
        self.entries.push((index, term, crc));
    }
}

/// Read a WAL: the intact part (entries and snapshot records before the first record the
/// CRC chain does not vouch for), the entries after the damage the chain still vouches for,
/// and the last HardState the chain vouches for.
fn read_log(wal: &Path) -> Result<Log, Error> {
    let mut log = Log::default();
    scan::scan_dir_with(wal, &mut |ev| {
        let Event::Record(r) = ev else { return };
        if log.damaged || r.status != RecordStatus::Verified {
            log.damaged = true;
            if !r.status.trusted() {
                return;
            }
            match RecordType::from_raw(r.record.raw_type) {
                Some(RecordType::Entry) => {
                    if let Some(e) = r.entry {
                        // A rewrite replaces what follows it.
                        let _ = log.beyond.split_off(&e.index);
                        log.beyond.insert(
                            e.index,
                            (e.term, etcd_proto::crc32c::checksum(r.record.data)),
                        );
                    }
                }
                Some(RecordType::State) => {
                    if let Ok(h) = decode_hard_state(r.record.data) {
                        if h != HardState::default() {
                            log.hard_state = Some(h);
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        match RecordType::from_raw(r.record.raw_type) {
            Some(RecordType::Entry) => {
                if let Some(e) = r.entry {
                    log.push(e.index, e.term, etcd_proto::crc32c::checksum(r.record.data));
                }
            }
            Some(RecordType::State) => {
                if let Ok(h) = decode_hard_state(r.record.data) {
                    if h != HardState::default() {
                        log.hard_state = Some(h);
                    }
                }
            }
            Some(RecordType::Snapshot) => {
                if let Ok(s) = decode_snapshot(r.record.data) {
                    let pos = RaftPos::new(s.index, s.term);
                    log.snapshots.push(pos);
                }
            }
            _ => {}
        }
    })?;
    Ok(log)
}

/// The entry records' bytes for indexes `from..=to` of a WAL's intact part.
fn entry_bytes(wal: &Path, from: u64, to: u64) -> Result<Vec<Vec<u8>>, Error> {
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut damaged = false;
    let mut size = 0usize;
    let mut too_big = false;
    scan::scan_dir_with(wal, &mut |ev| {
        let Event::Record(r) = ev else { return };
        if damaged || r.status != RecordStatus::Verified {
            damaged = true;
            return;
        }
        let Some(e) = r.entry else { return };
        if e.index < from || e.index > to {
            // A rewrite below `from` replaces what follows it too.
            if e.index < from {
                out.clear();
            }
            return;
        }
        if let Some(pos) = out.iter().position(|(i, _)| *i >= e.index) {
            out.truncate(pos);
        }
        size += r.record.data.len();
        too_big |= size > MAX_REPLAY_BYTES;
        if !too_big {
            out.push((e.index, r.record.data.to_vec()));
        }
    })?;
    if too_big {
        return Err(Error::CannotRecover {
            path: wal.to_path_buf(),
            reason: format!(
                "more than {} MiB of entries to replay: too many to rebuild in memory",
                MAX_REPLAY_BYTES >> 20
            ),
        });
    }
    Ok(out.into_iter().map(|(_, d)| d).collect())
}

/// What one dir holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberState {
    /// The dir as given.
    pub path: PathBuf,
    /// Member ID (WAL metadata).
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub member_id: Option<u64>,
    /// Cluster ID (WAL metadata).
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub cluster_id: Option<u64>,
    /// First and last index of the intact log.
    pub log_first: Option<u64>,
    /// See `log_first`.
    pub log_last: Option<u64>,
    /// The intact log's last HardState commit.
    pub commit: Option<u64>,
    /// Whether the WAL has damage (its log ends before it).
    pub wal_damaged: bool,
    /// The db's consistent index, when the db is usable.
    pub db_consistent_index: Option<u64>,
    /// Why the db is not usable (`None`: it is).
    pub db_problem: Option<String>,
}

/// The db and the log a recovery takes, and what they keep.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Source {
    /// The dir whose db is taken (index into [`Recovery::members`]).
    pub db_member: usize,
    /// The dir whose log supplies the entries above the db's consistent index (its member
    /// ID becomes the recovered member's).
    pub log_member: usize,
    /// The db's consistent index (where the new WAL's snapshot sits).
    pub consistent_index: u64,
    /// The term at the consistent index.
    pub term: u64,
    /// The last index kept: the db plus the log's entries up to here.
    pub last_index: u64,
    /// Entries etcd replays from the log on its first start (above the consistent index).
    pub replayed: u64,
    /// The HardState the recovered WAL ends with: the log's term and vote, committing
    /// `last_index`.
    #[serde(skip)]
    pub hard_state: HardState,
}

/// The alternative: `--force-new-cluster` on a member's own data dir, when its WAL and db
/// are intact.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alternative {
    /// The dir (index into [`Recovery::members`]).
    pub member: usize,
    /// Entries its log holds above its own HardState commit: etcd discards them.
    pub drops_uncommitted: u64,
    /// Committed entries (per [`Recovery::committed`]) it does not hold: lost that way.
    pub lacks_committed: u64,
}

/// The recovery plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recovery {
    /// Every dir given, in order.
    pub members: Vec<MemberState>,
    /// The cluster ID.
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub cluster_id: Option<u64>,
    /// Voting members (from the membership data), for the majority rule.
    pub voters: usize,
    /// The highest index known to be committed.
    pub committed: u64,
    /// How that is known.
    pub committed_by: String,
    /// What the recovery keeps (`None` when refused or when nothing is usable).
    pub source: Option<Source>,
    /// Committed entries the source does not keep: (first, last).
    pub lost: Option<(u64, u64)>,
    /// The Kubernetes objects the lost entries write, as far as any member's WAL still
    /// shows them (records past damage read as they are), per resource and namespace.
    pub lost_objects: Vec<etcd_k8s::db::SummaryRow>,
    /// Why there is no recovery (a refusal).
    pub refused: Option<String>,
    /// `--force-new-cluster` on one member's own dir, when that keeps as much.
    pub alternative: Option<Alternative>,
    /// The cluster's members from every dir (names, URLs), for the runbook.
    #[serde(skip)]
    pub cluster: ClusterView,
    #[serde(skip)]
    dirs: Vec<MemberDir>,
    #[serde(skip)]
    release: Option<String>,
}

fn db_state(ins: &Inspection) -> (Option<u64>, Option<String>) {
    let Some(member) = ins.member.as_ref() else {
        return (None, Some("no member/snap directory".into()));
    };
    let db = match &member.db {
        Ok(db) => db,
        Err(e) => {
            return (
                None,
                Some(format!("the db cannot be opened: {}", e.message)),
            );
        }
    };
    if let Some(f) = ins
        .findings()
        .iter()
        .find(|f| f.kind == crate::FindingKind::DbPageInvalid)
    {
        return (None, Some(format!("damaged page: {}", f.message)));
    }
    match db.meta.consistent_index {
        Some(ci) => (Some(ci), None),
        None => (None, Some("the db records no consistent index".into())),
    }
}

fn path_of(members: &[MemberState], i: usize) -> String {
    members
        .get(i)
        .map_or_else(|| "?".to_owned(), |m| m.path.display().to_string())
}

fn refused(members: Vec<MemberState>, why: String) -> Recovery {
    Recovery {
        members,
        cluster_id: None,
        voters: 0,
        committed: 0,
        committed_by: String::new(),
        source: None,
        lost: None,
        refused: Some(why),
        alternative: None,
        lost_objects: Vec::new(),
        cluster: ClusterView::default(),
        dirs: Vec::new(),
        release: None,
    }
}

/// Plan the recovery of the cluster whose members' data dirs are `paths` (read-only).
pub fn plan(paths: &[PathBuf]) -> Result<Recovery, Error> {
    let mut inspections = Vec::new();
    let mut logs = Vec::new();
    for p in paths {
        let ins = inspect(p, &Options::default())?;
        logs.push(read_log(&ins.dir.wal)?);
        inspections.push(ins);
    }
    let members: Vec<MemberState> = inspections
        .iter()
        .zip(&logs)
        .zip(paths)
        .map(|((ins, log), p)| {
            let (ci, problem) = db_state(ins);
            MemberState {
                path: p.clone(),
                member_id: ins.scan.metadata.as_ref().map(|m| m.node_id),
                cluster_id: ins.scan.metadata.as_ref().map(|m| m.cluster_id),
                log_first: log.first(),
                log_last: log.last(),
                commit: log.hard_state.map(|h| h.commit),
                wal_damaged: log.damaged,
                db_consistent_index: ci,
                db_problem: problem,
            }
        })
        .collect();

    // Refusals.
    if paths.len() < 2 {
        return Ok(refused(
            members,
            "recover needs the data dirs of the cluster's members (two or more); for one \
             member use `wal-inspect repair`"
                .into(),
        ));
    }
    let clusters: std::collections::BTreeSet<u64> =
        members.iter().filter_map(|m| m.cluster_id).collect();
    if clusters.len() > 1 {
        let list: Vec<String> = members
            .iter()
            .map(|m| {
                format!(
                    "{} is in cluster {}",
                    m.path.display(),
                    m.cluster_id.map_or("?".into(), |c| format!("{c:016x}"))
                )
            })
            .collect();
        return Ok(refused(
            members,
            format!(
                "the dirs belong to different clusters ({}); give the members of one cluster",
                list.join(", ")
            ),
        ));
    }
    let mut seen = BTreeMap::new();
    for m in &members {
        if let Some(id) = m.member_id {
            if let Some(other) = seen.insert(id, m.path.clone()) {
                return Ok(refused(
                    members.clone(),
                    format!(
                        "{} and {} are copies of the same member {id:016x}; give one dir per member",
                        other.display(),
                        m.path.display()
                    ),
                ));
            }
        }
    }
    if let Some(why) = conflicting_history(&members, &logs) {
        return Ok(refused(members, why));
    }

    // The cluster's members, from every dir.
    let mut cluster = ClusterView::default();
    for ins in &inspections {
        let v = ClusterView::of(ins);
        if cluster.cluster_id.is_none() {
            cluster.cluster_id = v.cluster_id;
        }
        cluster.merge_peer(&v);
    }
    let voters = cluster
        .members
        .iter()
        .filter(|m| !m.removed && !m.is_learner)
        .count()
        .max(1);

    // What was committed.
    let by_hs = members
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.commit.map(|c| (c, i)))
        .max();
    let by_majority = majority_index(&logs, voters);
    let (committed, committed_by) = match (by_hs, by_majority) {
        (Some((c, i)), Some(m)) if c >= m => {
            (c, format!("the HardState of {}", path_of(&members, i)))
        }
        (_, Some(m)) => (
            m,
            format!(
                "a majority ({} of {voters} voters) of the logs",
                voters / 2 + 1
            ),
        ),
        (Some((c, i)), None) => (c, format!("the HardState of {}", path_of(&members, i))),
        (None, None) => (0, "nothing (no HardState, no majority)".into()),
    };

    // The source: the (db, log) pair that keeps the most.
    let mut best: Option<Source> = None;
    for (d, dm) in members.iter().enumerate() {
        let Some(ci) = dm.db_consistent_index else {
            continue;
        };
        for (w, log) in logs.iter().enumerate() {
            let Some(term) = inspections
                .get(d)
                .and_then(Inspection::db)
                .and_then(|db| db.meta.term)
                .or_else(|| logs.iter().find_map(|l| l.term_at(ci)))
            else {
                continue;
            };
            let mut last = ci;
            let mut i = ci + 1;
            while i <= committed {
                let Some((_, t, _)) = log.at(i) else { break };
                // Every member whose own HardState commits `i` must agree on its term.
                let disagrees = logs.iter().zip(&members).any(|(l, m)| {
                    m.commit.is_some_and(|c| c >= i) && l.held(i).is_some_and(|e| e.0 != t)
                });
                if disagrees {
                    break;
                }
                last = i;
                i += 1;
            }
            let last_term = log.term_at(last).unwrap_or(term);
            let hs_term = log
                .hard_state
                .map_or(0, |h| h.term)
                .max(last_term)
                .max(term);
            let cand = Source {
                db_member: d,
                log_member: w,
                consistent_index: ci,
                term,
                last_index: last,
                replayed: last - ci,
                hard_state: HardState {
                    term: hs_term,
                    vote: log
                        .hard_state
                        .filter(|h| h.term == hs_term)
                        .map_or(0, |h| h.vote),
                    commit: last,
                },
            };
            let better = match &best {
                None => true,
                Some(b) => {
                    (
                        cand.last_index,
                        cand.consistent_index,
                        cand.db_member == cand.log_member,
                    ) > (
                        b.last_index,
                        b.consistent_index,
                        b.db_member == b.log_member,
                    )
                }
            };
            if better && members.get(w).is_some_and(|m| m.member_id.is_some()) {
                best = Some(cand);
            }
        }
    }
    let lost = best
        .as_ref()
        .filter(|s| s.last_index < committed)
        .map(|s| (s.last_index + 1, committed));
    let lost_objects = match lost {
        Some((first, last)) => lost_keys(&inspections, first, last)?,
        None => Vec::new(),
    };
    // The alternative: a member whose WAL and db are intact, alone.
    let alternative = members
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.wal_damaged && m.db_problem.is_none())
        .map(|(i, m)| {
            let last = m.log_last.unwrap_or(0);
            let own = m.commit.unwrap_or(0);
            Alternative {
                member: i,
                drops_uncommitted: last.saturating_sub(own),
                lacks_committed: committed
                    .saturating_sub(own.max(m.db_consistent_index.unwrap_or(0))),
            }
        })
        .min_by_key(|a| (a.lacks_committed, a.drops_uncommitted));
    let release = inspections
        .iter()
        .find_map(|i| i.etcd_version)
        .map(|v| v.line().to_owned());
    let refused_why = best.is_none().then(|| {
        "no member has a usable db (one that opens, with no damaged page and a consistent \
         index): nothing to recover from; `wal-inspect verify` each dir for details"
            .to_owned()
    });
    let source_id = best
        .as_ref()
        .and_then(|s| members.get(s.log_member))
        .and_then(|m| m.member_id);
    cluster.this = source_id;
    Ok(Recovery {
        cluster_id: clusters.into_iter().next(),
        voters,
        committed,
        committed_by,
        source: best,
        lost,
        refused: refused_why,
        alternative,
        lost_objects,
        cluster,
        dirs: inspections.into_iter().map(|i| i.dir).collect(),
        release,
        members,
    })
}

/// The Kubernetes objects the entries `first..=last` write, read from every member's WAL
/// (any record whose entry decodes, past damage too: they are only named, never kept).
fn lost_keys(
    inspections: &[Inspection],
    first: u64,
    last: u64,
) -> Result<Vec<etcd_k8s::db::SummaryRow>, Error> {
    let mut keys: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
    for ins in inspections {
        scan::scan_dir_with(&ins.dir.wal, &mut |ev| {
            let Event::Record(r) = ev else { return };
            let Some(e) = r.entry.filter(|e| e.index >= first && e.index <= last) else {
                return;
            };
            let payload = etcd_wal::payload::decode_entry(e.entry_type, e.data);
            for p in payload.puts() {
                keys.insert(p.key.to_vec());
            }
            for k in payload.keys() {
                if k.range_end.is_empty() {
                    keys.insert(k.key);
                }
            }
        })?;
    }
    Ok(etcd_k8s::db::count_keys(keys.iter().map(Vec::as_slice)))
}

/// Two logs with the same index and term but different bytes: not one history.
fn conflicting_history(members: &[MemberState], logs: &[Log]) -> Option<String> {
    for (a, la) in logs.iter().enumerate() {
        for (b, lb) in logs.iter().enumerate().skip(a + 1) {
            for &(i, t, crc) in &la.entries {
                if let Some((_, tb, crcb)) = lb.at(i) {
                    if tb == t && crcb != crc {
                        return Some(format!(
                            "{} and {} hold different entries at index {i} term {t}: they do \
                             not share one history (two clusters created with the same \
                             names, URLs and token get the same IDs); give the members of \
                             one cluster",
                            path_of(members, a),
                            path_of(members, b)
                        ));
                    }
                }
            }
        }
    }
    None
}

/// The highest index at which a majority of `voters` logs hold the same term.
fn majority_index(logs: &[Log], voters: usize) -> Option<u64> {
    let need = voters / 2 + 1;
    let max = logs
        .iter()
        .filter_map(|l| l.beyond.keys().next_back().copied().max(l.last()))
        .max()?;
    let min = logs.iter().filter_map(Log::first).min()?;
    let mut i = max;
    while i >= min {
        let mut terms: BTreeMap<u64, usize> = BTreeMap::new();
        for l in logs {
            if let Some((t, _)) = l.held(i) {
                *terms.entry(t).or_default() += 1;
            }
        }
        if terms.values().any(|&n| n >= need) {
            return Some(i);
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    None
}

/// What [`build`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Built {
    /// The recovered data dir.
    pub data_dir: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// With a revision bump: the revision of the bump marker (etcd serves revisions above
    /// it; reads below are compacted).
    pub bumped_to: Option<i64>,
}

/// How to build.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// `--bump-revision R --mark-compacted` as etcdutl's restore: the recovered db's
    /// revision raised by R and compacted there, so that watchers (Kubernetes' watch
    /// caches) start over instead of missing the events of lost writes. 0: none.
    pub bump_revision: u64,
}

/// Write the recovered data dir at `out` (it must not exist, or be empty): built in a
/// temp dir beside it, fsynced, renamed into place. The inputs are only read.
pub fn build(r: &Recovery, out: &Path, options: BuildOptions) -> Result<Built, Error> {
    let (Some(s), None) = (&r.source, &r.refused) else {
        return Err(Error::CannotRecover {
            path: out.to_path_buf(),
            reason: r
                .refused
                .clone()
                .unwrap_or_else(|| "no recovery source".into()),
        });
    };
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .next()
            .is_some()
    {
        return Err(Error::TargetNotEmpty {
            path: out.to_path_buf(),
        });
    }
    let (Some(db_dir), Some(log_dir)) = (r.dirs.get(s.db_member), r.dirs.get(s.log_member)) else {
        return Err(Error::CannotRecover {
            path: out.to_path_buf(),
            reason: "the source dirs are gone from the plan".into(),
        });
    };
    let db_ins = inspect(&db_dir.root, &Options::default())?;
    let input = crate::repair::repair_input(&db_ins)?;
    let Some(snap) = input.snap else {
        return Err(Error::CannotRecover {
            path: db_dir.root.clone(),
            reason: "no membership data (no readable .snap, no members in the db)".into(),
        });
    };
    let conf_state = input
        .db
        .as_ref()
        .and_then(|d| d.conf_state.clone())
        .unwrap_or(snap.conf_state.clone());
    let log_meta = r
        .members
        .get(s.log_member)
        .and_then(|m| m.member_id.zip(m.cluster_id));
    let Some((node_id, cluster_id)) = log_meta else {
        return Err(Error::CannotRecover {
            path: log_dir.root.clone(),
            reason: "no WAL metadata (member and cluster ID)".into(),
        });
    };
    let entries = entry_bytes(&log_dir.wal, s.consistent_index + 1, s.last_index)?;

    let mut b = SegmentBuilder::new(0);
    b.metadata(node_id, cluster_id);
    b.snapshot(s.consistent_index, s.term, Some(&conf_state));
    for e in &entries {
        b.push(RecordType::Entry, e);
    }
    b.hard_state(&s.hard_state);
    let segment = b.finish(Some(SEGMENT_SIZE));
    let raw_snap = etcd_proto::snap::encode_raft_snapshot(
        &snap.v2_json,
        &conf_state,
        s.consistent_index,
        s.term,
    );
    let snap_file = etcd_proto::snap::encode_snap_file(&raw_snap);

    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let tmp = etcd_snap::restore::copy::temp_beside(out);
    let mut bumped = None;
    let bumped_to = &mut bumped;
    let result = (|| -> Result<Vec<PathBuf>, Error> {
        let member = tmp.join("member");
        let (wal, snapd) = (member.join("wal"), member.join("snap"));
        for d in [&tmp, &member, &wal, &snapd] {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            set_mode(d, 0o700)?;
        }
        let Some(src_db) = db_dir.db() else {
            return Err(Error::CannotRecover {
                path: db_dir.root.clone(),
                reason: "no db".into(),
            });
        };
        let len = std::fs::metadata(&src_db)
            .map_err(|e| Error::io(&src_db, e))?
            .len();
        let new_db = snapd.join("db");
        etcd_snap::restore::copy::copy_hashed(&src_db, len, &new_db, false, None).map_err(|e| {
            Error::CannotRecover {
                path: src_db.clone(),
                reason: e.to_string(),
            }
        })?;
        if options.bump_revision > 0 {
            *bumped_to = etcd_snap::restore::bump_revision(&new_db, options.bump_revision)
                .map_err(|e| Error::CannotRecover {
                    path: new_db.clone(),
                    reason: e.to_string(),
                })?;
        }
        let snap_name = etcd_proto::snap::snap_file_name(s.term, s.consistent_index);
        write_file(&snapd.join(&snap_name), &snap_file)?;
        let seg = SegmentName { seq: 0, index: 0 }.file_name();
        write_file(&wal.join(&seg), &segment)?;
        for d in [&wal, &snapd, &member, &tmp] {
            sync_dir(d)?;
        }
        Ok(vec![
            out.join("member/snap/db"),
            out.join("member/snap").join(snap_name),
            out.join("member/wal").join(seg),
        ])
    })();
    let files = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if out.exists() {
        std::fs::remove_dir(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    sync_dir(parent)?;
    Ok(Built {
        data_dir: out.to_path_buf(),
        files,
        bumped_to: bumped,
    })
}

fn set_mode(p: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(p, e))
}

fn write_file(p: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(p)
        .map_err(|e| Error::io(p, e))?;
    f.write_all(bytes).map_err(|e| Error::io(p, e))?;
    f.sync_all().map_err(|e| Error::io(p, e))
}

fn sync_dir(p: &Path) -> Result<(), Error> {
    std::fs::File::open(p)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(p, e))
}

/// The alternative's runbook: `--force-new-cluster` on that member's own data dir, then
/// the other members added back as in [`runbook()`].
pub fn alternative_runbook(r: &Recovery) -> Option<Runbook> {
    let a = r.alternative.as_ref()?;
    let me = r.members.get(a.member)?.member_id?;
    let dir = r.dirs.get(a.member)?;
    let mut cluster = r.cluster.clone();
    cluster.this = Some(me);
    let others = others_of(r, me);
    Some(runbook::recover(
        &cluster,
        me,
        dir,
        &others,
        r.release.as_deref(),
    ))
}

/// The members to add back after `me` starts alone: every other member of the cluster
/// whose data dir was given (its dir is moved aside).
fn others_of(r: &Recovery, me: u64) -> Vec<(u64, &MemberDir)> {
    r.cluster
        .members
        .iter()
        .filter(|m| m.id != me && !m.removed)
        .filter_map(|m| {
            let i = r.members.iter().position(|x| x.member_id == Some(m.id))?;
            Some((m.id, r.dirs.get(i)?))
        })
        .collect()
}

/// The runbook: start the recovered member alone on `out` with `--force-new-cluster`,
/// then for every other member `member add`, move its old data dir aside and start it
/// empty with `--initial-cluster-state existing`, one at a time.
pub fn runbook(r: &Recovery, out: &Path) -> Option<Runbook> {
    let s = r.source.as_ref()?;
    let me = r.members.get(s.log_member)?.member_id?;
    let out_dir = MemberDir {
        given: out.to_path_buf(),
        root: out.to_path_buf(),
        data_dir: out.to_path_buf(),
        member: Some(out.join("member")),
        wal: out.join("member/wal"),
        dedicated_wal: false,
        snap: Some(out.join("member/snap")),
    };
    let others = others_of(r, me);
    Some(runbook::recover(
        &r.cluster,
        me,
        &out_dir,
        &others,
        r.release.as_deref(),
    ))
}

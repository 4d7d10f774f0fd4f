//! Repair at the member level: the plan's inputs gathered from the WAL, the `.snap` files
//! and the db exactly as for [`inspect`](crate::inspect) (whichever path names the member),
//! the plan ([`etcd_wal::repair::plan`]), what is left to etcd, and carrying it out under
//! the live-etcd guard.

use std::path::{Path, PathBuf};

use etcd_proto::pb::raftpb::ConfState;
use etcd_snap::ErrorKind as SnapErrorKind;
use etcd_snap::restore::snap::{StoreMember, v2_store_json};
use etcd_snap::snapdir::SnapDirReport;
use etcd_wal::repair::{self, Applied, ApplyOptions, DbInfo, RepairInput, RepairPlan, SnapSource};

use crate::error::Error;
use crate::inspect::{Inspection, Options, inspect};
use crate::live;

/// A member's repair plan, with what it was made from.
#[derive(Debug, Clone)]
pub struct MemberPlan {
    /// The inspection the plan is based on.
    pub inspection: Inspection,
    /// The plan.
    pub plan: RepairPlan,
    /// Damage no plan touches because etcd deals with it at start (a `.snap` it renames
    /// `.broken` before falling back to an older one), one line each.
    pub left_to_etcd: Vec<String>,
    /// The Kubernetes objects the plan's lost writes touch (keys under the apiserver's
    /// `/registry/`), per resource and namespace; empty for other data.
    pub lost_objects: Vec<etcd_k8s::db::SummaryRow>,
}

/// Inspect the member at `path` and plan its repair (read-only).
pub fn plan(path: &Path, options: &Options) -> Result<MemberPlan, Error> {
    let inspection = inspect(path, options)?;
    plan_for(inspection)
}

/// Plan the repair of an inspected member (read-only).
pub fn plan_for(inspection: Inspection) -> Result<MemberPlan, Error> {
    let input = repair_input(&inspection)?;
    let mut plan = repair::plan(&input)?;
    // etcd replays this member's own removal and stops (`the member has been permanently
    // removed from the cluster`): nothing local brings it back; it is added again with an
    // empty data dir (no `member remove`: it is no longer a member).
    if inspection.boot.decided_by == crate::boot::DecidedBy::Removal
        && matches!(plan.kind, repair::PlanKind::Nothing)
    {
        plan.kind = repair::PlanKind::Rejoin;
        plan.rejoin_offered = true;
        plan.reasons.push(format!(
            "etcd refuses to start: {} (its own WAL records its removal)",
            inspection
                .boot
                .etcd_error
                .as_deref()
                .unwrap_or("the member has been permanently removed from the cluster")
        ));
        plan.etcd_now = format!(
            "refuses to start: {}",
            inspection.boot.etcd_error.as_deref().unwrap_or("?")
        );
        plan.summary = "rejoin: this member was removed from the cluster; add it back and start it with an empty data dir (steps below)".into();
    }
    if plan.kind == repair::PlanKind::Nothing {
        if inspection
            .findings()
            .iter()
            .any(|f| f.kind == crate::FindingKind::DbMissing)
        {
            db_from_wal(&inspection, &mut plan, LostDb::Missing);
        } else if inspection.boot.outcome == crate::Outcome::Refuses
            && inspection.boot.decided_by == crate::boot::DecidedBy::Db
            && !db_revert_meta(&inspection, &mut plan)
        {
            let why = inspection
                .boot
                .etcd_error
                .clone()
                .unwrap_or_else(|| "the db cannot be opened".into());
            db_from_wal(&inspection, &mut plan, LostDb::Unusable(why));
        }
    }
    // What etcd does now is the whole start's verdict (`verify`'s: the WAL, the db, the
    // .snap, the release's checks), not the WAL's alone.
    if inspection.boot.outcome == crate::Outcome::Refuses && !plan.etcd_now.starts_with("refuses") {
        plan.etcd_now = format!(
            "refuses to start: {}",
            inspection.boot.etcd_error.as_deref().unwrap_or("?")
        );
    }
    let left_to_etcd = inspection
        .member
        .as_ref()
        .and_then(|m| m.snap.as_ref().ok())
        .map(left_to_etcd)
        .unwrap_or_default();
    // Writes to distinct objects (each key once, puts and deletions alike).
    let mut keys: Vec<&[u8]> = plan
        .dropped
        .keys
        .iter()
        .filter(|k| k.range_end.is_empty())
        .map(|k| k.key.as_slice())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let lost_objects = etcd_k8s::db::count_keys(keys);
    Ok(MemberPlan {
        inspection,
        plan,
        left_to_etcd,
        lost_objects,
    })
}

/// Make the plan a rejoin when the cluster (other members' dirs) records this member's
/// removal and no local plan is needed: etcd would start on the dir and stop as soon as a
/// member answers it. Nothing changes when the member's own data records it already, or
/// the plan repairs damage (the rejoin is then offered beside it).
pub fn removed_by_cluster(plan: &mut MemberPlan, cluster: &crate::cluster::ClusterView) {
    let removed = cluster.this_member().is_some_and(|m| m.removed);
    if !removed || plan.inspection.identity.removed() {
        return;
    }
    let p = &mut plan.plan;
    p.rejoin_offered = true;
    if matches!(p.kind, repair::PlanKind::Nothing) {
        p.kind = repair::PlanKind::Rejoin;
        p.reasons.push(format!(
            "another member's WAL removes this member: etcd starts on this dir and stops as soon as a member answers it ({})",
            crate::boot::REMOVED_ERROR
        ));
        p.etcd_now = format!("starts, then stops: {}", crate::boot::REMOVED_ERROR);
        p.summary = "rejoin: the cluster removed this member; add it back and start it with an empty data dir (steps below)".into();
    }
}

/// Make an impossible plan of a cluster member a rejoin when the member is known (its WAL
/// metadata is unreadable, but the configuration or another member's dir says which member
/// this is): nothing local can bring it back, the cluster can.
pub fn rejoin_when_impossible(plan: &mut MemberPlan, cluster: &crate::cluster::ClusterView) {
    let p = &mut plan.plan;
    if !matches!(p.kind, repair::PlanKind::Impossible) || cluster.voters() <= 1 {
        return;
    }
    if cluster.this_member().is_none() {
        p.reasons.push(
            "this is a member of a cluster: give --config FILE (its etcd.conf, config file or static pod manifest) so its peer URLs say which member it is, and --peer-dir DIR (another member's data dir) for the cluster's client URLs; a rejoin is then planned".into(),
        );
        return;
    }
    p.kind = repair::PlanKind::Rejoin;
    p.rejoin_offered = true;
    p.summary = "rejoin: nothing local can repair this member; remove it from the cluster and add it back with an empty data dir (steps below)".into();
    if plan.inspection.scan.metadata.is_none() {
        p.reasons.push(
            "the member ID comes from the configuration (its peer URLs or name in the db's members), not from the WAL".into(),
        );
    }
}

/// Carry the plan out (see [`etcd_wal::repair::apply()`]), refusing while a live etcd holds
/// any file of the member.
pub fn apply(plan: &MemberPlan, opts: ApplyOptions) -> Result<Applied, Error> {
    live::refuse_if_live(&plan.inspection.dir.lockable_files())?;
    Ok(repair::apply(&plan.plan, opts)?)
}

/// What an undo would do, and what changed since the repair.
#[derive(Debug, Clone)]
pub struct MemberUndo {
    /// The plan (files restored and removed, files changed since the repair).
    pub plan: etcd_wal::repair::UndoPlan,
    /// Entries the log holds now beyond where the repair left it (etcd appended them):
    /// lost by the undo.
    pub entries_appended: Option<u64>,
}

/// Plan the undo of the newest repair of the member at `dir` (read-only): only files under
/// its data dir and WAL dir, with what changed since.
pub fn plan_undo(dir: &crate::MemberDir) -> Result<MemberUndo, Error> {
    let plan = repair::plan_undo(&dir.data_dir, &dir.wal)?;
    let entries_appended = if plan.changed.is_empty() {
        None
    } else {
        let now = etcd_wal::scan::scan_dir(&dir.wal)
            .ok()
            .and_then(|s| s.last_index());
        match (now, plan.last_index_after_repair) {
            (Some(now), Some(then)) => Some(now.saturating_sub(then)),
            _ => None,
        }
    };
    Ok(MemberUndo {
        plan,
        entries_appended,
    })
}

/// Carry the undo out, refusing while a live etcd holds any file of the member or any file
/// the undo touches, and (unless `opts.force`) when files changed since the repair.
pub fn undo(u: &MemberUndo, dir: &crate::MemberDir, opts: ApplyOptions) -> Result<Applied, Error> {
    let mut files = dir.lockable_files();
    files.extend(u.plan.files());
    live::refuse_if_live(&files)?;
    Ok(repair::undo(&u.plan, opts)?)
}

fn conf_state(c: &etcd_snap::schema::ConfStateJson) -> ConfState {
    ConfState {
        voters: c.voters.clone(),
        learners: c.learners.clone(),
        voters_outgoing: c.voters_outgoing.clone(),
        learners_next: c.learners_next.clone(),
        auto_leave: c.auto_leave,
    }
}

/// The plan's inputs: the WAL dir, the db's consistent index, term and ConfState, the
/// newest readable `.snap` (whose v2 store a rebuild reuses; without one, a v2 store with
/// the db's members), and the cluster's size.
pub fn repair_input(ins: &Inspection) -> Result<RepairInput, Error> {
    let dir = &ins.dir;
    let member = ins.member.as_ref();
    let snap_dir = member.and_then(|m| m.snap.as_ref().ok());
    let db = ins.db();
    // The newest readable .snap (by name order, as etcd sorts them).
    let newest = snap_dir.and_then(|d| {
        d.snaps
            .iter()
            .filter(|e| e.problem.is_none() && e.snapshot.is_some())
            .max_by_key(|e| e.snapshot.as_ref().map(|s| (s.term, s.index)))
    });
    let snap = match (newest, &dir.snap) {
        (Some(e), Some(sd)) => {
            let path = sd.join(&e.name);
            let f = etcd_snap::snapfile::read_snap(&path)?;
            Some(SnapSource {
                path,
                term: f.term,
                index: f.index,
                conf_state: f.conf_state.clone(),
                v2_json: f.snapshot.data.clone(),
            })
        }
        _ => None,
    };
    // No readable .snap at all (e.g. --snapshot-count never reached): a rebuild needs one,
    // so make the v2 store's membership from the db (members bucket, confState, term). A
    // 3.4 db has neither term nor confState: take the term of the WAL entry at the
    // consistent index and the voters/learners from the members bucket (3.4 keeps it too).
    let snap = snap.or_else(|| {
        let d = db?;
        let ci = d.meta.consistent_index?;
        // (The rebuild itself prefers the term of the trusted WAL entries around the index;
        // the HardState's term is the last resort when the entry at `ci` lies past damage.)
        let term = d
            .meta
            .term
            .or_else(|| ins.history.term_at(ci))
            .or_else(|| ins.scan.last_hard_state.map(|h| h.term))?;
        let m = &d.membership.members;
        let cs = d.meta.conf_state.as_ref().map(conf_state).or_else(|| {
            let mut voters: Vec<u64> = m.iter().filter(|m| !m.is_learner).map(|m| m.id).collect();
            let mut learners: Vec<u64> = m.iter().filter(|m| m.is_learner).map(|m| m.id).collect();
            voters.sort_unstable();
            learners.sort_unstable();
            (!voters.is_empty()).then_some(ConfState {
                voters,
                learners,
                ..ConfState::default()
            })
        })?;
        let version = if d.meta.conf_state.is_some() {
            "3.5.0"
        } else {
            "3.4.0"
        };
        let mut sorted: Vec<&etcd_snap::schema::Member> = m.iter().collect();
        sorted.sort_by_key(|m| m.id);
        let store: Vec<StoreMember<'_>> = sorted
            .iter()
            .map(|m| StoreMember {
                id: m.id,
                peer_urls: &m.peer_urls,
                is_learner: m.is_learner,
                attributes: (!m.name.is_empty() || !m.client_urls.is_empty())
                    .then_some((m.name.as_str(), m.client_urls.as_slice())),
            })
            .collect();
        Some(SnapSource {
            path: dir.snap.as_ref()?.join("db"),
            term,
            index: ci,
            conf_state: cs,
            v2_json: v2_store_json(&store, Some(version)).into_bytes(),
        })
    });
    Ok(RepairInput {
        wal_dir: dir.wal.clone(),
        snap_dir: dir.snap.clone(),
        data_dir: dir.data_dir.clone(),
        db: db.and_then(|d| {
            d.meta.consistent_index.map(|ci| DbInfo {
                consistent_index: ci,
                term: d.meta.term,
                conf_state: d.meta.conf_state.as_ref().map(conf_state),
            })
        }),
        snap_files: member.and_then(|m| m.readable_snaps()),
        snap,
        voters: member.and_then(|m| m.voters()),
        // The prediction for the release that applies (asked for, or implied by the
        // data), as `verify` gives it.
        prediction: ins.etcd_version.map(|_| ins.prediction.clone()),
    })
}

/// Damage no plan touches because etcd deals with it at start: each unreadable `.snap`
/// file etcd reaches is renamed `<name>.broken` and an older snapshot is used.
fn left_to_etcd(snap_dir: &SnapDirReport) -> Vec<String> {
    let fallback = snap_dir.picked.as_ref().map_or(
        "no snapshot (it replays the WAL from the start)".to_owned(),
        |p| format!("member/snap/{p}"),
    );
    snap_dir
        .would_rename_broken
        .iter()
        .map(|name| {
            let why = snap_dir
                .snaps
                .iter()
                .find(|e| &e.name == name)
                .and_then(|e| e.problem.as_ref())
                .map_or("unreadable", |p| match p.kind {
                    SnapErrorKind::SnapCrcMismatch => "crc mismatch",
                    SnapErrorKind::SnapEmpty => "empty",
                    _ => "cannot be decoded",
                });
            format!(
                "member/snap/{name} is damaged ({why}); left as it is: etcd renames it {name}.broken at start and uses {fallback}"
            )
        })
        .collect()
}

/// The `.snap` files in the member's snap dir with the raft index their name gives
/// (`<term>-<index>.snap`, 16 hex digits each), by index.
fn snap_files_by_index(ins: &Inspection) -> Vec<(PathBuf, u64, u64)> {
    let mut out: Vec<(PathBuf, u64, u64)> = ins
        .dir
        .snap
        .as_ref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stem = name.strip_suffix(".snap")?;
                    let (_, index) = stem.split_once('-')?;
                    let index = u64::from_str_radix(index, 16).ok()?;
                    Some((e.path(), e.metadata().ok()?.len(), index))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(p, _, i)| (*i, p.clone()));
    out
}

/// What etcd needs to replay this member's WAL onto a db whose consistent index is `ci`:
/// an intact WAL that reaches `ci` and holds every entry after the newest `.snap` at or
/// below `ci` (etcd starts from that snapshot; without one, from index 1). Returns the
/// `.snap` files above `ci` (etcd would look for their db: they move into the backup) and
/// the WAL's last index, or why not.
#[allow(clippy::type_complexity)]
fn replay_onto(ins: &Inspection, ci: u64) -> Result<(Vec<(PathBuf, u64, u64)>, u64), String> {
    let first = ins.history.first_index();
    let last = ins.scan.segments.iter().filter_map(|s| s.last_index).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Err("the WAL holds no entry".into());
    };
    if !ins.scan.findings.is_empty() {
        return Err("the WAL is damaged: repair it first".into());
    }
    if last < ci {
        return Err(format!(
            "the db is ahead of this member's log (consistent index {ci}, the WAL ends at {last}): \
             etcd cannot start on it; restore it as a new cluster (`snapshot restore`) or rejoin \
             this member"
        ));
    }
    let snaps = snap_files_by_index(ins);
    let (above, kept): (Vec<_>, Vec<_>) = snaps.into_iter().partition(|(_, _, i)| *i > ci);
    // etcd starts from the newest .snap left (or from index 1 without one) and replays the
    // WAL from there: the WAL must hold it.
    let from = kept.last().map_or(0, |(_, _, i)| *i);
    if first > from + 1 {
        return Err(format!(
            "the WAL starts at index {first}, but etcd would replay it from {} (the newest \
             .snap at or below {ci}{})",
            from + 1,
            if kept.is_empty() { ": none" } else { "" }
        ));
    }
    Ok((above, last))
}

/// Plan a new db for this member from `file` (`repair --from FILE`): a `snapshot save`
/// file (its SHA-256 trailer checked and left out) or a db (a peer's `member/snap/db`, a
/// backup). The member's WAL must reach the file's consistent index and hold every entry
/// after it from the newest `.snap` at or below it; etcd then re-applies the entries above
/// it. The file must check clean and list this member. Replaces the plan (kind
/// `db_rebuild`, or `impossible` with the reason); `Err` only when the file cannot be
/// read.
pub fn db_from_file(mp: &mut MemberPlan, file: &Path) -> Result<(), Error> {
    use etcd_snap::bolt::Db;
    use etcd_snap::hash::TrailerState;
    let ins = &mp.inspection;
    let plan = &mut mp.plan;
    let impossible = |plan: &mut RepairPlan, why: String| {
        plan.kind = repair::PlanKind::Impossible;
        plan.summary = format!("the db cannot be rebuilt from {}: {why}", file.display());
        plan.changes.clear();
    };
    let trailer = etcd_snap::hash::check_trailer(file)?;
    if trailer.state == TrailerState::Invalid {
        impossible(
            plan,
            "its SHA-256 trailer does not match its contents (a damaged or partial copy)".into(),
        );
        return Ok(());
    }
    let db = Db::open(file)?;
    let report = db.check()?;
    if !report.is_clean() {
        let first = report
            .findings
            .first()
            .map_or(String::new(), |f| format!(": {f}"));
        impossible(plan, format!("the file's db is damaged{first}"));
        return Ok(());
    }
    let meta = etcd_snap::schema::meta(&db)?;
    let Some(ci) = meta.consistent_index else {
        impossible(plan, "it has no consistent index (not an etcd db?)".into());
        return Ok(());
    };
    let members = etcd_snap::schema::membership(&db)?;
    if let Some(id) = ins.identity.member_id {
        if !members.members.iter().any(|m| m.id == id) {
            impossible(
                plan,
                format!(
                    "it does not list this member ({id:016x}): it comes from another cluster, \
                     or from before this member was added"
                ),
            );
            return Ok(());
        }
    }
    let (above, last) = match replay_onto(ins, ci) {
        Ok(x) => x,
        Err(why) => {
            impossible(plan, why);
            return Ok(());
        }
    };
    // A saved snapshot's db part, or a db file whole (bbolt may have grown it past its
    // high-water mark).
    let size = match trailer.state {
        TrailerState::Valid => trailer.db_len,
        _ => trailer.file_size,
    };
    let Some(db_path) = ins.dir.snap.as_ref().map(|d| d.join("db")) else {
        impossible(plan, "the member has no snap dir".into());
        return Ok(());
    };
    plan.kind = repair::PlanKind::DbRebuild;
    plan.summary = format!(
        "db_rebuild from {}: its db (consistent index {ci}) replaces this member's{}; {}{}",
        file.display(),
        if db_path.exists() { "" } else { " (gone)" },
        if last > ci {
            format!(
                "etcd re-applies the {} WAL entries {}..{last} on start",
                last - ci,
                ci + 1
            )
        } else {
            "the WAL holds nothing after it".to_owned()
        },
        if above.is_empty() {
            String::new()
        } else {
            format!(
                " (the {} .snap file(s) above index {ci} move into the backup)",
                above.len()
            )
        }
    );
    plan.reasons = vec![format!(
        "{} checks clean{}, lists this member, and this member's WAL holds every entry after \
         its consistent index",
        file.display(),
        if trailer.state == TrailerState::Valid {
            " and its SHA-256 trailer matches"
        } else {
            ""
        }
    )];
    plan.changes.clear();
    if let Ok(m) = std::fs::metadata(&db_path) {
        plan.changes.push(repair::FileChange::Remove {
            path: db_path.clone(),
            size: m.len(),
        });
    }
    plan.changes.push(repair::FileChange::CopyFrom {
        path: db_path,
        from: std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
        size,
    });
    plan.changes.extend(
        above
            .into_iter()
            .map(|(path, size, _)| repair::FileChange::Remove { path, size }),
    );
    plan.kept.last_index = last;
    plan.kept.db_consistent_index = Some(ci);
    plan.dropped = repair::Dropped::default();
    plan.loses_committed_data = false;
    Ok(())
}

/// bbolt cannot use the tree of the db's last transaction (a page it cannot walk), while
/// the other meta page's tree, one transaction older, is intact: overwrite the active meta
/// with the other one (`bbolt surgery revert-meta-page`), so bbolt opens the older tree
/// and etcd re-applies the WAL entries above its consistent index. Needs an intact WAL that
/// holds those entries, and the `.snap` files above that index moved into the backup (etcd
/// would look for their db otherwise). Returns whether the plan became this one.
fn db_revert_meta(ins: &Inspection, plan: &mut RepairPlan) -> bool {
    use etcd_snap::bolt::Db;
    let Some(path) = ins.dir.snap.as_ref().map(|d| d.join("db")) else {
        return false;
    };
    let Ok(db) = Db::open(&path) else {
        return false;
    };
    let Ok(Some(revert)) = db.revert_meta() else {
        return false;
    };
    let Some(older) = Db::open(&path)
        .ok()
        .and_then(|d| d.at_meta(revert.from_slot))
    else {
        return false;
    };
    if older.meta().txid >= db.meta().txid || !older.check().is_ok_and(|r| r.is_clean()) {
        return false;
    }
    let Some(ci) = etcd_snap::schema::meta(&older)
        .ok()
        .and_then(|m| m.consistent_index)
    else {
        return false;
    };
    let Ok((above, last)) = replay_onto(ins, ci) else {
        return false;
    };
    let size = db.file_size();
    plan.kind = repair::PlanKind::DbRevertMeta;
    let replay = last.saturating_sub(ci);
    let moved = if above.is_empty() {
        String::new()
    } else {
        format!(
            " and the {} .snap file(s) above index {ci} moved into the backup",
            above.len()
        )
    };
    plan.summary = format!(
        "db_revert_meta: bbolt cannot use the tree of the db's last transaction (txid {}), but \
         the one before (txid {}, consistent index {ci}) is intact: with meta page {} \
         copied over meta page {}{moved}, bbolt opens that tree and etcd re-applies the {replay} \
         WAL entries {}..{last}; nothing is lost",
        db.meta().txid,
        older.meta().txid,
        revert.from_slot,
        revert.to_slot,
        ci + 1,
    );
    plan.reasons.push(format!(
        "etcd refuses to start: {}",
        ins.boot
            .etcd_error
            .as_deref()
            .unwrap_or("bbolt cannot open the db")
    ));
    plan.reasons.push(format!(
        "the tree of meta page {} (txid {}) checks clean: every page reachable, every key in \
         order",
        revert.from_slot,
        older.meta().txid
    ));
    plan.changes = vec![repair::FileChange::Overwrite {
        path: path.clone(),
        size,
        offset: revert.offset,
        old: revert.old,
        new: revert.new,
        what: format!("meta page {}", revert.to_slot),
    }];
    plan.changes.extend(
        above
            .into_iter()
            .map(|(path, size, _)| repair::FileChange::Remove { path, size }),
    );
    plan.kept.last_index = last;
    plan.kept.db_consistent_index = Some(ci);
    true
}

/// Why the member has no db etcd can use.
enum LostDb {
    /// The file is gone.
    Missing,
    /// bbolt refuses to open it (both metas bad, a page it cannot walk, a truncated file):
    /// etcd's error.
    Unusable(String),
}

/// The db is gone, or bbolt refuses it (etcd stops at start: "failed to find database
/// snapshot file", "checksum error", "freepages: failed to get all reachable pages …").
/// When the WAL holds every entry from index 1, intact, etcd rebuilds the db itself:
/// without a db and without `.snap` files it creates an empty db and replays the whole log,
/// with the same revisions. The plan moves the unusable db and the `.snap` files into the
/// backup; otherwise it says what to give instead.
fn db_from_wal(ins: &Inspection, plan: &mut RepairPlan, lost: LostDb) {
    let first = ins.history.first_index();
    let last = ins.scan.segments.iter().filter_map(|s| s.last_index).max();
    let mut moved: Vec<(PathBuf, u64)> = ins
        .dir
        .snap
        .as_ref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
                .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
                .collect()
        })
        .unwrap_or_default();
    moved.sort();
    let snaps = moved.len();
    let (what, needs_snaps) = match &lost {
        LostDb::Missing => ("the db is gone".to_owned(), true),
        LostDb::Unusable(why) => {
            let db = ins.dir.snap.as_ref().map(|d| d.join("db"));
            if let Some(db) = db {
                if let Ok(m) = std::fs::metadata(&db) {
                    moved.insert(0, (db, m.len()));
                }
            }
            (format!("bbolt cannot use the db ({why})"), false)
        }
    };
    match (first, last) {
        (Some(1), Some(last)) if ins.scan.findings.is_empty() && (snaps > 0 || !needs_snaps) => {
            plan.kind = repair::PlanKind::DbRebuild;
            let moving = match (&lost, snaps) {
                (LostDb::Missing, n) => format!("the {n} .snap file(s) moved into the backup"),
                (LostDb::Unusable(_), 0) => "the db moved into the backup".to_owned(),
                (LostDb::Unusable(_), n) => {
                    format!("the db and the {n} .snap file(s) moved into the backup")
                }
            };
            plan.summary = format!(
                "db_rebuild: {what}, but the WAL holds every entry from index 1 to {last}: \
                 with {moving}, etcd creates an empty db and replays the whole log into it \
                 (the same revisions); nothing is lost"
            );
            plan.reasons.push(match lost {
                LostDb::Missing => "etcd looks for the db of the newest .snap and refuses \
                     without it; without .snap files it starts from index 1"
                    .into(),
                LostDb::Unusable(why) => format!(
                    "etcd refuses to start: {why}; without a db and .snap files it starts \
                     from index 1"
                ),
            });
            plan.changes = moved
                .into_iter()
                .map(|(path, size)| repair::FileChange::Remove { path, size })
                .collect();
            plan.kept.last_index = last;
            plan.kept.db_consistent_index = None;
        }
        _ => {
            plan.kind = repair::PlanKind::Impossible;
            let data = ins.dir.data_dir.display().to_string();
            let salvage = match (&lost, ins.dir.db()) {
                (LostDb::Unusable(_), Some(db)) => format!(
                    "; or salvage what is readable (the records of unreadable pages are \
                     lost; single-member clusters): `wal-inspect db salvage {} --out {}`, \
                     then `wal-inspect repair {} --from {}`",
                    crate::runbook::shell_quote(&db.display().to_string()),
                    crate::runbook::shell_quote(&format!("{data}.salvaged.db")),
                    crate::runbook::shell_quote(&data),
                    crate::runbook::shell_quote(&format!("{data}.salvaged.db")),
                ),
                _ => String::new(),
            };
            plan.summary = format!(
                "nothing can be done here alone: {what} and the WAL does not hold the whole \
                 history from index 1; run this command again with `--from` and a \
                 `snapshot save` file or a peer's db whose consistent index this member's \
                 WAL reaches, or, for a cluster member, rejoin it to copy the data from a \
                 peer (`--peer-dir` another member's dir for the runbook){salvage}"
            );
            plan.reasons.push(format!(
                "the WAL's first entry is {}",
                first.map_or("unknown".to_owned(), |f| f.to_string())
            ));
        }
    }
}

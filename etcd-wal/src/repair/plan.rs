//! Choosing the plan: fix, else etcd's own tail repair or a cut, else a rebuild; a rejoin
//! instead for a cluster member that would lose entries it may have acknowledged.

use super::collect::{EntryAt, Place, collect};
use super::cut::{account, cut_changes, kept_hard_state};
use super::patch::try_fix;
use super::rebuild::rebuild;
use super::{Dropped, Kept, KeptHardState, PlanKind, RepairInput, RepairPlan, apply};
use crate::error::Error;
use crate::finding::Finding;
use crate::predict::{self, Context, Outcome};

/// Where a finding makes us cut.
fn cut_of(f: &Finding) -> Place {
    f.at.key()
}

pub(super) fn before(e: &EntryAt, cut: Place) -> bool {
    e.place() < cut
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
    let prediction = input
        .prediction
        .clone()
        .unwrap_or_else(|| predict::predict(&scan, &ctx));
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
        rejoin_offered: false,
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
            return rebuild(input, &scan, &c, p);
        }
        p.summary = "nothing to repair: every record verifies".into();
        return Ok(p);
    };

    // 1. fix: one damaged byte.
    match try_fix(&scan, &c) {
        Ok(change) => {
            p.kind = PlanKind::Fix;
            p.kept.last_index = last_index_all;
            p.kept.hard_state = scan.last_hard_state.map(KeptHardState::from);
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
            return rebuild(input, &scan, &c, p);
        }
    } else {
        p.reasons.push(
            "the db's consistent index is unknown (no db was read): the cut cannot be checked \
             against what the db has applied, and every dropped entry is counted as lost; give \
             the member dir (holding snap/db) instead of the WAL dir to plan with it"
                .into(),
        );
    }
    account(&mut p, &scan, &c, cut, ci, kept_last);
    p.kept.last_index = kept_last;
    p.kept.hard_state = kept_hard_state(&scan, cut).map(KeptHardState::from);
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

/// For a member of a multi-member cluster: a rejoin is offered, and when the plan drops
/// entries the member may have acknowledged, rejoin becomes the plan.
pub(super) fn cluster_guard(input: &RepairInput, p: &mut RepairPlan) {
    if input.voters.is_none_or(|v| v <= 1) {
        return;
    }
    p.rejoin_offered = true;
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

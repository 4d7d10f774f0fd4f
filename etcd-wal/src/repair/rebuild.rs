//! The rebuild plan: a new WAL for the same member and cluster, starting from a snapshot
//! record at the db's consistent index, a matching `.snap` with the membership data, a
//! consistent HardState and every intact entry beyond the consistent index.

use std::collections::BTreeSet;

use etcd_proto::RaftPos;

use super::collect::{Collected, Place};
use super::plan::cluster_guard;
use super::{
    Dropped, FileChange, Kept, KeptHardState, MAX_KEYS, MAX_REBUILD_BYTES, PlanKind, RepairInput,
    RepairPlan,
};
use crate::error::Error;
use crate::payload::KeyRange;
use crate::pb::raftpb::HardState;
use crate::record::RecordType;
use crate::scan::Scan;
use crate::segment::SegmentName;
use crate::writer::{SEGMENT_SIZE, SegmentBuilder};

/// Rebuild the WAL from the db's consistent index on.
pub(super) fn rebuild(
    input: &RepairInput,
    scan: &Scan,
    c: &Collected,
    mut p: RepairPlan,
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
    let mut lost_at: BTreeSet<Place> = BTreeSet::new();
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
            lost_at.insert(e.place());
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
    for (place, ks) in &c.keys_after_damage {
        if lost_at.contains(place) {
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
        snapshot: Some(RaftPos::new(ci, term)),
        hard_state: Some(KeptHardState {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
        }),
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

//! A cut at the first damage (etcd's own tail repair, or a truncate): what it drops and
//! the file operations it takes.

use std::collections::BTreeSet;

use super::collect::{Collected, Place};
use super::plan::before;
use super::{Dropped, FileChange, MAX_KEYS, RepairPlan};
use crate::payload::KeyRange;
use crate::scan::{HardStateAt, Scan};

pub(super) fn kept_hard_state(scan: &Scan, cut: Place) -> Option<HardStateAt> {
    // The last HardState before the cut: the scan keeps only the last one before the first
    // damage, which is the one before the cut whenever the cut is the first damage.
    scan.hard_state.filter(|h| h.at.key() < cut)
}

pub(super) fn account(
    p: &mut RepairPlan,
    scan: &Scan,
    c: &Collected,
    cut: Place,
    ci: Option<u64>,
    kept_last: u64,
) {
    let commit = scan.last_hard_state.map_or(0, |h| h.commit);
    let mut d = Dropped {
        records: c.records.iter().filter(|&&r| r >= cut).count() as u64,
        ..Dropped::default()
    };
    let mut lost_at: BTreeSet<Place> = BTreeSet::new();
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
            lost_at.insert(e.place());
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
    for (place, ks) in &c.keys_after_damage {
        if lost_at.contains(place) {
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
pub(super) fn cut_changes(scan: &Scan, cut: Place) -> Vec<FileChange> {
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

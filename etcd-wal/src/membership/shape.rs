//! The (index, term) shape of a log as term runs, and how two members' logs compare.

use std::cmp::Ordering;

use etcd_proto::RaftPos;

/// Consecutive raft indexes `first..=last` written with one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TermRun {
    /// First index (inclusive).
    pub first: u64,
    /// Last index (inclusive).
    pub last: u64,
    /// Term of every entry in the run.
    pub term: u64,
}

/// Where two logs part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Divergence {
    /// First index held by both logs with different terms.
    pub index: u64,
    /// Its term in the first log.
    pub term_a: u64,
    /// Its term in the second log.
    pub term_b: u64,
}

/// How two logs relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LogComparison {
    /// Indexes both logs hold: (first, last), inclusive.
    pub common: Option<(u64, u64)>,
    /// The first common index whose term differs (raft's log matching property: the logs
    /// agree on every index before it, and on none from it on).
    pub divergence: Option<Divergence>,
}

/// Compare two logs given as term runs (see [`History::terms`](super::History::terms)).
pub fn compare_logs(a: &[TermRun], b: &[TermRun]) -> LogComparison {
    let (Some(af), Some(al), Some(bf), Some(bl)) = (a.first(), a.last(), b.first(), b.last())
    else {
        return LogComparison {
            common: None,
            divergence: None,
        };
    };
    let lo = af.first.max(bf.first);
    let hi = al.last.min(bl.last);
    if lo > hi {
        return LogComparison {
            common: None,
            divergence: None,
        };
    }
    let mut divergence = None;
    let (mut i, mut j) = (0usize, 0usize);
    while let (Some(ra), Some(rb)) = (a.get(i), b.get(j)) {
        let start = ra.first.max(rb.first).max(lo);
        let end = ra.last.min(rb.last).min(hi);
        if start <= end && ra.term != rb.term {
            divergence = Some(Divergence {
                index: start,
                term_a: ra.term,
                term_b: rb.term,
            });
            break;
        }
        if ra.last <= rb.last {
            i += 1;
        } else {
            j += 1;
        }
    }
    LogComparison {
        common: Some((lo, hi)),
        divergence,
    }
}

/// Raft's "at least as up-to-date" order (`raft/log.go` `isUpToDate`): the higher last
/// term wins, then the higher last index. The greatest log holds every committed entry.
pub fn up_to_date_cmp(a: Option<RaftPos>, b: Option<RaftPos>) -> Ordering {
    let key = |x: Option<RaftPos>| x.map(RaftPos::term_then_index);
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(v: &[(u64, u64, u64)]) -> Vec<TermRun> {
        v.iter()
            .map(|&(first, last, term)| TermRun { first, last, term })
            .collect()
    }

    #[test]
    fn compare_logs_finds_first_differing_term() {
        let a = runs(&[(1, 10, 1), (11, 20, 2), (21, 30, 4)]);
        let b = runs(&[(1, 10, 1), (11, 24, 2), (25, 26, 3)]);
        let c = compare_logs(&a, &b);
        assert_eq!(c.common, Some((1, 26)));
        assert_eq!(
            c.divergence,
            Some(Divergence {
                index: 21,
                term_a: 4,
                term_b: 2
            })
        );
        // A prefix does not diverge.
        let p = runs(&[(1, 10, 1), (11, 15, 2)]);
        assert_eq!(compare_logs(&a, &p).divergence, None);
        assert_eq!(compare_logs(&a, &p).common, Some((1, 15)));
        // Disjoint ranges (purged WAL).
        let late = runs(&[(40, 50, 4)]);
        assert_eq!(compare_logs(&a, &late).common, None);
        // Partial overlap starting mid-run.
        let mid = runs(&[(15, 22, 2)]);
        assert_eq!(
            compare_logs(&a, &mid).divergence,
            Some(Divergence {
                index: 21,
                term_a: 4,
                term_b: 2
            })
        );
    }

    #[test]
    fn up_to_date_order_is_term_then_index() {
        assert_eq!(
            up_to_date_cmp(Some(RaftPos::new(10, 3)), Some(RaftPos::new(100, 2))),
            Ordering::Greater
        );
        assert_eq!(
            up_to_date_cmp(Some(RaftPos::new(10, 3)), Some(RaftPos::new(11, 3))),
            Ordering::Less
        );
        assert_eq!(
            up_to_date_cmp(None, Some(RaftPos::new(1, 1))),
            Ordering::Less
        );
    }
}

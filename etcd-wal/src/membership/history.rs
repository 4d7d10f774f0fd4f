//! [`History`]: the membership entries and the log shape read from one WAL directory.

use etcd_proto::RaftPos;

use crate::pb;

use super::change::{AttributesChange, MemberChange};
use super::shape::TermRun;

/// Membership history and log shape of one WAL directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct History {
    /// Node and cluster ID from the first metadata record.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub metadata: Option<pb::etcdserverpb::Metadata>,
    /// Commit index of the last HardState read before the first damage.
    pub commit: Option<u64>,
    /// ConfChanges in log order (overwritten ones dropped; after-damage ones flagged).
    pub changes: Vec<MemberChange>,
    /// Attribute publications in log order (same rules).
    pub attributes: Vec<AttributesChange>,
    /// The log as etcd reads it (before the first damage, overwrites applied), as term runs.
    pub terms: Vec<TermRun>,
    /// Whether `terms` hit its cap (100,000 runs); later entries are not in it.
    pub terms_truncated: bool,
    /// Entries that a later entry with the same or a lower index replaced.
    pub overwritten: u64,
}

impl History {
    /// First index of the log (before damage).
    pub fn first_index(&self) -> Option<u64> {
        self.terms.first().map(|r| r.first)
    }

    /// Last entry of the log (before damage).
    pub fn last(&self) -> Option<RaftPos> {
        self.terms.last().map(|r| RaftPos::new(r.last, r.term))
    }

    /// Term of the entry at `index`, if the log holds it.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        let pos = self.terms.partition_point(|r| r.last < index);
        self.terms
            .get(pos)
            .filter(|r| r.first <= index)
            .map(|r| r.term)
    }
}

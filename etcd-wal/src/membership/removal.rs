//! Whether a member's own WAL removes it: the RemoveNode etcd would replay for this node.

use crate::location::WalLocation;

use super::change::ChangeKind;
use super::history::History;

/// The entry that removes this member, as etcd would replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Removal {
    /// Raft index of the RemoveNode entry.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// Where the entry is.
    pub at: WalLocation,
    /// Whether the last HardState (before damage) commits it. A committed removal is
    /// applied during replay: etcd logs "the member has been permanently removed from the
    /// cluster" and stops (exit code 0, measured on 3.5.1 and 3.4.23). An uncommitted one is
    /// applied once a leader commits it — or the peers, which already removed the member,
    /// answer it with the same error.
    pub committed: bool,
}

/// The RemoveNode of `node_id` (the WAL metadata's node ID) in the log etcd replays (before
/// the first damage, not overwritten), if any: a data dir that etcd will refuse to serve.
pub fn removed_self(history: &History, node_id: u64) -> Option<Removal> {
    let c = history
        .changes
        .iter()
        .rev()
        .find(|c| c.before_damage && c.kind == ChangeKind::Remove && c.node_id == node_id)?;
    Some(Removal {
        index: c.index,
        term: c.term,
        at: c.at,
        committed: history.commit.is_some_and(|commit| commit >= c.index),
    })
}

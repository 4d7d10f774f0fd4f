//! A raft log position.

use std::fmt;

/// A position in the raft log: an entry's (or a snapshot's) index and term.
///
/// Named fields, never a tuple: the formats order them both ways (`.snap` names are
/// `<term>-<index>`, WAL snapshot records `index, term`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RaftPos {
    /// Raft index (1-based; 0 for "before the first entry").
    pub index: u64,
    /// Raft term.
    pub term: u64,
}

impl RaftPos {
    /// A position.
    pub const fn new(index: u64, term: u64) -> RaftPos {
        RaftPos { index, term }
    }

    /// The key etcd sorts `.snap` files by (their names are `%016x-%016x` of term, then
    /// index), which is also raft's "more up to date" order: term first, then index.
    pub const fn term_then_index(self) -> (u64, u64) {
        (self.term, self.index)
    }
}

impl fmt::Display for RaftPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "index {} term {}", self.index, self.term)
    }
}

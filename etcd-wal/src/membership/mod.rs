//! Cluster membership as a WAL records it: every ConfChange (add, learner add, promotion,
//! update, removal) and every member-attribute publication with its raft index, whether this
//! member's own WAL removes it, and the (index, term) shape of the log for comparing members.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = testdata::clean("v35-removed-member")?;
//! # let wal = fixture.path().join("data/m3/member/wal");
//! let (scan, history) = etcd_wal::membership::read_history(&wal)?;
//! let node_id = scan.metadata.as_ref().map(|m| m.node_id).expect("a metadata record");
//! let r = etcd_wal::membership::removed_self(&history, node_id).expect("m3 removed itself");
//! println!("removed at index {} ({})", r.index, r.at);
//! assert!(r.committed);
//! # Ok(()) }
//! ```
//!
//! What etcd 3.4/3.5 do with these entries (`etcdserver/server.go` `applyConfChange`,
//! `membership/cluster.go`): a RemoveNode of the server's own ID, once applied, makes it log
//! "the member has been permanently removed from the cluster" and "data-dir used by this
//! member must be removed" and stop with exit code 0 (measured on 3.5.1 and 3.4.23). A learner
//! promotion is an AddNode whose context JSON has `"isPromote":true`. Member names and client
//! URLs are published later by a v2 `PUT /0/members/<hex id>/attributes` entry (3.4/3.5), or
//! an `InternalRaftRequest.cluster_member_attr_set` (3.5+ when the cluster version allows).
//!
//! The log is read as etcd's `ReadAll` reads it: an entry whose index is not above the last
//! one replaces the earlier entries from that index on (a new leader overwrote them), and
//! entries after the first damage are not part of it (they are kept, flagged, for forensics).

mod builder;
mod change;
mod decode;
mod history;
mod removal;
mod shape;
mod state;

pub use builder::{HistoryBuilder, read_history};
pub use change::{AttributesChange, ChangeKind, MemberChange};
pub use history::History;
pub use removal::{Removal, removed_self};
pub use shape::{Divergence, LogComparison, TermRun, compare_logs, up_to_date_cmp};
pub use state::MemberState;

//! `snapshot restore`: build a new data dir from a `snapshot save` file, a bare db file or
//! a member's `snap/db`, with the same result as `etcdutl snapshot restore` 3.5
//! (etcd 3.5 `etcdutl/snapshot/v3_snapshot.go`; spec: docs section 11.4).
//!
//! Steps:
//! 1. check the flags and compute member and cluster IDs ([`ids`]);
//! 2. refuse a non-empty data dir or an existing WAL dir;
//! 3. copy the db into a temp dir beside the data dir, SHA-256 on the way, and compare
//!    with the trailer (unless skipped; a file without trailer needs `skip_hash_check`,
//!    a member's `snap/db` never has one and is copied unchecked, saying so);
//! 4. patch the copy copy-on-write ([`crate::bolt::write::Patcher`]): `members` holds
//!    exactly the new members, `members_removed` is emptied, `cluster` created if missing,
//!    `meta/consistent_index` = N and `meta/term` = 1 (and with `--bump-revision`, a
//!    bump marker after the last revision plus `meta/scheduledCompactRev`). Every other
//!    page of the source is kept as is; only the changed buckets, the root bucket and
//!    the path to the bump marker are written anew, after the source's high-water mark;
//! 5. write the WAL (crc, metadata, snapshot {0,0}, one AddNode ConfChange per member,
//!    HardState, snapshot {N,1,conf_state}) in one 64,000,000-byte segment and the
//!    `.snap` file ([`snap`]);
//! 6. fsync everything and rename the temp dir into place.

mod build;
mod commits;
mod compact;
mod config;
pub mod copy;
mod db;
mod error;
pub mod ids;
mod layout;
mod report;
mod run;
pub mod snap;
mod wal;

pub use compact::Compacted;
pub use config::{RestoreConfig, RestoreTarget};
pub use copy::{Extracted, extract};
pub use db::bump_revision;
pub use error::RestoreError;
pub use ids::{NewCluster, NewMember, cluster_id, member_id};
pub use report::{HashCheck, RestoreReport};
pub use run::restore;
pub use wal::{encode_conf_change, wal_segment, wal_segment_for};

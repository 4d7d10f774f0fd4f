//! What etcd will do with a member's data dir: the whole verdict in one library.
//!
//! `etcd-wal` reads WAL segments and `etcd-snap` reads `.snap` files and the bolt db; this
//! crate puts them together as etcd does at start ([`boot`]), names every piece of damage
//! in decisive order ([`Finding`]), says who the member is ([`identity`]), cross-checks the
//! db's values against the WAL ([`crosscheck`]), and guards every operation that changes a
//! data dir against a live etcd ([`live`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = testdata::case("v35-wal-flip-entry-mid")?;
//! # let data_dir = fixture.0.path().join("data/m1");
//! let inspection = etcd_member::inspect(&data_dir, &etcd_member::Options::default())?;
//! assert_eq!(inspection.outcome(), etcd_member::Outcome::Refuses);
//! let first = &inspection.findings()[0];
//! assert_eq!(first.kind.as_str(), "crc_mismatch");
//! println!("{}: {}{}: {}", first.kind, first.file, first.place(), first.message);
//! # Ok(()) }
//! ```
//!
//! # API structure
//! - [`inspect`] → [`Inspection`]: the WAL pass, the `.snap` pick, the db report, the boot
//!   verdict ([`Inspection::outcome`], [`Inspection::wedged`]) and every
//!   [`Finding`] (serialized exactly as `wal-inspect verify --json` prints them).
//! - [`MemberDir`]: what a path names (data dir, member dir, WAL dir) — one definition.
//! - [`boot`]: etcd's start, step by step, as a pure function of the facts read.
//! - [`identity`]: member and cluster IDs, name and URLs, removal, log position.
//! - [`crosscheck`]: the db's values against the WAL's writes.
//! - [`live`]: is a live etcd holding these files; the guard for writers.
//! - [`repair`]: the repair plan of a member, from whichever path names it.
//! - [`cluster`], [`config`], [`runbook`]: the cluster's names and URLs from every source,
//!   the member's configuration (env file, config file, static pod), and every command the
//!   tool tells an operator to run, as literal argv.
//! - [`configcheck`]: what that configuration does with this data dir and its cluster
//!   (etcd's start rules, with etcd's error texts).
//! - [`consistency`]: etcd's HashKV of each member's db at one revision, the odd member by
//!   majority, the first differing key (`members --hashkv`).
//! - [`recover`]: quorum-loss recovery across the members' dirs: what was committed, the db
//!   and log that keep it, the recovered data dir and its runbook.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod boot;
pub mod cluster;
pub mod config;
pub mod configcheck;
pub mod consistency;
pub mod crosscheck;
mod error;
pub mod finding;
pub mod identity;
mod inspect;
pub mod live;
mod paths;
pub mod recover;
pub mod release;
pub mod repair;
pub mod runbook;
pub mod summary;

pub use error::{Error, ErrorKind};
pub use etcd_wal::predict::Outcome;
pub use finding::{Detail, Finding, FindingKind, Location};
pub use inspect::{Inspection, Note, NoteKind, Options, ReleaseVerdict, inspect, inspect_dir};
pub use paths::{MemberDir, absolute};
pub use summary::Summary;

//! Read etcd's snapshot-side data — bbolt db files with etcd's MVCC schema, `.snap` files,
//! `snapshot save` files — read-only, in bounded memory, never panicking on damaged input.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = testdata::clean("v35-single")?;
//! # let saved = fixture.path().join("snapshot.db");
//! # let member_db = fixture.path().join("data/m1/member/snap/db");
//! // What `etcdutl snapshot status` prints, and whether bolt's pages check out.
//! let report = etcd_snap::member::inspect_db(&saved)?;
//! let st = report.etcdutl.as_ref().expect("an undamaged db");
//! println!("hash {:08x} revision {} keys {}", st.hash, st.revision, st.total_keys);
//! assert!(report.check.is_clean());
//!
//! // The keyspace at the latest revision.
//! let db = etcd_snap::bolt::Db::open(&member_db)?;
//! for (key, live) in etcd_snap::mvcc::live_keys(&db, None, b"k/")?.keys.iter().take(3) {
//!     println!("{} @ {}", etcd_proto::text::escape_bytes(key), live.mod_revision);
//! }
//! # Ok(()) }
//! ```
//!
//! API structure:
//! - [`bolt`]: our own bbolt reader ([`bolt::Db`], [`bolt::Cursor`], [`bolt::Db::check`]).
//! - [`mvcc`]: the `key` bucket — revisions, live keys, a key's history.
//! - the db's values against the WAL's writes (silent value damage): `etcd_member::crosscheck`.
//! - [`schema`]: `meta`, `members`, `lease`, `alarm`, `cluster`, `auth*` buckets.
//! - [`snapfile`]: `.snap` files; [`v2store`]: the members in their v2 store JSON.
//! - [`snapdir`]: which `.snap` etcd would load ([`snapdir::inspect_snap_dir`]), leftovers.
//! - [`hash`]: the SHA-256 trailer of `snapshot save` files.
//! - [`status`]: `etcdutl snapshot status` numbers and more.
//! - [`member`]: one report over a `member/` directory's snap side.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod bolt;
mod bytes;
mod error;
pub mod hash;
pub mod hashkv;
pub mod member;
pub mod mvcc;
pub mod restore;
pub mod salvage;
pub mod schema;
pub mod sha_stream;
pub mod snapdir;
pub mod snapfile;
pub mod space;
pub mod status;
pub mod v2store;

pub use error::{Error, ErrorInfo, ErrorKind, Result};
pub use member::{
    MemberReport, inspect_member, inspect_member_db, inspect_member_db_visiting,
    inspect_member_with, resolve_db_path,
};

//! Read etcd's snapshot-side data — bbolt db files with etcd's MVCC schema, `.snap` files,
//! `snapshot save` files — read-only, in bounded memory, never panicking on damaged input.
//!
//! ```no_run
//! # fn main() -> etcd_snap::Result<()> {
//! let st = etcd_snap::status::status("snapshot.db")?;
//! println!("hash {} revision {} keys {}", st.etcdutl.hash, st.etcdutl.revision, st.etcdutl.total_keys);
//!
//! let db = etcd_snap::bolt::Db::open("member/snap/db")?;
//! for (key, live) in etcd_snap::mvcc::live_keys(&db, None, b"/registry/")?.keys {
//!     println!("{} @ {}", etcd_snap::escape(&key), live.mod_revision);
//! }
//! # Ok(()) }
//! ```
//!
//! API structure:
//! - [`bolt`]: our own bbolt reader ([`bolt::Db`], [`bolt::Cursor`], [`bolt::Db::check`]).
//! - [`mvcc`]: the `key` bucket — revisions, live keys, a key's history.
//! - [`crosscheck`]: the db's values against the WAL's writes (silent value damage).
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
pub mod crosscheck;
mod error;
pub mod hash;
pub mod hashkv;
pub mod identity;
pub mod member;
pub mod mvcc;
pub mod restore;
pub mod schema;
pub mod sha_stream;
pub mod snapdir;
pub mod snapfile;
pub mod status;
pub mod v2store;

pub use bytes::escape;
pub use error::{Error, ErrorInfo, Result};
pub use member::{MemberReport, inspect_member, resolve_db_path};

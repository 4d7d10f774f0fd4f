//! The vocabulary etcd's on-disk formats share: protobuf messages, the wire encoding,
//! `.snap` encoding, raft positions, and how IDs and bytes are written for people.
//!
//! `etcd-wal` (WAL segments) and `etcd-snap` (`.snap` files, the bolt db) both build on this
//! crate and on nothing of each other.
//!
//! ```
//! use etcd_proto::{RaftPos, text};
//! let at = RaftPos { index: 1253, term: 2 };
//! assert_eq!(at.to_string(), "index 1253 term 2");
//! assert_eq!(text::member_id(0x8e9e05c52164694d), "8e9e05c52164694d");
//! assert_eq!(text::escape_bytes(b"a\nb\xff"), "a\\nb\\xff");
//! ```
//!
//! # API structure
//! - [`pb`]: `prost` types of every message etcd writes into a WAL, a `.snap` or the db.
//! - [`wire`]: a zero-copy protobuf reader that fails the way gogoproto fails, and encoders.
//! - [`snap`]: the one `.snap` encoder (`snappb.Snapshot` around a `raftpb.Snapshot`).
//! - [`RaftPos`]: a raft log position (index and term, named, never a tuple).
//! - [`text`]: byte escaping for terminals, IDs as etcd prints them.
//! - [`json`] (feature `serde`): bytes and IDs as JSON.
//! - [`names`]: the names etcd's Go code prints for protobuf enums.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

#[cfg(feature = "serde")]
pub mod crc32c;
pub mod json;
pub mod names;
pub mod pb;
mod raft_pos;
pub mod snap;
pub mod text;
pub mod wire;

pub use raft_pos::RaftPos;

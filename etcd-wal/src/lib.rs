//! Read, verify, repair and write etcd's write-ahead log (WAL).
//!
//! etcd 3.4/3.5 refuse to start with `walpb: crc mismatch` and say nothing about where.
//! This crate reads a WAL directory exactly as etcd's decoder does, record by record, and
//! reports every piece of damage with its segment, byte offset, record ordinal, record type
//! and raft index/term, then predicts what etcd will do with it.
//!
//! # API structure
//! - [`scan::scan_dir`]: one pass over all segments → [`scan::Scan`] (findings, per-segment
//!   counts, HardState, snapshot records).
//! - [`segment`]: segment names and the directory listing; [`reader`]: bounded positioned
//!   reads; [`frame`], [`record`], [`wire`], [`crc`], [`torn`]: the format, piece by piece.
//! - [`pb`]: prost types of the payloads.
//!
//! Reading never writes, locks or renames anything.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod crc;
mod error;
pub mod finding;
pub mod frame;
pub mod location;
pub mod membership;
pub mod payload;
pub mod predict;
pub mod progress;
pub mod reader;
pub mod record;
pub mod repair;
pub mod scan;
pub mod segment;
pub mod torn;
pub mod writer;

pub use error::{Error, ErrorKind};
pub use etcd_proto::{RaftPos, pb, wire};
pub use finding::{EtcdReaction, Finding, FindingBuilder, FindingKind};
pub use location::WalLocation;
pub use progress::{Progress, Stage};
pub use record::RecordType;

//! Protobuf messages found in etcd's WAL and snap files, as `prost` types.
//!
//! Hand-written `#[derive(prost::Message)]` structs (no `protoc` at build time). Field
//! numbers follow etcd 3.4/3.5 (`raft/raftpb/raft.proto`, `wal/walpb/record.proto`,
//! `etcdserver/etcdserverpb/etcdserver.proto`); see `docs/wal-format.md`.
//!
//! proto2 scalars are modelled as plain values with zero defaults: gogoproto in etcd
//! 3.4–3.6 always emits them, and newer encoders that omit zero values decode the same.
//! These types copy `bytes` fields; the verify path uses the zero-copy decoders in
//! `etcd_wal::record` instead and reaches for these only to decode a payload fully.

pub mod authpb;
pub mod etcdserverpb;
pub mod leasepb;
pub mod membershippb;
pub mod mvccpb;
pub mod raftpb;
pub mod walpb;

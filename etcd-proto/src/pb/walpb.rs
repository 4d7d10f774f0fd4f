//! `walpb` messages (etcd `wal/walpb/record.proto`).

use super::raftpb::ConfState;

/// One WAL record (owned form). The verify path uses the borrowed
/// `etcd_wal::record::Record` instead.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Record {
    /// Record type: 1 metadata, 2 entry, 3 state, 4 crc, 5 snapshot.
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// Running CRC-32C after this record's data.
    #[prost(uint32, tag = "2")]
    pub crc: u32,
    /// Payload; absent for crc records.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub data: Option<Vec<u8>>,
}

/// `walpb.Snapshot`: the payload of a WAL snapshot record.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Snapshot {
    /// Raft index of the snapshot.
    #[prost(uint64, tag = "1")]
    pub index: u64,
    /// Raft term of the snapshot.
    #[prost(uint64, tag = "2")]
    pub term: u64,
    /// Membership at the snapshot; written since etcd 3.5, absent in 3.4.
    #[prost(message, optional, tag = "3")]
    pub conf_state: Option<ConfState>,
}

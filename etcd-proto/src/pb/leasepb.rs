//! `leasepb` messages (etcd 3.5 `server/lease/leasepb/lease.proto`, 3.4 `lease/leasepb/`; proto3).
//!
//! Not written into WAL entries; the value stored in bbolt's `lease` bucket.

/// A lease as persisted in the `lease` bucket.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Lease {
    /// Lease ID.
    #[prost(int64, tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::hex_lease")
    )]
    pub id: i64,
    /// Granted time-to-live, in seconds.
    #[prost(int64, tag = "2")]
    pub ttl: i64,
    /// Remaining TTL in seconds at the last checkpoint (0 = not checkpointed).
    #[prost(int64, tag = "3")]
    pub remaining_ttl: i64,
}

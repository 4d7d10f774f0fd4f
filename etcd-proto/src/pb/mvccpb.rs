//! `mvccpb` messages (etcd `api/mvccpb/kv.proto`, proto3).
//!
//! Not written into WAL entries by etcd 3.4/3.5 itself; provided for the snapshot/db side
//! (values of the `key` bucket are `KeyValue`s).

/// One revision of a key: the value stored in bbolt's `key` bucket.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeyValue {
    /// The key (arbitrary bytes).
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// Revision (main) of the last creation of this key.
    #[prost(int64, tag = "2")]
    pub create_revision: i64,
    /// Revision (main) of the last modification of this key.
    #[prost(int64, tag = "3")]
    pub mod_revision: i64,
    /// Number of modifications since creation (1 after the first put; 0 = deleted).
    #[prost(int64, tag = "4")]
    pub version: i64,
    /// The value (arbitrary bytes).
    #[prost(bytes = "vec", tag = "5")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub value: Vec<u8>,
    /// Lease ID attached to the key; 0 = none.
    #[prost(int64, tag = "6")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::hex_lease")
    )]
    pub lease: i64,
}

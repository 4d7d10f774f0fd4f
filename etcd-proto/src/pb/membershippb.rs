//! `membershippb` messages (etcd 3.5 `api/membershippb/membership.proto`, proto3).
//!
//! proto `string` fields are kept as raw bytes: etcd's gogo decoder does not check UTF-8,
//! so a stricter decoder would reject entries etcd accepts.

/// A member's non-raft attributes.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Attributes {
    /// Member name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
    /// Client URLs.
    #[prost(bytes = "vec", repeated, tag = "2")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::bytes_list")
    )]
    pub client_urls: Vec<Vec<u8>>,
}

/// A member's raft attributes.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RaftAttributes {
    /// Peer URLs.
    #[prost(bytes = "vec", repeated, tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::bytes_list")
    )]
    pub peer_urls: Vec<Vec<u8>>,
    /// The member is a learner.
    #[prost(bool, tag = "2")]
    pub is_learner: bool,
}

/// A cluster member (not stored on disk by etcd; listed for completeness).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Member {
    /// Member ID.
    #[prost(uint64, tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub id: u64,
    /// Raft attributes.
    #[prost(message, optional, tag = "2")]
    pub raft_attributes: Option<RaftAttributes>,
    /// Other attributes.
    #[prost(message, optional, tag = "3")]
    pub member_attributes: Option<Attributes>,
}

/// Set the cluster version (IRR field 1300, 3.5+).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClusterVersionSetRequest {
    /// Version, e.g. `3.5.0`.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub ver: Vec<u8>,
}

/// Set a member's attributes (IRR field 1301, 3.5+).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClusterMemberAttrSetRequest {
    /// Member ID (proto name `member_ID`).
    #[prost(uint64, tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub member_id: u64,
    /// The new attributes.
    #[prost(message, optional, tag = "2")]
    pub member_attributes: Option<Attributes>,
}

/// Record the state of a cluster downgrade (IRR field 1302, 3.5+).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DowngradeInfoSetRequest {
    /// A downgrade is in progress.
    #[prost(bool, tag = "1")]
    pub enabled: bool,
    /// Target version.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub ver: Vec<u8>,
}

//! `etcdserverpb` messages written into WAL entries: the union of etcd 3.4 and 3.5
//! (`etcdserver.proto`, `raft_internal.proto`, `rpc.proto`), plus the 3.6 test field 9900.
//!
//! Field numbers were checked against etcd v3.5.1 `api/etcdserverpb/*.proto` and v3.4.23
//! `etcdserver/etcdserverpb/*.proto`. The v2 [`Request`] (InternalRaftRequest field 2, and the
//! whole payload of older v2 entries) is kept although etcd 3.7 removed it: 3.4 and 3.5 still
//! write it for member attributes, the cluster version, SYNC and QGET.
//!
//! proto `string` fields are kept as raw bytes (`Vec<u8>`): etcd's gogo decoder does not check
//! UTF-8, so a stricter decoder would reject entries that etcd applies (and would then
//! misclassify them as v2 requests). The JSON view prints them as strings when they are UTF-8.
//!
//! Enum-typed fields are `i32` (prost's convention); the enum types below convert them.

use super::authpb::{Permission, UserAddOptions};
use super::membershippb::{
    ClusterMemberAttrSetRequest, ClusterVersionSetRequest, DowngradeInfoSetRequest,
};

/// v2 store request (`etcdserverpb.Request`, proto2, etcd ≤ 3.6).
///
/// Written by gogoproto with every non-nullable field present even when zero, so `dir`
/// (field 5, varint) is always on the wire; that is what keeps such bytes from decoding as an
/// [`InternalRaftRequest`], whose field 5 is a message.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Request {
    /// Request ID (proto name `ID`).
    #[prost(uint64, tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub id: u64,
    /// Method: `PUT`, `POST`, `DELETE`, `QGET`, `SYNC`, `GET`, `HEAD` (proto name `Method`).
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub method: Vec<u8>,
    /// v2 store path, e.g. `/0/members/<hex id>/attributes` or `/0/version` (proto `Path`).
    #[prost(bytes = "vec", tag = "3")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub path: Vec<u8>,
    /// Value (proto `Val`).
    #[prost(bytes = "vec", tag = "4")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub val: Vec<u8>,
    /// Path is a directory (proto `Dir`).
    #[prost(bool, tag = "5")]
    pub dir: bool,
    /// Compare-and-swap: expected previous value (proto `PrevValue`).
    #[prost(bytes = "vec", tag = "6")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub prev_value: Vec<u8>,
    /// Compare-and-swap: expected previous modified index (proto `PrevIndex`).
    #[prost(uint64, tag = "7")]
    pub prev_index: u64,
    /// Compare-and-swap: the key must (not) exist; absent = don't care (proto `PrevExist`).
    #[prost(bool, optional, tag = "8")]
    pub prev_exist: Option<bool>,
    /// Expiration time, Unix nanoseconds; 0 = none (proto `Expiration`). JSON: RFC 3339 UTC
    /// with nanoseconds, or null for 0.
    #[prost(int64, tag = "9")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::unix_nanos")
    )]
    pub expiration: i64,
    /// Watch request (proto `Wait`).
    #[prost(bool, tag = "10")]
    pub wait: bool,
    /// Watch from this index (proto `Since`).
    #[prost(uint64, tag = "11")]
    pub since: u64,
    /// Recursive (proto `Recursive`).
    #[prost(bool, tag = "12")]
    pub recursive: bool,
    /// Sorted listing (proto `Sorted`).
    #[prost(bool, tag = "13")]
    pub sorted: bool,
    /// Quorum read (proto `Quorum`).
    #[prost(bool, tag = "14")]
    pub quorum: bool,
    /// Time of a SYNC request, Unix nanoseconds (proto `Time`). JSON: RFC 3339 UTC with
    /// nanoseconds, or null for 0.
    #[prost(int64, tag = "15")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::unix_nanos")
    )]
    pub time: i64,
    /// Streaming watch (proto `Stream`).
    #[prost(bool, tag = "16")]
    pub stream: bool,
    /// Refresh a TTL without notifying watchers; absent = false (proto `Refresh`).
    #[prost(bool, optional, tag = "17")]
    pub refresh: Option<bool>,
}

/// Header of an [`InternalRaftRequest`] (field 100).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RequestHeader {
    /// Request ID (proto name `ID`).
    #[prost(uint64, tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub id: u64,
    /// User name bound to the auth token of the client connection; empty without auth.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub username: Vec<u8>,
    /// Revision of the auth store the request was checked against (not an mvcc revision).
    #[prost(uint64, tag = "3")]
    pub auth_revision: u64,
    /// Member that proposed the request (3.7+).
    #[prost(uint64, tag = "4")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub requester_member_id: u64,
}

/// The payload of most `EntryNormal` entries: exactly one request field is set.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InternalRaftRequest {
    /// Header: request ID, user name, auth revision.
    #[prost(message, optional, tag = "100")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub header: Option<RequestHeader>,
    /// Request ID (proto name `ID`); etcd uses `header.id` when this is 0.
    #[prost(uint64, tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub id: u64,
    /// A v2 request wrapped in an IRR (≤ 3.6; never observed in real WALs).
    #[prost(message, optional, tag = "2")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub v2: Option<Request>,
    /// Linearizable range (etcd does not normally write these as entries).
    #[prost(message, optional, tag = "3")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub range: Option<RangeRequest>,
    /// Put.
    #[prost(message, optional, tag = "4")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub put: Option<PutRequest>,
    /// Delete a key or range.
    #[prost(message, optional, tag = "5")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub delete_range: Option<DeleteRangeRequest>,
    /// Transaction.
    #[prost(message, optional, tag = "6")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub txn: Option<TxnRequest>,
    /// Compaction.
    #[prost(message, optional, tag = "7")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub compaction: Option<CompactionRequest>,
    /// Lease grant.
    #[prost(message, optional, tag = "8")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub lease_grant: Option<LeaseGrantRequest>,
    /// Lease revoke (also written by the leader when a lease expires).
    #[prost(message, optional, tag = "9")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub lease_revoke: Option<LeaseRevokeRequest>,
    /// Alarm get/activate/deactivate.
    #[prost(message, optional, tag = "10")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub alarm: Option<AlarmRequest>,
    /// Lease checkpoint (3.4+, with `--experimental-enable-lease-checkpoint`).
    #[prost(message, optional, tag = "11")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub lease_checkpoint: Option<LeaseCheckpointRequest>,
    /// Enable authentication.
    #[prost(message, optional, tag = "1000")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_enable: Option<AuthEnableRequest>,
    /// Disable authentication.
    #[prost(message, optional, tag = "1011")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_disable: Option<AuthDisableRequest>,
    /// Authenticate (carries a plaintext password and the issued simple token).
    #[prost(message, optional, tag = "1012")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub authenticate: Option<InternalAuthenticateRequest>,
    /// Auth status (3.5+, 3.4.31+).
    #[prost(message, optional, tag = "1013")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_status: Option<AuthStatusRequest>,
    /// Add a user (3.4 writes the plaintext password, 3.5 a bcrypt hash).
    #[prost(message, optional, tag = "1100")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_add: Option<AuthUserAddRequest>,
    /// Delete a user.
    #[prost(message, optional, tag = "1101")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_delete: Option<AuthUserDeleteRequest>,
    /// Get a user.
    #[prost(message, optional, tag = "1102")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_get: Option<AuthUserGetRequest>,
    /// Change a user's password (3.4 plaintext, 3.5 bcrypt hash).
    #[prost(message, optional, tag = "1103")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_change_password: Option<AuthUserChangePasswordRequest>,
    /// Grant a role to a user.
    #[prost(message, optional, tag = "1104")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_grant_role: Option<AuthUserGrantRoleRequest>,
    /// Revoke a role from a user.
    #[prost(message, optional, tag = "1105")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_revoke_role: Option<AuthUserRevokeRoleRequest>,
    /// List users.
    #[prost(message, optional, tag = "1106")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_user_list: Option<AuthUserListRequest>,
    /// List roles.
    #[prost(message, optional, tag = "1107")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_role_list: Option<AuthRoleListRequest>,
    /// Add a role.
    #[prost(message, optional, tag = "1200")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_role_add: Option<AuthRoleAddRequest>,
    /// Delete a role.
    #[prost(message, optional, tag = "1201")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_role_delete: Option<AuthRoleDeleteRequest>,
    /// Get a role.
    #[prost(message, optional, tag = "1202")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_role_get: Option<AuthRoleGetRequest>,
    /// Grant a key permission to a role.
    #[prost(message, optional, tag = "1203")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_role_grant_permission: Option<AuthRoleGrantPermissionRequest>,
    /// Revoke a key permission from a role.
    #[prost(message, optional, tag = "1204")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub auth_role_revoke_permission: Option<AuthRoleRevokePermissionRequest>,
    /// Set the cluster version (3.5+ schema; 3.5.1 still uses a v2 PUT to `/0/version`).
    #[prost(message, optional, tag = "1300")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub cluster_version_set: Option<ClusterVersionSetRequest>,
    /// Set a member's attributes (3.5+ schema; 3.5.1 still uses a v2 PUT).
    #[prost(message, optional, tag = "1301")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub cluster_member_attr_set: Option<ClusterMemberAttrSetRequest>,
    /// Record downgrade state (3.5+).
    #[prost(message, optional, tag = "1302")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub downgrade_info_set: Option<DowngradeInfoSetRequest>,
    /// Test-only downgrade request (3.6+).
    #[prost(message, optional, tag = "9900")]
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub downgrade_version_test: Option<DowngradeVersionTestRequest>,
}

/// Test-only request (IRR field 9900, etcd 3.6+).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DowngradeVersionTestRequest {
    /// Version.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub ver: Vec<u8>,
}

/// Sort order of a [`RangeRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SortOrder {
    /// No sorting.
    None = 0,
    /// Lowest first.
    Ascend = 1,
    /// Highest first.
    Descend = 2,
}

/// Sort key of a [`RangeRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SortTarget {
    /// By key.
    Key = 0,
    /// By version.
    Version = 1,
    /// By create revision.
    Create = 2,
    /// By mod revision.
    Mod = 3,
    /// By value.
    Value = 4,
}

/// Read a key or range.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RangeRequest {
    /// First key.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty = the single key, `"\0"` = every key ≥ `key`.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub range_end: Vec<u8>,
    /// Maximum number of keys returned; 0 = no limit.
    #[prost(int64, tag = "3")]
    pub limit: i64,
    /// Read at this revision; ≤ 0 = newest.
    #[prost(int64, tag = "4")]
    pub revision: i64,
    /// Sort order, see [`SortOrder`].
    #[prost(enumeration = "SortOrder", tag = "5")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<SortOrder, _>")
    )]
    pub sort_order: i32,
    /// Sort key, see [`SortTarget`].
    #[prost(enumeration = "SortTarget", tag = "6")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<SortTarget, _>")
    )]
    pub sort_target: i32,
    /// Serializable (local) read.
    #[prost(bool, tag = "7")]
    pub serializable: bool,
    /// Return keys only.
    #[prost(bool, tag = "8")]
    pub keys_only: bool,
    /// Return the count only.
    #[prost(bool, tag = "9")]
    pub count_only: bool,
    /// Filter: mod revision ≥ this (0 = off).
    #[prost(int64, tag = "10")]
    pub min_mod_revision: i64,
    /// Filter: mod revision ≤ this (0 = off).
    #[prost(int64, tag = "11")]
    pub max_mod_revision: i64,
    /// Filter: create revision ≥ this (0 = off).
    #[prost(int64, tag = "12")]
    pub min_create_revision: i64,
    /// Filter: create revision ≤ this (0 = off).
    #[prost(int64, tag = "13")]
    pub max_create_revision: i64,
}

/// Write one key.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PutRequest {
    /// The key (arbitrary bytes).
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// The value (arbitrary bytes).
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub value: Vec<u8>,
    /// Lease ID to attach; 0 = none.
    #[prost(int64, tag = "3")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::hex_lease")
    )]
    pub lease: i64,
    /// Return the previous key-value.
    #[prost(bool, tag = "4")]
    pub prev_kv: bool,
    /// Keep the current value (update the lease only).
    #[prost(bool, tag = "5")]
    pub ignore_value: bool,
    /// Keep the current lease.
    #[prost(bool, tag = "6")]
    pub ignore_lease: bool,
}

/// Delete a key or range.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DeleteRangeRequest {
    /// First key.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty = the single key, `"\0"` = every key ≥ `key`.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub range_end: Vec<u8>,
    /// Return the deleted key-values.
    #[prost(bool, tag = "3")]
    pub prev_kv: bool,
}

/// One operation of a [`TxnRequest`] branch.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RequestOp {
    /// The operation (proto oneof `request`); `None` if no known field was set.
    /// JSON: flattened, e.g. `{"request_put": {..}}`.
    #[prost(oneof = "request_op::Request", tags = "1, 2, 3, 4")]
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub request: Option<request_op::Request>,
}

/// Nested types of [`RequestOp`].
pub mod request_op {
    /// The oneof `request` of a [`RequestOp`](super::RequestOp).
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize))]
    #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
    pub enum Request {
        /// Range (field 1).
        #[prost(message, tag = "1")]
        RequestRange(super::RangeRequest),
        /// Put (field 2).
        #[prost(message, tag = "2")]
        RequestPut(super::PutRequest),
        /// Delete range (field 3).
        #[prost(message, tag = "3")]
        RequestDeleteRange(super::DeleteRangeRequest),
        /// Nested transaction (field 4, 3.3+).
        #[prost(message, tag = "4")]
        RequestTxn(super::TxnRequest),
    }
}

/// Comparison operator of a [`Compare`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CompareResult {
    /// `=`.
    Equal = 0,
    /// `>`.
    Greater = 1,
    /// `<`.
    Less = 2,
    /// `!=`.
    NotEqual = 3,
}

/// What a [`Compare`] looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CompareTarget {
    /// The key's version.
    Version = 0,
    /// The key's create revision.
    Create = 1,
    /// The key's mod revision.
    Mod = 2,
    /// The key's value.
    Value = 3,
    /// The key's lease.
    Lease = 4,
}

/// One guard of a [`TxnRequest`].
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Compare {
    /// Operator, see [`CompareResult`].
    #[prost(enumeration = "CompareResult", tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<CompareResult, _>")
    )]
    pub result: i32,
    /// What is compared, see [`CompareTarget`].
    #[prost(enumeration = "CompareTarget", tag = "2")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<CompareTarget, _>")
    )]
    pub target: i32,
    /// The key compared (arbitrary bytes).
    #[prost(bytes = "vec", tag = "3")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// The operand (proto oneof `target_union`). JSON: flattened, e.g. `"mod_revision": 5`.
    #[prost(oneof = "compare::TargetUnion", tags = "4, 5, 6, 7, 8")]
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub target_union: Option<compare::TargetUnion>,
    /// End of the compared range (3.3+); empty = the single key.
    #[prost(bytes = "vec", tag = "64")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub range_end: Vec<u8>,
}

/// Nested types of [`Compare`].
pub mod compare {
    /// The oneof `target_union` of a [`Compare`](super::Compare).
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize))]
    #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
    pub enum TargetUnion {
        /// Version (field 4).
        #[prost(int64, tag = "4")]
        Version(i64),
        /// Create revision (field 5).
        #[prost(int64, tag = "5")]
        CreateRevision(i64),
        /// Mod revision (field 6).
        #[prost(int64, tag = "6")]
        ModRevision(i64),
        /// Value (field 7, arbitrary bytes).
        #[prost(bytes, tag = "7")]
        Value(
            #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
            Vec<u8>,
        ),
        /// Lease ID (field 8; JSON: 16 hex digits).
        #[prost(int64, tag = "8")]
        Lease(
            #[cfg_attr(
                feature = "serde",
                serde(serialize_with = "crate::json::ser::hex_lease")
            )]
            i64,
        ),
    }
}

/// A transaction: if every compare holds, run `success`, else `failure`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TxnRequest {
    /// Guards.
    #[prost(message, repeated, tag = "1")]
    pub compare: Vec<Compare>,
    /// Operations run when every guard holds.
    #[prost(message, repeated, tag = "2")]
    pub success: Vec<RequestOp>,
    /// Operations run otherwise.
    #[prost(message, repeated, tag = "3")]
    pub failure: Vec<RequestOp>,
}

/// Compact the key history up to a revision.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CompactionRequest {
    /// Compact revisions below this one.
    #[prost(int64, tag = "1")]
    pub revision: i64,
    /// The client waited for the compaction to be physically applied.
    #[prost(bool, tag = "2")]
    pub physical: bool,
}

/// Grant a lease.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LeaseGrantRequest {
    /// Requested time-to-live, in seconds (proto name `TTL`).
    #[prost(int64, tag = "1")]
    pub ttl: i64,
    /// Lease ID (chosen by the server when the client passes 0; proto name `ID`).
    #[prost(int64, tag = "2")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::hex_lease")
    )]
    pub id: i64,
}

/// Revoke a lease and delete its keys.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LeaseRevokeRequest {
    /// Lease ID (proto name `ID`).
    #[prost(int64, tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::hex_lease")
    )]
    pub id: i64,
}

/// Remaining TTL of one lease at a checkpoint.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LeaseCheckpoint {
    /// Lease ID (proto name `ID`).
    #[prost(int64, tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::hex_lease")
    )]
    pub id: i64,
    /// Remaining time-to-live, in seconds (proto name `remaining_TTL`).
    #[prost(int64, tag = "2")]
    pub remaining_ttl: i64,
}

/// Persist the remaining TTLs of leases (3.4+).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LeaseCheckpointRequest {
    /// One checkpoint per lease.
    #[prost(message, repeated, tag = "1")]
    pub checkpoints: Vec<LeaseCheckpoint>,
}

/// Action of an [`AlarmRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AlarmAction {
    /// List alarms.
    Get = 0,
    /// Raise an alarm.
    Activate = 1,
    /// Clear an alarm.
    Deactivate = 2,
}

/// Kind of alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AlarmType {
    /// No alarm (used to query every alarm).
    None = 0,
    /// Space quota exhausted.
    Nospace = 1,
    /// Data corruption detected.
    Corrupt = 2,
}

/// Get, raise or clear an alarm.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AlarmRequest {
    /// Action, see [`AlarmAction`].
    #[prost(enumeration = "AlarmAction", tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<AlarmAction, _>")
    )]
    pub action: i32,
    /// Member the alarm is about; 0 = every member (proto name `memberID`).
    #[prost(uint64, tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::hex_id"))]
    pub member_id: u64,
    /// Alarm kind, see [`AlarmType`].
    #[prost(enumeration = "AlarmType", tag = "3")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<AlarmType, _>")
    )]
    pub alarm: i32,
}

/// Authenticate a user (IRR field 1012). Carries the password in plaintext.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InternalAuthenticateRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
    /// Plaintext password (secret: redact before display).
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub password: Vec<u8>,
    /// Simple token issued by the API layer (secret: redact before display).
    #[prost(bytes = "vec", tag = "3")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub simple_token: Vec<u8>,
}

/// Add a user (IRR field 1100).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserAddRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
    /// Plaintext password; written by 3.4, empty in 3.5 (secret: redact before display).
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub password: Vec<u8>,
    /// Options.
    #[prost(message, optional, tag = "3")]
    pub options: Option<UserAddOptions>,
    /// bcrypt hash of the password, 3.5+ (proto name `hashedPassword`; secret).
    #[prost(bytes = "vec", tag = "4")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub hashed_password: Vec<u8>,
}

/// Change a user's password (IRR field 1103).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserChangePasswordRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
    /// Plaintext new password; written by 3.4, empty in 3.5 (secret).
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub password: Vec<u8>,
    /// bcrypt hash of the new password, 3.5+ (proto name `hashedPassword`; secret).
    #[prost(bytes = "vec", tag = "3")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub hashed_password: Vec<u8>,
}

/// Grant a key permission to a role (IRR field 1203).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthRoleGrantPermissionRequest {
    /// Role name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
    /// The permission.
    #[prost(message, optional, tag = "2")]
    pub perm: Option<Permission>,
}

/// Get a user (IRR field 1102).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserGetRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
}

/// Delete a user (IRR field 1101).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserDeleteRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
}

/// Grant a role to a user (IRR field 1104).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserGrantRoleRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub user: Vec<u8>,
    /// Role name.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub role: Vec<u8>,
}

/// Revoke a role from a user (IRR field 1105).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserRevokeRoleRequest {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
    /// Role name.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub role: Vec<u8>,
}

/// Add a role (IRR field 1200).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthRoleAddRequest {
    /// Role name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub name: Vec<u8>,
}

/// Get a role (IRR field 1202).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthRoleGetRequest {
    /// Role name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub role: Vec<u8>,
}

/// Delete a role (IRR field 1201).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthRoleDeleteRequest {
    /// Role name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub role: Vec<u8>,
}

/// Revoke a key permission from a role (IRR field 1204).
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthRoleRevokePermissionRequest {
    /// Role name.
    #[prost(bytes = "vec", tag = "1")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub role: Vec<u8>,
    /// First key of the permission's range.
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// End of the permission's range (see `authpb::Permission::range_end`).
    #[prost(bytes = "vec", tag = "3")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub range_end: Vec<u8>,
}

/// Enable authentication (IRR field 1000). No fields.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthEnableRequest {}

/// Disable authentication (IRR field 1011). No fields.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthDisableRequest {}

/// Query the auth status (IRR field 1013, 3.5+ and 3.4.31+). No fields.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthStatusRequest {}

/// List users (IRR field 1106). No fields.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUserListRequest {}

/// List roles (IRR field 1107). No fields.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthRoleListRequest {}

/// `etcdserverpb.Metadata`: the payload of a WAL metadata record.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Metadata {
    /// This member's raft node ID (= member ID).
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
    /// The cluster ID.
    #[prost(uint64, tag = "2")]
    pub cluster_id: u64,
}

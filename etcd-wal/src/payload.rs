//! Decoding of raft entry payloads: what an entry asked etcd to do.
//!
//! [`decode_entry`] turns a `raftpb.Entry`'s type and data into a [`Payload`], following
//! etcd 3.5's `applyEntryNormal` (`server/etcdserver/server.go`) and 3.4's equivalent:
//!
//! - `EntryNormal` with empty data is the no-op a new leader appends ([`Payload::NoOp`]);
//! - otherwise the data is decoded as an [`InternalRaftRequest`]; if that fails, as a v2
//!   [`Request`]; if that fails too, the payload is [`Payload::Undecodable`] (the caller
//!   still holds the raw bytes);
//! - `EntryConfChange` is a [`ConfChange`] whose context is the member's JSON
//!   ([`MemberContext`]); `EntryConfChangeV2` is a [`ConfChangeV2`].
//!
//! On top of a payload this module offers a stable kind name ([`EntryKind`], used by
//! `wal-inspect dump --type` and in JSON), the keys it touches ([`Payload::keys`]), password
//! redaction ([`Payload::redacted`]), a one-line summary ([`Payload::summary`]) and, with the
//! `serde` feature, a JSON view ([`Payload::view`], schema in `docs/dump-json.md`).
//!
//! Nothing here panics on any input: every decode error becomes a value.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::fmt::{self, Write as _};

#[cfg(feature = "serde")]
use etcd_proto::json::{Bytes, ser};
use etcd_proto::names::enum_str;
use etcd_proto::text::{escape_bytes, lease_id, shorten};
use prost::Message as _;

use crate::pb::authpb::PermissionType;
use crate::pb::etcdserverpb::{
    AlarmAction, AlarmType, Compare, CompareResult, CompareTarget, InternalRaftRequest, Request,
    RequestOp, SortOrder, SortTarget, TxnRequest, compare::TargetUnion, request_op,
};
use crate::pb::raftpb::{
    ConfChange, ConfChangeTransition, ConfChangeType, ConfChangeV2, EntryType,
};

/// Replacement written over secrets by [`Payload::redact`].
pub const REDACTED: &[u8] = b"<redacted>";

// ---------------------------------------------------------------------------------------------
// Payload and decoding
// ---------------------------------------------------------------------------------------------

/// The decoded payload of one raft entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `EntryNormal` with empty data: the no-op a new leader appends.
    NoOp,
    /// An etcd v3 request (`etcdserverpb.InternalRaftRequest`). An IRR carrying a v2 request in
    /// its field 2 also lands here (kind [`EntryKind::V2Request`]).
    Request(Box<InternalRaftRequest>),
    /// A bare v2 store request (`etcdserverpb.Request`): etcd 3.4/3.5 write these for member
    /// attributes (`PUT /0/members/<id>/attributes`), the cluster version (`PUT /0/version`),
    /// `SYNC` and `QGET`.
    V2(Box<Request>),
    /// A membership change (`EntryConfChange`).
    ConfChange {
        /// The raft message.
        change: ConfChange,
        /// The member described by `change.context`, if it is etcd's member JSON. `None` when
        /// the context is empty (RemoveNode) or not parseable (the raw bytes stay in
        /// `change.context`).
        member: Option<MemberContext>,
    },
    /// A joint membership change (`EntryConfChangeV2`; etcd 3.4–3.6 do not write these).
    ConfChangeV2(ConfChangeV2),
    /// The data could not be decoded; the caller holds the raw bytes.
    Undecodable {
        /// Why, e.g. the decode errors of both attempts.
        reason: String,
    },
}

/// The member JSON etcd puts into a `ConfChange` context (`membership.Member`, or for 3.5's
/// add/promote `membership.ConfigChangeContext` = member + `isPromote`).
///
/// Example: `{"id":9372538179322589801,"peerURLs":["http://127.0.0.1:12380"],"name":"infra1",
/// "clientURLs":["http://127.0.0.1:2379"],"isPromote":false}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberContext {
    /// Member ID (JSON `id`; parsed as an exact u64, it often exceeds 2^53; written as 16
    /// hex digits).
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser::hex_id"))]
    pub id: u64,
    /// Peer URLs (JSON `peerURLs`).
    pub peer_urls: Vec<String>,
    /// Member name (JSON `name`; empty when omitted, e.g. before the member started).
    pub name: String,
    /// Client URLs (JSON `clientURLs`; empty when omitted).
    pub client_urls: Vec<String>,
    /// The member is (added as) a learner (JSON `isLearner`).
    pub is_learner: bool,
    /// This AddNode promotes a learner (JSON `isPromote`, 3.4.?+/3.5).
    pub is_promote: bool,
}

impl MemberContext {
    /// Parses etcd's member JSON. Returns `None` for empty input, invalid JSON, a non-object,
    /// or an `id` that is not an unsigned 64-bit integer. Unknown keys are ignored.
    pub fn parse(json: &[u8]) -> Option<MemberContext> {
        if json.is_empty() {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(json).ok()?;
        let obj = value.as_object()?;
        // serde_json keeps integers that fit in u64 exact (no f64 round trip).
        let id = obj.get("id")?.as_u64()?;
        let strings = |key: &str| -> Vec<String> {
            obj.get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let flag = |key: &str| obj.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
        Some(MemberContext {
            id,
            peer_urls: strings("peerURLs"),
            name: obj
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            client_urls: strings("clientURLs"),
            is_learner: flag("isLearner"),
            is_promote: flag("isPromote"),
        })
    }
}

/// Decodes one entry's payload. `entry_type` is `raftpb.Entry.type` (0 normal, 1 conf
/// change, 2 conf change v2); `data` is `raftpb.Entry.data`. Never panics.
pub fn decode_entry(entry_type: i32, data: &[u8]) -> Payload {
    match EntryType::try_from(entry_type) {
        Ok(EntryType::EntryNormal) => decode_normal(data),
        Ok(EntryType::EntryConfChange) => match ConfChange::decode(data) {
            Ok(change) => {
                let member = MemberContext::parse(&change.context);
                Payload::ConfChange { change, member }
            }
            Err(e) => Payload::Undecodable {
                reason: format!("EntryConfChange data is not a ConfChange: {e}"),
            },
        },
        Ok(EntryType::EntryConfChangeV2) => match ConfChangeV2::decode(data) {
            Ok(cc) => Payload::ConfChangeV2(cc),
            Err(e) => Payload::Undecodable {
                reason: format!("EntryConfChangeV2 data is not a ConfChangeV2: {e}"),
            },
        },
        Err(_) => Payload::Undecodable {
            reason: format!("unknown entry type {entry_type}"),
        },
    }
}

/// `EntryNormal` as etcd 3.5 `applyEntryNormal` classifies it: empty = no-op, then
/// `InternalRaftRequest`, then v2 `Request`.
fn decode_normal(data: &[u8]) -> Payload {
    if data.is_empty() {
        return Payload::NoOp;
    }
    // prost, like gogo, rejects a field whose wire type does not match the schema. gogo
    // writes every non-nullable v2 field, including `Dir` as a varint in field 5, and IRR
    // field 5 is a message, so v2 requests fail here (tested below and on real WALs).
    let irr_err = match InternalRaftRequest::decode(data) {
        Ok(irr) => return Payload::Request(Box::new(irr)),
        Err(e) => e,
    };
    match Request::decode(data) {
        Ok(v2) => Payload::V2(Box::new(v2)),
        Err(v2_err) => Payload::Undecodable {
            reason: format!(
                "EntryNormal data is neither an InternalRaftRequest ({irr_err}) \
                 nor a v2 Request ({v2_err})"
            ),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Entry kinds
// ---------------------------------------------------------------------------------------------

macro_rules! entry_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Stable snake_case name of what an entry does; used by `dump --type` and in JSON.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EntryKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EntryKind {
            /// Every kind, in documentation order.
            pub const ALL: &'static [EntryKind] = &[ $( EntryKind::$variant, )* ];

            /// The stable name, e.g. `"delete_range"`.
            pub fn as_str(self) -> &'static str {
                match self { $( EntryKind::$variant => $name, )* }
            }

            /// Looks a kind up by its stable name (exact, lowercase).
            pub fn from_name(name: &str) -> Option<EntryKind> {
                match name { $( $name => Some(EntryKind::$variant), )* _ => None }
            }
        }
    };
}

entry_kinds! {
    /// Leader no-op (empty `EntryNormal`).
    NoOp => "noop",
    /// `put`.
    Put => "put",
    /// `range` (not normally written by etcd).
    Range => "range",
    /// `delete_range`.
    DeleteRange => "delete_range",
    /// `txn`.
    Txn => "txn",
    /// `compaction`.
    Compaction => "compaction",
    /// `lease_grant`.
    LeaseGrant => "lease_grant",
    /// `lease_revoke`.
    LeaseRevoke => "lease_revoke",
    /// `lease_checkpoint`.
    LeaseCheckpoint => "lease_checkpoint",
    /// `alarm`.
    Alarm => "alarm",
    /// `authenticate`.
    Authenticate => "authenticate",
    /// `auth_enable`.
    AuthEnable => "auth_enable",
    /// `auth_disable`.
    AuthDisable => "auth_disable",
    /// `auth_status`.
    AuthStatus => "auth_status",
    /// `auth_user_add`.
    AuthUserAdd => "auth_user_add",
    /// `auth_user_delete`.
    AuthUserDelete => "auth_user_delete",
    /// `auth_user_get`.
    AuthUserGet => "auth_user_get",
    /// `auth_user_change_password`.
    AuthUserChangePassword => "auth_user_change_password",
    /// `auth_user_grant_role`.
    AuthUserGrantRole => "auth_user_grant_role",
    /// `auth_user_revoke_role`.
    AuthUserRevokeRole => "auth_user_revoke_role",
    /// `auth_user_list`.
    AuthUserList => "auth_user_list",
    /// `auth_role_list`.
    AuthRoleList => "auth_role_list",
    /// `auth_role_add`.
    AuthRoleAdd => "auth_role_add",
    /// `auth_role_delete`.
    AuthRoleDelete => "auth_role_delete",
    /// `auth_role_get`.
    AuthRoleGet => "auth_role_get",
    /// `auth_role_grant_permission`.
    AuthRoleGrantPermission => "auth_role_grant_permission",
    /// `auth_role_revoke_permission`.
    AuthRoleRevokePermission => "auth_role_revoke_permission",
    /// `cluster_version_set` (3.5+ schema).
    ClusterVersionSet => "cluster_version_set",
    /// `cluster_member_attr_set` (3.5+ schema).
    ClusterMemberAttrSet => "cluster_member_attr_set",
    /// `downgrade_info_set` (3.5+).
    DowngradeInfoSet => "downgrade_info_set",
    /// `downgrade_version_test` (3.6+, tests only).
    DowngradeVersionTest => "downgrade_version_test",
    /// A v2 store request, bare or wrapped in an IRR.
    V2Request => "v2_request",
    /// `EntryConfChange`.
    ConfChange => "conf_change",
    /// `EntryConfChangeV2`.
    ConfChangeV2 => "conf_change_v2",
    /// Undecodable data, or an IRR with no request field etcd knows.
    Unknown => "unknown",
}

impl EntryKind {
    /// Every stable name, in documentation order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|k| k.as_str())
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntryKind {
    type Err = UnknownEntryKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::from_name(s).ok_or_else(|| UnknownEntryKind(s.to_owned()))
    }
}

/// Error of [`EntryKind::from_str`](std::str::FromStr): the name is not in [`EntryKind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown entry kind {0:?}")]
pub struct UnknownEntryKind(pub String);

#[cfg(feature = "serde")]
impl serde::Serialize for EntryKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The kind of an IRR: the first request field set, in etcd 3.5 `applierV3backend.Apply` order
/// (v2 first, as `applyEntryNormal` checks it before anything else).
fn irr_kind(r: &InternalRaftRequest) -> EntryKind {
    use EntryKind as K;
    let set: [(bool, EntryKind); 31] = [
        (r.v2.is_some(), K::V2Request),
        (r.cluster_version_set.is_some(), K::ClusterVersionSet),
        (r.cluster_member_attr_set.is_some(), K::ClusterMemberAttrSet),
        (r.downgrade_info_set.is_some(), K::DowngradeInfoSet),
        (r.range.is_some(), K::Range),
        (r.put.is_some(), K::Put),
        (r.delete_range.is_some(), K::DeleteRange),
        (r.txn.is_some(), K::Txn),
        (r.compaction.is_some(), K::Compaction),
        (r.lease_grant.is_some(), K::LeaseGrant),
        (r.lease_revoke.is_some(), K::LeaseRevoke),
        (r.lease_checkpoint.is_some(), K::LeaseCheckpoint),
        (r.alarm.is_some(), K::Alarm),
        (r.authenticate.is_some(), K::Authenticate),
        (r.auth_enable.is_some(), K::AuthEnable),
        (r.auth_disable.is_some(), K::AuthDisable),
        (r.auth_status.is_some(), K::AuthStatus),
        (r.auth_user_add.is_some(), K::AuthUserAdd),
        (r.auth_user_delete.is_some(), K::AuthUserDelete),
        (
            r.auth_user_change_password.is_some(),
            K::AuthUserChangePassword,
        ),
        (r.auth_user_grant_role.is_some(), K::AuthUserGrantRole),
        (r.auth_user_get.is_some(), K::AuthUserGet),
        (r.auth_user_revoke_role.is_some(), K::AuthUserRevokeRole),
        (r.auth_role_add.is_some(), K::AuthRoleAdd),
        (
            r.auth_role_grant_permission.is_some(),
            K::AuthRoleGrantPermission,
        ),
        (r.auth_role_get.is_some(), K::AuthRoleGet),
        (
            r.auth_role_revoke_permission.is_some(),
            K::AuthRoleRevokePermission,
        ),
        (r.auth_role_delete.is_some(), K::AuthRoleDelete),
        (r.auth_user_list.is_some(), K::AuthUserList),
        (r.auth_role_list.is_some(), K::AuthRoleList),
        (r.downgrade_version_test.is_some(), K::DowngradeVersionTest),
    ];
    set.iter()
        .find(|(is_set, _)| *is_set)
        .map_or(K::Unknown, |&(_, k)| k)
}

// ---------------------------------------------------------------------------------------------
// Keys touched
// ---------------------------------------------------------------------------------------------

/// How an entry touches a [`KeyRange`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum KeyOp {
    /// Read by a range request (top level or inside a txn).
    Range,
    /// Written by a put.
    Put,
    /// Deleted by a delete_range.
    DeleteRange,
    /// Read by a txn guard.
    Compare,
}

impl KeyOp {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyOp::Range => "range",
            KeyOp::Put => "put",
            KeyOp::DeleteRange => "delete_range",
            KeyOp::Compare => "compare",
        }
    }
}

/// A key or key range an entry touches (etcd's range convention).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRange {
    /// First key (arbitrary bytes).
    pub key: Vec<u8>,
    /// End of the range, exclusive. Empty = only `key`; `"\0"` = every key ≥ `key`
    /// (with `key` = `"\0"` too: every key).
    pub range_end: Vec<u8>,
    /// What the entry does to it.
    pub op: KeyOp,
}

impl KeyRange {
    fn new(key: &[u8], range_end: &[u8], op: KeyOp) -> KeyRange {
        KeyRange {
            key: key.to_vec(),
            range_end: range_end.to_vec(),
            op,
        }
    }

    /// True if this is a single key (empty `range_end`).
    pub fn is_single_key(&self) -> bool {
        self.range_end.is_empty()
    }
}

impl fmt::Display for KeyRange {
    /// `put "foo"`, `delete_range ["a", "b")`, `range ["a", +inf)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.op.as_str())?;
        if self.range_end.is_empty() {
            write!(f, "\"{}\"", escape_bytes(&self.key))
        } else if self.range_end == b"\0" {
            write!(f, "[\"{}\", +inf)", escape_bytes(&self.key))
        } else {
            write!(
                f,
                "[\"{}\", \"{}\")",
                escape_bytes(&self.key),
                escape_bytes(&self.range_end)
            )
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for KeyRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("KeyRange", 3)?;
        st.serialize_field("op", &self.op)?;
        st.serialize_field("key", &Bytes(&self.key))?;
        st.serialize_field("range_end", &Bytes(&self.range_end))?;
        st.end()
    }
}

fn txn_keys(txn: &TxnRequest, out: &mut Vec<KeyRange>) {
    // Recursion depth is bounded by prost's decode recursion limit (100 nested messages).
    for c in &txn.compare {
        out.push(KeyRange::new(&c.key, &c.range_end, KeyOp::Compare));
    }
    for op in txn.success.iter().chain(&txn.failure) {
        op_keys(op, out);
    }
}

fn op_keys(op: &RequestOp, out: &mut Vec<KeyRange>) {
    match &op.request {
        Some(request_op::Request::RequestRange(r)) => {
            out.push(KeyRange::new(&r.key, &r.range_end, KeyOp::Range));
        }
        Some(request_op::Request::RequestPut(p)) => {
            out.push(KeyRange::new(&p.key, &[], KeyOp::Put));
        }
        Some(request_op::Request::RequestDeleteRange(d)) => {
            out.push(KeyRange::new(&d.key, &d.range_end, KeyOp::DeleteRange));
        }
        Some(request_op::Request::RequestTxn(t)) => txn_keys(t, out),
        None => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Payload methods
// ---------------------------------------------------------------------------------------------

impl Payload {
    /// The stable kind of this payload.
    pub fn kind(&self) -> EntryKind {
        match self {
            Payload::NoOp => EntryKind::NoOp,
            Payload::Request(r) => irr_kind(r),
            Payload::V2(_) => EntryKind::V2Request,
            Payload::ConfChange { .. } => EntryKind::ConfChange,
            Payload::ConfChangeV2(_) => EntryKind::ConfChangeV2,
            Payload::Undecodable { .. } => EntryKind::Unknown,
        }
    }

    /// etcd's request ID: IRR `ID` (or `header.ID` when that is 0, as etcd does), v2 `ID`, or
    /// ConfChange `ID`. `None` for no-ops, ConfChangeV2 and undecodable payloads.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            Payload::Request(r) => {
                let header_id = r.header.as_ref().map_or(0, |h| h.id);
                Some(if r.id != 0 { r.id } else { header_id })
            }
            Payload::V2(r) => Some(r.id),
            Payload::ConfChange { change, .. } => Some(change.id),
            _ => None,
        }
    }

    /// The user that issued an IRR (`header.username`), if any.
    pub fn username(&self) -> Option<&[u8]> {
        match self {
            Payload::Request(r) => r
                .header
                .as_ref()
                .map(|h| h.username.as_slice())
                .filter(|u| !u.is_empty()),
            _ => None,
        }
    }

    /// The keys this payload reads or writes: put, range, delete_range, and every compare and
    /// operation of a txn (both branches, nested txns included), in wire order. Empty for other
    /// kinds (v2 paths are not v3 keys and are not listed).
    pub fn keys(&self) -> Vec<KeyRange> {
        let mut out = Vec::new();
        if let Payload::Request(r) = self {
            if let Some(p) = &r.put {
                out.push(KeyRange::new(&p.key, &[], KeyOp::Put));
            }
            if let Some(rg) = &r.range {
                out.push(KeyRange::new(&rg.key, &rg.range_end, KeyOp::Range));
            }
            if let Some(d) = &r.delete_range {
                out.push(KeyRange::new(&d.key, &d.range_end, KeyOp::DeleteRange));
            }
            if let Some(t) = &r.txn {
                txn_keys(t, &mut out);
            }
        }
        out
    }

    /// True if [`Payload::redact`] would change something.
    pub fn has_secrets(&self) -> bool {
        self.redacted() != *self
    }

    /// Blanks every secret in place: replaces each non-empty secret with [`REDACTED`] (empty
    /// ones stay empty, so "no password" remains visible). Secrets are
    /// `authenticate.password` / `.simple_token`, `auth_user_add.password` /
    /// `.hashed_password`, `auth_user_change_password.password` / `.hashed_password` (etcd
    /// 3.4.23 writes plaintext passwords there, 3.5 bcrypt hashes), and the value of a v2
    /// write under `/2/users/` (v2 auth store: user JSON with a password hash).
    pub fn redact(&mut self) {
        fn blank(b: &mut Vec<u8>) {
            if !b.is_empty() {
                *b = REDACTED.to_vec();
            }
        }
        fn blank_v2(r: &mut Request) {
            if r.path.starts_with(b"/2/users/") {
                blank(&mut r.val);
                blank(&mut r.prev_value);
            }
        }
        match self {
            Payload::Request(r) => {
                if let Some(a) = &mut r.authenticate {
                    blank(&mut a.password);
                    blank(&mut a.simple_token);
                }
                if let Some(a) = &mut r.auth_user_add {
                    blank(&mut a.password);
                    blank(&mut a.hashed_password);
                }
                if let Some(a) = &mut r.auth_user_change_password {
                    blank(&mut a.password);
                    blank(&mut a.hashed_password);
                }
                if let Some(v2) = &mut r.v2 {
                    blank_v2(v2);
                }
            }
            Payload::V2(r) => blank_v2(r),
            _ => {}
        }
    }

    /// A copy with every secret blanked, see [`Payload::redact`].
    pub fn redacted(&self) -> Payload {
        let mut p = self.clone();
        p.redact();
        p
    }

    /// One human-readable line, e.g. `put key="foo" value="bar" lease=0`.
    ///
    /// Keys and values are escaped with [`escape_bytes`] and quoted. Values longer than
    /// `max_value` bytes are cut: `value="abc"…(1234 bytes)`; `Some(0)` prints only the size
    /// (`value=<1234 bytes>`); `None` prints values in full. Secrets are never printed, redacted
    /// or not (`password=<redacted>`).
    pub fn summary(&self, max_value: Option<usize>) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_summary(&mut s, max_value);
        s
    }

    fn write_summary(&self, s: &mut String, max: Option<usize>) -> fmt::Result {
        match self {
            Payload::NoOp => s.write_str("noop"),
            Payload::Request(r) => {
                let kind = irr_kind(r);
                s.write_str(kind.as_str())?;
                write_irr(s, r, kind, max)?;
                if let Some(h) = &r.header {
                    if !h.username.is_empty() {
                        write!(s, " user=\"{}\"", escape_bytes(&h.username))?;
                    }
                }
                Ok(())
            }
            Payload::V2(r) => {
                s.write_str("v2_request")?;
                write_v2(s, r, max)
            }
            Payload::ConfChange { change, member } => {
                write!(
                    s,
                    "conf_change {} node={:016x}",
                    enum_str::<ConfChangeType>(change.r#type),
                    change.node_id
                )?;
                if let Some(m) = member {
                    if m.id != change.node_id {
                        write!(s, " member_id={:016x}", m.id)?;
                    }
                    if !m.name.is_empty() {
                        write!(s, " name=\"{}\"", escape_bytes(m.name.as_bytes()))?;
                    }
                    if !m.peer_urls.is_empty() {
                        write!(s, " peer_urls={}", str_list(&m.peer_urls))?;
                    }
                    if !m.client_urls.is_empty() {
                        write!(s, " client_urls={}", str_list(&m.client_urls))?;
                    }
                    if m.is_learner {
                        s.write_str(" learner")?;
                    }
                    if m.is_promote {
                        s.write_str(" promote")?;
                    }
                } else if !change.context.is_empty() {
                    write!(s, " context={}", shorten(&change.context, max))?;
                }
                Ok(())
            }
            Payload::ConfChangeV2(cc) => {
                write!(
                    s,
                    "conf_change_v2 {}",
                    enum_str::<ConfChangeTransition>(cc.transition)
                )?;
                for c in &cc.changes {
                    write!(
                        s,
                        " {}:{:016x}",
                        enum_str::<ConfChangeType>(c.r#type),
                        c.node_id
                    )?;
                }
                if !cc.context.is_empty() {
                    write!(s, " context={}", shorten(&cc.context, max))?;
                }
                Ok(())
            }
            Payload::Undecodable { reason } => write!(s, "unknown: {reason}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Summary helpers
// ---------------------------------------------------------------------------------------------

fn q(b: &[u8]) -> String {
    format!("\"{}\"", escape_bytes(b))
}

fn str_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| q(s.as_bytes())).collect();
    format!("[{}]", items.join(","))
}

fn bytes_list(v: &[Vec<u8>]) -> String {
    let items: Vec<String> = v.iter().map(|s| q(s)).collect();
    format!("[{}]", items.join(","))
}

fn secret(b: &[u8]) -> &'static str {
    if b.is_empty() { "\"\"" } else { "<redacted>" }
}

fn write_range_end(s: &mut String, range_end: &[u8]) -> fmt::Result {
    if range_end.is_empty() {
        Ok(())
    } else {
        write!(s, " range_end={}", q(range_end))
    }
}

fn write_irr(
    s: &mut String,
    r: &InternalRaftRequest,
    kind: EntryKind,
    max: Option<usize>,
) -> fmt::Result {
    use EntryKind as K;
    match kind {
        K::V2Request => match &r.v2 {
            Some(v2) => write_v2(s, v2, max),
            None => Ok(()),
        },
        K::Put => match &r.put {
            Some(p) => write_put(s, p, max),
            None => Ok(()),
        },
        K::Range => match &r.range {
            Some(rg) => write_range(s, rg),
            None => Ok(()),
        },
        K::DeleteRange => match &r.delete_range {
            Some(d) => write_delete(s, d),
            None => Ok(()),
        },
        K::Txn => match &r.txn {
            Some(t) => {
                s.push(' ');
                write_txn_body(s, t, max)
            }
            None => Ok(()),
        },
        K::Compaction => match &r.compaction {
            Some(c) => write!(s, " revision={} physical={}", c.revision, c.physical),
            None => Ok(()),
        },
        K::LeaseGrant => match &r.lease_grant {
            Some(l) => write!(s, " id={} ttl={}", lease_id(l.id), l.ttl),
            None => Ok(()),
        },
        K::LeaseRevoke => match &r.lease_revoke {
            Some(l) => write!(s, " id={}", lease_id(l.id)),
            None => Ok(()),
        },
        K::LeaseCheckpoint => match &r.lease_checkpoint {
            Some(l) => {
                for c in &l.checkpoints {
                    write!(s, " {}:remaining_ttl={}", lease_id(c.id), c.remaining_ttl)?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::Alarm => match &r.alarm {
            Some(a) => write!(
                s,
                " action={} alarm={} member={:016x}",
                enum_str::<AlarmAction>(a.action),
                enum_str::<AlarmType>(a.alarm),
                a.member_id
            ),
            None => Ok(()),
        },
        K::Authenticate => match &r.authenticate {
            Some(a) => write!(
                s,
                " name={} password={} simple_token={}",
                q(&a.name),
                secret(&a.password),
                secret(&a.simple_token)
            ),
            None => Ok(()),
        },
        K::AuthUserAdd => match &r.auth_user_add {
            Some(a) => {
                write!(
                    s,
                    " name={} password={} hashed_password={}",
                    q(&a.name),
                    secret(&a.password),
                    secret(&a.hashed_password)
                )?;
                if a.options.is_some_and(|o| o.no_password) {
                    s.write_str(" no_password")?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::AuthUserChangePassword => match &r.auth_user_change_password {
            Some(a) => write!(
                s,
                " name={} password={} hashed_password={}",
                q(&a.name),
                secret(&a.password),
                secret(&a.hashed_password)
            ),
            None => Ok(()),
        },
        K::AuthUserDelete => opt_name(s, "name", r.auth_user_delete.as_ref().map(|a| &a.name)),
        K::AuthUserGet => opt_name(s, "name", r.auth_user_get.as_ref().map(|a| &a.name)),
        K::AuthUserGrantRole => match &r.auth_user_grant_role {
            Some(a) => write!(s, " user={} role={}", q(&a.user), q(&a.role)),
            None => Ok(()),
        },
        K::AuthUserRevokeRole => match &r.auth_user_revoke_role {
            Some(a) => write!(s, " name={} role={}", q(&a.name), q(&a.role)),
            None => Ok(()),
        },
        K::AuthRoleAdd => opt_name(s, "name", r.auth_role_add.as_ref().map(|a| &a.name)),
        K::AuthRoleDelete => opt_name(s, "role", r.auth_role_delete.as_ref().map(|a| &a.role)),
        K::AuthRoleGet => opt_name(s, "role", r.auth_role_get.as_ref().map(|a| &a.role)),
        K::AuthRoleGrantPermission => match &r.auth_role_grant_permission {
            Some(a) => {
                write!(s, " name={}", q(&a.name))?;
                if let Some(p) = &a.perm {
                    write!(
                        s,
                        " perm={} key={}",
                        enum_str::<PermissionType>(p.perm_type),
                        q(&p.key)
                    )?;
                    write_range_end(s, &p.range_end)?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::AuthRoleRevokePermission => match &r.auth_role_revoke_permission {
            Some(a) => {
                write!(s, " role={} key={}", q(&a.role), q(&a.key))?;
                write_range_end(s, &a.range_end)
            }
            None => Ok(()),
        },
        K::ClusterVersionSet => opt_name(s, "ver", r.cluster_version_set.as_ref().map(|a| &a.ver)),
        K::ClusterMemberAttrSet => match &r.cluster_member_attr_set {
            Some(a) => {
                write!(s, " member={:016x}", a.member_id)?;
                if let Some(attr) = &a.member_attributes {
                    write!(
                        s,
                        " name={} client_urls={}",
                        q(&attr.name),
                        bytes_list(&attr.client_urls)
                    )?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::DowngradeInfoSet => match &r.downgrade_info_set {
            Some(a) => write!(s, " enabled={} ver={}", a.enabled, q(&a.ver)),
            None => Ok(()),
        },
        K::DowngradeVersionTest => {
            opt_name(s, "ver", r.downgrade_version_test.as_ref().map(|a| &a.ver))
        }
        // auth_enable, auth_disable, auth_status, auth_user_list, auth_role_list: no fields.
        _ => Ok(()),
    }
}

fn opt_name(s: &mut String, label: &str, v: Option<&Vec<u8>>) -> fmt::Result {
    match v {
        Some(v) => write!(s, " {label}={}", q(v)),
        None => Ok(()),
    }
}

fn write_put(
    s: &mut String,
    p: &crate::pb::etcdserverpb::PutRequest,
    max: Option<usize>,
) -> fmt::Result {
    write!(s, " key={}", q(&p.key))?;
    if p.ignore_value {
        s.write_str(" ignore_value")?;
    } else {
        write!(s, " value={}", shorten(&p.value, max))?;
    }
    if p.ignore_lease {
        s.write_str(" ignore_lease")?;
    } else {
        write!(s, " lease={}", lease_id(p.lease))?;
    }
    if p.prev_kv {
        s.write_str(" prev_kv")?;
    }
    Ok(())
}

fn write_range(s: &mut String, r: &crate::pb::etcdserverpb::RangeRequest) -> fmt::Result {
    write!(s, " key={}", q(&r.key))?;
    write_range_end(s, &r.range_end)?;
    if r.revision != 0 {
        write!(s, " revision={}", r.revision)?;
    }
    if r.limit != 0 {
        write!(s, " limit={}", r.limit)?;
    }
    if r.keys_only {
        s.write_str(" keys_only")?;
    }
    if r.count_only {
        s.write_str(" count_only")?;
    }
    if r.serializable {
        s.write_str(" serializable")?;
    }
    if r.sort_order != 0 {
        write!(
            s,
            " sort={}:{}",
            enum_str::<SortOrder>(r.sort_order),
            enum_str::<SortTarget>(r.sort_target)
        )?;
    }
    Ok(())
}

fn write_delete(s: &mut String, d: &crate::pb::etcdserverpb::DeleteRangeRequest) -> fmt::Result {
    write!(s, " key={}", q(&d.key))?;
    write_range_end(s, &d.range_end)?;
    if d.prev_kv {
        s.write_str(" prev_kv")?;
    }
    Ok(())
}

/// `if <cmp> && <cmp> then <op>; <op> else <op>`
fn write_txn_body(s: &mut String, t: &TxnRequest, max: Option<usize>) -> fmt::Result {
    s.write_str("if")?;
    if t.compare.is_empty() {
        s.write_str(" true")?;
    }
    for (i, c) in t.compare.iter().enumerate() {
        if i > 0 {
            s.write_str(" &&")?;
        }
        s.push(' ');
        write_compare(s, c, max)?;
    }
    s.write_str(" then")?;
    write_ops(s, &t.success, max)?;
    s.write_str(" else")?;
    write_ops(s, &t.failure, max)
}

fn write_ops(s: &mut String, ops: &[RequestOp], max: Option<usize>) -> fmt::Result {
    if ops.is_empty() {
        return s.write_str(" {}");
    }
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        match &op.request {
            Some(request_op::Request::RequestPut(p)) => {
                s.write_str(" put")?;
                write_put(s, p, max)?;
            }
            Some(request_op::Request::RequestRange(r)) => {
                s.write_str(" range")?;
                write_range(s, r)?;
            }
            Some(request_op::Request::RequestDeleteRange(d)) => {
                s.write_str(" delete_range")?;
                write_delete(s, d)?;
            }
            Some(request_op::Request::RequestTxn(t)) => {
                s.write_str(" txn { ")?;
                write_txn_body(s, t, max)?;
                s.write_str(" }")?;
            }
            None => s.write_str(" <empty op>")?,
        }
    }
    Ok(())
}

fn write_compare(s: &mut String, c: &Compare, max: Option<usize>) -> fmt::Result {
    let target = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Version) => "version",
        Ok(CompareTarget::Create) => "create",
        Ok(CompareTarget::Mod) => "mod",
        Ok(CompareTarget::Value) => "value",
        Ok(CompareTarget::Lease) => "lease",
        Err(_) => "target?",
    };
    write!(s, "{target}({}", q(&c.key))?;
    if !c.range_end.is_empty() {
        write!(s, "..{}", q(&c.range_end))?;
    }
    let op = match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => "=",
        Ok(CompareResult::Greater) => ">",
        Ok(CompareResult::Less) => "<",
        Ok(CompareResult::NotEqual) => "!=",
        Err(_) => "?",
    };
    write!(s, ") {op} ")?;
    match &c.target_union {
        Some(TargetUnion::Version(v))
        | Some(TargetUnion::CreateRevision(v))
        | Some(TargetUnion::ModRevision(v)) => write!(s, "{v}"),
        Some(TargetUnion::Lease(v)) => s.write_str(&lease_id(*v)),
        Some(TargetUnion::Value(v)) => s.write_str(&shorten(v, max)),
        None => s.write_str("<none>"),
    }
}

fn write_v2(s: &mut String, r: &Request, max: Option<usize>) -> fmt::Result {
    write!(s, " method={}", escape_bytes(&r.method))?;
    if !r.path.is_empty() {
        write!(s, " path={}", q(&r.path))?;
    }
    let secret_path = r.path.starts_with(b"/2/users/");
    if !r.val.is_empty() {
        if secret_path {
            s.write_str(" val=<redacted>")?;
        } else {
            write!(s, " val={}", shorten(&r.val, max))?;
        }
    }
    if r.dir {
        s.write_str(" dir")?;
    }
    if r.recursive {
        s.write_str(" recursive")?;
    }
    if let Some(e) = r.prev_exist {
        write!(s, " prev_exist={e}")?;
    }
    if r.prev_index != 0 {
        write!(s, " prev_index={}", r.prev_index)?;
    }
    if !r.prev_value.is_empty() {
        if secret_path {
            s.write_str(" prev_value=<redacted>")?;
        } else {
            write!(s, " prev_value={}", shorten(&r.prev_value, max))?;
        }
    }
    if r.expiration != 0 {
        write!(s, " expiration={}", r.expiration)?;
    }
    if r.time != 0 {
        write!(s, " time={}", r.time)?;
    }
    if r.refresh == Some(true) {
        s.write_str(" refresh")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSON view
// ---------------------------------------------------------------------------------------------

/// JSON view of a [`Payload`] (feature `serde`): `{"kind": "<EntryKind>", <body>}`. The body
/// is one of `"request"` (the IRR, unset fields omitted), `"v2"`, `"conf_change"` +
/// `"member"`, `"conf_change_v2"`, `"undecodable"`, or nothing for a no-op. Byte strings are
/// [`Bytes`]. The schema is documented in `docs/dump-json.md`.
///
/// The view shows what the payload holds: call [`Payload::redacted`] first to hide secrets.
#[cfg(feature = "serde")]
#[derive(Clone, Copy, Debug)]
pub struct PayloadView<'a> {
    payload: &'a Payload,
}

#[cfg(feature = "serde")]
impl Payload {
    /// The JSON view of this payload, see [`PayloadView`].
    pub fn view(&self) -> PayloadView<'_> {
        PayloadView { payload: self }
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize)]
struct ConfChangeJson<'a> {
    #[serde(serialize_with = "ser::hex_id")]
    id: u64,
    #[serde(serialize_with = "ser::enum_name::<ConfChangeType, _>")]
    r#type: i32,
    #[serde(serialize_with = "ser::hex_id")]
    node_id: u64,
    context: Bytes<'a>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize)]
struct ConfChangeSingleJson {
    #[serde(serialize_with = "ser::enum_name::<ConfChangeType, _>")]
    r#type: i32,
    #[serde(serialize_with = "ser::hex_id")]
    node_id: u64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize)]
struct ConfChangeV2Json<'a> {
    #[serde(serialize_with = "ser::enum_name::<ConfChangeTransition, _>")]
    transition: i32,
    changes: Vec<ConfChangeSingleJson>,
    context: Bytes<'a>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize)]
struct UndecodableJson<'a> {
    reason: &'a str,
}

#[cfg(feature = "serde")]
impl serde::Serialize for PayloadView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let p = self.payload;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &p.kind())?;
        match p {
            Payload::NoOp => {}
            Payload::Request(r) => m.serialize_entry("request", r.as_ref())?,
            Payload::V2(r) => m.serialize_entry("v2", r.as_ref())?,
            Payload::ConfChange { change, member } => {
                m.serialize_entry(
                    "conf_change",
                    &ConfChangeJson {
                        id: change.id,
                        r#type: change.r#type,
                        node_id: change.node_id,
                        context: Bytes(&change.context),
                    },
                )?;
                m.serialize_entry("member", member)?;
            }
            Payload::ConfChangeV2(cc) => m.serialize_entry(
                "conf_change_v2",
                &ConfChangeV2Json {
                    transition: cc.transition,
                    changes: cc
                        .changes
                        .iter()
                        .map(|c| ConfChangeSingleJson {
                            r#type: c.r#type,
                            node_id: c.node_id,
                        })
                        .collect(),
                    context: Bytes(&cc.context),
                },
            )?,
            Payload::Undecodable { reason } => {
                m.serialize_entry("undecodable", &UndecodableJson { reason })?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::authpb::{Permission, UserAddOptions};
    use crate::pb::etcdserverpb::*;
    use crate::pb::membershippb::*;
    use crate::pb::raftpb::ConfChangeSingle;

    fn irr(f: impl FnOnce(&mut InternalRaftRequest)) -> InternalRaftRequest {
        let mut r = InternalRaftRequest {
            header: Some(RequestHeader {
                id: 42,
                username: b"root".to_vec(),
                auth_revision: 3,
                requester_member_id: 0,
            }),
            ..Default::default()
        };
        f(&mut r);
        r
    }

    fn put(key: &[u8], value: &[u8]) -> PutRequest {
        PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            ..Default::default()
        }
    }

    /// One IRR per kind, with every field of the request body set to something non-zero.
    fn one_of_each() -> Vec<(EntryKind, InternalRaftRequest)> {
        use EntryKind as K;
        let txn = TxnRequest {
            compare: vec![Compare {
                result: CompareResult::Greater as i32,
                target: CompareTarget::Mod as i32,
                key: b"c".to_vec(),
                target_union: Some(compare::TargetUnion::ModRevision(7)),
                range_end: b"d".to_vec(),
            }],
            success: vec![RequestOp {
                request: Some(request_op::Request::RequestPut(put(b"s", b"v"))),
            }],
            failure: vec![RequestOp {
                request: Some(request_op::Request::RequestRange(RangeRequest {
                    key: b"f".to_vec(),
                    ..Default::default()
                })),
            }],
        };
        vec![
            (
                K::Put,
                irr(|r| {
                    r.put = Some(PutRequest {
                        key: b"k".to_vec(),
                        value: b"v".to_vec(),
                        lease: 5,
                        prev_kv: true,
                        ignore_value: true,
                        ignore_lease: true,
                    })
                }),
            ),
            (
                K::Range,
                irr(|r| {
                    r.range = Some(RangeRequest {
                        key: b"a".to_vec(),
                        range_end: b"b".to_vec(),
                        limit: 1,
                        revision: 2,
                        sort_order: SortOrder::Descend as i32,
                        sort_target: SortTarget::Value as i32,
                        serializable: true,
                        keys_only: true,
                        count_only: true,
                        min_mod_revision: 3,
                        max_mod_revision: 4,
                        min_create_revision: 5,
                        max_create_revision: 6,
                    })
                }),
            ),
            (
                K::DeleteRange,
                irr(|r| {
                    r.delete_range = Some(DeleteRangeRequest {
                        key: b"a".to_vec(),
                        range_end: b"\0".to_vec(),
                        prev_kv: true,
                    })
                }),
            ),
            (K::Txn, irr(|r| r.txn = Some(txn.clone()))),
            (
                K::Compaction,
                irr(|r| {
                    r.compaction = Some(CompactionRequest {
                        revision: 9,
                        physical: true,
                    })
                }),
            ),
            (
                K::LeaseGrant,
                irr(|r| r.lease_grant = Some(LeaseGrantRequest { ttl: 60, id: 77 })),
            ),
            (
                K::LeaseRevoke,
                irr(|r| r.lease_revoke = Some(LeaseRevokeRequest { id: 77 })),
            ),
            (
                K::LeaseCheckpoint,
                irr(|r| {
                    r.lease_checkpoint = Some(LeaseCheckpointRequest {
                        checkpoints: vec![LeaseCheckpoint {
                            id: 77,
                            remaining_ttl: 30,
                        }],
                    })
                }),
            ),
            (
                K::Alarm,
                irr(|r| {
                    r.alarm = Some(AlarmRequest {
                        action: AlarmAction::Activate as i32,
                        member_id: u64::MAX,
                        alarm: AlarmType::Nospace as i32,
                    })
                }),
            ),
            (
                K::Authenticate,
                irr(|r| {
                    r.authenticate = Some(InternalAuthenticateRequest {
                        name: b"root".to_vec(),
                        password: b"hunter2".to_vec(),
                        simple_token: b"tok.1".to_vec(),
                    })
                }),
            ),
            (
                K::AuthEnable,
                irr(|r| r.auth_enable = Some(AuthEnableRequest {})),
            ),
            (
                K::AuthDisable,
                irr(|r| r.auth_disable = Some(AuthDisableRequest {})),
            ),
            (
                K::AuthStatus,
                irr(|r| r.auth_status = Some(AuthStatusRequest {})),
            ),
            (
                K::AuthUserAdd,
                irr(|r| {
                    r.auth_user_add = Some(AuthUserAddRequest {
                        name: b"u".to_vec(),
                        password: b"plain".to_vec(),
                        options: Some(UserAddOptions { no_password: true }),
                        hashed_password: b"$2a$10$hash".to_vec(),
                    })
                }),
            ),
            (
                K::AuthUserDelete,
                irr(|r| {
                    r.auth_user_delete = Some(AuthUserDeleteRequest {
                        name: b"u".to_vec(),
                    })
                }),
            ),
            (
                K::AuthUserGet,
                irr(|r| {
                    r.auth_user_get = Some(AuthUserGetRequest {
                        name: b"u".to_vec(),
                    })
                }),
            ),
            (
                K::AuthUserChangePassword,
                irr(|r| {
                    r.auth_user_change_password = Some(AuthUserChangePasswordRequest {
                        name: b"u".to_vec(),
                        password: b"plain2".to_vec(),
                        hashed_password: b"$2a$10$hash2".to_vec(),
                    })
                }),
            ),
            (
                K::AuthUserGrantRole,
                irr(|r| {
                    r.auth_user_grant_role = Some(AuthUserGrantRoleRequest {
                        user: b"u".to_vec(),
                        role: b"r".to_vec(),
                    })
                }),
            ),
            (
                K::AuthUserRevokeRole,
                irr(|r| {
                    r.auth_user_revoke_role = Some(AuthUserRevokeRoleRequest {
                        name: b"u".to_vec(),
                        role: b"r".to_vec(),
                    })
                }),
            ),
            (
                K::AuthUserList,
                irr(|r| r.auth_user_list = Some(AuthUserListRequest {})),
            ),
            (
                K::AuthRoleList,
                irr(|r| r.auth_role_list = Some(AuthRoleListRequest {})),
            ),
            (
                K::AuthRoleAdd,
                irr(|r| {
                    r.auth_role_add = Some(AuthRoleAddRequest {
                        name: b"r".to_vec(),
                    })
                }),
            ),
            (
                K::AuthRoleDelete,
                irr(|r| {
                    r.auth_role_delete = Some(AuthRoleDeleteRequest {
                        role: b"r".to_vec(),
                    })
                }),
            ),
            (
                K::AuthRoleGet,
                irr(|r| {
                    r.auth_role_get = Some(AuthRoleGetRequest {
                        role: b"r".to_vec(),
                    })
                }),
            ),
            (
                K::AuthRoleGrantPermission,
                irr(|r| {
                    r.auth_role_grant_permission = Some(AuthRoleGrantPermissionRequest {
                        name: b"r".to_vec(),
                        perm: Some(Permission {
                            perm_type: PermissionType::Readwrite as i32,
                            key: b"/a".to_vec(),
                            range_end: b"/b".to_vec(),
                        }),
                    })
                }),
            ),
            (
                K::AuthRoleRevokePermission,
                irr(|r| {
                    r.auth_role_revoke_permission = Some(AuthRoleRevokePermissionRequest {
                        role: b"r".to_vec(),
                        key: b"/a".to_vec(),
                        range_end: b"/b".to_vec(),
                    })
                }),
            ),
            (
                K::ClusterVersionSet,
                irr(|r| {
                    r.cluster_version_set = Some(ClusterVersionSetRequest {
                        ver: b"3.5.0".to_vec(),
                    })
                }),
            ),
            (
                K::ClusterMemberAttrSet,
                irr(|r| {
                    r.cluster_member_attr_set = Some(ClusterMemberAttrSetRequest {
                        member_id: 0x8e9e05c52164694d,
                        member_attributes: Some(Attributes {
                            name: b"infra1".to_vec(),
                            client_urls: vec![b"http://a:2379".to_vec(), b"http://b:2379".to_vec()],
                        }),
                    })
                }),
            ),
            (
                K::DowngradeInfoSet,
                irr(|r| {
                    r.downgrade_info_set = Some(DowngradeInfoSetRequest {
                        enabled: true,
                        ver: b"3.4.0".to_vec(),
                    })
                }),
            ),
            (
                K::DowngradeVersionTest,
                irr(|r| {
                    r.downgrade_version_test = Some(DowngradeVersionTestRequest {
                        ver: b"3.5.0".to_vec(),
                    })
                }),
            ),
            (
                K::V2Request,
                irr(|r| {
                    r.v2 = Some(Request {
                        id: 1,
                        method: b"PUT".to_vec(),
                        path: b"/0/version".to_vec(),
                        val: b"3.5.0".to_vec(),
                        ..Default::default()
                    })
                }),
            ),
            (K::Unknown, irr(|_| {})),
        ]
    }

    #[test]
    fn round_trip_every_irr_kind() {
        let cases = one_of_each();
        for (kind, req) in &cases {
            let bytes = req.encode_to_vec();
            let p = decode_entry(EntryType::EntryNormal as i32, &bytes);
            assert_eq!(p, Payload::Request(Box::new(req.clone())), "{kind}");
            assert_eq!(p.kind(), *kind);
            assert_eq!(p.request_id(), Some(42));
            assert_eq!(p.username(), Some(&b"root"[..]));
            // The summary starts with the kind name and never panics.
            assert!(
                p.summary(Some(8)).starts_with(kind.as_str()),
                "{}",
                p.summary(None)
            );
        }
        // Every IRR kind is covered (the others come from other entry types).
        let covered: std::collections::BTreeSet<_> = cases.iter().map(|(k, _)| *k).collect();
        for k in EntryKind::ALL {
            let elsewhere = matches!(
                k,
                EntryKind::NoOp | EntryKind::ConfChange | EntryKind::ConfChangeV2
            );
            assert!(covered.contains(k) || elsewhere, "kind {k} not tested");
        }
    }

    #[test]
    fn kind_names_round_trip() {
        let names: Vec<_> = EntryKind::names().collect();
        assert_eq!(names.len(), EntryKind::ALL.len());
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::from_name(k.as_str()), Some(*k));
            assert_eq!(k.as_str().parse::<EntryKind>(), Ok(*k));
            assert!(
                k.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            );
        }
        assert_eq!(EntryKind::from_name("Put"), None);
        assert!("nope".parse::<EntryKind>().is_err());
        for n in [
            "noop",
            "put",
            "txn",
            "v2_request",
            "conf_change",
            "conf_change_v2",
            "unknown",
            "auth_user_change_password",
            "auth_role_revoke_permission",
        ] {
            assert!(EntryKind::from_name(n).is_some(), "{n}");
        }
    }

    #[test]
    fn noop_and_undecodable() {
        assert_eq!(decode_entry(0, &[]), Payload::NoOp);
        assert_eq!(decode_entry(0, &[]).kind(), EntryKind::NoOp);
        // Truncated varint: neither IRR nor v2.
        let p = decode_entry(0, &[0x08, 0xff]);
        assert!(matches!(p, Payload::Undecodable { .. }), "{p:?}");
        assert_eq!(p.kind(), EntryKind::Unknown);
        assert!(p.summary(None).starts_with("unknown: "));
        let p = decode_entry(7, b"x");
        assert_eq!(
            p,
            Payload::Undecodable {
                reason: "unknown entry type 7".into()
            }
        );
        assert!(matches!(
            decode_entry(1, &[0xff]),
            Payload::Undecodable { .. }
        ));
        assert!(matches!(
            decode_entry(2, &[0x0a]),
            Payload::Undecodable { .. }
        ));
    }

    /// Encodes a v2 Request the way gogoproto does: every non-nullable field, zero or not, in
    /// field order; the two nullable ones (`PrevExist`, `Refresh`) only when set.
    fn gogo_v2(r: &Request) -> Vec<u8> {
        use prost::encoding::{bool, bytes, int64, uint64};
        let mut b = Vec::new();
        uint64::encode(1, &r.id, &mut b);
        bytes::encode(2, &r.method, &mut b);
        bytes::encode(3, &r.path, &mut b);
        bytes::encode(4, &r.val, &mut b);
        bool::encode(5, &r.dir, &mut b);
        bytes::encode(6, &r.prev_value, &mut b);
        uint64::encode(7, &r.prev_index, &mut b);
        if let Some(v) = &r.prev_exist {
            bool::encode(8, v, &mut b);
        }
        int64::encode(9, &r.expiration, &mut b);
        bool::encode(10, &r.wait, &mut b);
        uint64::encode(11, &r.since, &mut b);
        bool::encode(12, &r.recursive, &mut b);
        bool::encode(13, &r.sorted, &mut b);
        bool::encode(14, &r.quorum, &mut b);
        int64::encode(15, &r.time, &mut b);
        bool::encode(16, &r.stream, &mut b);
        if let Some(v) = &r.refresh {
            bool::encode(17, v, &mut b);
        }
        b
    }

    fn v2(method: &str, path: &str, val: &str) -> Request {
        Request {
            id: 0x2d5c_87a1_32f0_6a01,
            method: method.into(),
            path: path.into(),
            val: val.into(),
            ..Default::default()
        }
    }

    #[test]
    fn v2_requests_are_not_mistaken_for_irr() {
        let all_set = Request {
            id: u64::MAX,
            method: b"PUT".to_vec(),
            path: b"/0/members/8e9e05c52164694d/attributes".to_vec(),
            val: br#"{"name":"infra1","clientURLs":["http://127.0.0.1:2379"]}"#.to_vec(),
            dir: true,
            prev_value: b"old".to_vec(),
            prev_index: 9,
            prev_exist: Some(true),
            expiration: 1_700_000_000_000_000_000,
            wait: true,
            since: 3,
            recursive: true,
            sorted: true,
            quorum: true,
            time: 1_700_000_000_000_000_001,
            stream: true,
            refresh: Some(false),
        };
        let cases = [
            all_set,
            v2(
                "PUT",
                "/0/members/8e9e05c52164694d/attributes",
                r#"{"name":"infra1","clientURLs":["http://127.0.0.1:2379"]}"#,
            ),
            v2("PUT", "/0/version", "3.5.0"),
            v2("QGET", "", ""),
            Request {
                time: 1_700_000_000_123_456_789,
                ..v2("SYNC", "", "")
            },
            v2("DELETE", "/0/members/8e9e05c52164694d", ""),
            Request::default(),
        ];
        for req in cases {
            let bytes = gogo_v2(&req);
            // The clash: field 5 is a varint here and a message (delete_range) in the IRR.
            assert!(
                InternalRaftRequest::decode(bytes.as_slice()).is_err(),
                "prost accepted a v2 request as an IRR: {req:?}"
            );
            let p = decode_entry(0, &bytes);
            assert_eq!(p, Payload::V2(Box::new(req.clone())));
            assert_eq!(p.kind(), EntryKind::V2Request);
            assert_eq!(p.request_id(), Some(req.id));
            assert!(p.keys().is_empty());
        }
        let p = decode_entry(0, &gogo_v2(&v2("PUT", "/0/version", "3.5.0")));
        assert_eq!(
            p.summary(None),
            "v2_request method=PUT path=\"/0/version\" val=\"3.5.0\""
        );
        let p = decode_entry(
            0,
            &gogo_v2(&Request {
                time: 5,
                ..v2("SYNC", "", "")
            }),
        );
        assert_eq!(p.summary(None), "v2_request method=SYNC time=5");
    }

    #[test]
    fn irr_with_only_header_is_unknown_not_v2() {
        let r = irr(|_| {});
        let p = decode_entry(0, &r.encode_to_vec());
        assert_eq!(p.kind(), EntryKind::Unknown);
        assert!(matches!(p, Payload::Request(_)));
    }

    #[test]
    fn conf_change_member_context() {
        // 2^64 - 59 and the spec's test vector: both exceed 2^53 and must survive exactly.
        for id in [18_446_744_073_709_551_557_u64, 9_372_538_179_322_589_801] {
            let ctx = format!(
                r#"{{"id":{id},"peerURLs":["http://127.0.0.1:12380"],"name":"infra1","clientURLs":["http://127.0.0.1:2379"],"isPromote":false}}"#
            );
            let cc = ConfChange {
                id: 7,
                r#type: ConfChangeType::ConfChangeAddNode as i32,
                node_id: id,
                context: ctx.into_bytes(),
            };
            let p = decode_entry(1, &cc.encode_to_vec());
            let Payload::ConfChange { change, member } = &p else {
                panic!("{p:?}")
            };
            assert_eq!(change, &cc);
            let m = member.as_ref().expect("member parsed");
            assert_eq!(m.id, id);
            assert_eq!(m.peer_urls, ["http://127.0.0.1:12380"]);
            assert_eq!(m.client_urls, ["http://127.0.0.1:2379"]);
            assert_eq!(m.name, "infra1");
            assert!(!m.is_learner && !m.is_promote);
            assert_eq!(p.kind(), EntryKind::ConfChange);
            assert_eq!(p.request_id(), Some(7));
            assert_eq!(
                p.summary(None),
                format!(
                    "conf_change ConfChangeAddNode node={id:x} name=\"infra1\" \
                     peer_urls=[\"http://127.0.0.1:12380\"] \
                     client_urls=[\"http://127.0.0.1:2379\"]"
                )
            );
        }
        // Learner add and promotion; name/clientURLs omitted as etcd does before start.
        let m = MemberContext::parse(
            br#"{"id":1,"peerURLs":["http://a:2380"],"isLearner":true,"isPromote":true}"#,
        )
        .expect("parse");
        assert!(m.is_learner && m.is_promote && m.name.is_empty() && m.client_urls.is_empty());
        // Not member JSON: None, raw context kept.
        assert_eq!(MemberContext::parse(b""), None);
        assert_eq!(MemberContext::parse(b"removed"), None);
        assert_eq!(MemberContext::parse(br#"{"id":-1}"#), None);
        assert_eq!(MemberContext::parse(br#"{"id":1.5}"#), None);
        assert_eq!(MemberContext::parse(b"[1]"), None);
        let remove = ConfChange {
            id: 1,
            r#type: ConfChangeType::ConfChangeRemoveNode as i32,
            node_id: 0xabc,
            context: Vec::new(),
        };
        let p = decode_entry(1, &remove.encode_to_vec());
        assert!(matches!(&p, Payload::ConfChange { member: None, .. }));
        assert_eq!(
            p.summary(None),
            "conf_change ConfChangeRemoveNode node=0000000000000abc"
        );
    }

    #[test]
    fn conf_change_v2_round_trip() {
        let cc = ConfChangeV2 {
            transition: ConfChangeTransition::ConfChangeTransitionJointExplicit as i32,
            changes: vec![
                ConfChangeSingle {
                    r#type: ConfChangeType::ConfChangeAddLearnerNode as i32,
                    node_id: 2,
                },
                ConfChangeSingle {
                    r#type: ConfChangeType::ConfChangeRemoveNode as i32,
                    node_id: 3,
                },
            ],
            context: b"ctx".to_vec(),
        };
        let p = decode_entry(2, &cc.encode_to_vec());
        assert_eq!(p, Payload::ConfChangeV2(cc));
        assert_eq!(p.kind(), EntryKind::ConfChangeV2);
        assert_eq!(
            p.summary(None),
            "conf_change_v2 ConfChangeTransitionJointExplicit ConfChangeAddLearnerNode:0000000000000002 \
             ConfChangeRemoveNode:0000000000000003 context=\"ctx\""
        );
    }

    #[test]
    fn redaction() {
        for (kind, req) in one_of_each() {
            let p = Payload::Request(Box::new(req));
            let r = p.redacted();
            let expect_secret = matches!(
                kind,
                EntryKind::Authenticate
                    | EntryKind::AuthUserAdd
                    | EntryKind::AuthUserChangePassword
            );
            assert_eq!(p.has_secrets(), expect_secret, "{kind}");
            assert!(!r.has_secrets(), "{kind}");
            for secret in ["hunter2", "tok.1", "plain", "$2a$10$hash"] {
                assert!(!p.summary(None).contains(secret), "{}", p.summary(None));
                assert!(!format!("{r:?}").contains(secret), "{r:?}");
            }
            let Payload::Request(rr) = &r else { panic!() };
            if let Some(a) = &rr.auth_user_add {
                assert_eq!(a.password, REDACTED);
                assert_eq!(a.hashed_password, REDACTED);
                assert_eq!(a.name, b"u");
            }
            if let Some(a) = &rr.auth_user_change_password {
                assert_eq!(a.password, REDACTED);
                assert_eq!(a.hashed_password, REDACTED);
            }
            if let Some(a) = &rr.authenticate {
                assert_eq!(a.password, REDACTED);
                assert_eq!(a.simple_token, REDACTED);
                assert_eq!(a.name, b"root");
            }
        }
        // 3.5 style: plaintext empty, hash set. The empty field stays empty.
        let p = Payload::Request(Box::new(irr(|r| {
            r.auth_user_add = Some(AuthUserAddRequest {
                name: b"u".to_vec(),
                hashed_password: b"$2a$10$x".to_vec(),
                ..Default::default()
            })
        })));
        let Payload::Request(rr) = p.redacted() else {
            panic!()
        };
        let a = rr.auth_user_add.expect("auth_user_add");
        assert_eq!(
            (a.password.as_slice(), a.hashed_password.as_slice()),
            (&b""[..], REDACTED)
        );
        assert_eq!(
            p.summary(None),
            "auth_user_add name=\"u\" password=\"\" hashed_password=<redacted> user=\"root\""
        );
        // v2 auth store writes.
        let p = Payload::V2(Box::new(Request {
            prev_value: br#"{"password":"$2a$old"}"#.to_vec(),
            ..v2("PUT", "/2/users/bob", r#"{"password":"$2a$..."}"#)
        }));
        assert!(p.has_secrets());
        assert!(!p.summary(None).contains("$2a$"));
        let Payload::V2(r) = p.redacted() else {
            panic!()
        };
        assert_eq!(r.val, REDACTED);
        assert_eq!(r.prev_value, REDACTED);
    }

    #[test]
    fn keys_of_nested_txn() {
        let inner = TxnRequest {
            compare: vec![],
            success: vec![RequestOp {
                request: Some(request_op::Request::RequestDeleteRange(
                    DeleteRangeRequest {
                        key: b"d".to_vec(),
                        range_end: b"e".to_vec(),
                        prev_kv: false,
                    },
                )),
            }],
            failure: vec![RequestOp {
                request: Some(request_op::Request::RequestPut(put(b"\x00\n", b"x"))),
            }],
        };
        let outer = irr(|r| {
            r.txn = Some(TxnRequest {
                compare: vec![Compare {
                    key: b"c".to_vec(),
                    target: CompareTarget::Value as i32,
                    target_union: Some(compare::TargetUnion::Value(b"v".to_vec())),
                    ..Default::default()
                }],
                success: vec![RequestOp {
                    request: Some(request_op::Request::RequestTxn(inner)),
                }],
                failure: vec![RequestOp {
                    request: Some(request_op::Request::RequestRange(RangeRequest {
                        key: b"r".to_vec(),
                        range_end: b"\0".to_vec(),
                        ..Default::default()
                    })),
                }],
            })
        });
        let p = decode_entry(0, &outer.encode_to_vec());
        let keys: Vec<String> = p.keys().iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "compare \"c\"",
                "delete_range [\"d\", \"e\")",
                "put \"\\x00\\n\"",
                "range [\"r\", +inf)",
            ]
        );
        assert_eq!(
            p.summary(Some(0)),
            "txn if value(\"c\") = <1 bytes> then txn { if true then delete_range key=\"d\" \
             range_end=\"e\" else put key=\"\\x00\\n\" value=<1 bytes> lease=0 } else range \
             key=\"r\" range_end=\"\\x00\" user=\"root\""
        );
        // Other kinds touch no keys.
        assert!(Payload::NoOp.keys().is_empty());
        for (kind, req) in one_of_each() {
            let n = Payload::Request(Box::new(req)).keys().len();
            let expected = match kind {
                EntryKind::Put | EntryKind::Range | EntryKind::DeleteRange => 1,
                EntryKind::Txn => 3,
                _ => 0,
            };
            assert_eq!(n, expected, "{kind}");
        }
    }

    #[test]
    fn summary_shortens_values_and_escapes_keys() {
        let p = Payload::Request(Box::new(InternalRaftRequest {
            put: Some(PutRequest {
                key: b"a\"b\\c\x01\xff\xe2\x80\xae\xc3\xa9".to_vec(),
                value: b"hello world".to_vec(),
                lease: 0x694d,
                ..Default::default()
            }),
            ..Default::default()
        }));
        let key = r#"key="a\"b\\c\x01\xff\u{202e}é""#;
        assert_eq!(
            p.summary(None),
            format!("put {key} value=\"hello world\" lease=000000000000694d")
        );
        assert_eq!(
            p.summary(Some(5)),
            format!("put {key} value=\"hello\"…(11 bytes) lease=000000000000694d")
        );
        assert_eq!(
            p.summary(Some(0)),
            format!("put {key} value=<11 bytes> lease=000000000000694d")
        );
        assert_eq!(
            p.summary(Some(11)),
            format!("put {key} value=\"hello world\" lease=000000000000694d")
        );
        assert_eq!(escape_bytes(b"\t\r\n\x7f"), "\\t\\r\\n\\x7f");
        assert_eq!(escape_bytes("\u{85}".as_bytes()), "\\u{0085}");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_view() {
        let p = Payload::Request(Box::new(InternalRaftRequest {
            id: 5,
            put: Some(PutRequest {
                key: b"k".to_vec(),
                value: vec![0xff, 0x00],
                lease: 1,
                ..Default::default()
            }),
            ..Default::default()
        }));
        let json = serde_json::to_string(&p.view()).expect("json");
        assert_eq!(
            json,
            r#"{"kind":"put","request":{"id":"0000000000000005","put":{"key":"k","value":{"base64":"/wA="},"lease":"0000000000000001","prev_kv":false,"ignore_value":false,"ignore_lease":false}}}"#
        );
        assert_eq!(
            serde_json::to_string(&Payload::NoOp.view()).expect("json"),
            r#"{"kind":"noop"}"#
        );
        let txn = one_of_each()
            .into_iter()
            .find(|(k, _)| *k == EntryKind::Txn)
            .map(|(_, r)| Payload::Request(Box::new(r)))
            .expect("txn");
        let v = serde_json::to_value(txn.view()).expect("json");
        let t = &v["request"]["txn"];
        assert_eq!(t["compare"][0]["result"], "GREATER");
        assert_eq!(t["compare"][0]["target"], "MOD");
        assert_eq!(t["compare"][0]["mod_revision"], 7);
        assert_eq!(t["success"][0]["request_put"]["key"], "s");
        assert_eq!(t["failure"][0]["request_range"]["sort_order"], "NONE");
        assert_eq!(v["request"]["header"]["username"], "root");
        let cc = ConfChange {
            id: 1,
            r#type: 3,
            node_id: u64::MAX,
            context:
                br#"{"id":18446744073709551615,"peerURLs":["http://a:2380"],"isLearner":true}"#
                    .to_vec(),
        };
        let v = serde_json::to_value(decode_entry(1, &cc.encode_to_vec()).view()).expect("json");
        assert_eq!(v["kind"], "conf_change");
        assert_eq!(v["conf_change"]["type"], "ConfChangeAddLearnerNode");
        assert_eq!(v["conf_change"]["node_id"], "ffffffffffffffff");
        assert_eq!(v["member"]["id"], "ffffffffffffffff");
        assert_eq!(v["member"]["is_learner"], true);
        let v = serde_json::to_value(decode_entry(0, &[0xff]).view()).expect("json");
        assert_eq!(v["kind"], "unknown");
        assert!(v["undecodable"]["reason"].is_string());
        // Unknown enum values fall back to the number.
        let a = Payload::Request(Box::new(InternalRaftRequest {
            alarm: Some(AlarmRequest {
                action: 9,
                member_id: 1,
                alarm: 1,
            }),
            ..Default::default()
        }));
        let v = serde_json::to_value(a.view()).expect("json");
        assert_eq!(v["request"]["alarm"]["action"], 9);
        assert_eq!(v["request"]["alarm"]["alarm"], "NOSPACE");
        let keys = serde_json::to_value(txn.keys()).expect("json");
        assert_eq!(keys[0]["op"], "compare");
        assert_eq!(keys[0]["range_end"], "d");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(ty in -1i32..4, data in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let p = decode_entry(ty, &data);
            let _ = p.kind();
            let _ = p.keys();
            let _ = p.summary(Some(3));
            let _ = p.redacted();
            #[cfg(feature = "serde")]
            let _ = serde_json::to_string(&p.view());
        }
    }
}

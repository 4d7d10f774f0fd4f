//! etcd's other buckets: `meta`, `members`, `members_removed`, `lease`, `alarm`, `cluster`,
//! `auth`, `authUsers`, `authRoles` (etcd 3.4–3.6 `server/mvcc/buckets`, `server/storage/schema`).
//!
//! Malformed values do not fail the read: they are listed as [`SchemaProblem`]s.

use prost::Message;
use serde_json::Value;

use crate::bolt::{Db, Entry};
use crate::bytes::u64_be;
use crate::error::Result;
use crate::mvcc::RevisionKey;
use etcd_proto::text::escape_bytes as escape;

/// `meta` bucket name.
pub const META: &[u8] = b"meta";
/// `members` bucket name.
pub const MEMBERS: &[u8] = b"members";
/// `members_removed` bucket name.
pub const MEMBERS_REMOVED: &[u8] = b"members_removed";
/// `lease` bucket name.
pub const LEASE: &[u8] = b"lease";
/// `alarm` bucket name.
pub const ALARM: &[u8] = b"alarm";
/// `cluster` bucket name.
pub const CLUSTER: &[u8] = b"cluster";
/// `auth` bucket name.
pub const AUTH: &[u8] = b"auth";
/// `authUsers` bucket name.
pub const AUTH_USERS: &[u8] = b"authUsers";
/// `authRoles` bucket name.
pub const AUTH_ROLES: &[u8] = b"authRoles";

/// A value in an etcd bucket that is not what etcd writes there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SchemaProblem {
    /// Bucket name.
    pub bucket: String,
    /// The key, escaped.
    pub key: String,
    /// What is wrong.
    pub reason: String,
    /// Page holding the entry.
    pub page: u64,
}

fn problem(bucket: &[u8], e: &Entry, reason: impl Into<String>) -> SchemaProblem {
    SchemaProblem {
        bucket: escape(bucket),
        key: escape(&e.key),
        reason: reason.into(),
        page: e.page,
    }
}

/// All non-bucket entries of a top-level bucket (empty if there is no such bucket).
/// Only for the small buckets: entries are collected in memory.
fn entries(db: &Db, name: &[u8]) -> Result<Vec<Entry>> {
    let Some(b) = db.bucket(name)? else {
        return Ok(Vec::new());
    };
    db.cursor(&b)
        .filter(|e| e.as_ref().map_or(true, |e| !e.is_bucket))
        .collect()
}

/// raftpb.ConfState as etcd 3.5+ stores it in `meta/confState` (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConfStateJson {
    /// Voters.
    pub voters: Vec<u64>,
    /// Learners.
    pub learners: Vec<u64>,
    /// Outgoing voters (joint consensus).
    pub voters_outgoing: Vec<u64>,
    /// Learners to add on leaving the joint state.
    pub learners_next: Vec<u64>,
    /// Leave joint consensus automatically.
    pub auto_leave: bool,
}

/// The `meta` bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MetaInfo {
    /// Whether the db has a `meta` bucket at all.
    pub present: bool,
    /// `consistent_index`: the last raft index applied to this db.
    pub consistent_index: Option<u64>,
    /// `term` (3.5+): the term of that entry.
    pub term: Option<u64>,
    /// `scheduledCompactRev` (main revision).
    pub scheduled_compact_rev: Option<i64>,
    /// `finishedCompactRev` (main revision).
    pub finished_compact_rev: Option<i64>,
    /// `confState` (3.5+).
    pub conf_state: Option<ConfStateJson>,
    /// `storageVersion` (3.6+).
    pub storage_version: Option<String>,
    /// Values that are not what etcd writes.
    pub problems: Vec<SchemaProblem>,
}

fn u64_list(v: &Value, field: &str) -> Option<Vec<u64>> {
    match v.get(field) {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(Value::as_u64).collect(),
        Some(_) => None,
    }
}

fn parse_conf_state(bytes: &[u8]) -> Option<ConfStateJson> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    Some(ConfStateJson {
        voters: u64_list(&v, "voters")?,
        learners: u64_list(&v, "learners")?,
        voters_outgoing: u64_list(&v, "voters_outgoing")?,
        learners_next: u64_list(&v, "learners_next")?,
        auto_leave: v
            .get("auto_leave")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn be_u64(v: &[u8]) -> Option<u64> {
    (v.len() == 8).then(|| u64_be(v, 0)).flatten()
}

/// Read the `meta` bucket.
pub fn meta(db: &Db) -> Result<MetaInfo> {
    let mut out = MetaInfo {
        present: db.bucket(META)?.is_some(),
        ..MetaInfo::default()
    };
    for e in entries(db, META)? {
        let v = e.value.as_slice();
        let bad = |what: &str| problem(META, &e, format!("not {what}"));
        match e.key.as_slice() {
            b"consistent_index" => match be_u64(v) {
                Some(n) => out.consistent_index = Some(n),
                None => out.problems.push(bad("an 8-byte big-endian integer")),
            },
            b"term" => match be_u64(v) {
                Some(n) => out.term = Some(n),
                None => out.problems.push(bad("an 8-byte big-endian integer")),
            },
            k @ (b"scheduledCompactRev" | b"finishedCompactRev") => match RevisionKey::parse(v) {
                Ok(r) if k == b"scheduledCompactRev" => {
                    out.scheduled_compact_rev = Some(r.rev.main)
                }
                Ok(r) => out.finished_compact_rev = Some(r.rev.main),
                Err(reason) => out.problems.push(bad(reason)),
            },
            b"confState" => match parse_conf_state(v) {
                Some(c) => out.conf_state = Some(c),
                None => out.problems.push(bad("raftpb.ConfState JSON")),
            },
            b"storageVersion" => match std::str::from_utf8(v) {
                Ok(s) => out.storage_version = Some(s.to_owned()),
                Err(_) => out.problems.push(bad("UTF-8")),
            },
            _ => {}
        }
    }
    Ok(out)
}

/// A cluster member as stored in the `members` bucket (JSON) or the v2 store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Member {
    /// Member ID.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub id: u64,
    /// Member name (empty until it has published its attributes).
    pub name: String,
    /// Peer URLs.
    pub peer_urls: Vec<String>,
    /// Client URLs.
    pub client_urls: Vec<String>,
    /// Whether it is a learner.
    pub is_learner: bool,
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Parse member JSON (`{"id":…,"peerURLs":[…],"isLearner":…,"name":…,"clientURLs":[…]}`);
/// fields missing from `v` keep their value in `into`. `id` is parsed as u64 exactly.
pub(crate) fn merge_member_json(into: &mut Member, v: &Value) {
    if let Some(id) = v.get("id").and_then(Value::as_u64) {
        into.id = id;
    }
    if let Some(n) = v.get("name").and_then(Value::as_str) {
        into.name = n.to_owned();
    }
    if v.get("peerURLs").is_some() {
        into.peer_urls = strings(v, "peerURLs");
    }
    if v.get("clientURLs").is_some() {
        into.client_urls = strings(v, "clientURLs");
    }
    if let Some(l) = v.get("isLearner").and_then(Value::as_bool) {
        into.is_learner = l;
    }
}

/// The `members` and `members_removed` buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Membership {
    /// Members, in key order.
    pub members: Vec<Member>,
    /// IDs of removed members.
    pub removed: Vec<u64>,
    /// Values that are not what etcd writes.
    pub problems: Vec<SchemaProblem>,
}

/// Read the `members` and `members_removed` buckets.
pub fn membership(db: &Db) -> Result<Membership> {
    let mut out = Membership::default();
    for e in entries(db, MEMBERS)? {
        let key_id = std::str::from_utf8(&e.key)
            .ok()
            .and_then(|k| u64::from_str_radix(k, 16).ok());
        let Ok(v) = serde_json::from_slice::<Value>(&e.value) else {
            out.problems.push(problem(MEMBERS, &e, "value is not JSON"));
            continue;
        };
        let mut m = Member::default();
        merge_member_json(&mut m, &v);
        if key_id != Some(m.id) {
            out.problems
                .push(problem(MEMBERS, &e, "key is not the hex of the member id"));
        }
        out.members.push(m);
    }
    for e in entries(db, MEMBERS_REMOVED)? {
        match std::str::from_utf8(&e.key)
            .ok()
            .and_then(|k| u64::from_str_radix(k, 16).ok())
        {
            Some(id) => out.removed.push(id),
            None => out
                .problems
                .push(problem(MEMBERS_REMOVED, &e, "key is not a hex member id")),
        }
    }
    Ok(out)
}

/// `leasepb.Lease`: the value of every record of the `lease` bucket (shared with the WAL
/// side's protobuf types).
pub use etcd_proto::pb::leasepb::Lease;

/// Leases in the `lease` bucket, and values that are not leases.
pub fn leases(db: &Db) -> Result<(Vec<Lease>, Vec<SchemaProblem>)> {
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for e in entries(db, LEASE)? {
        match Lease::decode(e.value.as_slice()) {
            Ok(l) => out.push(l),
            Err(_) => problems.push(problem(LEASE, &e, "value is not a leasepb.Lease")),
        }
    }
    Ok((out, problems))
}

/// `etcdserverpb.AlarmMember`, the key of an `alarm` entry.
#[derive(Clone, PartialEq, Eq, prost::Message)]
struct AlarmMember {
    #[prost(uint64, tag = "1")]
    member_id: u64,
    #[prost(int32, tag = "2")]
    alarm: i32,
}

/// An alarm type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum AlarmType {
    /// `NONE` (0).
    None,
    /// `NOSPACE` (1): the backend quota was exceeded; etcd refuses writes.
    Nospace,
    /// `CORRUPT` (2): a hash check found divergent members.
    Corrupt,
    /// A value etcd does not define.
    Unknown(i32),
}

impl AlarmType {
    /// etcd's name for it.
    pub fn name(&self) -> String {
        match self {
            AlarmType::None => "NONE".into(),
            AlarmType::Nospace => "NOSPACE".into(),
            AlarmType::Corrupt => "CORRUPT".into(),
            AlarmType::Unknown(n) => format!("UNKNOWN({n})"),
        }
    }
}

/// An active alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Alarm {
    /// Member that raised it.
    pub member_id: u64,
    /// Which alarm.
    pub alarm: AlarmType,
}

/// Active alarms in the `alarm` bucket.
pub fn alarms(db: &Db) -> Result<(Vec<Alarm>, Vec<SchemaProblem>)> {
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for e in entries(db, ALARM)? {
        match AlarmMember::decode(e.key.as_slice()) {
            Ok(a) => out.push(Alarm {
                member_id: a.member_id,
                alarm: match a.alarm {
                    0 => AlarmType::None,
                    1 => AlarmType::Nospace,
                    2 => AlarmType::Corrupt,
                    n => AlarmType::Unknown(n),
                },
            }),
            Err(_) => problems.push(problem(ALARM, &e, "key is not an AlarmMember")),
        }
    }
    Ok((out, problems))
}

/// The `cluster` bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClusterInfo {
    /// `clusterVersion`, e.g. `3.5.0`.
    pub cluster_version: Option<String>,
    /// `downgrade` JSON (3.5+), as stored.
    pub downgrade: Option<String>,
}

/// Read the `cluster` bucket.
pub fn cluster(db: &Db) -> Result<ClusterInfo> {
    let mut out = ClusterInfo::default();
    for e in entries(db, CLUSTER)? {
        let text = String::from_utf8_lossy(&e.value).into_owned();
        match e.key.as_slice() {
            b"clusterVersion" => out.cluster_version = Some(text),
            b"downgrade" => out.downgrade = Some(text),
            _ => {}
        }
    }
    Ok(out)
}

/// `authpb.User` (password hash not kept).
#[derive(Clone, PartialEq, Eq, prost::Message)]
struct UserPb {
    #[prost(bytes = "vec", tag = "1")]
    name: Vec<u8>,
    #[prost(string, repeated, tag = "3")]
    roles: Vec<String>,
}

/// An auth user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthUser {
    /// User name (escaped).
    pub name: String,
    /// Granted roles.
    pub roles: Vec<String>,
}

/// The `auth`, `authUsers` and `authRoles` buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthInfo {
    /// `authEnabled`.
    pub enabled: Option<bool>,
    /// `authRevision`.
    pub revision: Option<u64>,
    /// Users.
    pub users: Vec<AuthUser>,
    /// Role names (escaped).
    pub roles: Vec<String>,
    /// Values that are not what etcd writes.
    pub problems: Vec<SchemaProblem>,
}

/// Read the auth buckets.
pub fn auth(db: &Db) -> Result<AuthInfo> {
    let mut out = AuthInfo::default();
    for e in entries(db, AUTH)? {
        match e.key.as_slice() {
            b"authEnabled" => out.enabled = e.value.first().map(|b| *b == 1),
            b"authRevision" => match be_u64(&e.value) {
                Some(r) => out.revision = Some(r),
                None => out
                    .problems
                    .push(problem(AUTH, &e, "not an 8-byte big-endian integer")),
            },
            _ => {}
        }
    }
    for e in entries(db, AUTH_USERS)? {
        match UserPb::decode(e.value.as_slice()) {
            Ok(u) => out.users.push(AuthUser {
                name: escape(&e.key),
                roles: u.roles,
            }),
            Err(_) => out
                .problems
                .push(problem(AUTH_USERS, &e, "value is not an authpb.User")),
        }
    }
    for e in entries(db, AUTH_ROLES)? {
        out.roles.push(escape(&e.key));
    }
    Ok(out)
}

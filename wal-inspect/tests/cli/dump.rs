//! `dump` on WALs written by real etcd: the decoded writes replay to the keyspace etcd served,
//! counts by kind match the generator's workload, every JSON line matches the documented
//! schema (`docs/dump-json.md`, unknown fields denied), damage is dumped past and marked,
//! filters select exactly what they say, and `--raw` lists every record.

#![allow(
    dead_code,
    reason = "the schema structs name every field so that unknown ones are denied"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

// ------------------------------------------------------------------------ the schema, test side

/// A byte string: text when UTF-8, else `{"base64": …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Bytes {
    Text(String),
    Base64(B64),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct B64 {
    base64: String,
}

impl Bytes {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Bytes::Text(s) => s.as_bytes().to_vec(),
            Bytes::Base64(b) => {
                let v = base64::engine::general_purpose::STANDARD
                    .decode(&b.base64)
                    .expect("base64");
                assert!(
                    std::str::from_utf8(&v).is_err(),
                    "UTF-8 bytes must be text, not base64"
                );
                v
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Begin(Begin),
    Entry(Box<EntryLine>),
    Record(Box<RecordLine>),
    Finding(FindingLine),
    Summary(Summary),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Begin {
    tool: String,
    version: String,
    command: String,
    schema_version: u32,
    wal_dir: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Verified,
    CrcMismatch,
    Invalid,
    AfterDamageVerified,
    AfterDamageUnverified,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    file: String,
    offset: u64,
    ordinal: u64,
    status: Status,
    index: u64,
    term: u64,
    entry_type: String,
    data_len: u64,
    kind: String,
    keys: Vec<KeyJ>,
    payload: PayloadJ,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    index: u64,
    term: u64,
    entry_type: String,
    data_len: u64,
    kind: String,
    keys: Vec<KeyJ>,
    payload: PayloadJ,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJ {
    op: String,
    key: Bytes,
    range_end: Bytes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordLine {
    file: String,
    offset: u64,
    ordinal: u64,
    frame_len: u64,
    record_type: Option<String>,
    raw_type: i64,
    crc: String,
    data_len: u64,
    status: Status,
    metadata: Option<MetadataJ>,
    hard_state: Option<HardStateJ>,
    snapshot: Option<SnapshotJ>,
    entry: Option<EntryBody>,
    decode_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataJ {
    #[serde(deserialize_with = "hex_u64")]
    node_id: u64,
    #[serde(deserialize_with = "hex_u64")]
    cluster_id: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct HardStateJ {
    term: u64,
    #[serde(deserialize_with = "hex_u64")]
    vote: u64,
    commit: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotJ {
    index: u64,
    term: u64,
    conf_state: Option<ConfStateJ>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfStateJ {
    #[serde(deserialize_with = "hex_list")]
    voters: Vec<u64>,
    #[serde(deserialize_with = "hex_list")]
    learners: Vec<u64>,
    #[serde(deserialize_with = "hex_list")]
    voters_outgoing: Vec<u64>,
    #[serde(deserialize_with = "hex_list")]
    learners_next: Vec<u64>,
    auto_leave: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingLine {
    kind: String,
    file: String,
    offset: Option<u64>,
    ordinal: Option<u64>,
    record_type: Option<String>,
    index: Option<u64>,
    term: Option<u64>,
    decisive: bool,
    message: String,
    etcd_error: Option<String>,
    etcd_reaction: String,
    expected_crc: Option<String>,
    actual_crc: Option<String>,
    frame_len: Option<u64>,
    resync_offset: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    segments: u64,
    records: u64,
    entries: u64,
    first_index: Option<u64>,
    last_index: Option<u64>,
    shown_entries: u64,
    shown_records: u64,
    kinds: BTreeMap<String, u64>,
    hard_state: Option<HardStateJ>,
    findings: u64,
    damaged: bool,
    last_entry_before_damage: Option<IndexTerm>,
    last_write_before_damage: Option<LastWrite>,
    beyond_damage: Option<AfterDamage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexTerm {
    index: u64,
    term: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LastWrite {
    index: u64,
    term: u64,
    kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterDamage {
    records: u64,
    entries: u64,
    first_index: Option<u64>,
    last_index: Option<u64>,
    chain_resynchronised: bool,
    intact: bool,
}

// The payload (docs/dump-json.md, "The object"). Request kinds the fixtures hold are typed
// field by field; the rest are checked by name only.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadJ {
    kind: String,
    request: Option<Irr>,
    v2: Option<V2>,
    conf_change: Option<ConfChangeJ>,
    #[serde(default, deserialize_with = "some")]
    member: Option<Option<MemberJ>>,
    conf_change_v2: Option<Value>,
    undecodable: Option<Undecodable>,
}

/// An ID written as 16 lowercase hex digits.
fn hex_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    if s.len() != 16 {
        return Err(serde::de::Error::custom(format!(
            "ID {s:?} is not 16 hex digits"
        )));
    }
    u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
}

/// A lease ID (signed) written as 16 hex digits of its bits.
fn hex_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    hex_u64(d).map(|u| u as i64)
}

fn opt_hex_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| {
            u64::from_str_radix(&s, 16)
                .map(|u| u as i64)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
}

fn hex_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| u64::from_str_radix(s, 16).map_err(serde::de::Error::custom))
        .collect()
}

/// Present-but-null → `Some(None)`, absent → `None`.
fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Undecodable {
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Irr {
    header: Option<Header>,
    #[serde(deserialize_with = "hex_u64")]
    id: u64,
    v2: Option<V2>,
    range: Option<RangeJ>,
    put: Option<PutJ>,
    delete_range: Option<DeleteJ>,
    txn: Option<TxnJ>,
    compaction: Option<CompactionJ>,
    lease_grant: Option<LeaseGrantJ>,
    lease_revoke: Option<LeaseRevokeJ>,
    alarm: Option<Value>,
    lease_checkpoint: Option<Value>,
    auth_enable: Option<Value>,
    auth_disable: Option<Value>,
    auth_status: Option<Value>,
    authenticate: Option<Value>,
    auth_user_add: Option<Value>,
    auth_user_delete: Option<Value>,
    auth_user_get: Option<Value>,
    auth_user_change_password: Option<Value>,
    auth_user_grant_role: Option<Value>,
    auth_user_revoke_role: Option<Value>,
    auth_user_list: Option<Value>,
    auth_role_list: Option<Value>,
    auth_role_add: Option<Value>,
    auth_role_delete: Option<Value>,
    auth_role_get: Option<Value>,
    auth_role_grant_permission: Option<Value>,
    auth_role_revoke_permission: Option<Value>,
    cluster_version_set: Option<VerJ>,
    cluster_member_attr_set: Option<MemberAttrSetJ>,
    downgrade_info_set: Option<Value>,
    downgrade_version_test: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(deserialize_with = "hex_u64")]
    id: u64,
    username: Bytes,
    auth_revision: u64,
    #[serde(deserialize_with = "hex_u64")]
    requester_member_id: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerJ {
    ver: Bytes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberAttrSetJ {
    #[serde(deserialize_with = "hex_u64")]
    member_id: u64,
    member_attributes: Option<MemberAttrsJ>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberAttrsJ {
    name: Bytes,
    client_urls: Vec<Bytes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeJ {
    key: Bytes,
    range_end: Bytes,
    limit: i64,
    revision: i64,
    sort_order: Value,
    sort_target: Value,
    serializable: bool,
    keys_only: bool,
    count_only: bool,
    min_mod_revision: i64,
    max_mod_revision: i64,
    min_create_revision: i64,
    max_create_revision: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutJ {
    key: Bytes,
    value: Bytes,
    #[serde(deserialize_with = "hex_i64")]
    lease: i64,
    prev_kv: bool,
    ignore_value: bool,
    ignore_lease: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteJ {
    key: Bytes,
    range_end: Bytes,
    prev_kv: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TxnJ {
    compare: Vec<CompareJ>,
    success: Vec<OpJ>,
    failure: Vec<OpJ>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareJ {
    result: String,
    target: String,
    key: Bytes,
    range_end: Bytes,
    version: Option<i64>,
    create_revision: Option<i64>,
    mod_revision: Option<i64>,
    #[serde(default, deserialize_with = "opt_hex_i64")]
    lease: Option<i64>,
    value: Option<Bytes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpJ {
    request_range: Option<RangeJ>,
    request_put: Option<PutJ>,
    request_delete_range: Option<DeleteJ>,
    request_txn: Option<TxnJ>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactionJ {
    revision: i64,
    physical: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseGrantJ {
    ttl: i64,
    #[serde(deserialize_with = "hex_i64")]
    id: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseRevokeJ {
    #[serde(deserialize_with = "hex_i64")]
    id: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct V2 {
    #[serde(deserialize_with = "hex_u64")]
    id: u64,
    method: String,
    path: Bytes,
    val: Bytes,
    dir: bool,
    prev_value: Bytes,
    prev_index: u64,
    prev_exist: Option<bool>,
    expiration: Option<String>,
    wait: bool,
    since: u64,
    recursive: bool,
    sorted: bool,
    quorum: bool,
    time: Option<String>,
    stream: bool,
    refresh: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfChangeJ {
    #[serde(deserialize_with = "hex_u64")]
    id: u64,
    r#type: String,
    #[serde(deserialize_with = "hex_u64")]
    node_id: u64,
    context: Bytes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberJ {
    #[serde(deserialize_with = "hex_u64")]
    id: u64,
    peer_urls: Vec<String>,
    name: String,
    client_urls: Vec<String>,
    is_learner: bool,
    is_promote: bool,
}

// ------------------------------------------------------------------------------------ running

struct Run {
    code: i32,
    stdout: Vec<u8>,
}

fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let mut all: Vec<&OsStr> = vec![OsStr::new("dump")];
    all.extend(args.iter().map(AsRef::as_ref));
    let out = crate::util::run(&all);
    assert!(
        out.code == 0 || out.code == 1,
        "dump {all:?} failed: {}",
        out.stderr
    );
    if all.iter().any(|a| *a == "--json") {
        crate::util::json_lines(&out, Some("dump"));
    }
    Run {
        code: out.code,
        stdout: out.stdout.into_bytes(),
    }
}

/// Every line parsed into the test-side schema (unknown fields denied).
fn lines(r: &Run) -> Vec<Line> {
    let text = std::str::from_utf8(&r.stdout).expect("JSON output is UTF-8");
    let v: Vec<Line> = text
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                panic!(
                    "line does not match the schema ({e}): {}",
                    &l[..l.len().min(500)]
                )
            })
        })
        .collect();
    assert!(
        matches!(v.first(), Some(Line::Begin(b)) if b.tool == "wal-inspect" && b.command == "dump" && b.schema_version == 2 && !b.version.is_empty() && !b.wal_dir.is_empty())
    );
    assert!(matches!(v.last(), Some(Line::Summary(_))));
    assert_eq!(
        v.iter().filter(|l| matches!(l, Line::Summary(_))).count(),
        1
    );
    v
}

fn dump_json(path: &Path, extra: &[&str]) -> (i32, Vec<Line>) {
    let mut args: Vec<&OsStr> = vec![OsStr::new("--json")];
    args.extend(extra.iter().map(OsStr::new));
    args.push(path.as_os_str());
    let r = run(&args);
    let l = lines(&r);
    (r.code, l)
}

fn entries(lines: &[Line]) -> Vec<&EntryLine> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Entry(e) => Some(e.as_ref()),
            _ => None,
        })
        .collect()
}

fn summary(lines: &[Line]) -> &Summary {
    match lines.last() {
        Some(Line::Summary(s)) => s,
        _ => panic!("no summary"),
    }
}

/// Members whose WAL holds the whole workload (not a member removed before the end).
fn full_members(meta: &Value) -> Vec<String> {
    let removed = meta["workload"]["removed_member"].as_str();
    meta["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .filter(|n| Some(n.as_str()) != removed)
        .collect()
}

// ------------------------------------------------------------------------------------- replay

#[derive(Debug, Clone, PartialEq, Eq)]
struct Kv {
    value: Vec<u8>,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    lease: i64,
}

/// The v3 keyspace as etcd's mvcc applies writes: one revision per request that changes
/// something (a put always does; a delete only if it removes a key), leases own keys.
#[derive(Default)]
struct Store {
    kvs: BTreeMap<Vec<u8>, Kv>,
    revision: i64,
    leases: BTreeMap<i64, BTreeSet<Vec<u8>>>,
}

fn in_range(k: &[u8], key: &[u8], end: &[u8]) -> bool {
    if end.is_empty() {
        return k == key;
    }
    if end == b"\0" {
        return k >= key;
    }
    k >= key && k < end
}

impl Store {
    fn new() -> Store {
        Store {
            revision: 1, // etcd's first write is revision 2
            ..Store::default()
        }
    }

    fn keys_in(&self, key: &[u8], end: &[u8]) -> Vec<Vec<u8>> {
        if end.is_empty() {
            return self
                .kvs
                .get(key)
                .map(|_| key.to_vec())
                .into_iter()
                .collect();
        }
        self.kvs
            .keys()
            .filter(|k| in_range(k, key, end))
            .cloned()
            .collect()
    }

    fn put(&mut self, p: &PutJ, rev: i64) {
        let key = p.key.bytes();
        let old = self.kvs.get(&key).cloned();
        let lease = if p.ignore_lease {
            old.as_ref().map_or(0, |o| o.lease)
        } else {
            p.lease
        };
        let value = if p.ignore_value {
            old.as_ref().map(|o| o.value.clone()).unwrap_or_default()
        } else {
            p.value.bytes()
        };
        if let Some(o) = &old {
            if let Some(s) = self.leases.get_mut(&o.lease) {
                s.remove(&key);
            }
        }
        if lease != 0 {
            self.leases.entry(lease).or_default().insert(key.clone());
        }
        let kv = Kv {
            value,
            create_revision: old.as_ref().map_or(rev, |o| o.create_revision),
            mod_revision: rev,
            version: old.as_ref().map_or(1, |o| o.version + 1),
            lease,
        };
        self.kvs.insert(key, kv);
    }

    /// Returns whether something was deleted.
    fn delete(&mut self, key: &[u8], end: &[u8]) -> bool {
        let keys = self.keys_in(key, end);
        for k in &keys {
            if let Some(old) = self.kvs.remove(k) {
                if let Some(s) = self.leases.get_mut(&old.lease) {
                    s.remove(k);
                }
            }
        }
        !keys.is_empty()
    }

    fn lease_ok(&self, p: &PutJ) -> bool {
        p.ignore_lease || p.lease == 0 || self.leases.contains_key(&p.lease)
    }

    /// etcd `applyCompare`.
    fn compare(&self, c: &CompareJ) -> bool {
        let key = c.key.bytes();
        let end = c.range_end.bytes();
        let keys = self.keys_in(&key, &end);
        let zero = Kv {
            value: Vec::new(),
            create_revision: 0,
            mod_revision: 0,
            version: 0,
            lease: 0,
        };
        let kvs: Vec<&Kv> = if keys.is_empty() {
            if c.target == "VALUE" {
                return false;
            }
            vec![&zero]
        } else {
            keys.iter().map(|k| &self.kvs[k]).collect()
        };
        kvs.into_iter().all(|kv| {
            let ord = match c.target.as_str() {
                "VALUE" => kv
                    .value
                    .as_slice()
                    .cmp(&c.value.as_ref().map(Bytes::bytes).unwrap_or_default()),
                "VERSION" => kv.version.cmp(&c.version.unwrap_or(0)),
                "CREATE" => kv.create_revision.cmp(&c.create_revision.unwrap_or(0)),
                "MOD" => kv.mod_revision.cmp(&c.mod_revision.unwrap_or(0)),
                "LEASE" => kv.lease.cmp(&c.lease.unwrap_or(0)),
                t => panic!("compare target {t}"),
            };
            match c.result.as_str() {
                "EQUAL" => ord.is_eq(),
                "GREATER" => ord.is_gt(),
                "LESS" => ord.is_lt(),
                "NOT_EQUAL" => ord.is_ne(),
                r => panic!("compare result {r}"),
            }
        })
    }

    /// Applies a txn's chosen branch at revision `rev`; returns whether anything changed.
    fn txn(&mut self, t: &TxnJ, rev: i64) -> bool {
        let ok = t.compare.iter().all(|c| self.compare(c));
        let ops = if ok { &t.success } else { &t.failure };
        let mut changed = false;
        for op in ops {
            if let Some(p) = &op.request_put {
                self.put(p, rev);
                changed = true;
            }
            if let Some(d) = &op.request_delete_range {
                changed |= self.delete(&d.key.bytes(), &d.range_end.bytes());
            }
            if let Some(t) = &op.request_txn {
                changed |= self.txn(t, rev);
            }
        }
        changed
    }

    fn txn_puts_ok(&self, t: &TxnJ) -> bool {
        t.success
            .iter()
            .chain(&t.failure)
            .all(|op| op.request_put.as_ref().is_none_or(|p| self.lease_ok(p)))
    }

    fn apply(&mut self, irr: &Irr) {
        let next = self.revision + 1;
        let changed = if let Some(p) = &irr.put {
            // etcd refuses a put to a lease it does not know (ErrLeaseNotFound).
            self.lease_ok(p) && {
                self.put(p, next);
                true
            }
        } else if let Some(d) = &irr.delete_range {
            self.delete(&d.key.bytes(), &d.range_end.bytes())
        } else if let Some(t) = &irr.txn {
            self.txn_puts_ok(t) && self.txn(t, next)
        } else if let Some(g) = &irr.lease_grant {
            self.leases.entry(g.id).or_default();
            false
        } else if let Some(r) = &irr.lease_revoke {
            let keys = self.leases.remove(&r.id).unwrap_or_default();
            let mut changed = false;
            for k in keys {
                changed |= self.kvs.remove(&k).is_some();
            }
            changed
        } else {
            // compaction, v2 requests, cluster attributes…: no change to the v3 keys.
            false
        };
        if changed {
            self.revision = next;
        }
    }
}

#[derive(Debug, Deserialize)]
struct Keyspace {
    header: KeyspaceHeader,
    #[serde(default)]
    kvs: Vec<KeyspaceKv>,
}

#[derive(Debug, Deserialize)]
struct KeyspaceHeader {
    revision: i64,
}

#[derive(Debug, Deserialize)]
struct KeyspaceKv {
    key: String,
    #[serde(default)]
    value: String,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    #[serde(default)]
    lease: i64,
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

#[test]
fn replay_matches_the_keyspace_etcd_served() {
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let dir = testdata::clean(&config).unwrap();
        let expected: Keyspace = serde_json::from_slice(
            &std::fs::read(dir.path().join("keyspace.json")).expect("keyspace.json"),
        )
        .expect("keyspace.json parses");
        let expected: BTreeMap<Vec<u8>, Kv> = expected
            .kvs
            .iter()
            .map(|k| {
                (
                    b64(&k.key),
                    Kv {
                        value: b64(&k.value),
                        create_revision: k.create_revision,
                        mod_revision: k.mod_revision,
                        version: k.version,
                        lease: k.lease,
                    },
                )
            })
            .chain(std::iter::empty())
            .collect();
        let revision: i64 = serde_json::from_slice::<Keyspace>(
            &std::fs::read(dir.path().join("keyspace.json")).unwrap(),
        )
        .unwrap()
        .header
        .revision;
        for member in full_members(&meta) {
            let (code, lines) = dump_json(&dir.path().join("data").join(&member), &[]);
            assert_eq!(code, 0, "{config}/{member}");
            let mut store = Store::new();
            let mut last = 0;
            for e in entries(&lines) {
                assert_eq!(e.index, last + 1, "{config}/{member}: entries in sequence");
                last = e.index;
                assert_eq!(e.status, Status::Verified);
                if let Some(irr) = &e.payload.request {
                    store.apply(irr);
                }
            }
            // etcd may append an entry or two after the generator read its status.
            assert!(
                last >= meta["final"]["raft_index"].as_u64().unwrap(),
                "{config}/{member}: last index {last}"
            );
            let got: BTreeSet<&Vec<u8>> = store.kvs.keys().collect();
            let want: BTreeSet<&Vec<u8>> = expected.keys().collect();
            assert_eq!(
                got.difference(&want).collect::<Vec<_>>(),
                Vec::<&&Vec<u8>>::new(),
                "{config}/{member}: keys only in the replay"
            );
            assert_eq!(
                want.difference(&got).collect::<Vec<_>>(),
                Vec::<&&Vec<u8>>::new(),
                "{config}/{member}: keys only in etcd"
            );
            for (k, kv) in &expected {
                assert_eq!(
                    &store.kvs[k],
                    kv,
                    "{config}/{member}: key {:?}",
                    String::from_utf8_lossy(k)
                );
            }
            assert_eq!(store.revision, revision, "{config}/{member}: revision");
            eprintln!(
                "{config}/{member}: {} entries replayed, {} keys (values, create/mod revision, \
                 version, lease) and revision {revision} agree with etcd",
                last,
                expected.len()
            );
        }
    }
}

// ------------------------------------------------------------------------------------- counts

fn count(s: &Summary, kind: &str) -> u64 {
    s.kinds.get(kind).copied().unwrap_or(0)
}

/// Workload counts (fixtures/<config>.json `workload.counts`) → entry kinds:
/// - mixed: `put` + `put_with_lease` → `put`; `delete` + `delete_range` → `delete_range`;
///   `txn_success` + `txn_failure` → `txn`; `lease_grant` → `lease_grant`; `compact` →
///   `compaction`; `lease_revoke` ≤ `lease_revoke` (etcd's leader also revokes expired
///   leases itself; with TTL 3600 in a seconds-long run it never does, so they are equal).
/// - large: `put_1MB` + `put_small` → `put`; `compact` → `compaction` (defrag is not raft).
/// - membership: 150 puts; `conf_change` = one AddNode per initial member + add learner +
///   promote (AddNode with `is_promote`) + update (UpdateNode) + remove (RemoveNode).
#[test]
fn counts_by_kind_match_the_workload() {
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let dir = testdata::clean(&config).unwrap();
        let w = &meta["workload"];
        let c = |k: &str| w["counts"][k].as_u64().unwrap_or(0);
        for member in full_members(&meta) {
            let (_, lines) = dump_json(&dir.path().join("data").join(&member), &[]);
            let s = summary(&lines);
            let at = format!("{config}/{member}: {:?}", s.kinds);
            assert_eq!(s.shown_entries, s.entries, "{at}");
            assert_eq!(s.kinds.values().sum::<u64>(), s.entries, "{at}");
            assert_eq!(count(s, "unknown"), 0, "{at}");
            if w["counts"].get("put_with_lease").is_some() {
                assert_eq!(count(s, "put"), c("put") + c("put_with_lease"), "{at}");
                assert_eq!(
                    count(s, "delete_range"),
                    c("delete") + c("delete_range"),
                    "{at}"
                );
                assert_eq!(count(s, "txn"), c("txn_success") + c("txn_failure"), "{at}");
                assert_eq!(count(s, "lease_grant"), c("lease_grant"), "{at}");
                assert!(count(s, "lease_revoke") >= c("lease_revoke"), "{at}");
                assert_eq!(
                    count(s, "lease_revoke"),
                    c("lease_revoke"),
                    "{at}: no expiry"
                );
                assert_eq!(count(s, "compaction"), c("compact"), "{at}");
            } else if w["counts"].get("put_1MB").is_some() {
                assert_eq!(count(s, "put"), c("put_1MB") + c("put_small"), "{at}");
                assert_eq!(count(s, "compaction"), c("compact"), "{at}");
            } else {
                assert_eq!(count(s, "put"), w["ops"].as_u64().unwrap(), "{at}");
                membership_changes(&lines, w, &at);
            }
            eprintln!(
                "{config}/{member}: {}",
                s.kinds
                    .iter()
                    .map(|(k, n)| format!("{k}={n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
}

/// "Who changed membership": the removed member's add, promote, update and removal, with
/// the member JSON from the context.
fn membership_changes(lines: &[Line], w: &Value, at: &str) {
    let id = u64::from_str_radix(w["removed_member_id"].as_str().unwrap(), 16).unwrap();
    let ccs: Vec<(&ConfChangeJ, Option<&MemberJ>)> = entries(lines)
        .into_iter()
        .filter_map(|e| {
            e.payload
                .conf_change
                .as_ref()
                .map(|c| (c, e.payload.member.as_ref().and_then(Option::as_ref)))
        })
        .collect();
    let about: Vec<_> = ccs.iter().filter(|(c, _)| c.node_id == id).collect();
    let shape: Vec<(&str, bool, bool)> = about
        .iter()
        .map(|(c, m)| {
            (
                c.r#type.as_str(),
                m.is_some_and(|m| m.is_learner),
                m.is_some_and(|m| m.is_promote),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("ConfChangeAddLearnerNode", true, false),
            ("ConfChangeAddNode", false, true),
            ("ConfChangeUpdateNode", false, false),
            ("ConfChangeRemoveNode", false, false),
        ],
        "{at}"
    );
    let update = about[2].1.expect("update carries the member");
    assert_eq!(update.id, id);
    assert_eq!(
        update.peer_urls,
        w["steps"][2]["peer_urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        "{at}"
    );
    let initial = ccs.len() - about.len();
    assert!(initial >= 2, "{at}: initial members' AddNode entries");
}

// ------------------------------------------------------------------------------------- damage

#[test]
fn damage_is_dumped_past_and_marked() {
    let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let member = dir.path().join(case.json["member"].as_str().unwrap());
    let gt = &case.json["ground_truth"];
    let damaged_index = gt["record"]["index"].as_u64().unwrap();
    let damaged_offset = gt["record"]["offset"].as_u64().unwrap();
    let (code, lines) = dump_json(&member, &[]);
    assert_eq!(code, 1, "damage found");
    let findings: Vec<&FindingLine> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Finding(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = findings[0];
    assert_eq!(
        (f.kind.as_str(), f.offset, f.index),
        ("crc_mismatch", Some(damaged_offset), Some(damaged_index))
    );
    // The finding comes right before the damaged record's line, in stream order.
    let pos = lines
        .iter()
        .position(|l| matches!(l, Line::Finding(_)))
        .unwrap();
    let es = entries(&lines);
    let before: Vec<_> = lines[..pos]
        .iter()
        .filter(|l| matches!(l, Line::Entry(_)))
        .collect();
    assert_eq!(before.len() as u64, damaged_index - 1);
    let mut last = 0;
    for e in &es {
        let want = match e.index.cmp(&damaged_index) {
            std::cmp::Ordering::Less => Status::Verified,
            std::cmp::Ordering::Equal => Status::CrcMismatch,
            std::cmp::Ordering::Greater => Status::AfterDamageVerified,
        };
        assert_eq!(e.status, want, "entry {}", e.index);
        assert_eq!(e.index, last + 1);
        last = e.index;
    }
    assert_eq!(last, gt["entries_after_range"][1].as_u64().unwrap());
    let s = summary(&lines);
    assert!(s.damaged);
    assert_eq!(
        s.last_entry_before_damage
            .as_ref()
            .map(|l| (l.index, l.term)),
        Some((damaged_index - 1, 2))
    );
    assert!(s.last_write_before_damage.as_ref().unwrap().index < damaged_index);
    let a = s.beyond_damage.as_ref().expect("beyond_damage");
    assert!(a.chain_resynchronised && a.intact);
    assert_eq!(a.entries, last - damaged_index);
    assert_eq!(
        (a.first_index, a.last_index),
        (Some(damaged_index + 1), Some(last))
    );

    // Human output: the finding inline, later entries tagged, the resync said.
    let r = run(&[member.as_os_str()]);
    assert_eq!(r.code, 1);
    let text = String::from_utf8(r.stdout).unwrap();
    let finding_at = text
        .find(&format!(
            "!! crc_mismatch: {} at byte {}, record #",
            gt["segment"].as_str().unwrap(),
            damaged_offset
        ))
        .unwrap_or_else(|| panic!("finding line missing"));
    let tagged = text.find(" [after damage, chain ok]").unwrap();
    assert!(finding_at < tagged);
    assert!(text.contains(" [crc mismatch]"));
    assert!(
        text.contains("-- chain resynchronised"),
        "{}",
        &text[text.len() - 800..]
    );
    assert!(text.contains(&format!(
        "last entry before the damage: index {} term 2",
        damaged_index - 1
    )));
}

/// Zeroed sectors and a torn tail: nothing after the damage is marked verified, and the
/// last line says whether the chain came back.
#[test]
fn unresynchronised_damage_says_so() {
    for name in ["v35-wal-zero-4k", "v34-wal-torn-tail"] {
        let (dir, case) = testdata::case(name).unwrap();
        let member = dir.path().join(case.json["member"].as_str().unwrap());
        let (code, lines) = dump_json(&member, &[]);
        assert_eq!(code, 1, "{name}");
        let s = summary(&lines);
        assert!(s.damaged && s.findings >= 1, "{name}");
        let a = s.beyond_damage.as_ref().unwrap();
        for e in entries(&lines) {
            if a.first_index.is_some_and(|f| e.index >= f) && e.status == Status::Verified {
                panic!("{name}: entry {} after the damage marked verified", e.index);
            }
        }
        let r = run(&[member.as_os_str()]);
        let text = String::from_utf8_lossy(&r.stdout);
        let last = text.lines().last().unwrap();
        assert!(last.starts_with("-- chain"), "{name}: {last}");
        assert_eq!(
            last.starts_with("-- chain resynchronised"),
            a.chain_resynchronised,
            "{name}"
        );
    }
}

// ------------------------------------------------------------------------------------ filters

fn prefix_end(p: &[u8]) -> Option<Vec<u8>> {
    let last = p.iter().rposition(|&b| b < 0xff)?;
    let mut e = p[..=last].to_vec();
    e[last] += 1;
    Some(e)
}

/// The documented `--key-prefix` rule, restated.
fn touches(k: &KeyJ, p: &[u8]) -> bool {
    let (key, end) = (k.key.bytes(), k.range_end.bytes());
    if end.is_empty() {
        return key.starts_with(p);
    }
    let end = (end != b"\0").then_some(end);
    if end.as_ref().is_some_and(|e| key >= *e) {
        return false;
    }
    prefix_end(p).is_none_or(|pe| key < pe) && end.is_none_or(|e| p < e.as_slice())
}

#[test]
fn filters_select_exactly_what_they_say() {
    let dir = testdata::clean("v35-single").unwrap();
    let member = dir.path().join("data/m1/member");
    let (_, all) = dump_json(&member, &[]);
    let all = entries(&all);
    let ids = |v: &[&EntryLine]| {
        v.iter()
            .map(|e| (e.index, e.kind.clone()))
            .collect::<Vec<_>>()
    };

    let (_, l) = dump_json(&member, &["--from-index", "100", "--to-index", "200"]);
    let want: Vec<_> = all
        .iter()
        .copied()
        .filter(|e| (100..=200).contains(&e.index))
        .collect();
    assert_eq!(ids(&entries(&l)), ids(&want));
    assert_eq!(want.len(), 101);
    assert_eq!(summary(&l).shown_entries, 101);

    let (_, l) = dump_json(&member, &["--type", "put,txn,conf_change"]);
    let kinds = ["put", "txn", "conf_change"];
    let want: Vec<_> = all
        .iter()
        .copied()
        .filter(|e| kinds.contains(&e.kind.as_str()))
        .collect();
    assert_eq!(ids(&entries(&l)), ids(&want));
    for k in kinds {
        assert!(want.iter().any(|e| e.kind == k), "fixture has {k}");
    }

    for (arg, prefix) in [
        ("bin/", &b"bin/"[..]),
        (r"bin/nul\0", b"bin/nul\0"),
        (r"bin/ff\xff", b"bin/ff\xff"),
        ("k/01", b"k/01"),
    ] {
        let (_, l) = dump_json(&member, &["--key-prefix", arg]);
        let want: Vec<_> = all
            .iter()
            .copied()
            .filter(|e| e.keys.iter().any(|k| touches(k, prefix)))
            .collect();
        assert!(!want.is_empty(), "{arg}");
        let got = entries(&l);
        assert_eq!(ids(&got), ids(&want), "{arg}");
        for e in got {
            assert!(e.keys.iter().any(|k| touches(k, prefix)));
        }
    }

    // All together.
    let (_, l) = dump_json(
        &member,
        &[
            "--type",
            "delete_range",
            "--key-prefix",
            "k/",
            "--from-index",
            "1000",
        ],
    );
    let want: Vec<_> = all
        .iter()
        .copied()
        .filter(|e| {
            e.kind == "delete_range" && e.index >= 1000 && e.keys.iter().any(|k| touches(k, b"k/"))
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&entries(&l)), ids(&want));

    // Bad arguments: exit 2 with a message.
    for bad in [
        &["--type", "puts"][..],
        &["--key-prefix", r"\x4"],
        &["--from-index", "5", "--to-index", "4"],
    ] {
        let mut args: Vec<&OsStr> = vec![OsStr::new("dump")];
        args.extend(bad.iter().map(OsStr::new));
        args.push(member.as_os_str());
        let out = crate::util::run(&args);
        assert_eq!(out.code, 2, "{bad:?}");
        assert!(!out.stderr.is_empty());
    }
}

// ----------------------------------------------------------------------------- human output

#[test]
fn human_output_escapes_and_shortens() {
    let dir = testdata::clean("v35-single").unwrap();
    let member = dir.path().join("data/m1/member");
    let r = run(&[member.as_os_str()]);
    assert_eq!(r.code, 0);
    let text = String::from_utf8(r.stdout.clone()).expect("escaped output is UTF-8");
    assert!(
        !text.bytes().any(|b| b < 0x20 && b != b'\n'),
        "control bytes reach the terminal"
    );
    assert!(text.contains(r#"key="bin/nl\nkey""#));
    assert!(text.contains(r#"bin/nul\x00key"#));
    assert!(text.contains(r#"bin/ff\xff\xfe"#));
    assert!(text.contains("bytes) lease="), "long values are cut");
    assert!(text.starts_with("== segment 0000000000000000-0000000000000000.wal"));
    assert!(text.contains("-- no damage found"));
    let first = text.lines().nth(1).unwrap();
    assert!(first.trim_start().starts_with("1 "), "{first}");
    let longest = text.lines().map(str::len).max().unwrap();
    assert!(longest < 2000, "{longest}");

    let r = run(&[OsStr::new("--full"), member.as_os_str()]);
    let full = String::from_utf8(r.stdout).unwrap();
    assert!(
        full.lines().map(str::len).max().unwrap() > 9000,
        "--full prints values whole"
    );
    assert_eq!(full.lines().count(), text.lines().count());
}

// -------------------------------------------------------------------------------------- --raw

#[test]
fn raw_lists_every_record_with_its_place() {
    let dir = testdata::clean("v35-single").unwrap();
    let member = dir.path().join("data/m1/member");
    let (_, l) = dump_json(&member, &["--raw"]);
    let recs: Vec<&RecordLine> = l
        .iter()
        .filter_map(|x| match x {
            Line::Record(r) => Some(r.as_ref()),
            _ => None,
        })
        .collect();
    assert!(entries(&l).is_empty());
    let s = summary(&l);
    assert_eq!(recs.len() as u64, s.records);
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut next = 0;
    for (i, r) in recs.iter().enumerate() {
        assert!(
            r.file
                .ends_with("wal/0000000000000000-0000000000000000.wal"),
            "{}",
            r.file
        );
        assert_eq!(
            (r.offset, r.ordinal),
            (next, i as u64),
            "records are contiguous"
        );
        assert_eq!(r.status, Status::Verified);
        assert!(r.frame_len >= 8 + r.data_len && r.frame_len % 8 == 0);
        next = r.offset + r.frame_len;
        let t = r.record_type.as_deref().expect("known type");
        *by_type.entry(t).or_default() += 1;
        match t {
            "crc" => assert_eq!((r.raw_type, r.data_len), (4, 0)),
            "metadata" => {
                let m = r.metadata.as_ref().expect("metadata decoded");
                assert!(m.node_id != 0 && m.cluster_id != 0);
            }
            "state" => assert!(r.hard_state.is_some()),
            "snapshot" => {
                let snap = r.snapshot.as_ref().expect("snapshot decoded");
                assert!(snap.index == 0 || snap.term > 0);
            }
            "entry" => {
                let e = r.entry.as_ref().expect("entry decoded");
                assert!(e.index > 0 && !e.kind.is_empty() && e.entry_type.starts_with("Entry"));
            }
            other => panic!("{other}"),
        }
        assert!(r.decode_error.is_none());
    }
    assert_eq!(recs[0].record_type.as_deref(), Some("crc"));
    assert_eq!(recs[0].offset, 0);
    assert_eq!(by_type["metadata"], 1);
    assert_eq!(by_type["entry"], s.entries);
    assert!(
        by_type["state"] > 0 && by_type["snapshot"] >= 2,
        "{by_type:?}"
    );
    assert_eq!(s.shown_records, s.records - s.entries);

    // Filters keep every non-entry record and select entry records.
    let (_, l) = dump_json(&member, &["--raw", "--type", "lease_grant"]);
    let s2 = summary(&l);
    assert_eq!(s2.shown_records, s.shown_records);
    assert_eq!(s2.shown_entries, s.kinds["lease_grant"]);

    // Human: file+offset, ordinal, type and crc on every line.
    let r = run(&[OsStr::new("--raw"), member.as_os_str()]);
    let text = String::from_utf8(r.stdout).unwrap();
    assert!(text.contains("0000000000000000-0000000000000000.wal+0x0 #0 crc crc="));
    assert!(text.contains(" metadata crc="));
    assert!(text.contains(" state crc=") && text.contains(" snapshot crc="));
    let records = text
        .lines()
        .filter(|l| l.starts_with("0000000000000000-"))
        .count();
    assert_eq!(records as u64, s.records);
}

/// Every example line of `docs/dump-json.md` (the lines that start with `{"type":`, except
/// `--k8s` lines, which `k8s.rs` checks) is a line this schema accepts: unknown or missing
/// keys and wrong types in the document fail here, as they would in the output.
#[test]
fn documented_examples_match_the_schema() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/dump-json.md"))
        .unwrap();
    let examples: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("{\"type\":") && !l.starts_with("{\"type\":\"k8s\""))
        .collect();
    assert!(examples.len() > 40, "{} examples", examples.len());
    for l in examples {
        if let Err(e) = serde_json::from_str::<Line>(l) {
            panic!("docs/dump-json.md: {e}: {l}");
        }
    }
}

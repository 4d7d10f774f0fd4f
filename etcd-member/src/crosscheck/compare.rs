//! Comparing what the WAL determines with each key's latest record in the db's `key`
//! bucket.

use std::collections::HashMap;

use etcd_proto::RaftPos;
use etcd_proto::text::escape_bytes;
use etcd_wal::wire::{Fields, Value};

use etcd_snap::Result;
use etcd_snap::bolt::Db;
use etcd_snap::mvcc::{Revision, RevisionKey, key_bucket};
use etcd_snap::schema;

use super::WalPos;
use super::feed::Feed;
use super::model::{Live, Model, Pos, State};
use super::value::ValueDigest;

/// Mismatches kept in a report (all are counted).
pub const MAX_MISMATCHES: usize = 1000;
/// Keys the db holds but a complete history never wrote, kept before the history is taken
/// as incomplete.
const MAX_UNTRACKED: usize = 10_000;

/// Which history the expectations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// The WAL holds every entry from index 1 and its replay reaches the db's revision:
    /// values, leases, revisions and versions are checked, and keys the WAL never wrote
    /// must not be live.
    Complete,
    /// The WAL starts later (or has holes): only what its own writes determine is checked
    /// (value, lease, deleted), never revisions.
    Partial,
}

/// Where the db holds a key's latest record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DbRecordAt {
    /// The record's revision.
    pub revision: Revision,
    /// Whether it is a tombstone.
    pub tombstone: bool,
    /// Leaf page holding it.
    pub page: u64,
    /// File offset of the record's value (the `mvccpb.KeyValue`).
    pub offset: u64,
    /// File offset of the user value's first byte, when the record decodes.
    pub value_offset: Option<u64>,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diff {
    /// `value`, `lease`, `create_revision`, `mod_revision`, `version`, `revision`,
    /// `deleted`, `record`.
    pub field: &'static str,
    /// What the WAL says (short, escaped).
    pub expected: String,
    /// What the db holds (short, escaped).
    pub actual: String,
}

/// A key whose latest record in the db is not what the WAL wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// The user key (raw bytes).
    pub key: Vec<u8>,
    /// The key, escaped as `dump` does.
    pub key_escaped: String,
    /// The WAL entry that wrote what the db should hold (`None`: a complete history never
    /// wrote this key, yet the db holds it live).
    pub wal: Option<WalPos>,
    /// The db's latest record of the key (`None`: the db has none).
    pub db: Option<DbRecordAt>,
    /// What differs.
    pub diffs: Vec<Diff>,
}

/// The result of the cross-check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValueReport {
    /// Which history was used.
    pub history: History,
    /// The db's consistent index (entries up to it were compared).
    pub consistent_index: u64,
    /// First WAL entry index replayed.
    pub first_index: Option<u64>,
    /// Entries replayed.
    pub entries_replayed: u64,
    /// Keys whose expected latest state was compared.
    pub keys_checked: u64,
    /// Keys the WAL writes whose outcome depends on state it does not hold.
    pub keys_not_checkable: u64,
    /// Keys that differ (at most [`MAX_MISMATCHES`] of them in `mismatches`).
    pub keys_mismatched: u64,
    /// The mismatches, in key order.
    pub mismatches: Vec<Mismatch>,
    /// Revision records compared one by one (every put and tombstone the replay wrote,
    /// older revisions included; only with the whole history).
    pub revisions_checked: u64,
    /// Revision records that differ, other than a key's latest record (which
    /// `keys_mismatched` counts); at most [`MAX_MISMATCHES`] of them in
    /// `revision_mismatches`.
    pub revisions_mismatched: u64,
    /// Those records, in revision order.
    pub revision_mismatches: Vec<Mismatch>,
    /// Why some or all keys could not be checked, or the history is not complete.
    pub notes: Vec<String>,
}

impl ValueReport {
    /// The Kubernetes objects among the mismatching keys (keys under the apiserver's
    /// `/registry/`), per resource and namespace.
    pub fn k8s_objects(&self) -> Vec<etcd_k8s::db::SummaryRow> {
        etcd_k8s::db::count_keys(self.mismatches.iter().map(|m| m.key.as_slice()))
    }
}

/// A record of the `key` bucket, as far as the comparison needs it.
#[derive(Debug, Clone)]
pub(crate) struct DbRec {
    at: DbRecordAt,
    create: i64,
    modr: i64,
    version: i64,
    lease: i64,
    pub(crate) value: Option<ValueDigest>,
}

/// The fields of an `mvccpb.KeyValue`, borrowed; `ok` false when it does not decode
/// (then only the fields before the damage are set).
#[derive(Default)]
pub(crate) struct Kv<'a> {
    pub ok: bool,
    pub key: Option<&'a [u8]>,
    pub create: i64,
    pub modr: i64,
    pub version: i64,
    pub lease: i64,
    pub value: Option<&'a [u8]>,
}

pub(crate) fn parse_kv(buf: &[u8]) -> Kv<'_> {
    let mut kv = Kv::default();
    let mut fields = Fields::new(buf);
    loop {
        match fields.next() {
            Ok(None) => {
                kv.ok = true;
                return kv;
            }
            Err(_) => return kv,
            Ok(Some((field, v))) => match (field, v) {
                (1, Value::Bytes(b)) => kv.key = Some(b),
                (2, Value::Varint(n)) => kv.create = n as i64,
                (3, Value::Varint(n)) => kv.modr = n as i64,
                (4, Value::Varint(n)) => kv.version = n as i64,
                (5, Value::Bytes(b)) => kv.value = Some(b),
                (6, Value::Varint(n)) => kv.lease = n as i64,
                (1..=6, _) => return kv,
                _ => {}
            },
        }
    }
}

/// The record `kv` parsed from `value`, which lies at file offset `offset` in node `page`.
pub(crate) fn db_rec(page: u64, offset: u64, value: &[u8], rk: RevisionKey, kv: &Kv<'_>) -> DbRec {
    let base = value.as_ptr() as usize;
    let value_offset = kv
        .value
        .map(|v| offset + (v.as_ptr() as usize).saturating_sub(base) as u64);
    DbRec {
        at: DbRecordAt {
            revision: rk.rev,
            tombstone: rk.tombstone,
            page,
            offset,
            value_offset: value_offset.filter(|_| kv.ok),
        },
        create: kv.create,
        modr: kv.modr,
        version: kv.version,
        lease: kv.lease,
        value: kv.ok.then(|| ValueDigest::of(kv.value.unwrap_or_default())),
    }
}

/// What one walk of the `key` bucket gathers.
#[derive(Default)]
struct Walk {
    latest: HashMap<Vec<u8>, DbRec>,
    untracked: HashMap<Vec<u8>, DbRec>,
    untracked_overflow: bool,
    max_main: i64,
    error: Option<String>,
}

impl Walk {
    /// The walk made of what the revision check saw (each key's last record in the whole
    /// bucket, the highest revision): no second pass over the bucket.
    fn from_seen(seen: HashMap<Vec<u8>, DbRec>, max_main: i64, full: &Model) -> Walk {
        let mut w = Walk {
            max_main,
            ..Walk::default()
        };
        for (key, rec) in seen {
            if full.keys.contains_key(&key) {
                w.latest.insert(key, rec);
            } else if !w.untracked_overflow {
                w.untracked.insert(key, rec);
                if w.untracked.len() > MAX_UNTRACKED {
                    w.untracked_overflow = true;
                    w.untracked.clear();
                }
            }
        }
        w
    }
}

fn walk(db: &Db, full: Option<&Model>, partial: Option<&Model>) -> Result<Walk> {
    let mut w = Walk::default();
    let Some(bucket) = key_bucket(db)? else {
        return Ok(w);
    };
    let tracked = |k: &[u8]| {
        full.is_some_and(|m| m.keys.contains_key(k))
            || partial.is_some_and(|m| m.keys.contains_key(k))
    };
    for item in db.cursor(&bucket) {
        let e = match item {
            Ok(e) => e,
            Err(err) => {
                w.error = Some(err.to_string());
                return Ok(w);
            }
        };
        if e.is_bucket {
            continue;
        }
        let Ok(rk) = RevisionKey::parse(&e.key) else {
            continue;
        };
        w.max_main = w.max_main.max(rk.rev.main);
        let kv = parse_kv(&e.value);
        let Some(key) = kv.key else {
            continue; // a bump marker, or a record too damaged to name its key
        };
        if tracked(key) {
            w.latest.insert(
                key.to_vec(),
                db_rec(e.page, e.value_offset, &e.value, rk, &kv),
            );
        } else if full.is_some() && !w.untracked_overflow {
            w.untracked.insert(
                key.to_vec(),
                db_rec(e.page, e.value_offset, &e.value, rk, &kv),
            );
            if w.untracked.len() > MAX_UNTRACKED {
                w.untracked_overflow = true;
                w.untracked.clear();
            }
        }
    }
    Ok(w)
}

pub(crate) fn compare(db: &Db, mut feed: Feed) -> Result<ValueReport> {
    let mut revisions = feed.revisions_done.take();
    let meta = schema::meta(db)?;
    let mut notes = feed.notes.clone();
    let seen = revisions.as_mut().and_then(|r| r.take_seen());
    let w = match (seen, feed.full.as_ref()) {
        (Some((seen, max_main)), Some(full)) => Walk::from_seen(seen, max_main, full),
        _ => walk(db, feed.full.as_ref(), feed.partial.as_ref())?,
    };
    let mut report = ValueReport {
        history: History::Partial,
        consistent_index: feed.ci,
        first_index: feed.first_index,
        entries_replayed: feed.entries_applied,
        keys_checked: 0,
        keys_not_checkable: 0,
        keys_mismatched: 0,
        mismatches: Vec::new(),
        revisions_checked: 0,
        revisions_mismatched: 0,
        revision_mismatches: Vec::new(),
        notes: Vec::new(),
    };
    let pick = |m: &Option<Model>| m.as_ref().map(|m| m.keys.len() as u64).unwrap_or(0);
    if let Some(err) = w.error {
        notes.push(format!(
            "the db's key bucket cannot be read to the end: {err}"
        ));
        report.keys_not_checkable = pick(&feed.partial).max(pick(&feed.full));
        report.notes = notes;
        return Ok(report);
    }
    let current = w.max_main.max(meta.finished_compact_rev.unwrap_or(0));
    let full = match feed.full {
        Some(f) if w.untracked_overflow => {
            notes.push(format!(
                "the db holds more than {MAX_UNTRACKED} keys the WAL never wrote: not a complete history"
            ));
            drop(f);
            None
        }
        Some(f) if f.rev == Some(current) => Some(f),
        Some(f) => {
            notes.push(format!(
                "the WAL starts at index 1 but its replay ends at revision {} while the db is at \
                 revision {current}: not a complete history (restored from a snapshot?)",
                f.rev.map_or("?".into(), |r| r.to_string())
            ));
            None
        }
        None => None,
    };
    let (model, complete) = match (full, feed.partial) {
        (Some(f), _) => (f, true),
        (None, Some(p)) => (p, false),
        (None, None) => {
            report.notes = notes;
            return Ok(report);
        }
    };
    if complete {
        report.history = History::Complete;
    }
    for n in &model.notes {
        if !notes.iter().any(|x| x.contains(n.as_str())) {
            notes.push(n.clone());
        }
    }
    let compact = meta.finished_compact_rev.unwrap_or(0);
    let pos = |p: Pos| WalPos {
        at: p.at,
        entry: RaftPos::new(p.index, p.term),
    };
    let push = |report: &mut ValueReport, m: Mismatch| {
        report.keys_mismatched += 1;
        if report.mismatches.len() < MAX_MISMATCHES {
            report.mismatches.push(m);
        }
    };
    for (key, state) in &model.keys {
        let rec = w.latest.get(key);
        let (by, diffs) = match state {
            State::Unknown { .. } => {
                report.keys_not_checkable += 1;
                continue;
            }
            State::Live(l) => (l.by, live_diffs(l, rec, complete)),
            State::Absent { rev, by } => (*by, absent_diffs(*rev, rec, complete, compact)),
        };
        report.keys_checked += 1;
        if !diffs.is_empty() {
            let m = Mismatch {
                key: key.clone(),
                key_escaped: escape_bytes(key),
                wal: Some(pos(by)),
                db: rec.map(|r| r.at.clone()),
                diffs,
            };
            push(&mut report, m);
        }
    }
    if complete {
        let mut extra: Vec<(&Vec<u8>, &DbRec)> = w
            .untracked
            .iter()
            .filter(|(_, r)| !r.at.tombstone)
            .collect();
        extra.sort_by(|a, b| a.0.cmp(b.0));
        for (key, r) in extra {
            let m = Mismatch {
                key: key.clone(),
                key_escaped: escape_bytes(key),
                wal: None,
                db: Some(r.at.clone()),
                diffs: vec![Diff {
                    field: "deleted",
                    expected: "no such key (the WAL never wrote it)".into(),
                    actual: format!("live at revision {}", r.at.revision),
                }],
            };
            push(&mut report, m);
        }
    }
    match revisions {
        Some(r) if complete => match r.stopped {
            Some(why) => notes.push(format!("older revisions not compared: {why}")),
            None => {
                let t = r.tally;
                // A key's latest record is reported once, by the latest-record check.
                let latest = |m: &Mismatch| {
                    report.mismatches.iter().any(|l| {
                        l.key == m.key
                            && (l.wal.map(|w| w.entry) == m.wal.map(|w| w.entry)
                                || (l.db.is_some()
                                    && l.db.as_ref().map(|d| d.revision)
                                        == m.db.as_ref().map(|d| d.revision)))
                    })
                };
                let (dups, kept): (Vec<Mismatch>, Vec<Mismatch>) =
                    t.mismatches.into_iter().partition(|m| latest(m));
                report.revisions_checked = t.checked;
                report.revisions_mismatched = t.mismatched - dups.len() as u64;
                report.revision_mismatches = kept;
            }
        },
        _ => notes.push(
            "older revisions are compared only when the WAL holds the whole history (from \
             index 1, replayed to the db's revision)"
                .into(),
        ),
    }
    report.notes = notes;
    Ok(report)
}

fn diff(field: &'static str, expected: impl ToString, actual: impl ToString) -> Diff {
    Diff {
        field,
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

fn live_diffs(l: &Live, rec: Option<&DbRec>, complete: bool) -> Vec<Diff> {
    let want = format!("{:?}", l.value);
    let Some(r) = rec else {
        return vec![diff("record", want, "no record of the key")];
    };
    if r.at.tombstone {
        return vec![diff(
            "deleted",
            want,
            format!("deleted at revision {}", r.at.revision),
        )];
    }
    let Some(v) = &r.value else {
        return vec![diff("record", want, "the record does not decode")];
    };
    let mut out = Vec::new();
    if *v != l.value {
        out.push(diff("value", want, format!("{v:?}")));
    }
    if let Some(lease) = l.lease.filter(|x| *x != r.lease) {
        out.push(diff("lease", lease, r.lease));
    }
    if complete {
        let ints = [
            ("create_revision", l.create, r.create),
            ("mod_revision", l.modr, r.modr),
            ("version", l.version, r.version),
            ("revision", l.modr, r.at.revision.main),
        ];
        for (field, want, have) in ints {
            if let Some(want) = want.filter(|w| *w != have) {
                out.push(diff(field, want, have));
            }
        }
    }
    out
}

fn absent_diffs(rev: Option<i64>, rec: Option<&DbRec>, complete: bool, compact: i64) -> Vec<Diff> {
    let want = match rev {
        Some(r) => format!("deleted at revision {r}"),
        None => "deleted".to_string(),
    };
    match rec {
        None => match rev {
            // Compaction removes tombstones at or below its revision.
            Some(r) if complete && r > compact => {
                vec![diff("record", want, "no record of the key")]
            }
            _ => Vec::new(),
        },
        Some(r) if !r.at.tombstone => {
            let have = match &r.value {
                Some(v) => format!("live at revision {}: {v:?}", r.at.revision),
                None => format!("live at revision {} (does not decode)", r.at.revision),
            };
            vec![diff("deleted", want, have)]
        }
        Some(r) => match rev {
            Some(d) if complete && d != r.at.revision.main => vec![diff(
                "revision",
                want,
                format!("deleted at revision {}", r.at.revision),
            )],
            _ => Vec::new(),
        },
    }
}

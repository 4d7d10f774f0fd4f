//! `etcdutl snapshot status` numbers, plus what a forensic reader wants next to them.
//!
//! etcdutl 3.5 (`etcdutl/snapshot/v3_snapshot.go`, `Status`): after `tx.Check()`, one
//! running CRC-32C (Castagnoli, from 0) over, for each top-level bucket in key order, the
//! bucket name, then each key and value (a nested bucket's value is nil, so only its key);
//! `revision` = `main` of the last key in `key`; `totalKey` = entries summed over all
//! top-level buckets; `totalSize` = pgid × page size; `version` = `meta/storageVersion`
//! (3.6+ only prints it).

use std::path::Path;

use crate::bolt::{CheckReport, Db, FindingKind, Visit};
use crate::bytes::u64_be;
use crate::error::Result;
use crate::hash::{TrailerState, check_trailer};
use crate::mvcc::{self, KEY_BUCKET};
use crate::schema::{self, Alarm, Member};

/// The four numbers of `etcdutl snapshot status` (3.5) and `version` (3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EtcdutlStatus {
    /// CRC-32C over bucket names, keys and values.
    pub hash: u32,
    /// `main` of the last key in the `key` bucket (0 if none).
    pub revision: i64,
    /// Entries summed over all top-level buckets.
    pub total_keys: u64,
    /// pgid × page size, in bytes.
    pub total_size: u64,
}

/// Compute etcdutl's numbers by walking every top-level bucket (one page in memory per
/// level). Does not run the integrity check; see [`status`] for that.
pub fn etcdutl_status(db: &Db) -> Result<EtcdutlStatus> {
    let mut st = EtcdutlStatus {
        total_size: db.size(),
        ..EtcdutlStatus::default()
    };
    let mut crc = 0u32;
    for top in db.cursor(&db.root()) {
        let top = top?;
        // etcdutl: "cannot get hash of bucket" when a top-level entry is not a bucket.
        let bucket = db.open_bucket(&top)?;
        crc = etcd_proto::crc32c::append(crc, &top.key);
        let is_key = top.key == KEY_BUCKET;
        for e in db.cursor(&bucket) {
            let e = e?;
            crc = etcd_proto::crc32c::append(crc, &e.key);
            if !e.is_bucket {
                crc = etcd_proto::crc32c::append(crc, &e.value);
            }
            if is_key {
                // etcd's bytesToRev reads the first 8 bytes big-endian.
                st.revision = u64_be(&e.key, 0).map_or(st.revision, |m| m as i64);
            }
            st.total_keys += 1;
        }
    }
    st.hash = crc;
    Ok(st)
}

/// One pass over the file: the integrity check, etcdutl's numbers and the number of keys
/// alive at the latest revision, all from the same walk. The etcdutl numbers come from
/// this walk only when it found no damage (etcdutl itself fails on a damaged db); on a
/// damaged db they are `None` and [`etcdutl_status`] can say where it fails.
pub fn check_and_count(db: &Db) -> Result<(CheckReport, Option<EtcdutlStatus>, u64)> {
    check_and_count_with(db, true)
}

/// [`check_and_count`]; without `etcdutl_hash` the CRC-32C of every key and value that
/// etcdutl's hash needs is not computed and the etcdutl numbers are `None` (the walk then
/// only checks the pages and counts live keys: what `verify` needs).
pub fn check_and_count_with(
    db: &Db,
    etcdutl_hash: bool,
) -> Result<(CheckReport, Option<EtcdutlStatus>, u64)> {
    check_and_count_visiting(db, etcdutl_hash, &mut |_| {})
}

/// [`check_and_count_with`], showing `also` every visit of the walk too (one read of the
/// file serves another pass over the keys, such as `verify --check-values`' comparison of
/// every revision record).
pub fn check_and_count_visiting(
    db: &Db,
    etcdutl_hash: bool,
    also: &mut dyn FnMut(Visit<'_>),
) -> Result<(CheckReport, Option<EtcdutlStatus>, u64)> {
    let mut st = EtcdutlStatus {
        total_size: db.size(),
        ..EtcdutlStatus::default()
    };
    let mut crc = 0u32;
    let mut in_key = false;
    // User key -> alive at its newest revision so far (records come in revision order).
    let mut alive: std::collections::HashMap<Vec<u8>, bool> = std::collections::HashMap::new();
    let check = db.check_with(&mut |v| {
        also(v);
        match v {
            Visit::Bucket { level: 1, name } => {
                if etcdutl_hash {
                    crc = etcd_proto::crc32c::append(crc, name);
                }
                in_key = name == KEY_BUCKET;
            }
            Visit::Item {
                level: 1,
                key,
                value,
                is_bucket,
                ..
            } => {
                if etcdutl_hash {
                    crc = etcd_proto::crc32c::append(crc, key);
                    if !is_bucket {
                        crc = etcd_proto::crc32c::append(crc, value);
                    }
                }
                st.total_keys += 1;
                if in_key {
                    st.revision = u64_be(key, 0).map_or(st.revision, |m| m as i64);
                    if let Some(user_key) = kv_key(value) {
                        let tombstone = key.len() == 18 && key.last() == Some(&b't');
                        match alive.get_mut(user_key) {
                            Some(a) => *a = !tombstone,
                            None => {
                                alive.insert(user_key.to_vec(), !tombstone);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    })?;
    st.hash = crc;
    let live = alive.values().filter(|a| **a).count() as u64;
    let clean = check.is_clean() && etcdutl_hash;
    Ok((check, clean.then_some(st), live))
}

/// Field 1 (`key`) of an mvccpb.KeyValue, without decoding (or copying) the value.
fn kv_key(value: &[u8]) -> Option<&[u8]> {
    let mut fields = etcd_proto::wire::Fields::new(value);
    while let Ok(Some((field, v))) = fields.next() {
        if let (1, etcd_proto::wire::Value::Bytes(k)) = (field, v) {
            return Some(k);
        }
    }
    None
}

/// Everything `wal-inspect snapshot status` reports about one db file.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Status {
    /// etcdutl's numbers.
    pub etcdutl: EtcdutlStatus,
    /// `meta/storageVersion` (absent before 3.6).
    pub version: Option<String>,
    /// The SHA-256 trailer (`snapshot save` files).
    pub hash_trailer: TrailerState,
    /// Keys alive at the latest revision.
    pub live_keys: u64,
    /// `meta/consistent_index`.
    pub consistent_index: Option<u64>,
    /// `meta/term`.
    pub term: Option<u64>,
    /// `meta/scheduledCompactRev`.
    pub scheduled_compact_rev: Option<i64>,
    /// `meta/finishedCompactRev`.
    pub finished_compact_rev: Option<i64>,
    /// Members from the `members` bucket.
    pub members: Vec<Member>,
    /// Removed member IDs.
    pub removed_members: Vec<u64>,
    /// Active alarms (NOSPACE, CORRUPT).
    pub alarms: Vec<Alarm>,
    /// Page size in bytes.
    pub page_size: u32,
    /// Active meta page (0 or 1).
    pub active_meta: u8,
    /// The integrity walk (etcdutl refuses to print status when it finds anything).
    pub check: CheckReport,
}

impl Status {
    /// Exactly the JSON object `etcdutl snapshot status -w json` 3.5 prints.
    pub fn etcdutl_json(&self) -> serde_json::Value {
        serde_json::json!({
            "hash": self.etcdutl.hash,
            "revision": self.etcdutl.revision,
            "totalKey": self.etcdutl.total_keys,
            "totalSize": self.etcdutl.total_size,
        })
    }

    /// Whether etcdutl would refuse ("snapshot file integrity check failed"): any check
    /// finding except an invalid meta page (bbolt falls back to the other one).
    pub fn etcdutl_would_fail(&self) -> bool {
        self.check
            .findings
            .iter()
            .any(|f| !matches!(f.kind, FindingKind::MetaInvalid { .. }))
            || self.check.findings_dropped > 0
    }
}

/// Status of a db or `snapshot save` file: etcdutl's numbers, trailer, integrity check,
/// etcd metadata. `Err` when the file cannot be opened as bolt or a page on the way is
/// damaged.
pub fn status(path: impl AsRef<Path>) -> Result<Status> {
    let path = path.as_ref();
    let trailer = check_trailer(path)?;
    let db = Db::open(path)?;
    let check = db.check()?;
    let etcdutl = etcdutl_status(&db)?;
    let meta = schema::meta(&db)?;
    let membership = schema::membership(&db)?;
    let (alarms, _) = schema::alarms(&db)?;
    let live = mvcc::live_keys(&db, None, b"")?;
    Ok(Status {
        etcdutl,
        version: meta.storage_version,
        hash_trailer: trailer.state,
        live_keys: live.keys.len() as u64,
        consistent_index: meta.consistent_index,
        term: meta.term,
        scheduled_compact_rev: meta.scheduled_compact_rev,
        finished_compact_rev: meta.finished_compact_rev,
        members: membership.members,
        removed_members: membership.removed,
        alarms,
        page_size: db.page_size(),
        active_meta: db.active_meta(),
        check,
    })
}

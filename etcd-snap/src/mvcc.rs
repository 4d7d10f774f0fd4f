//! etcd's MVCC history in the `key` bucket: revision keys and `mvccpb.KeyValue` values.
//!
//! ```text
//! key:   | main i64 BE (8) | '_' | sub i64 BE (8) | ['t' = tombstone] |   17 or 18 bytes
//! value: mvccpb.KeyValue {1 key, 2 create_revision, 3 mod_revision, 4 version, 5 value, 6 lease}
//! ```
//! (etcd `server/mvcc/revision.go`, `server/mvcc/kvstore.go`, 3.4–3.6.)
//!
//! Memory: [`live_keys`] keeps a `BTreeMap` of every live user key with its metadata (no
//! values), so it grows with the number of live keys, not with the db size. Values are
//! read only by [`get`] and [`history`], for one key.

use std::collections::BTreeMap;
use std::fmt;

use prost::Message;

use crate::bolt::{Bucket, Cursor, Db, Entry};
use crate::bytes::u64_be;
use crate::error::{Error, Result};

/// Name of etcd's MVCC bucket.
pub const KEY_BUCKET: &[u8] = b"key";

/// A revision: `main` = the store revision (one per write transaction), `sub` = the change
/// number inside it (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Revision {
    /// Store revision.
    pub main: i64,
    /// Change within the transaction.
    pub sub: i64,
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.main, self.sub)
    }
}

/// A key of the `key` bucket: a revision, possibly marked as a tombstone (deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RevisionKey {
    /// The revision.
    pub rev: Revision,
    /// 18-byte key ending in `t`: the user key was deleted at this revision.
    pub tombstone: bool,
}

/// Length of a revision key without / with the tombstone marker.
pub const REVISION_KEY_LEN: usize = 17;
const MARK_TOMBSTONE: u8 = b't';
const SEPARATOR: u8 = b'_';

impl RevisionKey {
    /// Parse a `key` bucket key; the error names the rule it breaks (etcd's wording).
    pub fn parse(bytes: &[u8]) -> Result<RevisionKey, &'static str> {
        let tombstone = match bytes.len() {
            REVISION_KEY_LEN => false,
            18 if bytes.get(17) == Some(&MARK_TOMBSTONE) => true,
            18 => return Err("invalid tombstone mark"),
            _ => return Err("invalid revision length"),
        };
        if bytes.get(8) != Some(&SEPARATOR) {
            return Err("invalid separator in bucket key");
        }
        let main = u64_be(bytes, 0).ok_or("invalid revision length")? as i64;
        let sub = u64_be(bytes, 9).ok_or("invalid revision length")? as i64;
        if main < 0 || sub < 0 {
            return Err("negative revision");
        }
        Ok(RevisionKey {
            rev: Revision { main, sub },
            tombstone,
        })
    }

    /// Encode as etcd does.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18);
        out.extend_from_slice(&self.rev.main.to_be_bytes());
        out.push(SEPARATOR);
        out.extend_from_slice(&self.rev.sub.to_be_bytes());
        if self.tombstone {
            out.push(MARK_TOMBSTONE);
        }
        out
    }
}

/// `mvccpb.KeyValue` (etcd `api/mvccpb/kv.proto`): the value of every record of the `key`
/// bucket. One definition, shared with the WAL side.
pub use etcd_proto::pb::mvccpb::KeyValue;

/// One record of the `key` bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Its revision key.
    pub rev: RevisionKey,
    /// The decoded value. For a tombstone only `key` is set; for the marker that
    /// `snapshot restore --bump-revision` writes, all fields are empty.
    pub kv: KeyValue,
    /// Page holding the record (for findings).
    pub page: u64,
    /// File offset of that page.
    pub offset: u64,
}

impl KeyRecord {
    /// The empty-value marker written by `snapshot restore --bump-revision`.
    pub fn is_bump_marker(&self) -> bool {
        self.kv == KeyValue::default() && !self.rev.tombstone
    }
}

/// Decode one `key` bucket entry.
pub fn decode_entry(db: &Db, e: &Entry) -> Result<KeyRecord> {
    let rev = RevisionKey::parse(&e.key).map_err(|reason| Error::InvalidRevisionKey {
        path: db.path().to_path_buf(),
        page: e.page,
        offset: e.offset,
        key_hex: crate::bytes::debug_hex(&e.key),
        reason,
    })?;
    let kv = KeyValue::decode(e.value.as_slice()).map_err(|source| Error::DecodeValue {
        path: db.path().to_path_buf(),
        bucket: "key".into(),
        message: "mvccpb.KeyValue",
        page: e.page,
        offset: e.offset,
        source,
    })?;
    Ok(KeyRecord {
        rev,
        kv,
        page: e.page,
        offset: e.offset,
    })
}

/// Iterator over the `key` bucket in revision order. A record that does not decode is
/// yielded as `Err` and iteration goes on; a damaged page ends it (after one `Err`).
#[derive(Debug)]
pub struct Records<'db> {
    db: &'db Db,
    cursor: Option<Cursor<'db>>,
}

impl Iterator for Records<'_> {
    type Item = Result<KeyRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let e = match self.cursor.as_mut()?.next()? {
            Ok(e) => e,
            Err(err) => return Some(Err(err)),
        };
        Some(decode_entry(self.db, &e))
    }
}

/// The `key` bucket, or `None` when the db has none.
pub fn key_bucket(db: &Db) -> Result<Option<Bucket>> {
    db.bucket(KEY_BUCKET)
}

/// Iterate over every record of the `key` bucket (empty if there is no such bucket).
pub fn records(db: &Db) -> Result<Records<'_>> {
    let cursor = key_bucket(db)?.map(|b| db.cursor(&b));
    Ok(Records { db, cursor })
}

/// A live key without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LiveKey {
    /// Revision of its latest record.
    pub rev: Revision,
    /// `create_revision` of that record.
    pub create_revision: i64,
    /// `mod_revision` of that record.
    pub mod_revision: i64,
    /// `version` of that record.
    pub version: i64,
    /// Attached lease, 0 = none.
    pub lease: i64,
    /// Value length in bytes.
    pub value_len: u64,
}

/// The keys alive at one revision.
#[derive(Debug, Default)]
pub struct LiveKeys {
    /// The revision asked for (or the latest).
    pub at: i64,
    /// The highest `main` revision in the bucket.
    pub latest: i64,
    /// Live user keys (all keys, or those with the requested prefix) and their metadata.
    pub keys: BTreeMap<Vec<u8>, LiveKey>,
    /// Records seen.
    pub records: u64,
    /// Records that did not decode (skipped), with the first few errors kept.
    pub bad_records: u64,
    /// Up to 16 of those errors.
    pub errors: Vec<Error>,
}

const KEPT_ERRORS: usize = 16;

/// The user keys alive at revision `at` (latest when `None`) whose names start with
/// `prefix`: for each key, its newest record with `main <= at` is not a tombstone.
///
/// Revisions older than the db's compaction revision are incomplete (compaction deleted
/// superseded records), so a query below it may miss keys; compare with
/// [`crate::schema::MetaInfo::finished_compact_rev`]. Errors on a damaged page.
pub fn live_keys(db: &Db, at: Option<i64>, prefix: &[u8]) -> Result<LiveKeys> {
    let mut out = LiveKeys {
        at: at.unwrap_or(i64::MAX),
        ..LiveKeys::default()
    };
    for r in records(db)? {
        out.records += 1;
        let r = match r {
            Ok(r) => r,
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => {
                out.bad_records += 1;
                if out.errors.len() < KEPT_ERRORS {
                    out.errors.push(e);
                }
                continue;
            }
        };
        out.latest = out.latest.max(r.rev.rev.main);
        if r.rev.rev.main > out.at || r.is_bump_marker() || !r.kv.key.starts_with(prefix) {
            continue;
        }
        if r.rev.tombstone {
            out.keys.remove(&r.kv.key);
        } else {
            let live = LiveKey {
                rev: r.rev.rev,
                create_revision: r.kv.create_revision,
                mod_revision: r.kv.mod_revision,
                version: r.kv.version,
                lease: r.kv.lease,
                value_len: r.kv.value.len() as u64,
            };
            out.keys.insert(r.kv.key, live);
        }
    }
    if at.is_none() {
        out.at = out.latest;
    }
    Ok(out)
}

/// The value of `key` at revision `at` (latest when `None`): its newest record with
/// `main <= at`, unless that is a tombstone. Records that do not decode are skipped.
pub fn get(db: &Db, key: &[u8], at: Option<i64>) -> Result<Option<KeyRecord>> {
    let at = at.unwrap_or(i64::MAX);
    let mut found = None;
    for r in records(db)? {
        match r {
            Ok(r) if r.kv.key == key && r.rev.rev.main <= at && !r.is_bump_marker() => {
                found = Some(r)
            }
            Ok(_) => {}
            Err(e) if is_fatal(&e) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(found.filter(|r| !r.rev.tombstone))
}

/// Damage that ends iteration (as opposed to one undecodable record).
fn is_fatal(e: &Error) -> bool {
    matches!(e, Error::Corrupt { .. } | Error::Io { .. })
}

/// Every record of `key` still in the db, oldest first (puts and tombstones).
pub fn history(db: &Db, key: &[u8]) -> Result<Vec<KeyRecord>> {
    let mut out = Vec::new();
    for r in records(db)? {
        match r {
            Ok(r) if r.kv.key == key && !r.is_bump_marker() => out.push(r),
            Ok(_) => {}
            Err(e) if is_fatal(&e) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_keys_round_trip() {
        for (main, sub, t) in [(0, 0, false), (932, 1, true), (i64::MAX, 7, false)] {
            let k = RevisionKey {
                rev: Revision { main, sub },
                tombstone: t,
            };
            assert_eq!(RevisionKey::parse(&k.encode()), Ok(k));
        }
    }

    #[test]
    fn bad_revision_keys() {
        assert_eq!(RevisionKey::parse(b"short"), Err("invalid revision length"));
        let mut k = RevisionKey {
            rev: Revision { main: 1, sub: 0 },
            tombstone: false,
        }
        .encode();
        k[8] = b'x';
        assert_eq!(
            RevisionKey::parse(&k),
            Err("invalid separator in bucket key")
        );
        let mut neg = (-1i64).to_be_bytes().to_vec();
        neg.push(b'_');
        neg.extend_from_slice(&0i64.to_be_bytes());
        assert_eq!(RevisionKey::parse(&neg), Err("negative revision"));
        let mut bad_t = neg.clone();
        bad_t[0] = 0;
        bad_t.push(b'x');
        assert_eq!(RevisionKey::parse(&bad_t), Err("invalid tombstone mark"));
    }
}

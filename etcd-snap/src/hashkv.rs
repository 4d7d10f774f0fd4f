//! etcd's `HashKV` (`etcdctl endpoint hashkv --rev R`), computed offline from a member's
//! bolt db, plus a per-record breakdown to find where two members differ.
//!
//! ```no_run
//! # fn main() -> Result<(), etcd_snap::hashkv::HashKvError> {
//! let db = etcd_snap::bolt::Db::open("member/snap/db")?;
//! let h = etcd_snap::hashkv::hash_kv(&db, 0)?; // 0 = latest, as `--rev 0`
//! println!("hash {} hash_revision {} compact_revision {}", h.hash, h.hash_revision, h.compact_revision);
//! # Ok(()) }
//! ```
//!
//! # What etcd computes
//!
//! Sources (etcd-io/etcd): `mvcc/kvstore.go` `(*store).HashByRev` and `(*store).restore`
//! at tag `v3.4.23`; `server/mvcc/kvstore.go` `(*store).HashByRev` and `(*store).restore`
//! at `v3.5.1`; `server/mvcc/hash.go` `newKVHasher` / `(*kvHasher).WriteKeyValue` at
//! `v3.5.16`; `server/storage/mvcc/hash.go` `unsafeHashByRev` / `newKVHasher` /
//! `WriteKeyValue` and `server/storage/mvcc/kvstore.go` `(*store).hashByRev` at `v3.6.0`;
//! the keep set: `(*treeIndex).Keep` (`index.go`), `(*keyIndex).keep` / `doCompact` /
//! `tombstone` (`key_index.go`) and `restoreIntoIndex` (`kvstore.go`), same directories; the
//! response: `(*maintenanceServer).HashKV` and `(*header).fill` in
//! `etcdserver/api/v3rpc/{maintenance,header}.go` (3.4) / `server/etcdserver/api/v3rpc/` (3.5,
//! 3.6). The version differences come from these etcd commits (first tags containing them):
//! "etcdserver: fix corruption check when server has just been compacted" (3.4.27, 3.5.10),
//! "mvcc: update currentRev if scheduledCompact > currentRev" (3.4.32, 3.5.14), "*: keep
//! tombstone if revision == compactAtRev" (3.4.34, 3.5.16).
//!
//! 1. **State after start.** `restore` sets `compactMainRev` = `meta/finishedCompactRev`
//!    (−1 when absent: `NewStore` initialises it to −1), and `currentRev` = `main` of the last
//!    record of the `key` bucket read from revision `1_0` on (1 when there is none), raised to
//!    `compactMainRev` when lower. If `meta/scheduledCompactRev` (0 when absent, and 0 means
//!    none) > `compactMainRev`, the
//!    interrupted compaction is resumed (`compactLockfree` → `updateCompactRev`), which sets
//!    `compactMainRev` = scheduled unless scheduled > `currentRev` (`ErrFutureRev`, compaction
//!    not resumed). Since 3.4.32 / 3.5.14 `currentRev` is first raised to the scheduled
//!    revision too (etcd issue 17780). So `compact_revision` is the *finished* compaction,
//!    or the *scheduled* one when that one is newer and resumable.
//! 2. **Checks.** `rev > 0 && rev <= compactMainRev` → `ErrCompacted` ("mvcc: required revision
//!    has been compacted") in 3.4.23 / 3.5.1; since 3.4.27 / 3.5.10 / 3.6 only
//!    `rev < compactMainRev` is refused (hashing exactly at the compaction is allowed).
//!    `rev > 0 && rev > currentRev` → `ErrFutureRev`. `rev == 0` means `rev = currentRev`.
//!    A negative `rev` passes both checks unchanged and hashes nothing but the bucket name.
//! 3. **Keep set.** `keep = kvindex.Keep(rev)` — *at the hashed revision, not at the
//!    compaction*: for every key whose newest revision with `main <= rev` is a put (the key
//!    is alive at `rev`), that revision. (A key whose newest such revision is a tombstone,
//!    or that has none, contributes nothing; `keyIndex.keep`'s "remove any tombstone" branch
//!    cannot fire, because `doCompact` only stops in a generation whose tombstone is newer than
//!    `rev`.) The index is rebuilt from the db at start (`restoreIntoIndex`), so this is a
//!    function of the db's records alone.
//! 4. **Hash.** `h := crc32.New(crc32.MakeTable(crc32.Castagnoli))` (CRC-32C, init 0, as the
//!    `crc32c` crate), `h.Write([]byte("key"))` — the bucket name — then for each record of
//!    the `key` bucket in bolt (= revision) order, with `kr` = its revision:
//!    - skip it when `kr.main > rev`;
//!    - skip it when `kr.main <= compactMainRev`, `keep` is not empty and `kr` is not in
//!      `keep` ("revisions that are scheduled for deletion due to compacting; don't skip if
//!      there isn't one");
//!    - since 3.4.34 / 3.5.16 / 3.6: skip it when it is a tombstone with
//!      `kr.main == compactMainRev` (compactions from then on keep such a tombstone, older
//!      ones deleted it; skipping keeps hashes equal across versions). A 3.4.23 / 3.5.1
//!      compaction at `C` deletes every record `<= C` of a key whose newest record `<= C` is
//!      a tombstone, and keeps the newest put `<= C` of every other key, so its db has no
//!      tombstone at or below a finished compaction;
//!    - otherwise `h.Write(key)` (the 17- or 18-byte revision key) and `h.Write(value)`
//!      (the raw `mvccpb.KeyValue` bytes).
//!
//!    Records newer than the compaction are all hashed, tombstones included.
//! 5. **Response.** `HashKVResponse{header.revision: currentRev, hash, compact_revision:
//!    compactMainRev}`; 3.6 adds `hash_revision` = the revision hashed (`rev`, or `currentRev`
//!    for 0). `etcdctl endpoint hashkv -w json` prints exactly these (3.4/3.5 have no
//!    `hash_revision`: there the revision hashed is the one asked for, or the header's).
//!
//! 3.6 also answers from a cache of hashes taken at compactions (`hashStorage.HashByRev`);
//! that cache lives in memory only and is empty after a restart, which is what an offline
//! computation reproduces. The [`Rules`] select the version differences above.
//!
//! Checked against real etcd 3.5.1 and 3.4.23 (`tests/hashkv.rs`: `etcdctl endpoint hashkv
//! --rev R -w json` on restarted members of every clean single and 3-member fixture, and on
//! fresh members with an empty store, an uncompacted one and one where no key is alive —
//! the empty-keep case — at every interesting `R`). The later versions' [`Rules`] come from
//! reading their source only; the resumed-compaction path (scheduled > finished) is not
//! checked against etcd (it needs a crash during a compaction).
//!
//! # How it is computed here
//!
//! In one pass over the `key` bucket, in bounded memory: every record in
//! `(compactRev, rev]` is hashed as it goes by; for each record at or below the compaction
//! (after a finished compaction: about one per key, the compaction's keep set) its own
//! CRC-32C, length and revision are kept, together with the newest such revision of each
//! user key, and a record in the window removes its key from that map. At the end the
//! CRCs of the old records that are in `keep` are joined after the bucket name, and the
//! window's CRC after them, by CRC concatenation (`crc(A‖B)` from `crc(A)`, `crc(B)` and
//! `len(B)`, multiplication by `x^(8·len(B))` modulo the Castagnoli polynomial, as zlib's
//! `crc32_combine`). Only when the compaction left records, none of them is kept, and the
//! newest record hashed is a tombstone does a second pass decide whether `keep` is empty
//! (it then holds the keys written since the compaction). Values are never decoded beyond
//! the `key` field, and never held.
//!
//! A record whose value is not a `mvccpb.KeyValue` is an error (etcd's `restore` refuses to
//! start on it), as is a key that is not a revision or a nested bucket inside `key`; errors
//! name the page and its file offset.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::bolt::{Cursor, Db, Entry};
use crate::error::Error;
use crate::mvcc::{self, KEY_BUCKET, Revision, RevisionKey};
use crate::schema;

/// The version-dependent parts of etcd's HashKV (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Rules {
    /// `rev == compact_revision` is refused with `ErrCompacted` (3.4.0–3.4.26, 3.5.0–3.5.9);
    /// later versions refuse only `rev < compact_revision`.
    pub refuse_at_compact_revision: bool,
    /// A tombstone at exactly the compact revision is not hashed (3.4.34+, 3.5.16+, 3.6).
    pub skip_tombstone_at_compact_revision: bool,
    /// At start, the current revision is raised to `scheduledCompactRev` (3.4.32+,
    /// 3.5.14+, 3.6).
    pub raise_current_to_scheduled_compact: bool,
}

impl Rules {
    /// etcd 3.4.23 and 3.5.1 (the versions the fixtures and tests use); also 3.4.0–3.4.26
    /// and 3.5.0–3.5.9.
    pub const ETCD_3_5_1: Rules = Rules {
        refuse_at_compact_revision: true,
        skip_tombstone_at_compact_revision: false,
        raise_current_to_scheduled_compact: false,
    };
    /// etcd 3.6.0 (and 3.4.34+, 3.5.16+).
    pub const ETCD_3_6: Rules = Rules {
        refuse_at_compact_revision: false,
        skip_tombstone_at_compact_revision: true,
        raise_current_to_scheduled_compact: true,
    };

    /// The rules of an etcd version, `"3.5.1"` or `"v3.4.23"` (a pre-release suffix is
    /// ignored); `None` for anything before 3.4 or not of that form.
    pub fn for_version(version: &str) -> Option<Rules> {
        let v = version.trim().trim_start_matches('v');
        let v = v.split(['-', '+']).next()?;
        let mut it = v.split('.').map(str::parse::<u32>);
        let (major, minor) = (it.next()?.ok()?, it.next()?.ok()?);
        let patch = match it.next() {
            Some(p) => p.ok()?,
            None => 0,
        };
        if major != 3 || minor < 4 {
            return None;
        }
        let (at, raise, skip) = match minor {
            4 => (27, 32, 34),
            5 => (10, 14, 16),
            _ => (0, 0, 0),
        };
        Some(Rules {
            refuse_at_compact_revision: patch < at,
            skip_tombstone_at_compact_revision: patch >= skip,
            raise_current_to_scheduled_compact: patch >= raise,
        })
    }
}

impl Default for Rules {
    /// [`Rules::ETCD_3_5_1`].
    fn default() -> Rules {
        Rules::ETCD_3_5_1
    }
}

/// What `etcdctl endpoint hashkv --rev R -w json` prints for a member, computed offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HashKv {
    /// `hash`: CRC-32C as etcd computes it.
    pub hash: u32,
    /// `hash_revision` (3.6's field): the revision hashed — `R`, or the current revision
    /// for `R = 0`.
    pub hash_revision: i64,
    /// `compact_revision`: −1 when the db was never compacted.
    pub compact_revision: i64,
    /// `header.revision`: the member's current revision (not the one hashed).
    pub current_revision: i64,
    /// Records of the `key` bucket that went into the hash.
    pub records_hashed: u64,
    /// Bytes of keys and values that went into the hash (after the bucket name).
    pub bytes_hashed: u64,
    /// The store's revisions as etcd restores them from this db.
    pub store: StoreRevisions,
}

/// The revisions etcd's `restore` derives from a db (see the module doc, step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct StoreRevisions {
    /// `currentRev` after start.
    pub current_revision: i64,
    /// `compactMainRev` after start (−1 = never compacted).
    pub compact_revision: i64,
    /// `meta/finishedCompactRev`.
    pub finished_compact_revision: Option<i64>,
    /// `meta/scheduledCompactRev`.
    pub scheduled_compact_revision: Option<i64>,
    /// The scheduled compaction etcd resumes at start (it then physically deletes
    /// superseded records; the hash only depends on that when no key is alive at the
    /// hashed revision).
    pub resumed_compaction: Option<i64>,
    /// `main` of the newest record of the `key` bucket (0 when empty).
    pub last_record_revision: i64,
}

/// Why a hash could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashKvError {
    /// etcd answers `ErrCompacted`: "etcdserver: mvcc: required revision has been compacted".
    #[error(
        "mvcc: required revision has been compacted (revision {rev}, compacted at {compact_revision})"
    )]
    Compacted {
        /// The revision asked for.
        rev: i64,
        /// The member's compact revision.
        compact_revision: i64,
    },
    /// etcd answers `ErrFutureRev`: "etcdserver: mvcc: required revision is a future revision".
    #[error(
        "mvcc: required revision is a future revision (revision {rev}, current {current_revision})"
    )]
    FutureRev {
        /// The revision asked for.
        rev: i64,
        /// The member's current revision.
        current_revision: i64,
    },
    /// The `key` bucket holds a nested bucket.
    #[error("{}: page {page} (offset {offset}): nested bucket {key_hex} inside the key bucket", path.display())]
    NestedBucket {
        /// The db file.
        path: PathBuf,
        /// Page holding the entry.
        page: u64,
        /// File offset of that page.
        offset: u64,
        /// Its key, hex.
        key_hex: String,
    },
    /// `meta/scheduledCompactRev` or `meta/finishedCompactRev` is not a revision (etcd
    /// cannot start on it).
    #[error("{}: meta bucket, page {page}: {key}: {reason}", path.display())]
    BadCompactRevision {
        /// The db file.
        path: PathBuf,
        /// The meta key.
        key: String,
        /// What is wrong.
        reason: String,
        /// Page holding it.
        page: u64,
    },
    /// Reading or decoding the db failed (with page and offset).
    #[error(transparent)]
    Db(#[from] Error),
}

/// Result alias for this module.
pub type Result<T, E = HashKvError> = std::result::Result<T, E>;

/// One record of the `key` bucket that goes into the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HashedRecord {
    /// Its revision key (revision and tombstone mark).
    pub rev: RevisionKey,
    /// The user key (`mvccpb.KeyValue.key`).
    pub key: Vec<u8>,
    /// CRC-32C of the revision key followed by the value bytes: this record's share.
    pub crc: u32,
    /// Length of the revision key plus the value.
    pub len: u64,
    /// Page holding the record.
    pub page: u64,
    /// File offset of the value's first byte.
    pub value_offset: u64,
}

/// Where two members' hashed records first differ (in revision order).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Difference {
    /// The record of the first db at that revision, if it hashes one.
    pub a: Option<HashedRecord>,
    /// The record of the second db at that revision, if it hashes one.
    pub b: Option<HashedRecord>,
}

impl Difference {
    /// The user key involved (the first db's when both have a record).
    pub fn key(&self) -> &[u8] {
        self.a
            .as_ref()
            .or(self.b.as_ref())
            .map_or(&[][..], |r| &r.key)
    }
}

// ---------------------------------------------------------------- the passes

/// `rev <= bound` (`None` = no bound).
fn within(main: i64, bound: Option<i64>) -> bool {
    bound.is_none_or(|b| main <= b)
}

/// A `key` bucket entry, checked: its revision key and its user key.
struct Checked<'e> {
    rk: RevisionKey,
    key: Cow<'e, [u8]>,
}

fn check_entry<'e>(db: &Db, e: &'e Entry) -> Result<Checked<'e>> {
    if e.is_bucket {
        return Err(HashKvError::NestedBucket {
            path: db.path().to_path_buf(),
            page: e.page,
            offset: e.offset,
            key_hex: crate::bytes::debug_hex(&e.key),
        });
    }
    let rk = RevisionKey::parse(&e.key).map_err(|reason| Error::InvalidRevisionKey {
        path: db.path().to_path_buf(),
        page: e.page,
        offset: e.offset,
        key_hex: crate::bytes::debug_hex(&e.key),
        reason,
    })?;
    let key = match kv_key(&e.value) {
        Some(k) => Cow::Borrowed(k),
        // Not what our scanner accepts: let prost decide (and name the error).
        None => Cow::Owned(mvcc::decode_entry(db, e)?.kv.key),
    };
    Ok(Checked { rk, key })
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10u32 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

fn skip(buf: &[u8], pos: &mut usize, n: u64) -> Option<()> {
    let end = pos.checked_add(usize::try_from(n).ok()?)?;
    (end <= buf.len()).then(|| *pos = end)
}

/// The `key` field of a `mvccpb.KeyValue`, borrowed, validating the wire format as prost
/// does for this message; `None` when unsure (the caller then asks prost).
fn kv_key(value: &[u8]) -> Option<&[u8]> {
    let mut pos = 0usize;
    let mut key: &[u8] = &[];
    while pos < value.len() {
        let tag = read_varint(value, &mut pos)?;
        if tag > u64::from(u32::MAX) || tag >> 3 == 0 {
            return None;
        }
        match (tag >> 3, tag & 7) {
            (1 | 5, 2) | (7.., 2) => {
                let len = read_varint(value, &mut pos)?;
                let start = pos;
                skip(value, &mut pos, len)?;
                if tag >> 3 == 1 {
                    key = value.get(start..pos)?;
                }
            }
            (2..=4 | 6, 0) | (7.., 0) => {
                read_varint(value, &mut pos)?;
            }
            (7.., 1) => skip(value, &mut pos, 8)?,
            (7.., 5) => skip(value, &mut pos, 4)?,
            _ => return None,
        }
    }
    Some(key)
}

fn key_cursor(db: &Db) -> Result<Option<Cursor<'_>>> {
    Ok(db.bucket(KEY_BUCKET)?.map(|b| db.cursor(&b)))
}

/// A record at or below the compaction: its share of the hash, if it is in `keep`.
#[derive(Clone, Copy)]
struct OldRecord {
    rk: RevisionKey,
    crc: u32,
    len: u64,
}

/// What the pass over the bucket learns.
struct Scan {
    /// The compact revision it assumed.
    compact: i64,
    /// `main` of the last record with `main >= 1`.
    last_main: i64,
    /// Records with `main <= compact` (and `main <= bound`).
    n_le_compact: u64,
    /// Newest record of each key at or below `compact`, for keys without a record in
    /// `(compact, bound]`.
    candidates: HashMap<Vec<u8>, (Revision, bool)>,
    /// The records at or below `compact`, in order (only when hashing).
    old: Vec<OldRecord>,
    /// CRC-32C (from 0) of the records in `(compact, bound]`, and their bytes / count.
    tail_crc: u32,
    tail_len: u64,
    tail_records: u64,
    /// Whether the newest record in `(compact, bound]` is a put.
    last_window_put: bool,
}

fn scan(db: &Db, compact: i64, bound: Option<i64>, hashing: bool) -> Result<Scan> {
    let mut s = Scan {
        compact,
        last_main: 0,
        n_le_compact: 0,
        candidates: HashMap::new(),
        old: Vec::new(),
        tail_crc: 0,
        tail_len: 0,
        tail_records: 0,
        last_window_put: false,
    };
    let Some(cursor) = key_cursor(db)? else {
        return Ok(s);
    };
    for e in cursor {
        let e = e?;
        let c = check_entry(db, &e)?;
        let main = c.rk.rev.main;
        if main >= 1 {
            s.last_main = main;
        }
        if !within(main, bound) {
            continue;
        }
        if main <= compact {
            s.n_le_compact += 1;
            if hashing {
                s.old.push(OldRecord {
                    rk: c.rk,
                    crc: etcd_proto::crc32c::append(etcd_proto::crc32c::checksum(&e.key), &e.value),
                    len: (e.key.len() + e.value.len()) as u64,
                });
            }
            s.candidates
                .insert(c.key.into_owned(), (c.rk.rev, c.rk.tombstone));
        } else {
            if hashing {
                s.tail_crc = etcd_proto::crc32c::append(s.tail_crc, &e.key);
                s.tail_crc = etcd_proto::crc32c::append(s.tail_crc, &e.value);
            }
            s.tail_len += (e.key.len() + e.value.len()) as u64;
            s.tail_records += 1;
            if !s.candidates.is_empty() {
                s.candidates.remove(c.key.as_ref());
            }
            s.last_window_put = !c.rk.tombstone;
        }
    }
    Ok(s)
}

/// Everything needed to decide, record by record, what goes into the hash.
struct Plan {
    rules: Rules,
    store: StoreRevisions,
    rev: i64,
    scan: Scan,
    keep_empty: bool,
}

impl Plan {
    /// Whether the record at or below the compaction is hashed, given whether it is in
    /// `keep`.
    fn include_old(&self, rk: &RevisionKey, in_keep: bool) -> bool {
        if self.rules.skip_tombstone_at_compact_revision
            && rk.tombstone
            && rk.rev.main == self.store.compact_revision
        {
            return false;
        }
        self.keep_empty || in_keep
    }

    /// Whether the record (at or below the compaction) is in `keep`.
    fn in_keep(&self, c: &Checked<'_>) -> bool {
        !c.rk.tombstone && self.scan.candidates.get(c.key.as_ref()) == Some(&(c.rk.rev, false))
    }
}

fn meta_revisions(db: &Db) -> Result<(Option<i64>, Option<i64>)> {
    let m = schema::meta(db)?;
    if let Some(p) = m
        .problems
        .iter()
        .find(|p| p.key == "scheduledCompactRev" || p.key == "finishedCompactRev")
    {
        return Err(HashKvError::BadCompactRevision {
            path: db.path().to_path_buf(),
            key: p.key.clone(),
            reason: p.reason.clone(),
            page: p.page,
        });
    }
    Ok((m.finished_compact_rev, m.scheduled_compact_rev))
}

/// The store's revisions from the meta bucket and the newest record (module doc, step 1).
fn restore(
    rules: &Rules,
    finished: Option<i64>,
    scheduled: Option<i64>,
    last_main: i64,
) -> StoreRevisions {
    let mut compact = finished.unwrap_or(-1);
    let mut current = if last_main >= 1 { last_main } else { 1 };
    current = current.max(compact);
    let sched = scheduled.unwrap_or(0);
    if rules.raise_current_to_scheduled_compact {
        current = current.max(sched);
    }
    let mut resumed = None;
    // etcd: `scheduledCompact` is 0 when absent, and 0 means "nothing to resume".
    if sched != 0 && sched > compact && sched <= current {
        compact = sched;
        resumed = Some(sched);
    }
    StoreRevisions {
        current_revision: current,
        compact_revision: compact,
        finished_compact_revision: finished,
        scheduled_compact_revision: scheduled,
        resumed_compaction: resumed,
        last_record_revision: last_main,
    }
}

fn plan(db: &Db, rev: i64, rules: Rules, hashing: bool) -> Result<Plan> {
    let (finished, scheduled) = meta_revisions(db)?;
    let bound = (rev != 0).then_some(rev);
    // Assume the scheduled compaction is resumed; re-scan in the rare case it is not.
    let guess = match (finished, scheduled) {
        (f, Some(s)) if s > f.unwrap_or(-1) => s,
        (f, _) => f.unwrap_or(-1),
    };
    let mut scan = scan(db, guess, bound, hashing)?;
    let store = restore(&rules, finished, scheduled, scan.last_main);
    if store.compact_revision != scan.compact {
        scan = self::scan(db, store.compact_revision, bound, hashing)?;
    }
    let compact = store.compact_revision;
    if rev > 0 && (rev < compact || (rules.refuse_at_compact_revision && rev == compact)) {
        return Err(HashKvError::Compacted {
            rev,
            compact_revision: compact,
        });
    }
    if rev > 0 && rev > store.current_revision {
        return Err(HashKvError::FutureRev {
            rev,
            current_revision: store.current_revision,
        });
    }
    let rev = if rev == 0 {
        store.current_revision
    } else {
        rev
    };
    let keep_empty = if scan.n_le_compact == 0
        || scan.last_window_put
        || scan.candidates.values().any(|&(_, tomb)| !tomb)
    {
        // Either nothing to filter, or some key is alive at `rev`.
        false
    } else {
        !alive_in_window(db, compact, rev)?
    };
    Ok(Plan {
        rules,
        store,
        rev,
        scan,
        keep_empty,
    })
}

/// Whether some key's newest record in `(compact, rev]` is a put.
fn alive_in_window(db: &Db, compact: i64, rev: i64) -> Result<bool> {
    let Some(cursor) = key_cursor(db)? else {
        return Ok(false);
    };
    let mut latest: HashMap<Vec<u8>, bool> = HashMap::new();
    for e in cursor {
        let e = e?;
        let c = check_entry(db, &e)?;
        let main = c.rk.rev.main;
        if main > compact && main <= rev {
            latest.insert(c.key.into_owned(), !c.rk.tombstone);
        }
    }
    Ok(latest.values().any(|&put| put))
}

// ---------------------------------------------------------------- CRC concatenation

/// CRC-32C's polynomial, reflected.
const POLY: u32 = 0x82f6_3b78;

/// `a · b` modulo the polynomial (bit-reflected: bit 31 is x^0).
const fn mult_mod_p(a: u32, mut b: u32) -> u32 {
    let mut m = 1u32 << 31;
    let mut p = 0u32;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                return p;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        if m == 0 {
            return p;
        }
    }
}

/// `X2N[k]` = x^(2^k) modulo the polynomial. (Evaluated at compile time: an index out
/// of range would fail the build, not panic.)
#[allow(clippy::indexing_slicing)]
const X2N: [u32; 64] = {
    let mut t = [0u32; 64];
    t[0] = 1 << 30; // x^1
    let mut k = 1;
    while k < 64 {
        t[k] = mult_mod_p(t[k - 1], t[k - 1]);
        k += 1;
    }
    t
};

/// CRC-32C of `A‖B` from `crc(A)`, `crc(B)` and `len(B)` (zlib's `crc32_combine`
/// algorithm: `crc(A) · x^(8·len(B)) + crc(B)`).
fn crc_concat(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    // x^(8·len) = product of x^(2^(k+3)) over the set bits k of len.
    let mut p = 1u32 << 31; // x^0
    let mut n = len_b;
    let mut k = 3usize;
    while n != 0 {
        if n & 1 != 0 {
            p = mult_mod_p(X2N.get(k % 64).copied().unwrap_or(0), p);
        }
        n >>= 1;
        k += 1;
    }
    mult_mod_p(p, crc_a) ^ crc_b
}

// ---------------------------------------------------------------- public API

/// etcd 3.4.23 / 3.5.1's HashKV of the member whose db this is, at revision `rev` (0 =
/// latest), as `etcdctl endpoint hashkv --rev REV` on that member after a restart would
/// answer. Errors as etcd does (`Compacted`, `FutureRev`), or with the damaged page.
pub fn hash_kv(db: &Db, rev: i64) -> Result<HashKv> {
    hash_kv_with(db, rev, Rules::default())
}

/// [`hash_kv`] on the db file at `path`.
pub fn hash_kv_file(path: impl AsRef<Path>, rev: i64) -> Result<HashKv> {
    hash_kv(&Db::open(path)?, rev)
}

/// [`hash_kv`] with the [`Rules`] of another etcd version.
pub fn hash_kv_with(db: &Db, rev: i64, rules: Rules) -> Result<HashKv> {
    let p = plan(db, rev, rules, true)?;
    let mut hash = etcd_proto::crc32c::checksum(KEY_BUCKET);
    let (mut records, mut bytes) = (p.scan.tail_records, p.scan.tail_len);
    if !p.scan.old.is_empty() {
        let keep: std::collections::HashSet<Revision> = p
            .scan
            .candidates
            .values()
            .filter(|(_, tomb)| !tomb)
            .map(|&(rev, _)| rev)
            .collect();
        for o in &p.scan.old {
            if p.include_old(&o.rk, !o.rk.tombstone && keep.contains(&o.rk.rev)) {
                hash = crc_concat(hash, o.crc, o.len);
                records += 1;
                bytes += o.len;
            }
        }
    }
    let hash = crc_concat(hash, p.scan.tail_crc, p.scan.tail_len);
    Ok(HashKv {
        hash,
        hash_revision: p.rev,
        compact_revision: p.store.compact_revision,
        current_revision: p.store.current_revision,
        records_hashed: records,
        bytes_hashed: bytes,
        store: p.store,
    })
}

/// The records that go into [`hash_kv_with`]'s hash, in the order etcd hashes them
/// (revision order), each with its own CRC-32C. Streaming: after one planning pass (the
/// same as the hash's), records are read one at a time.
///
/// The hash is the CRC-32C of `"key"` followed by every record's bytes; with
/// `crc32c_combine(acc, r.crc, r.len)` folded over the records from `crc32c(b"key")`, it
/// equals [`HashKv::hash`]. Two members at the same revision hash the same records in the
/// same order, so the first record where they differ (see [`first_difference`]) names the
/// damaged or diverged key.
pub fn hashed_records(db: &Db, rev: i64, rules: Rules) -> Result<HashedRecords<'_>> {
    let plan = plan(db, rev, rules, false)?;
    Ok(HashedRecords {
        db,
        cursor: key_cursor(db)?,
        plan,
    })
}

/// Iterator of [`hashed_records`]. Ends after the first error.
#[derive(Debug)]
pub struct HashedRecords<'db> {
    db: &'db Db,
    cursor: Option<Cursor<'db>>,
    plan: Plan,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("rev", &self.rev)
            .field("store", &self.store)
            .field("keep_empty", &self.keep_empty)
            .finish_non_exhaustive()
    }
}

impl HashedRecords<'_> {
    /// The revision hashed, the compact and current revisions, as [`HashKv`] has them.
    pub fn store(&self) -> StoreRevisions {
        self.plan.store
    }

    /// The revision hashed (`hash_revision`).
    pub fn hash_revision(&self) -> i64 {
        self.plan.rev
    }

    fn step(&mut self) -> Result<Option<HashedRecord>> {
        loop {
            let Some(cursor) = self.cursor.as_mut() else {
                return Ok(None);
            };
            let Some(e) = cursor.next() else {
                return Ok(None);
            };
            let e = e?;
            let c = check_entry(self.db, &e)?;
            let main = c.rk.rev.main;
            if main > self.plan.rev {
                return Ok(None);
            }
            if main <= self.plan.store.compact_revision
                && !self.plan.include_old(&c.rk, self.plan.in_keep(&c))
            {
                continue;
            }
            let crc = etcd_proto::crc32c::append(etcd_proto::crc32c::checksum(&e.key), &e.value);
            return Ok(Some(HashedRecord {
                rev: c.rk,
                key: c.key.into_owned(),
                crc,
                len: (e.key.len() + e.value.len()) as u64,
                page: e.page,
                value_offset: e.value_offset,
            }));
        }
    }
}

impl Iterator for HashedRecords<'_> {
    type Item = Result<HashedRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.cursor = None;
                None
            }
            Err(e) => {
                self.cursor = None;
                Some(Err(e))
            }
        }
    }
}

/// The hashed records of [`hashed_records`] sorted by (user key, revision), for comparing
/// members key by key. Holds every hashed record's key in memory (no values).
pub fn key_hashes(db: &Db, rev: i64, rules: Rules) -> Result<Vec<HashedRecord>> {
    let mut out = hashed_records(db, rev, rules)?.collect::<Result<Vec<_>>>()?;
    out.sort_by(|x, y| x.key.cmp(&y.key).then(x.rev.cmp(&y.rev)));
    Ok(out)
}

/// The first revision (in etcd's hashing order) at which the hashed records of `a` and
/// `b` differ — one hashes a record the other does not, or their bytes differ — or `None`
/// when they hash the same records. Both are hashed at `rev` (0 = each one's latest; pass
/// a common revision for members of one cluster). Streams both dbs side by side.
pub fn first_difference(a: &Db, b: &Db, rev: i64, rules: Rules) -> Result<Option<Difference>> {
    let mut ia = hashed_records(a, rev, rules)?;
    let mut ib = hashed_records(b, rev, rules)?;
    let (mut ra, mut rb) = (ia.next().transpose()?, ib.next().transpose()?);
    loop {
        match (ra.take(), rb.take()) {
            (None, None) => return Ok(None),
            (Some(x), Some(y)) if x.rev == y.rev => {
                if x.crc != y.crc || x.len != y.len {
                    return Ok(Some(Difference {
                        a: Some(x),
                        b: Some(y),
                    }));
                }
                ra = ia.next().transpose()?;
                rb = ib.next().transpose()?;
            }
            (Some(x), y) if y.as_ref().is_none_or(|y| x.rev < y.rev) => {
                return Ok(Some(Difference {
                    a: Some(x),
                    b: None,
                }));
            }
            (_, y) => return Ok(Some(Difference { a: None, b: y })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_by_version() {
        assert_eq!(Rules::for_version("3.5.1"), Some(Rules::ETCD_3_5_1));
        assert_eq!(Rules::for_version("v3.4.23"), Some(Rules::ETCD_3_5_1));
        assert_eq!(Rules::for_version("3.6.0"), Some(Rules::ETCD_3_6));
        assert_eq!(Rules::for_version("3.5.16"), Some(Rules::ETCD_3_6));
        assert_eq!(Rules::for_version("3.4.34"), Some(Rules::ETCD_3_6));
        let r = Rules::for_version("3.5.10").unwrap();
        assert!(!r.refuse_at_compact_revision && !r.raise_current_to_scheduled_compact);
        assert_eq!(Rules::for_version("3.3.0"), None);
        assert_eq!(Rules::for_version("x"), None);
    }

    #[test]
    fn kv_key_scanner() {
        use prost::Message;
        let kv = mvcc::KeyValue {
            key: b"/a/b".to_vec(),
            create_revision: 3,
            mod_revision: 9,
            version: 2,
            value: vec![7; 300],
            lease: 1 << 40,
        };
        let bytes = kv.encode_to_vec();
        assert_eq!(kv_key(&bytes), Some(&b"/a/b"[..]));
        assert_eq!(kv_key(&[]), Some(&b""[..]));
        // Truncated value, wrong wire type for `key`, group: unsure.
        assert_eq!(kv_key(&bytes[..bytes.len() - 1]), None);
        assert_eq!(kv_key(&[0x08, 0x01]), None);
        assert_eq!(kv_key(&[0x3b]), None);
        // Unknown fields are skipped.
        assert_eq!(kv_key(&[0x38, 0x05, 0x0a, 0x01, b'k']), Some(&b"k"[..]));
    }

    #[test]
    fn crc_concatenation() {
        let h = etcd_proto::crc32c::checksum(b"key");
        assert_eq!(crc_concat(h, 0, 0), h);
        assert_eq!(
            crc_concat(h, etcd_proto::crc32c::checksum(b"abc"), 3),
            etcd_proto::crc32c::checksum(b"keyabc")
        );
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        for (a, b) in [
            (0, 1),
            (1, 0),
            (17, 18),
            (4096, 65_000),
            (3, 69_997),
            (70_000, 0),
        ] {
            let (x, y) = data.split_at(a);
            let y = &y[..b.min(y.len())];
            let whole = etcd_proto::crc32c::append(etcd_proto::crc32c::checksum(x), y);
            let (cx, cy) = (
                etcd_proto::crc32c::checksum(x),
                etcd_proto::crc32c::checksum(y),
            );
            assert_eq!(crc_concat(cx, cy, y.len() as u64), whole, "{a} {b}");
            assert_eq!(crc32c::crc32c_combine(cx, cy, y.len()), whole);
        }
        // Lengths beyond 2^32 use the upper table entries.
        assert_eq!(
            crc_concat(0x1234_5678, 0, 1 << 40),
            mult_mod_p(X2N[43], 0x1234_5678)
        );
    }

    #[test]
    fn restore_rules() {
        let r = Rules::ETCD_3_5_1;
        let s = restore(&r, None, None, 0);
        assert_eq!((s.current_revision, s.compact_revision), (1, -1));
        let s = restore(&r, Some(10), Some(12), 20);
        assert_eq!((s.compact_revision, s.resumed_compaction), (12, Some(12)));
        // Scheduled beyond current: not resumed (ErrFutureRev), unless raised (3.6).
        let s = restore(&r, Some(10), Some(30), 20);
        assert_eq!((s.current_revision, s.compact_revision), (20, 10));
        let s = restore(&Rules::ETCD_3_6, Some(10), Some(30), 20);
        assert_eq!((s.current_revision, s.compact_revision), (30, 30));
        let s = restore(&r, Some(40), None, 20);
        assert_eq!((s.current_revision, s.compact_revision), (40, 40));
    }
}

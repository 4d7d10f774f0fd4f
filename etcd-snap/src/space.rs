//! Where a db's space goes (`db space`): the file's pages by owner (each top-level bucket,
//! the metas, the free pages — they add up to the high-water mark), the `key` bucket's
//! records grouped by key prefix (bytes of each key's latest record, bytes of every
//! retained revision), the largest latest records, what a compaction at a revision would
//! remove, and an estimate of the file after etcd's defragmentation.
//!
//! A record's bytes are what it takes in its leaf page: the 16-byte element header, the
//! 17-byte revision key (18 for a tombstone) and the `mvccpb.KeyValue`. Compaction at `R`
//! (etcd's `mvcc` compaction) keeps, of every key, the records above `R` and its latest
//! record at or below `R` unless that one is a tombstone; everything else is removed.
//! Read-only, one pass over the `key` bucket; memory: one small entry per key.

use std::collections::{BTreeMap, HashMap};

use crate::bolt::{Db, PageInfo};
use crate::error::Result;
use crate::mvcc::{self, RevisionKey};
use crate::schema;

/// Bytes of a leaf element's header.
const ELEMENT: u64 = 16;
/// etcd's defragmentation copies every bucket with this fill percent
/// (`server/storage/backend`, `defragdb`).
const DEFRAG_FILL: f64 = 0.9;

/// How to group keys.
#[derive(Debug, Clone, Default)]
pub struct SpaceOptions {
    /// Group keys by their first `depth` `/`-separated parts (`/registry/pods/ns/name` at
    /// depth 2 is `/registry/pods`); 0 groups nothing (one row).
    pub depth: usize,
    /// How many of the largest latest records to list.
    pub top: usize,
    /// The revision of the compaction to evaluate; `None`: the db's latest revision.
    pub compact_at: Option<i64>,
}

/// Pages of the file by owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PageAccount {
    /// The two meta pages.
    pub meta: u64,
    /// A persisted freelist's pages (etcd does not persist it: 0).
    pub freelist: u64,
    /// The root bucket's own pages.
    pub root: u64,
    /// Pages of each top-level bucket's tree (nested buckets and overflow included).
    pub buckets: BTreeMap<String, u64>,
    /// Free pages (reusable by bbolt; a defragmentation drops them).
    pub free: u64,
    /// Pages that cannot be read or that no tree accounts for (damage).
    pub other: u64,
    /// All of them: the high-water mark (`pgid`).
    pub total: u64,
}

/// One group of keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SpaceGroup {
    /// The prefix (escaped as `dump` prints keys).
    pub prefix: String,
    /// Keys with at least one record.
    pub keys: u64,
    /// Keys whose latest record is not a tombstone.
    pub live_keys: u64,
    /// Records (every retained revision, tombstones included).
    pub records: u64,
    /// Bytes of the live keys' latest records.
    pub latest_bytes: u64,
    /// Bytes of every record.
    pub all_bytes: u64,
    /// Bytes the compaction evaluated would remove.
    pub compaction_frees: u64,
}

/// One of the largest latest records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LargeRecord {
    /// The key (escaped).
    pub key: String,
    /// Its latest revision (`main_sub`).
    pub revision: String,
    /// Bytes of the record.
    pub bytes: u64,
    /// Bytes of the value alone.
    pub value_bytes: u64,
}

/// See the module docs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SpaceReport {
    /// File size in bytes.
    pub file_size: u64,
    /// Page size in bytes.
    pub page_size: u32,
    /// The file's pages by owner.
    pub pages: PageAccount,
    /// The grouping depth used.
    pub depth: usize,
    /// Records of the `key` bucket.
    pub records: u64,
    /// Of them tombstones.
    pub tombstones: u64,
    /// Distinct keys.
    pub keys: u64,
    /// Keys whose latest record is not a tombstone.
    pub live_keys: u64,
    /// Bytes of every record.
    pub all_bytes: u64,
    /// Bytes of the live keys' latest records.
    pub latest_bytes: u64,
    /// Groups, largest `all_bytes` first.
    pub groups: Vec<SpaceGroup>,
    /// The largest latest records of live keys, largest first.
    pub largest: Vec<LargeRecord>,
    /// The db's latest revision.
    pub revision: i64,
    /// Its finished compaction revision.
    pub compacted: Option<i64>,
    /// The compaction evaluated.
    pub compact_at: i64,
    /// Records it would remove.
    pub compaction_removes: u64,
    /// Their bytes.
    pub compaction_frees: u64,
    /// Estimated file size after that compaction and etcd's defragmentation (leaf
    /// elements repacked at 90 % fill, large records on their own overflow pages, branch
    /// pages, the other buckets as they are now).
    pub defrag_estimate: u64,
}

/// Per key, what the one pass needs.
#[derive(Default)]
struct KeyAcc {
    records: u64,
    all: u64,
    latest: u64,
    latest_value: u64,
    latest_rev: (i64, i64),
    latest_tomb: bool,
    /// The key's last record at or below the compaction revision: its bytes, tombstone.
    kept_le: Option<(u64, bool)>,
    frees: u64,
    removes: u64,
}

fn group_of(key: &[u8], depth: usize) -> &[u8] {
    if depth == 0 {
        return &[];
    }
    // `/a/b/c` at depth 2 is `/a/b`: parts are counted after a leading `/`.
    let start = usize::from(key.first() == Some(&b'/'));
    let mut seen = 0;
    for (i, b) in key.iter().enumerate().skip(start) {
        if *b == b'/' {
            seen += 1;
            if seen == depth {
                return key.get(..i).unwrap_or(key);
            }
        }
    }
    key
}

/// Pages by owner from [`Db::page_list`].
pub fn page_account(pages: &[PageInfo]) -> PageAccount {
    let mut a = PageAccount::default();
    for p in pages {
        let n = 1 + u64::from(p.overflow);
        a.total += n;
        match (p.kind.as_str(), &p.bucket) {
            ("meta", _) => a.meta += n,
            ("freelist", _) => a.freelist += n,
            ("free", _) => a.free += n,
            ("branch" | "leaf", Some(b)) if b.is_empty() => a.root += n,
            ("branch" | "leaf", Some(b)) => {
                let top = b.split('/').next().unwrap_or(b).to_owned();
                *a.buckets.entry(top).or_default() += n;
            }
            _ => a.other += n,
        }
    }
    a
}

/// Measure `db` (see the module docs).
pub fn space(db: &Db, opts: &SpaceOptions) -> Result<SpaceReport> {
    let ps = u64::from(db.page_size());
    let pages = page_account(&db.page_list()?);
    let meta = schema::meta(db)?;
    let mut accs: HashMap<Vec<u8>, KeyAcc> = HashMap::new();
    let mut records = 0u64;
    let mut tombstones = 0u64;
    let mut revision = 0i64;
    // Without a revision, the compaction at the latest one: every record is at or below it.
    let compact_at = opts.compact_at.unwrap_or(i64::MAX);
    if let Some(bucket) = mvcc::key_bucket(db)? {
        for e in db.cursor(&bucket) {
            let e = e?;
            let Ok(rk) = RevisionKey::parse(&e.key) else {
                continue;
            };
            let rec = mvcc::decode_entry(db, &e)?;
            let bytes = ELEMENT + e.key.len() as u64 + e.value.len() as u64;
            records += 1;
            revision = revision.max(rk.rev.main);
            tombstones += u64::from(rk.tombstone);
            let a = accs.entry(rec.kv.key).or_default();
            a.records += 1;
            a.all += bytes;
            a.latest = bytes;
            a.latest_value = rec.kv.value.len() as u64;
            a.latest_rev = (rk.rev.main, rk.rev.sub);
            a.latest_tomb = rk.tombstone;
            if rk.rev.main <= compact_at {
                // The previous record at or below R is superseded: compaction removes it.
                if let Some((b, _)) = a.kept_le.replace((bytes, rk.tombstone)) {
                    a.frees += b;
                    a.removes += 1;
                }
            }
        }
    }
    let mut groups: BTreeMap<Vec<u8>, SpaceGroup> = BTreeMap::new();
    let mut largest: Vec<(u64, &Vec<u8>, &KeyAcc)> = Vec::new();
    let (mut all_bytes, mut latest_bytes, mut live_keys) = (0u64, 0u64, 0u64);
    let (mut removes, mut frees) = (0u64, 0u64);
    for (key, a) in &mut accs {
        // A tombstone at or below R goes too.
        if let Some((b, true)) = a.kept_le {
            a.frees += b;
            a.removes += 1;
        }
        let g = groups
            .entry(group_of(key, opts.depth).to_vec())
            .or_default();
        g.keys += 1;
        g.records += a.records;
        g.all_bytes += a.all;
        g.compaction_frees += a.frees;
        all_bytes += a.all;
        removes += a.removes;
        frees += a.frees;
        if !a.latest_tomb {
            g.live_keys += 1;
            g.latest_bytes += a.latest;
            live_keys += 1;
            latest_bytes += a.latest;
        }
    }
    if opts.top > 0 {
        largest = accs
            .iter()
            .filter(|(_, a)| !a.latest_tomb)
            .map(|(k, a)| (a.latest, k, a))
            .collect();
        largest.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(y.1)));
        largest.truncate(opts.top);
    }
    let largest = largest
        .into_iter()
        .map(|(bytes, k, a)| LargeRecord {
            key: etcd_proto::text::escape_bytes(k),
            revision: format!("{}_{}", a.latest_rev.0, a.latest_rev.1),
            bytes,
            value_bytes: a.latest_value,
        })
        .collect();
    let mut groups: Vec<SpaceGroup> = groups
        .into_iter()
        .map(|(p, mut g)| {
            g.prefix = etcd_proto::text::escape_bytes(&p);
            g
        })
        .collect();
    groups.sort_by(|a, b| b.all_bytes.cmp(&a.all_bytes).then(a.prefix.cmp(&b.prefix)));
    let defrag_estimate = defrag_estimate(ps, &pages, all_bytes - frees, records - removes);
    Ok(SpaceReport {
        file_size: db.file_size(),
        page_size: db.page_size(),
        pages,
        depth: opts.depth,
        records,
        tombstones,
        keys: accs.len() as u64,
        live_keys,
        all_bytes,
        latest_bytes,
        groups,
        largest,
        revision,
        compacted: meta.finished_compact_rev,
        compact_at: opts.compact_at.unwrap_or(revision),
        compaction_removes: removes,
        compaction_frees: frees,
        defrag_estimate,
    })
}

/// The file after defragmentation: the `key` bucket's remaining `bytes` in `records`
/// elements repacked into leaves filled to 90 % (a record larger than that fill takes
/// its own pages), one branch page per ~200 leaves, every other bucket and the root at
/// their current page counts, two metas; free pages gone.
fn defrag_estimate(ps: u64, pages: &PageAccount, bytes: u64, records: u64) -> u64 {
    let fill = (ps as f64 * DEFRAG_FILL) as u64;
    let avg = bytes.checked_div(records).unwrap_or(0);
    let leaves = if avg > fill {
        // Large records: each on its own page run.
        records * avg.div_ceil(ps)
    } else {
        bytes.div_ceil(fill.max(1))
    };
    let branches = leaves.div_ceil(200).max(u64::from(leaves > 1));
    let others: u64 = pages
        .buckets
        .iter()
        .filter(|(name, _)| name.as_str() != "key")
        .map(|(_, n)| *n)
        .sum();
    (2 + pages.root + others + leaves + branches) * ps
}

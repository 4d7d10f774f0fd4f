//! `--compact-to R`: the restored db compacted at revision R and written defragmented, as
//! `etcdctl compact R --physical` followed by `etcdctl defrag` would leave it — of every
//! key, the records above R and its latest record at or below R unless that is a
//! tombstone; `meta/scheduledCompactRev` and `meta/finishedCompactRev` set to R; every
//! bucket rewritten into fresh pages with no free ones (etcd's defragmentation).
//!
//! Compaction is replicated state: doing it offline is safe inside a restore (the new
//! cluster starts from this db) and nowhere else (a member compacted alone would differ
//! from its peers).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::bolt::Db;
use crate::bolt::salvage::{Edit, copy_with};
use crate::mvcc::{self, Revision, RevisionKey};
use crate::schema::{self, META};

use super::error::{RestoreError, io_err};

/// What the compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Compacted {
    /// The compaction revision.
    pub revision: i64,
    /// Records removed.
    pub records_removed: u64,
    /// Records kept.
    pub records_kept: u64,
    /// The db's size before (bytes).
    pub bytes_before: u64,
    /// Its size after (bytes).
    pub bytes_after: u64,
}

/// Compact the db at `path` at revision `r` and rewrite it defragmented (in place: a new
/// file beside it, renamed over it).
pub(super) fn compact(path: &Path, r: i64) -> Result<Compacted, RestoreError> {
    let db = Db::open(path)?;
    let meta = schema::meta(&db)?;
    let bucket = mvcc::key_bucket(&db)?;
    // Each key's latest record at or below R (by revision key), and the highest revision.
    let mut latest_le: HashMap<Vec<u8>, (Vec<u8>, bool)> = HashMap::new();
    let mut max_main = 0i64;
    let mut records = 0u64;
    if let Some(b) = &bucket {
        for e in db.cursor(b) {
            let e = e?;
            let Ok(rk) = RevisionKey::parse(&e.key) else {
                continue;
            };
            records += 1;
            max_main = max_main.max(rk.rev.main);
            if rk.rev.main <= r {
                let rec = mvcc::decode_entry(&db, &e)?;
                latest_le.insert(rec.kv.key, (e.key.clone(), rk.tombstone));
            }
        }
    }
    if r > max_main {
        return Err(RestoreError::CompactRevision {
            revision: r,
            why: format!("mvcc: required revision is a future revision (the db is at {max_main})"),
        });
    }
    let compacted = meta.finished_compact_rev.unwrap_or(0);
    if r <= compacted {
        return Err(RestoreError::CompactRevision {
            revision: r,
            why: format!(
                "mvcc: required revision has been compacted (the db is compacted at {compacted})"
            ),
        });
    }
    let keep_at_or_below: HashSet<Vec<u8>> = latest_le
        .into_values()
        .filter(|(_, tomb)| !tomb)
        .map(|(k, _)| k)
        .collect();
    let keep = |k: &[u8], _: &[u8]| -> bool {
        match RevisionKey::parse(k) {
            Ok(rk) if rk.rev.main > r => true,
            Ok(_) => keep_at_or_below.contains(k),
            // Not a revision (a bump marker is one): kept as it is.
            Err(_) => true,
        }
    };
    let rev = RevisionKey {
        rev: Revision { main: r, sub: 0 },
        tombstone: false,
    }
    .encode();
    let edit = Edit {
        keep: vec![(mvcc::KEY_BUCKET.to_vec(), &keep)],
        set: vec![
            (META.to_vec(), b"scheduledCompactRev".to_vec(), rev.clone()),
            (META.to_vec(), b"finishedCompactRev".to_vec(), rev),
        ],
    };
    let tmp = super::copy::temp_beside(path);
    let _ = std::fs::remove_file(&tmp);
    let copy = match copy_with(&db, &tmp, &edit) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    let kept = copy
        .buckets
        .iter()
        .find(|b| b.name.as_bytes() == mvcc::KEY_BUCKET)
        .map_or(0, |b| b.copied);
    let bytes_before = db.file_size();
    drop(db);
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    Ok(Compacted {
        revision: r,
        records_removed: records - kept,
        records_kept: kept,
        bytes_before,
        bytes_after: copy.size,
    })
}

//! The db rewrite: `members` and `members_removed` replaced, `cluster` created, `meta`
//! updated, and with `--bump-revision` the bump marker and `meta/scheduledCompactRev`.

use std::path::Path;

use crate::bolt::write::{LeafItem, Patcher, WriteError, bucket_value};
use crate::bolt::{Db, LEAF_FLAG_BUCKET};
use crate::mvcc::{Revision, RevisionKey};
use crate::schema::{CLUSTER, MEMBERS, MEMBERS_REMOVED, META};

use super::error::RestoreError;
use super::ids::NewCluster;

/// Entries of a top-level bucket (not nested buckets) as leaf items.
fn bucket_items(db: &Db, name: &[u8]) -> Result<Option<(u64, Vec<LeafItem>)>, RestoreError> {
    let Some(b) = db.bucket(name)? else {
        return Ok(None);
    };
    let mut items = Vec::new();
    for e in db.cursor(&b) {
        let e = e?;
        if e.is_bucket {
            return Err(RestoreError::NestedBucket {
                path: db.path().to_path_buf(),
                bucket: String::from_utf8_lossy(name).into_owned(),
            });
        }
        items.push(LeafItem::kv(e.key, e.value));
    }
    Ok(Some((b.sequence(), items)))
}

/// Set `key` to `value` in key-sorted `items` (replace or insert).
pub(super) fn put_sorted(items: &mut Vec<LeafItem>, key: &[u8], value: Vec<u8>) {
    match items.binary_search_by(|i| i.key.as_slice().cmp(key)) {
        Ok(i) => {
            if let Some(it) = items.get_mut(i) {
                it.value = value;
            }
        }
        Err(i) => items.insert(i, LeafItem::kv(key.to_vec(), value)),
    }
}
/// The root bucket's entries as leaf items.
pub(super) fn root_items(db: &Db) -> Result<Vec<LeafItem>, RestoreError> {
    let mut items = Vec::new();
    for e in db.cursor(&db.root()) {
        let e = e?;
        items.push(LeafItem {
            flags: if e.is_bucket { LEAF_FLAG_BUCKET } else { 0 },
            key: e.key,
            value: e.value,
        });
    }
    Ok(items)
}

/// Set bucket `name` of key-sorted root entries `root` to the bucket value `value`
/// (replace or insert).
pub(super) fn put_bucket(root: &mut Vec<LeafItem>, name: &[u8], value: Vec<u8>) {
    match root.binary_search_by(|i| i.key.as_slice().cmp(name)) {
        Ok(i) => {
            if let Some(it) = root.get_mut(i) {
                it.flags = LEAF_FLAG_BUCKET;
                it.value = value;
            }
        }
        Err(i) => root.insert(
            i,
            LeafItem {
                flags: LEAF_FLAG_BUCKET,
                key: name.to_vec(),
                value,
            },
        ),
    }
}

/// What [`patch_db`] changes.
#[derive(Debug, Clone, Copy)]
pub(super) struct DbPatch<'a> {
    /// Replace `members` with these, empty `members_removed`, create `cluster`.
    pub members: Option<&'a NewCluster>,
    /// Set `meta/consistent_index` to this and `meta/term` to 1.
    pub consistent_index: Option<u64>,
    /// `--bump-revision` (0: none): the bump marker and `meta/scheduledCompactRev`.
    pub bump: u64,
}

/// Patch the copied db as etcdutl does; returns the bump marker's revision if one was
/// written.
pub(super) fn patch_db(path: &Path, patch: DbPatch<'_>) -> Result<Option<i64>, RestoreError> {
    let bump = patch.bump;
    let db = Db::open(path)?;
    let mut p = Patcher::open(&db)?;
    let mut new_values: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();

    // members: exactly the new members; members_removed: empty.
    if let Some(cluster) = patch.members {
        let mut members: Vec<LeafItem> = cluster
            .members
            .iter()
            .map(|m| LeafItem::kv(format!("{:x}", m.id).into_bytes(), m.json().into_bytes()))
            .collect();
        members.sort_by(|a, b| a.key.cmp(&b.key));
        let seq = |name: &[u8]| -> Result<u64, RestoreError> {
            Ok(db.bucket(name)?.map_or(0, |b| b.sequence()))
        };
        new_values.push((
            MEMBERS.to_vec(),
            p.bucket_from_items(seq(MEMBERS)?, members)?,
        ));
        new_values.push((
            MEMBERS_REMOVED.to_vec(),
            p.bucket_from_items(seq(MEMBERS_REMOVED)?, Vec::new())?,
        ));
        if db.bucket(CLUSTER)?.is_none() {
            new_values.push((CLUSTER.to_vec(), p.bucket_from_items(0, Vec::new())?));
        }
    }

    // key: the bump marker.
    let mut bumped_to = None;
    let mut scheduled = None;
    if bump > 0 {
        let bump = i64::try_from(bump).unwrap_or(i64::MAX);
        let path_buf = path.to_path_buf();
        let marker = |last: Option<&[u8]>| -> Result<(Vec<u8>, i64), RestoreError> {
            let main = match last {
                Some(k) => {
                    RevisionKey::parse(k)
                        .map_err(|reason| RestoreError::BadLastRevision {
                            path: path_buf.clone(),
                            reason,
                        })?
                        .rev
                        .main
                }
                None => 0,
            };
            let rev = main.saturating_add(bump);
            let key = RevisionKey {
                rev: Revision { main: rev, sub: 0 },
                tombstone: false,
            };
            Ok((key.encode(), rev))
        };
        let key_bucket = db.bucket(crate::mvcc::KEY_BUCKET)?;
        let value = match &key_bucket {
            Some(b) if !b.is_inline() => {
                let mut got = None;
                let root = p.append_last(&db, b, |last| {
                    let (k, rev) = marker(last).map_err(|e| WriteError::Unsupported {
                        path: path.to_path_buf(),
                        what: e.to_string(),
                    })?;
                    got = Some(rev);
                    Ok(LeafItem::kv(k, Vec::new()))
                })?;
                bumped_to = got;
                bucket_value(root, b.sequence())
            }
            _ => {
                let (sequence, mut items) =
                    bucket_items(&db, crate::mvcc::KEY_BUCKET)?.unwrap_or_default();
                let (k, rev) = marker(items.last().map(|i| i.key.as_slice()))?;
                items.push(LeafItem::kv(k, Vec::new()));
                bumped_to = Some(rev);
                p.bucket_from_items(sequence, items)?
            }
        };
        new_values.push((crate::mvcc::KEY_BUCKET.to_vec(), value));
        if let Some(rev) = bumped_to {
            scheduled = Some(
                RevisionKey {
                    rev: Revision { main: rev, sub: 0 },
                    tombstone: false,
                }
                .encode(),
            );
        }
    }

    // meta: consistent_index = N, term = 1 (3.5 writes both unconditionally).
    let (meta_seq, mut meta_items) = bucket_items(&db, META)?.unwrap_or_default();
    if let Some(n) = patch.consistent_index {
        put_sorted(
            &mut meta_items,
            b"consistent_index",
            n.to_be_bytes().to_vec(),
        );
        put_sorted(&mut meta_items, b"term", 1u64.to_be_bytes().to_vec());
    }
    if let Some(s) = scheduled {
        put_sorted(&mut meta_items, b"scheduledCompactRev", s);
    }
    new_values.push((META.to_vec(), p.bucket_from_items(meta_seq, meta_items)?));

    // Root bucket: unchanged buckets keep their values (and so their pages).
    let mut root = root_items(&db)?;
    for (name, value) in new_values {
        put_bucket(&mut root, &name, value);
    }
    let root_page = p.write_tree(root.into_iter().map(Ok))?;
    p.commit(root_page)?;
    Ok(bumped_to)
}

/// Bump a db's revision as `etcdutl snapshot restore --bump-revision R --mark-compacted`
/// does, and nothing else: an empty record at the latest revision + `bump` in the `key`
/// bucket and `meta/scheduledCompactRev` there (etcd serves revisions from there on and
/// answers reads below as compacted: Kubernetes watch caches start over instead of
/// missing events). Written as one bolt transaction in place; returns the marker's
/// revision. The caller owns `path` (a copy, never a live member's db).
pub fn bump_revision(path: &Path, bump: u64) -> Result<Option<i64>, RestoreError> {
    patch_db(
        path,
        DbPatch {
            members: None,
            consistent_index: None,
            bump,
        },
    )
}

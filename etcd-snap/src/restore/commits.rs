//! The restore's db edits laid out as etcdutl's bbolt commits them, so that the restored db
//! is the same file, byte for byte, as `etcdutl snapshot restore` writes.
//!
//! etcdutl (3.5, 3.6, 3.7: `etcdutl/snapshot/v3_snapshot.go`) opens the copied db three
//! times, and each open ends in a bbolt commit:
//!
//! 1. `saveDB`: `TrimMembershipFromBackend` deletes every key of `members` and
//!    `members_removed`. From 3.5.12 on (etcd PR 17230, "commit bbolt transaction if there is
//!    any pending deleting operations") a delete commits at once, and closing the backend
//!    commits once more, with nothing left to write;
//! 2. `saveWALAndSnap`: `members`, `members_removed` and `cluster` are created when missing,
//!    and every new member is put;
//! 3. `updateCIndex`: `meta/consistent_index` and `meta/term`.
//!
//! Every commit writes a meta page (txid + 1, slot `txid % 2`). A commit that changed a
//! bucket writes the root bucket's leaf to a newly allocated page: etcd opens bbolt with
//! `NoFreelistSync`, so on each open the free pages are those no tree reaches, and bbolt's
//! array freelist hands out the lowest free id (`freelist/array.go`, `Allocate`). The
//! buckets a restore touches are inline (stored inside the root leaf), so the root leaf is
//! the only page a commit writes. The earlier commits' root leaves stay behind in pages that
//! are free in the end, and are part of the bytes too.
//!
//! Where the db does not fit this model (a persisted freelist, a root bucket that is not one
//! leaf page, a touched bucket too large to be inline, no free page to allocate), [`plan`]
//! returns `None` and the caller writes its own layout: the same buckets, other pages.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::bolt::write::{
    LeafItem, MetaFields, encode_leaf, encode_meta, inline_bucket_value, inlineable, leaf_size,
};
use crate::bolt::{Db, PageKind};
use crate::schema::{CLUSTER, MEMBERS, MEMBERS_REMOVED, META};

use super::db::{put_bucket, put_sorted, root_items};
use super::error::{RestoreError, io_err};
use super::ids::NewCluster;

/// Whether a membership delete commits on its own (etcdutl 3.5.12 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeleteCommits {
    /// etcdutl up to 3.5.11: deletes wait for the backend's close.
    AtClose,
    /// etcdutl 3.5.12 and later, 3.6, 3.7: a delete commits at once, the close again.
    AtOnce,
}

/// One bbolt commit: the root leaf it writes, if any.
type Commit = Option<Vec<LeafItem>>;

/// The pages and metas to write.
#[derive(Debug)]
pub(super) struct Plan {
    /// `(page id, root leaf items)` in the order the commits write them.
    leaves: Vec<(u64, Vec<LeafItem>)>,
    /// The last two commits' metas (older first).
    metas: Vec<MetaFields>,
    page_size: u32,
}

/// A bucket the restore edits, as the source db holds it.
#[derive(Debug)]
enum Touched {
    /// No such bucket.
    Missing,
    /// Stored inline in the root leaf: its sequence and entries.
    Inline(u64, Vec<LeafItem>),
    /// In pages of its own, or with nested buckets: not this model.
    Paged,
}

impl Touched {
    fn read(db: &Db, name: &[u8]) -> Result<Touched, RestoreError> {
        let Some(b) = db.bucket(name)? else {
            return Ok(Touched::Missing);
        };
        if !b.is_inline() {
            return Ok(Touched::Paged);
        }
        let mut items = Vec::new();
        for e in db.cursor(&b) {
            let e = e?;
            if e.is_bucket {
                return Ok(Touched::Paged);
            }
            items.push(LeafItem::kv(e.key, e.value));
        }
        Ok(Touched::Inline(b.sequence(), items))
    }

    fn sequence(&self) -> u64 {
        match self {
            Touched::Inline(seq, _) => *seq,
            _ => 0,
        }
    }

    fn has_entries(&self) -> bool {
        matches!(self, Touched::Inline(_, items) if !items.is_empty())
    }
}

/// Set bucket `name` of the root leaf to an inline bucket with `items`; false when bbolt
/// would not store it inline.
fn set_inline(
    root: &mut Vec<LeafItem>,
    name: &[u8],
    sequence: u64,
    items: &[LeafItem],
    page_size: u32,
) -> bool {
    if !inlineable(items, page_size) {
        return false;
    }
    put_bucket(root, name, inline_bucket_value(sequence, items));
    true
}

/// The commits etcdutl makes, or `None` when the db does not fit the model (see the module
/// docs).
pub(super) fn plan(
    db: &Db,
    cluster: &NewCluster,
    consistent_index: u64,
    deletes: DeleteCommits,
) -> Result<Option<Plan>, RestoreError> {
    let meta = *db.meta();
    let ps = db.page_size();
    if meta.freelist != crate::bolt::FREELIST_NOT_PERSISTED {
        return Ok(None);
    }
    let root_page = db.page(meta.root)?;
    if root_page.header.kind() != PageKind::Leaf || root_page.header.overflow != 0 {
        return Ok(None);
    }
    let source = root_items(db)?;
    let members = Touched::read(db, MEMBERS)?;
    let removed = Touched::read(db, MEMBERS_REMOVED)?;
    let cluster_b = Touched::read(db, CLUSTER)?;
    let Touched::Inline(meta_seq, mut meta_items) = Touched::read(db, META)? else {
        return Ok(None);
    };
    if [&members, &removed, &cluster_b]
        .iter()
        .any(|t| matches!(t, Touched::Paged))
    {
        return Ok(None);
    }

    // 1. TrimMembershipFromBackend.
    let deleted = members.has_entries() || removed.has_entries();
    let mut trimmed = source.clone();
    for (name, b) in [(MEMBERS, &members), (MEMBERS_REMOVED, &removed)] {
        if matches!(b, Touched::Inline(..))
            && !set_inline(&mut trimmed, name, b.sequence(), &[], ps)
        {
            return Ok(None);
        }
    }
    // 2. The buckets, then every member.
    let mut with_members = trimmed.clone();
    let mut new_members: Vec<LeafItem> = cluster
        .members
        .iter()
        .map(|m| LeafItem::kv(format!("{:x}", m.id).into_bytes(), m.json().into_bytes()))
        .collect();
    new_members.sort_by(|a, b| a.key.cmp(&b.key));
    if !set_inline(
        &mut with_members,
        MEMBERS,
        members.sequence(),
        &new_members,
        ps,
    ) {
        return Ok(None);
    }
    for (name, b) in [(MEMBERS_REMOVED, &removed), (CLUSTER, &cluster_b)] {
        if matches!(b, Touched::Missing) && !set_inline(&mut with_members, name, 0, &[], ps) {
            return Ok(None);
        }
    }
    // 3. The consistent index and term.
    let mut indexed = with_members.clone();
    put_sorted(
        &mut meta_items,
        b"consistent_index",
        consistent_index.to_be_bytes().to_vec(),
    );
    put_sorted(&mut meta_items, b"term", 1u64.to_be_bytes().to_vec());
    if !set_inline(&mut indexed, META, meta_seq, &meta_items, ps) {
        return Ok(None);
    }

    let mut commits: Vec<Commit> = Vec::new();
    if deleted {
        commits.push(Some(trimmed));
        if deletes == DeleteCommits::AtOnce {
            commits.push(None);
        }
    } else {
        commits.push(None);
    }
    commits.push(Some(with_members));
    commits.push(Some(indexed));

    // A root leaf bbolt would split or spill over more than one page: not this model.
    if commits
        .iter()
        .flatten()
        .any(|items| leaf_size(items) > ps as usize)
    {
        return Ok(None);
    }

    // The free pages on each open: every page below the high-water mark no tree reaches;
    // each commit takes the lowest, so the lowest few (one per commit that writes) and the
    // roots the commits give up are all that matter.
    let writes = commits.iter().flatten().count();
    let Some(lowest) = db.lowest_unreachable_pages(writes)? else {
        return Ok(None);
    };
    let mut free: std::collections::BTreeSet<u64> = lowest.into_iter().collect();
    let mut root = meta.root;
    let mut txid = meta.txid;
    let mut leaves = Vec::new();
    let mut metas = Vec::new();
    for commit in commits {
        txid = txid.wrapping_add(1);
        if let Some(items) = commit {
            let Some(page) = free.pop_first() else {
                return Ok(None); // bbolt would grow the file: not modelled
            };
            free.insert(root);
            root = page;
            leaves.push((page, items));
        }
        metas.push(MetaFields {
            page_size: ps,
            root,
            sequence: meta.sequence,
            freelist: crate::bolt::FREELIST_NOT_PERSISTED,
            pgid: meta.pgid,
            txid,
        });
    }
    let keep = metas.len().saturating_sub(2);
    metas.drain(..keep);
    Ok(Some(Plan {
        leaves,
        metas,
        page_size: ps,
    }))
}

impl Plan {
    /// Write the planned pages, then the two metas, syncing after each step.
    pub(super) fn write(&self, path: &Path) -> Result<(), RestoreError> {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let ps = u64::from(self.page_size);
        for (id, items) in &self.leaves {
            let bytes = encode_leaf(*id, items, self.page_size);
            f.write_all_at(&bytes, id.saturating_mul(ps))
                .map_err(io_err(path))?;
        }
        f.sync_all().map_err(io_err(path))?;
        for m in &self.metas {
            let slot = m.txid % 2;
            f.write_all_at(&encode_meta(slot, m), slot.saturating_mul(ps))
                .map_err(io_err(path))?;
        }
        f.sync_all().map_err(io_err(path))?;
        Ok(())
    }
}

//! Copying every readable key/value of a damaged bolt file into a new one.
//!
//! The source is opened leniently ([`Db::open_lenient`]: a meta whose checksum fails is
//! still used when its fields make sense). Each top-level bucket's tree is walked page by
//! page; a page that cannot be read (past the file, wrong id, invalid type, an element
//! outside the page, a cycle) is skipped and the key range it covered — from its parent's
//! branch key to the next one — is reported as lost. Keys are copied in order; one that
//! does not sort after the previous copied key (damaged order) is dropped and counted.
//! The new file is built with [`super::write::Patcher`] (fresh pages, no free pages, the
//! freelist not persisted as etcd leaves it), streaming: one leaf page in memory per
//! bucket, whatever its size. Nested buckets inside top-level ones (etcd has none) are
//! not copied and reported.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};

use crate::error::{Error, Result};

use super::bucket::Bucket;
use super::cursor::MAX_DEPTH;
use super::db::Db;
use super::page::{Page, PageKind};
use super::write::{LeafItem, MetaFields, Patcher, WriteError, encode_leaf, encode_meta};

/// Which items of a bucket to copy, given key and value.
pub type KeepFn<'a> = &'a (dyn Fn(&[u8], &[u8]) -> bool + Sync);

/// A key range whose items could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LostRange {
    /// First key of the range (inclusive; `None`: from the bucket's start).
    pub from: Option<Vec<u8>>,
    /// End of the range (exclusive; `None`: to the bucket's end).
    pub to: Option<Vec<u8>>,
    /// The page that could not be read.
    pub page: u64,
    /// Why.
    pub why: String,
}

/// What was copied from one top-level bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BucketSalvage {
    /// The bucket's name (lossy UTF-8).
    pub name: String,
    /// Key/values copied.
    pub copied: u64,
    /// Key/values dropped because they were out of order.
    pub dropped: u64,
    /// Ranges lost with unreadable pages.
    pub lost: Vec<LostRange>,
}

/// What [`salvage`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Salvage {
    /// The meta page read (0 or 1).
    pub meta: u8,
    /// Whether that meta validates (false: bbolt refuses it, its fields were used anyway).
    pub meta_valid: bool,
    /// Its txid.
    pub txid: u64,
    /// Per top-level bucket, in name order.
    pub buckets: Vec<BucketSalvage>,
    /// Top-level bucket entries lost (the root bucket's own damage).
    pub root_lost: Vec<LostRange>,
    /// Size of the new file in bytes.
    pub size: u64,
}

impl Salvage {
    /// Whether anything was lost.
    pub fn lost_anything(&self) -> bool {
        !self.root_lost.is_empty()
            || self
                .buckets
                .iter()
                .any(|b| !b.lost.is_empty() || b.dropped > 0)
    }
}

/// Walks a tree, sending every readable item in order, recording what it skips.
struct Walker<'a> {
    db: &'a Db,
    /// Which items to copy (`None`: all).
    keep: Option<KeepFn<'a>>,
    filtered: u64,
    visited: HashSet<u64>,
    last: Option<Vec<u8>>,
    copied: u64,
    dropped: u64,
    lost: Vec<LostRange>,
    nested: u64,
}

impl<'a> Walker<'a> {
    fn new(db: &'a Db, keep: Option<KeepFn<'a>>) -> Walker<'a> {
        Walker {
            db,
            keep,
            filtered: 0,
            visited: HashSet::new(),
            last: None,
            copied: 0,
            dropped: 0,
            lost: Vec::new(),
            nested: 0,
        }
    }

    fn lose(&mut self, from: Option<&[u8]>, to: Option<&[u8]>, page: u64, why: String) {
        self.lost.push(LostRange {
            from: from.map(<[u8]>::to_vec),
            to: to.map(<[u8]>::to_vec),
            page,
            why,
        });
    }

    fn item(
        &mut self,
        flags: u32,
        key: &[u8],
        value: &[u8],
        out: &mut dyn FnMut(LeafItem) -> bool,
    ) -> bool {
        if flags & super::LEAF_FLAG_BUCKET != 0 {
            self.nested += 1;
            return true;
        }
        if key.is_empty() || self.last.as_deref().is_some_and(|l| l >= key) {
            self.dropped += 1;
            return true;
        }
        self.last = Some(key.to_vec());
        if self.keep.is_some_and(|k| !k(key, value)) {
            self.filtered += 1;
            return true;
        }
        self.copied += 1;
        out(LeafItem::kv(key.to_vec(), value.to_vec()))
    }

    fn leaf(
        &mut self,
        page: &Page,
        to: Option<&[u8]>,
        out: &mut dyn FnMut(LeafItem) -> bool,
    ) -> bool {
        for i in 0..page.count() {
            match page.leaf(i) {
                Ok(e) => {
                    if !self.item(e.flags, e.key, e.value, out) {
                        return false;
                    }
                }
                Err(kind) => {
                    let from = self.last.clone();
                    self.lose(
                        from.as_deref(),
                        to,
                        page.id(),
                        format!("element {i}: {}", kind.code()),
                    );
                    return true;
                }
            }
        }
        true
    }

    /// Walk the subtree at `id` covering `[from, to)`. Returns false when the receiver
    /// went away (stop).
    fn tree(
        &mut self,
        id: u64,
        parent: Option<u64>,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        depth: usize,
        out: &mut dyn FnMut(LeafItem) -> bool,
    ) -> bool {
        if depth >= MAX_DEPTH || !self.visited.insert(id) {
            self.lose(from, to, id, "referenced twice or too deep".into());
            return true;
        }
        let page = match self.db.read_tree_page(id, parent) {
            Ok(p) => p,
            Err(e) => {
                let why = match self.db.read_error(e) {
                    Error::Corrupt { finding, .. } => finding.to_string(),
                    other => other.to_string(),
                };
                self.lose(from, to, id, why);
                return true;
            }
        };
        match page.header().kind() {
            PageKind::Leaf => self.leaf(&page, to, out),
            _ => {
                let n = page.count();
                let mut elems = Vec::with_capacity(usize::from(n));
                for i in 0..n {
                    match page.branch(i) {
                        Ok(e) => elems.push((e.key.to_vec(), e.pgid)),
                        Err(kind) => {
                            let lo = elems.last().map(|(k, _)| k.clone());
                            self.lose(
                                lo.as_deref().or(from),
                                to,
                                id,
                                format!("branch element {i}: {}", kind.code()),
                            );
                            elems.pop();
                            break;
                        }
                    }
                }
                for (i, (key, child)) in elems.iter().enumerate() {
                    let lo = if i == 0 { from } else { Some(key.as_slice()) };
                    let hi = elems.get(i + 1).map(|(k, _)| k.as_slice()).or(to);
                    if !self.tree(*child, Some(id), lo, hi, depth + 1, out) {
                        return false;
                    }
                }
                true
            }
        }
    }
}

fn werr(e: WriteError) -> Error {
    Error::io(Path::new(""), std::io::Error::other(e.to_string()))
}

/// Walk `bucket` of `db`, sending the items `keep` accepts to `tx` (the receiving side
/// builds the tree).
fn send_bucket<'a>(
    db: &'a Db,
    bucket: &Bucket,
    keep: Option<KeepFn<'a>>,
    tx: SyncSender<LeafItem>,
) -> Walker<'a> {
    let mut w = Walker::new(db, keep);
    let mut out = |it: LeafItem| tx.send(it).is_ok();
    match bucket.inline_page() {
        Some(p) => {
            let p = p.clone();
            w.leaf(&p, None, &mut out);
        }
        None => {
            w.tree(bucket.root(), None, None, None, 0, &mut out);
        }
    }
    w
}

/// An empty bolt file of `page_size` pages, as bbolt creates one: two metas (txid 0 and
/// 1), the root bucket an empty leaf at page 3, page 2 unused.
pub fn create_empty(path: &Path, page_size: u32) -> Result<()> {
    let io = |e| Error::io(path, e);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    for slot in 0..2u64 {
        let m = MetaFields {
            page_size,
            root: 3,
            sequence: 0,
            freelist: u64::MAX,
            pgid: 4,
            txid: slot,
        };
        f.write_all(&encode_meta(slot, &m)).map_err(io)?;
    }
    f.write_all(&vec![0u8; page_size as usize]).map_err(io)?;
    f.write_all(&encode_leaf(3, &[], page_size)).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Copy every readable key/value of `src` into the new file `out` (which must not
/// exist; written in place, the caller renames it). See the module docs.
pub fn salvage(src: &Path, out: &Path) -> Result<Salvage> {
    let mut db = Db::open_lenient(src)?;
    // A root page that cannot be read while the other meta's can: read the older tree.
    if db.read_tree_page(db.meta().root, None).is_err() {
        let other = 1 - db.active_meta();
        if let Some(o) = Db::open_lenient(src)?.at_meta(other) {
            if o.read_tree_page(o.meta().root, None).is_ok() {
                db = o;
            }
        }
    }
    // The root bucket's own damage (its items, the buckets, are copied below).
    let mut walker = Walker::new(&db, None);
    walker.tree(db.meta().root, None, None, None, 0, &mut |_| true);
    let root_lost = walker.lost;
    let mut copy = copy_with(&db, out, &Edit::default())?;
    copy.root_lost = root_lost;
    Ok(copy)
}

/// How [`copy_with`] changes what it copies.
#[derive(Default)]
pub struct Edit<'a> {
    /// Per bucket name: which of its items to copy (given key and value; the others are
    /// left out).
    pub keep: Vec<(Vec<u8>, KeepFn<'a>)>,
    /// Items to set (added, or replacing the copied value): bucket, key, value.
    pub set: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Edit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edit")
            .field(
                "keep",
                &self.keep.iter().map(|(b, _)| b).collect::<Vec<_>>(),
            )
            .field("set", &self.set)
            .finish()
    }
}

/// Copy the readable items of every top-level bucket of `db` into the new file `out`
/// (which must not exist), changed by `edit`: the file etcd's defragmentation would write
/// (fresh pages, no free ones), read from a possibly damaged source (see the module docs).
pub fn copy_with(db: &Db, out: &Path, edit: &Edit<'_>) -> Result<Salvage> {
    let slot = db.metas().get(usize::from(db.active_meta()));
    let meta_valid = slot.is_some_and(|s| s.problem.is_none());
    let mut entries = Vec::new();
    collect_root(db, &mut entries);
    create_empty(out, db.page_size())?;
    let fresh = Db::open(out)?;
    let mut p = Patcher::open(&fresh).map_err(werr)?;
    let mut buckets = Vec::new();
    let mut root_items = Vec::new();
    for (name, bucket) in entries {
        let (tx, rx) = sync_channel::<LeafItem>(1024);
        let keep = edit.keep.iter().find(|(b, _)| *b == name).map(|(_, k)| *k);
        let sets: Vec<(&[u8], &[u8])> = edit
            .set
            .iter()
            .filter(|(b, _, _)| *b == name)
            .map(|(_, k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let (walker, value) = std::thread::scope(|s| {
            let bucket = &bucket;
            let h = s.spawn(move || {
                let w = send_bucket(db, bucket, keep, tx);
                (w.copied, w.dropped, w.nested, w.lost)
            });
            let value = if bucket.is_inline() || !sets.is_empty() {
                let mut items: Vec<LeafItem> = rx.into_iter().collect();
                for (k, v) in &sets {
                    match items.binary_search_by(|i| i.key.as_slice().cmp(k)) {
                        Ok(i) => {
                            if let Some(it) = items.get_mut(i) {
                                it.value = v.to_vec();
                            }
                        }
                        Err(i) => items.insert(i, LeafItem::kv(k.to_vec(), v.to_vec())),
                    }
                }
                p.bucket_from_items(bucket.sequence(), items)
            } else {
                p.write_tree(rx.into_iter().map(Ok))
                    .map(|root| super::write::bucket_value(root, bucket.sequence()))
            };
            (h.join(), value)
        });
        let (copied, dropped, nested, mut lost) = walker.map_err(|_| {
            werr(WriteError::Unsupported {
                path: out.to_path_buf(),
                what: "the copy's walk panicked".into(),
            })
        })?;
        let value = value.map_err(werr)?;
        if nested > 0 {
            lost.push(LostRange {
                from: None,
                to: None,
                page: bucket.root(),
                why: format!("{nested} nested bucket(s) not copied"),
            });
        }
        buckets.push(BucketSalvage {
            name: String::from_utf8_lossy(&name).into_owned(),
            copied,
            dropped,
            lost,
        });
        root_items.push(Ok(LeafItem {
            flags: super::LEAF_FLAG_BUCKET,
            key: name,
            value,
        }));
    }
    let root_page = p.write_tree(root_items).map_err(werr)?;
    p.commit(root_page).map_err(werr)?;
    drop(fresh);
    let f = std::fs::File::open(out).map_err(|e| Error::io(out, e))?;
    f.sync_all().map_err(|e| Error::io(out, e))?;
    let size = f.metadata().map_err(|e| Error::io(out, e))?.len();
    Ok(Salvage {
        meta: db.active_meta(),
        meta_valid,
        txid: db.meta().txid,
        buckets,
        root_lost: Vec::new(),
        size,
    })
}

/// The root bucket's readable bucket entries, in key order.
fn collect_root(db: &Db, out: &mut Vec<(Vec<u8>, Bucket)>) {
    // The root bucket is small (one entry per top-level bucket): walk its pages with the
    // cursor, stopping at the first damage (reported by the walk above).
    let root = db.root();
    for e in db.cursor(&root) {
        let Ok(e) = e else { break };
        if let Ok(b) = db.open_bucket(&e) {
            if out.last().is_none_or(|(k, _)| *k < e.key) {
                out.push((e.key.clone(), b));
            }
        }
    }
}

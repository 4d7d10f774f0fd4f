//! Writing bolt files: page encoders and a copy-on-write patcher that appends new pages
//! after the high-water mark and commits them with a new meta page, as bbolt does.
//!
//! ```text
//! leaf page:   | header 16 B (id, flags 0x02, count, overflow) | count × (flags u32, pos u32,
//!              |   ksize u32, vsize u32) | key0 value0 key1 value1 … |
//! branch page: | header 16 B (id, flags 0x01, count, overflow) | count × (pos u32, ksize u32,
//!              |   pgid u64) | key0 key1 … |
//! pos = offset of the key from the start of its own element; all little-endian.
//! ```
//!
//! The [`Patcher`] never overwrites a page that the current meta can reach: it writes
//! whole new trees (bulk-built, pages filled up to the page size) or new copies of the
//! pages along one root-to-leaf path, then one meta page (the slot `txid % 2` of the new
//! txid, so the previous meta stays intact until the new one is durable). The freelist is
//! left unpersisted (`0xffff_ffff_ffff_ffff`), as etcd's `NoFreelistSync` leaves it: bbolt
//! then treats every page below the high-water mark that no tree reaches as free.
//! Layout references: bbolt `internal/common/{page,meta,bucket}.go`, `node.go` (`write`),
//! `tx.go` (`writeMeta`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::bucket::Bucket;
use super::db::Db;
use super::meta::{FREELIST_NOT_PERSISTED, MAGIC, META_OFFSET, VERSION, fnv1a64};
use super::page::{ELEMENT_LEN, FLAG_BRANCH, FLAG_LEAF, FLAG_META, HEADER_LEN, PageKind};

/// Bucket header length inside a bucket value: root pgid u64, sequence u64.
pub const BUCKET_HEADER_LEN: usize = 16;

/// Most elements one page may hold (bbolt's count field is a u16; 0xFFFF marks freelist
/// overflow).
const MAX_COUNT: usize = 0xFFFE;

/// Something the writer cannot do, with the file it was writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing, reading or syncing the file failed.
    #[error("writing {}", path.display())]
    Io {
        /// The db file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the existing tree failed (damage or I/O).
    #[error(transparent)]
    Read(#[from] crate::Error),
    /// The data cannot be written as asked (e.g. a key that does not sort last).
    #[error("{}: {what}", path.display())]
    Unsupported {
        /// The db file.
        path: PathBuf,
        /// What is not supported.
        what: String,
    },
}

/// One leaf element to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafItem {
    /// Element flags ([`super::LEAF_FLAG_BUCKET`] for a nested bucket, else 0).
    pub flags: u32,
    /// The key (non-empty).
    pub key: Vec<u8>,
    /// The value (for a bucket: its bucket value, header plus inline page if any).
    pub value: Vec<u8>,
}

impl LeafItem {
    /// A plain key/value element.
    pub fn kv(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        LeafItem {
            flags: 0,
            key: key.into(),
            value: value.into(),
        }
    }

    fn len(&self) -> usize {
        ELEMENT_LEN + self.key.len() + self.value.len()
    }
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn header(out: &mut Vec<u8>, id: u64, flags: u16, count: usize, overflow: u32) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&u16::try_from(count).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(&overflow.to_le_bytes());
}

/// Pad `buf` to a whole number of pages and set the header's overflow field accordingly.
/// `page_size == 0` leaves the bytes unpadded (inline pages).
fn finish_page(mut buf: Vec<u8>, page_size: u32) -> Vec<u8> {
    if page_size == 0 {
        return buf;
    }
    let ps = page_size as usize;
    let pages = buf.len().div_ceil(ps).max(1);
    buf.resize(pages * ps, 0);
    let overflow = u32_of(pages - 1).to_le_bytes();
    if let Some(slot) = buf.get_mut(12..16) {
        slot.copy_from_slice(&overflow);
    }
    buf
}

/// Bytes a leaf page holding `items` needs (header included, before padding).
pub fn leaf_size(items: &[LeafItem]) -> usize {
    HEADER_LEN + items.iter().map(LeafItem::len).sum::<usize>()
}

/// Encode a leaf page with id `id`, padded to whole pages of `page_size` (0: unpadded, as
/// an inline bucket's page is stored).
pub fn encode_leaf(id: u64, items: &[LeafItem], page_size: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaf_size(items));
    header(&mut out, id, FLAG_LEAF, items.len(), 0);
    let mut data_pos = ELEMENT_LEN * items.len();
    for (i, it) in items.iter().enumerate() {
        let pos = data_pos - i * ELEMENT_LEN;
        out.extend_from_slice(&it.flags.to_le_bytes());
        out.extend_from_slice(&u32_of(pos).to_le_bytes());
        out.extend_from_slice(&u32_of(it.key.len()).to_le_bytes());
        out.extend_from_slice(&u32_of(it.value.len()).to_le_bytes());
        data_pos += it.key.len() + it.value.len();
    }
    for it in items {
        out.extend_from_slice(&it.key);
        out.extend_from_slice(&it.value);
    }
    finish_page(out, page_size)
}

/// Encode a branch page: `(first key of the child subtree, child page id)` in key order.
pub fn encode_branch(id: u64, items: &[(Vec<u8>, u64)], page_size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, id, FLAG_BRANCH, items.len(), 0);
    let mut data_pos = ELEMENT_LEN * items.len();
    for (i, (key, pgid)) in items.iter().enumerate() {
        let pos = data_pos - i * ELEMENT_LEN;
        out.extend_from_slice(&u32_of(pos).to_le_bytes());
        out.extend_from_slice(&u32_of(key.len()).to_le_bytes());
        out.extend_from_slice(&pgid.to_le_bytes());
        data_pos += key.len();
    }
    for (key, _) in items {
        out.extend_from_slice(key);
    }
    finish_page(out, page_size)
}

/// The fields of a meta page to write (magic, version, flags and checksum are filled in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaFields {
    /// Page size in bytes.
    pub page_size: u32,
    /// Root bucket's root page id.
    pub root: u64,
    /// Root bucket's sequence.
    pub sequence: u64,
    /// Freelist page id, or [`FREELIST_NOT_PERSISTED`].
    pub freelist: u64,
    /// High-water mark (pages in use).
    pub pgid: u64,
    /// Transaction id.
    pub txid: u64,
}

/// Encode a whole meta page for slot `slot` (0 or 1), FNV-1a checksum included.
pub fn encode_meta(slot: u64, m: &MetaFields) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.page_size as usize);
    header(&mut out, slot, FLAG_META, 0, 0);
    let start = out.len();
    debug_assert_eq!(start, META_OFFSET);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&m.page_size.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&m.root.to_le_bytes());
    out.extend_from_slice(&m.sequence.to_le_bytes());
    out.extend_from_slice(&m.freelist.to_le_bytes());
    out.extend_from_slice(&m.pgid.to_le_bytes());
    out.extend_from_slice(&m.txid.to_le_bytes());
    let sum = fnv1a64(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&sum.to_le_bytes());
    out.resize((m.page_size as usize).max(out.len()), 0);
    out
}

/// A bucket value pointing at a root page.
pub fn bucket_value(root: u64, sequence: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(BUCKET_HEADER_LEN);
    v.extend_from_slice(&root.to_le_bytes());
    v.extend_from_slice(&sequence.to_le_bytes());
    v
}

/// An inline bucket value: header with root 0, then the leaf page (id 0, unpadded).
pub fn inline_bucket_value(sequence: u64, items: &[LeafItem]) -> Vec<u8> {
    let mut v = bucket_value(0, sequence);
    v.extend_from_slice(&encode_leaf(0, items, 0));
    v
}

/// Whether bbolt would store a bucket with these entries inline: no nested buckets and a
/// page of at most a quarter of the page size (bbolt `Bucket.inlineable`).
pub fn inlineable(items: &[LeafItem], page_size: u32) -> bool {
    items.iter().all(|i| i.flags == 0) && leaf_size(items) <= page_size as usize / 4
}

/// Appends pages after the high-water mark of an existing bolt file and commits them.
#[derive(Debug)]
pub struct Patcher {
    path: PathBuf,
    file: File,
    page_size: u32,
    next: u64,
    txid: u64,
    root_sequence: u64,
}

impl Patcher {
    /// Open `db`'s file for writing; new pages go from its meta's pgid on.
    pub fn open(db: &Db) -> Result<Patcher, WriteError> {
        let path = db.path().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| WriteError::Io {
                path: path.clone(),
                source,
            })?;
        let meta = db.meta();
        Ok(Patcher {
            path,
            file,
            page_size: db.page_size(),
            next: meta.pgid,
            txid: meta.txid,
            root_sequence: meta.sequence,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The high-water mark after the pages written so far.
    pub fn high_water(&self) -> u64 {
        self.next
    }

    fn io(&self, source: std::io::Error) -> WriteError {
        WriteError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Write an encoded page (with its overflow pages) at page `id`.
    fn put(&self, id: u64, bytes: &[u8]) -> Result<(), WriteError> {
        let off = id.saturating_mul(u64::from(self.page_size));
        self.file.write_all_at(bytes, off).map_err(|e| self.io(e))
    }

    fn pages_for(&self, bytes: usize) -> u64 {
        (bytes.div_ceil(self.page_size as usize).max(1)) as u64
    }

    /// Write a leaf page holding `items`; returns its id.
    fn write_leaf(&mut self, items: &[LeafItem]) -> Result<u64, WriteError> {
        let id = self.next;
        let bytes = encode_leaf(id, items, self.page_size);
        self.next += self.pages_for(bytes.len());
        self.put(id, &bytes)?;
        Ok(id)
    }

    fn write_branch(&mut self, items: &[(Vec<u8>, u64)]) -> Result<u64, WriteError> {
        let id = self.next;
        let bytes = encode_branch(id, items, self.page_size);
        self.next += self.pages_for(bytes.len());
        self.put(id, &bytes)?;
        Ok(id)
    }

    /// Pack branch elements into pages and return the parent level's elements.
    fn write_branch_level(
        &mut self,
        items: Vec<(Vec<u8>, u64)>,
    ) -> Result<Vec<(Vec<u8>, u64)>, WriteError> {
        let ps = self.page_size as usize;
        let mut parents = Vec::new();
        let mut cur: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut size = HEADER_LEN;
        for it in items {
            let len = ELEMENT_LEN + it.0.len();
            if !cur.is_empty() && (size + len > ps || cur.len() >= MAX_COUNT) {
                let first = cur.first().map(|c| c.0.clone()).unwrap_or_default();
                parents.push((first, self.write_branch(&cur)?));
                cur.clear();
                size = HEADER_LEN;
            }
            size += len;
            cur.push(it);
        }
        if !cur.is_empty() || parents.is_empty() {
            let first = cur.first().map(|c| c.0.clone()).unwrap_or_default();
            parents.push((first, self.write_branch(&cur)?));
        }
        Ok(parents)
    }

    /// Build branch levels over `children` until one root remains; returns its id.
    fn finish_tree(&mut self, mut children: Vec<(Vec<u8>, u64)>) -> Result<u64, WriteError> {
        loop {
            match children.as_slice() {
                [] => return self.write_leaf(&[]),
                [(_, id)] => return Ok(*id),
                _ => children = self.write_branch_level(children)?,
            }
        }
    }

    /// Bulk-build a tree from entries in strictly increasing key order (checked), filling
    /// leaf pages up to the page size; returns the root page id. Memory: one leaf page plus
    /// one `(first key, page id)` per leaf.
    pub fn write_tree<I>(&mut self, items: I) -> Result<u64, WriteError>
    where
        I: IntoIterator<Item = Result<LeafItem, WriteError>>,
    {
        let ps = self.page_size as usize;
        let mut leaves: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut cur: Vec<LeafItem> = Vec::new();
        let mut size = HEADER_LEN;
        let mut last: Option<Vec<u8>> = None;
        for it in items {
            let it = it?;
            if it.key.is_empty() || last.as_ref().is_some_and(|l| *l >= it.key) {
                return Err(WriteError::Unsupported {
                    path: self.path.clone(),
                    what: "keys must be non-empty and strictly increasing".to_owned(),
                });
            }
            last = Some(it.key.clone());
            if !cur.is_empty() && (size + it.len() > ps || cur.len() >= MAX_COUNT) {
                let first = cur.first().map(|c| c.key.clone()).unwrap_or_default();
                leaves.push((first, self.write_leaf(&cur)?));
                cur.clear();
                size = HEADER_LEN;
            }
            size += it.len();
            cur.push(it);
        }
        if !cur.is_empty() || leaves.is_empty() {
            let first = cur.first().map(|c| c.key.clone()).unwrap_or_default();
            leaves.push((first, self.write_leaf(&cur)?));
        }
        self.finish_tree(leaves)
    }

    /// The value of a bucket holding `items` (sorted): inline when bbolt would inline it,
    /// else a bulk-built tree.
    pub fn bucket_from_items(
        &mut self,
        sequence: u64,
        items: Vec<LeafItem>,
    ) -> Result<Vec<u8>, WriteError> {
        if inlineable(&items, self.page_size) {
            return Ok(inline_bucket_value(sequence, &items));
        }
        let root = self.write_tree(items.into_iter().map(Ok))?;
        Ok(bucket_value(root, sequence))
    }

    /// Append a new last entry to a non-inline bucket by copying the pages on the path to
    /// its rightmost leaf (splitting them when full); returns the new root page id.
    /// `make` is given the bucket's current last key (found on that path, without a scan)
    /// and returns the item, whose key must sort after it.
    pub fn append_last<F>(&mut self, db: &Db, bucket: &Bucket, make: F) -> Result<u64, WriteError>
    where
        F: FnOnce(Option<&[u8]>) -> Result<LeafItem, WriteError>,
    {
        let path = self.path.clone();
        let unsupported = |what: &str| WriteError::Unsupported {
            path: path.clone(),
            what: what.to_owned(),
        };
        if bucket.is_inline() {
            return Err(unsupported("append_last on an inline bucket"));
        }
        // Walk down the rightmost edge, keeping every branch's elements.
        let mut branches: Vec<Vec<(Vec<u8>, u64)>> = Vec::new();
        let mut id = bucket.root();
        let mut from = None;
        let leaf_items = loop {
            if branches.len() > super::MAX_DEPTH {
                return Err(unsupported("tree too deep"));
            }
            let page = db.read_tree_page(id, from).map_err(|e| db.read_error(e))?;
            let corrupt = |k| WriteError::Read(db.corrupt(k, page.id(), page.offset(), None));
            match page.header().kind() {
                PageKind::Branch => {
                    let mut elems = Vec::with_capacity(usize::from(page.count()));
                    for i in 0..page.count() {
                        let b = page.branch(i).map_err(corrupt)?;
                        elems.push((b.key.to_vec(), b.pgid));
                    }
                    let Some(&(_, child)) = elems.last() else {
                        return Err(unsupported("empty branch page"));
                    };
                    branches.push(elems);
                    from = Some(id);
                    id = child;
                }
                _ => {
                    let mut items = Vec::with_capacity(usize::from(page.count()) + 1);
                    for i in 0..page.count() {
                        let l = page.leaf(i).map_err(corrupt)?;
                        items.push(LeafItem {
                            flags: l.flags,
                            key: l.key.to_vec(),
                            value: l.value.to_vec(),
                        });
                    }
                    break items;
                }
            }
        };
        let item = make(leaf_items.last().map(|l| l.key.as_slice()))?;
        if leaf_items.last().is_some_and(|l| l.key >= item.key) {
            return Err(unsupported("appended key does not sort last"));
        }
        // New leaf level: the old leaf's items plus the new one, split if needed.
        let mut all = leaf_items;
        all.push(item);
        let mut children = self.pack_leaves(all)?;
        while let Some(mut elems) = branches.pop() {
            // The last element pointed at the old rightmost child; keep its key (the
            // subtree's first key is unchanged) and point it at the first replacement.
            let Some(last) = elems.pop() else {
                return Err(unsupported("empty branch page"));
            };
            let mut replaced = children.into_iter();
            if let Some((_, first_id)) = replaced.next() {
                elems.push((last.0, first_id));
            }
            elems.extend(replaced);
            children = self.write_branch_level(elems)?;
        }
        self.finish_tree(children)
    }

    fn pack_leaves(&mut self, items: Vec<LeafItem>) -> Result<Vec<(Vec<u8>, u64)>, WriteError> {
        let ps = self.page_size as usize;
        let mut out = Vec::new();
        let mut cur: Vec<LeafItem> = Vec::new();
        let mut size = HEADER_LEN;
        for it in items {
            if !cur.is_empty() && (size + it.len() > ps || cur.len() >= MAX_COUNT) {
                let first = cur.first().map(|c| c.key.clone()).unwrap_or_default();
                out.push((first, self.write_leaf(&cur)?));
                cur.clear();
                size = HEADER_LEN;
            }
            size += it.len();
            cur.push(it);
        }
        if !cur.is_empty() || out.is_empty() {
            let first = cur.first().map(|c| c.key.clone()).unwrap_or_default();
            out.push((first, self.write_leaf(&cur)?));
        }
        Ok(out)
    }

    /// Commit: sync the new pages, then write the meta (txid + 1, in slot `txid % 2`) with
    /// root bucket page `root`, an unpersisted freelist and the new high-water mark, and sync
    /// again. Before the second sync the old meta is still the active one.
    pub fn commit(&mut self, root: u64) -> Result<(), WriteError> {
        let file_len = self.next.saturating_mul(u64::from(self.page_size));
        let cur_len = self.file.metadata().map_err(|e| self.io(e))?.len();
        if cur_len < file_len {
            self.file.set_len(file_len).map_err(|e| self.io(e))?;
        }
        self.file.sync_all().map_err(|e| self.io(e))?;
        let txid = self.txid.wrapping_add(1);
        let meta = MetaFields {
            page_size: self.page_size,
            root,
            sequence: self.root_sequence,
            freelist: FREELIST_NOT_PERSISTED,
            pgid: self.next,
            txid,
        };
        let slot = txid % 2;
        self.put(slot, &encode_meta(slot, &meta))?;
        self.file.sync_all().map_err(|e| self.io(e))?;
        self.txid = txid;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::Db;

    fn fresh_db(path: &Path, page_size: u32) {
        // bbolt's init: metas (txid 0, 1), empty freelist page 2, empty root leaf page 3.
        let mut buf = Vec::new();
        for slot in 0..2u64 {
            buf.extend(encode_meta(
                slot,
                &MetaFields {
                    page_size,
                    root: 3,
                    sequence: 0,
                    freelist: 2,
                    pgid: 4,
                    txid: slot,
                },
            ));
        }
        let mut fl = Vec::new();
        header(&mut fl, 2, super::super::FLAG_FREELIST, 0, 0);
        buf.extend(finish_page(fl, page_size));
        buf.extend(encode_leaf(3, &[], page_size));
        std::fs::write(path, buf).unwrap();
    }

    fn all(db: &Db, b: &Bucket) -> Vec<(Vec<u8>, Vec<u8>)> {
        db.cursor(b)
            .map(|e| e.map(|e| (e.key, e.value)).unwrap())
            .collect()
    }

    #[test]
    fn bulk_tree_inline_and_append_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        fresh_db(&path, 4096);
        let db = Db::open(&path).unwrap();
        let mut p = Patcher::open(&db).unwrap();
        // A big bucket (several levels with 4 KiB pages) with one value spanning pages.
        let mut big: Vec<LeafItem> = (0..20_000u32)
            .map(|i| {
                LeafItem::kv(
                    format!("k{i:08}").into_bytes(),
                    vec![b'v'; (i % 50) as usize],
                )
            })
            .collect();
        big.push(LeafItem::kv(b"z-large".to_vec(), vec![7u8; 10_000]));
        let big_value = p.bucket_from_items(5, big.clone()).unwrap();
        let small = vec![LeafItem::kv(b"a".to_vec(), b"1".to_vec())];
        let small_value = p.bucket_from_items(0, small.clone()).unwrap();
        assert_eq!(u64::from_le_bytes(small_value[..8].try_into().unwrap()), 0);
        let root = p
            .write_tree(
                [
                    LeafItem {
                        flags: super::super::LEAF_FLAG_BUCKET,
                        key: b"big".to_vec(),
                        value: big_value,
                    },
                    LeafItem {
                        flags: super::super::LEAF_FLAG_BUCKET,
                        key: b"small".to_vec(),
                        value: small_value,
                    },
                ]
                .map(Ok),
            )
            .unwrap();
        p.commit(root).unwrap();
        let db = Db::open(&path).unwrap();
        assert_eq!(db.meta().txid, 2);
        assert!(db.check().unwrap().findings.is_empty());
        let b = db.bucket(b"big").unwrap().unwrap();
        assert_eq!(b.sequence(), 5);
        let got = all(&db, &b);
        assert_eq!(got.len(), big.len());
        assert!(
            got.iter()
                .zip(&big)
                .all(|(g, w)| g.0 == w.key && g.1 == w.value)
        );
        let s = db.bucket(b"small").unwrap().unwrap();
        assert!(s.is_inline());
        assert_eq!(all(&db, &s), vec![(b"a".to_vec(), b"1".to_vec())]);

        // Append a last key to the big bucket many times (forces splits up the path).
        let mut p = Patcher::open(&db).unwrap();
        let mut b = b;
        let mut db = db;
        for n in 0..300u32 {
            let item = LeafItem::kv(format!("zz{n:05}").into_bytes(), vec![1u8; 100]);
            let new_root = p.append_last(&db, &b, |_| Ok(item)).unwrap();
            let root = p
                .write_tree(
                    [
                        LeafItem {
                            flags: super::super::LEAF_FLAG_BUCKET,
                            key: b"big".to_vec(),
                            value: bucket_value(new_root, 5),
                        },
                        LeafItem {
                            flags: super::super::LEAF_FLAG_BUCKET,
                            key: b"small".to_vec(),
                            value: inline_bucket_value(0, &small),
                        },
                    ]
                    .map(Ok),
                )
                .unwrap();
            p.commit(root).unwrap();
            db = Db::open(&path).unwrap();
            b = db.bucket(b"big").unwrap().unwrap();
            p = Patcher::open(&db).unwrap();
        }
        let got = all(&db, &b);
        assert_eq!(got.len(), big.len() + 300);
        assert_eq!(got.last().unwrap().0, b"zz00299");
        let err = p
            .append_last(&db, &b, |last| {
                assert_eq!(last, Some(&b"zz00299"[..]));
                Ok(LeafItem::kv(b"a".to_vec(), vec![]))
            })
            .unwrap_err();
        assert!(matches!(err, WriteError::Unsupported { .. }));
    }
}

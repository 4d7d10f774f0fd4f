//! Page-level views of a bolt file, as the bbolt CLI gives them, read-only and without a
//! lock: [`Db::page_list`] (`bbolt pages`: every page from 0 to the high-water mark with
//! its type, item count and overflow, plus the bucket that owns it) and
//! [`Db::bucket_stats`] (`bbolt stats`: per top-level bucket, pages, depth, keys and how
//! full the pages are, computed as bbolt's `Bucket.Stats`).
//!
//! Free pages are those bbolt reports free: the persisted freelist's ids, or, for etcd's
//! dbs (`NoFreelistSync`, no persisted freelist), every page in `[2, pgid)` that no bucket
//! reaches — what bbolt's `freepages()` rebuilds on open.

use std::collections::{BTreeMap, HashSet};

use crate::error::Result;

use super::bucket::Bucket;
use super::cursor::MAX_DEPTH;
use super::db::{Db, ReadError};
use super::page::{ELEMENT_LEN, HEADER_LEN, PageKind, type_name};
use super::pageset::PageSet;

/// One row of [`Db::page_list`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PageInfo {
    /// Page id.
    pub id: u64,
    /// bbolt's type name: `meta`, `branch`, `leaf`, `freelist`, `free`, `unknown<xx>`, or
    /// `unreadable` (past the end of the file).
    pub kind: String,
    /// Item count from the header (not shown by bbolt for free pages).
    pub count: u16,
    /// Overflow pages that follow it (their ids are not listed).
    pub overflow: u32,
    /// The bucket whose tree holds it (`/`-joined names of nested buckets; empty for the
    /// root bucket's own pages), for branch and leaf pages that a bucket reaches.
    pub bucket: Option<String>,
    /// Depth in that bucket's tree (0 = the bucket's root page).
    pub depth: Option<usize>,
}

/// `bbolt stats` numbers of one top-level bucket (nested buckets included), as bbolt's
/// `Bucket.Stats` computes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BucketStats {
    /// The bucket's name (lossy UTF-8).
    pub name: String,
    /// Logical branch pages.
    pub branch_pages: u64,
    /// Physical branch overflow pages.
    pub branch_overflow: u64,
    /// Logical leaf pages.
    pub leaf_pages: u64,
    /// Physical leaf overflow pages.
    pub leaf_overflow: u64,
    /// Key/value pairs (nested bucket entries included).
    pub keys: u64,
    /// Levels of the B+tree (nested buckets' depth added).
    pub depth: u64,
    /// Bytes allocated for branch pages.
    pub branch_alloc: u64,
    /// Bytes of them in use.
    pub branch_inuse: u64,
    /// Bytes allocated for leaf pages.
    pub leaf_alloc: u64,
    /// Bytes of them in use.
    pub leaf_inuse: u64,
    /// Buckets (this one and nested ones).
    pub buckets: u64,
    /// Of them inline (stored in their parent's leaf).
    pub inline_buckets: u64,
    /// Bytes used by inline buckets.
    pub inline_inuse: u64,
}

impl BucketStats {
    /// Add `o`'s counts (bbolt's `BucketStats.Add`; the name is kept).
    pub fn add(&mut self, o: &BucketStats) {
        self.branch_pages += o.branch_pages;
        self.branch_overflow += o.branch_overflow;
        self.leaf_pages += o.leaf_pages;
        self.leaf_overflow += o.leaf_overflow;
        self.keys += o.keys;
        self.depth = self.depth.max(o.depth);
        self.branch_alloc += o.branch_alloc;
        self.branch_inuse += o.branch_inuse;
        self.leaf_alloc += o.leaf_alloc;
        self.leaf_inuse += o.leaf_inuse;
        self.buckets += o.buckets;
        self.inline_buckets += o.inline_buckets;
        self.inline_inuse += o.inline_inuse;
    }
}

impl Db {
    /// Every page from 0 to the high-water mark, as `bbolt pages` lists them (overflow
    /// pages folded into the page they extend), with the owning bucket. A page that cannot
    /// be read is listed as found; the walk goes around damaged subtrees.
    pub fn page_list(&self) -> Result<Vec<PageInfo>> {
        let mut owners: BTreeMap<u64, (String, usize)> = BTreeMap::new();
        let mut reachable: HashSet<u64> = HashSet::new();
        let root = self.root();
        self.walk_owned(&root, String::new(), None, 0, &mut owners, &mut reachable)?;
        let hw = self.meta().pgid;
        let persisted = self.meta().freelist_persisted();
        let mut free: HashSet<u64> = HashSet::new();
        if persisted {
            let fl = self.meta().freelist;
            reachable.insert(fl);
            if let Ok(p) = self.read_page(fl, None) {
                for i in 0..=u64::from(p.header().overflow) {
                    reachable.insert(fl + i);
                }
                free.extend(p.freelist_ids().unwrap_or_default());
            }
        }
        let mut out = Vec::new();
        let mut id = 0u64;
        while id < hw {
            let is_free = id >= 2
                && if persisted {
                    free.contains(&id)
                } else {
                    !reachable.contains(&id)
                };
            let header = if is_free { None } else { self.read_header(id) };
            let Some(h) = header else {
                out.push(PageInfo {
                    id,
                    kind: if is_free { "free" } else { "unreadable" }.into(),
                    count: 0,
                    overflow: 0,
                    bucket: None,
                    depth: None,
                });
                id += 1;
                continue;
            };
            let owner = owners.get(&id);
            out.push(PageInfo {
                id,
                kind: type_name(h.flags),
                count: h.count,
                overflow: h.overflow,
                bucket: owner.map(|o| o.0.clone()),
                depth: owner.map(|o| o.1),
            });
            id = id.saturating_add(1 + u64::from(h.overflow));
        }
        Ok(out)
    }

    /// Walk the tree of `bucket` (named `path`), recording each page's owner and every
    /// reachable page id (overflow included).
    fn walk_owned(
        &self,
        bucket: &Bucket,
        path: String,
        from: Option<u64>,
        depth: usize,
        owners: &mut BTreeMap<u64, (String, usize)>,
        reachable: &mut HashSet<u64>,
    ) -> Result<()> {
        if let Some(inline) = bucket.inline_page() {
            return self.walk_leaf_buckets(inline, &path, owners, reachable);
        }
        self.walk_page_owned(bucket.root(), &path, from, depth, owners, reachable)
    }

    fn walk_page_owned(
        &self,
        id: u64,
        path: &str,
        from: Option<u64>,
        depth: usize,
        owners: &mut BTreeMap<u64, (String, usize)>,
        reachable: &mut HashSet<u64>,
    ) -> Result<()> {
        if depth > MAX_DEPTH || reachable.contains(&id) {
            return Ok(());
        }
        let page = match self.read_tree_page(id, from) {
            Ok(p) => p,
            Err(ReadError::Io(e)) => return Err(crate::Error::io(self.path(), e)),
            Err(ReadError::Damage(_)) => return Ok(()),
        };
        for i in 0..=u64::from(page.header().overflow) {
            reachable.insert(id + i);
        }
        owners.insert(id, (path.to_owned(), depth));
        match page.header().kind() {
            PageKind::Branch => {
                for i in 0..page.count() {
                    if let Ok(e) = page.branch(i) {
                        self.walk_page_owned(e.pgid, path, Some(id), depth + 1, owners, reachable)?;
                    }
                }
            }
            _ => self.walk_leaf_buckets(&page, path, owners, reachable)?,
        }
        Ok(())
    }

    /// The nested buckets of a leaf page, walked.
    fn walk_leaf_buckets(
        &self,
        page: &super::page::Page,
        path: &str,
        owners: &mut BTreeMap<u64, (String, usize)>,
        reachable: &mut HashSet<u64>,
    ) -> Result<()> {
        for (name, b) in leaf_buckets(page).flatten() {
            let name = String::from_utf8_lossy(name);
            let child = if path.is_empty() {
                name.into_owned()
            } else {
                format!("{path}/{name}")
            };
            self.walk_owned(&b, child, Some(page.id()), 0, owners, reachable)?;
        }
        Ok(())
    }

    /// The `k` lowest page ids below the high-water mark that no tree reaches (bbolt's
    /// free pages when the freelist is not persisted, which its array freelist hands out
    /// lowest first), from a walk that keeps one bit per page; `None` when a tree page
    /// cannot be read (which pages are free is then not known).
    pub fn lowest_unreachable_pages(&self, k: usize) -> Result<Option<Vec<u64>>> {
        let hw = self.meta().pgid;
        let mut bits =
            PageSet::with_pages(hw.min(self.file_size() / u64::from(self.page_size()).max(1)));
        let mut intact = true;
        let root = self.root();
        self.mark_page(root.root(), None, 0, &mut bits, &mut intact)?;
        if !intact {
            return Ok(None);
        }
        Ok(Some(
            (2..hw).filter(|&id| !bits.contains(id)).take(k).collect(),
        ))
    }

    fn mark_page(
        &self,
        id: u64,
        from: Option<u64>,
        depth: usize,
        bits: &mut PageSet,
        intact: &mut bool,
    ) -> Result<()> {
        if depth > MAX_DEPTH || bits.contains(id) {
            return Ok(());
        }
        let page = match self.read_tree_page(id, from) {
            Ok(p) => p,
            Err(ReadError::Io(e)) => return Err(crate::Error::io(self.path(), e)),
            Err(ReadError::Damage(_)) => {
                *intact = false;
                return Ok(());
            }
        };
        for i in 0..=u64::from(page.header().overflow) {
            bits.insert(id.saturating_add(i));
        }
        match page.header().kind() {
            PageKind::Branch => {
                for i in 0..page.count() {
                    match page.branch(i) {
                        Ok(e) => self.mark_page(e.pgid, Some(id), depth + 1, bits, intact)?,
                        Err(_) => *intact = false,
                    }
                }
            }
            _ => self.mark_leaf_buckets(&page, bits, intact)?,
        }
        Ok(())
    }

    fn mark_leaf_buckets(
        &self,
        page: &super::page::Page,
        bits: &mut PageSet,
        intact: &mut bool,
    ) -> Result<()> {
        for child in leaf_buckets(page) {
            let Some((_, b)) = child else {
                *intact = false;
                continue;
            };
            match b.inline_page() {
                Some(inline) => self.mark_leaf_buckets(inline, bits, intact)?,
                None => self.mark_page(b.root(), Some(page.id()), 0, bits, intact)?,
            }
        }
        Ok(())
    }

    /// `bbolt stats` numbers for each top-level bucket, in key order.
    pub fn bucket_stats(&self) -> Result<Vec<BucketStats>> {
        let mut out = Vec::new();
        for e in self.cursor(&self.root()) {
            let e = e?;
            if !e.is_bucket {
                continue;
            }
            let b = self.open_bucket(&e)?;
            let mut s = self.stats_of(&b, 0)?;
            s.name = String::from_utf8_lossy(&e.key).into_owned();
            out.push(s);
        }
        Ok(out)
    }

    /// bbolt's `Bucket.Stats` for `b`.
    fn stats_of(&self, b: &Bucket, level: usize) -> Result<BucketStats> {
        let ps = u64::from(self.page_size());
        let mut s = BucketStats {
            buckets: 1,
            ..BucketStats::default()
        };
        let mut sub = BucketStats::default();
        if level > MAX_DEPTH {
            return Ok(s);
        }
        if let Some(inline) = b.inline_page() {
            s.inline_buckets = 1;
            s.keys += u64::from(inline.count());
            s.inline_inuse += leaf_inuse(inline);
            s.depth = 1;
            return Ok(s);
        }
        let mut stack: Vec<(u64, Option<u64>, u64)> = vec![(b.root(), None, 0)];
        let mut seen: HashSet<u64> = HashSet::new();
        while let Some((id, from, depth)) = stack.pop() {
            if !seen.insert(id) || depth > MAX_DEPTH as u64 {
                continue;
            }
            let page = match self.read_tree_page(id, from) {
                Ok(p) => p,
                Err(ReadError::Io(e)) => return Err(crate::Error::io(self.path(), e)),
                Err(ReadError::Damage(_)) => continue,
            };
            s.depth = s.depth.max(depth + 1);
            match page.header().kind() {
                PageKind::Branch => {
                    s.branch_pages += 1;
                    s.branch_overflow += u64::from(page.header().overflow);
                    s.branch_inuse += branch_inuse(&page);
                    for i in (0..page.count()).rev() {
                        if let Ok(e) = page.branch(i) {
                            stack.push((e.pgid, Some(id), depth + 1));
                        }
                    }
                }
                _ => {
                    s.keys += u64::from(page.count());
                    s.leaf_pages += 1;
                    s.leaf_overflow += u64::from(page.header().overflow);
                    s.leaf_inuse += leaf_inuse(&page);
                    for i in 0..page.count() {
                        let Ok(e) = page.leaf(i) else { continue };
                        if !Db::is_bucket_flag(e.flags) {
                            continue;
                        }
                        let value_offset = page.offset() + e.value_pos as u64;
                        if let Ok(nb) = Bucket::from_value(
                            e.key,
                            e.value,
                            value_offset,
                            page.id(),
                            page.offset(),
                            i,
                        ) {
                            sub.add(&self.stats_of(&nb, level + 1)?);
                        }
                    }
                }
            }
        }
        s.branch_alloc = (s.branch_pages + s.branch_overflow) * ps;
        s.leaf_alloc = (s.leaf_pages + s.leaf_overflow) * ps;
        s.depth += sub.depth;
        let depth = s.depth;
        s.add(&sub);
        s.depth = depth;
        Ok(s)
    }
}

/// Bytes a leaf page uses, as bbolt counts them: the header, every element header but the
/// last, and the last element's position plus its key and value (the data of all before).
fn leaf_inuse(page: &super::page::Page) -> u64 {
    let n = page.count();
    let mut used = HEADER_LEN as u64;
    if n == 0 {
        return used;
    }
    used += (ELEMENT_LEN as u64) * u64::from(n - 1);
    if let Some((pos, k, v)) = page.raw_leaf_element(n - 1) {
        used += u64::from(pos) + u64::from(k) + u64::from(v);
    }
    used
}

/// Bytes a branch page uses, as bbolt counts them.
fn branch_inuse(page: &super::page::Page) -> u64 {
    let n = page.count();
    if n == 0 {
        return HEADER_LEN as u64;
    }
    let mut used = HEADER_LEN as u64 + (ELEMENT_LEN as u64) * u64::from(n - 1);
    if let Some((pos, k)) = page.raw_branch_element(n - 1) {
        used += u64::from(pos) + u64::from(k);
    }
    used
}

/// One element of a page, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "element", rename_all = "snake_case"))]
pub enum PageElement {
    /// A leaf element: a key/value, or a nested bucket's header (root page and sequence).
    Leaf {
        /// 0-based index.
        index: u16,
        /// The key.
        key: Vec<u8>,
        /// The value (for a nested bucket: its header and inline page).
        value: Vec<u8>,
        /// For a nested bucket: its root page (0 = inline) and sequence.
        bucket: Option<(u64, u64)>,
        /// For an inline bucket: its key/values (stored inside this element's value).
        inline: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// A branch element: the first key of a child page.
    Branch {
        /// 0-based index.
        index: u16,
        /// The key.
        key: Vec<u8>,
        /// The child page.
        child: u64,
    },
    /// An element that lies outside its page.
    Bad {
        /// 0-based index.
        index: u16,
        /// Why.
        problem: String,
    },
}

/// One page as stored, for `db page` (bbolt's `page` command): read whatever page id is
/// asked for (free and stale pages too), without checking it is reachable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PageDump {
    /// Page id.
    pub id: u64,
    /// File offset.
    pub offset: u64,
    /// The header as found.
    pub header: super::page::PageHeader,
    /// bbolt's type name of the header's flags.
    pub kind: String,
    /// Elements of a branch or leaf page.
    pub elements: Vec<PageElement>,
    /// Ids listed on a freelist page.
    pub freelist_ids: Option<Vec<u64>>,
    /// Pages 0 and 1: the meta as read, and why it is not valid.
    pub meta: Option<super::db::MetaSlot>,
}

impl Db {
    /// Page `id` as stored (see [`PageDump`]); an error when it lies past the file's end.
    pub fn page(&self, id: u64) -> Result<PageDump> {
        let ps = u64::from(self.page_size());
        let offset = id.saturating_mul(ps);
        let beyond = || crate::Error::Corrupt {
            path: self.path().to_path_buf(),
            finding: super::finding::Finding {
                kind: super::finding::FindingKind::PageBeyondEof {
                    file_size: self.file_size(),
                },
                page: id,
                offset,
                referenced_from: None,
            },
        };
        let header = self.read_header(id).ok_or_else(beyond)?;
        let mut dump = PageDump {
            id,
            offset,
            header,
            kind: type_name(header.flags),
            elements: Vec::new(),
            freelist_ids: None,
            meta: None,
        };
        if id < 2 {
            dump.meta = self.metas().get(id as usize).cloned();
            return Ok(dump);
        }
        let len = (1 + u64::from(header.overflow))
            .saturating_mul(ps)
            .min(super::db::MAX_PAGE_BYTES);
        let buf = self.read_raw(offset, len).ok_or_else(beyond)?;
        let Some(page) = super::page::Page::from_bytes(id, offset, buf) else {
            return Err(beyond());
        };
        match header.kind() {
            PageKind::Leaf => {
                for i in 0..page.count() {
                    dump.elements.push(match page.leaf(i) {
                        Ok(e) => PageElement::Leaf {
                            index: i,
                            key: e.key.to_vec(),
                            value: e.value.to_vec(),
                            inline: inline_items(&page, i, &e),
                            bucket: Db::is_bucket_flag(e.flags).then(|| {
                                let u = |o: usize| {
                                    e.value
                                        .get(o..o + 8)
                                        .and_then(|b| b.try_into().ok())
                                        .map_or(0, u64::from_le_bytes)
                                };
                                (u(0), u(8))
                            }),
                        },
                        Err(k) => PageElement::Bad {
                            index: i,
                            problem: k.to_string(),
                        },
                    });
                }
            }
            PageKind::Branch => {
                for i in 0..page.count() {
                    dump.elements.push(match page.branch(i) {
                        Ok(e) => PageElement::Branch {
                            index: i,
                            key: e.key.to_vec(),
                            child: e.pgid,
                        },
                        Err(k) => PageElement::Bad {
                            index: i,
                            problem: k.to_string(),
                        },
                    });
                }
            }
            PageKind::Freelist => dump.freelist_ids = page.freelist_ids().ok(),
            _ => {}
        }
        Ok(dump)
    }
}

/// The key/values of an inline bucket stored in leaf element `e` (index `i`) of `page`.
fn inline_items(
    page: &super::page::Page,
    i: u16,
    e: &super::page::LeafElem<'_>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if !Db::is_bucket_flag(e.flags) {
        return Vec::new();
    }
    let value_offset = page.offset() + e.value_pos as u64;
    let Ok(b) = Bucket::from_value(e.key, e.value, value_offset, page.id(), page.offset(), i)
    else {
        return Vec::new();
    };
    let Some(inline) = b.inline_page() else {
        return Vec::new();
    };
    (0..inline.count())
        .filter_map(|j| inline.leaf(j).ok())
        .map(|l| (l.key.to_vec(), l.value.to_vec()))
        .collect()
}

/// The nested buckets of a leaf page: `(name, bucket)` for each bucket element, `None` for
/// an element (or bucket header) that cannot be read.
fn leaf_buckets(page: &super::page::Page) -> impl Iterator<Item = Option<(&[u8], Bucket)>> + '_ {
    (0..page.count()).filter_map(move |i| {
        let Ok(e) = page.leaf(i) else {
            return Some(None);
        };
        if !Db::is_bucket_flag(e.flags) {
            return None;
        }
        let value_offset = page.offset() + e.value_pos as u64;
        let b = Bucket::from_value(e.key, e.value, value_offset, page.id(), page.offset(), i);
        Some(b.ok().map(|b| (e.key, b)))
    })
}

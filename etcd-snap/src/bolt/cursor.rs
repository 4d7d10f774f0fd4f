//! Lazy in-order iteration over a bucket, one page in memory per tree level.
//!
//! Each page is visited at most once per cursor (a damaged branch pointing back up or
//! sideways is reported as [`FindingKind::MultipleReferences`]) and the depth is capped,
//! so iteration always ends, in time linear in the number of pages.

use std::collections::HashSet;

use crate::error::{Error, Result};

use super::bucket::{Bucket, Entry};
use super::db::Db;
use super::finding::FindingKind;
use super::page::{Page, PageKind};

/// Deepest tree a cursor descends into. A bolt tree with 4 KiB pages holding 2 elements
/// per page would need 2^64 pages to reach this depth.
pub const MAX_DEPTH: usize = 64;

/// Iterator over a bucket's entries in key order. Yields `Err` once on the first
/// damaged page it meets, then ends.
#[derive(Debug)]
pub struct Cursor<'db> {
    db: &'db Db,
    pending_root: Option<u64>,
    /// Start at the first key at or after this one (set by [`Db::cursor_from`]).
    seek: Option<Vec<u8>>,
    stack: Vec<(Page, u16)>,
    visited: HashSet<u64>,
    done: bool,
}

impl<'db> Cursor<'db> {
    pub(crate) fn new(db: &'db Db, bucket: &Bucket) -> Cursor<'db> {
        let (pending_root, stack) = match bucket.inline_page() {
            Some(p) => (None, vec![(p.clone(), 0)]),
            None => (Some(bucket.root()), Vec::new()),
        };
        Cursor {
            db,
            pending_root,
            seek: None,
            stack,
            visited: HashSet::new(),
            done: false,
        }
    }

    fn push(&mut self, id: u64, from: Option<u64>) -> Result<()> {
        let offset = id.saturating_mul(u64::from(self.db.page_size()));
        if self.stack.len() >= MAX_DEPTH {
            let depth = MAX_DEPTH as u32;
            return Err(self
                .db
                .corrupt(FindingKind::TooDeep { depth }, id, offset, from));
        }
        if !self.visited.insert(id) {
            return Err(self
                .db
                .corrupt(FindingKind::MultipleReferences, id, offset, from));
        }
        let page = self
            .db
            .read_tree_page(id, from)
            .map_err(|e| self.db.read_error(e))?;
        self.stack.push((page, 0));
        Ok(())
    }

    /// Position the stack on the first key at or after `key`: in each branch page the
    /// last child whose first key is at or before it, in the leaf the first such key.
    fn seek_to(&mut self, key: &[u8]) -> Result<()> {
        loop {
            let Some((page, next)) = self.stack.last_mut() else {
                return Ok(());
            };
            let corrupt = |db: &Db, kind, page: &Page| db.corrupt(kind, page.id, page.offset, None);
            match page.header().kind() {
                PageKind::Leaf => {
                    let mut i = 0;
                    while i < page.count() {
                        let e = page.leaf(i).map_err(|k| corrupt(self.db, k, page))?;
                        if e.key >= key {
                            break;
                        }
                        i += 1;
                    }
                    *next = i;
                    return Ok(());
                }
                PageKind::Branch => {
                    let mut child = 0;
                    for i in 1..page.count() {
                        let e = page.branch(i).map_err(|k| corrupt(self.db, k, page))?;
                        if e.key > key {
                            break;
                        }
                        child = i;
                    }
                    // step() descends into `next`: leave it on the chosen child, descend
                    // here and continue after it once that subtree is done.
                    let pgid = page
                        .branch(child)
                        .map_err(|k| corrupt(self.db, k, page))?
                        .pgid;
                    let from = page.id;
                    *next = child + 1;
                    self.push(pgid, Some(from))?;
                }
                _ => {
                    let flags = page.header().flags;
                    return Err(corrupt(
                        self.db,
                        FindingKind::InvalidPageType { flags },
                        page,
                    ));
                }
            }
        }
    }

    fn step(&mut self) -> Result<Option<Entry>> {
        if let Some(root) = self.pending_root.take() {
            self.push(root, None)?;
        }
        if let Some(key) = self.seek.take() {
            self.seek_to(&key)?;
        }
        loop {
            let Some((page, next)) = self.stack.last_mut() else {
                return Ok(None);
            };
            if *next >= page.count() {
                self.stack.pop();
                continue;
            }
            let index = *next;
            *next += 1;
            let corrupt = |db: &Db, kind, page: &Page| db.corrupt(kind, page.id, page.offset, None);
            match page.header().kind() {
                PageKind::Leaf => {
                    let e = page.leaf(index).map_err(|k| corrupt(self.db, k, page))?;
                    return Ok(Some(Entry {
                        key: e.key.to_vec(),
                        value: e.value.to_vec(),
                        is_bucket: Db::is_bucket_flag(e.flags),
                        page: page.id,
                        offset: page.offset,
                        index,
                        value_offset: page.offset.saturating_add(e.value_pos as u64),
                    }));
                }
                PageKind::Branch => {
                    let child = page
                        .branch(index)
                        .map_err(|k| corrupt(self.db, k, page))?
                        .pgid;
                    let from = page.id;
                    self.push(child, Some(from))?;
                }
                _ => {
                    let flags = page.header().flags;
                    return Err(corrupt(
                        self.db,
                        FindingKind::InvalidPageType { flags },
                        page,
                    ));
                }
            }
        }
    }
}

impl Db {
    /// A cursor over a bucket's entries in key order, reading one page at a time.
    pub fn cursor<'db>(&'db self, bucket: &Bucket) -> Cursor<'db> {
        Cursor::new(self, bucket)
    }

    /// A cursor over a bucket's entries in key order from the first key at or after
    /// `key` (reading only the pages on the way down to it, then one page at a time).
    pub fn cursor_from<'db>(&'db self, bucket: &Bucket, key: &[u8]) -> Cursor<'db> {
        let mut c = Cursor::new(self, bucket);
        c.seek = Some(key.to_vec());
        c
    }
}

impl Iterator for Cursor<'_> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

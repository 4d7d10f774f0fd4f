//! A full integrity walk, like bbolt's `tx.Check`: every page reachable from the root
//! bucket is read once; references out of range, pages referenced twice, wrong page
//! types, elements outside their page, keys out of order, bad bucket values and (when the
//! freelist is persisted) freelist inconsistencies are reported as findings.

use std::collections::HashSet;

use crate::error::Result;

use super::bucket::Bucket;
use super::cursor::MAX_DEPTH;
use super::db::{Db, ReadError};
use super::finding::{Finding, FindingKind};
use super::page::{Page, PageKind};
use super::pageset::PageSet;

/// At most this many findings are kept; the rest are counted in
/// [`CheckReport::findings_dropped`].
pub const MAX_FINDINGS: usize = 10_000;

/// The result of [`Db::check`].
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckReport {
    /// Damage found, in walk order (meta findings first).
    pub findings: Vec<Finding>,
    /// Findings beyond [`MAX_FINDINGS`], counted but not kept.
    pub findings_dropped: u64,
    /// Pages reachable from the root bucket (overflow pages included).
    pub reachable_pages: u64,
    /// Free pages: the persisted freelist's ids, or (etcd's `NoFreelistSync`) pages in
    /// `[2, pgid)` that are not reachable.
    pub free_pages: u64,
    /// The active meta's pgid.
    pub high_water: u64,
    /// Buckets seen (top-level and nested).
    pub buckets: u64,
    /// Non-bucket key/values seen.
    pub keys: u64,
}

impl CheckReport {
    /// No findings at all.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.findings_dropped == 0
    }
}

/// What [`Db::check_with`] shows its visitor, in key order.
#[derive(Debug, Clone, Copy)]
pub enum Visit<'a> {
    /// A bucket is entered; `level` 1 = a top-level bucket.
    Bucket {
        /// Nesting level (1 = top level).
        level: usize,
        /// The bucket's name (its key in the parent).
        name: &'a [u8],
    },
    /// A key/value inside a bucket of nesting `level` (1 = directly in a top-level
    /// bucket). For a nested bucket's entry `is_bucket` is set and `value` is its header.
    Item {
        /// Nesting level of the bucket holding it.
        level: usize,
        /// The key.
        key: &'a [u8],
        /// The value (borrowed from the page buffer).
        value: &'a [u8],
        /// Whether the entry is a nested bucket.
        is_bucket: bool,
        /// The page (node) holding it.
        page: u64,
        /// File offset of the value's first byte.
        value_offset: u64,
    },
    /// Damage was found inside a bucket of nesting `level` (the finding is in the
    /// report): the items after this visit may not be all the bucket holds.
    Damage {
        /// Nesting level of the bucket being walked.
        level: usize,
    },
}

struct Checker<'a, 'v> {
    db: &'a Db,
    reachable: PageSet,
    report: CheckReport,
    visit: &'v mut dyn FnMut(Visit<'_>),
    /// Nesting level of the bucket being walked (0 = the root bucket).
    level: usize,
}

impl Db {
    /// Walk every reachable page and report damage (see the module docs of
    /// `bolt::check`). `Err` only for I/O errors.
    pub fn check(&self) -> Result<CheckReport> {
        self.check_with(&mut |_| {})
    }

    /// [`Db::check`], showing `visit` every bucket and key/value on the way, in key order
    /// (so one pass over the file can also compute what needs every key, such as
    /// etcdutl's hash). Damaged pages are reported and skipped, so a visitor sees only
    /// what could be read.
    pub fn check_with(&self, visit: &mut dyn FnMut(Visit<'_>)) -> Result<CheckReport> {
        self.walk(visit).map(|(report, _)| report)
    }

    /// The ids of the pages reachable from the active meta's root (overflow pages
    /// included), in order: the pages its transaction owns. Damaged pages are skipped as
    /// in [`Db::check`].
    pub fn reachable_pages(&self) -> Result<Vec<u64>> {
        let (_, reachable) = self.walk(&mut |_| {})?;
        Ok(reachable.to_sorted_vec())
    }

    fn walk(&self, visit: &mut dyn FnMut(Visit<'_>)) -> Result<(CheckReport, PageSet)> {
        let mut c = Checker {
            db: self,
            visit,
            level: 0,
            // One bit per page the file holds (the high-water mark bounds it too).
            reachable: PageSet::with_pages(
                self.meta()
                    .pgid
                    .min(self.file_size() / u64::from(self.page_size()).max(1)),
            ),
            report: CheckReport {
                high_water: self.meta().pgid,
                ..CheckReport::default()
            },
        };
        for f in self.meta_findings() {
            c.push(f);
        }
        let ps = u64::from(self.page_size());
        let needed = self.size();
        if self.file_size() < needed {
            c.push(Finding {
                kind: FindingKind::FileShorterThanHighWater {
                    file_size: self.file_size(),
                    needed,
                },
                page: self.file_size() / ps,
                offset: self.file_size(),
                referenced_from: None,
            });
        }
        let root = self.root();
        c.walk_page(
            root.root(),
            Some(u64::from(self.active_meta())),
            0,
            None,
            None,
            true,
        )?;
        c.freelist()?;
        c.report.reachable_pages = c.reachable.len();
        Ok((c.report, c.reachable))
    }
}

impl Checker<'_, '_> {
    fn push(&mut self, f: Finding) {
        if self.level > 0 {
            (self.visit)(Visit::Damage { level: self.level });
        }
        if self.report.findings.len() < MAX_FINDINGS {
            self.report.findings.push(f);
        } else {
            self.report.findings_dropped += 1;
        }
    }

    fn found(&mut self, kind: FindingKind, page: u64, offset: u64, from: Option<u64>) {
        self.push(Finding {
            kind,
            page,
            offset,
            referenced_from: from,
        });
    }

    fn offset_of(&self, id: u64) -> u64 {
        id.saturating_mul(u64::from(self.db.page_size()))
    }

    fn walk_page(
        &mut self,
        id: u64,
        from: Option<u64>,
        depth: usize,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        top: bool,
    ) -> Result<()> {
        let offset = self.offset_of(id);
        if depth > MAX_DEPTH {
            let depth = depth as u32;
            self.found(FindingKind::TooDeep { depth }, id, offset, from);
            return Ok(());
        }
        let high_water = self.db.meta().pgid;
        if id < 2 || id >= high_water {
            self.found(FindingKind::PageOutOfRange { high_water }, id, offset, from);
            return Ok(());
        }
        if self.reachable.contains(id) {
            self.found(FindingKind::MultipleReferences, id, offset, from);
            return Ok(());
        }
        let page = match self.db.read_tree_page(id, from) {
            Ok(p) => p,
            Err(ReadError::Damage(f)) => {
                self.reachable.insert(id);
                self.push(f);
                return Ok(());
            }
            Err(ReadError::Io(e)) => return Err(self.db.read_error(ReadError::Io(e))),
        };
        self.mark(&page, from);
        self.walk_elements(&page, depth, lo, hi, top)
    }

    /// Mark a page and its overflow pages reachable.
    fn mark(&mut self, page: &Page, from: Option<u64>) {
        for i in 0..=u64::from(page.header().overflow) {
            let id = page.id().saturating_add(i);
            if !self.reachable.insert(id) {
                let offset = self.offset_of(id);
                self.found(FindingKind::MultipleReferences, id, offset, from);
            }
        }
    }

    fn key_in_order(prev: Option<&[u8]>, key: &[u8], lo: Option<&[u8]>, hi: Option<&[u8]>) -> bool {
        prev.is_none_or(|p| key > p) && lo.is_none_or(|l| key >= l) && hi.is_none_or(|h| key < h)
    }

    fn walk_elements(
        &mut self,
        page: &Page,
        depth: usize,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        top: bool,
    ) -> Result<()> {
        let (pid, poff) = (page.id(), page.offset());
        let mut prev: Option<&[u8]> = None;
        match page.header().kind() {
            PageKind::Branch => {
                for i in 0..page.count() {
                    let e = match page.branch(i) {
                        Ok(e) => e,
                        Err(kind) => {
                            self.found(kind, pid, poff, None);
                            break;
                        }
                    };
                    if !Self::key_in_order(prev, e.key, lo, hi) {
                        self.found(FindingKind::KeyOrder { index: i }, pid, poff, None);
                    }
                    let next_key = match i.checked_add(1).filter(|n| *n < page.count()) {
                        Some(n) => page.branch(n).ok().map(|n| n.key),
                        None => hi,
                    };
                    self.walk_page(e.pgid, Some(pid), depth + 1, Some(e.key), next_key, top)?;
                    prev = Some(e.key);
                }
            }
            PageKind::Leaf => {
                for i in 0..page.count() {
                    let e = match page.leaf(i) {
                        Ok(e) => e,
                        Err(kind) => {
                            self.found(kind, pid, poff, None);
                            break;
                        }
                    };
                    if !Self::key_in_order(prev, e.key, lo, hi) {
                        self.found(FindingKind::KeyOrder { index: i }, pid, poff, None);
                    }
                    prev = Some(e.key);
                    let is_bucket = Db::is_bucket_flag(e.flags);
                    if self.level > 0 {
                        (self.visit)(Visit::Item {
                            level: self.level,
                            key: e.key,
                            value: e.value,
                            is_bucket,
                            page: pid,
                            value_offset: poff.saturating_add(e.value_pos as u64),
                        });
                    }
                    if is_bucket {
                        let value_offset = poff.saturating_add(e.value_pos as u64);
                        match Bucket::from_value(e.key, e.value, value_offset, pid, poff, i) {
                            Ok(b) => {
                                self.level += 1;
                                (self.visit)(Visit::Bucket {
                                    level: self.level,
                                    name: e.key,
                                });
                                let r = self.walk_bucket(&b, depth + 1);
                                self.level -= 1;
                                r?;
                            }
                            Err(kind) => self.found(kind, pid, poff, None),
                        }
                    } else if top {
                        self.found(FindingKind::BadBucketValue { index: i }, pid, poff, None);
                    } else {
                        self.report.keys += 1;
                    }
                }
            }
            _ => {
                let flags = page.header().flags;
                self.found(FindingKind::InvalidPageType { flags }, pid, poff, None);
            }
        }
        Ok(())
    }

    fn walk_bucket(&mut self, b: &Bucket, depth: usize) -> Result<()> {
        self.report.buckets += 1;
        if depth > MAX_DEPTH {
            let depth = depth as u32;
            self.found(FindingKind::TooDeep { depth }, b.page(), b.offset(), None);
            return Ok(());
        }
        match b.inline_page() {
            Some(p) => self.walk_elements(p, depth, None, None, false),
            None => self.walk_page(b.root(), Some(b.page()), depth, None, None, false),
        }
    }

    fn freelist(&mut self) -> Result<()> {
        let meta = *self.db.meta();
        let ps = u64::from(self.db.page_size());
        let last = meta.pgid.min(self.db.file_size() / ps);
        if !meta.freelist_persisted() {
            let free = (2..last).filter(|&id| !self.reachable.contains(id)).count();
            self.report.free_pages = free as u64;
            return Ok(());
        }
        let from = Some(u64::from(self.db.active_meta()));
        let id = meta.freelist;
        let page = match self.db.read_page(id, from) {
            Ok(p) => p,
            Err(ReadError::Damage(f)) => {
                self.push(f);
                return Ok(());
            }
            Err(ReadError::Io(e)) => return Err(self.db.read_error(ReadError::Io(e))),
        };
        if page.header().kind() != PageKind::Freelist {
            let flags = page.header().flags;
            self.found(
                FindingKind::InvalidPageType { flags },
                id,
                page.offset(),
                from,
            );
            return Ok(());
        }
        self.mark(&page, from);
        let ids = match page.freelist_ids() {
            Ok(ids) => ids,
            Err(kind) => {
                self.found(kind, id, page.offset(), from);
                return Ok(());
            }
        };
        let mut freed = HashSet::new();
        for fid in ids {
            let off = self.offset_of(fid);
            if !freed.insert(fid) {
                self.found(FindingKind::AlreadyFreed, fid, off, Some(id));
            } else if self.reachable.contains(fid) {
                self.found(FindingKind::ReachableFreed, fid, off, Some(id));
            }
        }
        self.report.free_pages = freed.len() as u64;
        for pid in 2..last {
            if !self.reachable.contains(pid) && !freed.contains(&pid) {
                let off = self.offset_of(pid);
                self.found(FindingKind::UnreachableUnfreed, pid, off, None);
            }
        }
        Ok(())
    }
}

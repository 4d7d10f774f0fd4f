//! Opening a bolt file read-only and reading pages and buckets with positioned reads.
//!
//! No mmap (a live etcd or a `cp` truncating the file would raise SIGBUS), no lock (a
//! read-only probe must not block on, or be blocked by, a running etcd), no writes.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::finding::{Finding, FindingKind};
use super::meta::{self, Meta, MetaProblem, PageSizeSource};
use super::page::{LEAF_FLAG_BUCKET, Page, PageHeader, PageKind};

/// Largest page (with its overflow pages) this reader loads, in bytes. etcd's largest
/// values are bounded by `--max-request-bytes` (1.5 MiB by default); a larger page is
/// reported as [`FindingKind::PageTooLarge`] rather than allocated.
pub const MAX_PAGE_BYTES: u64 = 64 << 20;

/// One meta page as found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MetaSlot {
    /// File offset of the meta page.
    pub offset: u64,
    /// The fields, when at least the meta struct could be read.
    pub meta: Option<Meta>,
    /// Why the page is not a valid meta, if it is not.
    pub problem: Option<MetaProblem>,
}

/// See [`Db::revert_meta`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaRevert {
    /// File offset of the bytes to replace (inside the active meta page).
    pub offset: u64,
    /// The bytes there now.
    pub old: Vec<u8>,
    /// The bytes to write: the other meta's.
    pub new: Vec<u8>,
    /// The meta page copied.
    pub from_slot: u8,
    /// The meta page overwritten (the active one).
    pub to_slot: u8,
}

/// An open bolt file.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    file: File,
    file_size: u64,
    page_size: u32,
    page_size_source: PageSizeSource,
    metas: [MetaSlot; 2],
    active: u8,
    meta: Meta,
}

/// A page read that failed: an I/O error or damage.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(std::io::Error),
    Damage(Finding),
}

impl Db {
    /// Open a bolt file read-only: discover the page size as bbolt does, read and
    /// validate both meta pages, choose the active one. Takes no lock and never writes.
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path.as_ref(), false)
    }

    /// [`Db::open`] for salvage: when neither meta validates (bbolt refuses the file), the
    /// one whose fields still make sense is used anyway (magic, version, page size, root
    /// and high-water mark inside the file; the higher txid first). Reading through it may
    /// meet damage, which the reads report as usual.
    pub fn open_lenient(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path.as_ref(), true)
    }

    fn open_with(path: &Path, lenient: bool) -> Result<Db> {
        let path = path.to_path_buf();
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let file_size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if file_size == 0 {
            return Err(Error::EmptyFile { path });
        }
        let read = |off: u64, len: usize| read_upto(&file, file_size, off, len);
        let (page_size, page_size_source) = meta::discover_page_size(file_size, read)
            .map_err(|e| Error::io(&path, e))?
            .ok_or_else(|| Error::InvalidDatabase { path: path.clone() })?;
        if file_size < 2 * u64::from(page_size) {
            return Err(Error::FileTooSmall {
                path,
                size: file_size,
                page_size,
            });
        }
        let mut metas = [0u64, u64::from(page_size)].map(|offset| MetaSlot {
            offset,
            meta: None,
            problem: Some(MetaProblem::Unreadable),
        });
        let mut results = [Err(MetaProblem::Unreadable), Err(MetaProblem::Unreadable)];
        for (slot, result) in metas.iter_mut().zip(results.iter_mut()) {
            let buf = read_upto(&file, file_size, slot.offset, meta::META_PAGE_MIN)
                .map_err(|e| Error::io(&path, e))?;
            slot.meta = Meta::parse(&buf);
            let mut r = meta::parse_valid(&buf);
            if let Ok(m) = &r {
                if m.page_size != page_size {
                    r = Err(MetaProblem::PageSizeDiffers {
                        found: m.page_size,
                        expected: page_size,
                    });
                }
            }
            slot.problem = r.as_ref().err().copied();
            *result = r;
        }
        let [r0, r1] = results;
        let (active, meta) = match meta::choose_active(&r0, &r1) {
            Some(a) => match (a, r0, r1) {
                (0, Ok(m), _) | (1, _, Ok(m)) => (a, m),
                _ => return Err(Error::InvalidDatabase { path }),
            },
            // Salvage reads a file bbolt refuses: the meta whose fields still make sense
            // (magic, version, page size, a root below its high-water mark inside the
            // file), the higher txid first.
            None if lenient => {
                let sane = |m: &Meta| {
                    m.magic == meta::MAGIC
                        && m.version == meta::VERSION
                        && m.page_size == page_size
                        && m.root >= 2
                        && m.root < m.pgid
                        && m.pgid.saturating_mul(u64::from(page_size)) <= file_size
                };
                let mut found: Vec<(u8, Meta)> = (0u8..)
                    .zip(metas.iter())
                    .filter_map(|(i, s)| s.meta.filter(sane).map(|m| (i, m)))
                    .collect();
                found.sort_by_key(|(_, m)| std::cmp::Reverse(m.txid));
                match found.first() {
                    Some((i, m)) => (*i, *m),
                    None => {
                        return Err(Error::BothMetasInvalid {
                            path,
                            meta0: r0.err().unwrap_or(MetaProblem::Unreadable),
                            meta1: r1.err().unwrap_or(MetaProblem::Unreadable),
                        });
                    }
                }
            }
            None => {
                return Err(Error::BothMetasInvalid {
                    path,
                    meta0: r0.err().unwrap_or(MetaProblem::Unreadable),
                    meta1: r1.err().unwrap_or(MetaProblem::Unreadable),
                });
            }
        };
        Ok(Db {
            path,
            file,
            file_size,
            page_size,
            page_size_source,
            metas,
            active,
            meta,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File size in bytes (may exceed [`Db::size`]: a pre-grown file, or a `snapshot save`
    /// file with its 32-byte SHA-256 trailer).
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// How the page size was found.
    pub fn page_size_source(&self) -> PageSizeSource {
        self.page_size_source
    }

    /// The active meta (the one bbolt would use).
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Which meta page is active: 0 or 1.
    pub fn active_meta(&self) -> u8 {
        self.active
    }

    /// Both meta pages as found.
    pub fn metas(&self) -> &[MetaSlot; 2] {
        &self.metas
    }

    /// The same file as of meta page `slot` (0 or 1) instead of the active one: for the
    /// other slot, the db as the transaction before the last one left it (what `bbolt
    /// surgery revert-meta-page` makes bbolt use). `None` when that meta does not validate.
    pub fn at_meta(self, slot: u8) -> Option<Db> {
        let s = self.metas.get(usize::from(slot))?;
        if s.problem.is_some() {
            return None;
        }
        let meta = s.meta?;
        Some(Db {
            active: slot,
            meta,
            ..self
        })
    }

    /// The write that makes bbolt open this file as of the other meta page: the other
    /// meta (struct and checksum) copied over the active one's, as `bbolt surgery
    /// revert-meta-page` does. `None` when the other meta does not validate.
    pub fn revert_meta(&self) -> Result<Option<MetaRevert>> {
        let to = self.active;
        let from = 1 - to;
        let (Some(src), Some(dst)) = (
            self.metas.get(usize::from(from)),
            self.metas.get(usize::from(to)),
        ) else {
            return Ok(None);
        };
        if src.problem.is_some() {
            return Ok(None);
        }
        let len = meta::META_PAGE_MIN - meta::META_OFFSET;
        let at = |slot: &MetaSlot| slot.offset + meta::META_OFFSET as u64;
        let read = |off: u64| {
            read_upto(&self.file, self.file_size, off, len).map_err(|e| Error::io(&self.path, e))
        };
        let new = read(at(src))?;
        let old = read(at(dst))?;
        if new.len() != len || old.len() != len {
            return Ok(None);
        }
        Ok(Some(MetaRevert {
            offset: at(dst),
            old,
            new,
            from_slot: from,
            to_slot: to,
        }))
    }

    /// The meta pages that do not validate (at most one, or `open` would have failed).
    pub fn meta_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, slot) in (0u8..).zip(self.metas.iter()) {
            if let Some(problem) = slot.problem {
                out.push(Finding {
                    kind: FindingKind::MetaInvalid { meta: i, problem },
                    page: u64::from(i),
                    offset: slot.offset,
                    referenced_from: None,
                });
            }
        }
        out
    }

    /// Size of the database as bbolt's `tx.Size()` gives it: pgid × page size, in bytes.
    pub fn size(&self) -> u64 {
        self.meta.pgid.saturating_mul(u64::from(self.page_size))
    }

    pub(crate) fn corrupt(
        &self,
        kind: FindingKind,
        page: u64,
        offset: u64,
        from: Option<u64>,
    ) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            finding: Finding {
                kind,
                page,
                offset,
                referenced_from: from,
            },
        }
    }

    pub(crate) fn read_error(&self, e: ReadError) -> Error {
        match e {
            ReadError::Io(source) => Error::io(&self.path, source),
            ReadError::Damage(finding) => Error::Corrupt {
                path: self.path.clone(),
                finding,
            },
        }
    }

    /// Read page `id` (with its overflow pages), checking it lies in `[2, pgid)` and inside
    /// the file, and that its header names `id`. The page type is not checked here.
    pub(crate) fn read_page(&self, id: u64, from: Option<u64>) -> Result<Page, ReadError> {
        let ps = u64::from(self.page_size);
        let offset = id.saturating_mul(ps);
        let damage = |kind| {
            ReadError::Damage(Finding {
                kind,
                page: id,
                offset,
                referenced_from: from,
            })
        };
        let high_water = self.meta.pgid;
        if id < 2 || id >= high_water {
            return Err(damage(FindingKind::PageOutOfRange { high_water }));
        }
        let file_size = self.file_size;
        if offset.checked_add(ps).is_none_or(|end| end > file_size) {
            return Err(damage(FindingKind::PageBeyondEof { file_size }));
        }
        let first = read_upto(&self.file, file_size, offset, self.page_size as usize)
            .map_err(ReadError::Io)?;
        let Some(page) = Page::from_bytes(id, offset, first) else {
            return Err(damage(FindingKind::PageBeyondEof { file_size }));
        };
        if page.header.id != id {
            return Err(damage(FindingKind::PageIdMismatch {
                found: page.header.id,
            }));
        }
        let overflow = u64::from(page.header.overflow);
        if overflow == 0 {
            return Ok(page);
        }
        if id
            .checked_add(overflow)
            .is_none_or(|last| last >= high_water)
        {
            return Err(damage(FindingKind::PageOutOfRange { high_water }));
        }
        let total = (overflow + 1).saturating_mul(ps);
        if total > MAX_PAGE_BYTES {
            return Err(damage(FindingKind::PageTooLarge { bytes: total }));
        }
        if offset.checked_add(total).is_none_or(|end| end > file_size) {
            return Err(damage(FindingKind::PageBeyondEof { file_size }));
        }
        // The overflow pages read straight into the page's buffer (no second buffer to
        // copy from: values of Kubernetes objects make most pages of a big db overflow).
        let mut page = page;
        let first_len = page.buf.len();
        page.buf.resize(total as usize, 0);
        if let Some(rest) = page.buf.get_mut(first_len..) {
            self.file
                .read_exact_at(rest, offset + ps)
                .map_err(ReadError::Io)?;
        }
        Ok(page)
    }

    /// `len` bytes at `offset` (fewer at the end of the file), `None` past its end.
    pub(crate) fn read_raw(&self, offset: u64, len: u64) -> Option<Vec<u8>> {
        if offset >= self.file_size {
            return None;
        }
        read_upto(
            &self.file,
            self.file_size,
            offset,
            usize::try_from(len).ok()?,
        )
        .ok()
    }

    /// The header of page `id` as found (any id inside the file; no checks), for page
    /// listings.
    pub(crate) fn read_header(&self, id: u64) -> Option<PageHeader> {
        let off = id.checked_mul(u64::from(self.page_size))?;
        let buf = read_upto(&self.file, self.file_size, off, super::page::HEADER_LEN).ok()?;
        PageHeader::parse(&buf)
    }

    /// Read a page that must be a branch or leaf (a bucket's tree page).
    pub(crate) fn read_tree_page(&self, id: u64, from: Option<u64>) -> Result<Page, ReadError> {
        let page = self.read_page(id, from)?;
        match page.header.kind() {
            PageKind::Branch | PageKind::Leaf => Ok(page),
            _ => Err(ReadError::Damage(Finding {
                kind: FindingKind::InvalidPageType {
                    flags: page.header.flags,
                },
                page: id,
                offset: page.offset,
                referenced_from: from,
            })),
        }
    }

    /// Whether a leaf element is a nested bucket.
    pub(crate) fn is_bucket_flag(flags: u32) -> bool {
        flags & LEAF_FLAG_BUCKET != 0
    }
}

/// Read up to `len` bytes at `off` (fewer at the end of the file; none past it).
pub(crate) fn read_upto(
    file: &File,
    file_size: u64,
    off: u64,
    len: usize,
) -> std::io::Result<Vec<u8>> {
    let avail = file_size.saturating_sub(off);
    let n = (len as u64).min(avail) as usize;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, off)?;
    Ok(buf)
}

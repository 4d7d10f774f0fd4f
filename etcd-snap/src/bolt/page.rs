//! Branch, leaf and freelist pages: header and element access, every offset checked.
//!
//! ```text
//! page header (16 B): | id u64 | flags u16 | count u16 | overflow u32 |
//! branch element (16 B): | pos u32 | ksize u32 | pgid u64 |
//! leaf element (16 B):   | flags u32 | pos u32 | ksize u32 | vsize u32 |
//! `pos` is relative to the start of the element itself; a leaf value follows its key.
//! ```

use std::fmt;

use crate::bytes::{debug_hex, slice, u16_le, u32_le, u64_le};

use super::finding::FindingKind;

/// Page header length in bytes.
pub const HEADER_LEN: usize = 16;
/// Element length (branch and leaf) in bytes.
pub const ELEMENT_LEN: usize = 16;

/// Page flag: branch page.
pub const FLAG_BRANCH: u16 = 0x01;
/// Page flag: leaf page.
pub const FLAG_LEAF: u16 = 0x02;
/// Page flag: meta page.
pub const FLAG_META: u16 = 0x04;
/// Page flag: freelist page.
pub const FLAG_FREELIST: u16 = 0x10;
/// Leaf element flag: the value is a nested bucket.
pub const LEAF_FLAG_BUCKET: u32 = 0x01;

/// bbolt's name for a page's flags (`page.typ()`), as its "invalid type" errors print it:
/// `branch`, `leaf`, `meta`, `freelist` or `unknown<xx>` (hex, at least two digits).
pub fn type_name(flags: u16) -> String {
    match flags {
        FLAG_BRANCH => "branch".into(),
        FLAG_LEAF => "leaf".into(),
        FLAG_META => "meta".into(),
        FLAG_FREELIST => "freelist".into(),
        f => format!("unknown<{f:02x}>"),
    }
}

/// The 16-byte header at the start of every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PageHeader {
    /// Page id as written in the page (should equal its position).
    pub id: u64,
    /// Page type flags.
    pub flags: u16,
    /// Number of elements (freelist: number of ids, 0xFFFF = count in first u64).
    pub count: u16,
    /// Number of extra contiguous pages belonging to this page.
    pub overflow: u32,
}

impl PageHeader {
    /// Parse from the first 16 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Option<PageHeader> {
        Some(PageHeader {
            id: u64_le(buf, 0)?,
            flags: u16_le(buf, 8)?,
            count: u16_le(buf, 10)?,
            overflow: u32_le(buf, 12)?,
        })
    }

    /// Branch or leaf page.
    pub fn kind(&self) -> PageKind {
        match self.flags {
            FLAG_BRANCH => PageKind::Branch,
            FLAG_LEAF => PageKind::Leaf,
            FLAG_META => PageKind::Meta,
            FLAG_FREELIST => PageKind::Freelist,
            other => PageKind::Unknown(other),
        }
    }
}

/// A page's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Branch page of a B+tree.
    Branch,
    /// Leaf page of a B+tree.
    Leaf,
    /// Meta page (pages 0 and 1).
    Meta,
    /// Freelist page.
    Freelist,
    /// Not exactly one known flag.
    Unknown(u16),
}

/// A page read from the file (with its overflow pages), or the embedded page of an
/// inline bucket.
#[derive(Clone)]
pub struct Page {
    /// The id the page was read as (its position); for an inline page, the page holding it.
    pub(crate) id: u64,
    /// File offset of the page header.
    pub(crate) offset: u64,
    /// The header as found.
    pub(crate) header: PageHeader,
    /// The whole page, header included.
    pub(crate) buf: Vec<u8>,
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("id", &self.id)
            .field("offset", &self.offset)
            .field("header", &self.header)
            .field("buf", &debug_hex(&self.buf))
            .finish()
    }
}

/// One leaf element, borrowed from its page.
#[derive(Debug, Clone, Copy)]
pub struct LeafElem<'a> {
    /// Element flags ([`LEAF_FLAG_BUCKET`]).
    pub flags: u32,
    /// The key.
    pub key: &'a [u8],
    /// The value (for a bucket: bucket header, possibly followed by an inline page).
    pub value: &'a [u8],
    /// Offset of the value within the page buffer.
    pub value_pos: usize,
}

/// One branch element, borrowed from its page.
#[derive(Debug, Clone, Copy)]
pub struct BranchElem<'a> {
    /// First key of the child subtree.
    pub key: &'a [u8],
    /// Child page id.
    pub pgid: u64,
}

impl Page {
    /// Build a page from bytes (header included). `None` if shorter than a header.
    pub(crate) fn from_bytes(id: u64, offset: u64, buf: Vec<u8>) -> Option<Page> {
        let header = PageHeader::parse(&buf)?;
        Some(Page {
            id,
            offset,
            header,
            buf,
        })
    }

    /// Page id (position in the file).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// File offset of the page header.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The header as found on disk.
    pub fn header(&self) -> &PageHeader {
        &self.header
    }

    /// Number of elements.
    pub fn count(&self) -> u16 {
        self.header.count
    }

    /// Where key/value data may start: after the element array (bbolt writes all
    /// elements first, then the data).
    fn data_start(&self) -> usize {
        HEADER_LEN + usize::from(self.header.count) * ELEMENT_LEN
    }

    fn element(&self, index: u16) -> Option<(usize, &[u8])> {
        let off = HEADER_LEN.checked_add(usize::from(index).checked_mul(ELEMENT_LEN)?)?;
        Some((off, slice(&self.buf, off, ELEMENT_LEN)?))
    }

    /// The `index`th leaf element; an error if it or its key/value lies outside the page.
    pub fn leaf(&self, index: u16) -> Result<LeafElem<'_>, FindingKind> {
        let oob = FindingKind::ElementOutOfBounds { index };
        let (off, e) = self.element(index).ok_or(oob.clone())?;
        let flags = u32_le(e, 0).ok_or(oob.clone())?;
        let pos = u32_le(e, 4).ok_or(oob.clone())?;
        let ksize = u32_le(e, 8).ok_or(oob.clone())?;
        let vsize = u32_le(e, 12).ok_or(oob.clone())?;
        let kpos = off.checked_add(pos as usize).ok_or(oob.clone())?;
        if kpos < self.data_start() {
            return Err(oob);
        }
        let key = slice(&self.buf, kpos, ksize as usize).ok_or(oob.clone())?;
        let vpos = kpos.checked_add(ksize as usize).ok_or(oob.clone())?;
        let value = slice(&self.buf, vpos, vsize as usize).ok_or(oob)?;
        Ok(LeafElem {
            flags,
            key,
            value,
            value_pos: vpos,
        })
    }

    /// The `index`th branch element; an error if it or its key lies outside the page.
    pub fn branch(&self, index: u16) -> Result<BranchElem<'_>, FindingKind> {
        let oob = FindingKind::ElementOutOfBounds { index };
        let (off, e) = self.element(index).ok_or(oob.clone())?;
        let pos = u32_le(e, 0).ok_or(oob.clone())?;
        let ksize = u32_le(e, 4).ok_or(oob.clone())?;
        let pgid = u64_le(e, 8).ok_or(oob.clone())?;
        let kpos = off.checked_add(pos as usize).ok_or(oob.clone())?;
        if kpos < self.data_start() {
            return Err(oob);
        }
        let key = slice(&self.buf, kpos, ksize as usize).ok_or(oob)?;
        Ok(BranchElem { key, pgid })
    }

    /// The `index`th leaf element's raw `(pos, ksize, vsize)`, unchecked against the page
    /// (for bbolt's in-use arithmetic).
    pub(crate) fn raw_leaf_element(&self, index: u16) -> Option<(u32, u32, u32)> {
        let (_, e) = self.element(index)?;
        Some((u32_le(e, 4)?, u32_le(e, 8)?, u32_le(e, 12)?))
    }

    /// The `index`th branch element's raw `(pos, ksize)`.
    pub(crate) fn raw_branch_element(&self, index: u16) -> Option<(u32, u32)> {
        let (_, e) = self.element(index)?;
        Some((u32_le(e, 0)?, u32_le(e, 4)?))
    }

    /// The page ids listed on a freelist page.
    pub fn freelist_ids(&self) -> Result<Vec<u64>, FindingKind> {
        let bad = FindingKind::BadFreelist;
        let (start, count) = if self.header.count == 0xFFFF {
            let n = u64_le(&self.buf, HEADER_LEN).ok_or(bad.clone())?;
            (HEADER_LEN + 8, n)
        } else {
            (HEADER_LEN, u64::from(self.header.count))
        };
        let room = (self.buf.len().saturating_sub(start) / 8) as u64;
        if count > room {
            return Err(bad);
        }
        let mut ids = Vec::new();
        for i in 0..count as usize {
            let off = i
                .checked_mul(8)
                .and_then(|o| o.checked_add(start))
                .ok_or(bad.clone())?;
            ids.push(u64_le(&self.buf, off).ok_or(bad.clone())?);
        }
        Ok(ids)
    }
}

//! Buckets and their entries: what a [`Cursor`](super::Cursor) walks and yields.

use crate::bytes::u64_le;

use super::finding::FindingKind;
use super::page::{Page, PageKind};

/// Bucket header length inside a bucket value: root pgid u64, sequence u64.
const BUCKET_HEADER_LEN: usize = 16;

/// A bucket: a B+tree rooted at a page, or inline inside its parent's leaf value.
#[derive(Debug, Clone)]
pub struct Bucket {
    name: Vec<u8>,
    root: u64,
    sequence: u64,
    inline: Option<Page>,
    page: u64,
    offset: u64,
}

impl Bucket {
    /// The bucket's name (empty for the root bucket).
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Root page id, 0 for an inline bucket.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The bucket's sequence number.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Whether the bucket is stored inline in its parent's leaf.
    pub fn is_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// Page id holding this bucket's header (the parent's leaf page).
    pub fn page(&self) -> u64 {
        self.page
    }

    /// File offset of the page holding this bucket's header.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The root bucket of a tree: rooted at page `root`, its header in the meta page
    /// `page` at file offset `offset`.
    pub(super) fn root_bucket(root: u64, sequence: u64, page: u64, offset: u64) -> Bucket {
        Bucket {
            name: Vec::new(),
            root,
            sequence,
            inline: None,
            page,
            offset,
        }
    }

    pub(crate) fn inline_page(&self) -> Option<&Page> {
        self.inline.as_ref()
    }

    /// Parse a bucket from the value of a leaf element flagged as a bucket.
    /// `value_offset` is the file offset of the value; `holder`/`holder_offset` the page
    /// holding the element.
    pub(crate) fn from_value(
        name: &[u8],
        value: &[u8],
        value_offset: u64,
        holder: u64,
        holder_offset: u64,
        index: u16,
    ) -> Result<Bucket, FindingKind> {
        let bad = FindingKind::BadBucketValue { index };
        let root = u64_le(value, 0).ok_or(bad.clone())?;
        let sequence = u64_le(value, 8).ok_or(bad.clone())?;
        let inline = if root == 0 {
            let bytes = value.get(BUCKET_HEADER_LEN..).ok_or(bad.clone())?.to_vec();
            let at = value_offset.saturating_add(BUCKET_HEADER_LEN as u64);
            let page = Page::from_bytes(holder, at, bytes).ok_or(bad.clone())?;
            if page.header.kind() != PageKind::Leaf {
                return Err(bad);
            }
            Some(page)
        } else {
            None
        };
        Ok(Bucket {
            name: name.to_vec(),
            root,
            sequence,
            inline,
            page: holder,
            offset: holder_offset,
        })
    }
}

/// One key/value of a bucket, as yielded by a [`Cursor`](super::Cursor).
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// The value (for a nested bucket: its raw bucket header and inline page).
    pub value: Vec<u8>,
    /// Whether this entry is a nested bucket.
    pub is_bucket: bool,
    /// Page id of the leaf holding it (for an inline bucket: the page holding the bucket).
    pub page: u64,
    /// File offset of that page.
    pub offset: u64,
    /// 0-based element index in the leaf.
    pub index: u16,
    /// File offset of the value's first byte.
    pub value_offset: u64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &crate::bytes::debug_hex(&self.key))
            .field("value", &crate::bytes::debug_hex(&self.value))
            .field("is_bucket", &self.is_bucket)
            .field("page", &self.page)
            .field("index", &self.index)
            .finish()
    }
}

//! Damage found in a bolt file: what, on which page, at which file offset.

use std::fmt;

use super::meta::MetaProblem;

/// One piece of damage in a bolt file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// What is wrong.
    pub kind: FindingKind,
    /// The page concerned (for a page reference: the page id the reference names).
    pub page: u64,
    /// Byte offset in the file where the damaged structure starts (for a reference to a
    /// page: `page * page_size`, which may lie beyond the end of the file).
    pub offset: u64,
    /// The page holding the reference that led here, when there is one.
    pub referenced_from: Option<u64>,
}

/// The kinds of damage this crate recognises in a bolt file.
///
/// Names follow bbolt's `tx.Check` messages where one exists (see `code()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum FindingKind {
    /// One meta page does not validate (the other one is used).
    MetaInvalid {
        /// 0 or 1.
        meta: u8,
        /// Why it is invalid.
        problem: MetaProblem,
    },
    /// The file ends before `pgid * page_size` (truncated file).
    FileShorterThanHighWater {
        /// File size in bytes.
        file_size: u64,
        /// `pgid * page_size` in bytes.
        needed: u64,
    },
    /// A page reference outside `[2, pgid)` (bbolt: "page ID out of range", "out of bounds").
    PageOutOfRange {
        /// The meta's pgid (high-water mark).
        high_water: u64,
    },
    /// A referenced page (or its overflow) lies past the end of the file.
    PageBeyondEof {
        /// File size in bytes.
        file_size: u64,
    },
    /// A page's header names another id than its position
    /// (bbolt: "Page expected to be: `<a>`, but self identifies as `<b>`").
    PageIdMismatch {
        /// The id in the page header.
        found: u64,
    },
    /// A page has the wrong type for where it is referenced (bbolt: "invalid type").
    InvalidPageType {
        /// The page header's flags.
        flags: u16,
    },
    /// A page (with its overflow) is larger than this reader accepts.
    PageTooLarge {
        /// Its size in bytes.
        bytes: u64,
    },
    /// A page is referenced more than once (bbolt: "multiple references"); also a cycle.
    MultipleReferences,
    /// An element (or its key/value) lies outside its page.
    ElementOutOfBounds {
        /// 0-based element index in the page.
        index: u16,
    },
    /// Keys are not strictly increasing, or lie outside the range the parent branch gives.
    KeyOrder {
        /// 0-based element index in the page.
        index: u16,
    },
    /// A leaf element flagged as a bucket has a value that is not a bucket header, or a
    /// top-level entry is not a bucket.
    BadBucketValue {
        /// 0-based element index in the page.
        index: u16,
    },
    /// The tree is deeper than any real bolt tree (damaged branch pointing around).
    TooDeep {
        /// Depth reached.
        depth: u32,
    },
    /// A page is both reachable and on the freelist (bbolt: "reachable freed").
    ReachableFreed,
    /// A page is listed twice on the freelist (bbolt: "already freed").
    AlreadyFreed,
    /// A page below pgid is neither reachable nor free (bbolt: "unreachable unfreed").
    UnreachableUnfreed,
    /// The freelist page cannot be read.
    BadFreelist,
}

impl FindingKind {
    /// Stable snake_case code for `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            FindingKind::MetaInvalid { .. } => "meta_invalid",
            FindingKind::FileShorterThanHighWater { .. } => "file_shorter_than_high_water",
            FindingKind::PageOutOfRange { .. } => "page_out_of_range",
            FindingKind::PageBeyondEof { .. } => "page_beyond_eof",
            FindingKind::PageIdMismatch { .. } => "page_id_mismatch",
            FindingKind::InvalidPageType { .. } => "invalid_page_type",
            FindingKind::PageTooLarge { .. } => "page_too_large",
            FindingKind::MultipleReferences => "multiple_references",
            FindingKind::ElementOutOfBounds { .. } => "element_out_of_bounds",
            FindingKind::KeyOrder { .. } => "key_order",
            FindingKind::BadBucketValue { .. } => "bad_bucket_value",
            FindingKind::TooDeep { .. } => "too_deep",
            FindingKind::ReachableFreed => "reachable_freed",
            FindingKind::AlreadyFreed => "already_freed",
            FindingKind::UnreachableUnfreed => "unreachable_unfreed",
            FindingKind::BadFreelist => "bad_freelist",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindingKind::MetaInvalid { meta, problem } => {
                write!(f, "meta {meta} invalid: {problem}")
            }
            FindingKind::FileShorterThanHighWater { file_size, needed } => {
                write!(f, "file is {file_size} bytes, pgid needs {needed}")
            }
            FindingKind::PageOutOfRange { high_water } => {
                write!(f, "page ID out of range [2, {high_water})")
            }
            FindingKind::PageBeyondEof { file_size } => {
                write!(f, "page lies beyond end of file ({file_size} bytes)")
            }
            FindingKind::PageIdMismatch { found } => write!(f, "page identifies as {found}"),
            FindingKind::InvalidPageType { flags } => write!(
                f,
                "invalid type: {} (flags {flags:#06x})",
                super::page::type_name(*flags)
            ),
            FindingKind::PageTooLarge { bytes } => write!(f, "page too large ({bytes} bytes)"),
            FindingKind::MultipleReferences => write!(f, "multiple references"),
            FindingKind::ElementOutOfBounds { index } => {
                write!(f, "element {index} out of page bounds")
            }
            FindingKind::KeyOrder { index } => write!(f, "key {index} out of order"),
            FindingKind::BadBucketValue { index } => write!(f, "element {index}: bad bucket value"),
            FindingKind::TooDeep { depth } => write!(f, "tree deeper than {depth} levels"),
            FindingKind::ReachableFreed => write!(f, "reachable freed"),
            FindingKind::AlreadyFreed => write!(f, "already freed"),
            FindingKind::UnreachableUnfreed => write!(f, "unreachable unfreed"),
            FindingKind::BadFreelist => write!(f, "unreadable freelist"),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "page {} (offset {}): {}",
            self.page, self.offset, self.kind
        )?;
        if let Some(from) = self.referenced_from {
            write!(f, " (referenced from page {from})")?;
        }
        Ok(())
    }
}

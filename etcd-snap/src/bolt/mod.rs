//! Our own read-only reader for bbolt files (etcd's `member/snap/db`).
//!
//! Every page id, element offset and length is checked against the page, the file size
//! and the meta's pgid before use; damaged structures become [`Finding`]s (with page id
//! and file offset) or [`Error::Corrupt`](crate::Error::Corrupt), never panics. Reads are
//! positioned (`pread`); nothing is mapped, locked or written. Memory stays bounded: a
//! [`Cursor`] holds one page per tree level.
//!
//! Layout references: bbolt `internal/common/{page,meta,bucket}.go`, `db.go`, `tx_check.go`
//! (format identical in bbolt 1.3.x–1.5.x).

mod bucket;
mod check;
mod cursor;
mod db;
mod finding;
mod lookup;
mod meta;
mod page;
mod pages;
mod pageset;
pub mod salvage;
pub mod write;

pub use bucket::{Bucket, Entry};
pub use check::{CheckReport, MAX_FINDINGS, Visit};
pub use cursor::{Cursor, MAX_DEPTH};
pub use db::{Db, MAX_PAGE_BYTES, MetaRevert, MetaSlot};
pub use finding::{Finding, FindingKind};
pub use meta::{FREELIST_NOT_PERSISTED, MAGIC, Meta, MetaProblem, PageSizeSource, VERSION};
pub use page::{
    BranchElem, FLAG_BRANCH, FLAG_FREELIST, FLAG_LEAF, FLAG_META, LEAF_FLAG_BUCKET, LeafElem, Page,
    PageHeader, PageKind, type_name,
};
pub use pages::{BucketStats, PageDump, PageElement, PageInfo};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

//! Finding buckets and keys: the root bucket, nested buckets, and key lookups by an
//! in-order [`Cursor`](super::Cursor) scan.

use crate::error::Result;

use super::bucket::{Bucket, Entry};
use super::db::Db;
use super::finding::FindingKind;

impl Db {
    /// The root bucket (whose entries are the top-level buckets).
    pub fn root(&self) -> Bucket {
        let meta = self.meta();
        let active = u64::from(self.active_meta());
        let offset = active * u64::from(self.page_size());
        Bucket::root_bucket(meta.root, meta.sequence, active, offset)
    }

    /// Open the nested bucket an entry (with `is_bucket`) describes.
    pub fn open_bucket(&self, entry: &Entry) -> Result<Bucket> {
        let bad = |kind| self.corrupt(kind, entry.page, entry.offset, None);
        if !entry.is_bucket {
            return Err(bad(FindingKind::BadBucketValue { index: entry.index }));
        }
        Bucket::from_value(
            &entry.key,
            &entry.value,
            entry.value_offset,
            entry.page,
            entry.offset,
            entry.index,
        )
        .map_err(bad)
    }

    /// Find a nested bucket by name inside `parent`.
    pub fn bucket_in(&self, parent: &Bucket, name: &[u8]) -> Result<Option<Bucket>> {
        match self.find(parent, name)? {
            Some(e) if e.is_bucket => Ok(Some(self.open_bucket(&e)?)),
            _ => Ok(None),
        }
    }

    /// Find a top-level bucket by name.
    pub fn bucket(&self, name: &[u8]) -> Result<Option<Bucket>> {
        self.bucket_in(&self.root(), name)
    }

    /// The entry with exactly this key in `bucket`, scanning in key order (stops at the
    /// first larger key).
    pub fn find(&self, bucket: &Bucket, key: &[u8]) -> Result<Option<Entry>> {
        for e in self.cursor(bucket) {
            let e = e?;
            match e.key.as_slice().cmp(key) {
                std::cmp::Ordering::Equal => return Ok(Some(e)),
                std::cmp::Ordering::Greater => return Ok(None),
                std::cmp::Ordering::Less => {}
            }
        }
        Ok(None)
    }

    /// The value stored under `key` in `bucket` (not a nested bucket).
    pub fn get(&self, bucket: &Bucket, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .find(bucket, key)?
            .filter(|e| !e.is_bucket)
            .map(|e| e.value))
    }

    /// Names of the top-level buckets, in order.
    pub fn bucket_names(&self) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for e in self.cursor(&self.root()) {
            out.push(e?.key);
        }
        Ok(out)
    }
}

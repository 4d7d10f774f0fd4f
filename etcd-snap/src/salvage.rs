//! `db salvage`: every readable record of a damaged etcd db copied into a new db
//! ([`crate::bolt::salvage`]), with what was lost said in etcd's terms — revision ranges
//! of the `key` bucket (`main_sub`), keys of the other buckets — and the new db's
//! consistent index, term and revision. The new file is written beside `out` and renamed
//! into place once complete and synced; `out` must not exist.

use std::path::{Path, PathBuf};

use crate::bolt::Db;
use crate::bolt::salvage::{self, Salvage};
use crate::error::{Error, Result};
use crate::mvcc::RevisionKey;

/// A lost range, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Lost {
    /// The bucket.
    pub bucket: String,
    /// First key lost (`main_sub` in the `key` bucket; escaped otherwise); `None`: from
    /// the start.
    pub from: Option<String>,
    /// End of the range (exclusive); `None`: to the end.
    pub to: Option<String>,
    /// The unreadable page.
    pub page: u64,
    /// Why it could not be read.
    pub why: String,
}

/// What [`salvage_db`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DbSalvage {
    /// The new file.
    pub out: PathBuf,
    /// The copy, bucket by bucket.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub copy: Salvage,
    /// Every range lost, in bucket order.
    pub lost: Vec<Lost>,
    /// The new db's consistent index (`None`: the `meta` bucket was lost).
    pub consistent_index: Option<u64>,
    /// Its term (3.5+).
    pub term: Option<u64>,
    /// The highest revision its `key` bucket holds.
    pub revision: Option<i64>,
}

fn render(bucket: &str, key: &[u8]) -> String {
    if bucket == "key" {
        if let Ok(rk) = RevisionKey::parse(key) {
            return rk.rev.to_string();
        }
    }
    etcd_proto::text::escape_bytes(key)
}

/// Salvage `src` into the new file `out` (see the module docs).
pub fn salvage_db(src: &Path, out: &Path) -> Result<DbSalvage> {
    if out.exists() {
        return Err(Error::io(
            out,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists already"),
        ));
    }
    let tmp = crate::restore::copy::temp_beside(out);
    let _ = std::fs::remove_file(&tmp);
    let copy = match salvage::salvage(src, &tmp) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    if let Some(dir) = out.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        crate::restore::copy::sync_dir(dir)
            .map_err(|e| Error::io(dir, std::io::Error::other(e.to_string())))?;
    }
    let mut lost = Vec::new();
    for r in &copy.root_lost {
        lost.push(Lost {
            bucket: "(root)".into(),
            from: r.from.as_deref().map(etcd_proto::text::escape_bytes),
            to: r.to.as_deref().map(etcd_proto::text::escape_bytes),
            page: r.page,
            why: r.why.clone(),
        });
    }
    for b in &copy.buckets {
        for r in &b.lost {
            lost.push(Lost {
                bucket: b.name.clone(),
                from: r.from.as_deref().map(|k| render(&b.name, k)),
                to: r.to.as_deref().map(|k| render(&b.name, k)),
                page: r.page,
                why: r.why.clone(),
            });
        }
    }
    let db = Db::open(out)?;
    let meta = crate::schema::meta(&db)?;
    let revision = crate::mvcc::key_bucket(&db)?.and_then(|b| {
        db.cursor(&b)
            .filter_map(|e| e.ok())
            .filter_map(|e| RevisionKey::parse(&e.key).ok())
            .map(|k| k.rev.main)
            .last()
    });
    Ok(DbSalvage {
        out: out.to_path_buf(),
        copy,
        lost,
        consistent_index: meta.consistent_index,
        term: meta.term,
        revision,
    })
}

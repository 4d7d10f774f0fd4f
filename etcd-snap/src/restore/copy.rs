//! Copying a db file while hashing it, and `db extract` (a `snapshot save`-like copy of a
//! member's db).
//!
//! The copy is done by the kernel where it can (`copy_file_range`) while a second thread
//! hashes the same bytes (SHA-256 with SHA-NI where the CPU has it) with one reused 4 MiB
//! buffer, so memory stays small for any file size.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::RestoreError;
use crate::bolt::Db;

/// Read size of the hashing thread, in bytes.
pub const CHUNK: usize = 4 << 20;

fn io(path: &Path) -> impl Fn(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Copy the first `len` bytes of `src` to a new file `dest` (mode 0600, must not exist),
/// SHA-256 them when `hash` is set, and fsync `dest`. Returns the hash.
///
/// The copy itself is `std::io::copy`, which on Linux lets the kernel move the bytes
/// (`copy_file_range`, falling back to a userspace loop); a second thread reads the same
/// range of `src` (from the page cache the copy has just filled, or fills it for the
/// copy) into one reused [`CHUNK`]-sized buffer and hashes it, so hashing overlaps the
/// copy and memory stays at one buffer.
pub fn copy_hashed(
    src: &Path,
    len: u64,
    dest: &Path,
    hash: bool,
) -> Result<Option<[u8; 32]>, RestoreError> {
    let input = File::open(src).map_err(io(src))?;
    let hash_input = if hash {
        Some(File::open(src).map_err(io(src))?)
    } else {
        None
    };
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .map_err(io(dest))?;
    let digest = std::thread::scope(|s| -> Result<Option<[u8; 32]>, RestoreError> {
        let hasher = hash_input.map(|mut f| {
            s.spawn(move || -> std::io::Result<[u8; 32]> {
                let mut h = Sha256::new();
                let mut buf = vec![0u8; CHUNK];
                let mut left = len;
                while left > 0 {
                    let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                    let chunk = buf.get_mut(..want).unwrap_or_default();
                    f.read_exact(chunk)?;
                    h.update(&*chunk);
                    left -= want as u64;
                }
                Ok(h.finalize().into())
            })
        });
        let copied = std::io::copy(&mut input.take(len), &mut output).map_err(io(dest))?;
        if copied != len {
            return Err(RestoreError::Io {
                path: src.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("file shrank while copying: {copied} of {len} bytes"),
                ),
            });
        }
        match hasher {
            Some(h) => Ok(Some(
                h.join()
                    .map_err(|_| RestoreError::HashThread)?
                    .map_err(io(src))?,
            )),
            None => Ok(None),
        }
    })?;
    output.sync_all().map_err(io(dest))?;
    Ok(digest)
}

/// fsync a directory (so a rename or a new entry in it is durable).
pub fn sync_dir(dir: &Path) -> Result<(), RestoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// What `db extract` did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Extracted {
    /// The db that was copied.
    pub source: PathBuf,
    /// The file written.
    pub out: PathBuf,
    /// Bytes of db copied (pgid × page size; the whole file if it is not a valid bolt file).
    pub db_bytes: u64,
    /// SHA-256 trailer appended (lowercase hex), with `--with-hash`.
    pub sha256: Option<String>,
    /// The active meta's txid at the copy, if the file opened as a bolt db.
    pub txid: Option<u64>,
    /// Why the file was copied whole (it did not open as a bolt db).
    pub note: Option<String>,
}

/// Copy a member's db (`src`, a db file) to `out` (must not exist): the pages below the
/// active meta's high-water mark, as `snapshot save` streams them, plus the SHA-256 trailer
/// when `with_hash`. Written to a temp file beside `out`, fsynced, renamed. The source's
/// metas are read again after the copy; a change (a writer appeared) fails the extract.
/// The caller must make sure no etcd holds the db.
pub fn extract(src: &Path, out: &Path, with_hash: bool) -> Result<Extracted, RestoreError> {
    if out.exists() {
        return Err(RestoreError::TargetExists {
            path: out.to_path_buf(),
        });
    }
    let (len, txid, note) = match Db::open(src) {
        Ok(db) => (db.size().min(db.file_size()), Some(db.meta().txid), None),
        Err(crate::Error::Io { path, source }) => return Err(RestoreError::Io { path, source }),
        Err(e) => {
            let size = std::fs::metadata(src).map_err(io(src))?.len();
            (
                size,
                None,
                Some(format!("not a valid bolt db ({e}): copied whole")),
            )
        }
    };
    let tmp = temp_beside(out);
    let result = (|| {
        let digest = copy_hashed(src, len, &tmp, with_hash)?;
        if let Some(d) = digest {
            let mut f = OpenOptions::new()
                .append(true)
                .open(&tmp)
                .map_err(io(&tmp))?;
            f.write_all(&d).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        if let Some(before) = txid {
            let after = Db::open(src)?;
            if after.meta().txid != before {
                return Err(RestoreError::ChangedWhileCopying {
                    path: src.to_path_buf(),
                });
            }
        }
        std::fs::rename(&tmp, out).map_err(io(out))?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(digest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let digest = result?;
    Ok(Extracted {
        source: src.to_path_buf(),
        out: out.to_path_buf(),
        db_bytes: len,
        sha256: digest.map(|d| crate::bytes::hex(&d)),
        txid,
        note,
    })
}

/// A temp path beside `path`: `.<name>.wal-inspect-tmp.<pid>`.
pub fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let tmp = format!(".{name}.wal-inspect-tmp.{}", std::process::id());
    match path.parent() {
        Some(p) => p.join(tmp),
        None => PathBuf::from(tmp),
    }
}

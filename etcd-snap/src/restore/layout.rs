//! The new data dir on disk: the empty-dir check, directories and files created with
//! etcd's modes, and where the WAL dir lies relative to the data dir.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::{RestoreError, io_err};

/// Refuse a data dir that exists and is not empty, or cannot be read.
pub(super) fn check_empty_dir(dir: &Path) -> Result<(), RestoreError> {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => match rd.next() {
            None => Ok(()),
            Some(_) => Err(RestoreError::DataDirNotEmpty {
                path: dir.to_path_buf(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => Err(RestoreError::DataDirNotEmpty {
            path: dir.to_path_buf(),
        }),
    }
}
pub(super) fn mkdir(dir: &Path) -> Result<(), RestoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir))
}
pub(super) fn write_new_file(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    len: Option<u64>,
) -> Result<(), RestoreError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    if let Some(len) = len {
        f.set_len(len).map_err(io_err(path))?;
    }
    f.sync_all().map_err(io_err(path))
}
/// `path` made absolute and cleaned lexically (`.` dropped, `..` taking off a component),
/// without touching the file system beyond the current directory.
fn lexical_abs(path: &Path) -> Result<PathBuf, RestoreError> {
    let abs = std::path::absolute(path).map_err(io_err(path))?;
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}
/// Where `wal_dir` lies inside `data_dir` (relative path), or `None` when outside it.
pub(super) fn inside_of(data_dir: &Path, wal_dir: &Path) -> Result<Option<PathBuf>, RestoreError> {
    let (d, w) = (lexical_abs(data_dir)?, lexical_abs(wal_dir)?);
    Ok(w.strip_prefix(&d)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .map(Path::to_path_buf))
}

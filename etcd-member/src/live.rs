//! Is a live etcd holding these files? Read-only probes, no lock taken.
//!
//! etcd 3.5 holds an OFD write lock (`F_OFD_SETLK`) on every WAL segment it has open and
//! bbolt holds `flock(LOCK_EX)` on `snap/db`. Both show in `/proc/locks` with the file's
//! device and inode; OFD locks show pid -1, so the holder is found through `/proc/*/fd`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A lock some process holds on one of our files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// The locked file.
    pub file: PathBuf,
    /// Lock kind as `/proc/locks` names it (`OFDLCK`, `FLOCK`, `POSIX`).
    pub lock: String,
    /// PIDs that have the file open (the lock holder among them).
    pub pids: Vec<u32>,
}

impl Holder {
    /// `<file> (<lock> lock, pid <pids>)`.
    pub fn describe(&self) -> String {
        let pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
        format!(
            "{} ({} lock{})",
            self.file.display(),
            self.lock,
            if pids.is_empty() {
                String::new()
            } else {
                format!(", pid {}", pids.join(", "))
            }
        )
    }
}

/// Refuse (with [`Error::LiveEtcd`]) when a live etcd holds any of `files`: the guard every
/// operation that changes a data dir runs first.
pub fn refuse_if_live(files: &[PathBuf]) -> Result<(), Error> {
    let holders = holders(files);
    if holders.is_empty() {
        Ok(())
    } else {
        Err(Error::LiveEtcd { holders })
    }
}

/// Locks held on any of `files`. Errors reading `/proc` count as "no lock seen".
pub fn holders(files: &[PathBuf]) -> Vec<Holder> {
    let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for file in files {
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        let dev = meta.dev();
        // Kernel prints MAJOR:MINOR:INODE with major/minor in hex (2 digits at least).
        let (major, minor) = (
            (dev >> 8) & 0xfff | ((dev >> 32) & !0xfff),
            (dev & 0xff) | ((dev >> 12) & !0xff),
        );
        let id = format!("{major:02x}:{minor:02x}:{}", meta.ino());
        for line in locks.lines() {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // "1: OFDLCK ADVISORY WRITE -1 08:01:1234 0 EOF" (a "->" column appears for waiters)
            let cols: Vec<&str> = cols.into_iter().filter(|c| *c != "->").collect();
            let (Some(kind), Some(dev_ino)) = (cols.get(1), cols.get(5)) else {
                continue;
            };
            // Overlay filesystems report another device in stat than in /proc/locks, so an
            // inode match counts when some process really has the file open.
            let same_inode = dev_ino.rsplit(':').next() == Some(&meta.ino().to_string());
            if *dev_ino == id || same_inode {
                let pids = openers(file);
                if *dev_ino == id || !pids.is_empty() {
                    out.push(Holder {
                        file: file.clone(),
                        lock: kind.to_string(),
                        pids,
                    });
                }
            }
        }
    }
    out
}

/// PIDs with `file` open, from `/proc/*/fd` (only those we may read).
fn openers(file: &Path) -> Vec<u32> {
    let Ok(target) = std::fs::canonicalize(file) else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        {
            pids.push(pid);
        }
    }
    pids
}

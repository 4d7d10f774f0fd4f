//! [`Progress`]: how far a long read has come, for a display on another thread.
//!
//! The libraries never print: a caller that wants a progress line hands an
//! `Arc<Progress>` to the operation (e.g. `etcd_member::Options::progress`,
//! `etcd_snap::restore::RestoreConfig::progress`) and reads it from its own thread.
//! Updates are relaxed atomic stores: cheap enough for every record.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Nothing yet.
    Idle,
    /// The WAL segments (`done`/`total` in bytes).
    Wal,
    /// The bolt db's pages (`total` = the db's size in bytes; `done` stays 0: the walk
    /// follows the tree, not the file).
    Db,
    /// Comparing the db's values with the WAL's writes (`total` = the db's size).
    Values,
    /// Copying a db (`done`/`total` in bytes).
    Copy,
}

impl Stage {
    /// A short name for a progress line.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Idle => "starting",
            Stage::Wal => "reading the WAL",
            Stage::Db => "reading the db",
            Stage::Values => "checking values",
            Stage::Copy => "copying the db",
        }
    }

    fn from_u8(v: u8) -> Stage {
        match v {
            1 => Stage::Wal,
            2 => Stage::Db,
            3 => Stage::Values,
            4 => Stage::Copy,
            _ => Stage::Idle,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Stage::Idle => 0,
            Stage::Wal => 1,
            Stage::Db => 2,
            Stage::Values => 3,
            Stage::Copy => 4,
        }
    }
}

/// The stage and the bytes done of the stage's total.
#[derive(Debug, Default)]
pub struct Progress {
    stage: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    /// A new stage of `total` bytes begins (done = 0).
    pub fn begin(&self, stage: Stage, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.stage.store(stage.to_u8(), Ordering::Relaxed);
    }

    /// `done` bytes of the stage are behind us.
    pub fn set(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }

    /// `n` more bytes are behind us.
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// (stage, done, total), as last updated.
    pub fn get(&self) -> (Stage, u64, u64) {
        (
            Stage::from_u8(self.stage.load(Ordering::Relaxed)),
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// Follows a scan's events into a [`Progress`] of stage [`Stage::Wal`]: bytes of the
/// segments before the current one plus the end of the last record read.
#[derive(Debug, Default)]
pub struct ScanProgress {
    base: u64,
    current: u64,
}

impl ScanProgress {
    /// Account for one event of a scan.
    pub fn observe(&mut self, progress: &Progress, event: &crate::scan::Event<'_>) {
        match event {
            crate::scan::Event::SegmentStart { size, .. } => {
                self.base += self.current;
                self.current = *size;
                progress.set(self.base);
            }
            crate::scan::Event::Record(r) => progress.set(self.base + r.at.offset + r.frame_len),
            crate::scan::Event::Finding(_) => {}
        }
    }
}

/// The total size of the `.wal` files in `wal_dir` (0 when it cannot be listed).
pub fn wal_bytes(wal_dir: &std::path::Path) -> u64 {
    std::fs::read_dir(wal_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".wal"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_and_reset_done() {
        let p = Progress::default();
        assert_eq!(p.get(), (Stage::Idle, 0, 0));
        p.begin(Stage::Wal, 100);
        p.set(40);
        p.add(5);
        assert_eq!(p.get(), (Stage::Wal, 45, 100));
        p.begin(Stage::Copy, 7);
        assert_eq!(p.get(), (Stage::Copy, 0, 7));
        for s in [
            Stage::Idle,
            Stage::Wal,
            Stage::Db,
            Stage::Values,
            Stage::Copy,
        ] {
            assert_eq!(Stage::from_u8(s.to_u8()), s);
        }
    }
}

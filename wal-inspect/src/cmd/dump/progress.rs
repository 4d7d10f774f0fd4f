//! A one-line `\r` progress counter on stderr for long dumps.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

/// WALs smaller than this dump quickly enough to need no progress.
const MIN_BYTES: u64 = 100 * 1024 * 1024;

/// Redraw at most this often.
const EVERY: Duration = Duration::from_millis(200);

/// Bytes of the WAL read so far, drawn on stderr.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    /// Size of the segments before the current one, in bytes.
    base: u64,
    /// Size of the current segment, in bytes.
    current: u64,
    last: Instant,
    drawn: bool,
}

impl Progress {
    /// A counter when stderr is a terminal, stdout is not (output on the terminal shows
    /// progress by itself, and a `\r` line would tear it) and the WAL holds more than
    /// 100 MiB of segment files.
    pub fn new(wal_dir: &Path) -> Option<Progress> {
        if !std::io::stderr().is_terminal() || std::io::stdout().is_terminal() {
            return None;
        }
        let total: u64 = std::fs::read_dir(wal_dir)
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".wal"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        (total > MIN_BYTES).then(|| Progress {
            total,
            base: 0,
            current: 0,
            last: Instant::now(),
            drawn: false,
        })
    }

    /// A new segment of `size` bytes starts.
    pub fn segment(&mut self, size: u64) {
        self.base += self.current;
        self.current = size;
    }

    /// Reading reached `offset` in the current segment.
    pub fn at(&mut self, offset: u64) {
        if self.last.elapsed() < EVERY {
            return;
        }
        self.last = Instant::now();
        let done = (self.base + offset).min(self.total);
        let pct = done.saturating_mul(100) / self.total.max(1);
        let mib = |b: u64| b / (1024 * 1024);
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a failing stderr must not stop the dump.
        let _ = write!(
            err,
            "\rwal-inspect: dump: {} / {} MiB ({pct}%)",
            mib(done),
            mib(self.total)
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erase the line.
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

//! A one-line `\r` progress display on stderr for long reads (`dump`, `verify`,
//! `snapshot restore`): the library updates an [`etcd_wal::Progress`], a thread of ours
//! draws it at once, at each new stage and every 200 ms, and erases the line when the
//! command is done.
//!
//! Shown only when stderr is a terminal and the input is larger than 100 MiB
//! (`WAL_INSPECT_PROGRESS_MIN_MIB` sets another threshold, e.g. 0 to always show it).

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use etcd_wal::{Progress, Stage};

/// Inputs below this need no progress (MiB).
const MIN_MIB: u64 = 100;

/// Redraw this often.
const EVERY: Duration = Duration::from_millis(200);

/// The drawing thread; dropping it stops the thread and erases the line.
#[derive(Debug)]
pub struct Display {
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Display {
    /// A display for `command` reading `input_bytes`, when stderr is a terminal (and, with
    /// `stdout_free`, stdout is not: output streamed to the terminal shows progress by
    /// itself, and a `\r` line would tear it).
    pub fn start(command: &'static str, input_bytes: u64, stdout_free: bool) -> Option<Display> {
        if !std::io::stderr().is_terminal() || (stdout_free && std::io::stdout().is_terminal()) {
            return None;
        }
        let min_mib = std::env::var("WAL_INSPECT_PROGRESS_MIN_MIB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(MIN_MIB);
        if input_bytes < min_mib.saturating_mul(1024 * 1024) {
            return None;
        }
        let progress = Arc::new(Progress::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&progress), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || draw_until(command, &p, &s))
            .ok()?;
        Some(Display {
            progress,
            stop,
            thread: Some(thread),
        })
    }

    /// What the library updates.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One progress line (without the leading `\r`).
pub fn line(command: &str, stage: Stage, done: u64, total: u64) -> String {
    let mib = |b: u64| b / (1024 * 1024);
    match stage {
        Stage::Wal | Stage::Copy if total > 0 => format!(
            "wal-inspect: {command}: {} {} / {} MiB ({}%)",
            stage.as_str(),
            mib(done.min(total)),
            mib(total),
            done.min(total).saturating_mul(100) / total
        ),
        _ if total > 0 => format!(
            "wal-inspect: {command}: {} ({} MiB)",
            stage.as_str(),
            mib(total)
        ),
        _ => format!("wal-inspect: {command}: {}", stage.as_str()),
    }
}

/// Draw at once (a command that is over this size takes a while), then whenever the
/// stage changes and every [`EVERY`]; erase the line when told to stop.
fn draw_until(command: &str, progress: &Progress, stop: &AtomicBool) {
    let tick = EVERY / 10;
    let mut last: Option<(Stage, Instant)> = None;
    loop {
        let (stage, done, total) = progress.get();
        let due = match last {
            None => true,
            Some((s, at)) => s != stage || at.elapsed() >= EVERY,
        };
        if due {
            let mut err = std::io::stderr().lock();
            // Best effort: a failing stderr must not stop the command.
            let _ = write!(err, "\r\x1b[2K{}", line(command, stage, done, total));
            let _ = err.flush();
            last = Some((stage, Instant::now()));
        }
        if stop.load(Ordering::Relaxed) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            return;
        }
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let mib = 1024 * 1024;
        assert_eq!(
            line("verify", Stage::Wal, 340 * mib, 705 * mib),
            "wal-inspect: verify: reading the WAL 340 / 705 MiB (48%)"
        );
        assert_eq!(
            line("verify", Stage::Db, 0, 705 * mib),
            "wal-inspect: verify: reading the db (705 MiB)"
        );
        assert_eq!(
            line("snapshot restore", Stage::Copy, 2000 * mib, 1000 * mib),
            "wal-inspect: snapshot restore: copying the db 1000 / 1000 MiB (100%)"
        );
        assert_eq!(
            line("verify", Stage::Idle, 0, 0),
            "wal-inspect: verify: starting"
        );
    }
}

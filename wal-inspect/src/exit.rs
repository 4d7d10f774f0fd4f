//! Exit codes, one enum for every command (documented in `--help` and the README).

use std::process::ExitCode;

/// What a command's exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: clean / done / nothing to do.
    Clean = 0,
    /// 1: damage found (verify), a plan exists (repair).
    Damage = 1,
    /// 2: could not run (usage error, I/O error).
    CouldNotRun = 2,
    /// 3: refused (a live etcd holds the dir, data loss not allowed, target not empty).
    Refused = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

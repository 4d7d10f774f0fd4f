//! Errors: we could not do the job (damage in the data is a finding, not an error).

use std::path::PathBuf;

/// An error from `etcd-wal`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The path holds no WAL: no `*.wal` segment (etcd: "wal: file not found").
    #[error("{}: no WAL segments (*.wal) found", path.display())]
    NoSegments {
        /// The directory searched.
        path: PathBuf,
    },
    /// The path is not a data dir, member dir or WAL dir.
    #[error("{}: not an etcd data dir, member dir or WAL dir ({reason})", path.display())]
    NotADataDir {
        /// The path given.
        path: PathBuf,
        /// What was missing.
        reason: String,
    },
    /// The operation was interrupted through its cancellation flag.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// A stable snake_case code for `--json` output and exit-code mapping.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::NoSegments { .. } => "no_segments",
            Error::NotADataDir { .. } => "not_a_data_dir",
            Error::Interrupted => "interrupted",
        }
    }
}

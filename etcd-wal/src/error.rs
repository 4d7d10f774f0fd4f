//! The crate's one error type: we could not do the job (damage in the data is a
//! [`Finding`](crate::Finding), not an error).

use std::path::PathBuf;

/// An error from `etcd-wal`. Every variant names the file or directory concerned.
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
    /// The data no longer matches a repair plan (it changed since the plan was computed).
    #[error("{}: {what} (the data changed since the plan was made; plan again)", path.display())]
    StalePlan {
        /// The file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
    /// The plan has nothing `apply` can carry out (rejoin, impossible, nothing).
    #[error("a {0} plan has no file operations to apply")]
    NotApplicable(&'static str),
    /// No backup to undo.
    #[error("{}: no backup folder (wal-inspect-repair.*) to undo", path.display())]
    NoBackup {
        /// The data dir searched.
        path: PathBuf,
    },
    /// Files an undo would restore changed since the repair (etcd ran on them).
    #[error("{} changed since the repair (etcd ran on the repaired dir?); nothing was restored", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ChangedSinceRepair {
        /// The files.
        files: Vec<PathBuf>,
    },
    /// A backup folder's manifest is unreadable, or describes files elsewhere.
    #[error("{}: {what}", path.display())]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// What kind of error, without its details: for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::NoSegments`].
    NoSegments,
    /// [`Error::StalePlan`].
    StalePlan,
    /// [`Error::NotApplicable`].
    NotApplicable,
    /// [`Error::NoBackup`].
    NoBackup,
    /// [`Error::BadManifest`].
    BadManifest,
    /// [`Error::ChangedSinceRepair`].
    ChangedSinceRepair,
}

impl Error {
    /// What kind of error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::NoSegments { .. } => ErrorKind::NoSegments,
            Error::StalePlan { .. } => ErrorKind::StalePlan,
            Error::NotApplicable(_) => ErrorKind::NotApplicable,
            Error::NoBackup { .. } => ErrorKind::NoBackup,
            Error::BadManifest { .. } => ErrorKind::BadManifest,
            Error::ChangedSinceRepair { .. } => ErrorKind::ChangedSinceRepair,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

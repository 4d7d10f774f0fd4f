//! The crate's one error type: the job could not be done (damage in the data is a
//! [`Finding`](crate::Finding), not an error).

use std::path::PathBuf;

use crate::live::Holder;

/// An error from `etcd-member`. Every variant names the path concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a data dir, member dir or WAL dir.
    #[error("{}: not an etcd data dir, member dir or WAL dir: {reason}", path.display())]
    NotADataDir {
        /// The path given.
        path: PathBuf,
        /// What was missing.
        reason: String,
    },
    /// The WAL could not be read (or a repair could not be carried out).
    #[error(transparent)]
    Wal(#[from] etcd_wal::Error),
    /// A `.snap` file or the db could not be read.
    #[error(transparent)]
    Snap(#[from] etcd_snap::Error),
    /// A live etcd holds files the operation would change: nothing was changed.
    #[error("{}", live_message(.holders))]
    LiveEtcd {
        /// Who holds what.
        holders: Vec<Holder>,
    },
    /// The operation was interrupted through its flag; nothing was changed.
    #[error("interrupted")]
    Interrupted,
    /// A directory to be written is not empty: nothing was written.
    #[error("{}: exists and is not empty; give a new directory", path.display())]
    TargetNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// A recovery cannot be built from these dirs.
    #[error("{}: {reason}", path.display())]
    CannotRecover {
        /// The dir (or file) at fault.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn live_message(holders: &[Holder]) -> String {
    let who: Vec<String> = holders.iter().map(Holder::describe).collect();
    format!(
        "a live etcd holds the data: {}; stop it first",
        who.join(", ")
    )
}

/// What kind of error, without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::NotADataDir`].
    NotADataDir,
    /// [`Error::Wal`].
    Wal,
    /// [`Error::Snap`].
    Snap,
    /// [`Error::LiveEtcd`].
    LiveEtcd,
    /// [`Error::Interrupted`].
    Interrupted,
    /// [`Error::TargetNotEmpty`].
    TargetNotEmpty,
    /// [`Error::CannotRecover`].
    CannotRecover,
}

impl Error {
    /// What kind of error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::NotADataDir { .. } => ErrorKind::NotADataDir,
            Error::Wal(_) => ErrorKind::Wal,
            Error::Snap(_) => ErrorKind::Snap,
            Error::LiveEtcd { .. } => ErrorKind::LiveEtcd,
            Error::Interrupted => ErrorKind::Interrupted,
            Error::TargetNotEmpty { .. } => ErrorKind::TargetNotEmpty,
            Error::CannotRecover { .. } => ErrorKind::CannotRecover,
        }
    }

    /// Whether this is a refusal (a live etcd, data that changed under us) rather than a
    /// failure to run: the CLI's exit code 3.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::LiveEtcd { .. }
                | Error::TargetNotEmpty { .. }
                | Error::Wal(etcd_wal::Error::ChangedSinceRepair { .. })
                | Error::Wal(etcd_wal::Error::BadManifest { .. })
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

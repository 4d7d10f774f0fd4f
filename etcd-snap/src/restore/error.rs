//! [`RestoreError`]: everything that stops a restore or an extract.

use std::path::{Path, PathBuf};

use crate::bolt::write::WriteError;

/// Everything that stops a restore or an extract. Every variant names its path or flag.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Reading, writing, syncing or renaming failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the source db failed.
    #[error(transparent)]
    Read(#[from] crate::Error),
    /// Patching the copied db failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A URL in the flags is not one etcd accepts.
    #[error("{reason}: {url}")]
    BadUrl {
        /// The URL.
        url: String,
        /// etcd's reason.
        reason: &'static str,
    },
    /// `--initial-cluster` is malformed.
    #[error("--initial-cluster {value:?}: {reason}")]
    BadInitialCluster {
        /// The flag's value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// `--name` is not in `--initial-cluster` (etcd's message).
    #[error("couldn't find local name {name:?} in the initial cluster configuration")]
    LocalNameMissing {
        /// The `--name`.
        name: String,
    },
    /// The local member's URLs differ from `--initial-advertise-peer-urls`.
    #[error(
        "--initial-cluster has {initial_cluster} but missing from --initial-advertise-peer-urls={advertise}"
    )]
    AdvertiseMismatch {
        /// The local member's URLs in `--initial-cluster`.
        initial_cluster: String,
        /// `--initial-advertise-peer-urls`.
        advertise: String,
    },
    /// `--bump-revision` without `--mark-compacted`, or `--mark-compacted` without
    /// `--bump-revision` (etcdutl refuses both with this message).
    #[error("--mark-compacted required if --revision-bump > 0")]
    BumpWithoutMarkCompacted,
    /// The data dir exists and is not empty (etcd: `data-dir "…" not empty or could not be read`).
    #[error("data-dir {:?} not empty or could not be read", path.display().to_string())]
    DataDirNotEmpty {
        /// The data dir.
        path: PathBuf,
    },
    /// The WAL dir exists (etcd: `wal-dir "…" exists`).
    #[error("wal-dir {:?} exists", path.display().to_string())]
    WalDirExists {
        /// The WAL dir.
        path: PathBuf,
    },
    /// An output file exists already.
    #[error("{}: exists; refusing to overwrite", path.display())]
    TargetExists {
        /// The file.
        path: PathBuf,
    },
    /// The source file has no SHA-256 trailer and the check was not skipped.
    #[error(
        "{}: snapshot missing hash but --skip-hash-check=false: its size ({size} bytes) is not 32 more than a multiple of 512, so it is not a `snapshot save` file with a SHA-256 trailer (a bare db, e.g. a copied member/snap/db, never has one); check its integrity otherwise (`wal-inspect snapshot status`) and pass --skip-hash-check to restore it",
        path.display()
    )]
    MissingHash {
        /// The source file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
    },
    /// The SHA-256 of the db part differs from the trailer.
    #[error(
        "{}: expected sha256 {expected}, got {actual}: the snapshot file is damaged (its db bytes do not match the hash `snapshot save` appended)",
        path.display()
    )]
    HashMismatch {
        /// The source file.
        path: PathBuf,
        /// The trailer (lowercase hex).
        expected: String,
        /// SHA-256 of the db bytes (lowercase hex).
        actual: String,
    },
    /// The hashing thread of the copy panicked.
    #[error("the SHA-256 thread failed")]
    HashThread,
    /// A bucket the restore rewrites holds nested buckets (etcd never writes those).
    #[error("{}: bucket {bucket} holds nested buckets; not an etcd db", path.display())]
    NestedBucket {
        /// The db.
        path: PathBuf,
        /// The bucket.
        bucket: String,
    },
    /// The last key of the `key` bucket is not a revision (bump impossible).
    #[error("{}: last key of bucket `key` is not a revision: {reason}", path.display())]
    BadLastRevision {
        /// The db.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// `--compact-to` names a revision etcd would refuse to compact at.
    #[error("--compact-to {revision}: {why}")]
    CompactRevision {
        /// The revision given.
        revision: i64,
        /// etcd's error and the db's revisions.
        why: String,
    },
    /// The db changed while `db extract` copied it (a writer is active).
    #[error("{}: the db changed while it was copied (is etcd running on it?)", path.display())]
    ChangedWhileCopying {
        /// The db.
        path: PathBuf,
    },
}

impl RestoreError {
    /// Whether this is a refusal (exit code 3: target not empty, damaged or unverifiable
    /// snapshot) rather than a failure to run.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            RestoreError::DataDirNotEmpty { .. }
                | RestoreError::WalDirExists { .. }
                | RestoreError::TargetExists { .. }
                | RestoreError::MissingHash { .. }
                | RestoreError::HashMismatch { .. }
                | RestoreError::ChangedWhileCopying { .. }
        )
    }
}
pub(super) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

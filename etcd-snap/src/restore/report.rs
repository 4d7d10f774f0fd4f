//! What a restore reports: how the source's integrity was established ([`HashCheck`]) and
//! what was written ([`RestoreReport`]).

use std::path::PathBuf;

use super::ids::NewCluster;

/// How the source's integrity was established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "state", rename_all = "snake_case"))]
pub enum HashCheck {
    /// The trailer matched the SHA-256 of the db bytes.
    Verified {
        /// The SHA-256 (lowercase hex).
        sha256: String,
    },
    /// The file has a trailer but `--skip-hash-check` was given (the trailer was cut off).
    SkippedTrailer,
    /// The file has no trailer and `--skip-hash-check` was given.
    SkippedNoTrailer,
    /// The source was a member's `snap/db`, which never carries a trailer.
    MemberDb,
}

impl HashCheck {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            HashCheck::Verified { sha256 } => format!("sha256 {sha256} verified"),
            HashCheck::SkippedTrailer => {
                "sha256 trailer present but not checked (--skip-hash-check); trailer removed".into()
            }
            HashCheck::SkippedNoTrailer => {
                "no sha256 trailer (not a `snapshot save` file); not checked (--skip-hash-check)"
                    .into()
            }
            HashCheck::MemberDb => "member snap/db: has no sha256 trailer (etcd keeps none for \
                 its live db), so nothing to check; make sure no etcd was writing it"
                .into(),
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RestoreReport {
    /// The db that was copied.
    pub source_db: PathBuf,
    /// How its integrity was checked.
    pub hash: HashCheck,
    /// The new data dir.
    pub data_dir: PathBuf,
    /// The WAL dir written.
    pub wal_dir: PathBuf,
    /// The cluster (members, IDs).
    pub cluster: NewCluster,
    /// Consistent index (= number of members) and commit index of the new WAL.
    pub consistent_index: u64,
    /// Bytes of db copied.
    pub db_bytes: u64,
    /// The bump marker revision written, with `--bump-revision`.
    pub bumped_to: Option<i64>,
    /// `.snap` file written.
    pub snap_file: PathBuf,
    /// With `--compact-to`: the compaction.
    pub compacted: Option<super::Compacted>,
}

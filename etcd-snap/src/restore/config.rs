//! [`RestoreConfig`]: the restore flags, and the db their source names.

use std::path::{Path, PathBuf};

use super::error::RestoreError;

/// The restore flags (`etcdutl snapshot restore` 3.5 names and defaults, see [`Default`]).
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    /// A `snapshot save` file, a bare db file, or a data / member dir (its `snap/db`).
    pub source: PathBuf,
    /// `--data-dir` (etcdutl default: `<name>.etcd`).
    pub data_dir: PathBuf,
    /// `--wal-dir` (default `<data-dir>/member/wal`).
    pub wal_dir: Option<PathBuf>,
    /// `--name`.
    pub name: String,
    /// `--initial-cluster`.
    pub initial_cluster: String,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: String,
    /// `--skip-hash-check`.
    pub skip_hash_check: bool,
    /// `--bump-revision` (0: none).
    pub bump_revision: u64,
    /// `--mark-compacted`.
    pub mark_compacted: bool,
    /// Compact the restored db at this revision and write it defragmented (not an etcdutl
    /// flag; see [`super::Compacted`]).
    pub compact_to: Option<i64>,
    /// Whose bytes to write: etcdutl 3.5's (the default), 3.6's or 3.7's.
    pub target: RestoreTarget,
    /// Counts the bytes of the db copied, for a progress display on another thread.
    pub progress: Option<std::sync::Arc<etcd_wal::Progress>>,
}

/// The etcdutl release line whose output a restore reproduces. The lines differ in the
/// `.snap`'s v2 store (3.6+ count one failed get in its stats) and in protobuf encoding
/// (3.7, protobuf-go: the restore's ConfChange has no `ID`, its ConfState no `auto_leave`).
/// WAL records, IDs and buckets are otherwise the same. The db's bbolt transactions
/// differ from 3.5.12 on (see [`RestoreTarget::V3_5_12`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreTarget {
    /// etcdutl 3.4 and 3.5.0 to 3.5.11.
    #[default]
    V3_5,
    /// etcdutl 3.5.12 and later 3.5 (a membership delete commits its bbolt transaction at
    /// once: one more meta txid in the db, the same bytes otherwise).
    V3_5_12,
    /// etcdutl 3.6.
    V3_6,
    /// etcdutl 3.7.
    V3_7,
}

impl RestoreTarget {
    /// The target for etcdutl `major.minor.patch` (3.6 and 3.7 by their line, anything
    /// else as 3.5).
    pub fn for_version(minor: u32, patch: u32) -> RestoreTarget {
        match minor {
            7 => RestoreTarget::V3_7,
            6 => RestoreTarget::V3_6,
            5 if patch >= 12 => RestoreTarget::V3_5_12,
            _ => RestoreTarget::V3_5,
        }
    }

    pub(super) fn delete_commits(self) -> super::commits::DeleteCommits {
        match self {
            RestoreTarget::V3_5 => super::commits::DeleteCommits::AtClose,
            _ => super::commits::DeleteCommits::AtOnce,
        }
    }
}

impl Default for RestoreConfig {
    fn default() -> Self {
        RestoreConfig {
            source: PathBuf::new(),
            data_dir: PathBuf::from("default.etcd"),
            wal_dir: None,
            name: "default".to_owned(),
            initial_cluster: "default=http://localhost:2380".to_owned(),
            initial_cluster_token: "etcd-cluster".to_owned(),
            initial_advertise_peer_urls: "http://localhost:2380".to_owned(),
            skip_hash_check: false,
            bump_revision: 0,
            mark_compacted: false,
            compact_to: None,
            target: RestoreTarget::V3_5,
            progress: None,
        }
    }
}
/// Where the source's db is and whether it is a member's db.
pub(super) fn source_db(source: &Path) -> Result<(PathBuf, bool), RestoreError> {
    if source.is_dir() {
        Ok((crate::member::resolve_db_path(source)?, true))
    } else {
        Ok((source.to_path_buf(), false))
    }
}

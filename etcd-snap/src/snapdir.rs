//! Which `.snap` file etcd would load from a snap directory, and what else lies there.
//!
//! etcd 3.4/3.5 (`snapshotter.go` `snapNames`, `loadMatching`, `LoadNewestAvailable`):
//! delete `db.tmp*`; keep names ending in `.snap` (other names except `db` only warn);
//! sort them descending; read each in turn — a read error **renames it to
//! `<name>.broken`** — and take the first readable one whose (term, index) equals one of
//! the WAL's snapshot entries (those ≤ HardState.commit), or any readable one for `Load()`.
//!
//! This module only describes: it never renames, deletes or writes anything.

use std::path::{Path, PathBuf};

use etcd_proto::RaftPos;

use crate::error::{Error, ErrorInfo, Result};
use crate::schema::Member;
use crate::snapfile::{parse_snap_name, read_snap};

/// A readable `.snap` file's content, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SnapSummary {
    /// Raft term (from the metadata, not the name).
    pub term: u64,
    /// Raft index.
    pub index: u64,
    /// CRC-32C of the payload.
    pub crc: u32,
    /// Voters of the ConfState.
    pub voters: Vec<u64>,
    /// Learners of the ConfState.
    pub learners: Vec<u64>,
    /// Members from the v2 store (empty if it could not be parsed).
    pub members: Vec<Member>,
    /// Removed member IDs from the v2 store.
    pub removed_members: Vec<u64>,
    /// Why the v2 store JSON could not be parsed, if so.
    pub v2_problem: Option<String>,
    /// The v2 store's cluster version (`/0/version`).
    pub cluster_version: Option<String>,
    /// Top-level v2 nodes with content other than `/0` (etcd 3.6 refuses them).
    pub v2_custom_content: Vec<String>,
}

/// One `.snap` file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SnapEntry {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The snapshot the name says (term, then index), if it has etcd's form.
    pub name_ref: Option<RaftPos>,
    /// Decoded content, if readable.
    pub snapshot: Option<SnapSummary>,
    /// Why it is not readable (etcd would rename it to `.broken` if it reached it).
    pub problem: Option<ErrorInfo>,
    /// Whether etcd's loop reaches this file (files after the one it picks are not read).
    pub etcd_reads: bool,
    /// With a WAL filter: whether (term, index) is one of the WAL's snapshot entries.
    pub matches_wal: Option<bool>,
}

/// A non-`.snap` entry of the snap directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum OtherFile {
    /// `db`: the live bbolt backend.
    Db,
    /// `<index:016x>.snap.db`: a db received from the leader, not yet applied.
    SnapDb {
        /// File name.
        name: String,
        /// The index from the name.
        index: Option<u64>,
    },
    /// `db.tmp*`: defragmentation leftover (etcd deletes it at start).
    DbTmp {
        /// File name.
        name: String,
    },
    /// `tmp*`: partial `.snap.db` download leftover.
    Tmp {
        /// File name.
        name: String,
    },
    /// `*.broken`: a file etcd already set aside.
    Broken {
        /// File name.
        name: String,
    },
    /// Anything else (etcd warns "found unexpected non-snap file; skipping").
    Unexpected {
        /// File name.
        name: String,
    },
}

/// What a snap directory holds and what etcd would do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SnapDirReport {
    /// The directory.
    pub dir: PathBuf,
    /// `.snap` files in etcd's order (newest name first).
    pub snaps: Vec<SnapEntry>,
    /// Every other entry, sorted by name.
    pub others: Vec<OtherFile>,
    /// The file etcd would load; `None` = "snap: no available snapshot".
    pub picked: Option<String>,
    /// Files etcd would rename to `<name>.broken` on its way to the pick.
    pub would_rename_broken: Vec<String>,
    /// Files etcd would delete at start (`db.tmp*`).
    pub would_delete: Vec<String>,
    /// Whether the pick was restricted to WAL snapshot entries.
    pub wal_filtered: bool,
}

impl SnapDirReport {
    /// Whether a `db` file is present.
    pub fn has_db(&self) -> bool {
        self.others.contains(&OtherFile::Db)
    }

    /// The picked entry.
    pub fn picked_entry(&self) -> Option<&SnapEntry> {
        let name = self.picked.as_deref()?;
        self.snaps.iter().find(|s| s.name == name)
    }

    /// `.snap` files that cannot be read.
    pub fn broken(&self) -> impl Iterator<Item = &SnapEntry> {
        self.snaps.iter().filter(|s| s.problem.is_some())
    }
}

fn classify(name: &str) -> OtherFile {
    let name_s = name.to_owned();
    if name == "db" {
        OtherFile::Db
    } else if let Some(stem) = name.strip_suffix(".snap.db") {
        let index = (stem.len() == 16)
            .then(|| u64::from_str_radix(stem, 16).ok())
            .flatten();
        OtherFile::SnapDb {
            name: name_s,
            index,
        }
    } else if name.starts_with("db.tmp") {
        OtherFile::DbTmp { name: name_s }
    } else if name.starts_with("tmp") {
        OtherFile::Tmp { name: name_s }
    } else if name.ends_with(".broken") {
        OtherFile::Broken { name: name_s }
    } else {
        OtherFile::Unexpected { name: name_s }
    }
}

/// Inspect a snap directory (`member/snap`). With `wal_snaps`, the pick is restricted as
/// in `LoadNewestAvailable` (pass the WAL snapshot entries that are ≤ HardState.commit);
/// without, as in `Load()`. Every `.snap` file is read and described, including those
/// etcd would not reach.
pub fn inspect_snap_dir(
    dir: impl AsRef<Path>,
    wal_snaps: Option<&[RaftPos]>,
) -> Result<SnapDirReport> {
    let dir = dir.as_ref();
    let io = |e| Error::io(dir, e);
    let mut names = Vec::new();
    for ent in std::fs::read_dir(dir).map_err(io)? {
        let ent = ent.map_err(io)?;
        names.push(ent.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let mut report = SnapDirReport {
        dir: dir.to_path_buf(),
        snaps: Vec::new(),
        others: Vec::new(),
        picked: None,
        would_rename_broken: Vec::new(),
        would_delete: Vec::new(),
        wal_filtered: wal_snaps.is_some(),
    };
    for name in names.iter().rev() {
        if !name.ends_with(".snap") {
            continue;
        }
        let path = dir.join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let (snapshot, problem) = match read_snap(&path) {
            Ok(s) => {
                let (members, removed_members, v2_problem, cluster_version, v2_custom_content) =
                    match s.v2 {
                        Ok(v) => (
                            v.members,
                            v.removed,
                            None,
                            v.cluster_version,
                            v.custom_content,
                        ),
                        Err(p) => (Vec::new(), Vec::new(), Some(p), None, Vec::new()),
                    };
                let sum = SnapSummary {
                    term: s.term,
                    index: s.index,
                    crc: s.crc,
                    voters: s.conf_state.voters,
                    learners: s.conf_state.learners,
                    members,
                    removed_members,
                    v2_problem,
                    cluster_version,
                    v2_custom_content,
                };
                (Some(sum), None)
            }
            Err(e) => (None, Some(ErrorInfo::from(&e))),
        };
        let matches_wal = wal_snaps.map(|refs| {
            snapshot
                .as_ref()
                .is_some_and(|s| refs.iter().any(|r| r.term == s.term && r.index == s.index))
        });
        let etcd_reads = report.picked.is_none();
        if etcd_reads {
            if problem.is_some() {
                report.would_rename_broken.push(name.clone());
            } else if matches_wal.unwrap_or(true) {
                report.picked = Some(name.clone());
            }
        }
        report.snaps.push(SnapEntry {
            name: name.clone(),
            size,
            name_ref: parse_snap_name(name),
            snapshot,
            problem,
            etcd_reads,
            matches_wal,
        });
    }
    for name in &names {
        if name.ends_with(".snap") {
            continue;
        }
        let other = classify(name);
        if let OtherFile::DbTmp { name } = &other {
            report.would_delete.push(name.clone());
        }
        report.others.push(other);
    }
    Ok(report)
}

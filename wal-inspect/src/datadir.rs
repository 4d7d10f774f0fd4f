//! Resolving the PATH argument: a data dir, a member dir or a WAL dir.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Where the pieces of one member live.
#[derive(Debug, Clone)]
pub struct MemberPaths {
    /// The path the user gave (findings name files relative to it).
    pub root: PathBuf,
    /// The WAL directory.
    pub wal: PathBuf,
    /// The snap directory, when there is one.
    pub snap: Option<PathBuf>,
    /// The member directory (holding `snap/`), when there is one.
    pub member: Option<PathBuf>,
}

impl MemberPaths {
    /// Work out what `path` is. `wal_dir` overrides where the WAL lives.
    pub fn resolve(path: &Path, wal_dir: Option<&Path>) -> anyhow::Result<MemberPaths> {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if !meta.is_dir() {
            bail!(
                "{}: not a directory (give a data dir, member dir or WAL dir)",
                path.display()
            );
        }
        let member = if path.join("member").is_dir() {
            Some(path.join("member"))
        } else if path.join("wal").is_dir() || path.join("snap").is_dir() {
            Some(path.to_path_buf())
        } else {
            None
        };
        let wal = match (wal_dir, &member) {
            (Some(w), _) => w.to_path_buf(),
            (None, Some(m)) => m.join("wal"),
            (None, None) if has_wal_files(path)? => path.to_path_buf(),
            (None, None) => bail!(
                "{}: not an etcd data dir (no member/), member dir (no wal/ or snap/) or WAL dir (no *.wal)",
                path.display()
            ),
        };
        let snap = member
            .as_ref()
            .map(|m| m.join("snap"))
            .filter(|s| s.is_dir());
        let member = member.filter(|_| snap.is_some());
        Ok(MemberPaths {
            root: path.to_path_buf(),
            wal,
            snap,
            member,
        })
    }

    /// `file` relative to the path the user gave, when it lies below it.
    pub fn relative(&self, file: &Path) -> String {
        file.strip_prefix(&self.root)
            .unwrap_or(file)
            .display()
            .to_string()
    }
}

fn has_wal_files(dir: &Path) -> anyhow::Result<bool> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().ends_with(".wal") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One pass over a member's WAL (with its membership history) and the snap side.
pub struct MemberData {
    /// The WAL pass.
    pub scan: etcd_wal::scan::Scan,
    /// Membership changes and terms read on the way.
    pub history: etcd_wal::membership::History,
    /// `.snap` files and the db, when there is a member dir.
    pub member: Option<etcd_snap::member::MemberReport>,
}

/// Read a member as etcd would at start: the WAL once (findings, history), then the
/// `.snap` files (picked among the WAL's valid snapshot records) and the db. Read-only.
pub fn read_member(paths: &MemberPaths) -> anyhow::Result<MemberData> {
    read_member_with(paths, &mut |_| {})
}

/// Like [`read_member`], also lending every event of the WAL pass to `also`.
pub fn read_member_with(
    paths: &MemberPaths,
    also: &mut dyn FnMut(&etcd_wal::scan::Event<'_>),
) -> anyhow::Result<MemberData> {
    let mut history = etcd_wal::membership::HistoryBuilder::new();
    let scan = etcd_wal::scan::scan_dir_with(&paths.wal, &mut |e| {
        history.observe(&e);
        also(&e);
    })?;
    let history = history.finish();
    let wal_snaps: Option<Vec<etcd_snap::snapdir::SnapRef>> =
        etcd_wal::predict::valid_snapshot_entries(&scan)
            .ok()
            .map(|v| {
                v.into_iter()
                    .map(|(term, index)| etcd_snap::snapdir::SnapRef { term, index })
                    .collect()
            });
    let member = paths
        .member
        .as_ref()
        .map(|m| etcd_snap::member::inspect_member(m, wal_snaps.as_deref()))
        .transpose()?;
    Ok(MemberData {
        scan,
        history,
        member,
    })
}

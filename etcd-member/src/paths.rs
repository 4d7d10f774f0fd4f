//! What a path names: a data dir, a member dir or a WAL dir — one definition for every
//! command, and for every place that names "the data dir" in advice.

use std::path::{Component, Path, PathBuf};

use crate::error::Error;

/// Where the pieces of one member live. Every path is absolute (made absolute from the
/// working directory at resolution, without following symlinks), so advice that names
/// them works from any directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDir {
    /// The path as given (findings name files relative to it).
    pub given: PathBuf,
    /// `given`, absolute.
    pub root: PathBuf,
    /// The etcd `--data-dir`: the directory holding `member/` (for a member dir that is not
    /// named `member`, the member dir itself; for a bare WAL dir, its parent).
    pub data_dir: PathBuf,
    /// The member directory (holding `wal/` and `snap/`), when there is one.
    pub member: Option<PathBuf>,
    /// The WAL directory.
    pub wal: PathBuf,
    /// Whether the WAL lives outside the member dir (etcd's `--wal-dir`).
    pub dedicated_wal: bool,
    /// The snap directory (`<member>/snap`), when it exists.
    pub snap: Option<PathBuf>,
}

/// `path` made absolute lexically: relative to the working directory, `.` and `..`
/// folded, symlinks not followed.
pub fn absolute(path: &Path) -> Result<PathBuf, Error> {
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c.as_os_str()),
        }
    }
    Ok(out)
}

impl MemberDir {
    /// Work out what `path` is. `wal_dir` is etcd's `--wal-dir` (the WAL kept elsewhere).
    ///
    /// - a data dir holds `member/`;
    /// - a member dir holds `wal/` or `snap/`;
    /// - a WAL dir holds `*.wal` files; when it is a member's `wal/` (its parent holds
    ///   `snap/`), the member's `.snap` files and db are read as for the member dir.
    pub fn resolve(path: &Path, wal_dir: Option<&Path>) -> Result<MemberDir, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_dir() {
            return Err(Error::NotADataDir {
                path: path.to_path_buf(),
                reason: "not a directory (give a data dir, member dir or WAL dir)".into(),
            });
        }
        let root = absolute(path)?;
        let is_member_dir = |p: &Path| p.join("wal").is_dir() || p.join("snap").is_dir();
        let (member, wal) = if root.join("member").is_dir() {
            let m = root.join("member");
            (Some(m.clone()), m.join("wal"))
        } else if is_member_dir(&root) {
            (Some(root.clone()), root.join("wal"))
        } else if has_wal_files(&root)? || wal_dir.is_some() {
            // A WAL dir: a member's own `wal/` when its parent is that member's dir.
            let parent = root
                .parent()
                .filter(|p| root.file_name().is_some_and(|n| n == "wal") && p.join("snap").is_dir())
                .map(Path::to_path_buf);
            (parent, root.clone())
        } else {
            return Err(Error::NotADataDir {
                path: path.to_path_buf(),
                reason: "no member/ (data dir), no wal/ or snap/ (member dir), no *.wal (WAL dir)"
                    .into(),
            });
        };
        let wal = match wal_dir {
            Some(w) => absolute(w)?,
            None => wal,
        };
        let snap = member
            .as_ref()
            .map(|m| m.join("snap"))
            .filter(|s| s.is_dir());
        let member = member.filter(|_| snap.is_some());
        let data_dir = match &member {
            Some(m) if m.file_name().is_some_and(|n| n == "member") => {
                m.parent().map_or_else(|| m.clone(), Path::to_path_buf)
            }
            Some(m) => m.clone(),
            None => wal.parent().map_or_else(|| wal.clone(), Path::to_path_buf),
        };
        let dedicated_wal = match &member {
            Some(m) => wal != m.join("wal"),
            None => false,
        };
        Ok(MemberDir {
            given: path.to_path_buf(),
            root,
            data_dir,
            member,
            wal,
            dedicated_wal,
            snap,
        })
    }

    /// `file` as findings name it: relative to the path given when it lies below it (with
    /// `..` steps when it lies beside it, as a member's `snap/db` does for its `wal/`),
    /// else absolute.
    pub fn relative(&self, file: &Path) -> String {
        if let Ok(rel) = file.strip_prefix(&self.root) {
            return rel.display().to_string();
        }
        // Beside the root: go up until a common ancestor (at most two levels).
        let mut up = PathBuf::new();
        let mut base = self.root.as_path();
        for _ in 0..2 {
            let Some(parent) = base.parent() else { break };
            up.push("..");
            base = parent;
            if let Ok(rel) = file.strip_prefix(base) {
                return up.join(rel).display().to_string();
            }
        }
        file.display().to_string()
    }

    /// `file` as the user named its directory: the path given joined with the part below
    /// it (`data/m1/member/wal`), else absolute.
    pub fn shown(&self, file: &Path) -> String {
        match file.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => self.given.display().to_string(),
            Ok(rel) => self.given.join(rel).display().to_string(),
            Err(_) => file.display().to_string(),
        }
    }

    /// The db file (`<member>/snap/db`), when there is a snap dir.
    pub fn db(&self) -> Option<PathBuf> {
        self.snap.as_ref().map(|s| s.join("db"))
    }

    /// Every file a live etcd locks: its WAL segments (and the segment it preallocates,
    /// `*.wal.tmp`) and the db.
    pub fn lockable_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let Ok(d) = etcd_wal::segment::WalDir::read(&self.wal) {
            files.extend(d.segments.into_iter().map(|s| s.path));
            files.extend(d.tmp);
        }
        files.extend(self.db());
        files
    }
}

fn has_wal_files(dir: &Path) -> Result<bool, Error> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_name().to_string_lossy().ends_with(".wal") {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_definition_of_the_data_dir() {
        let t = tempfile::tempdir().unwrap();
        let data = t.path().join("m1");
        std::fs::create_dir_all(data.join("member/wal")).unwrap();
        std::fs::create_dir_all(data.join("member/snap")).unwrap();
        std::fs::write(
            data.join("member/wal/0000000000000000-0000000000000000.wal"),
            b"",
        )
        .unwrap();
        let from_data = MemberDir::resolve(&data, None).unwrap();
        let from_member = MemberDir::resolve(&data.join("member"), None).unwrap();
        let from_wal = MemberDir::resolve(&data.join("member/wal"), None).unwrap();
        for d in [&from_data, &from_member, &from_wal] {
            assert_eq!(d.data_dir, data);
            assert_eq!(d.member.as_deref(), Some(data.join("member").as_path()));
            assert_eq!(d.wal, data.join("member/wal"));
            assert_eq!(d.db(), Some(data.join("member/snap/db")));
            assert!(!d.dedicated_wal);
        }
        assert_eq!(
            from_wal.relative(&data.join("member/snap/db")),
            "../snap/db"
        );
        assert_eq!(
            from_data.relative(&data.join("member/snap/db")),
            "member/snap/db"
        );
        let e = MemberDir::resolve(t.path(), None).unwrap_err();
        assert!(e.to_string().contains("no member/"), "{e}");
    }

    #[test]
    fn absolute_folds_dots() {
        let a = absolute(Path::new("/a/b/../c/./d")).unwrap();
        assert_eq!(a, PathBuf::from("/a/c/d"));
    }
}

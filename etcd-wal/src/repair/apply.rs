//! Carrying a [`RepairPlan`] out, and undoing it. The only code in this crate that changes
//! existing files.
//!
//! Order (each step fsyncs what it wrote, files and directories):
//! 1. **backup**: copy every file the plan changes or removes into
//!    `<data-dir>/wal-inspect-repair.<YYYYMMDD.HHMMSS.ffffff>/` (like etcd's `.wal.broken`
//!    copies and `<wal-dir>.broken.<timestamp>` dirs), with a `manifest.json`;
//! 2. **stage**: build `<root>.wal-inspect-new` beside the directory `root` that holds every
//!    change (the WAL dir, or the member dir when `.snap` files change too): unchanged
//!    files are hard links, changed ones new files;
//! 3. **exchange**: swap `root` and the staged dir with one `renameat2(RENAME_EXCHANGE)` —
//!    the commit point;
//! 4. **cleanup**: remove the old tree (now at the staged name) and mark the manifest done.
//!
//! Stopped before step 3 the data dir is as before (plus the backup folder and a staged
//! dir that etcd never reads); after it, as planned. The next apply or undo removes
//! leftovers.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{FileChange, PlanKind, RepairPlan};
use crate::error::Error;

/// Prefix of backup folders in the data dir.
pub const BACKUP_PREFIX: &str = "wal-inspect-repair.";
/// Suffix of a staged directory.
pub const STAGED_SUFFIX: &str = ".wal-inspect-new";
/// Suffix a backup folder gets once undone.
pub const UNDONE_SUFFIX: &str = ".undone";
const MANIFEST: &str = "manifest.json";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::io(path, source)
}

/// Options of [`apply`] / [`undo`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Stop after this many steps (1 backup, 2 stage, 3 exchange, 4 cleanup), leaving the
    /// rest undone, as a crash would: for testing interruption.
    pub stop_after: Option<u32>,
    /// [`undo`]: restore even files that changed since the repair (etcd ran on them).
    pub force: bool,
}

/// What [`apply`] / [`undo`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Applied {
    /// The backup folder written (apply) or restored from (undo).
    pub backup: PathBuf,
    /// Steps completed (4 when done).
    pub steps: u32,
    /// Whether every step ran.
    pub completed: bool,
    /// Files restored (undo) or changed (apply).
    pub files: Vec<PathBuf>,
}

/// What a staged file becomes.
#[derive(Debug, Clone)]
enum Action {
    /// Left out of the new tree.
    Drop,
    /// First `n` bytes of the old file.
    Truncate(u64),
    /// The old file with the bytes at an offset replaced.
    Patch(u64, Vec<u8>),
    /// New contents.
    Bytes(Vec<u8>),
    /// A copy of another file (its first bytes only, when given).
    CopyFrom(PathBuf, Option<u64>),
}

/// Leftovers of an interrupted apply/undo (staged dirs) near `data_dir` / `wal_dir`.
pub fn leftovers(data_dir: &Path, wal_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![data_dir.to_path_buf(), data_dir.join("member")];
    for d in [wal_dir.parent(), wal_dir.parent().and_then(Path::parent)]
        .into_iter()
        .flatten()
    {
        if !dirs.iter().any(|x| x == d) {
            dirs.push(d.to_path_buf());
        }
    }
    for d in dirs {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().ends_with(STAGED_SUFFIX) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn fsync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io(dir))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Copy `from` into a new file `to` (first `len` bytes when given), fsynced.
fn copy_file(from: &Path, to: &Path, len: Option<u64>, mode: u32) -> Result<(), Error> {
    let mut src = fs::File::open(from).map_err(io(from))?;
    let mut dst = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)
        .map_err(io(to))?;
    match len {
        Some(n) => {
            let mut limited = std::io::Read::take(&mut src, n);
            std::io::copy(&mut limited, &mut dst).map_err(io(to))?;
        }
        None => {
            std::io::copy(&mut src, &mut dst).map_err(io(to))?;
        }
    }
    dst.sync_all().map_err(io(to))
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777)
}

/// The directory holding every path: the WAL dir, or its parent when other files change.
fn common_root(paths: &[&Path]) -> Option<PathBuf> {
    let mut root = paths.first()?.parent()?.to_path_buf();
    while !paths.iter().all(|p| p.starts_with(&root)) {
        root = root.parent()?.to_path_buf();
    }
    Some(root)
}

/// The directories whose contents one exchange each replaces, in commit order. Normally
/// one: the directory holding every changed path. With a WAL dir outside the data dir
/// (etcd's `--wal-dir`) the changes inside it and the others (a rebuild's `.snap` in
/// `member/snap`) get one root each, the WAL dir last, so that an interruption between the
/// two leaves the old WAL with at most one extra `.snap` that no WAL snapshot record names
/// (etcd 3.5 ignores it) — never a common ancestor of both (which could be `/`).
fn roots(paths: &[&Path], data_dir: &Path, wal_dir: &Path) -> Option<Vec<PathBuf>> {
    let separate = !wal_dir.starts_with(data_dir);
    let (wal, other): (Vec<&Path>, Vec<&Path>) = paths
        .iter()
        .partition(|p| separate && p.starts_with(wal_dir));
    if wal.is_empty() || other.is_empty() {
        return Some(vec![common_root(paths)?]);
    }
    Some(vec![common_root(&other)?, common_root(&wal)?])
}

/// Where a changed file is kept in the backup folder: relative to the data dir, or
/// `wal-dir/<name>` for a file in a WAL dir outside it.
fn backup_name(data_dir: &Path, wal_dir: &Path, p: &Path) -> PathBuf {
    match (p.strip_prefix(data_dir), p.strip_prefix(wal_dir)) {
        (Ok(r), _) => r.to_path_buf(),
        (Err(_), Ok(r)) => Path::new("wal-dir").join(r),
        _ => rel(data_dir, p),
    }
}

/// Build `staged` as a copy of `root` with `actions` applied (unchanged files hard-linked).
fn stage(root: &Path, staged: &Path, actions: &BTreeMap<PathBuf, Action>) -> Result<(), Error> {
    fs::DirBuilder::new()
        .mode(mode_of(root))
        .create(staged)
        .map_err(io(staged))?;
    let mut seen = Vec::new();
    for entry in fs::read_dir(root).map_err(io(root))? {
        let entry = entry.map_err(io(root))?;
        let from = entry.path();
        let to = staged.join(entry.file_name());
        let ft = entry.file_type().map_err(io(&from))?;
        seen.push(from.clone());
        if ft.is_dir() {
            stage(&from, &to, actions)?;
            continue;
        }
        if ft.is_symlink() {
            let target = fs::read_link(&from).map_err(io(&from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(io(&to))?;
            continue;
        }
        let mode = mode_of(&from);
        match actions.get(&from) {
            None => fs::hard_link(&from, &to).map_err(io(&to))?,
            Some(Action::Drop) => {}
            Some(Action::Truncate(n)) => copy_file(&from, &to, Some(*n), mode)?,
            Some(Action::Patch(off, bytes)) => {
                copy_file(&from, &to, None, mode)?;
                let f = fs::OpenOptions::new()
                    .write(true)
                    .open(&to)
                    .map_err(io(&to))?;
                std::os::unix::fs::FileExt::write_all_at(&f, bytes, *off).map_err(io(&to))?;
                f.sync_all().map_err(io(&to))?;
            }
            Some(Action::Bytes(b)) => write_file(&to, b, mode)?,
            Some(Action::CopyFrom(src, len)) => copy_file(src, &to, *len, mode)?,
        }
    }
    // New files in this directory.
    for (path, action) in actions {
        if path.parent() != Some(root) || seen.contains(path) {
            continue;
        }
        let Some(name) = path.file_name() else {
            continue;
        };
        let to = staged.join(name);
        match action {
            Action::Bytes(b) => write_file(&to, b, 0o600)?,
            Action::CopyFrom(src, len) => copy_file(src, &to, *len, 0o600)?,
            _ => {}
        }
    }
    fsync_dir(staged)
}

/// Swap `a` and `b` atomically.
fn exchange(a: &Path, b: &Path) -> Result<(), Error> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        a,
        rustix::fs::CWD,
        b,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .map_err(|e| Error::Io {
        path: a.to_path_buf(),
        source: std::io::Error::from(e),
    })
}

/// `<root>.wal-inspect-new`, beside `root` (never inside it: a trailing separator is
/// dropped first).
fn staged_path(root: &Path) -> PathBuf {
    let root: PathBuf = root.components().collect();
    let mut s = root.into_os_string();
    s.push(STAGED_SUFFIX);
    PathBuf::from(s)
}

fn clean_leftovers(data_dir: &Path, wal_dir: &Path) -> Result<(), Error> {
    for l in leftovers(data_dir, wal_dir) {
        fs::remove_dir_all(&l).map_err(io(&l))?;
    }
    Ok(())
}

/// Stage, exchange, clean up: steps 2–4, each over every root in order.
fn commit(
    roots: &[PathBuf],
    actions: &BTreeMap<PathBuf, Action>,
    done: &mut u32,
    opts: ApplyOptions,
) -> Result<bool, Error> {
    let parent = |root: &Path| root.parent().unwrap_or(Path::new(".")).to_path_buf();
    for root in roots {
        stage(root, &staged_path(root), actions)?;
        fsync_dir(&parent(root))?;
    }
    *done += 1;
    if opts.stop_after == Some(*done) {
        return Ok(false);
    }
    for root in roots {
        exchange(&staged_path(root), root)?;
        fsync_dir(&parent(root))?;
    }
    *done += 1;
    if opts.stop_after == Some(*done) {
        return Ok(false);
    }
    for root in roots {
        let staged = staged_path(root);
        fs::remove_dir_all(&staged).map_err(io(&staged))?;
        fsync_dir(&parent(root))?;
    }
    Ok(true)
}

/// `YYYYMMDD.HHMMSS.ffffff` in UTC (etcd's `.broken.<timestamp>` format).
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = etcd_proto::text::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}.{:02}{:02}{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

fn rel(base: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(base).map_or_else(
        |_| {
            PathBuf::from("abs").join(
                p.components()
                    .filter(|c| matches!(c, std::path::Component::Normal(_)))
                    .collect::<PathBuf>(),
            )
        },
        Path::to_path_buf,
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> Result<Option<String>, Error> {
    match fs::metadata(path) {
        Ok(_) => sha256_stream(path, None, None).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The SHA-256 of `path`'s first `len` bytes (all without), with `patch` (offset, bytes)
/// laid over them, read in 1 MiB pieces: memory does not grow with the file (a db may
/// be many GiB).
fn sha256_stream(
    path: &Path,
    len: Option<u64>,
    patch: Option<(u64, &[u8])>,
) -> Result<String, Error> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let f = fs::File::open(path).map_err(io(path))?;
    let mut r = f.take(len.unwrap_or(u64::MAX));
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = r.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        let chunk = buf.get_mut(..n).unwrap_or_default();
        if let Some((off, bytes)) = patch {
            let end = at + n as u64;
            let pend = off + bytes.len() as u64;
            if off < end && pend > at {
                let from = off.max(at);
                let to = pend.min(end);
                for i in from..to {
                    let (c, b) = ((i - at) as usize, (i - off) as usize);
                    if let (Some(x), Some(y)) = (chunk.get_mut(c), bytes.get(b)) {
                        *x = *y;
                    }
                }
            }
        }
        h.update(&*chunk);
        at += n as u64;
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn absolute_or_given(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Check that every file still is as the plan saw it.
fn check_fresh(plan: &RepairPlan) -> Result<(), Error> {
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).map_err(io(p));
    let removed: Vec<&Path> = plan
        .changes
        .iter()
        .filter(|c| matches!(c, FileChange::Remove { .. }))
        .map(FileChange::path)
        .collect();
    for c in &plan.changes {
        let stale = |what: String| Error::StalePlan {
            path: c.path().to_path_buf(),
            what,
        };
        match c {
            FileChange::Truncate {
                path, from_size, ..
            }
            | FileChange::Remove {
                path,
                size: from_size,
            } => {
                let s = size(path)?;
                if s != *from_size {
                    return Err(stale(format!("size {s}, plan expected {from_size}")));
                }
            }
            FileChange::Patch {
                path,
                size: want,
                offset,
                old,
                ..
            } => {
                if let Some(now) = bytes_if_changed(path, *want, *offset, &[*old])? {
                    let what = match now {
                        Now::Size(s) => format!("size {s}, plan expected {want}"),
                        Now::Bytes(b) => format!(
                            "byte {offset} is {:#04x}, plan expected {old:#04x}",
                            b.first().copied().unwrap_or_default()
                        ),
                    };
                    return Err(stale(what));
                }
            }
            FileChange::Overwrite {
                path,
                size: want,
                offset,
                old,
                ..
            } => {
                if let Some(now) = bytes_if_changed(path, *want, *offset, old)? {
                    let what = match now {
                        Now::Size(s) => format!("size {s}, plan expected {want}"),
                        Now::Bytes(_) => {
                            format!("the {} bytes at {offset} changed since the plan", old.len())
                        }
                    };
                    return Err(stale(what));
                }
            }
            FileChange::CopyFrom { path, from, size } => {
                if path.exists() && !removed.contains(&path.as_path()) {
                    return Err(stale("exists already".into()));
                }
                let have = fs::metadata(from).map_err(io(from))?.len();
                if have < *size {
                    return Err(Error::StalePlan {
                        path: from.clone(),
                        what: format!("size {have}, plan copies {size} bytes"),
                    });
                }
            }
            FileChange::Create { path, .. } => {
                if path.exists() && !removed.contains(&path.as_path()) {
                    return Err(stale("exists already".into()));
                }
            }
        }
    }
    Ok(())
}

/// What a file holds now that a plan did not expect.
enum Now {
    /// Its size.
    Size(u64),
    /// The bytes where the plan expected others.
    Bytes(Vec<u8>),
}

/// Whether `path` still has size `want` and the bytes `old` at `offset` (`None`), or what
/// differs.
fn bytes_if_changed(path: &Path, want: u64, offset: u64, old: &[u8]) -> Result<Option<Now>, Error> {
    let s = fs::metadata(path).map_err(io(path))?.len();
    if s != want {
        return Ok(Some(Now::Size(s)));
    }
    let f = fs::File::open(path).map_err(io(path))?;
    let mut b = vec![0u8; old.len()];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, offset).map_err(io(path))?;
    Ok((b != old).then_some(Now::Bytes(b)))
}

/// Carry out `plan`: backup, stage, exchange, cleanup (see the module docs). The caller
/// has checked that no live etcd holds the files and that data loss is allowed.
pub fn apply(plan: &RepairPlan, opts: ApplyOptions) -> Result<Applied, Error> {
    if matches!(plan.kind, PlanKind::Rejoin | PlanKind::Impossible) {
        return Err(Error::NotApplicable(plan.kind.as_str()));
    }
    clean_leftovers(&plan.data_dir, &plan.wal_dir)?;
    let backup = plan
        .data_dir
        .join(format!("{BACKUP_PREFIX}{}", timestamp()));
    if plan.changes.is_empty() {
        return Ok(Applied {
            backup,
            steps: 0,
            completed: true,
            files: Vec::new(),
        });
    }
    check_fresh(plan)?;
    let paths: Vec<&Path> = plan.changes.iter().map(FileChange::path).collect();
    let roots = roots(&paths, &plan.data_dir, &plan.wal_dir).ok_or_else(|| Error::StalePlan {
        path: plan.wal_dir.clone(),
        what: "no directory holds the changed files".into(),
    })?;
    let name = |p: &Path| backup_name(&plan.data_dir, &plan.wal_dir, p);
    let mut origins = serde_json::Map::new();
    // What each touched file holds before and after (sha256): undo restores only files
    // still in one of these states.
    let mut states = serde_json::Map::new();

    // 1. backup
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&backup)
        .map_err(io(&backup))?;
    let mut saved = Vec::new();
    let mut created = Vec::new();
    let mut actions: BTreeMap<PathBuf, Action> = BTreeMap::new();
    for c in &plan.changes {
        let path = c.path().to_path_buf();
        match c {
            FileChange::Create { bytes, .. } => {
                let r = name(&path);
                origins.insert(r.display().to_string(), path.display().to_string().into());
                created.push(r);
                let before = states
                    .get(&path.display().to_string())
                    .and_then(|v| v.get("before"))
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                states.insert(
                    path.display().to_string(),
                    serde_json::json!({"before": before, "after": sha256_hex(bytes)}),
                );
                actions.insert(path, Action::Bytes(bytes.clone()));
                continue;
            }
            FileChange::CopyFrom { from, size, .. } => {
                let r = name(&path);
                origins.insert(r.display().to_string(), path.display().to_string().into());
                created.push(r);
                let before = states
                    .get(&path.display().to_string())
                    .and_then(|v| v.get("before"))
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                states.insert(
                    path.display().to_string(),
                    serde_json::json!({"before": before, "after": sha256_stream(from, Some(*size), None)?}),
                );
                actions.insert(path, Action::CopyFrom(from.clone(), Some(*size)));
                continue;
            }
            FileChange::Truncate { to_size, .. } => {
                actions.insert(path.clone(), Action::Truncate(*to_size));
            }
            FileChange::Patch { offset, new, .. } => {
                actions.insert(path.clone(), Action::Patch(*offset, vec![*new]));
            }
            FileChange::Overwrite { offset, new, .. } => {
                actions.insert(path.clone(), Action::Patch(*offset, new.clone()));
            }
            FileChange::Remove { .. } => {
                actions.entry(path.clone()).or_insert(Action::Drop);
            }
        }
        let r = name(&path);
        if saved.contains(&r) {
            continue;
        }
        origins.insert(r.display().to_string(), path.display().to_string().into());
        let dst = backup.join(&r);
        if let Some(parent) = dst.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io(parent))?;
        }
        copy_file(&path, &dst, None, mode_of(&path))?;
        if let Some(parent) = dst.parent() {
            fsync_dir(parent)?;
        }
        let after = match actions.get(&path) {
            Some(Action::Truncate(n)) => {
                serde_json::Value::from(sha256_stream(&dst, Some(*n), None)?)
            }
            Some(Action::Patch(off, bytes)) => {
                serde_json::Value::from(sha256_stream(&dst, None, Some((*off, bytes)))?)
            }
            _ => serde_json::Value::Null,
        };
        let original = sha256_stream(&dst, None, None)?;
        // A file removed and created again (a rebuilt first segment) keeps the "after" of
        // its creation.
        let prev_after = states
            .get(&path.display().to_string())
            .and_then(|v| v.get("after"))
            .cloned()
            .filter(|v| !v.is_null());
        states.insert(
            path.display().to_string(),
            serde_json::json!({"before": original, "after": prev_after.unwrap_or(after)}),
        );
        saved.push(r);
    }
    let manifest = serde_json::json!({
        "tool": "wal-inspect repair",
        "version": 2,
        "states": states,
        "last_index": plan.kept.last_index,
        "plan": plan.kind.as_str(),
        "summary": plan.summary,
        "data_dir": absolute_or_given(&plan.data_dir),
        "wal_dir": absolute_or_given(&plan.wal_dir),
        "root": roots.last(),
        "roots": roots,
        "saved": saved,
        "created": created,
        "origins": origins,
    });
    write_file(
        &backup.join(MANIFEST),
        manifest.to_string().as_bytes(),
        0o600,
    )?;
    fsync_dir(&backup)?;
    fsync_dir(&plan.data_dir)?;
    let mut done = 1;
    let files: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    if opts.stop_after == Some(done) {
        return Ok(Applied {
            backup,
            steps: done,
            completed: false,
            files,
        });
    }
    let completed = commit(&roots, &actions, &mut done, opts)?;
    Ok(Applied {
        backup,
        steps: if completed { 4 } else { done },
        completed,
        files,
    })
}

/// The newest backup folder in `data_dir` that was not undone yet.
pub fn newest_backup(data_dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(data_dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(BACKUP_PREFIX) && !n.ends_with(UNDONE_SUFFIX)
        })
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).is_file())
        .collect();
    found.sort();
    found.pop()
}

/// A file undo would restore that no longer holds what the repair left there (nor what it
/// found): something wrote to it since — etcd, when it ran on the repaired dir.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Changed {
    /// The file (absolute).
    pub path: PathBuf,
    /// What it holds now.
    pub what: String,
}

/// What [`undo`] would do, computed read-only from the newest backup.
#[derive(Debug, Clone)]
pub struct UndoPlan {
    /// The backup folder.
    pub backup: PathBuf,
    /// Files put back from the backup (absolute, under the data dir or WAL dir given).
    pub restore: Vec<PathBuf>,
    /// Files the repair created, removed again.
    pub remove: Vec<PathBuf>,
    /// Files changed since the repair.
    pub changed: Vec<Changed>,
    /// The last raft index of the log the repair left (to say how many entries etcd
    /// appended since).
    pub last_index_after_repair: Option<u64>,
    roots: Vec<PathBuf>,
    actions: BTreeMap<PathBuf, Action>,
}

impl UndoPlan {
    /// Every file the undo changes.
    pub fn files(&self) -> Vec<PathBuf> {
        self.actions.keys().cloned().collect()
    }
}

/// Plan putting the newest backup in `data_dir` back. The backup names the paths it was
/// made for; when the data dir (or the WAL dir) has moved since, they are taken relative to
/// the dirs given here, and a path outside both is refused: undo touches nothing but the
/// dir it is given.
pub fn plan_undo(data_dir: &Path, wal_dir: &Path) -> Result<UndoPlan, Error> {
    let data_dir = absolute_or_given(data_dir);
    let wal_dir = absolute_or_given(wal_dir);
    let backup = newest_backup(&data_dir).ok_or_else(|| Error::NoBackup {
        path: data_dir.clone(),
    })?;
    let mpath = backup.join(MANIFEST);
    let bad = |what: String| Error::BadManifest {
        path: mpath.clone(),
        what,
    };
    let text = fs::read_to_string(&mpath).map_err(io(&mpath))?;
    let m: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if m.get("version").and_then(serde_json::Value::as_u64) != Some(2) {
        return Err(bad(
            "a backup made by an older wal-inspect (its paths may be relative to another \
             working directory): restore it by hand from this folder"
                .into(),
        ));
    }
    let path_of = |k: &str| -> Result<PathBuf, Error> {
        m.get(k)
            .and_then(serde_json::Value::as_str)
            .map(PathBuf::from)
            .ok_or_else(|| bad(format!("no {k}")))
    };
    let was_data = path_of("data_dir")?;
    let was_wal = path_of("wal_dir")?;
    // A path as it was at apply time, now: below the data dir or WAL dir given.
    let rebase = |p: &Path| -> Result<PathBuf, Error> {
        // `now.join("")` would end in a separator (and `staged_path` of that lies inside it).
        let under = |now: &Path, then: &Path| {
            p.strip_prefix(then).ok().map(|r| {
                if r.as_os_str().is_empty() {
                    now.to_path_buf()
                } else {
                    now.join(r)
                }
            })
        };
        let wal_separate = !was_wal.starts_with(&was_data);
        let r = if wal_separate {
            under(&wal_dir, &was_wal).or_else(|| under(&data_dir, &was_data))
        } else {
            under(&data_dir, &was_data)
        };
        r.ok_or_else(|| {
            bad(format!(
                "{} lies outside the data dir ({}) and WAL dir ({}) the backup was made for",
                p.display(),
                was_data.display(),
                was_wal.display()
            ))
        })
    };
    let list = |k: &str| -> Result<Vec<PathBuf>, Error> {
        m.get(k)
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| bad(format!("no {k} list")))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(PathBuf::from)
                    .ok_or_else(|| bad(format!("{k}: not a string")))
            })
            .collect()
    };
    let saved = list("saved")?;
    let created = list("created")?;
    let mut roots: Vec<PathBuf> = list("roots")?
        .iter()
        .map(|r| rebase(r))
        .collect::<Result<_, _>>()?;
    roots.reverse();
    let origin = |r: &Path| -> Result<PathBuf, Error> {
        let o = m
            .get("origins")
            .and_then(|o| o.get(r.display().to_string()))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| bad(format!("no origin for {}", r.display())))?;
        rebase(Path::new(o))
    };
    let state = |abs_then: &str, k: &str| -> Option<String> {
        m.get("states")?
            .get(abs_then)?
            .get(k)?
            .as_str()
            .map(str::to_owned)
    };
    let then_of = |r: &Path| -> Option<String> {
        m.get("origins")?
            .get(r.display().to_string())?
            .as_str()
            .map(str::to_owned)
    };
    let mut actions: BTreeMap<PathBuf, Action> = BTreeMap::new();
    let mut remove = Vec::new();
    let mut restore = Vec::new();
    for c in &created {
        let p = origin(c)?;
        actions.insert(p.clone(), Action::Drop);
        remove.push(p);
    }
    for sv in &saved {
        let p = origin(sv)?;
        actions.insert(p.clone(), Action::CopyFrom(backup.join(sv), None));
        restore.push(p);
    }
    let mut changed = Vec::new();
    let mut checked: Vec<PathBuf> = Vec::new();
    for r in created.iter().chain(&saved) {
        let (Some(then), Ok(now)) = (then_of(r), origin(r)) else {
            continue;
        };
        if checked.contains(&now) {
            continue;
        }
        checked.push(now.clone());
        let before = state(&then, "before");
        let after = state(&then, "after");
        let current = sha256_file(&now)?;
        if current == after || current == before {
            continue;
        }
        changed.push(Changed {
            what: match &current {
                None => "it is gone".into(),
                Some(_) => "its content is neither what the repair wrote nor what it found".into(),
            },
            path: now,
        });
    }
    if let Some(p) = actions
        .keys()
        .find(|p| !roots.iter().any(|r| p.starts_with(r)))
    {
        return Err(bad(format!(
            "{} lies outside {}",
            p.display(),
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    Ok(UndoPlan {
        backup,
        restore,
        remove,
        changed,
        last_index_after_repair: m.get("last_index").and_then(serde_json::Value::as_u64),
        roots,
        actions,
    })
}

/// Put the backup of `plan` back: every saved file restored, every file the repair created
/// removed, in one exchange like [`apply`]; the folder is then renamed `<name>.undone`.
/// Refused ([`Error::ChangedSinceRepair`]) when files changed since the repair, unless
/// `opts.force`. The caller has checked that no live etcd holds the files.
pub fn undo(plan: &UndoPlan, opts: ApplyOptions) -> Result<Applied, Error> {
    if !plan.changed.is_empty() && !opts.force {
        return Err(Error::ChangedSinceRepair {
            files: plan.changed.iter().map(|c| c.path.clone()).collect(),
        });
    }
    let data_dir = plan
        .backup
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    for root in &plan.roots {
        let staged = staged_path(root);
        if staged.exists() {
            fs::remove_dir_all(&staged).map_err(io(&staged))?;
        }
    }
    let mut done = 1;
    let completed = commit(&plan.roots, &plan.actions, &mut done, opts)?;
    if completed {
        let mut to = plan.backup.as_os_str().to_os_string();
        to.push(UNDONE_SUFFIX);
        fs::rename(&plan.backup, &to).map_err(io(&plan.backup))?;
        fsync_dir(&data_dir)?;
    }
    Ok(Applied {
        backup: plan.backup.clone(),
        steps: if completed { 4 } else { done },
        completed,
        files: plan.files(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        assert_eq!(t.len(), "20260101.000000.000000".len(), "{t}");
        assert!(t.starts_with("20"));
    }

    /// The staged copy lies beside its root however the root is spelt (an undo once
    /// rebased a WAL dir to `wal/` and staged into itself without end).
    #[test]
    fn staged_path_is_beside_the_root() {
        for root in ["/d/wal", "/d/wal/", "/d/wal//", "/d/./wal"] {
            assert_eq!(
                staged_path(Path::new(root)),
                PathBuf::from("/d/wal.wal-inspect-new"),
                "{root}"
            );
        }
    }
}

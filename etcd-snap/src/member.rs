//! One report over the snap side of a member directory: `.snap` files, the `db` file's
//! meta pages and page-level findings, its etcd metadata, and how they fit together.

use std::path::{Path, PathBuf};

use crate::bolt::{CheckReport, Db, MetaSlot, PageSizeSource};
use crate::error::{Error, ErrorInfo, Result};
use crate::schema::{self, Alarm, Membership, MetaInfo};
use etcd_proto::RaftPos;

use crate::snapdir::{OtherFile, SnapDirReport, inspect_snap_dir};
use crate::status::{EtcdutlStatus, etcdutl_status};

/// What the `db` file holds and what is wrong with it.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DbReport {
    /// The db file.
    pub path: PathBuf,
    /// File size in bytes.
    pub file_size: u64,
    /// Page size in bytes.
    pub page_size: u32,
    /// How the page size was found.
    pub page_size_source: PageSizeSource,
    /// The meta page bbolt would use (0 or 1).
    pub active_meta: u8,
    /// Both meta pages as found (an invalid one is also a finding in `check`).
    pub metas: [MetaSlot; 2],
    /// Page-level findings (page id + file offset each).
    pub check: CheckReport,
    /// The `meta` bucket (consistent index, term, compaction, confState).
    pub meta: MetaInfo,
    /// `members` / `members_removed`.
    pub membership: Membership,
    /// Active alarms.
    pub alarms: Vec<Alarm>,
    /// The `cluster` bucket (cluster version, downgrade).
    pub cluster: schema::ClusterInfo,
    /// etcdutl's status numbers, if every page on the way could be read.
    pub etcdutl: Option<EtcdutlStatus>,
    /// Keys alive at the latest revision (from the same walk; a damaged db may undercount).
    pub live_keys: u64,
    /// Errors met while reading the etcd buckets (a damaged page on the way).
    pub errors: Vec<ErrorInfo>,
}

/// Inspect one db file: `Err` only if it cannot be opened as bolt at all.
pub fn inspect_db(path: impl AsRef<Path>) -> Result<DbReport> {
    inspect_db_with(path, true)
}

/// [`inspect_db`]; without `etcdutl` the etcdutl numbers (whose hash needs a CRC of every
/// key and value) are left out (`etcdutl: None`): the page check, the etcd buckets and the
/// live-key count only.
pub fn inspect_db_with(path: impl AsRef<Path>, etcdutl: bool) -> Result<DbReport> {
    inspect_db_visiting(path, etcdutl, &mut |_| {})
}

/// [`inspect_db_with`], showing `also` every visit of its integrity walk (see
/// [`crate::status::check_and_count_visiting`]).
pub fn inspect_db_visiting(
    path: impl AsRef<Path>,
    etcdutl: bool,
    also: &mut dyn FnMut(crate::bolt::Visit<'_>),
) -> Result<DbReport> {
    let db = Db::open(path.as_ref())?;
    let mut errors = Vec::new();
    let mut keep = |r: Result<()>| {
        // The walks of different buckets often stop at the same damaged page: keep one.
        if let Err(e) = r {
            let info = ErrorInfo::from(&e);
            if !errors.contains(&info) {
                errors.push(info);
            }
        }
    };
    // One walk for the page check, etcdutl's numbers and the live-key count.
    let (check, counted, live) = crate::status::check_and_count_visiting(&db, etcdutl, also)?;
    let mut meta = MetaInfo::default();
    keep(schema::meta(&db).map(|m| meta = m));
    let mut membership = Membership::default();
    keep(schema::membership(&db).map(|m| membership = m));
    let mut alarms = Vec::new();
    keep(schema::alarms(&db).map(|(a, _)| alarms = a));
    let mut cluster = schema::ClusterInfo::default();
    keep(schema::cluster(&db).map(|c| cluster = c));
    let wanted = etcdutl;
    let mut etcdutl = counted;
    if etcdutl.is_none() && wanted {
        // Damage: let etcdutl's own walk say where it would fail.
        keep(etcdutl_status(&db).map(|s| etcdutl = Some(s)));
    }
    Ok(DbReport {
        path: db.path().to_path_buf(),
        file_size: db.file_size(),
        page_size: db.page_size(),
        page_size_source: db.page_size_source(),
        active_meta: db.active_meta(),
        metas: db.metas().clone(),
        check,
        meta,
        membership,
        alarms,
        cluster,
        etcdutl,
        live_keys: live,
        errors,
    })
}

/// The snap side of a member directory.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberReport {
    /// The member directory.
    pub member_dir: PathBuf,
    /// `.snap` files and leftovers, or why `member/snap` could not be listed.
    pub snap: Result<SnapDirReport, ErrorInfo>,
    /// The `db` file, or why it could not be opened (missing, not bolt, both metas bad).
    pub db: Result<DbReport, ErrorInfo>,
    /// Index of the snapshot etcd would load.
    pub snapshot_index: Option<u64>,
    /// `db` consistent index < snapshot index: etcd 3.4/3.5 then needs
    /// `<index>.snap.db` ("failed to find database snapshot file" without it).
    pub db_behind_snapshot: Option<bool>,
    /// When the db is behind: whether the matching `<index:016x>.snap.db` is present.
    pub snap_db_present: Option<bool>,
}

impl MemberReport {
    /// The snapshot of every `.snap` file that reads cleanly (`None` without a snap dir).
    pub fn readable_snaps(&self) -> Option<Vec<RaftPos>> {
        self.snap.as_ref().ok().map(|d| {
            d.snaps
                .iter()
                .filter(|e| e.problem.is_none())
                .filter_map(|e| e.snapshot.as_ref().map(|s| RaftPos::new(s.index, s.term)))
                .collect()
        })
    }

    /// Number of voting members: the db's confState (3.5), else the picked `.snap`'s
    /// ConfState, else the non-learners of the db's `members` bucket.
    pub fn voters(&self) -> Option<usize> {
        let db = self.db.as_ref().ok();
        let picked = self
            .snap
            .as_ref()
            .ok()
            .and_then(|d| d.picked_entry())
            .and_then(|e| e.snapshot.as_ref())
            .map(|s| s.voters.len());
        db.and_then(|d| d.meta.conf_state.as_ref().map(|c| c.voters.len()))
            .or(picked)
            .or(db.map(|d| {
                d.membership
                    .members
                    .iter()
                    .filter(|m| !m.is_learner)
                    .count()
            }))
            .filter(|&n| n > 0)
    }
}

/// Inspect `member_dir` (the directory holding `snap/` and `wal/`). `wal_snaps`: the WAL's
/// snapshot entries ≤ HardState.commit, to pick the `.snap` as `LoadNewestAvailable` does.
pub fn inspect_member(
    member_dir: impl AsRef<Path>,
    wal_snaps: Option<&[RaftPos]>,
) -> Result<MemberReport> {
    let member_dir = member_dir.as_ref();
    let db = inspect_member_db(member_dir, true);
    inspect_member_with(member_dir, wal_snaps, db)
}

/// The db half of [`inspect_member`] (`snap/db`, or why it cannot be read): independent of
/// the WAL, so a caller can run it while it reads the WAL. `etcdutl`: also etcdutl's
/// numbers and hash ([`inspect_db_with`]).
pub fn inspect_member_db(
    member_dir: impl AsRef<Path>,
    etcdutl: bool,
) -> std::result::Result<DbReport, ErrorInfo> {
    inspect_member_db_visiting(member_dir, etcdutl, &mut |_| {})
}

/// [`inspect_member_db`], showing `also` every visit of the db's integrity walk (see
/// [`crate::status::check_and_count_visiting`]); `also` sees nothing when the db is
/// missing or does not open.
pub fn inspect_member_db_visiting(
    member_dir: impl AsRef<Path>,
    etcdutl: bool,
    also: &mut dyn FnMut(crate::bolt::Visit<'_>),
) -> std::result::Result<DbReport, ErrorInfo> {
    let db_path = member_dir.as_ref().join("snap").join("db");
    if db_path.exists() {
        inspect_db_visiting(&db_path, etcdutl, also).map_err(|e| ErrorInfo::from(&e))
    } else {
        Err(ErrorInfo::from(&Error::NotFound {
            path: db_path,
            what: "the member's bbolt db (snap/db)",
        }))
    }
}

/// [`inspect_member`] with the db already inspected ([`inspect_member_db`]).
pub fn inspect_member_with(
    member_dir: impl AsRef<Path>,
    wal_snaps: Option<&[RaftPos]>,
    db: std::result::Result<DbReport, ErrorInfo>,
) -> Result<MemberReport> {
    let member_dir = member_dir.as_ref();
    let snap_dir = member_dir.join("snap");
    let snap = inspect_snap_dir(&snap_dir, wal_snaps).map_err(|e| ErrorInfo::from(&e));
    let snapshot_index = snap
        .as_ref()
        .ok()
        .and_then(|s| s.picked_entry())
        .and_then(|e| e.snapshot.as_ref())
        .map(|s| s.index);
    let ci = db.as_ref().ok().and_then(|d| d.meta.consistent_index);
    let db_behind_snapshot = match (snapshot_index, ci) {
        (Some(si), Some(ci)) => Some(si > ci),
        _ => None,
    };
    let snap_db_present = match (db_behind_snapshot, &snap, snapshot_index) {
        (Some(true), Ok(s), Some(si)) => Some(
            s.others
                .iter()
                .any(|o| matches!(o, OtherFile::SnapDb { index: Some(i), .. } if *i == si)),
        ),
        _ => None,
    };
    Ok(MemberReport {
        member_dir: member_dir.to_path_buf(),
        snap,
        db,
        snapshot_index,
        db_behind_snapshot,
        snap_db_present,
    })
}

/// The db file meant by a path given on a command line: a file as is; for a directory,
/// the first of `member/snap/db`, `snap/db`, `db` that exists (data dir, member dir, snap dir).
pub fn resolve_db_path(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    for rel in ["member/snap/db", "snap/db", "db"] {
        let p = path.join(rel);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::NotFound {
        path: path.to_path_buf(),
        what: "a db file (member/snap/db, snap/db or db)",
    })
}

//! One member dir, read as etcd reads it at start: the WAL once (findings, membership
//! history, and with `check_values` the writes to replay), the `.snap` files and the db,
//! then the boot verdict and every finding in decisive order. Read-only: nothing is
//! written, locked or renamed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use etcd_proto::RaftPos;
use etcd_snap::ErrorKind as SnapErrorKind;
use etcd_snap::bolt::FindingKind as DbKind;
use etcd_snap::member::MemberReport;
use etcd_wal::Stage;
use etcd_wal::membership::{self, History, HistoryBuilder, Removal};
use etcd_wal::predict::{self, Context, Outcome, Prediction};
use etcd_wal::record::RecordType;
use etcd_wal::scan::{self, Scan};

use crate::boot::{self, Boot, BootFacts, DbAtOpen, DecidedBy};
use crate::crosscheck::{JoinedRevisions, ValueCheck, ValueReport};
use crate::error::Error;
use crate::finding::{self, Detail, Finding, FindingKind, Location};
use crate::identity::{self, Identity};
use crate::live::{self, Holder};
use crate::paths::MemberDir;
use crate::release::{self, EtcdVersion, ReleaseFacts};

/// How to inspect.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// etcd's `--wal-dir`, when the WAL is kept outside the member dir.
    pub wal_dir: Option<PathBuf>,
    /// Also replay the WAL's writes and compare each key's latest value in the db with
    /// them (reads the db once more).
    pub check_values: bool,
    /// Stop early once set (the inspection then fails with [`Error::Interrupted`]).
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Predict for exactly this etcd release (its decoder's reactions and start rules, see
    /// [`crate::release`]); without it, for the release line that wrote the data.
    pub etcd_version: Option<EtcdVersion>,
    /// Updated while the inspection reads (the WAL by bytes, then the db and the value
    /// check by stage), for a progress display on another thread.
    pub progress: Option<Arc<etcd_wal::Progress>>,
}

/// What one release does with the data (the verdicts of [`crate::release::REPRESENTATIVES`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseVerdict {
    /// The release.
    pub release: EtcdVersion,
    /// What it does on start.
    pub etcd_outcome: Outcome,
    /// Its error.
    pub etcd_error: Option<String>,
    /// Starts, but every write times out.
    pub wedged: bool,
}

/// What a remark that is not damage is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A live process holds one of the files.
    LiveEtcd,
    /// A `.wal.broken` copy from an earlier etcd repair.
    WalBrokenCopy,
    /// The db's size, consistent index and term.
    Db,
    /// No db file, and etcd creates an empty one.
    DbMissing,
    /// An active alarm recorded in the db.
    Alarm,
}

/// A remark that is not damage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    /// Always `note` (the JSON line type).
    #[serde(rename = "type")]
    pub line: &'static str,
    /// What it is about.
    pub kind: NoteKind,
    /// The file, relative as findings name files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// One line.
    pub message: String,
}

impl Note {
    fn new(kind: NoteKind, file: Option<String>, message: String) -> Note {
        Note {
            line: "note",
            kind,
            file,
            message,
        }
    }
}

/// Everything read from one member dir, and what etcd will do with it.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// Where the pieces are.
    pub dir: MemberDir,
    /// The WAL pass.
    pub scan: Scan,
    /// Membership changes and the log's shape, read on the way.
    pub history: History,
    /// The `.snap` files and the db, when there is a snap dir.
    pub member: Option<MemberReport>,
    /// What the WAL alone makes etcd do (steps 2 and 4 of [`crate::boot`]).
    pub prediction: Prediction,
    /// The boot verdict.
    pub boot: Boot,
    /// Every finding, decisive first.
    pub findings: Vec<Finding>,
    /// Remarks that are not damage.
    pub notes: Vec<Note>,
    /// Locks a live process holds on the files.
    pub holders: Vec<Holder>,
    /// This member's RemoveNode in the log etcd replays.
    pub removal: Option<Removal>,
    /// Who this member is.
    pub identity: Identity,
    /// With `check_values`: the cross-check of the db's values, or why it could not run.
    pub values: Option<Result<ValueReport, String>>,
    /// The release predicted for, when one was asked for.
    pub etcd_version: Option<EtcdVersion>,
    /// Without one: what each release of the rig does with the same data.
    pub by_release: Vec<ReleaseVerdict>,
}

impl Inspection {
    /// What etcd does on start.
    pub fn outcome(&self) -> Outcome {
        self.boot.outcome
    }

    /// Every finding, decisive first.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Whether etcd starts but every write times out.
    pub fn wedged(&self) -> bool {
        self.boot.wedged
    }

    /// The db's consistent index, when the db is readable.
    pub fn db_consistent_index(&self) -> Option<u64> {
        self.db().and_then(|d| d.meta.consistent_index)
    }

    /// The db report, when the db opened.
    pub fn db(&self) -> Option<&etcd_snap::member::DbReport> {
        self.member.as_ref().and_then(|m| m.db.as_ref().ok())
    }
}

/// Inspect the member at `path` (a data dir, member dir or WAL dir, as
/// [`MemberDir::resolve`] takes it).
pub fn inspect(path: &Path, options: &Options) -> Result<Inspection, Error> {
    let dir = MemberDir::resolve(path, options.wal_dir.as_deref())?;
    inspect_dir(dir, options)
}

/// Inspect an already resolved member dir.
pub fn inspect_dir(dir: MemberDir, options: &Options) -> Result<Inspection, Error> {
    // With `--check-values` every revision record is compared on the db thread's
    // integrity walk (one read of the db for both).
    let (values, joined) = match options.check_values.then(|| value_check_for(&dir)) {
        Some(Ok((db, c, j))) => (Some(Ok((db, c))), Some(j)),
        Some(Err(e)) => (Some(Err(e)), None),
        None => (None, None),
    };
    let mut history = HistoryBuilder::new();
    let never = AtomicBool::new(false);
    let interrupt = options.interrupt.as_deref().unwrap_or(&never);
    let progress = options.progress.as_deref();
    let mut scan_progress = etcd_wal::progress::ScanProgress::default();
    if let Some(p) = progress {
        p.begin(Stage::Wal, etcd_wal::progress::wal_bytes(&dir.wal));
    }
    // The db is read on a second thread while this one reads the WAL: the two are
    // independent reads of different files (the WAL's snapshot entries only pick the
    // `.snap`, below).
    let (scan, db_report, values) = std::thread::scope(|s| {
        // Owned here, so that the WAL side of the value check (whose end the db thread
        // waits for) ends before the db thread is joined, whatever happens.
        let mut values = values;
        let db_thread = dir.member.as_deref().map(|m| {
            let mut joined = joined;
            s.spawn(move || {
                // etcdutl's numbers (a CRC of every value) are `snapshot status`'s, not ours.
                let report = etcd_snap::inspect_member_db_visiting(m, false, &mut |v| {
                    if let Some(j) = joined.as_mut() {
                        j.visit(v);
                    }
                });
                (report, joined.map(JoinedRevisions::finish))
            })
        });
        let scan = scan::scan_dir_interruptible(
            &dir.wal,
            &mut |e| {
                if let Some(p) = progress {
                    scan_progress.observe(p, &e);
                }
                history.observe(&e);
                if let Some(Ok((_, c))) = &mut values {
                    c.observe(&e);
                }
            },
            interrupt,
        );
        if let Some(Ok((_, c))) = &mut values {
            c.end_of_wal();
        }
        let db_report = db_thread.map(|h| {
            let (report, revisions) = h.join().unwrap_or_else(|_| {
                let panicked = Err(etcd_snap::ErrorInfo {
                    kind: etcd_snap::ErrorKind::Io,
                    message: "the db inspection thread panicked".into(),
                    finding: None,
                });
                (panicked, None)
            });
            if let (Some(Ok((_, c))), Some(r)) = (&mut values, revisions) {
                c.revisions_from_db_walk(r);
            }
            report
        });
        (scan, db_report, values)
    });
    let scan = scan?;
    if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    let history = history.finish();
    let db_size = || {
        dir.db()
            .and_then(|d| std::fs::metadata(d).ok())
            .map_or(0, |m| m.len())
    };
    if let (Some(p), Some(_)) = (progress, &values) {
        p.begin(Stage::Values, db_size());
    }
    let values = values.map(|v| {
        v.and_then(|(db, c)| {
            c.compare(&db)
                .map_err(|e| format!("the db cannot be read: {e}"))
        })
    });
    let wal_snaps = predict::valid_snapshot_entries(&scan).ok();
    if let Some(p) = progress {
        p.begin(Stage::Db, db_size());
    }
    let member = match (dir.member.as_ref(), db_report) {
        (Some(m), Some(db)) => Some(etcd_snap::inspect_member_with(m, wal_snaps.as_deref(), db)?),
        (Some(m), None) => Some(etcd_snap::inspect_member(m, wal_snaps.as_deref())?),
        (None, _) => None,
    };
    let holders = live::holders(&dir.lockable_files());
    let db = member.as_ref().and_then(|m| m.db.as_ref().ok());
    let ctx = Context {
        snap_files: member.as_ref().and_then(|m| m.readable_snaps()),
        db_consistent_index: db.and_then(|d| d.meta.consistent_index),
        voters: member.as_ref().and_then(|m| m.voters()),
    };
    // The release whose rules apply: the one asked for, else the rig's release of the line
    // the data says wrote it.
    let effective = options
        .etcd_version
        .or_else(|| release::implied_by_data(&scan, member.as_ref()));
    // The scan as that release reads it (its reactions and error texts).
    let original = effective.is_some().then(|| scan.clone());
    let scan = match effective {
        Some(v) => release::adapt_scan(&scan, v),
        None => scan,
    };
    let mut prediction = predict::predict(&scan, &ctx);
    if let Some(v) = effective {
        release::adapt_prediction(&mut prediction, &scan, v);
    }
    let removal = scan
        .metadata
        .as_ref()
        .and_then(|m| membership::removed_self(&history, m.node_id));
    let identity = identity::identify(&scan, &history, member.as_ref());
    let mut v = Inspection {
        boot: Boot {
            outcome: prediction.outcome,
            etcd_error: None,
            etcd_message: None,
            decided_by: DecidedBy::Nothing,
            consistent_index: None,
            wedged: false,
            skips: None,
            repaired_first: false,
        },
        dir,
        scan,
        history,
        member,
        prediction,
        findings: Vec::new(),
        notes: Vec::new(),
        holders,
        removal,
        identity,
        values,
        etcd_version: effective,
        by_release: Vec::new(),
    };
    decide(
        &mut v,
        &ctx,
        original.as_ref(),
        options.etcd_version.is_none(),
    );
    Ok(v)
}

/// Open the member's db and set up the value cross-check (before the WAL pass).
fn value_check_for(
    dir: &MemberDir,
) -> Result<(etcd_snap::bolt::Db, ValueCheck, JoinedRevisions), String> {
    let Some(db) = dir.db() else {
        return Err("no snap/ directory: there is no db to check".into());
    };
    let db = etcd_snap::bolt::Db::open(db).map_err(|e| format!("the db cannot be opened: {e}"))?;
    match ValueCheck::for_db_walk(&db) {
        Ok(Some((c, j))) => Ok((db, c, j)),
        Ok(None) => Err("the db has no consistent index".into()),
        Err(e) => Err(format!("the db's buckets cannot be read: {e}")),
    }
}

/// Page damage that makes bbolt's `freepages` walk panic when etcd opens the db (etcd runs
/// it with `NoFreelistSync`, so every page is walked at open).
fn breaks_open_walk(k: &DbKind) -> bool {
    matches!(
        k,
        DbKind::PageOutOfRange { .. }
            | DbKind::PageBeyondEof { .. }
            | DbKind::InvalidPageType { .. }
            | DbKind::MultipleReferences
            | DbKind::FileShorterThanHighWater { .. }
    )
}

/// bbolt's error for a db it cannot open.
fn bbolt_open_error(kind: SnapErrorKind, message: &str) -> String {
    match kind {
        SnapErrorKind::BothMetasInvalid => "checksum error".into(),
        SnapErrorKind::InvalidDatabase => "invalid database".into(),
        _ => message.to_string(),
    }
}

/// (error, message) for a page that breaks bbolt's walk over every page at open: the panic
/// text in bbolt's words where its `checkBucket` names the damage; otherwise (a page past
/// the end of the file) bbolt reads outside its map and the process dies on a fault, with
/// no message of etcd's to quote.
fn bbolt_walk_error(f: &etcd_snap::bolt::Finding) -> (String, String) {
    let walk = |what: String| {
        (
            format!(
                "freepages: failed to get all reachable pages (page {}: {what})",
                f.page
            ),
            "panic: bbolt cannot walk the db's pages at open".to_owned(),
        )
    };
    match &f.kind {
        DbKind::InvalidPageType { flags } => walk(format!(
            "invalid type: {}",
            etcd_snap::bolt::type_name(*flags)
        )),
        DbKind::MultipleReferences => walk("multiple references".into()),
        DbKind::PageOutOfRange { high_water } => walk(format!("out of bounds: {high_water}")),
        k => (
            format!(
                "page {} lies past the end of the file ({})",
                f.page,
                k.code()
            ),
            "crash: bbolt reads outside the file it mapped while walking the pages at open"
                .to_owned(),
        ),
    }
}

fn describe_db(f: &etcd_snap::bolt::Finding) -> String {
    match &f.kind {
        DbKind::MetaInvalid { meta, problem } => {
            format!(
                "meta page {meta} is invalid: {problem}; bbolt falls back to the other meta page"
            )
        }
        k => format!("page {}: {k} (at byte {})", f.page, f.offset),
    }
}

fn plain(
    kind: FindingKind,
    dir: &MemberDir,
    path: PathBuf,
    location: Location,
    message: String,
) -> Finding {
    Finding {
        kind,
        file: dir.relative(&path),
        path,
        location,
        record_type: None,
        index: None,
        term: None,
        etcd_error: None,
        message,
        decisive: false,
        detail: Detail::None,
    }
}

/// The boot verdict, and every finding in decisive order.
/// What the rules of a release need, read from the member's files.
fn release_facts(v: &Inspection, version: Option<EtcdVersion>) -> ReleaseFacts {
    let m = v.member.as_ref();
    let db = m.and_then(|m| m.db.as_ref().ok());
    let picked = m
        .and_then(|m| m.snap.as_ref().ok())
        .and_then(|d| d.picked_entry())
        .and_then(|e| e.snapshot.as_ref());
    // The `.snap.db` etcd would swap in: its consistent index (read only when it matters).
    let snap_db_consistent_index = m
        .filter(|m| m.snap_db_present == Some(true))
        .and_then(|m| {
            let si = m.snapshot_index?;
            let ci = db.and_then(|d| d.meta.consistent_index).unwrap_or(0);
            (si > ci).then(|| m.member_dir.join("snap").join(format!("{si:016x}.snap.db")))
        })
        .and_then(|p| etcd_snap::member::inspect_db(p).ok())
        .and_then(|r| r.meta.consistent_index);
    let last = v.scan.segments.len().saturating_sub(1);
    ReleaseFacts {
        version,
        snap_db_consistent_index,
        db_path: v.dir.db().map_or_else(String::new, |p| v.dir.shown(&p)),
        learners: db.map_or(0, |d| {
            d.membership.members.iter().filter(|m| m.is_learner).count()
        }),
        v2_custom_content: picked
            .map(|p| p.v2_custom_content.clone())
            .unwrap_or_default(),
        cluster_version: db
            .and_then(|d| d.cluster.cluster_version.clone())
            .or_else(|| picked.and_then(|p| p.cluster_version.clone())),
        empty_last_segment: v
            .scan
            .findings
            .iter()
            .any(|f| f.kind == etcd_wal::FindingKind::EmptySegment && f.at.segment_pos == last),
        storage_version: db.and_then(|d| d.meta.storage_version.clone()),
        invalid_page_type: db.and_then(|d| {
            d.check.findings.iter().find_map(|f| match f.kind {
                DbKind::InvalidPageType { flags } => Some((f.page, flags)),
                _ => None,
            })
        }),
    }
}

fn decide(v: &mut Inspection, ctx: &Context, original: Option<&Scan>, compare: bool) {
    let voters = ctx.voters;
    let dir = v.dir.clone();
    // Step 1: the db.
    let mut db_findings: Vec<(bool, Finding)> = Vec::new();
    let mut snap_findings: Vec<Finding> = Vec::new();
    let mut db_at_open = DbAtOpen::Missing;
    let mut snapshot_index = None;
    let mut snap_db_present = false;
    let mut db_missing_with_snapshot = None;
    if let Some(m) = &v.member {
        let db_path = m.member_dir.join("snap").join("db");
        match &m.db {
            Ok(db) => {
                db_at_open = DbAtOpen::Opens {
                    consistent_index: db.meta.consistent_index,
                };
                for f in &db.check.findings {
                    let (kind, fatal) = match &f.kind {
                        DbKind::MetaInvalid { .. } => (FindingKind::DbMetaInvalid, false),
                        k => (FindingKind::DbPageInvalid, breaks_open_walk(k)),
                    };
                    let mut row = plain(
                        kind,
                        &dir,
                        db_path.clone(),
                        Location::Db {
                            page: Some(f.page),
                            offset: Some(f.offset),
                        },
                        describe_db(f),
                    );
                    row.detail = Detail::Db {
                        damage: Some(f.kind.code()),
                    };
                    if fatal && !matches!(db_at_open, DbAtOpen::WalkFails { .. }) {
                        let (error, message) = bbolt_walk_error(f);
                        row.etcd_error = Some(error.clone());
                        db_at_open = DbAtOpen::WalkFails { error, message };
                    }
                    db_findings.push((fatal, row));
                }
                for a in &db.alarms {
                    v.notes.push(Note::new(
                        NoteKind::Alarm,
                        None,
                        format!(
                            "active {:?} alarm raised by member {:016x}",
                            a.alarm, a.member_id
                        ),
                    ));
                }
                v.notes.push(Note::new(
                    NoteKind::Db,
                    None,
                    format!(
                        "db {} bytes, consistent index {}, term {}",
                        db.file_size,
                        db.meta
                            .consistent_index
                            .map_or("-".into(), |c| c.to_string()),
                        db.meta.term.map_or("-".into(), |c| c.to_string()),
                    ),
                ));
            }
            Err(e) if e.kind == SnapErrorKind::NotFound => {
                db_at_open = DbAtOpen::Missing;
                db_missing_with_snapshot = Some(db_path.clone());
            }
            Err(e) => {
                let offset = e.finding.as_ref().map(|f| f.offset).or(Some(0));
                let kind = if matches!(
                    e.kind,
                    SnapErrorKind::BothMetasInvalid
                        | SnapErrorKind::InvalidDatabase
                        | SnapErrorKind::FileTooSmall
                        | SnapErrorKind::EmptyFile
                ) {
                    FindingKind::DbMetaInvalid
                } else {
                    FindingKind::DbPageInvalid
                };
                let error = bbolt_open_error(e.kind, &e.message);
                let mut row = plain(
                    kind,
                    &dir,
                    db_path.clone(),
                    Location::Db {
                        page: e.finding.as_ref().map(|f| f.page),
                        offset,
                    },
                    format!("db cannot be opened: {}", e.message),
                );
                row.etcd_error = Some(error.clone());
                row.detail = Detail::Db { damage: None };
                db_at_open = DbAtOpen::Unopenable { error };
                db_findings.push((true, row));
            }
        }
        if let Ok(d) = &m.snap {
            for e in &d.snaps {
                let Some(p) = &e.problem else { continue };
                let kind = if p.kind == SnapErrorKind::SnapCrcMismatch {
                    FindingKind::SnapCrcMismatch
                } else {
                    FindingKind::SnapInvalid
                };
                let path = d.dir.join(&e.name);
                // The finding names the file: the message need not (the error's text starts
                // with the path).
                let prefix = format!("{}: ", path.display());
                let what = p.message.strip_prefix(&prefix).unwrap_or(&p.message);
                let mut row = plain(
                    kind,
                    &dir,
                    path,
                    Location::File { offset: Some(0) },
                    format!(
                        "{what}; etcd renames it to {}.broken and falls back to an older snapshot",
                        e.name
                    ),
                );
                if let Some(r) = e.name_ref {
                    row.index = Some(r.index);
                    row.term = Some(r.term);
                }
                snap_findings.push(row);
            }
        }
        snapshot_index = m.snapshot_index;
        snap_db_present = m.snap_db_present == Some(true);
    }
    let facts = BootFacts {
        db: db_at_open,
        wal: &v.prediction,
        snapshot_index,
        snap_db_present,
        removed: v.removal.is_some(),
        voters,
        release: release_facts(v, v.etcd_version),
    };
    let boot = boot::decide(&facts);
    // Without a release asked for: what each release of the rig does with these bytes.
    if compare {
        let base = original.unwrap_or(&v.scan);
        let mut by_release = Vec::new();
        for r in release::REPRESENTATIVES {
            let scan_r = release::adapt_scan(base, r);
            let mut pred_r = predict::predict(&scan_r, ctx);
            release::adapt_prediction(&mut pred_r, &scan_r, r);
            let mut facts_r = facts.clone();
            facts_r.wal = &pred_r;
            facts_r.release.version = Some(r);
            let b = boot::decide(&facts_r);
            by_release.push(ReleaseVerdict {
                release: r,
                etcd_outcome: b.outcome,
                etcd_error: b.etcd_error,
                wedged: b.wedged,
            });
        }
        v.by_release = by_release;
    }
    // Step 3's finding: the db behind the snapshot, or missing while a snapshot is loaded.
    let mut snapshot_finding = None;
    if let (Some(si), Some(m)) = (snapshot_index.filter(|&i| i > 0), &v.member) {
        let db_path = m.member_dir.join("snap").join("db");
        let missing = db_missing_with_snapshot.is_some();
        let ci = v.db_consistent_index().unwrap_or(0);
        if !snap_db_present && (missing || ci < si) {
            let (kind, message) = if missing {
                (
                    FindingKind::DbMissing,
                    format!(
                        "no db file, but etcd loads the snapshot at index {si}: a missing db counts \
                         as consistent index 0, so etcd looks for {si:016x}.snap.db, which is \
                         missing too"
                    ),
                )
            } else {
                (
                    FindingKind::DbBehindSnapshot,
                    format!(
                        "db consistent index {ci} is below the snapshot index {si} and {si:016x}.snap.db is missing"
                    ),
                )
            };
            let mut row = plain(
                kind,
                &dir,
                db_path,
                Location::File { offset: None },
                message,
            );
            row.index = Some(si);
            row.etcd_error = Some(boot::SNAP_DB_MISSING_ERROR.into());
            snapshot_finding = Some(row);
        }
    }
    if let Some(p) = db_missing_with_snapshot.filter(|_| snapshot_finding.is_none()) {
        v.notes.push(Note::new(
            NoteKind::DbMissing,
            Some(dir.relative(&p)),
            format!(
                "{}: no db file; etcd creates an empty one and replays the WAL into it",
                dir.relative(&p)
            ),
        ));
    }
    // Step 5's finding: the removal, with what to do.
    let removal_finding = v.removal.as_ref().map(|r| {
        let steps = identity::rejoin_steps(&v.identity, &dir.given.display().to_string());
        let segment = dir.wal.join(r.at.file_name());
        Finding {
            kind: FindingKind::MemberRemoved,
            file: dir.relative(&segment),
            path: segment,
            location: Location::Wal(r.at),
            record_type: Some(RecordType::Entry),
            index: Some(r.index),
            term: Some(r.term),
            etcd_error: Some(boot::REMOVED_ERROR.into()),
            message: format!(
                "this member ({}) was removed from its cluster by the RemoveNode at index {}{}; \
                 etcd replays it, logs \"the member has been permanently removed from the \
                 cluster\" and stops. What to do, in this order: {}",
                etcd_proto::text::member_id(v.identity.member_id.unwrap_or(0)),
                r.index,
                if r.committed {
                    ""
                } else {
                    " (not yet committed here)"
                },
                identity::numbered(&steps)
            ),
            decisive: false,
            detail: Detail::Removal {
                committed: r.committed,
                advice: steps,
            },
        }
    });
    let wal_findings: Vec<Finding> = v
        .scan
        .findings
        .iter()
        .map(|f| {
            let path = dir.wal.join(f.at.file_name());
            finding::from_wal(f, dir.relative(&path), path)
        })
        .collect();

    // Decisive first, in the order of etcd's boot; the rest in file order.
    let mut out: Vec<Finding> = Vec::new();
    let wal_decisive = match boot.decided_by {
        DecidedBy::Wal => v.prediction.decisive,
        _ => None,
    };
    let mut decisive = match boot.decided_by {
        DecidedBy::Db => {
            let pos = db_findings.iter().position(|(fatal, _)| *fatal);
            pos.map(|p| db_findings.remove(p).1)
        }
        DecidedBy::SnapshotBackend => snapshot_finding
            .take()
            .or_else(|| snap_db_finding(v, &boot, snapshot_index)),
        DecidedBy::Removal => None,
        DecidedBy::Release => release_finding(v, &boot),
        DecidedBy::Wal | DecidedBy::Nothing => {
            wal_decisive.and_then(|i| wal_findings.get(i).cloned())
        }
    };
    let mut removal_finding = removal_finding;
    if boot.decided_by == DecidedBy::Removal {
        decisive = removal_finding.take();
    }
    if let Some(mut d) = decisive {
        d.decisive = true;
        out.push(d);
    }
    for (i, f) in wal_findings.into_iter().enumerate() {
        if Some(i) != wal_decisive {
            out.push(f);
        }
    }
    out.extend(removal_finding);
    out.extend(snap_findings);
    out.extend(db_findings.into_iter().map(|(_, f)| f));
    out.extend(snapshot_finding);
    out.extend(value_findings(v));
    out.extend(membership_source_findings(v));
    v.findings = out;
    v.boot = boot;
    for h in v.holders.clone() {
        let file = dir.relative(&h.file);
        let pids = if h.pids.is_empty() {
            String::new()
        } else {
            let p: Vec<String> = h.pids.iter().map(u32::to_string).collect();
            format!(" (pid {})", p.join(", "))
        };
        v.notes.insert(
            0,
            Note::new(
                NoteKind::LiveEtcd,
                Some(file.clone()),
                format!("{file} is locked ({}) by a running process{pids}", h.lock),
            ),
        );
    }
    let broken: Vec<Note> = v
        .scan
        .dir
        .broken
        .iter()
        .map(|p| {
            Note::new(
                NoteKind::WalBrokenCopy,
                Some(dir.relative(p)),
                "a .wal.broken copy left by an earlier etcd repair".into(),
            )
        })
        .collect();
    let at = v.holders.len().min(v.notes.len());
    v.notes.splice(at..at, broken);
}

/// The `.snap.db` etcd swaps in is itself behind the snapshot (3.5.0–3.5.11 panic on a
/// closed transaction; 3.5.12+ say it does not match).
fn snap_db_finding(v: &Inspection, boot: &Boot, snapshot_index: Option<u64>) -> Option<Finding> {
    let si = snapshot_index?;
    let m = v.member.as_ref()?;
    let snap_db = m.member_dir.join("snap").join(format!("{si:016x}.snap.db"));
    let db = m.member_dir.join("snap").join("db");
    let mut message = format!(
        "the db is behind the snapshot at index {si}, and {} that etcd swaps in for it is behind it too",
        v.dir.relative(&snap_db)
    );
    if let (Some((from, to)), Some(version)) = (boot.skips, v.etcd_version) {
        message.push_str(&format!(
            " (consistent index {from}): etcd {version} starts on it and resumes the log after index {to}, so entries {}..={to} are never applied and the later ones are applied onto older state: this member serves a keyspace and revisions the other members do not have (3.5.12+ refuse)",
            from + 1
        ));
    }
    let mut row = plain(
        FindingKind::DbBehindSnapshot,
        &v.dir,
        db,
        Location::File { offset: None },
        message,
    );
    row.index = Some(si);
    row.etcd_error = boot.etcd_error.clone();
    Some(row)
}

/// A check of the release asked for refuses the data (not damage).
fn release_finding(v: &Inspection, boot: &Boot) -> Option<Finding> {
    let error = boot.etcd_error.clone()?;
    let version = v.etcd_version?;
    let (path, what) = if error == boot::TOO_MANY_LEARNERS
        || error == boot::INVALID_DOWNGRADE
        || error.ends_with("is not supported")
    {
        let db = v.dir.db()?;
        (
            db,
            if error == boot::TOO_MANY_LEARNERS {
                format!(
                    "the db's members bucket holds more than one learner: etcd {version} takes membership from the db and allows one"
                )
            } else if error == boot::INVALID_DOWNGRADE {
                format!(
                    "the data records a cluster version above etcd {version}'s: it refuses to run a newer cluster's data"
                )
            } else {
                format!(
                    "the db's meta/storageVersion is newer than etcd {version} supports (a newer release or etcdutl migrate wrote it)"
                )
            },
        )
    } else {
        let m = v.member.as_ref()?;
        let d = m.snap.as_ref().ok()?;
        let e = d.picked_entry()?;
        (
            d.dir.join(&e.name),
            format!(
                "the v2 store of the snapshot etcd loads holds custom content ({}): etcd {version} refuses it",
                e.snapshot
                    .as_ref()
                    .map(|s| s.v2_custom_content.join(", "))
                    .unwrap_or_default()
            ),
        )
    };
    let kind = if error == boot::INVALID_DOWNGRADE {
        FindingKind::DowngradeBlocker
    } else {
        FindingKind::UpgradeBlocker
    };
    let mut row = plain(kind, &v.dir, path, Location::File { offset: None }, what);
    row.etcd_error = Some(error);
    Some(row)
}

/// 3.6+ take membership from the db, 3.4/3.5 from the v2 store (`.snap` + WAL): a member
/// only one of them lists appears or disappears on the upgrade (the "zombie member" of
/// etcd #20967). Only with a 3.6+ release asked for, on data a 3.5 or older cluster wrote.
fn membership_source_findings(v: &Inspection) -> Vec<Finding> {
    let Some(version) = v.etcd_version.filter(|r| *r >= EtcdVersion::new(3, 6, 0)) else {
        return Vec::new();
    };
    let Some(m) = &v.member else {
        return Vec::new();
    };
    let (Ok(db), Some(snap)) = (
        m.db.as_ref(),
        m.snap
            .as_ref()
            .ok()
            .and_then(|d| d.picked_entry())
            .and_then(|e| e.snapshot.as_ref()),
    ) else {
        return Vec::new();
    };
    if db.meta.storage_version.is_some() || snap.v2_problem.is_some() {
        return Vec::new(); // 3.6 wrote it already, or no v2 membership to compare
    }
    let db_ids: Vec<u64> = db.membership.members.iter().map(|x| x.id).collect();
    let v2_ids: Vec<u64> = snap.members.iter().map(|x| x.id).collect();
    let only_db: Vec<String> = db_ids
        .iter()
        .filter(|id| !v2_ids.contains(id))
        .map(|id| format!("{id:016x}"))
        .collect();
    let only_v2: Vec<String> = v2_ids
        .iter()
        .filter(|id| !db_ids.contains(id))
        .map(|id| format!("{id:016x}"))
        .collect();
    if only_db.is_empty() && only_v2.is_empty() {
        return Vec::new();
    }
    let Some(path) = v.dir.db() else {
        return Vec::new();
    };
    let mut what = format!("etcd {version} takes membership from the db, not the v2 store:");
    if !only_db.is_empty() {
        what.push_str(&format!(
            " {} only in the db comes back as a member (a \"zombie member\", etcd #20967);",
            only_db.join(", ")
        ));
    }
    if !only_v2.is_empty() {
        what.push_str(&format!(
            " {} only in the v2 store is no longer a member;",
            only_v2.join(", ")
        ));
    }
    what.push_str(" fix the membership on 3.5 before upgrading");
    vec![plain(
        FindingKind::UpgradeBlocker,
        &v.dir,
        path,
        Location::File { offset: None },
        what,
    )]
}

/// One finding per key whose latest db record differs from what the WAL wrote, and one
/// per older revision record that differs.
fn value_findings(v: &Inspection) -> Vec<Finding> {
    let Some(Ok(r)) = &v.values else {
        return Vec::new();
    };
    let Some(db_path) = v.dir.db() else {
        return Vec::new();
    };
    let latest = r.mismatches.iter().map(|m| (m, true));
    let older = r.revision_mismatches.iter().map(|m| (m, false));
    latest
        .chain(older)
        .map(|(m, is_latest)| {
            let what: Vec<String> = m
                .diffs
                .iter()
                .map(|d| format!("{}: expected {}, db has {}", d.field, d.expected, d.actual))
                .collect();
            let wal_file = m
                .wal
                .as_ref()
                .map(|w| v.dir.relative(&v.dir.wal.join(w.at.file_name())));
            let message = format!(
                "key \"{}\": the db's {} record{} is not what the WAL wrote{}: {}",
                m.key_escaped,
                if is_latest { "latest" } else { "older" },
                m.db.as_ref().map_or(" (none)".into(), |d| format!(
                    " (revision {}, page {}, byte {})",
                    d.revision,
                    d.page,
                    d.value_offset.unwrap_or(d.offset)
                )),
                match (&m.wal, &wal_file) {
                    (Some(w), Some(f)) => format!(
                        " (entry index {} term {} at byte {} of {f})",
                        w.entry.index, w.entry.term, w.at.offset
                    ),
                    _ => " (the WAL, which holds the whole history, never wrote it)".into(),
                },
                what.join("; ")
            );
            let entry: Option<RaftPos> = m.wal.as_ref().map(|w| w.entry);
            Finding {
                kind: FindingKind::DbValueMismatch,
                file: v.dir.relative(&db_path),
                path: db_path.clone(),
                location: Location::Db {
                    page: m.db.as_ref().map(|d| d.page),
                    offset: m.db.as_ref().map(|d| d.value_offset.unwrap_or(d.offset)),
                },
                record_type: None,
                index: entry.map(|e| e.index),
                term: entry.map(|e| e.term),
                etcd_error: None,
                message,
                decisive: false,
                detail: Detail::Value {
                    key_escaped: m.key_escaped.clone(),
                    key: m.key.clone(),
                    revision: m.db.as_ref().map(|d| d.revision.main),
                    wal_file,
                    wal_offset: m.wal.as_ref().map(|w| w.at.offset),
                    diffs: m.diffs.clone(),
                },
            }
        })
        .collect()
}

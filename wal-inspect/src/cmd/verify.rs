//! `wal-inspect verify`: what is damaged, where, and what etcd will do on start.
//!
//! Reads the WAL (etcd-wal), the `.snap` files and the bolt db (etcd-snap), cross-checks
//! them, and predicts etcd 3.4/3.5's start in the order etcd itself boots: open the db,
//! `ValidSnapshotEntries`, pick the `.snap`, check the db against it, replay the WAL
//! (with its tail repair).

use std::io::Write;
use std::path::{Path, PathBuf};

use etcd_snap::bolt::FindingKind as DbKind;
use etcd_snap::crosscheck::{ValueCheck, ValueReport};
use etcd_snap::identity;
use etcd_snap::member::MemberReport;
use etcd_wal::finding::{EtcdReaction, Finding};
use etcd_wal::membership::{self, Removal};
use etcd_wal::predict::{self, Context, Outcome, Prediction};
use etcd_wal::record::RecordType;
use etcd_wal::scan::Scan;
use etcd_wal::segment::SegmentName;
use serde_json::{Value, json};

use crate::cli::VerifyArgs;
use crate::datadir::{MemberData, MemberPaths, read_member_with};
use crate::exit::Exit;
use crate::live;

/// One piece of damage, from any file of the data dir, as `verify` reports it.
#[derive(Debug, Clone)]
pub struct Row {
    /// Contract name (`crc_mismatch`, `snap_crc_mismatch`, `db_meta_invalid`, …).
    pub kind: String,
    /// Path relative to PATH.
    pub file: String,
    /// Byte offset of the damaged record / structure.
    pub offset: Option<u64>,
    /// 0-based record number in the segment.
    pub ordinal: Option<u64>,
    /// WAL record type.
    pub record_type: Option<RecordType>,
    /// Raft index.
    pub index: Option<u64>,
    /// Raft term.
    pub term: Option<u64>,
    /// Human description.
    pub message: String,
    /// Extra JSON fields.
    pub extra: serde_json::Map<String, Value>,
}

/// Everything verify found, before rendering.
pub struct Verified {
    /// Resolved paths.
    pub paths: MemberPaths,
    /// The WAL pass.
    pub scan: Scan,
    /// etcd's predicted behaviour (WAL part, with the snap/db context applied).
    pub prediction: Prediction,
    /// The snap side, when there is a member dir.
    pub member: Option<MemberReport>,
    /// Findings of every file, decisive first.
    pub rows: Vec<Row>,
    /// The final outcome (the db can make etcd refuse before the WAL is read).
    pub outcome: Outcome,
    /// Error etcd exits with, or repairs.
    pub etcd_error: Option<String>,
    /// etcd's log message for it.
    pub etcd_message: Option<String>,
    /// Remarks that are not damage.
    pub notes: Vec<(String, String)>,
    /// Locks held by a live process.
    pub holders: Vec<live::Holder>,
    /// The RemoveNode of this member's own ID in the log etcd replays.
    pub removal: Option<Removal>,
    /// Who this member is (IDs, name, URLs), for advice.
    pub identity: identity::Identity,
    /// `--check-values`: the cross-check of the db's values against the WAL, or why it
    /// could not run.
    pub values: Option<Result<ValueReport, String>>,
}

/// Run the checks (read-only: nothing is written, locked or renamed).
pub fn check(args: &VerifyArgs) -> anyhow::Result<Verified> {
    let paths = MemberPaths::resolve(&args.path, args.wal_dir.as_deref())?;
    let mut values = args.check_values.then(|| value_check_for(&paths));
    let MemberData {
        scan,
        history,
        member,
    } = read_member_with(&paths, &mut |e| {
        if let Some(Ok((_, c))) = &mut values {
            c.observe(e);
        }
    })?;
    let values = values.map(|v| {
        v.and_then(|(db, c)| {
            c.compare(&db)
                .map_err(|e| format!("the db cannot be read: {e}"))
        })
    });
    let mut lockable: Vec<PathBuf> = scan.dir.segments.iter().map(|s| s.path.clone()).collect();
    if let Some(snap) = &paths.snap {
        lockable.push(snap.join("db"));
    }
    let holders = live::holders(&lockable);

    let db = member.as_ref().and_then(|m| m.db.as_ref().ok());
    let snap_files = member.as_ref().and_then(|m| m.readable_snaps());
    let voters = member.as_ref().and_then(|m| m.voters());
    let ctx = Context {
        snap_files,
        db_consistent_index: db.and_then(|d| d.meta.consistent_index),
        voters,
    };
    let prediction = predict::predict(&scan, &ctx);

    let removal = scan
        .metadata
        .as_ref()
        .and_then(|m| membership::removed_self(&history, m.node_id));
    let identity = identity::identify(&scan, &history, member.as_ref());
    let mut v = Verified {
        removal,
        identity,
        outcome: prediction.outcome,
        etcd_error: prediction.etcd_error.clone(),
        etcd_message: prediction.etcd_message.clone(),
        paths,
        scan,
        prediction,
        member,
        rows: Vec::new(),
        notes: Vec::new(),
        holders,
        values,
    };
    v.rows = build_rows(&mut v);
    Ok(v)
}

/// Open the member's db and set up the value cross-check (before the WAL pass).
fn value_check_for(paths: &MemberPaths) -> Result<(etcd_snap::bolt::Db, ValueCheck), String> {
    let Some(snap) = &paths.snap else {
        return Err("no snap/ directory: there is no db to check".into());
    };
    let db = etcd_snap::bolt::Db::open(snap.join("db"))
        .map_err(|e| format!("the db cannot be opened: {e}"))?;
    match ValueCheck::for_db(&db) {
        Ok(Some(c)) => Ok((db, c)),
        Ok(None) => Err("the db has no consistent index".into()),
        Err(e) => Err(format!("the db's buckets cannot be read: {e}")),
    }
}

/// One row per key whose latest db record differs from what the WAL wrote.
fn value_rows(v: &Verified) -> Vec<Row> {
    let Some(Ok(r)) = &v.values else {
        return Vec::new();
    };
    let db_file = v
        .paths
        .snap
        .as_ref()
        .map(|s| v.paths.relative(&s.join("db")))
        .unwrap_or_default();
    r.mismatches
        .iter()
        .map(|m| {
            let what: Vec<String> = m
                .diffs
                .iter()
                .map(|d| format!("{}: expected {}, db has {}", d.field, d.expected, d.actual))
                .collect();
            let wal_file = m
                .wal
                .as_ref()
                .map(|w| v.paths.relative(&v.paths.wal.join(&w.segment)));
            let message = format!(
                "key \"{}\": the db's latest record{} is not what the WAL wrote{}: {}",
                m.key_escaped,
                m.db.as_ref().map_or(" (none)".into(), |d| format!(
                    " (revision {}, page {}, byte {})",
                    d.revision,
                    d.page,
                    d.value_offset.unwrap_or(d.offset)
                )),
                match (&m.wal, &wal_file) {
                    (Some(w), Some(f)) => format!(
                        " (entry index {} term {} at byte {} of {f})",
                        w.index, w.term, w.offset
                    ),
                    _ => " (the WAL, which holds the whole history, never wrote it)".into(),
                },
                what.join("; ")
            );
            let mut extra = serde_json::Map::new();
            extra.insert("key".into(), json!(m.key_escaped));
            extra.insert("key_bytes".into(), json!(etcd_proto::json::Bytes(&m.key)));
            extra.insert(
                "revision".into(),
                json!(m.db.as_ref().map(|d| d.revision.main)),
            );
            extra.insert("page".into(), json!(m.db.as_ref().map(|d| d.page)));
            extra.insert("wal_file".into(), json!(wal_file));
            extra.insert("wal_offset".into(), json!(m.wal.as_ref().map(|w| w.offset)));
            extra.insert("diffs".into(), json!(m.diffs));
            Row {
                kind: "db_value_mismatch".into(),
                file: db_file.clone(),
                offset: m.db.as_ref().map(|d| d.value_offset.unwrap_or(d.offset)),
                ordinal: None,
                record_type: None,
                index: m.wal.as_ref().map(|w| w.index),
                term: m.wal.as_ref().map(|w| w.term),
                message,
                extra,
            }
        })
        .collect()
}

fn wal_row(v: &Verified, f: &Finding) -> Row {
    let file = if SegmentName::parse(&f.segment).is_some() {
        v.paths.relative(&v.paths.wal.join(&f.segment))
    } else {
        f.segment.clone()
    };
    let mut extra = serde_json::Map::new();
    extra.insert(
        "etcd_error".into(),
        json!(if f.etcd_error.is_empty() {
            None
        } else {
            Some(&f.etcd_error)
        }),
    );
    extra.insert("etcd_reaction".into(), json!(reaction_name(f.reaction)));
    extra.insert(
        "expected_crc".into(),
        json!(f.expected_crc.map(|c| format!("{c:08x}"))),
    );
    extra.insert(
        "actual_crc".into(),
        json!(f.actual_crc.map(|c| format!("{c:08x}"))),
    );
    extra.insert("frame_len".into(), json!(f.frame_len));
    extra.insert("resync_offset".into(), json!(f.resync_offset));
    Row {
        kind: f.kind.as_str().to_string(),
        file,
        offset: f.offset,
        ordinal: f.ordinal,
        record_type: f.record_type,
        index: f.index,
        term: f.term,
        message: f.message.clone(),
        extra,
    }
}

fn plain_row(kind: &str, file: String, offset: Option<u64>, message: String) -> Row {
    Row {
        kind: kind.to_string(),
        file,
        offset,
        ordinal: None,
        record_type: None,
        index: None,
        term: None,
        message,
        extra: serde_json::Map::new(),
    }
}

/// Page damage that makes bbolt's `freepages` walk panic when etcd opens the db
/// (etcd runs bbolt with `NoFreelistSync`, so every page is walked at open).
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

fn build_rows(v: &mut Verified) -> Vec<Row> {
    // The db is opened before the WAL is read: damage there decides first.
    let mut db_rows: Vec<(bool, Row)> = Vec::new();
    let mut snap_rows: Vec<Row> = Vec::new();
    let mut refuse: Option<(String, String)> = None;
    if let Some(m) = &v.member {
        let db_file = v.paths.relative(&m.member_dir.join("snap").join("db"));
        match &m.db {
            Ok(db) => {
                for f in &db.check.findings {
                    let (kind, fatal) = match &f.kind {
                        DbKind::MetaInvalid { .. } => ("db_meta_invalid", false),
                        k => ("db_page_invalid", breaks_open_walk(k)),
                    };
                    let mut row = plain_row(kind, db_file.clone(), Some(f.offset), describe_db(f));
                    row.extra.insert("page".into(), json!(f.page));
                    row.extra.insert("damage".into(), json!(f.kind.code()));
                    if fatal && refuse.is_none() {
                        refuse = Some(bbolt_open_panic(f));
                    }
                    db_rows.push((fatal, row));
                }
                for a in &db.alarms {
                    v.notes.push((
                        "alarm".into(),
                        format!(
                            "active {:?} alarm raised by member {:016x}",
                            a.alarm, a.member_id
                        ),
                    ));
                }
                v.notes.push((
                    "db".into(),
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
            Err(e) if e.code == "not_found" => {
                v.notes.push((
                    "db_missing".into(),
                    format!("{db_file}: no db file; etcd creates an empty one"),
                ));
            }
            Err(e) => {
                let offset = e.finding.as_ref().map(|f| f.offset).or(Some(0));
                let kind = if matches!(
                    e.code,
                    "both_metas_invalid" | "invalid_database" | "file_too_small" | "empty_file"
                ) {
                    "db_meta_invalid"
                } else {
                    "db_page_invalid"
                };
                let row = plain_row(
                    kind,
                    db_file.clone(),
                    offset,
                    format!("db cannot be opened: {}", e.message),
                );
                refuse = Some((
                    bbolt_error(e.code, &e.message),
                    "failed to open database (panic)".into(),
                ));
                db_rows.push((true, row));
            }
        }
        if let Ok(d) = &m.snap {
            for e in &d.snaps {
                let Some(p) = &e.problem else { continue };
                let kind = if p.code == "snap_crc_mismatch" {
                    "snap_crc_mismatch"
                } else {
                    "snap_invalid"
                };
                let path = d.dir.join(&e.name);
                // The row names the file: the message need not (the error's text starts
                // with the path).
                let prefix = format!("{}: ", path.display());
                let what = p.message.strip_prefix(&prefix).unwrap_or(&p.message);
                let file = v.paths.relative(&path);
                let mut row = plain_row(
                    kind,
                    file,
                    Some(0),
                    format!(
                        "{what}; etcd renames it to {}.broken and falls back to an older snapshot",
                        e.name
                    ),
                );
                if let Some(r) = e.name_ref {
                    row.index = Some(r.index);
                    row.term = Some(r.term);
                }
                snap_rows.push(row);
            }
        }
        // Cross-check: a db behind the snapshot needs the `.snap.db` etcd received.
        if m.db_behind_snapshot == Some(true) && m.snap_db_present != Some(true) && refuse.is_none()
        {
            let ci =
                m.db.as_ref()
                    .ok()
                    .and_then(|d| d.meta.consistent_index)
                    .unwrap_or(0);
            let si = m.snapshot_index.unwrap_or(0);
            let row = plain_row(
                "db_behind_snapshot",
                db_file.clone(),
                None,
                format!(
                    "db consistent index {ci} is below the snapshot index {si} and {si:016x}.snap.db is missing"
                ),
            );
            db_rows.push((false, row));
            if v.outcome != Outcome::Refuses {
                v.outcome = Outcome::Refuses;
                v.etcd_error = Some(format!(
                    "failed to find database snapshot file ({})",
                    "snap: snapshot file doesn't exist"
                ));
                v.etcd_message = Some("failed to recover v3 backend from snapshot".into());
            }
        }
    }
    // A member whose own WAL removes it: etcd replays the RemoveNode and stops. That
    // happens after the db opened and the WAL was read, so only when neither refused.
    let mut removal_row = None;
    if let Some(r) = &v.removal {
        let data_dir = v.paths.root.display().to_string();
        let steps = identity::rejoin_steps(&v.identity, &data_dir);
        let mut row = Row {
            kind: "member_removed".into(),
            file: v.paths.relative(&v.paths.wal.join(&r.segment)),
            offset: Some(r.offset),
            ordinal: Some(r.ordinal),
            record_type: Some(RecordType::Entry),
            index: Some(r.index),
            term: Some(r.term),
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
                steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("{}. {s}", i + 1))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            extra: serde_json::Map::new(),
        };
        row.extra.insert("committed".into(), json!(r.committed));
        row.extra.insert("advice".into(), json!(steps));
        if refuse.is_none() && v.outcome != Outcome::Refuses {
            v.outcome = Outcome::Refuses;
            v.etcd_error = Some("the member has been permanently removed from the cluster".into());
            v.etcd_message = Some("data-dir used by this member must be removed".into());
            removal_row = Some((true, row));
        } else {
            removal_row = Some((false, row));
        }
    }
    let decisive_db = refuse.is_some();
    if let Some((err, msg)) = refuse {
        v.outcome = Outcome::Refuses;
        v.etcd_error = Some(err);
        v.etcd_message = Some(msg);
    }

    let mut rows = Vec::new();
    // Decisive first: fatal db damage, else the WAL's decisive finding.
    db_rows.sort_by_key(|(fatal, _)| !*fatal);
    // Decisive order follows etcd's boot: db open, WAL read, then the replayed RemoveNode.
    let removal_decides = removal_row.as_ref().is_some_and(|(d, _)| *d);
    let wal_decisive = if decisive_db || removal_decides {
        None
    } else {
        v.prediction.decisive
    };
    if decisive_db {
        rows.extend(db_rows.iter().filter(|(f, _)| *f).map(|(_, r)| r.clone()));
    }
    if let Some((true, r)) = &removal_row {
        rows.push(r.clone());
    }
    if let Some(f) = wal_decisive.and_then(|i| v.scan.findings.get(i)) {
        rows.push(wal_row(v, f));
    }
    for (i, f) in v.scan.findings.iter().enumerate() {
        if Some(i) != wal_decisive {
            rows.push(wal_row(v, f));
        }
    }
    if let Some((false, r)) = removal_row {
        rows.push(r);
    }
    rows.extend(snap_rows);
    rows.extend(
        db_rows
            .into_iter()
            .filter(|(f, _)| !decisive_db || !*f)
            .map(|(_, r)| r),
    );
    rows.extend(value_rows(v));
    rows
}

fn bbolt_error(code: &str, message: &str) -> String {
    match code {
        "both_metas_invalid" => "checksum error".into(),
        "invalid_database" => "invalid database".into(),
        "file_too_small" => message.to_string(),
        _ => message.to_string(),
    }
}

/// (error, reaction) for a page that breaks bbolt's walk over every page at open (etcd runs
/// it with `NoFreelistSync`): the panic text in bbolt's words where its `checkBucket` names
/// the damage; otherwise (a page past the end of the file) bbolt reads outside its map
/// and the process dies on a fault, with no message of etcd's to quote.
fn bbolt_open_panic(f: &etcd_snap::bolt::Finding) -> (String, String) {
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

/// `wal-inspect verify`.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let v = check(args)?;
    if args.json {
        render_json(&v, out)?;
    } else {
        render_human(&v, out)?;
    }
    Ok(if v.rows.is_empty() {
        Exit::Clean
    } else {
        Exit::Damage
    })
}

fn hex_id(id: u64) -> String {
    format!("{id:016x}")
}

fn row_json(r: &Row, decisive: bool) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("type".into(), json!("finding"));
    o.insert("kind".into(), json!(r.kind));
    o.insert("file".into(), json!(r.file));
    o.insert("offset".into(), json!(r.offset));
    o.insert("ordinal".into(), json!(r.ordinal));
    o.insert(
        "record_type".into(),
        json!(r.record_type.map(|t| t.as_str())),
    );
    o.insert("index".into(), json!(r.index));
    o.insert("term".into(), json!(r.term));
    o.insert("decisive".into(), json!(decisive));
    o.insert("message".into(), json!(r.message));
    for (k, val) in &r.extra {
        o.insert(k.clone(), val.clone());
    }
    Value::Object(o)
}

fn reaction_name(r: EtcdReaction) -> &'static str {
    match r {
        EtcdReaction::UnexpectedEof => "unexpected_eof",
        EtcdReaction::Fatal => "fatal",
        EtcdReaction::FatalOnReplay => "fatal_on_replay",
        EtcdReaction::Silent => "silent",
        EtcdReaction::FatalOnOpen => "fatal_on_open",
    }
}

fn summary_json(v: &Verified) -> Value {
    let s = &v.scan;
    let p = &v.prediction;
    let segments: Vec<Value> = s
        .segments
        .iter()
        .map(|g| {
            json!({
                "file": v.paths.relative(&v.paths.wal.join(&g.file)),
                "size": g.size,
                "records": g.records,
                "entries": g.entries,
                "first_index": g.first_index,
                "last_index": g.last_index,
                "valid_offset": g.valid_offset,
                "end": g.end,
            })
        })
        .collect();
    let hs = |h: Option<etcd_wal::scan::HardStateAt>| {
        h.map(|h| json!({"term": h.term, "vote": hex_id(h.vote), "commit": h.commit}))
    };
    let last_index = s.segments.iter().filter_map(|g| g.last_index).max();
    let committed_beyond =
        s.beyond
            .map(|b| match (b.first_index, b.last_index, s.last_hard_state) {
                (Some(first), Some(last), Some(h)) => h
                    .commit
                    .min(last)
                    .saturating_sub(first.saturating_sub(1))
                    .min(b.entries),
                _ => 0,
            });
    let db = v.member.as_ref().and_then(|m| m.db.as_ref().ok());
    let snap = v.member.as_ref().and_then(|m| m.snap.as_ref().ok());
    json!({
        "type": "summary",
        "etcd_outcome": v.outcome.as_str(),
        "etcd_error": v.etcd_error,
        "etcd_log_message": v.etcd_message,
        "release": p.release,
        "later_releases": p.later_releases,
        "wedged": p.wedged,
        "wedge": p.wedged.then(|| json!({
            "log_ends_at": p.last_index_after_start,
            "db_consistent_index": db.and_then(|d| d.meta.consistent_index),
        })),
        "repair": p.repair,
        "start_snapshot": {"index": p.start_snapshot.0, "term": p.start_snapshot.1},
        "last_index_after_start": p.last_index_after_start,
        "findings": v.rows.len(),
        "member_id": s.metadata.as_ref().map(|m| hex_id(m.node_id)),
        "cluster_id": s.metadata.as_ref().map(|m| hex_id(m.cluster_id)),
        "records": s.records,
        "entries": s.entries,
        "last_index": last_index,
        "last_entry_before_damage": s.last_entry_before_damage.map(|(i, t)| json!({"index": i, "term": t})),
        "hard_state": hs(s.hard_state),
        "last_hard_state": hs(s.last_hard_state),
        "beyond_damage": s.beyond.map(|b| json!({
            "records": b.records,
            "entries": b.entries,
            "first_index": b.first_index,
            "last_index": b.last_index,
            "committed_entries": committed_beyond,
            "chain_resynchronised": b.resynchronised,
            "intact": b.intact,
        })),
        "snapshot_records": s.snapshots.iter().map(|r| json!({
            "index": r.index, "term": r.term, "conf_state": r.has_conf_state,
            "file": v.paths.relative(&v.paths.wal.join(s.dir.segments.get(r.segment_pos).map(|g| g.file_name()).unwrap_or_default())),
            "offset": r.offset,
        })).collect::<Vec<_>>(),
        "snap_picked": snap.and_then(|d| d.picked.clone()),
        "snap_would_rename_broken": snap.map(|d| d.would_rename_broken.clone()),
        "db_consistent_index": db.and_then(|d| d.meta.consistent_index),
        "db_term": db.and_then(|d| d.meta.term),
        "db_size": db.map(|d| d.file_size),
        "segments": segments,
        "live_etcd": v.holders.iter().map(|h| json!({"file": v.paths.relative(&h.file), "lock": h.lock, "pids": h.pids})).collect::<Vec<_>>(),
    })
}

/// The `value_check` summary object (only with `--check-values`).
fn value_summary(v: &Verified) -> Option<Value> {
    Some(match v.values.as_ref()? {
        Ok(r) => json!({
            "performed": true,
            "history": r.history,
            "consistent_index": r.consistent_index,
            "first_index": r.first_index,
            "entries_replayed": r.entries_replayed,
            "keys_checked": r.keys_checked,
            "keys_not_checkable": r.keys_not_checkable,
            "keys_mismatched": r.keys_mismatched,
            "notes": r.notes,
        }),
        Err(e) => json!({"performed": false, "reason": e}),
    })
}

fn render_json(v: &Verified, out: &mut dyn Write) -> anyhow::Result<()> {
    for (i, r) in v.rows.iter().enumerate() {
        writeln!(out, "{}", row_json(r, i == 0))?;
    }
    for h in &v.holders {
        let note = json!({
            "type": "note",
            "kind": "live_etcd",
            "file": v.paths.relative(&h.file),
            "message": format!("{} is locked ({}) by a running process{}", v.paths.relative(&h.file), h.lock,
                if h.pids.is_empty() { String::new() } else { format!(" (pid {:?})", h.pids) }),
        });
        writeln!(out, "{note}")?;
    }
    for path in &v.scan.dir.broken {
        writeln!(
            out,
            "{}",
            json!({"type": "note", "kind": "wal_broken_copy", "file": v.paths.relative(path),
            "message": "a .wal.broken copy left by an earlier etcd repair"})
        )?;
    }
    for (kind, message) in &v.notes {
        writeln!(
            out,
            "{}",
            json!({"type": "note", "kind": kind, "message": message})
        )?;
    }
    let mut summary = summary_json(v);
    if let (Some(vc), Some(o)) = (value_summary(v), summary.as_object_mut()) {
        o.insert("value_check".into(), vc);
    }
    writeln!(out, "{summary}")?;
    Ok(())
}

fn render_human(v: &Verified, out: &mut dyn Write) -> anyhow::Result<()> {
    let s = &v.scan;
    let p = &v.prediction;
    writeln!(out, "WAL: {}", v.paths.wal.display())?;
    if let Some(m) = &s.metadata {
        writeln!(
            out,
            "member {}  cluster {}",
            hex_id(m.node_id),
            hex_id(m.cluster_id)
        )?;
    }
    for h in &v.holders {
        writeln!(
            out,
            "NOTE: {} is locked by a running process{}: is etcd running? Results may change under us.",
            v.paths.relative(&h.file),
            if h.pids.is_empty() {
                String::new()
            } else {
                let pids: Vec<String> = h.pids.iter().map(|p| p.to_string()).collect();
                format!(" (pid {})", pids.join(", "))
            }
        )?;
    }
    writeln!(out)?;
    for g in &s.segments {
        let idx = match (g.first_index, g.last_index) {
            (Some(a), Some(b)) => format!("entries {a}..{b}"),
            _ => "no entries".to_string(),
        };
        writeln!(
            out,
            "  {}  {:>10} bytes  {:>7} records  {}",
            g.file, g.size, g.records, idx
        )?;
    }
    if let Some(h) = s.hard_state {
        writeln!(
            out,
            "  last HardState{}: term {} commit {} vote {}",
            // With WAL damage this is the one etcd reads; a later one may lie beyond it.
            if s.beyond.is_some() {
                " before the damage"
            } else {
                ""
            },
            h.term,
            h.commit,
            hex_id(h.vote)
        )?;
    }
    for (_, n) in &v.notes {
        writeln!(out, "  {n}")?;
    }
    match &v.values {
        Some(Ok(r)) => {
            writeln!(
                out,
                "  values cross-checked against the WAL ({} history, entries {}..{}): {} keys checked, {} not checkable, {} mismatched",
                match r.history {
                    etcd_snap::crosscheck::History::Complete => "complete",
                    etcd_snap::crosscheck::History::Partial => "partial",
                },
                r.first_index.map_or("-".into(), |i| i.to_string()),
                r.consistent_index,
                r.keys_checked,
                r.keys_not_checkable,
                r.keys_mismatched
            )?;
            for n in &r.notes {
                writeln!(out, "    ({n})")?;
            }
        }
        Some(Err(e)) => writeln!(out, "  values not cross-checked: {e}")?,
        None => {}
    }
    writeln!(out)?;
    if v.rows.is_empty() {
        writeln!(
            out,
            "OK: no damage found ({} records, {} entries).",
            s.records, s.entries
        )?;
    } else {
        writeln!(out, "DAMAGE: {} finding(s)", v.rows.len())?;
        for (i, r) in v.rows.iter().enumerate() {
            let mut at = String::new();
            if let Some(o) = r.offset {
                at.push_str(&format!(" at byte {o}"));
            }
            if let Some(n) = r.ordinal {
                at.push_str(&format!(", record #{n}"));
            }
            if let Some(t) = r.record_type {
                at.push_str(&format!(" ({t}"));
                if let (Some(idx), Some(tm)) = (r.index, r.term) {
                    at.push_str(&format!(", raft index {idx} term {tm}"));
                }
                at.push(')');
            }
            writeln!(
                out,
                "{} {}: {}{}",
                if i == 0 { "*" } else { "-" },
                r.kind,
                r.file,
                at
            )?;
            // Steps (the removed member's advice) one per line; JSON has them in one message.
            let advice = r.extra.get("advice").and_then(|a| a.as_array());
            match (advice, r.message.split_once(" What to do, in this order: ")) {
                (Some(steps), Some((head, _))) => {
                    writeln!(out, "    {head}")?;
                    writeln!(out, "    What to do, in this order:")?;
                    for (i, step) in steps.iter().enumerate() {
                        writeln!(
                            out,
                            "      {}. {}",
                            i + 1,
                            step.as_str().unwrap_or_default()
                        )?;
                    }
                }
                _ => writeln!(out, "    {}", r.message)?,
            }
        }
        let first_kind = s.findings.first().map(|f| f.kind);
        let segment_missing = s
            .findings
            .iter()
            .any(|f| f.kind == etcd_wal::finding::FindingKind::MissingSegment);
        if first_kind == Some(etcd_wal::finding::FindingKind::RecordsAfterEnd) {
            // The scan stops where etcd stops; the finding above estimates what follows.
            writeln!(
                out,
                "\nBeyond the zero length word: not decoded (etcd stops there); the finding above estimates what it holds."
            )?;
        } else if let Some(b) = s.beyond {
            writeln!(
                out,
                "\nBeyond the first WAL damage: {} records, {} entries{}; chain {}.",
                b.records,
                b.entries,
                match (b.first_index, b.last_index) {
                    (Some(a), Some(z)) => format!(" (index {a}..{z})"),
                    _ => String::new(),
                },
                if segment_missing && b.resynchronised {
                    "resynchronises in the next segment, but the missing segment's records are gone"
                } else if b.intact && b.resynchronised {
                    "resynchronises: only the damaged record is bad"
                } else if b.resynchronised {
                    "resynchronises, but there is more damage"
                } else {
                    "does not resynchronise"
                }
            )?;
            if let Some(h) = s.last_hard_state {
                writeln!(
                    out,
                    "The last HardState in the whole WAL commits up to index {}.",
                    h.commit
                )?;
            }
        }
    }
    writeln!(out)?;
    let what = match v.outcome {
        Outcome::Starts if v.rows.is_empty() => "etcd will start normally.".to_string(),
        Outcome::Starts if !s.findings.is_empty() => {
            "etcd will start WITHOUT noticing: it silently drops what follows the damage."
                .to_string()
        }
        Outcome::Starts => "etcd will start (the damage above does not stop it).".to_string(),
        Outcome::RepairsTail => match &p.repair {
            Some(r) => format!(
                "etcd will repair its tail: copy {} to {}.broken and truncate it at byte {} (dropping everything after), then start.",
                r.segment, r.segment, r.truncate_at
            ),
            None => "etcd will repair its tail.".to_string(),
        },
        Outcome::Refuses => format!(
            "etcd will REFUSE to start: \"{}\" ({}).",
            v.etcd_error.clone().unwrap_or_default(),
            v.etcd_message.clone().unwrap_or_default()
        ),
    };
    writeln!(out, "{what}")?;
    if p.wedged {
        writeln!(
            out,
            "WARNING: the log etcd keeps ends at index {} but the db has applied up to {}: etcd will start and report healthy, but every write will time out.",
            p.last_index_after_start.unwrap_or(0),
            v.member
                .as_ref()
                .and_then(|m| m.db.as_ref().ok())
                .and_then(|d| d.meta.consistent_index)
                .unwrap_or(0),
        )?;
    }
    if let Some(l) = &p.later_releases {
        writeln!(out, "Note: {l}.")?;
    }
    Ok(())
}

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}

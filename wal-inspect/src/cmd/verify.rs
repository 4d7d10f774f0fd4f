//! `wal-inspect verify`: what is damaged, where, and what etcd will do on start.

use std::io::Write;
use std::path::PathBuf;

use etcd_wal::finding::{EtcdReaction, Finding};
use etcd_wal::predict::{self, Context, Outcome, Prediction};
use etcd_wal::scan::{self, Scan};
use etcd_wal::segment::SegmentName;
use serde_json::{Value, json};

use crate::cli::VerifyArgs;
use crate::datadir::MemberPaths;
use crate::exit::Exit;
use crate::live;

/// Everything verify found, before rendering.
pub struct Verified {
    /// Resolved paths.
    pub paths: MemberPaths,
    /// The WAL pass.
    pub scan: Scan,
    /// etcd's predicted behaviour.
    pub prediction: Prediction,
    /// `.snap` files by (term, index).
    pub snap_files: Vec<(u64, u64, PathBuf)>,
    /// Locks held by a live process.
    pub holders: Vec<live::Holder>,
}

impl Verified {
    /// Findings in output order: the decisive one first, then stream order.
    pub fn ordered_findings(&self) -> Vec<(bool, &Finding)> {
        let d = self.prediction.decisive;
        let mut out: Vec<(bool, &Finding)> = Vec::new();
        if let Some(f) = d.and_then(|i| self.scan.findings.get(i)) {
            out.push((true, f));
        }
        for (i, f) in self.scan.findings.iter().enumerate() {
            if Some(i) != d {
                out.push((false, f));
            }
        }
        out
    }
}

/// Run the checks (read-only).
pub fn check(args: &VerifyArgs) -> anyhow::Result<Verified> {
    let paths = MemberPaths::resolve(&args.path, args.wal_dir.as_deref())?;
    let scan = scan::scan_dir(&paths.wal)?;
    let snap_files = list_snap_files(&paths);
    let mut lockable: Vec<PathBuf> = scan.dir.segments.iter().map(|s| s.path.clone()).collect();
    if let Some(snap) = &paths.snap {
        lockable.push(snap.join("db"));
    }
    let holders = live::holders(&lockable);
    let ctx = Context {
        snap_files: paths
            .snap
            .as_ref()
            .map(|_| snap_files.iter().map(|(t, i, _)| (*t, *i)).collect()),
        db_consistent_index: None,
    };
    let prediction = predict::predict(&scan, &ctx);
    Ok(Verified {
        paths,
        scan,
        prediction,
        snap_files,
        holders,
    })
}

fn list_snap_files(paths: &MemberPaths) -> Vec<(u64, u64, PathBuf)> {
    let Some(dir) = &paths.snap else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".snap") else {
            continue;
        };
        let Some((t, i)) = stem.split_once('-') else {
            continue;
        };
        if let (Ok(t), Ok(i)) = (u64::from_str_radix(t, 16), u64::from_str_radix(i, 16)) {
            out.push((t, i, e.path()));
        }
    }
    out.sort();
    out
}

/// `wal-inspect verify`.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let v = check(args)?;
    if args.json {
        render_json(&v, out)?;
    } else {
        render_human(&v, out)?;
    }
    Ok(if v.scan.findings.is_empty() {
        Exit::Clean
    } else {
        Exit::Damage
    })
}

fn hex_id(id: u64) -> String {
    format!("{id:016x}")
}

fn finding_json(v: &Verified, f: &Finding, decisive: bool) -> Value {
    let file = if SegmentName::parse(&f.segment).is_some() {
        v.paths.relative(&v.paths.wal.join(&f.segment))
    } else {
        f.segment.clone()
    };
    json!({
        "type": "finding",
        "kind": f.kind.as_str(),
        "file": file,
        "offset": f.offset,
        "ordinal": f.ordinal,
        "record_type": f.record_type.map(|t| t.as_str()),
        "index": f.index,
        "term": f.term,
        "decisive": decisive,
        "message": f.message,
        "etcd_error": if f.etcd_error.is_empty() { None } else { Some(&f.etcd_error) },
        "etcd_reaction": reaction_name(f.reaction),
        "expected_crc": f.expected_crc.map(|c| format!("{c:08x}")),
        "actual_crc": f.actual_crc.map(|c| format!("{c:08x}")),
        "frame_len": f.frame_len,
        "resync_offset": f.resync_offset,
    })
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
    json!({
        "type": "summary",
        "etcd_outcome": p.outcome.as_str(),
        "etcd_error": p.etcd_error,
        "etcd_log_message": p.etcd_message,
        "release": p.release,
        "later_releases": p.later_releases,
        "wedged": p.wedged,
        "repair": p.repair,
        "start_snapshot": {"index": p.start_snapshot.0, "term": p.start_snapshot.1},
        "last_index_after_start": p.last_index_after_start,
        "findings": s.findings.len(),
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
            "file": v.paths.relative(&v.paths.wal.join(&s.dir.segments.get(r.segment_pos).map(|g| g.file_name()).unwrap_or_default())),
            "offset": r.offset,
        })).collect::<Vec<_>>(),
        "snap_files": v.snap_files.iter().map(|(t, i, p)| json!({"term": t, "index": i, "file": v.paths.relative(p)})).collect::<Vec<_>>(),
        "segments": segments,
        "live_etcd": v.holders.iter().map(|h| json!({"file": v.paths.relative(&h.file), "lock": h.lock, "pids": h.pids})).collect::<Vec<_>>(),
    })
}

fn render_json(v: &Verified, out: &mut dyn Write) -> anyhow::Result<()> {
    for (decisive, f) in v.ordered_findings() {
        writeln!(out, "{}", finding_json(v, f, decisive))?;
    }
    for h in &v.holders {
        let note = json!({
            "type": "note",
            "kind": "live_etcd",
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
    writeln!(out, "{}", summary_json(v))?;
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
            "NOTE: {} is locked by a running process{} — is etcd running? Results may change under us.",
            v.paths.relative(&h.file),
            if h.pids.is_empty() {
                String::new()
            } else {
                format!(" (pid {:?})", h.pids)
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
            "  last HardState: term {} commit {} vote {}",
            h.term,
            h.commit,
            hex_id(h.vote)
        )?;
    }
    writeln!(out)?;
    if s.findings.is_empty() {
        writeln!(
            out,
            "OK: no damage found ({} records, {} entries).",
            s.records, s.entries
        )?;
    } else {
        writeln!(out, "DAMAGE: {} finding(s)", s.findings.len())?;
        for (decisive, f) in v.ordered_findings() {
            let mut at = String::new();
            if let Some(o) = f.offset {
                at.push_str(&format!(" at byte {o}"));
            }
            if let Some(n) = f.ordinal {
                at.push_str(&format!(", record #{n}"));
            }
            if let Some(t) = f.record_type {
                at.push_str(&format!(" ({t}"));
                if let (Some(i), Some(tm)) = (f.index, f.term) {
                    at.push_str(&format!(", raft index {i} term {tm}"));
                }
                at.push(')');
            }
            writeln!(
                out,
                "{} {}: {}{}",
                if decisive { "*" } else { "-" },
                f.kind,
                f.segment,
                at
            )?;
            writeln!(out, "    {}", f.message)?;
        }
        if let Some(b) = s.beyond {
            writeln!(
                out,
                "\nBeyond the first damage: {} records, {} entries{}; chain {}.",
                b.records,
                b.entries,
                match (b.first_index, b.last_index) {
                    (Some(a), Some(z)) => format!(" (index {a}..{z})"),
                    _ => String::new(),
                },
                if b.intact && b.resynchronised {
                    "resynchronises: only the damaged record is bad"
                } else if b.resynchronised {
                    "resynchronises, but there is more damage"
                } else {
                    "does not resynchronise"
                }
            )?;
        }
    }
    writeln!(out)?;
    let what = match p.outcome {
        Outcome::Starts if s.findings.is_empty() => "etcd will start normally.".to_string(),
        Outcome::Starts => {
            "etcd will start WITHOUT noticing: it silently drops what follows the damage."
                .to_string()
        }
        Outcome::RepairsTail => match &p.repair {
            Some(r) => format!(
                "etcd will repair its tail: copy {} to {}.broken and truncate it at byte {} (dropping everything after), then start.",
                r.segment, r.segment, r.truncate_at
            ),
            None => "etcd will repair its tail.".to_string(),
        },
        Outcome::Refuses => format!(
            "etcd will REFUSE to start: \"{}\" ({}).",
            p.etcd_error.clone().unwrap_or_default(),
            p.etcd_message.clone().unwrap_or_default()
        ),
    };
    writeln!(out, "{what}")?;
    if p.wedged {
        writeln!(
            out,
            "WARNING: the log etcd keeps ends below the db's consistent index: it will start and report healthy, but every write will time out."
        )?;
    }
    if let Some(l) = &p.later_releases {
        writeln!(out, "Note: {l}.")?;
    }
    Ok(())
}

//! `wal-inspect verify`: renders an [`etcd_member::Inspection`] (the library decides what
//! is damaged, where, and what etcd will do on start; this module only prints it).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use etcd_member::{Detail, FindingKind, Inspection, NoteKind, Options, Outcome};
use etcd_wal::FindingKind as WalKind;

use crate::exit::Exit;
use crate::output::{self, Typed};

/// `wal-inspect verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A data dir (holding `member/`), a member dir (holding `wal/`, `snap/`) or a WAL dir.
    pub path: PathBuf,
    /// The WAL directory, when it is not `<member>/wal` (etcd's `--wal-dir`).
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// Print JSON Lines (one object per line, each with a "type") instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also replay the WAL's writes up to the db's consistent index and compare each key's
    /// latest value, lease (and, with the whole history, revisions) with the db: finds
    /// value bytes damaged in the db, which bolt cannot see. Reads the db once more.
    #[arg(long)]
    pub check_values: bool,
}

/// `wal-inspect verify`.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let v = etcd_member::inspect(
        &args.path,
        &Options {
            wal_dir: args.wal_dir.clone(),
            check_values: args.check_values,
            interrupt: None,
        },
    )?;
    if args.json {
        render_json(&v, out)?;
    } else {
        render_human(&v, out)?;
    }
    Ok(if v.findings().is_empty() {
        Exit::Clean
    } else {
        Exit::Damage
    })
}

fn render_json(v: &Inspection, out: &mut dyn Write) -> anyhow::Result<()> {
    output::begin(out, "verify")?;
    for f in v.findings() {
        output::json_line(out, f)?;
    }
    for n in &v.notes {
        output::json_line(out, n)?;
    }
    output::json_line(
        out,
        &Typed {
            line: "summary",
            value: &v.summary(),
        },
    )?;
    Ok(())
}

fn hex_id(id: u64) -> String {
    etcd_proto::text::member_id(id)
}

fn render_human(v: &Inspection, out: &mut dyn Write) -> anyhow::Result<()> {
    let s = &v.scan;
    let p = &v.prediction;
    writeln!(out, "WAL: {}", v.dir.shown(&v.dir.wal))?;
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
            v.dir.relative(&h.file),
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
    for n in v
        .notes
        .iter()
        .filter(|n| !matches!(n.kind, NoteKind::LiveEtcd | NoteKind::WalBrokenCopy))
    {
        writeln!(out, "  {}", n.message)?;
    }
    match &v.values {
        Some(Ok(r)) => {
            writeln!(
                out,
                "  values cross-checked against the WAL ({} history, entries {}..{}): {} keys checked, {} not checkable, {} mismatched",
                match r.history {
                    etcd_member::crosscheck::History::Complete => "complete",
                    etcd_member::crosscheck::History::Partial => "partial",
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
    let findings = v.findings();
    if findings.is_empty() {
        writeln!(
            out,
            "OK: no damage found ({} records, {} entries).",
            s.records, s.entries
        )?;
    } else {
        writeln!(out, "DAMAGE: {} finding(s)", findings.len())?;
        for (i, f) in findings.iter().enumerate() {
            writeln!(
                out,
                "{} {}: {}{}",
                if i == 0 && f.decisive { "*" } else { "-" },
                f.kind,
                f.file,
                f.place()
            )?;
            // Steps (the removed member's advice) one per line; JSON has them in one message.
            match (
                &f.detail,
                f.message.split_once(" What to do, in this order: "),
            ) {
                (Detail::Removal { advice, .. }, Some((head, _))) => {
                    writeln!(out, "    {head}")?;
                    writeln!(out, "    What to do, in this order:")?;
                    for (i, step) in advice.iter().enumerate() {
                        writeln!(out, "      {}. {step}", i + 1)?;
                    }
                }
                _ => writeln!(out, "    {}", f.message)?,
            }
        }
        let first_kind = s.findings.first().map(|f| f.kind);
        let segment_missing = s.findings.iter().any(|f| f.kind == WalKind::MissingSegment);
        if first_kind == Some(WalKind::RecordsAfterEnd) {
            // The scan stops where etcd stops; the finding above estimates what follows.
            writeln!(
                out,
                "\nBeyond the zero length word: not decoded (etcd stops there); the finding above estimates what it holds."
            )?;
        } else if let Some(b) = s
            .beyond
            .filter(|_| first_kind != Some(WalKind::EmptySegment))
        {
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
    let silent = findings
        .iter()
        .any(|f| matches!(f.kind, FindingKind::Wal(_)));
    let what = match v.outcome() {
        Outcome::Starts if findings.is_empty() => "etcd will start normally.".to_string(),
        Outcome::Starts if s.findings.first().map(|f| f.kind) == Some(WalKind::EmptySegment) => {
            "etcd will start WITHOUT noticing: it reads the empty segment as the end of the log."
                .to_string()
        }
        Outcome::Starts if silent => {
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
            v.boot.etcd_error.clone().unwrap_or_default(),
            v.boot.etcd_message.clone().unwrap_or_default()
        ),
    };
    writeln!(out, "{what}")?;
    if let (Some(f), Some(ci)) = (
        s.findings
            .first()
            .filter(|f| f.kind == WalKind::EmptySegment),
        v.db_consistent_index(),
    ) {
        if let Some(first) = f.index.filter(|&i| i <= ci) {
            writeln!(
                out,
                "Lost with the empty segment: entries {first}..{ci} at least (the db has applied up to {ci}, so the log held them)."
            )?;
        }
    }
    if v.wedged() {
        writeln!(
            out,
            "WARNING: the log etcd keeps ends at index {} but the db has applied up to {}: etcd will start and report healthy, but every write will time out.",
            p.last_index_after_start.unwrap_or(0),
            v.boot.consistent_index.unwrap_or(0),
        )?;
    }
    if let Some(l) = &p.later_releases {
        writeln!(out, "Note: {l}.")?;
    }
    Ok(())
}

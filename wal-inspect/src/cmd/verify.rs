//! `wal-inspect verify`: renders an [`etcd_member::Inspection`] (the library decides what
//! is damaged, where, and what etcd will do on start; this module only prints it).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use etcd_member::cluster::ClusterView;
use etcd_member::config::Config;
use etcd_member::configcheck::ConfigWhen;
use etcd_member::{Detail, FindingKind, Inspection, NoteKind, Options, Outcome};
use etcd_wal::FindingKind as WalKind;

use crate::exit::Exit;
use crate::output::{self, Typed};
use crate::paint;

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
    /// The member's etcd configuration (an environment file as /etc/etcd/etcd.conf, an
    /// etcd `--config-file` YAML, or a Kubernetes static pod manifest): also predict what
    /// etcd does with this data dir, and on an empty one, under that configuration
    /// (findings of kind config_mismatch, with etcd's error text and the fix).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Predict for exactly this etcd release (X.Y.Z, 3.4–3.7): its decoder's reactions,
    /// error texts and start checks. Without it: for the release line that wrote the
    /// data, with what each release of the test rig does listed beside.
    #[arg(long, value_name = "X.Y.Z")]
    pub etcd_version: Option<etcd_member::release::EtcdVersion>,
    /// What upgrading this member to a release line would meet: the verdict of the newest
    /// release of that line the test rig runs (3.6 → 3.6.16, 3.7 → 3.7.3), with findings
    /// of kind upgrade_blocker for what it refuses or changes.
    #[arg(long, value_name = "3.6|3.7", conflicts_with = "etcd_version", value_parser = ["3.6", "3.7"])]
    pub upgrade_to: Option<String>,
    /// Output format: simple (text), json (= --json), or table (one row per segment, one
    /// per finding, then the outcome).
    #[arg(short = 'w', long = "write-out", value_enum, default_value_t)]
    pub write_out: crate::output::WriteOut,
    /// Also write the verdict as Prometheus metrics to FILE (text exposition format, for
    /// node_exporter's textfile collector; written atomically: temp file + rename).
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Another member's data dir (repeatable): its cluster ID, names and URLs.
    #[arg(long = "peer-dir", value_name = "DIR")]
    pub peer_dirs: Vec<PathBuf>,
}

/// The bytes `verify` reads: the WAL's segments and the db (0 when they cannot be found;
/// the inspection then says why).
fn input_bytes(args: &VerifyArgs) -> u64 {
    let Ok(dir) = etcd_member::MemberDir::resolve(&args.path, args.wal_dir.as_deref()) else {
        return 0;
    };
    let db = dir
        .db()
        .and_then(|d| std::fs::metadata(d).ok())
        .map_or(0, |m| m.len());
    etcd_wal::progress::wal_bytes(&dir.wal) + db
}

/// `wal-inspect verify`.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    // A configuration that cannot be read is bad input: before the data dir is read.
    let config = args.config.as_deref().map(Config::read).transpose()?;
    let display = crate::progress::Display::start("verify", input_bytes(args), false);
    let mut v = etcd_member::inspect(
        &args.path,
        &Options {
            wal_dir: args.wal_dir.clone(),
            check_values: args.check_values,
            interrupt: None,
            etcd_version: args.etcd_version.or_else(|| {
                let line = args.upgrade_to.as_deref()?;
                etcd_member::release::REPRESENTATIVES
                    .iter()
                    .copied()
                    .find(|r| r.line() == line)
            }),
            progress: display.as_ref().map(crate::progress::Display::progress),
        },
    )?;
    drop(display);
    if config.is_some() || !args.peer_dirs.is_empty() {
        let (cluster, peers) = ClusterView::gather(&v, &args.peer_dirs, config.as_ref(), None)?;
        let removals = etcd_member::configcheck::peer_removals(&v, &peers);
        v.findings.extend(removals);
        if let Some(c) = &config {
            v.findings
                .extend(etcd_member::configcheck::check(&cluster, c, &peers));
        }
    }
    if let Some(file) = &args.metrics_file {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let text = crate::metrics::render(&v, &etcd_member::absolute(&args.path)?, now);
        crate::metrics::write_atomically(file, &text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    if args.json || args.write_out == crate::output::WriteOut::Json {
        render_json(&v, out)?;
    } else if args.write_out == crate::output::WriteOut::Table {
        render_table(&v, out)?;
        if let Some(next) = next_command(args, &v)? {
            writeln!(out, "next: {next}")?;
        }
    } else {
        render_human(&v, out)?;
        if let Some(next) = next_command(args, &v)? {
            writeln!(out, "\nnext: {next}")?;
        }
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

/// `-w table`: the segments, the findings, the outcome.
fn render_table(v: &Inspection, out: &mut dyn Write) -> anyhow::Result<()> {
    let dash = || "-".to_owned();
    let segments = v
        .scan
        .segments
        .iter()
        .map(|g| {
            vec![
                g.file.clone(),
                g.size.to_string(),
                g.records.to_string(),
                g.entries.to_string(),
                g.first_index.map_or_else(dash, |i| i.to_string()),
                g.last_index.map_or_else(dash, |i| i.to_string()),
            ]
        })
        .collect();
    write!(
        out,
        "{}",
        output::table(
            &[
                "SEGMENT",
                "SIZE",
                "RECORDS",
                "ENTRIES",
                "FIRST INDEX",
                "LAST INDEX"
            ],
            segments
        )
    )?;
    if !v.findings().is_empty() {
        let findings = v
            .findings()
            .iter()
            .map(|f| {
                vec![
                    f.kind.to_string(),
                    f.file.clone(),
                    f.location.offset().map_or_else(dash, |o| o.to_string()),
                    f.location.ordinal().map_or_else(dash, |o| o.to_string()),
                    f.index.map_or_else(dash, |i| i.to_string()),
                    f.term.map_or_else(dash, |t| t.to_string()),
                    if f.decisive { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect();
        write!(
            out,
            "{}",
            output::table(
                &[
                    "FINDING", "FILE", "OFFSET", "RECORD", "INDEX", "TERM", "DECISIVE"
                ],
                findings
            )
        )?;
    }
    writeln!(
        out,
        "etcd outcome: {}{}{}",
        v.outcome().as_str(),
        v.boot
            .etcd_error
            .as_deref()
            .filter(|_| v.outcome() != Outcome::Starts)
            .map_or(String::new(), |e| format!(" (\"{e}\")")),
        if v.wedged() {
            ", wedged: every write will time out"
        } else {
            ""
        }
    )?;
    Ok(())
}

fn hex_id(id: u64) -> String {
    etcd_proto::text::member_id(id)
}

/// The command to run next when the data is damaged: the repair plan (read-only), with
/// the paths absolute and the options that shape it, shell-quoted.
fn next_command(args: &VerifyArgs, v: &Inspection) -> anyhow::Result<Option<String>> {
    // Damage only: a configuration problem or a release's refusal is not repaired.
    if !v.findings().iter().any(|f| {
        !matches!(
            f.kind,
            FindingKind::ConfigMismatch
                | FindingKind::UpgradeBlocker
                | FindingKind::DowngradeBlocker
        )
    }) {
        return Ok(None);
    }
    let abs = |p: &std::path::Path| -> anyhow::Result<String> {
        Ok(etcd_member::absolute(p)?.display().to_string())
    };
    let mut argv = vec![
        "wal-inspect".to_owned(),
        "repair".to_owned(),
        abs(&args.path)?,
    ];
    if let Some(w) = &args.wal_dir {
        argv.push(format!("--wal-dir={}", abs(w)?));
    }
    if let Some(c) = &args.config {
        argv.push(format!("--config={}", abs(c)?));
    }
    for p in &args.peer_dirs {
        argv.push(format!("--peer-dir={}", abs(p)?));
    }
    Ok(Some(
        argv.iter()
            .map(|a| etcd_member::runbook::shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
    ))
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
                "  values cross-checked against the WAL ({} history, entries {}..{}): {} keys checked, {} not checkable, {} mismatched{}",
                match r.history {
                    etcd_member::crosscheck::History::Complete => "complete",
                    etcd_member::crosscheck::History::Partial => "partial",
                },
                r.first_index.map_or("-".into(), |i| i.to_string()),
                r.consistent_index,
                r.keys_checked,
                r.keys_not_checkable,
                r.keys_mismatched,
                if r.revisions_checked > 0 {
                    format!(
                        "; {} revision records checked, {} older ones mismatched",
                        r.revisions_checked, r.revisions_mismatched
                    )
                } else {
                    String::new()
                }
            )?;
            for n in &r.notes {
                writeln!(out, "    ({n})")?;
            }
            let objects = r.k8s_objects();
            if !objects.is_empty() {
                writeln!(
                    out,
                    "    Kubernetes objects whose value differs: {}",
                    etcd_k8s::db::describe(&objects)
                )?;
            }
        }
        Some(Err(e)) => writeln!(out, "  values not cross-checked: {e}")?,
        None => {}
    }
    writeln!(out)?;
    let (config, findings): (Vec<&etcd_member::Finding>, Vec<&etcd_member::Finding>) = v
        .findings()
        .iter()
        .partition(|f| f.kind == FindingKind::ConfigMismatch);
    if findings.is_empty() {
        writeln!(
            out,
            "{} no damage found ({} records, {} entries).",
            paint::good("OK:"),
            s.records,
            s.entries
        )?;
    } else {
        if findings.iter().all(|f| {
            matches!(
                f.kind,
                FindingKind::UpgradeBlocker | FindingKind::DowngradeBlocker
            )
        }) {
            writeln!(
                out,
                "{} {} finding(s) (no damage; this release refuses the data)",
                paint::bad("BLOCKED:"),
                findings.len()
            )?;
        } else {
            writeln!(
                out,
                "{} {} finding(s)",
                paint::bad("DAMAGE:"),
                findings.len()
            )?;
        }
        for (i, f) in findings.iter().enumerate() {
            let kind = f.kind.to_string();
            writeln!(
                out,
                "{} {}: {}{}",
                if i == 0 && f.decisive { "*" } else { "-" },
                if f.decisive {
                    paint::bad(&kind)
                } else {
                    paint::warn(&kind)
                },
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
        Outcome::Starts
            if findings
                .iter()
                .any(|f| f.kind == FindingKind::MemberRemoved) =>
        {
            format!(
                "etcd will start, then stop as soon as a member of the cluster answers it: \"{}\".",
                etcd_member::boot::REMOVED_ERROR
            )
        }
        Outcome::Starts => "etcd will start (the damage above does not stop it).".to_string(),
        Outcome::RepairsTail => match &p.repair {
            Some(r) => format!(
                "etcd will repair its tail: copy {} to {}.broken and truncate it at byte {} (dropping everything after), then start.",
                r.segment, r.segment, r.truncate_at
            ),
            None => "etcd will repair its tail.".to_string(),
        },
        Outcome::Refuses => {
            let mut said = format!(
                "etcd will REFUSE to start: \"{}\" ({}).",
                v.boot.etcd_error.clone().unwrap_or_default(),
                v.boot.etcd_message.clone().unwrap_or_default()
            );
            // The refusal comes after the WAL read: the dir is changed all the same.
            if let Some(r) = p.repair.as_ref().filter(|_| v.boot.repaired_first) {
                said.push_str(&format!(
                    " Before that it repairs the WAL's tail: copies {} to {}.broken and truncates it at byte {}.",
                    r.segment, r.segment, r.truncate_at
                ));
            }
            said
        }
    };
    let what = match v.outcome() {
        Outcome::Refuses => paint::bad(&what),
        Outcome::Starts if findings.is_empty() => paint::good(&what),
        _ => paint::warn(&what),
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
            "{} the log etcd keeps ends at index {} but the db has applied up to {}: etcd will start and report healthy, but every write will time out.",
            paint::bad("WARNING:"),
            p.last_index_after_start.unwrap_or(0),
            v.boot.consistent_index.unwrap_or(0),
        )?;
    }
    if let Some(l) = &p.later_releases {
        writeln!(out, "Note: {l}.")?;
    }
    // Asked for (no comparison then): say for which release.
    if let Some(r) = v.etcd_version.filter(|_| v.by_release.is_empty()) {
        writeln!(out, "(predicted for etcd {r})")?;
    }
    // Releases that do something else with the same bytes.
    let differ: Vec<String> = v
        .by_release
        .iter()
        .filter(|r| {
            r.etcd_outcome != v.outcome()
                || r.wedged != v.wedged()
                || (r.etcd_outcome == Outcome::Refuses && r.etcd_error != v.boot.etcd_error)
        })
        .map(|r| {
            format!(
                "etcd {} {}{}{}",
                r.release,
                r.etcd_outcome.as_str().replace('_', " "),
                r.etcd_error
                    .as_deref()
                    .filter(|_| r.etcd_outcome != Outcome::Starts)
                    .map_or(String::new(), |e| format!(": \"{e}\"")),
                if r.wedged { ", wedged" } else { "" }
            )
        })
        .collect();
    if !differ.is_empty() {
        writeln!(out, "Other releases (verify --etcd-version X.Y.Z for one):")?;
        for d in differ {
            writeln!(out, "  {d}")?;
        }
    }
    if let Some(first) = config.first() {
        writeln!(
            out,
            "\nCONFIG {}: {} problem(s) with this data dir and its cluster",
            first.file,
            config.len()
        )?;
        for f in &config {
            let Detail::Config { flag, when, fix } = &f.detail else {
                continue;
            };
            writeln!(
                out,
                "- --{flag}, {}: {}",
                match when {
                    ConfigWhen::ThisDataDir => "on this data dir",
                    ConfigWhen::EmptyDataDir => "on an empty data dir",
                },
                f.message
            )?;
            if let Some(e) = &f.etcd_error {
                writeln!(out, "    etcd says: {e}")?;
            }
            writeln!(out, "    fix: {fix}")?;
        }
    }
    Ok(())
}

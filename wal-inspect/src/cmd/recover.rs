//! `wal-inspect recover`: renders an [`etcd_member::recover::Recovery`] (the members' data
//! dirs of a cluster that lost quorum: what was committed, which db and log keep it, what is
//! lost) with its runbook; with `--apply` writes the recovered data dir through the library.
//!
//! Exit codes: plan only: 1 a recovery exists, 3 refused (one dir, different clusters,
//! copies of one member, no common history, nothing usable); `--apply`: 0 written, 3
//! refused (a live etcd holds an input, the output dir is not empty).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use etcd_member::recover::{self, Recovery};
use etcd_member::runbook::Runbook;
use serde::Serialize;

use crate::exit::Exit;
use crate::output;
use crate::paint;

/// `wal-inspect recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The data dirs of the cluster's members (copied to this host or where they are),
    /// some damaged. Only read.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write the recovered data dir (to --out).
    #[arg(long)]
    pub apply: bool,
    /// Where the recovered data dir goes (must not exist or be empty; default: the source
    /// member's data dir with `.recovered` appended).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// With --apply: raise the recovered db's revision by R (as `etcdutl snapshot restore
    /// --bump-revision`), so that Kubernetes' watch caches start over instead of missing
    /// the events of lost writes; needs --mark-compacted.
    #[arg(
        long,
        value_name = "R",
        requires = "mark_compacted",
        requires = "apply"
    )]
    pub bump_revision: Option<u64>,
    /// With --bump-revision: mark the bumped revision compacted (reads below it are
    /// refused as compacted, as etcdutl does).
    #[arg(long, requires = "bump_revision")]
    pub mark_compacted: bool,
}

#[derive(Serialize)]
struct Lost {
    first: u64,
    last: u64,
    entries: u64,
}

#[derive(Serialize)]
struct SourceJson<'a> {
    db_dir: &'a Path,
    log_dir: &'a Path,
    member_id: Option<etcd_proto::json::HexId>,
    consistent_index: u64,
    term: u64,
    last_index: u64,
    replayed: u64,
}

#[derive(Serialize)]
struct RecoveryLine<'a> {
    r#type: &'static str,
    refused: Option<&'a str>,
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    cluster_id: Option<u64>,
    voter_count: usize,
    members: &'a [recover::MemberState],
    committed: u64,
    committed_by: &'a str,
    source: Option<SourceJson<'a>>,
    committed_kept: Option<u64>,
    lost: Option<Lost>,
    lost_objects: &'a [etcd_k8s::db::SummaryRow],
    alternative: Option<AlternativeJson<'a>>,
    out: Option<&'a Path>,
    runbook: Option<&'a Runbook>,
}

#[derive(Serialize)]
struct AlternativeJson<'a> {
    #[serde(flatten)]
    alternative: &'a recover::Alternative,
    path: &'a Path,
    runbook: Option<Runbook>,
}

#[derive(Serialize)]
struct AppliedLine<'a> {
    r#type: &'static str,
    data_dir: &'a Path,
    files: &'a [PathBuf],
    bumped_to: Option<i64>,
}

/// The recovered data dir: `--out`, else next to the source member's data dir.
fn out_dir(args: &RecoverArgs, r: &Recovery) -> anyhow::Result<Option<PathBuf>> {
    if let Some(o) = &args.out {
        return Ok(Some(etcd_member::absolute(o)?));
    }
    let Some(s) = &r.source else { return Ok(None) };
    let Some(m) = r.members.get(s.log_member) else {
        return Ok(None);
    };
    let mut p = etcd_member::absolute(&m.path)?.into_os_string();
    p.push(".recovered");
    Ok(Some(PathBuf::from(p)))
}

/// Run `recover`.
pub fn run(args: &RecoverArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let abs: Vec<PathBuf> = args
        .paths
        .iter()
        .map(|p| etcd_member::absolute(p))
        .collect::<Result<_, _>>()?;
    if args.json {
        output::begin(out, "recover")?;
    }
    let r = recover::plan(&abs)?;
    let dest = out_dir(args, &r)?;
    let book = dest.as_deref().and_then(|d| recover::runbook(&r, d));
    if args.json {
        output::json_line(out, &line(&r, dest.as_deref(), book.as_ref()))?;
    } else {
        render(&r, dest.as_deref(), book.as_ref(), &args.paths, out)?;
    }
    if let Some(why) = &r.refused {
        return output::refuse(out, args.json, why.clone());
    }
    if !args.apply {
        return Ok(Exit::Damage);
    }
    // The inputs are only read, but a live etcd would change them mid-copy.
    let mut files = Vec::new();
    for p in &abs {
        if let Ok(d) = etcd_member::MemberDir::resolve(p, None) {
            files.extend(d.lockable_files());
        }
    }
    if let Some(h) = etcd_member::live::holders(&files).first() {
        return output::refuse(
            out,
            args.json,
            format!(
                "{} is held by a running process ({}, pids {:?}): stop etcd on every input first",
                h.file.display(),
                h.lock,
                h.pids
            ),
        );
    }
    let Some(dest) = dest else {
        return output::refuse(out, args.json, "no recovery source".into());
    };
    let options = recover::BuildOptions {
        bump_revision: args.bump_revision.unwrap_or(0),
    };
    let built = match recover::build(&r, &dest, options) {
        Ok(b) => b,
        Err(e) if e.is_refusal() => return output::refuse(out, args.json, e.to_string()),
        Err(e) => return Err(e.into()),
    };
    if args.json {
        output::json_line(
            out,
            &AppliedLine {
                r#type: "applied",
                data_dir: &built.data_dir,
                files: &built.files,
                bumped_to: built.bumped_to,
            },
        )?;
    } else {
        writeln!(
            out,
            "{} the recovered data dir is {}",
            paint::good("written:"),
            built.data_dir.display()
        )?;
        for f in &built.files {
            writeln!(out, "  {}", f.display())?;
        }
        if let Some(b) = built.bumped_to {
            writeln!(
                out,
                "  revision bumped to {b} and compacted there (watchers start over)"
            )?;
        }
        writeln!(out, "now run the runbook above, in order")?;
    }
    Ok(Exit::Clean)
}

fn line<'a>(
    r: &'a Recovery,
    dest: Option<&'a Path>,
    book: Option<&'a Runbook>,
) -> RecoveryLine<'a> {
    RecoveryLine {
        r#type: "recovery",
        refused: r.refused.as_deref(),
        cluster_id: r.cluster_id,
        voter_count: r.voters,
        members: &r.members,
        committed: r.committed,
        committed_by: &r.committed_by,
        source: r.source.as_ref().and_then(|s| {
            Some(SourceJson {
                db_dir: &r.members.get(s.db_member)?.path,
                log_dir: &r.members.get(s.log_member)?.path,
                member_id: r
                    .members
                    .get(s.log_member)?
                    .member_id
                    .map(etcd_proto::json::HexId),
                consistent_index: s.consistent_index,
                term: s.term,
                last_index: s.last_index,
                replayed: s.replayed,
            })
        }),
        committed_kept: r.source.as_ref().map(|s| s.last_index.min(r.committed)),
        lost: r.lost.map(|(first, last)| Lost {
            first,
            last,
            entries: last - first + 1,
        }),
        lost_objects: &r.lost_objects,
        alternative: r.alternative.as_ref().and_then(|a| {
            Some(AlternativeJson {
                alternative: a,
                path: &r.members.get(a.member)?.path,
                runbook: recover::alternative_runbook(r),
            })
        }),
        out: dest,
        runbook: book,
    }
}

fn render(
    r: &Recovery,
    dest: Option<&Path>,
    book: Option<&Runbook>,
    given: &[PathBuf],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
    writeln!(
        out,
        "recover: {} dir(s){}",
        r.members.len(),
        r.cluster_id
            .map_or(String::new(), |c| format!(" of cluster {c:016x}"))
    )?;
    for m in &r.members {
        writeln!(
            out,
            "  {} {}: log {}..{}{}, commit {}, db {}",
            m.member_id.map_or("?".to_owned(), |i| format!("{i:016x}")),
            m.path.display(),
            opt(m.log_first),
            opt(m.log_last),
            if m.wal_damaged {
                " (ends at WAL damage)"
            } else {
                ""
            },
            opt(m.commit),
            match (&m.db_problem, m.db_consistent_index) {
                (Some(p), _) => format!("unusable: {p}"),
                (None, ci) => format!("consistent index {}", opt(ci)),
            }
        )?;
    }
    if r.refused.is_some() {
        return Ok(());
    }
    writeln!(
        out,
        "committed: up to index {} (proven by {})",
        r.committed, r.committed_by
    )?;
    if let Some(s) = &r.source {
        let path = |i: usize| {
            r.members
                .get(i)
                .map_or("?".to_owned(), |m| m.path.display().to_string())
        };
        let entries = if s.replayed == 0 {
            format!(
                "the log of {} (nothing above the consistent index to replay)",
                path(s.log_member)
            )
        } else {
            format!(
                "entries {}..{} from the log of {} ({} to replay)",
                s.consistent_index + 1,
                s.last_index,
                path(s.log_member),
                s.replayed
            )
        };
        writeln!(
            out,
            "source: the db of {} (consistent index {}) + {entries}; the recovered member keeps the ID {}",
            path(s.db_member),
            s.consistent_index,
            r.members
                .get(s.log_member)
                .and_then(|m| m.member_id)
                .map_or("?".to_owned(), |i| format!("{i:016x}"))
        )?;
    }
    match r.lost {
        None => writeln!(out, "lost: {}", paint::good("nothing committed"))?,
        Some((a, b)) => writeln!(
            out,
            "lost: {} (no member holds them intact)",
            paint::bad(&format!("committed entries {a}..{b}"))
        )?,
    }
    if !r.lost_objects.is_empty() {
        writeln!(
            out,
            "  Kubernetes objects those entries write: {}",
            etcd_k8s::db::describe(&r.lost_objects)
        )?;
    }
    if r.lost.is_some() {
        writeln!(
            out,
            "Kubernetes: the lost writes' revisions would be handed out again; add \
             --bump-revision=1000000000 --mark-compacted to --apply so that watch caches start \
             over (as etcdutl snapshot restore does)"
        )?;
    }
    if let Some(a) = &r.alternative {
        if let Some(m) = r.members.get(a.member) {
            writeln!(
                out,
                "alternative: `etcd --force-new-cluster` on {}'s own dir (WAL and db intact): drops {} uncommitted entries, loses {} committed ones",
                m.path.display(),
                a.drops_uncommitted,
                a.lacks_committed
            )?;
            if let Some(step) =
                recover::alternative_runbook(r).and_then(|b| b.steps.into_iter().next())
            {
                writeln!(
                    out,
                    "  its first step: {} (then the same member add steps; `--json` lists them)",
                    step.shell()
                )?;
            }
        }
    }
    if let Some(d) = dest {
        let mut cmd = vec!["wal-inspect".to_owned(), "recover".to_owned()];
        cmd.extend(given.iter().map(|p| {
            etcd_member::absolute(p)
                .map_or_else(|_| p.display().to_string(), |a| a.display().to_string())
        }));
        cmd.push("--apply".into());
        cmd.push(format!("--out={}", d.display()));
        writeln!(
            out,
            "write it with: {}",
            cmd.iter()
                .map(|a| etcd_member::runbook::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        )?;
    }
    if let Some(b) = book {
        crate::cmd::repair::render_runbook(b, "then", out)?;
    }
    Ok(())
}

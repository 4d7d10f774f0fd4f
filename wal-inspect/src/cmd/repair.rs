//! `wal-inspect repair`: renders an [`etcd_member::repair::MemberPlan`] and its runbooks;
//! with `--apply` / `--undo` carries it out through the library (which refuses while a live
//! etcd holds the files).
//!
//! Exit codes: plan only: 0 nothing to do, 1 a plan exists, 3 nothing can be done here;
//! `--apply`: 0 done, 3 refused (live etcd, committed data would be lost without
//! `--allow-data-loss`, a rejoin has no local step); `--undo`: 0 done, 3 refused.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use etcd_member::cluster::ClusterView;
use etcd_member::config::Config;
use etcd_member::repair::MemberPlan;
use etcd_member::runbook::{self, Runbook};
use etcd_member::{Inspection, Options};
use etcd_wal::repair::{self, ApplyOptions, PlanKind, RepairPlan};
use serde::Serialize;

use crate::exit::Exit;
use crate::output;
use crate::paint;

/// Hidden test hook: stop `--apply` / `--undo` after this many steps, as a crash would.
pub const STOP_AFTER_ENV: &str = "WAL_INSPECT_REPAIR_STOP_AFTER";

/// `wal-inspect repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// A data dir, member dir or WAL dir (a member's `wal/` is planned with its
    /// `snap/db` and `.snap` files, as the member dir is).
    pub path: PathBuf,
    /// The WAL directory, when it is not `<member>/wal` (etcd's `--wal-dir`). Backups of
    /// its files go into the data dir's backup folder, under `wal-dir/`.
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// The member's etcd configuration: an environment file (`ETCD_NAME=…`, as
    /// /etc/etcd/etcd.conf), an etcd `--config-file` YAML, or a Kubernetes static pod
    /// manifest. Names, URLs and TLS files of the runbook come from it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Another member's data dir (repeatable): names and client URLs of the cluster.
    #[arg(long = "peer-dir", value_name = "DIR")]
    pub peer_dirs: Vec<PathBuf>,
    /// This member's name, when no source records it.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Plan for exactly this etcd release (X.Y.Z, 3.4–3.7): what it does now with the data
    /// (its decoder's reactions and start checks, as `verify --etcd-version` says) and the
    /// release the runbook names. Without it: the release line that wrote the data. (What a
    /// rebuild writes is the same for every release: etcd 3.7's server, unlike its etcdutl,
    /// writes the ConfState of a `.snap` with every field, as 3.4-3.6 do.)
    #[arg(long, value_name = "X.Y.Z")]
    pub etcd_version: Option<etcd_member::release::EtcdVersion>,
    /// Rebuild the db from FILE instead: a `snapshot save` file (its SHA-256 checked) or a
    /// db (a peer's `member/snap/db`, a backup) whose consistent index this member's WAL
    /// reaches; etcd re-applies the WAL entries above it (the plan says which). For a db
    /// that is damaged or gone when the WAL does not hold everything from index 1.
    #[arg(long, value_name = "FILE", conflicts_with = "undo")]
    pub from: Option<PathBuf>,
    /// Carry the plan out (backs up what it changes first).
    #[arg(long)]
    pub apply: bool,
    /// Allow a plan that loses committed data.
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Put the newest backup back (only files under PATH: the data dir and, with
    /// --wal-dir, the WAL dir). Refused when a restored file changed since the repair (etcd
    /// ran on it) unless --force.
    #[arg(long, conflicts_with = "apply")]
    pub undo: bool,
    /// With --undo: restore files that changed since the repair too (what etcd wrote since
    /// is lost).
    #[arg(long, requires = "undo")]
    pub force: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Output format: simple (text), json (= --json), or table (the plan's file changes,
    /// then the steps of its runbook, one row each).
    #[arg(short = 'w', long = "write-out", value_enum, default_value_t)]
    pub write_out: crate::output::WriteOut,
}

impl RepairArgs {
    /// JSON output (`--json` or `-w json`).
    fn json(&self) -> bool {
        self.json || self.write_out == crate::output::WriteOut::Json
    }
}

fn stop_after() -> Option<u32> {
    std::env::var(STOP_AFTER_ENV).ok()?.parse().ok()
}

/// The cluster view and configuration every runbook of this command is made from.
struct Sources {
    cluster: ClusterView,
    config: Option<Config>,
}

fn sources(args: &RepairArgs, ins: &Inspection) -> anyhow::Result<Sources> {
    let config = args.config.as_deref().map(Config::read).transpose()?;
    let (cluster, _) =
        ClusterView::gather(ins, &args.peer_dirs, config.as_ref(), args.name.as_deref())?;
    Ok(Sources { cluster, config })
}

fn context<'a>(ins: &'a Inspection, s: &'a Sources) -> runbook::Context<'a> {
    runbook::Context {
        dir: &ins.dir,
        cluster: &s.cluster,
        config: s.config.as_ref(),
        release: release_name(ins),
    }
}

fn release_name(ins: &Inspection) -> Option<&'static str> {
    match etcd_member::release::detect_line(ins).as_str() {
        "3.4" => Some("3.4"),
        "3.5" => Some("3.5"),
        "3.6" => Some("3.6"),
        "3.7" => Some("3.7"),
        _ => None,
    }
}

/// The plan line of `--json`.
#[derive(Serialize)]
struct PlanLine<'a> {
    #[serde(rename = "type")]
    line: &'static str,
    #[serde(flatten)]
    plan: &'a RepairPlan,
    /// The first damage, as `verify` writes findings.
    damage: Option<etcd_member::Finding>,
    needs_allow_data_loss: bool,
    left_to_etcd: &'a [String],
    /// The commands of a rejoin plan (empty for local plans).
    runbook: Option<&'a Runbook>,
    /// For a cluster member with a local plan: the rejoin, and why the local plan is
    /// preferred.
    alternative: Option<Alternative<'a>>,
    /// A live etcd holds the files (the plan is shown; `--apply` refuses).
    live_etcd: Vec<String>,
    /// Kubernetes objects the lost writes touch, per resource and namespace.
    lost_objects: &'a [etcd_k8s::db::SummaryRow],
}

#[derive(Serialize)]
struct Alternative<'a> {
    runbook: &'a Runbook,
    why_local_first: &'a str,
}

const WHY_LOCAL_FIRST: &str = "the local plan keeps this member's data and loses no entry it \
    may have acknowledged; a rejoin throws the data dir away and copies everything from the \
    leader again, and it briefly makes the cluster one member larger with one member down \
    (quorum is counted with the new member): prefer it only when the local plan cannot be \
    applied or fails";

/// Run `repair`.
pub fn run(args: &RepairArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let options = Options {
        wal_dir: args.wal_dir.clone(),
        etcd_version: args.etcd_version,
        ..Options::default()
    };
    if args.undo {
        return undo(args, &options, out);
    }
    let mut mp = etcd_member::repair::plan(&args.path, &options)?;
    if let Some(file) = &args.from {
        etcd_member::repair::db_from_file(&mut mp, file)?;
    }
    let src = sources(args, &mp.inspection)?;
    etcd_member::repair::removed_by_cluster(&mut mp, &src.cluster);
    etcd_member::repair::rejoin_when_impossible(&mut mp, &src.cluster);
    let ins = &mp.inspection;
    let ctx = context(ins, &src);
    let plan = &mp.plan;
    let removed = ins.identity.removed() || src.cluster.this_member().is_some_and(|m| m.removed);
    let rejoin = (plan.kind == PlanKind::Rejoin || plan.rejoin_offered)
        .then(|| runbook::rejoin(ctx, removed));
    let live: Vec<String> = ins.holders.iter().map(|h| h.describe()).collect();
    if args.json() {
        output::begin(out, "repair")?;
        output::json_line(
            out,
            &PlanLine {
                line: "plan",
                plan,
                damage: plan.damage.as_ref().map(|f| {
                    let path = ins.dir.wal.join(f.at.file_name());
                    etcd_member::finding::from_wal(f, ins.dir.relative(&path), path)
                }),
                needs_allow_data_loss: plan.loses_committed_data,
                left_to_etcd: &mp.left_to_etcd,
                runbook: rejoin.as_ref().filter(|_| plan.kind == PlanKind::Rejoin),
                alternative: rejoin
                    .as_ref()
                    .filter(|_| plan.kind != PlanKind::Rejoin)
                    .map(|r| Alternative {
                        runbook: r,
                        why_local_first: WHY_LOCAL_FIRST,
                    }),
                live_etcd: live.clone(),
                lost_objects: &mp.lost_objects,
            },
        )?;
    } else if !args.apply {
        render_plan(&mp, rejoin.as_ref(), &live, args, out)?;
    }
    // With --apply the human output says what changed, not the plan again; the plan is
    // shown only when the apply is refused (it says why).
    let refuse = |out: &mut dyn Write, why: String| -> anyhow::Result<Exit> {
        if !args.json() {
            render_plan(&mp, rejoin.as_ref(), &live, args, out)?;
        }
        output::refuse(out, args.json(), why)
    };
    if args.apply {
        if let Err(e) = etcd_member::live::refuse_if_live(&ins.dir.lockable_files()) {
            return refuse(out, e.to_string());
        }
    }
    if !args.apply {
        return Ok(match plan.kind {
            PlanKind::Nothing => Exit::Clean,
            PlanKind::Impossible => Exit::Refused,
            _ => Exit::Damage,
        });
    }
    match plan.kind {
        PlanKind::Nothing => {
            if !args.json() {
                render_plan(&mp, rejoin.as_ref(), &live, args, out)?;
            }
            return Ok(Exit::Clean);
        }
        PlanKind::Impossible => {
            return refuse(out, "nothing can be done here (see the plan)".into());
        }
        PlanKind::Rejoin => {
            return refuse(
                out,
                "this member must be added again with an empty data dir: nothing local to apply; run the steps above"
                    .into(),
            );
        }
        _ => {}
    }
    if plan.loses_committed_data && !args.allow_data_loss {
        return refuse(
            out,
            "the plan loses committed data; add --allow-data-loss".into(),
        );
    }
    let done = etcd_member::repair::apply(
        &mp,
        ApplyOptions {
            stop_after: stop_after(),
            force: false,
        },
    )?;
    let start = runbook::start(ctx);
    if args.json() {
        #[derive(Serialize)]
        struct Applied<'a> {
            #[serde(rename = "type")]
            line: &'static str,
            result: &'a repair::Applied,
            runbook: &'a Runbook,
        }
        output::json_line(
            out,
            &Applied {
                line: "applied",
                result: &done,
                runbook: &start,
            },
        )?;
    } else {
        writeln!(
            out,
            "{} {} (backup in {})",
            paint::good("applied:"),
            plan.kind.as_str(),
            done.backup.display()
        )?;
        for f in &done.files {
            writeln!(out, "  changed: {}", f.display())?;
        }
        render_runbook(&start, "now start etcd", out)?;
    }
    Ok(if done.completed {
        Exit::Clean
    } else {
        Exit::CouldNotRun
    })
}

fn undo(args: &RepairArgs, options: &Options, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let dir = etcd_member::MemberDir::resolve(&args.path, options.wal_dir.as_deref())?;
    if args.json() {
        output::begin(out, "repair")?;
    }
    // A live etcd is the first reason to refuse: it also explains any file changed since.
    if let Err(e) = etcd_member::live::refuse_if_live(&dir.lockable_files()) {
        return output::refuse(out, args.json(), e.to_string());
    }
    let u = etcd_member::repair::plan_undo(&dir)?;
    if !u.plan.changed.is_empty() && !args.force {
        let files: Vec<String> = u
            .plan
            .changed
            .iter()
            .map(|c| format!("{} ({})", c.path.display(), c.what))
            .collect();
        let appended = match u.entries_appended {
            Some(n) if n > 0 => format!(
                "; etcd appended {n} entries to the log since (it ends {n} entries after where the repair left it), which an undo would lose"
            ),
            _ => String::new(),
        };
        return output::refuse(
            out,
            args.json(),
            format!(
                "files changed since the repair: {}{appended}; nothing was restored (add --force to restore anyway)",
                files.join(", ")
            ),
        );
    }
    let done = match etcd_member::repair::undo(
        &u,
        &dir,
        ApplyOptions {
            stop_after: stop_after(),
            force: args.force,
        },
    ) {
        Ok(d) => d,
        Err(e) if e.is_refusal() => return output::refuse(out, args.json(), e.to_string()),
        Err(e) => return Err(e.into()),
    };
    if args.json() {
        #[derive(Serialize)]
        struct Undone<'a> {
            #[serde(rename = "type")]
            line: &'static str,
            result: &'a repair::Applied,
        }
        output::json_line(
            out,
            &Undone {
                line: "undone",
                result: &done,
            },
        )?;
    } else {
        writeln!(
            out,
            "undone: restored from {} ({} file{})",
            done.backup.display(),
            done.files.len(),
            if done.files.len() == 1 { "" } else { "s" }
        )?;
        for f in &done.files {
            writeln!(out, "  {}", f.display())?;
        }
    }
    Ok(if done.completed {
        Exit::Clean
    } else {
        Exit::CouldNotRun
    })
}

pub(crate) fn render_runbook(r: &Runbook, title: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "  {title}{} (in this order):",
        r.etcd_release.as_ref().map_or(String::new(), |v| format!(
            ", with etcd and etcdctl of release {v} (the release that wrote this data)"
        ))
    )?;
    for s in &r.steps {
        let place = match &s.place {
            runbook::Where::HealthyMember => "against the cluster".to_owned(),
            runbook::Where::ThisHost => "on this host".to_owned(),
            runbook::Where::Host(h) => format!("on host {h}"),
        };
        writeln!(out, "    {}. {}    # {place}: {}", s.n, s.shell(), s.why)?;
    }
    for n in &r.needs {
        writeln!(
            out,
            "    ! {} is not recorded anywhere: give {}",
            match n {
                runbook::Need::Name => "this member's name",
                runbook::Need::PeerUrls => "this member's peer URLs",
                runbook::Need::ClientUrls => "this member's client URLs",
                runbook::Need::Endpoints => "a healthy member's client URL",
                runbook::Need::Tls => "the TLS files (the URLs are https)",
            },
            n.supplied_by()
        )?;
    }
    Ok(())
}

/// `-w table`: the plan's kind and summary, its file changes and its runbook's steps.
fn render_plan_table(
    mp: &MemberPlan,
    rejoin: Option<&Runbook>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let plan = &mp.plan;
    writeln!(out, "plan: {}", plan.summary)?;
    if !plan.changes.is_empty() {
        let rows = plan.changes.iter().map(|c| vec![c.describe()]).collect();
        write!(out, "{}", crate::output::table(&["CHANGE"], rows))?;
    }
    if let Some(r) = rejoin {
        let rows = r
            .steps
            .iter()
            .map(|st| {
                vec![
                    st.n.to_string(),
                    match &st.place {
                        runbook::Where::HealthyMember => "healthy member".to_owned(),
                        runbook::Where::ThisHost => "this host".to_owned(),
                        runbook::Where::Host(h) => format!("host {h}"),
                    },
                    st.shell(),
                ]
            })
            .collect();
        write!(
            out,
            "{}",
            crate::output::table(&["STEP", "WHERE", "COMMAND"], rows)
        )?;
    }
    Ok(())
}

fn render_plan(
    mp: &MemberPlan,
    rejoin: Option<&Runbook>,
    live: &[String],
    args: &RepairArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let plan = &mp.plan;
    if args.write_out == crate::output::WriteOut::Table {
        return render_plan_table(mp, rejoin, out);
    }
    writeln!(out, "plan: {}", paint::strong(plan.kind.as_str()))?;
    writeln!(out, "  {}", plan.summary)?;
    writeln!(out, "  etcd now: {}", plan.etcd_now)?;
    for l in &mp.left_to_etcd {
        writeln!(out, "  also: {l}")?;
    }
    for l in live {
        writeln!(
            out,
            "  note: a live etcd holds {l}; stop it before --apply (the plan is read-only)"
        )?;
    }
    if let Some(d) = &plan.damage {
        writeln!(
            out,
            "  first damage: {} in {}: {}",
            d.kind,
            if d.kind == etcd_wal::FindingKind::MissingSegment {
                d.at.segment.to_string()
            } else {
                d.at.to_string()
            },
            d.message
        )?;
    }
    for r in &plan.reasons {
        writeln!(out, "  why: {r}")?;
    }
    if !plan.changes.is_empty() {
        writeln!(
            out,
            "  files (backed up first into {}/{}*):",
            plan.data_dir.display(),
            repair::apply::BACKUP_PREFIX
        )?;
        for c in &plan.changes {
            writeln!(out, "    {}", c.describe())?;
        }
    }
    let d = &plan.dropped;
    if d.entries > 0 || d.records > 0 {
        writeln!(
            out,
            "  dropped: {} records, {} entries (index {}..{}), {} committed per the last HardState, {} already in the db, {} lost ({} committed)",
            d.records,
            d.entries,
            d.first_index.map_or("-".into(), |i| i.to_string()),
            d.last_index.map_or("-".into(), |i| i.to_string()),
            d.committed,
            d.in_db,
            d.lost,
            d.lost_committed
        )?;
    }
    if !mp.lost_objects.is_empty() {
        writeln!(
            out,
            "  {} {}",
            paint::bad("Kubernetes objects the lost writes touch:"),
            etcd_k8s::db::describe(&mp.lost_objects)
        )?;
        if d.keys_truncated {
            writeln!(out, "    (at least: the list of keys is cut)")?;
        }
    }
    if !d.keys.is_empty() {
        // A screenful at most; --json has them all (up to its own cap).
        const SHOWN: usize = 20;
        writeln!(out, "  keys touched by lost writes:")?;
        for k in d.keys.iter().take(SHOWN) {
            writeln!(out, "    {k}")?;
        }
        if d.keys.len() > SHOWN {
            writeln!(
                out,
                "    … and {}{} more (--json lists them)",
                d.keys.len() - SHOWN,
                if d.keys_truncated { "+" } else { "" }
            )?;
        } else if d.keys_truncated {
            writeln!(out, "    …")?;
        }
    }
    // A rejoin keeps nothing of this dir (it is moved aside): no "after" to speak of.
    if plan.kind != PlanKind::Rejoin {
        writeln!(
            out,
            "  after: log up to index {}{}{}",
            plan.kept.last_index,
            plan.kept.snapshot.map_or(String::new(), |s| format!(
                ", snapshot at {} (term {})",
                s.index, s.term
            )),
            plan.kept
                .db_consistent_index
                .map_or(String::new(), |ci| format!(", db consistent index {ci}"))
        )?;
    }
    if let Some(r) = rejoin {
        if plan.kind == PlanKind::Rejoin {
            render_runbook(r, "steps", out)?;
        } else {
            render_runbook(r, "alternative for a cluster member: rejoin", out)?;
            writeln!(out, "    (local plan first: {WHY_LOCAL_FIRST})")?;
        }
    }
    if plan.loses_committed_data {
        writeln!(
            out,
            "  {}: needs --apply --allow-data-loss",
            paint::bad("applying it loses committed data")
        )?;
    } else if plan.writes() {
        let mut cmd = vec![
            "wal-inspect".to_owned(),
            "repair".to_owned(),
            mp.inspection.dir.root.display().to_string(),
        ];
        if mp.inspection.dir.dedicated_wal {
            cmd.push(format!("--wal-dir={}", mp.inspection.dir.wal.display()));
        }
        // Whatever made this plan: the same plan must come out of the command.
        if let Some(v) = &args.etcd_version {
            cmd.push(format!("--etcd-version={v}"));
        }
        if let Some(f) = &args.from {
            let f = std::path::absolute(f).unwrap_or_else(|_| f.clone());
            cmd.push(format!("--from={}", f.display()));
        }
        cmd.push("--apply".to_owned());
        writeln!(
            out,
            "  apply with: {}",
            cmd.iter()
                .map(|a| runbook::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        )?;
    }
    Ok(())
}

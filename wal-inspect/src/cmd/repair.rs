//! `wal-inspect repair`: plan, then apply.
//!
//! Without `--apply` the plan is computed read-only and printed (exit 0 nothing to do, 1 a
//! plan exists, 3 nothing can be done here). `--apply` carries it out (exit 0), refusing
//! (exit 3) while a live etcd holds the data dir or when the plan loses committed data and
//! `--allow-data-loss` is missing. `--undo` puts the newest backup back.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use etcd_proto::pb::raftpb::ConfState;
use etcd_wal::repair::{
    self, ApplyOptions, DbInfo, ManualStep, MemberInfo, PlanKind, RepairInput, RepairPlan,
    SnapSource,
};
use serde_json::json;

use crate::datadir::MemberPaths;
use crate::exit::Exit;
use crate::live;

/// Hidden test hook: stop `--apply` / `--undo` after this many steps, as a crash would.
pub const STOP_AFTER_ENV: &str = "WAL_INSPECT_REPAIR_STOP_AFTER";

/// `wal-inspect repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// A data dir or member dir.
    pub path: PathBuf,
    /// The WAL directory, when it is not `<member>/wal` (etcd's `--wal-dir`). Backups of
    /// its files go into the data dir's backup folder, under `wal-dir/`.
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// Carry the plan out (backs up what it changes first).
    #[arg(long)]
    pub apply: bool,
    /// Allow a plan that loses committed data.
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Put the newest backup back.
    #[arg(long, conflicts_with = "apply")]
    pub undo: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where the data dir is: the parent of `member/`, else the WAL dir's parent.
fn data_dir_of(paths: &MemberPaths) -> PathBuf {
    match &paths.member {
        Some(m) if m.file_name().is_some_and(|n| n == "member") => {
            m.parent().map_or_else(|| m.clone(), Path::to_path_buf)
        }
        Some(m) => m.clone(),
        None => paths
            .wal
            .parent()
            .map_or_else(|| paths.wal.clone(), Path::to_path_buf),
    }
}

fn conf_state(c: &etcd_snap::schema::ConfStateJson) -> ConfState {
    ConfState {
        voters: c.voters.clone(),
        learners: c.learners.clone(),
        voters_outgoing: c.voters_outgoing.clone(),
        learners_next: c.learners_next.clone(),
        auto_leave: c.auto_leave,
    }
}

/// Fill the plan's inputs from the WAL, the `.snap` files and the db; also what is
/// damaged but left to etcd (see [`left_to_etcd`]).
fn input(paths: &MemberPaths) -> anyhow::Result<(RepairInput, Vec<String>)> {
    let crate::datadir::MemberData {
        scan,
        history,
        member,
    } = crate::datadir::read_member(paths)?;
    let snap_dir = member.as_ref().and_then(|m| m.snap.as_ref().ok());
    let left = snap_dir.map(left_to_etcd).unwrap_or_default();
    let db = member.as_ref().and_then(|m| m.db.as_ref().ok());
    let snap_files = member.as_ref().and_then(|m| m.readable_snaps());
    // The newest readable .snap (by name order, as etcd sorts them).
    let newest = snap_dir.and_then(|d| {
        d.snaps
            .iter()
            .filter(|e| e.problem.is_none() && e.snapshot.is_some())
            .max_by_key(|e| e.snapshot.as_ref().map(|s| (s.term, s.index)))
    });
    let snap = match (newest, &paths.snap) {
        (Some(e), Some(dir)) => {
            let path = dir.join(&e.name);
            let f = etcd_snap::snapfile::read_snap(&path)
                .with_context(|| format!("{}", path.display()))?;
            Some(SnapSource {
                path,
                term: f.term,
                index: f.index,
                conf_state: f.conf_state.clone(),
                v2_json: f.snapshot.data.clone(),
            })
        }
        _ => None,
    };
    // No readable .snap at all (e.g. --snapshot-count never reached): a rebuild needs one,
    // so synthesize the v2 store's membership from the db (members bucket, confState, term).
    // A 3.4 db has neither term nor confState: take the term of the WAL entry at the
    // consistent index and the voters/learners from the members bucket (3.4 keeps it too).
    let snap = snap.or_else(|| {
        let d = db?;
        let ci = d.meta.consistent_index?;
        // (The rebuild itself prefers the term of the trusted WAL entries around the index;
        // the HardState's term is the last resort when the entry at `ci` lies past damage.)
        let term = d
            .meta
            .term
            .or_else(|| history.term_at(ci))
            .or_else(|| scan.last_hard_state.map(|h| h.term))?;
        let cs = d.meta.conf_state.as_ref().map(conf_state).or_else(|| {
            let m = &d.membership.members;
            let mut voters: Vec<u64> = m.iter().filter(|m| !m.is_learner).map(|m| m.id).collect();
            let mut learners: Vec<u64> = m.iter().filter(|m| m.is_learner).map(|m| m.id).collect();
            voters.sort_unstable();
            learners.sort_unstable();
            (!voters.is_empty()).then_some(ConfState {
                voters,
                learners,
                ..ConfState::default()
            })
        })?;
        let dir = paths.snap.as_ref()?;
        let version = if d.meta.conf_state.is_some() {
            "3.5.0"
        } else {
            "3.4.0"
        };
        Some(SnapSource {
            path: dir.join("db"),
            term,
            index: ci,
            conf_state: cs,
            v2_json: v2_store_json(&d.membership.members, version).ok()?,
        })
    });
    let voters = member.as_ref().and_then(|m| m.voters());
    let db_members = db.map(|d| d.membership.members.clone()).unwrap_or_default();
    let snap_members = newest
        .and_then(|e| e.snapshot.as_ref())
        .map(|s| s.members.clone())
        .unwrap_or_default();
    let members: Vec<MemberInfo> = if db_members.is_empty() {
        snap_members
    } else {
        db_members
    }
    .into_iter()
    .map(|m| MemberInfo {
        id: m.id,
        name: m.name,
        peer_urls: m.peer_urls,
        client_urls: m.client_urls,
    })
    .collect();
    let me = scan.metadata.as_ref().map(|m| m.node_id);
    let this_member = members.iter().find(|m| Some(m.id) == me).cloned();
    let input = RepairInput {
        wal_dir: paths.wal.clone(),
        snap_dir: paths.snap.clone(),
        data_dir: data_dir_of(paths),
        db: db.and_then(|d| {
            d.meta.consistent_index.map(|ci| DbInfo {
                consistent_index: ci,
                term: d.meta.term,
                conf_state: d.meta.conf_state.as_ref().map(conf_state),
            })
        }),
        snap_files,
        snap,
        voters,
        this_member,
        members,
    };
    Ok((input, left))
}

/// Damage no plan touches because etcd deals with it at start: each unreadable `.snap`
/// file etcd reaches is renamed `<name>.broken` and an older snapshot is used.
fn left_to_etcd(snap_dir: &etcd_snap::snapdir::SnapDirReport) -> Vec<String> {
    let fallback = snap_dir.picked.as_ref().map_or(
        "no snapshot (it replays the WAL from the start)".to_owned(),
        |p| format!("member/snap/{p}"),
    );
    snap_dir
        .would_rename_broken
        .iter()
        .map(|name| {
            let why = snap_dir
                .snaps
                .iter()
                .find(|e| &e.name == name)
                .and_then(|e| e.problem.as_ref())
                .map_or("unreadable", |p| match p.code {
                    "snap_crc_mismatch" => "crc mismatch",
                    "snap_empty" => "empty",
                    _ => "cannot be decoded",
                });
            format!(
                "member/snap/{name} is damaged ({why}); left as it is: etcd renames it {name}.broken at start and uses {fallback}"
            )
        })
        .collect()
}

fn v2_node(
    path: &str,
    index: u64,
    value: &str,
    children: Option<serde_json::Value>,
) -> serde_json::Value {
    json!({
        "Path": path,
        "CreatedIndex": index,
        "ModifiedIndex": index,
        "ExpireTime": "0001-01-01T00:00:00Z",
        "Value": value,
        "Children": children,
    })
}

/// A v2 store JSON holding only membership and the cluster version, in the shape etcd
/// 3.4/3.5 write into `.snap` files (spec 8.1): `/0/members/<id>/{raftAttributes,attributes}`,
/// `/0/version`, an empty `/1`, and a watcher history of 1000 empty slots.
fn v2_store_json(members: &[etcd_snap::schema::Member], version: &str) -> anyhow::Result<Vec<u8>> {
    let mut ms = serde_json::Map::new();
    for m in members {
        let id = format!("{:x}", m.id);
        let raft = serde_json::to_string(&json!({"peerURLs": m.peer_urls}))?;
        let mut kids = serde_json::Map::new();
        kids.insert(
            "raftAttributes".into(),
            v2_node(&format!("/0/members/{id}/raftAttributes"), 1, &raft, None),
        );
        if !m.name.is_empty() || !m.client_urls.is_empty() {
            let attrs =
                serde_json::to_string(&json!({"name": m.name, "clientURLs": m.client_urls}))?;
            kids.insert(
                "attributes".into(),
                v2_node(&format!("/0/members/{id}/attributes"), 2, &attrs, None),
            );
        }
        ms.insert(
            id.clone(),
            v2_node(&format!("/0/members/{id}"), 1, "", Some(json!(kids))),
        );
    }
    let zero = json!({
        "members": v2_node("/0/members", 1, "", Some(json!(ms))),
        "version": v2_node("/0/version", 3, version, None),
    });
    let root = json!({
        "0": v2_node("/0", 0, "", Some(zero)),
        "1": v2_node("/1", 0, "", Some(json!({}))),
    });
    let events: Vec<serde_json::Value> = vec![serde_json::Value::Null; 1000];
    let store = json!({
        "Root": v2_node("/", 0, "", Some(root)),
        "WatcherHub": {"EventHistory": {
            "Queue": {"Events": events, "Size": 0, "Front": 0, "Back": 0, "Capacity": 1000},
            "StartIndex": 0, "LastIndex": 0}},
        "CurrentIndex": 3,
        "Stats": {"getsSuccess": 0, "getsFail": 0, "setsSuccess": 0, "setsFail": 0,
            "deleteSuccess": 0, "deleteFail": 0, "updateSuccess": 0, "updateFail": 0,
            "createSuccess": 0, "createFail": 0, "compareAndSwapSuccess": 0,
            "compareAndSwapFail": 0, "compareAndDeleteSuccess": 0, "compareAndDeleteFail": 0,
            "expireCount": 0, "watchers": 0},
        "CurrentVersion": 2,
    });
    Ok(serde_json::to_vec(&store)?)
}

fn lockable(paths: &MemberPaths) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(d) = etcd_wal::segment::WalDir::read(&paths.wal) {
        files.extend(d.segments.into_iter().map(|s| s.path));
        files.extend(d.tmp);
    }
    if let Some(snap) = &paths.snap {
        files.push(snap.join("db"));
    }
    files
}

fn stop_after() -> Option<u32> {
    std::env::var(STOP_AFTER_ENV).ok()?.parse().ok()
}

/// The plan as JSON (steps included).
pub fn plan_json(plan: &RepairPlan) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(plan)?;
    let steps: Vec<serde_json::Value> = if plan.kind == PlanKind::Rejoin {
        plan.cluster_steps
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?
    } else {
        plan.changes
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("type".into(), json!("plan"));
        o.insert("steps".into(), json!(steps));
        o.insert(
            "needs_allow_data_loss".into(),
            json!(plan.loses_committed_data),
        );
    }
    Ok(v)
}

fn render_human(
    plan: &RepairPlan,
    wal_dir: Option<&Path>,
    left_to_etcd: &[String],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writeln!(out, "plan: {}", plan.kind.as_str())?;
    writeln!(out, "  {}", plan.summary)?;
    writeln!(out, "  etcd now: {}", plan.etcd_now)?;
    for l in left_to_etcd {
        writeln!(out, "  also: {l}")?;
    }
    if let Some(d) = &plan.damage {
        writeln!(
            out,
            "  first damage: {} in {}{}{}: {}",
            d.kind,
            d.segment,
            d.offset.map_or(String::new(), |o| format!(" at byte {o}")),
            d.ordinal
                .map_or(String::new(), |o| format!(", record #{o}")),
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
    if !d.keys.is_empty() {
        writeln!(out, "  keys touched by lost writes:")?;
        for k in &d.keys {
            writeln!(out, "    {k}")?;
        }
        if d.keys_truncated {
            writeln!(out, "    …")?;
        }
    }
    writeln!(
        out,
        "  after: log up to index {}{}{}",
        plan.kept.last_index,
        plan.kept.snapshot.map_or(String::new(), |(i, t)| format!(
            ", snapshot at {i} (term {t})"
        )),
        plan.kept
            .db_consistent_index
            .map_or(String::new(), |ci| format!(", db consistent index {ci}"))
    )?;
    if !plan.cluster_steps.is_empty() {
        writeln!(
            out,
            "  {} (in this order):",
            if plan.kind == PlanKind::Rejoin {
                "steps"
            } else {
                "safe alternative for a cluster member"
            }
        )?;
        for (i, s) in plan.cluster_steps.iter().enumerate() {
            let line = match s {
                ManualStep::Etcdctl { args, why } => {
                    format!("etcdctl {}    # {why}", args.join(" "))
                }
                ManualStep::MoveAside { from, to } => {
                    format!("mv {} {}", from.display(), to.display())
                }
                ManualStep::Start { flags, why } => format!("etcd {}    # {why}", flags.join(" ")),
            };
            writeln!(out, "    {}. {line}", i + 1)?;
        }
    }
    if plan.loses_committed_data {
        writeln!(
            out,
            "  applying it loses committed data: needs --apply --allow-data-loss"
        )?;
    } else if plan.writes() {
        writeln!(
            out,
            "  apply with: wal-inspect repair {}{} --apply",
            plan.data_dir.display(),
            wal_dir.map_or(String::new(), |w| format!(" --wal-dir {}", w.display()))
        )?;
    }
    Ok(())
}

/// Run `repair`.
pub fn run(args: &RepairArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let paths = MemberPaths::resolve(&args.path, args.wal_dir.as_deref())?;
    let holders = live::holders(&lockable(&paths));
    if !holders.is_empty() {
        let who: Vec<String> = holders
            .iter()
            .map(|h| {
                format!(
                    "{} ({} lock, pids {:?})",
                    paths.relative(&h.file),
                    h.lock,
                    h.pids
                )
            })
            .collect();
        let msg = format!(
            "a live etcd holds the data dir: {}; stop it first",
            who.join(", ")
        );
        if args.json {
            writeln!(out, "{}", json!({"type": "refused", "reason": msg}))?;
        } else {
            eprintln!("wal-inspect: refused: {msg}");
        }
        return Ok(Exit::Refused);
    }
    let data_dir = data_dir_of(&paths);
    let opts = ApplyOptions {
        stop_after: stop_after(),
    };
    if args.undo {
        let done = repair::undo(&data_dir, &paths.wal, opts)?;
        if args.json {
            writeln!(out, "{}", json!({"type": "undone", "result": done}))?;
        } else {
            writeln!(
                out,
                "undone: restored from {} ({} files)",
                done.backup.display(),
                done.files.len()
            )?;
        }
        return Ok(if done.completed {
            Exit::Clean
        } else {
            Exit::CouldNotRun
        });
    }
    let (input, left) = input(&paths)?;
    let plan = repair::plan(&input)?;
    if args.json {
        let mut v = plan_json(&plan)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("left_to_etcd".into(), json!(left));
        }
        writeln!(out, "{v}")?;
    } else {
        render_human(&plan, args.wal_dir.as_deref(), &left, out)?;
    }
    if !args.apply {
        return Ok(match plan.kind {
            PlanKind::Nothing => Exit::Clean,
            PlanKind::Impossible => Exit::Refused,
            _ => Exit::Damage,
        });
    }
    match plan.kind {
        PlanKind::Nothing => return Ok(Exit::Clean),
        PlanKind::Impossible => return Ok(Exit::Refused),
        PlanKind::Rejoin => {
            eprintln!(
                "wal-inspect: refused: this member must be removed and re-added; run the steps above against the cluster"
            );
            return Ok(Exit::Refused);
        }
        _ => {}
    }
    if plan.loses_committed_data && !args.allow_data_loss {
        eprintln!("wal-inspect: refused: the plan loses committed data; add --allow-data-loss");
        return Ok(Exit::Refused);
    }
    let done = repair::apply(&plan, opts)?;
    if args.json {
        writeln!(out, "{}", json!({"type": "applied", "result": done}))?;
    } else {
        writeln!(
            out,
            "applied: {} (backup in {})",
            plan.kind.as_str(),
            done.backup.display()
        )?;
    }
    Ok(if done.completed {
        Exit::Clean
    } else {
        Exit::CouldNotRun
    })
}

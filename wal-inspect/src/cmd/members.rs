//! `wal-inspect members`: who a data dir belongs to, offline.
//!
//! Per dir: member and cluster ID (WAL metadata), name and URLs (db `members` bucket, the
//! WAL's ConfChange contexts and attribute entries, the `.snap` v2 store), the membership
//! history of the WAL, whether this member was removed, last index/term, commit, db
//! consistent index. Across dirs: one cluster or not, the most up-to-date log, where logs
//! diverge.
//!
//! JSON Lines (`--json`): one `member` line per dir (or an `error` line when a dir cannot be
//! read), then one `cluster` line. IDs are 16 lowercase hex digits, as `etcdctl member list`
//! and `endpoint status` print them. Exit code 0, or 2 when a dir could not be read.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use etcd_member::identity::{self, Comparison, Identity, Sourced};
use etcd_member::{Finding, Inspection, Options};
use etcd_wal::membership::{self, History};
use serde_json::{Value, json};

use crate::exit::Exit;

/// `wal-inspect members`.
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// One or more data dirs (or member dirs), e.g. the members of one cluster.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One data dir, read.
#[derive(Debug)]
pub struct Dir {
    /// The path as given.
    pub path: String,
    /// The data dir to name in advice (the path given, or its parent for a member dir).
    pub data_dir: String,
    /// Identity and log position.
    pub identity: Identity,
    /// The WAL's membership history and log shape.
    pub history: History,
    /// Damage found in the dir (the same inspection as `verify`).
    pub findings: Vec<Finding>,
    /// Other dirs given whose WAL removes this member (its own may not: it was down when
    /// the cluster removed it), with the RemoveNode.
    pub removed_by: Vec<(String, membership::Removal)>,
}

impl Dir {
    /// Removed: by its own data, or by another dir's WAL.
    fn removed(&self) -> bool {
        self.identity.removed() || !self.removed_by.is_empty()
    }
}

/// Fill each dir's [`Dir::removed_by`] from the others' WALs.
fn cross_removals(dirs: &mut [Dir]) {
    let found: Vec<Vec<(String, membership::Removal)>> = dirs
        .iter()
        .map(|d| {
            let Some(me) = d.identity.member_id else {
                return Vec::new();
            };
            dirs.iter()
                .filter(|o| o.identity.member_id != Some(me))
                .filter(|o| o.identity.cluster_id == d.identity.cluster_id)
                .filter_map(|o| {
                    membership::removed_self(&o.history, me).map(|r| (o.path.clone(), r))
                })
                .collect()
        })
        .collect();
    for (d, f) in dirs.iter_mut().zip(found) {
        d.removed_by = f;
    }
}

/// Read one data dir (read-only).
pub fn read_dir(path: &std::path::Path) -> anyhow::Result<Dir> {
    let Inspection {
        dir,
        history,
        identity,
        findings,
        ..
    } = etcd_member::inspect(path, &Options::default())?;
    Ok(Dir {
        path: path.display().to_string(),
        data_dir: dir.shown(&dir.data_dir),
        identity,
        history,
        findings,
        removed_by: Vec::new(),
    })
}

/// Run `members`.
pub fn run(args: &MembersArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if args.json {
        crate::output::begin(out, "members")?;
    }
    // Every dir is read first: one dir's removal may be recorded only in another's WAL.
    let read: Vec<(&PathBuf, anyhow::Result<Dir>)> =
        args.paths.iter().map(|p| (p, read_dir(p))).collect();
    let mut dirs: Vec<Dir> = Vec::new();
    let mut errors = Vec::new();
    for (p, r) in read {
        match r {
            Ok(d) => dirs.push(d),
            Err(e) => errors.push((p, e)),
        }
    }
    cross_removals(&mut dirs);
    let failed = !errors.is_empty();
    for d in &dirs {
        if args.json {
            writeln!(out, "{}", member_json(d))?;
        } else {
            render_member(d, out)?;
        }
    }
    for (p, e) in errors {
        if args.json {
            let line = json!({"type": "error", "path": p.display().to_string(),
                "message": crate::output::message(&e)});
            writeln!(out, "{line}")?;
        } else {
            // The same prefix as every other command's errors; the path only once (most
            // errors already start with it).
            let msg = crate::output::message(&e);
            let path = p.display().to_string();
            if msg.starts_with(&path) {
                eprintln!("wal-inspect: error: {msg}");
            } else {
                eprintln!("wal-inspect: error: {path}: {msg}");
            }
        }
    }
    let views: Vec<(&Identity, &[membership::TermRun])> = dirs
        .iter()
        .map(|d| (&d.identity, d.history.terms.as_slice()))
        .collect();
    let cmp = identity::compare(&views);
    if args.json {
        writeln!(out, "{}", cluster_json(&dirs, &cmp))?;
    } else if !dirs.is_empty() {
        render_cluster(&dirs, &cmp, out)?;
    }
    Ok(if failed {
        Exit::CouldNotRun
    } else {
        Exit::Clean
    })
}

fn hex(id: Option<u64>) -> Value {
    id.map_or(Value::Null, |i| json!(etcd_proto::text::member_id(i)))
}

fn sourced<T: serde::Serialize>(s: &Option<Sourced<T>>) -> (Value, Value) {
    match s {
        Some(s) => (json!(s.value), json!(s.source.as_str())),
        None => (Value::Null, Value::Null),
    }
}

/// One history row: a ConfChange or an attribute publication, in index order.
fn history_rows(h: &History) -> Vec<Value> {
    let mut rows: Vec<(u64, Value)> = Vec::new();
    for c in &h.changes {
        let m = c.member.as_ref();
        rows.push((
            c.index,
            json!({
                "index": c.index,
                "term": c.term,
                "kind": c.kind.as_str(),
                "member_id": etcd_proto::text::member_id(c.node_id),
                "name": m.map(|m| m.name.clone()).filter(|n| !n.is_empty()),
                "peer_urls": m.map(|m| m.peer_urls.clone()).unwrap_or_default(),
                "client_urls": m.map(|m| m.client_urls.clone()).unwrap_or_default(),
                "segment": c.at.file_name(),
                "offset": c.at.offset,
                "ordinal": c.at.ordinal,
                "before_damage": c.before_damage,
            }),
        ));
    }
    for a in &h.attributes {
        rows.push((
            a.index,
            json!({
                "index": a.index,
                "term": a.term,
                "kind": "attributes",
                "member_id": etcd_proto::text::member_id(a.node_id),
                "name": a.name,
                "peer_urls": [],
                "client_urls": a.client_urls,
                "segment": a.at.file_name(),
                "offset": a.at.offset,
                "ordinal": a.at.ordinal,
                "before_damage": a.before_damage,
            }),
        ));
    }
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, v)| v).collect()
}

fn member_json(d: &Dir) -> Value {
    let id = &d.identity;
    let (name, name_src) = sourced(&id.name);
    let (peers, peers_src) = sourced(&id.peer_urls);
    let (clients, clients_src) = sourced(&id.client_urls);
    json!({
        "type": "member",
        "path": d.path,
        "member_id": hex(id.member_id),
        "cluster_id": hex(id.cluster_id),
        "name": name,
        "peer_urls": if peers.is_null() { json!([]) } else { peers },
        "client_urls": if clients.is_null() { json!([]) } else { clients },
        "is_learner": id.is_learner,
        "sources": {"name": name_src, "peer_urls": peers_src, "client_urls": clients_src},
        "removed": d.removed(),
        "removed_by": d.removed_by.iter().map(|(path, r)| json!({
            "path": path,
            "index": r.index,
            "term": r.term,
            "committed": r.committed,
        })).collect::<Vec<_>>(),
        "removal": id.removal.as_ref().map(|r| json!({
            "index": r.index,
            "term": r.term,
            "segment": r.at.file_name(),
            "offset": r.at.offset,
            "ordinal": r.at.ordinal,
            "committed": r.committed,
        })),
        "removed_in_db": id.removed_in_db,
        "removed_in_snap": id.removed_in_snap,
        // Measured on 3.5.1 / 3.4.23: etcd replays its own RemoveNode and stops.
        "etcd_outcome": id.removal.as_ref().map(|_| "refuses"),
        "advice": if d.removed() { identity::rejoin_steps(id, &d.data_dir) } else { Vec::new() },
        "last_index": id.last_index(),
        "last_term": id.last_term(),
        "commit": id.commit,
        "consistent_index": id.consistent_index,
        "damage": {
            "findings": d.findings.len(),
            "first": d.findings.first(),
        },
        "first_index": d.history.first_index(),
        "overwritten_entries": d.history.overwritten,
        "history": history_rows(&d.history),
    })
}

fn cluster_json(dirs: &[Dir], cmp: &Comparison) -> Value {
    let best = cmp.most_up_to_date.and_then(|k| dirs.get(k));
    let logs: Vec<Value> = cmp
        .logs
        .iter()
        .filter_map(|l| {
            let d = dirs.get(l.dir)?;
            Some(json!({
                "path": d.path,
                "member_id": hex(d.identity.member_id),
                "common_first": l.comparison.common.map(|c| c.0),
                "common_last": l.comparison.common.map(|c| c.1),
                "diverges_at": l.comparison.divergence.map(|v| v.index),
                "term_most_up_to_date": l.comparison.divergence.map(|v| v.term_a),
                "term_here": l.comparison.divergence.map(|v| v.term_b),
                "behind_by": l.behind_by,
            }))
        })
        .collect();
    json!({
        "type": "cluster",
        "same_cluster": cmp.same_cluster,
        "cluster_ids": cmp.cluster_ids.iter().map(|&c| etcd_proto::text::member_id(c)).collect::<Vec<_>>(),
        "most_up_to_date": best.map_or(Value::Null, |d| hex(d.identity.member_id)),
        "most_up_to_date_path": best.map(|d| d.path.clone()),
        "duplicate_members": cmp.duplicate_members.iter().map(|&m| etcd_proto::text::member_id(m)).collect::<Vec<_>>(),
        "removed": dirs.iter().filter(|d| d.removed()).map(|d| hex(d.identity.member_id)).collect::<Vec<_>>(),
        "logs": logs,
    })
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".to_owned(), |v| v.to_string())
}

fn id_str(id: Option<u64>) -> String {
    id.map_or("?".to_owned(), etcd_proto::text::member_id)
}

fn render_member(d: &Dir, out: &mut dyn Write) -> anyhow::Result<()> {
    let id = &d.identity;
    writeln!(
        out,
        "{}: member {} cluster {}",
        d.path,
        id_str(id.member_id),
        id_str(id.cluster_id)
    )?;
    let show = |s: &Option<Sourced<String>>| {
        s.as_ref().map_or("(unknown)".to_owned(), |s| {
            format!("{} ({})", s.value, s.source.as_str())
        })
    };
    let show_list = |s: &Option<Sourced<Vec<String>>>| {
        s.as_ref().map_or("(unknown)".to_owned(), |s| {
            format!("{} ({})", s.value.join(","), s.source.as_str())
        })
    };
    writeln!(out, "  name        {}", show(&id.name))?;
    writeln!(out, "  peer URLs   {}", show_list(&id.peer_urls))?;
    writeln!(out, "  client URLs {}", show_list(&id.client_urls))?;
    if id.is_learner == Some(true) {
        writeln!(out, "  learner")?;
    }
    writeln!(
        out,
        "  log         last index {} term {}, commit {}, db consistent index {}",
        opt(id.last_index()),
        opt(id.last_term()),
        opt(id.commit),
        opt(id.consistent_index)
    )?;
    let damage: Vec<&Finding> = d
        .findings
        .iter()
        .filter(|f| f.kind != etcd_member::FindingKind::MemberRemoved)
        .collect();
    if let Some(f) = damage.first() {
        writeln!(
            out,
            "  DAMAGE      {} finding(s), first: {} {}{} (details: wal-inspect verify {})",
            damage.len(),
            f.kind,
            f.file,
            f.place(),
            etcd_member::runbook::shell_quote(&d.path)
        )?;
    }
    if let Some(r) = &id.removal {
        writeln!(
            out,
            "  REMOVED     by the RemoveNode at index {} (term {}, {} at byte {}, record #{}){}",
            r.index,
            r.term,
            r.at.segment,
            r.at.offset,
            r.at.ordinal,
            if r.committed {
                ""
            } else {
                ", not yet committed"
            }
        )?;
        writeln!(
            out,
            "              etcd replays it, logs \"the member has been permanently removed from \
             the cluster\" and stops"
        )?;
    } else if id.removed() {
        let by = match (id.removed_in_db, id.removed_in_snap) {
            (true, true) => "the db's members_removed bucket and the .snap",
            (true, false) => "the db's members_removed bucket",
            _ => "the .snap's v2 store",
        };
        writeln!(out, "  REMOVED     according to {by}")?;
    }
    // The others' record matters when this dir's own data does not know (it was down).
    for (path, r) in d.removed_by.iter().filter(|_| !id.removed()) {
        writeln!(
            out,
            "  REMOVED     according to {path}'s WAL: RemoveNode at index {} (term {}){}; etcd would refuse this dir once a member tells it (\"the member has been permanently removed from the cluster\")",
            r.index,
            r.term,
            if r.committed {
                ""
            } else {
                ", not yet committed there"
            }
        )?;
    }
    if d.removed() {
        writeln!(out, "  what to do, in this order:")?;
        for (k, step) in identity::rejoin_steps(id, &d.data_dir).iter().enumerate() {
            writeln!(out, "    {}. {step}", k + 1)?;
        }
    }
    let rows = history_rows(&d.history);
    if !rows.is_empty() {
        writeln!(out, "  membership history (WAL):")?;
    }
    for r in rows {
        let urls = |k: &str| {
            r[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        let mut line = format!(
            "    index {:>8}  term {:>3}  {:<11} {}",
            r["index"].as_u64().unwrap_or_default(),
            r["term"].as_u64().unwrap_or_default(),
            r["kind"].as_str().unwrap_or_default(),
            r["member_id"].as_str().unwrap_or_default()
        );
        if let Some(n) = r["name"].as_str() {
            line.push_str(&format!(" name={n}"));
        }
        let p = urls("peer_urls");
        if !p.is_empty() {
            line.push_str(&format!(" peers={p}"));
        }
        let c = urls("client_urls");
        if !c.is_empty() {
            line.push_str(&format!(" clients={c}"));
        }
        if r["before_damage"] == false {
            line.push_str(" (after damage: etcd does not read it)");
        }
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    Ok(())
}

fn render_cluster(dirs: &[Dir], cmp: &Comparison, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "across {} dir(s):", dirs.len())?;
    let ids: Vec<String> = cmp
        .cluster_ids
        .iter()
        .map(|&c| etcd_proto::text::member_id(c))
        .collect();
    if cmp.same_cluster {
        writeln!(out, "  one cluster: {}", ids.join(","))?;
    } else {
        writeln!(
            out,
            "  NOT one cluster: cluster IDs {} (a member of another cluster is refused with \
             \"request cluster ID mismatch\"; `snapshot restore` makes a new cluster ID)",
            ids.join(", ")
        )?;
        for d in dirs {
            writeln!(out, "    {} {}", id_str(d.identity.cluster_id), d.path)?;
        }
    }
    for m in &cmp.duplicate_members {
        writeln!(
            out,
            "  member {} appears in more than one dir (copies of one member)",
            etcd_proto::text::member_id(*m)
        )?;
    }
    if let Some(best) = cmp.most_up_to_date.and_then(|k| dirs.get(k)) {
        let id = &best.identity;
        writeln!(
            out,
            "  most up-to-date log: {} {} (last index {} term {}, commit {}): keep it, or \
             restore from it when quorum is lost",
            id_str(id.member_id),
            best.path,
            opt(id.last_index()),
            opt(id.last_term()),
            opt(id.commit)
        )?;
    }
    for l in &cmp.logs {
        let Some(d) = dirs.get(l.dir) else { continue };
        let what = match (l.comparison.common, l.comparison.divergence) {
            (_, Some(v)) => format!(
                "diverges at index {} (term {} there, {} in the most up-to-date log)",
                v.index, v.term_b, v.term_a
            ),
            (Some((a, b)), None) => format!("agrees on {a}..{b}"),
            (None, None) => "no index in common".to_owned(),
        };
        let behind = if l.behind_by > 0 {
            format!(", {} entries behind", l.behind_by)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {} {}: {what}{behind}",
            id_str(d.identity.member_id),
            d.path
        )?;
    }
    Ok(())
}

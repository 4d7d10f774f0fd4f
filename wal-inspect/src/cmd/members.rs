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
use etcd_member::consistency::{self, Consistency, MemberDb};
use etcd_member::identity::{self, Comparison, HeldAlone, Identity, Sourced};
use etcd_member::{Finding, Inspection, Options};
use etcd_proto::json::{Bytes, HexId};
use etcd_snap::hashkv::{HashKv, Rules};
use etcd_wal::membership::{self, History};
use serde::Serialize;

use crate::exit::Exit;
use crate::paint;

/// `wal-inspect members`.
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// One or more data dirs (or member dirs), e.g. the members of one cluster.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Output format: simple (text), json (= --json), or table (one row per dir, with the
    /// columns of `etcdctl endpoint status` a data dir can tell, then damage and removal).
    #[arg(short = 'w', long = "write-out", value_enum, default_value_t)]
    pub write_out: crate::output::WriteOut,
    /// Also compute etcd's HashKV of each member's db offline (what `etcdctl endpoint
    /// hashkv --rev R` answers on it) and say whether the members agree, which member is
    /// odd (by majority) and the first key and revision where it differs.
    #[arg(long)]
    pub hashkv: bool,
    /// The revision to hash (default: the highest one every member still holds).
    #[arg(long, value_name = "R", requires = "hashkv")]
    pub rev: Option<i64>,
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
    /// The db file (`member/snap/db`), when the dir has a `snap/` dir.
    pub db: Option<PathBuf>,
    /// The HashKV rules of the release that wrote the data.
    pub rules: Rules,
    /// With `--hashkv`: its HashKV at the common revision, or why there is none.
    pub hashkv: Option<Result<HashKv, String>>,
    /// What only this dir holds (of the dirs given).
    pub held_alone: HeldAlone,
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
        etcd_version,
        ..
    } = etcd_member::inspect(path, &Options::default())?;
    Ok(Dir {
        path: path.display().to_string(),
        data_dir: dir.shown(&dir.data_dir),
        identity,
        history,
        findings,
        removed_by: Vec::new(),
        db: dir.db(),
        rules: etcd_version
            .and_then(|v| Rules::for_version(&v.to_string()))
            .unwrap_or_default(),
        hashkv: None,
        held_alone: HeldAlone::default(),
    })
}

/// `--hashkv`: hash every dir's db at one revision and compare (fills [`Dir::hashkv`]).
fn hash_all(dirs: &mut [Dir], rev: Option<i64>) -> Consistency {
    let members: Vec<MemberDb> = dirs
        .iter()
        .map(|d| MemberDb {
            db: d
                .db
                .clone()
                .unwrap_or_else(|| PathBuf::from(&d.path).join("member/snap/db")),
            rules: d.rules,
        })
        .collect();
    let c = consistency::compare(&members, rev);
    for (d, h) in dirs.iter_mut().zip(&c.members) {
        d.hashkv = Some(h.clone());
    }
    c
}

/// Run `members`.
pub fn run(args: &MembersArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let json = args.json || args.write_out == crate::output::WriteOut::Json;
    let table = !json && args.write_out == crate::output::WriteOut::Table;
    if json {
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
    let hashed = args.hashkv.then(|| hash_all(&mut dirs, args.rev));
    let alone = identity::held_alone(
        &dirs
            .iter()
            .map(|d| (&d.identity, d.history.terms.as_slice()))
            .collect::<Vec<_>>(),
    );
    for (d, a) in dirs.iter_mut().zip(alone) {
        d.held_alone = a;
    }
    let failed = !errors.is_empty();
    if table {
        write!(out, "{}", member_table(&dirs))?;
    }
    for d in dirs.iter().filter(|_| !table) {
        if json {
            crate::output::json_line(out, &member_line(d))?;
        } else {
            render_member(d, out)?;
        }
    }
    for (p, e) in errors {
        if json {
            crate::output::json_line(
                out,
                &ErrorLine {
                    r#type: "error",
                    path: p.display().to_string(),
                    message: crate::output::message(&e),
                },
            )?;
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
    if json {
        crate::output::json_line(out, &cluster_line(&dirs, &cmp, hashed.as_ref()))?;
    } else if !dirs.is_empty() && !table {
        render_cluster(&dirs, &cmp, out)?;
        if let Some(c) = &hashed {
            render_consistency(&dirs, c, out)?;
        }
    } else if let (true, Some(c)) = (table, &hashed) {
        render_consistency(&dirs, c, out)?;
    }
    Ok(if failed {
        Exit::CouldNotRun
    } else if hashed.is_some_and(|c| c.consistent == Some(false)) {
        Exit::Damage
    } else {
        Exit::Clean
    })
}

/// `-w table`: one row per dir, the columns of `etcdctl endpoint status` a data dir can
/// tell (ID, NAME, RAFT TERM, RAFT INDEX, …), then what only the dir tells.
fn member_table(dirs: &[Dir]) -> String {
    let dash = || "-".to_owned();
    let hashed = dirs.iter().any(|d| d.hashkv.is_some());
    let rows = dirs
        .iter()
        .map(|d| {
            let id = &d.identity;
            let damage = d
                .findings
                .iter()
                .filter(|f| f.kind != etcd_member::FindingKind::MemberRemoved)
                .count();
            let mut row = vec![
                d.path.clone(),
                id.member_id.map_or_else(dash, etcd_proto::text::member_id),
                id.name.as_ref().map_or_else(dash, |n| n.value.clone()),
                id.last_term().map_or_else(dash, |t| t.to_string()),
                id.last_index().map_or_else(dash, |i| i.to_string()),
                id.commit.map_or_else(dash, |c| c.to_string()),
                id.consistent_index.map_or_else(dash, |c| c.to_string()),
                if damage == 0 {
                    "none".to_owned()
                } else {
                    format!("{damage} finding(s)")
                },
                if d.removed() { "yes" } else { "no" }.to_owned(),
            ];
            if let Some(h) = d.hashkv.as_ref().filter(|_| hashed) {
                let h = h.as_ref().ok();
                row.push(h.map_or_else(dash, |h| h.hash.to_string()));
                row.push(h.map_or_else(dash, |h| h.hash_revision.to_string()));
                row.push(h.map_or_else(dash, |h| h.compact_revision.to_string()));
            }
            row
        })
        .collect();
    let mut head = vec![
        "DATA DIR",
        "ID",
        "NAME",
        "RAFT TERM",
        "RAFT INDEX",
        "COMMIT",
        "DB CONSISTENT INDEX",
        "DAMAGE",
        "REMOVED",
    ];
    if hashed {
        head.extend(["HASH", "HASH REVISION", "COMPACT REVISION"]);
    }
    crate::output::table(&head, rows)
}

/// An `error` line: a dir that could not be read.
#[derive(Serialize)]
struct ErrorLine {
    r#type: &'static str,
    path: String,
    message: String,
}

/// One history row: a ConfChange or an attribute publication.
#[derive(Serialize)]
struct HistoryRow<'a> {
    index: u64,
    term: u64,
    kind: &'static str,
    member_id: HexId,
    name: Option<&'a str>,
    peer_urls: &'a [String],
    client_urls: &'a [String],
    segment: String,
    offset: u64,
    ordinal: u64,
    before_damage: bool,
}

/// Where the name and URLs of a `member` line come from.
#[derive(Serialize)]
struct Sources {
    name: Option<&'static str>,
    peer_urls: Option<&'static str>,
    client_urls: Option<&'static str>,
}

/// Another dir's WAL that removes this member.
#[derive(Serialize)]
struct RemovedBy<'a> {
    path: &'a str,
    index: u64,
    term: u64,
    committed: bool,
}

/// This dir's own RemoveNode.
#[derive(Serialize)]
struct RemovalJson {
    index: u64,
    term: u64,
    segment: String,
    offset: u64,
    ordinal: u64,
    committed: bool,
}

#[derive(Serialize)]
struct Damage<'a> {
    findings: usize,
    first: Option<&'a Finding>,
}

/// A `member` line.
#[derive(Serialize)]
struct MemberLine<'a> {
    r#type: &'static str,
    path: &'a str,
    member_id: Option<HexId>,
    cluster_id: Option<HexId>,
    name: Option<&'a str>,
    peer_urls: &'a [String],
    client_urls: &'a [String],
    is_learner: Option<bool>,
    sources: Sources,
    removed: bool,
    removed_by: Vec<RemovedBy<'a>>,
    removal: Option<RemovalJson>,
    removed_in_db: bool,
    removed_in_snap: bool,
    etcd_outcome: Option<&'static str>,
    advice: Vec<String>,
    last_index: Option<u64>,
    last_term: Option<u64>,
    commit: Option<u64>,
    consistent_index: Option<u64>,
    damage: Damage<'a>,
    first_index: Option<u64>,
    overwritten_entries: u64,
    history: Vec<HistoryRow<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashkv: Option<HashKvJson>,
    held_alone: HeldAloneJson,
}

/// What only this dir holds.
#[derive(Serialize)]
struct HeldAloneJson {
    entries: Option<[u64; 2]>,
    applied: Option<[u64; 2]>,
}

/// One dir's log compared with the most up-to-date one (`cluster` line).
#[derive(Serialize)]
struct LogLine<'a> {
    path: &'a str,
    member_id: Option<HexId>,
    common_first: Option<u64>,
    common_last: Option<u64>,
    diverges_at: Option<u64>,
    term_most_up_to_date: Option<u64>,
    term_here: Option<u64>,
    behind_by: u64,
}

/// The `cluster` line.
#[derive(Serialize)]
struct ClusterLine<'a> {
    r#type: &'static str,
    same_cluster: bool,
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    cluster_ids: &'a [u64],
    most_up_to_date: Option<HexId>,
    most_up_to_date_path: Option<&'a str>,
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    duplicate_members: &'a [u64],
    removed: Vec<Option<HexId>>,
    logs: Vec<LogLine<'a>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    hashkv: Option<ClusterHashJson<'a>>,
}

/// `--hashkv`: a member's HashKV (`etcdctl endpoint hashkv -w json`'s numbers).
#[derive(Serialize)]
struct HashKvJson {
    revision: Option<i64>,
    compact_revision: Option<i64>,
    current_revision: Option<i64>,
    hash: Option<u32>,
    error: Option<String>,
}

/// `--hashkv`: the members compared (on the `cluster` line).
#[derive(Serialize)]
struct ClusterHashJson<'a> {
    #[serde(rename = "hashkv_revision")]
    revision: Option<i64>,
    consistent: Option<bool>,
    odd_members: Vec<Option<HexId>>,
    odd_paths: Vec<&'a str>,
    no_majority: bool,
    first_difference: Option<DifferenceJson<'a>>,
}

/// Where the odd member first differs.
#[derive(Serialize)]
struct DifferenceJson<'a> {
    key: String,
    key_bytes: Bytes<'a>,
    revision: i64,
    sub: i64,
    member: Option<HexId>,
    path: &'a str,
    reference: Option<HexId>,
    reference_path: &'a str,
    member_has_record: bool,
    reference_has_record: bool,
}

fn hex(id: Option<u64>) -> Option<HexId> {
    id.map(HexId)
}

/// A sourced list's value (empty when unknown).
fn sourced_list(s: &Option<Sourced<Vec<String>>>) -> &[String] {
    s.as_ref().map_or(&[], |s| s.value.as_slice())
}

fn source<T>(s: &Option<Sourced<T>>) -> Option<&'static str> {
    s.as_ref().map(|s| s.source.as_str())
}

/// The history rows: ConfChanges and attribute publications, in index order.
fn history_rows(h: &History) -> Vec<HistoryRow<'_>> {
    let mut rows: Vec<HistoryRow<'_>> = Vec::new();
    for c in &h.changes {
        let m = c.member.as_ref();
        rows.push(HistoryRow {
            index: c.index,
            term: c.term,
            kind: c.kind.as_str(),
            member_id: HexId(c.node_id),
            name: m.map(|m| m.name.as_str()).filter(|n| !n.is_empty()),
            peer_urls: m.map_or(&[], |m| m.peer_urls.as_slice()),
            client_urls: m.map_or(&[], |m| m.client_urls.as_slice()),
            segment: c.at.file_name(),
            offset: c.at.offset,
            ordinal: c.at.ordinal,
            before_damage: c.before_damage,
        });
    }
    for a in &h.attributes {
        rows.push(HistoryRow {
            index: a.index,
            term: a.term,
            kind: "attributes",
            member_id: HexId(a.node_id),
            name: Some(&a.name),
            peer_urls: &[],
            client_urls: &a.client_urls,
            segment: a.at.file_name(),
            offset: a.at.offset,
            ordinal: a.at.ordinal,
            before_damage: a.before_damage,
        });
    }
    rows.sort_by_key(|r| r.index);
    rows
}

fn member_line(d: &Dir) -> MemberLine<'_> {
    let id = &d.identity;
    MemberLine {
        r#type: "member",
        path: &d.path,
        member_id: hex(id.member_id),
        cluster_id: hex(id.cluster_id),
        name: id.name.as_ref().map(|s| s.value.as_str()),
        peer_urls: sourced_list(&id.peer_urls),
        client_urls: sourced_list(&id.client_urls),
        is_learner: id.is_learner,
        sources: Sources {
            name: source(&id.name),
            peer_urls: source(&id.peer_urls),
            client_urls: source(&id.client_urls),
        },
        removed: d.removed(),
        removed_by: d
            .removed_by
            .iter()
            .map(|(path, r)| RemovedBy {
                path,
                index: r.index,
                term: r.term,
                committed: r.committed,
            })
            .collect(),
        removal: id.removal.as_ref().map(|r| RemovalJson {
            index: r.index,
            term: r.term,
            segment: r.at.file_name(),
            offset: r.at.offset,
            ordinal: r.at.ordinal,
            committed: r.committed,
        }),
        removed_in_db: id.removed_in_db,
        removed_in_snap: id.removed_in_snap,
        // Measured on 3.5.1 / 3.4.23: etcd replays its own RemoveNode and stops.
        etcd_outcome: id.removal.as_ref().map(|_| "refuses"),
        advice: if d.removed() {
            identity::rejoin_steps(id, &d.data_dir)
        } else {
            Vec::new()
        },
        last_index: id.last_index(),
        last_term: id.last_term(),
        commit: id.commit,
        consistent_index: id.consistent_index,
        damage: Damage {
            findings: d.findings.len(),
            first: d.findings.first(),
        },
        first_index: d.history.first_index(),
        overwritten_entries: d.history.overwritten,
        history: history_rows(&d.history),
        held_alone: HeldAloneJson {
            entries: d.held_alone.entries.map(|(a, b)| [a, b]),
            applied: d.held_alone.applied.map(|(a, b)| [a, b]),
        },
        hashkv: d.hashkv.as_ref().map(|h| match h {
            Ok(h) => HashKvJson {
                revision: Some(h.hash_revision),
                compact_revision: Some(h.compact_revision),
                current_revision: Some(h.current_revision),
                hash: Some(h.hash),
                error: None,
            },
            Err(e) => HashKvJson {
                revision: None,
                compact_revision: None,
                current_revision: None,
                hash: None,
                error: Some(e.clone()),
            },
        }),
    }
}

fn cluster_line<'a>(
    dirs: &'a [Dir],
    cmp: &'a Comparison,
    hashed: Option<&'a Consistency>,
) -> ClusterLine<'a> {
    let best = cmp.most_up_to_date.and_then(|k| dirs.get(k));
    let logs = cmp
        .logs
        .iter()
        .filter_map(|l| {
            let d = dirs.get(l.dir)?;
            Some(LogLine {
                path: &d.path,
                member_id: hex(d.identity.member_id),
                common_first: l.comparison.common.map(|c| c.0),
                common_last: l.comparison.common.map(|c| c.1),
                diverges_at: l.comparison.divergence.map(|v| v.index),
                term_most_up_to_date: l.comparison.divergence.map(|v| v.term_a),
                term_here: l.comparison.divergence.map(|v| v.term_b),
                behind_by: l.behind_by,
            })
        })
        .collect();
    ClusterLine {
        r#type: "cluster",
        same_cluster: cmp.same_cluster,
        cluster_ids: &cmp.cluster_ids,
        most_up_to_date: best.and_then(|d| hex(d.identity.member_id)),
        most_up_to_date_path: best.map(|d| d.path.as_str()),
        duplicate_members: &cmp.duplicate_members,
        removed: dirs
            .iter()
            .filter(|d| d.removed())
            .map(|d| hex(d.identity.member_id))
            .collect(),
        logs,
        hashkv: hashed.map(|c| ClusterHashJson {
            revision: c.revision,
            consistent: c.consistent,
            odd_members: c
                .odd
                .iter()
                .map(|&i| hex(dirs[i].identity.member_id))
                .collect(),
            odd_paths: c.odd.iter().map(|&i| dirs[i].path.as_str()).collect(),
            no_majority: c.no_majority,
            first_difference: c.first_difference.as_ref().map(|d| DifferenceJson {
                key: etcd_proto::text::escape_bytes(&d.key),
                key_bytes: Bytes(&d.key),
                revision: d.revision.main,
                sub: d.revision.sub,
                member: hex(dirs[d.member].identity.member_id),
                path: &dirs[d.member].path,
                reference: hex(dirs[d.reference].identity.member_id),
                reference_path: &dirs[d.reference].path,
                member_has_record: d.member_record.is_some(),
                reference_has_record: d.reference_record.is_some(),
            }),
        }),
    }
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
    if let Some((a, b)) = d.held_alone.entries {
        writeln!(
            out,
            "  only here   log entries {a}..{b}: no other dir's log holds them (keep this dir)"
        )?;
    }
    if let Some((a, b)) = d.held_alone.applied {
        writeln!(
            out,
            "  only here   its db applied indexes {a}..{b}: no other dir's db or log holds them"
        )?;
    }
    match &d.hashkv {
        Some(Ok(h)) => writeln!(
            out,
            "  hashkv      {} at revision {} (compacted at {}, current revision {})",
            h.hash, h.hash_revision, h.compact_revision, h.current_revision
        )?,
        Some(Err(e)) => writeln!(out, "  hashkv      - ({e})")?,
        None => {}
    }
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
        writeln!(out, "  {}     according to {by}", paint::bad("REMOVED"))?;
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
        let mut line = format!(
            "    index {:>8}  term {:>3}  {:<11} {}",
            r.index, r.term, r.kind, r.member_id
        );
        if let Some(n) = r.name {
            line.push_str(&format!(" name={n}"));
        }
        let p = r.peer_urls.join(",");
        if !p.is_empty() {
            line.push_str(&format!(" peers={p}"));
        }
        let c = r.client_urls.join(",");
        if !c.is_empty() {
            line.push_str(&format!(" clients={c}"));
        }
        if !r.before_damage {
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

/// `--hashkv`: whether the members agree, who is odd, where it differs.
fn render_consistency(dirs: &[Dir], c: &Consistency, out: &mut dyn Write) -> anyhow::Result<()> {
    let who = |i: usize| format!("{} {}", id_str(dirs[i].identity.member_id), dirs[i].path);
    let Some(rev) = c.revision else {
        writeln!(out, "  hashkv: no member's db could be hashed")?;
        return Ok(());
    };
    match c.consistent {
        None => writeln!(
            out,
            "  hashkv at revision {rev}: fewer than two members could be hashed; nothing to compare"
        )?,
        Some(true) => writeln!(
            out,
            "  hashkv at revision {rev}: {} ({} members, hash {})",
            paint::good("consistent"),
            c.members.iter().filter(|h| h.is_ok()).count(),
            c.members
                .iter()
                .find_map(|h| h.as_ref().ok())
                .map_or(0, |h| h.hash)
        )?,
        Some(false) if c.no_majority => writeln!(
            out,
            "  hashkv at revision {rev}: {} and no hash is held by a majority: the odd member cannot be told",
            paint::bad("INCONSISTENT")
        )?,
        Some(false) => writeln!(
            out,
            "  hashkv at revision {rev}: {}; odd member(s) by majority: {}",
            paint::bad("INCONSISTENT"),
            c.odd.iter().map(|&i| who(i)).collect::<Vec<_>>().join(", ")
        )?,
    }
    if let Some(d) = &c.first_difference {
        let what = match (&d.member_record, &d.reference_record) {
            (Some(_), Some(_)) => "its record differs",
            (Some(_), None) => "it has a record the other has not",
            (None, _) => "it lacks the record",
        };
        writeln!(
            out,
            "  first difference: key \"{}\" at revision {} in {}: {what} (compared with {})",
            etcd_proto::text::escape_bytes(&d.key),
            d.revision,
            who(d.member),
            who(d.reference)
        )?;
    }
    Ok(())
}

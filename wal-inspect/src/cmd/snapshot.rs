//! `wal-inspect snapshot status` and `wal-inspect snapshot db {keys,get,history}`: read a
//! bbolt db (a `snapshot save` file, `member/snap/db`, or the db of a data/member dir)
//! with etcd-snap's own read-only reader. Nothing is locked or written.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use etcd_proto::json::{Bytes, HexId};
use etcd_proto::text::escape_bytes as escape;
use etcd_proto::text::lease_id;
use etcd_snap::ErrorKind;
use etcd_snap::bolt::Db;
use etcd_snap::hash::{TrailerState, check_trailer};
use etcd_snap::member::{DbReport, inspect_db};
use etcd_snap::mvcc::{self, KeyRecord};
use etcd_snap::resolve_db_path;
use etcd_snap::schema::Member;
use serde::Serialize;

use crate::exit::Exit;
use crate::paint;

/// `wal-inspect snapshot status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A `snapshot save` file, a db file, or a data / member / snap dir (uses its `snap/db`).
    pub path: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Output format: simple (text), json (= --json), or table (etcdutl's columns first:
    /// HASH, REVISION, TOTAL KEYS, TOTAL SIZE, VERSION; then ours).
    #[arg(short = 'w', long = "write-out", value_enum, default_value_t)]
    pub write_out: crate::output::WriteOut,
}

/// `wal-inspect db`: query the keys of a db.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Output format: simple (text), json (= --json), or table (`db keys`: one row per key).
    #[arg(
        short = 'w',
        long = "write-out",
        value_enum,
        default_value_t,
        global = true
    )]
    pub write_out: crate::output::WriteOut,
    /// What to show.
    #[command(subcommand)]
    pub query: DbQuery,
}

/// The `snapshot db` queries.
#[derive(Debug, Subcommand)]
pub enum DbQuery {
    /// List the keys alive at a revision (latest by default), without values.
    Keys {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// Revision to look at (default: the latest).
        #[arg(long, value_name = "R")]
        rev: Option<i64>,
        /// Only keys starting with this prefix.
        #[arg(long, value_name = "P")]
        prefix: Option<OsString>,
        /// Kubernetes objects instead of keys: resource, namespace, name, kind, uid,
        /// creation time and how the value is stored (`protobuf`, `json`, `encrypted:<provider>`).
        #[arg(long)]
        k8s: bool,
        /// With --k8s: objects and bytes per resource and namespace, the biggest first
        /// (what fills the db).
        #[arg(long, requires = "k8s")]
        summary: bool,
        /// With --k8s: only this resource (`pods`, `deployments`, `cert-manager.io/certificates`).
        #[arg(long, value_name = "R", requires = "k8s")]
        resource: Option<String>,
        /// With --k8s: only this namespace.
        #[arg(long, value_name = "NS", requires = "k8s")]
        namespace: Option<String>,
    },
    /// Show one key's value at a revision (latest by default).
    Get {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// The key (bytes as given).
        key: OsString,
        /// Revision to look at (default: the latest).
        #[arg(long, value_name = "R")]
        rev: Option<i64>,
        /// The value as a Kubernetes object: kind, encoding, the whole metadata and the
        /// object's fields by number (no schema needed; `--rev` shows it as it was).
        #[arg(long)]
        k8s: bool,
    },
    /// Show every revision of one key still in the db (puts and deletions).
    History {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// The key (bytes as given).
        key: OsString,
    },
    /// Every page up to the high-water mark, as `bbolt pages` lists them (id, type, items,
    /// overflow), with the bucket that owns it; read-only, also while etcd runs.
    Pages {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
    },
    /// One page as stored (as `bbolt page`), its elements decoded as etcd stores them
    /// (revisions as main_sub with their mvccpb.KeyValue, member JSON, meta numbers); free
    /// and stale pages too; pages 0 and 1: both metas, which is valid and why.
    Page {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// The page id.
        id: u64,
    },
    /// Per bucket: keys, depth, pages, bytes allocated and how full (as `bbolt stats`),
    /// and both metas with which one is valid and why.
    Stats {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
    },
    /// Where the space goes: the file's pages by owner (adding up to the high-water mark),
    /// the `key` bucket's bytes by key prefix (each key's latest record and every retained
    /// revision), the largest records, what a compaction would remove and the file's size
    /// after etcd's defragmentation (an estimate). Read-only, also while etcd runs.
    Space {
        /// A `snapshot save` file, a db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// Group keys by their first N `/`-separated parts (`/registry/pods` at 2); 0: one
        /// group.
        #[arg(long, value_name = "N", default_value_t = 2)]
        depth: usize,
        /// List the N largest latest records.
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
        /// Evaluate a compaction at revision R (default: the latest revision, what
        /// `etcdctl compact` of the current revision removes). Compaction is replicated
        /// state: offline, it is safe only inside a restore, never on one member alone.
        #[arg(long, value_name = "R")]
        compact_at: Option<i64>,
    },
    /// Copy every readable record of a damaged db into a new db file (OUT, which must not
    /// exist): unreadable pages are skipped and the key ranges they held are listed (in
    /// the key bucket as revision ranges). Reads the source only. Install the result with
    /// `wal-inspect repair DIR --from OUT` (the line printed); for a member of a
    /// multi-member cluster, a rejoin keeps the cluster consistent instead.
    Salvage {
        /// A db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// The new db file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Copy a member's db out (the pages below its high-water mark, as `snapshot save`
    /// streams them), refusing while an etcd holds it (exit 3). Restore it with
    /// `wal-inspect snapshot restore` (or etcdutl, with `--with-hash` or
    /// `--skip-hash-check`).
    Extract {
        /// A db file, or a data / member / snap dir (its `snap/db`).
        path: PathBuf,
        /// The file to write (must not exist).
        out: PathBuf,
        /// Append the SHA-256 of the db, as `snapshot save` does (a restore then checks it).
        #[arg(long)]
        with_hash: bool,
    },
}

/// `snapshot status` of a file that is not a bolt db at all.
#[derive(Serialize)]
struct StatusErrorJson<'a> {
    path: &'a Path,
    hash_trailer: &'static str,
    error: ErrorJson<'a>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    code: ErrorKind,
    message: &'a str,
}

/// `snapshot status`.
#[derive(Serialize)]
struct StatusJson<'a> {
    path: &'a Path,
    hash: Option<u32>,
    revision: Option<i64>,
    total_keys: Option<u64>,
    total_size: Option<u64>,
    version: Option<&'a str>,
    hash_trailer: &'static str,
    live_keys: u64,
    consistent_index: Option<u64>,
    term: Option<u64>,
    compact_revision: CompactRevisionJson,
    members: Vec<MemberJson<'a>>,
    removed_members: Vec<String>,
    alarms: Vec<AlarmJson>,
    page_size: u32,
    active_meta: u8,
    findings: Vec<FindingJson>,
    findings_dropped: u64,
    errors: Vec<ErrorJson<'a>>,
}

#[derive(Serialize)]
struct CompactRevisionJson {
    scheduled: Option<i64>,
    finished: Option<i64>,
}

#[derive(Serialize)]
struct MemberJson<'a> {
    id: HexId,
    name: &'a str,
    peer_urls: &'a [String],
    client_urls: &'a [String],
    is_learner: bool,
}

impl<'a> MemberJson<'a> {
    fn new(m: &'a Member) -> Self {
        MemberJson {
            id: HexId(m.id),
            name: &m.name,
            peer_urls: &m.peer_urls,
            client_urls: &m.client_urls,
            is_learner: m.is_learner,
        }
    }
}

#[derive(Serialize)]
struct AlarmJson {
    member_id: HexId,
    alarm: String,
}

/// An integrity finding of the page walk.
#[derive(Serialize)]
struct FindingJson {
    code: &'static str,
    page: u64,
    offset: u64,
    referenced_from: Option<u64>,
    message: String,
}

/// `db keys`.
#[derive(Serialize)]
struct KeysJson<'a> {
    revision: i64,
    latest_revision: i64,
    compacted_below: Option<i64>,
    incomplete: bool,
    count: usize,
    bad_records: u64,
    keys: Vec<LiveKeyJson<'a>>,
}

/// A live key (no value).
#[derive(Serialize)]
struct LiveKeyJson<'a> {
    key: Bytes<'a>,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    /// 16 hex digits (0 as well, so that the field has one type).
    #[serde(serialize_with = "etcd_proto::json::ser::hex_lease")]
    lease: i64,
    value_len: u64,
}

/// `db get`.
#[derive(Serialize)]
struct GetJson<'a> {
    key: Bytes<'a>,
    revision: Option<i64>,
    incomplete: bool,
    found: bool,
    kv: Option<RecordJson<'a>>,
}

/// `db history`.
#[derive(Serialize)]
struct HistoryJson<'a> {
    key: Bytes<'a>,
    compacted_below: Option<i64>,
    records: Vec<RecordJson<'a>>,
}

/// One revision of a key (put or deletion), with its value.
#[derive(Serialize)]
struct RecordJson<'a> {
    revision: RevisionJson,
    tombstone: bool,
    key: Bytes<'a>,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    /// 16 hex digits (0 as well, so that the field has one type).
    #[serde(serialize_with = "etcd_proto::json::ser::hex_lease")]
    lease: i64,
    value: Bytes<'a>,
    page: u64,
}

#[derive(Serialize)]
struct RevisionJson {
    main: i64,
    sub: i64,
}

impl<'a> RecordJson<'a> {
    fn new(r: &'a KeyRecord) -> Self {
        RecordJson {
            revision: RevisionJson {
                main: r.rev.rev.main,
                sub: r.rev.rev.sub,
            },
            tombstone: r.rev.tombstone,
            key: Bytes(&r.kv.key),
            create_revision: r.kv.create_revision,
            mod_revision: r.kv.mod_revision,
            version: r.kv.version,
            lease: r.kv.lease,
            value: Bytes(&r.kv.value),
            page: r.page,
        }
    }
}

/// Escaped, cut to 200 bytes for a terminal line.
fn short(b: &[u8]) -> String {
    const MAX: usize = 200;
    match b.get(..MAX) {
        Some(head) if b.len() > MAX => format!("{}... ({} bytes)", escape(head), b.len()),
        _ => escape(b),
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Run `snapshot status`.
pub fn status(args: &StatusArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let path = resolve_db_path(&args.path)?;
    // The SHA-256 of the whole file is one pass, the page walk (check, etcdutl's hash,
    // live keys) the other: run them on two cores.
    let (trailer, report) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| check_trailer(&path));
        let report = inspect_db(&path);
        let trailer = hashing.join().unwrap_or_else(|_| {
            Err(etcd_snap::Error::Io {
                path: path.clone(),
                source: std::io::Error::other("the hashing thread panicked"),
            })
        });
        (trailer, report)
    });
    let trailer = trailer?;
    let report = match report {
        Ok(r) => r,
        Err(e @ (etcd_snap::Error::Io { .. } | etcd_snap::Error::NotFound { .. })) => {
            return Err(e.into());
        }
        Err(e) => {
            // Not openable as bolt at all: that is damage we can describe.
            if args.json {
                let message = e.to_string();
                crate::output::json_line(
                    out,
                    &StatusErrorJson {
                        path: &path,
                        hash_trailer: trailer.state.as_str(),
                        error: ErrorJson {
                            code: e.kind(),
                            message: &message,
                        },
                    },
                )?;
            } else {
                writeln!(out, "file:         {}", path.display())?;
                writeln!(out, "sha256:       {}", trailer.state.as_str())?;
                writeln!(out, "error:        {e}")?;
            }
            return Ok(Exit::Damage);
        }
    };
    let damaged = !report.check.is_clean()
        || !report.errors.is_empty()
        || trailer.state == TrailerState::Invalid;
    if args.json || args.write_out == crate::output::WriteOut::Json {
        crate::output::json_line(out, &status_json(&report, trailer.state))?;
    } else if args.write_out == crate::output::WriteOut::Table {
        status_table(out, &report, &trailer)?;
    } else {
        status_human(out, &report, &trailer)?;
    }
    Ok(if damaged { Exit::Damage } else { Exit::Clean })
}

fn status_json(r: &DbReport, trailer: TrailerState) -> StatusJson<'_> {
    let e = r.etcdutl.as_ref();
    StatusJson {
        path: &r.path,
        hash: e.map(|e| e.hash),
        revision: e.map(|e| e.revision),
        total_keys: e.map(|e| e.total_keys),
        total_size: e.map(|e| e.total_size),
        version: r.meta.storage_version.as_deref(),
        hash_trailer: trailer.as_str(),
        live_keys: r.live_keys,
        consistent_index: r.meta.consistent_index,
        term: r.meta.term,
        compact_revision: CompactRevisionJson {
            scheduled: r.meta.scheduled_compact_rev,
            finished: r.meta.finished_compact_rev,
        },
        members: r.membership.members.iter().map(MemberJson::new).collect(),
        removed_members: r
            .membership
            .removed
            .iter()
            .map(|id| format!("{id:016x}"))
            .collect(),
        alarms: r
            .alarms
            .iter()
            .map(|a| AlarmJson {
                member_id: HexId(a.member_id),
                alarm: a.alarm.name(),
            })
            .collect(),
        page_size: r.page_size,
        active_meta: r.active_meta,
        findings: r
            .check
            .findings
            .iter()
            .map(|f| FindingJson {
                code: f.kind.code(),
                page: f.page,
                offset: f.offset,
                referenced_from: f.referenced_from,
                message: f.kind.to_string(),
            })
            .collect(),
        findings_dropped: r.check.findings_dropped,
        errors: r
            .errors
            .iter()
            .map(|e| ErrorJson {
                code: e.kind,
                message: &e.message,
            })
            .collect(),
    }
}

/// `-w table`: etcdutl's `snapshot status -w table` columns (its hash in hex), then ours.
fn status_table(
    out: &mut dyn Write,
    r: &DbReport,
    trailer: &etcd_snap::hash::Trailer,
) -> std::io::Result<()> {
    let e = r.etcdutl.as_ref();
    let dash = || "-".to_owned();
    let row = vec![
        e.map_or_else(dash, |e| format!("{:x}", e.hash)),
        e.map_or_else(dash, |e| e.revision.to_string()),
        e.map_or_else(dash, |e| e.total_keys.to_string()),
        e.map_or_else(dash, |e| human_size(e.total_size)),
        r.meta.storage_version.clone().unwrap_or_else(dash),
        r.live_keys.to_string(),
        trailer.state.as_str().to_owned(),
        r.meta.consistent_index.map_or_else(dash, |c| c.to_string()),
        r.meta.term.map_or_else(dash, |t| t.to_string()),
        r.check.findings.len().to_string(),
    ];
    write!(
        out,
        "{}",
        crate::output::table(
            &[
                "HASH",
                "REVISION",
                "TOTAL KEYS",
                "TOTAL SIZE",
                "VERSION",
                "LIVE KEYS",
                "SHA256 TRAILER",
                "CONSISTENT INDEX",
                "TERM",
                "DAMAGED PAGES",
            ],
            vec![row],
        )
    )
}

/// Bytes as etcdutl prints sizes (`humanize.Bytes`: SI units, one decimal).
fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    if n < 10 {
        return format!("{n} B");
    }
    let e = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let e = e.min(UNITS.len() - 1);
    let v = n as f64 / 1000f64.powi(e as i32);
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[e])
    } else {
        format!("{v:.0} {}", UNITS[e])
    }
}

fn status_human(
    out: &mut dyn Write,
    r: &DbReport,
    trailer: &etcd_snap::hash::Trailer,
) -> std::io::Result<()> {
    writeln!(out, "file:             {}", r.path.display())?;
    let t = match trailer.state {
        TrailerState::Valid => paint::good("valid (snapshot save file)"),
        TrailerState::Invalid => format!(
            "{} stored {}, computed {}",
            paint::bad("INVALID:"),
            opt(trailer.stored.as_deref()),
            opt(trailer.computed.as_deref())
        ),
        TrailerState::Absent => "absent (plain db file)".to_owned(),
    };
    writeln!(out, "sha256 trailer:   {t}")?;
    match &r.etcdutl {
        Some(e) => {
            writeln!(out, "hash:             {} ({:#010x})", e.hash, e.hash)?;
            writeln!(out, "revision:         {}", e.revision)?;
            writeln!(out, "total keys:       {}", e.total_keys)?;
            writeln!(
                out,
                "total size:       {} bytes (page size {})",
                e.total_size, r.page_size
            )?;
        }
        None => {
            // etcdutl's numbers come from a walk a damaged page stops: none of them.
            writeln!(out, "hash:             - (a damaged page stops the walk)")?;
            writeln!(out, "revision:         -")?;
            writeln!(out, "total keys:       -")?;
            writeln!(out, "total size:       - (page size {})", r.page_size)?;
        }
    }
    writeln!(
        out,
        "version:          {}",
        opt(r.meta.storage_version.as_deref())
    )?;
    writeln!(out, "live keys:        {}", r.live_keys)?;
    writeln!(out, "consistent index: {}", opt(r.meta.consistent_index))?;
    writeln!(out, "term:             {}", opt(r.meta.term))?;
    writeln!(
        out,
        "compaction:       scheduled {}, finished {}",
        opt(r.meta.scheduled_compact_rev),
        opt(r.meta.finished_compact_rev)
    )?;
    if r.membership.members.is_empty() {
        writeln!(out, "members:          none")?;
    }
    for (i, m) in r.membership.members.iter().enumerate() {
        let label = if i == 0 { "members:" } else { "" };
        writeln!(
            out,
            "{label:<18}{:016x} name={} peers={} clients={}{}",
            m.id,
            escape(m.name.as_bytes()),
            escape(m.peer_urls.join(",").as_bytes()),
            // etcd 3.5 keeps client URLs in the v2 store only: say so rather than `clients=`.
            if m.client_urls.is_empty() {
                "-".to_owned()
            } else {
                escape(m.client_urls.join(",").as_bytes())
            },
            if m.is_learner { " (learner)" } else { "" }
        )?;
    }
    let alarms: Vec<String> = r
        .alarms
        .iter()
        .map(|a| format!("{} on {:016x}", a.alarm.name(), a.member_id))
        .collect();
    let alarms = if alarms.is_empty() {
        "none".to_owned()
    } else {
        alarms.join(", ")
    };
    writeln!(out, "alarms:           {alarms}")?;
    if r.check.is_clean() {
        writeln!(
            out,
            "integrity:        ok ({} reachable pages, {} free)",
            r.check.reachable_pages, r.check.free_pages
        )?;
    } else {
        let n = r.check.findings.len() as u64 + r.check.findings_dropped;
        writeln!(out, "integrity:        {n} finding(s)")?;
        for f in &r.check.findings {
            writeln!(out, "  {f}")?;
        }
    }
    for e in &r.errors {
        // An error that is one of the integrity findings above is not repeated.
        let listed = r
            .check
            .findings
            .iter()
            .any(|f| e.message.ends_with(&f.to_string()));
        if !listed {
            writeln!(out, "error:            {}", paint::bad(&e.message))?;
        }
    }
    Ok(())
}

/// Run `snapshot db`.
pub fn db(args: &DbArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let json = args.json || args.write_out == crate::output::WriteOut::Json;
    let table = !json && args.write_out == crate::output::WriteOut::Table;
    if table && !matches!(args.query, DbQuery::Keys { .. }) {
        anyhow::bail!("-w table is for db keys (get, history and extract print text or json)");
    }
    let path = match &args.query {
        DbQuery::Keys { path, .. } | DbQuery::Get { path, .. } | DbQuery::History { path, .. } => {
            path
        }
        DbQuery::Extract {
            path,
            out: dest,
            with_hash,
        } => return extract(path, dest, *with_hash, json, out),
        DbQuery::Pages { path } => {
            return crate::cmd::pages::pages(&resolve_db_path(path)?, json, out);
        }
        DbQuery::Stats { path } => {
            return crate::cmd::pages::stats(&resolve_db_path(path)?, json, out);
        }
        DbQuery::Salvage { path, out: dest } => {
            return crate::cmd::salvage::run(path, dest, json, out);
        }
        DbQuery::Space {
            path,
            depth,
            top,
            compact_at,
        } => {
            let opts = etcd_snap::space::SpaceOptions {
                depth: *depth,
                top: *top,
                compact_at: *compact_at,
            };
            return crate::cmd::pages::space(&resolve_db_path(path)?, &opts, json, out);
        }
        DbQuery::Page { path, id } => {
            return crate::cmd::pages::page(&resolve_db_path(path)?, *id, json, out);
        }
    };
    let path = resolve_db_path(path)?;
    let db = Db::open(&path)?;
    if let DbQuery::Keys {
        rev,
        k8s: true,
        summary,
        resource,
        namespace,
        ..
    } = &args.query
    {
        let filter = crate::cmd::k8s::Filter {
            resource: resource.clone(),
            namespace: namespace.clone(),
        };
        return crate::cmd::k8s::keys(&db, *rev, &filter, *summary, json, table, out);
    }
    if let DbQuery::Get {
        key,
        rev,
        k8s: true,
        ..
    } = &args.query
    {
        return crate::cmd::k8s::get(&db, key.as_bytes(), *rev, json, out);
    }
    let compacted = etcd_snap::schema::meta(&db)
        .ok()
        .and_then(|m| m.finished_compact_rev);
    let below_compaction = |rev: Option<i64>| match (rev, compacted) {
        (Some(r), Some(c)) => r < c,
        _ => false,
    };
    match &args.query {
        DbQuery::Extract { .. }
        | DbQuery::Pages { .. }
        | DbQuery::Page { .. }
        | DbQuery::Stats { .. }
        | DbQuery::Salvage { .. }
        | DbQuery::Space { .. } => Ok(Exit::Clean),
        DbQuery::Keys { rev, prefix, .. } => {
            // (--k8s was handled above.)
            let prefix = prefix.as_ref().map(|p| p.as_bytes()).unwrap_or_default();
            let live = mvcc::live_keys(&db, *rev, prefix)?;
            if json {
                let keys = live
                    .keys
                    .iter()
                    .map(|(k, l)| LiveKeyJson {
                        key: Bytes(k),
                        create_revision: l.create_revision,
                        mod_revision: l.mod_revision,
                        version: l.version,
                        lease: l.lease,
                        value_len: l.value_len,
                    })
                    .collect();
                crate::output::json_line(
                    out,
                    &KeysJson {
                        revision: live.at,
                        latest_revision: live.latest,
                        compacted_below: compacted,
                        incomplete: below_compaction(*rev),
                        count: live.keys.len(),
                        bad_records: live.bad_records,
                        keys,
                    },
                )?;
            } else if table {
                let rows = live
                    .keys
                    .iter()
                    .map(|(k, l)| {
                        vec![
                            escape(k),
                            l.create_revision.to_string(),
                            l.mod_revision.to_string(),
                            l.version.to_string(),
                            lease_id(l.lease),
                            l.value_len.to_string(),
                        ]
                    })
                    .collect();
                write!(
                    out,
                    "{}",
                    crate::output::table(
                        &[
                            "KEY",
                            "CREATE REVISION",
                            "MOD REVISION",
                            "VERSION",
                            "LEASE",
                            "VALUE SIZE"
                        ],
                        rows
                    )
                )?;
            } else {
                if below_compaction(*rev) {
                    writeln!(
                        out,
                        "# revision {} is below the compaction revision {}: keys may be missing",
                        live.at,
                        opt(compacted)
                    )?;
                }
                for (k, l) in &live.keys {
                    writeln!(
                        out,
                        "{}\tmod={} create={} version={} lease={} len={}",
                        escape(k),
                        l.mod_revision,
                        l.create_revision,
                        l.version,
                        lease_id(l.lease),
                        l.value_len
                    )?;
                }
                writeln!(
                    out,
                    "# {} live {} at revision {}",
                    live.keys.len(),
                    if live.keys.len() == 1 { "key" } else { "keys" },
                    live.at
                )?;
            }
            Ok(if live.bad_records > 0 {
                Exit::Damage
            } else {
                Exit::Clean
            })
        }
        DbQuery::Get { key, rev, .. } => {
            let found = mvcc::get(&db, key.as_bytes(), *rev)?;
            if json {
                crate::output::json_line(
                    out,
                    &GetJson {
                        key: Bytes(key.as_bytes()),
                        revision: *rev,
                        incomplete: below_compaction(*rev),
                        found: found.is_some(),
                        kv: found.as_ref().map(RecordJson::new),
                    },
                )?;
            } else {
                match &found {
                    Some(r) => {
                        writeln!(out, "{}", escape(&r.kv.value))?;
                        writeln!(
                            out,
                            "# mod={} create={} version={} lease={}",
                            r.kv.mod_revision,
                            r.kv.create_revision,
                            r.kv.version,
                            lease_id(r.kv.lease)
                        )?;
                    }
                    None if below_compaction(*rev) => writeln!(
                        out,
                        "# {} not found at revision {}: that is below the compaction revision {}, so its value then may have been compacted away (etcd answers \"required revision has been compacted\")",
                        escape(key.as_bytes()),
                        opt(*rev),
                        opt(compacted)
                    )?,
                    None => writeln!(out, "# {} not found", escape(key.as_bytes()))?,
                }
            }
            Ok(Exit::Clean)
        }
        DbQuery::History { key, .. } => {
            let records = mvcc::history(&db, key.as_bytes())?;
            if json {
                crate::output::json_line(
                    out,
                    &HistoryJson {
                        key: Bytes(key.as_bytes()),
                        compacted_below: compacted,
                        records: records.iter().map(RecordJson::new).collect(),
                    },
                )?;
            } else {
                for r in &records {
                    if r.rev.tombstone {
                        writeln!(out, "{}\tdelete", r.rev.rev)?;
                    } else {
                        writeln!(
                            out,
                            "{}\tput version={} lease={} value={}",
                            r.rev.rev,
                            r.kv.version,
                            lease_id(r.kv.lease),
                            short(&r.kv.value)
                        )?;
                    }
                }
                writeln!(
                    out,
                    "# {} record(s); history before revision {} was compacted away",
                    records.len(),
                    opt(compacted)
                )?;
            }
            Ok(Exit::Clean)
        }
    }
}

/// Run `db extract`.
fn extract(
    path: &std::path::Path,
    dest: &std::path::Path,
    with_hash: bool,
    json_out: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let src = resolve_db_path(path)?;
    let held = etcd_member::live::holders(std::slice::from_ref(&src));
    if let Some(h) = held.first() {
        eprintln!(
            "wal-inspect: refusing: {} is locked ({}) by a running process (pids {:?}); \
             stop etcd first, or use `etcdctl snapshot save` against the live member",
            h.file.display(),
            h.lock,
            h.pids
        );
        return Ok(Exit::Refused);
    }
    let x = match etcd_snap::restore::extract(&src, dest, with_hash) {
        Ok(x) => x,
        Err(e) if e.is_refusal() => {
            eprintln!("wal-inspect: refusing: {e}");
            return Ok(Exit::Refused);
        }
        Err(e) => return Err(e.into()),
    };
    if json_out {
        crate::output::json_line(out, &x)?;
    } else {
        writeln!(
            out,
            "extracted {} -> {}",
            x.source.display(),
            x.out.display()
        )?;
        writeln!(out, "db bytes:  {}", x.db_bytes)?;
        writeln!(out, "txid:      {}", opt(x.txid))?;
        match &x.sha256 {
            Some(h) => writeln!(out, "sha256:    {h} (appended)")?,
            None => writeln!(out, "sha256:    none (restore needs --skip-hash-check)")?,
        }
        if let Some(n) = &x.note {
            writeln!(out, "note:      {n}")?;
        }
    }
    Ok(Exit::Clean)
}

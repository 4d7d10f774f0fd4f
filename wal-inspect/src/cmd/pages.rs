//! `db pages`, `db page`, `db stats`: a db's pages as the bbolt CLI shows them (`bbolt
//! pages`, `page`, `stats`), for users without Go and for bug reports; read-only, no
//! lock, also while etcd runs. Elements are decoded as etcd stores them: `key` bucket
//! revisions as `main_sub` with their `mvccpb.KeyValue`, member JSON, `meta` numbers.

use std::io::Write;
use std::path::Path;

use etcd_snap::bolt::{BucketStats, Db, MetaSlot, PageElement, PageInfo};
use prost::Message as _;
use serde::Serialize;

use crate::exit::Exit;

/// Values longer than this are shortened in `db page` text output, in bytes.
const SHORT: usize = 64;

#[derive(Serialize)]
struct PagesJson<'a> {
    path: &'a Path,
    page_size: u32,
    high_water: u64,
    active_meta: u8,
    metas: &'a [MetaSlot; 2],
    pages: &'a [PageInfo],
}

/// `db pages`.
pub fn pages(path: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let db = Db::open(path)?;
    let list = db.page_list()?;
    if json {
        crate::output::json_line(
            out,
            &PagesJson {
                path,
                page_size: db.page_size(),
                high_water: db.meta().pgid,
                active_meta: db.active_meta(),
                metas: db.metas(),
                pages: &list,
            },
        )?;
        return Ok(Exit::Clean);
    }
    // bbolt's columns, then the owning bucket.
    writeln!(out, "ID       TYPE       ITEMS  OVRFLW BUCKET")?;
    writeln!(out, "======== ========== ====== ====== ======")?;
    for p in &list {
        let (count, overflow) = if p.kind == "free" || p.kind == "unreadable" {
            (String::new(), String::new())
        } else {
            (
                p.count.to_string(),
                if p.overflow > 0 {
                    p.overflow.to_string()
                } else {
                    String::new()
                },
            )
        };
        let owner = match (&p.bucket, p.depth) {
            (Some(b), Some(d)) if b.is_empty() => format!("(root bucket, depth {d})"),
            (Some(b), Some(d)) => format!("{b} (depth {d})"),
            _ => String::new(),
        };
        writeln!(
            out,
            "{}",
            format!(
                "{:<8} {:<10} {:<6} {:<6} {owner}",
                p.id, p.kind, count, overflow
            )
            .trim_end()
        )?;
    }
    Ok(Exit::Clean)
}

fn meta_lines(db: &Db, out: &mut dyn Write) -> anyhow::Result<()> {
    for (i, m) in db.metas().iter().enumerate() {
        let state = match (&m.meta, &m.problem) {
            (_, Some(p)) => format!("INVALID: {p}"),
            (Some(_), None) if i == usize::from(db.active_meta()) => {
                "valid, active (the higher txid of the valid ones)".to_owned()
            }
            (Some(_), None) => "valid".to_owned(),
            (None, None) => "unreadable".to_owned(),
        };
        match &m.meta {
            Some(x) => writeln!(
                out,
                "meta {i}: {state}; txid {}, root page {}, freelist {}, high water {}, page size {}",
                x.txid,
                x.root,
                if x.freelist_persisted() {
                    x.freelist.to_string()
                } else {
                    "not persisted".to_owned()
                },
                x.pgid,
                x.page_size
            )?,
            None => writeln!(out, "meta {i}: {state}")?,
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct StatsJson<'a> {
    path: &'a Path,
    page_size: u32,
    active_meta: u8,
    metas: &'a [MetaSlot; 2],
    buckets: &'a [BucketStats],
    aggregate: &'a BucketStats,
}

fn pct(used: u64, alloc: u64) -> u64 {
    used.saturating_mul(100).checked_div(alloc).unwrap_or(0)
}

/// `db stats`.
pub fn stats(path: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let db = Db::open(path)?;
    let buckets = db.bucket_stats()?;
    let mut all = BucketStats {
        name: "(all)".into(),
        ..BucketStats::default()
    };
    for b in &buckets {
        all.add(b);
    }
    if json {
        crate::output::json_line(
            out,
            &StatsJson {
                path,
                page_size: db.page_size(),
                active_meta: db.active_meta(),
                metas: db.metas(),
                buckets: &buckets,
                aggregate: &all,
            },
        )?;
        return Ok(Exit::Clean);
    }
    meta_lines(&db, out)?;
    writeln!(out)?;
    let rows = buckets
        .iter()
        .chain(std::iter::once(&all))
        .map(|b| {
            vec![
                b.name.clone(),
                b.keys.to_string(),
                b.depth.to_string(),
                b.branch_pages.to_string(),
                b.leaf_pages.to_string(),
                (b.branch_overflow + b.leaf_overflow).to_string(),
                (b.branch_alloc + b.leaf_alloc).to_string(),
                format!(
                    "{}%",
                    pct(b.branch_inuse + b.leaf_inuse, b.branch_alloc + b.leaf_alloc)
                ),
                b.inline_buckets.to_string(),
            ]
        })
        .collect();
    write!(
        out,
        "{}",
        crate::output::table(
            &[
                "BUCKET",
                "KEYS",
                "DEPTH",
                "BRANCH PAGES",
                "LEAF PAGES",
                "OVERFLOW PAGES",
                "BYTES ALLOCATED",
                "FILL",
                "INLINE BUCKETS",
            ],
            rows,
        )
    )?;
    // bbolt's aggregate block, in its words.
    writeln!(out, "Aggregate statistics for {} buckets", buckets.len())?;
    writeln!(out)?;
    writeln!(out, "Page count statistics")?;
    writeln!(
        out,
        "\tNumber of logical branch pages: {}",
        all.branch_pages
    )?;
    writeln!(
        out,
        "\tNumber of physical branch overflow pages: {}",
        all.branch_overflow
    )?;
    writeln!(out, "\tNumber of logical leaf pages: {}", all.leaf_pages)?;
    writeln!(
        out,
        "\tNumber of physical leaf overflow pages: {}",
        all.leaf_overflow
    )?;
    writeln!(out, "Tree statistics")?;
    writeln!(out, "\tNumber of keys/value pairs: {}", all.keys)?;
    writeln!(out, "\tNumber of levels in B+tree: {}", all.depth)?;
    writeln!(out, "Page size utilization")?;
    writeln!(
        out,
        "\tBytes allocated for physical branch pages: {}",
        all.branch_alloc
    )?;
    writeln!(
        out,
        "\tBytes actually used for branch data: {} ({}%)",
        all.branch_inuse,
        pct(all.branch_inuse, all.branch_alloc)
    )?;
    writeln!(
        out,
        "\tBytes allocated for physical leaf pages: {}",
        all.leaf_alloc
    )?;
    writeln!(
        out,
        "\tBytes actually used for leaf data: {} ({}%)",
        all.leaf_inuse,
        pct(all.leaf_inuse, all.leaf_alloc)
    )?;
    writeln!(out, "Bucket statistics")?;
    writeln!(out, "\tTotal number of buckets: {}", all.buckets)?;
    writeln!(
        out,
        "\tTotal number on inlined buckets: {} ({}%)",
        all.inline_buckets,
        pct(all.inline_buckets, all.buckets)
    )?;
    writeln!(
        out,
        "\tBytes used for inlined buckets: {} ({}%)",
        all.inline_inuse,
        pct(all.inline_inuse, all.leaf_inuse)
    )?;
    Ok(Exit::Clean)
}

/// An element decoded as etcd stores it in bucket `bucket`: (key, value) as text.
fn decode(bucket: Option<&str>, key: &[u8], value: &[u8]) -> (String, String) {
    let text = |b: &[u8]| etcd_proto::text::shorten(b, Some(SHORT));
    match bucket {
        Some("key") => {
            let k = etcd_snap::mvcc::RevisionKey::parse(key).map_or_else(
                |_| text(key),
                |rk| {
                    format!(
                        "{}{}",
                        rk.rev,
                        if rk.tombstone { " (tombstone)" } else { "" }
                    )
                },
            );
            let v = etcd_snap::mvcc::KeyValue::decode(value).map_or_else(
                |e| format!("{} (not an mvccpb.KeyValue: {e})", text(value)),
                |kv| {
                    format!(
                        "key={} create_revision={} mod_revision={} version={} lease={:x} value={} ({} bytes)",
                        text(&kv.key),
                        kv.create_revision,
                        kv.mod_revision,
                        kv.version,
                        kv.lease,
                        text(&kv.value),
                        kv.value.len()
                    )
                },
            );
            (k, v)
        }
        Some("meta") if value.len() == 8 => {
            let n = u64::from_be_bytes(value.try_into().unwrap_or_default());
            (text(key), format!("{n} (big-endian u64)"))
        }
        Some("meta") if key == b"scheduledCompactRev" || key == b"finishedCompactRev" => {
            let v = etcd_snap::mvcc::RevisionKey::parse(value)
                .map_or_else(|_| text(value), |rk| rk.rev.to_string());
            (text(key), v)
        }
        Some("lease") => {
            let id = <[u8; 8]>::try_from(key)
                .map_or_else(|_| text(key), |b| format!("{:016x}", u64::from_be_bytes(b)));
            (id, text(value))
        }
        Some("members" | "members_removed") => (text(key), etcd_proto::text::escape_bytes(value)),
        _ => (text(key), text(value)),
    }
}

#[derive(Serialize)]
struct ElementJson {
    index: u16,
    key: String,
    value: Option<String>,
    child: Option<u64>,
    bucket: Option<BucketRefJson>,
    problem: Option<String>,
}

#[derive(Serialize)]
struct BucketRefJson {
    root: u64,
    sequence: u64,
    /// An inline bucket's key/values, decoded.
    inline: Vec<InlineJson>,
}

#[derive(Serialize)]
struct InlineJson {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct PageJson<'a> {
    path: &'a Path,
    id: u64,
    offset: u64,
    kind: &'a str,
    count: u16,
    overflow: u32,
    bucket: Option<&'a str>,
    reachable: bool,
    elements: Vec<ElementJson>,
    freelist_ids: Option<&'a [u64]>,
    meta: Option<&'a MetaSlot>,
}

/// `db page N`.
pub fn page(path: &Path, id: u64, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let db = Db::open(path)?;
    let dump = db.page(id)?;
    let list = db.page_list()?;
    let info = list.iter().find(|p| p.id == id);
    let owner = info.and_then(|p| p.bucket.as_deref());
    // A page the tree reaches (or a meta / the persisted freelist) vs a free or stale one.
    let reachable = info.is_some_and(|p| p.kind != "free");
    let elements: Vec<ElementJson> = dump
        .elements
        .iter()
        .map(|e| match e {
            PageElement::Leaf {
                index,
                key,
                value,
                bucket,
                inline,
            } => match bucket {
                Some((root, sequence)) => {
                    let name = String::from_utf8_lossy(key);
                    ElementJson {
                        index: *index,
                        key: etcd_proto::text::escape_bytes(key),
                        value: None,
                        child: None,
                        bucket: Some(BucketRefJson {
                            root: *root,
                            sequence: *sequence,
                            inline: inline
                                .iter()
                                .map(|(k, v)| decode(Some(&name), k, v))
                                .map(|(key, value)| InlineJson { key, value })
                                .collect(),
                        }),
                        problem: None,
                    }
                }
                None => {
                    let (k, v) = decode(owner, key, value);
                    ElementJson {
                        index: *index,
                        key: k,
                        value: Some(v),
                        child: None,
                        bucket: None,
                        problem: None,
                    }
                }
            },
            PageElement::Branch { index, key, child } => ElementJson {
                index: *index,
                key: decode(owner, key, &[]).0,
                value: None,
                child: Some(*child),
                bucket: None,
                problem: None,
            },
            PageElement::Bad { index, problem } => ElementJson {
                index: *index,
                key: String::new(),
                value: None,
                child: None,
                bucket: None,
                problem: Some(problem.clone()),
            },
        })
        .collect();
    if json {
        crate::output::json_line(
            out,
            &PageJson {
                path,
                id,
                offset: dump.offset,
                kind: &dump.kind,
                count: dump.header.count,
                overflow: dump.header.overflow,
                bucket: owner,
                reachable,
                elements,
                freelist_ids: dump.freelist_ids.as_deref(),
                meta: dump.meta.as_ref(),
            },
        )?;
        return Ok(Exit::Clean);
    }
    writeln!(out, "Page ID:    {id}")?;
    writeln!(out, "Page Type:  {}", dump.kind)?;
    writeln!(
        out,
        "Total Size: {} bytes",
        (1 + u64::from(dump.header.overflow)) * u64::from(db.page_size())
    )?;
    writeln!(out, "Overflow pages: {}", dump.header.overflow)?;
    writeln!(out, "File offset: {}", dump.offset)?;
    match (owner, reachable) {
        (Some(""), _) => writeln!(out, "Bucket:     (root bucket)")?,
        (Some(b), _) => writeln!(out, "Bucket:     {b}")?,
        (None, false) if id >= 2 => writeln!(
            out,
            "Bucket:     none: a free page (what it holds is from an older transaction)"
        )?,
        _ => {}
    }
    if id < 2 {
        writeln!(out)?;
        meta_lines(&db, out)?;
        return Ok(Exit::Clean);
    }
    if let Some(ids) = &dump.freelist_ids {
        writeln!(out, "Free pages: {}", ids.len())?;
        for chunk in ids.chunks(16) {
            let line: Vec<String> = chunk.iter().map(u64::to_string).collect();
            writeln!(out, "  {}", line.join(" "))?;
        }
        return Ok(Exit::Clean);
    }
    writeln!(out, "Item Count: {}", dump.header.count)?;
    writeln!(out)?;
    for e in &elements {
        match (&e.bucket, e.child, &e.problem) {
            (_, _, Some(p)) => writeln!(out, "{:>5}  ! {p}", e.index)?,
            (Some(b), _, _) => {
                writeln!(
                    out,
                    "{:>5}  {}: <bucket root={} sequence={}{}>",
                    e.index,
                    e.key,
                    b.root,
                    b.sequence,
                    if b.root == 0 { ", inline" } else { "" }
                )?;
                for i in &b.inline {
                    writeln!(out, "         {}: {}", i.key, i.value)?;
                }
            }
            (None, Some(c), _) => writeln!(out, "{:>5}  {} -> page {c}", e.index, e.key)?,
            (None, None, None) => writeln!(
                out,
                "{:>5}  {}: {}",
                e.index,
                e.key,
                e.value.as_deref().unwrap_or("")
            )?,
        }
    }
    Ok(Exit::Clean)
}

#[derive(Serialize)]
struct SpaceJson<'a> {
    path: &'a Path,
    #[serde(flatten)]
    report: &'a etcd_snap::space::SpaceReport,
}

/// Groups shown in text (JSON has them all).
const SPACE_ROWS: usize = 20;

fn mib(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// `db space`.
pub fn space(
    path: &Path,
    opts: &etcd_snap::space::SpaceOptions,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let db = Db::open(path)?;
    let r = etcd_snap::space::space(&db, opts)?;
    if json {
        crate::output::json_line(out, &SpaceJson { path, report: &r })?;
        return Ok(Exit::Clean);
    }
    let ps = u64::from(r.page_size);
    let p = &r.pages;
    writeln!(
        out,
        "{}: {} bytes, {} pages of {} bytes up to the high-water mark",
        path.display(),
        r.file_size,
        p.total,
        r.page_size
    )?;
    let mut owners: Vec<(String, u64)> = p
        .buckets
        .iter()
        .map(|(b, n)| (format!("bucket {b}"), *n))
        .collect();
    owners.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    owners.push(("root bucket".into(), p.root));
    owners.push(("meta pages".into(), p.meta));
    if p.freelist > 0 {
        owners.push(("freelist".into(), p.freelist));
    }
    owners.push(("free (a defragmentation returns them)".into(), p.free));
    if p.other > 0 {
        owners.push(("unreadable / unaccounted".into(), p.other));
    }
    let rows = owners
        .iter()
        .map(|(o, n)| {
            vec![
                o.clone(),
                n.to_string(),
                mib(n * ps),
                format!("{}%", pct(*n, p.total)),
            ]
        })
        .collect();
    write!(
        out,
        "{}",
        crate::output::table(&["PAGES OF", "PAGES", "SIZE", "SHARE"], rows)
    )?;
    writeln!(
        out,
        "\nkey bucket: {} records ({} tombstones) of {} keys, {} live; every record {}, the live keys' latest records {}",
        r.records,
        r.tombstones,
        r.keys,
        r.live_keys,
        mib(r.all_bytes),
        mib(r.latest_bytes)
    )?;
    let rows = r
        .groups
        .iter()
        .take(SPACE_ROWS)
        .map(|g| {
            vec![
                if g.prefix.is_empty() {
                    "(all)".to_owned()
                } else {
                    g.prefix.clone()
                },
                g.keys.to_string(),
                g.live_keys.to_string(),
                g.records.to_string(),
                mib(g.latest_bytes),
                mib(g.all_bytes),
                mib(g.compaction_frees),
            ]
        })
        .collect();
    writeln!(out, "by key prefix (depth {}), largest first:", r.depth)?;
    write!(
        out,
        "{}",
        crate::output::table(
            &[
                "PREFIX",
                "KEYS",
                "LIVE",
                "RECORDS",
                "LATEST",
                "ALL REVISIONS",
                "COMPACTION FREES"
            ],
            rows
        )
    )?;
    if r.groups.len() > SPACE_ROWS {
        writeln!(
            out,
            "({} more groups: --json lists them all, --depth changes the grouping)",
            r.groups.len() - SPACE_ROWS
        )?;
    }
    if !r.largest.is_empty() {
        writeln!(out, "\nlargest latest records:")?;
        let rows = r
            .largest
            .iter()
            .map(|l| vec![l.key.clone(), l.revision.clone(), l.bytes.to_string()])
            .collect();
        write!(
            out,
            "{}",
            crate::output::table(&["KEY", "REVISION", "BYTES"], rows)
        )?;
    }
    writeln!(
        out,
        "\ncompaction at revision {}{}: removes {} records, {} (the db is at revision {}{})",
        r.compact_at,
        if r.compact_at == r.revision {
            " (the latest)"
        } else {
            ""
        },
        r.compaction_removes,
        mib(r.compaction_frees),
        r.revision,
        r.compacted
            .map_or(String::new(), |c| format!(", compacted at {c}"))
    )?;
    writeln!(
        out,
        "after it and a defragmentation the file would be about {} (estimate; now {})",
        mib(r.defrag_estimate),
        mib(r.file_size)
    )?;
    writeln!(
        out,
        "(compaction is replicated: run it on the cluster, `etcdctl compact {}` then `etcdctl defrag` per member; offline only inside a restore)",
        r.compact_at
    )?;
    Ok(Exit::Clean)
}

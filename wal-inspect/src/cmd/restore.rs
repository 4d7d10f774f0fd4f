//! `wal-inspect snapshot restore`: a drop-in for `etcdutl snapshot restore` 3.5 (same flags,
//! same defaults, same result), that also takes a data dir or member dir as the source and
//! explains a missing or wrong SHA-256 instead of etcd's terse errors.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use etcd_snap::restore::{RestoreConfig, restore};

use crate::exit::Exit;

/// `wal-inspect snapshot restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A `snapshot save` file, a bare db file, or a data/member dir (its `snap/db`).
    pub source: PathBuf,
    /// Path to the output data directory (default `<name>.etcd`); must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Path to the WAL directory (default `<data-dir>/member/wal`).
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// Human-readable name for this member.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Initial cluster configuration for restore bootstrap (`name=url,…`).
    #[arg(long, default_value = "default=http://localhost:2380")]
    pub initial_cluster: String,
    /// Initial cluster token for the etcd cluster during restore bootstrap.
    #[arg(long, default_value = "etcd-cluster")]
    pub initial_cluster_token: String,
    /// List of this member's peer URLs to advertise to the rest of the cluster.
    #[arg(long, default_value = "http://localhost:2380")]
    pub initial_advertise_peer_urls: String,
    /// Ignore the snapshot's SHA-256 (needed for a file without one, e.g. a copied db).
    #[arg(long)]
    pub skip_hash_check: bool,
    /// How much to increase the latest revision by (needs --mark-compacted).
    #[arg(long, default_value_t = 0, value_name = "R")]
    pub bump_revision: u64,
    /// Mark the latest revision after the bump as the scheduled compaction point (required
    /// with --bump-revision, refused without it, as etcdutl does).
    #[arg(long)]
    pub mark_compacted: bool,
    /// Compact the restored db at revision R and write it defragmented (what `etcdctl
    /// compact R --physical` and `etcdctl defrag` would leave; `db space --compact-at R`
    /// says how much it frees). Compaction is replicated state: offline it is safe only
    /// here, inside a restore, never on one member of a running cluster.
    #[arg(long, value_name = "R", conflicts_with = "bump_revision")]
    pub compact_to: Option<i64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write what etcdutl of this release writes (X.Y.Z; 3.6 and 3.7 encode the `.snap`
    /// and the WAL slightly differently from 3.4/3.5, the default).
    #[arg(long, value_name = "X.Y.Z")]
    pub etcd_version: Option<etcd_member::release::EtcdVersion>,
}

/// Run `snapshot restore`.
pub fn run(args: &RestoreArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.etcd", args.name)));
    // A member's db that a running etcd holds would be copied mid-write: refuse.
    if args.source.is_dir() {
        if let Ok(db) = etcd_snap::resolve_db_path(&args.source) {
            if let Some(h) = etcd_member::live::holders(std::slice::from_ref(&db)).first() {
                eprintln!(
                    "wal-inspect: refusing: {} is locked ({}) by a running process (pids {:?}); \
                     stop etcd first, or restore from `etcdctl snapshot save` output",
                    h.file.display(),
                    h.lock,
                    h.pids
                );
                return Ok(Exit::Refused);
            }
        }
    }
    let cfg = RestoreConfig {
        source: args.source.clone(),
        data_dir,
        wal_dir: args.wal_dir.clone(),
        name: args.name.clone(),
        initial_cluster: args.initial_cluster.clone(),
        initial_cluster_token: args.initial_cluster_token.clone(),
        initial_advertise_peer_urls: args.initial_advertise_peer_urls.clone(),
        skip_hash_check: args.skip_hash_check,
        target: args
            .etcd_version
            .map_or(etcd_snap::restore::RestoreTarget::V3_5, |v| {
                etcd_snap::restore::RestoreTarget::for_version(v.minor, v.patch)
            }),
        bump_revision: args.bump_revision,
        mark_compacted: args.mark_compacted,
        compact_to: args.compact_to,
        progress: None,
    };
    let source_db = if cfg.source.is_dir() {
        etcd_snap::resolve_db_path(&cfg.source).ok()
    } else {
        Some(cfg.source.clone())
    };
    let size = source_db
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    let display = crate::progress::Display::start("snapshot restore", size, false);
    let cfg = RestoreConfig {
        progress: display.as_ref().map(crate::progress::Display::progress),
        ..cfg
    };
    let restored = restore(&cfg);
    drop(display);
    let report = match restored {
        Ok(r) => r,
        Err(e) if e.is_refusal() => {
            eprintln!("wal-inspect: refusing: {e}");
            return Ok(Exit::Refused);
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        crate::output::json_line(out, &report)?;
        return Ok(Exit::Clean);
    }
    writeln!(
        out,
        "restored {} -> {}",
        report.source_db.display(),
        report.data_dir.display()
    )?;
    writeln!(out, "hash:          {}", report.hash.describe())?;
    writeln!(out, "member id:     {:016x}", report.cluster.local_id)?;
    writeln!(out, "cluster id:    {:016x}", report.cluster.cluster_id)?;
    for m in &report.cluster.members {
        writeln!(
            out,
            "member:        {:016x} {} {}",
            m.id,
            m.name,
            m.peer_urls.join(",")
        )?;
    }
    writeln!(
        out,
        "index:         {} (consistent index = commit, term 1)",
        report.consistent_index
    )?;
    if let Some(rev) = report.bumped_to {
        writeln!(out, "revision:      bumped to {rev} (marked compacted)")?;
    }
    if let Some(c) = &report.compacted {
        writeln!(
            out,
            "compacted:     at revision {}: {} records removed, {} kept; db {} -> {} bytes (defragmented)",
            c.revision, c.records_removed, c.records_kept, c.bytes_before, c.bytes_after
        )?;
    }
    writeln!(out, "wal dir:       {}", report.wal_dir.display())?;
    writeln!(out, "snap file:     {}", report.snap_file.display())?;
    Ok(Exit::Clean)
}

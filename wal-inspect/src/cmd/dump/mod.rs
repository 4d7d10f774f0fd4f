//! `wal-inspect dump`: every entry (or, with `--raw`, every record) of a WAL, decoded.
//!
//! Built on one streaming pass of the etcd-wal reader ([`etcd_wal::scan::scan_dir_with`]):
//! records are lent one at a time, decoded ([`etcd_wal::payload::decode_entry`]), redacted,
//! filtered and written through a buffer, so output starts at once and memory does not grow
//! with the WAL. Like `etcd-dump-logs --raw` in etcd 3.6 (and unlike 3.4/3.5, which stop at
//! the first CRC error), the pass keeps going past damage: each finding is printed where it
//! occurs and every later record says whether the CRC chain still vouches for it.
//!
//! The JSON Lines schema is documented in `docs/dump-json.md`.

mod filter;
mod pipeline;
mod render;

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use etcd_wal::payload::{EntryKind, decode_entry};
use etcd_wal::record::RecordType;
use etcd_wal::scan::{self, Event, RecordEvent, RecordStatus};

use crate::exit::Exit;
use etcd_member::MemberDir;

pub use filter::{Filter, KeyPrefix};

/// Values longer than this are cut in human output unless `--full` is given, in bytes.
const SHORT_VALUE: usize = 64;

/// `wal-inspect dump`.
#[derive(Debug, Args)]
#[command(after_help = "\
Entry kinds (--type): noop, put, range, delete_range, txn, compaction, lease_grant,
  lease_revoke, lease_checkpoint, alarm, authenticate, auth_enable, auth_disable, auth_status,
  auth_user_add, auth_user_delete, auth_user_get, auth_user_change_password,
  auth_user_grant_role, auth_user_revoke_role, auth_user_list, auth_role_list, auth_role_add,
  auth_role_delete, auth_role_get, auth_role_grant_permission, auth_role_revoke_permission,
  cluster_version_set, cluster_member_attr_set, downgrade_info_set, downgrade_version_test,
  v2_request, conf_change, conf_change_v2, unknown.

Passwords, password hashes and tokens are always redacted.

Exit codes (2 as in `wal-inspect --help`; dump never refuses, it only reads):
  0  the WAL has no damage
  1  damage found (dumped anyway; later records are marked)")]
pub struct DumpArgs {
    /// A data dir, member dir or WAL dir.
    pub path: PathBuf,
    /// The WAL directory, when it is not `<member>/wal`.
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// JSON Lines instead of text (schema: docs/dump-json.md).
    #[arg(long)]
    pub json: bool,
    /// Only entries with a raft index of at least INDEX.
    #[arg(long, value_name = "INDEX")]
    pub from_index: Option<u64>,
    /// Only entries with a raft index of at most INDEX.
    #[arg(long, value_name = "INDEX")]
    pub to_index: Option<u64>,
    /// Only these entry kinds, comma-separated (e.g. `put,txn,conf_change`).
    #[arg(long = "type", value_name = "KINDS", value_delimiter = ',',
          value_parser = filter::parse_kind)]
    pub kinds: Vec<EntryKind>,
    /// Only entries that touch a key starting with PREFIX (put, delete_range, range and
    /// txn compares/operations; ranges that overlap the prefix count). `\xNN`, `\n`, `\t`,
    /// `\r`, `\0` and `\\` stand for bytes.
    #[arg(long, value_name = "PREFIX", value_parser = filter::parse_key_prefix)]
    pub key_prefix: Option<KeyPrefix>,
    /// Every record (metadata, entry, state, crc, snapshot) with its file, offset, ordinal
    /// and CRC; entry filters apply to entry records only.
    #[arg(long)]
    pub raw: bool,
    /// Print values in full (human output cuts them at 64 bytes).
    #[arg(long)]
    pub full: bool,
    /// Annotate each put of a Kubernetes object (a key under `/registry/`) with the object:
    /// kind, namespace/name, uid, encoding; puts inside a transaction branch say so.
    #[arg(long, conflicts_with = "raw")]
    pub k8s: bool,
}

impl DumpArgs {
    fn filter(&self) -> Filter {
        Filter {
            from_index: self.from_index,
            to_index: self.to_index,
            kinds: self.kinds.iter().copied().collect(),
            key_prefix: self.key_prefix.as_ref().map(|p| p.0.clone()),
        }
    }
}

/// Run `dump`.
pub fn run(args: &DumpArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if let (Some(from), Some(to)) = (args.from_index, args.to_index) {
        anyhow::ensure!(from <= to, "--from-index {from} is above --to-index {to}");
    }
    let paths = MemberDir::resolve(&args.path, args.wal_dir.as_deref())?;
    let stop = AtomicBool::new(false);
    let wal_bytes = etcd_wal::progress::wal_bytes(&paths.wal);
    let display = crate::progress::Display::start("dump", wal_bytes, true);
    if let Some(d) = &display {
        d.progress().begin(etcd_wal::Stage::Wal, wal_bytes);
    }
    let mut d = Dumper {
        out: BufWriter::with_capacity(64 * 1024, out),
        json: args.json,
        raw: args.raw,
        k8s: args.k8s,
        max_value: (!args.full).then_some(SHORT_VALUE),
        filter: args.filter(),
        progress: display
            .as_ref()
            .map(|d| (d.progress(), etcd_wal::progress::ScanProgress::default())),
        failed: None,
        stop: &stop,
        stats: Stats::default(),
        dir: paths.clone(),
        segment_file: String::new(),
        segment_arc: Arc::from(""),
        pipeline: None,
    };
    if d.json {
        render::begin_json(&mut d.out, &paths.relative(&paths.wal))?;
    }
    // A write error (`dump | head` closing the pipe) ends the pass early instead of reading
    // a WAL of many GB for nobody.
    // `--json` entry lines are rendered on a second thread (see `pipeline`); `--raw`,
    // `--k8s` and the human form stay on this one.
    let threaded = d.json && !d.raw && !d.k8s;
    let scanned = std::thread::scope(|s| {
        if threaded {
            d.pipeline = Some(pipeline::Pipeline::start(s));
        }
        let scanned = scan::scan_dir_interruptible(&paths.wal, &mut |ev| d.event(ev), &stop);
        if let Some(p) = d.pipeline.take() {
            if let Err(e) = p.finish(&mut d.out) {
                d.failed.get_or_insert(e);
            }
        }
        scanned
    });
    drop(display);
    if let Some(e) = d.failed.take() {
        return Err(e.into());
    }
    let scan = scanned?;
    if d.json {
        render::summary_json(&mut d.out, &scan, &d.stats)?;
    } else {
        render::summary_human(&mut d.out, &scan, &d.stats)?;
    }
    d.out.flush()?;
    Ok(if scan.findings.is_empty() {
        Exit::Clean
    } else {
        Exit::Damage
    })
}

/// What the dump counted while streaming (a few numbers, never the entries).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Entries (or records, in `--raw`) written.
    pub shown_entries: u64,
    /// Non-entry records written (`--raw`).
    pub shown_records: u64,
    /// Shown entries by kind.
    pub kinds: BTreeMap<EntryKind, u64>,
    /// Smallest and largest index of every entry read.
    pub first_index: Option<u64>,
    /// See `first_index`.
    pub last_index: Option<u64>,
    /// The last verified put/delete_range/txn/lease_revoke before the first damage:
    /// (index, term, kind).
    pub last_write_before_damage: Option<(u64, u64, EntryKind)>,
}

struct Dumper<'o> {
    out: BufWriter<&'o mut dyn Write>,
    json: bool,
    raw: bool,
    k8s: bool,
    max_value: Option<usize>,
    filter: Filter,
    progress: Option<(Arc<etcd_wal::Progress>, etcd_wal::progress::ScanProgress)>,
    /// The first write error; once set, the rest of the pass writes nothing.
    failed: Option<io::Error>,
    /// Set with `failed`, to stop the pass.
    stop: &'o AtomicBool,
    stats: Stats,
    /// Where the pieces are (files are named relative to the path given).
    dir: MemberDir,
    /// The segment being read, as JSON lines name it.
    segment_file: String,
    /// `segment_file`, shared with the render thread's jobs.
    segment_arc: Arc<str>,
    /// `--json` entry lines go to the render thread through it.
    pipeline: Option<pipeline::Pipeline>,
}

impl Dumper<'_> {
    fn event(&mut self, ev: Event<'_>) {
        if self.failed.is_some() {
            return;
        }
        if let Some((p, s)) = self.progress.as_mut() {
            s.observe(p, &ev);
        }
        let res = match ev {
            Event::SegmentStart { name, size, .. } => {
                self.segment_file = self.dir.relative(&self.dir.wal.join(name.file_name()));
                self.segment_arc = Arc::from(self.segment_file.as_str());
                if self.json {
                    Ok(())
                } else {
                    render::segment_human(&mut self.out, &name.file_name(), size)
                }
            }
            Event::Finding(f) => {
                if self.json {
                    let path = self.dir.wal.join(f.at.file_name());
                    let finding = etcd_member::finding::from_wal(f, self.dir.relative(&path), path);
                    match self.pipeline.as_mut() {
                        Some(p) => {
                            let mut line = Vec::new();
                            render::finding_json(&mut line, &finding)
                                .and_then(|()| p.bytes(line, &mut self.out))
                        }
                        None => render::finding_json(&mut self.out, &finding),
                    }
                } else {
                    render::finding_human(&mut self.out, f)
                }
            }
            Event::Record(r) => self.record(&r),
        };
        if let Err(e) = res {
            self.failed = Some(e);
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn record(&mut self, r: &RecordEvent<'_>) -> io::Result<()> {
        let rtype = r.record.record_type();
        let entry = r.entry.filter(|_| rtype == Some(RecordType::Entry));
        let Some(e) = entry else {
            if self.raw {
                self.stats.shown_records += 1;
                return if self.json {
                    render::record_json(&mut self.out, &self.segment_file, r, None)
                } else {
                    render::record_human(&mut self.out, r, None)
                };
            }
            return Ok(());
        };
        let s = &mut self.stats;
        s.first_index = Some(s.first_index.map_or(e.index, |f| f.min(e.index)));
        s.last_index = Some(s.last_index.map_or(e.index, |l| l.max(e.index)));
        let mut payload = decode_entry(e.entry_type, e.data);
        let kind = payload.kind();
        if r.status == RecordStatus::Verified
            && matches!(
                kind,
                EntryKind::Put | EntryKind::DeleteRange | EntryKind::Txn | EntryKind::LeaseRevoke
            )
        {
            s.last_write_before_damage = Some((e.index, e.term, kind));
        }
        if !self.filter.selects(e.index, kind, &payload) {
            return Ok(());
        }
        s.shown_entries += 1;
        *s.kinds.entry(kind).or_default() += 1;
        payload.redact();
        if let Some(p) = self.pipeline.as_mut() {
            let job = render::EntryJob {
                file: self.segment_arc.clone(),
                offset: r.at.offset,
                ordinal: r.at.ordinal,
                status: r.status,
                index: e.index,
                term: e.term,
                entry_type: e.entry_type,
                data_len: e.data.len(),
                kind,
                payload,
            };
            return p.entry(job, &mut self.out);
        }
        let shown = render::ShownEntry {
            entry: e,
            kind,
            payload: &payload,
        };
        match (self.json, self.raw) {
            (true, false) => render::entry_json(&mut self.out, &self.segment_file, r, &shown)?,
            (true, true) => {
                render::record_json(&mut self.out, &self.segment_file, r, Some(&shown))?;
            }
            (false, false) => render::entry_human(&mut self.out, r, &shown, self.max_value)?,
            (false, true) => {
                render::record_human(&mut self.out, r, Some((&shown, self.max_value)))?;
            }
        }
        if self.k8s {
            for p in payload.puts() {
                if let Some(key) = etcd_k8s::key::parse(p.key) {
                    let value = etcd_k8s::decode(p.value);
                    if self.json {
                        render::k8s_json(&mut self.out, e.index, p, &key, &value)?;
                    } else {
                        render::k8s_human(&mut self.out, p, &key, &value)?;
                    }
                }
            }
        }
        Ok(())
    }
}

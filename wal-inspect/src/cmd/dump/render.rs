//! Human lines and JSON Lines for `dump` (schema: `docs/dump-json.md`).

use std::collections::BTreeMap;
use std::io::{self, Write};

use etcd_proto::RaftPos;
use etcd_proto::json::HexId;
use etcd_wal::payload::{EntryKind, KeyRange, Payload, PayloadView};
use etcd_wal::record::{self, EntryRef, RecordType};
use etcd_wal::scan::{RecordEvent, RecordStatus, Scan};
use serde::Serialize;

use super::Stats;

/// A selected entry, decoded and redacted.
pub struct ShownEntry<'a> {
    pub entry: EntryRef<'a>,
    pub kind: EntryKind,
    pub payload: &'a Payload,
}

fn entry_type_name(t: i32) -> Option<&'static str> {
    match t {
        0 => Some("EntryNormal"),
        1 => Some("EntryConfChange"),
        2 => Some("EntryConfChangeV2"),
        _ => None,
    }
}

/// Human tag for a record's trust status (empty for verified records).
fn status_tag(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Verified => "",
        RecordStatus::CrcMismatch => " [crc mismatch]",
        RecordStatus::Invalid => " [invalid]",
        RecordStatus::AfterDamageVerified => " [after damage, chain ok]",
        RecordStatus::AfterDamageUnverified => " [unverified]",
    }
}

// ------------------------------------------------------------------------------------ JSON

/// `raftpb.Entry.Type`: its name, or the number when etcd has no name for it.
struct EntryTypeJson(i32);

impl Serialize for EntryTypeJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match entry_type_name(self.0) {
            Some(n) => s.serialize_str(n),
            None => s.serialize_i32(self.0),
        }
    }
}

#[derive(Serialize)]
struct EntryBody<'a> {
    index: u64,
    term: u64,
    entry_type: EntryTypeJson,
    data_len: usize,
    kind: EntryKind,
    keys: Vec<KeyRange>,
    payload: PayloadView<'a>,
}

impl<'a> EntryBody<'a> {
    fn new(e: &ShownEntry<'a>) -> EntryBody<'a> {
        EntryBody {
            index: e.entry.index,
            term: e.entry.term,
            entry_type: EntryTypeJson(e.entry.entry_type),
            data_len: e.entry.data.len(),
            kind: e.kind,
            keys: e.payload.keys(),
            payload: e.payload.view(),
        }
    }
}

/// An `entry` line. The entry fields are spelled out rather than `#[serde(flatten)]`ed:
/// flatten buffers every value (up to megabytes per entry) before writing it.
#[derive(Serialize)]
struct EntryLine<'a> {
    r#type: &'static str,
    file: &'a str,
    offset: u64,
    ordinal: u64,
    status: RecordStatus,
    index: u64,
    term: u64,
    entry_type: EntryTypeJson,
    data_len: usize,
    kind: EntryKind,
    keys: Vec<KeyRange>,
    payload: PayloadView<'a>,
}

#[derive(Serialize)]
struct RecordLine<'a> {
    r#type: &'static str,
    file: &'a str,
    offset: u64,
    ordinal: u64,
    frame_len: u64,
    record_type: Option<&'static str>,
    raw_type: i64,
    crc: String,
    data_len: usize,
    status: RecordStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hard_state: Option<HardStateJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot: Option<SnapshotJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<EntryBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decode_error: Option<String>,
}

/// A metadata record: the WAL's member and cluster IDs.
#[derive(Serialize)]
struct MetadataJson {
    node_id: HexId,
    cluster_id: HexId,
}

/// A raft hard state (a state record, or the summary's last one).
#[derive(Serialize)]
struct HardStateJson {
    term: u64,
    vote: HexId,
    commit: u64,
}

/// A snapshot record.
#[derive(Serialize)]
struct SnapshotJson {
    index: u64,
    term: u64,
    conf_state: Option<ConfStateJson>,
}

#[derive(Serialize)]
struct ConfStateJson {
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    voters: Vec<u64>,
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    learners: Vec<u64>,
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    voters_outgoing: Vec<u64>,
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    learners_next: Vec<u64>,
    auto_leave: bool,
}

/// The `begin` line of `dump`: the common fields, then the WAL dir.
#[derive(Serialize)]
struct BeginLine<'a> {
    r#type: &'static str,
    tool: &'static str,
    version: &'static str,
    command: &'static str,
    schema_version: u32,
    wal_dir: &'a str,
}

/// The `summary` line.
#[derive(Serialize)]
struct SummaryLine<'a> {
    r#type: &'static str,
    segments: usize,
    records: u64,
    entries: u64,
    first_index: Option<u64>,
    last_index: Option<u64>,
    shown_entries: u64,
    shown_records: u64,
    /// Kind name to count, in `EntryKind` order.
    kinds: &'a BTreeMap<EntryKind, u64>,
    hard_state: Option<HardStateJson>,
    findings: usize,
    damaged: bool,
    last_entry_before_damage: Option<RaftPos>,
    last_write_before_damage: Option<LastWriteJson>,
    beyond_damage: Option<BeyondJson>,
}

#[derive(Serialize)]
struct LastWriteJson {
    index: u64,
    term: u64,
    kind: EntryKind,
}

/// What lies after the first damage.
#[derive(Serialize)]
struct BeyondJson {
    records: u64,
    entries: u64,
    first_index: Option<u64>,
    last_index: Option<u64>,
    chain_resynchronised: bool,
    intact: bool,
}

fn line<T: Serialize>(out: &mut impl Write, v: &T) -> io::Result<()> {
    crate::output::json_line(out, v)
}

pub fn begin_json(out: &mut impl Write, wal_dir: &str) -> io::Result<()> {
    line(
        out,
        &BeginLine {
            r#type: "begin",
            tool: "wal-inspect",
            version: env!("CARGO_PKG_VERSION"),
            command: "dump",
            schema_version: crate::output::SCHEMA_VERSION,
            wal_dir,
        },
    )
}

pub fn entry_json(
    out: &mut impl Write,
    file: &str,
    r: &RecordEvent<'_>,
    e: &ShownEntry<'_>,
) -> io::Result<()> {
    line(out, &{
        let b = EntryBody::new(e);
        EntryLine {
            r#type: "entry",
            file,
            offset: r.at.offset,
            ordinal: r.at.ordinal,
            status: r.status,
            index: b.index,
            term: b.term,
            entry_type: b.entry_type,
            data_len: b.data_len,
            kind: b.kind,
            keys: b.keys,
            payload: b.payload,
        }
    })
}

/// An entry to render as an `entry` line on another thread: everything the line needs,
/// owned.
#[derive(Debug)]
pub struct EntryJob {
    pub file: std::sync::Arc<str>,
    pub offset: u64,
    pub ordinal: u64,
    pub status: RecordStatus,
    pub index: u64,
    pub term: u64,
    pub entry_type: i32,
    pub data_len: usize,
    pub kind: EntryKind,
    pub payload: Payload,
}

/// The `entry` line of `job`: the same bytes [`entry_json`] writes.
pub fn entry_job_json(out: &mut impl Write, job: &EntryJob) -> io::Result<()> {
    line(
        out,
        &EntryLine {
            r#type: "entry",
            file: &job.file,
            offset: job.offset,
            ordinal: job.ordinal,
            status: job.status,
            index: job.index,
            term: job.term,
            entry_type: EntryTypeJson(job.entry_type),
            data_len: job.data_len,
            kind: job.kind,
            keys: job.payload.keys(),
            payload: job.payload.view(),
        },
    )
}

/// What a non-entry record holds, decoded: (metadata, hard_state, snapshot, decode_error).
type Decoded = (
    Option<MetadataJson>,
    Option<HardStateJson>,
    Option<SnapshotJson>,
    Option<String>,
);

fn decode_other(r: &RecordEvent<'_>) -> Decoded {
    let data = r.record.data;
    match r.record.record_type() {
        Some(RecordType::Metadata) => match record::decode_metadata(data) {
            Ok(m) => (
                Some(MetadataJson {
                    node_id: HexId(m.node_id),
                    cluster_id: HexId(m.cluster_id),
                }),
                None,
                None,
                None,
            ),
            Err(e) => (None, None, None, Some(e.to_string())),
        },
        Some(RecordType::State) => match record::decode_hard_state(data) {
            Ok(h) => (
                None,
                Some(HardStateJson {
                    term: h.term,
                    vote: HexId(h.vote),
                    commit: h.commit,
                }),
                None,
                None,
            ),
            Err(e) => (None, None, None, Some(e.to_string())),
        },
        Some(RecordType::Snapshot) => match record::decode_snapshot(data) {
            Ok(s) => (
                None,
                None,
                Some(SnapshotJson {
                    index: s.index,
                    term: s.term,
                    conf_state: s.conf_state.map(|c| ConfStateJson {
                        voters: c.voters,
                        learners: c.learners,
                        voters_outgoing: c.voters_outgoing,
                        learners_next: c.learners_next,
                        auto_leave: c.auto_leave,
                    }),
                }),
                None,
            ),
            Err(e) => (None, None, None, Some(e.to_string())),
        },
        Some(RecordType::Entry) => (
            None,
            None,
            None,
            Some(match EntryRef::decode(data) {
                Ok(_) => "entry not shown".to_string(),
                Err(e) => format!("raftpb.Entry: {e}"),
            }),
        ),
        Some(RecordType::Crc) | None => (None, None, None, None),
    }
}

pub fn record_json(
    out: &mut impl Write,
    file: &str,
    r: &RecordEvent<'_>,
    e: Option<&ShownEntry<'_>>,
) -> io::Result<()> {
    let (metadata, hard_state, snapshot, decode_error) = match e {
        Some(_) => (None, None, None, None),
        None => decode_other(r),
    };
    line(
        out,
        &RecordLine {
            r#type: "record",
            file,
            offset: r.at.offset,
            ordinal: r.at.ordinal,
            frame_len: r.frame_len,
            record_type: r.record.record_type().map(RecordType::as_str),
            raw_type: r.record.raw_type,
            crc: format!("{:08x}", r.record.crc),
            data_len: r.record.data.len(),
            status: r.status,
            metadata,
            hard_state,
            snapshot,
            entry: e.map(EntryBody::new),
            decode_error,
        },
    )
}

pub fn finding_json(out: &mut impl Write, f: &etcd_member::Finding) -> io::Result<()> {
    line(out, f)
}

pub fn summary_json(out: &mut impl Write, scan: &Scan, s: &Stats) -> io::Result<()> {
    line(
        out,
        &SummaryLine {
            r#type: "summary",
            segments: scan.segments.len(),
            records: scan.records,
            entries: scan.entries,
            first_index: s.first_index,
            last_index: s.last_index,
            shown_entries: s.shown_entries,
            shown_records: s.shown_records,
            kinds: &s.kinds,
            hard_state: scan.hard_state.map(|h| HardStateJson {
                term: h.term,
                vote: HexId(h.vote),
                commit: h.commit,
            }),
            findings: scan.findings.len(),
            damaged: scan.beyond.is_some(),
            last_entry_before_damage: scan.beyond.and(scan.last_entry_before_damage),
            last_write_before_damage: scan
                .beyond
                .and(s.last_write_before_damage)
                .map(|(index, term, kind)| LastWriteJson { index, term, kind }),
            beyond_damage: scan.beyond.map(|b| BeyondJson {
                records: b.records,
                entries: b.entries,
                first_index: b.first_index,
                last_index: b.last_index,
                chain_resynchronised: b.resynchronised,
                intact: b.intact,
            }),
        },
    )
}

// ----------------------------------------------------------------------------------- human

pub fn segment_human(out: &mut impl Write, name: &str, size: u64) -> io::Result<()> {
    writeln!(out, "== segment {name} ({size} bytes)")
}

pub fn entry_human(
    out: &mut impl Write,
    r: &RecordEvent<'_>,
    e: &ShownEntry<'_>,
    max_value: Option<usize>,
) -> io::Result<()> {
    writeln!(
        out,
        "{:>8} {:>4} {}{}",
        e.entry.index,
        e.entry.term,
        e.payload.summary(max_value),
        status_tag(r.status)
    )
}

pub fn record_human(
    out: &mut impl Write,
    r: &RecordEvent<'_>,
    e: Option<(&ShownEntry<'_>, Option<usize>)>,
) -> io::Result<()> {
    let rtype = r
        .record
        .record_type()
        .map_or_else(|| format!("type{}", r.record.raw_type), |t| t.to_string());
    write!(
        out,
        "{}+{:#x} #{} {rtype} crc={:08x} len={}",
        r.at.segment, r.at.offset, r.at.ordinal, r.record.crc, r.frame_len
    )?;
    if let Some((e, max_value)) = e {
        write!(
            out,
            " index={} term={} {}",
            e.entry.index,
            e.entry.term,
            e.payload.summary(max_value)
        )?;
    } else {
        let (metadata, hard_state, snapshot, decode_error) = decode_other(r);
        if let Some(m) = metadata {
            write!(out, " node_id={} cluster_id={}", m.node_id, m.cluster_id)?;
        }
        if let Some(h) = hard_state {
            write!(out, " term={} vote={} commit={}", h.term, h.vote, h.commit)?;
        }
        if let Some(s) = snapshot {
            write!(out, " index={} term={}", s.index, s.term)?;
            if let Some(c) = s.conf_state {
                let ids: Vec<String> = c.voters.iter().map(|&id| HexId(id).to_string()).collect();
                write!(out, " voters=[{}]", ids.join(","))?;
            }
        }
        if let Some(err) = decode_error {
            write!(out, " ({err})")?;
        }
    }
    writeln!(out, "{}", status_tag(r.status))
}

pub fn finding_human(out: &mut impl Write, f: &etcd_wal::Finding) -> io::Result<()> {
    write!(out, "!! {}: {}", f.kind, f.at.segment)?;
    if f.kind != etcd_wal::FindingKind::MissingSegment {
        write!(out, " {}", f.at.at())?;
    }
    if let Some(i) = f.index {
        write!(out, " index {i}")?;
    }
    if let Some(t) = f.term {
        write!(out, " term {t}")?;
    }
    write!(out, ": {}", f.message)?;
    if let Some(r) = f.resync_offset {
        write!(out, " [reading resumes at byte {r}]")?;
    }
    writeln!(out)
}

pub fn summary_human(out: &mut impl Write, scan: &Scan, s: &Stats) -> io::Result<()> {
    let range = match (s.first_index, s.last_index) {
        (Some(f), Some(l)) => format!(" (index {f}..{l})"),
        _ => String::new(),
    };
    let n = |count: u64, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    writeln!(
        out,
        "-- {} segment(s), {}, {}{range}; shown: {}{}",
        scan.segments.len(),
        n(scan.records, "record", "records"),
        n(scan.entries, "entry", "entries"),
        n(s.shown_entries, "entry", "entries"),
        if s.shown_records > 0 {
            format!(", {}", n(s.shown_records, "other record", "other records"))
        } else {
            String::new()
        }
    )?;
    if !s.kinds.is_empty() {
        let kinds: Vec<String> = s.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(out, "-- shown by kind: {}", kinds.join(", "))?;
    }
    if let Some(h) = scan.hard_state {
        writeln!(
            out,
            "-- hard state: term {} vote {:016x} commit {}",
            h.term, h.vote, h.commit
        )?;
    }
    let Some(b) = scan.beyond else {
        return writeln!(out, "-- no damage found");
    };
    write!(out, "-- damage: {} finding(s)", scan.findings.len())?;
    if let Some(e) = scan.last_entry_before_damage {
        write!(out, "; last entry before the damage: {e}")?;
    }
    if let Some((i, t, k)) = s.last_write_before_damage {
        write!(out, "; last write before it: index {i} term {t} ({k})")?;
    }
    writeln!(out)?;
    let range = match (b.first_index, b.last_index) {
        (Some(f), Some(l)) => format!(" (index {f}..{l})"),
        _ => String::new(),
    };
    writeln!(
        out,
        "-- after the damage: {} records, {} entries{range}; a truncating repair drops them",
        b.records, b.entries
    )?;
    if b.resynchronised {
        writeln!(
            out,
            "-- chain resynchronised: the CRC chain verifies again after the damage{}",
            if b.intact {
                " (no further damage)"
            } else {
                " (with further damage)"
            }
        )
    } else {
        writeln!(
            out,
            "-- chain not resynchronised: nothing after the damage could be verified"
        )
    }
}

/// A `k8s` line (`dump --k8s --json`): the Kubernetes object a put writes.
#[derive(Serialize)]
struct K8sLine<'a> {
    r#type: &'static str,
    index: u64,
    key: String,
    resource: &'a str,
    group: Option<&'a str>,
    namespace: Option<&'a str>,
    name: &'a str,
    kind: Option<&'a str>,
    api_version: Option<&'a str>,
    uid: Option<&'a str>,
    encoding: String,
    branch: Option<&'static str>,
}

fn branch_name(b: Option<bool>) -> Option<&'static str> {
    b.map(|s| if s { "success" } else { "failure" })
}

pub fn k8s_json(
    out: &mut impl Write,
    index: u64,
    p: etcd_wal::payload::PutOf<'_>,
    key: &etcd_k8s::Key,
    value: &etcd_k8s::Decoded,
) -> io::Result<()> {
    line(
        out,
        &K8sLine {
            r#type: "k8s",
            index,
            key: String::from_utf8_lossy(p.key).into_owned(),
            resource: &key.resource,
            group: key.group.as_deref(),
            namespace: key.namespace.as_deref(),
            name: &key.name,
            kind: value.kind.as_deref(),
            api_version: value.api_version.as_deref(),
            uid: value.metadata.as_ref().map(|m| m.uid.as_str()),
            encoding: value.encoding.label(),
            branch: branch_name(p.branch),
        },
    )
}

pub fn k8s_human(
    out: &mut impl Write,
    p: etcd_wal::payload::PutOf<'_>,
    key: &etcd_k8s::Key,
    value: &etcd_k8s::Decoded,
) -> io::Result<()> {
    if let Some(special) = key.special {
        let what = match special {
            etcd_k8s::Special::CompactRevKey => "the apiserver's compaction bookkeeping",
            etcd_k8s::Special::MasterLease => "an apiserver's endpoint lease",
            etcd_k8s::Special::Range => "an allocator's bitmap",
        };
        return writeln!(out, "               k8s: {what}");
    }
    let what = value.kind.clone().unwrap_or_else(|| key.resource.clone());
    let at = match &key.namespace {
        Some(ns) => format!("{ns}/{}", key.name),
        None => key.name.clone(),
    };
    let uid = value
        .metadata
        .as_ref()
        .map(|m| format!(" uid {}", m.uid))
        .filter(|u| u.len() > 5)
        .unwrap_or_default();
    let branch = match p.branch {
        Some(true) => " (if the txn's compares hold)",
        Some(false) => " (if the txn's compares fail)",
        None => "",
    };
    writeln!(
        out,
        "               k8s: {what} {at}{uid}, {}{branch}",
        value.encoding.label()
    )
}

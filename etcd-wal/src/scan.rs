//! One pass over every segment, emulating etcd 3.4/3.5's decoder record by record
//! (`wal/decoder.go` `decodeRecord`, plus the per-type checks of `ReadAll` and
//! `ValidSnapshotEntries`), and carrying on past damage to describe what lies beyond.
//!
//! The pass reads each byte once, through one bounded buffer per segment, and keeps only
//! aggregates (no entry data), so memory does not grow with the WAL.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::crc::{self, CrcChain};
use crate::error::Error;
use crate::finding::{EtcdReaction, Finding, FindingKind};
use crate::frame::{Frame, LEN_WORD_BYTES};
use crate::pb;
use crate::reader::SegmentReader;
use crate::record::{self, EntryRef, Record, RecordType};
use crate::segment::{SegmentName, WalDir};
use crate::torn;
use crate::wire::WireError;

/// Most entry runs remembered (a run is a stretch of consecutive raft indexes).
const MAX_RUNS: usize = 100_000;

/// How a segment's record stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum SegmentEnd {
    /// The file ends right after the last record.
    Eof,
    /// A zero length word (preallocated space) follows the last record, zeros to EOF.
    ZeroTail,
    /// A zero length word followed by non-zero data (see `records_after_end`).
    ZeroWordWithData,
    /// Damage stopped the reading of this segment (no resync point found).
    Damaged,
}

/// What one segment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SegmentSummary {
    /// File name.
    pub file: String,
    /// Parsed name.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub name: SegmentName,
    /// Size in bytes.
    pub size: u64,
    /// Records read (including ones after damage that could be framed).
    pub records: u64,
    /// Entry records read.
    pub entries: u64,
    /// Smallest raft index among its entries.
    pub first_index: Option<u64>,
    /// Raft index of its last entry.
    pub last_index: Option<u64>,
    /// Term of its last entry.
    pub last_term: Option<u64>,
    /// End of the last good record before any damage (etcd's `lastValidOff`), in bytes.
    pub valid_offset: u64,
    /// End of the last record read at all (after resyncs).
    pub data_end: u64,
    /// How the record stream ended.
    pub end: SegmentEnd,
    /// CRC stored in the segment's first crc record, if it starts with one.
    pub start_crc: Option<u32>,
    /// Running CRC after the last record read.
    pub end_crc: u32,
}

/// A WAL snapshot record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SnapshotRecord {
    /// Raft index.
    pub index: u64,
    /// Raft term.
    pub term: u64,
    /// Whether it carries a ConfState (etcd 3.5+ writes one for index > 0).
    pub has_conf_state: bool,
    /// Segment position in the directory listing.
    pub segment_pos: usize,
    /// Byte offset of its length word.
    pub offset: u64,
    /// Whether it was read before the first damage.
    pub before_damage: bool,
}

/// A stretch of entries with consecutive indexes, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRun {
    /// First index.
    pub first: u64,
    /// Last index.
    pub last: u64,
    /// Term of the last entry.
    pub last_term: u64,
    /// Segment position.
    pub segment_pos: usize,
    /// Whether the run lies before the first damage.
    pub before_damage: bool,
}

/// Raft HardState with where it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HardStateAt {
    /// Term.
    pub term: u64,
    /// Vote.
    pub vote: u64,
    /// Commit index.
    pub commit: u64,
    /// Segment position.
    pub segment_pos: usize,
    /// Byte offset of the record's length word.
    pub offset: u64,
}

/// What lies after the first damage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Beyond {
    /// Records read after the damaged one.
    pub records: u64,
    /// Entry records among them.
    pub entries: u64,
    /// Smallest entry index among them.
    pub first_index: Option<u64>,
    /// Largest entry index among them.
    pub last_index: Option<u64>,
    /// Whether the CRC chain verified again after the damage (trusting the damaged
    /// record's stored CRC, or from a resync point).
    pub resynchronised: bool,
    /// Whether everything after the first damage verified (no further finding).
    pub intact: bool,
}

/// The result of one pass.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The directory listing the pass read.
    pub dir: WalDir,
    /// Per segment, in listing order.
    pub segments: Vec<SegmentSummary>,
    /// Findings in stream order.
    pub findings: Vec<Finding>,
    /// Node and cluster ID from the first metadata record.
    pub metadata: Option<pb::etcdserverpb::Metadata>,
    /// Last HardState read before the first damage (what etcd's readers see).
    pub hard_state: Option<HardStateAt>,
    /// Last HardState read at all (including after damage).
    pub last_hard_state: Option<HardStateAt>,
    /// Snapshot records.
    pub snapshots: Vec<SnapshotRecord>,
    /// Entry runs in log order (capped at 100,000 runs; see `runs_truncated`).
    pub runs: Vec<EntryRun>,
    /// Whether `runs` hit its cap.
    pub runs_truncated: bool,
    /// Records and entries in total.
    pub records: u64,
    /// Entry records in total.
    pub entries: u64,
    /// Last entry read before the first damage: (index, term).
    pub last_entry_before_damage: Option<(u64, u64)>,
    /// What lies after the first damage, if any.
    pub beyond: Option<Beyond>,
}

/// How far a record could be trusted when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RecordStatus {
    /// Before any damage, CRC chain verified.
    Verified,
    /// This record's data does not match its stored CRC (the damage itself).
    CrcMismatch,
    /// This record's CRC matched but its payload is invalid (the damage itself).
    Invalid,
    /// After damage, and the chain verified it (trusting the damaged record's stored CRC
    /// or a resync point).
    AfterDamageVerified,
    /// After damage, and nothing could verify it (the first record after a resync).
    AfterDamageUnverified,
}

/// A record as the pass reads it; borrows from the segment buffer.
#[derive(Debug, Clone, Copy)]
pub struct RecordEvent<'a> {
    /// Segment position in the directory listing.
    pub segment_pos: usize,
    /// Segment file name.
    pub segment: &'a str,
    /// Byte offset of the record's length word.
    pub offset: u64,
    /// 0-based record number in the segment.
    pub ordinal: u64,
    /// Frame length in bytes (length word, record, padding).
    pub frame_len: u64,
    /// The record.
    pub record: Record<'a>,
    /// The entry, for entry records that decode.
    pub entry: Option<EntryRef<'a>>,
    /// How far it can be trusted.
    pub status: RecordStatus,
}

/// What a pass reports while it reads, in file order.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A segment is about to be read.
    SegmentStart {
        /// Position in the directory listing.
        pos: usize,
        /// File name.
        name: &'a str,
        /// Size in bytes.
        size: u64,
    },
    /// A record.
    Record(RecordEvent<'a>),
    /// Damage, reported before the record it concerns (if that record is readable).
    Finding(&'a Finding),
}

/// Read every segment of `wal_dir` once. `Err` only when files cannot be read at all.
pub fn scan_dir(wal_dir: &Path) -> Result<Scan, Error> {
    scan_dir_with(wal_dir, &mut |_| {})
}

/// Like [`scan_dir`], calling `visit` for every segment, record and finding as the pass
/// reads them (for streaming consumers such as a dump). Memory stays bounded: records are
/// lent to `visit` and then dropped.
pub fn scan_dir_with(wal_dir: &Path, visit: &mut dyn FnMut(Event<'_>)) -> Result<Scan, Error> {
    scan_dir_interruptible(wal_dir, visit, &AtomicBool::new(false))
}

/// Like [`scan_dir_with`], stopping early once `should_interrupt` is set (e.g. by `visit`
/// when its reader went away). The `Scan` of an interrupted pass covers only what was read.
pub fn scan_dir_interruptible(
    wal_dir: &Path,
    visit: &mut dyn FnMut(Event<'_>),
    should_interrupt: &AtomicBool,
) -> Result<Scan, Error> {
    let dir = WalDir::read(wal_dir)?;
    if dir.segments.is_empty() {
        return Err(Error::NoSegments {
            path: wal_dir.to_path_buf(),
        });
    }
    let mut s = Scanner {
        visit: Some(visit),
        interrupt: Some(should_interrupt),
        ..Scanner::default()
    };
    s.out.dir = dir.clone();
    let last = dir.segments.len() - 1;
    for (pos, seg) in dir.segments.iter().enumerate() {
        if s.interrupted() {
            break;
        }
        let mut reader = SegmentReader::open(&seg.path)?;
        let name = seg.name.file_name();
        s.emit(Event::SegmentStart {
            pos,
            name: &name,
            size: reader.size(),
        });
        s.segment(pos, pos == last, seg.name, &mut reader)?;
        s.flush_findings();
    }
    let before = s.out.findings.len();
    let visit = s.visit.take();
    let mut out = s.out;
    sequence_findings(&mut out);
    if let Some(visit) = visit {
        if out.findings.len() > before {
            for f in out.findings.iter().filter(|f| {
                matches!(
                    f.kind,
                    FindingKind::MissingSegment | FindingKind::SegmentGap
                )
            }) {
                visit(Event::Finding(f));
            }
        }
    }
    Ok(out)
}

/// Judge each gap in the sequence numbers: a missing segment when the CRC chain breaks
/// across it, a renamed one (`segment_gap`) when the chain continues.
fn sequence_findings(scan: &mut Scan) {
    for k in scan.dir.seq_gaps() {
        let (Some(prev), Some(next)) = (scan.segments.get(k - 1), scan.segments.get(k)) else {
            continue;
        };
        let chained = next.start_crc == Some(prev.end_crc)
            && matches!(prev.end, SegmentEnd::Eof | SegmentEnd::ZeroTail);
        let missing = next
            .name
            .seq
            .saturating_sub(prev.name.seq)
            .saturating_sub(1);
        let quirk = if prev.name.seq == 0 {
            " etcd does not check the sequence right after segment 0."
        } else {
            ""
        };
        let f = if chained {
            Finding {
                // Where the sequence breaks: the segment's first record.
                offset: Some(0),
                ordinal: Some(0),
                record_type: next.start_crc.map(|_| RecordType::Crc),
                ..Finding::new(
                    FindingKind::SegmentGap,
                    next.file.clone(),
                    k,
                    EtcdReaction::FatalOnOpen,
                    "wal: file not found",
                    format!(
                        "sequence jumps from {} ({}) to {} ({}) although the CRC chain continues: \
                         the segment was renamed out of sequence.{quirk}",
                        prev.name.seq, prev.file, next.name.seq, next.file
                    ),
                )
            }
        } else {
            let inferred = SegmentName {
                seq: prev.name.seq + 1,
                index: prev.last_index.map_or(prev.name.index, |i| i + 1),
            };
            Finding {
                index: prev.last_index.map(|i| i + 1),
                expected_crc: next.start_crc,
                actual_crc: Some(prev.end_crc),
                ..Finding::new(
                    FindingKind::MissingSegment,
                    inferred.file_name(),
                    k,
                    EtcdReaction::FatalOnOpen,
                    "wal: crc mismatch",
                    format!(
                        "{missing} segment(s) missing between {} and {} (first one probably {}); \
                         entries from index {} on are gone from that stretch.{quirk}",
                        prev.file,
                        next.file,
                        inferred.file_name(),
                        prev.last_index
                            .map_or("?".to_string(), |i| (i + 1).to_string())
                    ),
                )
            }
        };
        let at = scan
            .findings
            .iter()
            .position(|x| x.segment_pos >= k)
            .unwrap_or(scan.findings.len());
        scan.findings.insert(at, f);
    }
}

#[derive(Default)]
struct Scanner<'v> {
    visit: Option<&'v mut dyn FnMut(Event<'_>)>,
    /// Set by the caller to stop the pass early.
    interrupt: Option<&'v AtomicBool>,
    /// Findings already handed to `visit`.
    emitted: usize,
    out: Scan,
    crc: CrcChain,
    /// The running CRC is trustworthy (no unresynced damage since the last crc record).
    crc_trusted: bool,
    damaged: bool,
    /// After a resync the running CRC before the next record is unknown: take that
    /// record's stored CRC as the new chain value (as a fresh etcd decoder would).
    reseed_next: bool,
    metadata_bytes: Option<Vec<u8>>,
}

/// What the loop does after looking at one position.
enum Next {
    Continue(u64),
    Resync { from: u64 },
    Stop(SegmentEnd),
}

impl Scanner<'_> {
    fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed))
    }

    fn emit(&mut self, e: Event<'_>) {
        if let Some(v) = self.visit.as_mut() {
            v(e);
        }
    }

    fn flush_findings(&mut self) {
        while self.emitted < self.out.findings.len() {
            if let (Some(v), Some(f)) = (self.visit.as_mut(), self.out.findings.get(self.emitted)) {
                v(Event::Finding(f));
            }
            self.emitted += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_record(
        &mut self,
        pos: usize,
        file: &str,
        off: u64,
        ordinal: u64,
        frame_len: u64,
        rec: Record<'_>,
        entry: Option<EntryRef<'_>>,
        status: RecordStatus,
    ) {
        self.flush_findings();
        if let Some(v) = self.visit.as_mut() {
            v(Event::Record(RecordEvent {
                segment_pos: pos,
                segment: file,
                offset: off,
                ordinal,
                frame_len,
                record: rec,
                entry,
                status,
            }));
        }
    }

    fn segment(
        &mut self,
        pos: usize,
        is_last: bool,
        name: SegmentName,
        r: &mut SegmentReader,
    ) -> Result<(), Error> {
        let file = name.file_name();
        let mut seg = SegmentSummary {
            file: file.clone(),
            name,
            size: r.size(),
            records: 0,
            entries: 0,
            first_index: None,
            last_index: None,
            last_term: None,
            valid_offset: 0,
            data_end: 0,
            end: SegmentEnd::Eof,
            start_crc: None,
            end_crc: 0,
        };
        let mut off = 0u64;
        let mut ordinal = 0u64;
        let mut seg_damaged = false;
        loop {
            if self.interrupted() {
                break;
            }
            let step = self.step(
                pos,
                is_last,
                &file,
                r,
                off,
                ordinal,
                &mut seg,
                &mut seg_damaged,
            )?;
            match step {
                Next::Continue(next) => {
                    off = next;
                    ordinal += 1;
                }
                Next::Resync { from } => match self.resync(r, from)? {
                    Some(at) => {
                        if let Some(f) = self.out.findings.last_mut() {
                            f.resync_offset.get_or_insert(at);
                        }
                        off = at;
                        // Ordinals after a resync cannot be known for sure; count on.
                        ordinal += 1;
                    }
                    None => {
                        seg.end = SegmentEnd::Damaged;
                        break;
                    }
                },
                Next::Stop(end) => {
                    seg.end = end;
                    break;
                }
            }
        }
        seg.end_crc = self.crc.value();
        if !seg_damaged {
            seg.valid_offset = seg.data_end;
        }
        self.out.segments.push(seg);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        pos: usize,
        is_last: bool,
        file: &str,
        r: &mut SegmentReader,
        off: u64,
        ordinal: u64,
        seg: &mut SegmentSummary,
        seg_damaged: &mut bool,
    ) -> Result<Next, Error> {
        let remaining = r.remaining(off);
        if remaining == 0 {
            return Ok(Next::Stop(SegmentEnd::Eof));
        }
        let mut finding = |s: &mut Self, kind, reaction, etcd_error: &str, message: String| {
            let f = Finding {
                offset: Some(off),
                ordinal: Some(ordinal),
                ..Finding::new(kind, file.to_string(), pos, reaction, etcd_error, message)
            };
            if !*seg_damaged {
                seg.valid_offset = off;
            }
            *seg_damaged = true;
            s.mark_damaged();
            s.out.findings.push(f);
        };
        if remaining < LEN_WORD_BYTES {
            finding(
                self,
                FindingKind::TruncatedRecord,
                EtcdReaction::UnexpectedEof,
                "unexpected EOF",
                format!("file ends {remaining} bytes into a length word"),
            );
            return Ok(Next::Stop(SegmentEnd::Damaged));
        }
        let word = r.u64_le(off)?;
        if word == 0 {
            return match r.first_nonzero(off + LEN_WORD_BYTES)? {
                None => Ok(Next::Stop(SegmentEnd::ZeroTail)),
                Some(nz) => {
                    let after = self.count_after_zero_word(r, off, is_last)?;
                    finding(
                        self,
                        FindingKind::RecordsAfterEnd,
                        EtcdReaction::Silent,
                        "",
                        format!(
                            "zero length word ends the records, but non-zero data follows at \
                             offset {nz}{after}; etcd stops reading here and drops the rest"
                        ),
                    );
                    Ok(Next::Stop(SegmentEnd::ZeroWordWithData))
                }
            };
        }
        let frame = Frame::decode(word);
        let body_off = off + LEN_WORD_BYTES;
        let fits = frame.body_len() <= remaining - LEN_WORD_BYTES;
        if frame.exceeds_entry_limit() {
            finding(
                self,
                FindingKind::OversizedLength,
                EtcdReaction::Fatal,
                "wal: max entry size limit exceeded",
                format!(
                    "length word {word:#018x} asks for a {}-byte record ({} bytes left in the file)",
                    frame.rec_len,
                    remaining - LEN_WORD_BYTES
                ),
            );
            // The record after a damaged length word often survives: say what it was.
            let peek = (remaining - LEN_WORD_BYTES).min(4096) as usize;
            let (term, index, rtype) = salvage(r.bytes(body_off, peek)?);
            if let Some(f) = self.out.findings.last_mut() {
                f.frame_len = Some(frame.total_len());
                f.record_type = rtype;
                f.term = term;
                f.index = index;
            }
            return Ok(Next::Resync { from: body_off });
        }
        if !fits {
            let tail_len = (remaining - LEN_WORD_BYTES) as usize;
            let (term, index, rtype) = {
                let tail = r.bytes(body_off, tail_len)?;
                salvage(tail)
            };
            finding(
                self,
                FindingKind::TruncatedRecord,
                EtcdReaction::UnexpectedEof,
                "unexpected EOF",
                format!(
                    "frame needs {} bytes, only {} left in the file",
                    frame.total_len(),
                    remaining
                ),
            );
            if let Some(f) = self.out.findings.last_mut() {
                f.frame_len = Some(frame.total_len());
                f.record_type = rtype;
                f.term = term;
                f.index = index;
            }
            return Ok(Next::Resync { from: body_off });
        }
        let body_len = frame.body_len() as usize;
        let rec_len = frame.rec_len as usize;
        let body = r.bytes(body_off, body_len)?;
        let torn = is_last && torn::has_zero_sector(body, body_off);
        let rec_bytes = body.get(..rec_len).unwrap_or(&[]);
        let rec = match Record::decode(rec_bytes) {
            Ok(rec) => rec,
            Err(e) => {
                let (term, index, rtype) = salvage(rec_bytes);
                let (kind, reaction, etcd_error) = if torn {
                    (
                        FindingKind::TornWrite,
                        EtcdReaction::UnexpectedEof,
                        "unexpected EOF".to_string(),
                    )
                } else if e.is_unexpected_eof() {
                    (
                        FindingKind::TruncatedRecord,
                        EtcdReaction::UnexpectedEof,
                        "unexpected EOF".to_string(),
                    )
                } else {
                    (
                        FindingKind::InvalidRecord,
                        EtcdReaction::Fatal,
                        gogo_record_error(e),
                    )
                };
                let message = match kind {
                    FindingKind::TornWrite => format!(
                        "record does not decode ({e}) and holds an all-zero 512-byte sector: a torn write"
                    ),
                    _ => format!("record does not decode: {e}"),
                };
                finding(self, kind, reaction, &etcd_error, message);
                if let Some(f) = self.out.findings.last_mut() {
                    f.frame_len = Some(frame.total_len());
                    f.record_type = rtype;
                    f.term = term;
                    f.index = index;
                }
                return Ok(Next::Resync { from: body_off });
            }
        };
        let next = off + frame.total_len();
        let rtype = rec.record_type();
        let is_entry = rtype == Some(RecordType::Entry);
        let entry = if is_entry {
            EntryRef::decode(rec.data).ok()
        } else {
            None
        };
        let (term, index) = match entry {
            Some(e) => (Some(e.term), Some(e.index)),
            None if is_entry => EntryRef::salvage_header(rec.data),
            None => (None, None),
        };
        let reseeded = self.reseed_next && rtype != Some(RecordType::Crc);
        if reseeded {
            self.reseed_next = false;
            self.crc.reset(rec.crc);
        } else if rtype != Some(RecordType::Crc) {
            let stored = rec.crc;
            let computed = self.crc.update(rec.data);
            if computed != stored {
                let trusted = self.crc_trusted;
                let (kind, reaction, etcd_error, message) = if torn {
                    (
                        FindingKind::TornWrite,
                        EtcdReaction::UnexpectedEof,
                        "unexpected EOF",
                        format!(
                            "CRC mismatch (stored {stored:08x}, computed {computed:08x}) in a record \
                             holding an all-zero 512-byte sector: a torn write"
                        ),
                    )
                } else {
                    (
                        FindingKind::CrcMismatch,
                        EtcdReaction::Fatal,
                        "walpb: crc mismatch",
                        format!("CRC mismatch: stored {stored:08x}, computed {computed:08x}"),
                    )
                };
                let note = if trusted {
                    ""
                } else {
                    " (after earlier damage: the running CRC is not trusted)"
                };
                finding(self, kind, reaction, etcd_error, format!("{message}{note}"));
                if let Some(f) = self.out.findings.last_mut() {
                    f.frame_len = Some(frame.total_len());
                    f.record_type = rtype;
                    f.term = term;
                    f.index = index;
                    f.expected_crc = Some(stored);
                    f.actual_crc = Some(computed);
                }
                // Trust the stored CRC and read on: if the next records verify, only this
                // record is damaged.
                self.crc.reset(stored);
                self.crc_trusted = true;
                if torn {
                    // A torn record may hide a zeroed region that spans frames.
                    return Ok(Next::Resync { from: body_off });
                }
                self.emit_record(
                    pos,
                    file,
                    off,
                    ordinal,
                    frame.total_len(),
                    rec,
                    entry,
                    RecordStatus::CrcMismatch,
                );
                self.count_record(pos, seg, rtype, entry, true);
                seg.data_end = next;
                return Ok(Next::Continue(next));
            }
        }
        // The frame and CRC are good: type-specific checks (ReadAll / ValidSnapshotEntries).
        let mut payload_problem: Option<(FindingKind, EtcdReaction, String, String)> = None;
        match rtype {
            Some(RecordType::Crc) => {
                if seg.records == 0 {
                    seg.start_crc = Some(rec.crc);
                }
                let running = self.crc.value();
                if running != 0 && running != rec.crc {
                    let trusted = self.crc_trusted;
                    let why = if off == 0 && pos > 0 {
                        "the previous segment ends with a different running CRC"
                    } else {
                        "the running CRC differs"
                    };
                    let mut msg =
                        format!("crc record holds {:08x} but {why} ({running:08x})", rec.crc);
                    if !trusted {
                        msg.push_str(" (after earlier damage)");
                    }
                    payload_problem = Some((
                        FindingKind::ChainBreak,
                        EtcdReaction::Fatal,
                        "wal: crc mismatch".into(),
                        msg,
                    ));
                    if let Some((k, re, e, m)) = payload_problem.take() {
                        finding(self, k, re, &e, m);
                        if let Some(f) = self.out.findings.last_mut() {
                            f.frame_len = Some(frame.total_len());
                            f.record_type = rtype;
                            f.expected_crc = Some(rec.crc);
                            f.actual_crc = Some(running);
                        }
                    }
                }
                self.crc.reset(rec.crc);
                self.crc_trusted = true;
            }
            Some(RecordType::Entry) => {
                if entry.is_none() {
                    payload_problem = Some((
                        FindingKind::InvalidRecord,
                        EtcdReaction::Fatal,
                        "unmarshal should never fail".into(),
                        "CRC-valid entry record whose raftpb.Entry does not decode (etcd panics)"
                            .into(),
                    ));
                }
            }
            Some(RecordType::State) => match record::decode_hard_state(rec.data) {
                Ok(hs) => {
                    let at = HardStateAt {
                        term: hs.term,
                        vote: hs.vote,
                        commit: hs.commit,
                        segment_pos: pos,
                        offset: off,
                    };
                    if !self.damaged {
                        self.out.hard_state = Some(at);
                    }
                    self.out.last_hard_state = Some(at);
                }
                Err(e) => {
                    payload_problem = Some((
                        FindingKind::InvalidRecord,
                        EtcdReaction::Fatal,
                        "unmarshal should never fail".into(),
                        format!("CRC-valid state record does not decode ({})", e.message),
                    ))
                }
            },
            Some(RecordType::Snapshot) => match record::decode_snapshot(rec.data) {
                Ok(snap) => self.out.snapshots.push(SnapshotRecord {
                    index: snap.index,
                    term: snap.term,
                    has_conf_state: snap.conf_state.is_some(),
                    segment_pos: pos,
                    offset: off,
                    before_damage: !self.damaged,
                }),
                Err(e) => {
                    payload_problem = Some((
                        FindingKind::InvalidRecord,
                        EtcdReaction::Fatal,
                        "unmarshal should never fail".into(),
                        format!("CRC-valid snapshot record does not decode ({})", e.message),
                    ))
                }
            },
            Some(RecordType::Metadata) => match &self.metadata_bytes {
                None => {
                    self.metadata_bytes = Some(rec.data.to_vec());
                    self.out.metadata = record::decode_metadata(rec.data).ok();
                }
                Some(first) if first.as_slice() != rec.data => {
                    payload_problem = Some((
                        FindingKind::InvalidRecord,
                        EtcdReaction::FatalOnReplay,
                        "wal: conflicting metadata found".into(),
                        "metadata record differs from the first one".into(),
                    ))
                }
                Some(_) => {}
            },
            None => {
                payload_problem = Some((
                    FindingKind::InvalidRecord,
                    EtcdReaction::FatalOnReplay,
                    format!("unexpected block type {}", rec.raw_type),
                    format!("unknown record type {}", rec.raw_type),
                ))
            }
        }
        self.reseed_next = false;
        let damaged_record = payload_problem.is_some();
        if let Some((kind, reaction, etcd_error, message)) = payload_problem {
            finding(self, kind, reaction, &etcd_error, message);
            if let Some(f) = self.out.findings.last_mut() {
                f.frame_len = Some(frame.total_len());
                f.record_type = rtype;
                f.term = term;
                f.index = index;
            }
        }
        let status = if damaged_record {
            RecordStatus::Invalid
        } else if !self.damaged {
            RecordStatus::Verified
        } else if reseeded {
            RecordStatus::AfterDamageUnverified
        } else {
            RecordStatus::AfterDamageVerified
        };
        self.emit_record(
            pos,
            file,
            off,
            ordinal,
            frame.total_len(),
            rec,
            entry,
            status,
        );
        self.count_record(pos, seg, rtype, entry, damaged_record);
        seg.data_end = next;
        Ok(Next::Continue(next))
    }

    fn mark_damaged(&mut self) {
        if !self.damaged {
            self.damaged = true;
            self.out.beyond = Some(Beyond {
                resynchronised: false,
                intact: true,
                ..Beyond::default()
            });
        } else if let Some(b) = &mut self.out.beyond {
            b.intact = false;
        }
        self.crc_trusted = false;
    }

    /// Count a record; `is_damage` marks the damaged record itself (not "beyond" it).
    fn count_record(
        &mut self,
        pos: usize,
        seg: &mut SegmentSummary,
        rtype: Option<RecordType>,
        entry: Option<EntryRef<'_>>,
        is_damage: bool,
    ) {
        seg.records += 1;
        self.out.records += 1;
        let entry = entry.filter(|_| rtype == Some(RecordType::Entry));
        if self.damaged && !is_damage {
            if let Some(b) = &mut self.out.beyond {
                b.records += 1;
                if self.crc_trusted && !self.reseed_next {
                    b.resynchronised = true;
                }
                if let Some(e) = entry {
                    b.entries += 1;
                    b.first_index = Some(b.first_index.map_or(e.index, |f| f.min(e.index)));
                    b.last_index = Some(b.last_index.map_or(e.index, |l| l.max(e.index)));
                }
            }
        }
        let Some(e) = entry else { return };
        seg.entries += 1;
        self.out.entries += 1;
        seg.first_index = Some(seg.first_index.map_or(e.index, |f| f.min(e.index)));
        seg.last_index = Some(e.index);
        seg.last_term = Some(e.term);
        if !self.damaged {
            self.out.last_entry_before_damage = Some((e.index, e.term));
        }
        let before_damage = !self.damaged;
        let runs_full = self.out.runs.len() >= MAX_RUNS;
        match self.out.runs.last_mut() {
            Some(run)
                if run.last.checked_add(1) == Some(e.index)
                    && run.before_damage == before_damage
                    && run.segment_pos == pos =>
            {
                run.last = e.index;
                run.last_term = e.term;
            }
            _ if runs_full => self.out.runs_truncated = true,
            _ => self.out.runs.push(EntryRun {
                first: e.index,
                last: e.index,
                last_term: e.term,
                segment_pos: pos,
                before_damage,
            }),
        }
    }

    /// Find the next frame after damage that decodes and chains to the frame after it.
    fn resync(&mut self, r: &mut SegmentReader, from: u64) -> Result<Option<u64>, Error> {
        let mut off = from.div_ceil(8) * 8;
        let size = r.size();
        while off + LEN_WORD_BYTES <= size {
            let word = r.u64_le(off)?;
            if word == 0 {
                // Could be padding inside the damage or the preallocated tail: skip zeros fast.
                match r.first_nonzero(off)? {
                    None => return Ok(None),
                    Some(nz) => {
                        off = nz / 8 * 8;
                        // The non-zero byte may sit in a partial last word: no frame there.
                        if off + LEN_WORD_BYTES <= size && r.u64_le(off)? == 0 {
                            off += 8;
                        }
                        continue;
                    }
                }
            }
            if let Some(len) = plausible_frame(r, off)? {
                let rec_bytes = r.bytes(off + 8, len.rec_len as usize)?.to_vec();
                if let Ok(rec) = Record::decode(&rec_bytes) {
                    let next = off + len.total_len();
                    if chains_to_next(r, &rec, next)? {
                        // The chain value before this record is unknown: restart it as a
                        // fresh decoder would (0 for a crc record, else its stored CRC).
                        self.crc.reset(0);
                        self.reseed_next = true;
                        self.crc_trusted = true;
                        return Ok(Some(off));
                    }
                }
            }
            off += 8;
        }
        Ok(None)
    }

    fn count_after_zero_word(
        &mut self,
        r: &mut SegmentReader,
        zero_at: u64,
        _is_last: bool,
    ) -> Result<String, Error> {
        // Look for frames after the zero word, without touching the decoder state.
        let mut off = zero_at + 8;
        let mut records = 0u64;
        let mut entries = 0u64;
        let size = r.size();
        let mut found_start = false;
        while off + 8 <= size && records < 1_000_000 {
            let word = r.u64_le(off)?;
            if word == 0 {
                if found_start {
                    break;
                }
                match r.first_nonzero(off)? {
                    None => break,
                    Some(nz) => {
                        off = (nz / 8 * 8).max(off + 8);
                        continue;
                    }
                }
            }
            match plausible_frame(r, off)? {
                Some(f) => {
                    let rec_bytes = r.bytes(off + 8, f.rec_len as usize)?;
                    match Record::decode(rec_bytes) {
                        Ok(rec) if rec.record_type().is_some() => {
                            found_start = true;
                            records += 1;
                            if rec.record_type() == Some(RecordType::Entry) {
                                entries += 1;
                            }
                            off += f.total_len();
                        }
                        _ if found_start => break,
                        _ => off += 8,
                    }
                }
                None if found_start => break,
                None => off += 8,
            }
        }
        Ok(if records > 0 {
            format!(" (about {records} records, {entries} entries)")
        } else {
            String::new()
        })
    }
}

/// A length word that could start a frame at `off`: non-zero, sane top byte, fits.
fn plausible_frame(r: &mut SegmentReader, off: u64) -> Result<Option<Frame>, Error> {
    let word = r.u64_le(off)?;
    let top = (word >> 56) as u8;
    if word == 0 || !(top == 0 || (0x81..=0x87).contains(&top)) {
        return Ok(None);
    }
    let f = Frame::decode(word);
    if f.rec_len < 2 || f.exceeds_entry_limit() || Frame::for_record(f.rec_len) != f {
        return Ok(None);
    }
    if f.total_len() > r.remaining(off) {
        return Ok(None);
    }
    Ok(Some(f))
}

/// Whether the frame at `next` continues the chain from `rec` (or the stream ends there).
fn chains_to_next(r: &mut SegmentReader, rec: &Record<'_>, next: u64) -> Result<bool, Error> {
    if rec.record_type().is_none() {
        return Ok(false);
    }
    if r.remaining(next) < 8 || r.u64_le(next)? == 0 {
        // Last record before the end: accept only records whose type and payload decode.
        return Ok(match rec.record_type() {
            Some(RecordType::State) => record::decode_hard_state(rec.data).is_ok(),
            Some(RecordType::Entry) => EntryRef::decode(rec.data).is_ok(),
            Some(RecordType::Snapshot) => record::decode_snapshot(rec.data).is_ok(),
            _ => false,
        });
    }
    let Some(f) = plausible_frame(r, next)? else {
        return Ok(false);
    };
    let bytes = r.bytes(next + 8, f.rec_len as usize)?;
    let Ok(n) = Record::decode(bytes) else {
        return Ok(false);
    };
    Ok(match n.record_type() {
        Some(RecordType::Crc) => n.crc == rec.crc,
        Some(_) => crc::append(rec.crc, n.data) == n.crc,
        None => false,
    })
}

/// Record type and entry header still readable in a damaged record's bytes.
fn salvage(rec_bytes: &[u8]) -> (Option<u64>, Option<u64>, Option<RecordType>) {
    let rtype = crate::wire::Fields::lenient(rec_bytes)
        .next()
        .ok()
        .flatten()
        .and_then(|(field, v)| match (field, v) {
            (1, crate::wire::Value::Varint(t)) => RecordType::from_raw(t as i64),
            _ => None,
        });
    let (term, index) = record::salvage_entry_header(rec_bytes);
    (term, index, rtype)
}

/// gogo's message for a `walpb.Record` decode failure.
fn gogo_record_error(e: WireError) -> String {
    match e {
        WireError::IllegalTag { field, tag } => {
            format!("proto: Record: illegal tag {field} (wire type {tag})")
        }
        WireError::WrongWireType { field, wire_type } => {
            let name = match field {
                1 => "Type",
                2 => "Crc",
                _ => "Data",
            };
            format!("proto: wrong wireType = {wire_type} for field {name}")
        }
        WireError::InvalidWireType { wire_type: 4 } => {
            "proto: Record: wiretype end group for non-group".to_string()
        }
        other => other.to_string(),
    }
}

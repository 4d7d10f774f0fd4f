//! The segment loop: one reader per segment, the decoder state carried across segments,
//! findings handed to the observer before the record they concern.

use std::sync::atomic::{AtomicBool, Ordering};

use etcd_proto::RaftPos;

use super::event::{Event, RecordEvent, RecordStatus};
use super::salvage::{chains_to_next, plausible_frame};
use super::sequence::sequence_findings;
use super::{Beyond, EntryRun, MAX_RUNS, Scan, SegmentEnd, SegmentSummary};
use crate::crc::CrcChain;
use crate::error::Error;
use crate::finding::{EtcdReaction, Finding, FindingBuilder, FindingKind};
use crate::frame::LEN_WORD_BYTES;
use crate::location::WalLocation;
use crate::reader::SegmentReader;
use crate::record::{EntryRef, Record, RecordType};
use crate::segment::{SegmentName, WalDir};

/// The pass over every segment of `dir`.
pub(super) fn run(
    dir: WalDir,
    visit: &mut dyn FnMut(Event<'_>),
    should_interrupt: &AtomicBool,
) -> Result<Scan, Error> {
    let mut s = Scanner {
        visit: Some(visit),
        interrupt: Some(should_interrupt),
        ..Scanner::default()
    };
    s.out.dir = dir.clone();
    let last = dir.segments.len().saturating_sub(1);
    for (pos, seg) in dir.segments.iter().enumerate() {
        if s.interrupted() {
            break;
        }
        let mut reader = SegmentReader::open(&seg.path)?;
        s.emit(Event::SegmentStart {
            pos,
            name: seg.name,
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

/// The record being looked at: where it is and what kind of segment holds it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor {
    /// Where the record (its length word) is.
    pub(super) at: WalLocation,
    /// Whether the segment is the last one (etcd's torn-write rule applies only there).
    pub(super) is_last: bool,
}

/// One segment's summary while it is read, and whether damage was met in it.
pub(super) struct SegState {
    pub(super) summary: SegmentSummary,
    pub(super) damaged: bool,
}

#[derive(Default)]
pub(super) struct Scanner<'v> {
    visit: Option<&'v mut dyn FnMut(Event<'_>)>,
    /// Set by the caller to stop the pass early.
    interrupt: Option<&'v AtomicBool>,
    /// Findings already handed to `visit`.
    emitted: usize,
    pub(super) out: Scan,
    pub(super) crc: CrcChain,
    /// The running CRC is trustworthy (no unresynced damage since the last crc record).
    pub(super) crc_trusted: bool,
    pub(super) damaged: bool,
    /// After a resync the running CRC before the next record is unknown: take that
    /// record's stored CRC as the new chain value (as a fresh etcd decoder would).
    pub(super) reseed_next: bool,
    pub(super) metadata_bytes: Option<Vec<u8>>,
}

/// What the loop does after looking at one position.
pub(super) enum Next {
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

    /// Record one piece of damage met at `cur` in `seg`: the one place findings are made
    /// while reading a segment.
    pub(super) fn report(&mut self, cur: &Cursor, seg: &mut SegState, f: FindingBuilder) {
        if !seg.damaged {
            seg.summary.valid_offset = cur.at.offset;
        }
        seg.damaged = true;
        self.mark_damaged();
        self.out.findings.push(f.build());
    }

    /// Hand a record to the observer (after the findings that concern it).
    pub(super) fn emit_record(
        &mut self,
        at: WalLocation,
        frame_len: u64,
        record: Record<'_>,
        entry: Option<EntryRef<'_>>,
        status: RecordStatus,
    ) {
        self.flush_findings();
        if let Some(v) = self.visit.as_mut() {
            v(Event::Record(RecordEvent {
                at,
                frame_len,
                record,
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
        let mut seg = SegState {
            summary: SegmentSummary {
                file: name.file_name(),
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
            },
            damaged: false,
        };
        let mut cur = Cursor {
            at: WalLocation {
                segment: name,
                segment_pos: pos,
                offset: 0,
                ordinal: 0,
            },
            is_last,
        };
        loop {
            if self.interrupted() {
                break;
            }
            match self.step(&cur, r, &mut seg)? {
                Next::Continue(next) => {
                    cur.at.offset = next;
                    cur.at.ordinal += 1;
                }
                Next::Resync { from } => match self.resync(r, from)? {
                    Some(at) => {
                        if let Some(f) = self.out.findings.last_mut() {
                            f.resync_offset.get_or_insert(at);
                        }
                        cur.at.offset = at;
                        // Ordinals after a resync cannot be known for sure; count on.
                        cur.at.ordinal += 1;
                    }
                    None => {
                        seg.summary.end = SegmentEnd::Damaged;
                        break;
                    }
                },
                Next::Stop(end) => {
                    seg.summary.end = end;
                    break;
                }
            }
        }
        if seg.summary.records == 0 && !seg.damaged && !self.interrupted() {
            self.empty_segment(&cur, &mut seg);
        }
        seg.summary.end_crc = self.crc.value();
        if !seg.damaged {
            seg.summary.valid_offset = seg.summary.data_end;
        }
        self.out.segments.push(seg.summary);
        Ok(())
    }

    /// A segment without a single record: etcd creates every segment with a crc, a
    /// metadata and a state record at its head (`wal.go` `cut`, `Create`), so what it held
    /// is gone. etcd's decoder sees the end of the segment at once and does not notice.
    fn empty_segment(&mut self, cur: &Cursor, seg: &mut SegState) {
        let at = WalLocation {
            offset: 0,
            ordinal: 0,
            ..cur.at
        };
        let what = if seg.summary.size == 0 {
            "is empty (0 bytes)".to_owned()
        } else {
            format!("holds only zeros ({} bytes)", seg.summary.size)
        };
        let first = seg.summary.name.index;
        let f = Finding::builder(FindingKind::EmptySegment, at, EtcdReaction::Silent)
            .record(None, Some(first), None)
            .message(format!(
                "segment {what}: etcd writes a crc, a metadata and a state record at the head of \
                 every segment, so its records and every entry it held (from index {first} on, \
                 by its name) are gone; etcd does not notice and reads it as ending at once"
            ));
        self.report(&Cursor { at, ..*cur }, seg, f);
    }

    pub(super) fn mark_damaged(&mut self) {
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
    pub(super) fn count_record(
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
            self.out.last_entry_before_damage = Some(RaftPos::new(e.index, e.term));
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
    pub(super) fn resync(
        &mut self,
        r: &mut SegmentReader,
        from: u64,
    ) -> Result<Option<u64>, Error> {
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

    pub(super) fn count_after_zero_word(
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

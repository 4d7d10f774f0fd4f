//! One position of a segment, decoded as etcd's decoder does (`wal/decoder.go`
//! `decodeRecord`), in four stages: the frame (length word, size limit, fit), the record
//! protobuf, the chained CRC, then the checks `ReadAll` and `ValidSnapshotEntries` make per
//! record type. Each stage either hands on or ends the position with a [`Next`]; damage is
//! reported through [`Scanner::report`] only.

use super::event::RecordStatus;
use super::salvage::{gogo_record_error, salvage};
use super::scanner::{Cursor, Next, Scanner, SegState};
use super::{HardStateAt, SegmentEnd, SnapshotRecord};
use crate::error::Error;
use crate::finding::{EtcdReaction, Finding, FindingKind};
use crate::frame::{Frame, LEN_WORD_BYTES};
use crate::reader::SegmentReader;
use crate::record::{self, EntryRef, Record, RecordType};
use crate::torn;
use etcd_proto::RaftPos;

/// A frame whose record bytes are in the buffer.
struct Framed {
    frame: Frame,
    body_off: u64,
    /// The record holds an all-zero 512-byte sector (last segment only): etcd calls such a
    /// record torn.
    torn: bool,
}

/// A record that decoded, with what its bytes say.
struct Decoded<'a> {
    rec: Record<'a>,
    rtype: Option<RecordType>,
    entry: Option<EntryRef<'a>>,
    index: Option<u64>,
    term: Option<u64>,
}

/// Damage found by a type check: (kind, reaction, etcd's error, message).
type Problem = (FindingKind, EtcdReaction, String, String);

impl Scanner<'_> {
    /// Look at the frame at `cur`.
    pub(super) fn step(
        &mut self,
        cur: &Cursor,
        r: &mut SegmentReader,
        seg: &mut SegState,
    ) -> Result<Next, Error> {
        let framed = match self.frame_step(cur, r, seg)? {
            Ok(f) => f,
            Err(next) => return Ok(next),
        };
        let body = r.bytes(framed.body_off, framed.frame.body_len() as usize)?;
        let rec_bytes = body.get(..framed.frame.rec_len as usize).unwrap_or(&[]);
        let rec = match Record::decode(rec_bytes) {
            Ok(rec) => rec,
            Err(e) => {
                let (term, index, rtype) = salvage(rec_bytes);
                let (kind, reaction, etcd_error, message) = if framed.torn {
                    (
                        FindingKind::TornWrite,
                        EtcdReaction::UnexpectedEof,
                        "unexpected EOF".to_string(),
                        format!(
                            "record does not decode ({e}) and holds an all-zero 512-byte sector: a torn write"
                        ),
                    )
                } else if e.is_unexpected_eof() {
                    (
                        FindingKind::TruncatedRecord,
                        EtcdReaction::UnexpectedEof,
                        "unexpected EOF".to_string(),
                        format!("record does not decode: {e}"),
                    )
                } else {
                    (
                        FindingKind::InvalidRecord,
                        EtcdReaction::Fatal,
                        gogo_record_error(e),
                        format!("record does not decode: {e}"),
                    )
                };
                let f = Finding::builder(kind, cur.at, reaction)
                    .etcd_error(etcd_error)
                    .message(message)
                    .frame_len(framed.frame.total_len())
                    .record(rtype, index, term);
                self.report(cur, seg, f);
                return Ok(Next::Resync {
                    from: framed.body_off,
                });
            }
        };
        let d = decoded(rec);
        let next = cur.at.offset + framed.frame.total_len();
        let reseeded = match self.crc_step(cur, seg, &framed, &d)? {
            Ok(reseeded) => reseeded,
            Err(next) => return Ok(next),
        };
        let problem = self.type_checks(cur, seg, &framed, &d);
        self.reseed_next = false;
        let damaged_record = problem.is_some();
        if let Some((kind, reaction, etcd_error, message)) = problem {
            let f = Finding::builder(kind, cur.at, reaction)
                .etcd_error(etcd_error)
                .message(message)
                .frame_len(framed.frame.total_len())
                .record(d.rtype, d.index, d.term);
            self.report(cur, seg, f);
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
        self.emit_record(cur.at, framed.frame.total_len(), d.rec, d.entry, status);
        self.count_record(
            cur.at.segment_pos,
            &mut seg.summary,
            d.rtype,
            d.entry,
            damaged_record,
        );
        seg.summary.data_end = next;
        Ok(Next::Continue(next))
    }

    /// The length word and the frame it announces: the end of the records, a size beyond
    /// etcd's limit, a frame that does not fit the file, or a frame to decode.
    fn frame_step(
        &mut self,
        cur: &Cursor,
        r: &mut SegmentReader,
        seg: &mut SegState,
    ) -> Result<Result<Framed, Next>, Error> {
        let off = cur.at.offset;
        let remaining = r.remaining(off);
        if remaining == 0 {
            return Ok(Err(Next::Stop(SegmentEnd::Eof)));
        }
        if remaining < LEN_WORD_BYTES {
            let f = Finding::builder(
                FindingKind::TruncatedRecord,
                cur.at,
                EtcdReaction::UnexpectedEof,
            )
            .etcd_error("unexpected EOF")
            .message(format!("file ends {remaining} bytes into a length word"));
            self.report(cur, seg, f);
            return Ok(Err(Next::Stop(SegmentEnd::Damaged)));
        }
        let word = r.u64_le(off)?;
        if word == 0 {
            return Ok(Err(match r.first_nonzero(off + LEN_WORD_BYTES)? {
                None => Next::Stop(SegmentEnd::ZeroTail),
                Some(nz) => {
                    let after = self.count_after_zero_word(r, off, cur.is_last)?;
                    let f = Finding::builder(
                        FindingKind::RecordsAfterEnd,
                        cur.at,
                        EtcdReaction::Silent,
                    )
                    .message(format!(
                        "zero length word ends the records, but non-zero data follows at \
                         offset {nz}{after}; etcd stops reading here and drops the rest"
                    ));
                    self.report(cur, seg, f);
                    Next::Stop(SegmentEnd::ZeroWordWithData)
                }
            }));
        }
        let frame = Frame::decode(word);
        let body_off = off + LEN_WORD_BYTES;
        let left = remaining - LEN_WORD_BYTES;
        if frame.exceeds_entry_limit() {
            // The record after a damaged length word often survives: say what it was.
            let peek = left.min(4096) as usize;
            let (term, index, rtype) = salvage(r.bytes(body_off, peek)?);
            let f = Finding::builder(FindingKind::OversizedLength, cur.at, EtcdReaction::Fatal)
                .etcd_error("wal: max entry size limit exceeded")
                .message(format!(
                    "length word {word:#018x} asks for a {}-byte record ({left} bytes left in the file)",
                    frame.rec_len
                ))
                .frame_len(frame.total_len())
                .record(rtype, index, term);
            self.report(cur, seg, f);
            return Ok(Err(Next::Resync { from: body_off }));
        }
        if frame.body_len() > left {
            let (term, index, rtype) = salvage(r.bytes(body_off, left as usize)?);
            let f = Finding::builder(
                FindingKind::TruncatedRecord,
                cur.at,
                EtcdReaction::UnexpectedEof,
            )
            .etcd_error("unexpected EOF")
            .message(format!(
                "frame needs {} bytes, only {remaining} left in the file",
                frame.total_len()
            ))
            .frame_len(frame.total_len())
            .record(rtype, index, term);
            self.report(cur, seg, f);
            return Ok(Err(Next::Resync { from: body_off }));
        }
        let body = r.bytes(body_off, frame.body_len() as usize)?;
        let torn = cur.is_last && torn::has_zero_sector(body, body_off);
        Ok(Ok(Framed {
            frame,
            body_off,
            torn,
        }))
    }

    /// The chained CRC (every record but a crc record). `Ok(Ok(reseeded))` to go on
    /// (`reseeded`: the chain restarted at this record after a resync, so nothing vouched
    /// for it); `Ok(Err(next))` when a CRC mismatch ended the position.
    fn crc_step(
        &mut self,
        cur: &Cursor,
        seg: &mut SegState,
        framed: &Framed,
        d: &Decoded<'_>,
    ) -> Result<Result<bool, Next>, Error> {
        if d.rtype == Some(RecordType::Crc) {
            return Ok(Ok(false));
        }
        if self.reseed_next {
            self.reseed_next = false;
            self.crc.reset(d.rec.crc);
            return Ok(Ok(true));
        }
        let stored = d.rec.crc;
        let computed = self.crc.update(d.rec.data);
        if computed == stored {
            return Ok(Ok(false));
        }
        let (kind, reaction, etcd_error, message) = if framed.torn {
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
        let note = if self.crc_trusted {
            ""
        } else {
            " (after earlier damage: the running CRC is not trusted)"
        };
        let f = Finding::builder(kind, cur.at, reaction)
            .etcd_error(etcd_error)
            .message(format!("{message}{note}"))
            .frame_len(framed.frame.total_len())
            .record(d.rtype, d.index, d.term)
            .crc(Some(stored), Some(computed));
        self.report(cur, seg, f);
        // Trust the stored CRC and read on: if the next records verify, only this record
        // is damaged.
        self.crc.reset(stored);
        self.crc_trusted = true;
        if framed.torn {
            // A torn record may hide a zeroed region that spans frames.
            return Ok(Err(Next::Resync {
                from: framed.body_off,
            }));
        }
        self.emit_record(
            cur.at,
            framed.frame.total_len(),
            d.rec,
            d.entry,
            RecordStatus::CrcMismatch,
        );
        self.count_record(cur.at.segment_pos, &mut seg.summary, d.rtype, d.entry, true);
        let next = cur.at.offset + framed.frame.total_len();
        seg.summary.data_end = next;
        Ok(Err(Next::Continue(next)))
    }

    /// The frame and CRC are good: what `ReadAll` / `ValidSnapshotEntries` check per record
    /// type. Records the HardState, snapshot records and the metadata on the way.
    fn type_checks(
        &mut self,
        cur: &Cursor,
        seg: &mut SegState,
        framed: &Framed,
        d: &Decoded<'_>,
    ) -> Option<Problem> {
        let unmarshal = |what: &str, why: String| {
            Some((
                FindingKind::InvalidRecord,
                EtcdReaction::Fatal,
                "unmarshal should never fail".to_string(),
                format!("CRC-valid {what} record does not decode ({why})"),
            ))
        };
        let rec = &d.rec;
        match d.rtype {
            Some(RecordType::Crc) => {
                if seg.summary.records == 0 {
                    seg.summary.start_crc = Some(rec.crc);
                }
                let running = self.crc.value();
                let problem = (running != 0 && running != rec.crc).then(|| {
                    let why = if cur.at.offset == 0 && cur.at.segment_pos > 0 {
                        "the previous segment ends with a different running CRC"
                    } else {
                        "the running CRC differs"
                    };
                    let mut msg =
                        format!("crc record holds {:08x} but {why} ({running:08x})", rec.crc);
                    if !self.crc_trusted {
                        msg.push_str(" (after earlier damage)");
                    }
                    msg
                });
                if let Some(msg) = problem {
                    let f = Finding::builder(FindingKind::ChainBreak, cur.at, EtcdReaction::Fatal)
                        .etcd_error("wal: crc mismatch")
                        .message(msg)
                        .record(d.rtype, None, None)
                        .crc(Some(rec.crc), Some(running))
                        .frame_len(framed.frame.total_len());
                    self.report(cur, seg, f);
                }
                self.crc.reset(rec.crc);
                self.crc_trusted = true;
                None
            }
            Some(RecordType::Entry) => d.entry.is_none().then(|| {
                (
                    FindingKind::InvalidRecord,
                    EtcdReaction::Fatal,
                    "unmarshal should never fail".to_string(),
                    "CRC-valid entry record whose raftpb.Entry does not decode (etcd panics)"
                        .to_string(),
                )
            }),
            Some(RecordType::State) => match record::decode_hard_state(rec.data) {
                Ok(hs) => {
                    let at = HardStateAt {
                        term: hs.term,
                        vote: hs.vote,
                        commit: hs.commit,
                        at: cur.at,
                    };
                    if !self.damaged {
                        self.out.hard_state = Some(at);
                    }
                    self.out.last_hard_state = Some(at);
                    None
                }
                Err(e) => unmarshal("state", e.to_string()),
            },
            Some(RecordType::Snapshot) => match record::decode_snapshot(rec.data) {
                Ok(snap) => {
                    self.out.snapshots.push(SnapshotRecord {
                        pos: RaftPos::new(snap.index, snap.term),
                        has_conf_state: snap.conf_state.is_some(),
                        at: cur.at,
                        before_damage: !self.damaged,
                    });
                    None
                }
                Err(e) => unmarshal("snapshot", e.to_string()),
            },
            Some(RecordType::Metadata) => match &self.metadata_bytes {
                None => {
                    self.metadata_bytes = Some(rec.data.to_vec());
                    self.out.metadata = record::decode_metadata(rec.data).ok();
                    None
                }
                Some(first) if first.as_slice() != rec.data => Some((
                    FindingKind::InvalidRecord,
                    EtcdReaction::FatalOnReplay,
                    "wal: conflicting metadata found".to_string(),
                    "metadata record differs from the first one".to_string(),
                )),
                Some(_) => None,
            },
            None => Some((
                FindingKind::InvalidRecord,
                EtcdReaction::FatalOnReplay,
                format!("unexpected block type {}", rec.raw_type),
                format!("unknown record type {}", rec.raw_type),
            )),
        }
    }
}

/// Type, entry and entry header of a record that decoded.
fn decoded(rec: Record<'_>) -> Decoded<'_> {
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
    Decoded {
        rec,
        rtype,
        entry,
        index,
        term,
    }
}

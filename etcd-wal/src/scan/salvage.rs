//! What can still be read out of damaged bytes, and how a resync recognises a frame.

use crate::crc;
use crate::error::Error;
use crate::frame::Frame;
use crate::reader::SegmentReader;
use crate::record::{self, EntryRef, Record, RecordType};
use crate::wire::WireError;

/// A length word that could start a frame at `off`: non-zero, sane top byte, fits.
pub(super) fn plausible_frame(r: &mut SegmentReader, off: u64) -> Result<Option<Frame>, Error> {
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
pub(super) fn chains_to_next(
    r: &mut SegmentReader,
    rec: &Record<'_>,
    next: u64,
) -> Result<bool, Error> {
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
pub(super) fn salvage(rec_bytes: &[u8]) -> (Option<u64>, Option<u64>, Option<RecordType>) {
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
pub(super) fn gogo_record_error(e: WireError) -> String {
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

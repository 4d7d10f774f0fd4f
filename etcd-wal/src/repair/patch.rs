//! The fix plan: the first damaged record's one flipped byte, located from the CRC
//! syndrome ([`super::fix::single_byte_fixes`]), as a single-byte patch. Accepted only when
//! exactly one candidate exists, the record then decodes and every following record
//! verifies.

use super::FileChange;
use super::collect::Collected;
use super::fix;
use crate::finding::FindingKind;
use crate::reader::SegmentReader;
use crate::record::{self, Record, RecordType};
use crate::scan::Scan;

/// A single-byte fix of the first damaged record, or why not.
pub(super) fn try_fix(scan: &Scan, c: &Collected) -> Result<FileChange, String> {
    let [first] = scan.findings.as_slice() else {
        return Err(format!(
            "{} findings (a fix repairs exactly one damaged record)",
            scan.findings.len()
        ));
    };
    if first.kind != FindingKind::CrcMismatch {
        return Err(format!(
            "the damage is {}, not a CRC mismatch inside a record's data{}",
            first.kind,
            match first.kind {
                FindingKind::OversizedLength
                | FindingKind::TruncatedRecord
                | FindingKind::TornWrite => " (a damaged length word lies outside the CRC)",
                _ => "",
            }
        ));
    }
    if !scan.beyond.is_some_and(|b| b.intact) {
        return Err("the records after the damage do not all verify".into());
    }
    let site = c
        .fix_site
        .as_ref()
        .filter(|s| (s.pos, s.offset) == first.at.key())
        .ok_or("the damaged record could not be read back")?;
    let seg = scan.dir.segments.get(site.pos).ok_or("segment vanished")?;
    let mut r = SegmentReader::open(&seg.path).map_err(|e| e.to_string())?;
    let word = r.u64_le(site.offset).map_err(|e| e.to_string())?;
    let frame = crate::frame::Frame::decode(word);
    let rec_len = usize::try_from(frame.rec_len).map_err(|e| e.to_string())?;
    let rec_bytes = r
        .bytes(site.offset + 8, rec_len)
        .map_err(|e| e.to_string())?
        .to_vec();
    let rec = Record::decode(&rec_bytes).map_err(|e| e.to_string())?;
    if rec.crc != site.stored || rec.raw_type != site.raw_type {
        return Err("the damaged record changed while planning".into());
    }
    // data is the last field etcd writes: it ends the record.
    let data_start = rec_bytes.len().saturating_sub(rec.data.len());
    if rec_bytes.get(data_start..) != Some(rec.data) {
        return Err("the record's data field is not where etcd writes it".into());
    }
    let fixes = fix::single_byte_fixes(site.prev_crc, rec.data, site.stored, 2);
    let fx = match fixes.as_slice() {
        [] => {
            return Err(
                "no single changed byte explains the CRC mismatch (more than one byte is damaged)"
                    .into(),
            );
        }
        [one] => *one,
        _ => return Err("more than one single-byte change matches the CRC: ambiguous".into()),
    };
    let mut data = rec.data.to_vec();
    let old = *data.get(fx.pos).ok_or("fix position out of range")?;
    let new = old ^ fx.xor;
    if let Some(b) = data.get_mut(fx.pos) {
        *b = new;
    }
    // The fixed record must decode as its type.
    let decodes = match RecordType::from_raw(rec.raw_type) {
        Some(RecordType::Entry) => record::EntryRef::decode(&data).is_ok(),
        Some(RecordType::State) => record::decode_hard_state(&data).is_ok(),
        Some(RecordType::Snapshot) => record::decode_snapshot(&data).is_ok(),
        Some(RecordType::Metadata) => record::decode_metadata(&data).is_ok(),
        _ => false,
    };
    if !decodes {
        return Err("the only matching change leaves a record that does not decode".into());
    }
    if crate::crc::append(site.prev_crc, &data) != site.stored {
        return Err("internal: fix does not match".into());
    }
    let offset = site.offset + 8 + (data_start + fx.pos) as u64;
    Ok(FileChange::Patch {
        path: seg.path.clone(),
        size: seg.size,
        offset,
        old,
        new,
    })
}

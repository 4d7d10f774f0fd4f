//! Gaps in the segments' sequence numbers, judged after the pass: a missing segment when
//! the CRC chain breaks across the gap, a renamed one (`segment_gap`) when it continues
//! (etcd `wal.go` `openAtIndex` → `isValidSeq`: "wal: file not found").

use super::{Scan, SegmentEnd};
use crate::finding::{EtcdReaction, Finding, FindingKind};
use crate::location::WalLocation;
use crate::record::RecordType;
use crate::segment::SegmentName;

/// Insert a finding for each gap in the sequence numbers, in stream order.
pub(super) fn sequence_findings(scan: &mut Scan) {
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
            // Where the sequence breaks: the segment's first record.
            let at = WalLocation {
                segment: next.name,
                segment_pos: k,
                offset: 0,
                ordinal: 0,
            };
            Finding::builder(FindingKind::SegmentGap, at, EtcdReaction::FatalOnOpen)
                .etcd_error("wal: file not found")
                .record(next.start_crc.map(|_| RecordType::Crc), None, None)
                .message(format!(
                    "sequence jumps from {} ({}) to {} ({}) although the CRC chain continues: \
                     the segment was renamed out of sequence.{quirk}",
                    prev.name.seq, prev.file, next.name.seq, next.file
                ))
                .build()
        } else {
            let inferred = SegmentName {
                seq: prev.name.seq + 1,
                index: prev.last_index.map_or(prev.name.index, |i| i + 1),
            };
            let at = WalLocation {
                segment: inferred,
                segment_pos: k,
                offset: 0,
                ordinal: 0,
            };
            Finding::builder(FindingKind::MissingSegment, at, EtcdReaction::FatalOnOpen)
                .etcd_error("wal: crc mismatch")
                .record(None, prev.last_index.map(|i| i + 1), None)
                .crc(next.start_crc, Some(prev.end_crc))
                .message(format!(
                    "{missing} segment(s) missing between {} and {} (first one probably {}); \
                     entries from index {} on are gone from that stretch.{quirk}",
                    prev.file,
                    next.file,
                    inferred.file_name(),
                    prev.last_index
                        .map_or("?".to_string(), |i| (i + 1).to_string())
                ))
                .build()
        };
        let at = scan
            .findings
            .iter()
            .position(|x| x.at.segment_pos >= k)
            .unwrap_or(scan.findings.len());
        scan.findings.insert(at, f);
    }
}

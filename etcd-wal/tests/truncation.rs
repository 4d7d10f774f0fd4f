//! A segment truncated at every offset: a torn tail etcd repairs.

mod common;

use common::*;
use etcd_wal::FindingKind;
use etcd_wal::predict::{self, Context, Outcome};

#[test]
fn truncation_at_every_offset() {
    let built = build(12, None);
    let dir = tempfile::tempdir().unwrap();
    for len in 1..built.end {
        let scan = scan_bytes(dir.path(), &[(SEG0, &built.bytes[..len as usize])]);
        let boundary = built.offsets.contains(&len);
        let seg = &scan.segments[0];
        if boundary {
            assert!(scan.findings.is_empty(), "len {len}: {:?}", scan.findings);
            assert_eq!(seg.valid_offset, len);
            continue;
        }
        let rec = record_at(&built.offsets, built.end, len);
        let at = built.offsets[rec];
        assert_eq!(scan.findings.len(), 1, "len {len}: {:?}", scan.findings);
        let f = &scan.findings[0];
        assert_eq!(f.kind, FindingKind::TruncatedRecord, "len {len}");
        assert_eq!(f.at.offset, at, "len {len}");
        assert_eq!(f.at.ordinal, rec as u64, "len {len}");
        assert_eq!(seg.valid_offset, at, "len {len}");
        if let Some(&(_, index, term)) = built.entries.iter().find(|e| e.0 == at) {
            // The entry header survives once the first bytes of the record are there.
            if len >= at + 8 + 17 {
                assert_eq!((f.index, f.term), (Some(index), Some(term)), "len {len}");
            }
        }
        let p = predict::predict(&scan, &Context::default());
        assert_eq!(p.outcome, Outcome::RepairsTail, "len {len}");
        assert_eq!(
            p.repair.as_ref().map(|r| r.truncate_at),
            Some(at),
            "len {len}"
        );
    }
}

#[test]
fn clean_and_preallocated_segments_have_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(12, None);
    let scan = scan_bytes(dir.path(), &[(SEG0, &built.bytes)]);
    assert!(scan.findings.is_empty());
    assert_eq!(scan.entries, 12);
    assert_eq!(scan.segments[0].last_index, Some(12));
    let built = build(12, Some(1 << 20));
    let scan = scan_bytes(dir.path(), &[(SEG0, &built.bytes)]);
    assert!(scan.findings.is_empty());
    assert_eq!(scan.segments[0].valid_offset, built.end);
    assert_eq!(
        predict::predict(&scan, &Context::default()).outcome,
        Outcome::Starts
    );
}

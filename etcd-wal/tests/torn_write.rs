//! Every 512-byte sector of the last segment zeroed: a torn write etcd repairs, or a
//! zero length word that silently ends the log.

mod common;

use common::*;
use etcd_wal::FindingKind;
use etcd_wal::predict::{self, Context, Outcome};

#[test]
fn every_sector_zeroed() {
    let built = build(40, Some(64 * 1024));
    let dir = tempfile::tempdir().unwrap();
    let sectors = built.end.div_ceil(512);
    for s in 0..sectors {
        let from = s * 512;
        let mut bytes = built.bytes.clone();
        bytes[from as usize..(from + 512) as usize].fill(0);
        if bytes == built.bytes {
            continue;
        }
        let scan = scan_bytes(dir.path(), &[(SEG0, &bytes)]);
        let rec = record_at(&built.offsets, built.end, from);
        let at = built.offsets[rec];
        let f = scan
            .findings
            .first()
            .unwrap_or_else(|| panic!("sector {s}: no finding"));
        assert_eq!(f.at.offset, at, "sector {s}: {f:?}");
        assert_eq!(f.at.ordinal, rec as u64, "sector {s}");
        assert_eq!(scan.segments[0].valid_offset, at, "sector {s}");
        let p = predict::predict(&scan, &Context::default());
        if at == from {
            // The length word itself is zero: etcd stops there without a word.
            if built.end > from + 512 {
                assert_eq!(f.kind, FindingKind::RecordsAfterEnd, "sector {s}");
            }
            assert_eq!(p.outcome, Outcome::Starts, "sector {s}");
        } else {
            assert_eq!(f.kind, FindingKind::TornWrite, "sector {s}: {f:?}");
            assert_eq!(p.outcome, Outcome::RepairsTail, "sector {s}");
            assert_eq!(p.repair.unwrap().truncate_at, at, "sector {s}");
        }
    }
}

#[test]
fn zeroed_sector_in_a_middle_segment_is_a_crc_mismatch() {
    // Torn-write detection applies to the last segment only.
    let a = build(40, None);
    let mut first = a.bytes.clone();
    let from = 1024usize;
    first[from..from + 512].fill(0);
    let rec = record_at(&a.offsets, a.end, from as u64);
    let at = a.offsets[rec];
    let dir = tempfile::tempdir().unwrap();
    let mut b = etcd_wal::writer::SegmentBuilder::new(0x1111);
    b.metadata(0x1234, 0x5678);
    let second = b.finish(Some(4096));
    let scan = scan_bytes(
        dir.path(),
        &[
            (SEG0, &first),
            ("0000000000000001-0000000000000029.wal", &second),
        ],
    );
    let f = &scan.findings[0];
    assert_eq!(f.at.offset, at);
    assert_ne!(f.kind, FindingKind::TornWrite);
    let p = predict::predict(&scan, &Context::default());
    assert_eq!(p.outcome, Outcome::Refuses);
}

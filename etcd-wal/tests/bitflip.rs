//! Every bit of one entry frame flipped: the damage is found at that frame.

mod common;

use common::*;
use etcd_wal::FindingKind;
use etcd_wal::predict::{self, Context, Outcome};

#[test]
fn every_bit_of_one_frame() {
    let built = build(12, Some(64 * 1024));
    // Entry 6, in the middle of the segment.
    let rec = built
        .offsets
        .iter()
        .position(|&o| o == built.entries[5].0)
        .unwrap();
    let start = built.offsets[rec];
    let end = built.offsets[rec + 1];
    let dir = tempfile::tempdir().unwrap();
    let clean = scan_bytes(dir.path(), &[(SEG0, &built.bytes)]);
    assert!(clean.findings.is_empty());
    // The record's data field: after length word, type (2 bytes), crc (6 bytes), tag+len.
    let word = u64::from_le_bytes(
        built.bytes[start as usize..start as usize + 8]
            .try_into()
            .unwrap(),
    );
    let rec_len = word & 0x00ff_ffff_ffff_ffff;
    let pad_start = start + 8 + rec_len;
    for byte in start..end {
        for bit in 0..8 {
            let mut bytes = built.bytes.clone();
            bytes[byte as usize] ^= 1 << bit;
            let scan = scan_bytes(dir.path(), &[(SEG0, &bytes)]);
            let what = format!("byte {} bit {bit}", byte - start);
            if byte >= pad_start {
                // etcd never checks padding.
                assert!(scan.findings.is_empty(), "{what}: {:?}", scan.findings);
                continue;
            }
            if byte == start + 7 && (3..=6).contains(&bit) {
                // Bits 59-62 of the length word are ignored.
                assert!(scan.findings.is_empty(), "{what}: {:?}", scan.findings);
                continue;
            }
            let Some(f) = scan.findings.first() else {
                // A flipped type field may turn an entry into another valid-looking type
                // (the type is outside the CRC); etcd would not notice either.
                // Bits 4-6 of the crc varint's fifth byte overflow u32 and are dropped by
                // gogo (`uint32(b&0x7F) << 28`), so they change nothing either.
                let crc_overflow = byte == start + 15 && (4..=6).contains(&bit);
                assert!(
                    (start + 8..start + 10).contains(&byte) || crc_overflow,
                    "{what}: no finding"
                );
                continue;
            };
            if byte < start + 8 {
                // A damaged length word misframes: etcd (and we) may read this record
                // with a different padding and trip over the next frame instead.
                let off = f.at.offset;
                assert!(off >= start && off <= end + 8, "{what}: {f:?}");
                continue;
            }
            assert_eq!(f.at.offset, start, "{what}: {f:?}");
            assert_eq!(f.at.ordinal, rec as u64, "{what}");
            assert!(scan.segments[0].valid_offset <= start, "{what}");
            if byte >= start + 8 + 12 {
                // Inside the entry data: a plain CRC mismatch naming the entry.
                assert_eq!(f.kind, FindingKind::CrcMismatch, "{what}");
                if byte >= start + 8 + 17 {
                    // Past the entry's type/term/index fields: they still name the entry.
                    assert_eq!((f.index, f.term), (Some(6), Some(2)), "{what}");
                }
                let b = scan.beyond.unwrap();
                assert!(b.resynchronised && b.intact, "{what}: {b:?}");
                assert_eq!(b.entries, 6, "{what}");
                let p = predict::predict(&scan, &Context::default());
                assert_eq!(p.outcome, Outcome::Refuses, "{what}");
                assert_eq!(p.etcd_error.as_deref(), Some("walpb: crc mismatch"));
            }
        }
    }
}

//! A writer-built WAL of random records, damaged at random: cut at a random offset, a
//! random 512-byte sector zeroed, a random bit of an entry's data flipped. The pass always
//! reports the right kind of finding at the damaged record, and the valid offset is the
//! record boundary in front of it.

mod common;

use common::{SEG0, record_at, scan_bytes};
use etcd_proto::pb::raftpb::{Entry, HardState};
use etcd_wal::FindingKind;
use etcd_wal::writer::SegmentBuilder;
use proptest::prelude::*;

/// A random segment: crc, metadata, snapshot{0,0}, then entries (random sizes, some
/// spanning sectors) with HardStates in between.
#[derive(Debug)]
struct Wal {
    bytes: Vec<u8>,
    offsets: Vec<u64>,
    /// (offset, index, term, data offset within the frame, data length) per entry.
    entries: Vec<(u64, u64, u64, u64, u64)>,
    end: u64,
}

fn wal() -> impl Strategy<Value = Wal> {
    (
        proptest::collection::vec((0usize..1500, any::<bool>(), any::<u8>()), 1..30),
        any::<bool>(),
    )
        .prop_map(|(recs, prealloc)| {
            let mut b = SegmentBuilder::new(0);
            b.metadata(0x1234, 0x5678);
            b.snapshot(0, 0, None);
            let mut entries = Vec::new();
            for (i, (size, hs, fill)) in recs.into_iter().enumerate() {
                let index = i as u64 + 1;
                let e = Entry {
                    r#type: 0,
                    term: 3,
                    index,
                    data: vec![fill | 1; size],
                };
                let off = b.entry(&e);
                entries.push((off, index, 3, 0, size as u64));
                if hs {
                    b.hard_state(&HardState {
                        term: 3,
                        vote: 0x1234,
                        commit: index,
                    });
                }
            }
            let offsets = b.offsets().to_vec();
            let end = b.len();
            let bytes = b.finish(prealloc.then_some(end.next_multiple_of(4096) + 4096));
            for e in &mut entries {
                // The entry data is the last field of the entry, which is the last field
                // of the record: it ends where the record ends (before the padding).
                let word =
                    u64::from_le_bytes(bytes[e.0 as usize..e.0 as usize + 8].try_into().unwrap());
                e.3 = 8 + (word & 0x00FF_FFFF_FFFF_FFFF) - e.4;
            }
            Wal {
                bytes,
                offsets,
                entries,
                end,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cut_at_a_random_offset(w in wal(), at in any::<proptest::sample::Index>()) {
        let len = 1 + at.index(w.end as usize - 1) as u64;
        let dir = tempfile::tempdir().unwrap();
        let scan = scan_bytes(dir.path(), &[(SEG0, &w.bytes[..len as usize])]);
        let seg = &scan.segments[0];
        if w.offsets.contains(&len) {
            prop_assert!(scan.findings.is_empty(), "{:?}", scan.findings);
            prop_assert_eq!(seg.valid_offset, len);
        } else {
            let rec = record_at(&w.offsets, w.end, len);
            let start = w.offsets[rec];
            prop_assert_eq!(scan.findings.len(), 1, "{:?}", scan.findings);
            let f = &scan.findings[0];
            prop_assert_eq!(f.kind, FindingKind::TruncatedRecord);
            prop_assert_eq!(f.at.offset, start);
            prop_assert_eq!(f.at.ordinal, rec as u64);
            prop_assert_eq!(seg.valid_offset, start);
            prop_assert!(w.offsets.contains(&seg.valid_offset));
        }
    }

    #[test]
    fn a_random_sector_zeroed(w in wal(), pick in any::<proptest::sample::Index>()) {
        let sectors = w.end.div_ceil(512);
        let s = pick.index(sectors as usize) as u64;
        let from = s * 512;
        let mut bytes = w.bytes.clone();
        let to = (from + 512).min(bytes.len() as u64);
        bytes[from as usize..to as usize].fill(0);
        prop_assume!(bytes != w.bytes);
        let dir = tempfile::tempdir().unwrap();
        let scan = scan_bytes(dir.path(), &[(SEG0, &bytes)]);
        // The first record with a zeroed non-zero byte is the damaged one.
        let first_changed = (from..to).find(|&i| w.bytes[i as usize] != 0).unwrap();
        let rec = record_at(&w.offsets, w.end, first_changed);
        let at = w.offsets[rec];
        prop_assert_eq!(scan.segments[0].valid_offset, at);
        if bytes[at as usize..at as usize + 8] == [0; 8] {
            // A zero length word ends the log for etcd: silently, or with a
            // records_after_end finding when non-zero data follows.
            let data_after = bytes[at as usize..].iter().any(|&b| b != 0);
            // Zeros from byte 0 leave a segment without its head records: damage too.
            prop_assert_eq!(scan.findings.is_empty(), !data_after && at > 0, "{:?}", scan.findings);
            if let Some(f) = scan.findings.first() {
                let want = if data_after { FindingKind::RecordsAfterEnd } else { FindingKind::EmptySegment };
                prop_assert_eq!(f.kind, want);
                prop_assert_eq!(f.at.offset, at, "sector {}: {:?}", s, f);
                prop_assert_eq!(f.at.ordinal, rec as u64);
            }
        } else {
            let f = scan.findings.first();
            prop_assert!(f.is_some(), "sector {}: no finding", s);
            let f = f.unwrap();
            prop_assert_eq!(f.kind, FindingKind::TornWrite, "{:?}", f);
            prop_assert_eq!(f.at.offset, at, "sector {}: {:?}", s, f);
            prop_assert_eq!(f.at.ordinal, rec as u64);
        }
    }

    #[test]
    fn a_random_bit_of_entry_data_flipped(w in wal(), pick in any::<proptest::sample::Index>(),
                                          at in any::<proptest::sample::Index>(), bit in 0u8..8) {
        let with_data: Vec<_> = w.entries.iter().filter(|e| e.4 > 0).collect();
        prop_assume!(!with_data.is_empty());
        let &&(off, index, term, data_start, data_len) = pick.get(&with_data);
        let byte = off + data_start + at.index(data_len as usize) as u64;
        let mut bytes = w.bytes.clone();
        bytes[byte as usize] ^= 1 << bit;
        let dir = tempfile::tempdir().unwrap();
        let scan = scan_bytes(dir.path(), &[(SEG0, &bytes)]);
        let rec = w.offsets.iter().position(|&o| o == off).unwrap();
        prop_assert!(!scan.findings.is_empty(), "no finding");
        let f = &scan.findings[0];
        prop_assert_eq!(f.kind, FindingKind::CrcMismatch, "{:?}", f);
        prop_assert_eq!(f.at.offset, off);
        prop_assert_eq!(f.at.ordinal, rec as u64);
        prop_assert_eq!((f.index, f.term), (Some(index), Some(term)));
        prop_assert_eq!(scan.segments[0].valid_offset, off);
    }
}

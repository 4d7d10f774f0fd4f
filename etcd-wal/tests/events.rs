//! The streaming pass hands out every record and finding the summary counts, in order.

mod common;

use common::*;
use etcd_wal::scan::{self, Event, RecordStatus};

#[test]
fn events_match_the_summary() {
    let built = build(20, Some(16 * 1024));
    let mut bytes = built.bytes.clone();
    // Damage entry 10's data: one crc mismatch, the chain resynchronises after it.
    let (off, _, _) = built.entries[9];
    bytes[off as usize + 40] ^= 0xff;
    let dir = tempfile::tempdir().unwrap();
    let clean = scan_bytes(dir.path(), &[(SEG0, &bytes)]);
    let (mut records, mut findings, mut statuses, mut offsets) =
        (0u64, 0usize, Vec::new(), Vec::new());
    let scan = scan::scan_dir_with(dir.path(), &mut |e| match e {
        Event::Record(r) => {
            records += 1;
            statuses.push(r.status);
            offsets.push(r.at.offset);
        }
        Event::Finding(_) => findings += 1,
        Event::SegmentStart { .. } => {}
    })
    .unwrap();
    assert_eq!(records, scan.records);
    assert_eq!(records, clean.records);
    assert_eq!(findings, scan.findings.len());
    assert_eq!(offsets, built.offsets);
    let bad = built.offsets.iter().position(|&o| o == off).unwrap();
    assert!(statuses[..bad].iter().all(|s| *s == RecordStatus::Verified));
    assert_eq!(statuses[bad], RecordStatus::CrcMismatch);
    assert!(
        statuses[bad + 1..]
            .iter()
            .all(|s| *s == RecordStatus::AfterDamageVerified)
    );
}

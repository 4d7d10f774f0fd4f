//! One test per crash found by fuzzing (fuzz/), named after the crash.

mod common;

use common::{SEG0, build, scan_bytes};

/// fuzz wal_segment crash-e24fdd60: after damage, the resync skipped zeros to a non-zero
/// byte inside a partial last word (file size not a multiple of 8) and read a whole word
/// there: `scan_dir` failed with an I/O error "read past the end of the file at offset 64"
/// (the CLI would have said "could not run") instead of reporting the damage.
#[test]
fn resync_nonzero_byte_in_partial_last_word() {
    let crash: &[u8] = &[
        0x08, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x00, 0x08, 0x04, 0x10, 0xef, 0xb9, 0xb2, 0xbb,
        0x06, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0x08, 0x01, 0x10, 0xae, 0xb1, 0xbf,
        0xa6, 0x01, 0x1a, 0x15, 0x08, 0xfe, 0x1e, 0x82, 0xa7, 0xab, 0xda, 0xd3, 0x93, 0x30, 0x10,
        0x9c, 0xf3, 0x8c, 0xfe, 0x9a, 0x90, 0xe2, 0x99, 0x61, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
    ];
    let dir = tempfile::tempdir().unwrap();
    let scan = scan_bytes(dir.path(), &[(SEG0, crash)]);
    assert!(!scan.findings.is_empty());
    assert!(scan.findings.iter().all(|f| f.at.offset < 69));

    // The same shape from a writer-built segment: a damaged entry, zeros, and a file that
    // ends 5 bytes into a word with a non-zero last byte.
    let built = build(4, None);
    let mut bytes = built.bytes.clone();
    let at = built.entries[1].0 as usize;
    bytes[at + 30] ^= 0x55;
    bytes.truncate(built.offsets[built.offsets.len() - 2] as usize);
    bytes.resize(bytes.len() + 64, 0);
    bytes.extend_from_slice(&[0, 0, 0, 0, 4]);
    let scan = scan_bytes(dir.path(), &[(SEG0, &bytes)]);
    assert_eq!(scan.findings[0].at.offset, at as u64);
}

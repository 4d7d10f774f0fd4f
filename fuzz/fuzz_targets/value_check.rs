//! `verify --check-values` as the CLI runs it: open the member's db, set the check up from
//! its buckets (`ValueCheck::for_db`), feed it every event of one WAL pass, compare.
//! Input: a 4-byte little-endian length `w`, then `w` bytes of WAL (up to 4 segments
//! separated by `SEP`), then the db file (`member/snap/db`).
#![no_main]

use etcd_snap::bolt::Db;
use etcd_member::crosscheck::{MAX_MISMATCHES, ValueCheck};
use etcd_wal::scan;
use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::{Budget, fresh_dir, put, split};

/// Separator between segments in the WAL part.
pub const SEP: &[u8] = b"\xffSEG\xff";

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let w = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (wal, db) = rest.split_at(w);
    let wal_dir = fresh_dir("value_check_wal");
    for (i, part) in split(wal, SEP).iter().take(4).enumerate() {
        put(&wal_dir, &format!("{i:016x}-{i:016x}.wal"), part);
    }
    let snap_dir = fresh_dir("value_check_snap");
    let db_path = put(&snap_dir, "db", db);
    let _budget = Budget::new(data.len());
    let Ok(db) = Db::open(&db_path) else { return };
    let Ok(Some(mut check)) = ValueCheck::for_db(&db) else {
        return;
    };
    scan::scan_dir_with(&wal_dir, &mut |e| check.observe(&e)).expect("readable segments scan");
    let Ok(report) = check.compare(&db) else {
        return;
    };
    assert!(report.mismatches.len() as u64 <= report.keys_mismatched);
    assert!(report.mismatches.len() <= MAX_MISMATCHES);
    for m in &report.mismatches {
        assert!(
            !m.diffs.is_empty(),
            "a mismatch without a difference: {m:?}"
        );
        if let Some(at) = &m.db {
            assert!(at.offset < db.size(), "db record outside the file: {m:?}");
        }
    }
    if std::env::var_os("FUZZ_REPORT").is_some() {
        eprintln!("{report:#?}");
    } else {
        let _ = format!("{report:?}");
    }
});

//! Restore input: what `snapshot restore` reads from its source before writing anything —
//! a `snapshot save` file (db ‖ sha256) or a bare db: trailer check, status (etcdutl's
//! numbers, integrity check, etcd metadata), the whole db report, live keys — and then
//! `restore` itself into a scratch data dir (hash checked or skipped, by input parity).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::{Budget, fresh_dir, put, scratch_dir};

fuzz_target!(|data: &[u8]| {
    let dir = fresh_dir("restore_input");
    let path = put(&dir, "snapshot.db", data);
    let _budget = Budget::new(data.len());
    if let Ok(t) = etcd_snap::hash::check_trailer(&path) {
        assert!(t.db_len <= data.len() as u64);
    }
    let _ = etcd_snap::status::status(&path);
    let _ = etcd_snap::member::inspect_db(&path);
    if let Ok(db) = etcd_snap::bolt::Db::open(&path) {
        let _ = etcd_snap::mvcc::live_keys(&db, None, b"");
        let _ = etcd_snap::mvcc::live_keys(&db, Some(2), b"/");
    }
    drop(_budget);
    let out = scratch_dir().join("restore_out");
    let _ = std::fs::remove_dir_all(&out);
    let cfg = etcd_snap::restore::RestoreConfig {
        source: path.clone(),
        data_dir: out.join("new.etcd"),
        skip_hash_check: data.len() % 2 == 0,
        compact_to: (data.len() % 3 == 0).then_some(2),
        ..etcd_snap::restore::RestoreConfig::default()
    };
    let _budget = Budget::new(data.len());
    if let Ok(report) = etcd_snap::restore::restore(&cfg) {
        assert!(report.db_bytes <= data.len() as u64);
    }
    let _ = std::fs::remove_dir_all(&out);
});

//! bolt page/meta reader: open the input as a bolt file, run the integrity check, walk
//! every bucket with cursors and read etcd's schema buckets.
#![no_main]

use etcd_snap::bolt::{Db, FindingKind};
use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::{Budget, fresh_dir, put};

fuzz_target!(|data: &[u8]| {
    let _ = etcd_snap::bolt::Meta::parse(data);
    let _ = etcd_snap::bolt::PageHeader::parse(data);
    let dir = fresh_dir("bolt_db");
    let path = put(&dir, "db", data);
    let _budget = Budget::new(data.len());
    let Ok(db) = Db::open(&path) else { return };
    let size = data.len() as u64;
    for f in db.meta_findings() {
        assert!(
            f.offset < size.max(1),
            "meta finding outside the file: {f:?}"
        );
    }
    // A finding points inside the file by its own offset or, for a page that is not in the
    // file (out of range, beyond EOF, or such a page referenced twice), by the page that
    // references it.
    let ps = u64::from(db.page_size());
    if let Ok(report) = db.check() {
        for f in &report.findings {
            let inside = f.offset < size
                || f.referenced_from
                    .is_some_and(|p| p.saturating_mul(ps) < size)
                || matches!(f.kind, FindingKind::FileShorterThanHighWater { .. });
            assert!(inside, "finding outside the file of {size} B: {f:?}");
        }
    }
    if let Ok(names) = db.bucket_names() {
        for name in names.iter().take(16) {
            if let Ok(Some(b)) = db.bucket(name) {
                for e in db.cursor(&b).take(10_000) {
                    if e.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = etcd_snap::schema::meta(&db);
    let _ = etcd_snap::schema::membership(&db);
    let _ = etcd_snap::schema::leases(&db);
    let _ = etcd_snap::schema::alarms(&db);
    let _ = etcd_snap::schema::cluster(&db);
    let _ = etcd_snap::schema::auth(&db);
    if let Ok(records) = etcd_snap::mvcc::records(&db) {
        for r in records.take(10_000) {
            let _ = r;
        }
    }
});

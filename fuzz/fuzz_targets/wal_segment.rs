//! Whole-segment reader: the input is one segment file; a full verify pass over it
//! (`scan_dir`) and the prediction of what etcd does.
#![no_main]

use etcd_wal::predict::{self, Context};
use etcd_wal::scan;
use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::{Budget, check_scan, fresh_dir, put};

const SEG0: &str = "0000000000000000-0000000000000000.wal";

fuzz_target!(|data: &[u8]| {
    let dir = fresh_dir("wal_segment");
    put(&dir, SEG0, data);
    let _budget = Budget::new(data.len());
    let mut events = 0u64;
    let scan =
        scan::scan_dir_with(&dir, &mut |_| events += 1).expect("a readable segment always scans");
    check_scan(&scan, &[data.len() as u64]);
    let _ = predict::predict(&scan, &Context::default());
});

//! `.snap` decoder (envelope, CRC, raft snapshot, v2 store JSON with the members).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::Budget;

fuzz_target!(|data: &[u8]| {
    let _budget = Budget::new(data.len());
    let path = Path::new("0000000000000002-0000000000000001.snap");
    if let Ok(snap) = etcd_snap::snapfile::decode_snap(path, data) {
        assert!(snap.data_len <= data.len() as u64);
        let _ = format!("{snap:?}");
    }
});

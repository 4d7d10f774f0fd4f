//! Entry payload decoder: InternalRaftRequest / v2 Request / ConfChange / ConfChangeV2.
//! Input: the first byte is the raft entry type (taken mod 4, 3 = unknown), the rest the
//! entry's data.
#![no_main]

use etcd_wal::payload;
use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::Budget;

fuzz_target!(|data: &[u8]| {
    let Some((&ty, body)) = data.split_first() else {
        return;
    };
    let _budget = Budget::new(data.len());
    let p = payload::decode_entry(i32::from(ty % 4), body);
    let _ = p.kind();
    let _ = p.request_id();
    let _ = p.username();
    let _ = p.keys();
    let _ = p.has_secrets();
    let _ = p.summary(Some(64));
    let _ = p.summary(None);
    let r = p.redacted();
    assert!(!r.has_secrets(), "redacted payload still has secrets");
    let _ = serde_json::to_string(&p.view()).expect("payload view serializes");
    let _ = etcd_proto::text::escape_bytes(body);
});

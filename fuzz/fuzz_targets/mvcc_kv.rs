//! mvcc key/value decoder: a revision key (bucket `key`'s keys) and a `mvccpb.KeyValue`.
//! Input: the first 17 or 18 bytes are the key (18 when byte 17 is `t`), the rest the value.
#![no_main]

use etcd_snap::mvcc::{KeyValue, RevisionKey};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use wal_inspect_fuzz::Budget;

fuzz_target!(|data: &[u8]| {
    let _budget = Budget::new(data.len());
    let key_len = if data.get(17) == Some(&b't') {
        18
    } else {
        17.min(data.len())
    };
    let (key, value) = data.split_at(key_len.min(data.len()));
    for k in [key, data] {
        if let Ok(rk) = RevisionKey::parse(k) {
            let enc = rk.encode();
            let back = RevisionKey::parse(&enc).expect("encoded revision key parses");
            assert_eq!(
                format!("{back:?}"),
                format!("{rk:?}"),
                "revision key round trip"
            );
        }
    }
    if let Ok(kv) = KeyValue::decode(value) {
        let enc = kv.encode_to_vec();
        assert!(
            enc.len() <= value.len(),
            "re-encoding grew: {} > {}",
            enc.len(),
            value.len()
        );
        let back = KeyValue::decode(enc.as_slice()).expect("re-encoded KeyValue decodes");
        assert_eq!(back, kv, "KeyValue round trip");
    }
});

//! Kubernetes storage decoder: any bytes as an etcd value (`etcd_k8s::decode`) and as an
//! etcd key (`etcd_k8s::key::parse`). Garbage after the magic, a truncated envelope, a
//! value that is not an object: a result with a problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::Budget;

fuzz_target!(|data: &[u8]| {
    let _budget = Budget::new(data.len());
    let d = etcd_k8s::decode(data);
    if data.starts_with(etcd_k8s::value::PROTOBUF_MAGIC) {
        assert_eq!(d.encoding, etcd_k8s::Encoding::Protobuf);
    }
    if data.starts_with(etcd_k8s::value::ENCRYPTED_PREFIX) {
        assert!(d.metadata.is_none(), "an encrypted value is never decoded");
    }
    // The same bytes behind the magic: decodes or names a problem.
    let mut wrapped = etcd_k8s::value::PROTOBUF_MAGIC.to_vec();
    wrapped.extend_from_slice(data);
    let _ = etcd_k8s::decode(&wrapped);
    if let Some(k) = etcd_k8s::key::parse(data) {
        assert!(!k.resource.is_empty());
    }
});

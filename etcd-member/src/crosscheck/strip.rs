//! Put values digested where the entry is read, so the replay holds no copy of them.
//!
//! Entries wait for the `HardState` that commits them before they are applied, so the
//! replay must keep them past the read buffer. Instead of keeping (and letting prost copy)
//! every value, the entry's bytes are rewritten with each `PutRequest.value` replaced by
//! an 8-byte token, the index of its [`ValueDigest`]; prost then decodes a message without
//! the values, and the model takes each put's digest by its token. Everything else is
//! copied verbatim, so the rewritten message decodes exactly as the original one would,
//! values aside; anything unusual (a wire type etcd does not write, deep nesting) leaves
//! the entry as it is.
//!
//! Fields (etcd `raft_internal.proto`, `rpc.proto`): `InternalRaftRequest` put = 4, txn = 6,
//! header = 100; `TxnRequest` success = 2, failure = 3; `RequestOp` request_put = 2,
//! request_txn = 4; `PutRequest` value = 2.

use etcd_proto::wire::{Fields, Value, put_bytes_field};

use super::value::ValueDigest;

/// Bytes of a token standing for a value: the digest's index, little-endian.
pub(crate) const TOKEN_BYTES: usize = 8;

/// prost refuses messages nested deeper than 100; stay below and leave those alone.
const MAX_DEPTH: usize = 64;

/// An entry's `InternalRaftRequest` with its put values replaced by tokens.
#[derive(Debug)]
pub(crate) struct Stripped {
    /// The rewritten message.
    pub data: Vec<u8>,
    /// The digests the tokens index.
    pub digests: Vec<ValueDigest>,
}

/// The digest a put's `value` stands for: its token's digest when `digests` come from
/// [`strip_put_values`], else the digest of the value itself.
pub(crate) fn digest_of(value: &[u8], digests: Option<&[ValueDigest]>) -> ValueDigest {
    let token = <[u8; TOKEN_BYTES]>::try_from(value).ok();
    match (digests, token) {
        (Some(d), Some(t)) => usize::try_from(u64::from_le_bytes(t))
            .ok()
            .and_then(|i| d.get(i))
            .cloned()
            .unwrap_or_else(|| ValueDigest::of(value)),
        _ => ValueDigest::of(value),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Irr,
    Txn,
    Op,
    Put,
}

/// `data` (an `EntryNormal`'s bytes) rewritten, when it is an `InternalRaftRequest` (etcd
/// always sets its header, field 100) that holds a put or a txn; `None` otherwise.
pub(crate) fn strip_put_values(data: &[u8]) -> Option<Stripped> {
    let (mut header, mut write) = (false, false);
    let mut fields = Fields::new(data);
    while let Some((n, v)) = fields.next().ok()? {
        let bytes = matches!(v, Value::Bytes(_));
        header |= n == 100 && bytes;
        write |= (n == 4 || n == 6) && bytes;
    }
    if !(header && write) {
        return None;
    }
    let mut digests = Vec::new();
    let data = rewrite(data, Kind::Irr, 0, &mut digests)?;
    Some(Stripped { data, digests })
}

fn rewrite(
    msg: &[u8],
    kind: Kind,
    depth: usize,
    digests: &mut Vec<ValueDigest>,
) -> Option<Vec<u8>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut out = Vec::with_capacity(msg.len().min(512));
    let mut fields = Fields::new(msg);
    let mut valued = false;
    loop {
        let start = fields.offset();
        let Some((n, v)) = fields.next().ok()? else {
            break;
        };
        let child = match (kind, n) {
            (Kind::Irr, 4) | (Kind::Op, 2) => Some(Kind::Put),
            (Kind::Irr, 6) | (Kind::Op, 4) => Some(Kind::Txn),
            (Kind::Txn, 2 | 3) => Some(Kind::Op),
            _ => None,
        };
        match (child, kind, n, v) {
            (Some(c), _, _, Value::Bytes(b)) => {
                put_bytes_field(&mut out, n, &rewrite(b, c, depth + 1, digests)?);
            }
            (None, Kind::Put, 2, Value::Bytes(b)) => {
                put_token(&mut out, digests, b);
                valued = true;
            }
            // A wire type etcd does not write for these: prost judges the original.
            (Some(_), ..) | (None, Kind::Put, 2, _) => return None,
            _ => out.extend_from_slice(msg.get(start..fields.offset())?),
        }
    }
    if kind == Kind::Put && !valued {
        // proto3 leaves an empty value out; the model still takes a token.
        put_token(&mut out, digests, &[]);
    }
    Some(out)
}

fn put_token(out: &mut Vec<u8>, digests: &mut Vec<ValueDigest>, value: &[u8]) {
    let token = (digests.len() as u64).to_le_bytes();
    digests.push(ValueDigest::of(value));
    put_bytes_field(out, 2, &token);
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::pb::etcdserverpb::{
        InternalRaftRequest, PutRequest, RequestHeader, RequestOp, TxnRequest, request_op,
    };
    use prost::Message;

    fn put(key: &str, value: &[u8], lease: i64) -> PutRequest {
        PutRequest {
            key: key.into(),
            value: value.to_vec(),
            lease,
            ..PutRequest::default()
        }
    }

    /// The rewritten message decodes as the original with each value replaced by its
    /// token, and the tokens give the values' digests.
    fn round_trip(irr: &InternalRaftRequest) -> InternalRaftRequest {
        let data = irr.encode_to_vec();
        let s = strip_put_values(&data).expect("stripped");
        assert!(s.data.len() < data.len() + 16 * s.digests.len());
        InternalRaftRequest::decode(s.data.as_slice()).expect("decodes")
    }

    #[test]
    fn puts_and_nested_txn_puts_become_tokens() {
        let big = vec![7u8; 100_000];
        let irr = InternalRaftRequest {
            header: Some(RequestHeader {
                id: 42,
                ..RequestHeader::default()
            }),
            txn: Some(TxnRequest {
                success: vec![
                    RequestOp {
                        request: Some(request_op::Request::RequestPut(put("a", &big, 5))),
                    },
                    RequestOp {
                        request: Some(request_op::Request::RequestTxn(TxnRequest {
                            failure: vec![RequestOp {
                                request: Some(request_op::Request::RequestPut(put("b", b"", 0))),
                            }],
                            ..TxnRequest::default()
                        })),
                    },
                ],
                failure: vec![RequestOp {
                    request: Some(request_op::Request::RequestPut(put("c", b"xyz", 0))),
                }],
                ..TxnRequest::default()
            }),
            ..InternalRaftRequest::default()
        };
        let data = irr.encode_to_vec();
        let s = strip_put_values(&data).expect("stripped");
        assert!(s.data.len() < 200, "the value is gone: {}", s.data.len());
        let back = InternalRaftRequest::decode(s.data.as_slice()).unwrap();
        let d = Some(s.digests.as_slice());
        let txn = back.txn.as_ref().unwrap();
        let Some(request_op::Request::RequestPut(a)) = &txn.success[0].request else {
            panic!("put a")
        };
        assert_eq!((a.key.as_slice(), a.lease), (&b"a"[..], 5));
        assert_eq!(digest_of(&a.value, d), ValueDigest::of(&big));
        let Some(request_op::Request::RequestTxn(n)) = &txn.success[1].request else {
            panic!("nested txn")
        };
        let Some(request_op::Request::RequestPut(b)) = &n.failure[0].request else {
            panic!("put b")
        };
        assert_eq!(digest_of(&b.value, d), ValueDigest::of(b""));
        let Some(request_op::Request::RequestPut(c)) = &txn.failure[0].request else {
            panic!("put c")
        };
        assert_eq!(digest_of(&c.value, d), ValueDigest::of(b"xyz"));
        // Everything but the values is as it was.
        let mut expect = irr.clone();
        let mut got = back.clone();
        for t in [&mut expect, &mut got] {
            let txn = t.txn.as_mut().unwrap();
            for op in txn.success.iter_mut().chain(txn.failure.iter_mut()) {
                match &mut op.request {
                    Some(request_op::Request::RequestPut(p)) => p.value.clear(),
                    Some(request_op::Request::RequestTxn(n)) => {
                        for op in n.success.iter_mut().chain(n.failure.iter_mut()) {
                            if let Some(request_op::Request::RequestPut(p)) = &mut op.request {
                                p.value.clear();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(got, expect);
    }

    #[test]
    fn a_top_level_put_keeps_its_other_fields() {
        let irr = InternalRaftRequest {
            header: Some(RequestHeader::default()),
            id: 9,
            put: Some(PutRequest {
                prev_kv: true,
                ignore_lease: true,
                ..put("k", b"v", 3)
            }),
            ..InternalRaftRequest::default()
        };
        let back = round_trip(&irr);
        let p = back.put.as_ref().unwrap();
        assert_eq!(back.id, 9);
        assert!(p.prev_kv && p.ignore_lease && p.lease == 3 && p.key == b"k");
        assert_eq!(p.value.len(), TOKEN_BYTES);
    }

    /// Every put value of `irr`, in the order prost decoded them, cleared.
    fn clear_values(irr: &mut InternalRaftRequest, out: &mut Vec<Vec<u8>>) {
        fn txn(t: &mut TxnRequest, out: &mut Vec<Vec<u8>>) {
            for op in t.success.iter_mut().chain(t.failure.iter_mut()) {
                match &mut op.request {
                    Some(request_op::Request::RequestPut(p)) => {
                        out.push(std::mem::take(&mut p.value));
                    }
                    Some(request_op::Request::RequestTxn(n)) => txn(n, out),
                    _ => {}
                }
            }
        }
        if let Some(p) = &mut irr.put {
            out.push(std::mem::take(&mut p.value));
        }
        if let Some(t) = &mut irr.txn {
            txn(t, out);
        }
    }

    /// On every entry of every clean fixture (real etcd 3.4/3.5/3.6/3.7 WALs: puts, txns,
    /// k8s objects): the stripped entry decodes as the original, values aside, and each
    /// token gives its value's digest.
    #[test]
    fn real_entries_decode_as_before_values_aside() {
        let mut stripped = 0;
        for config in testdata::configs() {
            let root = testdata::pristine(&config).unwrap();
            let meta = testdata::config_meta(&config).unwrap();
            for m in meta["members"].as_array().unwrap() {
                let wal = root.join(m["member_dir"].as_str().unwrap()).join("wal");
                etcd_wal::scan::scan_dir_with(&wal, &mut |e| {
                    let etcd_wal::scan::Event::Record(r) = e else {
                        return;
                    };
                    let Some(entry) = r.entry else {
                        return;
                    };
                    if entry.entry_type != 0 {
                        return;
                    }
                    let Some(s) = strip_put_values(entry.data) else {
                        return;
                    };
                    stripped += 1;
                    let mut original = InternalRaftRequest::decode(entry.data).unwrap();
                    let mut back = InternalRaftRequest::decode(s.data.as_slice()).unwrap();
                    let (mut values, mut tokens) = (Vec::new(), Vec::new());
                    clear_values(&mut original, &mut values);
                    clear_values(&mut back, &mut tokens);
                    assert_eq!(back, original, "{config}: entry {}", entry.index);
                    assert_eq!(values.len(), tokens.len());
                    for (v, t) in values.iter().zip(&tokens) {
                        assert_eq!(digest_of(t, Some(&s.digests)), ValueDigest::of(v));
                    }
                })
                .unwrap();
            }
        }
        assert!(stripped > 1000, "{stripped} entries stripped");
    }

    #[test]
    fn other_messages_are_left_alone() {
        // No header: not what etcd writes for a v3 request.
        let no_header = InternalRaftRequest {
            put: Some(put("k", b"v", 0)),
            ..InternalRaftRequest::default()
        };
        assert!(strip_put_values(&no_header.encode_to_vec()).is_none());
        // No put or txn.
        let compaction = InternalRaftRequest {
            header: Some(RequestHeader::default()),
            compaction: Some(Default::default()),
            ..InternalRaftRequest::default()
        };
        assert!(strip_put_values(&compaction.encode_to_vec()).is_none());
        // A value with a wire type prost refuses: the original is decoded (and refused).
        let mut odd = Vec::new();
        etcd_proto::wire::put_bytes_field(&mut odd, 100, &[]);
        let mut p = Vec::new();
        etcd_proto::wire::put_varint_field(&mut p, 2, 1);
        etcd_proto::wire::put_bytes_field(&mut odd, 4, &p);
        assert!(strip_put_values(&odd).is_none());
        // Not a message at all.
        assert!(strip_put_values(&[0xff, 0xff]).is_none());
        // Without digests, a value is its own digest.
        assert_eq!(digest_of(b"12345678", None), ValueDigest::of(b"12345678"));
    }
}

//! The keys an entry touches ([`KeyRange`], [`KeyOp`]): puts, ranges, delete ranges and
//! every compare and operation of a (nested) txn.

use std::fmt;

#[cfg(feature = "serde")]
use etcd_proto::json::Bytes;
use etcd_proto::text::escape_bytes;

use crate::pb::etcdserverpb::{RequestOp, TxnRequest, request_op};

use super::Payload;

/// How an entry touches a [`KeyRange`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum KeyOp {
    /// Read by a range request (top level or inside a txn).
    Range,
    /// Written by a put.
    Put,
    /// Deleted by a delete_range.
    DeleteRange,
    /// Read by a txn guard.
    Compare,
}

impl KeyOp {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyOp::Range => "range",
            KeyOp::Put => "put",
            KeyOp::DeleteRange => "delete_range",
            KeyOp::Compare => "compare",
        }
    }
}

/// A key or key range an entry touches (etcd's range convention).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRange {
    /// First key (arbitrary bytes).
    pub key: Vec<u8>,
    /// End of the range, exclusive. Empty = only `key`; `"\0"` = every key ≥ `key`
    /// (with `key` = `"\0"` too: every key).
    pub range_end: Vec<u8>,
    /// What the entry does to it.
    pub op: KeyOp,
}

impl KeyRange {
    fn new(key: &[u8], range_end: &[u8], op: KeyOp) -> KeyRange {
        KeyRange {
            key: key.to_vec(),
            range_end: range_end.to_vec(),
            op,
        }
    }

    /// True if this is a single key (empty `range_end`).
    pub fn is_single_key(&self) -> bool {
        self.range_end.is_empty()
    }
}

impl fmt::Display for KeyRange {
    /// `put "foo"`, `delete_range ["a", "b")`, `range ["a", +inf)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.op.as_str())?;
        if self.range_end.is_empty() {
            write!(f, "\"{}\"", escape_bytes(&self.key))
        } else if self.range_end == b"\0" {
            write!(f, "[\"{}\", +inf)", escape_bytes(&self.key))
        } else {
            write!(
                f,
                "[\"{}\", \"{}\")",
                escape_bytes(&self.key),
                escape_bytes(&self.range_end)
            )
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for KeyRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("KeyRange", 3)?;
        st.serialize_field("op", &self.op)?;
        st.serialize_field("key", &Bytes(&self.key))?;
        st.serialize_field("range_end", &Bytes(&self.range_end))?;
        st.end()
    }
}

fn txn_keys(txn: &TxnRequest, out: &mut Vec<KeyRange>) {
    // Recursion depth is bounded by prost's decode recursion limit (100 nested messages).
    for c in &txn.compare {
        out.push(KeyRange::new(&c.key, &c.range_end, KeyOp::Compare));
    }
    for op in txn.success.iter().chain(&txn.failure) {
        op_keys(op, out);
    }
}

fn op_keys(op: &RequestOp, out: &mut Vec<KeyRange>) {
    match &op.request {
        Some(request_op::Request::RequestRange(r)) => {
            out.push(KeyRange::new(&r.key, &r.range_end, KeyOp::Range));
        }
        Some(request_op::Request::RequestPut(p)) => {
            out.push(KeyRange::new(&p.key, &[], KeyOp::Put));
        }
        Some(request_op::Request::RequestDeleteRange(d)) => {
            out.push(KeyRange::new(&d.key, &d.range_end, KeyOp::DeleteRange));
        }
        Some(request_op::Request::RequestTxn(t)) => txn_keys(t, out),
        None => {}
    }
}

impl Payload {
    /// The keys this payload reads or writes: put, range, delete_range, and every compare and
    /// operation of a txn (both branches, nested txns included), in wire order. Empty for other
    /// kinds (v2 paths are not v3 keys and are not listed).
    pub fn keys(&self) -> Vec<KeyRange> {
        let mut out = Vec::new();
        if let Payload::Request(r) = self {
            if let Some(p) = &r.put {
                out.push(KeyRange::new(&p.key, &[], KeyOp::Put));
            }
            if let Some(rg) = &r.range {
                out.push(KeyRange::new(&rg.key, &rg.range_end, KeyOp::Range));
            }
            if let Some(d) = &r.delete_range {
                out.push(KeyRange::new(&d.key, &d.range_end, KeyOp::DeleteRange));
            }
            if let Some(t) = &r.txn {
                txn_keys(t, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::payload::testutil::{irr, one_of_each, put};
    use crate::payload::{EntryKind, decode_entry};
    use crate::pb::etcdserverpb::{
        Compare, CompareTarget, DeleteRangeRequest, RangeRequest, compare,
    };

    #[test]
    fn keys_of_nested_txn() {
        let inner = TxnRequest {
            compare: vec![],
            success: vec![RequestOp {
                request: Some(request_op::Request::RequestDeleteRange(
                    DeleteRangeRequest {
                        key: b"d".to_vec(),
                        range_end: b"e".to_vec(),
                        prev_kv: false,
                    },
                )),
            }],
            failure: vec![RequestOp {
                request: Some(request_op::Request::RequestPut(put(b"\x00\n", b"x"))),
            }],
        };
        let outer = irr(|r| {
            r.txn = Some(TxnRequest {
                compare: vec![Compare {
                    key: b"c".to_vec(),
                    target: CompareTarget::Value as i32,
                    target_union: Some(compare::TargetUnion::Value(b"v".to_vec())),
                    ..Default::default()
                }],
                success: vec![RequestOp {
                    request: Some(request_op::Request::RequestTxn(inner)),
                }],
                failure: vec![RequestOp {
                    request: Some(request_op::Request::RequestRange(RangeRequest {
                        key: b"r".to_vec(),
                        range_end: b"\0".to_vec(),
                        ..Default::default()
                    })),
                }],
            })
        });
        let p = decode_entry(0, &outer.encode_to_vec());
        let keys: Vec<String> = p.keys().iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "compare \"c\"",
                "delete_range [\"d\", \"e\")",
                "put \"\\x00\\n\"",
                "range [\"r\", +inf)",
            ]
        );
        assert_eq!(
            p.summary(Some(0)),
            "txn if value(\"c\") = <1 bytes> then txn { if true then delete_range key=\"d\" \
             range_end=\"e\" else put key=\"\\x00\\n\" value=<1 bytes> lease=0 } else range \
             key=\"r\" range_end=\"\\x00\" user=\"root\""
        );
        // Other kinds touch no keys.
        assert!(Payload::NoOp.keys().is_empty());
        for (kind, req) in one_of_each() {
            let n = Payload::Request(Box::new(req)).keys().len();
            let expected = match kind {
                EntryKind::Put | EntryKind::Range | EntryKind::DeleteRange => 1,
                EntryKind::Txn => 3,
                _ => 0,
            };
            assert_eq!(n, expected, "{kind}");
        }
    }
}

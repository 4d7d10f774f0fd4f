//! Decoding of raft entry payloads: what an entry asked etcd to do.
//!
//! [`decode_entry`] turns a `raftpb.Entry`'s type and data into a [`Payload`], following
//! etcd 3.5's `applyEntryNormal` (`server/etcdserver/server.go`) and 3.4's equivalent:
//!
//! - `EntryNormal` with empty data is the no-op a new leader appends ([`Payload::NoOp`]);
//! - otherwise the data is decoded as an [`InternalRaftRequest`]; if that fails, as a v2
//!   [`Request`]; if that fails too, the payload is [`Payload::Undecodable`] (the caller
//!   still holds the raw bytes);
//! - `EntryConfChange` is a [`ConfChange`] whose context is the member's JSON
//!   ([`MemberContext`]); `EntryConfChangeV2` is a [`ConfChangeV2`].
//!
//! On top of a payload this module offers a stable kind name ([`EntryKind`], used by
//! `wal-inspect dump --type` and in JSON), the keys it touches ([`Payload::keys`]), password
//! redaction ([`Payload::redacted`]), a one-line summary ([`Payload::summary`]) and, with the
//! `serde` feature, a JSON view ([`Payload::view`], schema in `docs/dump-json.md`).
//!
//! Nothing here panics on any input: every decode error becomes a value.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod auth;
mod cluster;
mod conf_change;
mod escape;
mod keys;
mod kind;
mod kv;
mod maintenance;
mod summary;
#[cfg(test)]
mod testutil;
mod v2;
#[cfg(feature = "serde")]
mod view;

pub use auth::REDACTED;
pub use conf_change::MemberContext;
pub use keys::{KeyOp, KeyRange};
pub use kind::{EntryKind, UnknownEntryKind};
#[cfg(feature = "serde")]
pub use view::PayloadView;

use prost::Message as _;

use crate::pb::etcdserverpb::{InternalRaftRequest, Request};
use crate::pb::raftpb::{ConfChange, ConfChangeV2, EntryType};

/// The decoded payload of one raft entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `EntryNormal` with empty data: the no-op a new leader appends.
    NoOp,
    /// An etcd v3 request (`etcdserverpb.InternalRaftRequest`). An IRR carrying a v2 request in
    /// its field 2 also lands here (kind [`EntryKind::V2Request`]).
    Request(Box<InternalRaftRequest>),
    /// A bare v2 store request (`etcdserverpb.Request`): etcd 3.4/3.5 write these for member
    /// attributes (`PUT /0/members/<id>/attributes`), the cluster version (`PUT /0/version`),
    /// `SYNC` and `QGET`.
    V2(Box<Request>),
    /// A membership change (`EntryConfChange`).
    ConfChange {
        /// The raft message.
        change: ConfChange,
        /// The member described by `change.context`, if it is etcd's member JSON. `None` when
        /// the context is empty (RemoveNode) or not parseable (the raw bytes stay in
        /// `change.context`).
        member: Option<MemberContext>,
    },
    /// A joint membership change (`EntryConfChangeV2`; etcd 3.4–3.6 do not write these).
    ConfChangeV2(ConfChangeV2),
    /// The data could not be decoded; the caller holds the raw bytes.
    Undecodable {
        /// Why, e.g. the decode errors of both attempts.
        reason: String,
    },
}

/// One put a request carries: the key and value, and whether it sits in a transaction's
/// branch (then it is written only if that branch runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOf<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// `Some(true)`: in a success branch, `Some(false)`: in a failure branch (of the
    /// innermost transaction), `None`: a plain put.
    pub branch: Option<bool>,
}

impl Payload {
    /// Every put the entry carries (plain, and in transaction branches, nested ones too),
    /// in request order.
    pub fn puts(&self) -> Vec<PutOf<'_>> {
        fn txn<'a>(t: &'a crate::pb::etcdserverpb::TxnRequest, out: &mut Vec<PutOf<'a>>) {
            use crate::pb::etcdserverpb::request_op::Request as Op;
            for (ops, branch) in [(&t.success, true), (&t.failure, false)] {
                for op in ops {
                    match &op.request {
                        Some(Op::RequestPut(p)) => out.push(PutOf {
                            key: &p.key,
                            value: &p.value,
                            branch: Some(branch),
                        }),
                        Some(Op::RequestTxn(inner)) => txn(inner, out),
                        _ => {}
                    }
                }
            }
        }
        let mut out = Vec::new();
        if let Payload::Request(r) = self {
            if let Some(p) = &r.put {
                out.push(PutOf {
                    key: &p.key,
                    value: &p.value,
                    branch: None,
                });
            }
            if let Some(t) = &r.txn {
                txn(t, &mut out);
            }
        }
        out
    }
}

/// Decodes one entry's payload. `entry_type` is `raftpb.Entry.type` (0 normal, 1 conf
/// change, 2 conf change v2); `data` is `raftpb.Entry.data`. Never panics.
pub fn decode_entry(entry_type: i32, data: &[u8]) -> Payload {
    match EntryType::try_from(entry_type) {
        Ok(EntryType::EntryNormal) => decode_normal(data),
        Ok(EntryType::EntryConfChange) => match ConfChange::decode(data) {
            Ok(change) => {
                let member = MemberContext::parse(&change.context);
                Payload::ConfChange { change, member }
            }
            Err(e) => Payload::Undecodable {
                reason: format!("EntryConfChange data is not a ConfChange: {e}"),
            },
        },
        Ok(EntryType::EntryConfChangeV2) => match ConfChangeV2::decode(data) {
            Ok(cc) => Payload::ConfChangeV2(cc),
            Err(e) => Payload::Undecodable {
                reason: format!("EntryConfChangeV2 data is not a ConfChangeV2: {e}"),
            },
        },
        Err(_) => Payload::Undecodable {
            reason: format!("unknown entry type {entry_type}"),
        },
    }
}

/// `EntryNormal` as etcd 3.5 `applyEntryNormal` classifies it: empty = no-op, then
/// `InternalRaftRequest`, then v2 `Request`.
fn decode_normal(data: &[u8]) -> Payload {
    if data.is_empty() {
        return Payload::NoOp;
    }
    // prost, like gogo, rejects a field whose wire type does not match the schema. gogo
    // writes every non-nullable v2 field, including `Dir` as a varint in field 5, and IRR
    // field 5 is a message, so v2 requests fail here (tested in `v2.rs` and on real WALs).
    let irr_err = match InternalRaftRequest::decode(data) {
        Ok(irr) => return Payload::Request(Box::new(irr)),
        Err(e) => e,
    };
    match Request::decode(data) {
        Ok(v2) => Payload::V2(Box::new(v2)),
        Err(v2_err) => Payload::Undecodable {
            reason: format!(
                "EntryNormal data is neither an InternalRaftRequest ({irr_err}) \
                 nor a v2 Request ({v2_err})"
            ),
        },
    }
}

impl Payload {
    /// etcd's request ID: IRR `ID` (or `header.ID` when that is 0, as etcd does), v2 `ID`, or
    /// ConfChange `ID`. `None` for no-ops, ConfChangeV2 and undecodable payloads.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            Payload::Request(r) => {
                let header_id = r.header.as_ref().map_or(0, |h| h.id);
                Some(if r.id != 0 { r.id } else { header_id })
            }
            Payload::V2(r) => Some(r.id),
            Payload::ConfChange { change, .. } => Some(change.id),
            _ => None,
        }
    }

    /// The user that issued an IRR (`header.username`), if any.
    pub fn username(&self) -> Option<&[u8]> {
        match self {
            Payload::Request(r) => r
                .header
                .as_ref()
                .map(|h| h.username.as_slice())
                .filter(|u| !u.is_empty()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noop_and_undecodable() {
        assert_eq!(decode_entry(0, &[]), Payload::NoOp);
        assert_eq!(decode_entry(0, &[]).kind(), EntryKind::NoOp);
        // Truncated varint: neither IRR nor v2.
        let p = decode_entry(0, &[0x08, 0xff]);
        assert!(matches!(p, Payload::Undecodable { .. }), "{p:?}");
        assert_eq!(p.kind(), EntryKind::Unknown);
        assert!(p.summary(None).starts_with("unknown: "));
        let p = decode_entry(7, b"x");
        assert_eq!(
            p,
            Payload::Undecodable {
                reason: "unknown entry type 7".into()
            }
        );
        assert!(matches!(
            decode_entry(1, &[0xff]),
            Payload::Undecodable { .. }
        ));
        assert!(matches!(
            decode_entry(2, &[0x0a]),
            Payload::Undecodable { .. }
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(ty in -1i32..4, data in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let p = decode_entry(ty, &data);
            let _ = p.kind();
            let _ = p.keys();
            let _ = p.summary(Some(3));
            let _ = p.redacted();
            #[cfg(feature = "serde")]
            let _ = serde_json::to_string(&p.view());
        }
    }
}

//! Decoding membership entries: a ConfChange's type into a [`ChangeKind`], and the member
//! attributes of an EntryNormal (v2 `PUT /0/members/<hex id>/attributes` or
//! `cluster_member_attr_set`).

use crate::payload::{self, MemberContext, Payload};
use crate::pb::raftpb::ConfChangeType;
use crate::wire::{Fields, Value};

use super::change::ChangeKind;

impl ChangeKind {
    pub(super) fn classify(cc_type: i32, context: Option<&MemberContext>) -> ChangeKind {
        match ConfChangeType::try_from(cc_type) {
            Ok(ConfChangeType::ConfChangeAddLearnerNode) => ChangeKind::AddLearner,
            Ok(ConfChangeType::ConfChangeRemoveNode) => ChangeKind::Remove,
            Ok(ConfChangeType::ConfChangeUpdateNode) => ChangeKind::Update,
            // AddNode, and unknown types treated as raft does (it rejects them; etcd never
            // writes them).
            _ if context.is_some_and(|m| m.is_promote) => ChangeKind::Promote,
            _ => ChangeKind::Add,
        }
    }
}

/// Cheap pre-filter before decoding an EntryNormal: walk only its top-level fields
/// (length-delimited ones are skipped, not copied) and look for a v2 `Path` (field 3)
/// under `/0/members/` or IRR field 1301 (`cluster_member_attr_set`). Entries are mostly
/// large puts; decoding each fully would copy every value.
pub(super) fn may_carry_attributes(data: &[u8]) -> bool {
    let mut fields = Fields::new(data);
    while let Ok(Some((field, value))) = fields.next() {
        match (field, value) {
            (3, Value::Bytes(path)) if path.starts_with(b"/0/members/") => return true,
            (1301, _) => return true,
            _ => {}
        }
    }
    false
}

/// (member ID, name, client URLs) of a member-attributes entry.
pub(super) fn attributes(data: &[u8]) -> Option<(u64, String, Vec<String>)> {
    match payload::decode_entry(0, data) {
        Payload::V2(req) => {
            if req.method.as_slice() != b"PUT" {
                return None;
            }
            let path = std::str::from_utf8(&req.path).ok()?;
            let hex = path
                .strip_prefix("/0/members/")?
                .strip_suffix("/attributes")?;
            let id = u64::from_str_radix(hex, 16).ok()?;
            let v: serde_json::Value = serde_json::from_slice(&req.val).ok()?;
            let name = v.get("name")?.as_str()?.to_owned();
            let urls = v
                .get("clientURLs")
                .and_then(|u| u.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Some((id, name, urls))
        }
        Payload::Request(irr) => {
            let set = irr.cluster_member_attr_set.as_ref()?;
            let attrs = set.member_attributes.as_ref()?;
            Some((
                set.member_id,
                String::from_utf8_lossy(&attrs.name).into_owned(),
                attrs
                    .client_urls
                    .iter()
                    .map(|u| String::from_utf8_lossy(u).into_owned())
                    .collect(),
            ))
        }
        _ => None,
    }
}

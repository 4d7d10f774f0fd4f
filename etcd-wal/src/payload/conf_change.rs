//! Membership changes: etcd's member JSON in a `ConfChange` context ([`MemberContext`]) and
//! the summaries of `EntryConfChange` and `EntryConfChangeV2` payloads.

use std::fmt::{self, Write as _};

#[cfg(feature = "serde")]
use etcd_proto::json::ser;
use etcd_proto::names::enum_str;
use etcd_proto::text::{escape_bytes, shorten};

use crate::pb::raftpb::{ConfChange, ConfChangeTransition, ConfChangeType, ConfChangeV2};

use super::escape::str_list;

/// The member JSON etcd puts into a `ConfChange` context (`membership.Member`, or for 3.5's
/// add/promote `membership.ConfigChangeContext` = member + `isPromote`).
///
/// Example: `{"id":9372538179322589801,"peerURLs":["http://127.0.0.1:12380"],"name":"infra1",
/// "clientURLs":["http://127.0.0.1:2379"],"isPromote":false}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberContext {
    /// Member ID (JSON `id`; parsed as an exact u64, it often exceeds 2^53; written as 16
    /// hex digits).
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser::hex_id"))]
    pub id: u64,
    /// Peer URLs (JSON `peerURLs`).
    pub peer_urls: Vec<String>,
    /// Member name (JSON `name`; empty when omitted, e.g. before the member started).
    pub name: String,
    /// Client URLs (JSON `clientURLs`; empty when omitted).
    pub client_urls: Vec<String>,
    /// The member is (added as) a learner (JSON `isLearner`).
    pub is_learner: bool,
    /// This AddNode promotes a learner (JSON `isPromote`, 3.4.?+/3.5).
    pub is_promote: bool,
}

impl MemberContext {
    /// Parses etcd's member JSON. Returns `None` for empty input, invalid JSON, a non-object,
    /// or an `id` that is not an unsigned 64-bit integer. Unknown keys are ignored.
    pub fn parse(json: &[u8]) -> Option<MemberContext> {
        if json.is_empty() {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(json).ok()?;
        let obj = value.as_object()?;
        // serde_json keeps integers that fit in u64 exact (no f64 round trip).
        let id = obj.get("id")?.as_u64()?;
        let strings = |key: &str| -> Vec<String> {
            obj.get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let flag = |key: &str| obj.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
        Some(MemberContext {
            id,
            peer_urls: strings("peerURLs"),
            name: obj
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            client_urls: strings("clientURLs"),
            is_learner: flag("isLearner"),
            is_promote: flag("isPromote"),
        })
    }
}

/// `conf_change <type> node=<id>` and the member's fields (or the raw context).
pub(super) fn write_conf_change(
    s: &mut String,
    change: &ConfChange,
    member: Option<&MemberContext>,
    max: Option<usize>,
) -> fmt::Result {
    write!(
        s,
        "conf_change {} node={:016x}",
        enum_str::<ConfChangeType>(change.r#type),
        change.node_id
    )?;
    if let Some(m) = member {
        if m.id != change.node_id {
            write!(s, " member_id={:016x}", m.id)?;
        }
        if !m.name.is_empty() {
            write!(s, " name=\"{}\"", escape_bytes(m.name.as_bytes()))?;
        }
        if !m.peer_urls.is_empty() {
            write!(s, " peer_urls={}", str_list(&m.peer_urls))?;
        }
        if !m.client_urls.is_empty() {
            write!(s, " client_urls={}", str_list(&m.client_urls))?;
        }
        if m.is_learner {
            s.write_str(" learner")?;
        }
        if m.is_promote {
            s.write_str(" promote")?;
        }
    } else if !change.context.is_empty() {
        write!(s, " context={}", shorten(&change.context, max))?;
    }
    Ok(())
}

/// `conf_change_v2 <transition>` and each `<type>:<node>`.
pub(super) fn write_conf_change_v2(
    s: &mut String,
    cc: &ConfChangeV2,
    max: Option<usize>,
) -> fmt::Result {
    write!(
        s,
        "conf_change_v2 {}",
        enum_str::<ConfChangeTransition>(cc.transition)
    )?;
    for c in &cc.changes {
        write!(
            s,
            " {}:{:016x}",
            enum_str::<ConfChangeType>(c.r#type),
            c.node_id
        )?;
    }
    if !cc.context.is_empty() {
        write!(s, " context={}", shorten(&cc.context, max))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::payload::{EntryKind, Payload, decode_entry};
    use crate::pb::raftpb::ConfChangeSingle;

    #[test]
    fn conf_change_member_context() {
        // 2^64 - 59 and the spec's test vector: both exceed 2^53 and must survive exactly.
        for id in [18_446_744_073_709_551_557_u64, 9_372_538_179_322_589_801] {
            let ctx = format!(
                r#"{{"id":{id},"peerURLs":["http://127.0.0.1:12380"],"name":"infra1","clientURLs":["http://127.0.0.1:2379"],"isPromote":false}}"#
            );
            let cc = ConfChange {
                id: 7,
                r#type: ConfChangeType::ConfChangeAddNode as i32,
                node_id: id,
                context: ctx.into_bytes(),
            };
            let p = decode_entry(1, &cc.encode_to_vec());
            let Payload::ConfChange { change, member } = &p else {
                panic!("{p:?}")
            };
            assert_eq!(change, &cc);
            let m = member.as_ref().expect("member parsed");
            assert_eq!(m.id, id);
            assert_eq!(m.peer_urls, ["http://127.0.0.1:12380"]);
            assert_eq!(m.client_urls, ["http://127.0.0.1:2379"]);
            assert_eq!(m.name, "infra1");
            assert!(!m.is_learner && !m.is_promote);
            assert_eq!(p.kind(), EntryKind::ConfChange);
            assert_eq!(p.request_id(), Some(7));
            assert_eq!(
                p.summary(None),
                format!(
                    "conf_change ConfChangeAddNode node={id:x} name=\"infra1\" \
                     peer_urls=[\"http://127.0.0.1:12380\"] \
                     client_urls=[\"http://127.0.0.1:2379\"]"
                )
            );
        }
        // Learner add and promotion; name/clientURLs omitted as etcd does before start.
        let m = MemberContext::parse(
            br#"{"id":1,"peerURLs":["http://a:2380"],"isLearner":true,"isPromote":true}"#,
        )
        .expect("parse");
        assert!(m.is_learner && m.is_promote && m.name.is_empty() && m.client_urls.is_empty());
        // Not member JSON: None, raw context kept.
        assert_eq!(MemberContext::parse(b""), None);
        assert_eq!(MemberContext::parse(b"removed"), None);
        assert_eq!(MemberContext::parse(br#"{"id":-1}"#), None);
        assert_eq!(MemberContext::parse(br#"{"id":1.5}"#), None);
        assert_eq!(MemberContext::parse(b"[1]"), None);
        let remove = ConfChange {
            id: 1,
            r#type: ConfChangeType::ConfChangeRemoveNode as i32,
            node_id: 0xabc,
            context: Vec::new(),
        };
        let p = decode_entry(1, &remove.encode_to_vec());
        assert!(matches!(&p, Payload::ConfChange { member: None, .. }));
        assert_eq!(
            p.summary(None),
            "conf_change ConfChangeRemoveNode node=0000000000000abc"
        );
    }

    #[test]
    fn conf_change_v2_round_trip() {
        let cc = ConfChangeV2 {
            transition: ConfChangeTransition::ConfChangeTransitionJointExplicit as i32,
            changes: vec![
                ConfChangeSingle {
                    r#type: ConfChangeType::ConfChangeAddLearnerNode as i32,
                    node_id: 2,
                },
                ConfChangeSingle {
                    r#type: ConfChangeType::ConfChangeRemoveNode as i32,
                    node_id: 3,
                },
            ],
            context: b"ctx".to_vec(),
        };
        let p = decode_entry(2, &cc.encode_to_vec());
        assert_eq!(p, Payload::ConfChangeV2(cc));
        assert_eq!(p.kind(), EntryKind::ConfChangeV2);
        assert_eq!(
            p.summary(None),
            "conf_change_v2 ConfChangeTransitionJointExplicit ConfChangeAddLearnerNode:0000000000000002 \
             ConfChangeRemoveNode:0000000000000003 context=\"ctx\""
        );
    }
}

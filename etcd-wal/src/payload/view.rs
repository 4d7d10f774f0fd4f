//! The JSON view of a payload ([`PayloadView`], feature `serde`).

use etcd_proto::json::{Bytes, ser};

use crate::pb::raftpb::{ConfChangeTransition, ConfChangeType};

use super::Payload;

/// JSON view of a [`Payload`] (feature `serde`): `{"kind": "<EntryKind>", <body>}`. The body
/// is one of `"request"` (the IRR, unset fields omitted), `"v2"`, `"conf_change"` +
/// `"member"`, `"conf_change_v2"`, `"undecodable"`, or nothing for a no-op. Byte strings are
/// [`Bytes`]. The schema is documented in `docs/dump-json.md`.
///
/// The view shows what the payload holds: call [`Payload::redacted`] first to hide secrets.
#[derive(Clone, Copy, Debug)]
pub struct PayloadView<'a> {
    payload: &'a Payload,
}

impl Payload {
    /// The JSON view of this payload, see [`PayloadView`].
    pub fn view(&self) -> PayloadView<'_> {
        PayloadView { payload: self }
    }
}

#[derive(serde::Serialize)]
struct ConfChangeJson<'a> {
    #[serde(serialize_with = "ser::hex_id")]
    id: u64,
    #[serde(serialize_with = "ser::enum_name::<ConfChangeType, _>")]
    r#type: i32,
    #[serde(serialize_with = "ser::hex_id")]
    node_id: u64,
    context: Bytes<'a>,
}

#[derive(serde::Serialize)]
struct ConfChangeSingleJson {
    #[serde(serialize_with = "ser::enum_name::<ConfChangeType, _>")]
    r#type: i32,
    #[serde(serialize_with = "ser::hex_id")]
    node_id: u64,
}

#[derive(serde::Serialize)]
struct ConfChangeV2Json<'a> {
    #[serde(serialize_with = "ser::enum_name::<ConfChangeTransition, _>")]
    transition: i32,
    changes: Vec<ConfChangeSingleJson>,
    context: Bytes<'a>,
}

#[derive(serde::Serialize)]
struct UndecodableJson<'a> {
    reason: &'a str,
}

impl serde::Serialize for PayloadView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let p = self.payload;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &p.kind())?;
        match p {
            Payload::NoOp => {}
            Payload::Request(r) => m.serialize_entry("request", r.as_ref())?,
            Payload::V2(r) => m.serialize_entry("v2", r.as_ref())?,
            Payload::ConfChange { change, member } => {
                m.serialize_entry(
                    "conf_change",
                    &ConfChangeJson {
                        id: change.id,
                        r#type: change.r#type,
                        node_id: change.node_id,
                        context: Bytes(&change.context),
                    },
                )?;
                m.serialize_entry("member", member)?;
            }
            Payload::ConfChangeV2(cc) => m.serialize_entry(
                "conf_change_v2",
                &ConfChangeV2Json {
                    transition: cc.transition,
                    changes: cc
                        .changes
                        .iter()
                        .map(|c| ConfChangeSingleJson {
                            r#type: c.r#type,
                            node_id: c.node_id,
                        })
                        .collect(),
                    context: Bytes(&cc.context),
                },
            )?,
            Payload::Undecodable { reason } => {
                m.serialize_entry("undecodable", &UndecodableJson { reason })?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::payload::testutil::one_of_each;
    use crate::payload::{EntryKind, decode_entry};
    use crate::pb::etcdserverpb::{AlarmRequest, InternalRaftRequest, PutRequest};
    use crate::pb::raftpb::ConfChange;

    #[test]
    fn json_view() {
        let p = Payload::Request(Box::new(InternalRaftRequest {
            id: 5,
            put: Some(PutRequest {
                key: b"k".to_vec(),
                value: vec![0xff, 0x00],
                lease: 1,
                ..Default::default()
            }),
            ..Default::default()
        }));
        let json = serde_json::to_string(&p.view()).expect("json");
        assert_eq!(
            json,
            r#"{"kind":"put","request":{"id":"0000000000000005","put":{"key":"k","value":{"base64":"/wA="},"lease":"0000000000000001","prev_kv":false,"ignore_value":false,"ignore_lease":false}}}"#
        );
        assert_eq!(
            serde_json::to_string(&Payload::NoOp.view()).expect("json"),
            r#"{"kind":"noop"}"#
        );
        let txn = one_of_each()
            .into_iter()
            .find(|(k, _)| *k == EntryKind::Txn)
            .map(|(_, r)| Payload::Request(Box::new(r)))
            .expect("txn");
        let v = serde_json::to_value(txn.view()).expect("json");
        let t = &v["request"]["txn"];
        assert_eq!(t["compare"][0]["result"], "GREATER");
        assert_eq!(t["compare"][0]["target"], "MOD");
        assert_eq!(t["compare"][0]["mod_revision"], 7);
        assert_eq!(t["success"][0]["request_put"]["key"], "s");
        assert_eq!(t["failure"][0]["request_range"]["sort_order"], "NONE");
        assert_eq!(v["request"]["header"]["username"], "root");
        let cc = ConfChange {
            id: 1,
            r#type: 3,
            node_id: u64::MAX,
            context:
                br#"{"id":18446744073709551615,"peerURLs":["http://a:2380"],"isLearner":true}"#
                    .to_vec(),
        };
        let v = serde_json::to_value(decode_entry(1, &cc.encode_to_vec()).view()).expect("json");
        assert_eq!(v["kind"], "conf_change");
        assert_eq!(v["conf_change"]["type"], "ConfChangeAddLearnerNode");
        assert_eq!(v["conf_change"]["node_id"], "ffffffffffffffff");
        assert_eq!(v["member"]["id"], "ffffffffffffffff");
        assert_eq!(v["member"]["is_learner"], true);
        let v = serde_json::to_value(decode_entry(0, &[0xff]).view()).expect("json");
        assert_eq!(v["kind"], "unknown");
        assert!(v["undecodable"]["reason"].is_string());
        // Unknown enum values fall back to the number.
        let a = Payload::Request(Box::new(InternalRaftRequest {
            alarm: Some(AlarmRequest {
                action: 9,
                member_id: 1,
                alarm: 1,
            }),
            ..Default::default()
        }));
        let v = serde_json::to_value(a.view()).expect("json");
        assert_eq!(v["request"]["alarm"]["action"], 9);
        assert_eq!(v["request"]["alarm"]["alarm"], "NOSPACE");
        let keys = serde_json::to_value(txn.keys()).expect("json");
        assert_eq!(keys[0]["op"], "compare");
        assert_eq!(keys[0]["range_end"], "d");
    }
}

//! The v2 store JSON inside a 3.4/3.5 raft snapshot: members under `/0/members/<hexid>`
//! (`raftAttributes` = `{"peerURLs":[…],"isLearner":…}`, `attributes` =
//! `{"name":…,"clientURLs":[…]}`), removed members under `/0/removed_members/<hexid>`,
//! the cluster version under `/0/version`.
//!
//! The JSON is Go's encoding of the v2 store: nodes with `Path`, `Value`, `Children`
//! (children keyed by path component).

use serde_json::Value;

use crate::schema::{Member, merge_member_json};

/// What the v2 store says about membership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct V2Store {
    /// Members, in ID order.
    pub members: Vec<Member>,
    /// Removed member IDs.
    pub removed: Vec<u64>,
    /// `/0/version`.
    pub cluster_version: Option<String>,
    /// Top-level nodes other than `/0` that hold content (v2 keys written by clients, v2
    /// auth users or roles): etcd 3.6 refuses such a store (`membership.IsMetaStoreOnly`).
    pub custom_content: Vec<String>,
}

fn child<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    node.get("Children")?.get(name)
}

fn children(node: &Value) -> impl Iterator<Item = (&String, &Value)> {
    node.get("Children")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter())
}

/// etcd 3.6's `IsMetaStoreOnly` (`server/etcdserver/api/membership/storev2.go@v3.6.14`):
/// any top-level node other than `/0` with children is custom content; since 3.6.3 a `/2`
/// (v2 auth) node counts only when one of its children has children (empty `/2/users`,
/// `/2/roles` are tolerated).
fn custom_content(root: &Value) -> Vec<String> {
    let has_children = |n: &Value| {
        n.get("Children")
            .and_then(Value::as_object)
            .is_some_and(|c| !c.is_empty())
    };
    children(root)
        .filter(|(name, _)| name.as_str() != "0")
        .filter(|(name, node)| {
            if name.as_str() == "2" {
                children(node).any(|(_, c)| has_children(c))
            } else {
                has_children(node)
            }
        })
        .map(|(name, _)| format!("/{name}"))
        .collect()
}

fn hex_id(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

/// Parse the v2 store JSON; the error says what is missing.
pub fn parse(json: &[u8]) -> Result<V2Store, String> {
    let root: Value = serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
    let root = root.get("Root").ok_or("no Root node")?;
    let mut out = V2Store::default();
    let Some(zero) = child(root, "0") else {
        out.custom_content = custom_content(root);
        return Ok(out);
    };
    if let Some(members) = child(zero, "members") {
        for (name, node) in children(members) {
            let Some(id) = hex_id(name) else {
                return Err(format!("member key {name:?} is not a hex id"));
            };
            let mut m = Member {
                id,
                ..Member::default()
            };
            for attr in ["raftAttributes", "attributes"] {
                if let Some(v) = child(node, attr).and_then(|n| n.get("Value")?.as_str()) {
                    let parsed: Value = serde_json::from_str(v)
                        .map_err(|e| format!("member {name} {attr}: not JSON: {e}"))?;
                    merge_member_json(&mut m, &parsed);
                }
            }
            m.id = id;
            out.members.push(m);
        }
    }
    if let Some(removed) = child(zero, "removed_members") {
        for (name, _) in children(removed) {
            out.removed
                .push(hex_id(name).ok_or(format!("removed key {name:?} is not hex"))?);
        }
    }
    out.custom_content = custom_content(root);
    out.cluster_version = child(zero, "version")
        .and_then(|n| n.get("Value")?.as_str())
        .map(str::to_owned);
    out.members.sort_by_key(|m| m.id);
    out.removed.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_from_v2_json() {
        let j = br#"{"Root":{"Children":{"0":{"Children":{
            "members":{"Children":{"4b88d806148bd442":{"Children":{
              "attributes":{"Value":"{\"name\":\"dev1\",\"clientURLs\":[\"http://c\"]}"},
              "raftAttributes":{"Value":"{\"peerURLs\":[\"http://p\"]}"}}}}},
            "removed_members":{"Children":{"ff":{}}},
            "version":{"Value":"3.5.0"}}}}}}"#;
        let s = parse(j).unwrap();
        assert_eq!(s.members.len(), 1);
        let m = &s.members[0];
        assert_eq!((m.id, m.name.as_str()), (0x4b88d806148bd442, "dev1"));
        assert_eq!(m.peer_urls, ["http://p"]);
        assert_eq!(m.client_urls, ["http://c"]);
        assert_eq!(s.removed, [255]);
        assert_eq!(s.cluster_version.as_deref(), Some("3.5.0"));
        assert!(parse(b"{").is_err());
        assert!(parse(b"{}").is_err());
    }
}

//! The `.snap` file a 3.5 restore writes: `snappb.Snapshot{crc, data}` whose data is a
//! `raftpb.Snapshot{data = v2 store JSON, metadata{conf_state, index N, term 1}}`.
//!
//! The v2 store JSON reproduces, byte for byte, what etcdutl 3.5.1 writes for a fresh
//! store in which each member was added with `/0/members/<hex id>/raftAttributes`
//! (checked against the `.snap` files of the fixtures' reference restores): store index i
//! for the i-th member in ascending ID order, one `create` event per member in a 1000-slot
//! event queue, `createSuccess` = N.

use super::ids::go_json_string;

/// Capacity of the v2 store's event history queue (etcd `newEventHistory(1000)`).
const EVENT_QUEUE_CAPACITY: usize = 1000;
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn node(path: &str, index: u64, value: &str, children: Option<String>) -> String {
    let children = children.unwrap_or_else(|| "null".to_owned());
    format!(
        "{{\"Path\":{},\"CreatedIndex\":{index},\"ModifiedIndex\":{index},\"ExpireTime\":\"{ZERO_TIME}\",\"Value\":{},\"Children\":{children}}}",
        go_json_string(path),
        go_json_string(value)
    )
}

/// A member as the v2 store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMember<'a> {
    /// Member ID.
    pub id: u64,
    /// Peer URLs (`raftAttributes`).
    pub peer_urls: &'a [String],
    /// Whether it is a learner (`raftAttributes.isLearner`).
    pub is_learner: bool,
    /// Name and client URLs (`attributes`), once the member published them; a member a
    /// restore bootstraps has none.
    pub attributes: Option<(&'a str, &'a [String])>,
}

fn raft_attributes_json(m: &StoreMember<'_>) -> String {
    let urls: Vec<String> = m.peer_urls.iter().map(|u| go_json_string(u)).collect();
    let mut s = format!("{{\"peerURLs\":[{}]", urls.join(","));
    if m.is_learner {
        s.push_str(",\"isLearner\":true");
    }
    s.push('}');
    s
}

fn attributes_json(name: &str, client_urls: &[String]) -> String {
    // Go: `Name string `json:"name,omitempty"``, `ClientURLs []string `json:"clientURLs,omitempty"``.
    let mut fields = Vec::new();
    if !name.is_empty() {
        fields.push(format!("\"name\":{}", go_json_string(name)));
    }
    if !client_urls.is_empty() {
        let urls: Vec<String> = client_urls.iter().map(|u| go_json_string(u)).collect();
        fields.push(format!("\"clientURLs\":[{}]", urls.join(",")));
    }
    format!("{{{}}}", fields.join(","))
}

/// The v2 store JSON holding `members` (ascending ID order) and, when given, the cluster
/// version (`/0/version`): the one builder, for restore and for a rebuilt `.snap`.
///
/// With no attributes and no version it is byte for byte what etcdutl 3.5 writes for a
/// restore (store index i for the i-th member's `raftAttributes`, one `create` event per
/// member in a 1000-slot event queue, `createSuccess` = N). Attributes take the store
/// indexes after those, the version the one after them.
pub fn v2_store_json(members: &[StoreMember<'_>], cluster_version: Option<&str>) -> String {
    v2_store_json_with(members, cluster_version, 0)
}

/// [`v2_store_json`] with the store's `getsFail` count: etcdutl 3.6+ build the store with
/// one failed get on the way (observed: 1 in etcdutl 3.6.16's and 3.7.3's restores).
pub fn v2_store_json_with(
    members: &[StoreMember<'_>],
    cluster_version: Option<&str>,
    gets_fail: u64,
) -> String {
    let n = members.len() as u64;
    // Children maps are keyed by path component and Go sorts map keys as strings.
    let mut sorted: Vec<(String, u64, &StoreMember<'_>)> = members
        .iter()
        .zip(1u64..)
        .map(|(m, i)| (format!("{:x}", m.id), i, m))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let member_nodes: Vec<String> = sorted
        .iter()
        .map(|(hex, i, m)| {
            let dir = format!("/0/members/{hex}");
            let raft = node(
                &format!("{dir}/raftAttributes"),
                *i,
                &raft_attributes_json(m),
                None,
            );
            let kids = match m.attributes {
                Some((name, clients)) => {
                    let attrs = node(
                        &format!("{dir}/attributes"),
                        n + *i,
                        &attributes_json(name, clients),
                        None,
                    );
                    format!("{{\"attributes\":{attrs},\"raftAttributes\":{raft}}}")
                }
                None => format!("{{\"raftAttributes\":{raft}}}"),
            };
            format!("{}:{}", go_json_string(hex), node(&dir, *i, "", Some(kids)))
        })
        .collect();
    let with_attrs = members.iter().any(|m| m.attributes.is_some());
    let mut current = if with_attrs { 2 * n } else { n };
    let mut zero = Vec::new();
    if !members.is_empty() {
        zero.push(format!(
            "\"members\":{}",
            node(
                "/0/members",
                1,
                "",
                Some(format!("{{{}}}", member_nodes.join(",")))
            )
        ));
    }
    if let Some(v) = cluster_version {
        current += 1;
        zero.push(format!(
            "\"version\":{}",
            node("/0/version", current, v, None)
        ));
    }
    let zero_children = format!("{{{}}}", zero.join(","));
    let root_children = format!(
        "{{\"0\":{},\"1\":{}}}",
        node("/0", 0, "", Some(zero_children)),
        node("/1", 0, "", Some("{}".to_owned()))
    );
    let root = node("/", 0, "", Some(root_children));
    let mut events: Vec<String> = members
        .iter()
        .zip(1u64..)
        .map(|(m, i)| {
            format!(
                "{{\"action\":\"create\",\"node\":{{\"key\":{},\"value\":{},\"modifiedIndex\":{i},\"createdIndex\":{i}}}}}",
                go_json_string(&format!("/0/members/{:x}/raftAttributes", m.id)),
                go_json_string(&raft_attributes_json(m))
            )
        })
        .collect();
    events.truncate(EVENT_QUEUE_CAPACITY);
    let size = events.len();
    events.resize(EVENT_QUEUE_CAPACITY, "null".to_owned());
    let start_index = u64::from(n > 0);
    format!(
        concat!(
            "{{\"Root\":{root},\"WatcherHub\":{{\"EventHistory\":{{\"Queue\":{{\"Events\":[{events}],",
            "\"Size\":{size},\"Front\":0,\"Back\":{back},\"Capacity\":{cap}}},",
            "\"StartIndex\":{start},\"LastIndex\":{n}}}}},\"CurrentIndex\":{current},",
            "\"Stats\":{{\"getsSuccess\":0,\"getsFail\":{gets_fail},\"setsSuccess\":0,\"setsFail\":0,",
            "\"deleteSuccess\":0,\"deleteFail\":0,\"updateSuccess\":0,\"updateFail\":0,",
            "\"createSuccess\":{n},\"createFail\":0,\"compareAndSwapSuccess\":0,",
            "\"compareAndSwapFail\":0,\"compareAndDeleteSuccess\":0,\"compareAndDeleteFail\":0,",
            "\"expireCount\":0,\"watchers\":0}},\"CurrentVersion\":2}}"
        ),
        root = root,
        events = events.join(","),
        size = size,
        back = size % EVENT_QUEUE_CAPACITY,
        cap = EVENT_QUEUE_CAPACITY,
        start = start_index,
        n = n,
        current = current,
        gets_fail = gets_fail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::NewMember;
    use crate::snapfile::decode_snap;
    use etcd_proto::pb::raftpb::ConfState;
    use etcd_proto::snap::{encode_raft_snapshot, encode_snap_file};

    #[test]
    fn matches_etcdutl_351_reference_snap() {
        // The fixture's reference restore (etcdutl 3.5.1, one member r1).
        let dir = testdata::pristine("v35-single").unwrap();
        let snap_dir = dir.join("restore/r1/member/snap");
        let want = std::fs::read(snap_dir.join("0000000000000001-0000000000000001.snap")).unwrap();
        let reference = decode_snap(&snap_dir, &want).unwrap();
        let m = &reference.v2.as_ref().unwrap().members[0];
        let member = NewMember {
            id: m.id,
            name: "r1".to_owned(),
            peer_urls: m.peer_urls.clone(),
        };
        let cs = ConfState {
            voters: vec![m.id],
            ..ConfState::default()
        };
        let data = v2_store_json(&[member.store()], None);
        let got = encode_snap_file(&encode_raft_snapshot(data.as_bytes(), &cs, 1, 1));
        assert_eq!(String::from_utf8_lossy(&reference.snapshot.data), data);
        assert_eq!(got, want);
    }

    #[test]
    fn three_members_parse_back() {
        let members: Vec<NewMember> = [3u64, 0x10, 0xff00]
            .iter()
            .map(|&id| NewMember {
                id,
                name: format!("m{id}"),
                peer_urls: vec![format!("http://127.0.0.1:{id}")],
            })
            .collect();
        let store: Vec<StoreMember<'_>> = members.iter().map(NewMember::store).collect();
        let json = v2_store_json(&store, None);
        let parsed = crate::v2store::parse(json.as_bytes()).unwrap();
        let ids: Vec<u64> = parsed.members.iter().map(|m| m.id).collect();
        assert_eq!(ids, [3, 0x10, 0xff00]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["CurrentIndex"], 3);
        assert_eq!(v["WatcherHub"]["EventHistory"]["Queue"]["Size"], 3);
    }
}

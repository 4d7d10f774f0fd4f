//! The WAL a restore writes for the new member(s): metadata, one AddNode ConfChange per
//! member, HardState and the snapshot record.

use etcd_proto::pb::raftpb::{ConfChange, ConfState, Entry, EntryType, HardState};
use etcd_proto::wire::{put_bytes_field, put_varint_field};
use etcd_wal::writer::SegmentBuilder;

use super::config::RestoreTarget;
use super::ids::NewCluster;

pub(super) fn conf_state(cluster: &NewCluster) -> ConfState {
    ConfState {
        voters: cluster.members.iter().map(|m| m.id).collect(),
        ..ConfState::default()
    }
}
/// Serialize a `raftpb.ConfChange` as gogoproto does (id, type, node_id always; context).
pub fn encode_conf_change(cc: &ConfChange) -> Vec<u8> {
    let mut out = Vec::with_capacity(cc.context.len() + 24);
    put_varint_field(&mut out, 1, cc.id);
    put_varint_field(&mut out, 2, cc.r#type as u64);
    put_varint_field(&mut out, 3, cc.node_id);
    if !cc.context.is_empty() {
        put_bytes_field(&mut out, 4, &cc.context);
    }
    out
}

/// The restore's ConfState as etcdutl of `target` serializes it.
pub(super) fn conf_state_bytes(cluster: &NewCluster, target: RestoreTarget) -> Vec<u8> {
    let cs = conf_state(cluster);
    match target {
        RestoreTarget::V3_7 => etcd_proto::snap::encode_conf_state_3_7(&cs),
        _ => etcd_proto::snap::encode_conf_state(&cs),
    }
}

/// A `raftpb.ConfChange` as etcdutl 3.7 (protobuf-go) writes it: `ID` unset, `Type` and
/// `NodeID` set, context.
fn encode_conf_change_3_7(cc: &ConfChange) -> Vec<u8> {
    let mut out = Vec::with_capacity(cc.context.len() + 24);
    put_varint_field(&mut out, 2, cc.r#type as u64);
    put_varint_field(&mut out, 3, cc.node_id);
    if !cc.context.is_empty() {
        put_bytes_field(&mut out, 4, &cc.context);
    }
    out
}

/// The WAL segment a restore writes for `cluster` (records only; the caller pads it), as
/// etcdutl 3.5 (and 3.6) encodes it.
pub fn wal_segment(cluster: &NewCluster) -> Vec<u8> {
    wal_segment_for(cluster, RestoreTarget::V3_5)
}

/// [`wal_segment`] as etcdutl of `target` encodes it (3.7: no ConfChange `ID`, no
/// ConfState `auto_leave`).
pub fn wal_segment_for(cluster: &NewCluster, target: RestoreTarget) -> Vec<u8> {
    let proto_go = target == RestoreTarget::V3_7;
    let n = cluster.members.len() as u64;
    let mut b = SegmentBuilder::new(0);
    b.metadata(cluster.local_id, cluster.cluster_id);
    b.snapshot(0, 0, None);
    for (m, index) in cluster.members.iter().zip(1u64..) {
        let cc = ConfChange {
            id: 0,
            r#type: etcd_proto::pb::raftpb::ConfChangeType::ConfChangeAddNode as i32,
            node_id: m.id,
            context: m.json().into_bytes(),
        };
        b.entry(&Entry {
            r#type: EntryType::EntryConfChange as i32,
            term: 1,
            index,
            data: if proto_go {
                encode_conf_change_3_7(&cc)
            } else {
                encode_conf_change(&cc)
            },
        });
    }
    let vote = cluster.members.first().map_or(0, |m| m.id);
    b.hard_state(&HardState {
        term: 1,
        vote,
        commit: n,
    });
    b.snapshot_with(n, 1, &conf_state_bytes(cluster, target));
    b.finish(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_matches_etcdutl_351_reference() {
        let dir = testdata::pristine("v35-single").unwrap();
        let want =
            std::fs::read(dir.join("restore/r1/member/wal/0000000000000000-0000000000000000.wal"))
                .unwrap();
        let meta = testdata::config_meta("v35-single").unwrap();
        // The reference restore used --initial-cluster r1=http://127.0.0.1:<base+51>.
        let snap = crate::snapfile::read_snap(
            dir.join("restore/r1/member/snap/0000000000000001-0000000000000001.snap"),
        )
        .unwrap();
        let url = snap.v2.unwrap().members[0].peer_urls[0].clone();
        let _ = meta;
        let c = NewCluster::from_flags(
            "r1",
            &format!("r1={url}"),
            "wal-inspect-fixtures-restore",
            &url,
        )
        .unwrap();
        let got = wal_segment(&c);
        assert_eq!(got.as_slice(), &want[..got.len()]);
        assert!(want[got.len()..].iter().all(|&b| b == 0));
    }
}

//! Encoding a `.snap` file (etcd `server/etcdserver/api/snap/snapshotter.go` `save`,
//! 3.4–3.6): the one encoder, used by restore and by WAL rebuild.
//!
//! ```text
//! snappb.snapshot (proto2)
//!   1 crc  uint32  CRC-32C of `data` (plain, from 0)
//!   2 data bytes   serialized raftpb.Snapshot
//! raftpb.Snapshot
//!   1 data      bytes             v2 store JSON
//!   2 metadata  SnapshotMetadata  {1 conf_state, 2 index, 3 term}
//! ```

use crate::pb::raftpb::ConfState;
use crate::wire::{put_bytes_field, put_varint_field};

/// The file name etcd gives a `.snap` of `(term, index)`: `%016x-%016x.snap`.
pub fn snap_file_name(term: u64, index: u64) -> String {
    format!("{term:016x}-{index:016x}.snap")
}

/// Serialize a `raftpb.ConfState` as gogoproto does (repeated fields unpacked, `auto_leave`
/// always emitted).
pub fn encode_conf_state(c: &ConfState) -> Vec<u8> {
    let mut out = Vec::new();
    for (field, ids) in [
        (1, &c.voters),
        (2, &c.learners),
        (3, &c.voters_outgoing),
        (4, &c.learners_next),
    ] {
        for &id in ids.iter() {
            put_varint_field(&mut out, field, id);
        }
    }
    put_varint_field(&mut out, 5, u64::from(c.auto_leave));
    out
}

/// Serialize a `raftpb.ConfState` as etcd 3.7 (protobuf-go) does when etcd builds it:
/// `auto_leave` only when set.
pub fn encode_conf_state_3_7(c: &ConfState) -> Vec<u8> {
    let mut out = encode_conf_state(&ConfState {
        auto_leave: false,
        ..c.clone()
    });
    out.truncate(out.len() - 2); // the `28 00` of a false auto_leave
    if c.auto_leave {
        put_varint_field(&mut out, 5, 1);
    }
    out
}

/// Serialize a `raftpb.Snapshot` as gogoproto does (data, then metadata with conf_state,
/// index and term, every scalar emitted).
pub fn encode_raft_snapshot(
    v2_json: &[u8],
    conf_state: &ConfState,
    index: u64,
    term: u64,
) -> Vec<u8> {
    encode_raft_snapshot_with(v2_json, &encode_conf_state(conf_state), index, term)
}

/// [`encode_raft_snapshot`] with the ConfState already serialized (as a release encodes it).
pub fn encode_raft_snapshot_with(
    v2_json: &[u8],
    conf_state: &[u8],
    index: u64,
    term: u64,
) -> Vec<u8> {
    let mut meta = Vec::new();
    put_bytes_field(&mut meta, 1, conf_state);
    put_varint_field(&mut meta, 2, index);
    put_varint_field(&mut meta, 3, term);
    let mut out = Vec::with_capacity(v2_json.len() + meta.len() + 16);
    put_bytes_field(&mut out, 1, v2_json);
    put_bytes_field(&mut out, 2, &meta);
    out
}

/// The bytes of a `.snap` file holding `raft_snapshot` (a serialized `raftpb.Snapshot`):
/// `snappb.Snapshot{crc = CRC-32C(data), data}`.
pub fn encode_snap_file(raft_snapshot: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raft_snapshot.len() + 16);
    put_varint_field(
        &mut out,
        1,
        u64::from(crate::crc32c::checksum(raft_snapshot)),
    );
    put_bytes_field(&mut out, 2, raft_snapshot);
    out
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::pb::raftpb::Snapshot;

    #[test]
    fn round_trips_through_prost() {
        let cs = ConfState {
            voters: vec![7, 9],
            ..ConfState::default()
        };
        let raw = encode_raft_snapshot(b"{\"Root\":{}}", &cs, 1234, 5);
        let s = Snapshot::decode(raw.as_slice()).unwrap();
        let m = s.metadata.unwrap();
        assert_eq!((m.index, m.term), (1234, 5));
        assert_eq!(m.conf_state.unwrap().voters, vec![7, 9]);
        assert_eq!(s.data, b"{\"Root\":{}}");
        let file = encode_snap_file(&raw);
        assert!(file.ends_with(&raw));
        assert_eq!(
            snap_file_name(2, 0x1f5),
            "0000000000000002-00000000000001f5.snap"
        );
    }
}

//! `.snap` files: `snappb.Snapshot {1 crc uint32, 2 data bytes}` whose `data` is a
//! `raftpb.Snapshot` (CRC-32C of `data`, from 0). Checks run in etcd's order
//! (`snap.Read`, etcd 3.4/3.5 `etcdserver/api/snap/snapshotter.go`):
//! empty file → snappb decode → empty data or crc 0 → crc mismatch → raftpb decode.
//!
//! A `.snap` file is read whole, as etcd does (in 3.4/3.5 it holds the v2 store JSON,
//! usually a few KiB).

use std::path::Path;

use etcd_proto::RaftPos;
use etcd_proto::pb::raftpb::{ConfState, Snapshot};
use prost::Message;

use crate::error::{Error, Result};
use crate::v2store::{self, V2Store};

/// `snappb.Snapshot`, the envelope of a `.snap` file.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SnapEnvelope {
    /// CRC-32C (Castagnoli) of `data`.
    #[prost(uint32, tag = "1")]
    pub crc: u32,
    /// Serialized `raftpb.Snapshot`.
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// A decoded `.snap` file.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapFile {
    /// The stored (and verified) CRC.
    pub crc: u32,
    /// Length of the `data` field in bytes.
    pub data_len: u64,
    /// Raft index of the snapshot.
    pub index: u64,
    /// Raft term of the snapshot.
    pub term: u64,
    /// Membership at the snapshot (empty if the metadata has none).
    pub conf_state: ConfState,
    /// The decoded raft snapshot (its `data` is the v2 store JSON in 3.4/3.5).
    pub snapshot: Snapshot,
    /// Members etc. from the v2 store JSON, or why it could not be read.
    pub v2: Result<V2Store, String>,
}

/// Read and decode a `.snap` file, failing with etcd's error for the first check that fails.
pub fn read_snap(path: impl AsRef<Path>) -> Result<SnapFile> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_snap(path, &bytes)
}

/// Decode the bytes of a `.snap` file (`path` only labels errors).
pub fn decode_snap(path: &Path, bytes: &[u8]) -> Result<SnapFile> {
    let path_buf = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(Error::SnapEmpty { path: path_buf() });
    }
    let env = SnapEnvelope::decode(bytes).map_err(|source| Error::SnapDecode {
        path: path_buf(),
        source,
    })?;
    if env.data.is_empty() || env.crc == 0 {
        return Err(Error::SnapEmpty { path: path_buf() });
    }
    let computed = etcd_proto::crc32c::checksum(&env.data);
    if computed != env.crc {
        return Err(Error::SnapCrcMismatch {
            path: path_buf(),
            stored: env.crc,
            computed,
        });
    }
    let snapshot =
        Snapshot::decode(env.data.as_slice()).map_err(|source| Error::SnapRaftDecode {
            path: path_buf(),
            source,
        })?;
    let md = snapshot.metadata.clone().unwrap_or_default();
    let v2 = v2store::parse(&snapshot.data);
    Ok(SnapFile {
        crc: env.crc,
        data_len: env.data.len() as u64,
        index: md.index,
        term: md.term,
        conf_state: md.conf_state.unwrap_or_default(),
        snapshot,
        v2,
    })
}

/// Parse a `.snap` file name `<term:016x>-<index:016x>.snap` (the name etcd writes, see
/// [`etcd_proto::snap::snap_file_name`]).
pub fn parse_snap_name(name: &str) -> Option<RaftPos> {
    let stem = name.strip_suffix(".snap")?;
    let (t, i) = stem.split_once('-')?;
    if t.len() != 16 || i.len() != 16 {
        return None;
    }
    Some(RaftPos {
        term: u64::from_str_radix(t, 16).ok()?,
        index: u64::from_str_radix(i, 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::pb::raftpb::SnapshotMetadata;

    fn encode(crc: Option<u32>, data: &[u8]) -> Vec<u8> {
        let env = SnapEnvelope {
            crc: crc.unwrap_or_else(|| etcd_proto::crc32c::checksum(data)),
            data: data.to_vec(),
        };
        env.encode_to_vec()
    }

    fn raft_snap() -> Vec<u8> {
        Snapshot {
            data: br#"{"Root":{}}"#.to_vec(),
            metadata: Some(SnapshotMetadata {
                conf_state: Some(ConfState {
                    voters: vec![7],
                    ..ConfState::default()
                }),
                index: 906,
                term: 2,
            }),
        }
        .encode_to_vec()
    }

    #[test]
    fn checks_in_etcds_order() {
        let p = Path::new("x.snap");
        assert_eq!(
            decode_snap(p, b"").unwrap_err().kind(),
            crate::ErrorKind::SnapEmpty
        );
        assert_eq!(
            decode_snap(p, b"\xff\xff").unwrap_err().kind(),
            crate::ErrorKind::SnapDecode
        );
        assert_eq!(
            decode_snap(p, &encode(None, b"")).unwrap_err().kind(),
            crate::ErrorKind::SnapEmpty
        );
        assert_eq!(
            decode_snap(p, &encode(Some(0), b"abc")).unwrap_err().kind(),
            crate::ErrorKind::SnapEmpty
        );
        let e = decode_snap(p, &encode(Some(1), b"abc")).unwrap_err();
        assert!(matches!(e, Error::SnapCrcMismatch { stored: 1, .. }));
        assert_eq!(
            decode_snap(p, &encode(None, b"\xff\xff"))
                .unwrap_err()
                .kind(),
            crate::ErrorKind::SnapRaftDecode
        );
        let s = decode_snap(p, &encode(None, &raft_snap())).unwrap();
        assert_eq!(
            (s.term, s.index, s.conf_state.voters.as_slice()),
            (2, 906, &[7u64][..])
        );
    }

    #[test]
    fn names() {
        assert_eq!(
            parse_snap_name("0000000000000002-000000000000038a.snap"),
            Some(RaftPos {
                term: 2,
                index: 906
            })
        );
        assert_eq!(
            etcd_proto::snap::snap_file_name(2, 906),
            "0000000000000002-000000000000038a.snap"
        );
        assert_eq!(parse_snap_name("2-38a.snap"), None);
        assert_eq!(
            parse_snap_name("0000000000000002-000000000000038a.snap.broken"),
            None
        );
    }
}

//! A big, byte-valid WAL: what etcd writes for a stream of Kubernetes-sized puts.

use std::io::Write;
use std::path::Path;

use etcd_proto::pb::etcdserverpb::{InternalRaftRequest, PutRequest, RequestHeader};
use etcd_proto::pb::raftpb::{Entry, HardState};
use etcd_wal::segment::SegmentName;
use etcd_wal::writer::{SEGMENT_SIZE, SegmentBuilder};
use prost::Message;

pub const NODE: u64 = 0x8e9e_05c5_2164_694d;
const CLUSTER: u64 = 0xcdf8_1819_4e3a_8c32;

/// Make sure `dir` holds a WAL of about `target` bytes; returns its size in bytes.
pub fn ensure_wal(dir: &Path, target: u64) -> std::io::Result<u64> {
    let done = dir.join("..").join(".complete");
    if done.exists() {
        return total_size(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut written = 0u64;
    let mut seq = 0u64;
    let mut index = 1u64;
    let mut prev_crc = 0u32;
    let mut hs = HardState {
        term: 2,
        vote: NODE,
        commit: 0,
    };
    // Values like Kubernetes objects: built-in kinds are stored as protobuf behind the
    // `k8s\0` magic (binary, so dump prints them as base64), custom resources as JSON text
    // (three in four are protobuf here).
    let json: Vec<u8> = (0..256 * 1024)
        .map(|i| {
            b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}} "[i % 62]
        })
        .collect();
    let mut proto: Vec<u8> = b"k8s\0\n\x0b\n\x02v1\x12\x05Secret\x12".to_vec();
    while proto.len() < 256 * 1024 {
        let r = next();
        proto.extend_from_slice(&r.to_le_bytes());
    }
    while written < target {
        let name = SegmentName {
            seq,
            index: if seq == 0 { 0 } else { index },
        };
        let mut b = SegmentBuilder::new(prev_crc);
        b.metadata(NODE, CLUSTER);
        if seq == 0 {
            b.snapshot(0, 0, None);
        } else {
            b.hard_state(&hs);
        }
        // etcd cuts a segment once a write has taken it past 64,000,000 bytes.
        while b.len() < SEGMENT_SIZE && written + b.len() < target {
            let len = 1024 + (next() % (100 * 1024 - 1024)) as usize;
            let pool = if next() % 4 == 0 { &json } else { &proto };
            // Protobuf values keep their magic prefix; JSON ones start anywhere.
            let start = if std::ptr::eq(pool, &proto) {
                0
            } else {
                (next() % (pool.len() - len) as u64) as usize
            };
            let req = InternalRaftRequest {
                header: Some(RequestHeader {
                    id: index,
                    ..Default::default()
                }),
                put: Some(PutRequest {
                    key: format!("/registry/configmaps/default/cm-{}", index % 5000).into_bytes(),
                    value: pool[start..start + len].to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            b.entry(&Entry {
                r#type: 0,
                term: 2,
                index,
                data: req.encode_to_vec(),
            });
            hs.commit = index;
            index += 1;
            if index % 8 == 0 {
                b.hard_state(&hs);
            }
        }
        b.hard_state(&hs);
        prev_crc = b.crc();
        // Only the last (active) segment keeps its preallocated zero tail.
        let last = written + b.len() >= target;
        let bytes = b.finish(if last { Some(SEGMENT_SIZE) } else { None });
        written += bytes.len() as u64;
        let mut f = std::fs::File::create(dir.join(name.file_name()))?;
        f.write_all(&bytes)?;
        seq += 1;
    }
    std::fs::File::create(&done)?;
    total_size(dir)
}

fn total_size(dir: &Path) -> std::io::Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir)? {
        n += e?.metadata()?.len();
    }
    Ok(n)
}

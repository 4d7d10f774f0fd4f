//! Hand-built WAL segments for the damage tests.
#![allow(dead_code)]

use std::path::Path;

use etcd_proto::pb::raftpb::{ConfState, Entry, HardState};
use etcd_wal::scan::{self, Scan};
use etcd_wal::writer::SegmentBuilder;

pub const SEG0: &str = "0000000000000000-0000000000000000.wal";

/// A small segment: crc, metadata, snapshot{0,0}, `n` entries with varied sizes (some
/// spanning 512-byte sectors), a HardState and a snapshot record. Returns the bytes and
/// the offsets of every record, plus (offset, index, term) of each entry.
pub struct Built {
    pub bytes: Vec<u8>,
    pub offsets: Vec<u64>,
    pub entries: Vec<(u64, u64, u64)>,
    pub end: u64,
}

pub fn build(n: u64, prealloc: Option<u64>) -> Built {
    let mut b = SegmentBuilder::new(0);
    b.metadata(0x1234, 0x5678);
    b.snapshot(0, 0, None);
    let mut entries = Vec::new();
    for i in 1..=n {
        let size = ((i * 97) % 700) as usize;
        let e = Entry {
            r#type: 0,
            term: 2,
            index: i,
            data: vec![(i as u8) | 1; size],
        };
        let off = b.entry(&e);
        entries.push((off, i, 2));
    }
    b.hard_state(&HardState {
        term: 2,
        vote: 0x1234,
        commit: n,
    });
    b.snapshot(
        n,
        2,
        Some(&ConfState {
            voters: vec![0x1234],
            ..ConfState::default()
        }),
    );
    let offsets = b.offsets().to_vec();
    let end = b.len();
    Built {
        bytes: b.finish(prealloc),
        offsets,
        entries,
        end,
    }
}

pub fn scan_bytes(dir: &Path, segments: &[(&str, &[u8])]) -> Scan {
    for entry in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    for (name, bytes) in segments {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    scan::scan_dir(dir).unwrap()
}

/// Index of the record whose frame contains byte `off`.
pub fn record_at(offsets: &[u64], end: u64, off: u64) -> usize {
    assert!(off < end);
    offsets.iter().rposition(|&o| o <= off).unwrap()
}

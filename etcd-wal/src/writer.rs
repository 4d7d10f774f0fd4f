//! Encoding WAL records and segments as etcd writes them (gogoproto field order, every
//! non-nullable scalar emitted even when zero). Used by restore and repair, and by tests
//! to build inputs to damage.

use crate::crc::CrcChain;
use crate::frame::Frame;
use crate::pb::raftpb::{ConfState, Entry, HardState};
use crate::record::{Record, RecordType};
use crate::wire::{put_bytes_field, put_varint, put_varint_field};

/// etcd's preallocated segment size (`SegmentSizeBytes`), in bytes (decimal, not MiB).
pub const SEGMENT_SIZE: u64 = 64 * 1000 * 1000;

/// Serialize a `raftpb.Entry` as gogoproto does (type, term, index always; data when set).
pub fn encode_entry(e: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.data.len() + 24);
    put_varint_field(&mut out, 1, e.r#type as u64);
    put_varint_field(&mut out, 2, e.term);
    put_varint_field(&mut out, 3, e.index);
    if !e.data.is_empty() {
        put_bytes_field(&mut out, 4, &e.data);
    }
    out
}

/// Serialize a `raftpb.HardState` (all three fields always).
pub fn encode_hard_state(h: &HardState) -> Vec<u8> {
    let mut out = Vec::with_capacity(30);
    put_varint_field(&mut out, 1, h.term);
    put_varint_field(&mut out, 2, h.vote);
    put_varint_field(&mut out, 3, h.commit);
    out
}

use etcd_proto::snap::encode_conf_state;

/// Serialize a `walpb.Snapshot` (index, term always; conf_state when given).
pub fn encode_wal_snapshot(index: u64, term: u64, conf_state: Option<&ConfState>) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint_field(&mut out, 1, index);
    put_varint_field(&mut out, 2, term);
    if let Some(c) = conf_state {
        put_bytes_field(&mut out, 3, &encode_conf_state(c));
    }
    out
}

/// Serialize `etcdserverpb.Metadata` (both IDs always).
pub fn encode_metadata(node_id: u64, cluster_id: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(22);
    put_varint_field(&mut out, 1, node_id);
    put_varint_field(&mut out, 2, cluster_id);
    out
}

/// Builds one segment's bytes in memory, chaining the CRC as etcd's encoder does.
#[derive(Debug, Clone)]
pub struct SegmentBuilder {
    buf: Vec<u8>,
    crc: CrcChain,
    /// Byte offset of each record's length word, in order.
    offsets: Vec<u64>,
}

impl SegmentBuilder {
    /// A segment starting with a crc record holding `prev_crc` (0 for a fresh WAL).
    pub fn new(prev_crc: u32) -> Self {
        let mut b = SegmentBuilder {
            buf: Vec::new(),
            crc: CrcChain::new(prev_crc),
            offsets: Vec::new(),
        };
        b.push(RecordType::Crc, &[]);
        b
    }

    /// Append a record of type `ty` with `data`; returns its offset.
    pub fn push(&mut self, ty: RecordType, data: &[u8]) -> u64 {
        let crc = if ty == RecordType::Crc {
            self.crc.value()
        } else {
            self.crc.update(data)
        };
        let mut rec = Vec::with_capacity(data.len() + 16);
        Record {
            raw_type: ty.raw(),
            crc,
            data,
        }
        .encode(&mut rec);
        self.push_raw(&rec)
    }

    /// Append an already serialized `walpb.Record` (for tests that need odd records).
    pub fn push_raw(&mut self, rec: &[u8]) -> u64 {
        let off = self.buf.len() as u64;
        let frame = Frame::for_record(rec.len() as u64);
        self.buf.extend_from_slice(&frame.encode().to_le_bytes());
        self.buf.extend_from_slice(rec);
        self.buf.resize(self.buf.len() + frame.pad as usize, 0);
        self.offsets.push(off);
        off
    }

    /// Append a metadata record.
    pub fn metadata(&mut self, node_id: u64, cluster_id: u64) -> u64 {
        self.push(RecordType::Metadata, &encode_metadata(node_id, cluster_id))
    }

    /// Append an entry record.
    pub fn entry(&mut self, e: &Entry) -> u64 {
        self.push(RecordType::Entry, &encode_entry(e))
    }

    /// Append a state record.
    pub fn hard_state(&mut self, h: &HardState) -> u64 {
        self.push(RecordType::State, &encode_hard_state(h))
    }

    /// Append a snapshot record.
    pub fn snapshot(&mut self, index: u64, term: u64, conf_state: Option<&ConfState>) -> u64 {
        self.push(
            RecordType::Snapshot,
            &encode_wal_snapshot(index, term, conf_state),
        )
    }

    /// A snapshot record whose ConfState is already serialized (as a given release
    /// encodes it).
    pub fn snapshot_with(&mut self, index: u64, term: u64, conf_state: &[u8]) -> u64 {
        let mut out = Vec::new();
        put_varint_field(&mut out, 1, index);
        put_varint_field(&mut out, 2, term);
        put_bytes_field(&mut out, 3, conf_state);
        self.push(RecordType::Snapshot, &out)
    }

    /// Running CRC after the last record.
    pub fn crc(&self) -> u32 {
        self.crc.value()
    }

    /// Offsets of the records' length words, in order.
    pub fn offsets(&self) -> &[u64] {
        &self.offsets
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.buf.len() as u64
    }

    /// Whether nothing was written (never: a segment starts with its crc record).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The segment bytes, optionally zero-padded to `size` (etcd preallocates).
    pub fn finish(mut self, size: Option<u64>) -> Vec<u8> {
        if let Some(size) = size {
            if size > self.buf.len() as u64 {
                self.buf.resize(size as usize, 0);
            }
        }
        self.buf
    }
}

/// Append a varint (re-exported for writers of other payloads).
pub fn varint(out: &mut Vec<u8>, v: u64) {
    put_varint(out, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_etcd_test_vector() {
        // etcd server/storage/wal/testdata/TestNew.wal: crc(0), metadata "somedata",
        // snapshot {0, 0} (etcd's wal.Create), 72 bytes.
        let mut b = SegmentBuilder::new(0);
        b.push(RecordType::Metadata, b"somedata");
        b.snapshot(0, 0, None);
        let bytes = b.finish(None);
        let want: Vec<u8> = [
            &[
                0x04, 0, 0, 0, 0, 0, 0, 0x84, 0x08, 0x04, 0x10, 0x00, 0, 0, 0, 0,
            ][..],
            &[
                0x12, 0, 0, 0, 0, 0, 0, 0x86, 0x08, 0x01, 0x10, 0x85, 0xd4, 0xfd, 0xa0, 0x07, 0x1a,
                0x08,
            ],
            b"somedata",
            &[0; 6],
            &[
                0x0e, 0, 0, 0, 0, 0, 0, 0x82, 0x08, 0x05, 0x10, 0x80, 0xdb, 0x81, 0xc1, 0x01, 0x1a,
                0x04,
            ],
            &[0x08, 0x00, 0x10, 0x00, 0, 0],
        ]
        .concat();
        assert_eq!(bytes, want);
    }
}

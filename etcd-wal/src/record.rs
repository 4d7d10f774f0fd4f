//! `walpb.Record` and the payload headers the verifier needs, decoded without copying.
//!
//! ```text
//! walpb.Record (proto2)
//!   1 type  int64   record type, see RecordType
//!   2 crc   uint32  running CRC-32C after this record's data
//!   3 data  bytes   payload (absent in crc records)
//! ```
//! Decoding mirrors gogoproto's `Record.Unmarshal` in etcd 3.4/3.5, including which
//! failures count as "unexpected EOF" (see [`crate::wire`]).

use std::fmt;

use prost::Message;

use crate::pb;
use crate::wire::{self, Fields, Value, WireError};

/// The record types etcd writes (`wal/wal.go`: consecutive constants from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RecordType {
    /// 1: `etcdserverpb.Metadata` (node and cluster ID).
    Metadata,
    /// 2: `raftpb.Entry`.
    Entry,
    /// 3: `raftpb.HardState`.
    State,
    /// 4: no data; `crc` carries the running CRC of everything before it.
    Crc,
    /// 5: `walpb.Snapshot`.
    Snapshot,
}

impl RecordType {
    /// The type for a raw `type` field, if etcd writes it.
    pub fn from_raw(raw: i64) -> Option<RecordType> {
        match raw {
            1 => Some(RecordType::Metadata),
            2 => Some(RecordType::Entry),
            3 => Some(RecordType::State),
            4 => Some(RecordType::Crc),
            5 => Some(RecordType::Snapshot),
            _ => None,
        }
    }

    /// The raw value of the `type` field.
    pub fn raw(self) -> i64 {
        match self {
            RecordType::Metadata => 1,
            RecordType::Entry => 2,
            RecordType::State => 3,
            RecordType::Crc => 4,
            RecordType::Snapshot => 5,
        }
    }

    /// Lower-case name used in output (`metadata`, `entry`, `state`, `crc`, `snapshot`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Metadata => "metadata",
            RecordType::Entry => "entry",
            RecordType::State => "state",
            RecordType::Crc => "crc",
            RecordType::Snapshot => "snapshot",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One WAL record, borrowing its data from the segment buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Raw `type` field (see [`RecordType::from_raw`]).
    pub raw_type: i64,
    /// Stored running CRC.
    pub crc: u32,
    /// Payload (empty when absent).
    pub data: &'a [u8],
}

impl fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("raw_type", &self.raw_type)
            .field("crc", &format_args!("{:#010x}", self.crc))
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl<'a> Record<'a> {
    /// Decode a serialized `walpb.Record` (the `recBytes` after a length word).
    pub fn decode(buf: &'a [u8]) -> Result<Record<'a>, WireError> {
        let mut rec = Record {
            raw_type: 0,
            crc: 0,
            data: &[],
        };
        let mut fields = Fields::new(buf);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 => rec.raw_type = wire::varint(field, value)? as i64,
                2 => rec.crc = wire::varint(field, value)? as u32,
                3 => rec.data = wire::bytes(field, value)?,
                _ => {}
            }
        }
        Ok(rec)
    }

    /// The record type, if etcd writes it.
    pub fn record_type(&self) -> Option<RecordType> {
        RecordType::from_raw(self.raw_type)
    }

    /// Serialize as etcd does (fields in order; `data` omitted for crc records).
    pub fn encode(&self, out: &mut Vec<u8>) {
        wire::put_varint_field(out, 1, self.raw_type as u64);
        wire::put_varint_field(out, 2, u64::from(self.crc));
        if self.raw_type != RecordType::Crc.raw() {
            wire::put_bytes_field(out, 3, self.data);
        }
    }
}

/// The header of a `raftpb.Entry`, with its data borrowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// Raw `EntryType` (0 normal, 1 conf change, 2 conf change v2).
    pub entry_type: i32,
    /// Raft term.
    pub term: u64,
    /// Raft index.
    pub index: u64,
    /// Entry payload.
    pub data: &'a [u8],
}

impl fmt::Debug for EntryRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryRef")
            .field("entry_type", &self.entry_type)
            .field("term", &self.term)
            .field("index", &self.index)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl<'a> EntryRef<'a> {
    /// Decode a serialized `raftpb.Entry` (fields 1 Type, 2 Term, 3 Index, 4 Data).
    pub fn decode(buf: &'a [u8]) -> Result<EntryRef<'a>, WireError> {
        let mut e = EntryRef {
            entry_type: 0,
            term: 0,
            index: 0,
            data: &[],
        };
        let mut fields = Fields::new(buf);
        while let Some((field, value)) = fields.next()? {
            match field {
                1 => e.entry_type = wire::varint(field, value)? as i32,
                2 => e.term = wire::varint(field, value)?,
                3 => e.index = wire::varint(field, value)?,
                4 => e.data = wire::bytes(field, value)?,
                _ => {}
            }
        }
        Ok(e)
    }

    /// Best effort for damaged records: the term and index fields that can still be read
    /// from the front of `buf` before the damage (etcd writes them first).
    pub fn salvage_header(buf: &[u8]) -> (Option<u64>, Option<u64>) {
        let (mut term, mut index) = (None, None);
        let mut fields = Fields::new(buf);
        while let Ok(Some((field, value))) = fields.next() {
            match (field, value) {
                (2, Value::Varint(v)) => term = Some(v),
                (3, Value::Varint(v)) => index = Some(v),
                (4, _) => break,
                _ => {}
            }
        }
        (term, index)
    }
}

/// Best effort: the entry header (term, index) inside a damaged record's bytes: reads the
/// record's fields leniently (a `data` field cut short yields what is there) and then the
/// entry fields that precede the damage.
pub fn salvage_entry_header(record_bytes: &[u8]) -> (Option<u64>, Option<u64>) {
    let mut fields = Fields::lenient(record_bytes);
    let mut is_entry = false;
    while let Ok(Some((field, value))) = fields.next() {
        match (field, value) {
            (1, Value::Varint(t)) => is_entry = t == RecordType::Entry.raw() as u64,
            (3, Value::Bytes(d)) if is_entry => return EntryRef::salvage_header(d),
            _ => {}
        }
    }
    (None, None)
}

/// Decode a metadata record's payload (etcd's `mustUnmarshal` panics where this fails).
pub fn decode_metadata(data: &[u8]) -> Result<pb::etcdserverpb::Metadata, prost::DecodeError> {
    pb::etcdserverpb::Metadata::decode(data)
}

/// Decode a state record's payload.
pub fn decode_hard_state(data: &[u8]) -> Result<pb::raftpb::HardState, prost::DecodeError> {
    pb::raftpb::HardState::decode(data)
}

/// Decode a snapshot record's payload.
pub fn decode_snapshot(data: &[u8]) -> Result<pb::walpb::Snapshot, prost::DecodeError> {
    pb::walpb::Snapshot::decode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_etcd_test_vector_records() {
        // From etcd's TestNew.wal (wal/wal_test.go): crc record, metadata "somedata".
        let crc = [0x08, 0x04, 0x10, 0x00];
        let r = Record::decode(&crc).unwrap();
        assert_eq!(r.record_type(), Some(RecordType::Crc));
        assert_eq!(r.crc, 0);
        let meta = b"\x08\x01\x10\x85\xd4\xfd\xa0\x07\x1a\x08somedata";
        let r = Record::decode(meta).unwrap();
        assert_eq!(r.record_type(), Some(RecordType::Metadata));
        assert_eq!(r.crc, 0x741f_6a05);
        assert_eq!(r.data, b"somedata");
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out, meta);
    }

    #[test]
    fn entry_header_and_salvage() {
        let entry = pb::raftpb::Entry {
            r#type: 0,
            term: 7,
            index: 42,
            data: vec![1; 40],
        };
        let bytes = entry.encode_to_vec();
        let e = EntryRef::decode(&bytes).unwrap();
        assert_eq!((e.term, e.index, e.data.len()), (7, 42, 40));
        let mut rec = Vec::new();
        Record {
            raw_type: 2,
            crc: 5,
            data: &bytes,
        }
        .encode(&mut rec);
        assert_eq!(salvage_entry_header(&rec), (Some(7), Some(42)));
        // Cut in the middle of the entry data: header still readable.
        assert_eq!(
            salvage_entry_header(&rec[..rec.len() - 10]),
            (Some(7), Some(42))
        );
        assert_eq!(salvage_entry_header(&rec[..3]), (None, None));
    }
}

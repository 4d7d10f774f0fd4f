//! Encode → decode round trips: length words, records, entries, HardState, snapshot and
//! metadata records, and entry payloads (InternalRaftRequest put, v2 Request, ConfChange).

use etcd_proto::pb::etcdserverpb::{InternalRaftRequest, PutRequest, Request, RequestHeader};
use etcd_proto::pb::raftpb::{ConfChange, ConfState, Entry, HardState};
use etcd_wal::RecordType;
use etcd_wal::frame::{Frame, LEN_WORD_BYTES};
use etcd_wal::payload::{self, Payload};
use etcd_wal::record::{self, EntryRef, Record};
use etcd_wal::writer;
use proptest::prelude::*;
use prost::Message;

fn record_type() -> impl Strategy<Value = RecordType> {
    prop_oneof![
        Just(RecordType::Metadata),
        Just(RecordType::Entry),
        Just(RecordType::State),
        Just(RecordType::Crc),
        Just(RecordType::Snapshot),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn frame_for_record_round_trips(rec_len in 0u64..(1 << 56)) {
        let f = Frame::for_record(rec_len);
        prop_assert!(f.pad < 8);
        prop_assert_eq!((rec_len + f.pad) % 8, 0);
        prop_assert_eq!(Frame::decode(f.encode()), f);
        prop_assert_eq!(f.total_len(), LEN_WORD_BYTES + rec_len + f.pad);
    }

    #[test]
    fn any_length_word_decodes_to_a_stable_frame(word in any::<u64>()) {
        let f = Frame::decode(word);
        prop_assert!(f.pad < 8);
        prop_assert_eq!(Frame::decode(f.encode()), f);
        // Only bits 59..=62 are ignored (and the pad bits when bit 63 is clear).
        prop_assert_eq!(f.rec_len, word & 0x00FF_FFFF_FFFF_FFFF);
    }

    #[test]
    fn record_round_trips(ty in record_type(), crc in any::<u32>(),
                          data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let data = if ty == RecordType::Crc { Vec::new() } else { data };
        let rec = Record { raw_type: ty.raw(), crc, data: &data };
        let mut out = Vec::new();
        rec.encode(&mut out);
        let back = Record::decode(&out).unwrap();
        prop_assert_eq!(back, rec);
        prop_assert_eq!(back.record_type(), Some(ty));
    }

    #[test]
    fn entry_round_trips(entry_type in 0i32..3, term in any::<u64>(), index in any::<u64>(),
                         data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let e = Entry { r#type: entry_type, term, index, data: data.clone() };
        let bytes = writer::encode_entry(&e);
        let r = EntryRef::decode(&bytes).unwrap();
        prop_assert_eq!((r.entry_type, r.term, r.index, r.data), (entry_type, term, index, &data[..]));
        // The header survives in a salvage even with the tail cut off.
        let cut = &bytes[..bytes.len().min(bytes.len() - data.len())];
        prop_assert_eq!(EntryRef::salvage_header(cut), (Some(term), Some(index)));
        // And prost (the generated type) agrees with the hand-written encoder.
        prop_assert_eq!(Entry::decode(bytes.as_slice()).unwrap(), e);
    }

    #[test]
    fn hard_state_round_trips(term in any::<u64>(), vote in any::<u64>(), commit in any::<u64>()) {
        let h = HardState { term, vote, commit };
        prop_assert_eq!(record::decode_hard_state(&writer::encode_hard_state(&h)).unwrap(), h);
    }

    #[test]
    fn snapshot_record_round_trips(index in any::<u64>(), term in any::<u64>(),
                                   voters in proptest::collection::vec(any::<u64>(), 0..5),
                                   with_conf in any::<bool>()) {
        let cs = ConfState { voters, ..ConfState::default() };
        let bytes = writer::encode_wal_snapshot(index, term, with_conf.then_some(&cs));
        let s = record::decode_snapshot(&bytes).unwrap();
        prop_assert_eq!((s.index, s.term), (index, term));
        if with_conf {
            prop_assert_eq!(s.conf_state.unwrap_or_default().voters, cs.voters);
        }
    }

    #[test]
    fn metadata_round_trips(node in any::<u64>(), cluster in any::<u64>()) {
        let m = record::decode_metadata(&writer::encode_metadata(node, cluster)).unwrap();
        prop_assert_eq!((m.node_id, m.cluster_id), (node, cluster));
    }

    #[test]
    fn put_request_payload_round_trips(id in 1u64.., key in proptest::collection::vec(any::<u8>(), 1..64),
                                       value in proptest::collection::vec(any::<u8>(), 0..300),
                                       lease in any::<i64>()) {
        let irr = InternalRaftRequest {
            header: Some(RequestHeader { id, ..RequestHeader::default() }),
            put: Some(PutRequest { key, value, lease, ..PutRequest::default() }),
            ..InternalRaftRequest::default()
        };
        let p = payload::decode_entry(0, &irr.encode_to_vec());
        prop_assert_eq!(p, Payload::Request(Box::new(irr)));
    }

    #[test]
    fn v2_request_payload_round_trips(id in 1u64.., path in "/0/[a-z]{1,12}", val in "[ -~]{0,40}") {
        let req = Request { id, method: b"PUT".to_vec(), path: path.into_bytes(), val: val.into_bytes(), ..Request::default() };
        let p = payload::decode_entry(0, &req.encode_to_vec());
        match p {
            Payload::V2(r) => prop_assert_eq!(*r, req),
            Payload::Request(irr) => prop_assert_eq!(irr.v2, Some(req)),
            other => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn conf_change_payload_round_trips(id in any::<u64>(), ty in 0i32..4, node_id in any::<u64>(),
                                       context in proptest::collection::vec(any::<u8>(), 0..80)) {
        let cc = ConfChange { id, r#type: ty, node_id, context };
        match payload::decode_entry(1, &cc.encode_to_vec()) {
            Payload::ConfChange { change, .. } => prop_assert_eq!(change, cc),
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

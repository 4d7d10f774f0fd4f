//! WAL frame decoder: a length word followed by record bytes.
//! Length word decode/encode, walpb.Record decode (and encode round trip), entry header
//! decode and salvage, HardState / Snapshot / Metadata payload decoders.
#![no_main]

use etcd_wal::frame::Frame;
use etcd_wal::record::{self, EntryRef, Record};
use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::Budget;

fuzz_target!(|data: &[u8]| {
    let _budget = Budget::new(data.len());
    let (word, rest) = match data.split_first_chunk::<8>() {
        Some((w, rest)) => (u64::from_le_bytes(*w), rest),
        None => (0, data),
    };
    let f = Frame::decode(word);
    assert!(f.pad <= 7);
    assert_eq!(
        Frame::decode(f.encode()),
        f,
        "frame round trip of {word:#x}"
    );
    assert!(f.total_len() >= f.body_len());
    let _ = f.exceeds_entry_limit();
    let body = rest
        .get(
            ..usize::try_from(f.rec_len)
                .unwrap_or(usize::MAX)
                .min(rest.len()),
        )
        .unwrap_or(rest);
    for buf in [body, rest] {
        if let Ok(rec) = Record::decode(buf) {
            let _ = rec.record_type();
            let mut out = Vec::new();
            rec.encode(&mut out);
            let again = Record::decode(&out).expect("re-encoded record decodes");
            assert_eq!(again.record_type(), rec.record_type());
            assert_eq!((again.raw_type, again.crc), (rec.raw_type, rec.crc));
            // etcd writes no data in crc records: encode drops it, everything else survives.
            if rec.record_type() == Some(etcd_wal::RecordType::Crc) {
                assert!(again.data.is_empty());
            } else {
                assert_eq!(again.data, rec.data, "record round trip");
            }
            let _ = record::salvage_entry_header(buf);
            let data = rec.data;
            let _ = EntryRef::decode(data);
            let _ = EntryRef::salvage_header(data);
            let _ = record::decode_hard_state(data);
            let _ = record::decode_snapshot(data);
            let _ = record::decode_metadata(data);
        }
        let _ = EntryRef::decode(buf);
        let _ = record::salvage_entry_header(buf);
    }
});

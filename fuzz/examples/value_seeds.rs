//! Writes the `value_check` seeds: a real member's WAL cut after entry `K` (re-chained,
//! HardStates' commits capped at `K`) and its db cut to what the db held at `K` (`key`
//! records up to the revision `K` reached, `consistent_index` = `K`, `meta`/`auth`/`alarm`
//! kept), rebuilt as a small bolt file. The revision is found by trying each one until the
//! cross-check calls the history complete without a mismatch (else, for a db compacted past
//! `K`, the one with the fewest mismatches).
//!
//!     cargo run --release --example value_seeds -- MEMBER_DIR K OUT
//!
//! (run from `fuzz/`; MEMBER_DIR e.g. testdata/.cache/extract/v35-single-*/data/m1/member)

use std::path::Path;

use etcd_snap::bolt::Db;
use etcd_snap::bolt::write::LeafItem;
use etcd_member::crosscheck::{History, ValueCheck};
use etcd_snap::mvcc::RevisionKey;
use etcd_proto::pb::raftpb::HardState;
use etcd_wal::record::{RecordType, decode_hard_state};
use etcd_wal::scan::{Event, scan_dir_with};
use etcd_wal::writer::SegmentBuilder;
use wal_inspect_fuzz::{put, small_db};

fn entries(db: &Db, name: &[u8]) -> Vec<LeafItem> {
    let Some(b) = db.bucket(name).expect("bucket") else {
        return Vec::new();
    };
    db.cursor(&b)
        .map(|e| e.expect("entry"))
        .filter(|e| !e.is_bucket)
        .map(|e| LeafItem::kv(e.key, e.value))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, member, k, out] = &args[..] else {
        panic!("usage: value_seeds MEMBER_DIR K OUT");
    };
    let member = Path::new(member);
    let k: u64 = k.parse().expect("K");

    // The WAL, re-chained, up to entry K.
    let mut seg = SegmentBuilder::new(0);
    let mut past = false;
    scan_dir_with(&member.join("wal"), &mut |e| {
        let Event::Record(r) = e else { return };
        past |= r.entry.is_some_and(|e| e.index > k);
        if past {
            return;
        }
        match r.record.record_type() {
            Some(RecordType::Crc) | None => {}
            Some(RecordType::Entry) => {
                seg.push(RecordType::Entry, r.record.data);
            }
            Some(RecordType::State) => {
                let hs = decode_hard_state(r.record.data).expect("hard state");
                seg.hard_state(&HardState {
                    commit: hs.commit.min(k),
                    ..hs
                });
            }
            Some(t) => {
                seg.push(t, r.record.data);
            }
        }
    })
    .expect("WAL");
    seg.hard_state(&HardState {
        term: 2,
        vote: 1,
        commit: k,
    });
    let wal = seg.finish(None);

    let db = Db::open(member.join("snap/db")).expect("db");
    let mut meta = entries(&db, b"meta");
    for m in &mut meta {
        if m.key == b"consistent_index" {
            m.value = k.to_be_bytes().to_vec();
        }
    }
    let keys = entries(&db, b"key");
    let mut revs: Vec<i64> = keys
        .iter()
        .filter_map(|i| RevisionKey::parse(&i.key).ok())
        .map(|r| r.rev.main)
        .collect();
    revs.dedup();
    let (alarm, auth) = (entries(&db, b"alarm"), entries(&db, b"auth"));
    let tmp = std::env::temp_dir().join(format!("value-seeds-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("wal")).expect("tmp");
    std::fs::create_dir_all(tmp.join("snap")).expect("tmp");
    put(
        &tmp.join("wal"),
        "0000000000000000-0000000000000000.wal",
        &wal,
    );
    let try_rev = |rev: i64| {
        let kept: Vec<LeafItem> = keys
            .iter()
            .filter(|i| RevisionKey::parse(&i.key).is_ok_and(|r| r.rev.main <= rev))
            .cloned()
            .collect();
        let mut buckets: Vec<(&[u8], Vec<LeafItem>)> = Vec::new();
        if !alarm.is_empty() {
            buckets.push((b"alarm", alarm.clone()));
        }
        if !auth.is_empty() {
            buckets.push((b"auth", auth.clone()));
        }
        buckets.push((b"key", kept));
        buckets.push((b"meta", meta.clone()));
        let bytes = small_db(&buckets);
        let path = put(&tmp.join("snap"), "db", &bytes);
        let db = Db::open(&path).expect("small db");
        let mut check = ValueCheck::for_db(&db).expect("buckets").expect("ci");
        scan_dir_with(&tmp.join("wal"), &mut |e| check.observe(&e)).expect("wal");
        (bytes, check.compare(&db).expect("compare"))
    };
    // The revision that makes a complete history without a mismatch, else (the fixture's
    // db was compacted past K) the one with the fewest mismatches.
    let mut best: Option<(u64, i64)> = None;
    let mut pick = None;
    for &rev in &revs {
        let (_, r) = try_rev(rev);
        if r.history == History::Complete && r.keys_mismatched == 0 {
            pick = Some(rev);
            break;
        }
        if best.is_none_or(|(m, _)| r.keys_mismatched < m) {
            best = Some((r.keys_mismatched, rev));
        }
    }
    let rev = pick.or(best.map(|b| b.1)).unwrap_or(0);
    let (bytes, r) = try_rev(rev);
    let mut seed = (wal.len() as u32).to_le_bytes().to_vec();
    seed.extend_from_slice(&wal);
    seed.extend_from_slice(&bytes);
    std::fs::write(out, &seed).expect("write seed");
    eprintln!(
        "{out}: WAL {} B to index {k}, db {} B to revision {rev}; {:?}, {} keys checked, \
         {} not checkable, {} mismatched",
        wal.len(),
        bytes.len(),
        r.history,
        r.keys_checked,
        r.keys_not_checkable,
        r.keys_mismatched
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

//! `etcd_member::consistency` on the 3-member fixtures written by real etcd 3.5.1 and
//! 3.4.23: the members agree; after one byte of one value is flipped in one member's db,
//! that member is the odd one and the first difference is that key at that revision.

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use etcd_member::consistency::{self, MemberDb};
use etcd_snap::bolt::Db;
use etcd_snap::hashkv::{self, Rules};
use prost::Message as _;

fn dbs(root: &Path) -> Vec<MemberDb> {
    ["m1", "m2", "m3"]
        .iter()
        .map(|m| MemberDb {
            db: root.join("data").join(m).join("member/snap/db"),
            rules: Rules::ETCD_3_5_1,
        })
        .collect()
}

/// Flip the last byte of the user value of the `nth` hashed record that has a non-empty
/// value; returns (key, main revision).
fn flip_value(db_path: &PathBuf, nth: usize) -> (Vec<u8>, i64) {
    let db = Db::open(db_path).unwrap();
    let rec = hashkv::hashed_records(&db, 0, Rules::ETCD_3_5_1)
        .unwrap()
        .map(Result::unwrap)
        .filter(|r| !r.rev.tombstone)
        .nth(nth)
        .expect("enough records");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(db_path)
        .unwrap();
    let key_len = if rec.rev.tombstone { 18 } else { 17 };
    let mut value = vec![0u8; rec.len as usize - key_len];
    file.read_exact_at(&mut value, rec.value_offset).unwrap();
    let kv = etcd_snap::mvcc::KeyValue::decode(value.as_slice()).unwrap();
    assert!(!kv.value.is_empty());
    let at = value
        .windows(kv.value.len())
        .position(|w| w == kv.value.as_slice())
        .unwrap()
        + kv.value.len()
        - 1;
    value[at] ^= 0x01;
    file.write_all_at(&value[at..=at], rec.value_offset + at as u64)
        .unwrap();
    drop(db);
    (rec.key, rec.rev.rev.main)
}

#[test]
fn members_agree_until_one_value_byte_flips() {
    for config in ["v35-cluster3", "v34-cluster3"] {
        let dir = testdata::clean(config).unwrap();
        let members = dbs(dir.path());
        let c = consistency::compare(&members, None);
        let rev = c.revision.expect("a common revision");
        assert!(rev > 1, "{config}");
        assert_eq!(c.consistent, Some(true), "{config}: {c:?}");
        assert!(c.odd.is_empty() && c.first_difference.is_none());
        let hashes: Vec<u32> = c.members.iter().map(|h| h.as_ref().unwrap().hash).collect();
        assert!(hashes.iter().all(|h| *h == hashes[0]));
        for h in &c.members {
            assert_eq!(h.as_ref().unwrap().hash_revision, rev);
        }

        let (key, main) = flip_value(&members[2].db, 40);
        let c = consistency::compare(&members, None);
        assert_eq!(c.revision, Some(rev));
        assert_eq!(c.consistent, Some(false), "{config}");
        assert_eq!(c.odd, vec![2], "{config}");
        assert!(!c.no_majority);
        let d = c.first_difference.expect("a difference");
        assert_eq!((d.member, d.key.clone(), d.revision.main), (2, key, main));
        assert!(d.member_record.is_some() && d.reference_record.is_some());

        // Two members: no majority, the difference still found.
        let c = consistency::compare(&members[1..], Some(rev));
        assert_eq!(c.consistent, Some(false));
        assert!(c.no_majority && c.odd.is_empty());
        assert_eq!(c.first_difference.unwrap().revision.main, main);
    }
}

/// A member whose db is gone is reported and left out; a revision below every member's
/// compaction is etcd's own `ErrCompacted`.
#[test]
fn unreadable_members_and_compacted_revisions() {
    let dir = testdata::clean("v35-cluster3").unwrap();
    let members = dbs(dir.path());
    std::fs::remove_file(&members[0].db).unwrap();
    let c = consistency::compare(&members, None);
    assert!(c.members[0].is_err());
    assert_eq!(c.consistent, Some(true));
    // The fixture's workload compacts (testdata/README.md).
    let compact = c.members[1].as_ref().unwrap().compact_revision;
    assert!(compact > 1, "{compact}");
    let c = consistency::compare(&members[1..], Some(compact - 1));
    for h in &c.members {
        let e = h.as_ref().unwrap_err();
        assert!(e.contains("required revision has been compacted"), "{e}");
    }
    assert_eq!(c.consistent, None);
    assert_eq!(c.revision, Some(compact - 1));
}

//! Our offline HashKV against real etcd: `etcdctl endpoint hashkv --rev R -w json` on a
//! restarted member of each clean fixture (3.5.1 and 3.4.23, single members and 3-member
//! clusters), then, with etcd stopped, `hashkv::hash_kv` on its db file. And: a flipped
//! value byte changes the hash and the breakdown names the key; damaged dbs give errors
//! with the page.
//!
//! Real etcd only on 127.0.0.1, one at a time (the suite-wide [`EtcdLock`]): single members
//! on client ports 24900–24907 (peer = client + 1); the cluster fixtures on their own ports
//! (v35-cluster3 23400–23405, v34-cluster3 23500–23505: members reach each other at the
//! peer URLs stored in their data).

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use etcd_snap::bolt::Db;
use etcd_snap::hashkv::{self, HashKv, HashKvError, Rules};
use etcd_snap::mvcc;
use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

/// What etcdctl answered for one revision.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// hash, header.revision, compact_revision.
    Hash(u32, i64, i64),
    Compacted,
    FutureRev,
}

fn etcdctl_hashkv(etcd: &Etcd, rev: i64) -> Answer {
    let (ok, out) = etcd.ctl(&[
        "endpoint",
        "hashkv",
        "--rev",
        &rev.to_string(),
        "-w",
        "json",
    ]);
    if !ok {
        if out.contains("required revision has been compacted") {
            return Answer::Compacted;
        }
        if out.contains("required revision is a future revision") {
            return Answer::FutureRev;
        }
        panic!("etcdctl endpoint hashkv --rev {rev}: {out}");
    }
    let line = out
        .lines()
        .find(|l| l.starts_with('['))
        .unwrap_or_else(|| panic!("no JSON in {out}"));
    let v: Value = serde_json::from_str(line).unwrap();
    let h = &v[0]["HashKV"];
    Answer::Hash(
        u32::try_from(h["hash"].as_u64().unwrap()).unwrap(),
        h["header"]["revision"].as_i64().unwrap(),
        h["compact_revision"].as_i64().unwrap(),
    )
}

fn ours(db: &Path, rev: i64) -> Answer {
    match hashkv::hash_kv_file(db, rev) {
        Ok(h) => {
            let want = if rev == 0 { h.current_revision } else { rev };
            assert_eq!(h.hash_revision, want, "hash_revision at --rev {rev}");
            Answer::Hash(h.hash, h.current_revision, h.compact_revision)
        }
        Err(HashKvError::Compacted { .. }) => Answer::Compacted,
        Err(HashKvError::FutureRev { .. }) => Answer::FutureRev,
        Err(e) => panic!("{}: --rev {rev}: {e}", db.display()),
    }
}

/// The revisions to ask about, from etcd's answer at 0 (current, compact): latest, the
/// first above the compaction, one in the middle, the current one, exactly the compaction,
/// below it, above the current one.
fn revisions(current: i64, compact: i64) -> Vec<i64> {
    let mut revs = vec![0, compact + 1, (compact + current) / 2, current];
    revs.extend([compact, compact - 1, 1, current + 1]);
    revs.retain(|&r| r >= 0);
    revs.sort();
    revs.dedup();
    revs
}

fn db_of(data: &Path) -> std::path::PathBuf {
    data.join("member/snap/db")
}

/// (config, etcd version, client port) of the single-member fixtures.
const SINGLES: &[(&str, &str, u16)] = &[
    ("v35-single", "3.5.1", 24900),
    ("v34-single", "3.4.23", 24902),
    ("v35-rollover", "3.5.1", 24904),
    ("v34-rollover", "3.4.23", 24906),
];

#[test]
fn single_members_match_etcdctl() {
    for &(config, version, port) in SINGLES {
        let dir = testdata::clean(config).unwrap();
        let data = dir.path().join("data/m1");
        let before = ours(&db_of(&data), 0);
        let asked = {
            let _lock = EtcdLock::take();
            let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
            etcd.wait_healthy();
            let Answer::Hash(_, current, compact) = etcdctl_hashkv(&etcd, 0) else {
                panic!("{config}: no hash at --rev 0");
            };
            let asked: Vec<(i64, Answer)> = revisions(current, compact)
                .into_iter()
                .map(|r| (r, etcdctl_hashkv(&etcd, r)))
                .collect();
            drop(etcd); // SIGTERM by PID, waits for the exit
            asked
        };
        let db = db_of(&data);
        for (rev, answer) in &asked {
            eprintln!("{config} ({version}) --rev {rev}: etcdctl {answer:?}");
            assert_eq!(&ours(&db, *rev), answer, "{config} --rev {rev}");
        }
        // The db as the fixture left it (before this restart) hashes the same.
        assert_eq!(before, asked[0].1, "{config}: before the restart");
        // Some revision above the compaction was hashed, and exactly at it was refused.
        assert!(asked.iter().any(|(_, a)| matches!(a, Answer::Hash(..))));
        assert!(asked.iter().any(|(_, a)| *a == Answer::Compacted));
    }
}

/// (config, etcd version) of the 3-member fixtures; ports are the fixture's own.
const CLUSTERS: &[(&str, &str)] = &[("v35-cluster3", "3.5.1"), ("v34-cluster3", "3.4.23")];

#[test]
fn cluster_members_match_etcdctl_and_each_other() {
    for &(config, version) in CLUSTERS {
        let meta = testdata::config_meta(config).unwrap();
        let members: Vec<(String, u16)> = meta["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let port = u16::try_from(m["client_port"].as_u64().unwrap()).unwrap();
                (m["name"].as_str().unwrap().to_owned(), port)
            })
            .collect();
        let dir = testdata::clean(config).unwrap();
        let data = |name: &str| dir.path().join("data").join(name);
        let asked: Vec<Vec<(i64, Answer)>> = {
            let _lock = EtcdLock::take();
            let mut etcds: Vec<Etcd> = members
                .iter()
                .map(|(name, port)| Etcd::start(version, name, &data(name), *port, &[]))
                .collect();
            for e in &mut etcds {
                e.wait_healthy();
            }
            let Answer::Hash(_, current, compact) = etcdctl_hashkv(&etcds[0], 0) else {
                panic!("{config}: no hash at --rev 0");
            };
            let revs = revisions(current, compact);
            let asked = etcds
                .iter()
                .map(|e| revs.iter().map(|&r| (r, etcdctl_hashkv(e, r))).collect())
                .collect();
            drop(etcds);
            asked
        };
        let mut hashed = 0;
        for ((name, _), answers) in members.iter().zip(&asked) {
            let db = db_of(&data(name));
            for (rev, answer) in answers {
                eprintln!("{config} ({version}) {name} --rev {rev}: etcdctl {answer:?}");
                assert_eq!(&ours(&db, *rev), answer, "{config} {name} --rev {rev}");
                hashed += usize::from(matches!(answer, Answer::Hash(..)));
            }
            // etcd's members agree with each other, and so do ours.
            assert_eq!(answers, &asked[0], "{config}: {name} vs {}", members[0].0);
        }
        assert!(hashed >= 3 * 3, "{config}: only {hashed} hashes compared");
        let a = Db::open(db_of(&data(&members[0].0))).unwrap();
        for (name, _) in &members[1..] {
            let b = Db::open(db_of(&data(name))).unwrap();
            assert_eq!(
                hashkv::first_difference(&a, &b, 0, Rules::default()).unwrap(),
                None
            );
        }
    }
}

/// Folding the per-record CRCs with `crc32c_combine` gives the hash; `key_hashes` holds the
/// same records sorted by key.
fn check_breakdown(db: &Db, rev: i64, h: &HashKv) {
    let mut acc = etcd_proto::crc32c::checksum(b"key");
    let mut n = 0u64;
    let mut bytes = 0u64;
    let mut last = None;
    for r in hashkv::hashed_records(db, rev, Rules::default()).unwrap() {
        let r = r.unwrap();
        assert!(last < Some(r.rev.rev), "revision order");
        last = Some(r.rev.rev);
        acc = crc32c::crc32c_combine(acc, r.crc, usize::try_from(r.len).unwrap());
        n += 1;
        bytes += r.len;
    }
    assert_eq!((acc, n, bytes), (h.hash, h.records_hashed, h.bytes_hashed));
    let by_key = hashkv::key_hashes(db, rev, Rules::default()).unwrap();
    assert_eq!(by_key.len() as u64, n);
    assert!(
        by_key
            .windows(2)
            .all(|w| (&w[0].key, w[0].rev) < (&w[1].key, w[1].rev))
    );
}

#[test]
fn breakdown_adds_up_to_the_hash_on_every_fixture() {
    for config in testdata::configs() {
        let root = testdata::pristine(&config).unwrap();
        for m in std::fs::read_dir(root.join("data")).unwrap() {
            let path = db_of(&m.unwrap().path());
            let db = Db::open(&path).unwrap();
            let t = Instant::now();
            let latest = hashkv::hash_kv(&db, 0).unwrap();
            eprintln!(
                "{config} {}: {} bytes, {} records hashed in {:?}: {latest:?}",
                path.display(),
                db.file_size(),
                latest.records_hashed,
                t.elapsed()
            );
            let (cur, compact) = (latest.current_revision, latest.compact_revision);
            for rev in [0, compact + 1, (compact + cur) / 2, cur] {
                if rev == compact || rev > cur {
                    continue;
                }
                let h = hashkv::hash_kv(&db, rev).unwrap();
                check_breakdown(&db, rev, &h);
            }
        }
    }
}

/// A `key` bucket entry of `db` with a non-empty value field, chosen by `pick` from those
/// with `main` in `range`: (revision, user key, file offset of one byte of the user value).
fn value_byte(db: &Db, range: std::ops::RangeInclusive<i64>) -> (i64, Vec<u8>, u64) {
    let bucket = mvcc::key_bucket(db).unwrap().unwrap();
    for e in db.cursor(&bucket) {
        let e = e.unwrap();
        let r = mvcc::decode_entry(db, &e).unwrap();
        if !range.contains(&r.rev.rev.main) || r.rev.tombstone || r.kv.value.len() < 4 {
            continue;
        }
        let pos = e
            .value
            .windows(r.kv.value.len())
            .position(|w| w == r.kv.value.as_slice())
            .unwrap();
        return (r.rev.rev.main, r.kv.key, e.value_offset + pos as u64 + 1);
    }
    panic!("no record with a value in {range:?}");
}

fn flip(path: &Path, offset: u64) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    f.write_all_at(&[b[0] ^ 0x01], offset).unwrap();
}

#[test]
fn flipped_value_byte_changes_the_hash_and_names_the_key() {
    for config in ["v35-single", "v34-single"] {
        let clean = testdata::pristine(config).unwrap();
        let orig = Db::open(db_of(&clean.join("data/m1"))).unwrap();
        let h0 = hashkv::hash_kv(&orig, 0).unwrap();
        let compact = h0.compact_revision;

        // A record newer than the compaction: every hash from its revision on changes.
        let (rev, key, off) = value_byte(&orig, compact + 1..=h0.current_revision);
        let dir = testdata::clean(config).unwrap();
        let path = db_of(&dir.path().join("data/m1"));
        flip(&path, off);
        let bad = Db::open(&path).unwrap();
        let h1 = hashkv::hash_kv(&bad, 0).unwrap();
        assert_ne!(h1.hash, h0.hash, "{config}: flip at {off} in rev {rev}");
        assert_eq!(
            (h1.current_revision, h1.compact_revision, h1.records_hashed),
            (h0.current_revision, h0.compact_revision, h0.records_hashed)
        );
        if rev > compact + 1 {
            // Before the record: same hash.
            let a = hashkv::hash_kv(&orig, rev - 1).unwrap().hash;
            assert_eq!(hashkv::hash_kv(&bad, rev - 1).unwrap().hash, a);
        }
        let d = hashkv::first_difference(&orig, &bad, 0, Rules::default())
            .unwrap()
            .expect("a difference");
        assert_eq!(d.key(), key.as_slice());
        let (a, b) = (d.a.unwrap(), d.b.unwrap());
        assert_eq!((a.rev.rev.main, b.rev.rev.main), (rev, rev));
        assert_ne!(a.crc, b.crc);
        // Key by key: exactly that key's record differs.
        let ka = hashkv::key_hashes(&orig, 0, Rules::default()).unwrap();
        let kb = hashkv::key_hashes(&bad, 0, Rules::default()).unwrap();
        let differing: Vec<_> = ka.iter().zip(&kb).filter(|(x, y)| x != y).collect();
        assert_eq!(differing.len(), 1);
        assert_eq!(differing[0].0.key, key);

        // A record at or below the compaction that is kept at the latest revision.
        let kept = hashkv::hashed_records(&orig, 0, Rules::default())
            .unwrap()
            .map(Result::unwrap)
            .find(|r| r.rev.rev.main <= compact && !r.rev.tombstone)
            .expect("a record kept from the compaction");
        let (rev, key, off) = value_byte(&orig, kept.rev.rev.main..=kept.rev.rev.main);
        assert_eq!(key, kept.key);
        let dir = testdata::clean(config).unwrap();
        let path = db_of(&dir.path().join("data/m1"));
        flip(&path, off);
        let bad = Db::open(&path).unwrap();
        assert_ne!(hashkv::hash_kv(&bad, 0).unwrap().hash, h0.hash);
        let d = hashkv::first_difference(&orig, &bad, 0, Rules::default())
            .unwrap()
            .unwrap();
        assert_eq!(d.key(), key.as_slice());
        assert_eq!(d.a.map(|a| a.rev.rev.main), Some(rev));
    }
}

#[test]
fn superseded_record_below_the_compaction_is_not_hashed() {
    // A record at or below the compaction whose key was written again later: it is in the
    // db (the compaction kept it) but not in the keep set at the latest revision.
    let config = "v35-single";
    let clean = testdata::pristine(config).unwrap();
    let orig = Db::open(db_of(&clean.join("data/m1"))).unwrap();
    let h0 = hashkv::hash_kv(&orig, 0).unwrap();
    let hashed: std::collections::HashSet<_> = hashkv::hashed_records(&orig, 0, Rules::default())
        .unwrap()
        .map(|r| r.unwrap().rev)
        .collect();
    let bucket = mvcc::key_bucket(&orig).unwrap().unwrap();
    let superseded = orig
        .cursor(&bucket)
        .map(|e| mvcc::decode_entry(&orig, &e.unwrap()).unwrap())
        .find(|r| {
            r.rev.rev.main <= h0.compact_revision
                && !r.rev.tombstone
                && r.kv.value.len() >= 4
                && !hashed.contains(&r.rev)
        })
        .expect("a superseded record below the compaction");
    let main = superseded.rev.rev.main;
    let (_, key, off) = value_byte(&orig, main..=main);
    let dir = testdata::clean(config).unwrap();
    let path = db_of(&dir.path().join("data/m1"));
    flip(&path, off);
    let bad = Db::open(&path).unwrap();
    assert_eq!(hashkv::hash_kv(&bad, 0).unwrap().hash, h0.hash);
    assert_eq!(
        hashkv::first_difference(&orig, &bad, 0, Rules::default()).unwrap(),
        None
    );
    // Just above the compaction, before the key was written again, it counts.
    let at = h0.compact_revision + 1;
    let later = mvcc::history(&orig, &key).unwrap();
    if later.iter().all(|r| r.rev.rev.main > at) {
        assert_ne!(
            hashkv::hash_kv(&bad, at).unwrap().hash,
            hashkv::hash_kv(&orig, at).unwrap().hash
        );
    }
}

#[test]
fn damaged_dbs_give_errors_with_the_page() {
    // The generator's damaged leaf of the `key` bucket.
    for case in ["v35-db-leaf-flags", "v34-db-leaf-flags"] {
        let (dir, c) = testdata::case(case).unwrap();
        let db = Db::open(c.file_path(dir.path())).unwrap();
        let err = hashkv::hash_kv(&db, 0).unwrap_err();
        let page = c.page_id().unwrap();
        assert!(
            err.to_string().contains(&format!("page {page}")),
            "{case}: {err}"
        );
    }

    let clean = testdata::pristine("v35-single").unwrap();
    let orig = Db::open(db_of(&clean.join("data/m1"))).unwrap();
    let bucket = mvcc::key_bucket(&orig).unwrap().unwrap();
    let e = orig.cursor(&bucket).nth(10).unwrap().unwrap();

    // A value that is no longer a mvccpb.KeyValue: its first tag made a group start.
    assert_eq!(e.value[0], 0x0a);
    let dir = testdata::clean("v35-single").unwrap();
    let path = db_of(&dir.path().join("data/m1"));
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[0x0b], e.value_offset).unwrap();
    let err = hashkv::hash_kv_file(&path, 0).unwrap_err();
    assert!(
        matches!(&err, HashKvError::Db(etcd_snap::Error::DecodeValue { page, .. }) if *page == e.page),
        "{err}"
    );

    // A key that is not a revision (separator overwritten): found by its page too.
    let dir = testdata::clean("v35-single").unwrap();
    let path = db_of(&dir.path().join("data/m1"));
    let key_off = e.value_offset - e.key.len() as u64;
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(b"x", key_off + 8).unwrap();
    let err = hashkv::hash_kv_file(&path, 0).unwrap_err();
    assert!(
        matches!(&err, HashKvError::Db(etcd_snap::Error::InvalidRevisionKey { page, .. }) if *page == e.page),
        "{err}"
    );
}

#[test]
fn rules_of_later_versions() {
    // 3.6 / 3.5.16 / 3.4.34: hashing exactly at the compaction is allowed.
    let clean = testdata::pristine("v35-single").unwrap();
    let db = Db::open(db_of(&clean.join("data/m1"))).unwrap();
    let h = hashkv::hash_kv(&db, 0).unwrap();
    let c = h.compact_revision;
    assert!(matches!(
        hashkv::hash_kv(&db, c),
        Err(HashKvError::Compacted { .. })
    ));
    let at = hashkv::hash_kv_with(&db, c, Rules::ETCD_3_6).unwrap();
    assert_eq!((at.hash_revision, at.compact_revision), (c, c));
    assert!(matches!(
        hashkv::hash_kv_with(&db, c - 1, Rules::ETCD_3_6),
        Err(HashKvError::Compacted { .. })
    ));
    // Above the compaction the rules agree unless a tombstone sits at the compaction.
    assert_eq!(
        hashkv::hash_kv_with(&db, 0, Rules::ETCD_3_6).unwrap().hash,
        h.hash
    );
}

/// Fresh members with a small workload that reaches the corners of etcd's rule: an empty
/// store (only the bucket name is hashed, compact_revision −1), and a revision at which no
/// key is alive, so that the keep set is empty and the record the compaction kept *is*
/// hashed, while one revision earlier it is not. Asked before and after a restart.
#[test]
fn fresh_members_keep_set_corners_match_etcdctl() {
    for (version, port) in [("3.5.1", 24908u16), ("3.4.23", 24910)] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("m1");
        let ctl = |etcd: &Etcd, args: &[&str]| {
            let (ok, out) = etcd.ctl(args);
            assert!(ok, "{version} etcdctl {args:?}: {out}");
        };
        let _lock = EtcdLock::take();
        let db = db_of(&data);
        let check = |phase: &str, revs: &[i64], answers: &[Answer]| {
            for (rev, answer) in revs.iter().zip(answers) {
                eprintln!("fresh ({version}) {phase} --rev {rev}: etcdctl {answer:?}");
                assert_eq!(&ours(&db, *rev), answer, "{version} {phase} --rev {rev}");
            }
        };
        // An empty store: only the bucket name is hashed; never compacted: -1.
        let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let revs = [0, 1, 2];
        let answers: Vec<Answer> = revs.iter().map(|&r| etcdctl_hashkv(&etcd, r)).collect();
        drop(etcd);
        assert_eq!(
            answers[0],
            Answer::Hash(etcd_proto::crc32c::checksum(b"key"), 1, -1)
        );
        check("empty", &revs, &answers);
        // One key, no compaction.
        let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        ctl(&etcd, &["put", "a", "1"]); // rev 2
        let revs = [0, 1, 2, 3];
        let answers: Vec<Answer> = revs.iter().map(|&r| etcdctl_hashkv(&etcd, r)).collect();
        drop(etcd);
        check("uncompacted", &revs, &answers);
        // Compacted at 2, then no key alive at 4 and 6.
        let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        ctl(&etcd, &["compact", "2"]);
        ctl(&etcd, &["put", "a", "2"]); // rev 3
        ctl(&etcd, &["del", "a"]); // rev 4: no key alive
        ctl(&etcd, &["put", "b", "1"]); // rev 5
        ctl(&etcd, &["del", "b"]); // rev 6
        let revs = [0, 1, 2, 3, 4, 5, 6, 7];
        let live: Vec<Answer> = revs.iter().map(|&r| etcdctl_hashkv(&etcd, r)).collect();
        drop(etcd);
        let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let restarted: Vec<Answer> = revs.iter().map(|&r| etcdctl_hashkv(&etcd, r)).collect();
        drop(etcd);
        assert_eq!(live, restarted, "{version}: before and after the restart");
        check("compacted", &revs, &restarted);
        // At 3 the key is alive (keep = {a@3}): a@2, below the compaction, is left out; at
        // 4..6 nothing is alive, keep is empty, and a@2 is hashed again.
        let at = |rev| {
            hashkv::hashed_records(&Db::open(&db).unwrap(), rev, Rules::default())
                .unwrap()
                .map(|r| r.unwrap().rev.rev.main)
                .collect::<Vec<_>>()
        };
        assert_eq!(at(3), vec![3]);
        assert_eq!(at(4), vec![2, 3, 4]);
        assert_eq!(at(0), vec![2, 3, 4, 5, 6]);
    }
}

//! Cross-check of the db's values against the WAL (`etcd_member::crosscheck`, `verify
//! --check-values`) on data written by real etcd: clean data dirs agree, one flipped value
//! byte in the db (invisible to bolt) is found and named, and WALs that do not hold the
//! whole history check only what they determine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use etcd_member::crosscheck::{History, ValueCheck, ValueReport};
use etcd_snap::bolt::Db;
use etcd_snap::mvcc::RevisionKey;
use etcd_wal::scan::Event;
use serde_json::Value;

/// Cross-check a member dir; `keep` decides which WAL events the check sees.
fn cross_check(member: &Path, keep: &dyn Fn(&Event<'_>) -> bool) -> ValueReport {
    let db = Db::open(member.join("snap/db")).expect("db opens");
    let mut check = ValueCheck::for_db(&db)
        .expect("db buckets")
        .expect("a consistent index");
    etcd_wal::scan::scan_dir_with(&member.join("wal"), &mut |e| {
        if keep(&e) {
            check.observe(&e)
        }
    })
    .expect("WAL readable");
    check.compare(&db).expect("compare")
}

fn all(_: &Event<'_>) -> bool {
    true
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// Live keys and values of `keyspace.json` (what etcd served at the end).
fn keyspace(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(root.join("keyspace.json")).unwrap()).unwrap();
    v["kvs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|k| {
                    (
                        b64(k["key"].as_str().unwrap()),
                        b64(k["value"].as_str().unwrap_or("")),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn verify(args: &[&str], path: &Path) -> (i32, Vec<Value>) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["verify".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.push(path.as_os_str());
    let out = crate::util::run(&all);
    let json = args.contains(&"--json");
    let lines = if json {
        crate::util::json_lines(&out, Some("verify"))
    } else {
        Vec::new()
    };
    (out.code, lines)
}

#[test]
fn clean_fixtures_cross_check_without_mismatch() {
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let root = testdata::pristine(&config).unwrap();
        let live = keyspace(&root);
        for m in meta["members"].as_array().unwrap() {
            let name = m["name"].as_str().unwrap();
            let member = root.join(m["member_dir"].as_str().unwrap());
            let r = cross_check(&member, &all);
            eprintln!(
                "{config}/{name}: {:?} from index {:?}, {} entries replayed, {} keys checked, \
                 {} not checkable, {} mismatched; notes {:?}",
                r.history,
                r.first_index,
                r.entries_replayed,
                r.keys_checked,
                r.keys_not_checkable,
                r.keys_mismatched,
                r.notes
            );
            assert_eq!(r.keys_mismatched, 0, "{config}/{name}: {:#?}", r.mismatches);
            assert!(r.mismatches.is_empty());
            assert_eq!(
                r.revisions_mismatched, 0,
                "{config}/{name}: {:#?}",
                r.revision_mismatches
            );
            if meta["workload"]["removed_member"] == name {
                continue;
            }
            // Every fixture member's WAL holds the whole history.
            assert_eq!(r.history, History::Complete, "{config}/{name}");
            assert_eq!(r.first_index, Some(1), "{config}/{name}");
            // Every record the db holds was compared with the replay.
            assert_eq!(
                r.revisions_checked,
                key_records(&member.join("snap/db")),
                "{config}/{name}"
            );
            // Every key etcd still served was written in the WAL and checked.
            assert!(
                r.keys_checked >= live.len() as u64 && r.keys_checked > 0,
                "{config}/{name}: {} checked, {} live",
                r.keys_checked,
                live.len()
            );
        }
    }
}

/// Records in the db's `key` bucket.
fn key_records(db: &Path) -> u64 {
    let db = Db::open(db).unwrap();
    let bucket = etcd_snap::mvcc::key_bucket(&db).unwrap().unwrap();
    db.cursor(&bucket).count() as u64
}

/// A record that is not its key's latest, above the db's compaction revision, with a value
/// of 8..=300 bytes: (key, its revision, page, file offset of the value's first byte, the
/// value).
fn older_record(db: &Db) -> (Vec<u8>, RevisionKey, u64, u64, Vec<u8>) {
    let compact = etcd_snap::schema::meta(db)
        .unwrap()
        .finished_compact_rev
        .unwrap_or(0);
    let bucket = etcd_snap::mvcc::key_bucket(db).unwrap().unwrap();
    let mut latest: BTreeMap<Vec<u8>, RevisionKey> = BTreeMap::new();
    let mut candidates = Vec::new();
    for e in db.cursor(&bucket) {
        let e = e.unwrap();
        let r = etcd_snap::mvcc::decode_entry(db, &e).unwrap();
        let key = r.kv.key.clone();
        if let Some(prev) = latest.insert(key.clone(), r.rev) {
            candidates.push((key, prev));
        }
        let _ = e;
    }
    for (key, rev) in candidates {
        if rev.tombstone || rev.rev.main <= compact {
            continue;
        }
        for e in db.cursor(&bucket) {
            let e = e.unwrap();
            let r = etcd_snap::mvcc::decode_entry(db, &e).unwrap();
            if r.rev == rev && (8..=300).contains(&r.kv.value.len()) {
                let value = r.kv.value.clone();
                let at = e
                    .value
                    .windows(value.len())
                    .rposition(|w| w == value.as_slice())
                    .unwrap();
                return (key, rev, e.page, e.value_offset + at as u64, value);
            }
        }
    }
    panic!("no older record above the compaction revision");
}

/// A flipped byte in an older revision record (not the key's latest, above the compaction
/// revision): bolt's check passes, etcd serves the damaged value with `get --rev`, and
/// `--check-values` names the key, the revision, the page, the byte and the WAL entry.
#[test]
fn a_flipped_byte_in_an_older_revision_is_found() {
    use testdata::etcd::{Etcd, EtcdLock};
    for (config, port) in [("v35-single", 24850), ("v34-single", 24860)] {
        let dir = testdata::clean(config).unwrap();
        let member = dir.path().join("data/m1/member");
        let db_path = member.join("snap/db");
        let (key, rev, page, at, value) = older_record(&Db::open(&db_path).unwrap());
        let flip = at + value.len() as u64 / 2;
        let mut bytes = std::fs::read(&db_path).unwrap();
        bytes[flip as usize] ^= 0x20;
        std::fs::write(&db_path, &bytes).unwrap();
        assert!(Db::open(&db_path).unwrap().check().unwrap().is_clean());

        let r = cross_check(&member, &all);
        assert_eq!(r.keys_mismatched, 0, "{config}: {:#?}", r.mismatches);
        assert_eq!(
            r.revisions_mismatched, 1,
            "{config}: {:#?}",
            r.revision_mismatches
        );
        let m = &r.revision_mismatches[0];
        assert_eq!(m.key, key);
        let d = m.db.as_ref().unwrap();
        assert_eq!(
            (d.revision, d.page, d.value_offset),
            (rev.rev, page, Some(at))
        );
        assert_eq!(
            m.diffs.iter().map(|d| d.field).collect::<Vec<_>>(),
            ["value"]
        );
        let wal = m.wal.as_ref().expect("the WAL entry that wrote it");

        let (code, lines) = verify(&["--json", "--check-values"], &member);
        assert_eq!(code, 1);
        let findings: Vec<&Value> = lines.iter().filter(|l| l["type"] == "finding").collect();
        assert_eq!(findings.len(), 1, "{config}: {findings:?}");
        let f = findings[0];
        assert_eq!(f["kind"], "db_value_mismatch");
        assert_eq!(f["key"], etcd_proto::text::escape_bytes(&key));
        assert_eq!(f["revision"], rev.rev.main);
        assert_eq!(
            (f["page"].as_u64(), f["offset"].as_u64()),
            (Some(page), Some(at))
        );
        assert_eq!(f["index"], wal.entry.index);
        assert_eq!(f["wal_file"], format!("wal/{}", wal.at.file_name()));
        assert!(
            f["message"].as_str().unwrap().contains("older record"),
            "{f}"
        );
        let s = lines.iter().find(|l| l["type"] == "summary").unwrap();
        assert_eq!(s["value_check"]["revisions_mismatched"], 1);

        // etcd serves the damaged bytes at that revision.
        let version = testdata::config_meta(config).unwrap()["etcd_version"]
            .as_str()
            .unwrap()
            .to_owned();
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start(&version, "m1", &dir.path().join("data/m1"), port, &[]);
        etcd.wait_healthy();
        let k = String::from_utf8(key.clone()).unwrap();
        let (ok, out) = etcd.ctl(&["get", &k, "--rev", &rev.rev.main.to_string(), "-w", "json"]);
        assert!(ok, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let served = b64(v["kvs"][0]["value"].as_str().unwrap());
        let mut want = value.clone();
        want[value.len() / 2] ^= 0x20;
        assert_eq!(served, want, "{config}: etcd serves the flipped byte");
    }
}

/// The db's latest record of `key` and the file offset of its value's first byte.
fn latest_value_offset(db: &Db, key: &[u8], value: &[u8]) -> (RevisionKey, u64, u64) {
    let bucket = etcd_snap::mvcc::key_bucket(db).unwrap().unwrap();
    let mut found = None;
    for e in db.cursor(&bucket) {
        let e = e.unwrap();
        let r = etcd_snap::mvcc::decode_entry(db, &e).unwrap();
        if r.kv.key == key {
            found = Some((r, e));
        }
    }
    let (r, e) = found.expect("key in db");
    assert_eq!(r.kv.value, value, "latest record holds the served value");
    // The value is the KeyValue's field 5, after key and revisions: its last occurrence.
    let at = e
        .value
        .windows(value.len())
        .rposition(|w| w == value)
        .expect("value bytes in record");
    (r.rev, e.page, e.value_offset + at as u64)
}

#[test]
fn one_flipped_value_byte_is_one_mismatch() {
    for config in ["v35-single", "v34-single"] {
        let dir = testdata::clean(config).unwrap();
        let member = dir.path().join("data/m1/member");
        let live = keyspace(dir.path());
        // A key with a value long enough to flip a byte in its middle.
        let (key, value) = live
            .iter()
            .find(|(_, v)| v.len() >= 8 && v.len() <= 300)
            .expect("a key with a value");
        let db_path = member.join("snap/db");
        let (rev, page, at) = {
            let db = Db::open(&db_path).unwrap();
            latest_value_offset(&db, key, value)
        };
        let flip = at + value.len() as u64 / 2;
        let mut bytes = std::fs::read(&db_path).unwrap();
        bytes[flip as usize] ^= 0x20;
        std::fs::write(&db_path, &bytes).unwrap();

        let db = Db::open(&db_path).unwrap();
        assert!(db.check().unwrap().is_clean(), "bolt's own check passes");
        drop(db);

        let r = cross_check(&member, &all);
        assert_eq!(r.keys_mismatched, 1, "{config}: {:#?}", r.mismatches);
        let m = &r.mismatches[0];
        assert_eq!(&m.key, key);
        let d = m.db.as_ref().expect("db record");
        assert_eq!(d.revision, rev.rev);
        assert_eq!(d.page, page);
        assert_eq!(d.value_offset, Some(at));
        assert_eq!(
            m.diffs.iter().map(|d| d.field).collect::<Vec<_>>(),
            ["value"]
        );
        let wal = m.wal.as_ref().expect("the WAL entry");
        assert!(wal.at.file_name().ends_with(".wal") && wal.entry.index > 0 && wal.entry.term > 0);

        // verify: invisible without the flag, one finding with it.
        let (code, lines) = verify(&["--json"], &member);
        assert_eq!(code, 0, "{config}: {lines:?}");
        let (code, lines) = verify(&["--json", "--check-values"], &member);
        assert_eq!(code, 1);
        let findings: Vec<&Value> = lines.iter().filter(|l| l["type"] == "finding").collect();
        assert_eq!(findings.len(), 1, "{config}: {findings:?}");
        let f = findings[0];
        assert_eq!(f["kind"], "db_value_mismatch");
        assert_eq!(f["file"], "snap/db");
        assert_eq!(f["offset"], at);
        assert_eq!(f["page"], page);
        assert_eq!(f["index"], wal.entry.index);
        assert_eq!(f["term"], wal.entry.term);
        assert_eq!(f["wal_file"], format!("wal/{}", wal.at.file_name()));
        assert_eq!(f["wal_offset"], wal.at.offset);
        assert_eq!(f["key"], etcd_proto::text::escape_bytes(key));
        assert_eq!(f["revision"], rev.rev.main);
        let s = lines.iter().find(|l| l["type"] == "summary").unwrap();
        assert_eq!(s["value_check"]["keys_mismatched"], 1);
        assert_eq!(s["value_check"]["keys_checked"], r.keys_checked);
        assert_eq!(s["etcd_outcome"], "starts");
    }
}

#[test]
fn clean_verify_stays_clean_with_check_values() {
    let root = testdata::pristine("v35-single").unwrap();
    let member = root.join("data/m1/member");
    let (plain_code, plain) = verify(&["--json"], &member);
    let (code, lines) = verify(&["--json", "--check-values"], &member);
    assert_eq!((plain_code, code), (0, 0));
    assert!(lines.iter().all(|l| l["type"] != "finding"));
    let s = lines.iter().find(|l| l["type"] == "summary").unwrap();
    let vc = &s["value_check"];
    assert_eq!(vc["history"], "complete");
    assert_eq!(vc["keys_mismatched"], 0);
    assert!(vc["keys_checked"].as_u64().unwrap() > 0);
    // Without the flag the summary is what it was.
    let ps = plain.iter().find(|l| l["type"] == "summary").unwrap();
    assert!(ps.get("value_check").is_none());
    let mut with = s.as_object().unwrap().clone();
    with.remove("value_check");
    assert_eq!(&Value::Object(with), ps);
    // Human output says what was checked.
    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect"))
        .args(["verify", "--check-values"])
        .arg(&member)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("values cross-checked"), "{text}");
}

#[test]
fn restored_data_dir_checks_nothing_it_cannot_know() {
    for config in ["v35-single", "v34-single"] {
        let root = testdata::pristine(config).unwrap();
        let member = root.join("restore/r1/member");
        let r = cross_check(&member, &all);
        eprintln!("{config} restore: {r:?}");
        // The restored WAL holds only the membership entries; the db holds the snapshot's
        // keys, which the WAL never wrote: nothing is checked and nothing is wrong.
        assert_eq!(r.history, History::Partial, "{config}");
        assert_eq!(r.keys_checked, 0);
        assert_eq!(r.keys_mismatched, 0);
        assert!(
            r.notes.iter().any(|n| n.contains("not a complete history")),
            "{config}: {:?}",
            r.notes
        );
    }
}

#[test]
fn a_wal_without_its_first_segment_checks_only_its_own_writes() {
    for config in ["v35-rollover", "v34-rollover"] {
        let root = testdata::pristine(config).unwrap();
        let member = root.join("data/m1/member");
        let whole = cross_check(&member, &all);
        let cut = cross_check(&member, &|e| match e {
            Event::SegmentStart { pos, .. } => *pos > 0,
            Event::Record(r) => r.at.segment_pos > 0,
            Event::Finding(_) => true,
        });
        eprintln!("{config}: whole {whole:?}\ncut {cut:?}");
        assert_eq!(whole.history, History::Complete);
        assert_eq!(cut.history, History::Partial);
        assert!(cut.first_index > Some(1));
        assert_eq!(cut.keys_mismatched, 0);
        assert!(cut.keys_checked > 0);
        assert!(cut.keys_checked + cut.keys_not_checkable <= whole.keys_checked);
    }
}

#[test]
fn a_wal_cut_anywhere_raises_no_false_alarm() {
    for config in ["v35-single", "v34-single", "v35-cluster3"] {
        let root = testdata::pristine(config).unwrap();
        let member = root.join("data/m1/member");
        let whole = cross_check(&member, &all);
        for from in [2, 300, 1000, 1500, 2200] {
            if from > whole.consistent_index {
                continue;
            }
            // As if everything before index `from` had been purged with its segments.
            let cut = cross_check(&member, &|e| match e {
                Event::Record(r) => r.entry.is_none_or(|en| en.index >= from),
                _ => true,
            });
            eprintln!(
                "{config} from {from}: {} checked, {} not checkable, {} mismatched",
                cut.keys_checked, cut.keys_not_checkable, cut.keys_mismatched
            );
            assert_eq!(cut.history, History::Partial, "{config} from {from}");
            assert_eq!(cut.first_index, Some(from));
            assert_eq!(
                cut.keys_mismatched, 0,
                "{config} from {from}: {:#?}",
                cut.mismatches
            );
            assert!(cut.keys_checked > 0, "{config} from {from}");
        }
    }
}

/// A damaged page in the db's `key` bucket: the comparison of every revision record, made
/// on verify's integrity walk, stops there (and neither side waits for the other: the
/// command ends); the report says the bucket cannot be read, as the library's own walk
/// (`ValueCheck::for_db`, a thread of its own) says for the same db.
#[test]
fn a_damaged_key_bucket_page_stops_the_comparison_without_hanging() {
    let fixture = testdata::clean("v35-single").unwrap();
    let member = fixture.path().join("data/m1/member");
    let db_path = member.join("snap/db");
    let (root, page_size) = {
        let db = Db::open(&db_path).unwrap();
        let bucket = etcd_snap::mvcc::key_bucket(&db).unwrap().unwrap();
        (bucket.root(), u64::from(db.page_size()))
    };
    assert_ne!(root, 0, "the key bucket of v35-single has pages of its own");
    // The page header's flags (offset 10, u16): no page type at all.
    let mut bytes = std::fs::read(&db_path).unwrap();
    let at = usize::try_from(root * page_size + 10).unwrap();
    bytes[at..at + 2].copy_from_slice(&0x00F0u16.to_le_bytes());
    std::fs::write(&db_path, &bytes).unwrap();

    let library = cross_check(&member, &all);
    let (_, lines) = verify(&["--json", "--check-values"], &member);
    let s = lines.iter().find(|l| l["type"] == "summary").unwrap();
    let vc = &s["value_check"];
    let notes: Vec<&str> = vc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("the db's key bucket cannot be read to the end")),
        "{notes:?}"
    );
    assert_eq!(vc["revisions_checked"], 0);
    assert_eq!(vc["keys_checked"], 0);
    assert_eq!(notes, library.notes, "the CLI and the library say the same");
    assert_eq!(library.revisions_checked, 0);
}

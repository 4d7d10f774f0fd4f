//! `.snap` files and snap-dir inspection on the real etcd fixtures of both versions
//! (`v3x-single`, and the case `v3x-snap-flip-newest` that real etcd was started on).

use etcd_proto::RaftPos as SnapRef;
use etcd_snap::snapdir::{OtherFile, inspect_snap_dir};
use etcd_snap::snapfile::read_snap;
use etcd_snap::{Error, inspect_member};
use serde_json::Value;

const VERSIONS: [&str; 2] = ["v35", "v34"];

fn hex_id(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex id"), 16).expect("16-hex id")
}

/// The `.snap` files the generator listed for m1, sorted (oldest first).
fn snap_files(meta: &Value) -> Vec<String> {
    let mut v: Vec<String> = meta["wal"]["m1"]["snap_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .filter(|n| n.ends_with(".snap"))
        .collect();
    v.sort();
    v
}

/// The snapshot records of m1's WAL (term, index), as the generator's decoder read them.
fn wal_snaps(meta: &Value) -> Vec<SnapRef> {
    meta["wal"]["m1"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["snapshot_records"].as_array().into_iter().flatten())
        .map(|r| SnapRef {
            term: r["term"].as_u64().unwrap(),
            index: r["index"].as_u64().unwrap(),
        })
        .collect()
}

/// `(term, index)` from a `<term:016x>-<index:016x>.snap` name.
fn name_ref(name: &str) -> (u64, u64) {
    let (t, i) = name.strip_suffix(".snap").unwrap().split_once('-').unwrap();
    (
        u64::from_str_radix(t, 16).unwrap(),
        u64::from_str_radix(i, 16).unwrap(),
    )
}

/// etcd's "snap file is corrupt" warning from the case's recorded log: (prev-crc, new-crc).
fn etcd_crc_warning(case: &testdata::Case) -> (u64, u64) {
    case.verdict()["log_excerpt"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l.as_str()?).ok())
        .find(|l| l["msg"] == "snap file is corrupt")
        .map(|l| {
            (
                l["prev-crc"].as_u64().unwrap(),
                l["new-crc"].as_u64().unwrap(),
            )
        })
        .expect("etcd logged the corrupt snap file")
}

#[test]
fn clean_picks_newest() {
    for v in VERSIONS {
        let config = format!("{v}-single");
        let meta = testdata::config_meta(&config).unwrap();
        let dir = testdata::pristine(&config)
            .unwrap()
            .join("data/m1/member/snap");
        let files = snap_files(&meta);
        let newest = files.last().unwrap();
        let r = inspect_snap_dir(&dir, None).unwrap();
        assert_eq!(r.snaps.len(), files.len(), "{config}");
        assert!(files.len() >= 2, "{config}: {files:?}");
        assert_eq!(r.picked.as_deref(), Some(newest.as_str()), "{config}");
        assert!(r.would_rename_broken.is_empty(), "{config}");
        assert!(r.has_db(), "{config}");
        // The newest snapshot as the generator's decoder read it (case ground truth on the
        // clean file) and as etcd recorded it in the WAL.
        let gt = testdata::Case::load(&format!("{v}-snap-flip-newest")).unwrap();
        let gt = &gt.ground_truth()["snap"];
        let s = r.picked_entry().unwrap().snapshot.as_ref().unwrap();
        assert_eq!(
            (s.term, s.index, u64::from(s.crc)),
            (
                gt["term"].as_u64().unwrap(),
                gt["index"].as_u64().unwrap(),
                gt["crc"].as_u64().unwrap()
            ),
            "{config}"
        );
        let id = hex_id(&meta["member_ids"]["m1"]);
        assert_eq!(s.voters, [id], "{config}");
        assert!(s.learners.is_empty(), "{config}");
        let [m] = s.members.as_slice() else {
            panic!("{config}: {:?}", s.members);
        };
        assert_eq!(m.name, "m1");
        assert_eq!(m.id, id);
        let port = meta["members"][0]["client_port"].as_u64().unwrap();
        assert_eq!(m.client_urls, [format!("http://127.0.0.1:{port}")]);
        assert_eq!(
            m.peer_urls,
            [meta["member_list"][0]["peer_urls"][0].as_str().unwrap()]
        );
        // Names agree with content, and every .snap has its WAL snapshot record.
        let walsnaps = wal_snaps(&meta);
        for e in &r.snaps {
            let s = e.snapshot.as_ref().unwrap();
            let sr = SnapRef {
                term: s.term,
                index: s.index,
            };
            assert_eq!(e.name_ref, Some(sr), "{config} {}", e.name);
            assert!(walsnaps.contains(&sr), "{config} {}", e.name);
            assert!(e.problem.is_none(), "{config} {}", e.name);
        }
    }
}

#[test]
fn corrupt_snap_is_crc_mismatch_and_etcd_picks_older() {
    for v in VERSIONS {
        let (root, case) = testdata::case(&format!("{v}-snap-flip-newest")).unwrap();
        let name = &case.name;
        let meta = testdata::config_meta(case.clean()).unwrap();
        let bad = case.file_path(root.path());
        let dir = bad.parent().unwrap();
        let bad_name = bad.file_name().unwrap().to_str().unwrap();

        // etcd's log: "snap file is corrupt" with prev-crc (stored) and new-crc (computed).
        let (prev, new) = etcd_crc_warning(&case);
        assert_eq!(prev, case.ground_truth()["snap"]["crc"].as_u64().unwrap());
        match read_snap(&bad).unwrap_err() {
            Error::SnapCrcMismatch {
                stored, computed, ..
            } => assert_eq!(
                (u64::from(stored), u64::from(computed)),
                (prev, new),
                "{name}"
            ),
            e => panic!("{name}: unexpected {e}"),
        }

        // What etcd did: renamed exactly this file to .broken, started from the next one.
        let renamed: Vec<String> = case.verdict()["files_added"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.strip_suffix(".broken"))
            .map(|k| k.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(renamed, [bad_name], "{name}");
        assert_eq!(case.verdict()["outcome"], "started", "{name}");
        let mut others: Vec<String> = case.ground_truth()["other_snaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
        others.sort();
        let next = others.last().unwrap();

        let r = inspect_snap_dir(dir, None).unwrap();
        assert_eq!(r.picked.as_deref(), Some(next.as_str()), "{name}");
        assert_eq!(r.would_rename_broken, renamed, "{name}");
        assert_eq!(r.broken().count(), 1, "{name}");
        assert_eq!(r.snaps[0].name, bad_name, "{name}");
        assert_eq!(
            r.snaps[0].problem.as_ref().unwrap().kind,
            etcd_snap::ErrorKind::SnapCrcMismatch,
            "{name}"
        );

        // Restricted to the WAL's snapshot records without the next one's: the one before.
        let skip = name_ref(next);
        let walsnaps: Vec<SnapRef> = wal_snaps(&meta)
            .into_iter()
            .filter(|s| (s.term, s.index) != skip)
            .collect();
        let r = inspect_snap_dir(dir, Some(&walsnaps)).unwrap();
        let before = &others[others.len() - 2];
        assert_eq!(r.picked.as_deref(), Some(before.as_str()), "{name}");
        assert_eq!(r.snaps[1].name, *next, "{name}");
        assert_eq!(r.snaps[1].matches_wal, Some(false), "{name}");
        assert_eq!(r.snaps[2].matches_wal, Some(true), "{name}");
        // etcd stops at the first usable one: older files are not read.
        assert!(others.len() >= 3, "{name}: {others:?}");
        assert!(!r.snaps.last().unwrap().etcd_reads, "{name}");
    }
}

/// The damaged member as a whole; the db numbers against real `etcdutl snapshot status`.
#[test]
fn member_report_on_corrupt_case() {
    for v in VERSIONS {
        let (root, case) = testdata::case(&format!("{v}-snap-flip-newest")).unwrap();
        let name = &case.name;
        let meta = testdata::config_meta(case.clean()).unwrap();
        let member = case.member_dir(root.path()).unwrap();
        let m = inspect_member(&member, None).unwrap();
        let db = m.db.as_ref().unwrap();
        assert!(db.check.is_clean(), "{name}");
        let hs = &meta["wal"]["m1"]["segments"][0]["last_hardstate"];
        if v == "v35" {
            // 3.5 keeps (consistent index, term) of the last apply in the db.
            assert_eq!(db.meta.consistent_index, hs["commit"].as_u64(), "{name}");
            assert_eq!(db.meta.term, hs["term"].as_u64(), "{name}");
        } else {
            let commit = hs["commit"].as_u64().unwrap();
            assert!(
                db.meta.consistent_index.is_some_and(|ci| ci <= commit),
                "{name}: {:?} > HardState.commit {commit}",
                db.meta.consistent_index
            );
            assert_eq!(db.meta.term, None, "{name}");
        }
        assert_eq!(db.membership.members.len(), 1, "{name}");
        assert_eq!(
            db.membership.members[0].id,
            hex_id(&meta["member_ids"]["m1"]),
            "{name}"
        );
        // The snapshot etcd started from: the newest of the undamaged ones.
        let next = case.ground_truth()["other_snaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .max()
            .unwrap();
        assert_eq!(m.snapshot_index, Some(name_ref(next).1), "{name}");
        assert_eq!(m.db_behind_snapshot, Some(false), "{name}");

        let out = std::process::Command::new(testdata::etcd_bin("3.5.1", "etcdutl"))
            .args(["snapshot", "status", "-w", "json"])
            .arg(member.join("snap/db"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: etcdutl failed");
        let want: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got = db.etcdutl.as_ref().unwrap();
        assert_eq!(Some(u64::from(got.hash)), want["hash"].as_u64(), "{name}");
        assert_eq!(Some(got.revision), want["revision"].as_i64(), "{name}");
    }
}

#[test]
fn leftovers_are_classified() {
    for v in VERSIONS {
        let config = format!("{v}-single");
        let meta = testdata::config_meta(&config).unwrap();
        let newest = snap_files(&meta).pop().unwrap();
        let src = testdata::pristine(&config)
            .unwrap()
            .join("data/m1/member/snap");
        let tmp = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
        }
        for n in [
            "db.tmp.123",
            "tmp0042",
            "00000000000003a0.snap.db",
            "x.snap.broken",
            "notes",
        ] {
            std::fs::write(tmp.path().join(n), b"x").unwrap();
        }
        // An empty .snap newer than all others.
        let empty = "0000000000000003-0000000000009000.snap";
        std::fs::write(tmp.path().join(empty), b"").unwrap();
        let r = inspect_snap_dir(tmp.path(), None).unwrap();
        assert_eq!(r.would_delete, ["db.tmp.123"], "{config}");
        assert_eq!(r.would_rename_broken, [empty], "{config}");
        assert_eq!(
            r.snaps[0].problem.as_ref().unwrap().kind,
            etcd_snap::ErrorKind::SnapEmpty
        );
        assert_eq!(r.picked.as_deref(), Some(newest.as_str()), "{config}");
        assert!(r.others.contains(&OtherFile::SnapDb {
            name: "00000000000003a0.snap.db".into(),
            index: Some(0x3a0)
        }));
        assert!(r.others.contains(&OtherFile::Tmp {
            name: "tmp0042".into()
        }));
        assert!(r.others.contains(&OtherFile::Broken {
            name: "x.snap.broken".into()
        }));
        assert!(r.others.contains(&OtherFile::Unexpected {
            name: "notes".into()
        }));
        assert!(r.others.contains(&OtherFile::Db));
        // Nothing was renamed or deleted.
        assert!(tmp.path().join("db.tmp.123").exists());
        assert!(tmp.path().join(empty).exists());
    }
}

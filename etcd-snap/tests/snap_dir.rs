//! `.snap` files and snap-dir inspection on the real samples.

mod common;

use etcd_snap::snapdir::{OtherFile, SnapRef, inspect_snap_dir};
use etcd_snap::snapfile::read_snap;
use etcd_snap::{Error, inspect_member};

#[test]
fn clean_v35_picks_newest() {
    let dir = common::clean("sample-v35-single").join("data/dev1/member/snap");
    let r = inspect_snap_dir(&dir, None).unwrap();
    assert_eq!(r.snaps.len(), 6);
    assert_eq!(
        r.picked.as_deref(),
        Some("0000000000000002-000000000000038a.snap")
    );
    assert!(r.would_rename_broken.is_empty());
    assert!(r.has_db());
    let s = r.picked_entry().unwrap().snapshot.as_ref().unwrap();
    assert_eq!((s.term, s.index), (2, 906));
    assert_eq!(s.voters, [5442837670303355970]);
    assert_eq!(s.members.len(), 1);
    assert_eq!(s.members[0].name, "dev1");
    assert_eq!(s.members[0].id, 5442837670303355970);
    assert_eq!(s.members[0].client_urls, ["http://127.0.0.1:23351"]);
    // Names agree with content.
    for e in &r.snaps {
        let s = e.snapshot.as_ref().unwrap();
        assert_eq!(
            e.name_ref,
            Some(SnapRef {
                term: s.term,
                index: s.index
            })
        );
    }
}

#[test]
fn corrupt_snap_is_crc_mismatch_and_etcd_picks_older() {
    let dir = common::case("sample-v35-snap-file-corrupt").join("dev1/member/snap");
    let bad = dir.join("0000000000000002-000000000000038a.snap");
    match read_snap(&bad).unwrap_err() {
        Error::SnapCrcMismatch {
            stored, computed, ..
        } => {
            // oracle.json / etcd's log: prev-crc 2422024589, new-crc 3017070785.
            assert_eq!(stored, 2422024589);
            assert_eq!(computed, 3017070785);
        }
        e => panic!("unexpected {e}"),
    }
    let r = inspect_snap_dir(&dir, None).unwrap();
    // etcd logged "recovered v2 store from snapshot" with snapshot-index 755 = 0x2f3.
    assert_eq!(
        r.picked.as_deref(),
        Some("0000000000000002-00000000000002f3.snap")
    );
    assert_eq!(
        r.would_rename_broken,
        ["0000000000000002-000000000000038a.snap"]
    );
    assert_eq!(r.broken().count(), 1);
    assert_eq!(
        r.snaps[0].problem.as_ref().unwrap().code,
        "snap_crc_mismatch"
    );

    // Restricted to WAL snapshot entries that exclude 755: the next older one.
    let walsnaps = [
        SnapRef {
            term: 2,
            index: 0x25c,
        },
        SnapRef { term: 0, index: 0 },
    ];
    let r = inspect_snap_dir(&dir, Some(&walsnaps)).unwrap();
    assert_eq!(
        r.picked.as_deref(),
        Some("0000000000000002-000000000000025c.snap")
    );
    assert_eq!(r.snaps[1].matches_wal, Some(false));
    assert!(!r.snaps.last().unwrap().etcd_reads);
}

#[test]
fn member_report_on_corrupt_case() {
    let member = common::case("sample-v35-snap-file-corrupt").join("dev1/member");
    let m = inspect_member(&member, None).unwrap();
    let db = m.db.as_ref().unwrap();
    assert!(db.check.is_clean());
    assert_eq!(db.meta.consistent_index, Some(1056));
    assert_eq!(db.meta.term, Some(2));
    assert_eq!(db.membership.members.len(), 1);
    assert_eq!(m.snapshot_index, Some(755));
    assert_eq!(m.db_behind_snapshot, Some(false));
    assert_eq!(db.etcdutl.unwrap().hash, 325140250);
}

#[test]
fn leftovers_are_classified() {
    let src = common::clean("sample-v35-single").join("data/dev1/member/snap");
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
    std::fs::write(
        tmp.path().join("0000000000000003-0000000000000500.snap"),
        b"",
    )
    .unwrap();
    let r = inspect_snap_dir(tmp.path(), None).unwrap();
    assert_eq!(r.would_delete, ["db.tmp.123"]);
    assert_eq!(
        r.would_rename_broken,
        ["0000000000000003-0000000000000500.snap"]
    );
    assert_eq!(r.snaps[0].problem.as_ref().unwrap().code, "snap_empty");
    assert_eq!(
        r.picked.as_deref(),
        Some("0000000000000002-000000000000038a.snap")
    );
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
    // Nothing was renamed or deleted.
    assert!(tmp.path().join("db.tmp.123").exists());
    assert!(
        tmp.path()
            .join("0000000000000003-0000000000000500.snap")
            .exists()
    );
}

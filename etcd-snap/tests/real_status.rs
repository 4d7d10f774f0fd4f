//! `status()` on the real shared samples against real `etcdutl snapshot status` 3.5.1
//! output (checked in under tests/data), and live keys against the samples' meta.json.

mod common;

use etcd_snap::hash::TrailerState;
use etcd_snap::status::status;

#[test]
fn status_matches_etcdutl_3_5_1() {
    let expected = common::etcdutl_expected();
    assert!(expected.len() >= 5);
    for (key, want) in &expected {
        let (config, rel) = key.split_once('/').unwrap();
        let path = common::clean(config).join(rel);
        let st = status(&path).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(&st.etcdutl_json(), want, "{key}");
        assert!(st.check.is_clean(), "{key}: {:?}", st.check.findings);
        assert!(!st.etcdutl_would_fail());
    }
}

#[test]
fn live_keys_and_revision_match_meta_json() {
    for (config, member) in [
        ("sample-v35-single", "dev1"),
        ("sample-v34-single", "dev1"),
        ("sample-v35-rollover", "devbig"),
    ] {
        let meta = common::clean_meta(config);
        let db = common::clean(config).join(format!("data/{member}/member/snap/db"));
        let st = status(&db).unwrap();
        assert_eq!(
            st.live_keys,
            meta["final"]["key_count"].as_u64().unwrap(),
            "{config}"
        );
        assert_eq!(
            st.etcdutl.revision,
            meta["final"]["revision"].as_i64().unwrap(),
            "{config}"
        );
        assert_eq!(st.hash_trailer, TrailerState::Absent);
        assert!(st.consistent_index.is_some(), "{config}");
        assert_eq!(st.members.len(), 1, "{config}");
    }
}

#[test]
fn saved_snapshot_has_valid_trailer_and_v35_meta() {
    let dir = common::clean("sample-v35-single");
    let st = status(dir.join("snapshot.db")).unwrap();
    assert_eq!(st.hash_trailer, TrailerState::Valid);
    assert_eq!(st.term, Some(2));
    assert!(st.alarms.is_empty());
    let m = &st.members[0];
    assert_eq!(m.name, "dev1");
    assert_eq!(m.id, 5442837670303355970);
    assert_eq!(m.peer_urls, ["http://127.0.0.1:23352"]);
    // The workload compacted at revision 442.
    assert_eq!(st.finished_compact_rev, Some(442));

    // The restored copy: members rewritten, consistent index = member count, term 1.
    let st = status(dir.join("restore/dr1/member/snap/db")).unwrap();
    assert_eq!(st.consistent_index, Some(1));
    assert_eq!(st.term, Some(1));
    assert_eq!(st.members.len(), 1);
    assert_eq!(st.members[0].id, 0x6097_4ac5_035a_1afe);
}

#[test]
fn v34_db_has_no_term() {
    let dir = common::clean("sample-v34-single");
    let st = status(dir.join("data/dev1/member/snap/db")).unwrap();
    assert_eq!(st.term, None);
    assert!(st.version.is_none());
}

//! `status()` on the real etcd data of every clean `testdata` fixture (3.5.1 and 3.4.23):
//! etcdutl's numbers against real `etcdutl snapshot status -w json` (3.5.1) run now on the same
//! files, and the rest against what the generator recorded from etcd (`fixtures/<config>.json`:
//! final revision and key count, member list, compaction, restore).

use std::path::{Path, PathBuf};
use std::process::Command;

use etcd_snap::hash::TrailerState;
use etcd_snap::status::status;
use serde_json::Value;

fn hex_id(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex id"), 16).expect("16-hex id")
}

/// Every bolt file of a clean config: each member's `snap/db`, and for the single configs the
/// `snapshot save` file and the restored member's db. (relative path, absolute path)
fn bolt_files(config: &str) -> Vec<(String, PathBuf)> {
    let root = testdata::pristine(config).unwrap();
    let meta = testdata::config_meta(config).unwrap();
    let mut out: Vec<String> = meta["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}/snap/db", m["member_dir"].as_str().unwrap()))
        .collect();
    if let Some(file) = meta["snapshot_save"]["file"].as_str() {
        out.push(file.to_owned());
    }
    if let Some(dir) = meta["save_restore"]["output_dir"].as_str() {
        out.push(format!("{dir}/member/snap/db"));
    }
    out.into_iter()
        .map(|rel| {
            let abs = root.join(&rel);
            assert!(abs.is_file(), "{config}: {rel} missing");
            (rel, abs)
        })
        .collect()
}

/// Real `etcdutl snapshot status -w json` (3.5.1) on a scratch copy of `path`.
fn etcdutl_status(path: &Path) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy.db");
    std::fs::copy(path, &copy).unwrap();
    let out = Command::new(testdata::etcd_bin("3.5.1", "etcdutl"))
        .args(["snapshot", "status", "-w", "json"])
        .arg(&copy)
        .env_remove("ETCDCTL_API")
        .output()
        .expect("run etcdutl");
    assert!(
        out.status.success(),
        "etcdutl snapshot status {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "etcdutl output {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn status_matches_etcdutl_3_5_1_on_every_fixture() {
    let mut compared = std::collections::BTreeMap::<String, usize>::new();
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        for (rel, path) in bolt_files(&config) {
            let key = format!("{config}/{rel}");
            let want = etcdutl_status(&path);
            for field in ["hash", "revision", "totalKey", "totalSize"] {
                assert!(want[field].is_u64(), "{key}: etcdutl printed {want}");
            }
            let st = status(&path).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(st.etcdutl_json(), want, "{key}");
            assert!(st.check.is_clean(), "{key}: {:?}", st.check.findings);
            assert!(!st.etcdutl_would_fail(), "{key}");
            *compared
                .entry(meta["etcd_version"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    // Per version: single 3 (member, save file, restore), rollover 1, cluster3 3,
    // removed-member 3.
    for v in ["3.5.1", "3.4.23"] {
        assert_eq!(compared.get(v), Some(&10), "{compared:?}");
    }
}

#[test]
fn live_keys_revision_and_members_match_what_etcd_reported() {
    let mut checked = 0;
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let root = testdata::pristine(&config).unwrap();
        let v35 = meta["etcd_version"] == "3.5.1";
        let removed = meta["workload"]["removed_member"].as_str();
        let removed_ids: Vec<u64> = meta["workload"]
            .get("removed_member_id")
            .map(hex_id)
            .into_iter()
            .collect();
        // `etcdctl member list` at the end of the run: (id, name, peer URLs, learner).
        let mut want_members: Vec<(u64, String, Vec<String>, bool)> = meta["member_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    hex_id(&m["id"]),
                    m["name"].as_str().unwrap().to_owned(),
                    m["peer_urls"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|u| u.as_str().unwrap().to_owned())
                        .collect(),
                    m["is_learner"].as_bool().unwrap(),
                )
            })
            .collect();
        want_members.sort();
        for m in meta["members"].as_array().unwrap() {
            let name = m["name"].as_str().unwrap();
            if removed == Some(name) {
                continue;
            }
            let label = format!("{config}/{name}");
            let db = root.join(m["member_dir"].as_str().unwrap()).join("snap/db");
            let st = status(&db).unwrap();
            assert_eq!(
                st.live_keys,
                meta["final"]["key_count"].as_u64().unwrap(),
                "{label}"
            );
            assert_eq!(
                st.etcdutl.revision,
                meta["final"]["revision"].as_i64().unwrap(),
                "{label}"
            );
            assert_eq!(st.hash_trailer, TrailerState::Absent, "{label}");
            // The member's WAL as the generator's decoder summarised it: last HardState and
            // snapshot records.
            let segs = meta["wal"][name]["segments"].as_array().unwrap();
            let hs = &segs.last().unwrap()["last_hardstate"];
            let commit = hs["commit"].as_u64().unwrap();
            let last_snap = segs
                .iter()
                .flat_map(|s| s["snapshot_records"].as_array().into_iter().flatten())
                .map(|r| r["index"].as_u64().unwrap())
                .max()
                .unwrap();
            let ci = st.consistent_index.expect("consistent index");
            if v35 {
                // 3.5 saves (consistent index, term) with every apply; etcd stopped cleanly
                // with everything committed applied.
                assert_eq!(ci, commit, "{label}: consistent index vs HardState.commit");
                assert_eq!(st.term, hs["term"].as_u64(), "{label}");
            } else {
                // 3.4 saves the index only with writes to the keyspace (not for e.g. the
                // final compaction of the rollover workload) and keeps no meta/term.
                assert!(
                    (last_snap..=commit).contains(&ci),
                    "{label}: consistent index {ci} outside [{last_snap}, {commit}]"
                );
                assert_eq!(st.term, None, "{label}");
            }
            // meta/storageVersion exists from 3.6 on.
            assert_eq!(st.version, None, "{label}");
            assert_eq!(
                st.finished_compact_rev,
                meta["workload"]["compacted_at_revision"].as_i64(),
                "{label}"
            );
            assert!(st.alarms.is_empty(), "{label}");
            let mut members: Vec<(u64, String, Vec<String>, bool)> = st
                .members
                .iter()
                .map(|m| (m.id, m.name.clone(), m.peer_urls.clone(), m.is_learner))
                .collect();
            members.sort();
            assert_eq!(
                members, want_members,
                "{label}: members vs etcdctl member list"
            );
            assert_eq!(st.removed_members, removed_ids, "{label}");
            checked += 1;
        }
    }
    // 1 + 1 + 3 + 2 live members per version.
    assert_eq!(checked, 14);
}

#[test]
fn saved_snapshot_and_its_restore() {
    for config in ["v35-single", "v34-single"] {
        let meta = testdata::config_meta(config).unwrap();
        let root = testdata::pristine(config).unwrap();
        let v35 = meta["etcd_version"] == "3.5.1";
        let st = status(root.join(meta["snapshot_save"]["file"].as_str().unwrap())).unwrap();
        assert_eq!(st.hash_trailer, TrailerState::Valid, "{config}");
        let want_term = if v35 {
            meta["final"]["raft_term"].as_u64()
        } else {
            None
        };
        assert_eq!(st.term, want_term, "{config}");
        assert!(st.alarms.is_empty());
        let [m] = st.members.as_slice() else {
            panic!("{config}: {:?}", st.members);
        };
        let want = &meta["member_list"][0];
        assert_eq!(m.name, want["name"].as_str().unwrap(), "{config}");
        assert_eq!(m.id, hex_id(&want["id"]), "{config}");
        assert_eq!(m.peer_urls, [want["peer_urls"][0].as_str().unwrap()]);
        assert_eq!(
            st.finished_compact_rev,
            meta["workload"]["compacted_at_revision"].as_i64(),
            "{config}"
        );
        assert_eq!(
            st.live_keys,
            meta["final"]["key_count"].as_u64().unwrap(),
            "{config}"
        );

        // The restored copy: consistent index and term of the snapshot the restore wrote to
        // its new WAL (index = member count, term 1); 3.4 keeps no term in the db.
        let restore = &meta["save_restore"];
        let dir = root.join(restore["output_dir"].as_str().unwrap());
        let st = status(dir.join("member/snap/db")).unwrap();
        let wal_snap = restore["wal"]["segments"][0]["snapshot_records"]
            .as_array()
            .unwrap()
            .last()
            .unwrap();
        assert_eq!(st.consistent_index, wal_snap["index"].as_u64(), "{config}");
        let want_term = if v35 { wal_snap["term"].as_u64() } else { None };
        assert_eq!(st.term, want_term, "{config}");
        assert_eq!(
            st.etcdutl.revision,
            restore["started"]["revision"].as_i64().unwrap(),
            "{config}: the restored member served this revision"
        );
        assert_eq!(
            st.live_keys,
            restore["started"]["key_count"].as_u64().unwrap(),
            "{config}"
        );
        let restored_id = hex_id(&restore["started"]["member_id"]);
        let ids: Vec<u64> = st.members.iter().map(|m| m.id).collect();
        if v35 {
            // etcdutl 3.5 writes the new membership into the db ("added member" in its log).
            assert_eq!(ids, [restored_id], "{config}");
        } else {
            // etcdctl 3.4.23's restore means to delete the old members from the db, but its
            // callback runs `DeleteRange` on the keyspace, not on the `members` bucket: the
            // original member stays in the db; the new one lives only in the v2 store of the
            // .snap it writes (what 3.4 loads membership from).
            assert_eq!(ids, [hex_id(&want["id"])], "{config}");
        }
        let snaps = etcd_snap::snapdir::inspect_snap_dir(dir.join("member/snap"), None).unwrap();
        let snap = snaps.picked_entry().unwrap().snapshot.as_ref().unwrap();
        assert_eq!(snap.voters, [restored_id], "{config}");
        assert_eq!(
            snap.members.iter().map(|m| m.id).collect::<Vec<_>>(),
            [restored_id],
            "{config}"
        );
    }
}

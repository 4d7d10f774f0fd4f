//! `wal-inspect members --json` on data dirs written by real etcd (3.5.1 and 3.4.23), checked
//! against what etcd itself printed when the fixtures were made (`etcdctl member list`,
//! `endpoint status`, the conf changes walfmt.py decoded, and etcd's own start on the removed
//! member's dir: testdata/fixtures/<config>.json).

use std::path::{Path, PathBuf};

use etcd_proto::pb::raftpb::{Entry, HardState};
use etcd_wal::scan::{self, Event};
use etcd_wal::writer::SegmentBuilder;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Sources {
    name: Option<String>,
    peer_urls: Option<String>,
    client_urls: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Removal {
    index: u64,
    term: u64,
    segment: String,
    offset: u64,
    ordinal: u64,
    committed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct HistoryRow {
    index: u64,
    term: u64,
    kind: String,
    member_id: String,
    name: Option<String>,
    peer_urls: Vec<String>,
    client_urls: Vec<String>,
    segment: String,
    offset: u64,
    ordinal: u64,
    before_damage: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct MemberLine {
    r#type: String,
    path: String,
    member_id: Option<String>,
    cluster_id: Option<String>,
    name: Option<String>,
    peer_urls: Vec<String>,
    client_urls: Vec<String>,
    is_learner: Option<bool>,
    sources: Sources,
    removed: bool,
    removed_by: Vec<Value>,
    removal: Option<Removal>,
    removed_in_db: bool,
    removed_in_snap: bool,
    etcd_outcome: Option<String>,
    advice: Vec<String>,
    last_index: Option<u64>,
    last_term: Option<u64>,
    commit: Option<u64>,
    consistent_index: Option<u64>,
    damage: Value,
    first_index: Option<u64>,
    overwritten_entries: u64,
    history: Vec<HistoryRow>,
    /// Checked by `held_alone_names_what_only_one_dir_holds`.
    #[allow(dead_code)]
    held_alone: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LogRow {
    path: String,
    member_id: Option<String>,
    common_first: Option<u64>,
    common_last: Option<u64>,
    diverges_at: Option<u64>,
    term_most_up_to_date: Option<u64>,
    term_here: Option<u64>,
    behind_by: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ClusterLine {
    r#type: String,
    same_cluster: bool,
    cluster_ids: Vec<String>,
    most_up_to_date: Option<String>,
    most_up_to_date_path: Option<String>,
    duplicate_members: Vec<String>,
    removed: Vec<String>,
    logs: Vec<LogRow>,
}

fn members(paths: &[PathBuf]) -> (Vec<MemberLine>, ClusterLine) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["members".as_ref(), "--json".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let out = crate::util::run(&args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines = crate::util::json_lines(&out, Some("members"));
    assert_eq!(lines.len(), paths.len() + 1, "{}", out.stdout);
    let (last, rest) = lines.split_last().expect("lines");
    let ms: Vec<MemberLine> = rest
        .iter()
        .map(|l| serde_json::from_value(l.clone()).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for m in &ms {
        assert_eq!(m.r#type, "member");
    }
    let c: ClusterLine =
        serde_json::from_value(last.clone()).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(c.r#type, "cluster");
    (ms, c)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn data_dirs(root: &Path, meta: &Value) -> Vec<PathBuf> {
    meta["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| root.join(s(&m["data_dir"])))
        .collect()
}

fn is_16_hex(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn removed_member_is_reported_removed_and_etcd_stops_on_it() {
    for config in ["v35-removed-member", "v34-removed-member"] {
        let meta = testdata::config_meta(config).unwrap();
        let dir = testdata::clean(config).unwrap();
        let (ms, cluster) = members(&data_dirs(dir.path(), &meta));
        let removed_id = s(&meta["workload"]["removed_member_id"]);
        let removed_name = s(&meta["workload"]["removed_member"]);
        let cluster_id = s(&meta["final"]["cluster_id"]);
        for (m, spec) in ms.iter().zip(meta["members"].as_array().unwrap()) {
            let name = s(&spec["name"]);
            let wal = &meta["wal"][name]["segments"][0];
            let member_id = m.member_id.as_deref().unwrap();
            assert!(is_16_hex(member_id), "{member_id}");
            assert_eq!(member_id, s(&wal["metadata"]["node_id"]), "{config}/{name}");
            assert_eq!(m.cluster_id.as_deref(), Some(cluster_id), "{config}/{name}");
            assert_eq!(m.name.as_deref(), Some(name), "{config}/{name}");
            // The history equals the conf changes walfmt.py decoded (promotion = AddNode).
            let ours: Vec<(u64, &str, &str)> = m
                .history
                .iter()
                .filter(|h| h.kind != "attributes")
                .map(|h| {
                    let ty = match h.kind.as_str() {
                        "add" | "promote" => "AddNode",
                        "add_learner" => "AddLearnerNode",
                        "update" => "UpdateNode",
                        "remove" => "RemoveNode",
                        other => panic!("kind {other}"),
                    };
                    (h.index, ty, h.member_id.as_str())
                })
                .collect();
            let truth: Vec<(u64, &str, &str)> = wal["conf_changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["index"].as_u64().unwrap(),
                        s(&c["type"]),
                        s(&c["node_id"]),
                    )
                })
                .collect();
            assert_eq!(ours, truth, "{config}/{name}");
            let kinds: Vec<&str> = m
                .history
                .iter()
                .filter(|h| h.member_id == removed_id && h.kind != "attributes")
                .map(|h| h.kind.as_str())
                .collect();
            assert_eq!(
                kinds,
                ["add_learner", "promote", "update", "remove"],
                "{config}/{name}"
            );
            assert_eq!(m.last_index, wal["last_index"].as_u64(), "{config}/{name}");
            assert_eq!(
                m.commit,
                wal["last_hardstate"]["commit"].as_u64(),
                "{config}/{name}"
            );
            assert!(m.consistent_index.is_some(), "{config}/{name}");

            if name == removed_name {
                let remove_index = truth
                    .iter()
                    .find(|(_, ty, id)| *ty == "RemoveNode" && *id == removed_id)
                    .map(|c| c.0)
                    .unwrap();
                assert_eq!(member_id, removed_id);
                assert!(m.removed, "{config}/{name}");
                let r = m.removal.as_ref().unwrap();
                assert_eq!(r.index, remove_index, "{config}");
                assert!(r.committed);
                assert_eq!(r.segment, s(&wal["name"]));
                assert_eq!(m.etcd_outcome.as_deref(), Some("refuses"));
                // What real etcd did on a scratch copy of this dir (recorded by gen.py).
                let seen = &meta["clean_baseline"][name];
                assert_eq!(seen["outcome"], "exited", "{config}");
                assert_eq!(seen["exit_code"], 0, "{config}");
                assert_eq!(seen["expected_outcome"], "refuses", "{config}");
                let log = seen["log_excerpt"].to_string();
                assert!(
                    log.contains("the member has been permanently removed from the cluster")
                        && log.contains("data-dir used by this member must be removed"),
                    "{config}: {log}"
                );
                // The real name and URLs (the update added a second peer URL).
                let update = meta["workload"]["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|st| st["step"] == "member update")
                    .unwrap();
                let peers: Vec<&str> = update["peer_urls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(s)
                    .collect();
                assert_eq!(m.peer_urls, peers, "{config}");
                assert_eq!(m.client_urls.len(), 1);
                // The advice names the repair command (whose runbook is executed against
                // real etcd in repair::removed_member_rejoins_by_following_verify_and_repair)
                // and what it will do, with the member's real name and peer URLs.
                assert_eq!(m.advice.len(), 2);
                assert!(
                    m.advice[0].contains("`wal-inspect repair /"),
                    "{}",
                    m.advice[0]
                );
                assert!(m.advice[1].contains(&format!(
                    "member add {name} --peer-urls={}",
                    peers.join(",")
                )));
                assert!(m.advice[1].contains("--initial-cluster-state existing"));
            } else {
                assert!(!m.removed, "{config}/{name}");
                assert!(m.removal.is_none());
                assert!(m.etcd_outcome.is_none());
                assert!(m.advice.is_empty());
                // IDs as `etcdctl endpoint status` printed them.
                let status = &meta["final"]["status"][name];
                assert_eq!(member_id, s(&status["member_id"]), "{config}/{name}");
                assert_eq!(member_id, s(&meta["member_ids"][name]), "{config}/{name}");
            }
        }
        assert!(cluster.same_cluster, "{config}");
        assert_eq!(cluster.cluster_ids, [cluster_id]);
        assert_eq!(cluster.removed, [removed_id]);
        // The survivors hold the longer log; the removed member stopped at its removal.
        let best = cluster.most_up_to_date.as_deref().unwrap();
        assert_ne!(best, removed_id, "{config}");
        let m3 = cluster
            .logs
            .iter()
            .find(|l| l.member_id.as_deref() == Some(removed_id))
            .unwrap();
        assert_eq!(m3.diverges_at, None, "{config}");
        assert!(m3.behind_by > 0, "{config}");
    }
}

#[test]
fn cluster3_members_share_the_cluster_id_etcd_printed() {
    for config in ["v35-cluster3", "v34-cluster3"] {
        let meta = testdata::config_meta(config).unwrap();
        let dir = testdata::clean(config).unwrap();
        let (ms, cluster) = members(&data_dirs(dir.path(), &meta));
        let cluster_id = s(&meta["final"]["cluster_id"]);
        assert_eq!(ms.len(), 3);
        for (m, spec) in ms.iter().zip(meta["members"].as_array().unwrap()) {
            let name = s(&spec["name"]);
            let status = &meta["final"]["status"][name];
            // `etcdctl endpoint status` and `member list`.
            assert_eq!(m.member_id.as_deref(), Some(s(&status["member_id"])));
            assert_eq!(m.cluster_id.as_deref(), Some(s(&status["cluster_id"])));
            let listed = meta["member_list"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["id"] == status["member_id"])
                .unwrap();
            assert_eq!(m.name.as_deref(), Some(s(&listed["name"])), "{config}");
            let peers: Vec<&str> = listed["peer_urls"]
                .as_array()
                .unwrap()
                .iter()
                .map(s)
                .collect();
            assert_eq!(m.peer_urls, peers, "{config}/{name}");
            assert_eq!(m.is_learner, Some(false));
            assert!(!m.removed);
            assert_eq!(
                m.last_index,
                status["raft_index"].as_u64(),
                "{config}/{name}"
            );
            assert_eq!(m.last_term, status["raft_term"].as_u64(), "{config}/{name}");
            assert!(m.consistent_index.unwrap() <= m.last_index.unwrap());
            let adds = m.history.iter().filter(|h| h.kind == "add").count();
            assert_eq!(adds, 3, "{config}/{name}");
        }
        assert!(cluster.same_cluster, "{config}");
        assert_eq!(cluster.cluster_ids, [cluster_id]);
        assert!(cluster.duplicate_members.is_empty());
        assert!(cluster.removed.is_empty());
        assert_eq!(cluster.logs.len(), 2);
        for l in &cluster.logs {
            assert_eq!(l.diverges_at, None, "{config}");
            assert_eq!(l.behind_by, 0, "{config}");
        }
    }
}

#[test]
fn restore_output_and_its_source_are_different_clusters() {
    for config in ["v35-single", "v34-single"] {
        let meta = testdata::config_meta(config).unwrap();
        let dir = testdata::clean(config).unwrap();
        let source = dir.path().join("data/m1");
        let restored = dir.path().join(s(&meta["save_restore"]["output_dir"]));
        let (ms, cluster) = members(&[source, restored]);
        let started = &meta["save_restore"]["started"];
        assert_eq!(
            ms[0].member_id.as_deref(),
            Some(s(&meta["member_ids"]["m1"]))
        );
        assert_eq!(
            ms[0].cluster_id.as_deref(),
            Some(s(&meta["final"]["cluster_id"]))
        );
        // What etcd printed when started on the restored dir.
        assert_eq!(ms[1].member_id.as_deref(), Some(s(&started["member_id"])));
        assert_eq!(ms[1].cluster_id.as_deref(), Some(s(&started["cluster_id"])));
        assert_eq!(ms[1].name.as_deref(), Some("r1"));
        assert_eq!(
            ms[1].peer_urls,
            [s(
                &meta["save_restore"]["flags"]["--initial-advertise-peer-urls"]
            )]
        );
        assert_eq!((ms[1].last_index, ms[1].commit), (Some(1), Some(1)));
        assert!(!cluster.same_cluster, "{config}");
        assert_eq!(cluster.cluster_ids.len(), 2);
        assert!(
            cluster.logs.is_empty(),
            "one dir per cluster: nothing to compare"
        );
    }
}

/// Offset of the record holding entry `index`, and the running CRC before it.
fn entry_offset(wal: &Path, index: u64) -> (PathBuf, u64) {
    let mut found = None;
    let s = scan::scan_dir_with(wal, &mut |e| {
        if let Event::Record(r) = e {
            if found.is_none() && r.entry.is_some_and(|e| e.index == index) {
                found = Some((r.at.segment_pos, r.at.offset));
            }
        }
    })
    .unwrap();
    let (pos, off) = found.unwrap();
    (s.dir.segments[pos].path.clone(), off)
}

/// Cut m2's WAL before entry `index` (as if it had lost its tail), then optionally append
/// entries `index..index+n` of `term` (as if it had led alone in a later term).
fn rewrite_tail(wal: &Path, index: u64, append: Option<(u64, u64)>) {
    let (seg, off) = entry_offset(wal, index);
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(off).unwrap();
    drop(f);
    let Some((n, term)) = append else { return };
    let crc = scan::scan_dir(wal)
        .unwrap()
        .segments
        .last()
        .unwrap()
        .end_crc;
    let mut b = SegmentBuilder::new(crc);
    for i in index..index + n {
        b.entry(&Entry {
            r#type: 0,
            term,
            index: i,
            data: Vec::new(),
        });
    }
    b.hard_state(&HardState {
        term,
        vote: 0,
        commit: index + n - 1,
    });
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&b.finish(None));
    std::fs::write(&seg, bytes).unwrap();
}

#[test]
fn most_up_to_date_and_divergence_on_hand_made_logs() {
    let meta = testdata::config_meta("v35-cluster3").unwrap();
    let ids: Vec<&str> = ["m1", "m2", "m3"]
        .iter()
        .map(|n| s(&meta["member_ids"][*n]))
        .collect();

    // m2 lost its last 108 entries: it is behind, nobody diverges.
    let dir = testdata::clean("v35-cluster3").unwrap();
    let dirs = data_dirs(dir.path(), &meta);
    rewrite_tail(&dirs[1].join("member/wal"), 501, None);
    let (ms, cluster) = members(&dirs);
    assert_eq!(ms[1].last_index, Some(500));
    assert_ne!(cluster.most_up_to_date.as_deref(), Some(ids[1]));
    let m2 = cluster
        .logs
        .iter()
        .find(|l| l.member_id.as_deref() == Some(ids[1]))
        .unwrap();
    assert_eq!((m2.common_first, m2.common_last), (Some(1), Some(500)));
    assert_eq!(m2.diverges_at, None);
    assert_eq!(m2.behind_by, 108);

    // m2 then appended 5 entries in term 3: a shorter log with a higher last term is the
    // more up-to-date one (raft would elect it), and the others diverge from it at 501.
    let dir = testdata::clean("v35-cluster3").unwrap();
    let dirs = data_dirs(dir.path(), &meta);
    rewrite_tail(&dirs[1].join("member/wal"), 501, Some((5, 3)));
    let (ms, cluster) = members(&dirs);
    assert_eq!((ms[1].last_index, ms[1].last_term), (Some(505), Some(3)));
    assert_eq!(ms[1].commit, Some(505));
    assert_eq!(cluster.most_up_to_date.as_deref(), Some(ids[1]));
    assert_eq!(cluster.logs.len(), 2);
    for l in &cluster.logs {
        assert_eq!(l.diverges_at, Some(501), "{l:?}");
        assert_eq!((l.term_most_up_to_date, l.term_here), (Some(3), Some(2)));
        assert_eq!((l.common_first, l.common_last), (Some(1), Some(505)));
    }
}

#[test]
fn unreadable_dir_is_an_error_line_and_exit_2() {
    let empty = tempfile::tempdir().unwrap();
    let out = crate::util::run(&[
        "members".as_ref(),
        "--json".as_ref(),
        empty.path().as_os_str(),
    ]);
    assert_eq!(out.code, 2);
    let lines = crate::util::json_lines(&out, Some("members"));
    assert_eq!(lines[0]["type"], "error");
}

/// What only one dir holds: of m1 and m2 (m2's WAL damaged mid-log), the entries above
/// m2's intact log are only in m1's; with m3 (intact) too, nothing is held by one dir
/// alone. m2's db applied everything (the WAL damage came after), which m1's log holds.
#[test]
fn held_alone_names_what_only_one_dir_holds() {
    let (dir, case) = testdata::case("v35-cluster3-m2-wal-flip-entry").unwrap();
    let m = |n: &str| dir.path().join("data").join(n);
    let _ = case;
    let run = |paths: &[PathBuf]| -> Vec<Value> {
        let mut args: Vec<String> = vec!["members".into(), "--json".into()];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let out = crate::util::run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        crate::util::json_lines(&out, Some("members"))
            .into_iter()
            .filter(|l| l["type"] == "member")
            .collect()
    };
    let two = run(&[m("m1"), m("m2")]);
    let m2_last = two[1]["last_index"].as_u64().unwrap();
    let m1_last = two[0]["last_index"].as_u64().unwrap();
    assert!(m2_last < m1_last, "{two:?}");
    assert_eq!(
        two[0]["held_alone"]["entries"],
        serde_json::json!([m2_last + 1, m1_last])
    );
    assert!(two[0]["held_alone"]["applied"].is_null());
    assert!(two[1]["held_alone"]["entries"].is_null());
    assert!(two[1]["held_alone"]["applied"].is_null(), "{two:?}");
    for l in run(&[m("m1"), m("m2"), m("m3")]) {
        assert!(l["held_alone"]["entries"].is_null(), "{l}");
        assert!(l["held_alone"]["applied"].is_null(), "{l}");
    }
    // In words.
    let out = crate::util::run(&[
        "members",
        &m("m1").display().to_string(),
        &m("m2").display().to_string(),
    ]);
    assert!(
        out.stdout.contains(&format!(
            "only here   log entries {}..{m1_last}: no other dir's log holds them",
            m2_last + 1
        )),
        "{}",
        out.stdout
    );
}

/// `snapshot status --json` lists the db's `members_removed` bucket as 16-hex IDs, as
/// every other ID: on the removed-member fixture, m3 (the member the workload removed).
#[test]
fn snapshot_status_lists_removed_members_as_16_hex_ids() {
    let root = testdata::pristine("v35-removed-member").unwrap();
    let out = crate::util::run(&[
        "snapshot",
        "status",
        "--json",
        &root.join("data/m1").display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let removed: Vec<&str> = v["removed_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(removed, ["1caf0fd610ea8967"], "{v}");
    assert!(removed.iter().all(|id| is_16_hex(id)));
}

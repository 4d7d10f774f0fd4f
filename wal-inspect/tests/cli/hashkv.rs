//! `members --hashkv` against real etcd: a 3-member cluster on loopback (m2 and m3 joined
//! with `member add`), writes, a physical compaction, more writes; `etcdctl endpoint hashkv
//! --rev R` of every member at the latest revision and at one just above the compaction,
//! taken while it ran; then, with the cluster stopped, `members --hashkv --rev R` on the
//! three data dirs gives each member exactly etcd's hash and compact revision. After one
//! byte of one value is flipped in one member's db, `members --hashkv` names that member as
//! the odd one and that key at that revision as the first difference (exit 1).

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use etcd_snap::bolt::Db;
use etcd_snap::hashkv::{self, Rules};
use prost::Message as _;
use serde_json::Value;
use testdata::etcd::EtcdLock;

use crate::rejoin::Cluster;
use crate::util;

/// Per client URL: (hash, compact_revision) as `etcdctl endpoint hashkv --rev R -w json`
/// answered.
fn etcd_hashkv(c: &Cluster, rev: i64) -> BTreeMap<String, (u64, i64)> {
    let eps = c.running_endpoints();
    let (ok, out) = c.ctl(
        &eps,
        &[
            "endpoint",
            "hashkv",
            "--rev",
            &rev.to_string(),
            "-w",
            "json",
        ],
    );
    assert!(ok, "hashkv --rev {rev}: {out}");
    first_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["Endpoint"].as_str().unwrap().to_owned(),
                (
                    e["HashKV"]["hash"].as_u64().unwrap(),
                    e["HashKV"]["compact_revision"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// The JSON etcdctl printed (its stdout comes first; later etcdctl releases may add log
/// lines on stderr, which `ctl` appends).
fn first_json(out: &str) -> Value {
    serde_json::Deserializer::from_str(out)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no JSON in {out}"))
}

fn current_revision(c: &Cluster) -> i64 {
    let (ok, out) = c.ctl(&c.members[0].client, &["endpoint", "status", "-w", "json"]);
    assert!(ok, "{out}");
    first_json(&out)[0]["Status"]["header"]["revision"]
        .as_i64()
        .unwrap()
}

/// `members --hashkv --json [--rev R]` on the dirs: (exit code, member lines, cluster line).
fn members_hashkv(dirs: &[String], rev: Option<i64>) -> (i32, Vec<Value>, Value) {
    let mut args = vec!["members".to_owned(), "--hashkv".into(), "--json".into()];
    if let Some(r) = rev {
        args.push(format!("--rev={r}"));
    }
    args.extend(dirs.iter().cloned());
    let out = util::run(&args);
    let lines = util::json_lines(&out, Some("members"));
    let members: Vec<Value> = lines
        .iter()
        .filter(|l| l["type"] == "member")
        .cloned()
        .collect();
    let cluster = lines
        .iter()
        .find(|l| l["type"] == "cluster")
        .unwrap()
        .clone();
    (out.code, members, cluster)
}

/// Flip the last byte of the value of `key`'s newest record in the db at `path`; returns
/// that record's main revision.
fn flip_value_of(path: &Path, key: &[u8]) -> i64 {
    let db = Db::open(path).unwrap();
    let rec = hashkv::hashed_records(&db, 0, Rules::ETCD_3_5_1)
        .unwrap()
        .map(Result::unwrap)
        .filter(|r| r.key == key && !r.rev.tombstone)
        .last()
        .expect("the key is in the db");
    drop(db);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut bytes = vec![0u8; rec.len as usize - 17];
    file.read_exact_at(&mut bytes, rec.value_offset).unwrap();
    let kv = etcd_snap::mvcc::KeyValue::decode(bytes.as_slice()).unwrap();
    let at = bytes
        .windows(kv.value.len())
        .position(|w| w == kv.value.as_slice())
        .unwrap()
        + kv.value.len()
        - 1;
    file.write_all_at(&[bytes[at] ^ 0x01], rec.value_offset + at as u64)
        .unwrap();
    rec.rev.rev.main
}

fn hashkv_equals_etcd(version: &str, base: u16) {
    let tmp = tempfile::tempdir().unwrap();
    let _lock = EtcdLock::take();
    let mut c = Cluster::form(version, tmp.path(), base, None);
    c.write("pre", 40);
    let compact_at = current_revision(&c) - 20;
    let (ok, out) = c.ctl(
        &c.running_endpoints(),
        &["compact", &compact_at.to_string(), "--physical"],
    );
    assert!(ok, "{out}");
    c.write("post", 30);
    let eps: Vec<String> = c.members.iter().map(|m| m.client.clone()).collect();
    c.assert_converged(&eps, &eps[0]);
    let latest = current_revision(&c);
    let revs = [latest, compact_at + 5];
    let theirs: Vec<BTreeMap<String, (u64, i64)>> =
        revs.iter().map(|&r| etcd_hashkv(&c, r)).collect();
    for m in &mut c.members {
        m.stop();
    }
    let dirs: Vec<String> = c
        .members
        .iter()
        .map(|m| m.data.display().to_string())
        .collect();
    let client_of: BTreeMap<String, String> = c
        .members
        .iter()
        .map(|m| (m.data.display().to_string(), m.client.clone()))
        .collect();

    for (rev, etcd) in revs.iter().zip(&theirs) {
        let (code, members, cluster) = members_hashkv(&dirs, Some(*rev));
        assert_eq!(code, 0, "{cluster}");
        assert_eq!(members.len(), 3);
        for m in &members {
            let ep = &client_of[m["path"].as_str().unwrap()];
            let (hash, compact) = etcd[ep];
            assert_eq!(
                m["hashkv"]["hash"].as_u64(),
                Some(hash),
                "{ep} at {rev}: {m}"
            );
            assert_eq!(m["hashkv"]["revision"].as_i64(), Some(*rev));
            assert_eq!(m["hashkv"]["compact_revision"].as_i64(), Some(compact));
        }
        assert_eq!(cluster["consistent"], true, "{cluster}");
        assert_eq!(cluster["hashkv_revision"].as_i64(), Some(*rev));
        assert!(cluster["first_difference"].is_null());
    }
    // Without --rev: the highest revision all hold, the latest here.
    let (_, _, cluster) = members_hashkv(&dirs, None);
    assert_eq!(
        cluster["hashkv_revision"].as_i64(),
        Some(latest),
        "{cluster}"
    );

    // One flipped byte in m2's copy of a value written after the compaction.
    let m2 = &c.members[1];
    let main = flip_value_of(&m2.data.join("member/snap/db"), b"post/0007");
    let (code, members, cluster) = members_hashkv(&dirs, None);
    assert_eq!(code, 1, "{cluster}");
    assert_eq!(cluster["consistent"], false, "{cluster}");
    let m2_id = members
        .iter()
        .find(|m| m["path"] == m2.data.display().to_string())
        .unwrap()["member_id"]
        .clone();
    assert_eq!(
        cluster["odd_members"],
        serde_json::json!([m2_id]),
        "{cluster}"
    );
    let d = &cluster["first_difference"];
    assert_eq!(d["key"], "post/0007", "{cluster}");
    assert_eq!(d["revision"].as_i64(), Some(main), "{cluster}");
    assert_eq!(d["member"], m2_id);
    // And in words.
    let out = util::run(&[&["members".to_owned(), "--hashkv".into()][..], &dirs[..]].concat());
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("INCONSISTENT; odd member(s) by majority: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "first difference: key \"post/0007\" at revision {main}_0"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn hashkv_equals_etcd_v35() {
    hashkv_equals_etcd("3.5.1", 24860);
}

#[test]
fn hashkv_equals_etcd_v34() {
    hashkv_equals_etcd("3.4.23", 24870);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.6"]
fn hashkv_equals_etcd_v36() {
    if testdata::require_release("3.6") {
        hashkv_equals_etcd("3.6", 24880);
    }
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.7"]
fn hashkv_equals_etcd_v37() {
    if testdata::require_release("3.7") {
        hashkv_equals_etcd("3.7", 24890);
    }
}

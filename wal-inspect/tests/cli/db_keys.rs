//! `db keys` / `db get` on every clean fixture equal what real etcd served
//! (`etcdctl get "" --prefix -w json`, recorded as `keyspace.json` by the generator), and
//! `snapshot status` agrees with the revision and key count etcd reported.

use std::path::Path;

use serde_json::Value;

use crate::util::{self, b64, bytes};

/// Run a `--json` command whose output is one JSON object, checked against the
/// conventions.
fn run(args: &[&str], path: &Path) -> (i32, Value) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.push(path.as_os_str());
    let out = util::run(&all);
    let v: Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    util::check_conventions(&v, "output");
    (out.code, v)
}

#[test]
fn db_keys_equal_what_etcd_served() {
    let mut compared = 0;
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let dir = testdata::pristine(&config).unwrap();
        let Ok(text) = std::fs::read_to_string(dir.join("keyspace.json")) else {
            continue;
        };
        let served: Value = serde_json::from_str(&text).unwrap();
        let kvs = served["kvs"].as_array().cloned().unwrap_or_default();
        let revision = served["header"]["revision"].as_u64().unwrap();
        // The member etcd was asked (any member of a cluster: all hold the same keyspace).
        for m in meta["members"].as_array().unwrap() {
            if meta["workload"]["removed_member"] == m["name"] {
                continue;
            }
            let member = dir.join(m["member_dir"].as_str().unwrap());
            let (code, ours) = run(&["db", "keys", "--json"], &member);
            assert_eq!(code, 0, "{config}: {ours}");
            assert_eq!(ours["revision"], revision, "{config}");
            let keys = ours["keys"].as_array().unwrap();
            assert_eq!(keys.len(), kvs.len(), "{config}: key count");
            for (a, b) in keys.iter().zip(&kvs) {
                let key = bytes(&a["key"]);
                assert_eq!(key, b64(b["key"].as_str().unwrap()), "{config}");
                for f in ["create_revision", "mod_revision", "version"] {
                    assert_eq!(a[f].as_i64(), b[f].as_i64(), "{config} {f}");
                }
                let value_len = b["value"].as_str().map_or(0, |v| b64(v).len());
                assert_eq!(a["value_len"].as_u64(), Some(value_len as u64), "{config}");
            }
            // Values, through `db get`, for a sample of keys (valid UTF-8 ones: a command
            // line argument cannot carry arbitrary bytes portably).
            for b in kvs.iter().step_by(kvs.len().max(1).div_ceil(10)) {
                let key = b64(b["key"].as_str().unwrap());
                let Ok(key) = String::from_utf8(key) else {
                    continue;
                };
                let out = util::run(&[
                    std::ffi::OsStr::new("db"),
                    "get".as_ref(),
                    "--json".as_ref(),
                    member.as_os_str(),
                    key.as_ref(),
                ]);
                let v: Value = serde_json::from_str(&out.stdout).unwrap();
                util::check_conventions(&v, "db get");
                let want = b["value"].as_str().map(b64).unwrap_or_default();
                let got = v
                    .get("value")
                    .or(v.get("kv").and_then(|kv| kv.get("value")));
                assert_eq!(got.map(bytes), Some(want), "{config} {key}: {v}");
            }
            let (code, st) = run(&["snapshot", "status", "--json"], &member);
            assert_eq!(code, 0, "{config}: {st}");
            assert_eq!(st["revision"], revision, "{config}");
            assert_eq!(st["live_keys"].as_u64(), Some(kvs.len() as u64), "{config}");
            assert_eq!(st["hash_trailer"], "absent", "{config}");
            compared += 1;
            break;
        }
    }
    assert!(compared >= 6, "only {compared} configs compared");
}

/// `hash_trailer` on a `snapshot save` file as etcd wrote it, with a flipped byte, and with
/// its trailer cut off (the generator's `*-save-*` cases, judged by etcd's restore).
#[test]
fn snapshot_status_judges_the_sha256_trailer() {
    for v in ["v35", "v34"] {
        let dir = testdata::clean(&format!("{v}-single")).unwrap();
        let (code, st) = run(
            &["snapshot", "status", "--json"],
            &dir.path().join("snapshot.db"),
        );
        assert_eq!(
            (code, st["hash_trailer"].as_str()),
            (0, Some("valid")),
            "{v}: {st}"
        );
        for (case, want, want_code) in [
            ("save-flip", "invalid", 1),
            ("save-no-trailer", "absent", 0),
        ] {
            let name = format!("{v}-{case}");
            let (dir, case) = testdata::case(&name).unwrap();
            let file = dir.path().join(case.file());
            let (code, st) = run(&["snapshot", "status", "--json"], &file);
            assert_eq!(st["hash_trailer"].as_str(), Some(want), "{name}: {st}");
            assert_eq!(code, want_code, "{name}: {st}");
        }
    }
}

//! `db space` on dbs written by real etcd: the pages by owner add up to the high-water
//! mark and agree with `db pages`/`db stats`, the `key` bucket's record bytes are its leaf
//! bytes in use, and what a compaction removes is what real etcd's compaction removes
//! (`etcdctl compact R --physical`, then `defrag`, on 3.5.1 and 3.4.23).

use std::path::Path;

use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

use crate::util;

fn json(args: &[&str]) -> Value {
    let out = util::run(args);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stdout))
}

fn space(db: &Path, extra: &[&str]) -> Value {
    let d = db.display().to_string();
    let mut args = vec!["db", "space", "--json", &d];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn space_adds_up_to_the_page_accounting() {
    for config in [
        "v35-single",
        "v34-single",
        "v35-rollover",
        "v35-cluster3",
        "v35-k8s",
    ] {
        let root = testdata::pristine(config).unwrap();
        for db in [
            root.join("data/m1/member/snap/db"),
            root.join("snapshot.db"),
        ] {
            if !db.exists() {
                continue;
            }
            let d = db.display().to_string();
            let s = space(&db, &["--depth", "1"]);
            let p = &s["pages"];
            let buckets: u64 = p["buckets"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            let n = |k: &str| p[k].as_u64().unwrap();
            let total = n("meta") + n("freelist") + n("root") + buckets + n("free") + n("other");
            assert_eq!(total, n("total"), "{config} {d}: {p}");
            assert_eq!(
                n("other"),
                0,
                "{config}: a clean db has no unaccounted page"
            );
            let pages = json(&["db", "pages", "--json", &d]);
            assert_eq!(Some(n("total")), pages["high_water"].as_u64(), "{config}");
            let stats = json(&["db", "stats", "--json", &d]);
            let key = stats["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["name"] == "key")
                .unwrap();
            let k = |f: &str| key[f].as_u64().unwrap();
            assert_eq!(
                p["buckets"]["key"].as_u64(),
                Some(
                    k("branch_pages") + k("branch_overflow") + k("leaf_pages") + k("leaf_overflow")
                ),
                "{config}: key bucket pages"
            );
            assert_eq!(s["records"].as_u64(), Some(k("keys")), "{config}");
            // Element headers, keys and values: the leaf bytes in use less the page headers.
            assert_eq!(
                s["all_bytes"].as_u64(),
                Some(k("leaf_inuse") - 16 * k("leaf_pages")),
                "{config}"
            );
            // Groups add up to the totals.
            let groups = s["groups"].as_array().unwrap();
            let sum = |f: &str| groups.iter().map(|g| g[f].as_u64().unwrap()).sum::<u64>();
            assert_eq!(Some(sum("records")), s["records"].as_u64());
            assert_eq!(Some(sum("all_bytes")), s["all_bytes"].as_u64());
            assert_eq!(Some(sum("latest_bytes")), s["latest_bytes"].as_u64());
            assert_eq!(
                Some(sum("compaction_frees")),
                s["compaction_frees"].as_u64()
            );
            assert_eq!(Some(sum("keys")), s["keys"].as_u64());
            // etcd serves the live keys: as many as `db keys` lists.
            let keys = json(&["db", "keys", "--json", &d]);
            assert_eq!(
                keys["keys"].as_array().map(|a| a.len() as u64),
                s["live_keys"].as_u64(),
                "{config}"
            );
        }
    }
}

/// Records in the db's key bucket (stats of the file as it is).
fn records(db: &Path) -> u64 {
    space(db, &[])["records"].as_u64().unwrap()
}

#[test]
fn compaction_removes_what_etcd_removes() {
    for (config, port) in [("v35-single", 24870), ("v34-single", 24880)] {
        let dir = testdata::clean(config).unwrap();
        let data = dir.path().join("data/m1");
        let db = data.join("member/snap/db");
        let version = testdata::config_meta(config).unwrap()["etcd_version"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = space(&db, &[]);
        let latest = before["revision"].as_i64().unwrap();
        let compacted = before["compacted"].as_i64().unwrap_or(0);
        let mid = compacted + (latest - compacted) / 2;
        let at_mid = space(&db, &["--compact-at", &mid.to_string()]);
        let n = |v: &Value, f: &str| v[f].as_u64().unwrap();
        assert!(n(&at_mid, "compaction_removes") > 0, "{at_mid}");
        assert!(n(&at_mid, "compaction_removes") < n(&before, "compaction_removes"));
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let (ok, out) = etcd.ctl(&["compact", &mid.to_string(), "--physical"]);
        assert!(ok, "{out}");
        drop(etcd);
        assert_eq!(
            records(&db),
            n(&before, "records") - n(&at_mid, "compaction_removes"),
            "{config}: compaction at {mid}"
        );
        // Then at the latest revision, and a defragmentation.
        let now = space(&db, &[]);
        let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let (ok, out) = etcd.ctl(&["compact", &latest.to_string(), "--physical"]);
        assert!(ok, "{out}");
        let (ok, out) = etcd.ctl(&["defrag"]);
        assert!(ok, "{out}");
        drop(etcd);
        let after = space(&db, &[]);
        assert_eq!(
            n(&after, "records"),
            n(&now, "records") - n(&now, "compaction_removes"),
            "{config}: compaction at {latest}"
        );
        assert_eq!(n(&after, "records"), n(&before, "live_keys"), "{config}");
        let estimate = n(&now, "defrag_estimate");
        let size = n(&after, "file_size");
        eprintln!(
            "{config}: compaction at {mid} removed {} records, at {latest} {} more; defrag estimate {estimate} bytes, real file {size} bytes",
            n(&at_mid, "compaction_removes"),
            n(&now, "compaction_removes"),
        );
        assert!(
            estimate * 2 >= size && size * 2 >= estimate,
            "{config}: estimate {estimate} vs {size}"
        );
    }
}

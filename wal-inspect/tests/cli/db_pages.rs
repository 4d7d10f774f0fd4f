//! `db pages`, `db page`, `db stats` on dbs written by real etcd: every page up to the
//! high-water mark accounted for once; the items of every bucket add up to what `snapshot
//! status` (etcdutl's total keys, an independent walk) counts, the key bucket's leaf items
//! to its stats; elements decode as
//! etcd stores them; a damaged meta is named. Opt-in: equal to the bbolt CLI's own `pages`
//! and `stats` (built by `scripts/install-bbolt.sh`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util;

fn json(args: &[&str]) -> Value {
    let out = util::run(args);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stdout))
}

fn dbs() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for config in ["v35-single", "v34-single", "v35-rollover", "v35-cluster3"] {
        let root = testdata::pristine(config).unwrap();
        out.push((config.to_owned(), root.join("data/m1/member/snap/db")));
    }
    let single = testdata::pristine("v35-single").unwrap();
    out.push(("v35-single snapshot.db".into(), single.join("snapshot.db")));
    out
}

#[test]
fn pages_cover_the_file_and_add_up() {
    for (name, db) in dbs() {
        let d = db.display().to_string();
        let pages = json(&["db", "pages", "--json", &d]);
        let hw = pages["high_water"].as_u64().unwrap();
        let mut covered = BTreeSet::new();
        let mut key_items = 0;
        let mut key_leaves = 0;
        for p in pages["pages"].as_array().unwrap() {
            let id = p["id"].as_u64().unwrap();
            let span = if p["kind"] == "free" {
                0
            } else {
                p["overflow"].as_u64().unwrap()
            };
            for i in id..=id + span {
                assert!(covered.insert(i), "{name}: page {i} listed twice");
            }
            if p["bucket"] == "key" && p["kind"] == "leaf" {
                key_items += p["count"].as_u64().unwrap();
                key_leaves += 1;
            }
        }
        assert_eq!(covered, (0..hw).collect(), "{name}: pages 0..{hw}");
        // etcdutl 3.5's total keys count every item of every bucket.
        let status = json(&["snapshot", "status", "--json", &d]);
        let stats = json(&["db", "stats", "--json", &d]);
        assert_eq!(
            stats["aggregate"]["keys"].as_u64(),
            status["total_keys"].as_u64(),
            "{name}: items of every bucket vs etcdutl's total keys"
        );
        let key = stats["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "key")
            .unwrap();
        assert_eq!(key["keys"].as_u64(), Some(key_items), "{name}");
        assert_eq!(key["leaf_pages"].as_u64(), Some(key_leaves), "{name}");
        assert!(
            key["leaf_inuse"].as_u64().unwrap() <= key["leaf_alloc"].as_u64().unwrap(),
            "{name}: {key}"
        );
        // A key-bucket leaf: revisions as main_sub, values as mvccpb.KeyValue.
        let leaf = pages["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["bucket"] == "key" && p["kind"] == "leaf")
            .unwrap()["id"]
            .as_u64()
            .unwrap();
        let page = json(&["db", "page", "--json", &d, &leaf.to_string()]);
        assert_eq!(page["kind"], "leaf");
        assert_eq!(page["reachable"], true);
        let elems = page["elements"].as_array().unwrap();
        assert_eq!(elems.len() as u64, page["count"].as_u64().unwrap());
        for e in elems {
            let k = e["key"].as_str().unwrap();
            let (main, sub) = k
                .split_once(' ')
                .map_or(k, |(r, _)| r)
                .split_once('_')
                .unwrap();
            assert!(
                main.parse::<i64>().is_ok() && sub.parse::<i64>().is_ok(),
                "{e}"
            );
            assert!(e["value"].as_str().unwrap().starts_with("key="), "{e}");
        }
        // Both metas valid; the root page names the buckets, members decoded inline.
        let meta = json(&["db", "page", "--json", &d, "0"]);
        assert!(meta["meta"]["problem"].is_null(), "{name}: {meta}");
        let text = util::run(&["db", "stats", &d]).stdout;
        assert!(
            text.contains("meta 0: valid") && text.contains("meta 1: valid"),
            "{text}"
        );
    }
}

/// A meta with a bad checksum: `db stats` and `db page` name it and why, and the other
/// one active; the walk still works.
#[test]
fn a_damaged_meta_is_named() {
    let (dir, case) = testdata::case("v35-db-meta-current").unwrap();
    let data = case.data_dir(dir.path()).unwrap();
    let d = data.display().to_string();
    let out = util::run(&["db", "stats", &d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("INVALID: checksum error"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("valid, active"), "{}", out.stdout);
    let pages = json(&["db", "pages", "--json", &d]);
    let metas = pages["metas"].as_array().unwrap();
    assert_eq!(
        metas.iter().filter(|m| m["problem"].is_null()).count(),
        1,
        "{pages}"
    );
}

/// The bbolt CLI's `pages` (id, type, items, overflow) and `stats` (the aggregate block,
/// word for word) on the same files. Opt-in: `scripts/install-bbolt.sh` builds bbolt
/// v1.4.3 from its Go module.
#[test]
#[ignore = "needs scripts/install-bbolt.sh"]
fn equal_to_the_bbolt_cli() {
    let bbolt = PathBuf::from(
        String::from_utf8(
            std::process::Command::new(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-bbolt.sh"),
            )
            .output()
            .unwrap()
            .stdout,
        )
        .unwrap()
        .trim(),
    );
    assert!(bbolt.is_file(), "{}", bbolt.display());
    let mut all = dbs();
    for config in ["v36-single", "v37-single", "v3535-single"] {
        let root = testdata::pristine(config).unwrap();
        all.push((config.to_owned(), root.join("data/m1/member/snap/db")));
    }
    for (name, db) in all {
        let d = db.display().to_string();
        let theirs = std::process::Command::new(&bbolt)
            .args(["pages", &d])
            .output()
            .unwrap();
        assert!(theirs.status.success(), "{name}");
        let theirs: Vec<String> = String::from_utf8(theirs.stdout)
            .unwrap()
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let ours: Vec<String> = json(&["db", "pages", "--json", &d])["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut cols = vec![p["id"].to_string(), p["kind"].as_str().unwrap().to_owned()];
                if p["kind"] != "free" {
                    cols.push(p["count"].to_string());
                    if p["overflow"].as_u64() != Some(0) {
                        cols.push(p["overflow"].to_string());
                    }
                }
                cols.join(" ")
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: pages");
        let theirs = std::process::Command::new(&bbolt)
            .args(["stats", &d])
            .output()
            .unwrap();
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        let ours = util::run(&["db", "stats", &d]).stdout;
        let from = ours.find("Aggregate statistics").unwrap();
        assert_eq!(ours[from..].trim_end(), theirs.trim_end(), "{name}: stats");
        eprintln!("{name}: pages and stats equal to bbolt's");
    }
}

//! `docs/json.md` lists every top-level key each command prints. This runs the commands
//! with `--json` on real etcd fixtures (clean, damaged WAL, damaged db, a cluster, a
//! removed member, a configuration problem, an apply, an undo, a refusal) and fails on any
//! key the page does not list under that command and line type — so the page cannot fall
//! behind the types.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::util;

/// `(section, key)` pairs of the page: a `### <section>` heading, then `| `key` | … |` rows.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/json.md"))
            .unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in page.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            section = h.replace('`', "");
        } else if let Some(rest) = line.strip_prefix("| `") {
            if let Some((key, _)) = rest.split_once('`') {
                out.entry(section.clone())
                    .or_default()
                    .insert(key.to_owned());
            }
        }
    }
    out
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Every key of every line of `command`'s output is documented.
fn check(
    docs: &BTreeMap<String, BTreeSet<String>>,
    seen: &mut BTreeSet<String>,
    command: &str,
    lines: &[Value],
) {
    for l in lines {
        let section = match l.get("type").and_then(Value::as_str) {
            Some("begin") => "all: begin".to_owned(),
            Some(t) => format!("{command}: {t}"),
            None => command.to_owned(),
        };
        let doc = docs
            .get(&section)
            .unwrap_or_else(|| panic!("docs/json.md has no section `### {section}`"));
        for k in keys(l) {
            assert!(
                doc.contains(&k),
                "docs/json.md, {section}: key `{k}` not documented ({l})"
            );
            seen.insert(format!("{section}/{k}"));
        }
    }
}

fn lines_of(args: &[String], json_lines: bool, command: &str) -> Vec<Value> {
    let out = util::run(args);
    assert!(out.code <= 3, "{args:?}: {}", out.stderr);
    if json_lines {
        let mut all = vec![serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap()];
        all.extend(util::json_lines(&out, Some(command)));
        all
    } else {
        vec![
            serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stdout)),
        ]
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_json_key_is_documented() {
    let docs = documented();
    let mut seen = BTreeSet::new();
    let single = testdata::pristine("v35-single").unwrap();
    let removed = testdata::pristine("v35-removed-member").unwrap();
    let (flip, flip_case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let (leaf, leaf_case) = testdata::case("v35-db-leaf-flags").unwrap();
    let (cl, cl_case) = testdata::case("v35-cluster3-m2-wal-flip-entry").unwrap();
    let flip_dir = flip_case.data_dir(flip.path()).unwrap();
    let leaf_dir = leaf_case.data_dir(leaf.path()).unwrap();
    let cl_m2 = cl_case.data_dir(cl.path()).unwrap();
    let m = |n: &str| s(&removed.join("data").join(n));
    let conf = tempfile::tempdir().unwrap();
    let cfg = conf.path().join("etcd.conf");
    std::fs::write(
        &cfg,
        "ETCD_NAME=other\nETCD_INITIAL_CLUSTER=other=http://127.0.0.1:1\nETCD_INITIAL_CLUSTER_STATE=existing\nETCD_FORCE_NEW_CLUSTER=true\n",
    )
    .unwrap();
    let v = |a: &[&str]| -> Vec<String> { a.iter().map(|x| (*x).to_owned()).collect() };

    for args in [
        v(&["verify", "--json", &s(&flip_dir)]),
        v(&[
            "verify",
            "--json",
            "--check-values",
            &s(&single.join("data/m1")),
        ]),
        v(&["verify", "--json", &s(&leaf_dir)]),
        v(&["verify", "--json", &m("m3")]),
        v(&[
            "verify",
            "--json",
            &s(&cl_m2),
            &format!("--config={}", s(&cfg)),
        ]),
    ] {
        check(&docs, &mut seen, "verify", &lines_of(&args, true, "verify"));
    }
    for args in [
        v(&[
            "members",
            "--json",
            &m("m1"),
            &m("m2"),
            &m("m3"),
            "/no/such/dir",
        ]),
        v(&["members", "--json", &s(&cl_m2)]),
        v(&[
            "members",
            "--json",
            "--hashkv",
            &m("m1"),
            &m("m2"),
            &m("m3"),
        ]),
    ] {
        check(
            &docs,
            &mut seen,
            "members",
            &lines_of(&args, true, "members"),
        );
    }
    for args in [
        v(&["repair", "--json", &s(&flip_dir)]),
        v(&["repair", "--json", &s(&cl_m2)]),
        v(&["repair", "--json", &m("m3")]),
        v(&["repair", "--json", &s(&flip_dir), "--apply"]),
        v(&["repair", "--json", &s(&flip_dir), "--undo"]),
        v(&[
            "repair",
            "--json",
            &s(&cl_m2),
            "--apply",
            "--allow-data-loss",
        ]),
    ] {
        check(&docs, &mut seen, "repair", &lines_of(&args, true, "repair"));
    }
    // recover: a plan, an apply, a refusal (one dir).
    let cl3 = testdata::clean("v35-cluster3").unwrap();
    let c3 = |n: &str| s(&cl3.path().join("data").join(n));
    let rec_out = s(&cl3.path().join("recovered"));
    for args in [
        v(&["recover", "--json", &c3("m1"), &c3("m2"), &c3("m3")]),
        v(&[
            "recover",
            "--json",
            &c3("m1"),
            &c3("m2"),
            &c3("m3"),
            "--apply",
            &format!("--out={rec_out}"),
        ]),
        v(&["recover", "--json", &c3("m1")]),
    ] {
        check(
            &docs,
            &mut seen,
            "recover",
            &lines_of(&args, true, "recover"),
        );
    }
    // A refusal: the dir held by a lock, as etcd holds it.
    let seg = flip_dir.join("member/wal/0000000000000000-0000000000000000.wal");
    let out = std::process::Command::new("flock")
        .arg("-x")
        .arg(&seg)
        .arg(util::BIN)
        .args(["repair", "--json", &s(&flip_dir), "--apply"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    let refused: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    check(&docs, &mut seen, "repair", &refused);
    for args in [
        v(&[
            "snapshot",
            "status",
            "--json",
            &s(&single.join("snapshot.db")),
        ]),
        v(&["snapshot", "status", "--json", &s(&leaf_dir)]),
    ] {
        check(
            &docs,
            &mut seen,
            "snapshot status",
            &lines_of(&args, false, ""),
        );
    }
    let db = s(&single.join("data/m1"));
    let salvage_dir = tempfile::tempdir().unwrap();
    let keys_out = lines_of(&v(&["db", "keys", "--json", &db]), false, "");
    check(&docs, &mut seen, "db keys", &keys_out);
    let key = keys_out[0]["keys"][0]["key"].as_str().unwrap().to_owned();
    check(
        &docs,
        &mut seen,
        "db get",
        &lines_of(&v(&["db", "get", "--json", &db, &key]), false, ""),
    );
    check(
        &docs,
        &mut seen,
        "db history",
        &lines_of(&v(&["db", "history", "--json", &db, &key]), false, ""),
    );
    for (section, args) in [
        ("db pages", v(&["db", "pages", "--json", &db])),
        ("db stats", v(&["db", "stats", "--json", &db])),
        ("db space", v(&["db", "space", "--json", &db])),
        (
            "db salvage",
            v(&[
                "db",
                "salvage",
                "--json",
                &s(&leaf_dir),
                "--out",
                &s(&salvage_dir.path().join("salvaged.db")),
            ]),
        ),
        ("db page", v(&["db", "page", "--json", &db, "0"])),
        ("db page", v(&["db", "page", "--json", &db, "3"])),
        ("db keys --k8s", v(&["db", "keys", "--k8s", "--json", &db])),
        (
            "db get --k8s",
            v(&["db", "get", "--k8s", "--json", &db, &key]),
        ),
        (
            "db keys --k8s --summary",
            v(&["db", "keys", "--k8s", "--summary", "--json", &db]),
        ),
    ] {
        check(&docs, &mut seen, section, &lines_of(&args, false, ""));
    }
    // The runs above reach the keys of every kind of line the page documents.
    for section in [
        "verify: finding",
        "verify: summary",
        "members: member",
        "members: cluster",
        "members: error",
        "repair: plan",
        "repair: applied",
        "repair: undone",
        "repair: refused",
        "recover: recovery",
        "recover: applied",
        "recover: refused",
    ] {
        assert!(
            seen.iter().any(|k| k.starts_with(&format!("{section}/"))),
            "never saw {section}"
        );
    }
}

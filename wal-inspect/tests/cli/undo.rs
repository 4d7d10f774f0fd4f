//! `repair --undo` touches nothing but the dir it is given, and never silently throws away
//! what etcd wrote since the repair.

use std::path::Path;

use testdata::etcd::{Etcd, EtcdLock};

use crate::util::{self, fingerprint};

fn repair_in(cwd: &Path, args: &[&str]) -> util::Out {
    let mut all = vec!["repair"];
    all.extend(args);
    util::run_in(Some(cwd), &all, &[])
}

/// Apply with a relative path from one working directory, move the member aside, start a
/// fresh dir at the old path, undo the moved one from another working directory: the dir
/// at the old path is untouched (contents and mtimes), the moved one is restored.
#[test]
fn undo_restores_only_under_the_path_it_is_given() {
    let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let root = dir.path();
    let rel = case.data_dir_rel().unwrap().to_owned();
    let damaged = fingerprint(&root.join(&rel));
    let out = repair_in(root, &[rel.as_str(), "--apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Move the repaired member aside (as the rejoin runbook does) and put another one at
    // the old path.
    let moved = root.join("moved-m1");
    std::fs::rename(root.join(&rel), &moved).unwrap();
    let other = testdata::clean("v35-single").unwrap();
    util_copy(&other.path().join("data/m1"), &root.join(&rel));
    let before_other = fingerprint(&root.join(&rel));
    // Undo the moved dir from another working directory, by a relative path.
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = repair_in(&elsewhere, &["../moved-m1", "--undo"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        before_other,
        fingerprint(&root.join(&rel)),
        "the dir now at the old path was touched"
    );
    // The moved dir holds the damaged WAL again (its backup folder aside).
    let restored: std::collections::BTreeMap<_, _> = fingerprint(&moved)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().contains("wal-inspect-repair."))
        .map(|(p, (len, crc, _))| (p.strip_prefix(&moved).unwrap().to_path_buf(), (len, crc)))
        .collect();
    let want: std::collections::BTreeMap<_, _> = damaged
        .into_iter()
        .map(|(p, (len, crc, _))| {
            (
                p.strip_prefix(root.join(&rel)).unwrap().to_path_buf(),
                (len, crc),
            )
        })
        .collect();
    assert_eq!(restored, want, "undo did not bring the damaged files back");
}

fn util_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            util_copy(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// Undo after etcd ran on the repaired dir and appended entries: refused, nothing
/// changed, the appended entries counted; `--force` then restores.
#[test]
fn undo_after_etcd_appended_is_refused_unless_forced() {
    let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let data = case.data_dir(dir.path()).unwrap();
    let d = data.display().to_string();
    let out = repair_in(dir.path(), &[d.as_str(), "--apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    {
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start(case.etcd_version(), "m1", &data, 24760, &[]);
        etcd.wait_healthy();
        for i in 0..20 {
            let (ok, out) = etcd.ctl(&["put", &format!("undo/k{i}"), "v"]);
            assert!(ok, "{out}");
        }
    }
    let before = fingerprint(dir.path());
    let out = repair_in(dir.path(), &[d.as_str(), "--undo"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("changed since the repair") && out.stderr.contains("etcd appended"),
        "{}",
        out.stderr
    );
    let appended: u64 = out
        .stderr
        .split("etcd appended ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(
        appended >= 20,
        "{appended} entries appended, 20 puts made: {}",
        out.stderr
    );
    assert_eq!(
        before,
        fingerprint(dir.path()),
        "a refused undo changed files"
    );
    let json = repair_in(dir.path(), &[d.as_str(), "--undo", "--json"]);
    assert_eq!(json.code, 3);
    let lines = util::json_lines(&json, Some("repair"));
    assert_eq!(lines[0]["type"], "refused", "{lines:?}");
    let out = repair_in(dir.path(), &[d.as_str(), "--undo", "--force"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The damaged WAL is back: verify names the flipped record again.
    let v = util::run(&["verify".as_ref(), data.as_os_str()]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains("crc_mismatch"), "{}", v.stdout);
}

//! A running etcd: `verify` neither blocks nor writes, and names the process that holds
//! the files; `repair --apply` refuses (exit 3).

use std::time::{Duration, Instant};

use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

use crate::util;

#[test]
fn verify_names_the_live_etcd_and_repair_refuses() {
    let dir = testdata::clean("v35-single").unwrap();
    let data = dir.path().join("data/m1");
    let _lock = EtcdLock::take();
    let mut etcd = Etcd::start("3.5.1", "m1", &data, 24800, &[]);
    etcd.wait_healthy();
    let (ok, out) = etcd.ctl(&["put", "live/key", "v"]);
    assert!(ok, "{out}");

    let t = Instant::now();
    let out = util::run(&["verify".as_ref(), "--json".as_ref(), data.as_os_str()]);
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "verify took {:?}",
        t.elapsed()
    );
    let lines: Vec<Value> = util::json_lines(&out, Some("verify"));
    let notes: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "note" && l["kind"] == "live_etcd")
        .collect();
    assert!(!notes.is_empty(), "no live_etcd note: {lines:?}");
    let pid = etcd.pid().to_string();
    assert!(
        notes
            .iter()
            .any(|n| n["message"].as_str().unwrap_or("").contains(&pid)),
        "pid {pid} not named: {notes:?}"
    );
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    assert!(
        !summary["live_etcd"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    // A live member is not damage: nothing else is reported.
    assert!(out.code == 0 || out.code == 1, "{}", out.code);

    // The plan is shown (read-only) with a note; only --apply refuses.
    let plan = util::run(&["repair".as_ref(), data.as_os_str()]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(&format!("pid {pid}")),
        "{}",
        plan.stdout
    );
    let repair = util::run(&["repair".as_ref(), "--apply".as_ref(), data.as_os_str()]);
    assert_eq!(repair.code, 3, "{}", repair.stdout);
    assert!(repair.stderr.contains(&pid), "{}", repair.stderr);
    // etcd is still fine afterwards.
    let (ok, out) = etcd.ctl(&["get", "live/key"]);
    assert!(ok && out.contains('v'), "{out}");
}

//! A running etcd: `verify` neither blocks nor writes, and names the process that holds
//! the files; `repair --apply` refuses (exit 3).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

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
    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect"))
        .args(["verify", "--json"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "verify took {:?}",
        t.elapsed()
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{:?}",
        out.status
    );

    let repair = Command::new(env!("CARGO_BIN_EXE_wal-inspect"))
        .args(["repair", "--apply"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        repair.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&repair.stdout)
    );
    // etcd is still fine afterwards.
    let (ok, out) = etcd.ctl(&["get", "live/key"]);
    assert!(ok && out.contains('v'), "{out}");
}

//! `recover` on real etcd: a 3-member cluster on loopback (m2 and m3 joined with `member
//! add`) loses quorum to a power cut and damage; `recover` plans from the three dirs,
//! `--apply` writes the recovered data dir, and every `argv` of its runbook is executed
//! literally (etcd and etcdctl of the release first on PATH). The cluster that results has
//! three started members and serves every acknowledged write on each of them.
//!
//! Two shapes: (a) one member's WAL flipped mid-log, another's db with both metas
//! corrupted, the third intact; (b) the third member was down for the last writes (its db
//! and log are behind), and the two others lost their dbs, one also its WAL's second half:
//! the committed writes above the third's db exist only in one member's WAL.

use std::path::{Path, PathBuf};

use serde_json::Value;
use testdata::etcd::EtcdLock;

use crate::rejoin::{Cluster, flip_mid_entry};
use crate::runbook;
use crate::util;

/// Corrupt both bolt meta pages (their magic): the db cannot be opened.
fn corrupt_both_metas(db: &Path) {
    let mut bytes = std::fs::read(db).unwrap();
    let page = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    for off in [16, page + 16] {
        bytes[off] ^= 0xff;
    }
    std::fs::write(db, bytes).unwrap();
}

fn recover_json(dirs: &[String], extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args: Vec<String> = vec!["recover".into(), "--json".into()];
    args.extend(dirs.iter().cloned());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = util::run(&args);
    let lines = util::json_lines(&out, Some("recover"));
    (out.code, lines, out.stderr)
}

fn walk(version: &str, base: u16, lagging: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let _lock = EtcdLock::take();
    let mut c = Cluster::form(version, root, base, None);
    if lagging {
        // m3 goes down; the others go on (a quorum of two).
        c.members[2].kill();
        c.write("while-m3-down", 40);
    } else {
        c.write("more", 20);
    }
    // Power cut.
    for m in &mut c.members {
        m.kill();
    }
    let data = |i: usize| c.members[i].data.clone();
    let db = |i: usize| data(i).join("member/snap/db");
    if lagging {
        corrupt_both_metas(&db(0));
        corrupt_both_metas(&db(1));
        flip_mid_entry(&data(1).join("member/wal"));
    } else {
        flip_mid_entry(&data(0).join("member/wal"));
        corrupt_both_metas(&db(1));
    }
    let dirs: Vec<String> = (0..3).map(|i| data(i).display().to_string()).collect();

    // The plan (read-only).
    let (code, lines, stderr) = recover_json(&dirs, &[]);
    assert_eq!(code, 1, "{lines:?} {stderr}");
    let r = lines.iter().find(|l| l["type"] == "recovery").unwrap();
    assert!(r["refused"].is_null(), "{r}");
    assert!(r["lost"].is_null(), "nothing committed is lost: {r}");
    let s = &r["source"];
    if lagging {
        assert_eq!(s["db_dir"], dirs[2].as_str(), "{r}");
        assert_eq!(s["log_dir"], dirs[0].as_str(), "{r}");
        assert!(s["replayed"].as_u64().unwrap() >= 40, "{r}");
    } else {
        // m2's db is unusable, m1's log ends at its damage: the db is m1's or m3's (the
        // higher consistent index), the log m2's or m3's.
        assert!(s["db_dir"] != dirs[1].as_str(), "{r}");
        assert!(s["log_dir"] != dirs[0].as_str(), "{r}");
    }
    let best_ci = r["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["db_consistent_index"].as_u64())
        .max();
    assert_eq!(s["consistent_index"].as_u64(), best_ci, "{r}");
    assert_eq!(r["committed_kept"], r["committed"], "{r}");

    // Written (the inputs only read), then the runbook, literally.
    let before: Vec<_> = (0..3).map(|i| util::fingerprint(&data(i))).collect();
    let (code, lines, stderr) = recover_json(&dirs, &["--apply"]);
    assert_eq!(code, 0, "{lines:?} {stderr}");
    let after: Vec<_> = (0..3).map(|i| util::fingerprint(&data(i))).collect();
    assert_eq!(before, after, "recover --apply changed an input");
    let applied = lines.iter().find(|l| l["type"] == "applied").unwrap();
    let out = PathBuf::from(applied["data_dir"].as_str().unwrap());
    assert!(out.join("member/snap/db").is_file());
    let r = lines.iter().find(|l| l["type"] == "recovery").unwrap();
    let steps = &r["runbook"]["steps"];
    assert_eq!(steps.as_array().unwrap().len(), 7, "{steps}");
    let daemons = runbook::execute(steps, version, root, &root.join("logs"));
    assert_eq!(daemons.len(), 3);
    let eps: Vec<String> = c.members.iter().map(|m| m.client.clone()).collect();
    for ep in &eps {
        c.assert_converged(&eps, ep);
    }
    let (ok, list) = c.ctl(&eps.join(","), &["member", "list"]);
    assert!(ok, "{list}");
    for name in ["m1", "m2", "m3"] {
        assert!(list.contains(&format!(", {name}, ")), "{list}");
    }
    // A write is accepted.
    let (ok, out) = c.ctl(&eps[0], &["put", "recovered/probe", "yes"]);
    assert!(ok, "{out}");
    drop(daemons);
}

#[test]
fn recover_two_damaged_members_v35() {
    walk("3.5.1", 24900, false);
}

#[test]
fn recover_from_a_lagging_db_and_another_members_wal_v35() {
    walk("3.5.1", 24910, true);
}

#[test]
fn recover_two_damaged_members_v34() {
    walk("3.4.23", 24920, false);
}

#[test]
fn recover_from_a_lagging_db_and_another_members_wal_v34() {
    walk("3.4.23", 24930, true);
}

/// A single dir, dirs of two clusters, copies of one member, logs that disagree at one
/// index and term: refused (exit 3) with why, nothing written.
#[test]
fn refusals_name_why() {
    let a = testdata::clean("v35-cluster3").unwrap();
    let b = testdata::clean("v34-cluster3").unwrap();
    let m = |d: &tempfile::TempDir, n: &str| d.path().join("data").join(n).display().to_string();
    for (dirs, why) in [
        (vec![m(&a, "m1")], "two or more"),
        (vec![m(&a, "m1"), m(&b, "m2")], "different clusters"),
        (vec![m(&a, "m1"), m(&a, "m1")], "copies of the same member"),
    ] {
        let before = util::fingerprint(a.path());
        let out = util::run(&[&["recover".to_owned(), "--apply".into()][..], &dirs[..]].concat());
        assert_eq!(out.code, 3, "{dirs:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(why), "{dirs:?}: {}", out.stderr);
        assert_eq!(before, util::fingerprint(a.path()), "{dirs:?}: written");
    }
    // m2's log rewritten with other bytes at one index and term (the CRC chain redone):
    // not one history.
    let wal = a.path().join("data/m2/member/wal");
    rewrite_one_entry(&wal);
    let out = util::run(&["recover", &m(&a, "m1"), &m(&a, "m2"), &m(&a, "m3")]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("do not share one history"),
        "{}",
        out.stderr
    );
}

/// Re-encode the WAL's only segment with one entry's last data byte changed and the CRC
/// chain recomputed, so that it verifies.
fn rewrite_one_entry(wal: &Path) {
    let segs: Vec<PathBuf> = std::fs::read_dir(wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    let mut records: Vec<(i64, Vec<u8>, bool)> = Vec::new();
    etcd_wal::scan::scan_dir_with(wal, &mut |e| {
        if let etcd_wal::scan::Event::Record(r) = e {
            records.push((r.record.raw_type, r.record.data.to_vec(), r.entry.is_some()));
        }
    })
    .unwrap();
    let target = records.iter().filter(|r| r.2).count() / 2;
    let mut b = etcd_wal::writer::SegmentBuilder::new(0);
    let mut n = 0;
    for (ty, mut data, entry) in records {
        if entry {
            if n == target {
                let last = data.len() - 1;
                data[last] ^= 0x01;
            }
            n += 1;
        }
        let ty = etcd_wal::RecordType::from_raw(ty).unwrap();
        if ty == etcd_wal::RecordType::Crc {
            continue;
        }
        b.push(ty, &data);
    }
    let size = std::fs::metadata(&segs[0]).unwrap().len();
    std::fs::write(&segs[0], b.finish(Some(size))).unwrap();
}

/// `--apply --bump-revision R --mark-compacted` (as etcdutl's restore, for Kubernetes'
/// watch caches): etcd started on the recovered dir by the runbook's first step, literally,
/// writes at the old latest revision + R + 1 and refuses a read below the bump as
/// compacted.
#[test]
fn recover_with_a_revision_bump_v35() {
    let cl = testdata::clean("v35-cluster3").unwrap();
    let dirs: Vec<String> = ["m1", "m2", "m3"]
        .iter()
        .map(|m| cl.path().join("data").join(m).display().to_string())
        .collect();
    let hk = util::run(
        &[
            &["members".to_owned(), "--hashkv".into(), "--json".into()][..],
            &dirs[..],
        ]
        .concat(),
    );
    let latest = util::json_lines(&hk, Some("members"))
        .iter()
        .find(|l| l["type"] == "member")
        .unwrap()["hashkv"]["current_revision"]
        .as_i64()
        .unwrap();
    let out = cl.path().join("recovered");
    let (code, lines, stderr) = recover_json(
        &dirs,
        &[
            "--apply",
            &format!("--out={}", out.display()),
            "--bump-revision=1000",
            "--mark-compacted",
        ],
    );
    assert_eq!(code, 0, "{lines:?} {stderr}");
    let applied = lines.iter().find(|l| l["type"] == "applied").unwrap();
    assert_eq!(
        applied["bumped_to"].as_i64(),
        Some(latest + 1000),
        "{applied}"
    );
    let r = lines.iter().find(|l| l["type"] == "recovery").unwrap();
    let first = serde_json::json!([r["runbook"]["steps"][0].clone()]);
    let _lock = EtcdLock::take();
    let daemons = runbook::execute(&first, "3.5.1", cl.path(), &cl.path().join("logs"));
    let argv = first[0]["argv"].as_array().unwrap();
    let client = argv
        .iter()
        .find_map(|a| a.as_str()?.strip_prefix("--advertise-client-urls="))
        .unwrap()
        .to_owned();
    let ctl = |args: &[&str]| {
        let o = std::process::Command::new(testdata::etcd_bin("3.5.1", "etcdctl"))
            .env_remove("ETCDCTL_API")
            .args(["--endpoints", &client, "--command-timeout=5s"])
            .args(args)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let mut put = (false, String::new());
    for _ in 0..60 {
        put = ctl(&["put", "recovered/probe", "yes", "-w", "json"]);
        if put.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(put.0, "{}", put.1);
    let v: Value = serde_json::Deserializer::from_str(&put.1)
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(v["header"]["revision"].as_i64(), Some(latest + 1001), "{v}");
    let (ok, said) = ctl(&["get", "recovered/probe", &format!("--rev={latest}")]);
    assert!(!ok && said.contains("compacted"), "{said}");
    drop(daemons);
}

/// Flip one data byte of the entry record at `index` (the first of the segment holding it).
fn flip_entry_at(wal: &Path, index: u64) {
    let mut at = None;
    etcd_wal::scan::scan_dir_with(wal, &mut |e| {
        if let etcd_wal::scan::Event::Record(r) = e {
            if r.entry.is_some_and(|e| e.index == index) && at.is_none() {
                at = Some((r.at, r.frame_len));
            }
        }
    })
    .unwrap();
    let (at, frame_len) = at.expect("the entry is in the WAL");
    let path = wal.join(at.file_name());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(at.offset + frame_len) as usize - 11] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
}

/// Committed writes that no member holds intact are lost, and `recover` names the
/// Kubernetes objects they write: m3 goes down, pods are written through m1 and m2, the
/// power goes; m1's and m2's dbs lose both metas and their WALs a byte in the same early
/// pod write (the entries after it still verify, so a majority proves them committed).
#[test]
fn recover_names_the_kubernetes_objects_it_loses_v35() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let _lock = EtcdLock::take();
    let mut c = Cluster::form("3.5.1", root, 24940, None);
    c.members[2].kill();
    let before: u64 = {
        let (ok, out) = c.ctl(&c.members[0].client, &["endpoint", "status", "-w", "json"]);
        assert!(ok, "{out}");
        serde_json::Deserializer::from_str(&out)
            .into_iter::<Value>()
            .next()
            .unwrap()
            .unwrap()[0]["Status"]["raftIndex"]
            .as_u64()
            .unwrap()
    };
    c.write("/registry/pods/payments", 6);
    for m in &mut c.members {
        m.kill();
    }
    let data = |i: usize| c.members[i].data.clone();
    for i in 0..2 {
        corrupt_both_metas(&data(i).join("member/snap/db"));
        flip_entry_at(&data(i).join("member/wal"), before + 2);
    }
    let dirs: Vec<String> = (0..3).map(|i| data(i).display().to_string()).collect();
    let (code, lines, stderr) = recover_json(&dirs, &[]);
    assert_eq!(code, 1, "{lines:?} {stderr}");
    let r = lines.iter().find(|l| l["type"] == "recovery").unwrap();
    assert!(!r["lost"].is_null(), "{r}");
    let objects = r["lost_objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{r}");
    assert_eq!(objects[0]["resource"], "pods");
    assert_eq!(objects[0]["namespace"], "payments");
    assert!(objects[0]["objects"].as_u64().unwrap() >= 4, "{r}");
    let text = util::run(&[&["recover".to_owned()][..], &dirs[..]].concat()).stdout;
    assert!(
        text.contains("Kubernetes objects those entries write: ")
            && text.contains(" pods in namespace payments"),
        "{text}"
    );
}

/// The command `recover` prints to write the recovered dir ("write it with: …") works
/// when pasted into a shell, from another working directory: it writes that dir, and
/// nothing else changes.
#[test]
fn the_printed_apply_command_works_as_printed() {
    let cl = testdata::clean("v35-cluster3").unwrap();
    let dirs: Vec<String> = ["m1", "m2", "m3"]
        .iter()
        .map(|m| cl.path().join("data").join(m).display().to_string())
        .collect();
    let out = util::run(&[&["recover".to_owned()][..], &dirs[..]].concat());
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("write it with: "))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_owned();
    let before: Vec<_> = dirs
        .iter()
        .map(|d| util::fingerprint(Path::new(d)))
        .collect();
    let elsewhere = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(util::BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = std::process::Command::new("sh")
        .args(["-c", &line])
        .current_dir(elsewhere.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{line}: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let out_dir = line
        .split_whitespace()
        .find_map(|a| a.strip_prefix("--out="))
        .unwrap();
    assert!(
        Path::new(out_dir).join("member/snap/db").is_file(),
        "{line}"
    );
    assert!(Path::new(out_dir).join("member/wal").is_dir(), "{line}");
    let after: Vec<_> = dirs
        .iter()
        .map(|d| util::fingerprint(Path::new(d)))
        .collect();
    assert_eq!(before, after, "an input changed");
}

//! `wal-inspect repair`: plans write nothing; apply backs up, is atomic when interrupted,
//! undoes; refusals; and real etcd (3.5.1 / 3.4.23) starts, is healthy, accepts a put and
//! a get and serves exactly what it served before the damage on every repaired WAL fixture.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

use crate::util;

pub(crate) fn repair(
    args: &[&str],
    path: &Path,
    env: Option<(&str, &str)>,
) -> (i32, String, String) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["repair".as_ref(), path.as_os_str()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    let env: Vec<(&str, &str)> = env.into_iter().collect();
    let out = util::run_in(None, &all, &env);
    (out.code, out.stdout, out.stderr)
}

/// The `plan` line of `repair --json PATH` (after the `begin` line; every line checked
/// against the JSON conventions).
pub(crate) fn plan_json(path: &Path) -> (i32, Value) {
    plan_json_with(path, &[])
}

/// Like [`plan_json`], with more arguments.
pub(crate) fn plan_json_with(path: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, out, err) = repair(&all, path, None);
    let o = util::Out {
        code,
        stdout: out,
        stderr: err,
    };
    let lines = util::json_lines(&o, Some("repair"));
    let plan = lines
        .into_iter()
        .find(|l| l["type"] == "plan")
        .unwrap_or_else(|| panic!("no plan line: {} {}", o.stdout, o.stderr));
    (code, plan)
}

/// Every file below `dir`: (crc32c-free fingerprint = size + content hash, mtime).
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (u64, u64, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                // FNV-1a: enough to tell contents apart in a test.
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for b in &bytes {
                    h ^= u64::from(*b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    (m.len(), h, m.modified().ok()),
                );
            }
        }
    }
    out
}

/// Contents only (no mtimes), for before/after comparisons across rewrites. A staged
/// `*.wal-inspect-new` dir (left by an interrupted apply, never read by etcd, removed by the
/// next apply or undo) is not part of the state.
fn contents(dir: &Path) -> BTreeMap<PathBuf, (u64, u64)> {
    fingerprint(dir)
        .into_iter()
        .filter(|(k, _)| {
            !k.components().any(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .ends_with(".wal-inspect-new")
            })
        })
        .map(|(k, (s, h, _))| (k, (s, h)))
        .collect()
}

fn damaged_dir(case: &testdata::Case, root: &Path) -> PathBuf {
    case.data_dir(root).expect("case has a data dir")
}

#[test]
fn plan_writes_nothing() {
    for name in [
        "v35-wal-flip-entry-mid",
        "v35-wal-zero-4k",
        "v35-wal-torn-tail",
        "v34-wal-len-huge",
        "v35-roll-zero-512-middle",
    ] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = damaged_dir(&case, dir.path());
        let before = fingerprint(dir.path());
        let (code, plan) = plan_json(&data);
        assert!(code == 1 || code == 3, "{name}: exit {code}");
        assert!(
            plan["kind"].is_string() && plan["changes"].is_array(),
            "{name}"
        );
        let (code2, _, _) = repair(&[], &data, None);
        assert_eq!(code, code2, "{name}");
        assert_eq!(
            before,
            fingerprint(dir.path()),
            "{name}: the plan wrote something"
        );
    }
}

#[test]
fn clean_dir_has_nothing_to_do() {
    let dir = testdata::clean("v35-single").unwrap();
    let data = dir.path().join("data/m1");
    let before = fingerprint(dir.path());
    let (code, plan) = plan_json(&data);
    assert_eq!((code, plan["kind"].as_str()), (0, Some("nothing")));
    let (code, _, _) = repair(&["--apply"], &data, None);
    assert_eq!(code, 0);
    assert_eq!(before, fingerprint(dir.path()));
}

/// Stopped after every step, the member dir is either as before or as planned; undo
/// always brings back what was there before.
#[test]
fn interrupted_apply_is_before_or_planned_and_undo_restores() {
    for name in ["v35-wal-zero-4k", "v35-wal-flip-entry-mid"] {
        // The planned state: a full apply on one copy.
        let (full, case) = testdata::case(name).unwrap();
        let data = damaged_dir(&case, full.path());
        let member = data.join("member");
        let before = contents(&member);
        let (code, out, err) = repair(&["--apply"], &data, None);
        assert_eq!(code, 0, "{name}: {out} {err}");
        let planned = contents(&member);
        assert_ne!(before, planned);
        let (code, _, _) = Command::new(util::BIN)
            .args(["verify"])
            .arg(&data)
            .output()
            .map(|o| (o.status.code().unwrap_or(-1), (), ()))
            .unwrap();
        assert_eq!(code, 0, "{name}: the repaired dir does not verify clean");
        // Undo after a full apply.
        let (code, out, err) = repair(&["--undo"], &data, None);
        assert_eq!(code, 0, "{name}: {out} {err}");
        assert_eq!(before, contents(&member), "{name}: undo after apply");

        for stop in 1..=3u32 {
            let (dir, case) = testdata::case(name).unwrap();
            let data = damaged_dir(&case, dir.path());
            let member = data.join("member");
            let s = stop.to_string();
            let (code, out, err) = repair(
                &["--apply"],
                &data,
                Some(("WAL_INSPECT_REPAIR_STOP_AFTER", &s)),
            );
            assert_eq!(code, 2, "{name} stop {stop}: {out} {err}");
            let now = contents(&member);
            if stop < 3 {
                assert_eq!(now, before, "{name}: stopped after step {stop}");
            } else {
                assert_eq!(now, planned, "{name}: stopped after step {stop}");
            }
            // The plan still reports the leftovers but never writes.
            let fp = fingerprint(dir.path());
            let _ = plan_json(&data);
            assert_eq!(fp, fingerprint(dir.path()));
            let (code, out, err) = repair(&["--undo"], &data, None);
            assert_eq!(code, 0, "{name} stop {stop}: {out} {err}");
            assert_eq!(contents(&member), before, "{name}: undo after stop {stop}");
            // No staged dir is left behind.
            assert!(
                !std::fs::read_dir(&data).unwrap().flatten().any(|e| e
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".wal-inspect-new")),
                "{name}: leftovers after undo"
            );
        }
    }
}

/// A process holding a lock on a segment (as etcd does) makes every mode refuse, even on a
/// clean dir.
#[test]
fn live_holder_is_refused() {
    let dir = testdata::clean("v35-single").unwrap();
    let data = dir.path().join("data/m1");
    let seg = data.join("member/wal/0000000000000000-0000000000000000.wal");
    let mut holder = Command::new("flock")
        .arg("-x")
        .arg(&seg)
        .args(["-c", "echo locked; cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock(1)");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let before = fingerprint(dir.path());
    for args in [&["--apply"][..], &["--undo"]] {
        let (code, out, err) = repair(args, &data, None);
        assert_eq!(code, 3, "{args:?}: {out} {err}");
        assert!(
            err.starts_with("wal-inspect: refused: a live etcd holds"),
            "{err}"
        );
    }
    // The plan alone is read-only: it is shown, with a note, never refused.
    let (code, out, err) = repair(&[], &data, None);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("note: a live etcd holds"), "{out}");
    assert!(out.contains("stop it before --apply"), "{out}");
    drop(holder.stdin.take());
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(before, fingerprint(dir.path()));
}

/// A bare WAL dir (no db): a cut loses committed entries, so `--apply` alone is refused.
#[test]
fn losing_committed_data_needs_the_opt_in() {
    use etcd_proto::pb::raftpb::{Entry, HardState};
    use etcd_wal::writer::SegmentBuilder;
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    std::fs::create_dir(&wal).unwrap();
    let mut b = SegmentBuilder::new(0);
    b.metadata(1, 2);
    b.snapshot(0, 0, None);
    let mut offs = Vec::new();
    for i in 1..=10u64 {
        offs.push(b.entry(&Entry {
            r#type: 0,
            term: 1,
            index: i,
            data: vec![7; 64],
        }));
        b.hard_state(&HardState {
            term: 1,
            vote: 1,
            commit: i,
        });
    }
    let mut bytes = b.finish(Some(1 << 20));
    // Two damaged bytes in entry 6: no single-byte fix.
    let o = usize::try_from(offs[5]).unwrap() + 40;
    bytes[o] ^= 0x11;
    bytes[o + 9] ^= 0x22;
    let seg = wal.join("0000000000000000-0000000000000000.wal");
    std::fs::write(&seg, &bytes).unwrap();
    let (code, plan) = plan_json(&wal);
    assert_eq!(code, 1);
    assert_eq!(plan["kind"], "truncate", "{plan}");
    assert_eq!(plan["dropped"]["lost"], 5, "{plan}");
    assert_eq!(plan["dropped"]["lost_committed"], 5, "{plan}");
    assert_eq!(plan["needs_allow_data_loss"], true);
    let before = fingerprint(dir.path());
    let (code, _, _) = repair(&["--apply"], &wal, None);
    assert_eq!(code, 3);
    assert_eq!(before, fingerprint(dir.path()));
    let (code, out, err) = repair(&["--apply", "--allow-data-loss"], &wal, None);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), offs[5]);
    let (code, plan) = plan_json(&wal);
    assert_eq!(
        (code, plan["kind"].as_str()),
        (0, Some("nothing")),
        "{plan}"
    );
}

// ------------------------------------------------------------------ real etcd

fn kvs(v: &Value) -> Vec<Value> {
    v["kvs"].as_array().cloned().unwrap_or_default()
}

/// Repair a case with the CLI, start real etcd of the case's version on it and check what
/// it serves against the keyspace recorded before the damage.
fn repaired_etcd_serves_everything(name: &str, want_kind: &str, port: u16) {
    let (dir, case) = testdata::case(name).unwrap();
    let data = damaged_dir(&case, dir.path());
    repaired_dir_serves_everything(
        name,
        &data,
        &dir.path().join("keyspace.json"),
        case.clean(),
        case.etcd_version(),
        want_kind,
        port,
    );
}

/// Repair the member at `data` (damaged copy of the fixture `clean`, whose keyspace before
/// the damage is in `keyspace`) and check what etcd `version` serves on the result.
fn repaired_dir_serves_everything(
    name: &str,
    data: &Path,
    keyspace: &Path,
    clean: &str,
    version: &str,
    want_kind: &str,
    port: u16,
) {
    let data = data.to_path_buf();
    let (code, plan) = plan_json(&data);
    assert_eq!(code, 1, "{name}: {plan}");
    assert_eq!(plan["kind"], want_kind, "{name}: {plan}");
    assert_eq!(
        plan["dropped"]["lost"], 0,
        "{name}: the plan loses data: {plan}"
    );
    let (code, out, err) = repair(&["--apply"], &data, None);
    assert_eq!(code, 0, "{name}: {out} {err}");
    let verify = Command::new(util::BIN)
        .arg("verify")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let before: Value = serde_json::from_slice(&std::fs::read(keyspace).unwrap()).unwrap();
    let meta = testdata::config_meta(clean).unwrap();
    let revision = meta["final"]["revision"].as_i64().unwrap();
    let _lock = EtcdLock::take();
    let t0 = Instant::now();
    let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
    etcd.wait_healthy();
    let now = etcd.keyspace();
    assert_eq!(now["header"]["revision"].as_i64(), Some(revision), "{name}");
    assert_eq!(
        kvs(&now),
        kvs(&before),
        "{name}: keyspace differs from before the damage"
    );
    let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok"]);
    assert!(ok, "{name}: put failed (wedged?): {out}");
    let (ok, out) = etcd.ctl(&["get", "repair/probe", "--print-value-only"]);
    assert!(ok && out.trim() == "ok", "{name}: get: {out}");
    let after = etcd.keyspace();
    assert_eq!(after["header"]["revision"].as_i64(), Some(revision + 1));
    eprintln!(
        "{name}: {want_kind} applied; etcd {version} served revision {revision} and {} keys as before, put+get OK ({:.1}s)",
        kvs(&before).len(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn etcd_v35_serves_repaired_wals() {
    for (name, kind) in [
        ("v35-wal-flip-entry-mid", "fix"),
        ("v35-wal-flip-last-record", "fix"),
        ("v35-wal-torn-tail", "rebuild"),
        ("v35-wal-zero-4k", "rebuild"),
        ("v35-wal-zero-512-lenword", "rebuild"),
        ("v35-wal-len-huge", "rebuild"),
        ("v35-wal-len-misframed", "rebuild"),
        ("v35-roll-flip-middle", "fix"),
        ("v35-roll-zero-512-middle", "rebuild"),
        ("v35-roll-torn-tail", "rebuild"),
        ("v35-roll-last-empty", "rebuild"),
    ] {
        repaired_etcd_serves_everything(name, kind, 24700);
    }
}

#[test]
fn etcd_v34_serves_repaired_wals() {
    for (name, kind) in [
        ("v34-wal-flip-entry-mid", "fix"),
        ("v34-wal-flip-last-record", "fix"),
        ("v34-wal-torn-tail", "rebuild"),
        ("v34-wal-zero-4k", "rebuild"),
        ("v34-wal-zero-512-lenword", "rebuild"),
        ("v34-wal-len-huge", "rebuild"),
        ("v34-wal-len-misframed", "rebuild"),
        ("v34-roll-flip-middle", "fix"),
        // No .snap and a 3.4 db (no term, no confState): rebuilt from the members bucket
        // and the WAL's terms.
        ("v34-roll-zero-512-middle", "rebuild"),
        ("v34-roll-torn-tail", "rebuild"),
    ] {
        repaired_etcd_serves_everything(name, kind, 24710);
    }
}

/// The 3-member cluster: m1 and m3 run (real etcd, loopback, the fixture's ports); the
/// runbook of m2's `repair --json` plan (member remove, member add, move the data dir
/// aside, start with --initial-cluster-state existing) is executed literally, nothing
/// added; m2 rejoins and converges on the same keyspace.
#[test]
fn cluster_member_rejoins_by_executing_the_plan_steps() {
    for name in ["v35-cluster3-m2-torn-tail", "v34-cluster3-m2-torn-tail"] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = |m: &str| dir.path().join("data").join(m);
        let (code, plan) = plan_json(&data("m2"));
        assert_eq!(code, 1, "{plan}");
        // The rejoin: the plan itself, or the alternative offered beside a local fix.
        let rejoin = if plan["kind"] == "rejoin" {
            &plan["runbook"]
        } else {
            &plan["alternative"]["runbook"]
        };
        assert_eq!(rejoin["kind"], "rejoin", "{plan}");
        let steps = &rejoin["steps"];
        assert_eq!(steps.as_array().map(Vec::len), Some(4), "{plan}");
        let version = case.etcd_version().to_string();
        let port = if version.starts_with("3.5") {
            23400
        } else {
            23500
        };
        let _lock = EtcdLock::take();
        let mut m1 = Etcd::start(&version, "m1", &data("m1"), port, &[]);
        let mut m3 = Etcd::start(&version, "m3", &data("m3"), port + 4, &[]);
        m1.wait_healthy();
        m3.wait_healthy();
        let mut daemons =
            crate::runbook::execute(steps, &version, dir.path(), &dir.path().join("logs"));
        let m2 = daemons.pop().expect("the runbook starts m2");
        let (ok, out) = m1.ctl(&["put", "repair/cluster-probe", "ok"]);
        assert!(ok, "{out}");
        let want = m1.keyspace()["header"]["revision"].as_i64();
        let client = format!("http://127.0.0.1:{}", port + 2);
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new(testdata::etcd_bin(&version, "etcdctl"))
                .env("ETCDCTL_API", "3")
                .args([
                    "--endpoints",
                    &client,
                    "get",
                    "repair/cluster-probe",
                    "--consistency=s",
                    "-w",
                    "json",
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let rev = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["header"]["revision"].as_i64());
            if rev == want && text.contains("kvs") {
                break;
            }
            assert!(
                Instant::now() < end,
                "{name}: m2 did not converge: {text} (want revision {want:?}); log: {}",
                m2.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let (ok, members) = m1.ctl(&["member", "list", "-w", "json"]);
        assert!(ok, "{members}");
        let members: Value = serde_json::from_str(&members).unwrap();
        let names: Vec<&str> = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names.len(), 3, "{members}");
        assert!(names.contains(&"m2"), "{members}");
        eprintln!("{name}: m2 rejoined by the runbook and converged on revision {want:?}");
        drop(m2);
        drop(m3);
    }
}

/// Move `data/member/wal` to `<root>/wal-disk/wal`, as with etcd's `--wal-dir`.
fn dedicate_wal(root: &Path, data: &Path) -> PathBuf {
    let wal = root.join("wal-disk/wal");
    std::fs::create_dir_all(wal.parent().unwrap()).unwrap();
    std::fs::rename(data.join("member/wal"), &wal).unwrap();
    wal
}

/// A WAL kept outside the data dir (etcd's `--wal-dir`): `verify` and `repair` take
/// `--wal-dir`; the plan writes nothing; `--apply` changes files only in the WAL dir and
/// `member/snap`, backs up into the data dir (WAL files under `wal-dir/`), leaves nothing
/// beside either dir; `--undo --wal-dir` brings every byte back; real etcd 3.5.1 started
/// with `--data-dir` and `--wal-dir` on the result serves what it served before the damage.
#[test]
fn dedicated_wal_dir_repair_on_real_etcd() {
    for (name, want_kind) in [
        ("v35-wal-torn-tail", "rebuild"),
        ("v35-wal-flip-entry-mid", "fix"),
    ] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = damaged_dir(&case, dir.path());
        let wal = dedicate_wal(dir.path(), &data);
        let w = wal.to_str().unwrap();
        // Without --wal-dir there is no WAL to read.
        let out = Command::new(util::BIN)
            .arg("verify")
            .arg(&data)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let out = Command::new(util::BIN)
            .arg("verify")
            .arg(&data)
            .args(["--wal-dir", w])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: verify finds the damage"
        );

        let before = contents(dir.path());
        let (code, plan) = plan_json_with(&data, &["--wal-dir", w]);
        assert_eq!(code, 1, "{name}: {plan}");
        assert_eq!(plan["kind"], want_kind, "{name}: {plan}");
        assert_eq!(plan["dropped"]["lost"], 0, "{name}: {plan}");
        assert_eq!(before, contents(dir.path()), "{name}: the plan wrote");
        for step in plan["changes"].as_array().unwrap() {
            let p = Path::new(step["path"].as_str().unwrap());
            assert!(
                p.starts_with(&wal) || p.starts_with(data.join("member/snap")),
                "{name}: {step}"
            );
        }

        let (code, out, err) = repair(&["--apply", "--wal-dir", w], &data, None);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let after = contents(dir.path());
        let backup: Vec<PathBuf> = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("wal-inspect-repair.")
            })
            .collect();
        assert_eq!(backup.len(), 1, "{name}");
        for (p, v) in &after {
            if before.get(p) == Some(v) {
                continue;
            }
            let abs = dir.path().join(p);
            assert!(
                abs.starts_with(&wal)
                    || abs.starts_with(data.join("member/snap"))
                    || abs.starts_with(&backup[0]),
                "{name}: {} written outside the WAL dir, member/snap and the backup",
                p.display()
            );
        }
        for p in before.keys() {
            assert!(
                after.contains_key(p) || dir.path().join(p).starts_with(&wal),
                "{name}: {p:?}"
            );
        }
        // The changed WAL files were backed up under wal-dir/, byte for byte.
        let saved = contents(&backup[0].join("wal-dir"));
        assert!(!saved.is_empty(), "{name}");
        for (s, v) in &saved {
            assert_eq!(
                before.get(&Path::new("wal-disk/wal").join(s)),
                Some(v),
                "{name}: backup of {}",
                s.display()
            );
        }
        // Nothing left beside the two dirs (staged dirs are gone).
        let names = |d: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&dir.path().join("wal-disk")), ["wal"], "{name}");
        assert!(
            !names(&data.join("member"))
                .iter()
                .any(|n| n.ends_with(".wal-inspect-new"))
        );
        let out = Command::new(util::BIN)
            .arg("verify")
            .arg(&data)
            .args(["--wal-dir", w])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );

        // Undo brings every byte back (both dirs), then apply again.
        let (code, out, err) = repair(&["--undo", "--wal-dir", w], &data, None);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let undone = contents(dir.path());
        let strip = |m: &BTreeMap<PathBuf, (u64, u64)>| -> BTreeMap<PathBuf, (u64, u64)> {
            m.iter()
                .filter(|(k, _)| !k.to_string_lossy().contains("wal-inspect-repair."))
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        };
        assert_eq!(strip(&undone), strip(&before), "{name}: undo");
        let (code, out, err) = repair(&["--apply", "--wal-dir", w], &data, None);
        assert_eq!(code, 0, "{name}: {out}{err}");

        let want: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("keyspace.json")).unwrap())
                .unwrap();
        let revision = testdata::config_meta(case.clean()).unwrap()["final"]["revision"]
            .as_i64()
            .unwrap();
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start(
            case.etcd_version(),
            "m1",
            &data,
            24720,
            &["--wal-dir".to_string(), w.to_string()],
        );
        etcd.wait_healthy();
        let now = etcd.keyspace();
        assert_eq!(now["header"]["revision"].as_i64(), Some(revision), "{name}");
        assert_eq!(kvs(&now), kvs(&want), "{name}: keyspace differs");
        let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok", "-w", "json"]);
        assert!(ok, "{name}: {out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["header"]["revision"].as_i64(),
            Some(revision + 1),
            "{name}"
        );
        drop(etcd);
        assert!(
            !data.join("member/wal").exists(),
            "{name}: etcd wrote member/wal"
        );
        eprintln!(
            "{name} with --wal-dir: {want_kind} applied; etcd served revision {revision} and {} keys, put -> {}",
            kvs(&want).len(),
            revision + 1
        );
    }
}

/// A cluster member with a dedicated WAL dir: the rejoin runbook moves the WAL dir aside
/// too and starts etcd with `--wal-dir`.
#[test]
fn rejoin_steps_cover_a_dedicated_wal_dir() {
    let (dir, _case) = testdata::case("v35-cluster3-m2-torn-tail").unwrap();
    let data = dir.path().join("data/m2");
    let wal = dedicate_wal(dir.path(), &data);
    let (code, plan) = plan_json_with(&data, &["--wal-dir", wal.to_str().unwrap()]);
    assert_eq!(code, 1, "{plan}");
    let steps = plan["alternative"]["runbook"]["steps"].as_array().unwrap();
    let argv = |s: &Value| -> Vec<String> {
        s["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    let asides: Vec<String> = steps
        .iter()
        .map(argv)
        .filter(|a| a[0] == "mv")
        .map(|a| a[1].clone())
        .collect();
    assert_eq!(
        asides,
        [data.display().to_string(), wal.display().to_string()],
        "{plan}"
    );
    let start = steps
        .iter()
        .find(|s| s["daemon"] == true)
        .map(argv)
        .unwrap();
    assert!(
        start.contains(&format!("--wal-dir={}", wal.display())),
        "{start:?}"
    );
}

/// `repair <member>/wal` reads the member's `snap/db` and `.snap` files exactly as
/// `repair <member>` does: the same plan on every damaged fixture (issue 14's case: the
/// WAL dir alone once proposed a truncate that dropped entries below the db's index).
#[test]
fn the_wal_dir_gives_the_same_plan_as_the_member_dir() {
    let mut compared = 0;
    for name in testdata::cases() {
        let case = testdata::Case::load(&name).unwrap();
        let Some(_) = case.member_rel() else { continue };
        let (dir, case) = testdata::case(&name).unwrap();
        let member = case.member_dir(dir.path()).unwrap();
        if !member.join("wal").is_dir() {
            continue;
        }
        let (code_m, mut from_member) = plan_json(&member);
        let (code_w, mut from_wal) = plan_json(&member.join("wal"));
        assert_eq!(code_m, code_w, "{name}");
        for p in [&mut from_member, &mut from_wal] {
            // The one difference: the dir the damage's file is named relative to.
            if let Some(d) = p.get_mut("damage").and_then(|d| d.as_object_mut()) {
                d.remove("file");
            }
        }
        assert_eq!(from_member, from_wal, "{name}");
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} fixtures compared");
}

/// A removed member (its own WAL replays its RemoveNode; etcd stops on it): `verify` ends
/// with `next: wal-inspect repair <dir>`; that command, run literally (the binary on
/// `PATH`), plans a rejoin without `member remove`; its runbook, executed literally next
/// to the fixture's running m1 and m2, brings m3 back: three members, m3 among them, and
/// m3 serves a write made through m1.
#[test]
fn removed_member_rejoins_by_following_verify_and_repair() {
    for config in ["v35-removed-member", "v34-removed-member"] {
        let meta = testdata::config_meta(config).unwrap();
        let dir = testdata::clean(config).unwrap();
        let data = |m: &str| dir.path().join("data").join(m);
        let out = util::run(&["verify".to_owned(), data("m3").display().to_string()]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        let next = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("next: "))
            .expect("verify says what to run next")
            .to_owned();
        let bin_dir = Path::new(util::BIN).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let shown = Command::new("sh")
            .args(["-c", &format!("{next} --json")])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(shown.status.code(), Some(1), "{next}: {shown:?}");
        let lines = util::json_lines(
            &util::Out {
                code: 1,
                stdout: String::from_utf8(shown.stdout).unwrap(),
                stderr: String::new(),
            },
            Some("repair"),
        );
        let plan = &lines[0];
        assert_eq!(plan["kind"], "rejoin", "{plan}");
        assert_eq!(plan["runbook"]["kind"], "rejoin_removed", "{plan}");
        let steps = &plan["runbook"]["steps"];
        assert!(!steps.to_string().contains("member remove"), "{steps}");

        let version = meta["etcd_version"].as_str().unwrap().to_owned();
        let port = |i: usize| meta["members"][i]["client_port"].as_u64().unwrap() as u16;
        let _lock = EtcdLock::take();
        let m1 = Etcd::start(&version, "m1", &data("m1"), port(0), &[]);
        let mut m2 = Etcd::start(&version, "m2", &data("m2"), port(1), &[]);
        m2.wait_healthy();
        let mut daemons =
            crate::runbook::execute(steps, &version, dir.path(), &dir.path().join("logs"));
        let m3 = daemons.pop().expect("the runbook starts m3");
        let (ok, out) = m1.ctl(&["put", "repair/removed-probe", "back"]);
        assert!(ok, "{out}");
        wait_serves(
            &version,
            port(2),
            "repair/removed-probe",
            "back",
            &format!("{config}: m3"),
            &m3,
        );
        let (ok, members) = m1.ctl(&["member", "list"]);
        assert!(ok, "{members}");
        assert_eq!(members.lines().count(), 3, "{members}");
        assert!(members.contains(", m3, "), "{members}");
        eprintln!("{config}: verify → {next} → rejoin runbook: m3 is back");
    }
}

/// A malformed `--config` (each of the three formats) is bad input: `verify` and `repair`
/// exit 2 with one error naming the file and the line, and write nothing.
#[test]
fn malformed_configs_are_bad_input_naming_file_and_line() {
    let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let data = damaged_dir(&case, dir.path());
    let cfg = tempfile::tempdir().unwrap();
    for (file, text, line) in [
        ("etcd.conf", "ETCD_NAME=m1\nETCD_DATA_DIR\n", Some(2)),
        (
            "etcd.conf",
            "ETCD_NAME=m1\nETCD_INITIAL_CLUSTER=m1\n",
            Some(2),
        ),
        ("etcd.yml", "name: m1\n  bad: [\n", None),
        (
            "etcd.yaml",
            "kind: Pod\nspec:\n  containers:\n  - name: other\n    command: [sleep]\n",
            None,
        ),
    ] {
        let path = cfg.path().join(file);
        std::fs::write(&path, text).unwrap();
        let before = fingerprint(dir.path());
        for cmd in ["verify", "repair"] {
            let out = util::run(&[
                cmd.to_owned(),
                data.display().to_string(),
                format!("--config={}", path.display()),
            ]);
            assert_eq!(out.code, 2, "{cmd} {file}: {}{}", out.stdout, out.stderr);
            let want = match line {
                Some(l) => format!("wal-inspect: error: {}:{l}: ", path.display()),
                None => format!("wal-inspect: error: {}", path.display()),
            };
            assert!(
                out.stderr.starts_with(&want),
                "{cmd} {file}: {}",
                out.stderr
            );
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            assert!(out.stdout.is_empty(), "{cmd}: {}", out.stdout);
        }
        assert_eq!(
            before,
            fingerprint(dir.path()),
            "{file}: something was written"
        );
    }
}

/// The same on the damaged fixtures written by etcd 3.6.16 and 3.7.3: after `--apply`,
/// that release's etcd starts, serves the keyspace of before the damage and accepts a
/// write. Opt-in (`--ignored`): the releases are built from etcd's Go modules by
/// `scripts/install-etcd.sh latest` (a few minutes on a fresh machine).
fn later_release_serves_repaired_wals(prefix: &str, release: &str, port: u16) {
    if !testdata::require_release(release) {
        return;
    }
    for (case, kind) in [
        ("wal-flip-entry-mid", "fix"),
        ("wal-flip-last-record", "fix"),
        ("wal-torn-tail", "rebuild"),
        ("wal-zero-4k", "rebuild"),
        ("wal-zero-512-lenword", "rebuild"),
        ("wal-len-huge", "rebuild"),
        ("wal-len-misframed", "rebuild"),
        ("roll-flip-middle", "fix"),
        ("roll-zero-512-middle", "rebuild"),
        ("roll-torn-tail", "rebuild"),
    ] {
        repaired_etcd_serves_everything(&format!("{prefix}-{case}"), kind, port);
    }
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.6"]
fn etcd_v36_serves_repaired_wals() {
    later_release_serves_repaired_wals("v36", "3.6", 24730);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.7"]
fn etcd_v37_serves_repaired_wals() {
    later_release_serves_repaired_wals("v37", "3.7", 24740);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.5-latest"]
fn etcd_v3535_serves_repaired_wals() {
    later_release_serves_repaired_wals("v3535", "3.5-latest", 24750);
}

/// A cluster member whose WAL head is zeroed (no metadata record: no member ID in its
/// own data): with its etcd.conf (`--config`, which names its peer URL) and another
/// member's dir (`--peer-dir`, for the client URLs) the plan is a rejoin of the right
/// member; its runbook, executed literally next to the fixture's running m1 and m3, brings
/// m2 back. Without them the impossible plan says which options identify it.
#[test]
fn member_with_a_zeroed_wal_head_rejoins_by_its_config() {
    for config in ["v35-cluster3", "v34-cluster3"] {
        let meta = testdata::config_meta(config).unwrap();
        let dir = testdata::clean(config).unwrap();
        let data = |m: &str| dir.path().join("data").join(m);
        let seg = data("m2").join("member/wal/0000000000000000-0000000000000000.wal");
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[..512].fill(0);
        std::fs::write(&seg, bytes).unwrap();
        let (code, plan) = plan_json(&data("m2"));
        assert_eq!(
            (code, &plan["kind"]),
            (3, &Value::from("impossible")),
            "{plan}"
        );
        assert!(plan.to_string().contains("give --config FILE"), "{plan}");

        let port = |i: usize| meta["members"][i]["client_port"].as_u64().unwrap() as u16;
        let peer = |i: usize| format!("http://127.0.0.1:{}", port(i) + 1);
        let conf = dir.path().join("m2.conf");
        std::fs::write(
            &conf,
            format!(
                "ETCD_NAME=\"m2\"\nETCD_INITIAL_ADVERTISE_PEER_URLS=\"{p2}\"\n\
                 ETCD_LISTEN_PEER_URLS=\"{p2}\"\n\
                 ETCD_INITIAL_CLUSTER=\"m1={p1},m2={p2},m3={p3}\"\n",
                p1 = peer(0),
                p2 = peer(1),
                p3 = peer(2)
            ),
        )
        .unwrap();
        let (code, plan) = plan_json_with(
            &data("m2"),
            &[
                &format!("--config={}", conf.display()),
                &format!("--peer-dir={}", data("m1").display()),
            ],
        );
        assert_eq!(code, 1, "{plan}");
        assert_eq!(plan["kind"], "rejoin", "{plan}");
        // It removes the right member: m2's ID, found through its peer URL.
        let m2_id = meta["member_ids"]["m2"].as_str().unwrap();
        let steps = &plan["runbook"]["steps"];
        let remove = &steps[0]["argv"];
        assert_eq!(remove[2], "member", "{steps}");
        assert_eq!(remove[3], "remove", "{steps}");
        assert_eq!(remove[4], m2_id, "{steps}");
        let version = meta["etcd_version"].as_str().unwrap().to_owned();
        let _lock = EtcdLock::take();
        let mut m1 = Etcd::start(&version, "m1", &data("m1"), port(0), &[]);
        let mut m3 = Etcd::start(&version, "m3", &data("m3"), port(2), &[]);
        m1.wait_healthy();
        m3.wait_healthy();
        let mut daemons =
            crate::runbook::execute(steps, &version, dir.path(), &dir.path().join("logs"));
        let m2 = daemons.pop().expect("the runbook starts m2");
        let (ok, out) = m1.ctl(&["put", "repair/zeroed-head", "back"]);
        assert!(ok, "{out}");
        wait_serves(
            &version,
            port(1),
            "repair/zeroed-head",
            "back",
            &format!("{config}: m2"),
            &m2,
        );
        eprintln!("{config}: m2 with a zeroed WAL head rejoined by its config");
    }
}

/// Wait (40 s at most) until the member at client port `port` serves `key` = `want` from
/// its own copy (a serializable read): it has caught up.
fn wait_serves(
    version: &str,
    port: u16,
    key: &str,
    want: &str,
    what: &str,
    daemon: &crate::runbook::Daemon,
) {
    let client = format!("http://127.0.0.1:{port}");
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        let out = Command::new(testdata::etcd_bin(version, "etcdctl"))
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &client, "get", key, "--consistency=s"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains(want) {
            return;
        }
        assert!(
            Instant::now() < end,
            "{what} did not catch up: {}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The db is gone and etcd refuses ("failed to find database snapshot file"): the WAL
/// holds everything from index 1, so the plan moves the `.snap` files into the backup and
/// etcd 3.5.1, started on the result, rebuilds the db by replaying the log: the keyspace
/// and revision of before, and a write accepted.
#[test]
fn a_lost_db_is_rebuilt_by_etcd_from_the_wal_v35() {
    repaired_etcd_serves_everything("v35-db-deleted", "db_rebuild", 24780);
}

/// bbolt refuses the db (both metas bad: `checksum error`; a leaf of the key bucket with
/// an invalid type: `freepages: failed to get all reachable pages`) and the WAL holds
/// everything from index 1: the plan moves the db and the `.snap` files into the backup and
/// real etcd of the fixture's release replays the log into a new db.
#[test]
fn an_unusable_db_is_rebuilt_by_etcd_from_the_wal() {
    for (name, port) in [
        ("v35-db-meta-both", 24790),
        ("v35-db-leaf-flags", 24790),
        ("v34-db-meta-both", 24800),
        ("v34-db-leaf-flags", 24800),
    ] {
        repaired_etcd_serves_everything(name, "db_rebuild", port);
    }
}

/// A db cut short (half its pages gone), made here from the clean fixture: real etcd
/// refuses it (checked, not assumed), and after `repair --apply` it serves the keyspace of
/// before from a replay of the WAL.
#[test]
fn a_truncated_db_is_rebuilt_by_etcd_from_the_wal() {
    for (config, port) in [("v35-single", 24810), ("v34-single", 24820)] {
        let dir = testdata::clean(config).unwrap();
        let data = dir.path().join("data/m1");
        let db = data.join("member/snap/db");
        let size = std::fs::metadata(&db).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len(size / 2).unwrap();
        drop(f);
        let meta = testdata::config_meta(config).unwrap();
        let version = meta["etcd_version"].as_str().unwrap().to_owned();
        {
            let _lock = EtcdLock::take();
            assert_etcd_refuses(&version, &data, port, "a truncated db");
        }
        repaired_dir_serves_everything(
            &format!("{config} with the db truncated"),
            &data,
            &dir.path().join("keyspace.json"),
            config,
            &version,
            "db_rebuild",
            port,
        );
    }
}

/// The tree of the db's last bolt transaction is damaged, the one before is intact: real
/// etcd writes keys and is killed (SIGKILL) just after its last batch commit, so the last
/// transaction owns pages of its own; one of them gets an invalid page type (etcd's refusal
/// is checked); the plan is `db_revert_meta` (the older meta copied over the newer one,
/// nothing else written) and etcd, started on the result, re-applies the WAL's last entries
/// and serves every acknowledged write.
#[test]
fn a_damaged_last_transaction_is_dropped_and_replayed() {
    use etcd_snap::bolt::Db;
    for (config, port) in [("v35-single", 24830), ("v34-single", 24840)] {
        let dir = testdata::clean(config).unwrap();
        let data = dir.path().join("data/m1");
        let db = data.join("member/snap/db");
        let version = testdata::config_meta(config).unwrap()["etcd_version"]
            .as_str()
            .unwrap()
            .to_owned();
        let _lock = EtcdLock::take();
        let before = {
            let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
            etcd.wait_healthy();
            for i in 0..20 {
                let (ok, out) = etcd.ctl(&["put", &format!("last-tx/{i:02}"), &"v".repeat(200)]);
                assert!(ok, "{out}");
            }
            let before = etcd.keyspace();
            // etcd commits its batch every 100 ms; the last commit holds the writes.
            std::thread::sleep(Duration::from_millis(500));
            let st = Command::new("kill")
                .args(["-KILL", &etcd.pid().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            while etcd.exited().is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            before
        };
        // A page only the last transaction's tree reaches.
        let page = {
            let newest = Db::open(&db).unwrap();
            let other = 1 - newest.active_meta();
            let mine = newest.reachable_pages().unwrap();
            let older = Db::open(&db).unwrap().at_meta(other).unwrap();
            assert!(older.meta().txid < newest.meta().txid);
            let theirs = older.reachable_pages().unwrap();
            *mine
                .iter()
                .find(|p| !theirs.contains(p))
                .expect("the last transaction owns a page")
        };
        let ps = u64::from(Db::open(&db).unwrap().page_size());
        {
            let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
            std::os::unix::fs::FileExt::write_all_at(&f, &[0x40, 0x00], page * ps + 8).unwrap();
        }
        assert_etcd_refuses(&version, &data, port, &format!("page {page} damaged"));
        let (code, plan) = plan_json(&data);
        assert_eq!(code, 1, "{plan}");
        assert_eq!(plan["kind"], "db_revert_meta", "{config}: {plan}");
        // The older tree is behind the log: etcd has entries to re-apply.
        let (ci, last) = (
            plan["kept"]["db_consistent_index"].as_u64().unwrap(),
            plan["kept"]["last_index"].as_u64().unwrap(),
        );
        assert!(ci < last, "{plan}");
        let changes = plan["changes"].as_array().unwrap();
        assert_eq!(changes[0]["op"], "overwrite", "{plan}");
        assert!(changes[1..].iter().all(|c| c["op"] == "remove"), "{plan}");
        let size = std::fs::metadata(&db).unwrap().len();
        let (code, out, err) = repair(&["--apply"], &data, None);
        assert_eq!(code, 0, "{out} {err}");
        // Only the meta page changed.
        assert_eq!(std::fs::metadata(&db).unwrap().len(), size);
        let (code, plan) = plan_json(&data);
        assert_eq!(
            (code, plan["kind"].as_str()),
            (0, Some("nothing")),
            "{plan}"
        );
        let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let now = etcd.keyspace();
        assert_eq!(
            now["header"]["revision"], before["header"]["revision"],
            "{config}"
        );
        assert_eq!(kvs(&now), kvs(&before), "{config}: keyspace differs");
        let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok"]);
        assert!(ok, "{config}: put failed: {out}");
        eprintln!(
            "{config}: page {page} of the last transaction damaged; db_revert_meta applied; etcd {version} served revision {} and {} keys, put OK",
            now["header"]["revision"],
            kvs(&now).len()
        );
    }
}

/// `repair --from FILE`: the db comes from a `snapshot save` file taken earlier, and etcd
/// re-applies the WAL entries written after it. Real etcd saves the file, takes 30 more
/// writes and stops; both metas of its db are then damaged (etcd refuses). The plan's
/// printed `apply with:` line is run through `sh` as printed; etcd of the same release
/// serves every write. Files it cannot use give an `impossible` plan (exit 3) and change
/// nothing: another cluster's, one with a wrong SHA-256 trailer, one ahead of the log.
#[test]
fn a_db_is_rebuilt_from_a_saved_snapshot_and_the_wal() {
    for (config, port) in [("v35-single", 24890), ("v34-single", 24900)] {
        let dir = testdata::clean(config).unwrap();
        let data = dir.path().join("data/m1");
        let db = data.join("member/snap/db");
        let version = testdata::config_meta(config).unwrap()["etcd_version"]
            .as_str()
            .unwrap()
            .to_owned();
        let saved = dir.path().join("earlier.db");
        let later = dir.path().join("later.db");
        let older_dir = dir.path().join("older");
        assert!(
            Command::new("cp")
                .arg("-a")
                .arg(&data)
                .arg(&older_dir)
                .status()
                .unwrap()
                .success()
        );
        let _lock = EtcdLock::take();
        let before = {
            let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
            etcd.wait_healthy();
            let (ok, out) = etcd.ctl(&["snapshot", "save", saved.to_str().unwrap()]);
            assert!(ok, "{out}");
            for i in 0..30 {
                let (ok, out) = etcd.ctl(&["put", &format!("after-save/{i:02}"), "v"]);
                assert!(ok, "{out}");
            }
            let (ok, out) = etcd.ctl(&["snapshot", "save", later.to_str().unwrap()]);
            assert!(ok, "{out}");
            etcd.keyspace()
        };
        damage_both_metas(&db);
        let s = saved.to_str().unwrap();
        let (code, plan) = plan_json_with(&data, &["--from", s]);
        assert_eq!(code, 1, "{plan}");
        assert_eq!(plan["kind"], "db_rebuild", "{config}: {plan}");
        let ci = plan["kept"]["db_consistent_index"].as_u64().unwrap();
        let last = plan["kept"]["last_index"].as_u64().unwrap();
        assert!(ci < last, "{plan}");
        assert!(
            plan["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["op"] == "copy_from"),
            "{plan}"
        );

        // Files it cannot use: nothing changes, exit 3.
        let fp = fingerprint(&data);
        let other = testdata::pristine(if config.starts_with("v35") {
            "v34-single"
        } else {
            "v35-single"
        })
        .unwrap()
        .join("snapshot.db");
        let flipped = dir.path().join("flipped.db");
        let mut bytes = std::fs::read(&saved).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&flipped, &bytes).unwrap();
        for (file, why) in [
            (&other, "does not list this member"),
            (&flipped, "SHA-256 trailer"),
        ] {
            let (code, plan) = plan_json_with(&data, &["--from", file.to_str().unwrap()]);
            assert_eq!(
                (code, plan["kind"].as_str()),
                (3, Some("impossible")),
                "{plan}"
            );
            assert!(plan["summary"].as_str().unwrap().contains(why), "{plan}");
            let (code, _, _) = repair(&["--apply", "--from", file.to_str().unwrap()], &data, None);
            assert_eq!(code, 3);
        }
        let (code, plan) = plan_json_with(&older_dir, &["--from", later.to_str().unwrap()]);
        assert_eq!(
            (code, plan["kind"].as_str()),
            (3, Some("impossible")),
            "{plan}"
        );
        assert!(
            plan["summary"]
                .as_str()
                .unwrap()
                .contains("ahead of this member's log"),
            "{plan}"
        );
        assert_eq!(fp, fingerprint(&data));

        // Apply and undo: the member dir is as before, byte for byte.
        let member_before = fingerprint(&data.join("member"));
        let (code, out, err) = repair(&["--from", s, "--apply"], &data, None);
        assert_eq!(code, 0, "{out} {err}");
        assert_ne!(member_before, fingerprint(&data.join("member")));
        let (code, out, err) = repair(&["--undo"], &data, None);
        assert_eq!(code, 0, "{out} {err}");
        let strip = |f: BTreeMap<PathBuf, (u64, u64, Option<SystemTime>)>| {
            f.into_iter()
                .map(|(p, (s, h, _))| (p, s, h))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(member_before),
            strip(fingerprint(&data.join("member")))
        );

        // The printed command, literally.
        let (code, out, err) = repair(&["--from", s], &data, None);
        assert_eq!(code, 1, "{out} {err}");
        let line = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("apply with: "))
            .unwrap_or_else(|| panic!("no apply line: {out}"));
        assert!(line.contains("--from="), "{line}");
        let (code, out) = sh(line);
        assert_eq!(code, 0, "{line}: {out}");
        let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let now = etcd.keyspace();
        assert_eq!(
            now["header"]["revision"], before["header"]["revision"],
            "{config}"
        );
        assert_eq!(kvs(&now), kvs(&before), "{config}: keyspace differs");
        let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok"]);
        assert!(ok, "{out}");
        eprintln!(
            "{config}: db from a snapshot at index {ci}, {} entries re-applied by etcd {version}; {} keys served",
            last - ci,
            kvs(&now).len()
        );
    }
}

/// `db salvage` on a db with a leaf of the key bucket unreadable (real etcd refused it):
/// every other record is copied into a new db, the lost revision range is named; the
/// printed `install it with:` line, then the plan's `apply with:` line, run through `sh`;
/// etcd of the same release starts on the result and serves exactly what the salvaged db
/// holds: every key whose latest write lies outside the lost range as before. With the
/// whole history in the WAL, `verify --check-values` then names the keys whose latest
/// record was lost.
#[test]
fn a_salvaged_db_serves_what_was_readable() {
    for (name, port) in [("v35-db-leaf-flags", 24910), ("v34-db-leaf-flags", 24920)] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = damaged_dir(&case, dir.path());
        let out_file = dir.path().join("salvaged.db");
        let before_fp = fingerprint(dir.path());
        let o = util::run(&[
            "db",
            "salvage",
            "--json",
            data.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 1, "{name}: {} {}", o.stdout, o.stderr);
        let r: Value = serde_json::from_str(&o.stdout).unwrap();
        let lost = r["lost"].as_array().unwrap();
        assert_eq!(lost.len(), 1, "{r}");
        assert_eq!(lost[0]["bucket"], "key");
        assert_eq!(lost[0]["page"], case.ground_truth()["page_id"]);
        let rev = |v: &Value| -> i64 {
            v.as_str()
                .unwrap()
                .split_once('_')
                .unwrap()
                .0
                .parse()
                .unwrap()
        };
        let (lo, hi) = (rev(&lost[0]["from"]), rev(&lost[0]["to"]));
        // The source is only read.
        let mut after_fp = fingerprint(dir.path());
        after_fp.retain(|p, _| !p.ends_with("salvaged.db"));
        assert_eq!(before_fp, after_fp);
        let (code, _) = sh(&format!(
            "wal-inspect db salvage {} --out {}",
            data.display(),
            out_file.display()
        ));
        assert_eq!(code, 3, "an existing --out is refused");
        // A db that a live process holds (bbolt's flock) is not read: exit 3, nothing written.
        {
            let db = data.join("member/snap/db");
            let mut holder = Command::new("flock")
                .arg("-x")
                .arg(&db)
                .args(["-c", "echo locked; cat"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("flock(1)");
            let mut line = String::new();
            BufReader::new(holder.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line.trim(), "locked");
            let other = dir.path().join("while-live.db");
            let o = util::run(&[
                "db",
                "salvage",
                data.to_str().unwrap(),
                "--out",
                other.to_str().unwrap(),
            ]);
            drop(holder.stdin.take());
            let _ = holder.kill();
            let _ = holder.wait();
            assert_eq!(o.code, 3, "{}", o.stderr);
            assert!(o.stderr.contains("refusing"), "{}", o.stderr);
            assert!(!other.exists());
        }

        // Text output: the install line, then the plan's apply line, literally.
        let text = util::run(&[
            "db",
            "salvage",
            data.to_str().unwrap(),
            "--out",
            dir.path().join("again.db").to_str().unwrap(),
        ]);
        let install = text
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("install it with: "))
            .unwrap_or_else(|| panic!("{}", text.stdout))
            .replace("again.db", "salvaged.db");
        let (code, plan_text) = sh(&install);
        assert_eq!(code, 1, "{plan_text}");
        assert!(plan_text.contains("db_rebuild from"), "{plan_text}");
        let apply = plan_text
            .lines()
            .find_map(|l| l.trim().strip_prefix("apply with: "))
            .unwrap_or_else(|| panic!("{plan_text}"))
            .to_owned();
        let (code, out) = sh(&apply);
        assert_eq!(code, 0, "{out}");

        // What the salvaged db holds, as wal-inspect reads it.
        let keys = util::run(&["db", "keys", "--json", out_file.to_str().unwrap()]);
        let keys: Value = serde_json::from_str(&keys.stdout).unwrap();
        let before: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("keyspace.json")).unwrap())
                .unwrap();
        let version = case.etcd_version().to_owned();
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start(&version, "m1", &data, port, &[]);
        etcd.wait_healthy();
        let now = etcd.keyspace();
        let served = kvs(&now);
        assert_eq!(
            served.len(),
            keys["keys"].as_array().unwrap().len(),
            "{name}: etcd serves the salvaged db's live keys"
        );
        let by_key = |list: &[Value]| -> BTreeMap<String, (String, i64)> {
            list.iter()
                .map(|k| {
                    (
                        k["key"].as_str().unwrap().to_owned(),
                        (
                            k["value"].as_str().unwrap_or("").to_owned(),
                            k["mod_revision"].as_i64().unwrap(),
                        ),
                    )
                })
                .collect()
        };
        let now_map = by_key(&served);
        let before_map = by_key(&kvs(&before));
        let mut lost_keys = 0;
        for (k, (v, m)) in &before_map {
            if (lo..hi).contains(m) {
                lost_keys += 1;
                continue;
            }
            assert_eq!(
                now_map.get(k),
                Some(&(v.clone(), *m)),
                "{name}: key {k} (mod {m}) outside the lost range {lo}..{hi}"
            );
        }
        let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok"]);
        assert!(ok, "{out}");
        drop(etcd);
        // The WAL names the keys whose latest record was lost.
        let (code, lines) = {
            let o = util::run(&["verify", "--json", "--check-values", data.to_str().unwrap()]);
            (o.code, util::json_lines(&o, Some("verify")))
        };
        assert_eq!(code, 1);
        let mismatched: Vec<&Value> = lines
            .iter()
            .filter(|l| l["kind"] == "db_value_mismatch")
            .collect();
        assert!(
            mismatched.len() >= lost_keys,
            "{name}: {lost_keys} lost latest records, {} findings",
            mismatched.len()
        );
        eprintln!(
            "{name}: revisions {lo}..{hi} lost ({lost_keys} keys' latest records); etcd {version} serves {} keys; check-values names {} records",
            served.len(),
            mismatched.len()
        );
    }
}

/// The production case: etcd has purged the WAL's first segment (`--max-wals 1` after a
/// snapshot past it), so the log no longer starts at index 1, and then both metas of the
/// db are damaged. `repair` cannot rebuild from the WAL and says so (exit 3), naming the
/// salvage commands; those are run through `sh` as printed, then the plan's `apply with:`
/// line; etcd of the same release starts and serves the same keyspace (`endpoint hashkv`
/// and revision equal to before the damage), and accepts a write.
#[test]
fn a_purged_wal_and_an_unusable_db_are_salvaged_as_printed() {
    for (version, port) in [("3.5.1", 24930), ("3.4.23", 24940)] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("m1");
        let peer = format!("http://127.0.0.1:{}", port + 1);
        let flags: Vec<String> = [
            "--initial-advertise-peer-urls",
            &peer,
            "--initial-cluster",
            &format!("m1={peer}"),
            "--initial-cluster-token",
            "purge",
            "--snapshot-count",
            "20",
            "--max-wals",
            "1",
            "--max-snapshots",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let value = dir.path().join("value");
        std::fs::write(&value, vec![b'v'; 1_000_000]).unwrap();
        let _lock = EtcdLock::take();
        let (hash, revision) = {
            let mut etcd = Etcd::start(version, "m1", &data, port, &flags);
            etcd.wait_healthy();
            // Over 64 MB of writes: a second segment, snapshots past its start.
            for i in 0..80 {
                let st = Command::new(testdata::etcd_bin(version, "etcdctl"))
                    .env("ETCDCTL_API", "3")
                    .args(["--endpoints", etcd.client(), "put", &format!("big/{i:02}")])
                    .stdin(std::fs::File::open(&value).unwrap())
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.success());
            }
            for i in 0..30 {
                let (ok, out) = etcd.ctl(&["put", &format!("small/{i:02}"), "s"]);
                assert!(ok, "{out}");
            }
            // etcd purges every 30 s.
            let first = data.join("member/wal/0000000000000000-0000000000000000.wal");
            let end = Instant::now() + Duration::from_secs(90);
            while first.exists() {
                assert!(
                    Instant::now() < end,
                    "etcd {version} did not purge the first WAL segment"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            let (ok, out) = etcd.ctl(&["endpoint", "hashkv", "-w", "json"]);
            assert!(ok, "{out}");
            let v: Value = serde_json::from_str(&out).unwrap();
            let hash = v[0]["HashKV"]["hash"].as_u64().unwrap();
            let rev = etcd.keyspace_revision();
            (hash, rev)
        };
        damage_both_metas(&data.join("member/snap/db"));
        let (code, out, err) = repair(&[], &data, None);
        assert_eq!(code, 3, "{out} {err}");
        assert!(out.contains("plan: impossible"), "{out}");
        // The two commands it names, in backticks, literally.
        let cmds: Vec<&str> = out
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|c| c.starts_with("wal-inspect "))
            .collect();
        assert_eq!(cmds.len(), 2, "{out}");
        let (code, out) = sh(cmds[0]);
        assert_eq!(code, 0, "{}: {out}", cmds[0]);
        assert!(out.contains("nothing lost"), "{out}");
        let (code, plan) = sh(cmds[1]);
        assert_eq!(code, 1, "{}: {plan}", cmds[1]);
        assert!(plan.contains("plan: db_rebuild"), "{plan}");
        let apply = plan
            .lines()
            .find_map(|l| l.trim().strip_prefix("apply with: "))
            .unwrap_or_else(|| panic!("{plan}"))
            .to_owned();
        let (code, out) = sh(&apply);
        assert_eq!(code, 0, "{apply}: {out}");
        let mut etcd = Etcd::start(version, "m1", &data, port, &flags);
        etcd.wait_healthy();
        let (ok, out) = etcd.ctl(&["endpoint", "hashkv", "-w", "json"]);
        assert!(ok, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v[0]["HashKV"]["hash"].as_u64(),
            Some(hash),
            "etcd {version}: {out}"
        );
        assert_eq!(etcd.keyspace_revision(), revision);
        let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok"]);
        assert!(ok, "{out}");
        eprintln!(
            "etcd {version}: purged WAL + both metas bad: salvaged and installed as printed; hashkv {hash} at revision {revision} as before"
        );
    }
}

/// The newest meta page damaged (checksum): bbolt opens the older meta by itself and etcd
/// starts (the generator recorded it); `repair` says nothing needs doing, and real etcd of
/// the release serves the keyspace of before and accepts a write. A 3.4 db deleted while
/// `.snap` files remain (made here from the clean fixture; etcd 3.4.23's refusal checked):
/// rebuilt from the WAL as for 3.5.
#[test]
fn a_damaged_newest_meta_needs_nothing_and_a_deleted_v34_db_is_rebuilt() {
    for (name, port) in [
        ("v35-db-meta-current", 24970),
        ("v34-db-meta-current", 24980),
    ] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = damaged_dir(&case, dir.path());
        let (code, plan) = plan_json(&data);
        assert_eq!(
            (code, plan["kind"].as_str()),
            (0, Some("nothing")),
            "{name}: {plan}"
        );
        let before: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("keyspace.json")).unwrap())
                .unwrap();
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start(case.etcd_version(), "m1", &data, port, &[]);
        etcd.wait_healthy();
        let now = etcd.keyspace();
        assert_eq!(
            now["header"]["revision"], before["header"]["revision"],
            "{name}"
        );
        assert_eq!(kvs(&now), kvs(&before), "{name}");
        let (ok, out) = etcd.ctl(&["put", "repair/probe", "ok"]);
        assert!(ok, "{out}");
    }
    let dir = testdata::clean("v34-single").unwrap();
    let data = dir.path().join("data/m1");
    std::fs::remove_file(data.join("member/snap/db")).unwrap();
    {
        let _lock = EtcdLock::take();
        assert_etcd_refuses("3.4.23", &data, 24990, "no db");
    }
    repaired_dir_serves_everything(
        "v34-single with the db deleted",
        &data,
        &dir.path().join("keyspace.json"),
        "v34-single",
        "3.4.23",
        "db_rebuild",
        24990,
    );
}

/// Run `line` through `sh` from `/`, with the tested binary first on the PATH (as an
/// operator pastes a printed command): (exit code, stdout).
fn sh(line: &str) -> (i32, String) {
    let bin_dir = Path::new(util::BIN).parent().unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(line)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .current_dir("/")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Flip the low txid byte of both bolt meta pages: neither checksum holds, bbolt refuses
/// the file ("checksum error").
fn damage_both_metas(db: &Path) {
    use std::os::unix::fs::FileExt as _;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(db)
        .unwrap();
    for off in [64u64, 4096 + 64] {
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, off).unwrap();
        f.write_all_at(&[b[0] ^ 0xff], off).unwrap();
    }
}

/// etcd's own verdict, checked rather than assumed: real etcd `version` started on a copy
/// of `data` exits within 20 s (the caller holds the etcd lock).
fn assert_etcd_refuses(version: &str, data: &Path, port: u16, what: &str) {
    let probe = tempfile::tempdir().unwrap();
    let copy = probe.path().join("m1");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(data)
            .arg(&copy)
            .status()
            .unwrap()
            .success()
    );
    let mut etcd = Etcd::start(version, "m1", &copy, port, &[]);
    let end = Instant::now() + Duration::from_secs(20);
    while etcd.exited().is_none() {
        assert!(Instant::now() < end, "etcd {version} started with {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

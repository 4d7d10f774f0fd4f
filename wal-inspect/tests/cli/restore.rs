//! `wal-inspect snapshot restore` and `wal-inspect db extract` against real etcd:
//! the same output as etcdutl 3.5.1's restore (IDs, WAL, .snap, buckets), real etcd 3.5.1
//! starts on it and serves the source's keys and revision, a 3-member restore forms a
//! cluster, damaged / trailer-less snapshots are refused with reasons, extract refuses a
//! live db.
//!
//! Every test that starts etcd holds `testdata/.cache/etcd-tests.lock`; all URLs are
//! 127.0.0.1, ports 24600-24699.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use etcd_snap::bolt::Db;
use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

const BIN: &str = env!("CARGO_BIN_EXE_wal-inspect");
const WAL0: &str = "member/wal/0000000000000000-0000000000000000.wal";
const SNAP1: &str = "member/snap/0000000000000001-0000000000000001.snap";
/// The `.snap` of a 3-member restore (index 3, term 1).
const THREE_SNAP: &str = "member/snap/0000000000000001-0000000000000003.snap";

fn run(bin: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ours(args: &[&str]) -> (i32, String, String) {
    run(Path::new(BIN), args)
}

/// `snapshot restore` flags for a one-member cluster `name` with peer port `pport`.
fn flags(name: &str, data_dir: &Path, pport: u16, token: &str) -> Vec<String> {
    let peer = format!("http://127.0.0.1:{pport}");
    vec![
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--name".into(),
        name.into(),
        "--initial-cluster".into(),
        format!("{name}={peer}"),
        "--initial-cluster-token".into(),
        token.into(),
        "--initial-advertise-peer-urls".into(),
        peer,
    ]
}

/// Bucket name and its key/value pairs, for every top-level bucket.
type Buckets = Vec<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>)>;

fn buckets(db: &Db) -> Buckets {
    db.bucket_names()
        .unwrap()
        .into_iter()
        .map(|n| {
            let b = db.bucket(&n).unwrap().unwrap();
            let kv = db
                .cursor(&b)
                .map(|e| e.map(|e| (e.key, e.value)).unwrap())
                .collect();
            (n, kv)
        })
        .collect()
}

// ------------------------------------------------------------------ real etcd

/// etcd 3.5.1 on an existing (restored) data dir: client port `cport`, peer `cport + 1`;
/// the initial-cluster flags only matter for a fresh dir.
fn start_etcd(name: &str, data_dir: &Path, cport: u16, initial_cluster: &str) -> Etcd {
    let peer = format!("http://127.0.0.1:{}", cport + 1);
    let extra = [
        "--initial-advertise-peer-urls".to_string(),
        peer,
        "--initial-cluster".to_string(),
        initial_cluster.to_string(),
    ];
    Etcd::start("3.5.1", name, data_dir, cport, &extra)
}

// ------------------------------------------------------------------ tests

/// For each fixture snapshot: our restore and etcdutl 3.5.1's restore with the same flags
/// agree on IDs, WAL, .snap and every bucket; etcd 3.5.1 starts on ours, serves the
/// source's keys and revision, and accepts a write.
#[test]
fn restore_matches_etcdutl_and_etcd_serves_it() {
    let _lock = EtcdLock::take();
    for (config, cport) in [("v35-single", 24610u16), ("v34-single", 24612)] {
        let dir = testdata::clean(config).unwrap();
        let snapshot = dir.path().join("snapshot.db");
        let snapshot = snapshot.to_str().unwrap();
        let (a, b) = (dir.path().join("ours"), dir.path().join("etcdutl"));
        let token = "wal-inspect-restore-test";
        let fa = flags("r1", &a, cport + 1, token);
        let fb = flags("r1", &b, cport + 1, token);
        let mut args: Vec<&str> = vec!["snapshot", "restore", snapshot];
        args.extend(fa.iter().map(String::as_str));
        let (code, out, err) = ours(&args);
        assert_eq!(code, 0, "{config}: {out}{err}");
        assert!(out.contains("verified"), "{out}");
        let mut args: Vec<&str> = vec!["snapshot", "restore", snapshot];
        args.extend(fb.iter().map(String::as_str));
        let (code, out, err) = run(&testdata::etcd_bin("3.5.1", "etcdutl"), &args);
        assert_eq!(code, 0, "etcdutl {config}: {out}{err}");

        // Member and cluster IDs, WAL records, HardState and snapshot records.
        let sa = etcd_wal::scan::scan_dir(&a.join("member/wal")).unwrap();
        let sb = etcd_wal::scan::scan_dir(&b.join("member/wal")).unwrap();
        assert_eq!(sa.metadata, sb.metadata, "{config}");
        assert_eq!(sa.records, sb.records);
        assert_eq!(sa.entries, sb.entries);
        assert_eq!(
            format!("{:?}{:?}", sa.hard_state, sa.snapshots),
            format!("{:?}{:?}", sb.hard_state, sb.snapshots)
        );
        // Byte-identical segment (records, CRCs, 64,000,000-byte length) and .snap file.
        let wal_a = std::fs::read(a.join(WAL0)).unwrap();
        assert!(
            wal_a == std::fs::read(b.join(WAL0)).unwrap(),
            "{config}: WAL differs"
        );
        let snap_a = etcd_snap::snapfile::read_snap(a.join(SNAP1)).unwrap();
        let snap_b = etcd_snap::snapfile::read_snap(b.join(SNAP1)).unwrap();
        assert_eq!(
            (snap_a.index, snap_a.term, &snap_a.conf_state),
            (snap_b.index, snap_b.term, &snap_b.conf_state)
        );
        assert_eq!(snap_a.v2, snap_b.v2);
        assert_eq!(snap_a.snapshot.data, snap_b.snapshot.data);
        // Every bucket: key, meta (consistent_index, term), members, the rest.
        let (da, db) = (
            Db::open(a.join("member/snap/db")).unwrap(),
            Db::open(b.join("member/snap/db")).unwrap(),
        );
        assert!(da.check().unwrap().findings.is_empty());
        assert_eq!(buckets(&da), buckets(&db), "{config}: buckets differ");
        // And the db file itself: etcdutl's bbolt commits, page for page.
        assert_same_file(&a, &b, "member/snap/db", config);
        let meta = etcd_snap::schema::meta(&da).unwrap();
        assert_eq!((meta.consistent_index, meta.term), (Some(1), Some(1)));
        let (code, out, _) = ours(&["verify", a.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");

        // Real etcd 3.5.1 on ours.
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("keyspace.json")).unwrap(),
        )
        .unwrap();
        let mut etcd = start_etcd(
            "r1",
            &a,
            cport,
            &format!("r1=http://127.0.0.1:{}", cport + 1),
        );
        etcd.wait_healthy();
        let got = etcd.keyspace();
        assert_eq!(got["kvs"], want["kvs"], "{config}: keyspace differs");
        assert_eq!(got["header"]["revision"], want["header"]["revision"]);
        let (ok, out) = etcd.ctl(&["put", "after-restore", "yes"]);
        assert!(ok, "{out}");
        let (ok, out) = etcd.ctl(&["get", "after-restore", "--print-value-only"]);
        assert!(ok && out.trim() == "yes", "{out}");
    }
}

/// `dir_a/rel` and `dir_b/rel` hold the same bytes.
fn assert_same_file(dir_a: &Path, dir_b: &Path, rel: &str, what: &str) {
    let (a, b) = (
        std::fs::read(dir_a.join(rel)).unwrap(),
        std::fs::read(dir_b.join(rel)).unwrap(),
    );
    let first = a.iter().zip(&b).position(|(x, y)| x != y);
    assert!(
        a == b,
        "{what}: {rel} differs ({} vs {} bytes, first difference at {first:?})",
        a.len(),
        b.len()
    );
}

/// Three members restored from one snapshot form a cluster on loopback; each member's db,
/// WAL segment and `.snap` are the bytes etcdutl 3.5.1 writes with the same flags.
#[test]
fn three_member_restore_forms_a_cluster() {
    let _lock = EtcdLock::take();
    let dir = testdata::clean("v35-single").unwrap();
    let snapshot = dir.path().join("snapshot.db");
    let ports = [24620u16, 24622, 24624];
    let cluster: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("m{}=http://127.0.0.1:{}", i + 1, p + 1))
        .collect();
    let cluster = cluster.join(",");
    let mut ids = Vec::new();
    let mut dirs = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let name = format!("m{}", i + 1);
        let data = dir.path().join(&name);
        let (code, out, err) = ours(&[
            "snapshot",
            "restore",
            snapshot.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--name",
            &name,
            "--initial-cluster",
            &cluster,
            "--initial-cluster-token",
            "three",
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{}", p + 1),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let theirs = dir.path().join(format!("{name}-etcdutl"));
        let peer = format!("http://127.0.0.1:{}", p + 1);
        let (code, out, err) = run(
            &testdata::etcd_bin("3.5.1", "etcdutl"),
            &[
                "snapshot",
                "restore",
                snapshot.to_str().unwrap(),
                "--data-dir",
                theirs.to_str().unwrap(),
                "--name",
                &name,
                "--initial-cluster",
                &cluster,
                "--initial-cluster-token",
                "three",
                "--initial-advertise-peer-urls",
                &peer,
            ],
        );
        assert_eq!(code, 0, "etcdutl: {out}{err}");
        for rel in ["member/snap/db", WAL0, THREE_SNAP] {
            assert_same_file(&data, &theirs, rel, &name);
        }
        let scan = etcd_wal::scan::scan_dir(&data.join("member/wal")).unwrap();
        ids.push(scan.metadata.unwrap());
        dirs.push((name, data));
    }
    // Three member IDs, one cluster ID.
    assert!(ids.iter().all(|m| m.cluster_id == ids[0].cluster_id));
    let mut node_ids: Vec<u64> = ids.iter().map(|m| m.node_id).collect();
    node_ids.dedup();
    assert_eq!(node_ids.len(), 3);
    let mut etcds: Vec<Etcd> = dirs
        .iter()
        .zip(ports)
        .map(|((name, data), p)| start_etcd(name, data, p, &cluster))
        .collect();
    for e in &mut etcds {
        e.wait_healthy();
    }
    let (ok, out) = etcds[0].ctl(&["member", "list"]);
    assert!(ok && out.lines().count() == 3, "{out}");
    let (ok, out) = etcds[0].ctl(&["put", "three-members", "ok"]);
    assert!(ok, "{out}");
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let (ok, out) = etcds[2].ctl(&["get", "three-members", "--print-value-only"]);
        if ok && out.trim() == "ok" {
            break;
        }
        assert!(Instant::now() < end, "write not replicated: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A damaged snapshot is refused with both hashes; a trailer-less one only with
/// `--skip-hash-check`, and the message says why.
#[test]
fn damaged_and_trailerless_snapshots() {
    for v in ["v35", "v34"] {
        let (dir, case) = testdata::case(&format!("{v}-save-flip")).unwrap();
        let file = case.file_path(dir.path());
        let t = etcd_snap::hash::check_trailer(&file).unwrap();
        assert_eq!(t.state, etcd_snap::hash::TrailerState::Invalid);
        let out_dir = dir.path().join("out");
        let (code, _, err) = ours(&[
            "snapshot",
            "restore",
            file.to_str().unwrap(),
            "--data-dir",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 3, "{err}");
        assert!(err.contains(t.stored.as_deref().unwrap()), "{err}");
        assert!(err.contains(t.computed.as_deref().unwrap()), "{err}");
        assert!(!out_dir.exists());

        let (dir, case) = testdata::case(&format!("{v}-save-no-trailer")).unwrap();
        let file = case.file_path(dir.path());
        let (code, _, err) = ours(&[
            "snapshot",
            "restore",
            file.to_str().unwrap(),
            "--data-dir",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("snapshot missing hash") && err.contains("--skip-hash-check"),
            "{err}"
        );
        assert!(err.contains("not 32 more than a multiple of 512"), "{err}");
        let (code, out, err) = ours(&[
            "snapshot",
            "restore",
            file.to_str().unwrap(),
            "--data-dir",
            out_dir.to_str().unwrap(),
            "--skip-hash-check",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("no sha256 trailer"), "{out}");
        let (code, out, _) = ours(&["verify", out_dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
    }
}

/// `db extract` refuses while etcd holds the db, works offline, and its `--with-hash`
/// output passes the trailer check and etcdutl's restore; a data dir is a restore source.
#[test]
fn db_extract_live_and_offline() {
    let _lock = EtcdLock::take();
    let dir = testdata::clean("v35-single").unwrap();
    let data = dir.path().join("data/m1");
    let meta = testdata::config_meta("v35-single").unwrap();
    let out_file = dir.path().join("extracted.db");
    {
        // The fixture's own ports (231xx) are not ours to use: listen on 24630/24631 (a
        // single member starts whatever peer URL its WAL recorded).
        let name = meta["flags"]["name"].as_str().unwrap_or("m1").to_owned();
        let mut etcd = start_etcd(
            &name,
            &data,
            24630,
            &format!("{name}=http://127.0.0.1:24631"),
        );
        // Wait until bbolt holds the db (it opens it before serving).
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let (code, _, err) = ours(&[
                "db",
                "extract",
                data.to_str().unwrap(),
                out_file.to_str().unwrap(),
            ]);
            if code == 3 {
                assert!(err.contains("refusing"), "{err}");
                break;
            }
            let _ = std::fs::remove_file(&out_file);
            assert!(Instant::now() < end, "extract never refused: {err}");
            if let Some(st) = etcd.exited() {
                panic!(
                    "etcd exited ({st}): {}",
                    std::fs::read_to_string(etcd.log()).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!out_file.exists());
        // A restore from the live data dir is refused too.
        let (code, _, err) = ours(&[
            "snapshot",
            "restore",
            data.to_str().unwrap(),
            "--data-dir",
            dir.path().join("live-restore").to_str().unwrap(),
        ]);
        assert_eq!(code, 3, "{err}");
        etcd.wait_healthy();
    }
    let (code, out, err) = ours(&[
        "db",
        "extract",
        data.to_str().unwrap(),
        out_file.to_str().unwrap(),
        "--with-hash",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let t = etcd_snap::hash::check_trailer(&out_file).unwrap();
    assert_eq!(t.state, etcd_snap::hash::TrailerState::Valid);
    // Refuses to overwrite.
    let (code, _, _) = ours(&[
        "db",
        "extract",
        data.to_str().unwrap(),
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    let r = dir.path().join("from-extract");
    let mut args = vec![
        "snapshot".to_owned(),
        "restore".into(),
        out_file.display().to_string(),
    ];
    args.extend(flags("x", &r, 24641, "t"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&testdata::etcd_bin("3.5.1", "etcdutl"), &args);
    assert_eq!(code, 0, "etcdutl: {out}{err}");
    // Our restore straight from the (stopped) data dir needs no flag and says why.
    let r2 = dir.path().join("from-datadir");
    let (code, out, err) = ours(&[
        "snapshot",
        "restore",
        data.to_str().unwrap(),
        "--data-dir",
        r2.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("member snap/db"), "{out}");
}

/// `etcdutl snapshot status -w json` (3.5.1) on `file`: its revision, the largest
/// revision in the `key` bucket (the "latest revision" etcdutl's `--bump-revision` bumps).
fn etcdutl_revision(file: &Path) -> i64 {
    let (code, out, err) = run(
        &testdata::etcd_bin("3.5.1", "etcdutl"),
        &["snapshot", "status", "-w", "json", file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "etcdutl snapshot status: {out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    v["revision"].as_i64().unwrap()
}

/// `--bump-revision R --mark-compacted` (etcdutl 3.5.x after 3.5.1 / 3.6; 3.5.1 has no such
/// flags): etcdutl writes an empty-valued key-bucket entry at latest + R and sets
/// `meta/scheduledCompactRev` to it, so etcd on start resumes that compaction. Real etcd
/// 3.5.1 on our restore of both fixture snapshots: header revision latest + R, the same
/// keys and values, reads at latest + R still served, reads below it (the source's own
/// revision included) and watches from there refused as compacted, a put gets latest + R + 1.
#[test]
fn bump_revision_mark_compacted_on_real_etcd() {
    const BUMP: i64 = 1000;
    let _lock = EtcdLock::take();
    for (config, cport) in [("v35-single", 24650u16), ("v34-single", 24652)] {
        let dir = testdata::clean(config).unwrap();
        let snapshot = dir.path().join("snapshot.db");
        let latest = etcdutl_revision(&snapshot);
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("keyspace.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            want["header"]["revision"].as_i64(),
            Some(latest),
            "{config}"
        );
        let data = dir.path().join("bumped");
        let mut args: Vec<String> = vec![
            "snapshot".into(),
            "restore".into(),
            snapshot.display().to_string(),
            "--bump-revision".into(),
            BUMP.to_string(),
            "--mark-compacted".into(),
        ];
        args.extend(flags("r1", &data, cport + 1, "bump"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = ours(&args);
        assert_eq!(code, 0, "{config}: {out}{err}");

        let mut etcd = start_etcd(
            "r1",
            &data,
            cport,
            &format!("r1=http://127.0.0.1:{}", cport + 1),
        );
        etcd.wait_healthy();
        let got = etcd.keyspace();
        assert_eq!(
            got["header"]["revision"].as_i64(),
            Some(latest + BUMP),
            "{config}"
        );
        assert_eq!(got["kvs"], want["kvs"], "{config}: keyspace differs");
        // The compaction point itself is readable (etcd refuses rev < compactMainRev).
        let at = (latest + BUMP).to_string();
        let (ok, out) = etcd.ctl(&["get", "", "--prefix", "--rev", &at, "-w", "json"]);
        assert!(ok, "{config}: read at the compaction point: {out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["kvs"], want["kvs"], "{config}");
        for rev in [latest + BUMP - 1, latest, 1] {
            let (ok, out) = etcd.ctl(&["get", "", "--prefix", "--rev", &rev.to_string()]);
            assert!(
                !ok && out.contains("required revision has been compacted"),
                "{config}: read at {rev}: {out}"
            );
        }
        let (ok, out) = etcd.ctl(&["watch", "--rev", &latest.to_string(), "any-key"]);
        assert!(
            out.contains("required revision has been compacted"),
            "{config}: watch from {latest}: {ok} {out}"
        );
        let (ok, out) = etcd.ctl(&["put", "after-bump", "yes", "-w", "json"]);
        assert!(ok, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["header"]["revision"].as_i64(),
            Some(latest + BUMP + 1),
            "{config}"
        );
        eprintln!(
            "{config}: bumped {latest} by {BUMP}: etcd serves revision {} (compacted below), put -> {}",
            latest + BUMP,
            latest + BUMP + 1
        );
    }
    // etcdutl's flag rule: each of the two flags needs the other.
    let dir = testdata::clean("v35-single").unwrap();
    let snapshot = dir.path().join("snapshot.db");
    for extra in [&["--bump-revision", "5"][..], &["--mark-compacted"]] {
        let out_dir = dir.path().join("refused");
        let mut args = vec![
            "snapshot",
            "restore",
            snapshot.to_str().unwrap(),
            "--data-dir",
            out_dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let (code, out, err) = ours(&args);
        assert_eq!(code, 2, "{extra:?}: {out}{err}");
        assert!(
            err.contains("--mark-compacted required if --revision-bump > 0"),
            "{err}"
        );
        assert!(!out_dir.exists());
    }
}

/// Every entry below `dir` (relative paths, directories with a trailing `/`).
/// `--wal-dir` outside the data dir: the WAL is written there and nowhere else (no
/// `member/wal`, nothing left beside either dir), and etcd 3.5.1 started with `--data-dir`
/// and `--wal-dir` is healthy and serves the source's keys and revision. `--wal-dir` inside
/// the data dir gives the same layout as etcdutl 3.5.1's restore with the same flags.
#[test]
fn restore_with_dedicated_wal_dir_on_real_etcd() {
    let dir = testdata::clean("v35-single").unwrap();
    let snapshot = dir.path().join("snapshot.db");
    let snapshot = snapshot.to_str().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("disk-a")).unwrap();
    std::fs::create_dir_all(work.join("disk-b")).unwrap();
    let data = work.join("disk-a/r1.etcd");
    let wal = work.join("disk-b/r1-wal");
    let mut args: Vec<String> = vec![
        "snapshot".into(),
        "restore".into(),
        snapshot.into(),
        "--wal-dir".into(),
        wal.display().to_string(),
    ];
    args.extend(flags("r1", &data, 24661, "dedicated-wal"));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = ours(&refs);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        crate::util::tree(&work),
        [
            "disk-a/",
            "disk-a/r1.etcd/",
            "disk-a/r1.etcd/member/",
            "disk-a/r1.etcd/member/snap/",
            "disk-a/r1.etcd/member/snap/0000000000000001-0000000000000001.snap",
            "disk-a/r1.etcd/member/snap/db",
            "disk-b/",
            "disk-b/r1-wal/",
            "disk-b/r1-wal/0000000000000000-0000000000000000.wal",
        ]
    );
    // A second restore to the same WAL dir is refused, as etcdutl does.
    let mut again = args.clone();
    let other = work.join("disk-a/other.etcd").display().to_string();
    let i = again.iter().position(|a| a == "--data-dir").unwrap();
    again[i + 1] = other;
    let refs: Vec<&str> = again.iter().map(String::as_str).collect();
    let (code, _, err) = ours(&refs);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("wal-dir") && err.contains("exists"), "{err}");
    let (code, out, _) = ours(&[
        "verify",
        data.to_str().unwrap(),
        "--wal-dir",
        wal.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");

    // --wal-dir inside the data dir: same files as etcdutl 3.5.1 writes.
    for (tool, out_dir) in [("ours", "in-ours"), ("etcdutl", "in-etcdutl")] {
        let d = dir.path().join(out_dir);
        let mut args: Vec<String> = vec![
            "snapshot".into(),
            "restore".into(),
            snapshot.into(),
            "--wal-dir".into(),
            d.join("wal").display().to_string(),
        ];
        args.extend(flags("r1", &d, 24661, "dedicated-wal"));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = if tool == "ours" {
            ours(&refs)
        } else {
            run(&testdata::etcd_bin("3.5.1", "etcdutl"), &refs)
        };
        assert_eq!(code, 0, "{tool}: {out}{err}");
    }
    assert_eq!(
        crate::util::tree(&dir.path().join("in-ours")),
        crate::util::tree(&dir.path().join("in-etcdutl"))
    );
    assert!(dir.path().join("in-ours/wal").is_dir());

    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("keyspace.json")).unwrap())
            .unwrap();
    let _lock = EtcdLock::take();
    let extra = [
        "--initial-advertise-peer-urls".to_string(),
        "http://127.0.0.1:24661".into(),
        "--initial-cluster".into(),
        "r1=http://127.0.0.1:24661".into(),
        "--wal-dir".into(),
        wal.display().to_string(),
    ];
    let mut etcd = Etcd::start("3.5.1", "r1", &data, 24660, &extra);
    etcd.wait_healthy();
    let got = etcd.keyspace();
    assert_eq!(got["kvs"], want["kvs"], "keyspace differs");
    assert_eq!(got["header"]["revision"], want["header"]["revision"]);
    let (ok, out) = etcd.ctl(&["put", "after-restore", "yes", "-w", "json"]);
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["header"]["revision"].as_i64(),
        want["header"]["revision"].as_i64().map(|r| r + 1)
    );
    drop(etcd);
    // etcd wrote its WAL in the WAL dir and none in the data dir.
    assert!(!data.join("member/wal").exists());
    let scan = etcd_wal::scan::scan_dir(&wal).unwrap();
    assert!(scan.findings.is_empty());
    assert!(scan.entries > 1, "etcd appended to the dedicated WAL");
}

/// The v2 store of a `.snap` as JSON with the member nodes' store indexes left out and the
/// event history sorted: etcdutl 3.6+ store the members in Go map order (`RaftCluster.Store`
/// ranges over a map), so which member gets which index differs from run to run.
fn v2_without_member_order(path: &Path) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in [
                    "CreatedIndex",
                    "ModifiedIndex",
                    "createdIndex",
                    "modifiedIndex",
                ] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => {
                a.iter_mut().for_each(strip);
                a.sort_by_key(|e| e.to_string());
            }
            _ => {}
        }
    }
    let snap = etcd_snap::snapfile::read_snap(path).unwrap();
    let mut v: Value = serde_json::from_slice(&snap.snapshot.data).unwrap();
    strip(&mut v);
    v
}

/// `snapshot restore --etcd-version` 3.5.35 / 3.6.16 / 3.7.3 against etcdutl of that
/// release with the same flags, for one member and for the second of three: the db, the WAL
/// segment and (one member) the `.snap` byte for byte; with three members the `.snap`
/// equal up to the order etcdutl 3.6+ happen to store the members in. Then that release's
/// etcd starts on the one-member restore, serves the source's keys and revision, and
/// accepts a write. Opt-in (`--ignored`): the releases are built by
/// `scripts/install-etcd.sh latest`.
fn restore_matches_a_later_etcdutl(release: &str, cport: u16) {
    if !testdata::require_release(release) {
        return;
    }
    let version = testdata::release(release).unwrap().version;
    let _lock = EtcdLock::take();
    let dir = testdata::clean("v35-single").unwrap();
    let snapshot = dir.path().join("snapshot.db");
    let snapshot = snapshot.to_str().unwrap();
    let token = "wal-inspect-restore-test";
    let three = format!(
        "r1=http://127.0.0.1:{},r2=http://127.0.0.1:{},r3=http://127.0.0.1:{}",
        cport + 1,
        cport + 3,
        cport + 5
    );
    for members in [1, 3] {
        let (a, b) = (
            dir.path().join(format!("ours-{members}")),
            dir.path().join(format!("etcdutl-{members}")),
        );
        let flags_for = |d: &Path| -> Vec<String> {
            if members == 1 {
                flags("r1", d, cport + 1, token)
            } else {
                let mut f = flags("r2", d, cport + 3, token);
                let at = f.iter().position(|x| x == "--initial-cluster").unwrap();
                f[at + 1] = three.clone();
                f
            }
        };
        let mut args: Vec<String> = vec!["snapshot".into(), "restore".into(), snapshot.into()];
        args.extend(flags_for(&a));
        args.push(format!("--etcd-version={version}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = ours(&args);
        assert_eq!(code, 0, "{out}{err}");
        let mut args: Vec<String> = vec!["snapshot".into(), "restore".into(), snapshot.into()];
        args.extend(flags_for(&b));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&testdata::etcd_bin(release, "etcdutl"), &args);
        assert_eq!(code, 0, "etcdutl {version}: {out}{err}");
        let what = format!("etcdutl {version}, {members} member(s)");
        assert_same_file(&a, &b, "member/snap/db", &what);
        assert_same_file(&a, &b, WAL0, &what);
        if members == 1 {
            assert_same_file(&a, &b, SNAP1, &what);
        } else {
            assert_eq!(
                v2_without_member_order(&a.join(THREE_SNAP)),
                v2_without_member_order(&b.join(THREE_SNAP)),
                "{what}: .snap"
            );
        }
    }

    let a = dir.path().join("ours-1");
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("keyspace.json")).unwrap())
            .unwrap();
    let peer = format!("http://127.0.0.1:{}", cport + 1);
    let extra = [
        "--initial-advertise-peer-urls".to_string(),
        peer.clone(),
        "--initial-cluster".to_string(),
        format!("r1={peer}"),
    ];
    let mut etcd = Etcd::start(release, "r1", &a, cport, &extra);
    etcd.wait_healthy();
    let got = etcd.keyspace();
    assert_eq!(got["kvs"], want["kvs"], "{version}: keyspace differs");
    assert_eq!(got["header"]["revision"], want["header"]["revision"]);
    let (ok, out) = etcd.ctl(&["put", "after-restore", "yes"]);
    assert!(ok, "{out}");
    eprintln!("etcd {version}: restore equals etcdutl's (db, WAL, .snap); etcd serves it");
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.5-latest"]
fn restore_matches_etcdutl_3_5_latest() {
    restore_matches_a_later_etcdutl("3.5-latest", 24640);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.6"]
fn restore_matches_etcdutl_3_6() {
    restore_matches_a_later_etcdutl("3.6", 24620);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.7"]
fn restore_matches_etcdutl_3_7() {
    restore_matches_a_later_etcdutl("3.7", 24630);
}

/// `snapshot restore --compact-to R`: the restored db holds what `db space --compact-at R`
/// said would remain (the same count real etcd's compaction leaves, see `db_space`), is
/// smaller, and etcd 3.5.1 (and 3.4.23) started on it serves the same keyspace at the
/// latest revision and at R, refuses reads below R as compacted, and accepts a write.
/// A revision etcd would refuse to compact at is refused too, writing nothing.
#[test]
fn restore_compact_to_on_real_etcd() {
    let _lock = EtcdLock::take();
    for (config, version, cport) in [
        ("v35-single", "3.5.1", 24960u16),
        ("v34-single", "3.4.23", 24962),
    ] {
        let dir = testdata::clean(config).unwrap();
        let snapshot = dir.path().join("snapshot.db");
        let space = |extra: &[&str]| -> Value {
            let mut a = vec!["db", "space", "--json", snapshot.to_str().unwrap()];
            a.extend_from_slice(extra);
            let (code, out, err) = ours(&a);
            assert_eq!(code, 0, "{err}");
            serde_json::from_str(&out).unwrap()
        };
        let before = space(&[]);
        let latest = before["revision"].as_i64().unwrap();
        let compacted = before["compacted"].as_i64().unwrap();
        let r = compacted + (latest - compacted) / 2;
        let predicted = space(&["--compact-at", &r.to_string()]);
        let want_records =
            before["records"].as_u64().unwrap() - predicted["compaction_removes"].as_u64().unwrap();
        let data = dir.path().join("compacted");
        let mut args: Vec<String> = vec![
            "snapshot".into(),
            "restore".into(),
            snapshot.display().to_string(),
            "--compact-to".into(),
            r.to_string(),
            "--json".into(),
        ];
        args.extend(flags("r1", &data, cport + 1, "compact"));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = ours(&a);
        assert_eq!(code, 0, "{config}: {out}{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            report["compacted"]["records_kept"].as_u64(),
            Some(want_records),
            "{report}"
        );
        let db = data.join("member/snap/db");
        let after = {
            let (code, out, _) = ours(&["db", "space", "--json", db.to_str().unwrap()]);
            assert_eq!(code, 0);
            serde_json::from_str::<Value>(&out).unwrap()
        };
        assert_eq!(after["records"].as_u64(), Some(want_records));
        assert_eq!(after["compacted"].as_i64(), Some(r));
        // Defragmented: only the fresh file's two initial pages (2, the unpersisted
        // freelist's, and 3, the empty root replaced on commit) are free.
        assert!(
            after["pages"]["free"].as_u64().unwrap() <= 2,
            "defragmented: {}",
            after["pages"]
        );
        assert!(after["file_size"].as_u64() < before["file_size"].as_u64());
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("keyspace.json")).unwrap(),
        )
        .unwrap();
        let peer = format!("r1=http://127.0.0.1:{}", cport + 1);
        let extra = [
            "--initial-advertise-peer-urls".to_string(),
            format!("http://127.0.0.1:{}", cport + 1),
            "--initial-cluster".to_string(),
            peer,
        ];
        let mut etcd = Etcd::start(version, "r1", &data, cport, &extra);
        etcd.wait_healthy();
        let got = etcd.keyspace();
        assert_eq!(got["header"]["revision"].as_i64(), Some(latest), "{config}");
        assert_eq!(got["kvs"], want["kvs"], "{config}: keyspace differs");
        let (ok, out) = etcd.ctl(&[
            "get",
            "",
            "--prefix",
            "--rev",
            &r.to_string(),
            "--keys-only",
        ]);
        assert!(ok, "{config}: read at the compaction revision: {out}");
        let (ok, out) = etcd.ctl(&["get", "", "--prefix", "--rev", &(r - 1).to_string()]);
        assert!(
            !ok && out.contains("required revision has been compacted"),
            "{config}: {out}"
        );
        let (ok, out) = etcd.ctl(&["put", "after-compaction", "yes"]);
        assert!(ok, "{out}");
        drop(etcd);
        // Refused: a future revision and one already compacted; nothing written.
        for bad in [latest + 1, compacted] {
            let out_dir = dir.path().join(format!("refused-{bad}"));
            let (code, out, err) = ours(&[
                "snapshot",
                "restore",
                snapshot.to_str().unwrap(),
                "--compact-to",
                &bad.to_string(),
                "--data-dir",
                out_dir.to_str().unwrap(),
            ]);
            assert_eq!(code, 2, "{out}{err}");
            assert!(err.contains("mvcc: required revision"), "{err}");
            assert!(!out_dir.exists());
        }
        eprintln!(
            "{config}: restored compacted at {r}: {want_records} records kept, db {} -> {} bytes; etcd {version} serves revision {latest}, compacted below {r}",
            before["file_size"], after["file_size"]
        );
    }
}

//! `wal-inspect-bench`: the benchmark command (not a test; it prints figures).
//!
//! ```text
//! cargo build --release -p wal-inspect -p bench && target/release/wal-inspect-bench [--wal-mb 704] [--runs 5]
//! ```
//! Generates (once, cached under `target/bench-data/`) a multi-segment WAL of byte-valid
//! records: puts with 1–100 KiB values like Kubernetes objects, cut into 64,000,000-byte
//! segments as etcd does, chained CRCs, HardStates. Then runs each measured command
//! several times with a warm page cache and prints the median wall time, throughput,
//! peak RSS and the ratio to `cat` of the same files in the same run.
//!
//! Peak RSS of a child is read from `getrusage(RUSAGE_CHILDREN)` in a fresh helper
//! process per run (`wal-inspect-bench measure -- CMD…`), so runs do not mask each other.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod measure;
mod snapgen;
mod waldb;
mod walgen;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("measure") {
        std::process::exit(measure::measure_child(&args[1..]));
    }
    let mut wal_mb = 704u64;
    let mut snap_mb = 1024u64;
    let mut runs = 5usize;
    let mut scaling = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--wal-mb" => wal_mb = it.next().and_then(|v| v.parse().ok()).unwrap_or(wal_mb),
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--snap-mb" => snap_mb = it.next().and_then(|v| v.parse().ok()).unwrap_or(snap_mb),
            "--scaling" => scaling = true,
            "-h" | "--help" => {
                println!(
                    "usage: wal-inspect-bench [--wal-mb N (0: skip)] [--snap-mb N (0: skip)] [--runs N] [--scaling (verify at 1x, 4x, 16x the WAL)]"
                );
                return;
            }
            other => {
                eprintln!("wal-inspect-bench: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let exe = std::env::current_exe().expect("current exe");
    let bin_dir = exe.parent().expect("exe dir").to_path_buf();
    let tool = bin_dir.join("wal-inspect");
    if !tool.exists() {
        eprintln!("build it first: cargo build --release -p wal-inspect -p bench");
        std::process::exit(2);
    }
    let data = bin_dir.join("..").join("bench-data");
    let t = tool.display().to_string();
    if wal_mb > 0 {
        wals(&exe, &t, &data, wal_mb, runs);
    }
    if snap_mb > 0 {
        snapshots(&exe, &t, &data, snap_mb, runs);
    }
    if scaling && wal_mb > 0 {
        scaling_run(&exe, &t, &data, wal_mb, runs.min(3));
    }
}

/// `verify` of WAL dirs of 1x, 4x and 16x `wal_mb`: time per GB and peak RSS should not
/// grow with the input.
fn scaling_run(exe: &Path, tool: &str, data: &Path, wal_mb: u64, runs: usize) {
    println!(
        "\nscaling: verify of the WAL dir at 1x, 4x, 16x\n{:<34} {:>10} {:>10} {:>10} {:>8}",
        "WAL", "median s", "s per GB", "peak RSS", "× cat"
    );
    for factor in [1u64, 4, 16] {
        let mb = wal_mb * factor;
        let wal_dir = data.join(format!("wal-{mb}mb")).join("member").join("wal");
        let bytes = match walgen::ensure_wal(&wal_dir, mb * 1_000_000) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("wal-inspect-bench: generating {}: {e}", wal_dir.display());
                return;
            }
        };
        let mut segs: Vec<String> = std::fs::read_dir(&wal_dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        segs.sort();
        let mut cat = vec!["cat".to_string()];
        cat.extend(segs);
        let verify = [
            tool.to_string(),
            "verify".into(),
            "--json".into(),
            wal_dir.display().to_string(),
        ];
        let mut times = [Vec::new(), Vec::new()];
        let mut rss = 0u64;
        for _ in 0..runs.max(1) {
            for (i, c) in [&cat[..], &verify[..]].into_iter().enumerate() {
                if let Some((secs, kib)) = measure::measure(exe, c) {
                    times[i].push(secs);
                    if i == 1 {
                        rss = rss.max(kib);
                    }
                }
            }
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let (c, v) = (med(&mut times[0]), med(&mut times[1]));
        println!(
            "{:<34} {v:>10.3} {:>10.3} {:>7.1} MiB {:>8.2}",
            format!("{factor:>2}x ({:.1} GB)", bytes as f64 / 1e9),
            v / (bytes as f64 / 1e9),
            rss as f64 / 1024.0,
            v / c
        );
    }
}

/// `verify` and `dump --json` of a ~`wal_mb` MB multi-segment WAL.
fn wals(exe: &Path, tool: &str, data: &Path, wal_mb: u64, runs: usize) {
    let wal_dir = data
        .join(format!("wal-{wal_mb}mb"))
        .join("member")
        .join("wal");
    let t = Instant::now();
    let bytes = walgen::ensure_wal(&wal_dir, wal_mb * 1_000_000).expect("generate WAL");
    eprintln!(
        "WAL: {} ({:.0} MB in {} segments, ready in {:.1} s)",
        wal_dir.display(),
        bytes as f64 / 1e6,
        std::fs::read_dir(&wal_dir).map(|d| d.count()).unwrap_or(0),
        t.elapsed().as_secs_f64()
    );
    let segs: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&wal_dir)
            .expect("wal dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        v
    };
    let member = wal_dir.parent().expect("member dir");
    let mut cat = vec!["cat".to_string()];
    cat.extend(segs.iter().map(|p| p.display().to_string()));
    // Warm the page cache.
    let _ = Command::new("cat")
        .args(&segs)
        .stdout(Stdio::null())
        .status();

    println!(
        "\n{:<34} {:>10} {:>10} {:>10} {:>8}",
        "command", "median s", "GB/s", "peak RSS", "× cat"
    );
    let m = member.display().to_string();
    let (base, _) = run_alternating(
        exe,
        "cat (segments)",
        &cat,
        "wal-inspect verify (WAL dir)",
        &[
            tool.to_string(),
            "verify".into(),
            "--json".into(),
            wal_dir.display().to_string(),
        ],
        runs,
        bytes,
        || {},
    );
    let (_, _) = run_alternating(
        exe,
        "cat (segments)",
        &cat,
        "wal-inspect dump --json",
        &[tool.to_string(), "dump".into(), "--json".into(), m.clone()],
        runs,
        bytes,
        || {},
    );
    if let Some(dl) = which("etcd-dump-logs") {
        let data_dir = member.parent().expect("data dir").display().to_string();
        run(
            exe,
            "etcd-dump-logs",
            &[dl.display().to_string(), data_dir],
            runs.min(2),
            bytes,
            Some(base),
        );
    } else {
        println!(
            "{:<34} (not installed: build it from etcd's source to compare)",
            "etcd-dump-logs"
        );
    }
    // The data dir: the WAL (its segments hard-linked) and its db (every put applied),
    // against `cat` of both. A dir of its own, so that the rows above read a WAL alone.
    let t = Instant::now();
    let full = data.join(format!("data-{wal_mb}mb")).join("member");
    let m = full.display().to_string();
    match waldb::ensure_db(&full, &wal_dir, walgen::NODE) {
        Ok(db_bytes) => {
            let db = full.join("snap").join("db");
            eprintln!(
                "db: {} ({:.0} MB, ready in {:.1} s)",
                db.display(),
                db_bytes as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
            let mut cat_all = cat.clone();
            cat_all.push(db.display().to_string());
            let verify = |extra: &[&str]| {
                let mut v = vec![tool.to_string(), "verify".into(), "--json".into()];
                v.extend(extra.iter().map(|s| s.to_string()));
                v.push(m.clone());
                v
            };
            println!();
            let (_, plain) = run_alternating(
                exe,
                "cat (segments + db)",
                &cat_all,
                "wal-inspect verify (data dir)",
                &verify(&[]),
                runs,
                bytes + db_bytes,
                || {},
            );
            let checked = run(
                exe,
                "wal-inspect verify --check-values",
                &verify(&["--check-values"]),
                runs,
                bytes + db_bytes,
                None,
            );
            println!(
                "{:<34} {:>43.2}",
                "  --check-values × verify",
                checked / plain
            );
        }
        Err(e) => eprintln!("wal-inspect-bench: generating the db: {e}"),
    }
    println!(
        "\ntargets (#21): verify (data dir) ≤ 1.25× cat of segments + db; verify (WAL dir) ≤ 1.15× cat; dump --json ≤ 5× cat; --check-values ≤ 1.5× verify; peak RSS ≤ 64 MiB."
    );
}

/// `snapshot status` and `snapshot restore` of a ~`snap_mb` MiB `snapshot save` file.
fn snapshots(exe: &Path, tool: &str, data: &Path, snap_mb: u64, runs: usize) {
    let snap = data.join(format!("snapshot-{snap_mb}mb.db"));
    let t = Instant::now();
    let bytes = match snapgen::ensure_snapshot(&snap, snap_mb) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("wal-inspect-bench: generating {}: {e}", snap.display());
            return;
        }
    };
    eprintln!(
        "\nsnapshot: {} ({:.0} MB, ready in {:.1} s)",
        snap.display(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let _ = Command::new("cat")
        .arg(&snap)
        .stdout(Stdio::null())
        .status();
    let s = snap.display().to_string();
    let copy = data.join("copy.db").display().to_string();
    let out = data.join("restored.etcd").display().to_string();
    println!(
        "\n{:<34} {:>10} {:>10} {:>10} {:>8}",
        "command", "median s", "GB/s", "peak RSS", "× base"
    );
    let etcdutl = which("etcdutl").or_else(|| {
        let p = data.join("../../testdata/.cache/etcd/v3.5.1/etcdutl");
        p.is_file().then_some(p)
    });
    status_pair(exe, etcdutl.as_deref(), tool, &s, "", runs, bytes);
    // The saved file's status checks its SHA-256 trailer: one SHA-256 stream of the file.
    if which("openssl").is_some() {
        run_alternating(
            exe,
            "openssl dgst -sha256 (same file)",
            &["openssl".into(), "dgst".into(), "-sha256".into(), s.clone()],
            "wal-inspect snapshot status",
            &[
                tool.to_string(),
                "snapshot".into(),
                "status".into(),
                "--json".into(),
                s.clone(),
            ],
            runs,
            bytes,
            || {},
        );
    }
    // A member's snap/db has no SHA-256 trailer: the same bytes without it, as etcd keeps
    // them (the saved file's status above also checks the trailer: one SHA-256 pass).
    let plain = data.join(format!("db-{snap_mb}mb"));
    if std::fs::metadata(&plain).map(|m| m.len()).ok() != Some(bytes - 32) {
        let copied = std::fs::File::open(&snap).and_then(|f| {
            let mut out = std::fs::File::create(&plain)?;
            std::io::copy(&mut std::io::Read::take(f, bytes - 32), &mut out)
        });
        if let Err(e) = copied {
            eprintln!("wal-inspect-bench: {}: {e}", plain.display());
        }
    }
    let _ = Command::new("cat")
        .arg(&plain)
        .stdout(Stdio::null())
        .status();
    let p = plain.display().to_string();
    status_pair(exe, etcdutl.as_deref(), tool, &p, " (db)", runs, bytes);
    let restore = [
        tool.to_string(),
        "snapshot".into(),
        "restore".into(),
        s.clone(),
        "--data-dir".into(),
        out.clone(),
    ];
    let clean = || {
        let _ = std::fs::remove_file(&copy);
        let _ = std::fs::remove_dir_all(&out);
    };
    let (cp, _) = run_alternating(
        exe,
        "cp + sync (same file)",
        &sh(&format!("cp '{s}' '{copy}' && sync '{copy}'")),
        "wal-inspect snapshot restore",
        &restore,
        runs,
        bytes,
        clean,
    );
    if let Some(u) = &etcdutl {
        let cmd = [
            u.display().to_string(),
            "snapshot".into(),
            "restore".into(),
            s.clone(),
            "--data-dir".into(),
            out.clone(),
        ];
        run_with(
            exe,
            "etcdutl snapshot restore",
            &cmd,
            runs.min(3),
            bytes,
            Some(cp),
            clean,
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&copy);
    println!(
        "\ntargets (#21): status of the bare db ≤ 0.5× etcdutl's; status of the saved file ≤ 1.1× openssl dgst -sha256; restore ≤ 1.2× cp + sync; peak RSS ≤ 64 MiB.\n(status of the saved file also verifies its SHA-256 trailer, which etcdutl's status does not.)"
    );
}

/// `etcdutl snapshot status` (when found) and ours on `file`, ours against etcdutl's time.
fn status_pair(
    exe: &Path,
    etcdutl: Option<&Path>,
    tool: &str,
    file: &str,
    label: &str,
    runs: usize,
    bytes: u64,
) {
    let base = etcdutl.map(|u| {
        let cmd = [
            u.display().to_string(),
            "snapshot".into(),
            "status".into(),
            "-w".into(),
            "json".into(),
            file.to_string(),
        ];
        run(
            exe,
            &format!("etcdutl snapshot status{label}"),
            &cmd,
            runs,
            bytes,
            None,
        )
    });
    if base.is_none() {
        println!(
            "{:<34} (not found: scripts/install-etcd.sh installs it)",
            format!("etcdutl snapshot status{label}")
        );
    }
    let ours = [
        tool.to_string(),
        "snapshot".into(),
        "status".into(),
        "--json".into(),
        file.to_string(),
    ];
    run(
        exe,
        &format!("wal-inspect snapshot status{label}"),
        &ours,
        runs,
        bytes,
        base,
    );
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// Like [`run`], calling `before` ahead of every run (not timed).
fn run_with(
    exe: &Path,
    label: &str,
    cmd: &[String],
    runs: usize,
    bytes: u64,
    base: Option<f64>,
    before: impl Fn(),
) -> f64 {
    let mut times = Vec::new();
    let mut rss = 0u64;
    for _ in 0..runs.max(1) {
        before();
        match measure::measure(exe, cmd) {
            Some((secs, kib)) => {
                times.push(secs);
                rss = rss.max(kib);
            }
            None => {
                println!("{label:<34} failed to run");
                return f64::NAN;
            }
        }
    }
    report(label, times, rss, bytes, base)
}

/// Run `base` and `cmd` alternately `runs` times each (so a drifting disk or a neighbour
/// weighs on both alike), calling `before` ahead of every run; print both and return
/// the medians.
#[expect(
    clippy::too_many_arguments,
    reason = "two labelled commands and their setup"
)]
fn run_alternating(
    exe: &Path,
    base_label: &str,
    base: &[String],
    label: &str,
    cmd: &[String],
    runs: usize,
    bytes: u64,
    before: impl Fn(),
) -> (f64, f64) {
    let mut times = [Vec::new(), Vec::new()];
    let mut rss = [0u64; 2];
    for _ in 0..runs.max(1) {
        for (i, c) in [base, cmd].into_iter().enumerate() {
            before();
            match measure::measure(exe, c) {
                Some((secs, kib)) => {
                    times[i].push(secs);
                    rss[i] = rss[i].max(kib);
                }
                None => {
                    println!("{:<34} failed to run", [base_label, label][i]);
                    return (f64::NAN, f64::NAN);
                }
            }
        }
    }
    let [base_times, times] = times;
    let b = report(base_label, base_times, rss[0], bytes, None);
    let t = report(label, times, rss[1], bytes, Some(b));
    (b, t)
}

/// Run `cmd` `runs` times; print and return the median seconds.
fn run(exe: &Path, label: &str, cmd: &[String], runs: usize, bytes: u64, base: Option<f64>) -> f64 {
    run_with(exe, label, cmd, runs, bytes, base, || {})
}

fn report(label: &str, mut times: Vec<f64>, rss: u64, bytes: u64, base: Option<f64>) -> f64 {
    times.sort_by(|a, b| a.total_cmp(b));
    let med = times[times.len() / 2];
    let ratio = base.map_or("1.00".to_string(), |b| format!("{:.2}", med / b));
    println!(
        "{label:<34} {med:>10.3} {:>10.2} {:>7.1} MiB {ratio:>8}",
        bytes as f64 / med / 1e9,
        rss as f64 / 1024.0
    );
    med
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

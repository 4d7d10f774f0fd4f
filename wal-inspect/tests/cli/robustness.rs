//! The CLI on broken data: a few hundred seeded mutations of the real-etcd fixtures (bit
//! flips, truncations, zeroed ranges, absurd length words, "illegal tag 0" records, garbage
//! files named like segments, empty files, directories in place of files, unreadable files,
//! symlink loops) run through `verify`, `verify --json` and one of the other read-only
//! commands. Every run must exit 0/1/2/3 (never a signal), never print "panicked" and end
//! within a few seconds.
//!
//! `WAL_INSPECT_ROBUSTNESS_SEED=<n>` changes the seed, `WAL_INSPECT_ROBUSTNESS_N=<n>` the
//! number of mutations per config.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single command may take.
const DEADLINE: Duration = Duration::from_secs(10);
/// Garbage length word from the field report (13,563,782,407,139,376 bytes).
const JEPSEN_WORD: u64 = 13_563_782_407_139_376;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A compact copy of one member of `config`: `.snap` files and db as they are, each WAL
/// segment cut 4 KiB after its last record (the 64 MB preallocation is zeros).
fn base(config: &str, root: &Path) -> PathBuf {
    let pristine = testdata::pristine(config).unwrap();
    let member = pristine.join("data/m1/member");
    let out = root.join(format!("base-{config}"));
    let data = out.join("data");
    copy_dir(&member.join("snap"), &data.join("member/snap"));
    let wal = data.join("member/wal");
    fs::create_dir_all(&wal).unwrap();
    let scan = etcd_wal::scan::scan_dir(&member.join("wal")).unwrap();
    for seg in &scan.segments {
        let bytes = fs::read(member.join("wal").join(&seg.file)).unwrap();
        let keep = (seg.data_end + 4096).min(bytes.len() as u64) as usize;
        fs::write(wal.join(&seg.file), &bytes[..keep]).unwrap();
    }
    data
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => files(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

/// Offsets of the length words of a segment's frames (up to the first zero word).
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while let Some(w) = bytes.get(off..off + 8) {
        let word = u64::from_le_bytes(w.try_into().unwrap());
        if word == 0 {
            break;
        }
        out.push(off);
        let len = word & 0x00FF_FFFF_FFFF_FFFF;
        let pad = if word >> 63 == 1 { (word >> 56) & 7 } else { 0 };
        match usize::try_from(len + pad)
            .ok()
            .and_then(|l| off.checked_add(8 + l))
        {
            Some(next) if next <= bytes.len() => off = next,
            _ => break,
        }
    }
    out
}

/// Apply one random mutation to the data dir; returns what it did.
fn mutate(rng: &mut Rng, data: &Path) -> String {
    let mut all = Vec::new();
    files(data, &mut all);
    all.sort();
    let wal_dir = data.join("member/wal");
    let snap_dir = data.join("member/snap");
    let segments: Vec<PathBuf> = all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .cloned()
        .collect();
    let rel = |p: &Path| p.strip_prefix(data).unwrap().display().to_string();
    if all.is_empty() {
        return "nothing left to mutate".into();
    }
    let file = rng.pick(&all).clone();
    match rng.below(15) {
        0 | 1 => {
            let mut b = fs::read(&file).unwrap_or_default();
            if b.is_empty() {
                return format!("flip in empty {}", rel(&file));
            }
            let n = 1 + rng.below(8);
            let mut at = Vec::new();
            for _ in 0..n {
                let i = rng.below(b.len() as u64) as usize;
                b[i] ^= 1 << rng.below(8);
                at.push(i);
            }
            let _ = fs::write(&file, &b);
            format!("flip bits at {at:?} of {}", rel(&file))
        }
        2 => {
            let len = fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let to = rng.below(len.max(1));
            fs::OpenOptions::new()
                .write(true)
                .open(&file)
                .unwrap()
                .set_len(to)
                .unwrap();
            format!("truncate {} to {to}", rel(&file))
        }
        3 => {
            let mut b = fs::read(&file).unwrap_or_default();
            let (from, n) = if rng.below(2) == 0 {
                (
                    (rng.below(b.len() as u64 / 512 + 1) * 512) as usize,
                    512 * (1 + rng.below(8) as usize),
                )
            } else {
                (
                    rng.below(b.len() as u64 + 1) as usize,
                    1 + rng.below(8192) as usize,
                )
            };
            let from = from.min(b.len());
            let to = (from + n).min(b.len());
            b[from..to].fill(0);
            let _ = fs::write(&file, &b);
            format!("zero {from}..{to} of {}", rel(&file))
        }
        4 | 5 => {
            // An absurd length word at a frame boundary (or anywhere).
            let Some(seg) = (!segments.is_empty()).then(|| rng.pick(&segments).clone()) else {
                return "no segment".into();
            };
            let mut b = fs::read(&seg).unwrap_or_default();
            let offs = frame_offsets(&b);
            let at = if offs.is_empty() || rng.below(4) == 0 {
                (rng.below(b.len() as u64 / 8 + 1) * 8) as usize
            } else {
                *rng.pick(&offs)
            };
            let random = rng.next();
            let word = *rng.pick(&[
                JEPSEN_WORD,
                u64::MAX,
                0x00FF_FFFF_FFFF_FFFF,
                0x8700_0000_0000_0001,
                10 * 1024 * 1024,
                1 << 40,
                random,
            ]);
            if at + 8 > b.len() {
                b.resize(at + 8, 0);
            }
            b[at..at + 8].copy_from_slice(&word.to_le_bytes());
            let _ = fs::write(&seg, &b);
            format!("length word {word:#x} at {at} of {}", rel(&seg))
        }
        6 => {
            // "illegal tag 0": a frame whose record bytes are zeros.
            let Some(seg) = (!segments.is_empty()).then(|| rng.pick(&segments).clone()) else {
                return "no segment".into();
            };
            let mut b = fs::read(&seg).unwrap_or_default();
            let offs = frame_offsets(&b);
            let Some(&at) = (!offs.is_empty()).then(|| rng.pick(&offs)) else {
                return "no frame".into();
            };
            let n = 8 + rng.below(64) as usize;
            let end = (at + 8 + n).min(b.len());
            b[at..at + 8].copy_from_slice(&(n as u64).to_le_bytes());
            b[at + 8..end].fill(0);
            let _ = fs::write(&seg, &b);
            format!("illegal tag 0 record at {at} of {}", rel(&seg))
        }
        7 => {
            // Garbage files named like segments / snaps / db.
            let len = rng.below(4096) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let name = match rng.below(4) {
                0 => wal_dir.join(format!(
                    "{:016x}-{:016x}.wal",
                    1 + rng.below(3),
                    rng.below(1 << 20)
                )),
                1 => wal_dir.join("0000000000000000-0000000000000000.wal"),
                2 => snap_dir.join(format!(
                    "{:016x}-{:016x}.snap",
                    2 + rng.below(2),
                    rng.below(1 << 20)
                )),
                _ => snap_dir.join("db"),
            };
            if let Some(p) = name.parent() {
                let _ = fs::create_dir_all(p);
            }
            if name.is_dir() {
                return format!("{} is a dir", rel(&name));
            }
            let _ = fs::write(&name, &bytes);
            format!("garbage {len} B in {}", rel(&name))
        }
        8 => {
            // Empty files.
            let name = if rng.below(2) == 0 {
                file.clone()
            } else {
                wal_dir.join(format!("{:016x}-{:016x}.wal", 9, 0x9999))
            };
            let _ = fs::create_dir_all(name.parent().unwrap());
            let _ = fs::write(&name, b"");
            format!("empty {}", rel(&name))
        }
        9 => {
            // A directory in place of a file (or of the wal dir's contents).
            let _ = fs::remove_file(&file);
            let _ = fs::create_dir_all(file.join("inner"));
            format!("directory in place of {}", rel(&file))
        }
        10 => {
            // Unreadable file (ignored by root, which the tests may run as).
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&file, fs::Permissions::from_mode(0o000));
            format!("chmod 000 {}", rel(&file))
        }
        11 => {
            // A symlink loop in place of a file or of the wal dir.
            let target = if rng.below(2) == 0 {
                file.clone()
            } else {
                wal_dir.clone()
            };
            if target.is_dir() {
                let _ = fs::remove_dir_all(&target);
            } else {
                let _ = fs::remove_file(&target);
            }
            let _ = std::os::unix::fs::symlink(&target, &target);
            format!("symlink loop at {}", rel(&target))
        }
        12 => {
            let _ = fs::remove_file(&file);
            format!("remove {}", rel(&file))
        }
        13 => {
            // A file in place of the wal or snap directory.
            let dir = if rng.below(2) == 0 {
                &wal_dir
            } else {
                &snap_dir
            };
            let _ = fs::remove_dir_all(dir);
            let _ = fs::write(dir, b"not a directory");
            format!("file in place of {}", rel(dir))
        }
        _ => {
            // A segment copied under another segment's name (duplicate content, wrong place).
            let Some(seg) = (!segments.is_empty()).then(|| rng.pick(&segments).clone()) else {
                return "no segment".into();
            };
            let name = wal_dir.join(format!(
                "{:016x}-{:016x}.wal",
                5 + rng.below(3),
                1 + rng.below(1 << 16)
            ));
            let _ = fs::copy(&seg, &name);
            format!("copy {} to {}", rel(&seg), rel(&name))
        }
    }
}

/// Run the CLI with `args`; returns (exit code, elapsed). Panics (fails the test) on a
/// signal, "panicked" in the output or a run past the deadline.
fn run(args: &[&std::ffi::OsStr], work: &Path, what: &str) -> (i32, Duration) {
    let out_path = work.join("stdout");
    let err_path = work.join("stderr");
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wal-inspect"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn wal-inspect");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: {args:?} still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let read = |p: &Path| {
        let b = fs::read(p)
            .unwrap_or_else(|e| panic!("{what}: {args:?}: reading {}: {e}", p.display()));
        String::from_utf8_lossy(&b).into_owned()
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let Some(code) = status.code() else {
        panic!("{what}: {args:?} killed by a signal ({status:?})\nstderr: {stderr}");
    };
    assert!(
        (0..=3).contains(&code),
        "{what}: {args:?} exit {code}\nstderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "{what}: {args:?} panicked:\n{stderr}"
    );
    (code, elapsed)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mutations(config: &str, seed: u64) {
    let n = env_u64("WAL_INSPECT_ROBUSTNESS_N", 100);
    let seed = env_u64("WAL_INSPECT_ROBUSTNESS_SEED", seed);
    let root = tempfile::tempdir().unwrap();
    let base = base(config, root.path());
    let mut rng = Rng(seed | 1);
    let mut slowest = (Duration::ZERO, String::new());
    let mut codes = [0u32; 4];
    for i in 0..n {
        let case = root.path().join(format!("case-{i}"));
        let data = case.join("data");
        copy_dir(&base, &data);
        let mut what = Vec::new();
        for _ in 0..1 + rng.below(3) {
            what.push(mutate(&mut rng, &data));
        }
        let what = format!("{config} seed {seed} mutation {i}: {}", what.join("; "));
        let d = data.as_os_str();
        let member = data.join("member");
        let wal = member.join("wal");
        let db = member.join("snap/db");
        let other: Vec<&std::ffi::OsStr> = match i % 6 {
            0 => vec!["snapshot".as_ref(), "status".as_ref(), d],
            1 => vec!["db".as_ref(), "keys".as_ref(), db.as_os_str()],
            2 => vec!["dump".as_ref(), "--json".as_ref(), wal.as_os_str()],
            3 => vec!["members".as_ref(), d],
            4 => vec!["repair".as_ref(), d],
            _ => vec!["dump".as_ref(), d],
        };
        for args in [
            vec!["verify".as_ref(), d],
            vec!["verify".as_ref(), "--json".as_ref(), d],
            other,
        ] {
            let (code, t) = run(&args, &case, &what);
            codes[code as usize] += 1;
            if t > slowest.0 {
                slowest = (t, format!("{args:?} ({what})"));
            }
        }
        // Restore permissions so the tempdir can be removed, then drop the case.
        let _ = Command::new("chmod")
            .args(["-R", "u+rwX"])
            .arg(&case)
            .status();
        let _ = fs::remove_dir_all(&case);
    }
    eprintln!(
        "{config}: {n} mutations, {} runs, exit codes 0/1/2/3 = {codes:?}, slowest {:?}: {}",
        codes.iter().sum::<u32>(),
        slowest.0,
        slowest.1
    );
}

#[test]
fn mutations_v35_single() {
    mutations("v35-single", 0x3501);
}

#[test]
fn mutations_v34_single() {
    mutations("v34-single", 0x3401);
}

#[test]
fn mutations_v35_removed_member() {
    mutations("v35-removed-member", 0x3535);
}

//! What every CLI test needs: run the binary, read its JSON Lines (checking the
//! conventions every `--json` output keeps), decode base64 values, list a tree.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_wal-inspect");

/// What a run printed.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Run `wal-inspect args…` in the current directory.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Out {
    run_in(None, args, &[])
}

/// Run `wal-inspect args…` in `cwd` (when given) with extra environment variables.
pub fn run_in<S: AsRef<OsStr>>(cwd: Option<&Path>, args: &[S], env: &[(&str, &str)]) -> Out {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run wal-inspect");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Largest integer every JSON reader holds exactly (2^53 − 1).
pub const MAX_SAFE: u64 = (1 << 53) - 1;

/// Keys whose values are IDs: strings of 16 hex digits (or null), never numbers.
fn is_id_key(k: &str) -> bool {
    matches!(
        k,
        "member_id"
            | "cluster_id"
            | "node_id"
            | "vote"
            | "local_id"
            | "lease"
            | "lease_id"
            | "id"
            | "most_up_to_date"
            | "odd_members"
            | "cluster_ids"
            | "duplicate_members"
            | "removed"
            | "voters"
            | "learners"
            | "voters_outgoing"
            | "learners_next"
    )
}

fn is_16_hex(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Check the JSON conventions of every `--json` output on `v` (`path` names where, for the
/// message): no number above 2^53 − 1, IDs as 16 lowercase hex digits.
pub fn check_conventions(v: &Value, path: &str) {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                assert!(u <= MAX_SAFE, "{path}: number {u} is above 2^53 - 1");
            } else if let Some(i) = n.as_i64() {
                assert!(
                    i.unsigned_abs() <= MAX_SAFE,
                    "{path}: number {i} is beyond 2^53 - 1"
                );
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_conventions(x, &format!("{path}[{i}]"));
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let p = format!("{path}.{k}");
                if is_id_key(k) {
                    check_id(x, &p);
                }
                check_conventions(x, &p);
            }
        }
        _ => {}
    }
}

fn check_id(v: &Value, path: &str) {
    match v {
        Value::Null | Value::Bool(_) => {}
        Value::String(s) => assert!(is_16_hex(s), "{path}: ID {s:?} is not 16 hex digits"),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_id(x, &format!("{path}[{i}]"));
            }
        }
        // `"removed": {...}` objects and the like are not IDs.
        Value::Object(_) => {}
        Value::Number(n) => panic!("{path}: ID {n} is a JSON number, not 16 hex digits"),
    }
}

/// The JSON Lines of a `--json` run: every line parsed and checked against the
/// conventions; with `begin`, the first line must be the `begin` line of `command`
/// (and it is left out of what is returned).
pub fn json_lines(out: &Out, command: Option<&str>) -> Vec<Value> {
    let mut lines: Vec<Value> = out
        .stdout
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line {} is not JSON ({e}): {l}", i + 1));
            check_conventions(&v, &format!("line {}", i + 1));
            v
        })
        .collect();
    if let Some(cmd) = command {
        let first = lines
            .first()
            .unwrap_or_else(|| panic!("no output: {}", out.stderr));
        assert_eq!(first["type"], "begin", "first line: {first}");
        assert_eq!(first["tool"], "wal-inspect");
        assert_eq!(first["command"], cmd);
        assert_eq!(first["schema_version"], 2);
        lines.remove(0);
    }
    lines
}

/// Standard base64 with padding.
pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// A JSON byte string as `wal-inspect` writes one: a string, or `{"base64": …}`.
pub fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => b64(o["base64"].as_str().expect("base64 field")),
        other => panic!("not a byte string: {other}"),
    }
}

/// Every file under `dir` (relative paths, sorted), with directories marked by a `/`.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Size, checksum and mtime of every file under `dir`.
pub fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (u64, u32, Option<std::time::SystemTime>)> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (u64, u32, Option<std::time::SystemTime>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(&p, out);
            } else {
                let data = std::fs::read(&p).unwrap_or_default();
                out.insert(
                    p,
                    (
                        meta.len(),
                        etcd_proto::crc32c::checksum(&data),
                        meta.modified().ok(),
                    ),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

//! Golden files for the **human** (non-JSON) output of every command.
//!
//! The JSON output is pinned by its own contract (README "JSON", `docs/dump-json.md`); this
//! pins the text an operator actually reads. Each test runs the built binary on a fixture
//! from the `testdata` crate (real etcd data, clean or with a case's damage applied) and
//! compares the command line, the exit code, stdout and stderr with
//! `wal-inspect/tests/golden/<name>.txt`.
//!
//! The binary runs with its working directory set to the fixture's root and is given
//! relative paths (`data/m1`, `snapshot.db`), as an operator would type them; the only
//! normalisation is that any absolute path of a temp dir or of the extracted fixture that
//! still appears is replaced by `<DIR>` (the fixture root) or `<TMP>` (a scratch dir). No
//! command prints PIDs, timestamps or durations, so nothing else is touched.
//!
//! **Blessing.** After a deliberate change of the human output, regenerate the files with
//!
//! ```sh
//! WAL_INSPECT_BLESS=1 cargo test -p wal-inspect --test cli -- golden::
//! ```
//!
//! and read the diff (`git diff wal-inspect/tests/golden/`) as a user would before
//! committing it: every golden file is reviewed against the fixture's ground truth
//! (`testdata/cases/<case>.json`).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_wal-inspect");

/// Where a command runs and which absolute paths are replaced by placeholders.
struct Env {
    cwd: PathBuf,
    subst: Vec<(String, &'static str)>,
}

impl Env {
    fn new(cwd: &Path) -> Env {
        let mut e = Env {
            cwd: cwd.to_path_buf(),
            subst: Vec::new(),
        };
        e.add(cwd, "<DIR>");
        e
    }

    /// Replace `path` (and its canonical form) with `placeholder` in the output.
    fn add(&mut self, path: &Path, placeholder: &'static str) {
        let mut forms = vec![path.display().to_string()];
        if let Ok(c) = path.canonicalize() {
            forms.push(c.display().to_string());
        }
        for f in forms {
            if !self.subst.iter().any(|(s, _)| *s == f) {
                self.subst.push((f, placeholder));
            }
        }
        // Longest first, so that a path inside another is replaced before its parent.
        self.subst.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    }

    fn normalise(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in &self.subst {
            out = out.replace(from.as_str(), to);
        }
        backup_times(&out)
    }

    /// Runs `wal-inspect args…` and renders the transcript that the golden file holds.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(&self.cwd)
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .output()
            .expect("run wal-inspect");
        let mut t = String::new();
        let shown: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        writeln!(t, "$ wal-inspect {}", self.normalise(&shown.join(" "))).unwrap();
        match out.status.code() {
            Some(c) => writeln!(t, "[exit {c}]").unwrap(),
            None => writeln!(t, "[killed by a signal]").unwrap(),
        }
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if bytes.is_empty() {
                continue;
            }
            let text = String::from_utf8(bytes.clone())
                .unwrap_or_else(|_| panic!("{name} of `wal-inspect {args:?}` is not UTF-8"));
            writeln!(t, "--- {name}").unwrap();
            t.push_str(&self.normalise(&text));
            if !text.ends_with('\n') {
                t.push_str("\n[no newline at end]\n");
            }
        }
        t
    }
}

fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:<>@".contains(c))
    {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `actual` with `tests/golden/<name>.txt`, or writes it there when
/// `WAL_INSPECT_BLESS=1`.
fn check(name: &str, actual: &str) {
    let path = golden_dir().join(format!("{name}.txt"));
    if std::env::var_os("WAL_INSPECT_BLESS").is_some_and(|v| v == "1") {
        fs::create_dir_all(golden_dir()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} is missing ({e}).\n\
             Create it with: WAL_INSPECT_BLESS=1 cargo test -p wal-inspect --test cli -- golden::\n\
             actual output:\n{actual}",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    panic!(
        "human output of `{name}` differs from {}\n{}\n\
         If the change is intended, bless it and review the diff:\n  \
         WAL_INSPECT_BLESS=1 cargo test -p wal-inspect --test cli -- golden::\n  \
         git diff wal-inspect/tests/golden/",
        path.display(),
        line_diff(&expected, actual)
    );
}

/// The first differing lines, with 1-based line numbers and a little context.
fn line_diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 2;
    const MAX_SHOWN: usize = 12;
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let n = e.len().max(a.len());
    let Some(first) = (0..n).find(|&i| e.get(i) != a.get(i)) else {
        return "(same lines; the files differ only in line endings or a final newline)".into();
    };
    let mut out = format!(
        "first difference at line {} (expected {} lines, got {}):\n",
        first + 1,
        e.len(),
        a.len()
    );
    let start = first.saturating_sub(CONTEXT);
    for (i, line) in e.iter().enumerate().take(first).skip(start) {
        writeln!(out, "  {:>5}   {line}", i + 1).unwrap();
    }
    let mut shown = 0;
    for i in first..n {
        if shown >= MAX_SHOWN {
            writeln!(out, "  …").unwrap();
            break;
        }
        let (x, y) = (e.get(i), a.get(i));
        if x == y {
            continue;
        }
        if let Some(x) = x {
            writeln!(out, "  {:>5} - {x}", i + 1).unwrap();
        }
        if let Some(y) = y {
            writeln!(out, "  {:>5} + {y}", i + 1).unwrap();
        }
        shown += 1;
    }
    out
}

/// A backup folder's timestamp (`wal-inspect-repair.YYYYMMDD.HHMMSS.ffffff`, the only time
/// any output holds) replaced by `<TIME>`.
fn backup_times(text: &str) -> String {
    const PREFIX: &str = "wal-inspect-repair.";
    let shape = |s: &str| {
        s.len() >= 22
            && s.bytes().take(22).enumerate().all(|(i, b)| {
                if i == 8 || i == 15 {
                    b == b'.'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        let (head, tail) = rest.split_at(i + PREFIX.len());
        out.push_str(head);
        if shape(tail) {
            out.push_str("<TIME>");
            rest = &tail[22..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------------------------ fixtures

/// A read-only, shared extraction of a clean configuration.
fn pristine(config: &str) -> Env {
    Env::new(&testdata::pristine(config).unwrap())
}

/// A damaged case (a fresh temp copy; the dir is kept alive by the returned guard).
fn case(name: &str) -> (tempfile::TempDir, Env, testdata::Case) {
    let (dir, c) = testdata::case(name).unwrap();
    let env = Env::new(dir.path());
    (dir, env, c)
}

/// Asserts that the transcript names the case's damaged file and, for a WAL record,
/// its offset, ordinal and raft index: the golden file is not just "what we print
/// today" but checked against the ground truth written by the independent generator.
fn assert_names_ground_truth(out: &str, c: &testdata::Case) {
    let file = Path::new(c.file()).file_name().unwrap().to_str().unwrap();
    assert!(out.contains(file), "{}: {file} not named:\n{out}", c.name);
    if let Some(off) = c.record_offset() {
        assert!(
            out.contains(&format!("at byte {off}")),
            "{}: record offset {off} not named:\n{out}",
            c.name
        );
    }
    if let Some(ord) = c.ordinal() {
        assert!(
            out.contains(&format!("record #{ord}")),
            "{}: ordinal {ord} not named:\n{out}",
            c.name
        );
    }
    if let Some(idx) = c.index() {
        assert!(
            out.contains(&format!("raft index {idx}")),
            "{}: index {idx} not named:\n{out}",
            c.name
        );
    }
}

// ------------------------------------------------------------------ verify

#[test]
fn verify_clean() {
    for (v, config) in [("v35", "v35-single"), ("v34", "v34-single")] {
        let out = pristine(config).run(&["verify", "data/m1"]);
        assert!(out.contains("[exit 0]"), "{out}");
        check(&format!("verify-clean-{v}"), &out);
    }
}

#[test]
fn verify_clean_rollover() {
    let out = pristine("v35-rollover").run(&["verify", "data/m1"]);
    check("verify-clean-rollover-v35", &out);
}

#[test]
fn verify_check_values_clean() {
    for (v, config) in [("v35", "v35-single"), ("v34", "v34-single")] {
        let out = pristine(config).run(&["verify", "--check-values", "data/m1"]);
        assert!(out.contains("[exit 0]"), "{out}");
        check(&format!("verify-check-values-clean-{v}"), &out);
    }
}

fn verify_case(name: &str, golden: &str) {
    let (_dir, env, c) = case(name);
    let out = env.run(&["verify", c.data_dir_rel().unwrap()]);
    assert!(out.contains("[exit 1]"), "{out}");
    assert_names_ground_truth(&out, &c);
    check(golden, &out);
}

#[test]
fn verify_crc_mismatch_mid_wal() {
    verify_case("v35-wal-flip-entry-mid", "verify-wal-flip-entry-mid-v35");
    verify_case("v34-wal-flip-entry-mid", "verify-wal-flip-entry-mid-v34");
}

#[test]
fn verify_torn_tail() {
    verify_case("v35-wal-torn-tail", "verify-wal-torn-tail-v35");
    verify_case("v34-wal-torn-tail", "verify-wal-torn-tail-v34");
}

#[test]
fn verify_zero_filled_sector() {
    verify_case(
        "v35-wal-zero-512-lenword",
        "verify-wal-zero-512-lenword-v35",
    );
}

#[test]
fn verify_missing_middle_segment() {
    let (_dir, env, c) = case("v35-roll-delete-middle");
    let out = env.run(&["verify", "data/m1"]);
    assert!(out.contains("[exit 1]"), "{out}");
    assert_names_ground_truth(&out, &c);
    let deleted = c.ground_truth()["deleted_segment"].as_str().unwrap();
    let deleted = deleted.trim_start_matches("wal/");
    assert!(out.contains(deleted), "deleted {deleted} not named:\n{out}");
    check("verify-roll-delete-middle-v35", &out);
}

#[test]
fn verify_damaged_snap() {
    verify_case("v35-snap-flip-newest", "verify-snap-flip-newest-v35");
}

/// The two verdicts issue 15 corrected: an empty last segment, a deleted db.
#[test]
fn verify_empty_last_segment_and_deleted_db() {
    verify_case("v35-roll-last-empty", "verify-roll-last-empty-v35");
    verify_case("v35-db-deleted", "verify-db-deleted-v35");
}

#[test]
fn verify_damaged_db() {
    for (name, golden) in [
        ("v35-db-leaf-flags", "verify-db-leaf-flags-v35"),
        ("v34-db-meta-current", "verify-db-meta-current-v34"),
    ] {
        let (_dir, env, c) = case(name);
        let out = env.run(&["verify", "data/m1"]);
        assert_names_ground_truth(&out, &c);
        let page = c.page_id().unwrap();
        assert!(out.contains(&format!("page {page}")), "page {page}:\n{out}");
        check(golden, &out);
    }
}

#[test]
fn verify_removed_member() {
    for (v, config) in [("v35", "v35-removed-member"), ("v34", "v34-removed-member")] {
        let out = pristine(config).run(&["verify", "data/m3"]);
        assert!(out.contains("[exit 1]"), "{out}");
        assert!(out.contains("member_removed"), "{out}");
        check(&format!("verify-removed-member-{v}"), &out);
    }
}

#[test]
fn verify_missing_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut env = Env::new(tmp.path());
    env.add(tmp.path(), "<TMP>");
    let out = env.run(&["verify", "no/such/dir"]);
    assert!(out.contains("[exit 2]"), "{out}");
    check("verify-missing-path", &out);
}

// ------------------------------------------------------------------ dump

#[test]
fn dump_index_range() {
    for (v, config) in [("v35", "v35-single"), ("v34", "v34-single")] {
        let env = pristine(config);
        let out = env.run(&["dump", "--from-index", "1", "--to-index", "12", "data/m1"]);
        assert!(out.contains("[exit 0]"), "{out}");
        check(&format!("dump-first-entries-{v}"), &out);
    }
}

#[test]
fn dump_filters() {
    let env = pristine("v35-single");
    let out = env.run(&[
        "dump",
        "--from-index",
        "1000",
        "--to-index",
        "1020",
        "--type",
        "txn,lease_grant,lease_revoke",
        "data/m1",
    ]);
    check("dump-type-filter-v35", &out);
    let out = env.run(&["dump", "--key-prefix", r"bin/nl\n", "--full", "data/m1"]);
    check("dump-key-prefix-full-v35", &out);
}

#[test]
fn dump_membership() {
    let env = pristine("v35-removed-member");
    let out = env.run(&["dump", "--type", "conf_change", "data/m3"]);
    check("dump-conf-change-removed-member-v35", &out);
}

#[test]
fn dump_damaged() {
    let (_dir, env, c) = case("v35-wal-flip-entry-mid");
    let idx = c.index().unwrap();
    let from = (idx - 2).to_string();
    let to = (idx + 2).to_string();
    let out = env.run(&["dump", "--from-index", &from, "--to-index", &to, "data/m1"]);
    assert!(out.contains("[exit 1]"), "{out}");
    check("dump-wal-flip-entry-mid-v35", &out);
}

#[test]
fn dump_raw() {
    // --raw prints every non-entry record whatever the entry filters, so it runs on the
    // restored member of the fixture, whose WAL holds six records.
    for (v, config) in [("v35", "v35-single"), ("v34", "v34-single")] {
        let out = pristine(config).run(&["dump", "--raw", "restore/r1"]);
        assert!(out.contains("[exit 0]"), "{out}");
        check(&format!("dump-raw-restored-{v}"), &out);
    }
}

// ------------------------------------------------------------------ members

#[test]
fn members_cluster() {
    for (v, config) in [("v35", "v35-removed-member"), ("v34", "v34-removed-member")] {
        let out = pristine(config).run(&["members", "data/m1", "data/m2", "data/m3"]);
        check(&format!("members-removed-member-{v}"), &out);
    }
    let out = pristine("v35-cluster3").run(&["members", "data/m1", "data/m2", "data/m3"]);
    check("members-cluster3-v35", &out);
}

#[test]
fn members_missing_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Env::new(tmp.path()).run(&["members", "nope"]);
    assert!(out.contains("[exit 2]"), "{out}");
    check("members-missing-path", &out);
}

// ------------------------------------------------------------------ repair (plan only)

#[test]
fn repair_plans() {
    let out = pristine("v35-single").run(&["repair", "data/m1"]);
    assert!(out.contains("[exit 0]"), "{out}");
    check("repair-clean-v35", &out);
    for (name, golden) in [
        ("v35-wal-torn-tail", "repair-wal-torn-tail-v35"),
        ("v35-wal-flip-entry-mid", "repair-wal-flip-entry-mid-v35"),
        (
            "v34-wal-zero-512-lenword",
            "repair-wal-zero-512-lenword-v34",
        ),
        ("v35-snap-flip-newest", "repair-snap-flip-newest-v35"),
        ("v35-roll-last-empty", "repair-roll-last-empty-v35"),
    ] {
        let (dir, env, _c) = case(name);
        let before = crate::util::fingerprint(dir.path());
        let out = env.run(&["repair", "data/m1"]);
        assert_eq!(
            before,
            crate::util::fingerprint(dir.path()),
            "{name}: a plan must not write"
        );
        check(golden, &out);
    }
}

/// A cluster member's plan: the local plan with the rejoin beside it as the alternative,
/// names and URLs from the data, every command literal (executed in `rejoin.rs`).
#[test]
fn repair_cluster_member_plans() {
    for (name, golden) in [
        (
            "v35-cluster3-m2-wal-flip-entry",
            "repair-cluster3-m2-wal-flip-entry-v35",
        ),
        (
            "v34-cluster3-m2-torn-tail",
            "repair-cluster3-m2-torn-tail-v34",
        ),
    ] {
        let (_dir, env, c) = case(name);
        let out = env.run(&["repair", c.data_dir_rel().unwrap()]);
        assert!(out.contains("[exit 1]"), "{out}");
        assert!(out.contains("etcdctl --endpoints="), "{out}");
        check(golden, &out);
    }
}

/// A removed member: the plan is the rejoin of a removed member (no `member remove`),
/// executed literally in `repair::removed_member_rejoins_by_following_verify_and_repair`.
#[test]
fn repair_removed_member_plan() {
    let out = pristine("v35-removed-member").run(&["repair", "data/m3"]);
    assert!(
        out.contains("[exit 1]") && out.contains("plan: rejoin"),
        "{out}"
    );
    assert!(!out.contains("member remove"), "{out}");
    check("repair-removed-member-v35", &out);
}

/// `--apply` prints what changed and the command that starts etcd (not the plan again);
/// `--undo` puts it back; a second `--undo` has nothing to undo.
#[test]
fn repair_apply_and_undo() {
    let (_dir, env, _c) = case("v35-wal-flip-entry-mid");
    let mut out = env.run(&["repair", "data/m1", "--apply"]);
    assert!(out.contains("[exit 0]"), "{out}");
    assert!(out.contains("now start etcd"), "{out}");
    out.push_str(&env.run(&["verify", "data/m1"]));
    out.push_str(&env.run(&["repair", "data/m1", "--undo"]));
    out.push_str(&env.run(&["repair", "data/m1", "--undo"]));
    check("repair-apply-undo-wal-flip-entry-mid-v35", &out);
}

/// `verify --config`: what the configuration does with this data dir and on an empty one
/// (each prediction is checked against real etcd in `rejoin.rs`); a malformed file is
/// bad input (exit 2) naming the file and line.
#[test]
fn verify_with_config() {
    let env = pristine("v35-cluster3");
    let tmp = tempfile::tempdir().unwrap();
    let mut env2 = Env::new(&env.cwd);
    env2.add(tmp.path(), "<TMP>");
    let conf = tmp.path().join("etcd.conf");
    fs::write(
        &conf,
        "# /etc/etcd/etcd.conf\nETCD_NAME=\"etcd-1\"\nETCD_DATA_DIR=\"/var/lib/etcd\"\n\
         ETCD_LISTEN_PEER_URLS=\"http://127.0.0.1:2380\"\n\
         ETCD_INITIAL_CLUSTER=\"etcd-1=http://127.0.0.1:23401,m2=http://127.0.0.1:23403\"\n\
         ETCD_INITIAL_CLUSTER_STATE=\"existing\"\nETCD_FORCE_NEW_CLUSTER=\"true\"\n",
    )
    .unwrap();
    let c = conf.display().to_string();
    let mut out = env2.run(&["verify", "data/m1", "--config", &c, "--peer-dir", "data/m2"]);
    assert!(out.contains("[exit 1]"), "{out}");
    let bad = tmp.path().join("bad.conf");
    fs::write(
        &bad,
        "ETCD_NAME=m1\nETCD_INITIAL_CLUSTER=\"m1=http://127.0.0.1:23401\n",
    )
    .unwrap();
    let b = bad.display().to_string();
    let e = env2.run(&["verify", "data/m1", "--config", &b]);
    assert!(e.contains("[exit 2]") && e.contains("bad.conf:2"), "{e}");
    out.push_str(&e);
    check("verify-config-cluster3-v35", &out);
}

// ------------------------------------------------------------------ help

/// `--help` of every command and subcommand, pinned: what an operator reads first.
#[test]
fn help() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Env::new(tmp.path());
    for (golden, args) in [
        ("help", &["--help"][..]),
        ("help-verify", &["verify", "--help"]),
        ("help-repair", &["repair", "--help"]),
        ("help-recover", &["recover", "--help"]),
        ("help-members", &["members", "--help"]),
        ("help-dump", &["dump", "--help"]),
        ("help-db", &["db", "--help"]),
        ("help-snapshot", &["snapshot", "--help"]),
        ("help-snapshot-status", &["snapshot", "status", "--help"]),
        ("help-snapshot-restore", &["snapshot", "restore", "--help"]),
    ] {
        let out = env.run(args);
        assert!(out.contains("[exit 0]"), "{out}");
        assert!(
            out.contains("Exit codes"),
            "{golden}: no exit codes:\n{out}"
        );
        check(golden, &out);
        // The full table once, in the top-level help; the commands say what differs.
        assert_eq!(
            out.contains("2  could not run"),
            golden == "help",
            "{golden}: the whole table belongs in `wal-inspect --help` only:\n{out}"
        );
    }
    // dump's own help (entry kinds) is not replaced by the generic block.
    let dump = env.run(&["dump", "--help"]);
    assert!(dump.contains("Entry kinds (--type)"), "{dump}");
}

// ------------------------------------------------------------------ snapshot

#[test]
fn snapshot_status() {
    for (v, config) in [("v35", "v35-single"), ("v34", "v34-single")] {
        let env = pristine(config);
        check(
            &format!("snapshot-status-save-{v}"),
            &env.run(&["snapshot", "status", "snapshot.db"]),
        );
    }
    check(
        "snapshot-status-member-v35",
        &pristine("v35-single").run(&["snapshot", "status", "data/m1"]),
    );
}

#[test]
fn snapshot_status_damaged() {
    for (name, golden) in [
        ("v35-save-flip", "snapshot-status-save-flip-v35"),
        ("v35-save-no-trailer", "snapshot-status-save-no-trailer-v35"),
        ("v35-db-leaf-flags", "snapshot-status-db-leaf-flags-v35"),
    ] {
        let (_dir, env, c) = case(name);
        let target = if c.member_rel().is_some() {
            "data/m1"
        } else {
            "snapshot.db"
        };
        check(golden, &env.run(&["snapshot", "status", target]));
    }
}

#[test]
fn snapshot_restore_refusals() {
    let src = testdata::pristine("v35-single").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut env = Env::new(tmp.path());
    env.add(&src, "<FIXTURE>");
    fs::create_dir(tmp.path().join("taken")).unwrap();
    fs::write(tmp.path().join("taken/file"), b"x").unwrap();
    let save = src.join("snapshot.db");
    let out = env.run(&[
        "snapshot",
        "restore",
        save.to_str().unwrap(),
        "--data-dir",
        "taken",
    ]);
    assert!(out.contains("[exit 3]"), "{out}");
    check("restore-refuses-non-empty-dir", &out);
    assert_eq!(fs::read(tmp.path().join("taken/file")).unwrap(), b"x");

    let out = env.run(&[
        "snapshot",
        "restore",
        save.to_str().unwrap(),
        "--data-dir",
        "r",
    ]);
    assert!(out.contains("[exit 0]"), "{out}");
    check("restore-save-file-v35", &out);

    let (_dir, env, _c) = case("v35-save-no-trailer");
    let out = env.run(&["snapshot", "restore", "snapshot.db", "--data-dir", "r"]);
    check("restore-refuses-no-trailer-v35", &out);

    let (_dir, env, _c) = case("v35-save-flip");
    let out = env.run(&["snapshot", "restore", "snapshot.db", "--data-dir", "r"]);
    check("restore-refuses-hash-mismatch-v35", &out);
}

// ------------------------------------------------------------------ db

#[test]
fn db_reads() {
    let env = pristine("v35-single");
    check(
        "db-keys-prefix-v35",
        &env.run(&["db", "keys", "data/m1", "--prefix", "bin/"]),
    );
    check(
        "db-keys-below-compaction-v35",
        &env.run(&["db", "keys", "data/m1", "--rev", "100", "--prefix", "k/000"]),
    );
    check(
        "db-keys-lease-v35",
        &env.run(&["db", "keys", "snapshot.db", "--prefix", "lease/"]),
    );
    check(
        "db-get-v35",
        &env.run(&["db", "get", "data/m1", "bin/nl\nkey"]),
    );
    // Below the compaction revision the key's older value is gone; `db keys` warns about
    // that, `db get` does not (yet).
    check(
        "db-get-below-compaction-v35",
        &env.run(&["db", "get", "data/m1", "--rev", "1000", "k/0004"]),
    );
    check(
        "db-get-missing-v35",
        &env.run(&["db", "get", "data/m1", "k/0001"]),
    );
    check(
        "db-history-v35",
        &env.run(&["db", "history", "data/m1", "k/0001"]),
    );
    check(
        "db-space-v35",
        &env.run(&["db", "space", "data/m1", "--depth", "1", "--top", "5"]),
    );
    check("db-stats-v35", &env.run(&["db", "stats", "data/m1"]));
    check("db-pages-v35", &env.run(&["db", "pages", "data/m1"]));
    check(
        "db-page-meta-v35",
        &env.run(&["db", "page", "data/m1", "1"]),
    );
    // A leaf of the key bucket: revisions as main_sub, values as mvccpb.KeyValue.
    check(
        "db-page-leaf-v35",
        &env.run(&["db", "page", "data/m1", "248"]),
    );
    check(
        "db-space-json-v35",
        &env.run(&[
            "db",
            "space",
            "--json",
            "snapshot.db",
            "--depth",
            "1",
            "--top",
            "3",
        ]),
    );
    check(
        "db-space-compact-at-v35",
        &env.run(&[
            "db",
            "space",
            "snapshot.db",
            "--depth",
            "1",
            "--top",
            "0",
            "--compact-at",
            "1800",
        ]),
    );
    let env = pristine("v34-single");
    check(
        "db-keys-prefix-v34",
        &env.run(&["db", "keys", "data/m1", "--prefix", "bin/"]),
    );
    check(
        "db-history-v34",
        &env.run(&["db", "history", "snapshot.db", "k/0004"]),
    );
    check(
        "db-space-v34",
        &env.run(&["db", "space", "data/m1", "--depth", "1", "--top", "3"]),
    );
}

// ------------------------------------------------------------------ man, completion

/// `wal-inspect.1` in the repository is what `wal-inspect man` prints now (regenerate with
/// `WAL_INSPECT_BLESS=1`, or `wal-inspect man > wal-inspect/wal-inspect.1`).
#[test]
fn man_page_is_up_to_date() {
    let out = Command::new(BIN).arg("man").output().unwrap();
    assert!(out.status.success());
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("wal-inspect.1");
    if std::env::var_os("WAL_INSPECT_BLESS").is_some() {
        fs::write(&page, &out.stdout).unwrap();
    }
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(".TH wal-inspect 1"), "{text}");
    for sub in [
        "verify",
        "repair",
        "members",
        "dump",
        "snapshot",
        "completion",
    ] {
        assert!(text.contains(sub), "{sub} missing from the man page");
    }
    assert_eq!(
        fs::read_to_string(&page).unwrap(),
        text,
        "wal-inspect/wal-inspect.1 is stale: regenerate it with `WAL_INSPECT_BLESS=1 cargo test -p wal-inspect --test cli -- golden::man`"
    );
}

/// Every shell's completion script is produced; bash's parses (`bash -n`) and completes the
/// subcommands and their flags.
#[test]
fn completion_scripts() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = Command::new(BIN)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("verify") && text.contains("etcd-version"),
            "{shell}: {text}"
        );
        if shell == "bash" {
            let tmp = tempfile::tempdir().unwrap();
            let f = tmp.path().join("wal-inspect.bash");
            fs::write(&f, &text).unwrap();
            let st = Command::new("bash").arg("-n").arg(&f).status().unwrap();
            assert!(st.success(), "bash -n rejects the completion script");
        }
    }
    let out = Command::new(BIN)
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad input");
}

// ------------------------------------------------------------------ -w table / json

/// `-w table` as etcdctl draws it (etcdutl's `snapshot status` columns first); `-w json`
/// is exactly `--json`.
#[test]
fn write_out_table_and_json() {
    let env = pristine("v35-single");
    check(
        "snapshot-status-table-v35",
        &env.run(&["snapshot", "status", "-w", "table", "snapshot.db"]),
    );
    assert_eq!(
        env.run(&["snapshot", "status", "-w", "json", "snapshot.db"])
            .replace(" -w json", ""),
        env.run(&["snapshot", "status", "--json", "snapshot.db"])
            .replace(" --json", "")
    );
    let env = pristine("v35-cluster3");
    check(
        "members-table-cluster3-v35",
        &env.run(&["members", "-w", "table", "data/m1", "data/m2", "data/m3"]),
    );
    assert_eq!(
        env.run(&["members", "-w", "json", "data/m1"])
            .replace(" -w json", ""),
        env.run(&["members", "--json", "data/m1"])
            .replace(" --json", "")
    );
    let env = pristine("v35-single");
    check(
        "db-keys-table-v35",
        &env.run(&["db", "keys", "-w", "table", "--prefix", "bin/", "data/m1"]),
    );
    assert_eq!(
        env.run(&["db", "keys", "-w", "json", "data/m1"])
            .replace(" -w json", ""),
        env.run(&["db", "keys", "--json", "data/m1"])
            .replace(" --json", "")
    );
    let e = env.run(&["db", "get", "-w", "table", "data/m1", "k/0001"]);
    assert!(e.contains("[exit 2]"), "{e}");
    let (_dir, env, _c) = case("v35-cluster3-m2-wal-flip-entry");
    check(
        "verify-table-cluster3-m2-wal-flip-entry-v35",
        &env.run(&["verify", "-w", "table", "data/m2"]),
    );
    check(
        "repair-table-cluster3-m2-wal-flip-entry-v35",
        &env.run(&["repair", "-w", "table", "data/m2"]),
    );
    for cmd in ["verify", "repair"] {
        assert_eq!(
            env.run(&[cmd, "-w", "json", "data/m2"])
                .replace(" -w json", ""),
            env.run(&[cmd, "--json", "data/m2"]).replace(" --json", ""),
            "{cmd}"
        );
    }
}

//! Terminal habits: colour only on a terminal (`--color`, NO_COLOR) and a progress line on
//! stderr for long reads. A terminal is a real pseudo-terminal: util-linux `script` runs
//! the command on one and copies what the terminal showed to its own stdout.

use std::path::Path;
use std::process::Command;

use crate::util;

const ESC: char = '\x1b';

/// What the terminal showed while `sh -c cmd` ran on it (stdout and stderr, unless `cmd`
/// redirects one), and the exit code.
fn on_terminal(cmd: &str, env: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::new("script");
    c.args(["-qec", cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("util-linux `script` runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn strip_colour(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('m').expect("an SGR sequence ends with m");
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn damaged() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let data = case.data_dir(dir.path()).unwrap();
    (dir, data)
}

/// `--color always` colours the verdict (the same text once the escapes are removed);
/// a pipe, `--color never` and every JSON output stay plain.
#[test]
fn colour_is_asked_for_or_on_a_terminal_only() {
    let (_dir, data) = damaged();
    let d = data.display().to_string();
    let plain = util::run(&["verify", &d]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(!plain.stdout.contains(ESC), "{}", plain.stdout);
    let never = util::run(&["verify", "--color", "never", &d]);
    assert_eq!(never.stdout, plain.stdout);
    let always = util::run(&["verify", "--color=always", &d]);
    assert_eq!(always.code, 1);
    assert!(
        always.stdout.contains("\x1b[1;31mDAMAGE:\x1b[0m"),
        "{}",
        always.stdout
    );
    assert!(
        always.stdout.contains("\x1b[1;31metcd will REFUSE"),
        "{}",
        always.stdout
    );
    assert_eq!(strip_colour(&always.stdout), plain.stdout);
    // Machine output is never coloured.
    for args in [
        &["verify", "--color=always", "--json", &d][..],
        &["verify", "--color=always", "-w", "table", &d],
        &["repair", "--color=always", "--json", &d],
        &["members", "--color=always", "--json", &d],
    ] {
        let out = util::run(args);
        assert!(!out.stdout.contains(ESC), "{args:?}: {}", out.stdout);
    }
    // A plan's kind is bold.
    let repair = util::run(&["repair", "--color=always", &d]);
    assert!(
        repair.stdout.starts_with("plan: \x1b[1mfix\x1b[0m"),
        "{}",
        repair.stdout
    );
}

/// On a terminal `auto` colours; NO_COLOR (non-empty) and TERM=dumb turn it off, and
/// `--color always` wins over NO_COLOR.
#[test]
fn auto_colour_follows_the_terminal_and_no_color() {
    let (_dir, data) = damaged();
    let cmd = format!("{} verify {}", util::BIN, data.display());
    let (code, shown) = on_terminal(&cmd, &[]);
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("\x1b[1;31mDAMAGE:"), "{shown}");
    let (_, shown) = on_terminal(&cmd, &[("NO_COLOR", "1")]);
    assert!(!shown.contains(ESC), "NO_COLOR: {shown}");
    let (_, shown) = on_terminal(&cmd, &[("NO_COLOR", "")]);
    assert!(
        shown.contains(ESC),
        "an empty NO_COLOR does not count: {shown}"
    );
    let (_, shown) = on_terminal(&cmd, &[("TERM", "dumb")]);
    assert!(!shown.contains(ESC), "TERM=dumb: {shown}");
    let (_, shown) = on_terminal(&format!("{cmd} --color=always"), &[("NO_COLOR", "1")]);
    assert!(shown.contains(ESC), "--color always: {shown}");
}

/// The progress lines a run drew on the terminal's stderr (stdout redirected to `out`).
fn progress_of(args: &str, out: &Path, min_mib: Option<&str>) -> (i32, Vec<String>, String) {
    let cmd = format!("{} {args} > {}", util::BIN, out.display());
    let env: Vec<(&str, &str)> = min_mib
        .map(|m| ("WAL_INSPECT_PROGRESS_MIN_MIB", m))
        .into_iter()
        .collect();
    let (code, shown) = on_terminal(&cmd, &env);
    let lines = shown
        .split('\r')
        .map(|l| l.trim_start_matches("\x1b[2K").trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    (code, lines, shown)
}

/// Above the threshold (here 0 MiB) `verify --check-values`, `dump` and `snapshot
/// restore` draw their stage and bytes on stderr and erase the line at the end; stdout is
/// what it is without a terminal. Below it (the default 100 MiB, these fixtures are
/// smaller) nothing is drawn.
#[test]
fn progress_on_stderr_for_long_reads_only() {
    let (dir, data) = damaged();
    let d = data.display().to_string();
    let out = dir.path().join("stdout.txt");

    let (code, lines, shown) = progress_of(&format!("verify --check-values {d}"), &out, Some("0"));
    assert_eq!(code, 1, "{shown}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("wal-inspect: verify: reading the WAL ") && l.ends_with("%)")),
        "{lines:?}"
    );
    assert!(
        shown.ends_with("\r\x1b[2K"),
        "the line is erased: {shown:?}"
    );
    for l in &lines {
        assert!(l.starts_with("wal-inspect: verify: "), "{lines:?}");
    }
    let piped = util::run(&["verify", "--check-values", &d]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), piped.stdout);

    let (_, lines, _) = progress_of(&format!("verify {d}"), &out, None);
    assert!(lines.is_empty(), "below 100 MiB: {lines:?}");

    let (code, lines, shown) = progress_of(&format!("dump {d}"), &out, Some("0"));
    assert_eq!(code, 1, "{shown}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("wal-inspect: dump: reading the WAL ")),
        "{lines:?}"
    );

    let save = testdata::pristine("v35-single")
        .unwrap()
        .join("snapshot.db");
    let target = dir.path().join("restored");
    let (code, lines, shown) = progress_of(
        &format!(
            "snapshot restore {} --data-dir {}",
            save.display(),
            target.display()
        ),
        &out,
        Some("0"),
    );
    assert_eq!(code, 0, "{shown}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("wal-inspect: snapshot restore: ")),
        "{lines:?}"
    );
    assert!(target.join("member/snap/db").is_file());
}

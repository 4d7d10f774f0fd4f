//! Wall time and peak RSS of one child process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Run `cmd` through a fresh `measure` helper; returns (seconds, peak RSS in KiB).
pub fn measure(exe: &Path, cmd: &[String]) -> Option<(f64, u64)> {
    let out = Command::new(exe)
        .arg("measure")
        .arg("--")
        .args(cmd)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let secs = parts.next()?.parse().ok()?;
    let kib = parts.next()?.parse().ok()?;
    Some((secs, kib))
}

/// In the helper: run the command with stdout to /dev/null, print "secs maxrss_kib".
pub fn measure_child(args: &[String]) -> i32 {
    let cmd: Vec<&String> = args.iter().skip_while(|a| *a == "--").collect();
    let Some((prog, rest)) = cmd.split_first() else {
        return 2;
    };
    let t = Instant::now();
    // stderr is kept and shown only on failure (etcdutl logs every run there).
    let out = Command::new(prog)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let secs = t.elapsed().as_secs_f64();
    // 0 clean, 1 damage found, 3 refused are answers; 2 (could not run) and signals are not.
    match out {
        Ok(o) if matches!(o.status.code(), Some(0 | 1 | 3)) => {}
        Ok(o) => {
            eprint!("{}", String::from_utf8_lossy(&o.stderr));
            return 1;
        }
        Err(e) => {
            eprintln!("{prog}: {e}");
            return 1;
        }
    }
    println!("{secs} {}", children_maxrss_kib());
    0
}

/// `ru_maxrss` of the waited-for children (this helper has exactly one), in KiB.
fn children_maxrss_kib() -> u64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss().max(0) as u64)
        .unwrap_or(0)
}

//! Every command the tool prints for an operator, executed literally: the `argv` of each
//! runbook step, with the release's `etcd` and `etcdctl` first on `PATH`, nothing added.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A daemon a runbook started (etcd), stopped by its PID when dropped.
pub struct Daemon {
    child: Child,
    /// Where its stderr goes.
    pub log: PathBuf,
}

impl Daemon {
    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `PATH` with the directory of etcd `version`'s binaries first.
pub fn path_with(version: &str) -> String {
    let bin = testdata::etcd_bin(version, "etcd");
    let dir = bin.parent().unwrap().display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

/// Execute `steps` (a runbook's `steps` array) in order, literally, in `cwd`. Steps against
/// the cluster are retried for a while (a cluster that just lost or gained a member needs a
/// moment to elect and to accept a reconfiguration); steps on this host must succeed at
/// once. Daemons are started and returned, logging to `logs/<n>.log`.
pub fn execute(steps: &Value, version: &str, cwd: &Path, logs: &Path) -> Vec<Daemon> {
    let path = path_with(version);
    let mut daemons = Vec::new();
    std::fs::create_dir_all(logs).unwrap();
    for step in steps.as_array().expect("steps") {
        let needs = step["needs"].as_array().expect("needs");
        assert!(needs.is_empty(), "step needs {needs:?}: {step}");
        let argv: Vec<String> = step["argv"]
            .as_array()
            .expect("argv")
            .iter()
            .map(|a| a.as_str().expect("argv strings").to_owned())
            .collect();
        let (prog, args) = argv.split_first().expect("a command");
        for a in &argv {
            assert!(!a.is_empty() && !a.contains('<'), "placeholder in {argv:?}");
        }
        if step["daemon"] == true {
            let log = logs.join(format!("{}.log", step["n"]));
            let child = Command::new(prog)
                .args(args)
                .current_dir(cwd)
                .env("PATH", &path)
                .env_remove("ETCDCTL_API")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("start {argv:?}: {e}"));
            eprintln!(
                "runbook step {}: started {} (pid {})",
                step["n"],
                argv.join(" "),
                child.id()
            );
            daemons.push(Daemon { child, log });
            continue;
        }
        let tries = if step["where"] == "healthy_member" {
            60
        } else {
            1
        };
        let mut last = String::new();
        let mut ok = false;
        for _ in 0..tries {
            let out = Command::new(prog)
                .args(args)
                .current_dir(cwd)
                .env("PATH", &path)
                .env_remove("ETCDCTL_API")
                .output()
                .unwrap_or_else(|e| panic!("run {argv:?}: {e}"));
            last = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                ok = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(
            ok,
            "runbook step {} failed: {}\n{last}",
            step["n"],
            argv.join(" ")
        );
        eprintln!("runbook step {}: {} -> ok", step["n"], argv.join(" "));
    }
    daemons
}

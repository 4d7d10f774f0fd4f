//! Real etcd for tests: one process at a time across the whole test suite, on loopback
//! only, stopped by PID when dropped (SIGTERM, then SIGKILL after 10 s).
//!
//! ```no_run
//! let _lock = testdata::etcd::EtcdLock::take();
//! let mut etcd = testdata::etcd::Etcd::start("3.5.1", "m1", std::path::Path::new("data/m1"), 24800, &[]);
//! etcd.wait_healthy();
//! let (ok, out) = etcd.ctl(&["put", "k", "v"]);
//! ```

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Holds `testdata/.cache/etcd-tests.lock` (an exclusive `flock`, through `flock(1)`), so
/// that tests starting etcd, with their baked-in ports, run one at a time even across the
/// test binaries cargo runs in parallel.
#[derive(Debug)]
pub struct EtcdLock(Child);

impl EtcdLock {
    /// Wait for the lock.
    pub fn take() -> EtcdLock {
        let cache = crate::root().join(".cache");
        std::fs::create_dir_all(&cache).expect("testdata/.cache");
        let lock = cache.join("etcd-tests.lock");
        let mut c = Command::new("flock")
            .arg("-x")
            .arg(&lock)
            .args(["-c", "echo locked; cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock(1)");
        let mut line = String::new();
        BufReader::new(c.stdout.take().expect("flock stdout"))
            .read_line(&mut line)
            .expect("flock answers");
        assert_eq!(line.trim(), "locked");
        EtcdLock(c)
    }
}

impl Drop for EtcdLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One etcd process.
#[derive(Debug)]
pub struct Etcd {
    child: Child,
    version: String,
    client: String,
    log: PathBuf,
}

impl Drop for Etcd {
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

impl Etcd {
    /// Start etcd `version` (any release or alias of [`crate::RELEASES`]) as `name` on `data_dir`: client port
    /// `cport`, peer port `cport + 1`, both on 127.0.0.1. With `extra` empty it adds a
    /// one-member `--initial-cluster` (ignored by etcd for an existing data dir);
    /// otherwise `extra` carries the cluster flags.
    pub fn start(version: &str, name: &str, data_dir: &Path, cport: u16, extra: &[String]) -> Etcd {
        let pport = cport + 1;
        let client = format!("http://127.0.0.1:{cport}");
        let peer = format!("http://127.0.0.1:{pport}");
        let log = data_dir.with_extension(format!("etcd-{cport}.log"));
        let mut args: Vec<String> = vec![
            "--name".into(),
            name.into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--listen-client-urls".into(),
            client.clone(),
            "--advertise-client-urls".into(),
            client,
            "--listen-peer-urls".into(),
            peer.clone(),
            "--logger".into(),
            "zap".into(),
            "--log-outputs".into(),
            "stderr".into(),
        ];
        if extra.is_empty() {
            args.extend([
                "--initial-advertise-peer-urls".into(),
                peer.clone(),
                "--initial-cluster".into(),
                format!("{name}={peer}"),
                "--initial-cluster-token".into(),
                "wal-inspect-fixtures".into(),
            ]);
        }
        args.extend(extra.iter().cloned());
        Etcd::start_raw(version, cport, &args, log)
    }

    /// Start etcd with exactly `args` (every URL in them must be on 127.0.0.1), logging to
    /// `log`; `cport` is the client port the helpers talk to.
    pub fn start_raw(version: &str, cport: u16, args: &[String], log: PathBuf) -> Etcd {
        for w in args.windows(2) {
            if let [flag, value] = w {
                if flag.contains("url") || flag == "--initial-cluster" {
                    for u in value.split(',') {
                        let u = u.split_once('=').map_or(u, |(_, u)| u);
                        assert!(u.starts_with("http://127.0.0.1:"), "non-loopback URL {u}");
                    }
                }
            }
        }
        let child = Command::new(crate::etcd_bin(version, "etcd"))
            .args(args)
            .env_remove("ETCDCTL_API")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("etcd log file"))
            .spawn()
            .expect("start etcd");
        Etcd {
            child,
            version: version.into(),
            client: format!("http://127.0.0.1:{cport}"),
            log,
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The client URL.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The log file (zap JSON on stderr).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether the process has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Run etcdctl (same version, API 3, 5 s command timeout): (success, stdout + stderr).
    pub fn ctl(&self, args: &[&str]) -> (bool, String) {
        let mut cmd = Command::new(crate::etcd_bin(&self.version, "etcdctl"));
        // 3.4/3.5 etcdctl choose the API by ETCDCTL_API; 3.6+ only warn about it on stderr.
        if self.version.starts_with("3.4") || self.version.starts_with("3.5") {
            cmd.env("ETCDCTL_API", "3");
        } else {
            cmd.env_remove("ETCDCTL_API");
        }
        let out = cmd
            .args(["--endpoints", &self.client, "--command-timeout=5s"])
            .args(args)
            .output()
            .expect("etcdctl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Wait up to 30 s for `endpoint health`; panics with the log if etcd exits or stays
    /// unhealthy.
    pub fn wait_healthy(&mut self) {
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Some(st) = self.exited() {
                panic!("etcd exited ({st}): {}", self.log_text());
            }
            if self.ctl(&["endpoint", "health"]).0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("etcd not healthy: {}", self.log_text());
    }

    /// `etcdctl get "" --prefix -w json`.
    pub fn keyspace(&self) -> Value {
        let (ok, out) = self.ctl(&["get", "", "--prefix", "-w", "json"]);
        assert!(ok, "{out}");
        serde_json::from_str(&out).expect("etcdctl JSON")
    }

    /// The store revision (`etcdctl get "" --prefix --keys-only --limit 1 -w json`).
    pub fn keyspace_revision(&self) -> i64 {
        let (ok, out) = self.ctl(&[
            "get",
            "",
            "--prefix",
            "--keys-only",
            "--limit",
            "1",
            "-w",
            "json",
        ]);
        assert!(ok, "{out}");
        let v: Value = serde_json::from_str(&out).expect("etcdctl JSON");
        v["header"]["revision"].as_i64().expect("revision")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

//! The operator's path, as a new user would walk it, on real etcd: a 3-member cluster on
//! loopback whose second and third members joined with `etcdctl member add` (so the db
//! holds no name for them), one member killed and its WAL damaged mid-log, writes going on
//! without it; then `wal-inspect repair --json` and every `argv` of its runbook executed
//! literally (nothing added, `etcd`/`etcdctl` of the release first on `PATH`). The member
//! comes back: three started members with its name, equal KV hashes, every acknowledged
//! write served by it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testdata::etcd::EtcdLock;

use crate::runbook::{self, Daemon};
use crate::util;

/// TLS material of a cluster (made with openssl by the test).
#[derive(Clone)]
pub(crate) struct Tls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// One member of the test cluster.
pub(crate) struct Member {
    name: String,
    pub(crate) data: PathBuf,
    pub(crate) client: String,
    peer: String,
    child: Option<Child>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Member {
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILL, as a power loss would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) struct Cluster {
    version: String,
    root: PathBuf,
    pub(crate) members: Vec<Member>,
    tls: Option<Tls>,
    /// key → value of every write etcd acknowledged.
    pub(crate) acked: BTreeMap<String, String>,
}

fn scheme(tls: &Option<Tls>) -> &'static str {
    if tls.is_some() { "https" } else { "http" }
}

impl Cluster {
    fn etcdctl(&self, endpoints: &str) -> Command {
        let mut c = Command::new(testdata::etcd_bin(&self.version, "etcdctl"));
        // etcdctl 3.4 and later speak v3 by default; 3.6+ warn about the variable.
        c.env_remove("ETCDCTL_API")
            .args(["--endpoints", endpoints, "--command-timeout=5s"]);
        if let Some(t) = &self.tls {
            c.arg(format!("--cacert={}", t.ca.display()))
                .arg(format!("--cert={}", t.cert.display()))
                .arg(format!("--key={}", t.key.display()));
        }
        c
    }

    pub(crate) fn ctl(&self, endpoints: &str, args: &[&str]) -> (bool, String) {
        let out = self.etcdctl(endpoints).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    pub(crate) fn running_endpoints(&self) -> String {
        self.members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.client.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The flags an operator starts member `i` with: all on 127.0.0.1.
    fn flags(&self, i: usize, initial: &str, state: &str) -> Vec<String> {
        let m = &self.members[i];
        let mut f = vec![
            format!("--name={}", m.name),
            format!("--data-dir={}", m.data.display()),
            format!("--listen-peer-urls={}", m.peer),
            format!("--listen-client-urls={}", m.client),
            format!("--advertise-client-urls={}", m.client),
            format!("--initial-advertise-peer-urls={}", m.peer),
            format!("--initial-cluster={initial}"),
            format!("--initial-cluster-state={state}"),
            "--initial-cluster-token=wal-inspect-rejoin".into(),
            "--snapshot-count=100000".into(),
        ];
        if let Some(t) = &self.tls {
            for p in ["", "peer-"] {
                f.push(format!("--{p}cert-file={}", t.cert.display()));
                f.push(format!("--{p}key-file={}", t.key.display()));
                f.push(format!("--{p}trusted-ca-file={}", t.ca.display()));
                f.push(format!("--{p}client-cert-auth"));
            }
        }
        for a in &f {
            if a.contains("urls=") || a.starts_with("--initial-cluster=") {
                for u in a.split_once('=').unwrap().1.split(',') {
                    let u = u.split_once('=').map_or(u, |(_, u)| u);
                    assert!(
                        u.starts_with("http://127.0.0.1:") || u.starts_with("https://127.0.0.1:"),
                        "non-loopback {u}"
                    );
                }
            }
        }
        f
    }

    fn start(&mut self, i: usize, initial: &str, state: &str) {
        let log = self.spawn(i, initial, state);
        let ep = self.members[i].client.clone();
        self.wait_healthy(&ep, &log);
    }

    /// Start member `i` without waiting for it (a member alone cannot elect a leader).
    fn spawn(&mut self, i: usize, initial: &str, state: &str) -> PathBuf {
        let flags = self.flags(i, initial, state);
        let log = self.root.join(format!("{}.log", self.members[i].name));
        let child = Command::new(testdata::etcd_bin(&self.version, "etcd"))
            .args(&flags)
            .env_remove("ETCDCTL_API")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.members[i].child = Some(child);
        log
    }

    fn wait_healthy(&self, endpoint: &str, log: &Path) {
        let end = Instant::now() + Duration::from_secs(40);
        while Instant::now() < end {
            if self.ctl(endpoint, &["endpoint", "health"]).0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "{endpoint} not healthy: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// `n` puts through the running members, each recorded once etcd acknowledged it.
    pub(crate) fn write(&mut self, prefix: &str, n: usize) {
        let eps = self.running_endpoints();
        for i in 0..n {
            let (k, v) = (
                format!("{prefix}/{i:04}"),
                format!("v{i}-{}", "x".repeat(i % 50)),
            );
            let (ok, out) = self.ctl(&eps, &["put", &k, &v]);
            assert!(ok, "put {k}: {out}");
            self.acked.insert(k, v);
        }
    }

    fn initial(&self, upto: usize) -> String {
        self.members[..upto]
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// m1 bootstrapped alone; m2 and m3 joined with `etcdctl member add` and started with
    /// `--initial-cluster-state existing`.
    pub(crate) fn form(version: &str, root: &Path, base: u16, tls: Option<Tls>) -> Cluster {
        let s = scheme(&tls);
        let members = (0..3u16)
            .map(|i| Member {
                name: format!("m{}", i + 1),
                data: root.join(format!("m{}", i + 1)),
                client: format!("{s}://127.0.0.1:{}", base + 2 * i),
                peer: format!("{s}://127.0.0.1:{}", base + 2 * i + 1),
                child: None,
            })
            .collect();
        let mut c = Cluster {
            version: version.into(),
            root: root.into(),
            members,
            tls,
            acked: BTreeMap::new(),
        };
        let first = c.initial(1);
        c.start(0, &first, "new");
        c.write("before", 30);
        for i in 1..3 {
            let eps = c.running_endpoints();
            let (name, peer) = (c.members[i].name.clone(), c.members[i].peer.clone());
            // etcd refuses a reconfiguration ("unhealthy cluster") until every member has
            // been connected for a few seconds (strict reconfig check): retry for a while.
            let end = Instant::now() + Duration::from_secs(30);
            loop {
                let (ok, out) = c.ctl(
                    &eps,
                    &["member", "add", &name, &format!("--peer-urls={peer}")],
                );
                if ok {
                    break;
                }
                assert!(
                    Instant::now() < end && out.contains("unhealthy cluster"),
                    "member add {name}: {out}"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            let initial = c.initial(i + 1);
            c.start(i, &initial, "existing");
            c.write(&format!("after-{name}"), 20);
        }
        c
    }

    /// Every member started, with a name, and m`n` among them by name.
    fn assert_three_started_with(&self, endpoints: &str, name: &str) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let (ok, out) = self.ctl(endpoints, &["member", "list", "-w", "json"]);
            let list: Option<Value> = ok.then(|| serde_json::from_str(&out).ok()).flatten();
            let started: Vec<String> = list
                .as_ref()
                .and_then(|l| l["members"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter(|m| m["clientURLs"].as_array().is_some_and(|c| !c.is_empty()))
                .filter_map(|m| m["name"].as_str().map(str::to_owned))
                .filter(|n| !n.is_empty())
                .collect();
            if started.len() == 3 && started.iter().any(|n| n == name) {
                return;
            }
            assert!(
                Instant::now() < end,
                "not 3 started members with {name}: {out}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Equal KV hashes at one revision on every endpoint, and every acknowledged write
    /// served by `endpoint` (serializable reads: its own copy).
    pub(crate) fn assert_converged(&self, endpoints: &[String], endpoint: &str) {
        let all = endpoints.join(",");
        let end = Instant::now() + Duration::from_secs(40);
        loop {
            let (ok, out) = self.ctl(&all, &["endpoint", "status", "-w", "json"]);
            let revs: Vec<i64> = serde_json::from_str::<Value>(&out)
                .ok()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s["Status"]["header"]["revision"].as_i64())
                .collect();
            if ok && revs.len() == endpoints.len() && revs.iter().all(|r| *r == revs[0]) {
                let rev = revs[0].to_string();
                let (ok, out) =
                    self.ctl(&all, &["endpoint", "hashkv", "--rev", &rev, "-w", "json"]);
                assert!(ok, "hashkv: {out}");
                let hashes: Vec<i64> = serde_json::from_str::<Value>(&out)
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["HashKV"]["hash"].as_i64().unwrap())
                    .collect();
                assert_eq!(hashes.len(), endpoints.len(), "{out}");
                assert!(
                    hashes.iter().all(|h| *h == hashes[0]),
                    "KV hashes differ: {out}"
                );
                break;
            }
            assert!(Instant::now() < end, "revisions do not converge: {out}");
            std::thread::sleep(Duration::from_millis(300));
        }
        let (ok, out) = self.ctl(
            endpoint,
            &["get", "", "--prefix", "--consistency=s", "-w", "json"],
        );
        assert!(ok, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let served: BTreeMap<String, String> = v["kvs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                let s =
                    |f: &str| String::from_utf8(util::b64(kv[f].as_str().unwrap_or(""))).unwrap();
                (s("key"), s("value"))
            })
            .collect();
        for (k, want) in &self.acked {
            assert_eq!(
                served.get(k),
                Some(want),
                "acknowledged write {k} missing on {endpoint}"
            );
        }
    }
}

/// Flip one byte of the data of the entry record in the middle of `wal`'s first segment.
pub(crate) fn flip_mid_entry(wal: &Path) {
    let mut entries = Vec::new();
    etcd_wal::scan::scan_dir_with(wal, &mut |e| {
        if let etcd_wal::scan::Event::Record(r) = e {
            if r.entry.is_some_and(|e| !e.data.is_empty()) && r.record.data.len() > 16 {
                entries.push((r.at, r.frame_len));
            }
        }
    })
    .unwrap();
    let (at, frame_len) = entries[entries.len() / 2];
    let path = wal.join(at.file_name());
    let mut bytes = std::fs::read(&path).unwrap();
    // A frame is the 8-byte length word, the record, then at most 7 bytes of padding; the
    // record's data (over 16 bytes) is its last field, so 11 bytes before the frame's end
    // always lie inside the data.
    let frame_end = (at.offset + frame_len) as usize;
    bytes[frame_end - 11] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
}

/// Zero 1 KiB (two sectors) in the middle of the first segment's records (not one byte:
/// no fix, a rebuild); never the segment's head records (member and cluster ID).
pub(crate) fn zero_mid(wal: &Path) {
    let seg = std::fs::read_dir(wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .min()
        .unwrap();
    let scan = etcd_wal::scan::scan_dir(wal).unwrap();
    let end = scan.segments[0].data_end;
    let at = (end / 2) / 512 * 512;
    assert!(at >= 2048 && at + 1024 < end, "records end at {end}");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[at as usize..at as usize + 1024].fill(0);
    std::fs::write(&seg, bytes).unwrap();
}

/// What the test takes from the plan: the rejoin (`runbook` of a rejoin plan, else the
/// alternative), or after `--apply` the start runbook.
#[derive(Clone, Copy, Debug)]
enum Way {
    Rejoin,
    LocalFix,
    Rebuild,
}

fn walk(version: &str, base: u16, way: Way, tls: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let tls = tls.then(|| make_tls(root));
    let _lock = EtcdLock::take();
    let mut c = Cluster::form(version, root, base, tls.clone());
    // m3 dies (power loss) and its WAL is damaged mid-log; writes go on without it.
    c.members[2].kill();
    let wal = c.members[2].data.join("member/wal");
    match way {
        Way::Rebuild => zero_mid(&wal),
        _ => flip_mid_entry(&wal),
    }
    c.write("while-m3-down", 30);

    let m3 = c.members[2].data.clone();
    let mut args: Vec<String> = vec!["repair".into(), m3.display().to_string(), "--json".into()];
    let config = tls.as_ref().map(|_| write_env_file(&c, 2, root));
    if let Some(cfg) = &config {
        args.push(format!("--config={}", cfg.display()));
    }
    let out = util::run(&args);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let lines = util::json_lines(&out, Some("repair"));
    let plan = &lines[0];
    let want_kind = match way {
        Way::Rejoin => None,
        Way::LocalFix => Some("fix"),
        Way::Rebuild => Some("rebuild"),
    };
    if let Some(k) = want_kind {
        assert_eq!(plan["kind"], k, "{plan}");
    }
    let steps = match way {
        Way::Rejoin => {
            let rb = if plan["kind"] == "rejoin" {
                &plan["runbook"]
            } else {
                &plan["alternative"]["runbook"]
            };
            assert_eq!(rb["kind"], "rejoin", "{plan}");
            assert_eq!(rb["needs"].as_array().map(Vec::len), Some(0), "{rb}");
            rb["steps"].clone()
        }
        Way::LocalFix | Way::Rebuild => {
            let mut a = args.clone();
            a.push("--apply".into());
            let out = util::run(&a);
            assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
            let lines = util::json_lines(&out, Some("repair"));
            let applied = lines
                .iter()
                .find(|l| l["type"] == "applied")
                .expect("applied");
            assert_eq!(applied["runbook"]["kind"], "start", "{applied}");
            applied["runbook"]["steps"].clone()
        }
    };
    if tls.is_some() {
        let text = steps.to_string();
        for flag in [
            "--cacert=",
            "--cert=",
            "--key=",
            "--peer-cert-file=",
            "--trusted-ca-file=",
        ] {
            assert!(
                text.contains(flag) || !matches!(way, Way::Rejoin) && flag.starts_with("--ca"),
                "{flag} missing: {text}"
            );
        }
    }
    let mut daemons: Vec<Daemon> = runbook::execute(&steps, version, root, &root.join("logs"));
    let m3_daemon = daemons.pop().expect("the runbook starts m3");
    let eps: Vec<String> = c.members.iter().map(|m| m.client.clone()).collect();
    c.wait_healthy(&eps[2], &m3_daemon.log);
    c.write("after-rejoin", 10);
    c.assert_three_started_with(&c.running_endpoints(), "m3");
    c.assert_converged(&eps, &eps[2]);
    eprintln!(
        "{version} {way:?}{}: m3 back by the runbook, {} acknowledged writes served, KV hashes equal",
        if tls.is_some() { " (TLS)" } else { "" },
        c.acked.len()
    );
    drop(m3_daemon);
    drop(c);
}

#[test]
fn rejoin_v35() {
    walk("3.5.1", 25100, Way::Rejoin, false);
}

#[test]
fn rejoin_v34() {
    walk("3.4.23", 25110, Way::Rejoin, false);
}

#[test]
fn local_fix_then_start_v35() {
    walk("3.5.1", 25120, Way::LocalFix, false);
}

#[test]
fn local_fix_then_start_v34() {
    walk("3.4.23", 25130, Way::LocalFix, false);
}

#[test]
fn rebuild_then_start_v35() {
    walk("3.5.1", 25140, Way::Rebuild, false);
}

#[test]
fn rebuild_then_start_v34() {
    walk("3.4.23", 25150, Way::Rebuild, false);
}

#[test]
fn rejoin_with_tls_from_an_env_file_v35() {
    walk("3.5.1", 25160, Way::Rejoin, true);
}

/// A CA and one certificate for 127.0.0.1 (server and client use), by openssl.
fn make_tls(root: &Path) -> Tls {
    let d = root.join("pki");
    std::fs::create_dir_all(&d).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=wal-inspect test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    )
    .unwrap();
    run(&[
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=etcd", "-keyout", "etcd.key", "-out",
        "etcd.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "etcd.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "etcd.crt",
    ]);
    Tls {
        ca: d.join("ca.crt"),
        cert: d.join("etcd.crt"),
        key: d.join("etcd.key"),
    }
}

/// Member `i`'s configuration as /etc/etcd/etcd.conf would hold it.
fn write_env_file(c: &Cluster, i: usize, root: &Path) -> PathBuf {
    let m = &c.members[i];
    let t = c.tls.as_ref().unwrap();
    let text = format!(
        "# etcd.conf of {name}\nETCD_NAME=\"{name}\"\nETCD_DATA_DIR=\"{data}\"\n\
         ETCD_LISTEN_PEER_URLS=\"{peer}\"\nETCD_LISTEN_CLIENT_URLS=\"{client}\"\n\
         ETCD_ADVERTISE_CLIENT_URLS=\"{client}\"\nETCD_INITIAL_ADVERTISE_PEER_URLS=\"{peer}\"\n\
         ETCD_INITIAL_CLUSTER=\"{initial}\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n\
         ETCD_CERT_FILE=\"{cert}\"\nETCD_KEY_FILE=\"{key}\"\nETCD_TRUSTED_CA_FILE=\"{ca}\"\n\
         ETCD_CLIENT_CERT_AUTH=\"true\"\nETCD_PEER_CERT_FILE=\"{cert}\"\nETCD_PEER_KEY_FILE=\"{key}\"\n\
         ETCD_PEER_TRUSTED_CA_FILE=\"{ca}\"\nETCD_PEER_CLIENT_CERT_AUTH=\"true\"\n",
        name = m.name,
        data = m.data.display(),
        peer = m.peer,
        client = m.client,
        initial = c.initial(3),
        cert = t.cert.display(),
        key = t.key.display(),
        ca = t.ca.display(),
    );
    let p = root.join(format!("{}.conf", m.name));
    std::fs::write(&p, text).unwrap();
    p
}

/// `ETCD_*` variables of an env file, as systemd's `EnvironmentFile=` loads them.
fn env_of(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("ETCD_"))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// Start etcd on an empty data dir with nothing but the env file's variables (its data dir
/// replaced by `empty`) and return what it logged within `wait`, stopping it then.
fn start_from_env_file(version: &str, file: &Path, empty: &Path, wait: Duration) -> String {
    let log = empty.with_extension("log");
    let mut child = Command::new(testdata::etcd_bin(version, "etcd"))
        .env_clear()
        .envs(env_of(file))
        .env("ETCD_DATA_DIR", empty)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let end = Instant::now() + wait;
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    // 3.5 logs JSON: its quotes come escaped.
    std::fs::read_to_string(&log).unwrap().replace("\\\"", "\"")
}

/// `verify --config` on m3's data dir predicts what each configuration does when m3 starts
/// on an empty data dir, with etcd's own error text; real etcd, started with exactly the
/// env file's variables on an empty dir next to the running m1 and m2, says it.
fn config_predictions(version: &str, base: u16) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let _lock = EtcdLock::take();
    let mut c = Cluster::form(version, root, base, None);
    c.members[2].stop();
    let m3 = c.members[2].data.clone();
    let all = c.initial(3);
    let two: String = all.split(',').skip(1).collect::<Vec<_>>().join(",");
    let variants: [(&str, String, &str, &str); 3] = [
        ("count", two, "existing", "member count is unequal"),
        ("state-new", all.clone(), "new", "cluster ID mismatch"),
        (
            "name",
            all.clone(),
            "existing",
            "couldn't find local name \"etcd-3\"",
        ),
    ];
    for (label, initial, state, etcd_says) in variants {
        let m = &c.members[2];
        let name = if label == "name" {
            "etcd-3"
        } else {
            m.name.as_str()
        };
        let file = root.join(format!("{label}.conf"));
        std::fs::write(
            &file,
            format!(
                "ETCD_NAME=\"{name}\"\nETCD_DATA_DIR=\"{data}\"\nETCD_LISTEN_PEER_URLS=\"{peer}\"\n\
                 ETCD_LISTEN_CLIENT_URLS=\"{client}\"\nETCD_ADVERTISE_CLIENT_URLS=\"{client}\"\n\
                 ETCD_INITIAL_ADVERTISE_PEER_URLS=\"{peer}\"\nETCD_INITIAL_CLUSTER=\"{initial}\"\n\
                 ETCD_INITIAL_CLUSTER_STATE=\"{state}\"\nETCD_INITIAL_CLUSTER_TOKEN=\"wal-inspect-rejoin\"\n",
                data = m3.display(),
                peer = m.peer,
                client = m.client,
            ),
        )
        .unwrap();
        let out = util::run(&[
            "verify".to_owned(),
            m3.display().to_string(),
            "--json".to_owned(),
            format!("--config={}", file.display()),
        ]);
        assert_eq!(out.code, 1, "{label}: {}{}", out.stdout, out.stderr);
        let lines = util::json_lines(&out, Some("verify"));
        let predicted: Vec<&Value> = lines
            .iter()
            .filter(|l| l["kind"] == "config_mismatch" && l["when"] == "empty_data_dir")
            .collect();
        assert_eq!(predicted.len(), 1, "{label}: {lines:?}");
        let want = predicted[0]["etcd_error"].as_str().unwrap();
        assert!(want.contains(etcd_says), "{label}: predicted {want:?}");
        // The cluster-ID mismatch is logged by both sides while the new member keeps
        // trying; the others exit at once.
        let wait = Duration::from_secs(if state == "new" { 8 } else { 20 });
        let empty = root.join(format!("{label}-empty"));
        let logged = start_from_env_file(version, &file, &empty, wait);
        let peers_logged: String = (0..2)
            .map(|i| std::fs::read_to_string(root.join(format!("m{}.log", i + 1))).unwrap())
            .collect();
        // etcd logs the "request cluster ID mismatch" of rafthttp on the receiving side.
        let want_text = if state == "new" {
            "cluster ID mismatch"
        } else {
            want
        };
        assert!(
            logged.contains(want_text) || (state == "new" && peers_logged.contains(want_text)),
            "{label}: etcd did not say {want_text:?}:\n{logged}"
        );
        eprintln!("{version} {label}: predicted and etcd said {want:?}");
    }
    // The running members are untouched: still serving.
    c.write("after-config-tries", 3);

    // On m3's own data dir: another name is published (the cluster lists m3 under it);
    // --force-new-cluster makes m3 a one-member cluster of its own.
    let m = &c.members[2];
    for (label, extra, check) in [
        ("rename", "ETCD_NAME=\"etcd-3\"\n", "name"),
        (
            "force",
            "ETCD_FORCE_NEW_CLUSTER=\"true\"\n",
            "force-new-cluster",
        ),
    ] {
        let file = root.join(format!("{label}.conf"));
        let mut text = format!(
            "ETCD_DATA_DIR=\"{data}\"\nETCD_LISTEN_PEER_URLS=\"{peer}\"\n\
             ETCD_LISTEN_CLIENT_URLS=\"{client}\"\nETCD_ADVERTISE_CLIENT_URLS=\"{client}\"\n\
             ETCD_INITIAL_CLUSTER=\"{all}\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n{extra}",
            data = m3.display(),
            peer = m.peer,
            client = m.client,
        );
        if label != "rename" {
            // The name the rename published, now the recorded one.
            text.push_str("ETCD_NAME=\"etcd-3\"\n");
        }
        std::fs::write(&file, text).unwrap();
        let out = util::run(&[
            "verify".to_owned(),
            m3.display().to_string(),
            "--json".to_owned(),
            format!("--config={}", file.display()),
        ]);
        let lines = util::json_lines(&out, Some("verify"));
        let flags: Vec<&str> = lines
            .iter()
            .filter(|l| l["kind"] == "config_mismatch" && l["when"] == "this_data_dir")
            .filter_map(|l| l["flag"].as_str())
            .collect();
        assert_eq!(flags, [check], "{label}: {lines:?}");
        // Start m3 on its own data dir, exactly with the file's variables.
        let log = root.join(format!("{label}.log"));
        let child = Command::new(testdata::etcd_bin(version, "etcd"))
            .env_clear()
            .envs(env_of(&file))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut started = Member {
            name: "m3".into(),
            data: m3.clone(),
            client: m.client.clone(),
            peer: m.peer.clone(),
            child: Some(child),
        };
        c.wait_healthy(&started.client, &log);
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let (ok, list) = c.ctl(&started.client, &["member", "list", "-w", "json"]);
            let v: Value = serde_json::from_str(&list).unwrap_or(Value::Null);
            let members = v["members"].as_array().cloned().unwrap_or_default();
            let names: Vec<&str> = members.iter().filter_map(|x| x["name"].as_str()).collect();
            let done = ok
                && match label {
                    "rename" => names.contains(&"etcd-3") && members.len() == 3,
                    _ => members.len() == 1,
                };
            if done {
                eprintln!("{version} {label}: predicted, and etcd's member list is {names:?}");
                break;
            }
            assert!(Instant::now() < end, "{label}: member list {list}");
            std::thread::sleep(Duration::from_millis(300));
        }
        started.stop();
    }
}

#[test]
fn config_predictions_match_etcd_v35() {
    config_predictions("3.5.1", 25170);
}

#[test]
fn config_predictions_match_etcd_v34() {
    config_predictions("3.4.23", 25180);
}

/// A member removed while it was down: its own WAL and db know nothing of it; `members`
/// over the three dirs flags it removed by the others' WALs; real etcd started on it is
/// told so by the cluster and stops with "the member has been permanently removed".
fn removed_while_down(version: &str, base: u16) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let _lock = EtcdLock::take();
    let mut c = Cluster::form(version, root, base, None);
    let m3_id = {
        let out = util::run(&[
            "members".to_owned(),
            c.members[2].data.display().to_string(),
            "--json".to_owned(),
        ]);
        util::json_lines(&out, Some("members"))[0]["member_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    c.members[2].stop();
    let eps = c.running_endpoints();
    let (ok, out) = c.ctl(&eps, &["member", "remove", &m3_id]);
    assert!(ok, "{out}");
    c.write("after-removal", 5);
    c.members[0].stop();
    c.members[1].stop();
    let dirs: Vec<String> = c
        .members
        .iter()
        .map(|m| m.data.display().to_string())
        .collect();
    let mut args = vec!["members".to_owned(), "--json".to_owned()];
    args.extend(dirs.iter().cloned());
    let out = util::run(&args);
    let lines = util::json_lines(&out, Some("members"));
    let m3 = lines
        .iter()
        .find(|l| l["member_id"] == m3_id.as_str())
        .unwrap();
    assert_eq!(m3["removed"], true, "{m3}");
    assert_eq!(
        m3["removal"],
        Value::Null,
        "its own WAL does not record it: {m3}"
    );
    let by: Vec<&str> = m3["removed_by"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(by, [dirs[0].as_str(), dirs[1].as_str()], "{m3}");
    let cluster = lines.iter().find(|l| l["type"] == "cluster").unwrap();
    assert_eq!(cluster["removed"], serde_json::json!([m3_id]), "{cluster}");
    // Real etcd on m3's dir, with m1 and m2 back: the cluster tells it.
    let initial = c.initial(3);
    let logs = [
        c.spawn(0, &initial, "existing"),
        c.spawn(1, &initial, "existing"),
    ];
    for (i, log) in logs.iter().enumerate() {
        let ep = c.members[i].client.clone();
        c.wait_healthy(&ep, log);
    }
    let flags = c.flags(2, &initial, "existing");
    let log = root.join("m3-removed.log");
    let mut child = Command::new(testdata::etcd_bin(version, "etcd"))
        .args(&flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    let exited = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        exited.is_some(),
        "etcd kept running on a removed member's dir:\n{text}"
    );
    assert!(text.contains("permanently removed"), "{text}");
    c.members[2].child = None;

    // verify with the others' dirs says so; repair with them plans the rejoin of a removed
    // member, whose runbook (no `member remove`) brings m3 back.
    let peer_args = [
        format!("--peer-dir={}", dirs[0]),
        format!("--peer-dir={}", dirs[1]),
    ];
    let mut v = vec!["verify".to_owned(), dirs[2].clone(), "--json".to_owned()];
    v.extend(peer_args.iter().cloned());
    let out = util::run(&v);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let found = util::json_lines(&out, Some("verify"));
    assert!(
        found.iter().any(|l| l["kind"] == "member_removed"
            && l["etcd_error"] == "the member has been permanently removed from the cluster"),
        "{found:?}"
    );
    let mut r = vec!["repair".to_owned(), dirs[2].clone(), "--json".to_owned()];
    r.extend(peer_args.iter().cloned());
    let out = util::run(&r);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let plan = &util::json_lines(&out, Some("repair"))[0];
    assert_eq!(plan["kind"], "rejoin", "{plan}");
    assert_eq!(plan["runbook"]["kind"], "rejoin_removed", "{plan}");
    let mut daemons =
        runbook::execute(&plan["runbook"]["steps"], version, root, &root.join("logs"));
    let m3 = daemons.pop().expect("the runbook starts m3");
    let eps: Vec<String> = c.members.iter().map(|m| m.client.clone()).collect();
    c.wait_healthy(&eps[2], &m3.log);
    c.write("after-rejoin", 5);
    c.assert_three_started_with(&c.running_endpoints(), "m3");
    c.assert_converged(&eps, &eps[2]);
    eprintln!(
        "{version}: m3 removed while down: members flags it, etcd stops on it; verify and repair with --peer-dir bring it back"
    );
}

#[test]
fn removed_while_down_v35() {
    removed_while_down("3.5.1", 25190);
}

#[test]
fn removed_while_down_v34() {
    removed_while_down("3.4.23", 25200);
}

//! The built etcd releases (3.5.35, 3.6.16, 3.7.3) start on their own clean fixtures and serve;
//! the older opt-in builds 3.5.6 and 3.4.9 on the clean fixtures of their release line (3.5.1's
//! and 3.4.23's data: they have none of their own).
//!
//! `#[ignore]`: they are not in the default suite (`scripts/install-etcd.sh latest` / `older`
//! builds them, a few minutes). Run with `cargo test -p testdata --test releases -- --ignored`; a
//! release that is not installed panics with the install command, or is skipped with
//! `WAL_INSPECT_SKIP_MISSING_ETCD=1`.

use testdata::etcd::{Etcd, EtcdLock};

fn starts_on_its_own_fixture(version: &str, config: &str, port: u16) {
    let meta = testdata::config_meta(config).unwrap();
    let release = testdata::release(version).unwrap();
    assert_eq!(meta["etcd_version"], release.version, "{config}");
    starts_on_fixture(version, config, port);
}

/// Release `version` on a clean copy of `config` (written by a release of the same line):
/// serves the keyspace, takes a write and reads it back, and `etcdctl version` is its own.
fn starts_on_fixture(version: &str, config: &str, port: u16) {
    if !testdata::require_release(version) {
        return;
    }
    let meta = testdata::config_meta(config).unwrap();
    let release = testdata::release(version).unwrap();
    let line = |v: &str| v.rsplit_once('.').map(|(l, _)| l.to_owned());
    assert_eq!(
        line(meta["etcd_version"].as_str().unwrap()),
        line(release.version),
        "{config}: data of another release line"
    );
    let dir = testdata::clean(config).unwrap();
    let data = dir.path().join("data/m1");
    let _lock = EtcdLock::take();
    let mut etcd = Etcd::start(version, "m1", &data, port, &[]);
    etcd.wait_healthy();
    let ks = etcd.keyspace();
    assert_eq!(
        ks["count"], meta["final"]["key_count"],
        "{config}: key count"
    );
    let (ok, out) = etcd.ctl(&["put", "releases/probe", release.version]);
    assert!(ok, "{config}: {out}");
    let (ok, out) = etcd.ctl(&["get", "releases/probe", "--print-value-only"]);
    assert!(ok && out.trim() == release.version, "{config}: {out}");
    let (ok, out) = etcd.ctl(&["version"]);
    assert!(ok && out.contains(release.version), "{out}");
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.5-latest"]
fn etcd_3_5_35_starts_on_v3535_single() {
    starts_on_its_own_fixture("3.5-latest", "v3535-single", 25090);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.6"]
fn etcd_3_6_16_starts_on_v36_single() {
    starts_on_its_own_fixture("3.6", "v36-single", 25092);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.7"]
fn etcd_3_7_3_starts_on_v37_single() {
    starts_on_its_own_fixture("3.7", "v37-single", 25094);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.5.6"]
fn etcd_3_5_6_starts_on_v35_single() {
    starts_on_fixture("3.5.6", "v35-single", 25096);
}

#[test]
#[ignore = "needs scripts/install-etcd.sh 3.4.9"]
fn etcd_3_4_9_starts_on_v34_single() {
    starts_on_fixture("3.4.9", "v34-single", 25098);
}

#[test]
fn installed_releases_match_the_install_script() {
    // `scripts/install-etcd.sh --list` and testdata agree on what is installed and where.
    let out = std::process::Command::new("bash")
        .arg(testdata::root().join("../scripts/install-etcd.sh"))
        .arg("--list")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let listed: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (v, d) = l.split_once(' ').unwrap();
            (v.to_owned(), d.to_owned())
        })
        .collect();
    let ours: Vec<(String, String)> = testdata::installed_releases()
        .into_iter()
        .map(|v| (v.to_owned(), testdata::release_dir(v).display().to_string()))
        .collect();
    let norm = |v: &[(String, String)]| -> Vec<(String, std::path::PathBuf)> {
        v.iter()
            .map(|(a, b)| {
                let p = std::path::PathBuf::from(b);
                (a.clone(), p.canonicalize().unwrap_or(p))
            })
            .collect()
    };
    assert_eq!(norm(&listed), norm(&ours));
}

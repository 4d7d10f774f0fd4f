//! `db keys --k8s` on a db written by real etcd 3.5.1: Kubernetes' own storage-encoded
//! objects (`testdata/k8s`, from `k8s.io/api`'s fixtures) put under the keys the apiserver
//! uses, a JSON custom resource, a value encrypted at rest, the apiserver's special keys
//! and a key of someone else; then every object listed with its resource, namespace, name,
//! kind, uid, creation time and encoding, on the member dir and on a `snapshot save` file;
//! `--summary` adds up the bytes etcd stored; `--resource` / `--namespace` filter.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

use crate::util;

/// (fixture, etcd key) as the apiserver lays them out.
const OBJECTS: &[(&str, &str)] = &[
    (
        "apps.v1.Deployment",
        "/registry/deployments/namespaceValue/nameValue",
    ),
    (
        "apps.v1.DaemonSet",
        "/registry/daemonsets/namespaceValue/nameValue",
    ),
    (
        "apps.v1.StatefulSet",
        "/registry/statefulsets/namespaceValue/nameValue",
    ),
    ("batch.v1.Job", "/registry/jobs/namespaceValue/nameValue"),
    (
        "coordination.k8s.io.v1.Lease",
        "/registry/leases/namespaceValue/nameValue",
    ),
    (
        "core.v1.ConfigMap",
        "/registry/configmaps/namespaceValue/nameValue",
    ),
    ("core.v1.Event", "/registry/events/namespaceValue/nameValue"),
    ("core.v1.Namespace", "/registry/namespaces/nameValue"),
    ("core.v1.Node", "/registry/minions/nameValue"),
    ("core.v1.Pod", "/registry/pods/namespaceValue/nameValue"),
    (
        "core.v1.Secret",
        "/registry/secrets/namespaceValue/nameValue",
    ),
    (
        "core.v1.Service",
        "/registry/services/specs/namespaceValue/nameValue",
    ),
    (
        "networking.k8s.io.v1.Ingress",
        "/registry/ingress/namespaceValue/nameValue",
    ),
    (
        "rbac.authorization.k8s.io.v1.ClusterRole",
        "/registry/clusterroles/nameValue",
    ),
];

const CR: &str = r#"{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"web","namespace":"prod","uid":"3f0c","creationTimestamp":"2024-05-01T10:00:00Z"},"spec":{"secretName":"web-tls"}}"#;

fn put(etcd: &Etcd, key: &str, value: &[u8]) {
    let mut c = std::process::Command::new(testdata::etcd_bin("3.5.1", "etcdctl"))
        .env("ETCDCTL_API", "3")
        .args(["--endpoints", etcd.client(), "put", key])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), value).unwrap();
    drop(c.stdin.take());
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success(), "put {key}");
}

fn keys(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["db", "keys", "--k8s", "--json"];
    let p = path.display().to_string();
    args.extend_from_slice(extra);
    args.push(&p);
    let out = util::run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn objects_of_a_real_etcd_db() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/k8s");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("k1");
    let save = tmp.path().join("snapshot.db");
    let mut bytes: BTreeMap<String, u64> = BTreeMap::new();
    {
        let _lock = EtcdLock::take();
        let mut etcd = Etcd::start("3.5.1", "k1", &data, 24960, &[]);
        etcd.wait_healthy();
        for (f, key) in OBJECTS {
            let v = std::fs::read(fixtures.join(format!("{f}.pb"))).unwrap();
            bytes.insert((*key).to_owned(), v.len() as u64);
            put(&etcd, key, &v);
        }
        put(
            &etcd,
            "/registry/cert-manager.io/certificates/prod/web",
            CR.as_bytes(),
        );
        let enc = [
            &b"k8s:enc:aescbc:v1:key1:"[..],
            &[0x8f, 0x01, 0x3a, 0x00, 0xff],
        ]
        .concat();
        put(&etcd, "/registry/secrets/prod/enc", &enc);
        put(&etcd, "compact_rev_key", b"7");
        put(&etcd, "/registry/masterleases/127.0.0.1", b"k8s\x00");
        put(&etcd, "someone/else", b"x");
        let (ok, out) = etcd.ctl(&["snapshot", "save", &save.display().to_string()]);
        assert!(ok, "{out}");
    }
    for path in [data.clone(), save.clone()] {
        let v = keys(&path, &[]);
        let objects = v["objects"].as_array().unwrap();
        assert_eq!(objects.len(), OBJECTS.len() + 4, "{v}");
        assert_eq!(v["other_keys"], 1);
        assert_eq!(v["bad_records"], 0);
        let by_key: BTreeMap<&str, &Value> = objects
            .iter()
            .map(|o| (o["key"].as_str().unwrap(), o))
            .collect();
        for (f, key) in OBJECTS {
            let want: Value =
                serde_json::from_slice(&std::fs::read(fixtures.join(format!("{f}.json"))).unwrap())
                    .unwrap();
            let o = by_key[key];
            assert_eq!(o["kind"], want["kind"], "{key}");
            assert_eq!(o["api_version"], want["apiVersion"], "{key}");
            assert_eq!(o["name"], "nameValue", "{key}");
            assert_eq!(o["uid"], "uidValue", "{key}");
            assert_eq!(o["creation_timestamp"], "2008-01-01T01:01:01Z", "{key}");
            assert_eq!(o["encoding"], "protobuf", "{key}");
            assert_eq!(o["bytes"].as_u64(), Some(bytes[*key]), "{key}");
            let namespaced = key.matches('/').count() >= 4 && !key.starts_with("/registry/minions");
            assert_eq!(
                o["namespace"].as_str(),
                namespaced.then_some("namespaceValue"),
                "{key}"
            );
        }
        assert_eq!(
            by_key["/registry/services/specs/namespaceValue/nameValue"]["resource"],
            "services"
        );
        assert_eq!(by_key["/registry/minions/nameValue"]["resource"], "nodes");
        let cr = by_key["/registry/cert-manager.io/certificates/prod/web"];
        assert_eq!(
            (
                cr["group"].as_str(),
                cr["resource"].as_str(),
                cr["kind"].as_str(),
                cr["encoding"].as_str()
            ),
            (
                Some("cert-manager.io"),
                Some("certificates"),
                Some("Certificate"),
                Some("json")
            )
        );
        let enc = by_key["/registry/secrets/prod/enc"];
        assert_eq!(enc["encoding"], "encrypted:aescbc");
        assert!(enc["kind"].is_null() && enc["uid"].is_null(), "{enc}");
        assert_eq!(by_key["compact_rev_key"]["special"], "compact_rev_key");
        assert_eq!(
            by_key["/registry/masterleases/127.0.0.1"]["special"],
            "master_lease"
        );

        // Filters and the summary.
        let pods = keys(&path, &["--resource", "pods"]);
        assert_eq!(pods["objects"].as_array().unwrap().len(), 1);
        let prod = keys(&path, &["--namespace", "prod"]);
        assert_eq!(prod["objects"].as_array().unwrap().len(), 2);
        let s = keys(&path, &["--summary"]);
        let total: u64 = objects.iter().map(|o| o["bytes"].as_u64().unwrap()).sum();
        assert_eq!(s["bytes"].as_u64(), Some(total));
        assert_eq!(s["objects"].as_u64(), Some(objects.len() as u64));
        let rows = s["rows"].as_array().unwrap();
        assert!(
            rows.windows(2)
                .all(|w| w[0]["bytes"].as_u64() >= w[1]["bytes"].as_u64()),
            "biggest first: {s}"
        );
        // In words: one row per object, the table with its resource.
        let text = util::run(&["db", "keys", "--k8s", &path.display().to_string()]).stdout;
        assert!(
            text.contains(
                "pods\tnamespaceValue\tnameValue\tPod\tuidValue\t2008-01-01T01:01:01Z\tprotobuf"
            ),
            "{text}"
        );
        assert!(text.contains("encrypted:aescbc"), "{text}");
    }
}

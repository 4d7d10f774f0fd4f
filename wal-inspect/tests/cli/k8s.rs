//! `db keys --k8s` on the `v35-k8s` fixture: Kubernetes' own storage-encoded objects
//! (`testdata/k8s`, from `k8s.io/api`'s fixtures) that the generator put through real etcd
//! 3.5.1 under the keys the apiserver uses, a JSON custom resource, a value encrypted at
//! rest, the apiserver's special keys and a key of someone else; every object listed with
//! its resource, namespace, name, kind, uid, creation time and encoding, on the member dir,
//! the bare db and the `snapshot save` file; `--summary` adds up the bytes etcd stored;
//! `--resource` / `--namespace` filter.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use testdata::etcd::{Etcd, EtcdLock};

use crate::util;

fn keys(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["db", "keys", "--k8s", "--json"];
    let p = path.display().to_string();
    args.extend_from_slice(extra);
    args.push(&p);
    let out = util::run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// On the `v35-k8s` fixture (written by etcd 3.5.1 through the generator): the member
/// dir, its bare db and the `snapshot save` file list every object the generator wrote,
/// exactly as its ground truth (`testdata/fixtures/v35-k8s.json`) says.
#[test]
fn objects_of_the_k8s_fixture() {
    let root = testdata::pristine("v35-k8s").unwrap();
    let meta = testdata::config_meta("v35-k8s").unwrap();
    let truth = meta["workload"]["k8s_objects"].as_array().unwrap();
    assert_eq!(truth.len(), 18);
    for path in [
        root.join("data/m1"),
        root.join("data/m1/member/snap/db"),
        root.join("snapshot.db"),
    ] {
        let v = keys(&path, &[]);
        let objects = v["objects"].as_array().unwrap();
        assert_eq!(objects.len(), truth.len(), "{}: {v}", path.display());
        assert_eq!(v["other_keys"], 1);
        assert_eq!(v["bad_records"], 0);
        let by_key: BTreeMap<&str, &Value> = objects
            .iter()
            .map(|o| (o["key"].as_str().unwrap(), o))
            .collect();
        for t in truth {
            let key = t["key"].as_str().unwrap();
            let fields = [
                "kind",
                "api_version",
                "namespace",
                "name",
                "uid",
                "creation_timestamp",
                "encoding",
                "bytes",
                "special",
                "group",
                "resource",
            ];
            assert_as_truth(by_key[key], t, &fields, &path.display().to_string());
        }
        assert_eq!(
            by_key["/registry/services/specs/namespaceValue/nameValue"]["resource"],
            "services"
        );
        assert_eq!(by_key["/registry/minions/nameValue"]["resource"], "nodes");

        // Filters and the summary.
        let pods = keys(&path, &["--resource", "pods"]);
        assert_eq!(pods["objects"].as_array().unwrap().len(), 1);
        let prod = keys(&path, &["--namespace", "prod"]);
        assert_eq!(prod["objects"].as_array().unwrap().len(), 2);
        let s = keys(&path, &["--summary"]);
        let total: u64 = truth.iter().map(|t| t["bytes"].as_u64().unwrap()).sum();
        assert_eq!(s["bytes"].as_u64(), Some(total), "the keys' bytes");
        assert_eq!(s["objects"].as_u64(), Some(truth.len() as u64));
        let rows = s["rows"].as_array().unwrap();
        assert!(
            rows.windows(2)
                .all(|w| w[0]["bytes"].as_u64() >= w[1]["bytes"].as_u64()),
            "biggest first: {s}"
        );
        // In words: one row per object.
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

/// A repair plan that drops writes names the Kubernetes objects they touch: real etcd
/// 3.5.1 takes the fixture's objects (its db left uncommitted: `--backend-batch-interval`
/// of an hour, then SIGKILL, as a power cut right after the writes would), then the WAL is
/// zeroed in the middle of them; `repair` names the objects whose writes it drops, each of
/// them one the writes touched.
#[test]
fn a_repair_plan_names_the_objects_it_drops() {
    let meta = testdata::config_meta("v35-k8s").unwrap();
    let truth = meta["workload"]["k8s_objects"].as_array().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/k8s");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("k1");
    {
        let _lock = EtcdLock::take();
        let extra: Vec<String> = [
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:24971",
            "--initial-cluster",
            "k1=http://127.0.0.1:24971",
            "--backend-batch-interval=1h",
            "--backend-batch-limit=1000000",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut etcd = Etcd::start("3.5.1", "k1", &data, 24970, &extra);
        etcd.wait_healthy();
        for t in truth.iter().filter(|t| t["encoding"] == "protobuf") {
            let key = t["key"].as_str().unwrap();
            let file = OBJECT_FILES
                .iter()
                .find(|(_, k)| *k == key)
                .map(|(f, _)| fixtures.join(format!("{f}.pb")))
                .unwrap();
            put(&etcd, key, &std::fs::read(file).unwrap());
        }
        // Power cut.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &etcd.pid().to_string()])
            .status();
    }
    crate::rejoin::zero_mid(&data.join("member/wal"));
    let out = util::run(&["repair", "--json", &data.display().to_string()]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let plan = util::json_lines(&out, Some("repair"))
        .into_iter()
        .find(|l| l["type"] == "plan")
        .unwrap();
    let lost = plan["lost_objects"].as_array().unwrap();
    assert!(!lost.is_empty(), "{plan}");
    let resources: Vec<String> = truth
        .iter()
        .filter_map(|t| etcd_k8s::key::parse(t["key"].as_str()?.as_bytes()).map(|k| k.resource))
        .collect();
    let mut n = 0;
    for r in lost {
        assert!(
            resources.contains(&r["resource"].as_str().unwrap().to_owned()),
            "{r}"
        );
        n += r["objects"].as_u64().unwrap();
    }
    let dropped_keys = plan["dropped"]["keys"].as_array().unwrap();
    assert_eq!(n as usize, dropped_keys.len(), "{plan}");
    let text = util::run(&["repair", &data.display().to_string()]).stdout;
    assert!(
        text.contains("Kubernetes objects the lost writes touch: "),
        "{text}"
    );
}

/// The fixture files and the keys the generator put them under.
const OBJECT_FILES: &[(&str, &str)] = &[
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

/// `etcdctl put KEY` with the value on stdin (binary values).
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

/// `dump --k8s --json` on the fixture's WAL: one `k8s` line per object put, naming it as
/// the ground truth does.
#[test]
fn dump_names_the_object_each_put_writes() {
    let root = testdata::pristine("v35-k8s").unwrap();
    let meta = testdata::config_meta("v35-k8s").unwrap();
    let truth = meta["workload"]["k8s_objects"].as_array().unwrap();
    let out = util::run(&[
        "dump",
        "--k8s",
        "--json",
        &root.join("data/m1").display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<Value> = util::json_lines(&out, Some("dump"))
        .into_iter()
        .filter(|l| l["type"] == "k8s")
        .collect();
    assert_eq!(lines.len(), truth.len(), "{lines:?}");
    for t in truth {
        let l = lines.iter().find(|l| l["key"] == t["key"]).unwrap();
        let fields = [
            "kind",
            "api_version",
            "namespace",
            "name",
            "uid",
            "encoding",
        ];
        assert_as_truth(l, t, &fields, "dump");
        assert!(l["index"].as_u64().unwrap() > 0);
    }
    let text = util::run(&["dump", "--k8s", &root.join("data/m1").display().to_string()]).stdout;
    assert!(
        text.contains("k8s: Pod namespaceValue/nameValue uid uidValue, protobuf"),
        "{text}"
    );
}

/// `db get --k8s`: one object with its whole metadata and its fields by number; `--rev`
/// before it was written finds nothing.
#[test]
fn get_shows_one_object() {
    let root = testdata::pristine("v35-k8s").unwrap();
    let d = root.join("data/m1").display().to_string();
    let key = "/registry/configmaps/namespaceValue/nameValue";
    let out = util::run(&["db", "get", "--k8s", "--json", &d, key]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["found"], true);
    let o = &v["object"];
    assert_eq!(o["kind"], "ConfigMap");
    assert_eq!(o["encoding"]["type"], "protobuf");
    let m = &o["metadata"];
    assert_eq!(m["uid"], "uidValue");
    assert_eq!(m["labels"]["labelsKey"], "labelsValue");
    assert_eq!(m["deletion_timestamp"], "2009-01-01T01:01:01Z");
    let fields = v["fields"].as_array().unwrap();
    assert_eq!(fields[0]["number"], 1);
    assert!(fields.len() > 1, "the object's own fields too: {v}");
    let created = v["create_revision"].as_i64().unwrap();
    let before = util::run(&[
        "db",
        "get",
        "--k8s",
        "--json",
        &format!("--rev={}", created - 1),
        &d,
        key,
    ]);
    let b: Value = serde_json::from_str(&before.stdout).unwrap();
    assert_eq!(b["found"], false, "{b}");
    let text = util::run(&["db", "get", "--k8s", &d, key]).stdout;
    assert!(text.contains("kind:             v1 ConfigMap"), "{text}");
    assert!(text.contains("fields (by number"), "{text}");
}

/// `verify --check-values` names the Kubernetes object whose value one flipped byte in
/// the db changed.
#[test]
fn check_values_names_the_object() {
    use std::os::unix::fs::FileExt as _;
    let dir = testdata::clean("v35-k8s").unwrap();
    let data = dir.path().join("data/m1");
    let db_path = data.join("member/snap/db");
    let key = b"/registry/pods/namespaceValue/nameValue";
    let db = etcd_snap::bolt::Db::open(&db_path).unwrap();
    let rec = etcd_snap::hashkv::hashed_records(&db, 0, etcd_snap::hashkv::Rules::ETCD_3_5_1)
        .unwrap()
        .map(Result::unwrap)
        .find(|r| r.key == key)
        .unwrap();
    drop(db);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&db_path)
        .unwrap();
    let mut bytes = vec![0u8; rec.len as usize - 17];
    file.read_exact_at(&mut bytes, rec.value_offset).unwrap();
    // A byte of the object's label value, inside the pod's value.
    let at = bytes.windows(11).position(|w| w == b"labelsValue").unwrap();
    file.write_all_at(b"L", rec.value_offset + at as u64)
        .unwrap();
    let out = util::run(&["verify", "--check-values", &data.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Kubernetes objects whose value differs: 1 pods in namespace namespaceValue"),
        "{}",
        out.stdout
    );
}

/// `got` has each of `fields` that the ground truth `truth` records, with its value.
fn assert_as_truth(got: &Value, truth: &Value, fields: &[&str], ctx: &str) {
    for field in fields {
        if let Some(want) = truth.get(*field) {
            assert_eq!(&got[*field], want, "{ctx}: {}: {field}", truth["key"]);
        }
    }
}

//! Every `metadata` field decoded from Kubernetes' own storage-encoded fixtures
//! (`testdata/k8s/*.pb`, from `k8s.io/api`'s `testdata/HEAD`) equals the same object's
//! JSON (`*.json` beside it). Opt-in: the same on every kind of `k8s.io/api@v0.37.2`
//! (`go mod download` fetches it).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn check(pb: &Path) -> bool {
    let json_path = pb.with_extension("json");
    let want: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let d = etcd_k8s::decode(&std::fs::read(pb).unwrap());
    let name = pb.display();
    assert_eq!(d.encoding, etcd_k8s::Encoding::Protobuf, "{name}");
    let some = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    assert_eq!(
        some(d.kind.as_deref()),
        some(want["kind"].as_str()),
        "{name}"
    );
    assert_eq!(
        some(d.api_version.as_deref()),
        some(want["apiVersion"].as_str()),
        "{name}"
    );
    let Some(md) = want.get("metadata").filter(|m| m.get("name").is_some()) else {
        // Lists, options and reviews have no ObjectMeta at field 1.
        return false;
    };
    assert!(d.problem.is_none(), "{name}: {:?}", d.problem);
    let m = d.metadata.unwrap_or_else(|| panic!("{name}: no metadata"));
    let s = |k: &str| md[k].as_str().unwrap_or_default().to_owned();
    assert_eq!(m.name, s("name"), "{name}");
    assert_eq!(m.generate_name, s("generateName"), "{name}");
    assert_eq!(m.namespace, s("namespace"), "{name}");
    assert_eq!(m.uid, s("uid"), "{name}");
    assert_eq!(m.resource_version, s("resourceVersion"), "{name}");
    assert_eq!(
        m.generation,
        md["generation"].as_i64().unwrap_or(0),
        "{name}"
    );
    assert_eq!(
        m.creation_timestamp.as_deref(),
        md["creationTimestamp"].as_str(),
        "{name}"
    );
    assert_eq!(
        m.deletion_timestamp.as_deref(),
        md["deletionTimestamp"].as_str(),
        "{name}"
    );
    let map = |k: &str| -> Vec<(String, String)> {
        md[k]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        m.labels.clone().into_iter().collect::<Vec<_>>(),
        map("labels"),
        "{name}"
    );
    assert_eq!(
        m.annotations.clone().into_iter().collect::<Vec<_>>(),
        map("annotations"),
        "{name}"
    );
    let owners = md["ownerReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(m.owner_references.len(), owners.len(), "{name}");
    for (o, w) in m.owner_references.iter().zip(&owners) {
        assert_eq!(o.api_version, w["apiVersion"].as_str().unwrap(), "{name}");
        assert_eq!(o.kind, w["kind"].as_str().unwrap(), "{name}");
        assert_eq!(o.name, w["name"].as_str().unwrap(), "{name}");
        assert_eq!(o.uid, w["uid"].as_str().unwrap(), "{name}");
        assert_eq!(
            o.controller,
            w["controller"].as_bool().unwrap_or(false),
            "{name}"
        );
    }
    let fin: Vec<String> = md["finalizers"]
        .as_array()
        .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(m.finalizers, fin, "{name}");
    assert_eq!(
        m.managed_fields,
        md["managedFields"].as_array().map_or(0, |a| a.len() as u64),
        "{name}"
    );
    true
}

fn pbs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pb"))
        .collect();
    out.sort();
    out
}

#[test]
fn metadata_equals_kubernetes_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/k8s");
    let files = pbs(&dir);
    assert_eq!(files.len(), 14);
    for pb in files {
        assert!(check(&pb), "{}: has metadata", pb.display());
    }
}

#[test]
#[ignore = "downloads k8s.io/api@v0.37.2 with go mod download"]
fn every_kind_of_k8s_api() {
    let tmp = std::env::temp_dir().join("etcd-k8s-api-download");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = std::process::Command::new("go")
        .args(["mod", "download", "-json", "k8s.io/api@v0.37.2"])
        .current_dir(&tmp)
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("go");
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = PathBuf::from(info["Dir"].as_str().unwrap()).join("testdata/HEAD");
    let (mut objects, mut all) = (0, 0);
    for pb in pbs(&dir) {
        all += 1;
        if check(&pb) {
            objects += 1;
        }
    }
    eprintln!("{all} kinds decoded, {objects} with ObjectMeta equal to Kubernetes' JSON");
    assert!(objects > 150, "{objects} of {all}");
}

//! Shared helpers for tests on the real etcd samples in `/work/shared/etcd-samples`
//! (until the `testdata` crate offers `testdata::clean(config)`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The shared samples directory, computed from this crate's manifest dir.
pub fn samples_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/etcd-samples");
    assert!(
        dir.is_dir(),
        "etcd samples not found at {} — these tests need /work/shared/etcd-samples",
        dir.display()
    );
    dir
}

/// Extract a `.tar.zst` (without the 64 MB WAL segments) into a temp dir kept for the
/// whole test process; returns the directory.
fn extract(archive: &Path) -> PathBuf {
    static DIRS: OnceLock<Mutex<HashMap<PathBuf, tempfile::TempDir>>> = OnceLock::new();
    let mut dirs = DIRS.get_or_init(Default::default).lock().unwrap();
    if let Some(d) = dirs.get(archive) {
        return d.path().to_path_buf();
    }
    assert!(
        archive.is_file(),
        "sample archive missing: {}",
        archive.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("tar")
        .args(["-I", "zstd", "--exclude=*.wal", "-xf"])
        .arg(archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("running tar -I zstd");
    assert!(st.success(), "extracting {} failed", archive.display());
    let path = dir.path().to_path_buf();
    dirs.insert(archive.to_path_buf(), dir);
    path
}

/// A clean sample (`sample-v35-single`, …) extracted; contains `data/<member>/member/…`.
pub fn clean(config: &str) -> PathBuf {
    extract(
        &samples_dir()
            .join("_clean")
            .join(format!("{config}.tar.zst")),
    )
}

/// A damaged sample case extracted; contains `<member>/member/…`.
pub fn case(name: &str) -> PathBuf {
    extract(&samples_dir().join(name).join("member-data.tar.zst"))
}

/// The sample's `meta.json`.
pub fn clean_meta(config: &str) -> serde_json::Value {
    let p = samples_dir()
        .join("_clean")
        .join(format!("{config}.meta.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// `tests/data/etcdutl-3.5.1-status.json`.
pub fn etcdutl_expected() -> serde_json::Map<String, serde_json::Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/etcdutl-3.5.1-status.json");
    match serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() {
        serde_json::Value::Object(m) => m,
        _ => panic!("expected an object"),
    }
}

//! Payload decoding on real etcd 3.5.1 / 3.4.23 WALs from `shared/etcd-samples/_clean`.
//!
//! Each sample's `<config>.meta.json` records the client workload that produced it. How the
//! workload counts map to raft entries (observed on these samples, see `check_counts`):
//!
//! - `put` counts every put, including the `put_with_lease` ones (a subset) → entries of
//!   kind `put`; `put_with_lease` = puts with a non-zero lease.
//! - `delete` (single-key deletes) + `delete_range` (prefix/range deletes) → `delete_range`
//!   entries; `delete_range` = the ones with a non-empty `range_end`.
//! - `txn` → `txn`; `lease_grant` → `lease_grant`; `compact` → `compaction`.
//! - `lease_revoke` counts client revokes; the leader also writes a revoke for every lease
//!   that expires, so `lease_revoke` entries ≥ the workload count.
//! - Besides the workload, etcd writes: one `noop` per leader election, one `conf_change`
//!   (AddNode) per initial member, v2 PUTs of `/0/members/<id>/attributes` and `/0/version`
//!   (`v2_request`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use etcd_wal::payload::{Payload, decode_entry};
use etcd_wal::pb::{raftpb, walpb};
use prost::Message as _;

fn samples_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/etcd-samples/_clean");
    assert!(
        dir.is_dir(),
        "sample data missing: {} must hold the shared etcd samples (sample-*.tar.zst + \
         *.meta.json); these tests decode real etcd WALs and cannot run without them",
        dir.display()
    );
    dir
}

/// Extracts the WAL segments of `<config>.tar.zst` and returns (tempdir, sorted segment paths).
fn extract_wal(config: &str) -> (tempfile::TempDir, Vec<PathBuf>) {
    let archive = samples_dir().join(format!("{config}.tar.zst"));
    assert!(
        archive.is_file(),
        "missing sample archive {}",
        archive.display()
    );
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let status = Command::new("tar")
        .arg("-I")
        .arg("zstd")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(tmp.path())
        .arg("--wildcards")
        .arg("data/*/member/wal/*.wal")
        .status()
        .expect("running tar (needs tar and zstd on PATH)");
    assert!(
        status.success(),
        "tar -I zstd -xf {} failed",
        archive.display()
    );
    let mut segs = Vec::new();
    for member in std::fs::read_dir(tmp.path().join("data")).expect("data dir") {
        let wal = member.expect("entry").path().join("member/wal");
        for f in std::fs::read_dir(&wal).expect("wal dir") {
            let p = f.expect("entry").path();
            if p.extension().is_some_and(|e| e == "wal") {
                segs.push(p);
            }
        }
    }
    segs.sort();
    assert!(!segs.is_empty(), "no .wal files in {}", archive.display());
    (tmp, segs)
}

/// Test-only frame walk: 8-byte LE length word, low 56 bits = record length, bit 63 set →
/// pad = (word >> 56) & 7; a zero word or EOF ends the segment. Returns every entry.
fn entries(segs: &[PathBuf]) -> Vec<raftpb::Entry> {
    let mut out = Vec::new();
    for seg in segs {
        let buf = std::fs::read(seg).expect("read segment");
        let mut off = 0usize;
        while off + 8 <= buf.len() {
            let word = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap());
            if word == 0 {
                break;
            }
            let len = (word & 0x00ff_ffff_ffff_ffff) as usize;
            let pad = if word >> 63 == 1 {
                ((word >> 56) & 7) as usize
            } else {
                0
            };
            let rec = walpb::Record::decode(&buf[off + 8..off + 8 + len]).expect("record");
            if rec.r#type == 2 {
                let data = rec.data.unwrap_or_default();
                out.push(raftpb::Entry::decode(data.as_slice()).expect("entry"));
            }
            off += 8 + len + pad;
        }
    }
    out
}

fn workload(config: &str) -> BTreeMap<String, u64> {
    let meta = samples_dir().join(format!("{config}.meta.json"));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta).expect("read meta.json")).expect("json");
    v["workload"]["counts"]
        .as_object()
        .expect("workload.counts")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect()
}

struct Decoded {
    payloads: Vec<Payload>,
    kinds: BTreeMap<&'static str, u64>,
}

fn decode_sample(config: &str) -> Decoded {
    let (_tmp, segs) = extract_wal(config);
    let mut payloads = Vec::new();
    let mut kinds = BTreeMap::new();
    for e in entries(&segs) {
        let p = decode_entry(e.r#type, &e.data);
        assert!(
            !matches!(p, Payload::Undecodable { .. }),
            "{config}: entry {} undecodable: {p:?}",
            e.index
        );
        *kinds.entry(p.kind().as_str()).or_insert(0) += 1;
        payloads.push(p);
    }
    eprintln!("{config}: {kinds:?}");
    Decoded { payloads, kinds }
}

fn meta(config: &str) -> serde_json::Value {
    let meta = samples_dir().join(format!("{config}.meta.json"));
    serde_json::from_slice(&std::fs::read(&meta).expect("read meta.json")).expect("json")
}

/// Total entries the sample's own WAL summary reports (all segments of the one member).
fn meta_entry_count(config: &str) -> u64 {
    let m = meta(config);
    let wal = m["wal"].as_object().expect("wal");
    wal.values()
        .flat_map(|member| member["segments"].as_array().expect("segments").iter())
        .map(|seg| seg["entries"].as_u64().expect("entries"))
        .sum()
}

fn irrs(d: &Decoded) -> impl Iterator<Item = &etcd_wal::pb::etcdserverpb::InternalRaftRequest> {
    d.payloads.iter().filter_map(|p| match p {
        Payload::Request(r) => Some(r.as_ref()),
        _ => None,
    })
}

fn v2_paths(d: &Decoded) -> Vec<(String, String)> {
    d.payloads
        .iter()
        .filter_map(|p| match p {
            Payload::V2(r) => Some((
                String::from_utf8_lossy(&r.method).into_owned(),
                String::from_utf8_lossy(&r.path).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// Checks the decoded kinds against `workload.counts` (mapping in the module docs).
fn check_counts(config: &str, d: &Decoded) {
    let wl = workload(config);
    let w = |k: &str| wl.get(k).copied().unwrap_or(0);
    let got = |k: &str| d.kinds.get(k).copied().unwrap_or(0);

    assert_eq!(
        d.payloads.len() as u64,
        meta_entry_count(config),
        "{config}: entry count vs meta.json wal summary"
    );
    assert_eq!(got("unknown"), 0, "{config}: unknown entries");
    assert_eq!(got("put"), w("put") + w("put_with_lease"), "{config}: puts");
    let leased = irrs(d)
        .filter(|r| r.put.as_ref().is_some_and(|p| p.lease != 0))
        .count();
    assert_eq!(
        leased as u64,
        w("put_with_lease"),
        "{config}: puts with a lease"
    );
    assert_eq!(
        got("delete_range"),
        w("delete") + w("delete_range"),
        "{config}: deletes"
    );
    let ranged = irrs(d)
        .filter(|r| {
            r.delete_range
                .as_ref()
                .is_some_and(|x| !x.range_end.is_empty())
        })
        .count();
    assert_eq!(ranged as u64, w("delete_range"), "{config}: range deletes");
    assert_eq!(got("txn"), w("txn"), "{config}: txns");
    assert_eq!(
        got("lease_grant"),
        w("lease_grant"),
        "{config}: lease grants"
    );
    assert_eq!(got("compaction"), w("compact"), "{config}: compactions");
    // Client revokes plus leader revokes of expired leases (only short-TTL leases can expire
    // during a few-second workload).
    let short_ttl = irrs(d)
        .filter(|r| r.lease_grant.as_ref().is_some_and(|g| g.ttl < 60))
        .count() as u64;
    let revokes = got("lease_revoke");
    assert!(
        revokes >= w("lease_revoke") && revokes <= w("lease_revoke") + short_ttl,
        "{config}: {revokes} revokes, workload {} + at most {short_ttl} expiries",
        w("lease_revoke")
    );
    // One AddNode per initial member; at least one leader no-op.
    let members = meta(config)["members"].as_array().expect("members").len() as u64;
    assert_eq!(got("conf_change"), members, "{config}: conf changes");
    assert!(got("noop") >= 1, "{config}: no leader no-op");

    // Member attributes and cluster version are v2 PUTs, for the member the ConfChange added.
    let node_id = d
        .payloads
        .iter()
        .find_map(|p| match p {
            Payload::ConfChange { change, member } => {
                let m = member.as_ref().expect("member context parses");
                assert_eq!(m.id, change.node_id, "{config}: context id vs node id");
                assert!(!m.peer_urls.is_empty(), "{config}: peer URLs");
                Some(change.node_id)
            }
            _ => None,
        })
        .expect("a conf change");
    let v2 = v2_paths(d);
    let attr_path = format!("/0/members/{node_id:x}/attributes");
    assert!(
        v2.contains(&("PUT".to_owned(), attr_path.clone())),
        "{config}: no v2 PUT {attr_path} in {v2:?}"
    );
    assert!(
        v2.contains(&("PUT".to_owned(), "/0/version".to_owned())),
        "{config}: no v2 PUT /0/version in {v2:?}"
    );
    // Every classified payload has a JSON view naming the same kind, and no secrets.
    for p in &d.payloads {
        assert!(!p.has_secrets(), "{config}: unexpected secret in {p:?}");
        #[cfg(feature = "serde")]
        {
            let json = serde_json::to_value(p.view()).expect("serialize view");
            assert_eq!(json["kind"], p.kind().as_str());
        }
    }
}

#[test]
fn payload_real_wal_v35_single() {
    let config = "sample-v35-single";
    let d = decode_sample(config);
    check_counts(config, &d);
}

#[test]
fn payload_real_wal_v34_single() {
    let config = "sample-v34-single";
    let d = decode_sample(config);
    check_counts(config, &d);
    // 3.4 writes a v2 QGET for every /health probe.
    assert!(
        v2_paths(&d).iter().any(|(m, _)| m == "QGET"),
        "{config}: no v2 QGET entry"
    );
}

#[test]
fn payload_real_wal_v35_rollover() {
    // Three segments: entries continue across the segment boundaries.
    let config = "sample-v35-rollover";
    let d = decode_sample(config);
    check_counts(config, &d);
    // The large-value profile: every put carries a big value; keys are reported.
    let keys: usize = d.payloads.iter().map(|p| p.keys().len()).sum();
    assert_eq!(keys as u64, d.kinds["put"], "{config}: one key per put");
}

#[test]
fn payload_real_wal_keys_cover_txn_branches() {
    let config = "sample-v35-single";
    let d = decode_sample(config);
    for r in irrs(&d) {
        if let Some(t) = &r.txn {
            let p = Payload::Request(Box::new(r.clone()));
            let n_ops = t.compare.len() + t.success.len() + t.failure.len();
            assert_eq!(p.keys().len(), n_ops, "txn keys: {}", p.summary(Some(0)));
        }
    }
}

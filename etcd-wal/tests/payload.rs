//! Payload decoding on the real etcd 3.5.1 / 3.4.23 WALs of every clean `testdata` fixture,
//! checked against what the generator (`testdata/gen/gen.py`) recorded in
//! `fixtures/<config>.json`: the client workload it ran and the per-segment WAL summary of its
//! own, independent decoder (`gen/walfmt.py`: entry counts, first/last index, conf changes).
//!
//! How the recorded workload counts map to raft entries (from the generator's requests):
//!
//! - `put`, `put_with_lease` (mixed), `put_1MB`, `put_small` (large) → entries of kind `put`;
//!   `put_with_lease` = the puts carrying a lease.
//! - `delete` (single-key `deleterange`) + `delete_range` (with a `range_end`) → `delete_range`
//!   entries; `delete_range` = the ones with a non-empty `range_end`.
//! - `txn_success` + `txn_failure` → `txn`; `lease_grant` → `lease_grant`; `compact` →
//!   `compaction`; `defrag` is a maintenance call, not a raft entry.
//! - `lease_revoke` counts client revokes; the leader also writes a revoke for every lease
//!   that expires, so `lease_revoke` entries ≥ the workload count (the generator grants
//!   TTL 3600, so nothing can expire and the bound is exact).
//! - membership (`v3x-removed-member`): `ops` plain puts through m1, and the member steps
//!   (the conf changes are compared with the generator's WAL summary).
//! - Besides the workload, etcd writes: one `noop` per leader election, one `conf_change` per
//!   membership change (AddNode per initial member), v2 PUTs of `/0/members/<id>/attributes`
//!   and `/0/version` (`v2_request`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use etcd_proto::pb::{raftpb, walpb};
use etcd_wal::payload::{Payload, decode_entry};
use prost::Message as _;
use serde_json::Value;

/// Test-only frame walk: 8-byte LE length word, low 56 bits = record length, bit 63 set →
/// pad = (word >> 56) & 7; a zero word or EOF ends the segment. Returns every entry.
fn entries(seg: &Path) -> Vec<raftpb::Entry> {
    let buf = std::fs::read(seg).expect("read segment");
    let mut out = Vec::new();
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
    out
}

fn hex_id(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex id"), 16).expect("16-hex id")
}

/// One member's WAL of one config, decoded.
struct Decoded {
    label: String,
    /// Raft index of each payload.
    indexes: Vec<u64>,
    payloads: Vec<Payload>,
    kinds: BTreeMap<&'static str, u64>,
}

/// Decodes every segment of `member` (as listed in the generator's WAL summary) and checks
/// entry counts and index ranges per segment against that summary.
fn decode_member(config: &str, meta: &Value, member: &str) -> Decoded {
    let label = format!("{config}/{member}");
    let root = testdata::pristine(config).expect("fixture");
    let m = meta["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["name"] == member)
        .expect("member in meta");
    let wal_dir: PathBuf = root.join(m["member_dir"].as_str().unwrap()).join("wal");
    let summary = meta["wal"][member]["segments"]
        .as_array()
        .expect("wal summary");
    assert!(!summary.is_empty(), "{label}: no segments recorded");
    let on_disk = std::fs::read_dir(&wal_dir)
        .expect("wal dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "wal"))
        })
        .count();
    assert_eq!(on_disk, summary.len(), "{label}: segment count");
    let mut payloads = Vec::new();
    let mut indexes = Vec::new();
    let mut kinds = BTreeMap::new();
    for seg in summary {
        let name = seg["name"].as_str().unwrap();
        let es = entries(&wal_dir.join(name));
        assert_eq!(
            es.len() as u64,
            seg["entries"].as_u64().unwrap(),
            "{label} {name}: entry count vs the generator's WAL summary"
        );
        if let (Some(first), Some(last)) = (es.first(), es.last()) {
            assert_eq!(Some(first.index), seg["first_index"].as_u64(), "{label}");
            assert_eq!(Some(last.index), seg["last_index"].as_u64(), "{label}");
        }
        for e in es {
            let p = decode_entry(e.r#type, &e.data);
            assert!(
                !matches!(p, Payload::Undecodable { .. }),
                "{label}: entry {} undecodable: {p:?}",
                e.index
            );
            *kinds.entry(p.kind().as_str()).or_insert(0) += 1;
            indexes.push(e.index);
            payloads.push(p);
        }
    }
    eprintln!("{label}: {kinds:?}");
    Decoded {
        label,
        indexes,
        payloads,
        kinds,
    }
}

fn irrs(d: &Decoded) -> impl Iterator<Item = &etcd_proto::pb::etcdserverpb::InternalRaftRequest> {
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

/// Entry kinds a workload count becomes (module docs); `None` = no raft entry.
fn kind_of_count(name: &str) -> Option<&'static str> {
    match name {
        "put" | "put_with_lease" | "put_1MB" | "put_small" => Some("put"),
        "delete" | "delete_range" => Some("delete_range"),
        "txn_success" | "txn_failure" => Some("txn"),
        "lease_grant" => Some("lease_grant"),
        "lease_revoke" => Some("lease_revoke"),
        "compact" => Some("compaction"),
        "defrag" => None,
        other => panic!("workload count {other:?} unknown to this test: map it in kind_of_count"),
    }
}

/// Checks one member's decoded WAL against the config's recorded workload and WAL summary.
fn check_member(meta: &Value, member: &str, d: &Decoded) {
    let label = &d.label;
    let wl = &meta["workload"];
    let removed = wl["removed_member"].as_str();
    let got = |k: &str| d.kinds.get(k).copied().unwrap_or(0);

    // Expected counts per kind, from the workload record.
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    let counts = wl["counts"].as_object();
    for (name, n) in counts.into_iter().flatten() {
        if let Some(kind) = kind_of_count(name) {
            *want.entry(kind).or_insert(0) += n.as_u64().expect("count");
        }
    }
    let w = |k: &str| {
        counts
            .and_then(|c| c.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    if counts.is_none() {
        // The membership workload: `ops` plain puts through m1 (the removed member's WAL
        // ends with its own removal, before the last of them).
        assert_eq!(meta["config_params"]["workload"], "membership", "{label}");
        let ops = wl["ops"].as_u64().expect("workload.ops");
        if removed == Some(member) {
            assert!(got("put") > 0 && got("put") < ops, "{label}: puts");
            want.insert("put", got("put"));
        } else {
            want.insert("put", ops);
        }
    }
    // Expiries can only add revokes for short-TTL leases.
    let short_ttl = irrs(d)
        .filter(|r| r.lease_grant.as_ref().is_some_and(|g| g.ttl < 60))
        .count() as u64;
    let revokes = got("lease_revoke");
    let want_revokes = want.remove("lease_revoke").unwrap_or(0);
    assert!(
        revokes >= want_revokes && revokes <= want_revokes + short_ttl,
        "{label}: {revokes} revokes, workload {want_revokes} + at most {short_ttl} expiries"
    );
    for (kind, n) in &want {
        assert_eq!(got(kind), *n, "{label}: {kind} entries vs workload");
    }
    // Nothing else but leader no-ops, conf changes and v2 requests.
    for (kind, n) in &d.kinds {
        assert!(
            want.contains_key(kind)
                || ["lease_revoke", "noop", "conf_change", "v2_request"].contains(kind),
            "{label}: {n} unexpected {kind} entries"
        );
    }
    assert!(got("noop") >= 1, "{label}: no leader no-op");

    // The finer splits the workload records.
    let leased = irrs(d)
        .filter(|r| r.put.as_ref().is_some_and(|p| p.lease != 0))
        .count() as u64;
    assert_eq!(leased, w("put_with_lease"), "{label}: puts with a lease");
    let ranged = irrs(d)
        .filter(|r| {
            r.delete_range
                .as_ref()
                .is_some_and(|x| !x.range_end.is_empty())
        })
        .count() as u64;
    assert_eq!(ranged, w("delete_range"), "{label}: range deletes");

    // Conf changes: exactly the generator's decoder's list (index, type, node ID), and the
    // member JSON in the context names the same node.
    let recorded: Vec<(u64, String, u64)> = meta["wal"][member]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["conf_changes"].as_array().into_iter().flatten())
        .map(|c| {
            (
                c["index"].as_u64().unwrap(),
                c["type"].as_str().unwrap().to_owned(),
                hex_id(&c["node_id"]),
            )
        })
        .collect();
    assert!(!recorded.is_empty(), "{label}: no conf change recorded");
    let mut ours = Vec::new();
    for (p, &index) in d.payloads.iter().zip(&d.indexes) {
        if let Payload::ConfChange { change, member: m } = p {
            let ty = match change.r#type {
                0 => "AddNode",
                1 => "RemoveNode",
                2 => "UpdateNode",
                3 => "AddLearnerNode",
                t => panic!("{label}: conf change type {t}"),
            };
            match m {
                Some(m) if m.is_promote => {
                    // etcd's promote context is the bare ID (`"peerURLs":null`) with
                    // `isPromote`, on an AddNode of a member added as a learner before.
                    assert_eq!(m.id, change.node_id, "{label}: context id vs node id");
                    assert_eq!(ty, "AddNode", "{label}: promote");
                    assert!(
                        ours.iter()
                            .any(|(_, t, id)| *id == change.node_id && t == "AddLearnerNode"),
                        "{label}: promote of a member not added as a learner"
                    );
                }
                Some(m) => {
                    assert_eq!(m.id, change.node_id, "{label}: context id vs node id");
                    assert!(!m.peer_urls.is_empty(), "{label}: peer URLs");
                    assert_eq!(m.is_learner, ty == "AddLearnerNode", "{label}: {ty}");
                }
                None => assert_eq!(ty, "RemoveNode", "{label}: context does not parse"),
            }
            // The update step's peer URLs, as the generator asked for them.
            if ty == "UpdateNode" {
                let step = wl["steps"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["step"] == "member update"))
                    .expect("member update step recorded");
                let urls: Vec<&str> = step["peer_urls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u.as_str().unwrap())
                    .collect();
                assert_eq!(m.as_ref().unwrap().peer_urls, urls, "{label}: update URLs");
            }
            ours.push((index, ty.to_owned(), change.node_id));
        }
    }
    assert_eq!(ours, recorded, "{label}: conf changes (index, type, node)");
    assert_eq!(got("conf_change"), recorded.len() as u64, "{label}");

    // Every member that started published its attributes as a v2 PUT; the cluster version too.
    let mut v2 = v2_paths(d);
    v2.sort();
    let mut ids: Vec<u64> = meta["member_ids"]
        .as_object()
        .unwrap()
        .values()
        .map(hex_id)
        .collect();
    if let Some(id) = wl.get("removed_member_id") {
        ids.push(hex_id(id));
    }
    // Nothing else: no member restarted, and the generator probes readiness through
    // `/v3/maintenance/status`, not `/health` (which 3.4 answers with a v2 QGET entry).
    let mut want_v2: Vec<(String, String)> = ids
        .iter()
        .map(|id| ("PUT".to_owned(), format!("/0/members/{id:x}/attributes")))
        .collect();
    want_v2.push(("PUT".to_owned(), "/0/version".to_owned()));
    want_v2.sort();
    assert_eq!(v2, want_v2, "{label}: v2 requests");
    // Every classified payload has a JSON view naming the same kind, and no secrets.
    for p in &d.payloads {
        assert!(!p.has_secrets(), "{label}: unexpected secret in {p:?}");
        #[cfg(feature = "serde")]
        {
            let json = serde_json::to_value(p.view()).expect("serialize view");
            assert_eq!(json["kind"], p.kind().as_str());
        }
    }
}

/// Every member of every clean config: v3x-single (mixed), v3x-cluster3 (mixed, three
/// members), v3x-rollover (three segments; entries continue across the boundaries),
/// v3x-removed-member (learner add, promote, update, remove; m3's own WAL included).
#[test]
fn payload_real_wals_match_the_recorded_workload() {
    let mut checked = BTreeMap::<String, usize>::new();
    for config in testdata::configs() {
        let meta = testdata::config_meta(&config).unwrap();
        for m in meta["members"].as_array().unwrap() {
            let member = m["name"].as_str().unwrap();
            let d = decode_member(&config, &meta, member);
            check_member(&meta, member, &d);
            if meta["config_params"]["workload"] == "large" {
                // The large-value profile: one key per put; nothing else carries keys.
                let keys: usize = d.payloads.iter().map(|p| p.keys().len()).sum();
                assert_eq!(keys as u64, d.kinds["put"], "{}: one key per put", d.label);
            }
            *checked
                .entry(meta["etcd_version"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    // Both versions, all four configs each: 1 + 3 + 1 + 3 members.
    assert_eq!(checked.get("3.5.1"), Some(&8), "{checked:?}");
    assert_eq!(checked.get("3.4.23"), Some(&8), "{checked:?}");
}

#[test]
fn payload_real_wal_keys_cover_txn_branches() {
    let mut txns = 0;
    for config in ["v35-single", "v34-single"] {
        let meta = testdata::config_meta(config).unwrap();
        let d = decode_member(config, &meta, "m1");
        for r in irrs(&d) {
            if let Some(t) = &r.txn {
                let p = Payload::Request(Box::new(r.clone()));
                let n_ops = t.compare.len() + t.success.len() + t.failure.len();
                assert_eq!(p.keys().len(), n_ops, "txn keys: {}", p.summary(Some(0)));
                txns += 1;
            }
        }
    }
    assert!(txns > 0, "no txn in the single configs");
}

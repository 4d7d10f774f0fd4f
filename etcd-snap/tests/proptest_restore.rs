//! The restore writer's output read back by our readers equals its input: for random
//! restore flags (names, peer URLs, cluster token, revision bump), the new db holds the
//! source's keyspace unchanged and exactly the new members, passes the integrity check, and
//! the new `.snap` and WAL decode to the same cluster.

use std::collections::BTreeSet;

use etcd_snap::bolt::Db;
use etcd_snap::restore::{RestoreConfig, restore};
use etcd_snap::{mvcc, schema, snapfile};
use proptest::prelude::*;

fn flags() -> impl Strategy<Value = (Vec<(String, u16)>, usize, String, Option<u64>)> {
    (
        proptest::collection::btree_map("[a-z][a-z0-9]{0,7}", 20000u16..30000, 1..4),
        any::<prop::sample::Index>(),
        "[a-z0-9-]{1,16}",
        prop_oneof![Just(None), (1u64..100_000).prop_map(Some)],
    )
        .prop_map(|(members, local, token, bump)| {
            let members: Vec<(String, u16)> = members.into_iter().collect();
            let local = local.index(members.len());
            (members, local, token, bump)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn restore_output_reads_back_as_its_input((members, local, token, bump) in flags()) {
        let source = testdata::pristine("v35-single").unwrap().join("snapshot.db");
        let src = Db::open(&source).unwrap();
        let src_keys = mvcc::live_keys(&src, None, b"").unwrap();

        let tmp = tempfile::tempdir().unwrap();
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        let initial_cluster = members
            .iter()
            .map(|(n, p)| format!("{n}={}", url(*p)))
            .collect::<Vec<_>>()
            .join(",");
        let (name, port) = &members[local];
        let cfg = RestoreConfig {
            source: source.clone(),
            data_dir: tmp.path().join("new.etcd"),
            name: name.clone(),
            initial_cluster,
            initial_cluster_token: token,
            initial_advertise_peer_urls: url(*port),
            bump_revision: bump.unwrap_or(0),
            mark_compacted: bump.is_some(),
            ..RestoreConfig::default()
        };
        let report = restore(&cfg).unwrap();

        // The db: integrity, keyspace, members.
        let db = Db::open(cfg.data_dir.join("member/snap/db")).unwrap();
        let check = db.check().unwrap();
        prop_assert!(check.is_clean(), "{:?}", check.findings);
        let keys = mvcc::live_keys(&db, None, b"").unwrap();
        prop_assert_eq!(&keys.keys, &src_keys.keys, "keyspace changed");
        if let Some(b) = bump {
            prop_assert!(keys.latest >= src_keys.latest + b as i64, "{} vs {} + {b}", keys.latest, src_keys.latest);
        }
        let want: BTreeSet<(u64, String)> = report
            .cluster
            .members
            .iter()
            .map(|m| (m.id, m.peer_urls.join(",")))
            .collect();
        prop_assert_eq!(want.len(), members.len());
        let got: BTreeSet<(u64, String)> = schema::membership(&db)
            .unwrap()
            .members
            .iter()
            .map(|m| (m.id, m.peer_urls.join(",")))
            .collect();
        prop_assert_eq!(&got, &want, "members bucket");

        // The .snap: index and the same members in the v2 store.
        let snap = snapfile::read_snap(&report.snap_file).unwrap();
        prop_assert_eq!(snap.index, report.consistent_index);
        let v2: BTreeSet<u64> = snap.v2.unwrap().members.iter().map(|m| m.id).collect();
        prop_assert_eq!(v2, want.iter().map(|m| m.0).collect::<BTreeSet<_>>());

        // The WAL: clean, and its metadata names the local member and the cluster.
        let scan = etcd_wal::scan::scan_dir(&report.wal_dir).unwrap();
        prop_assert!(scan.findings.is_empty(), "{:?}", scan.findings);
        let md = scan.metadata.unwrap();
        prop_assert_eq!((md.node_id, md.cluster_id), (report.cluster.local_id, report.cluster.cluster_id));
    }
}

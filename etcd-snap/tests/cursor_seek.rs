//! `Db::cursor_from` on real etcd dbs (multi-level trees): from any key, it yields exactly
//! the suffix of the full iteration that starts at the first key at or after it.

use etcd_snap::bolt::Db;

#[test]
fn cursor_from_yields_the_suffix_of_the_full_iteration() {
    for config in ["v35-single", "v34-single"] {
        let dir = testdata::clean(config).unwrap();
        let db = Db::open(dir.path().join("data/m1/member/snap/db")).unwrap();
        let bucket = db.bucket(b"key").unwrap().unwrap();
        let all: Vec<Vec<u8>> = db.cursor(&bucket).map(|e| e.unwrap().key).collect();
        assert!(all.len() > 1000, "{config}: {} keys", all.len());
        // Every existing key, keys between two neighbours, before the first, after the last.
        let mut probes: Vec<Vec<u8>> = all.iter().step_by(7).cloned().collect();
        for w in all.windows(2).step_by(13) {
            let mut between = w[0].clone();
            between.push(0);
            if between < w[1] {
                probes.push(between);
            }
        }
        probes.push(Vec::new());
        probes.push(vec![0xff; 20]);
        for probe in probes {
            let start = all.partition_point(|k| k < &probe);
            let got: Vec<Vec<u8>> = db
                .cursor_from(&bucket, &probe)
                .map(|e| e.unwrap().key)
                .collect();
            assert_eq!(got, all[start..], "{config}: from {probe:?}");
        }
    }
}

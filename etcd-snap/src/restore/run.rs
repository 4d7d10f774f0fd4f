//! [`restore`]: check the flags and the target, build the new data dir in a temp dir
//! beside it, and move it (and a separate WAL dir) into place.

use crate::hash::{TRAILER_LEN, has_trailer};

use super::build::build;
use super::config::{RestoreConfig, source_db};
use super::copy;
use super::error::{RestoreError, io_err};
use super::ids::NewCluster;
use super::layout::{check_empty_dir, inside_of, mkdir};
use super::report::RestoreReport;

/// Run a restore. Nothing is written unless every check passes; the output appears at
/// `data_dir` only when complete (temp dir beside it, fsynced, renamed).
pub fn restore(cfg: &RestoreConfig) -> Result<RestoreReport, RestoreError> {
    // etcdutl: `(revisionBump == 0 && markCompacted) || (revisionBump > 0 && !markCompacted)`.
    if (cfg.bump_revision > 0) != cfg.mark_compacted {
        return Err(RestoreError::BumpWithoutMarkCompacted);
    }
    let cluster = NewCluster::from_flags(
        &cfg.name,
        &cfg.initial_cluster,
        &cfg.initial_cluster_token,
        &cfg.initial_advertise_peer_urls,
    )?;
    check_empty_dir(&cfg.data_dir)?;
    let wal_dir = cfg
        .wal_dir
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("member/wal"));
    // etcdutl refuses any existing `--wal-dir` (an empty data dir holds none).
    if cfg.wal_dir.is_some() && wal_dir.exists() {
        return Err(RestoreError::WalDirExists { path: wal_dir });
    }
    // A WAL dir inside the data dir (`member/wal`, or e.g. `--wal-dir <data-dir>/wal`) is
    // built inside the temp dir and moved with it; one elsewhere gets its own temp dir.
    let inside = inside_of(&cfg.data_dir, &wal_dir)?;
    let separate_wal = inside.is_none();
    let (src_db, member_db) = source_db(&cfg.source)?;
    let size = std::fs::metadata(&src_db).map_err(io_err(&src_db))?.len();
    let trailer = has_trailer(size);
    if !trailer && !cfg.skip_hash_check && !member_db {
        return Err(RestoreError::MissingHash { path: src_db, size });
    }
    let db_len = if trailer { size - TRAILER_LEN } else { size };

    if let Some(parent) = cfg.data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        mkdir(parent)?;
    }
    let tmp = copy::temp_beside(&cfg.data_dir);
    let tmp_wal = match &inside {
        Some(rel) => tmp.join(rel),
        None => copy::temp_beside(&wal_dir),
    };
    let result = build(
        cfg, &cluster, &src_db, db_len, trailer, member_db, &tmp, &tmp_wal,
    );
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            if separate_wal {
                let _ = std::fs::remove_dir_all(&tmp_wal);
            }
            return Err(e);
        }
    };
    // Move into place: an empty existing data dir is replaced by rename(2).
    if separate_wal {
        if let Some(parent) = wal_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            mkdir(parent)?;
        }
        std::fs::rename(&tmp_wal, &wal_dir).map_err(io_err(&wal_dir))?;
        if let Some(parent) = wal_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            copy::sync_dir(parent)?;
        }
    }
    if let Err(e) = std::fs::rename(&tmp, &cfg.data_dir) {
        // Leave nothing behind: the WAL dir did not exist before (checked above).
        let _ = std::fs::remove_dir_all(&tmp);
        if separate_wal {
            let _ = std::fs::remove_dir_all(&wal_dir);
        }
        return Err(io_err(&cfg.data_dir)(e));
    }
    if let Some(parent) = cfg.data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        copy::sync_dir(parent)?;
    }
    Ok(RestoreReport {
        data_dir: cfg.data_dir.clone(),
        wal_dir,
        snap_file: cfg
            .data_dir
            .join("member/snap")
            .join(etcd_proto::snap::snap_file_name(1, report.consistent_index)),
        ..report
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::Db;
    use crate::mvcc::RevisionKey;
    use crate::restore::HashCheck;
    use etcd_wal::writer::SEGMENT_SIZE;

    fn all(db: &Db, name: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        match db.bucket(name).unwrap() {
            Some(b) => db
                .cursor(&b)
                .map(|e| e.map(|e| (e.key, e.value)).unwrap())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Restore each fixture's saved snapshot with the reference restore's flags and compare
    /// with what etcdutl 3.5.1 (v35) / etcdctl 3.4.23 (v34) wrote: every bucket's content
    /// except `meta/term` for 3.4 (3.4 writes none) and `members` for 3.4 (3.4 keeps old ones).
    #[test]
    fn restore_fixture_snapshots_like_reference() {
        for config in ["v35-single", "v34-single"] {
            let dir = testdata::pristine(config).unwrap();
            let reference = dir.join("restore/r1");
            let snap = crate::snapfile::read_snap(
                reference.join("member/snap/0000000000000001-0000000000000001.snap"),
            )
            .unwrap();
            let url = snap.v2.unwrap().members[0].peer_urls[0].clone();
            let out = tempfile::tempdir().unwrap();
            let cfg = RestoreConfig {
                source: dir.join("snapshot.db"),
                data_dir: out.path().join("r1.etcd"),
                name: "r1".into(),
                initial_cluster: format!("r1={url}"),
                initial_cluster_token: "wal-inspect-fixtures-restore".into(),
                initial_advertise_peer_urls: url.clone(),
                ..RestoreConfig::default()
            };
            let report = restore(&cfg).unwrap();
            assert!(matches!(report.hash, HashCheck::Verified { .. }));
            let ours = Db::open(out.path().join("r1.etcd/member/snap/db")).unwrap();
            assert!(ours.check().unwrap().findings.is_empty(), "{config}");
            let theirs = Db::open(reference.join("member/snap/db")).unwrap();
            let names = theirs.bucket_names().unwrap();
            assert_eq!(ours.bucket_names().unwrap(), names, "{config}");
            for name in names {
                let (mut a, mut b) = (all(&ours, &name), all(&theirs, &name));
                if config == "v34-single" && (name == b"members" || name == b"meta") {
                    a.retain(|(k, _)| k != b"term");
                    b.retain(|(k, _)| k != b"term");
                    if name == b"members" {
                        continue;
                    }
                }
                assert_eq!(a, b, "{config}: bucket {}", String::from_utf8_lossy(&name));
            }
            let wal = std::fs::read(
                out.path()
                    .join("r1.etcd/member/wal/0000000000000000-0000000000000000.wal"),
            )
            .unwrap();
            assert_eq!(wal.len() as u64, SEGMENT_SIZE);
            if config == "v35-single" {
                let want = std::fs::read(
                    reference.join("member/wal/0000000000000000-0000000000000000.wal"),
                )
                .unwrap();
                assert_eq!(wal, want);
                let snap_name = "member/snap/0000000000000001-0000000000000001.snap";
                assert_eq!(
                    std::fs::read(out.path().join("r1.etcd").join(snap_name)).unwrap(),
                    std::fs::read(reference.join(snap_name)).unwrap()
                );
            }
            // A second restore into the now non-empty dir is refused.
            let e = restore(&cfg).unwrap_err();
            assert!(matches!(e, RestoreError::DataDirNotEmpty { .. }) && e.is_refusal());
        }
    }

    /// `--wal-dir` inside the data dir (not `member/wal`), outside it, and given as an
    /// unnormalised spelling of the default: the WAL lands exactly there, nothing else is
    /// left beside the data dir, an existing WAL dir is refused.
    #[test]
    fn wal_dir_inside_outside_and_default() {
        let dir = testdata::pristine("v35-single").unwrap();
        let out = tempfile::tempdir().unwrap();
        let seg = "0000000000000000-0000000000000000.wal";
        let base = RestoreConfig {
            source: dir.join("snapshot.db"),
            ..RestoreConfig::default()
        };
        let cases = [
            ("in", Some("in/wal"), "in/wal"),
            ("out", Some("elsewhere/w/wal"), "elsewhere/w/wal"),
            (
                "dflt",
                Some("./dflt/member/../member/wal"),
                "dflt/member/wal",
            ),
            ("none", None, "none/member/wal"),
        ];
        for (data, wal, want) in cases {
            let cfg = RestoreConfig {
                data_dir: out.path().join(data),
                wal_dir: wal.map(|w| out.path().join(w)),
                ..base.clone()
            };
            let r = restore(&cfg).unwrap_or_else(|e| panic!("{data}: {e}"));
            assert!(out.path().join(want).join(seg).is_file(), "{data}");
            assert!(out.path().join(data).join("member/snap/db").is_file());
            if want != format!("{data}/member/wal") {
                assert!(!out.path().join(data).join("member/wal").exists(), "{data}");
            }
            assert_eq!(
                r.wal_dir,
                cfg.wal_dir
                    .clone()
                    .unwrap_or(cfg.data_dir.join("member/wal"))
            );
        }
        let mut left: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["dflt", "elsewhere", "in", "none", "out"]);
        // An existing WAL dir is refused, even an empty one.
        std::fs::create_dir(out.path().join("w2")).unwrap();
        let e = restore(&RestoreConfig {
            data_dir: out.path().join("x"),
            wal_dir: Some(out.path().join("w2")),
            ..base
        })
        .unwrap_err();
        assert!(matches!(e, RestoreError::WalDirExists { .. }) && e.is_refusal());
        assert!(!out.path().join("x").exists());
    }

    #[test]
    fn bump_revision_appends_marker_and_schedules_compaction() {
        let dir = testdata::pristine("v35-single").unwrap();
        let out = tempfile::tempdir().unwrap();
        let cfg = RestoreConfig {
            source: dir.join("snapshot.db"),
            data_dir: out.path().join("d"),
            bump_revision: 1_000_000,
            mark_compacted: true,
            ..RestoreConfig::default()
        };
        let src = Db::open(dir.join("snapshot.db")).unwrap();
        let last = all(&src, b"key").last().unwrap().0.clone();
        let last = RevisionKey::parse(&last).unwrap().rev.main;
        let report = restore(&cfg).unwrap();
        assert_eq!(report.bumped_to, Some(last + 1_000_000));
        let db = Db::open(out.path().join("d/member/snap/db")).unwrap();
        assert!(db.check().unwrap().findings.is_empty());
        let keys = all(&db, b"key");
        assert_eq!(keys.len(), all(&src, b"key").len() + 1);
        let (k, v) = keys.last().unwrap();
        assert_eq!(RevisionKey::parse(k).unwrap().rev.main, last + 1_000_000);
        assert!(v.is_empty());
        let meta = crate::schema::meta(&db).unwrap();
        assert_eq!(meta.consistent_index, Some(1));
        assert_eq!(meta.scheduled_compact_rev, Some(last + 1_000_000));
        let e = restore(&RestoreConfig {
            mark_compacted: false,
            ..cfg.clone()
        })
        .unwrap_err();
        assert!(matches!(e, RestoreError::BumpWithoutMarkCompacted));
        // etcdutl refuses --mark-compacted without a bump too ("disallowed otherwise").
        let e = restore(&RestoreConfig {
            data_dir: out.path().join("e"),
            bump_revision: 0,
            ..cfg
        })
        .unwrap_err();
        assert!(matches!(e, RestoreError::BumpWithoutMarkCompacted));
        assert!(!out.path().join("e").exists());
    }

    /// A restore etcdutl would lay out in pages of its own (here: a members bucket too
    /// large to be stored inline) falls back to our own layout: the file differs from the
    /// one-commit-per-open model, but the db checks clean and holds every member.
    #[test]
    fn members_too_large_for_the_etcdutl_model_still_restore() {
        let dir = testdata::pristine("v35-single").unwrap();
        let out = tempfile::tempdir().unwrap();
        let cluster: Vec<String> = (0..12)
            .map(|i| format!("member-with-a-long-name-{i}=http://127.0.0.1:{}", 30000 + i))
            .collect();
        let cfg = RestoreConfig {
            source: dir.join("snapshot.db"),
            data_dir: out.path().join("d"),
            name: "member-with-a-long-name-0".to_owned(),
            initial_cluster: cluster.join(","),
            initial_advertise_peer_urls: "http://127.0.0.1:30000".to_owned(),
            ..RestoreConfig::default()
        };
        restore(&cfg).unwrap();
        let db = Db::open(out.path().join("d/member/snap/db")).unwrap();
        assert!(db.check().unwrap().findings.is_empty());
        let members = db.bucket(crate::schema::MEMBERS).unwrap().unwrap();
        assert!(!members.is_inline());
        assert_eq!(all(&db, crate::schema::MEMBERS).len(), 12);
        let src = Db::open(dir.join("snapshot.db")).unwrap();
        assert_eq!(
            db.meta().pgid,
            src.meta().pgid + 2,
            "appended after the high-water mark (members leaf, root leaf)"
        );
    }
}

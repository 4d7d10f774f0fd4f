//! Fill the temp data dir: copy the db (checking its SHA-256 trailer), patch it, write the
//! WAL and the `.snap` file, and fsync it all.

use std::path::Path;

use etcd_wal::writer::SEGMENT_SIZE;

use crate::bytes::hex;
use crate::hash::TRAILER_LEN;

use super::config::RestoreConfig;
use super::config::RestoreTarget;
use super::db::{DbPatch, patch_db};
use super::error::{RestoreError, io_err};
use super::ids::{NewCluster, NewMember};
use super::layout::{mkdir, write_new_file};
use super::report::{HashCheck, RestoreReport};
use super::wal::{conf_state_bytes, wal_segment_for};
use super::{commits, copy, snap};

#[expect(clippy::too_many_arguments, reason = "one internal step of restore()")]
pub(super) fn build(
    cfg: &RestoreConfig,
    cluster: &NewCluster,
    src_db: &Path,
    db_len: u64,
    trailer: bool,
    member_db: bool,
    tmp: &Path,
    tmp_wal: &Path,
) -> Result<RestoreReport, RestoreError> {
    let snap_dir = tmp.join("member/snap");
    mkdir(&snap_dir)?;
    let db_path = snap_dir.join("db");
    let check = trailer && !cfg.skip_hash_check;
    let n = cluster.members.len() as u64;
    // Without a revision bump, the edits as etcdutl's bbolt commits them (the same file,
    // byte for byte), planned from the source (the bytes the copy gets) on a second thread
    // while the copy runs; with a bump, or where the db does not fit that model, our own
    // layout (the same buckets, other pages).
    let (digest, planned) = std::thread::scope(|s| {
        let planner = (cfg.bump_revision == 0).then(|| {
            s.spawn(|| -> Result<Option<commits::Plan>, RestoreError> {
                let db = crate::bolt::Db::open(src_db)?;
                commits::plan(&db, cluster, n, cfg.target.delete_commits())
            })
        });
        let digest = copy::copy_hashed(src_db, db_len, &db_path, check, cfg.progress.as_deref());
        // A planner that panicked (it has no panicking path) falls back to our own layout.
        let planned = planner.and_then(|h| h.join().ok()).transpose();
        (digest, planned)
    });
    let digest = digest?;
    let hash = match digest {
        Some(got) => {
            let mut stored = [0u8; TRAILER_LEN as usize];
            let f = std::fs::File::open(src_db).map_err(io_err(src_db))?;
            std::os::unix::fs::FileExt::read_exact_at(&f, &mut stored, db_len)
                .map_err(io_err(src_db))?;
            if stored != got {
                return Err(RestoreError::HashMismatch {
                    path: src_db.to_path_buf(),
                    expected: hex(&stored),
                    actual: hex(&got),
                });
            }
            HashCheck::Verified { sha256: hex(&got) }
        }
        None if trailer => HashCheck::SkippedTrailer,
        None if member_db && !cfg.skip_hash_check => HashCheck::MemberDb,
        None => HashCheck::SkippedNoTrailer,
    };

    let bumped_to = match planned?.flatten() {
        Some(plan) => {
            plan.write(&db_path)?;
            None
        }
        None => patch_db(
            &db_path,
            DbPatch {
                members: Some(cluster),
                consistent_index: Some(n),
                bump: cfg.bump_revision,
            },
        )?,
    };

    let compacted = cfg
        .compact_to
        .map(|r| super::compact::compact(&db_path, r))
        .transpose()?;

    // WAL.
    mkdir(tmp_wal)?;
    let wal = wal_segment_for(cluster, cfg.target);
    write_new_file(
        &tmp_wal.join("0000000000000000-0000000000000000.wal"),
        &wal,
        0o600,
        Some(SEGMENT_SIZE),
    )?;
    copy::sync_dir(tmp_wal)?;

    // .snap, as etcdutl of the target writes it.
    let store: Vec<snap::StoreMember<'_>> = cluster.members.iter().map(NewMember::store).collect();
    let gets_fail = u64::from(matches!(
        cfg.target,
        RestoreTarget::V3_6 | RestoreTarget::V3_7
    ));
    let data = snap::v2_store_json_with(&store, None, gets_fail);
    let raft = etcd_proto::snap::encode_raft_snapshot_with(
        data.as_bytes(),
        &conf_state_bytes(cluster, cfg.target),
        n,
        1,
    );
    let snap_path = snap_dir.join(etcd_proto::snap::snap_file_name(1, n));
    write_new_file(
        &snap_path,
        &etcd_proto::snap::encode_snap_file(&raft),
        0o644,
        None,
    )?;
    copy::sync_dir(&snap_dir)?;
    copy::sync_dir(&tmp.join("member"))?;
    copy::sync_dir(tmp)?;
    Ok(RestoreReport {
        source_db: src_db.to_path_buf(),
        hash,
        data_dir: tmp.to_path_buf(),
        wal_dir: tmp_wal.to_path_buf(),
        cluster: cluster.clone(),
        consistent_index: n,
        db_bytes: db_len,
        bumped_to,
        snap_file: snap_path,
        compacted,
    })
}

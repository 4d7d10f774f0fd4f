//! What etcd does when it starts on a member dir: the boot verdict, in etcd's own order.
//!
//! etcd 3.4/3.5 `etcdserver.NewServer` (3.5: `server/etcdserver/server.go`; 3.4:
//! `etcdserver/server.go`), for a member dir that has a WAL:
//! 1. `openBackend`: bbolt opens `snap/db` (creating an empty one when it is missing) and,
//!    with `NoFreelistSync`, walks every page: unopenable metas or a page its walk cannot
//!    follow make etcd panic before the WAL is read.
//! 2. `wal.ValidSnapshotEntries` over every segment ("discovery failed").
//! 3. `snapshotter.LoadNewestAvailable` picks the newest readable `.snap` matching one of
//!    those entries (damaged ones are renamed `.broken`), then `recoverSnapshotBackend`:
//!    when the snapshot's index is above the db's consistent index (0 when the db did not
//!    exist before step 1), etcd opens `<index:016x>.snap.db` instead, and panics with
//!    "failed to recover v3 backend from snapshot" when it is missing.
//! 4. `restartNode` → `wal.Open` (segment selection) and `ReadAll`, with one `Repair` of
//!    the last segment on `unexpected EOF` (see [`etcd_wal::predict`]).
//! 5. The raft log is replayed: a committed RemoveNode of this member makes etcd log "the
//!    member has been permanently removed from the cluster" and stop.
//!
//! The WAL's own steps (2, 4) come from [`etcd_wal::predict::predict`]; this module puts
//! them in order with the db and snapshot steps. [`decide`] is pure: it takes the facts
//! read from the files ([`BootFacts`]) and returns the verdict ([`Boot`]).

use etcd_wal::predict::{Outcome, Prediction, Stage, WEDGE_SLACK};

use crate::release::{EtcdVersion, ReleaseFacts, major_minor};

/// What bbolt does with `snap/db` at step 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbAtOpen {
    /// No db file: bbolt creates an empty one (consistent index 0).
    Missing,
    /// bbolt refuses to open it (etcd panics "failed to open database"): both meta pages
    /// invalid ("checksum error"), not a bolt file ("invalid database"), too small.
    Unopenable {
        /// bbolt's error text.
        error: String,
    },
    /// bbolt opens the metas but its walk over every page panics or faults.
    WalkFails {
        /// bbolt's panic text (or what the fault is).
        error: String,
        /// How etcd ends (the log line).
        message: String,
    },
    /// bbolt opens it.
    Opens {
        /// `meta/consistent_index`, when readable.
        consistent_index: Option<u64>,
    },
}

/// Everything the boot verdict depends on, read from the files.
#[derive(Debug, Clone)]
pub struct BootFacts<'a> {
    /// Step 1.
    pub db: DbAtOpen,
    /// Steps 2 and 4: what the WAL alone does.
    pub wal: &'a Prediction,
    /// Step 3: the index of the `.snap` etcd loads (none when no `.snap` matches).
    pub snapshot_index: Option<u64>,
    /// Step 3: whether `<snapshot index:016x>.snap.db` is present.
    pub snap_db_present: bool,
    /// Step 5: a RemoveNode of this member in the log etcd replays.
    pub removed: bool,
    /// Voting members, when known (a member of a larger cluster catches up instead of
    /// wedging).
    pub voters: Option<usize>,
    /// The release asked for, and what its own rules need (see [`crate::release`]).
    pub release: ReleaseFacts,
}

/// Which step decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// Step 1: the db.
    Db,
    /// Step 3: the db is behind the snapshot (or missing) and the `.snap.db` is missing.
    SnapshotBackend,
    /// Steps 2 and 4: the WAL (a refusal, its repair, or damage etcd does not notice).
    Wal,
    /// Step 5: the replayed removal.
    Removal,
    /// A check of the release asked for that the others do not make (learners, v2 store
    /// content, cluster version).
    Release,
    /// Nothing stops or changes the start.
    Nothing,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Boot {
    /// What etcd does.
    pub outcome: Outcome,
    /// The error etcd exits with (for `refuses`) or repairs (for `repairs_tail`).
    pub etcd_error: Option<String>,
    /// The log line etcd prints for a refusal.
    pub etcd_message: Option<String>,
    /// Which step decides.
    pub decided_by: DecidedBy,
    /// The consistent index etcd starts with (the db's, 0 for a db bbolt creates, the
    /// snapshot's when it uses `<index>.snap.db`).
    pub consistent_index: Option<u64>,
    /// Starts, but the log ends below that consistent index: reads work, every write
    /// times out.
    pub wedged: bool,
    /// Starts on a `<index>.snap.db` that is behind the snapshot (etcd 3.5.2–3.5.11): raft
    /// resumes after the snapshot, so the entries in `(from, to]` (the `.snap.db`'s
    /// consistent index to the snapshot's index) are never applied, and the later ones
    /// are applied onto older state: the keyspace diverges from the other members'.
    pub skips: Option<(u64, u64)>,
    /// A refusal that comes after the WAL is read: etcd has repaired the WAL's tail
    /// first, when the WAL needed it (the data dir is changed even though etcd exits).
    pub repaired_first: bool,
}

/// etcd's error when step 3 needs a `.snap.db` that is not there (3.5
/// `openSnapshotBackend` → `snap.DBFilePath`: `snap: snapshot file doesn't exist`).
pub const SNAP_DB_MISSING_ERROR: &str =
    "failed to find database snapshot file (snap: snapshot file doesn't exist)";
/// etcd's log line for it (3.5 `NewServer`: `Panic("failed to recover v3 backend from
/// snapshot")`).
pub const SNAP_DB_MISSING_MESSAGE: &str = "failed to recover v3 backend from snapshot";
/// etcd's words when the replayed log removes the member (`etcdserver/server.go`
/// `applyConfChange` → `ErrStopped` with this log line).
pub const REMOVED_ERROR: &str = "the member has been permanently removed from the cluster";
/// The log line that follows it.
pub const REMOVED_MESSAGE: &str = "data-dir used by this member must be removed";

/// etcd 3.6+'s error for more than one learner (`ValidateMaxLearnerConfig`).
pub const TOO_MANY_LEARNERS: &str = "membership: too many learner members in cluster";
/// etcd 3.6's error for a v2 store with custom content (`AssertNoV2StoreContent`).
pub const V2_CUSTOM_CONTENT: &str =
    "detected disallowed custom content in v2store for stage --v2-deprecation=write-only";
/// etcd 3.4's error on data whose cluster version is 3.5 or later.
pub const INVALID_DOWNGRADE: &str =
    "invalid downgrade; server version is lower than determined cluster version";
/// What etcd 3.5.0–3.5.1 panic with when they swap in a `.snap.db` that is behind the
/// snapshot (the check that would say so never fires before 3.5.12: a shadowed variable;
/// 3.5.2–3.5.11 start without those entries instead, see [`Boot::skips`]).
pub const TX_CLOSED: &str = "assertion failed: tx closed";
/// etcd 3.7.3 on an empty last WAL segment (observed).
pub const EMPTY_SEGMENT_3_7: &str =
    "unmarshal should never fail (proto: cannot parse invalid wire-format data)";

/// The verdict for `facts`, step by step.
pub fn decide(facts: &BootFacts<'_>) -> Boot {
    let wal = facts.wal;
    let r = &facts.release;
    let at_least =
        |a: u32, b: u32, c: u32| r.version.is_some_and(|v| v >= EtcdVersion::new(a, b, c));
    let is = |a: u32, b: u32| r.version.is_some_and(|v| v.major == a && v.minor == b);
    let refuse = |by: DecidedBy, error: String, message: String| Boot {
        outcome: Outcome::Refuses,
        etcd_error: Some(error),
        etcd_message: Some(message),
        decided_by: by,
        consistent_index: None,
        wedged: false,
        skips: None,
        repaired_first: false,
    };
    // A refusal after step 4: the tail repair, if any, has happened.
    let refuse_after_read = |by: DecidedBy, error: String, message: String| Boot {
        repaired_first: wal.outcome == Outcome::RepairsTail,
        ..refuse(by, error, message)
    };
    let mut skips = None;
    // 1. openBackend.
    let mut ci = match &facts.db {
        DbAtOpen::Unopenable { error } => {
            return refuse(
                DecidedBy::Db,
                error.clone(),
                "failed to open database (panic)".into(),
            );
        }
        DbAtOpen::WalkFails { error, message } => {
            // Newer bbolt words the same panic differently.
            let error = r
                .version
                .zip(r.invalid_page_type)
                .and_then(|(v, (page, flags))| {
                    crate::release::invalid_page_type_panic(v, page, flags)
                })
                .unwrap_or_else(|| error.clone());
            return refuse(DecidedBy::Db, error, message.clone());
        }
        DbAtOpen::Missing => Some(0),
        DbAtOpen::Opens { consistent_index } => *consistent_index,
    };
    // 1. 3.6+ `schema.Validate`: a storage version newer than the binary's line.
    if let (Some(v), Some(sv)) = (r.version, r.storage_version.as_deref()) {
        if v >= EtcdVersion::new(3, 6, 0)
            && major_minor(sv).is_some_and(|svm| svm > (v.major, v.minor))
        {
            return refuse(
                DecidedBy::Release,
                format!("version \"{sv}\" is not supported"),
                "discovery failed".into(),
            );
        }
    }
    // 2. ValidSnapshotEntries.
    if wal.refused_at == Some(Stage::Discovery) {
        return wal_verdict(wal, ci);
    }
    // 3. 3.6 loads the `.snap` and refuses custom v2 content in it.
    if is(3, 6) && !r.v2_custom_content.is_empty() {
        return refuse(
            DecidedBy::Release,
            V2_CUSTOM_CONTENT.into(),
            "discovery failed".into(),
        );
    }
    // 3. recoverSnapshotBackend.
    if let Some(si) = facts.snapshot_index.filter(|&si| si > 0) {
        if si > ci.unwrap_or(0) {
            if !facts.snap_db_present {
                return refuse(
                    DecidedBy::SnapshotBackend,
                    SNAP_DB_MISSING_ERROR.into(),
                    SNAP_DB_MISSING_MESSAGE.into(),
                );
            }
            // The `.snap.db` becomes the db; its own consistent index must reach the
            // snapshot's (checked from 3.5.12). 3.5.0–3.5.1 read it through a closed
            // transaction and panic; 3.5.2–3.5.11 (commit 8c8159845 sets the backend
            // again) start: raft resumes after the snapshot, the db holds less (observed
            // on 3.5.6: `applied: 2004` over a db at 1503).
            if let Some(sci) = r.snap_db_consistent_index.filter(|&sci| sci < si) {
                if is(3, 5) && !at_least(3, 5, 12) && at_least(3, 5, 2) {
                    skips = Some((sci, si));
                } else if at_least(3, 5, 12) {
                    return refuse(
                        DecidedBy::SnapshotBackend,
                        format!(
                            "database file ({} index {sci}) does not match with snapshot (index {si})",
                            r.db_path
                        ),
                        "discovery failed".into(),
                    );
                } else if is(3, 5) {
                    return refuse(DecidedBy::SnapshotBackend, TX_CLOSED.into(), "panic".into());
                }
            }
            ci = Some(skips.map_or(si, |(sci, _)| sci));
        }
    }
    // 4. wal.Open, ReadAll, Repair.
    if wal.outcome == Outcome::Refuses {
        return wal_verdict(wal, ci);
    }
    if is(3, 7) && r.empty_last_segment {
        return refuse(
            DecidedBy::Wal,
            EMPTY_SEGMENT_3_7.into(),
            "execute job failed".into(),
        );
    }
    // 3.6+: membership from the db, at most one learner.
    if at_least(3, 6, 0) && r.learners > 1 {
        return refuse(
            DecidedBy::Release,
            TOO_MANY_LEARNERS.into(),
            "discovery failed".into(),
        );
    }
    // 3.4 on data a 3.5+ cluster wrote.
    if is(3, 4)
        && r.cluster_version
            .as_deref()
            .and_then(major_minor)
            .is_some_and(|cv| cv > (3, 4))
    {
        return refuse_after_read(
            DecidedBy::Release,
            INVALID_DOWNGRADE.into(),
            INVALID_DOWNGRADE.into(),
        );
    }
    // 5. The replay.
    if facts.removed {
        return refuse_after_read(
            DecidedBy::Removal,
            REMOVED_ERROR.into(),
            REMOVED_MESSAGE.into(),
        );
    }
    let mut boot = wal_verdict(wal, ci);
    if boot.outcome == Outcome::Starts && skips.is_some() {
        boot.skips = skips;
        boot.decided_by = DecidedBy::SnapshotBackend;
    }
    let last = wal.last_index_after_start.unwrap_or(0);
    boot.wedged = ci.is_some_and(|ci| ci > last.saturating_add(WEDGE_SLACK))
        && facts.voters.is_none_or(|v| v <= 1);
    boot
}

/// The WAL's own verdict.
fn wal_verdict(wal: &Prediction, ci: Option<u64>) -> Boot {
    Boot {
        outcome: wal.outcome,
        etcd_error: wal.etcd_error.clone(),
        etcd_message: wal.etcd_message.clone(),
        decided_by: if wal.decisive.is_some() || wal.outcome != Outcome::Starts {
            DecidedBy::Wal
        } else {
            DecidedBy::Nothing
        },
        consistent_index: ci,
        wedged: false,
        skips: None,
        repaired_first: false,
    }
}

#[cfg(test)]
mod tests {
    use etcd_proto::RaftPos;
    use etcd_wal::predict::Release;

    use super::*;

    fn wal(outcome: Outcome, stage: Option<Stage>, last: u64) -> Prediction {
        Prediction {
            outcome,
            etcd_error: (outcome != Outcome::Starts).then(|| "walpb: crc mismatch".into()),
            etcd_message: stage.map(|s| s.etcd_message().into()),
            refused_at: stage,
            decisive: (outcome != Outcome::Starts).then_some(0),
            start_snapshot: RaftPos::default(),
            start_segment: Some(0),
            repair: None,
            last_index_after_start: (outcome != Outcome::Refuses).then_some(last),
            wedged: false,
            release: Release::V3_5,
            later_releases: None,
        }
    }

    fn facts(db: DbAtOpen, wal: &Prediction) -> BootFacts<'_> {
        BootFacts {
            db,
            wal,
            snapshot_index: None,
            snap_db_present: false,
            removed: false,
            voters: Some(1),
            release: ReleaseFacts::default(),
        }
    }

    fn opens(ci: u64) -> DbAtOpen {
        DbAtOpen::Opens {
            consistent_index: Some(ci),
        }
    }

    /// `openBackend` (bbolt `Open`): an unopenable db panics before the WAL is read, even
    /// when the WAL is damaged too.
    #[test]
    fn an_unopenable_db_decides_first() {
        let w = wal(Outcome::Refuses, Some(Stage::Discovery), 0);
        let b = decide(&facts(
            DbAtOpen::Unopenable {
                error: "checksum error".into(),
            },
            &w,
        ));
        assert_eq!(b.outcome, Outcome::Refuses);
        assert_eq!(b.decided_by, DecidedBy::Db);
        assert_eq!(b.etcd_error.as_deref(), Some("checksum error"));
    }

    /// bbolt's `freepages` walk at open (`NoFreelistSync`) panics on a bad page.
    #[test]
    fn a_page_the_open_walk_cannot_follow_decides_first() {
        let w = wal(Outcome::Starts, None, 10);
        let b = decide(&facts(
            DbAtOpen::WalkFails {
                error: "freepages: failed to get all reachable pages".into(),
                message: "panic".into(),
            },
            &w,
        ));
        assert_eq!((b.outcome, b.decided_by), (Outcome::Refuses, DecidedBy::Db));
    }

    /// `ValidSnapshotEntries` runs before the `.snap` pick: its refusal wins over a db
    /// behind the snapshot.
    #[test]
    fn discovery_comes_before_the_snapshot_backend() {
        let w = wal(Outcome::Refuses, Some(Stage::Discovery), 0);
        let mut f = facts(opens(10), &w);
        f.snapshot_index = Some(100);
        let b = decide(&f);
        assert_eq!(b.decided_by, DecidedBy::Wal);
        assert_eq!(b.etcd_message.as_deref(), Some("discovery failed"));
    }

    /// `recoverSnapshotBackend`: a db behind the loaded snapshot needs `<index>.snap.db`;
    /// that step comes before `ReadAll`, so it wins over a replay error.
    #[test]
    fn a_db_behind_the_snapshot_refuses_before_read_all() {
        let w = wal(Outcome::Refuses, Some(Stage::ReadAll), 0);
        let mut f = facts(opens(10), &w);
        f.snapshot_index = Some(100);
        let b = decide(&f);
        assert_eq!(b.decided_by, DecidedBy::SnapshotBackend);
        assert_eq!(b.etcd_error.as_deref(), Some(SNAP_DB_MISSING_ERROR));
        assert_eq!(b.etcd_message.as_deref(), Some(SNAP_DB_MISSING_MESSAGE));
        // With the `.snap.db` there, etcd uses it and the WAL decides.
        f.snap_db_present = true;
        assert_eq!(decide(&f).decided_by, DecidedBy::Wal);
    }

    /// `recoverSnapshotBackend` with `beExist == false`: a missing db counts as consistent
    /// index 0, so a loaded `.snap` makes etcd look for its `.snap.db` and panic.
    #[test]
    fn a_missing_db_with_a_snapshot_refuses() {
        let w = wal(Outcome::Starts, None, 500);
        let mut f = facts(DbAtOpen::Missing, &w);
        f.snapshot_index = Some(300);
        let b = decide(&f);
        assert_eq!(
            (b.outcome, b.decided_by),
            (Outcome::Refuses, DecidedBy::SnapshotBackend)
        );
        // Without a `.snap` to load, bbolt's empty db is used and the WAL replays.
        f.snapshot_index = None;
        let b = decide(&f);
        assert_eq!((b.outcome, b.wedged), (Outcome::Starts, false));
        assert_eq!(b.consistent_index, Some(0));
    }

    /// A `.snap.db` behind the snapshot: 3.5.1 panics on a closed transaction, 3.5.2–3.5.11
    /// start without the entries between its consistent index and the snapshot (observed
    /// on 3.5.6),
    /// 3.5.12+ refuse (observed on 3.5.35).
    #[test]
    fn a_snap_db_behind_the_snapshot_by_release() {
        let w = wal(Outcome::Starts, None, 3000);
        let mut f = facts(opens(1500), &w);
        f.snapshot_index = Some(2504);
        f.snap_db_present = true;
        f.release.snap_db_consistent_index = Some(2004);
        let at = |f: &mut BootFacts<'_>, v: EtcdVersion| {
            f.release.version = Some(v);
            decide(f)
        };
        let b = at(&mut f, EtcdVersion::new(3, 5, 1));
        assert_eq!(b.etcd_error.as_deref(), Some(TX_CLOSED));
        let b = at(&mut f, EtcdVersion::new(3, 5, 6));
        assert_eq!(b.outcome, Outcome::Starts);
        assert_eq!(b.skips, Some((2004, 2504)));
        assert_eq!(b.consistent_index, Some(2004));
        assert_eq!(b.decided_by, DecidedBy::SnapshotBackend);
        let b = at(&mut f, EtcdVersion::new(3, 5, 12));
        assert_eq!(b.outcome, Outcome::Refuses);
        assert!(
            b.etcd_error
                .unwrap()
                .contains("does not match with snapshot")
        );
    }

    /// `applyConfChange` of a replayed RemoveNode of this member stops etcd, after a tail
    /// repair as well.
    #[test]
    fn a_replayed_self_removal_refuses_after_the_wal_is_read() {
        let w = wal(Outcome::RepairsTail, None, 50);
        let mut f = facts(opens(40), &w);
        f.removed = true;
        let b = decide(&f);
        assert_eq!(
            (b.outcome, b.decided_by),
            (Outcome::Refuses, DecidedBy::Removal)
        );
        assert_eq!(b.etcd_error.as_deref(), Some(REMOVED_ERROR));
        assert!(
            b.repaired_first,
            "the tail repair happens before the replay"
        );
        // A WAL refusal comes first.
        let w = wal(Outcome::Refuses, Some(Stage::ReadAll), 0);
        let mut f = facts(opens(40), &w);
        f.removed = true;
        assert_eq!(decide(&f).decided_by, DecidedBy::Wal);
    }

    /// The wedge (observed with real etcd 3.4.23 and 3.5.1): a single voter whose log ends
    /// more than two entries below the consistent index starts, then every write times out.
    #[test]
    fn a_log_below_the_consistent_index_wedges_a_single_voter() {
        let w = wal(Outcome::Starts, None, 100);
        let b = decide(&facts(opens(103), &w));
        assert!(b.wedged);
        assert!(!decide(&facts(opens(102), &w)).wedged);
        let mut f = facts(opens(500), &w);
        f.voters = Some(3);
        assert!(
            !decide(&f).wedged,
            "a cluster member catches up from the leader"
        );
        // The consistent index etcd starts with is the `.snap.db`'s when it uses one.
        let mut f = facts(opens(10), &w);
        f.snapshot_index = Some(200);
        f.snap_db_present = true;
        let b = decide(&f);
        assert_eq!(b.consistent_index, Some(200));
        assert!(b.wedged);
    }
}

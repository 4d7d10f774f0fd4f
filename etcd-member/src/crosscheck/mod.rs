//! Cross-check of the db's values against the WAL.
//!
//! bbolt has no page checksums: a flipped byte inside a value in `member/snap/db` is
//! invisible to bolt and to etcd. Where the WAL still holds the writes, their replay says
//! what each key's latest revision in the db must be — value, lease, or deleted — and this
//! module compares that with the db's `key` bucket.
//!
//! Only entries up to the db's consistent index are replayed (what the db has applied),
//! in the order etcd applies them: committed entries only, the last copy of an index raft
//! overwrote. The check never guesses: a key whose outcome depends on state older than the
//! WAL (a txn compare on a key the WAL never wrote, a put to a lease granted before it, an
//! `ignore_value` put, writes while auth or an alarm may refuse them…) is counted as *not
//! checkable*, and a hole in the WAL forgets everything before it. When the WAL holds the
//! whole history (entries from index 1, and the replay reaches the db's revision), the
//! revisions and versions are checked too and a live key the WAL never wrote is a mismatch.
//!
//! With the whole history, every revision record is compared as well (older revisions
//! included, see `revisions`): records come out of the replay in the `key` bucket's order
//! and are compared in batches while the WAL is read, on a db handle of the check's own
//! ([`ValueCheck::for_db`]; a check made with [`ValueCheck::new`] compares latest records
//! only).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = testdata::clean("v35-single")?;
//! # let member = fixture.path().join("data/m1/member");
//! use etcd_member::crosscheck::ValueCheck;
//! let db = etcd_snap::bolt::Db::open(member.join("snap/db"))?;
//! let mut check = ValueCheck::for_db(&db)?.expect("the db has a consistent index");
//! etcd_wal::scan::scan_dir_with(&member.join("wal"), &mut |e| check.observe(&e))?;
//! let report = check.compare(&db)?;
//! for m in &report.mismatches {
//!     println!("{}: {:?}", m.key_escaped, m.diffs);
//! }
//! assert_eq!(report.keys_mismatched, 0);
//! # Ok(()) }
//! ```

mod compare;
mod feed;
mod model;
mod revisions;
mod strip;
mod value;

use etcd_proto::RaftPos;
use etcd_wal::WalLocation;
use etcd_wal::scan::Event;

use etcd_snap::Result;
use etcd_snap::bolt::Db;
use etcd_snap::schema;

pub use compare::{DbRecordAt, Diff, History, MAX_MISMATCHES, Mismatch, ValueReport};
pub use revisions::{JoinedRevisions, Revisions};
pub use value::{KEPT_BYTES, ValueDigest};

/// A WAL entry: where its record is, and its raft index and term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WalPos {
    /// Where the entry's record is.
    pub at: WalLocation,
    /// Its raft index and term.
    pub entry: RaftPos,
}

/// Collects the WAL's writes while the WAL is read (feed it every event of one
/// [`etcd_wal::scan`] pass), then compares them with a db. Memory: one summary per key
/// the WAL writes (its first bytes, length and CRC), plus entries not yet known to be
/// committed (capped at 64 MiB).
#[derive(Debug)]
pub struct ValueCheck {
    feed: feed::Feed,
}

impl ValueCheck {
    /// A check of entries up to `consistent_index`. `auth_enabled` / `alarms_active`: what
    /// the db says (when set, a WAL that does not start at index 1 determines no writes).
    pub fn new(consistent_index: u64, auth_enabled: bool, alarms_active: bool) -> ValueCheck {
        ValueCheck {
            feed: feed::Feed::new(consistent_index, auth_enabled, alarms_active),
        }
    }

    /// A check set up from the db's `meta`, `auth` and `alarm` buckets; `None` when the
    /// db has no consistent index (nothing says which entries it holds).
    pub fn for_db(db: &Db) -> Result<Option<ValueCheck>> {
        let Some((mut check, compact)) = ValueCheck::from_buckets(db)? else {
            return Ok(None);
        };
        // Every revision record is compared while the WAL is read, on a handle of its own.
        check.feed.revisions = Some(revisions::RevisionWorker::start(
            revisions::RevisionCheck::new(Db::open(db.path())?, compact),
        ));
        Ok(Some(check))
    }

    /// [`ValueCheck::for_db`], but the comparison of every revision record is made on the
    /// db's own integrity walk (one read of the file serves both): hand every visit of
    /// that walk ([`etcd_snap::inspect_member_db_visiting`], on another thread) to the
    /// returned [`JoinedRevisions`], call [`ValueCheck::end_of_wal`] once the WAL pass is
    /// over (before waiting for the walk), then give its [`JoinedRevisions::finish`] to
    /// [`ValueCheck::revisions_from_db_walk`] before [`ValueCheck::compare`].
    pub fn for_db_walk(db: &Db) -> Result<Option<(ValueCheck, JoinedRevisions)>> {
        let Some((mut check, compact)) = ValueCheck::from_buckets(db)? else {
            return Ok(None);
        };
        let (worker, joined) = revisions::RevisionWorker::joined(compact);
        check.feed.revisions = Some(worker);
        Ok(Some((check, joined)))
    }

    /// The check the db's buckets set up, with the db's compaction revision.
    fn from_buckets(db: &Db) -> Result<Option<(ValueCheck, i64)>> {
        let meta = schema::meta(db)?;
        let Some(ci) = meta.consistent_index else {
            return Ok(None);
        };
        let auth = schema::auth(db)?.enabled == Some(true);
        let alarms = !schema::alarms(db)?.0.is_empty();
        let compact = meta.finished_compact_rev.unwrap_or(0);
        Ok(Some((ValueCheck::new(ci, auth, alarms), compact)))
    }

    /// The WAL pass is over: apply what is held back and send the last records to the
    /// comparison (the db walk's [`JoinedRevisions::finish`] waits for this).
    pub fn end_of_wal(&mut self) {
        self.feed.finish();
    }

    /// The result of the comparison made on the db's walk ([`ValueCheck::for_db_walk`]).
    pub fn revisions_from_db_walk(&mut self, done: Revisions) {
        if self.feed.revisions_joined {
            self.feed.revisions_done = Some(done);
        }
    }

    /// Take one event of the WAL pass (segments, records; findings are ignored, records
    /// that the CRC chain does not verify are skipped).
    pub fn observe(&mut self, event: &Event<'_>) {
        self.feed.observe(event);
    }

    /// Finish the replay and compare with `db`'s `key` bucket. `Err` only when the db's
    /// buckets cannot be reached; a damaged page on the way makes every key not checkable.
    pub fn compare(mut self, db: &Db) -> Result<ValueReport> {
        self.feed.finish();
        compare::compare(db, self.feed)
    }
}

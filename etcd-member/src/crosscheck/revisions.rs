//! Every revision record, not only each key's latest: with the whole history in the WAL,
//! its replay says what the db's `key` bucket holds at every revision (a put's
//! `mvccpb.KeyValue`, or a tombstone). The records come out of the replay in revision
//! order, as the bucket sorts them, so they are compared in batches while the WAL is read:
//! each batch walks the bucket from where the last one stopped (a cursor that seeks), and
//! memory stays at one batch whatever the history's length.
//!
//! Compaction: a record at or below the db's finished compaction revision that the db no
//! longer holds is what compaction removes and is not reported (etcd keeps each key's
//! latest record at or below it unless a tombstone; that record is what the latest-record
//! check compares). A record the db does hold there is compared like any other.

use std::collections::HashMap;

use etcd_proto::RaftPos;
use etcd_proto::text::escape_bytes;
use etcd_snap::bolt::{Bucket, Db, Visit};
use etcd_snap::mvcc::{Revision, RevisionKey};

use super::WalPos;
use super::compare::{DbRec, DbRecordAt, Diff, MAX_MISMATCHES, Mismatch, db_rec, parse_kv};
use super::model::Expected;
use super::value::ValueDigest;

/// Records compared per batch at most (each one about 100 bytes plus its key).
const BATCH: usize = 32 * 1024;

/// A batch also goes once the db bytes it covers (its keys and values) reach this, so the
/// walk of a db of large values runs while the WAL is still read, not all at the end.
const BATCH_DB_BYTES: u64 = 16 << 20;

/// The db bytes an expected record stands for (its key and value).
fn db_bytes(e: &Expected) -> u64 {
    e.key.len() as u64 + e.value.len()
}

/// A [`RevisionCheck`] on a thread of its own: the replay hands it batches of records
/// and goes on reading the WAL while the batches are compared with the db (its own file
/// handle: the two never share a buffer). Memory: at most two batches in flight.
#[derive(Debug)]
pub(crate) struct RevisionWorker {
    pending: Vec<Expected>,
    /// [`db_bytes`] of `pending`.
    pending_db_bytes: u64,
    tx: std::sync::mpsc::SyncSender<Vec<Expected>>,
    /// The thread comparing the batches; `None` when the db's integrity walk compares
    /// them ([`JoinedRevisions`]).
    handle: Option<std::thread::JoinHandle<RevisionCheck>>,
}

impl RevisionWorker {
    /// Start `check` on its thread.
    pub fn start(mut check: RevisionCheck) -> RevisionWorker {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Expected>>(2);
        let handle = std::thread::spawn(move || {
            for mut batch in rx {
                check.push(&mut batch);
            }
            check
        });
        RevisionWorker::sending(tx, Some(handle))
    }

    fn sending(
        tx: std::sync::mpsc::SyncSender<Vec<Expected>>,
        handle: Option<std::thread::JoinHandle<RevisionCheck>>,
    ) -> RevisionWorker {
        RevisionWorker {
            pending: Vec::new(),
            pending_db_bytes: 0,
            tx,
            handle,
        }
    }

    /// Batches for the comparison that `JoinedRevisions` makes on the db's integrity walk
    /// (a db whose compaction revision is `compact`).
    pub fn joined(compact: i64) -> (RevisionWorker, JoinedRevisions) {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Expected>>(2);
        let worker = RevisionWorker::sending(tx, None);
        let joined = JoinedRevisions {
            rx: Some(rx),
            batch: Vec::new().into_iter(),
            head: None,
            in_key: false,
            key_seen: false,
            out: Revisions::new(compact),
        };
        (worker, joined)
    }

    /// Whether the batches go to a `JoinedRevisions` (whose result comes from the db walk).
    pub fn is_joined(&self) -> bool {
        self.handle.is_none()
    }

    /// Take records (in revision order); a full batch goes to the thread.
    pub fn push(&mut self, records: &mut Vec<Expected>) {
        self.pending_db_bytes += records.iter().map(db_bytes).sum::<u64>();
        self.pending.append(records);
        if self.pending.len() >= BATCH || self.pending_db_bytes >= BATCH_DB_BYTES {
            self.pending_db_bytes = 0;
            let batch = std::mem::take(&mut self.pending);
            // A send fails only when the thread is gone (it panicked): `finish` says so.
            let _ = self.tx.send(batch);
        }
    }

    /// The last records, then the rest of the bucket; the check with its tally (`None`
    /// when its thread failed).
    pub fn finish(self) -> Option<Revisions> {
        let RevisionWorker {
            pending,
            tx,
            handle,
            ..
        } = self;
        let _ = tx.send(pending);
        drop(tx);
        let mut check = handle?.join().ok()?;
        check.flush_all();
        Some(check.out)
    }
}

/// The comparison of every revision record made on the db's integrity walk, so the file
/// is read once for both (`verify --check-values`): the replay sends batches of expected
/// records ([`super::ValueCheck::for_db_walk`]) and the walk shows this the `key` bucket's records
/// in order ([`JoinedRevisions::visit`]); the two ordered streams are merged as they come.
/// The walk waits for the replay where it is ahead; the replay waits (at most two batches
/// ahead) for the walk.
#[derive(Debug)]
pub struct JoinedRevisions {
    /// `None` once the comparison stopped or the replay's last batch came.
    rx: Option<std::sync::mpsc::Receiver<Vec<Expected>>>,
    batch: std::vec::IntoIter<Expected>,
    head: Option<Expected>,
    /// The walk is in the `key` bucket.
    in_key: bool,
    key_seen: bool,
    out: Revisions,
}

impl JoinedRevisions {
    /// One visit of the db's integrity walk.
    pub fn visit(&mut self, v: Visit<'_>) {
        match v {
            Visit::Bucket { level: 1, name } => {
                self.in_key = name == etcd_snap::mvcc::KEY_BUCKET;
                self.key_seen |= self.in_key;
            }
            Visit::Damage { .. } if self.in_key && self.out.stopped.is_none() => {
                self.stop(
                    "the db's key bucket cannot be read to the end: a damaged page (see the \
                     db's findings)"
                        .into(),
                );
            }
            Visit::Item {
                level: 1,
                key,
                value,
                is_bucket: false,
                page,
                value_offset,
            } if self.in_key && self.out.stopped.is_none() => {
                let Ok(rk) = RevisionKey::parse(key) else {
                    return;
                };
                let here = (rk.rev.main, rk.rev.sub);
                // Expected records before this one that the db does not hold.
                while let Some(x) = self.next_if(|x| (x.main, x.sub) < here) {
                    self.out.tally.missing(&x);
                }
                let x = self.next_if(|x| (x.main, x.sub) == here);
                self.out
                    .tally
                    .record(rk, page, value_offset, value, x.as_ref());
            }
            _ => {}
        }
    }

    /// The next expected record if `pred` holds for it (waiting for the replay's next
    /// batch when none is held).
    fn next_if(&mut self, pred: impl Fn(&Expected) -> bool) -> Option<Expected> {
        while self.head.is_none() {
            if let Some(x) = self.batch.next() {
                self.head = Some(x);
            } else {
                match self.rx.as_ref().map(|rx| rx.recv()) {
                    Some(Ok(b)) => self.batch = b.into_iter(),
                    Some(Err(_)) | None => {
                        self.rx = None;
                        return None;
                    }
                }
            }
        }
        if self.head.as_ref().is_some_and(pred) {
            self.head.take()
        } else {
            None
        }
    }

    fn stop(&mut self, why: String) {
        self.out.stopped = Some(why);
        // The replay's sends fail from now on instead of waiting for this.
        self.rx = None;
        self.head = None;
        self.batch = Vec::new().into_iter();
    }

    /// After the walk: the expected records the bucket did not reach are missing (this
    /// waits for the replay's last batch).
    pub fn finish(mut self) -> Revisions {
        if self.out.stopped.is_none() {
            if !self.key_seen {
                if self.next_if(|_| true).is_some() {
                    self.stop("the db has no key bucket".into());
                }
            } else {
                while let Some(x) = self.next_if(|_| true) {
                    self.out.tally.missing(&x);
                }
                self.out.walked_to_end = true;
            }
        }
        self.out
    }
}

/// The comparison of every revision record (see the module docs).
#[derive(Debug)]
pub(crate) struct RevisionCheck {
    db: Db,
    bucket: Option<Bucket>,
    pending: Vec<Expected>,
    /// The revision key the next batch starts its walk at (just after the last one).
    from: Vec<u8>,
    out: Revisions,
}

/// What the comparison of every revision record found (read through
/// [`super::ValueCheck::compare`]'s report).
#[derive(Debug, Default)]
pub struct Revisions {
    /// What was found.
    pub(crate) tally: Tally,
    /// Why the comparison stopped (a damaged page, an I/O error), if it did.
    pub(crate) stopped: Option<String>,
    /// The bucket was walked to its end: `tally.seen` covers every record.
    walked_to_end: bool,
}

impl Revisions {
    /// Nothing found yet, for a db whose compaction revision is `compact`.
    fn new(compact: i64) -> Revisions {
        Revisions {
            tally: Tally {
                compact,
                ..Tally::default()
            },
            ..Revisions::default()
        }
    }

    /// Each key's latest record and the highest revision, when every record of the bucket
    /// was seen (the latest-record check then needs no walk of its own).
    pub(crate) fn take_seen(&mut self) -> Option<(HashMap<Vec<u8>, DbRec>, i64)> {
        (self.walked_to_end && self.stopped.is_none())
            .then(|| (std::mem::take(&mut self.tally.seen), self.tally.max_main))
    }
}

/// Records compared and those that differ.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    compact: i64,
    pub checked: u64,
    pub mismatched: u64,
    pub mismatches: Vec<Mismatch>,
    /// Each key's last record seen (the latest, once the whole bucket was walked).
    seen: HashMap<Vec<u8>, DbRec>,
    /// Highest main revision seen.
    max_main: i64,
}

fn rev_key(main: i64, sub: i64) -> Vec<u8> {
    RevisionKey {
        rev: Revision { main, sub },
        tombstone: false,
    }
    .encode()
}

impl RevisionCheck {
    /// A check against `db` (its own handle: the caller's stays free) whose compaction
    /// revision is `compact`.
    pub fn new(db: Db, compact: i64) -> RevisionCheck {
        let bucket = etcd_snap::mvcc::key_bucket(&db).ok().flatten();
        RevisionCheck {
            db,
            bucket,
            pending: Vec::new(),
            from: Vec::new(),
            out: Revisions::new(compact),
        }
    }

    /// Compare a batch of records (in revision order, after those of earlier batches)
    /// with the bucket.
    pub fn push(&mut self, records: &mut Vec<Expected>) {
        if self.out.stopped.is_some() {
            records.clear();
            return;
        }
        self.pending.append(records);
        self.flush();
    }

    /// Compare the held records with the bucket, from where the last batch stopped up to
    /// the last held revision (or to the end of the bucket with `to_end`).
    pub fn flush_all(&mut self) {
        self.flush_upto(true);
    }

    fn flush(&mut self) {
        self.flush_upto(false);
    }

    fn flush_upto(&mut self, to_end: bool) {
        let pending = std::mem::take(&mut self.pending);
        if self.out.stopped.is_some() {
            return;
        }
        let Some(bucket) = self.bucket.clone() else {
            if !pending.is_empty() {
                self.out.stopped = Some("the db has no key bucket".into());
            }
            return;
        };
        let last = pending.last().map(|e| (e.main, e.sub));
        let mut want = pending.iter().peekable();
        let mut next_from = None;
        let cursor = self.db.cursor_from(&bucket, &self.from);
        let tally = &mut self.out.tally;
        let mut stop = None;
        for item in cursor {
            let e = match item {
                Ok(e) => e,
                Err(err) => {
                    stop = Some(format!(
                        "the db's key bucket cannot be read to the end: {err}"
                    ));
                    break;
                }
            };
            let Ok(rk) = RevisionKey::parse(&e.key) else {
                continue;
            };
            let here = (rk.rev.main, rk.rev.sub);
            if !to_end && last.is_none_or(|l| here > l) {
                next_from = Some(e.key.clone());
                break;
            }
            // Expected records before this one that the db does not hold.
            while let Some(x) = want.next_if(|x| (x.main, x.sub) < here) {
                tally.missing(x);
            }
            let x = want.next_if(|x| (x.main, x.sub) == here);
            tally.record(rk, e.page, e.value_offset, &e.value, x);
        }
        for x in want {
            tally.missing(x);
        }
        if let Some(s) = stop {
            self.out.stopped = Some(s);
        } else if to_end {
            self.out.walked_to_end = true;
        }
        self.from = match (next_from, last) {
            (Some(k), _) => k,
            (None, Some((main, sub))) => rev_key(main, sub.saturating_add(1)),
            (None, None) => std::mem::take(&mut self.from),
        };
    }
}

impl Tally {
    /// One record of the bucket (its revision key, and its value at file offset
    /// `offset` in node `page`) with the expected record at its revision, if any.
    fn record(
        &mut self,
        rk: RevisionKey,
        page: u64,
        offset: u64,
        value: &[u8],
        expected: Option<&Expected>,
    ) {
        self.max_main = self.max_main.max(rk.rev.main);
        let kv = parse_kv(value);
        // One digest of the value serves the comparison and the latest-record check.
        let rec = db_rec(page, offset, value, rk, &kv);
        let digest = rec.value.clone();
        if let Some(key) = kv.key {
            match self.seen.get_mut(key) {
                Some(r) => *r = rec,
                None => {
                    self.seen.insert(key.to_vec(), rec);
                }
            }
        }
        let at = DbRecordAt {
            revision: rk.rev,
            tombstone: rk.tombstone,
            page,
            offset,
            value_offset: None,
        };
        let Some(x) = expected else {
            // A record the replay never wrote (a bump marker has no key: skipped).
            if let Some(key) = kv.key {
                self.checked += 1;
                self.mismatched += 1;
                if self.mismatches.len() < MAX_MISMATCHES {
                    self.mismatches.push(Mismatch {
                        key: key.to_vec(),
                        key_escaped: escape_bytes(key),
                        wal: None,
                        db: Some(at),
                        diffs: vec![Diff {
                            field: "record",
                            expected: "no record at this revision (the WAL wrote none)".into(),
                            actual: format!("a record of the key at revision {}", rk.rev),
                        }],
                    });
                }
            }
            return;
        };
        self.checked += 1;
        let value_offset = kv
            .value
            .map(|v| offset + (v.as_ptr() as usize).saturating_sub(value.as_ptr() as usize) as u64);
        let at = DbRecordAt {
            value_offset: value_offset.filter(|_| kv.ok),
            ..at
        };
        let diffs = record_diffs(x, rk.tombstone, &kv, digest.as_ref());
        if !diffs.is_empty() {
            self.mismatch(x, Some(at), diffs);
        }
    }

    fn mismatch(&mut self, e: &Expected, db: Option<DbRecordAt>, diffs: Vec<Diff>) {
        self.mismatched += 1;
        if self.mismatches.len() < MAX_MISMATCHES {
            self.mismatches.push(Mismatch {
                key: e.key.clone(),
                key_escaped: escape_bytes(&e.key),
                wal: Some(WalPos {
                    at: e.by.at,
                    entry: RaftPos::new(e.by.index, e.by.term),
                }),
                db,
                diffs,
            });
        }
    }

    /// An expected record the db does not hold: fine at or below the compaction revision.
    fn missing(&mut self, x: &Expected) {
        if x.main <= self.compact {
            return;
        }
        self.checked += 1;
        let want = if x.tombstone {
            format!("a tombstone at revision {}_{}", x.main, x.sub)
        } else {
            format!("{:?} at revision {}_{}", x.value, x.main, x.sub)
        };
        self.mismatch(
            x,
            None,
            vec![Diff {
                field: "record",
                expected: want,
                actual: "no record at this revision".into(),
            }],
        );
    }
}

fn record_diffs(
    x: &Expected,
    tombstone: bool,
    kv: &super::compare::Kv<'_>,
    value: Option<&ValueDigest>,
) -> Vec<Diff> {
    let d = |field: &'static str, e: String, a: String| Diff {
        field,
        expected: e,
        actual: a,
    };
    let mut out = Vec::new();
    if x.tombstone != tombstone {
        let name = |t: bool| if t { "a tombstone" } else { "a put" };
        out.push(d(
            "deleted",
            name(x.tombstone).into(),
            name(tombstone).into(),
        ));
        return out;
    }
    if !kv.ok {
        out.push(d(
            "record",
            "an mvccpb.KeyValue".into(),
            "the record does not decode".into(),
        ));
        return out;
    }
    if kv.key != Some(x.key.as_slice()) {
        out.push(d(
            "key",
            escape_bytes(&x.key),
            escape_bytes(kv.key.unwrap_or_default()),
        ));
    }
    let value = value
        .cloned()
        .unwrap_or_else(|| ValueDigest::of(kv.value.unwrap_or_default()));
    if value != x.value {
        out.push(d("value", format!("{:?}", x.value), format!("{value:?}")));
    }
    let ints = [
        ("lease", x.lease, kv.lease),
        ("create_revision", x.create, kv.create),
        (
            "mod_revision",
            if x.tombstone { 0 } else { x.main },
            kv.modr,
        ),
        ("version", x.version, kv.version),
    ];
    for (field, want, have) in ints {
        if want != have {
            out.push(d(field, want.to_string(), have.to_string()));
        }
    }
    out
}

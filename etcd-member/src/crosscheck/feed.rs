//! Feeding WAL entries to the keyspace models in the order etcd applies them: only
//! committed entries up to the db's consistent index, the last copy of an index that raft
//! overwrote, and a hole or an unreadable entry forgets everything before it.

use std::collections::VecDeque;

use etcd_proto::pb::raftpb::EntryType;
use etcd_wal::payload::{Payload, decode_entry};
use etcd_wal::record::{RecordType, decode_hard_state};
use etcd_wal::scan::{Event, RecordStatus};

use super::model::{self, Model, Pos};
use super::revisions::{RevisionWorker, Revisions};
use super::strip::strip_put_values;
use super::value::ValueDigest;

/// Bytes of entries held back until a HardState says they are committed; beyond this the
/// oldest are applied at once (and a later overwrite of them forgets everything).
const MAX_PENDING_BYTES: usize = 64 << 20;

struct Pending {
    pos: Pos,
    /// The entry decoded when it was read (no copy of its bytes is kept; put values are
    /// kept as digests, `strip`).
    payload: Payload,
    /// The digests of its put values, when they were stripped.
    digests: Option<Vec<ValueDigest>>,
    /// The entry's data size, which the cap on held entries counts.
    bytes: usize,
}

/// The state of the feed.
#[derive(Default)]
pub(crate) struct Feed {
    pub ci: u64,
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    commit: u64,
    /// Last index applied (or the one before the first entry).
    pub applied: Option<u64>,
    pub first_index: Option<u64>,
    pub full: Option<Model>,
    pub partial: Option<Model>,
    pub notes: Vec<String>,
    pub entries_applied: u64,
    /// Every revision record compared while the full model lives (dropped with it), on a
    /// thread of its own.
    pub revisions: Option<RevisionWorker>,
    /// That comparison once finished ([`Feed::finish`]).
    pub revisions_done: Option<Revisions>,
    /// The comparison was made on the db's walk and its result is wanted
    /// (`ValueCheck::revisions_from_db_walk`).
    pub revisions_joined: bool,
    finished: bool,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("ci", &self.ci)
            .field("applied", &self.applied)
            .field("first_index", &self.first_index)
            .finish_non_exhaustive()
    }
}

impl Feed {
    pub fn new(ci: u64, auth_on: bool, alarms_on: bool) -> Feed {
        Feed {
            ci,
            partial: Some(Model::partial(auth_on, alarms_on)),
            ..Feed::default()
        }
    }

    fn note(&mut self, n: String) {
        if self.notes.len() < 8 {
            self.notes.push(n);
        }
    }

    fn taint(&mut self, why: String) {
        if let Some(p) = &mut self.partial {
            p.taint_all(why.clone());
        }
        if self.full.take().is_some() {
            self.note(format!("not a complete history: {why}"));
        }
        self.drop_exhausted();
        self.pending.clear();
        self.pending_bytes = 0;
    }

    pub fn observe(&mut self, ev: &Event<'_>) {
        let r = match ev {
            Event::SegmentStart { .. } => return,
            Event::Record(r) => r,
            Event::Finding(_) => return,
        };
        let trusted = matches!(
            r.status,
            RecordStatus::Verified | RecordStatus::AfterDamageVerified
        );
        if !trusted {
            return; // a lost entry shows as a hole in the indexes
        }
        match r.record.record_type() {
            Some(RecordType::State) => {
                if let Ok(hs) = decode_hard_state(r.record.data) {
                    self.commit = self.commit.max(hs.commit);
                    self.drain(self.commit.min(self.ci));
                }
            }
            Some(RecordType::Entry) => {
                if let Some(e) = r.entry {
                    let pos = Pos {
                        at: r.at,
                        index: e.index,
                        term: e.term,
                    };
                    self.entry(pos, e.entry_type, e.data);
                }
            }
            _ => {}
        }
    }

    fn entry(&mut self, pos: Pos, entry_type: i32, data: &[u8]) {
        let i = pos.index;
        if i == 0 || i > self.ci {
            return; // not applied to the db
        }
        let applied = match self.applied {
            Some(a) => a,
            None => {
                self.first_index = Some(i);
                if i == 1 {
                    self.full = Some(Model::full());
                }
                i - 1
            }
        };
        self.applied = Some(applied);
        if i <= applied {
            self.taint(format!(
                "entry {i} appears again after it was replayed (raft overwrote it)"
            ));
            self.applied = Some(i - 1);
        } else {
            while self.pending.back().is_some_and(|p| p.pos.index >= i) {
                if let Some(p) = self.pending.pop_back() {
                    self.pending_bytes -= p.bytes;
                }
            }
            let expect = self.pending.back().map_or(applied, |p| p.pos.index) + 1;
            if i > expect {
                self.taint(format!(
                    "entries {expect}..{} are missing or unreadable",
                    i - 1
                ));
                self.applied = Some(i - 1);
            }
        }
        self.pending_bytes += data.len();
        let (payload, digests) = decode_stripped(entry_type, data);
        self.pending.push_back(Pending {
            pos,
            payload,
            digests,
            bytes: data.len(),
        });
        self.drain(self.commit.min(self.ci));
        while self.pending_bytes > MAX_PENDING_BYTES {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            self.pending_bytes -= p.bytes;
            self.apply(p);
        }
    }

    fn drain(&mut self, upto: u64) {
        while self.pending.front().is_some_and(|p| p.pos.index <= upto) {
            if let Some(p) = self.pending.pop_front() {
                self.pending_bytes -= p.bytes;
                self.apply(p);
            }
        }
    }

    fn apply(&mut self, p: Pending) {
        self.applied = Some(p.pos.index);
        self.entries_applied += 1;
        match p.payload {
            Payload::Request(irr) => {
                let digests = p.digests.as_deref();
                if let Some(f) = &mut self.full {
                    f.apply_with(&irr, p.pos, digests);
                }
                if let Some(m) = &mut self.partial {
                    m.apply_with(&irr, p.pos, digests);
                }
            }
            Payload::Undecodable { .. } => {
                let why = format!("entry {} does not decode", p.pos.index);
                if let Some(m) = &mut self.partial {
                    m.taint_all(why.clone());
                }
                if self.full.take().is_some() {
                    self.note(format!("not a complete history: {why}"));
                }
            }
            _ => {}
        }
        self.drop_exhausted();
        if self.full.as_ref().is_some_and(|f| f.rev.is_none()) {
            let notes = self.full.take().map(|f| f.notes).unwrap_or_default();
            for n in notes {
                self.note(format!("revisions cannot be followed: {n}"));
            }
        }
        self.hand_over_records();
    }

    /// Pass the full model's new records to the revision check; without a full model
    /// (never started, or dropped) there is nothing to compare them with.
    fn hand_over_records(&mut self) {
        match (&mut self.full, &mut self.revisions) {
            (Some(f), Some(r)) => r.push(&mut f.emitted),
            (Some(f), None) => f.emitted.clear(),
            (None, Some(_)) if self.applied.is_some() => self.revisions = None,
            _ => {}
        }
    }

    /// A model whose work ran out no longer follows the WAL: drop it (with the partial one
    /// gone, nothing is checked).
    fn drop_exhausted(&mut self) {
        let why = |index: u64| {
            format!(
                "the WAL's range operations up to index {index} visit more than {} keys in all: \
                 values not followed past it",
                model::MAX_WORK
            )
        };
        let index = self.applied.unwrap_or(0);
        if self.full.as_ref().is_some_and(|m| m.exhausted) {
            self.full = None;
            self.note(format!("not a complete history: {}", why(index)));
        }
        if self.partial.as_ref().is_some_and(|m| m.exhausted) {
            self.partial = None;
            self.note(why(index));
        }
    }

    /// The end of the WAL: apply what is held back up to the consistent index.
    pub fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.drain(self.ci);
        self.hand_over_records();
        let worker = self.revisions.take();
        if self.full.is_some() {
            self.revisions_joined = worker.as_ref().is_some_and(RevisionWorker::is_joined);
            self.revisions_done = worker.and_then(RevisionWorker::finish);
        }
        let applied = self.applied.unwrap_or(0);
        if applied < self.ci {
            self.taint(format!(
                "the WAL's entries end at index {applied}, before the db's consistent index {}",
                self.ci
            ));
        }
    }
}

/// An entry decoded with its put values digested instead of copied (`strip`); an entry
/// that is not a v3 write, or whose stripped bytes do not decode as one, is decoded as it
/// is.
fn decode_stripped(entry_type: i32, data: &[u8]) -> (Payload, Option<Vec<ValueDigest>>) {
    if entry_type == EntryType::EntryNormal as i32 {
        if let Some(s) = strip_put_values(data) {
            if let p @ Payload::Request(_) = decode_entry(entry_type, &s.data) {
                return (p, Some(s.digests));
            }
        }
    }
    (decode_entry(entry_type, data), None)
}

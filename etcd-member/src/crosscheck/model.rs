//! The v3 keyspace as far as the WAL determines it: etcd's apply of puts, deletes, txns
//! and leases (`server/etcdserver/apply.go`, `server/mvcc`, `server/lease`, 3.4/3.5),
//! where every fact that depends on state the WAL does not show is `Unknown`.
//!
//! Two starting points: a *full* model starts from the empty keyspace at revision 1 (the
//! WAL holds the whole history), a *partial* one knows nothing of the keys before the
//! WAL (only what the WAL itself writes, no revisions).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use etcd_proto::pb::etcdserverpb::{
    AlarmAction, AlarmRequest, Compare, CompareResult, CompareTarget, InternalRaftRequest,
    PutRequest, RequestOp, TxnRequest, compare::TargetUnion, request_op::Request as Op,
};

use super::value::ValueDigest;
use etcd_wal::WalLocation;

/// Where in the WAL an entry lies: segment position in the listing, offset, index, term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub at: WalLocation,
    pub index: u64,
    pub term: u64,
}

/// Yes / no / cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    No,
    Yes,
    Maybe,
}

/// A live key as the WAL determines it; `None` = not determinable.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub value: ValueDigest,
    pub lease: Option<i64>,
    pub create: Option<i64>,
    pub modr: Option<i64>,
    pub version: Option<i64>,
    pub by: Pos,
}

/// What the db must hold as a key's latest revision.
#[derive(Debug, Clone)]
pub(crate) enum State {
    /// A value.
    Live(Live),
    /// Deleted (at revision `rev` when known).
    Absent { rev: Option<i64>, by: Pos },
    /// The WAL writes the key, but what it leaves cannot be told.
    Unknown { by: Pos },
}

/// A record the replay says the db's `key` bucket holds at revision `(main, sub)` (made by
/// a model of the whole history only): a put's `mvccpb.KeyValue`, or a tombstone (key only).
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    pub main: i64,
    pub sub: i64,
    pub key: Vec<u8>,
    pub tombstone: bool,
    pub value: ValueDigest,
    pub lease: i64,
    pub create: i64,
    pub version: i64,
    pub by: Pos,
}

/// The effect of one request on the store revision.
struct Effect<'d> {
    /// The digests of the entry's put values, when its bytes were stripped of them
    /// (`strip`).
    digests: Option<&'d [ValueDigest]>,
    next: Option<i64>,
    changed: Tri,
    /// Writes of this request so far: the sub-revision of the next one (etcd's
    /// `len(tw.changes)`).
    sub: i64,
}

impl Effect<'_> {
    fn yes(&mut self) {
        self.changed = Tri::Yes;
    }
    fn maybe(&mut self) {
        if self.changed == Tri::No {
            self.changed = Tri::Maybe;
        }
    }
}

/// The keyspace model.
#[derive(Debug)]
pub(crate) struct Model {
    /// Starts from the empty keyspace (complete history).
    pub full: bool,
    /// Current store revision, when known.
    pub rev: Option<i64>,
    /// Every key the WAL wrote.
    pub keys: BTreeMap<Vec<u8>, State>,
    /// Lease existence (absent: full → does not exist, partial → unknown).
    leases: HashMap<i64, Tri>,
    /// Live keys per known lease.
    attached: HashMap<i64, BTreeSet<Vec<u8>>>,
    /// Live keys whose lease is unknown.
    lease_unknown: BTreeSet<Vec<u8>>,
    /// Auth enabled (requests may be refused by permission checks).
    auth: Tri,
    /// Active NOSPACE/CORRUPT alarms (member, type); `None` = unknown.
    alarms: Option<BTreeSet<(u64, i32)>>,
    /// Why facts were lost (first few).
    pub notes: Vec<String>,
    /// Key visits left for range operations (see [`MAX_WORK`]).
    pub work_left: usize,
    /// The work ran out: the model no longer follows the WAL and must not be used.
    pub exhausted: bool,
    /// Records written since the caller last took them, in revision order (full models
    /// only; see [`Expected`]).
    pub emitted: Vec<Expected>,
}

/// The pre-state of a key.
enum Prev {
    Live(Live),
    Absent,
    Unknown,
}

/// Tracked keys a model's range operations may visit over the whole replay (each range
/// compare, range delete or reset scans its keys, so many of them over a large keyspace
/// would take the product of the two). Past this the model gives up ([`Model::exhausted`]).
pub(crate) const MAX_WORK: usize = 1 << 24;

/// Take a live key off the lease it was attached to (or off the keys whose lease is unknown).
fn detach(
    attached: &mut HashMap<i64, BTreeSet<Vec<u8>>>,
    lease_unknown: &mut BTreeSet<Vec<u8>>,
    key: &[u8],
    lease: Option<i64>,
) {
    match lease {
        Some(0) => {}
        Some(l) => {
            if let Some(s) = attached.get_mut(&l) {
                s.remove(key);
            }
        }
        None => {
            lease_unknown.remove(key);
        }
    }
}

/// Bounds of a key range for `BTreeMap::range`.
type KeyBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

fn in_range(key: &[u8], end: &[u8]) -> Option<KeyBounds> {
    if end == b"\0" {
        return Some((Bound::Included(key.to_vec()), Bound::Unbounded));
    }
    (key < end).then(|| (Bound::Included(key.to_vec()), Bound::Excluded(end.to_vec())))
}

impl Model {
    /// A model of the whole history (empty keyspace at revision 1, no leases, auth off).
    pub fn full() -> Model {
        Model {
            full: true,
            rev: Some(1),
            keys: BTreeMap::new(),
            leases: HashMap::new(),
            attached: HashMap::new(),
            lease_unknown: BTreeSet::new(),
            auth: Tri::No,
            alarms: Some(BTreeSet::new()),
            notes: Vec::new(),
            work_left: MAX_WORK,
            exhausted: false,
            emitted: Vec::new(),
        }
    }

    /// A model that knows nothing before its first entry. `auth_on` / `alarms_on`: what the
    /// db says at its consistent index (when on, writes cannot be told throughout).
    pub fn partial(auth_on: bool, alarms_on: bool) -> Model {
        Model {
            full: false,
            rev: None,
            auth: if auth_on { Tri::Maybe } else { Tri::No },
            alarms: (!alarms_on).then(BTreeSet::new),
            ..Model::full()
        }
    }

    fn note(&mut self, n: String) {
        if self.notes.len() < 8 {
            self.notes.push(n);
        }
    }

    /// Forget every fact (a hole in the WAL, or an entry that cannot be read): every key
    /// becomes unknown, the model becomes partial. Visiting the keys takes from the work
    /// budget (when it runs out, the model is [`exhausted`](Model::exhausted) instead).
    pub fn taint_all(&mut self, why: String) {
        self.note(why);
        match self.work_left.checked_sub(self.keys.len()) {
            Some(left) => self.work_left = left,
            None => {
                self.work_left = 0;
                self.exhausted = true;
            }
        }
        if !self.exhausted {
            for s in self.keys.values_mut() {
                let by = match s {
                    State::Live(l) => l.by,
                    State::Absent { by, .. } | State::Unknown { by } => *by,
                };
                *s = State::Unknown { by };
            }
        }
        self.full = false;
        self.rev = None;
        self.leases.clear();
        self.attached.clear();
        self.lease_unknown.clear();
    }

    fn prev(&self, key: &[u8]) -> Prev {
        match self.keys.get(key) {
            Some(State::Live(l)) => Prev::Live(l.clone()),
            Some(State::Absent { .. }) => Prev::Absent,
            Some(State::Unknown { .. }) => Prev::Unknown,
            None if self.full => Prev::Absent,
            None => Prev::Unknown,
        }
    }

    fn lease(&self, id: i64) -> Tri {
        match self.leases.get(&id) {
            Some(t) => *t,
            None if self.full => Tri::No,
            None => Tri::Maybe,
        }
    }

    fn set(&mut self, key: &[u8], state: State) {
        if let Some(State::Live(old)) = self.keys.get(key) {
            detach(&mut self.attached, &mut self.lease_unknown, key, old.lease);
        }
        if let State::Live(new) = &state {
            match new.lease {
                Some(0) => {}
                Some(l) => {
                    self.attached.entry(l).or_default().insert(key.to_vec());
                }
                None => {
                    self.lease_unknown.insert(key.to_vec());
                }
            }
        }
        self.keys.insert(key.to_vec(), state);
    }

    /// Record a write at the request's next sub-revision (full models with a known
    /// revision; the sub-revision counts every write either way).
    fn emit(&mut self, e: &mut Effect<'_>, key: &[u8], live: Option<&Live>, by: Pos) {
        let sub = e.sub;
        e.sub += 1;
        let (Some(main), true) = (e.next, self.full) else {
            return;
        };
        let rec = match live {
            Some(l) => match (l.create, l.version) {
                (Some(create), Some(version)) => Expected {
                    main,
                    sub,
                    key: key.to_vec(),
                    tombstone: false,
                    value: l.value.clone(),
                    lease: l.lease.unwrap_or(0),
                    create,
                    version,
                    by,
                },
                _ => return,
            },
            None => Expected {
                main,
                sub,
                key: key.to_vec(),
                tombstone: true,
                value: ValueDigest::of(&[]),
                lease: 0,
                create: 0,
                version: 0,
                by,
            },
        };
        self.emitted.push(rec);
    }

    fn blur(&mut self, key: &[u8], by: Pos) {
        self.set(key, State::Unknown { by });
    }

    /// Change the tracked keys in `[key, end)` (etcd's range convention; `end` empty =
    /// `key` only) in place: `f` gets each key's state and returns its new one (never
    /// `Live`; `None`: unchanged). Each key visited is taken from the work budget; once it
    /// runs out the visit stops and the model is [`exhausted`](Model::exhausted).
    fn each_tracked(
        &mut self,
        key: &[u8],
        end: &[u8],
        mut f: impl FnMut(&[u8], &State) -> Option<State>,
    ) {
        let range = if end.is_empty() {
            (Bound::Included(key.to_vec()), Bound::Included(key.to_vec()))
        } else {
            match in_range(key, end) {
                Some(r) => r,
                None => return,
            }
        };
        let Model {
            keys,
            attached,
            lease_unknown,
            work_left,
            exhausted,
            ..
        } = self;
        for (k, s) in keys.range_mut(range) {
            let Some(left) = work_left.checked_sub(1) else {
                *exhausted = true;
                return;
            };
            *work_left = left;
            let Some(new) = f(k, s) else { continue };
            if let State::Live(old) = s {
                detach(attached, lease_unknown, k, old.lease);
            }
            *s = new;
        }
    }

    /// Writes may be refused for reasons the model does not follow (auth, alarms).
    fn gated(&self) -> bool {
        self.auth != Tri::No || self.alarms.as_ref().is_none_or(|a| !a.is_empty())
    }

    /// Apply one `InternalRaftRequest` (etcd's `applyV3Request`: the first field set wins).
    #[cfg(test)]
    pub fn apply(&mut self, irr: &InternalRaftRequest, at: Pos) {
        self.apply_with(irr, at, None);
    }

    /// Apply one request; `digests`: those of its put values when its bytes were stripped
    /// of them (`strip::strip_put_values`).
    pub fn apply_with(
        &mut self,
        irr: &InternalRaftRequest,
        at: Pos,
        digests: Option<&[ValueDigest]>,
    ) {
        if irr.v2.is_some() || irr.range.is_some() {
            return;
        }
        let mut e = Effect {
            digests,
            next: self.rev.map(|r| r + 1),
            changed: Tri::No,
            sub: 0,
        };
        if let Some(p) = &irr.put {
            if self.gated() {
                self.blur(&p.key, at);
                e.maybe();
            } else {
                self.top_put(p, at, &mut e);
            }
        } else if let Some(d) = &irr.delete_range {
            if self.gated() {
                self.each_tracked(&d.key, &d.range_end, |_, _| Some(State::Unknown { by: at }));
                e.maybe();
            } else {
                self.delete(&d.key, &d.range_end, at, &mut e);
            }
        } else if let Some(t) = &irr.txn {
            if self.gated() {
                self.blur_txn(t, at, &mut e);
            } else {
                self.txn(t, at, &mut e);
            }
        } else if irr.compaction.is_some() {
            // Removes history only; a key's latest revision (unless a tombstone) stays.
        } else if let Some(g) = &irr.lease_grant {
            let t = if self.gated() { Tri::Maybe } else { Tri::Yes };
            if self.lease(g.id) != Tri::Yes {
                self.leases.insert(g.id, t);
            }
        } else if let Some(r) = &irr.lease_revoke {
            self.revoke(r.id, at, &mut e);
        } else if irr.lease_checkpoint.is_some() {
        } else if let Some(a) = &irr.alarm {
            self.alarm(a);
        } else if irr.authenticate.is_some() {
        } else if irr.auth_enable.is_some() {
            // Fails without a root user: cannot tell here.
            self.auth = Tri::Maybe;
        } else if irr.auth_disable.is_some() {
            if !self.full && self.auth == Tri::No {
                self.taint_all(format!(
                    "auth was disabled at index {}: it may have been enabled before the WAL \
                     starts, refusing writes",
                    at.index
                ));
            }
            self.auth = Tri::No;
        }
        match e.changed {
            Tri::Yes => self.rev = e.next,
            Tri::Maybe => {
                if self.full {
                    self.note(format!(
                        "whether the request at index {} changed the store revision cannot be told",
                        at.index
                    ));
                }
                self.rev = None;
            }
            Tri::No => {}
        }
    }

    fn alarm(&mut self, a: &AlarmRequest) {
        let key = (a.member_id, a.alarm);
        let gating = matches!(a.alarm, 1 | 2);
        match AlarmAction::try_from(a.action) {
            Ok(AlarmAction::Get) => {}
            Ok(AlarmAction::Activate) if !gating => {}
            Ok(AlarmAction::Activate) | Ok(AlarmAction::Deactivate) | Err(_) if !self.full => {
                self.taint_all("an alarm was raised or cleared in the WAL".into());
                self.alarms = None;
            }
            Ok(AlarmAction::Activate) => {
                if let Some(s) = &mut self.alarms {
                    s.insert(key);
                }
            }
            Ok(AlarmAction::Deactivate) => {
                if let Some(s) = &mut self.alarms {
                    s.remove(&key);
                }
            }
            Err(_) => self.alarms = None,
        }
    }

    /// A top-level put: the lease must exist (etcd checks it before opening the txn).
    fn top_put(&mut self, p: &PutRequest, at: Pos, e: &mut Effect<'_>) {
        if p.lease != 0 {
            match self.lease(p.lease) {
                Tri::No => return,
                Tri::Maybe => {
                    self.blur(&p.key, at);
                    e.maybe();
                    return;
                }
                Tri::Yes => {}
            }
        }
        self.put(p, at, e);
    }

    /// `txn.Put` after the checks: `ignore_value`/`ignore_lease` need the key to exist.
    fn put(&mut self, p: &PutRequest, at: Pos, e: &mut Effect<'_>) {
        let prev = self.prev(&p.key);
        if p.ignore_value || p.ignore_lease {
            match prev {
                Prev::Absent => return, // ErrKeyNotFound
                Prev::Unknown => {
                    self.blur(&p.key, at);
                    e.maybe();
                    return;
                }
                Prev::Live(_) => {}
            }
        }
        let old = match &prev {
            Prev::Live(l) => Some(l),
            _ => None,
        };
        let value = match old {
            Some(l) if p.ignore_value => l.value.clone(),
            _ => super::strip::digest_of(&p.value, e.digests),
        };
        let lease = match old {
            Some(l) if p.ignore_lease => l.lease,
            _ => Some(p.lease),
        };
        let (create, version) = match &prev {
            Prev::Live(l) => (l.create, l.version.map(|v| v + 1)),
            Prev::Absent => (e.next, Some(1)),
            Prev::Unknown => (None, None),
        };
        let live = Live {
            value,
            lease,
            create,
            modr: e.next,
            version,
            by: at,
        };
        self.emit(e, &p.key, Some(&live), at);
        self.set(&p.key, State::Live(live));
        e.yes();
    }

    fn delete(&mut self, key: &[u8], end: &[u8], at: Pos, e: &mut Effect<'_>) {
        let mut deleted = Vec::new();
        self.each_tracked(key, end, |k, s| match s {
            State::Live(_) => {
                e.yes();
                deleted.push(k.to_vec());
                Some(State::Absent {
                    rev: e.next,
                    by: at,
                })
            }
            State::Absent { .. } => None,
            State::Unknown { .. } => {
                e.maybe();
                Some(State::Absent { rev: None, by: at })
            }
        });
        // etcd deletes the range's keys in key order, one sub-revision each.
        for k in deleted {
            self.emit(e, &k, None, at);
        }
        if !self.full {
            if end.is_empty() {
                if !self.keys.contains_key(key) {
                    // Whatever it was, the key is gone now.
                    self.set(key, State::Absent { rev: None, by: at });
                }
            } else {
                // Keys the WAL never wrote may have been deleted too.
            }
            e.maybe();
        }
    }

    fn revoke(&mut self, id: i64, at: Pos, e: &mut Effect<'_>) {
        let gated = self.gated();
        if self.lease(id) == Tri::No && !gated {
            return; // ErrLeaseNotFound
        }
        let keys: Vec<Vec<u8>> = self
            .attached
            .get(&id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for k in keys {
            if gated {
                self.blur(&k, at);
                e.maybe();
            } else {
                // etcd's lessor deletes the keys sorted, one sub-revision each.
                self.emit(e, &k, None, at);
                self.set(
                    &k,
                    State::Absent {
                        rev: e.next,
                        by: at,
                    },
                );
                e.yes();
            }
        }
        // Keys whose lease is unknown may have been attached to this one.
        for k in std::mem::take(&mut self.lease_unknown) {
            self.blur(&k, at);
            e.maybe();
        }
        if !self.full {
            e.maybe(); // keys the WAL never wrote may be attached
        }
        self.leases
            .insert(id, if gated { Tri::Maybe } else { Tri::No });
    }

    // ----------------------------------------------------------------------------- txns

    fn txn(&mut self, t: &TxnRequest, at: Pos, e: &mut Effect<'_>) {
        let mut path = Vec::new();
        let mut budget = self.work_left;
        let told = self.path(t, &mut path, &mut budget);
        self.work_left = budget;
        if budget == 0 {
            self.exhausted = true;
            return;
        }
        if told.is_none() {
            self.blur_txn(t, at, e);
            return;
        }
        match self.check(t, &mut path.iter().copied()) {
            Tri::No => {}
            Tri::Maybe => self.blur_txn(t, at, e),
            Tri::Yes => self.apply_path(t, &mut path.into_iter(), at, e),
        }
    }

    /// etcd's `compareToPath`: the branch of this txn and of every nested txn on the way,
    /// depth first, all on the state before the txn. `None` when a compare cannot be told.
    /// `budget`: tracked keys the range compares may still visit.
    fn path(&self, t: &TxnRequest, out: &mut Vec<bool>, budget: &mut usize) -> Option<()> {
        let ok = self.compares(&t.compare, budget)?;
        out.push(ok);
        for op in if ok { &t.success } else { &t.failure } {
            if let Some(Op::RequestTxn(n)) = &op.request {
                self.path(n, out, budget)?;
            }
        }
        Some(())
    }

    /// etcd's `checkRequests` along the path: a failing check fails the whole txn.
    fn check(&self, t: &TxnRequest, path: &mut dyn Iterator<Item = bool>) -> Tri {
        let Some(ok) = path.next() else {
            return Tri::Maybe;
        };
        let mut out = Tri::Yes;
        for op in if ok { &t.success } else { &t.failure } {
            let r = match &op.request {
                Some(Op::RequestPut(p)) => self.check_put(p),
                Some(Op::RequestRange(r)) if r.revision > 0 => Tri::Maybe,
                Some(Op::RequestTxn(n)) => self.check(n, path),
                _ => Tri::Yes,
            };
            match r {
                Tri::No => return Tri::No,
                Tri::Maybe => out = Tri::Maybe,
                Tri::Yes => {}
            }
        }
        out
    }

    fn check_put(&self, p: &PutRequest) -> Tri {
        let mut out = Tri::Yes;
        if p.ignore_value || p.ignore_lease {
            match self.prev(&p.key) {
                Prev::Absent => return Tri::No,
                Prev::Unknown => out = Tri::Maybe,
                Prev::Live(_) => {}
            }
        }
        if p.lease != 0 {
            match self.lease(p.lease) {
                Tri::No => return Tri::No,
                Tri::Maybe => out = Tri::Maybe,
                Tri::Yes => {}
            }
        }
        out
    }

    fn apply_path(
        &mut self,
        t: &TxnRequest,
        path: &mut dyn Iterator<Item = bool>,
        at: Pos,
        e: &mut Effect<'_>,
    ) {
        let Some(ok) = path.next() else {
            return;
        };
        for op in if ok { &t.success } else { &t.failure } {
            match &op.request {
                Some(Op::RequestPut(p)) => self.put(p, at, e),
                Some(Op::RequestDeleteRange(d)) => self.delete(&d.key, &d.range_end, at, e),
                Some(Op::RequestTxn(n)) => self.apply_path(n, path, at, e),
                _ => {}
            }
        }
    }

    /// Every key either branch (at any depth) may write becomes unknown.
    fn blur_txn(&mut self, t: &TxnRequest, at: Pos, e: &mut Effect<'_>) {
        let ops: Vec<&RequestOp> = t.success.iter().chain(&t.failure).collect();
        for op in ops {
            match &op.request {
                Some(Op::RequestPut(p)) => {
                    self.blur(&p.key, at);
                    e.maybe();
                }
                Some(Op::RequestDeleteRange(d)) => {
                    self.each_tracked(&d.key, &d.range_end, |_, _| Some(State::Unknown { by: at }));
                    e.maybe();
                }
                Some(Op::RequestTxn(n)) => self.blur_txn(n, at, e),
                _ => {}
            }
        }
    }

    fn compares(&self, cs: &[Compare], budget: &mut usize) -> Option<bool> {
        let mut unknown = false;
        for c in cs {
            match self.compare(c, budget) {
                Some(false) => return Some(false),
                Some(true) => {}
                None => unknown = true,
            }
        }
        (!unknown).then_some(true)
    }

    /// etcd's `applyCompare`. A range compare visits the tracked keys in its range without
    /// copying them and takes them from `budget`; when that runs out (0), it cannot be told.
    fn compare(&self, c: &Compare, budget: &mut usize) -> Option<bool> {
        let target = CompareTarget::try_from(c.target).ok()?;
        let result = CompareResult::try_from(c.result).ok()?;
        if c.range_end.is_empty() {
            return match self.prev(&c.key) {
                Prev::Live(l) => compare_kv(c, target, result, Some(&l)),
                Prev::Absent if target == CompareTarget::Value => Some(false),
                Prev::Absent => compare_kv(c, target, result, None),
                Prev::Unknown => None,
            };
        }
        if !self.full {
            return None;
        }
        let mut any = false;
        let mut all = true;
        if let Some(r) = in_range(&c.key, &c.range_end) {
            for (_, s) in self.keys.range(r) {
                match budget.checked_sub(1) {
                    Some(b) if b > 0 => *budget = b,
                    _ => {
                        *budget = 0;
                        return None;
                    }
                }
                match s {
                    State::Live(l) => {
                        any = true;
                        all &= compare_kv(c, target, result, Some(l))?;
                    }
                    State::Absent { .. } => {}
                    State::Unknown { .. } => return None,
                }
            }
        }
        if !any {
            if target == CompareTarget::Value {
                return Some(false);
            }
            return compare_kv(c, target, result, None);
        }
        Some(all)
    }
}

/// etcd's `compareKV` on a live key (`None`: the zero KeyValue).
fn compare_kv(
    c: &Compare,
    target: CompareTarget,
    result: CompareResult,
    kv: Option<&Live>,
) -> Option<bool> {
    let int = |get: fn(&Live) -> Option<i64>, operand: Option<i64>| -> Option<Ordering> {
        let have = match kv {
            Some(l) => get(l)?,
            None => 0,
        };
        Some(have.cmp(&operand.unwrap_or(0)))
    };
    let ord = match target {
        CompareTarget::Value => {
            let operand: &[u8] = match &c.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            match (kv, result) {
                (Some(l), CompareResult::Equal | CompareResult::NotEqual) => {
                    if l.value.eq_bytes(operand) {
                        Ordering::Equal
                    } else {
                        Ordering::Less // any "not equal"
                    }
                }
                (Some(l), _) => l.value.cmp_bytes(operand)?,
                (None, _) => b"".as_slice().cmp(operand),
            }
        }
        CompareTarget::Version => int(
            |l| l.version,
            match c.target_union {
                Some(TargetUnion::Version(v)) => Some(v),
                _ => None,
            },
        )?,
        CompareTarget::Create => int(
            |l| l.create,
            match c.target_union {
                Some(TargetUnion::CreateRevision(v)) => Some(v),
                _ => None,
            },
        )?,
        CompareTarget::Mod => int(
            |l| l.modr,
            match c.target_union {
                Some(TargetUnion::ModRevision(v)) => Some(v),
                _ => None,
            },
        )?,
        CompareTarget::Lease => int(
            |l| l.lease,
            match c.target_union {
                Some(TargetUnion::Lease(v)) => Some(v),
                _ => None,
            },
        )?,
    };
    Some(match result {
        CompareResult::Equal => ord.is_eq(),
        CompareResult::NotEqual => ord.is_ne(),
        CompareResult::Greater => ord.is_gt(),
        CompareResult::Less => ord.is_lt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::pb::etcdserverpb::{
        DeleteRangeRequest, LeaseGrantRequest, LeaseRevokeRequest, RequestOp,
    };

    const AT: Pos = Pos {
        at: WalLocation {
            segment: etcd_wal::segment::SegmentName { seq: 0, index: 0 },
            segment_pos: 0,
            offset: 0,
            ordinal: 0,
        },
        index: 1,
        term: 1,
    };

    fn put(key: &str, value: &str, lease: i64) -> InternalRaftRequest {
        InternalRaftRequest {
            put: Some(PutRequest {
                key: key.into(),
                value: value.into(),
                lease,
                ..PutRequest::default()
            }),
            ..InternalRaftRequest::default()
        }
    }

    fn op_put(key: &str, value: &str) -> RequestOp {
        RequestOp {
            request: Some(Op::RequestPut(PutRequest {
                key: key.into(),
                value: value.into(),
                ..PutRequest::default()
            })),
        }
    }

    fn txn_on(key: &str, version: i64) -> InternalRaftRequest {
        InternalRaftRequest {
            txn: Some(TxnRequest {
                compare: vec![Compare {
                    result: CompareResult::Equal as i32,
                    target: CompareTarget::Version as i32,
                    key: key.into(),
                    target_union: Some(TargetUnion::Version(version)),
                    range_end: Vec::new(),
                }],
                success: vec![op_put("s", "yes")],
                failure: vec![op_put("f", "no")],
            }),
            ..InternalRaftRequest::default()
        }
    }

    fn live(m: &Model, k: &str) -> Live {
        match m.keys.get(k.as_bytes()) {
            Some(State::Live(l)) => l.clone(),
            s => panic!("{k}: {s:?}"),
        }
    }

    #[test]
    fn full_history_follows_revisions_and_versions() {
        let mut m = Model::full();
        m.apply(&put("a", "1", 0), AT);
        m.apply(&put("a", "2", 0), AT);
        let l = live(&m, "a");
        assert_eq!((l.create, l.modr, l.version), (Some(2), Some(3), Some(2)));
        assert!(l.value.eq_bytes(b"2"));
        // A txn on a known key takes its branch; the other branch's key is not written.
        m.apply(&txn_on("a", 2), AT);
        assert!(live(&m, "s").value.eq_bytes(b"yes") && !m.keys.contains_key(&b"f"[..]));
        let del = InternalRaftRequest {
            delete_range: Some(DeleteRangeRequest {
                key: "a".into(),
                range_end: "b".into(),
                prev_kv: false,
            }),
            ..InternalRaftRequest::default()
        };
        m.apply(&del, AT);
        assert!(matches!(
            m.keys.get(&b"a"[..]),
            Some(State::Absent { rev: Some(5), .. })
        ));
        // Deleting nothing does not move the revision.
        m.apply(&del, AT);
        assert_eq!(m.rev, Some(5));
    }

    #[test]
    fn leases_unknown_before_the_wal_make_their_keys_uncheckable() {
        let mut p = Model::partial(false, false);
        p.apply(&put("k", "v", 7), AT);
        assert!(matches!(p.keys.get(&b"k"[..]), Some(State::Unknown { .. })));
        // In a complete history a lease never granted does not exist: the put fails.
        let mut f = Model::full();
        f.apply(&put("k", "v", 7), AT);
        assert!(!f.keys.contains_key(&b"k"[..]) && f.rev == Some(1));
        // Granted in the WAL: known; revoked: the key is gone.
        let grant = InternalRaftRequest {
            lease_grant: Some(LeaseGrantRequest { ttl: 60, id: 7 }),
            ..InternalRaftRequest::default()
        };
        p.apply(&grant, AT);
        p.apply(&put("k", "v", 7), AT);
        assert_eq!(live(&p, "k").lease, Some(7));
        let revoke = InternalRaftRequest {
            lease_revoke: Some(LeaseRevokeRequest { id: 7 }),
            ..InternalRaftRequest::default()
        };
        p.apply(&revoke, AT);
        assert!(matches!(p.keys.get(&b"k"[..]), Some(State::Absent { .. })));
    }

    #[test]
    fn a_txn_on_a_key_older_than_the_wal_cannot_be_told() {
        let mut p = Model::partial(false, false);
        p.apply(&txn_on("old", 1), AT);
        for k in ["s", "f"] {
            assert!(matches!(
                p.keys.get(k.as_bytes()),
                Some(State::Unknown { .. })
            ));
        }
        // Once the WAL writes the key, the compare is known.
        p.apply(
            &InternalRaftRequest {
                delete_range: Some(DeleteRangeRequest {
                    key: "old".into(),
                    ..DeleteRangeRequest::default()
                }),
                ..InternalRaftRequest::default()
            },
            AT,
        );
        p.apply(&txn_on("old", 0), AT);
        assert!(live(&p, "s").value.eq_bytes(b"yes"));
    }

    #[test]
    fn auth_or_alarms_in_the_db_make_writes_uncheckable() {
        for (auth, alarms) in [(true, false), (false, true)] {
            let mut p = Model::partial(auth, alarms);
            p.apply(&put("k", "v", 0), AT);
            assert!(matches!(p.keys.get(&b"k"[..]), Some(State::Unknown { .. })));
        }
    }

    /// A txn of range compares, each over every key and true on each (version != 0).
    fn range_compares(n: usize) -> InternalRaftRequest {
        let c = Compare {
            result: CompareResult::NotEqual as i32,
            target: CompareTarget::Version as i32,
            key: Vec::new(),
            target_union: Some(TargetUnion::Version(0)),
            range_end: b"\0".to_vec(),
        };
        InternalRaftRequest {
            txn: Some(TxnRequest {
                compare: vec![c; n],
                success: vec![op_put("s", "yes")],
                failure: vec![op_put("f", "no")],
            }),
            ..InternalRaftRequest::default()
        }
    }

    #[test]
    fn range_compares_take_their_keys_from_the_work_budget() {
        // A hang found by construction: 20,000 range compares over 15,000 keys (1 MB of
        // WAL) copied every live key per compare, 3·10⁸ copies.
        let mut m = Model::full();
        for i in 0..200 {
            m.apply(&put(&format!("k{i:03}"), "v", 0), AT);
        }
        m.apply(&range_compares(10), AT);
        assert!(live(&m, "s").value.eq_bytes(b"yes"));
        assert_eq!(m.work_left, MAX_WORK - 10 * 200);
        assert!(!m.exhausted);
        m.work_left = 5_000;
        m.apply(&range_compares(100), AT);
        assert!(m.exhausted && m.work_left == 0);
    }

    #[test]
    fn range_deletes_and_resets_take_their_keys_from_the_work_budget() {
        // A hang found by construction: 12,000 deletes of ["", "\0") after 10,000 puts
        // (900 KB of WAL) copied every key the model ever wrote per delete.
        let del = InternalRaftRequest {
            delete_range: Some(DeleteRangeRequest {
                key: Vec::new(),
                range_end: b"\0".to_vec(),
                prev_kv: false,
            }),
            ..InternalRaftRequest::default()
        };
        for mut m in [Model::full(), Model::partial(false, false)] {
            for i in 0..100 {
                m.apply(&put(&format!("k{i:03}"), "v", 0), AT);
            }
            m.apply(&del, AT);
            assert!(matches!(
                m.keys.get(&b"k042"[..]),
                Some(State::Absent { .. })
            ));
            assert_eq!(m.work_left, MAX_WORK - 100);
            m.work_left = 1_050;
            for _ in 0..10 {
                m.apply(&del, AT);
            }
            assert!(!m.exhausted && m.work_left == 50);
            m.apply(&del, AT);
            assert!(m.exhausted && m.work_left == 0);
        }
        // Forgetting everything visits every key too.
        let mut m = Model::full();
        m.apply(&put("a", "1", 0), AT);
        m.apply(&put("b", "1", 0), AT);
        m.work_left = 3;
        m.taint_all("a hole".into());
        assert!(!m.exhausted && m.work_left == 1);
        m.taint_all("a hole".into());
        assert!(m.exhausted && m.work_left == 0);
    }
}

//! Cluster membership as a WAL records it: every ConfChange (add, learner add, promotion,
//! update, removal) and every member-attribute publication with its raft index, whether this
//! member's own WAL removes it, and the (index, term) shape of the log for comparing members.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = testdata::clean("v35-removed-member")?;
//! # let wal = fixture.path().join("data/m3/member/wal");
//! let (scan, history) = etcd_wal::membership::read_history(&wal)?;
//! let node_id = scan.metadata.as_ref().map(|m| m.node_id).expect("a metadata record");
//! let r = etcd_wal::membership::removed_self(&history, node_id).expect("m3 removed itself");
//! println!("removed at index {} ({})", r.index, r.at);
//! assert!(r.committed);
//! # Ok(()) }
//! ```
//!
//! What etcd 3.4/3.5 do with these entries (`etcdserver/server.go` `applyConfChange`,
//! `membership/cluster.go`): a RemoveNode of the server's own ID, once applied, makes it log
//! "the member has been permanently removed from the cluster" and "data-dir used by this
//! member must be removed" and stop with exit code 0 (measured on 3.5.1 and 3.4.23). A learner
//! promotion is an AddNode whose context JSON has `"isPromote":true`. Member names and client
//! URLs are published later by a v2 `PUT /0/members/<hex id>/attributes` entry (3.4/3.5), or
//! an `InternalRaftRequest.cluster_member_attr_set` (3.5+ when the cluster version allows).
//!
//! The log is read as etcd's `ReadAll` reads it: an entry whose index is not above the last
//! one replaces the earlier entries from that index on (a new leader overwrote them), and
//! entries after the first damage are not part of it (they are kept, flagged, for forensics).

use std::cmp::Ordering;
use std::path::Path;

use etcd_proto::RaftPos;

use crate::error::Error;
use crate::location::WalLocation;
use crate::payload::{self, MemberContext, Payload};
use crate::pb;
use crate::pb::raftpb::ConfChangeType;
use crate::record::{self, RecordType};
use crate::scan::{self, Event, RecordStatus, Scan};
use crate::wire::{Fields, Value};

/// Most term runs remembered (a run is a stretch of consecutive indexes with one term).
const MAX_TERM_RUNS: usize = 100_000;

/// Most changes or attribute publications remembered (etcd writes a handful per member).
const MAX_CHANGES: usize = 100_000;

/// What a membership entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ChangeKind {
    /// ConfChange AddNode: a voting member joins (`member add`, or the initial cluster).
    Add,
    /// ConfChange AddLearnerNode (`member add --learner`).
    AddLearner,
    /// ConfChange AddNode with `"isPromote":true` in its context (`member promote`).
    Promote,
    /// ConfChange UpdateNode (`member update`: new peer URLs).
    Update,
    /// ConfChange RemoveNode (`member remove`).
    Remove,
}

impl ChangeKind {
    /// Stable snake_case name (JSON and text output).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::AddLearner => "add_learner",
            ChangeKind::Promote => "promote",
            ChangeKind::Update => "update",
            ChangeKind::Remove => "remove",
        }
    }

    fn classify(cc_type: i32, context: Option<&MemberContext>) -> ChangeKind {
        match ConfChangeType::try_from(cc_type) {
            Ok(ConfChangeType::ConfChangeAddLearnerNode) => ChangeKind::AddLearner,
            Ok(ConfChangeType::ConfChangeRemoveNode) => ChangeKind::Remove,
            Ok(ConfChangeType::ConfChangeUpdateNode) => ChangeKind::Update,
            // AddNode, and unknown types treated as raft does (it rejects them; etcd never
            // writes them).
            _ if context.is_some_and(|m| m.is_promote) => ChangeKind::Promote,
            _ => ChangeKind::Add,
        }
    }
}

/// One ConfChange entry (a `ConfChangeV2` yields one per single change).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberChange {
    /// Raft index of the entry.
    pub index: u64,
    /// Raft term of the entry.
    pub term: u64,
    /// What it did.
    pub kind: ChangeKind,
    /// The member (raft node ID = etcd member ID).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub node_id: u64,
    /// etcd's request ID (`ConfChange.id`; 0 for the initial cluster and `ConfChangeV2`).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub request_id: u64,
    /// The member JSON of the context (none for RemoveNode).
    pub member: Option<MemberContext>,
    /// Where the entry was read.
    pub at: WalLocation,
    /// Read before the first damage (part of the log etcd replays).
    pub before_damage: bool,
}

/// A member's published attributes (name, client URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AttributesChange {
    /// Raft index of the entry.
    pub index: u64,
    /// Raft term of the entry.
    pub term: u64,
    /// The member.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub node_id: u64,
    /// Member name.
    pub name: String,
    /// Client URLs.
    pub client_urls: Vec<String>,
    /// Where the entry was read.
    pub at: WalLocation,
    /// Read before the first damage.
    pub before_damage: bool,
}

/// Consecutive raft indexes `first..=last` written with one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TermRun {
    /// First index (inclusive).
    pub first: u64,
    /// Last index (inclusive).
    pub last: u64,
    /// Term of every entry in the run.
    pub term: u64,
}

/// Membership history and log shape of one WAL directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct History {
    /// Node and cluster ID from the first metadata record.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub metadata: Option<pb::etcdserverpb::Metadata>,
    /// Commit index of the last HardState read before the first damage.
    pub commit: Option<u64>,
    /// ConfChanges in log order (overwritten ones dropped; after-damage ones flagged).
    pub changes: Vec<MemberChange>,
    /// Attribute publications in log order (same rules).
    pub attributes: Vec<AttributesChange>,
    /// The log as etcd reads it (before the first damage, overwrites applied), as term runs.
    pub terms: Vec<TermRun>,
    /// Whether `terms` hit its cap (100,000 runs); later entries are not in it.
    pub terms_truncated: bool,
    /// Entries that a later entry with the same or a lower index replaced.
    pub overwritten: u64,
}

impl History {
    /// First index of the log (before damage).
    pub fn first_index(&self) -> Option<u64> {
        self.terms.first().map(|r| r.first)
    }

    /// Last entry of the log (before damage).
    pub fn last(&self) -> Option<RaftPos> {
        self.terms.last().map(|r| RaftPos::new(r.last, r.term))
    }

    /// Term of the entry at `index`, if the log holds it.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        let pos = self.terms.partition_point(|r| r.last < index);
        self.terms
            .get(pos)
            .filter(|r| r.first <= index)
            .map(|r| r.term)
    }

    /// Membership replayed from the changes and attributes read before the damage, in
    /// the order members first appear. A WAL that starts after a snapshot lacks the
    /// earlier changes: members known only from later entries then have partial data.
    pub fn replay(&self) -> Vec<MemberState> {
        self.replay_with(false)
    }

    /// Like [`History::replay`], with `beyond_damage` also the entries read after the
    /// first damage (which etcd does not replay, and which nothing verified: good enough
    /// for a name or a URL, not for what etcd will do).
    pub fn replay_with(&self, beyond_damage: bool) -> Vec<MemberState> {
        let mut out: Vec<MemberState> = Vec::new();
        fn slot(out: &mut Vec<MemberState>, id: u64) -> Option<&mut MemberState> {
            if !out.iter().any(|m| m.id == id) {
                out.push(MemberState {
                    id,
                    ..MemberState::default()
                });
            }
            out.iter_mut().find(|m| m.id == id)
        }
        let mut changes = self
            .changes
            .iter()
            .filter(|c| beyond_damage || c.before_damage)
            .peekable();
        let mut attrs = self
            .attributes
            .iter()
            .filter(|a| beyond_damage || a.before_damage)
            .peekable();
        loop {
            let take_change = match (changes.peek(), attrs.peek()) {
                (Some(c), Some(a)) => c.index <= a.index,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_change {
                let Some(c) = changes.next() else { break };
                let Some(m) = slot(&mut out, c.node_id) else {
                    continue;
                };
                let ctx = c.member.as_ref();
                match c.kind {
                    ChangeKind::Add | ChangeKind::AddLearner => {
                        m.added_at = Some(c.index);
                        m.is_learner = c.kind == ChangeKind::AddLearner;
                    }
                    ChangeKind::Promote => {
                        m.is_learner = false;
                        m.promoted_at = Some(c.index);
                    }
                    ChangeKind::Update => m.updated_at = Some(c.index),
                    ChangeKind::Remove => m.removed_at = Some(c.index),
                }
                if let Some(ctx) = ctx {
                    if !ctx.peer_urls.is_empty() {
                        m.peer_urls.clone_from(&ctx.peer_urls);
                    }
                    if !ctx.name.is_empty() {
                        m.name.clone_from(&ctx.name);
                    }
                    if !ctx.client_urls.is_empty() {
                        m.client_urls.clone_from(&ctx.client_urls);
                    }
                }
            } else {
                let Some(a) = attrs.next() else { break };
                let Some(m) = slot(&mut out, a.node_id) else {
                    continue;
                };
                m.name.clone_from(&a.name);
                m.client_urls.clone_from(&a.client_urls);
            }
        }
        out
    }
}

/// One member as the WAL's membership entries leave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberState {
    /// Member ID.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub id: u64,
    /// Name (empty when no entry of this WAL names it).
    pub name: String,
    /// Peer URLs (latest add/update context).
    pub peer_urls: Vec<String>,
    /// Client URLs (latest attributes).
    pub client_urls: Vec<String>,
    /// Still a learner after the replay.
    pub is_learner: bool,
    /// Index of the add (voter or learner).
    pub added_at: Option<u64>,
    /// Index of the promotion.
    pub promoted_at: Option<u64>,
    /// Index of the last update.
    pub updated_at: Option<u64>,
    /// Index of the removal.
    pub removed_at: Option<u64>,
}

/// Collects a [`History`] from the events of [`scan::scan_dir_with`], so a caller that
/// already streams a WAL (verify, dump) gets it without a second pass.
#[derive(Debug, Default)]
pub struct HistoryBuilder {
    history: History,
    damaged: bool,
    last_index: Option<u64>,
}

impl HistoryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one event of the pass.
    pub fn observe(&mut self, event: &Event<'_>) {
        let Event::Record(ev) = event else { return };
        let before_damage = match ev.status {
            RecordStatus::Verified => true,
            // The damaged record itself: nothing in it can be trusted.
            RecordStatus::CrcMismatch | RecordStatus::Invalid => {
                self.damaged = true;
                return;
            }
            RecordStatus::AfterDamageVerified | RecordStatus::AfterDamageUnverified => false,
        } && !self.damaged;
        match ev.record.record_type() {
            Some(RecordType::Metadata) if self.history.metadata.is_none() => {
                self.history.metadata = record::decode_metadata(ev.record.data).ok();
            }
            Some(RecordType::State) if before_damage => {
                if let Ok(hs) = record::decode_hard_state(ev.record.data) {
                    self.history.commit = Some(hs.commit);
                }
            }
            Some(RecordType::Entry) => {
                if let Some(e) = ev.entry {
                    let at = ev.at;
                    self.entry(e.entry_type, e.term, e.index, e.data, at, before_damage);
                }
            }
            _ => {}
        }
    }

    fn entry(
        &mut self,
        entry_type: i32,
        term: u64,
        index: u64,
        data: &[u8],
        at: WalLocation,
        before_damage: bool,
    ) {
        let h = &mut self.history;
        if before_damage {
            if self.last_index.is_some_and(|last| index <= last) {
                // ReadAll: this entry replaces every entry from `index` on.
                let dropped = self.last_index.map_or(0, |l| l - index + 1);
                h.overwritten = h.overwritten.saturating_add(dropped);
                h.changes.retain(|c| !c.before_damage || c.index < index);
                h.attributes.retain(|a| !a.before_damage || a.index < index);
                truncate_runs(&mut h.terms, index);
            }
            self.last_index = Some(index);
            push_run(h, index, term);
        }
        match entry_type {
            1 | 2 => {
                if h.changes.len() >= MAX_CHANGES {
                    return;
                }
                match payload::decode_entry(entry_type, data) {
                    Payload::ConfChange { change, member } => {
                        let kind = ChangeKind::classify(change.r#type, member.as_ref());
                        h.changes.push(MemberChange {
                            index,
                            term,
                            kind,
                            node_id: change.node_id,
                            request_id: change.id,
                            member,
                            at,
                            before_damage,
                        });
                    }
                    Payload::ConfChangeV2(cc) => {
                        let context = MemberContext::parse(&cc.context);
                        for single in cc.changes {
                            h.changes.push(MemberChange {
                                index,
                                term,
                                kind: ChangeKind::classify(single.r#type, context.as_ref()),
                                node_id: single.node_id,
                                request_id: 0,
                                member: context.clone(),
                                at,
                                before_damage,
                            });
                        }
                    }
                    _ => {}
                }
            }
            0 => {
                if h.attributes.len() >= MAX_CHANGES || !may_carry_attributes(data) {
                    return;
                }
                if let Some((node_id, name, client_urls)) = attributes(data) {
                    h.attributes.push(AttributesChange {
                        index,
                        term,
                        node_id,
                        name,
                        client_urls,
                        at,
                        before_damage,
                    });
                }
            }
            _ => {}
        }
    }

    /// The history collected so far.
    pub fn finish(self) -> History {
        self.history
    }
}

fn truncate_runs(runs: &mut Vec<TermRun>, index: u64) {
    while let Some(last) = runs.last_mut() {
        if last.first >= index {
            runs.pop();
        } else {
            if last.last >= index {
                last.last = index - 1;
            }
            break;
        }
    }
}

fn push_run(h: &mut History, index: u64, term: u64) {
    if let Some(r) = h.terms.last_mut() {
        if r.term == term && r.last.checked_add(1) == Some(index) {
            r.last = index;
            return;
        }
    }
    if h.terms_truncated || h.terms.len() >= MAX_TERM_RUNS {
        h.terms_truncated = true;
    } else {
        h.terms.push(TermRun {
            first: index,
            last: index,
            term,
        });
    }
}

/// Cheap pre-filter before decoding an EntryNormal: walk only its top-level fields
/// (length-delimited ones are skipped, not copied) and look for a v2 `Path` (field 3)
/// under `/0/members/` or IRR field 1301 (`cluster_member_attr_set`). Entries are mostly
/// large puts; decoding each fully would copy every value.
fn may_carry_attributes(data: &[u8]) -> bool {
    let mut fields = Fields::new(data);
    while let Ok(Some((field, value))) = fields.next() {
        match (field, value) {
            (3, Value::Bytes(path)) if path.starts_with(b"/0/members/") => return true,
            (1301, _) => return true,
            _ => {}
        }
    }
    false
}

/// (member ID, name, client URLs) of a member-attributes entry.
fn attributes(data: &[u8]) -> Option<(u64, String, Vec<String>)> {
    match payload::decode_entry(0, data) {
        Payload::V2(req) => {
            if req.method.as_slice() != b"PUT" {
                return None;
            }
            let path = std::str::from_utf8(&req.path).ok()?;
            let hex = path
                .strip_prefix("/0/members/")?
                .strip_suffix("/attributes")?;
            let id = u64::from_str_radix(hex, 16).ok()?;
            let v: serde_json::Value = serde_json::from_slice(&req.val).ok()?;
            let name = v.get("name")?.as_str()?.to_owned();
            let urls = v
                .get("clientURLs")
                .and_then(|u| u.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Some((id, name, urls))
        }
        Payload::Request(irr) => {
            let set = irr.cluster_member_attr_set.as_ref()?;
            let attrs = set.member_attributes.as_ref()?;
            Some((
                set.member_id,
                String::from_utf8_lossy(&attrs.name).into_owned(),
                attrs
                    .client_urls
                    .iter()
                    .map(|u| String::from_utf8_lossy(u).into_owned())
                    .collect(),
            ))
        }
        _ => None,
    }
}

/// One pass over `wal_dir` returning the scan and the membership history.
pub fn read_history(wal_dir: &Path) -> Result<(Scan, History), Error> {
    let mut b = HistoryBuilder::new();
    let scan = scan::scan_dir_with(wal_dir, &mut |e| b.observe(&e))?;
    Ok((scan, b.finish()))
}

/// The entry that removes this member, as etcd would replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Removal {
    /// Raft index of the RemoveNode entry.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// Where the entry is.
    pub at: WalLocation,
    /// Whether the last HardState (before damage) commits it. A committed removal is
    /// applied during replay: etcd logs "the member has been permanently removed from the
    /// cluster" and stops (exit code 0, measured on 3.5.1 and 3.4.23). An uncommitted one is
    /// applied once a leader commits it — or the peers, which already removed the member,
    /// answer it with the same error.
    pub committed: bool,
}

/// The RemoveNode of `node_id` (the WAL metadata's node ID) in the log etcd replays (before
/// the first damage, not overwritten), if any: a data dir that etcd will refuse to serve.
pub fn removed_self(history: &History, node_id: u64) -> Option<Removal> {
    let c = history
        .changes
        .iter()
        .rev()
        .find(|c| c.before_damage && c.kind == ChangeKind::Remove && c.node_id == node_id)?;
    Some(Removal {
        index: c.index,
        term: c.term,
        at: c.at,
        committed: history.commit.is_some_and(|commit| commit >= c.index),
    })
}

/// Where two logs part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Divergence {
    /// First index held by both logs with different terms.
    pub index: u64,
    /// Its term in the first log.
    pub term_a: u64,
    /// Its term in the second log.
    pub term_b: u64,
}

/// How two logs relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LogComparison {
    /// Indexes both logs hold: (first, last), inclusive.
    pub common: Option<(u64, u64)>,
    /// The first common index whose term differs (raft's log matching property: the logs
    /// agree on every index before it, and on none from it on).
    pub divergence: Option<Divergence>,
}

/// Compare two logs given as term runs (see [`History::terms`]).
pub fn compare_logs(a: &[TermRun], b: &[TermRun]) -> LogComparison {
    let (Some(af), Some(al), Some(bf), Some(bl)) = (a.first(), a.last(), b.first(), b.last())
    else {
        return LogComparison {
            common: None,
            divergence: None,
        };
    };
    let lo = af.first.max(bf.first);
    let hi = al.last.min(bl.last);
    if lo > hi {
        return LogComparison {
            common: None,
            divergence: None,
        };
    }
    let mut divergence = None;
    let (mut i, mut j) = (0usize, 0usize);
    while let (Some(ra), Some(rb)) = (a.get(i), b.get(j)) {
        let start = ra.first.max(rb.first).max(lo);
        let end = ra.last.min(rb.last).min(hi);
        if start <= end && ra.term != rb.term {
            divergence = Some(Divergence {
                index: start,
                term_a: ra.term,
                term_b: rb.term,
            });
            break;
        }
        if ra.last <= rb.last {
            i += 1;
        } else {
            j += 1;
        }
    }
    LogComparison {
        common: Some((lo, hi)),
        divergence,
    }
}

/// Raft's "at least as up-to-date" order (`raft/log.go` `isUpToDate`): the higher last
/// term wins, then the higher last index. The greatest log holds every committed entry.
pub fn up_to_date_cmp(a: Option<RaftPos>, b: Option<RaftPos>) -> Ordering {
    let key = |x: Option<RaftPos>| x.map(RaftPos::term_then_index);
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::raftpb::{ConfChange, Entry, HardState};
    use crate::writer::SegmentBuilder;
    use prost::Message as _;

    const ME: u64 = 0x1caf_0fd6_10ea_8967;
    const OTHER: u64 = 0x46f9_d890_3959_0f0a;

    fn cc(index: u64, term: u64, ty: ConfChangeType, node: u64, ctx: &str) -> Entry {
        Entry {
            r#type: 1,
            term,
            index,
            data: ConfChange {
                id: 7,
                r#type: ty as i32,
                node_id: node,
                context: ctx.as_bytes().to_vec(),
            }
            .encode_to_vec(),
        }
    }

    fn normal(index: u64, term: u64) -> Entry {
        Entry {
            r#type: 0,
            term,
            index,
            data: Vec::new(),
        }
    }

    fn attrs(index: u64, term: u64, id: u64, name: &str) -> Entry {
        let req = crate::pb::etcdserverpb::Request {
            id: 1,
            method: b"PUT".to_vec(),
            path: format!("/0/members/{id:x}/attributes").into_bytes(),
            val: format!(r#"{{"name":"{name}","clientURLs":["http://127.0.0.1:1"]}}"#).into_bytes(),
            ..Default::default()
        };
        Entry {
            r#type: 0,
            term,
            index,
            data: req.encode_to_vec(),
        }
    }

    fn history(entries: &[Entry], commit: u64) -> (tempfile::TempDir, History) {
        let mut b = SegmentBuilder::new(0);
        b.metadata(ME, 42);
        b.snapshot(0, 0, None);
        for e in entries {
            b.entry(e);
        }
        b.hard_state(&HardState {
            term: 2,
            vote: 0,
            commit,
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("0000000000000000-0000000000000000.wal"),
            b.finish(None),
        )
        .unwrap();
        let (_, h) = read_history(dir.path()).unwrap();
        (dir, h)
    }

    fn lifecycle() -> Vec<Entry> {
        vec![
            cc(
                1,
                1,
                ConfChangeType::ConfChangeAddNode,
                OTHER,
                r#"{"id":5114356965804936970,"peerURLs":["http://127.0.0.1:23601"],"name":"m1"}"#,
            ),
            normal(2, 2),
            cc(
                3,
                2,
                ConfChangeType::ConfChangeAddLearnerNode,
                ME,
                r#"{"id":2066888166067571047,"peerURLs":["http://127.0.0.1:23605"],"isLearner":true}"#,
            ),
            attrs(4, 2, ME, "m3"),
            cc(
                5,
                2,
                ConfChangeType::ConfChangeAddNode,
                ME,
                r#"{"id":2066888166067571047,"peerURLs":null,"isPromote":true}"#,
            ),
            cc(
                6,
                2,
                ConfChangeType::ConfChangeUpdateNode,
                ME,
                r#"{"id":2066888166067571047,"peerURLs":["http://127.0.0.1:23605","http://127.0.0.1:23625"]}"#,
            ),
            cc(7, 2, ConfChangeType::ConfChangeRemoveNode, ME, ""),
        ]
    }

    #[test]
    fn membership_lifecycle_and_removed_self() {
        let (_d, h) = history(&lifecycle(), 7);
        let kinds: Vec<(u64, ChangeKind)> = h.changes.iter().map(|c| (c.index, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                (1, ChangeKind::Add),
                (3, ChangeKind::AddLearner),
                (5, ChangeKind::Promote),
                (6, ChangeKind::Update),
                (7, ChangeKind::Remove)
            ]
        );
        assert_eq!(h.commit, Some(7));
        assert_eq!(h.last(), Some(RaftPos::new(7, 2)));
        assert_eq!(
            h.terms,
            [
                TermRun {
                    first: 1,
                    last: 1,
                    term: 1
                },
                TermRun {
                    first: 2,
                    last: 7,
                    term: 2
                }
            ]
        );
        let r = removed_self(&h, ME).unwrap();
        assert_eq!((r.index, r.term, r.committed), (7, 2, true));
        assert_eq!(r.at.file_name(), "0000000000000000-0000000000000000.wal");
        assert!(removed_self(&h, OTHER).is_none());
        let me = h.replay().into_iter().find(|m| m.id == ME).unwrap();
        assert_eq!(me.name, "m3");
        assert_eq!(
            me.peer_urls,
            ["http://127.0.0.1:23605", "http://127.0.0.1:23625"]
        );
        assert_eq!(me.client_urls, ["http://127.0.0.1:1"]);
        assert!(!me.is_learner);
        assert_eq!(
            (me.added_at, me.promoted_at, me.updated_at, me.removed_at),
            (Some(3), Some(5), Some(6), Some(7))
        );
    }

    #[test]
    fn uncommitted_removal_is_flagged() {
        let (_d, h) = history(&lifecycle(), 6);
        assert!(!removed_self(&h, ME).unwrap().committed);
    }

    #[test]
    fn overwritten_removal_is_not_a_removal() {
        // A new leader (term 3) overwrote index 7 with a no-op.
        let mut es = lifecycle();
        es.push(normal(7, 3));
        es.push(normal(8, 3));
        let (_d, h) = history(&es, 8);
        assert!(removed_self(&h, ME).is_none());
        assert_eq!(h.overwritten, 1);
        assert_eq!(h.last(), Some(RaftPos::new(8, 3)));
        assert_eq!(h.term_at(6), Some(2));
        assert_eq!(h.term_at(7), Some(3));
        assert_eq!(h.term_at(9), None);
    }

    #[test]
    fn removal_after_damage_is_not_replayed() {
        let mut b = SegmentBuilder::new(0);
        b.metadata(ME, 42);
        for e in lifecycle() {
            b.entry(&e);
        }
        let offsets = b.offsets().to_vec();
        let mut bytes = b.finish(None);
        // Flip a byte inside the record of index 6 (the update): CRC mismatch there.
        let at = *offsets.get(7).unwrap() as usize + 12;
        *bytes.get_mut(at).unwrap() ^= 0xff;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("0000000000000000-0000000000000000.wal"),
            bytes,
        )
        .unwrap();
        let (_, h) = read_history(dir.path()).unwrap();
        assert!(removed_self(&h, ME).is_none());
        assert_eq!(h.last(), Some(RaftPos::new(5, 2)));
        assert!(
            h.changes
                .iter()
                .any(|c| c.kind == ChangeKind::Remove && !c.before_damage)
        );
    }

    fn runs(v: &[(u64, u64, u64)]) -> Vec<TermRun> {
        v.iter()
            .map(|&(first, last, term)| TermRun { first, last, term })
            .collect()
    }

    #[test]
    fn compare_logs_finds_first_differing_term() {
        let a = runs(&[(1, 10, 1), (11, 20, 2), (21, 30, 4)]);
        let b = runs(&[(1, 10, 1), (11, 24, 2), (25, 26, 3)]);
        let c = compare_logs(&a, &b);
        assert_eq!(c.common, Some((1, 26)));
        assert_eq!(
            c.divergence,
            Some(Divergence {
                index: 21,
                term_a: 4,
                term_b: 2
            })
        );
        // A prefix does not diverge.
        let p = runs(&[(1, 10, 1), (11, 15, 2)]);
        assert_eq!(compare_logs(&a, &p).divergence, None);
        assert_eq!(compare_logs(&a, &p).common, Some((1, 15)));
        // Disjoint ranges (purged WAL).
        let late = runs(&[(40, 50, 4)]);
        assert_eq!(compare_logs(&a, &late).common, None);
        // Partial overlap starting mid-run.
        let mid = runs(&[(15, 22, 2)]);
        assert_eq!(
            compare_logs(&a, &mid).divergence,
            Some(Divergence {
                index: 21,
                term_a: 4,
                term_b: 2
            })
        );
    }

    #[test]
    fn up_to_date_order_is_term_then_index() {
        assert_eq!(
            up_to_date_cmp(Some(RaftPos::new(10, 3)), Some(RaftPos::new(100, 2))),
            Ordering::Greater
        );
        assert_eq!(
            up_to_date_cmp(Some(RaftPos::new(10, 3)), Some(RaftPos::new(11, 3))),
            Ordering::Less
        );
        assert_eq!(
            up_to_date_cmp(None, Some(RaftPos::new(1, 1))),
            Ordering::Less
        );
    }
}

//! [`HistoryBuilder`]: collects a [`History`] from the events of one scan pass, reading the
//! log as etcd's `ReadAll` does (overwrites applied, entries after the first damage flagged).

use std::path::Path;

use crate::error::Error;
use crate::location::WalLocation;
use crate::payload::{self, MemberContext, Payload};
use crate::record::{self, RecordType};
use crate::scan::{self, Event, RecordStatus, Scan};

use super::change::{AttributesChange, ChangeKind, MemberChange};
use super::decode::{attributes, may_carry_attributes};
use super::history::History;
use super::shape::TermRun;

/// Most term runs remembered (a run is a stretch of consecutive indexes with one term).
const MAX_TERM_RUNS: usize = 100_000;

/// Most changes or attribute publications remembered (etcd writes a handful per member).
const MAX_CHANGES: usize = 100_000;

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

/// One pass over `wal_dir` returning the scan and the membership history.
pub fn read_history(wal_dir: &Path) -> Result<(Scan, History), Error> {
    let mut b = HistoryBuilder::new();
    let scan = scan::scan_dir_with(wal_dir, &mut |e| b.observe(&e))?;
    Ok((scan, b.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::removed_self;
    use crate::pb::raftpb::{ConfChange, ConfChangeType, Entry, HardState};
    use crate::writer::SegmentBuilder;
    use etcd_proto::RaftPos;
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
}

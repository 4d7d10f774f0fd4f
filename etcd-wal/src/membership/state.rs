//! [`MemberState`]: members as the WAL's membership entries leave them, replayed from a
//! [`History`].

use super::change::ChangeKind;
use super::history::History;

impl History {
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

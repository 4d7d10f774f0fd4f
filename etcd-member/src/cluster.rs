//! The cluster as the data records it: every member's ID, name, peer and client URLs, from
//! every source there is, in this order (the first that has a value wins):
//!
//! 1. the db's `members` bucket (3.5's applied membership; 3.5 keeps no name there for a
//!    member added with `etcdctl member add`);
//! 2. the WAL's ConfChange contexts and attribute entries before the damage;
//! 3. the WAL's attribute entries beyond the damage (nothing verified them, but a name is a
//!    name);
//! 4. the v2 store of the `.snap` etcd loads;
//! 5. other members' dirs (`--peer-dir`), each read the same way;
//! 6. the member's configuration (`--config`): its own name and URLs, and the names in
//!    `--initial-cluster`;
//! 7. what the operator gave on the command line (`--name`).
//!
//! Membership itself (who is a member now) comes from the db, else the replayed WAL; a
//! member removed by a replayed or beyond-damage RemoveNode is marked removed.

use etcd_snap::schema::Member;
use etcd_wal::membership::MemberState;

use crate::config::Config;
use crate::identity::{Source, Sourced};
use crate::inspect::Inspection;

/// One member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KnownMember {
    /// Member ID.
    #[serde(serialize_with = "etcd_proto::json::ser::hex_id")]
    pub id: u64,
    /// Name.
    pub name: Option<Sourced<String>>,
    /// Peer URLs.
    pub peer_urls: Option<Sourced<Vec<String>>>,
    /// Client URLs.
    pub client_urls: Option<Sourced<Vec<String>>>,
    /// Whether it is a learner.
    pub is_learner: bool,
    /// Whether a RemoveNode of it was read (it is no longer a member).
    pub removed: bool,
}

/// The members of one cluster, and which one this data dir is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClusterView {
    /// Cluster ID (WAL metadata).
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub cluster_id: Option<u64>,
    /// This data dir's member ID.
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub this: Option<u64>,
    /// Every member, in ID order.
    pub members: Vec<KnownMember>,
}

fn fill<T: Clone>(
    slot: &mut Option<Sourced<T>>,
    value: &T,
    source: Source,
    empty: impl Fn(&T) -> bool,
) {
    if slot.is_none() && !empty(value) {
        *slot = Some(Sourced {
            value: value.clone(),
            source,
        });
    }
}

impl ClusterView {
    /// The view from one inspected member dir.
    pub fn of(ins: &Inspection) -> ClusterView {
        let meta = ins.scan.metadata.as_ref();
        let mut v = ClusterView {
            cluster_id: meta.map(|m| m.cluster_id),
            this: meta.map(|m| m.node_id),
            members: Vec::new(),
        };
        if let Some(db) = ins.db() {
            for m in &db.membership.members {
                v.add_member(m, Source::Db);
            }
            for id in &db.membership.removed {
                v.slot(*id).removed = true;
            }
        }
        for m in ins.history.replay_with(false) {
            v.add_state(&m, Source::Wal);
        }
        for m in ins.history.replay_with(true) {
            v.add_state(&m, Source::WalBeyondDamage);
        }
        let snap = ins
            .member
            .as_ref()
            .and_then(|m| m.snap.as_ref().ok())
            .and_then(|s| s.picked_entry())
            .and_then(|e| e.snapshot.as_ref());
        if let Some(s) = snap {
            for m in &s.members {
                v.add_member(m, Source::Snap);
            }
            for id in &s.removed_members {
                v.slot(*id).removed = true;
            }
        }
        v.members.sort_by_key(|m| m.id);
        v
    }

    /// The view from every source given: the inspected member, other members' data dirs
    /// (`--peer-dir`, each inspected read-only), its configuration, and a name the
    /// operator gave; with the cluster each peer dir belongs to.
    pub fn gather(
        ins: &Inspection,
        peer_dirs: &[std::path::PathBuf],
        config: Option<&Config>,
        name: Option<&str>,
    ) -> Result<(ClusterView, Vec<crate::configcheck::PeerCluster>), crate::Error> {
        let mut view = ClusterView::of(ins);
        let mut peers = Vec::new();
        for p in peer_dirs {
            let peer = crate::inspect(p, &crate::Options::default())?;
            let pv = ClusterView::of(&peer);
            peers.push(crate::configcheck::PeerCluster {
                path: p.clone(),
                cluster_id: pv.cluster_id,
                removes_this: view
                    .this
                    .and_then(|me| etcd_wal::membership::removed_self(&peer.history, me)),
            });
            view.merge_peer(&pv);
        }
        if let Some(c) = config {
            view.merge_config(c);
        }
        if let Some(n) = name {
            view.set_name(n);
        }
        Ok((view, peers))
    }

    /// Take what another member's dir knows (of the same cluster only).
    pub fn merge_peer(&mut self, peer: &ClusterView) {
        if peer.cluster_id.is_some()
            && self.cluster_id.is_some()
            && peer.cluster_id != self.cluster_id
        {
            return;
        }
        for m in &peer.members {
            let mine = self.slot(m.id);
            if let Some(n) = m.name.as_ref().map(|s| &s.value) {
                fill(&mut mine.name, n, Source::PeerDir, String::is_empty);
            }
            if let Some(p) = m.peer_urls.as_ref() {
                fill(
                    &mut mine.peer_urls,
                    &p.value,
                    Source::PeerDir,
                    Vec::is_empty,
                );
            }
            if let Some(c) = m.client_urls.as_ref() {
                fill(
                    &mut mine.client_urls,
                    &c.value,
                    Source::PeerDir,
                    Vec::is_empty,
                );
            }
            mine.removed |= m.removed;
        }
        self.members.sort_by_key(|m| m.id);
    }

    /// Take what this member's configuration says: its own name and URLs, and the names of
    /// the members `--initial-cluster` lists (matched by peer URL).
    pub fn merge_config(&mut self, cfg: &Config) {
        // No readable WAL metadata (a damaged WAL head): the configuration says which
        // member this is, by its peer URLs (what etcd itself matches members by), else by
        // its name.
        if self.this.is_none() {
            let peers = cfg.peer_urls();
            let by_url: Vec<u64> = self
                .members
                .iter()
                .filter(|m| !m.removed)
                .filter(|m| {
                    m.peer_urls.as_ref().is_some_and(|p| {
                        !peers.is_empty() && p.value.iter().all(|u| peers.contains(u))
                    })
                })
                .map(|m| m.id)
                .collect();
            let by_name: Vec<u64> = self
                .members
                .iter()
                .filter(|m| !m.removed)
                .filter(|m| {
                    cfg.name.is_some() && m.name.as_ref().map(|n| &n.value) == cfg.name.as_ref()
                })
                .map(|m| m.id)
                .collect();
            if let [id] = by_url.as_slice() {
                self.this = Some(*id);
            } else if let (true, [id]) = (by_url.is_empty(), by_name.as_slice()) {
                self.this = Some(*id);
            }
        }
        if let Some(me) = self.this {
            let peers = cfg.peer_urls();
            let m = self.slot(me);
            if let Some(n) = &cfg.name {
                fill(&mut m.name, n, Source::Config, String::is_empty);
            }
            fill(&mut m.peer_urls, &peers, Source::Config, Vec::is_empty);
            fill(
                &mut m.client_urls,
                &cfg.advertise_client_urls,
                Source::Config,
                Vec::is_empty,
            );
        }
        for (name, url) in &cfg.initial_cluster {
            if let Some(m) = self.members.iter_mut().find(|m| {
                m.peer_urls
                    .as_ref()
                    .is_some_and(|p| p.value.iter().any(|u| u == url))
            }) {
                fill(&mut m.name, name, Source::Config, String::is_empty);
            }
        }
    }

    /// Take the name the operator gave for this member.
    pub fn set_name(&mut self, name: &str) {
        if let Some(me) = self.this {
            let m = self.slot(me);
            if m.name.is_none() && !name.is_empty() {
                m.name = Some(Sourced {
                    value: name.to_owned(),
                    source: Source::Operator,
                });
            }
        }
    }

    /// This data dir's member.
    pub fn this_member(&self) -> Option<&KnownMember> {
        let me = self.this?;
        self.members.iter().find(|m| m.id == me)
    }

    /// The members still in the cluster, other than this one.
    pub fn others(&self) -> impl Iterator<Item = &KnownMember> {
        self.members
            .iter()
            .filter(move |m| Some(m.id) != self.this && !m.removed)
    }

    /// Voting members still in the cluster (this one included).
    pub fn voters(&self) -> usize {
        self.members
            .iter()
            .filter(|m| !m.removed && !m.is_learner)
            .count()
    }

    fn slot(&mut self, id: u64) -> &mut KnownMember {
        if let Some(pos) = self.members.iter().position(|m| m.id == id) {
            // (`position` then index: the borrow checker cannot see through `find` here.)
            #[allow(clippy::indexing_slicing)]
            return &mut self.members[pos];
        }
        self.members.push(KnownMember {
            id,
            name: None,
            peer_urls: None,
            client_urls: None,
            is_learner: false,
            removed: false,
        });
        let last = self.members.len() - 1;
        #[allow(clippy::indexing_slicing)]
        &mut self.members[last]
    }

    fn add_member(&mut self, m: &Member, source: Source) {
        let s = self.slot(m.id);
        if source == Source::Db {
            s.is_learner = m.is_learner;
        }
        fill(&mut s.name, &m.name, source, String::is_empty);
        fill(&mut s.peer_urls, &m.peer_urls, source, Vec::is_empty);
        fill(&mut s.client_urls, &m.client_urls, source, Vec::is_empty);
    }

    fn add_state(&mut self, m: &MemberState, source: Source) {
        let s = self.slot(m.id);
        if source == Source::Wal && m.added_at.is_some() {
            s.is_learner = m.is_learner;
        }
        if m.removed_at.is_some() {
            s.removed = true;
        }
        fill(&mut s.name, &m.name, source, String::is_empty);
        fill(&mut s.peer_urls, &m.peer_urls, source, Vec::is_empty);
        fill(&mut s.client_urls, &m.client_urls, source, Vec::is_empty);
    }
}

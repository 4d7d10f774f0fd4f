//! Who a data dir belongs to: member and cluster ID (WAL metadata), name and URLs (the db's
//! `members` bucket, the WAL's membership entries, the `.snap` v2 store), whether it was
//! removed, how far its log goes — and, across several data dirs, whether they form one
//! cluster, which log is the most up to date and where the logs part.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = testdata::clean("v35-removed-member")?;
//! # let m3 = fixture.path().join("data/m3");
//! let inspection = etcd_member::inspect(&m3, &etcd_member::Options::default())?;
//! let id = &inspection.identity;
//! assert!(id.removed());
//! let removal = id.removal.as_ref().expect("its own WAL removes it");
//! println!(
//!     "member {:016x} ({}) was removed at index {}",
//!     id.member_id.unwrap_or(0),
//!     id.name.as_ref().map_or("?", |n| n.value.as_str()),
//!     removal.index
//! );
//! # Ok(()) }
//! ```

use etcd_proto::RaftPos;
use etcd_wal::membership::{
    History, LogComparison, MemberState, Removal, TermRun, compare_logs, removed_self,
};
use etcd_wal::scan::Scan;

use etcd_snap::member::MemberReport;
use etcd_snap::schema::Member;

/// Where a name or URL list was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The db's `members` bucket (etcd 3.5's applied membership).
    Db,
    /// The WAL's ConfChange contexts and member-attribute entries.
    Wal,
    /// The v2 store inside the `.snap` etcd would load (3.4/3.5's source of truth).
    Snap,
    /// The WAL's entries beyond the first damage (etcd does not replay them; nothing
    /// verified them).
    WalBeyondDamage,
    /// Another member's data dir (`--peer-dir`).
    PeerDir,
    /// The member's configuration (`--config`).
    Config,
    /// Given on the command line (`--name`).
    Operator,
}

impl Source {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Db => "db",
            Source::Wal => "wal",
            Source::Snap => "snap",
            Source::WalBeyondDamage => "wal_beyond_damage",
            Source::PeerDir => "peer_dir",
            Source::Config => "config",
            Source::Operator => "operator",
        }
    }
}

/// A value with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it was found.
    pub source: Source,
}

/// One data dir's identity and log position.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// Member ID (WAL metadata `NodeID`).
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub member_id: Option<u64>,
    /// Cluster ID (WAL metadata `ClusterID`).
    #[serde(serialize_with = "etcd_proto::json::ser::opt_hex_id")]
    pub cluster_id: Option<u64>,
    /// Member name (empty names are not reported).
    pub name: Option<Sourced<String>>,
    /// Peer URLs.
    pub peer_urls: Option<Sourced<Vec<String>>>,
    /// Client URLs.
    pub client_urls: Option<Sourced<Vec<String>>>,
    /// Whether the member is a learner (first source that knows it).
    pub is_learner: Option<bool>,
    /// The RemoveNode of this member in its own WAL (what makes etcd stop).
    pub removal: Option<Removal>,
    /// The db's `members_removed` bucket lists this member.
    pub removed_in_db: bool,
    /// The picked `.snap`'s v2 store lists this member as removed.
    pub removed_in_snap: bool,
    /// Last entry of the log etcd reads (entries before damage, else the newest WAL
    /// snapshot record).
    pub last: Option<RaftPos>,
    /// Commit index of the last HardState before damage.
    pub commit: Option<u64>,
    /// The db's `consistent_index` (last applied index).
    pub consistent_index: Option<u64>,
}

impl Identity {
    /// Removed from the cluster: its own WAL removes it, or its db / `.snap` says so.
    pub fn removed(&self) -> bool {
        self.removal.is_some() || self.removed_in_db || self.removed_in_snap
    }

    /// Last raft index.
    pub fn last_index(&self) -> Option<u64> {
        self.last.map(|p| p.index)
    }

    /// Term of the last entry.
    pub fn last_term(&self) -> Option<u64> {
        self.last.map(|p| p.term)
    }
}

/// Gather the identity of one member dir from its WAL pass, its history and (when there is a
/// `snap/` directory) its snap-side report. Fields are taken from the first source that has
/// them: the db's `members` bucket, then the WAL, then the `.snap`.
pub fn identify(scan: &Scan, history: &History, member: Option<&MemberReport>) -> Identity {
    let meta = scan.metadata.as_ref().or(history.metadata.as_ref());
    let member_id = meta.map(|m| m.node_id);
    let db = member.and_then(|m| m.db.as_ref().ok());
    let snap = member
        .and_then(|m| m.snap.as_ref().ok())
        .and_then(|s| s.picked_entry())
        .and_then(|e| e.snapshot.as_ref());
    let mut id = Identity {
        member_id,
        cluster_id: meta.map(|m| m.cluster_id),
        commit: history.commit,
        consistent_index: db.and_then(|d| d.meta.consistent_index),
        last: history.last().or_else(|| {
            scan.snapshots
                .iter()
                .filter(|s| s.before_damage)
                .map(|s| s.pos)
                .max_by_key(|p| p.term_then_index())
        }),
        ..Identity::default()
    };
    let Some(me) = member_id else { return id };
    id.removal = removed_self(history, me);
    id.removed_in_db = db.is_some_and(|d| d.membership.removed.contains(&me));
    id.removed_in_snap = snap.is_some_and(|s| s.removed_members.contains(&me));

    let from_db = db.and_then(|d| d.membership.members.iter().find(|m| m.id == me));
    let replay = history.replay();
    let from_wal = replay.iter().find(|m| m.id == me);
    let from_snap = snap.and_then(|s| s.members.iter().find(|m| m.id == me));
    fill(&mut id, from_db, from_wal, from_snap);
    id
}

fn fill(id: &mut Identity, db: Option<&Member>, wal: Option<&MemberState>, snap: Option<&Member>) {
    type Pick<'a, T> = (Source, Option<&'a T>);
    fn first<T: Clone>(c: [Pick<'_, T>; 3], empty: impl Fn(&T) -> bool) -> Option<Sourced<T>> {
        c.into_iter()
            .find_map(|(source, v)| v.filter(|v| !empty(v)).map(|v| (source, v)))
            .map(|(source, v)| Sourced {
                value: v.clone(),
                source,
            })
    }
    id.name = first(
        [
            (Source::Db, db.map(|m| &m.name)),
            (Source::Wal, wal.map(|m| &m.name)),
            (Source::Snap, snap.map(|m| &m.name)),
        ],
        String::is_empty,
    );
    id.peer_urls = first(
        [
            (Source::Db, db.map(|m| &m.peer_urls)),
            (Source::Wal, wal.map(|m| &m.peer_urls)),
            (Source::Snap, snap.map(|m| &m.peer_urls)),
        ],
        Vec::is_empty,
    );
    id.client_urls = first(
        [
            (Source::Db, db.map(|m| &m.client_urls)),
            (Source::Wal, wal.map(|m| &m.client_urls)),
            (Source::Snap, snap.map(|m| &m.client_urls)),
        ],
        Vec::is_empty,
    );
    id.is_learner = db
        .map(|m| m.is_learner)
        .or(wal.filter(|m| m.added_at.is_some()).map(|m| m.is_learner))
        .or(snap.map(|m| m.is_learner));
}

/// What to do with a removed member's data dir, in order: etcd refuses to serve it ("the
/// member has been permanently removed from the cluster … the data-dir used by this member
/// must be removed"), and the member ID can never be re-added, so it joins again as a new
/// member. The commands themselves are `wal-inspect repair`'s rejoin runbook (literal,
/// complete, tested against real etcd); this names it and what it will do, with the real
/// name and URLs where known and never a placeholder in a command.
pub fn rejoin_steps(id: &Identity, data_dir: &str) -> Vec<String> {
    let dir = crate::paths::absolute(std::path::Path::new(data_dir))
        .map_or_else(|_| data_dir.to_owned(), |p| p.display().to_string());
    let name = id.name.as_ref().map(|n| n.value.clone());
    let peers = id.peer_urls.as_ref().map(|p| p.value.join(","));
    let add = match (&name, &peers) {
        (Some(n), Some(p)) => format!("etcdctl member add {n} --peer-urls={p}"),
        _ => "etcdctl member add (its name and peer URLs are not recorded here: add --config FILE or --peer-dir DIR to the repair command)".to_owned(),
    };
    vec![
        format!(
            "run `wal-inspect repair {}`: it prints the commands that bring the member back, each complete and literal",
            crate::runbook::shell_quote(&dir)
        ),
        format!(
            "they are: {add} against a healthy member, move this data dir aside (keep it: it is the evidence), start etcd on an empty data dir with --initial-cluster-state existing"
        ),
    ]
}

/// Steps as one line, `1. … 2. …` (a finding's message; its `advice` lists them).
pub fn numbered(steps: &[String]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a set of data dirs relate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Every dir with a readable cluster ID has the same one (and there is at least one).
    pub same_cluster: bool,
    /// Distinct cluster IDs, in the order of the dirs.
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    pub cluster_ids: Vec<u64>,
    /// Member IDs held by more than one dir (copies of one member).
    #[serde(serialize_with = "etcd_proto::json::ser::hex_ids")]
    pub duplicate_members: Vec<u64>,
    /// Dir (position in the input) with the most up-to-date log, among the dirs of the
    /// cluster most dirs belong to: raft's order (last term, then last index), then the
    /// higher commit, then the higher consistent index. That log holds every entry the
    /// cluster committed; keep it (or restore from it) when quorum is lost.
    pub most_up_to_date: Option<usize>,
    /// Each other dir of that cluster compared with the most up-to-date one.
    pub logs: Vec<DirLog>,
}

/// One dir's log compared with the most up-to-date one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DirLog {
    /// Position of the dir in the input.
    pub dir: usize,
    /// The comparison (`a` = the most up-to-date log, `b` = this dir's).
    pub comparison: LogComparison,
    /// Entries the most up-to-date log holds beyond this dir's last index.
    pub behind_by: u64,
}

/// Compare data dirs: `dirs` pairs each identity with its log's term runs
/// ([`History::terms`]).
pub fn compare(dirs: &[(&Identity, &[TermRun])]) -> Comparison {
    let mut out = Comparison::default();
    for (id, _) in dirs {
        if let Some(c) = id.cluster_id {
            if !out.cluster_ids.contains(&c) {
                out.cluster_ids.push(c);
            }
        }
    }
    out.same_cluster =
        out.cluster_ids.len() == 1 && dirs.iter().all(|(i, _)| i.cluster_id.is_some());
    let mut seen = Vec::new();
    for (id, _) in dirs {
        if let Some(m) = id.member_id {
            if seen.contains(&m) && !out.duplicate_members.contains(&m) {
                out.duplicate_members.push(m);
            }
            seen.push(m);
        }
    }
    // The cluster most dirs belong to (the first such on a tie).
    let main = out
        .cluster_ids
        .iter()
        .map(|&c| {
            (
                dirs.iter().filter(|(i, _)| i.cluster_id == Some(c)).count(),
                c,
            )
        })
        .fold(None::<(usize, u64)>, |best, x| match best {
            Some(b) if b.0 >= x.0 => Some(b),
            _ => Some(x),
        })
        .map(|(_, c)| c);
    let members: Vec<usize> = (0..dirs.len())
        .filter(|&k| dirs.get(k).is_some_and(|(i, _)| i.cluster_id == main))
        .collect();
    let key = |k: usize| {
        dirs.get(k).map(|(i, _)| {
            (
                i.last.map(RaftPos::term_then_index),
                i.commit,
                i.consistent_index,
            )
        })
    };
    // Strictly greater wins, so the first of equals is kept.
    let best = members.iter().copied().fold(None::<usize>, |b, k| match b {
        Some(b) if key(b) >= key(k) => Some(b),
        _ => Some(k),
    });
    out.most_up_to_date = best;
    let (Some(b), Some((best_id, best_terms))) = (best, best.and_then(|b| dirs.get(b))) else {
        return out;
    };
    for &k in &members {
        if k == b {
            continue;
        }
        let Some((id, terms)) = dirs.get(k) else {
            continue;
        };
        out.logs.push(DirLog {
            dir: k,
            comparison: compare_logs(best_terms, terms),
            behind_by: best_id
                .last_index()
                .unwrap_or(0)
                .saturating_sub(id.last_index().unwrap_or(0)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(member: u64, cluster: u64, last: (u64, u64), commit: u64) -> Identity {
        Identity {
            member_id: Some(member),
            cluster_id: Some(cluster),
            last: Some(RaftPos::new(last.0, last.1)),
            commit: Some(commit),
            ..Identity::default()
        }
    }

    fn run(first: u64, last: u64, term: u64) -> TermRun {
        TermRun { first, last, term }
    }

    #[test]
    fn compare_picks_raft_most_up_to_date_within_the_main_cluster() {
        let a = id(1, 9, (100, 2), 100);
        let b = id(2, 9, (90, 3), 80);
        let c = id(3, 9, (100, 2), 100);
        let other = id(4, 7, (500, 5), 500);
        let ta = [run(1, 100, 2)];
        let tb = [run(1, 50, 2), run(51, 90, 3)];
        let tc = [run(1, 100, 2)];
        let to = [run(1, 500, 5)];
        let cmp = compare(&[(&a, &ta), (&b, &tb), (&c, &tc), (&other, &to)]);
        assert!(!cmp.same_cluster);
        assert_eq!(cmp.cluster_ids, [9, 7]);
        // The other cluster's longer log does not count; term 3 beats index 100.
        assert_eq!(cmp.most_up_to_date, Some(1));
        assert_eq!(cmp.logs.len(), 2);
        let la = cmp.logs.iter().find(|l| l.dir == 0).unwrap();
        assert_eq!(la.comparison.divergence.map(|d| d.index), Some(51));
        assert_eq!(la.behind_by, 0);
    }

    #[test]
    fn compare_keeps_the_first_of_equals_and_flags_copies() {
        let a = id(1, 9, (10, 2), 10);
        let b = id(1, 9, (10, 2), 10);
        let t = [run(1, 10, 2)];
        let cmp = compare(&[(&a, &t), (&b, &t)]);
        assert!(cmp.same_cluster);
        assert_eq!(cmp.most_up_to_date, Some(0));
        assert_eq!(cmp.duplicate_members, [1]);
        let none = compare(&[]);
        assert!(!none.same_cluster);
        assert_eq!(none.most_up_to_date, None);
    }

    #[test]
    fn fields_come_from_db_then_wal_then_snap() {
        let db = Member {
            id: 1,
            name: String::new(),
            peer_urls: vec!["http://db:2380".into()],
            client_urls: Vec::new(),
            is_learner: false,
        };
        let wal = MemberState {
            id: 1,
            name: "m1".into(),
            ..MemberState::default()
        };
        let snap = Member {
            id: 1,
            client_urls: vec!["http://snap:2379".into()],
            ..Member::default()
        };
        let mut out = Identity::default();
        fill(&mut out, Some(&db), Some(&wal), Some(&snap));
        assert_eq!(
            out.name.as_ref().map(|n| (n.value.as_str(), n.source)),
            Some(("m1", Source::Wal))
        );
        assert_eq!(out.peer_urls.as_ref().map(|p| p.source), Some(Source::Db));
        assert_eq!(
            out.client_urls.as_ref().map(|p| p.source),
            Some(Source::Snap)
        );
        assert_eq!(out.is_learner, Some(false));
    }

    #[test]
    fn rejoin_steps_name_the_repair_command_and_never_a_placeholder() {
        let steps = rejoin_steps(&Identity::default(), "/var/lib/etcd");
        assert_eq!(steps.len(), 2);
        assert!(
            steps[0].contains("`wal-inspect repair /var/lib/etcd`"),
            "{}",
            steps[0]
        );
        assert!(!steps.concat().contains('<'), "{steps:?}");
        assert!(steps[1].contains("--initial-cluster-state existing"));
    }
}

/// What one dir holds that no other dir given (of the same cluster) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct HeldAlone {
    /// Log entries (first, last) that no other dir's log holds with the same term (above
    /// where every other log stops or parts from this one).
    pub entries: Option<(u64, u64)>,
    /// Indexes (first, last) its db has applied that no other dir's db has applied or log
    /// holds.
    pub applied: Option<(u64, u64)>,
}

/// For each dir (same order as `dirs`, which pairs each identity with its log's term runs):
/// what only it holds. Dirs of other clusters are not compared with it.
pub fn held_alone(dirs: &[(&Identity, &[TermRun])]) -> Vec<HeldAlone> {
    dirs.iter()
        .enumerate()
        .map(|(k, (id, terms))| {
            let others = dirs
                .iter()
                .enumerate()
                .filter(|(o, (oid, _))| *o != k && oid.cluster_id == id.cluster_id)
                .map(|(_, d)| d);
            let mut shared = 0u64;
            let mut reach = 0u64;
            let mut compared = 0usize;
            for (oid, oterms) in others {
                compared += 1;
                let c = compare_logs(terms, oterms);
                let agreed = match (c.common, c.divergence) {
                    (_, Some(v)) => v.index.saturating_sub(1),
                    (Some((_, last)), None) => last,
                    // No index in common: a log that starts after this one ends covers it
                    // (its snapshot and db hold what this one has).
                    (None, None) => match (oterms.first(), id.last_index()) {
                        (Some(f), Some(l)) if f.first > l => l,
                        _ => 0,
                    },
                };
                shared = shared.max(agreed);
                reach = reach
                    .max(oid.consistent_index.unwrap_or(0))
                    .max(oid.last_index().unwrap_or(0));
            }
            let last = id.last_index().unwrap_or(0);
            let ci = id.consistent_index.unwrap_or(0);
            HeldAlone {
                entries: (last > shared && compared > 0).then_some((shared + 1, last)),
                applied: (ci > reach && compared > 0).then_some((reach + 1, ci)),
            }
        })
        .collect()
}

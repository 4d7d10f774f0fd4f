//! What a member's configuration does with its data dir: etcd's start rules
//! (`server/etcdserver/server.go` `NewServer` in 3.4 and 3.5, `bootstrap.go` in 3.6)
//! applied to the flags read with [`Config`] and to the cluster the data records
//! ([`ClusterView`]). Each predicted problem is a [`Finding`] of kind
//! [`FindingKind::ConfigMismatch`] naming the flag, etcd's error text where etcd has one,
//! and the fix.
//!
//! Two situations are told apart ([`ConfigWhen`]):
//!
//! - **this data dir as it is** (`haveWAL` in `NewServer`): etcd ignores
//!   `--initial-cluster*` and takes the membership from the data, so what matters is
//!   `--force-new-cluster` (`restartAsStandaloneNode`), the name it publishes
//!   (`publishV3`), the peer URLs it listens on, and the cluster the other members are in;
//! - **an empty data dir with this configuration**, as after moving this one aside (the
//!   rejoin): `--initial-cluster-state new` bootstraps a new cluster
//!   (`NewClusterFromURLsMap`, `isMemberBootstrapped`), `existing` joins the running one
//!   (`VerifyJoinExisting`, `ValidateClusterAndAssignIDs`).

use std::path::PathBuf;

use etcd_proto::text::member_id as hex;
use etcd_snap::restore::ids;

use crate::cluster::{ClusterView, KnownMember};
use crate::config::Config;
use crate::finding::{Detail, Finding, FindingKind, Location};
use crate::identity::Source;

/// etcd's default `--initial-cluster-token`.
pub const DEFAULT_TOKEN: &str = "etcd-cluster";
/// etcd's default `--listen-peer-urls`.
pub const DEFAULT_LISTEN_PEER_URL: &str = "http://localhost:2380";

/// When a configuration problem bites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigWhen {
    /// Starting etcd with this configuration on this data dir as it is.
    ThisDataDir,
    /// Starting etcd with this configuration on an empty data dir (after this one is moved
    /// aside, as a rejoin does).
    EmptyDataDir,
}

/// Another member's data dir and the cluster its WAL belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCluster {
    /// The dir given.
    pub path: PathBuf,
    /// Its cluster ID (WAL metadata), when readable.
    pub cluster_id: Option<u64>,
    /// The RemoveNode of the inspected member in this peer's WAL (the inspected member may
    /// have been down when the cluster removed it: its own data then does not know).
    pub removes_this: Option<etcd_wal::membership::Removal>,
}

/// The inspected member's removal as other members' WALs record it (of the same cluster):
/// one [`FindingKind::MemberRemoved`] per peer dir that records it, when the member's own
/// data does not. etcd starts on such a dir, and stops as soon as a member of the cluster
/// answers it: `the member has been permanently removed from the cluster` (checked on
/// 3.5.1 and 3.4.23).
pub fn peer_removals(ins: &crate::Inspection, peers: &[PeerCluster]) -> Vec<Finding> {
    if ins.identity.removed() {
        return Vec::new();
    }
    let steps = crate::identity::rejoin_steps(&ins.identity, &ins.dir.given.display().to_string());
    peers
        .iter()
        .filter(|p| p.cluster_id.is_none() || p.cluster_id == ins.identity.cluster_id)
        .filter_map(|p| {
            let r = p.removes_this.as_ref()?;
            Some(Finding {
                kind: FindingKind::MemberRemoved,
                file: p.path.join(r.at.file_name()).display().to_string(),
                path: p.path.join(r.at.file_name()),
                location: Location::Wal(r.at),
                record_type: Some(etcd_wal::record::RecordType::Entry),
                index: Some(r.index),
                term: Some(r.term),
                etcd_error: Some(crate::boot::REMOVED_ERROR.into()),
                message: format!(
                    "{}'s WAL removes this member ({}) by the RemoveNode at index {}{}; this dir does not know it: etcd starts on it, and stops as soon as a member answers it (\"{}\"). What to do, in this order: {}",
                    p.path.display(),
                    hex(ins.identity.member_id.unwrap_or(0)),
                    r.index,
                    if r.committed { "" } else { " (not yet committed there)" },
                    crate::boot::REMOVED_ERROR,
                    crate::identity::numbered(&steps)
                ),
                decisive: false,
                detail: Detail::Removal {
                    committed: r.committed,
                    advice: steps.clone(),
                },
            })
        })
        .collect()
}

/// Every problem `cfg` causes with the data dir whose cluster is `cluster` (this member
/// and its cluster as the data records them, other members' dirs merged in), `peers` the
/// other members' dirs. Pure: reads nothing.
pub fn check(cluster: &ClusterView, cfg: &Config, peers: &[PeerCluster]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push =
        |flag: &str, when: ConfigWhen, etcd_error: Option<String>, message: String, fix: String| {
            out.push(Finding {
                kind: FindingKind::ConfigMismatch,
                file: cfg.path.display().to_string(),
                path: cfg.path.clone(),
                location: Location::File { offset: None },
                record_type: None,
                index: None,
                term: None,
                etcd_error,
                message,
                decisive: false,
                detail: Detail::Config {
                    flag: flag.to_owned(),
                    when,
                    fix,
                },
            });
        };
    let me = cluster.this_member();
    let members: Vec<&KnownMember> = cluster.members.iter().filter(|m| !m.removed).collect();
    let from_data = |s: Source| !matches!(s, Source::Config | Source::Operator);

    // --- This data dir as it is.
    // restartAsStandaloneNode: every other member is removed by entries this member
    // appends to its own log.
    let voters = cluster.voters();
    if cfg.force_new_cluster && voters > 1 {
        push(
            "force-new-cluster",
            ConfigWhen::ThisDataDir,
            None,
            format!(
                "--force-new-cluster is on: etcd restarts this member as a one-member cluster, appending the removal of the other {} member(s) to its own log (restartAsStandaloneNode); if the others still run, this member's log and theirs diverge for good",
                voters - 1
            ),
            "remove --force-new-cluster (ETCD_FORCE_NEW_CLUSTER) from the configuration once this member is not the only survivor the cluster is rebuilt from".into(),
        );
    }
    // publishV3: the name in the configuration replaces the recorded one.
    if let (Some(want), Some(recorded)) = (
        cfg.name.as_deref(),
        me.and_then(|m| m.name.as_ref())
            .filter(|n| from_data(n.source)),
    ) {
        if want != recorded.value {
            push(
                "name",
                ConfigWhen::ThisDataDir,
                None,
                format!(
                    "--name is {want:?} but the data records this member ({}) as {:?} ({}): etcd starts and publishes {want:?}, so the cluster lists the member under the new name, and an --initial-cluster that names it {:?} no longer matches",
                    me.map_or_else(String::new, |m| hex(m.id)),
                    recorded.value,
                    recorded.source.as_str(),
                    recorded.value
                ),
                format!(
                    "set --name={} (ETCD_NAME) in the configuration",
                    recorded.value
                ),
            );
        }
    }
    // The others dial the peer URLs the membership records, whatever this config says.
    if let Some(recorded) = me
        .and_then(|m| m.peer_urls.as_ref())
        .filter(|u| from_data(u.source))
    {
        let listen: Vec<String> = if cfg.listen_peer_urls.is_empty() {
            vec![DEFAULT_LISTEN_PEER_URL.to_owned()]
        } else {
            cfg.listen_peer_urls.clone()
        };
        let unserved: Vec<&String> = recorded
            .value
            .iter()
            .filter(|u| !listen.iter().any(|l| serves(l, u)))
            .collect();
        if !unserved.is_empty() && members.len() > 1 {
            let unserved: Vec<&str> = unserved.iter().map(|s| s.as_str()).collect();
            push(
                "listen-peer-urls",
                ConfigWhen::ThisDataDir,
                None,
                format!(
                    "the cluster reaches this member at {} (its recorded peer URLs), but it listens for peers on {}{}: the other members cannot reach it",
                    unserved.join(","),
                    listen.join(","),
                    if cfg.listen_peer_urls.is_empty() {
                        " (etcd's default)"
                    } else {
                        ""
                    }
                ),
                format!(
                    "listen where the cluster dials: --listen-peer-urls={} (ETCD_LISTEN_PEER_URLS), or change the member's peer URLs with etcdctl member update",
                    recorded.value.join(",")
                ),
            );
        }
    }
    // rafthttp: every message carries the sender's cluster ID; a peer of another cluster
    // rejects it ("request cluster ID mismatch").
    if let Some(mine) = cluster.cluster_id {
        for p in peers {
            if let Some(theirs) = p.cluster_id.filter(|c| *c != mine) {
                push(
                    "data-dir",
                    ConfigWhen::ThisDataDir,
                    Some("request cluster ID mismatch".into()),
                    format!(
                        "this data dir belongs to cluster {} but {} belongs to cluster {}: started together, the members reject each other's messages (request cluster ID mismatch) and this member never joins",
                        hex(mine),
                        p.path.display(),
                        hex(theirs)
                    ),
                    "do not start this dir in that cluster: rejoin the member with an empty data dir (wal-inspect repair prints the steps)".into(),
                );
            }
        }
    }

    // --- An empty data dir with this configuration.
    if cfg.initial_cluster.is_empty() || members.is_empty() {
        return out;
    }
    let names = initial_cluster_members(cfg);
    let state = cfg.initial_cluster_state.as_deref().unwrap_or("new");
    if state == "new" {
        // NewClusterFromURLsMap: IDs from the URLs and the token, no time; genID.
        let token = cfg
            .initial_cluster_token
            .as_deref()
            .unwrap_or(DEFAULT_TOKEN);
        let new_ids: Vec<(String, u64)> = names
            .iter()
            .map(|(n, urls)| (n.clone(), ids::member_id(urls, token)))
            .collect();
        let id_list: Vec<u64> = new_ids.iter().map(|(_, id)| *id).collect();
        let new_cluster = ids::cluster_id(&id_list);
        let own = cfg
            .name
            .as_ref()
            .and_then(|n| new_ids.iter().find(|(m, _)| m == n))
            .map(|(_, id)| *id);
        match cluster.cluster_id {
            Some(cid) if cid != new_cluster => push(
                "initial-cluster-state",
                ConfigWhen::EmptyDataDir,
                Some("request cluster ID mismatch".into()),
                format!(
                    "--initial-cluster-state is {}: on an empty data dir etcd bootstraps a new cluster {} from --initial-cluster (token {token:?}), not this member's cluster {}; the running members reject it (request cluster ID mismatch)",
                    if cfg.initial_cluster_state.is_some() {
                        "new"
                    } else {
                        "unset (etcd's default: new)"
                    },
                    hex(new_cluster),
                    hex(cid)
                ),
                "after etcdctl member add, start with --initial-cluster-state=existing (ETCD_INITIAL_CLUSTER_STATE=existing)".into(),
            ),
            Some(_) if own == cluster.this && me.is_some_and(started) => push(
                "initial-cluster-state",
                ConfigWhen::EmptyDataDir,
                Some(format!(
                    "member {} has already been bootstrapped",
                    own.map_or_else(String::new, hex)
                )),
                "--initial-cluster-state is new and this configuration bootstraps exactly this cluster: on an empty data dir etcd sees that the running members already list this member as started and exits (isMemberBootstrapped)".into(),
                "rejoin instead: etcdctl member remove, etcdctl member add, then start with --initial-cluster-state=existing".into(),
            ),
            _ => {}
        }
        return out;
    }
    // state existing: VerifyJoinExisting, then ValidateClusterAndAssignIDs against the
    // members a rejoin leaves (every member now; this one removed and added again).
    let Some(name) = cfg.name.as_deref() else {
        return out;
    };
    if !names.iter().any(|(n, _)| n == name) {
        push(
            "initial-cluster",
            ConfigWhen::EmptyDataDir,
            Some(format!(
                "couldn't find local name {name:?} in the initial cluster configuration"
            )),
            format!(
                "--name is {name:?} but --initial-cluster has no entry of that name: etcd exits before it contacts the cluster (VerifyJoinExisting)"
            ),
            format!("add {name}=<its peer URL> to --initial-cluster (ETCD_INITIAL_CLUSTER)"),
        );
        return out;
    }
    if names.len() != members.len() {
        push(
            "initial-cluster",
            ConfigWhen::EmptyDataDir,
            Some("member count is unequal".into()),
            format!(
                "--initial-cluster lists {} member(s) but the cluster has {} ({}): joining on an empty data dir, etcd exits with \"error validating peerURLs …: member count is unequal\" (ValidateClusterAndAssignIDs)",
                names.len(),
                members.len(),
                members
                    .iter()
                    .map(|m| describe(m))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "list every member of the cluster in --initial-cluster: {}",
                suggested_initial_cluster(&members, cfg)
            ),
        );
        return out;
    }
    for m in &members {
        let Some(urls) = m.peer_urls.as_ref().map(|u| sorted(&u.value)) else {
            continue;
        };
        if !names.iter().any(|(_, u)| sorted(u) == urls) {
            push(
                "initial-cluster",
                ConfigWhen::EmptyDataDir,
                Some(format!(
                    "PeerURLs: no match found for existing member ({}, [{}])",
                    hex(m.id),
                    urls.join(" ")
                )),
                format!(
                    "member {} has peer URLs {} in the cluster, and no --initial-cluster entry has exactly those: joining on an empty data dir, etcd exits (ValidateClusterAndAssignIDs)",
                    describe(m),
                    urls.join(",")
                ),
                format!(
                    "use the cluster's peer URLs in --initial-cluster: {}",
                    suggested_initial_cluster(&members, cfg)
                ),
            );
            break;
        }
    }
    out
}

/// `--initial-cluster` grouped by name (a name may carry several URLs), in order.
fn initial_cluster_members(cfg: &Config) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (n, u) in &cfg.initial_cluster {
        match out.iter_mut().find(|(m, _)| m == n) {
            Some((_, urls)) => urls.push(u.clone()),
            None => out.push((n.clone(), vec![u.clone()])),
        }
    }
    out
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Whether the member has run (the cluster records client URLs for it).
fn started(m: &KnownMember) -> bool {
    m.client_urls.as_ref().is_some_and(|c| !c.value.is_empty())
}

fn describe(m: &KnownMember) -> String {
    match &m.name {
        Some(n) => format!("{} {}", n.value, hex(m.id)),
        None => hex(m.id),
    }
}

/// `name=url,…` of the cluster's members, with names from the data (or from this
/// configuration's entry for the same URL); `<name>` where nothing records one.
fn suggested_initial_cluster(members: &[&KnownMember], cfg: &Config) -> String {
    let mut parts = Vec::new();
    for m in members {
        let urls = m
            .peer_urls
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_default();
        let name = m.name.as_ref().map(|n| n.value.clone()).or_else(|| {
            cfg.initial_cluster
                .iter()
                .find(|(_, u)| urls.contains(u))
                .map(|(n, _)| n.clone())
        });
        let name = name.unwrap_or_else(|| format!("<name of {}>", hex(m.id)));
        for u in &urls {
            parts.push(format!("{name}={u}"));
        }
    }
    parts.join(",")
}

/// The parts of a URL that decide who can reach a listener: scheme, host, port.
fn split_url(u: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = u.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':')?;
    Some((
        scheme,
        host.trim_start_matches('[').trim_end_matches(']'),
        port,
    ))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// Whether a listener on `listen` accepts connections made to `advertised`: same scheme
/// and port, and a wildcard host, the same host, or both loopback.
fn serves(listen: &str, advertised: &str) -> bool {
    let (Some((ls, lh, lp)), Some((as_, ah, ap))) = (split_url(listen), split_url(advertised))
    else {
        return true; // unix sockets and the unparsable: not ours to judge
    };
    ls == as_
        && lp == ap
        && (lh.is_empty()
            || lh == "0.0.0.0"
            || lh == "::"
            || lh == ah
            || (is_loopback(lh) && is_loopback(ah)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Sourced;

    fn member(id: u64, name: Option<&str>, peer: &str, client: Option<&str>) -> KnownMember {
        KnownMember {
            id,
            name: name.map(|n| Sourced {
                value: n.to_owned(),
                source: Source::Db,
            }),
            peer_urls: Some(Sourced {
                value: vec![peer.to_owned()],
                source: Source::Db,
            }),
            client_urls: client.map(|c| Sourced {
                value: vec![c.to_owned()],
                source: Source::Db,
            }),
            is_learner: false,
            removed: false,
        }
    }

    /// A three-member cluster m1 (bootstrapped alone, token t), m2 and m3 (member add);
    /// this dir is m3.
    fn cluster() -> ClusterView {
        let m1 = ids::member_id(&["http://127.0.0.1:2381".into()], "t");
        ClusterView {
            cluster_id: Some(ids::cluster_id(&[m1])),
            this: Some(3),
            members: vec![
                member(
                    m1,
                    Some("m1"),
                    "http://127.0.0.1:2381",
                    Some("http://127.0.0.1:2379"),
                ),
                member(
                    2,
                    Some("m2"),
                    "http://127.0.0.1:2383",
                    Some("http://127.0.0.1:2382"),
                ),
                member(
                    3,
                    Some("m3"),
                    "http://127.0.0.1:2385",
                    Some("http://127.0.0.1:2384"),
                ),
            ],
        }
    }

    fn config(name: &str, initial: &[(&str, &str)], state: Option<&str>) -> Config {
        Config {
            path: PathBuf::from("/etc/etcd/etcd.conf"),
            name: Some(name.into()),
            listen_peer_urls: vec!["http://127.0.0.1:2385".into()],
            initial_cluster: initial
                .iter()
                .map(|(n, u)| ((*n).to_owned(), (*u).to_owned()))
                .collect(),
            initial_cluster_state: state.map(str::to_owned),
            initial_cluster_token: Some("t".into()),
            ..Config::default()
        }
    }

    const ALL: &[(&str, &str)] = &[
        ("m1", "http://127.0.0.1:2381"),
        ("m2", "http://127.0.0.1:2383"),
        ("m3", "http://127.0.0.1:2385"),
    ];

    fn errors(f: &[Finding]) -> Vec<String> {
        f.iter()
            .map(|f| f.etcd_error.clone().unwrap_or_else(|| f.message.clone()))
            .collect()
    }

    #[test]
    fn a_matching_existing_config_is_quiet() {
        assert!(check(&cluster(), &config("m3", ALL, Some("existing")), &[]).is_empty());
    }

    /// ValidateClusterAndAssignIDs: `len(ems) != len(lms)`.
    #[test]
    fn member_count_is_unequal() {
        let f = check(&cluster(), &config("m3", &ALL[1..], Some("existing")), &[]);
        assert_eq!(errors(&f), ["member count is unequal"]);
        let Detail::Config { fix, when, .. } = &f[0].detail else {
            panic!()
        };
        assert_eq!(*when, ConfigWhen::EmptyDataDir);
        assert!(
            fix.contains(
                "m1=http://127.0.0.1:2381,m2=http://127.0.0.1:2383,m3=http://127.0.0.1:2385"
            ),
            "{fix}"
        );
    }

    /// VerifyJoinExisting → hasLocalMember.
    #[test]
    fn own_name_missing_from_initial_cluster() {
        let f = check(&cluster(), &config("m4", ALL, Some("existing")), &[]);
        assert!(errors(&f).contains(
            &"couldn't find local name \"m4\" in the initial cluster configuration".to_owned()
        ));
    }

    /// ValidateClusterAndAssignIDs: no lms entry with the same (sorted) peer URLs.
    #[test]
    fn peer_urls_no_match() {
        let mut c = ALL.to_vec();
        c[1].1 = "http://127.0.0.1:9999";
        let f = check(&cluster(), &config("m3", &c, Some("existing")), &[]);
        assert_eq!(
            errors(&f),
            [
                "PeerURLs: no match found for existing member (0000000000000002, [http://127.0.0.1:2383])"
            ]
        );
    }

    /// NewClusterFromURLsMap + genID: the three-member bootstrap is another cluster than the
    /// one m1 bootstrapped alone; the original one-member config is the same cluster.
    #[test]
    fn state_new_bootstraps_another_cluster() {
        let f = check(&cluster(), &config("m3", ALL, Some("new")), &[]);
        assert_eq!(errors(&f), ["request cluster ID mismatch"]);
        let f = check(&cluster(), &config("m3", ALL, None), &[]);
        assert!(f[0].message.contains("unset (etcd's default: new)"));
    }

    /// isMemberBootstrapped: the same bootstrap config on an empty dir of a started member.
    #[test]
    fn state_new_of_the_original_bootstrap_is_already_bootstrapped() {
        let m1 = ids::member_id(&["http://127.0.0.1:2381".into()], "t");
        let mut c = cluster();
        c.this = Some(m1);
        let mut cfg = config("m1", &ALL[..1], Some("new"));
        cfg.listen_peer_urls = vec!["http://127.0.0.1:2381".into()];
        let f = check(&c, &cfg, &[]);
        assert_eq!(
            errors(&f),
            [format!("member {} has already been bootstrapped", hex(m1))]
        );
    }

    /// restartAsStandaloneNode.
    #[test]
    fn force_new_cluster_with_other_voters() {
        let mut cfg = config("m3", ALL, Some("existing"));
        cfg.force_new_cluster = true;
        let f = check(&cluster(), &cfg, &[]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("the other 2 member(s)"),
            "{}",
            f[0].message
        );
    }

    /// publishV3 publishes the configured name.
    #[test]
    fn a_name_other_than_the_recorded_one() {
        let mut cfg = config("m3", ALL, Some("existing"));
        cfg.name = Some("etcd-3".into());
        let f = check(&cluster(), &cfg, &[]);
        let flags: Vec<&str> = f
            .iter()
            .map(|f| match &f.detail {
                Detail::Config { flag, .. } => flag.as_str(),
                _ => "",
            })
            .collect();
        // Also the own name is missing from --initial-cluster for an empty-dir start.
        assert_eq!(flags, ["name", "initial-cluster"]);
    }

    #[test]
    fn listen_peer_urls_must_serve_the_recorded_peer_url() {
        let mut cfg = config("m3", ALL, Some("existing"));
        cfg.listen_peer_urls = vec![];
        let f = check(&cluster(), &cfg, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("(etcd's default)"));
        for (listen, ok) in [
            ("http://0.0.0.0:2385", true),
            ("http://127.0.0.1:2385", true),
            ("http://localhost:2385", true),
            ("https://127.0.0.1:2385", false),
            ("http://127.0.0.1:2380", false),
            ("http://10.0.0.1:2385", false),
        ] {
            cfg.listen_peer_urls = vec![listen.into()];
            assert_eq!(check(&cluster(), &cfg, &[]).is_empty(), ok, "{listen}");
        }
    }

    #[test]
    fn a_peer_dir_of_another_cluster() {
        let peers = [PeerCluster {
            path: "/peer".into(),
            cluster_id: Some(42),
            removes_this: None,
        }];
        let f = check(&cluster(), &config("m3", ALL, Some("existing")), &peers);
        assert_eq!(errors(&f), ["request cluster ID mismatch"]);
        assert_eq!(f[0].file, "/etc/etcd/etcd.conf");
    }
}

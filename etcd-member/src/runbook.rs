//! Every command the tool tells an operator to run, as data: complete and literal (paths
//! absolute, every flag etcd needs), each with where it runs and why.
//!
//! A step whose argv needs something no source records (`needs` not empty) holds a
//! `<placeholder>` where the value goes and names the option that supplies it
//! ([`Need::supplied_by`]); every other step runs as given, with `etcd` and `etcdctl` on
//! `PATH` being the release that wrote the data.
//!
//! The rejoin (a member that must be removed and added back with an empty data dir) follows
//! etcd's runtime-reconfiguration guide: `member remove`, `member add NAME --peer-urls`
//! (which refuses without a name: "member name not provided"), move the old data dir aside,
//! then start with `--initial-cluster-state existing` and an `--initial-cluster` that lists
//! every member (etcd checks the member count and the peer URLs against the running
//! cluster, `ValidateClusterAndAssignIDs`, and looks its own name up in it; the other
//! members' names are not compared, so a member whose name no source records is listed
//! under its ID).

use std::path::{Path, PathBuf};

use crate::cluster::{ClusterView, KnownMember};
use crate::config::{Config, TlsFiles};
use crate::paths::MemberDir;

/// Where a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// Any host that reaches a healthy member's client URL.
    HealthyMember,
    /// The host that holds this data dir.
    ThisHost,
    /// The host of the named member.
    Host(String),
}

impl serde::Serialize for Where {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Where::HealthyMember => s.serialize_str("healthy_member"),
            Where::ThisHost => s.serialize_str("this_host"),
            Where::Host(h) => s.serialize_str(&format!("host:{h}")),
        }
    }
}

/// Something a step needs that no source records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// This member's name.
    Name,
    /// This member's peer URLs.
    PeerUrls,
    /// This member's client URLs.
    ClientUrls,
    /// A healthy member's client URL, for etcdctl.
    Endpoints,
    /// TLS files: the URLs are `https` and no configuration names the certificates.
    Tls,
}

impl Need {
    /// The option (of `repair` / `verify`) that supplies it.
    pub fn supplied_by(self) -> &'static str {
        match self {
            Need::Name => "--name NAME, --config FILE or --peer-dir DIR",
            Need::PeerUrls | Need::ClientUrls => "--config FILE or --peer-dir DIR",
            Need::Endpoints => "--peer-dir DIR (another member's data dir) or --config FILE",
            Need::Tls => {
                "--config FILE (the member's etcd.conf, config file or static pod manifest)"
            }
        }
    }

    /// The placeholder in an argv.
    fn placeholder(self) -> &'static str {
        match self {
            Need::Name => "<name>",
            Need::PeerUrls => "<peer-urls>",
            Need::ClientUrls => "<client-urls>",
            Need::Endpoints => "<endpoints>",
            Need::Tls => "<tls-files>",
        }
    }
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// 1-based position.
    pub n: usize,
    /// Where it runs.
    #[serde(rename = "where")]
    pub place: Where,
    /// The command, literally.
    pub argv: Vec<String>,
    /// What it does.
    pub why: String,
    /// Whether it starts a daemon (it does not return while etcd runs).
    pub daemon: bool,
    /// What it needs that no source records (empty: it runs as given).
    pub needs: Vec<Need>,
}

impl Step {
    /// The command as one shell line (each argument quoted where the shell needs it).
    pub fn shell(&self) -> String {
        self.argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `arg` quoted for a POSIX shell when it needs it.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./,:=@%+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// What a runbook does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunbookKind {
    /// Remove the member, add it back, start it empty.
    Rejoin,
    /// Add back a member the cluster already removed, start it empty.
    RejoinRemoved,
    /// Start the member on its (repaired) data dir.
    Start,
    /// Start a recovered member alone (`--force-new-cluster`), then add the others back.
    Recover,
}

/// A sequence of commands, in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Runbook {
    /// What it does.
    pub kind: RunbookKind,
    /// The steps.
    pub steps: Vec<Step>,
    /// Everything any step needs (sorted, once each).
    pub needs: Vec<Need>,
    /// Which release's binaries to run (`3.5`: the release that wrote the data).
    pub etcd_release: Option<String>,
}

/// What a runbook is made from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The member's paths.
    pub dir: &'a MemberDir,
    /// The cluster, from every source.
    pub cluster: &'a ClusterView,
    /// The member's configuration, when given.
    pub config: Option<&'a Config>,
    /// The release line that wrote the data.
    pub release: Option<&'a str>,
}

fn urls(m: Option<&KnownMember>, f: impl Fn(&KnownMember) -> Option<&Vec<String>>) -> Vec<String> {
    m.and_then(f).cloned().unwrap_or_default()
}

fn is_https(urls: &[String]) -> bool {
    urls.iter().any(|u| u.starts_with("https://"))
}

/// One flag with its value, or its placeholder and the need.
fn flag(argv: &mut Vec<String>, needs: &mut Vec<Need>, name: &str, values: &[String], need: Need) {
    if values.is_empty() {
        needs.push(need);
        argv.push(format!("{name}={}", need.placeholder()));
    } else {
        argv.push(format!("{name}={}", values.join(",")));
    }
}

fn tls_etcdctl(argv: &mut Vec<String>, tls: &TlsFiles) {
    if let Some(ca) = &tls.trusted_ca_file {
        argv.push(format!("--cacert={ca}"));
    }
    if let Some(c) = &tls.cert_file {
        argv.push(format!("--cert={c}"));
    }
    if let Some(k) = &tls.key_file {
        argv.push(format!("--key={k}"));
    }
}

fn tls_etcd(argv: &mut Vec<String>, client: &TlsFiles, peer: &TlsFiles) {
    for (prefix, t) in [("", client), ("peer-", peer)] {
        if let Some(c) = &t.cert_file {
            argv.push(format!("--{prefix}cert-file={c}"));
        }
        if let Some(k) = &t.key_file {
            argv.push(format!("--{prefix}key-file={k}"));
        }
        if let Some(ca) = &t.trusted_ca_file {
            argv.push(format!("--{prefix}trusted-ca-file={ca}"));
        }
        if t.client_cert_auth {
            argv.push(format!("--{prefix}client-cert-auth"));
        }
    }
}

/// Flags of the configuration passed on to the start command as they are, except those a
/// runbook sets itself and those that would bootstrap or rewrite the cluster.
fn passed_on(cfg: Option<&Config>) -> Vec<String> {
    const NOT: &[&str] = &[
        "config-file",
        "initial-cluster-state",
        "force-new-cluster",
        "discovery",
        "discovery-srv",
    ];
    cfg.map(|c| {
        c.other
            .iter()
            .filter(|(f, _)| !NOT.contains(&f.as_str()))
            .map(|(f, v)| format!("--{f}={v}"))
            .collect()
    })
    .unwrap_or_default()
}

fn moved_aside(p: &Path, id: u64) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(format!(".removed-{id:016x}"));
    PathBuf::from(s)
}

struct Builder<'a> {
    ctx: Context<'a>,
    steps: Vec<Step>,
}

impl Builder<'_> {
    fn push(
        &mut self,
        place: Where,
        argv: Vec<String>,
        why: String,
        daemon: bool,
        mut needs: Vec<Need>,
    ) {
        needs.sort();
        needs.dedup();
        self.steps.push(Step {
            n: self.steps.len() + 1,
            place,
            argv,
            why,
            daemon,
            needs,
        });
    }

    fn me(&self) -> Option<&KnownMember> {
        self.ctx.cluster.this_member()
    }

    fn name(&self) -> Option<String> {
        self.me()
            .and_then(|m| m.name.as_ref())
            .map(|n| n.value.clone())
    }

    fn peer_urls(&self) -> Vec<String> {
        urls(self.me(), |m| m.peer_urls.as_ref().map(|s| &s.value))
    }

    fn client_urls(&self) -> Vec<String> {
        urls(self.me(), |m| m.client_urls.as_ref().map(|s| &s.value))
    }

    /// `etcdctl --endpoints=… [TLS]` against the other members.
    fn etcdctl(&self, needs: &mut Vec<Need>) -> Vec<String> {
        let mut argv = vec!["etcdctl".to_owned()];
        let endpoints: Vec<String> = self
            .ctx
            .cluster
            .others()
            .filter_map(|m| m.client_urls.as_ref())
            .flat_map(|c| c.value.iter().cloned())
            .collect();
        flag(&mut argv, needs, "--endpoints", &endpoints, Need::Endpoints);
        match self.ctx.config {
            Some(c) if c.client_tls.is_set() => tls_etcdctl(&mut argv, &c.client_tls),
            _ if is_https(&endpoints) => needs.push(Need::Tls),
            _ => {}
        }
        argv
    }

    /// `etcd --name … --data-dir … --listen-… --advertise-… [--initial-…] [TLS]`.
    fn etcd(&self, needs: &mut Vec<Need>, join: bool) -> Vec<String> {
        let dir = self.ctx.dir;
        let cfg = self.ctx.config;
        let mut argv = vec!["etcd".to_owned()];
        match self.name() {
            Some(n) => argv.push(format!("--name={n}")),
            None => {
                needs.push(Need::Name);
                argv.push(format!("--name={}", Need::Name.placeholder()));
            }
        }
        argv.push(format!("--data-dir={}", dir.data_dir.display()));
        if dir.dedicated_wal {
            argv.push(format!("--wal-dir={}", dir.wal.display()));
        }
        let peers = self.peer_urls();
        let clients = self.client_urls();
        let listen_peers = cfg
            .map(|c| c.listen_peer_urls.clone())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| peers.clone());
        let listen_clients = cfg
            .map(|c| c.listen_client_urls.clone())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| clients.clone());
        flag(
            &mut argv,
            needs,
            "--listen-peer-urls",
            &listen_peers,
            Need::PeerUrls,
        );
        flag(
            &mut argv,
            needs,
            "--listen-client-urls",
            &listen_clients,
            Need::ClientUrls,
        );
        flag(
            &mut argv,
            needs,
            "--advertise-client-urls",
            &clients,
            Need::ClientUrls,
        );
        flag(
            &mut argv,
            needs,
            "--initial-advertise-peer-urls",
            &peers,
            Need::PeerUrls,
        );
        if join {
            let mut initial: Vec<String> = Vec::new();
            let me = self.ctx.cluster.this;
            for m in self
                .ctx
                .cluster
                .members
                .iter()
                .filter(|m| !m.removed || Some(m.id) == me)
            {
                let name = if Some(m.id) == me {
                    self.name()
                        .unwrap_or_else(|| Need::Name.placeholder().to_owned())
                } else {
                    // etcd does not compare the other members' names; one no source
                    // records is listed under its ID.
                    m.name
                        .as_ref()
                        .map_or_else(|| format!("{:016x}", m.id), |n| n.value.clone())
                };
                let us = if Some(m.id) == me {
                    peers.clone()
                } else {
                    urls(Some(m), |m| m.peer_urls.as_ref().map(|s| &s.value))
                };
                if us.is_empty() {
                    needs.push(Need::PeerUrls);
                }
                for u in us {
                    initial.push(format!("{name}={u}"));
                }
            }
            argv.push(format!("--initial-cluster={}", initial.join(",")));
            argv.push("--initial-cluster-state=existing".to_owned());
        }
        match cfg {
            Some(c) if c.client_tls.is_set() || c.peer_tls.is_set() => {
                tls_etcd(&mut argv, &c.client_tls, &c.peer_tls);
            }
            _ if is_https(&peers) || is_https(&clients) => needs.push(Need::Tls),
            _ => {}
        }
        argv.extend(passed_on(cfg));
        argv
    }

    /// `member add` the context's member (name, peer URLs), move its old data dir (and a
    /// dedicated WAL dir) aside on `host`, start it empty with `--initial-cluster-state
    /// existing`: the steps a rejoin and a recovery share.
    fn add_back(&mut self, id: u64, host: Where, why_add: &str, why_move: &str, why_start: &str) {
        let dir = self.ctx.dir;
        let mut needs = Vec::new();
        let mut argv = self.etcdctl(&mut needs);
        let name = self.name().unwrap_or_else(|| {
            needs.push(Need::Name);
            Need::Name.placeholder().to_owned()
        });
        argv.extend(["member".into(), "add".into(), name]);
        let peers = self.peer_urls();
        flag(&mut argv, &mut needs, "--peer-urls", &peers, Need::PeerUrls);
        self.push(Where::HealthyMember, argv, why_add.into(), false, needs);
        self.push(
            host.clone(),
            vec![
                "mv".into(),
                dir.data_dir.display().to_string(),
                moved_aside(&dir.data_dir, id).display().to_string(),
            ],
            why_move.into(),
            false,
            Vec::new(),
        );
        if dir.dedicated_wal {
            self.push(
                host.clone(),
                vec![
                    "mv".into(),
                    dir.wal.display().to_string(),
                    moved_aside(&dir.wal, id).display().to_string(),
                ],
                "move the dedicated WAL dir aside too (etcd would otherwise start on the old WAL)"
                    .into(),
                false,
                Vec::new(),
            );
        }
        let mut needs = Vec::new();
        let argv = self.etcd(&mut needs, true);
        self.push(host, argv, why_start.into(), true, needs);
    }

    fn finish(self, kind: RunbookKind) -> Runbook {
        let mut needs: Vec<Need> = self
            .steps
            .iter()
            .flat_map(|s| s.needs.iter().copied())
            .collect();
        needs.sort();
        needs.dedup();
        Runbook {
            kind,
            steps: self.steps,
            needs,
            etcd_release: self.ctx.release.map(str::to_owned),
        }
    }
}

/// Remove this member from its cluster, add it back under the same name and peer URLs, and
/// start it with an empty data dir. With `already_removed` (its own WAL, its db or a peer
/// records the removal), the `member remove` step is left out.
pub fn rejoin(ctx: Context<'_>, already_removed: bool) -> Runbook {
    let mut b = Builder {
        ctx,
        steps: Vec::new(),
    };
    let id = ctx.cluster.this.unwrap_or(0);
    if !already_removed {
        let mut needs = Vec::new();
        let mut argv = b.etcdctl(&mut needs);
        argv.extend(["member".into(), "remove".into(), format!("{id:016x}")]);
        b.push(
            Where::HealthyMember,
            argv,
            format!("remove this member ({id:016x}) from the cluster"),
            false,
            needs,
        );
    }

    b.add_back(
        id,
        Where::ThisHost,
        "add it back as a new member with the same name and peer URLs",
        "move the old data dir aside (keep it: it is the evidence, and the only copy of \
         anything the cluster lost)",
        "start it with an empty data dir; it catches up from the leader's log or a snapshot",
    );
    b.finish(if already_removed {
        RunbookKind::RejoinRemoved
    } else {
        RunbookKind::Rejoin
    })
}

/// After a quorum loss (see [`crate::recover`]): start member `source` alone on the
/// recovered data dir `out` with `--force-new-cluster`, then for each of `others` (member ID
/// and its old data dir), in order: `member add` it, move its old data dir aside and start
/// it empty with `--initial-cluster-state existing` and an `--initial-cluster` of the
/// members added so far.
pub fn recover(
    cluster: &ClusterView,
    source: u64,
    out: &MemberDir,
    others: &[(u64, &MemberDir)],
    release: Option<&str>,
) -> Runbook {
    let pick = |ids: &[u64], this: u64| ClusterView {
        cluster_id: cluster.cluster_id,
        this: Some(this),
        members: cluster
            .members
            .iter()
            .filter(|m| ids.contains(&m.id))
            .map(|m| KnownMember {
                removed: false,
                ..m.clone()
            })
            .collect(),
    };
    let host = |id: u64| {
        cluster
            .members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.name.as_ref())
            .map_or_else(|| format!("{id:016x}"), |n| n.value.clone())
    };
    let alone = pick(&[source], source);
    let mut views = Vec::new();
    let mut ids = vec![source];
    for (id, _) in others {
        ids.push(*id);
        views.push(pick(&ids, *id));
    }
    let first = Context {
        dir: out,
        cluster: &alone,
        config: None,
        release,
    };
    let mut b = Builder {
        ctx: first,
        steps: Vec::new(),
    };
    let mut needs = Vec::new();
    let mut argv = b.etcd(&mut needs, false);
    argv.push("--force-new-cluster".into());
    b.push(
        Where::Host(host(source)),
        argv,
        format!(
            "start the recovered member ({source:016x}) alone on the recovered data dir (copied \
             to its host if it was built elsewhere): --force-new-cluster keeps its member and \
             cluster ID, replays the kept entries and removes every other member; leave the \
             flag out of every later start"
        ),
        true,
        needs,
    );
    for ((id, dir), view) in others.iter().zip(views.iter()) {
        b.ctx = Context {
            dir,
            cluster: view,
            config: None,
            release,
        };
        b.add_back(
            *id,
            Where::Host(host(*id)),
            &format!("add member {id:016x} back (same name and peer URLs)"),
            "move its old data dir aside (keep it until the cluster is healthy)",
            "start it with an empty data dir; it catches up from the recovered member",
        );
    }
    b.finish(RunbookKind::Recover)
}

/// Start this member on its data dir (after a local repair).
pub fn start(ctx: Context<'_>) -> Runbook {
    let mut b = Builder {
        ctx,
        steps: Vec::new(),
    };
    let mut needs = Vec::new();
    let argv = b.etcd(&mut needs, false);
    b.push(
        Where::ThisHost,
        argv,
        "start etcd on the repaired data dir".into(),
        true,
        needs,
    );
    b.finish(RunbookKind::Start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Source, Sourced};

    fn known(id: u64, name: Option<&str>, port: u16) -> KnownMember {
        let s = |v| {
            Some(Sourced {
                value: v,
                source: Source::Db,
            })
        };
        KnownMember {
            id,
            name: name.map(|n| Sourced {
                value: n.to_owned(),
                source: Source::Wal,
            }),
            peer_urls: s(vec![format!("http://127.0.0.1:{}", port + 1)]),
            client_urls: s(vec![format!("http://127.0.0.1:{port}")]),
            is_learner: false,
            removed: false,
        }
    }

    fn dir() -> MemberDir {
        MemberDir {
            given: "data/m2".into(),
            root: "/srv/data/m2".into(),
            data_dir: "/srv/data/m2".into(),
            member: Some("/srv/data/m2/member".into()),
            wal: "/srv/data/m2/member/wal".into(),
            dedicated_wal: false,
            snap: Some("/srv/data/m2/member/snap".into()),
        }
    }

    #[test]
    fn a_rejoin_is_complete_and_literal() {
        let cluster = ClusterView {
            cluster_id: Some(9),
            this: Some(2),
            members: vec![
                known(1, Some("m1"), 2379),
                known(2, Some("m2"), 2389),
                known(3, None, 2399),
            ],
        };
        let d = dir();
        let r = rejoin(
            Context {
                dir: &d,
                cluster: &cluster,
                config: None,
                release: Some("3.5"),
            },
            false,
        );
        let lines: Vec<String> = r.steps.iter().map(Step::shell).collect();
        assert_eq!(
            lines,
            [
                "etcdctl --endpoints=http://127.0.0.1:2379,http://127.0.0.1:2399 member remove 0000000000000002",
                "etcdctl --endpoints=http://127.0.0.1:2379,http://127.0.0.1:2399 member add m2 --peer-urls=http://127.0.0.1:2390",
                "mv /srv/data/m2 /srv/data/m2.removed-0000000000000002",
                "etcd --name=m2 --data-dir=/srv/data/m2 --listen-peer-urls=http://127.0.0.1:2390 \
                 --listen-client-urls=http://127.0.0.1:2389 --advertise-client-urls=http://127.0.0.1:2389 \
                 --initial-advertise-peer-urls=http://127.0.0.1:2390 \
                 --initial-cluster=m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2390,0000000000000003=http://127.0.0.1:2400 \
                 --initial-cluster-state=existing",
            ]
        );
        assert!(r.needs.is_empty());
        assert!(r.steps[3].daemon);
    }

    #[test]
    fn what_no_source_records_is_a_need_never_an_empty_value() {
        let mut me = known(2, None, 2389);
        me.client_urls = None;
        let cluster = ClusterView {
            cluster_id: Some(9),
            this: Some(2),
            members: vec![me],
        };
        let d = dir();
        let r = rejoin(
            Context {
                dir: &d,
                cluster: &cluster,
                config: None,
                release: None,
            },
            true,
        );
        assert_eq!(r.kind, RunbookKind::RejoinRemoved);
        assert_eq!(r.needs, [Need::Name, Need::ClientUrls, Need::Endpoints]);
        for s in &r.steps {
            for a in &s.argv {
                assert!(
                    !a.ends_with('=') && !a.is_empty() && !a.contains("=,"),
                    "{a:?}"
                );
            }
        }
        assert!(r.steps[0].argv.contains(&"<name>".to_owned()));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("--x=http://h:1,h:2"), "--x=http://h:1,h:2");
        assert_eq!(shell_quote(""), "''");
    }
}

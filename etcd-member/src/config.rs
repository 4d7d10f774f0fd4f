//! An etcd member's configuration, read from what operators have on disk:
//!
//! - an **environment file** as systemd units and packages load it (`/etc/etcd/etcd.conf`,
//!   `/etc/default/etcd`): `ETCD_NAME=m1`, `ETCD_INITIAL_CLUSTER="m1=https://…"`, comments
//!   and `export` allowed. Each `ETCD_FOO_BAR` is etcd's flag `--foo-bar` (etcd's own rule,
//!   `pkg/flags` `SetFlagsFromEnv`);
//! - etcd's **YAML config file** (`--config-file`): flag names as keys, TLS under
//!   `client-transport-security` / `peer-transport-security` (`server/embed/config.go`
//!   `configYAML`);
//! - a **Kubernetes static pod manifest** (`/etc/kubernetes/manifests/etcd.yaml`): the etcd
//!   container's `command` (and `args`) as `--flag=value` items.
//!
//! The kind is told from the content. Every malformed file is an error naming the file and
//! the line.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// Which format the file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigFormat {
    /// `ETCD_*=…` lines.
    EnvFile,
    /// etcd's `--config-file` YAML.
    ConfigFile,
    /// A Kubernetes Pod manifest running etcd.
    StaticPod,
}

/// A configuration file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {what}", path.display(), line.map_or(String::new(), |l| format!(":{l}")))]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub what: String,
}

/// TLS files of one side (client or peer).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TlsFiles {
    /// `--cert-file` / `--peer-cert-file`.
    pub cert_file: Option<String>,
    /// `--key-file` / `--peer-key-file`.
    pub key_file: Option<String>,
    /// `--trusted-ca-file` / `--peer-trusted-ca-file`.
    pub trusted_ca_file: Option<String>,
    /// `--client-cert-auth` / `--peer-client-cert-auth`.
    pub client_cert_auth: bool,
}

impl TlsFiles {
    /// Whether any TLS file is set.
    pub fn is_set(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some() || self.trusted_ca_file.is_some()
    }
}

/// The flags of one etcd member that matter for its data dir and for running it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Config {
    /// The file read.
    pub path: PathBuf,
    /// Its format.
    pub format: Option<ConfigFormat>,
    /// `--name`.
    pub name: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--wal-dir`.
    pub wal_dir: Option<String>,
    /// `--listen-peer-urls`.
    pub listen_peer_urls: Vec<String>,
    /// `--listen-client-urls`.
    pub listen_client_urls: Vec<String>,
    /// `--advertise-client-urls`.
    pub advertise_client_urls: Vec<String>,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--initial-cluster`, as (name, peer URL) pairs in order.
    pub initial_cluster: Vec<(String, String)>,
    /// `--initial-cluster-state`.
    pub initial_cluster_state: Option<String>,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: Option<String>,
    /// `--force-new-cluster`.
    pub force_new_cluster: bool,
    /// Client TLS.
    pub client_tls: TlsFiles,
    /// Peer TLS.
    pub peer_tls: TlsFiles,
    /// Every other flag, in order (`--flag`, value), passed on as they are.
    pub other: Vec<(String, String)>,
}

/// Flags [`Config`] has fields for (the rest go to [`Config::other`]).
const KNOWN: &[&str] = &[
    "name",
    "data-dir",
    "wal-dir",
    "listen-peer-urls",
    "listen-client-urls",
    "advertise-client-urls",
    "initial-advertise-peer-urls",
    "initial-cluster",
    "initial-cluster-state",
    "initial-cluster-token",
    "force-new-cluster",
    "cert-file",
    "key-file",
    "trusted-ca-file",
    "client-cert-auth",
    "peer-cert-file",
    "peer-key-file",
    "peer-trusted-ca-file",
    "peer-client-cert-auth",
];

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn truthy(v: &str) -> bool {
    matches!(v.trim(), "true" | "1" | "t" | "T" | "TRUE" | "True" | "")
}

impl Config {
    /// Read `path`, telling the format from its content.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            what: e.to_string(),
        })?;
        Config::parse(path, &text)
    }

    /// Parse `text` (read from `path`, which errors name).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let looks_env = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| {
                let l = l.strip_prefix("export ").unwrap_or(l);
                l.starts_with("ETCD_") && l.contains('=')
            });
        let mut c = Config {
            path: path.to_path_buf(),
            ..Config::default()
        };
        if looks_env {
            c.format = Some(ConfigFormat::EnvFile);
            for (n, flag, value) in env_flags(path, text)? {
                c.set(path, Some(n), &flag, &value)?;
            }
            return Ok(c);
        }
        let docs = YamlLoader::load_from_str(text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: Some(e.marker().line() + 1),
            what: format!("not YAML: {}", e.info()),
        })?;
        let doc = docs.into_iter().next().ok_or_else(|| ConfigError {
            path: path.to_path_buf(),
            line: None,
            what: "empty file".into(),
        })?;
        if doc["kind"].as_str() == Some("Pod") || !doc["spec"]["containers"].is_badvalue() {
            c.format = Some(ConfigFormat::StaticPod);
            for (flag, value) in pod_flags(path, &doc)? {
                c.set(path, None, &flag, &value)?;
            }
            return Ok(c);
        }
        let Yaml::Hash(map) = &doc else {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: None,
                what: "not an etcd configuration: neither ETCD_* lines, an etcd --config-file \
                       (a YAML mapping of flags) nor a Pod manifest"
                    .into(),
            });
        };
        c.format = Some(ConfigFormat::ConfigFile);
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            match key {
                "client-transport-security" | "peer-transport-security" => {
                    let prefix = if key.starts_with("peer") { "peer-" } else { "" };
                    if let Yaml::Hash(tls) = v {
                        for (tk, tv) in tls {
                            let (Some(tk), Some(tv)) = (tk.as_str(), scalar(tv)) else {
                                continue;
                            };
                            c.set(path, None, &format!("{prefix}{tk}"), &tv)?;
                        }
                    }
                }
                _ => {
                    if let Some(value) = scalar(v) {
                        c.set(path, None, key, &value)?;
                    }
                }
            }
        }
        Ok(c)
    }

    /// Take one flag (`flag` without its dashes).
    fn set(
        &mut self,
        path: &Path,
        line: Option<usize>,
        flag: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        let v = value.to_string();
        match flag {
            "name" => self.name = Some(v).filter(|s| !s.is_empty()),
            "data-dir" => self.data_dir = Some(v).filter(|s| !s.is_empty()),
            "wal-dir" => self.wal_dir = Some(v).filter(|s| !s.is_empty()),
            "listen-peer-urls" => self.listen_peer_urls = list(value),
            "listen-client-urls" => self.listen_client_urls = list(value),
            "advertise-client-urls" => self.advertise_client_urls = list(value),
            "initial-advertise-peer-urls" => self.initial_advertise_peer_urls = list(value),
            "initial-cluster" => {
                let mut out = Vec::new();
                for item in list(value) {
                    let Some((name, url)) = item.split_once('=') else {
                        return Err(ConfigError {
                            path: path.to_path_buf(),
                            line,
                            what: format!(
                                "initial-cluster item {item:?} is not NAME=URL (etcd: \"{item}\" \
                                 is not a valid key=value pair)"
                            ),
                        });
                    };
                    out.push((name.trim().to_owned(), url.trim().to_owned()));
                }
                self.initial_cluster = out;
            }
            "initial-cluster-state" => self.initial_cluster_state = Some(v),
            "initial-cluster-token" => self.initial_cluster_token = Some(v),
            "force-new-cluster" => self.force_new_cluster = truthy(value),
            "cert-file" => self.client_tls.cert_file = Some(v).filter(|s| !s.is_empty()),
            "key-file" => self.client_tls.key_file = Some(v).filter(|s| !s.is_empty()),
            "trusted-ca-file" => {
                self.client_tls.trusted_ca_file = Some(v).filter(|s| !s.is_empty())
            }
            "client-cert-auth" => self.client_tls.client_cert_auth = truthy(value),
            "peer-cert-file" => self.peer_tls.cert_file = Some(v).filter(|s| !s.is_empty()),
            "peer-key-file" => self.peer_tls.key_file = Some(v).filter(|s| !s.is_empty()),
            "peer-trusted-ca-file" => {
                self.peer_tls.trusted_ca_file = Some(v).filter(|s| !s.is_empty())
            }
            "peer-client-cert-auth" => self.peer_tls.client_cert_auth = truthy(value),
            other => {
                debug_assert!(!KNOWN.contains(&other));
                self.other.push((other.to_owned(), v));
            }
        }
        Ok(())
    }

    /// The peer URLs this member advertises (`--initial-advertise-peer-urls`, else its
    /// entry in `--initial-cluster`).
    pub fn peer_urls(&self) -> Vec<String> {
        if !self.initial_advertise_peer_urls.is_empty() {
            return self.initial_advertise_peer_urls.clone();
        }
        match &self.name {
            Some(n) => self
                .initial_cluster
                .iter()
                .filter(|(m, _)| m == n)
                .map(|(_, u)| u.clone())
                .collect(),
            None => Vec::new(),
        }
    }
}

/// A YAML scalar as etcd's flag value.
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        Yaml::Array(items) => Some(
            items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

/// `(line, flag, value)` of every `ETCD_*` assignment.
fn env_flags(path: &Path, text: &str) -> Result<Vec<(usize, String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l).trim();
        let err = |what: String| ConfigError {
            path: path.to_path_buf(),
            line: Some(n),
            what,
        };
        let Some((key, value)) = l.split_once('=') else {
            return Err(err(format!("not NAME=value: {l:?}")));
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(format!("not a variable name: {key:?}")));
        }
        let value = value.trim();
        let value = match (value.chars().next(), value.chars().last()) {
            (Some(q @ ('"' | '\'')), Some(e)) if value.len() >= 2 && e == q => {
                &value[1..value.len() - 1]
            }
            (Some('"' | '\''), _) => return Err(err(format!("unterminated quote: {value}"))),
            _ => value,
        };
        let Some(flag) = key.strip_prefix("ETCD_") else {
            // Other variables (ETCDCTL_*, GOMAXPROCS …) are not etcd flags.
            continue;
        };
        out.push((
            n,
            flag.to_ascii_lowercase().replace('_', "-"),
            value.to_owned(),
        ));
    }
    Ok(out)
}

/// `(flag, value)` of the etcd container's command and args in a Pod manifest.
fn pod_flags(path: &Path, doc: &Yaml) -> Result<Vec<(String, String)>, ConfigError> {
    let err = |what: &str| ConfigError {
        path: path.to_path_buf(),
        line: None,
        what: what.to_owned(),
    };
    let containers = doc["spec"]["containers"]
        .as_vec()
        .ok_or_else(|| err("a Pod manifest without spec.containers"))?;
    let etcd = containers
        .iter()
        .find(|c| {
            c["name"].as_str() == Some("etcd")
                || c["command"]
                    .as_vec()
                    .and_then(|v| v.first())
                    .and_then(Yaml::as_str)
                    .is_some_and(|s| s == "etcd" || s.ends_with("/etcd"))
        })
        .ok_or_else(|| err("no container named etcd (or running etcd) in spec.containers"))?;
    let mut items: Vec<String> = Vec::new();
    for key in ["command", "args"] {
        if let Some(v) = etcd[key].as_vec() {
            items.extend(v.iter().filter_map(scalar));
        }
    }
    let mut out = Vec::new();
    let mut it = items.into_iter().peekable();
    while let Some(item) = it.next() {
        let Some(flag) = item.strip_prefix("--").or_else(|| item.strip_prefix('-')) else {
            continue; // the program name
        };
        match flag.split_once('=') {
            Some((f, v)) => out.push((f.to_owned(), v.to_owned())),
            None => {
                let value = match it.peek() {
                    Some(next) if !next.starts_with('-') => it.next().unwrap_or_default(),
                    _ => "true".to_owned(),
                };
                out.push((flag.to_owned(), value));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("etcd.conf")
    }

    #[test]
    fn env_file() {
        let c = Config::parse(
            p(),
            "# etcd.conf\nETCD_NAME=\"m2\"\nexport ETCD_DATA_DIR=/var/lib/etcd\n\
             ETCD_INITIAL_CLUSTER='m1=https://10.0.0.1:2380,m2=https://10.0.0.2:2380'\n\
             ETCD_LISTEN_CLIENT_URLS=https://10.0.0.2:2379\nETCD_CERT_FILE=/etc/etcd/s.crt\n\
             ETCD_CLIENT_CERT_AUTH=true\nETCD_PEER_KEY_FILE=/etc/etcd/p.key\n\
             ETCD_QUOTA_BACKEND_BYTES=8589934592\nETCDCTL_API=3\n",
        )
        .unwrap();
        assert_eq!(c.format, Some(ConfigFormat::EnvFile));
        assert_eq!(c.name.as_deref(), Some("m2"));
        assert_eq!(c.data_dir.as_deref(), Some("/var/lib/etcd"));
        assert_eq!(c.initial_cluster.len(), 2);
        assert_eq!(c.peer_urls(), ["https://10.0.0.2:2380"]);
        assert_eq!(c.client_tls.cert_file.as_deref(), Some("/etc/etcd/s.crt"));
        assert!(c.client_tls.client_cert_auth);
        assert_eq!(c.peer_tls.key_file.as_deref(), Some("/etc/etcd/p.key"));
        assert_eq!(
            c.other,
            [("quota-backend-bytes".to_owned(), "8589934592".to_owned())]
        );
    }

    #[test]
    fn env_file_errors_name_the_line() {
        let e = Config::parse(p(), "ETCD_NAME=m1\nETCD_DATA_DIR\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().starts_with("etcd.conf:2: "), "{e}");
        let e = Config::parse(p(), "ETCD_NAME=\"m1\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = Config::parse(p(), "ETCD_NAME=m1\nETCD_INITIAL_CLUSTER=m1\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.what.contains("NAME=URL"), "{e}");
    }

    #[test]
    fn config_file_yaml() {
        let c = Config::parse(
            Path::new("etcd.yml"),
            "name: m1\ndata-dir: /var/lib/etcd\nlisten-peer-urls: https://10.0.0.1:2380\n\
             initial-cluster: m1=https://10.0.0.1:2380\ninitial-cluster-state: new\n\
             snapshot-count: 10000\nclient-transport-security:\n  cert-file: /e/s.crt\n  \
             key-file: /e/s.key\n  client-cert-auth: true\n  trusted-ca-file: /e/ca.crt\n\
             peer-transport-security:\n  cert-file: /e/p.crt\n",
        )
        .unwrap();
        assert_eq!(c.format, Some(ConfigFormat::ConfigFile));
        assert_eq!(c.listen_peer_urls, ["https://10.0.0.1:2380"]);
        assert_eq!(c.initial_cluster_state.as_deref(), Some("new"));
        assert_eq!(c.client_tls.trusted_ca_file.as_deref(), Some("/e/ca.crt"));
        assert!(c.client_tls.client_cert_auth);
        assert_eq!(c.peer_tls.cert_file.as_deref(), Some("/e/p.crt"));
        assert_eq!(c.other, [("snapshot-count".to_owned(), "10000".to_owned())]);
        let e = Config::parse(Path::new("etcd.yml"), "name: m1\n  bad: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        assert!(e.to_string().starts_with("etcd.yml:"), "{e}");
        let e = Config::parse(Path::new("etcd.yml"), "- a\n- b\n").unwrap_err();
        assert!(e.what.contains("not an etcd configuration"), "{e}");
    }

    #[test]
    fn static_pod_manifest() {
        let c = Config::parse(
            Path::new("etcd.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec:\n  containers:\n  \
             - command:\n    - etcd\n    - --advertise-client-urls=https://10.0.0.1:2379\n    \
             - --cert-file=/etc/kubernetes/pki/etcd/server.crt\n    - --client-cert-auth=true\n    \
             - --data-dir=/var/lib/etcd\n    - --initial-cluster=cp1=https://10.0.0.1:2380\n    \
             - --name=cp1\n    - --snapshot-count=10000\n    image: registry.k8s.io/etcd:3.5.15-0\n    \
             name: etcd\n",
        )
        .unwrap();
        assert_eq!(c.format, Some(ConfigFormat::StaticPod));
        assert_eq!(c.name.as_deref(), Some("cp1"));
        assert_eq!(c.advertise_client_urls, ["https://10.0.0.1:2379"]);
        assert!(c.client_tls.client_cert_auth);
        assert_eq!(c.data_dir.as_deref(), Some("/var/lib/etcd"));
        let e = Config::parse(
            Path::new("etcd.yaml"),
            "kind: Pod\nspec:\n  containers:\n  - name: other\n    command: [sleep]\n",
        )
        .unwrap_err();
        assert!(e.what.contains("no container named etcd"), "{e}");
    }
}

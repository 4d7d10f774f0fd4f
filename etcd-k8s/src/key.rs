//! The apiserver's key layout (`k8s.io/apiserver/pkg/registry/generic/registry/store.go`:
//! `NamespaceKeyFunc` → `<prefix>/<resource>/<namespace>/<name>`, `NoNamespaceKeyFunc` →
//! `<prefix>/<resource>/<name>`; the prefix is `/registry` (`--etcd-prefix`), and the
//! resource prefix is the resource name, group-qualified (`<group>/<resource>`) for the
//! groups whose storage says so — every custom resource, and e.g. `apiregistration.k8s.io`,
//! `apiextensions.k8s.io`). A group has a dot; a resource never does, which is how the
//! two are told apart. A few built-in kinds keep historical prefixes: services at
//! `services/specs`, their endpoints at `services/endpoints`, nodes at `minions`,
//! ingresses at `ingress` (reported under their resource names).

/// Keys with a meaning of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Special {
    /// `compact_rev_key` (outside `/registry`): the apiserver's compaction bookkeeping.
    CompactRevKey,
    /// `/registry/masterleases/<ip>`: an apiserver's endpoint lease (leases of events too).
    MasterLease,
    /// `/registry/ranges/serviceips`, `/registry/ranges/servicenodeports`: allocator bitmaps.
    Range,
}

/// A parsed key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Key {
    /// The API group when the key names one (`apps` is not in keys; custom resources and a
    /// few built-in groups are).
    pub group: Option<String>,
    /// The resource (plural, lower case: `pods`, `deployments`, `leases`).
    pub resource: String,
    /// The namespace, for a namespaced object.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// A key with a meaning of its own.
    pub special: Option<Special>,
}

/// The object a key names, or `None` when it is not an apiserver key.
pub fn parse(key: &[u8]) -> Option<Key> {
    let key = std::str::from_utf8(key).ok()?;
    if key == "compact_rev_key" {
        return Some(Key {
            group: None,
            resource: "compact_rev_key".into(),
            namespace: None,
            name: String::new(),
            special: Some(Special::CompactRevKey),
        });
    }
    let rest = key.strip_prefix("/registry/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (group, parts) = match parts.split_first() {
        Some((g, more)) if g.contains('.') && more.len() >= 2 => (Some((*g).to_owned()), more),
        _ => (None, parts.as_slice()),
    };
    let (resource, rest) = parts.split_first()?;
    if resource.is_empty() || rest.iter().any(|p| p.is_empty()) {
        return None;
    }
    // Resource prefixes that are not the resource's name (the apiserver's storage of
    // these kinds, `pkg/registry/core/*/storage`): services and their endpoints live
    // under `services/specs` and `services/endpoints`, nodes under `minions`, ingresses
    // under `ingress`.
    let (resource, rest): (&str, &[&str]) = match (*resource, rest) {
        ("services", [sub, more @ ..]) if *sub == "specs" && !more.is_empty() => ("services", more),
        ("services", [sub, more @ ..]) if *sub == "endpoints" && !more.is_empty() => {
            ("endpoints", more)
        }
        ("minions", more) => ("nodes", more),
        ("ingress", more) => ("ingresses", more),
        (r, more) => (r, more),
    };
    let special = match resource {
        "masterleases" => Some(Special::MasterLease),
        "ranges" => Some(Special::Range),
        _ => None,
    };
    let (namespace, name) = match rest {
        [name] => (None, (*name).to_owned()),
        [ns, name] => (Some((*ns).to_owned()), (*name).to_owned()),
        // Names cannot hold a slash; keep what is there.
        [ns, more @ ..] => (Some((*ns).to_owned()), more.join("/")),
        [] => return None,
    };
    Some(Key {
        group,
        resource: resource.to_owned(),
        namespace,
        name,
        special,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> (Option<String>, String, Option<String>, String) {
        let k = parse(s.as_bytes()).unwrap();
        (k.group, k.resource, k.namespace, k.name)
    }

    #[test]
    fn layouts() {
        let s = |x: &str| x.to_owned();
        assert_eq!(
            k("/registry/pods/kube-system/etcd-0"),
            (None, s("pods"), Some(s("kube-system")), s("etcd-0"))
        );
        assert_eq!(
            k("/registry/namespaces/default"),
            (None, s("namespaces"), None, s("default"))
        );
        assert_eq!(
            k("/registry/apiregistration.k8s.io/apiservices/v1.apps"),
            (
                Some(s("apiregistration.k8s.io")),
                s("apiservices"),
                None,
                s("v1.apps")
            )
        );
        assert_eq!(
            k("/registry/cert-manager.io/certificates/prod/web"),
            (
                Some(s("cert-manager.io")),
                s("certificates"),
                Some(s("prod")),
                s("web")
            )
        );
        assert_eq!(
            k("/registry/services/specs/default/kubernetes"),
            (None, s("services"), Some(s("default")), s("kubernetes"))
        );
        assert_eq!(
            k("/registry/services/endpoints/default/kubernetes"),
            (None, s("endpoints"), Some(s("default")), s("kubernetes"))
        );
        assert_eq!(
            k("/registry/minions/node-1"),
            (None, s("nodes"), None, s("node-1"))
        );
        assert_eq!(
            parse(b"/registry/ranges/serviceips").unwrap().special,
            Some(Special::Range)
        );
        assert_eq!(
            parse(b"/registry/masterleases/10.0.0.1").unwrap().special,
            Some(Special::MasterLease)
        );
        assert_eq!(
            parse(b"compact_rev_key").unwrap().special,
            Some(Special::CompactRevKey)
        );
        assert_eq!(parse(b"/other/pods/a"), None);
        assert_eq!(parse(b"/registry/"), None);
        assert_eq!(parse(b"/registry/pods"), None);
        assert_eq!(parse(&[0xff, 0xfe]), None);
    }
}

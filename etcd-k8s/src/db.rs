//! The Kubernetes objects a db holds at one revision (latest by default): every live key
//! under `/registry/` (and `compact_rev_key`), its value decoded. Records that do not
//! decode are counted and their errors kept, never skipped silently.

use std::collections::BTreeMap;

use etcd_snap::bolt::Db;
use etcd_snap::mvcc;

use crate::key::{self, Key};
use crate::value::{self, Decoded};

/// One object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Object {
    /// The etcd key (lossy UTF-8; apiserver keys are text).
    pub etcd_key: String,
    /// What the key names.
    pub key: Key,
    /// etcd's `mod_revision` of the key (the object's `resourceVersion`).
    pub mod_revision: i64,
    /// etcd's `create_revision`.
    pub create_revision: i64,
    /// Bytes of the value.
    pub bytes: u64,
    /// The value, decoded.
    pub value: Decoded,
}

/// What [`objects`] read.
#[derive(Debug, Default, serde::Serialize)]
pub struct Objects {
    /// The revision looked at.
    pub revision: i64,
    /// The objects, in key order.
    pub objects: Vec<Object>,
    /// Live keys that are not the apiserver's.
    pub other_keys: u64,
    /// Records of the key bucket read.
    pub records: u64,
    /// Records that did not decode (their keys cannot be told).
    pub bad_records: u64,
    /// Up to 16 of their errors.
    pub errors: Vec<String>,
}

/// Objects and bytes of one resource in one namespace (`db keys --k8s --summary`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SummaryRow {
    /// Group-qualified resource (`deployments`, `cert-manager.io/certificates`).
    pub resource: String,
    /// Namespace (`None`: cluster-scoped).
    pub namespace: Option<String>,
    /// Objects.
    pub objects: u64,
    /// Bytes of their values.
    pub bytes: u64,
}

/// The objects alive at `at` (latest when `None`).
pub fn objects(db: &Db, at: Option<i64>) -> etcd_snap::Result<Objects> {
    let at_rev = at.unwrap_or(i64::MAX);
    let mut live: BTreeMap<Vec<u8>, mvcc::KeyRecord> = BTreeMap::new();
    let mut out = Objects::default();
    let mut latest = 0;
    for r in mvcc::records(db)? {
        out.records += 1;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                out.bad_records += 1;
                if out.errors.len() < 16 {
                    out.errors.push(e.to_string());
                }
                continue;
            }
        };
        latest = latest.max(r.rev.rev.main);
        if r.rev.rev.main > at_rev || r.is_bump_marker() {
            continue;
        }
        if r.rev.tombstone {
            live.remove(&r.kv.key);
        } else {
            live.insert(r.kv.key.clone(), r);
        }
    }
    out.revision = at.unwrap_or(latest);
    for (k, r) in live {
        let Some(key) = key::parse(&k) else {
            out.other_keys += 1;
            continue;
        };
        out.objects.push(Object {
            etcd_key: String::from_utf8_lossy(&k).into_owned(),
            key,
            mod_revision: r.kv.mod_revision,
            create_revision: r.kv.create_revision,
            bytes: r.kv.value.len() as u64,
            value: value::decode(&r.kv.value),
        });
    }
    Ok(out)
}

/// Objects and bytes per resource and namespace, the biggest first.
pub fn summary(objects: &[Object]) -> Vec<SummaryRow> {
    let mut rows: BTreeMap<(String, Option<String>), (u64, u64)> = BTreeMap::new();
    for o in objects {
        let resource = match &o.key.group {
            Some(g) => format!("{g}/{}", o.key.resource),
            None => o.key.resource.clone(),
        };
        let e = rows.entry((resource, o.key.namespace.clone())).or_default();
        e.0 += 1;
        e.1 += o.bytes;
    }
    let mut out: Vec<SummaryRow> = rows
        .into_iter()
        .map(|((resource, namespace), (objects, bytes))| SummaryRow {
            resource,
            namespace,
            objects,
            bytes,
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.resource.cmp(&b.resource)));
    out
}

/// Kubernetes objects among `keys` (e.g. the keys a repair's lost writes touch), counted
/// per resource and namespace in key order of first appearance; keys that are not the
/// apiserver's are left out.
pub fn count_keys<'a>(keys: impl IntoIterator<Item = &'a [u8]>) -> Vec<SummaryRow> {
    let mut rows: Vec<SummaryRow> = Vec::new();
    for k in keys {
        let Some(key) = key::parse(k).filter(|k| k.special.is_none()) else {
            continue;
        };
        let resource = match &key.group {
            Some(g) => format!("{g}/{}", key.resource),
            None => key.resource.clone(),
        };
        match rows
            .iter_mut()
            .find(|r| r.resource == resource && r.namespace == key.namespace)
        {
            Some(r) => r.objects += 1,
            None => rows.push(SummaryRow {
                resource,
                namespace: key.namespace,
                objects: 1,
                bytes: 0,
            }),
        }
    }
    rows
}

/// "3 pods in namespace payments, 1 namespaces" for [`count_keys`]' rows.
pub fn describe(rows: &[SummaryRow]) -> String {
    rows.iter()
        .map(|r| match &r.namespace {
            Some(ns) => format!("{} {} in namespace {ns}", r.objects, r.resource),
            None => format!("{} {}", r.objects, r.resource),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_words() {
        let keys: [&[u8]; 6] = [
            b"/registry/pods/payments/a",
            b"/registry/pods/payments/b",
            b"/registry/deployments/payments/web",
            b"/registry/pods/payments/a",
            b"/registry/namespaces/payments",
            b"someone/else",
        ];
        let rows = count_keys(keys);
        assert_eq!(
            describe(&rows),
            "3 pods in namespace payments, 1 deployments in namespace payments, 1 namespaces"
        );
    }
}

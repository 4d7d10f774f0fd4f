//! `db keys --k8s [--summary]`: the Kubernetes objects of a db (see [`etcd_k8s`]).

use std::io::Write;

use etcd_k8s::db::{Object, SummaryRow};
use etcd_snap::bolt::Db;
use serde::Serialize;

use crate::exit::Exit;

/// `--resource` / `--namespace`.
#[derive(Debug, Default)]
pub struct Filter {
    /// Group-qualified resource (`pods`, `cert-manager.io/certificates`).
    pub resource: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
}

impl Filter {
    fn keeps(&self, o: &Object) -> bool {
        let resource = qualified(o);
        self.resource
            .as_ref()
            .is_none_or(|r| *r == resource || *r == o.key.resource)
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| o.key.namespace.as_ref() == Some(n))
    }
}

fn qualified(o: &Object) -> String {
    match &o.key.group {
        Some(g) => format!("{g}/{}", o.key.resource),
        None => o.key.resource.clone(),
    }
}

#[derive(Serialize)]
struct ObjectJson<'a> {
    key: &'a str,
    resource: &'a str,
    group: Option<&'a str>,
    namespace: Option<&'a str>,
    name: &'a str,
    special: Option<etcd_k8s::Special>,
    kind: Option<&'a str>,
    api_version: Option<&'a str>,
    uid: Option<&'a str>,
    creation_timestamp: Option<&'a str>,
    deletion_timestamp: Option<&'a str>,
    encoding: String,
    mod_revision: i64,
    bytes: u64,
    managed_fields_bytes: Option<u64>,
    problem: Option<&'a str>,
}

#[derive(Serialize)]
struct KeysJson<'a> {
    revision: i64,
    objects: Vec<ObjectJson<'a>>,
    other_keys: u64,
    bad_records: u64,
    errors: &'a [String],
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    revision: i64,
    objects: u64,
    bytes: u64,
    rows: &'a [SummaryRow],
    other_keys: u64,
    bad_records: u64,
    errors: &'a [String],
}

fn object_json(o: &Object) -> ObjectJson<'_> {
    let m = o.value.metadata.as_ref();
    ObjectJson {
        key: &o.etcd_key,
        resource: &o.key.resource,
        group: o.key.group.as_deref(),
        namespace: o.key.namespace.as_deref(),
        name: &o.key.name,
        special: o.key.special,
        kind: o.value.kind.as_deref(),
        api_version: o.value.api_version.as_deref(),
        uid: m.map(|m| m.uid.as_str()),
        creation_timestamp: m.and_then(|m| m.creation_timestamp.as_deref()),
        deletion_timestamp: m.and_then(|m| m.deletion_timestamp.as_deref()),
        encoding: o.value.encoding.label(),
        mod_revision: o.mod_revision,
        bytes: o.bytes,
        managed_fields_bytes: m.map(|m| m.managed_fields_bytes),
        problem: o.value.problem.as_deref(),
    }
}

/// Run `db keys --k8s`.
pub fn keys(
    db: &Db,
    rev: Option<i64>,
    filter: &Filter,
    summary: bool,
    json: bool,
    table: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let all = etcd_k8s::db::objects(db, rev)?;
    let kept: Vec<Object> = all
        .objects
        .iter()
        .filter(|o| filter.keeps(o))
        .cloned()
        .collect();
    let exit = if all.bad_records > 0 {
        Exit::Damage
    } else {
        Exit::Clean
    };
    if summary {
        let rows = etcd_k8s::db::summary(&kept);
        let (n, bytes) = rows
            .iter()
            .fold((0, 0), |(n, b), r| (n + r.objects, b + r.bytes));
        if json {
            crate::output::json_line(
                out,
                &SummaryJson {
                    revision: all.revision,
                    objects: n,
                    bytes,
                    rows: &rows,
                    other_keys: all.other_keys,
                    bad_records: all.bad_records,
                    errors: &all.errors,
                },
            )?;
            return Ok(exit);
        }
        let body = rows
            .iter()
            .map(|r| {
                vec![
                    r.resource.clone(),
                    r.namespace.clone().unwrap_or_else(|| "(cluster)".into()),
                    r.objects.to_string(),
                    r.bytes.to_string(),
                ]
            })
            .collect();
        write!(
            out,
            "{}",
            crate::output::table(&["RESOURCE", "NAMESPACE", "OBJECTS", "BYTES"], body)
        )?;
        writeln!(
            out,
            "# {n} objects, {bytes} bytes at revision {}",
            all.revision
        )?;
    } else if json {
        crate::output::json_line(
            out,
            &KeysJson {
                revision: all.revision,
                objects: kept.iter().map(object_json).collect(),
                other_keys: all.other_keys,
                bad_records: all.bad_records,
                errors: &all.errors,
            },
        )?;
        return Ok(exit);
    } else {
        let rows: Vec<Vec<String>> = kept
            .iter()
            .map(|o| {
                let j = object_json(o);
                vec![
                    qualified(o),
                    j.namespace.unwrap_or("").to_owned(),
                    j.name.to_owned(),
                    j.kind.unwrap_or("").to_owned(),
                    j.uid.unwrap_or("").to_owned(),
                    j.creation_timestamp.unwrap_or("").to_owned(),
                    j.encoding,
                    o.mod_revision.to_string(),
                    o.bytes.to_string(),
                ]
            })
            .collect();
        let head = [
            "RESOURCE",
            "NAMESPACE",
            "NAME",
            "KIND",
            "UID",
            "CREATED",
            "ENCODING",
            "MOD REVISION",
            "BYTES",
        ];
        if table {
            write!(out, "{}", crate::output::table(&head, rows))?;
        } else {
            for r in rows {
                writeln!(out, "{}", r.join("\t"))?;
            }
        }
        writeln!(
            out,
            "# {} objects at revision {}{}",
            kept.len(),
            all.revision,
            if all.other_keys > 0 {
                format!(" ({} other keys)", all.other_keys)
            } else {
                String::new()
            }
        )?;
    }
    if all.bad_records > 0 {
        eprintln!(
            "wal-inspect: {} record(s) of the key bucket do not decode (their objects are not listed); first: {}",
            all.bad_records,
            all.errors.first().map_or("", String::as_str)
        );
    }
    Ok(exit)
}

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

#[derive(Serialize)]
struct GetJson<'a> {
    key: String,
    found: bool,
    mod_revision: Option<i64>,
    create_revision: Option<i64>,
    version: Option<i64>,
    object: Option<&'a etcd_k8s::Decoded>,
    fields: Option<Vec<etcd_k8s::fields::Field>>,
}

/// Run `db get --k8s`.
pub fn get(
    db: &Db,
    key: &[u8],
    rev: Option<i64>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let rec = etcd_snap::mvcc::get(db, key, rev)?;
    let decoded = rec.as_ref().map(|r| etcd_k8s::decode(&r.kv.value));
    let fields = rec
        .as_ref()
        .and_then(|r| etcd_k8s::value::raw_object(&r.kv.value))
        .and_then(etcd_k8s::fields::fields);
    if json {
        crate::output::json_line(
            out,
            &GetJson {
                key: String::from_utf8_lossy(key).into_owned(),
                found: rec.is_some(),
                mod_revision: rec.as_ref().map(|r| r.kv.mod_revision),
                create_revision: rec.as_ref().map(|r| r.kv.create_revision),
                version: rec.as_ref().map(|r| r.kv.version),
                object: decoded.as_ref(),
                fields,
            },
        )?;
        return Ok(Exit::Clean);
    }
    let (Some(r), Some(d)) = (&rec, &decoded) else {
        writeln!(
            out,
            "{}: no such key{}",
            etcd_proto::text::escape_bytes(key),
            rev.map_or(String::new(), |r| format!(" at revision {r}"))
        )?;
        return Ok(Exit::Clean);
    };
    writeln!(
        out,
        "key:              {}",
        etcd_proto::text::escape_bytes(key)
    )?;
    if let Some(k) = etcd_k8s::key::parse(key) {
        writeln!(
            out,
            "object:           {}{} {}{}",
            k.group.map(|g| format!("{g}/")).unwrap_or_default(),
            k.resource,
            k.namespace.map(|n| format!("{n}/")).unwrap_or_default(),
            k.name
        )?;
    }
    writeln!(
        out,
        "revisions:        mod {} create {} version {}",
        r.kv.mod_revision, r.kv.create_revision, r.kv.version
    )?;
    writeln!(out, "encoding:         {}", d.encoding.label())?;
    writeln!(
        out,
        "kind:             {} {}",
        d.api_version.as_deref().unwrap_or("-"),
        d.kind.as_deref().unwrap_or("-")
    )?;
    if let Some(p) = &d.problem {
        writeln!(out, "problem:          {p}")?;
    }
    if let Some(m) = &d.metadata {
        writeln!(out, "metadata:")?;
        writeln!(out, "  name:              {}", m.name)?;
        if !m.generate_name.is_empty() {
            writeln!(out, "  generateName:      {}", m.generate_name)?;
        }
        writeln!(out, "  namespace:         {}", m.namespace)?;
        writeln!(out, "  uid:               {}", m.uid)?;
        writeln!(out, "  generation:        {}", m.generation)?;
        writeln!(
            out,
            "  creationTimestamp: {}",
            m.creation_timestamp.as_deref().unwrap_or("-")
        )?;
        if let Some(t) = &m.deletion_timestamp {
            writeln!(out, "  deletionTimestamp: {t} (being deleted)")?;
        }
        for (name, map) in [("labels", &m.labels), ("annotations", &m.annotations)] {
            if !map.is_empty() {
                writeln!(out, "  {name}:")?;
                for (k, v) in map {
                    writeln!(out, "    {k}: {v}")?;
                }
            }
        }
        for o in &m.owner_references {
            writeln!(
                out,
                "  ownerReference:    {} {} {} uid {}{}",
                o.api_version,
                o.kind,
                o.name,
                o.uid,
                if o.controller { " (controller)" } else { "" }
            )?;
        }
        if !m.finalizers.is_empty() {
            writeln!(out, "  finalizers:        {}", m.finalizers.join(", "))?;
        }
        writeln!(
            out,
            "  managedFields:     {} entries, {} bytes",
            m.managed_fields, m.managed_fields_bytes
        )?;
    }
    if let Some(f) = &fields {
        writeln!(out, "fields (by number; 1 is the metadata above):")?;
        for line in etcd_k8s::fields::render(f).lines() {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(Exit::Clean)
}

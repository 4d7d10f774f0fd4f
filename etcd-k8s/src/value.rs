//! The apiserver's storage encoding of one value, and the object's `metadata`.
//!
//! - protobuf (built-in kinds): `k8s\x00` + `runtime.Unknown {1 typeMeta {1 apiVersion,
//!   2 kind}, 2 raw, 3 contentEncoding, 4 contentType}` (`k8s.io/apimachinery/pkg/runtime/
//!   serializer/protobuf`); `raw` is the object, whose field 1 is `ObjectMeta`
//!   (`k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto`: 1 name, 2 generateName,
//!   3 namespace, 4 selfLink, 5 uid, 6 resourceVersion, 7 generation, 8 creationTimestamp,
//!   9 deletionTimestamp, 10 deletionGracePeriodSeconds, 11 labels, 12 annotations,
//!   13 ownerReferences, 14 finalizers, 17 managedFields);
//! - JSON (custom resources, and any kind stored as JSON): an object with `apiVersion`,
//!   `kind`, `metadata`;
//! - encrypted at rest (`EncryptionConfiguration`): `k8s:enc:<provider>:<version>:<key
//!   name>:` then ciphertext — reported, never guessed at.

use std::collections::BTreeMap;

use etcd_proto::wire::{Fields, Value, WireError};

/// How a value is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Encoding {
    /// `k8s\x00` + `runtime.Unknown`.
    Protobuf,
    /// JSON.
    Json,
    /// Encrypted at rest.
    Encrypted {
        /// `aescbc`, `aesgcm`, `secretbox`, `kms`, …
        provider: String,
        /// `v1`, `v2`.
        version: String,
        /// The key (or KMS provider) name.
        key_name: String,
    },
    /// None of these (not an apiserver value, or damaged).
    Unknown,
}

impl Encoding {
    /// A short name: `protobuf`, `json`, `encrypted:<provider>`, `unknown`.
    pub fn label(&self) -> String {
        match self {
            Encoding::Protobuf => "protobuf".into(),
            Encoding::Json => "json".into(),
            Encoding::Encrypted { provider, .. } => format!("encrypted:{provider}"),
            Encoding::Unknown => "unknown".into(),
        }
    }
}

/// An owner reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OwnerReference {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `uid`.
    pub uid: String,
    /// `controller`.
    pub controller: bool,
}

/// `metav1.ObjectMeta`, the fields an operator looks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectMeta {
    /// `name`.
    pub name: String,
    /// `generateName`.
    pub generate_name: String,
    /// `namespace`.
    pub namespace: String,
    /// `uid`.
    pub uid: String,
    /// `resourceVersion` (empty in storage: etcd's mod revision is the version).
    pub resource_version: String,
    /// `generation`.
    pub generation: i64,
    /// `creationTimestamp`, RFC 3339.
    pub creation_timestamp: Option<String>,
    /// `deletionTimestamp`, RFC 3339 (set: the object is being deleted).
    pub deletion_timestamp: Option<String>,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `ownerReferences`.
    pub owner_references: Vec<OwnerReference>,
    /// `finalizers`.
    pub finalizers: Vec<String>,
    /// `managedFields`: entries.
    pub managed_fields: u64,
    /// `managedFields`: bytes of them in the value (what server-side apply adds).
    pub managed_fields_bytes: u64,
}

/// One value, decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decoded {
    /// How it is stored.
    pub encoding: Encoding,
    /// `apiVersion` (protobuf: `typeMeta`).
    pub api_version: Option<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `metadata`, when the object has one that decodes.
    pub metadata: Option<ObjectMeta>,
    /// Why the metadata did not decode, when it did not.
    pub problem: Option<String>,
}

/// The magic of the protobuf storage encoding.
pub const PROTOBUF_MAGIC: &[u8] = b"k8s\x00";
/// The prefix of a value encrypted at rest.
pub const ENCRYPTED_PREFIX: &[u8] = b"k8s:enc:";

/// Decode one value as the apiserver stores it. Never fails: what does not decode is
/// [`Encoding::Unknown`] or has a [`Decoded::problem`].
pub fn decode(value: &[u8]) -> Decoded {
    let mut d = Decoded {
        encoding: Encoding::Unknown,
        api_version: None,
        kind: None,
        metadata: None,
        problem: None,
    };
    if let Some(rest) = value.strip_prefix(ENCRYPTED_PREFIX) {
        let mut parts = rest.splitn(4, |&b| b == b':');
        let text = |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
        let (provider, version, key_name) =
            (text(parts.next()), text(parts.next()), text(parts.next()));
        d.encoding = Encoding::Encrypted {
            provider,
            version,
            key_name,
        };
        return d;
    }
    if let Some(rest) = value.strip_prefix(PROTOBUF_MAGIC) {
        d.encoding = Encoding::Protobuf;
        if let Err(e) = unknown(rest, &mut d) {
            d.problem = Some(format!("not a runtime.Unknown: {e}"));
        }
        return d;
    }
    let trimmed = value.trim_ascii_start();
    if trimmed.first() == Some(&b'{') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(value) {
            d.encoding = Encoding::Json;
            json_object(&v, &mut d);
        }
    }
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn unknown(buf: &[u8], d: &mut Decoded) -> Result<(), WireError> {
    let mut f = Fields::new(buf);
    let mut raw = None;
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Value::Bytes(tm)) => {
                let mut t = Fields::new(tm);
                while let Some((n, v)) = t.next()? {
                    match (n, v) {
                        (1, Value::Bytes(b)) => d.api_version = Some(text(b)),
                        (2, Value::Bytes(b)) => d.kind = Some(text(b)),
                        _ => {}
                    }
                }
            }
            (2, Value::Bytes(b)) => raw = Some(b),
            _ => {}
        }
    }
    let Some(raw) = raw else {
        return Ok(());
    };
    // Field 1 of every stored kind is its ObjectMeta (of other messages — options,
    // reviews — it may be anything: then there is no metadata).
    let mut o = Fields::new(raw);
    while let Some((n, v)) = o.next()? {
        if let (1, Value::Bytes(m)) = (n, v) {
            match object_meta(m) {
                Ok(meta) => d.metadata = Some(meta),
                Err(e) => d.problem = Some(format!("field 1 is not an ObjectMeta: {e}")),
            }
            break;
        }
    }
    Ok(())
}

fn time(buf: &[u8]) -> Result<Option<String>, WireError> {
    let mut f = Fields::new(buf);
    let mut secs = 0i64;
    while let Some((n, v)) = f.next()? {
        if let (1, Value::Varint(s)) = (n, v) {
            secs = s as i64;
        }
    }
    Ok(crate::time::rfc3339(secs))
}

fn map_entry(buf: &[u8]) -> Result<(String, String), WireError> {
    let mut f = Fields::new(buf);
    let (mut k, mut v) = (String::new(), String::new());
    while let Some((n, x)) = f.next()? {
        match (n, x) {
            (1, Value::Bytes(b)) => k = text(b),
            (2, Value::Bytes(b)) => v = text(b),
            _ => {}
        }
    }
    Ok((k, v))
}

fn owner_reference(buf: &[u8]) -> Result<OwnerReference, WireError> {
    let mut f = Fields::new(buf);
    let mut o = OwnerReference::default();
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Value::Bytes(b)) => o.kind = text(b),
            (3, Value::Bytes(b)) => o.name = text(b),
            (4, Value::Bytes(b)) => o.uid = text(b),
            (5, Value::Bytes(b)) => o.api_version = text(b),
            (6, Value::Varint(x)) => o.controller = x != 0,
            _ => {}
        }
    }
    Ok(o)
}

/// `ObjectMeta` from its protobuf bytes.
pub fn object_meta(buf: &[u8]) -> Result<ObjectMeta, WireError> {
    let mut f = Fields::new(buf);
    let mut m = ObjectMeta::default();
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Value::Bytes(b)) => m.name = text(b),
            (2, Value::Bytes(b)) => m.generate_name = text(b),
            (3, Value::Bytes(b)) => m.namespace = text(b),
            (5, Value::Bytes(b)) => m.uid = text(b),
            (6, Value::Bytes(b)) => m.resource_version = text(b),
            (7, Value::Varint(x)) => m.generation = x as i64,
            (8, Value::Bytes(b)) => m.creation_timestamp = time(b)?,
            (9, Value::Bytes(b)) => m.deletion_timestamp = time(b)?,
            (11, Value::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                m.labels.insert(k, v);
            }
            (12, Value::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                m.annotations.insert(k, v);
            }
            (13, Value::Bytes(b)) => m.owner_references.push(owner_reference(b)?),
            (14, Value::Bytes(b)) => m.finalizers.push(text(b)),
            (17, Value::Bytes(b)) => {
                m.managed_fields += 1;
                m.managed_fields_bytes += b.len() as u64;
            }
            _ => {}
        }
    }
    Ok(m)
}

fn json_object(v: &serde_json::Value, d: &mut Decoded) {
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    d.api_version = s(v, "apiVersion");
    d.kind = s(v, "kind");
    let Some(md) = v.get("metadata") else {
        return;
    };
    let map = |k: &str| -> BTreeMap<String, String> {
        md.get(k)
            .and_then(|x| x.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let managed = md.get("managedFields").and_then(|x| x.as_array());
    d.metadata = Some(ObjectMeta {
        name: s(md, "name").unwrap_or_default(),
        generate_name: s(md, "generateName").unwrap_or_default(),
        namespace: s(md, "namespace").unwrap_or_default(),
        uid: s(md, "uid").unwrap_or_default(),
        resource_version: s(md, "resourceVersion").unwrap_or_default(),
        generation: md.get("generation").and_then(|x| x.as_i64()).unwrap_or(0),
        creation_timestamp: s(md, "creationTimestamp"),
        deletion_timestamp: s(md, "deletionTimestamp"),
        labels: map("labels"),
        annotations: map("annotations"),
        owner_references: md
            .get("ownerReferences")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .map(|o| OwnerReference {
                        api_version: s(o, "apiVersion").unwrap_or_default(),
                        kind: s(o, "kind").unwrap_or_default(),
                        name: s(o, "name").unwrap_or_default(),
                        uid: s(o, "uid").unwrap_or_default(),
                        controller: o
                            .get("controller")
                            .and_then(|x| x.as_bool())
                            .unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        finalizers: md
            .get("finalizers")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        managed_fields: managed.map_or(0, |m| m.len() as u64),
        managed_fields_bytes: managed
            .map_or(0, |m| m.iter().map(|e| e.to_string().len() as u64).sum()),
    });
}

/// The object's own protobuf (`runtime.Unknown.raw`) of a protobuf-encoded value.
pub fn raw_object(value: &[u8]) -> Option<&[u8]> {
    let rest = value.strip_prefix(PROTOBUF_MAGIC)?;
    let mut f = Fields::new(rest);
    while let Some((n, v)) = f.next().ok()? {
        if let (2, Value::Bytes(b)) = (n, v) {
            return Some(b);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_is_named_not_guessed() {
        let d = decode(b"k8s:enc:aescbc:v1:key1:\x01\x02\x03:\x04");
        assert_eq!(
            d.encoding,
            Encoding::Encrypted {
                provider: "aescbc".into(),
                version: "v1".into(),
                key_name: "key1".into()
            }
        );
        assert_eq!(d.encoding.label(), "encrypted:aescbc");
        assert!(d.metadata.is_none());
    }

    #[test]
    fn json_custom_resource() {
        let d = decode(
            br#"{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"web","namespace":"prod","uid":"u1","creationTimestamp":"2024-05-01T10:00:00Z","labels":{"a":"b"}}}"#,
        );
        assert_eq!(d.encoding, Encoding::Json);
        assert_eq!(d.kind.as_deref(), Some("Certificate"));
        let m = d.metadata.unwrap();
        assert_eq!((m.name.as_str(), m.namespace.as_str()), ("web", "prod"));
        assert_eq!(m.labels.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn garbage_is_unknown_or_a_problem() {
        assert_eq!(decode(b"hello").encoding, Encoding::Unknown);
        let d = decode(b"k8s\x00\x0a\xff");
        assert_eq!(d.encoding, Encoding::Protobuf);
        assert!(d.problem.is_some());
    }
}

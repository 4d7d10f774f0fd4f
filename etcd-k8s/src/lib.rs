//! Kubernetes objects in etcd data, decoded without schemas.
//!
//! kube-apiserver stores every object under `/registry/…` ([`key`]) and encodes its value
//! ([`value`]) as the magic `k8s\x00` followed by a `runtime.Unknown` protobuf (built-in
//! kinds), as JSON (custom resources), or encrypted (`k8s:enc:<provider>:v1:<key name>:`,
//! never guessed at). The object's `metadata` (`ObjectMeta`) is field 1 of every
//! top-level kind's protobuf, so it decodes from the field numbers alone, for every
//! built-in kind.
//!
//! ```
//! let key = etcd_k8s::key::parse(b"/registry/pods/default/web-0").unwrap();
//! assert_eq!((key.resource.as_str(), key.namespace.as_deref(), key.name.as_str()),
//!            ("pods", Some("default"), "web-0"));
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod db;
pub mod fields;
pub mod key;
pub mod time;
pub mod value;

pub use key::{Key, Special};
pub use value::{Decoded, Encoding, ObjectMeta, OwnerReference, decode};

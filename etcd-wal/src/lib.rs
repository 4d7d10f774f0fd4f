//! Read, verify, repair and write etcd's write-ahead log (WAL).
#![deny(missing_docs)]

pub mod pb;

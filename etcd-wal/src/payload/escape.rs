//! Quoting byte strings for summaries: `"…"` with [`escape_bytes`], lists of them, and the
//! optional ` label="…"` fields several requests share.

use std::fmt::{self, Write as _};

use etcd_proto::text::escape_bytes;

pub(super) fn q(b: &[u8]) -> String {
    format!("\"{}\"", escape_bytes(b))
}

pub(super) fn str_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| q(s.as_bytes())).collect();
    format!("[{}]", items.join(","))
}

pub(super) fn bytes_list(v: &[Vec<u8>]) -> String {
    let items: Vec<String> = v.iter().map(|s| q(s)).collect();
    format!("[{}]", items.join(","))
}

pub(super) fn write_range_end(s: &mut String, range_end: &[u8]) -> fmt::Result {
    if range_end.is_empty() {
        Ok(())
    } else {
        write!(s, " range_end={}", q(range_end))
    }
}

pub(super) fn opt_name(s: &mut String, label: &str, v: Option<&Vec<u8>>) -> fmt::Result {
    match v {
        Some(v) => write!(s, " {label}={}", q(v)),
        None => Ok(()),
    }
}

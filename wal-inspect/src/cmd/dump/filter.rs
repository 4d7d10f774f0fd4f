//! Which entries `dump` shows: index bounds, entry kinds, key prefix.

use std::collections::BTreeSet;

use etcd_wal::payload::{EntryKind, KeyRange, Payload};

/// A key prefix given on the command line, with escapes resolved to bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(pub Vec<u8>);

/// Parses `--key-prefix`: the text's UTF-8 bytes, where `\xNN`, `\n`, `\r`, `\t`, `\0` and
/// `\\` stand for the byte they name (etcd keys are arbitrary bytes).
pub fn parse_key_prefix(s: &str) -> Result<KeyPrefix, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'0') => out.push(0),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let byte = std::str::from_utf8(&hex)
                    .ok()
                    .filter(|h| h.len() == 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("{s:?}: \\x needs two hex digits"))?;
                out.push(byte);
            }
            other => {
                return Err(format!(
                    "{s:?}: unknown escape \\{} (use \\xNN, \\n, \\r, \\t, \\0 or \\\\)",
                    other.map_or(String::new(), |c| char::from(c).to_string())
                ));
            }
        }
    }
    Ok(KeyPrefix(out))
}

/// Parses one `--type` name.
pub fn parse_kind(s: &str) -> Result<EntryKind, String> {
    EntryKind::from_name(s.trim()).ok_or_else(|| {
        format!(
            "unknown entry kind {s:?}; known kinds: {}",
            EntryKind::names().collect::<Vec<_>>().join(", ")
        )
    })
}

/// The selection `dump` applies to entries. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Smallest raft index shown (inclusive).
    pub from_index: Option<u64>,
    /// Largest raft index shown (inclusive).
    pub to_index: Option<u64>,
    /// Kinds shown; empty = all.
    pub kinds: BTreeSet<EntryKind>,
    /// Only entries that touch a key with this prefix.
    pub key_prefix: Option<Vec<u8>>,
}

impl Filter {
    /// True when the index lies within `--from-index`..=`--to-index`.
    pub fn index_ok(&self, index: u64) -> bool {
        self.from_index.is_none_or(|f| index >= f) && self.to_index.is_none_or(|t| index <= t)
    }

    /// True when an entry with this index and payload is selected.
    pub fn selects(&self, index: u64, kind: EntryKind, payload: &Payload) -> bool {
        if !self.index_ok(index) {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&kind) {
            return false;
        }
        match &self.key_prefix {
            None => true,
            Some(p) => payload.keys().iter().any(|k| touches_prefix(k, p)),
        }
    }
}

/// Whether a key or key range (etcd's convention: empty `range_end` = one key, `"\0"` = no
/// upper bound) contains a key starting with `prefix`.
pub fn touches_prefix(k: &KeyRange, prefix: &[u8]) -> bool {
    if k.range_end.is_empty() {
        return k.key.starts_with(prefix);
    }
    // [key, range_end) ∩ [prefix, prefix_end) ≠ ∅
    let end: Option<&[u8]> = (k.range_end != b"\0").then_some(k.range_end.as_slice());
    if end.is_some_and(|e| k.key.as_slice() >= e) {
        return false;
    }
    let below_prefix_end = match prefix_end(prefix) {
        None => true,
        Some(pe) => k.key < pe,
    };
    let above_prefix = end.is_none_or(|e| prefix < e);
    below_prefix_end && above_prefix
}

/// The first key after every key with `prefix` (etcd's `GetPrefixRangeEnd`); `None` when
/// there is none (empty prefix or all `0xff`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b < 0xff)?;
    let mut end = prefix.get(..=last)?.to_vec();
    if let Some(b) = end.last_mut() {
        *b += 1;
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_wal::payload::KeyOp;

    fn kr(key: &[u8], end: &[u8]) -> KeyRange {
        KeyRange {
            key: key.to_vec(),
            range_end: end.to_vec(),
            op: KeyOp::DeleteRange,
        }
    }

    #[test]
    fn prefix_parsing() {
        assert_eq!(parse_key_prefix("k/").unwrap().0, b"k/");
        assert_eq!(
            parse_key_prefix(r"bin/nul\0k\xff\n\\").unwrap().0,
            b"bin/nul\0k\xff\n\\"
        );
        assert!(parse_key_prefix(r"\x4").is_err());
        assert!(parse_key_prefix(r"\q").is_err());
    }

    #[test]
    fn ranges_against_prefix() {
        assert!(touches_prefix(&kr(b"k/01", b""), b"k/"));
        assert!(!touches_prefix(&kr(b"j/01", b""), b"k/"));
        assert!(touches_prefix(&kr(b"k/0001", b"k/0006"), b"k/"));
        assert!(touches_prefix(&kr(b"a", b"\0"), b"k/"));
        assert!(touches_prefix(&kr(b"a", b"k/"), b"k") && !touches_prefix(&kr(b"a", b"k/"), b"k/"));
        assert!(!touches_prefix(&kr(b"k0", b"\0"), b"k/"));
        assert!(touches_prefix(&kr(b"\0", b"\0"), b"anything"));
        assert!(!touches_prefix(&kr(b"b", b"a"), b""));
        assert!(touches_prefix(&kr(b"\xff\xff", b""), b"\xff"));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
    }
}

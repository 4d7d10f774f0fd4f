//! Text for people: bytes escaped for a terminal, IDs as etcd prints them.

use std::fmt::Write as _;

/// Escapes arbitrary bytes for a terminal: printable ASCII and printable non-ASCII UTF-8 pass
/// through; `"` and `\` become `\"` and `\\`; `\n`, `\r`, `\t` become `\n`, `\r`, `\t`; other
/// control characters and invalid UTF-8 become `\xNN` per byte; Unicode format characters that
/// reorder or hide text (U+200B–U+200F, U+202A–U+202E, U+2060–U+206F, U+FEFF) and other C1/
/// control code points become `\u{NNNN}`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02x}", u32::from(c));
                }
                c if c.is_control()
                    || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
                        | '\u{2060}'..='\u{206f}' | '\u{feff}') =>
                {
                    let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// `v` quoted and escaped: `"escaped"`, or with `max` the first `max` bytes and the length
/// (`"prefix"…(N bytes)`), or `<N bytes>` for `max` = 0.
pub fn shorten(v: &[u8], max: Option<usize>) -> String {
    match max {
        Some(0) if !v.is_empty() => format!("<{} bytes>", v.len()),
        Some(m) if v.len() > m => {
            let head = v.get(..m).unwrap_or(v);
            format!("\"{}\"…({} bytes)", escape_bytes(head), v.len())
        }
        _ => format!("\"{}\"", escape_bytes(v)),
    }
}

/// A lease ID as the human output prints it: `0` for none, otherwise 16 hex digits, as
/// `etcdctl lease` prints lease IDs.
pub fn lease_id(id: i64) -> String {
    if id == 0 {
        "0".to_owned()
    } else {
        format!("{id:016x}")
    }
}

/// A member, cluster or raft node ID as etcd prints it in `member list` and
/// `endpoint status`: 16 lowercase hex digits.
pub fn member_id(id: u64) -> String {
    format!("{id:016x}")
}

/// Parse a member ID as etcd prints it (hex, with or without leading zeros).
pub fn parse_member_id(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim(), 16).ok()
}

/// The civil date (year, month 1–12, day 1–31) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, proleptic Gregorian, UTC).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        // As `dump` prints them: `\n` for a newline, `\xNN` for invalid UTF-8, UTF-8 as is.
        assert_eq!(escape_bytes(b"a/b\\\n\xff"), "a/b\\\\\\n\\xff");
        assert_eq!(escape_bytes("é\u{202e}".as_bytes()), "é\\u{202e}");
    }

    #[test]
    fn ids_and_shortening() {
        assert_eq!(member_id(0x10), "0000000000000010");
        assert_eq!(parse_member_id("10"), Some(16));
        assert_eq!(parse_member_id("xyz"), None);
        assert_eq!(lease_id(0), "0");
        assert_eq!(lease_id(-1), "ffffffffffffffff");
        assert_eq!(shorten(b"abcdef", Some(3)), "\"abc\"…(6 bytes)");
        assert_eq!(shorten(b"abc", Some(0)), "<3 bytes>");
        assert_eq!(shorten(b"", Some(0)), "\"\"");
    }
}

//! JSON for bytes and IDs (feature `serde`).
//!
//! Every ID (member, cluster, node, lease, vote) is written as a string of 16 lowercase hex
//! digits, as etcdctl prints it, never as a number: IDs exceed 2^53 and JSON readers such as
//! jq 1.6 round such numbers.

use std::fmt;

use crate::names::ProtoEnum;

/// A byte string for JSON: serializes as a JSON string when the bytes are valid UTF-8, else as
/// `{"base64": "<standard base64 with padding>"}`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Debug for Bytes<'_> {
    /// Escaped text, at most 64 bytes of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::text::shorten(self.0, Some(64)))
    }
}

impl serde::Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let encoded = base64_simd::STANDARD.encode_to_string(self.0);
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("base64", &RawStr(&encoded))?;
                m.end()
            }
        }
    }
}

/// The name of a newtype struct around a string that never needs JSON escaping (base64):
/// a serializer that knows it may write the string without scanning it (wal-inspect's line
/// writer does); any other serializer sees a newtype struct and writes the string as usual.
pub const RAW_STR: &str = "etcd_proto::json::RawStr";

/// A string that never needs JSON escaping, marked with [`RAW_STR`].
#[derive(Debug, Clone, Copy)]
pub struct RawStr<'a>(pub &'a str);

impl serde::Serialize for RawStr<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(RAW_STR, self.0)
    }
}

/// `serialize_with` helpers.
pub mod ser {
    use super::{Bytes, ProtoEnum};

    /// A `bytes`/`string` field as [`Bytes`].
    pub fn bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&Bytes(v), s)
    }

    /// A repeated `bytes`/`string` field as a list of [`Bytes`].
    pub fn bytes_list<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|b| Bytes(b)))
    }

    /// An enum field as its proto name, or the number when unknown.
    pub fn enum_name<E: ProtoEnum, S: serde::Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
        match E::try_from(*v) {
            Ok(e) => s.serialize_str(e.proto_name()),
            Err(_) => s.serialize_i32(*v),
        }
    }

    /// Unix nanoseconds as an RFC 3339 UTC time with nanoseconds
    /// (`2026-12-07T12:33:47.754253552Z`), or null for 0 (unset). A JSON number would exceed
    /// 2^53 and lose its last digits in most readers.
    pub fn unix_nanos<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        if *v == 0 {
            return s.serialize_none();
        }
        s.serialize_str(&super::rfc3339_nanos(*v))
    }

    /// An ID as 16 lowercase hex digits.
    pub fn hex_id<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::member_id(*v))
    }

    /// An optional ID as 16 lowercase hex digits, or null.
    pub fn opt_hex_id<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(id) => hex_id(id, s),
            None => s.serialize_none(),
        }
    }

    /// A list of IDs, each as 16 lowercase hex digits.
    pub fn hex_ids<S: serde::Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|id| crate::text::member_id(*id)))
    }

    /// A signed ID (a lease ID) as 16 lowercase hex digits of its two's-complement bits.
    pub fn hex_lease<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }
}

/// An ID that serializes as 16 lowercase hex digits (for `json!` and typed line structs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HexId(pub u64);

impl serde::Serialize for HexId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser::hex_id(&self.0, s)
    }
}

impl fmt::Display for HexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// `nanos` since the Unix epoch as `YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ` (proleptic Gregorian,
/// UTC; the date from [`crate::text::civil_from_days`]).
pub fn rfc3339_nanos(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (year, month, day) = crate::text::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

#[cfg(test)]
mod time_tests {
    use super::rfc3339_nanos;

    #[test]
    fn rfc3339_of_unix_nanos() {
        assert_eq!(rfc3339_nanos(1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
        // `date -u -d @1796644827` → Mon Dec  7 12:00:27 UTC 2026
        assert_eq!(
            rfc3339_nanos(1_796_644_827_754_253_552),
            "2026-12-07T12:00:27.754253552Z"
        );
        assert_eq!(
            rfc3339_nanos(951_782_400 * 1_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(rfc3339_nanos(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    }
}

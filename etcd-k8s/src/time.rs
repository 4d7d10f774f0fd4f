//! `metav1.Time` (protobuf `{1 seconds, 2 nanos}`) as Kubernetes' JSON prints it: RFC 3339
//! in UTC, to the second (`2008-01-01T01:01:01Z`).

/// RFC 3339 (UTC, seconds) of a Unix time; `None` outside years 0..=9999.
pub fn rfc3339(unix_seconds: i64) -> Option<String> {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = etcd_proto::text::civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_199_149_261).unwrap(), "2008-01-01T01:01:01Z");
        assert_eq!(rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799).unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), None);
    }
}

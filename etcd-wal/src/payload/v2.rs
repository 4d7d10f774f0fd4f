//! Bare v2 store requests (`etcdserverpb.Request`): their one-line summary.

use std::fmt::{self, Write as _};

use etcd_proto::text::{escape_bytes, shorten};

use crate::pb::etcdserverpb::Request;

use super::escape::q;

pub(super) fn write_v2(s: &mut String, r: &Request, max: Option<usize>) -> fmt::Result {
    write!(s, " method={}", escape_bytes(&r.method))?;
    if !r.path.is_empty() {
        write!(s, " path={}", q(&r.path))?;
    }
    let secret_path = r.path.starts_with(b"/2/users/");
    if !r.val.is_empty() {
        if secret_path {
            s.write_str(" val=<redacted>")?;
        } else {
            write!(s, " val={}", shorten(&r.val, max))?;
        }
    }
    if r.dir {
        s.write_str(" dir")?;
    }
    if r.recursive {
        s.write_str(" recursive")?;
    }
    if let Some(e) = r.prev_exist {
        write!(s, " prev_exist={e}")?;
    }
    if r.prev_index != 0 {
        write!(s, " prev_index={}", r.prev_index)?;
    }
    if !r.prev_value.is_empty() {
        if secret_path {
            s.write_str(" prev_value=<redacted>")?;
        } else {
            write!(s, " prev_value={}", shorten(&r.prev_value, max))?;
        }
    }
    if r.expiration != 0 {
        write!(s, " expiration={}", r.expiration)?;
    }
    if r.time != 0 {
        write!(s, " time={}", r.time)?;
    }
    if r.refresh == Some(true) {
        s.write_str(" refresh")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::payload::testutil::v2;
    use crate::payload::{EntryKind, Payload, decode_entry};
    use crate::pb::etcdserverpb::InternalRaftRequest;

    /// Encodes a v2 Request the way gogoproto does: every non-nullable field, zero or not, in
    /// field order; the two nullable ones (`PrevExist`, `Refresh`) only when set.
    fn gogo_v2(r: &Request) -> Vec<u8> {
        use prost::encoding::{bool, bytes, int64, uint64};
        let mut b = Vec::new();
        uint64::encode(1, &r.id, &mut b);
        bytes::encode(2, &r.method, &mut b);
        bytes::encode(3, &r.path, &mut b);
        bytes::encode(4, &r.val, &mut b);
        bool::encode(5, &r.dir, &mut b);
        bytes::encode(6, &r.prev_value, &mut b);
        uint64::encode(7, &r.prev_index, &mut b);
        if let Some(v) = &r.prev_exist {
            bool::encode(8, v, &mut b);
        }
        int64::encode(9, &r.expiration, &mut b);
        bool::encode(10, &r.wait, &mut b);
        uint64::encode(11, &r.since, &mut b);
        bool::encode(12, &r.recursive, &mut b);
        bool::encode(13, &r.sorted, &mut b);
        bool::encode(14, &r.quorum, &mut b);
        int64::encode(15, &r.time, &mut b);
        bool::encode(16, &r.stream, &mut b);
        if let Some(v) = &r.refresh {
            bool::encode(17, v, &mut b);
        }
        b
    }

    #[test]
    fn v2_requests_are_not_mistaken_for_irr() {
        let all_set = Request {
            id: u64::MAX,
            method: b"PUT".to_vec(),
            path: b"/0/members/8e9e05c52164694d/attributes".to_vec(),
            val: br#"{"name":"infra1","clientURLs":["http://127.0.0.1:2379"]}"#.to_vec(),
            dir: true,
            prev_value: b"old".to_vec(),
            prev_index: 9,
            prev_exist: Some(true),
            expiration: 1_700_000_000_000_000_000,
            wait: true,
            since: 3,
            recursive: true,
            sorted: true,
            quorum: true,
            time: 1_700_000_000_000_000_001,
            stream: true,
            refresh: Some(false),
        };
        let cases = [
            all_set,
            v2(
                "PUT",
                "/0/members/8e9e05c52164694d/attributes",
                r#"{"name":"infra1","clientURLs":["http://127.0.0.1:2379"]}"#,
            ),
            v2("PUT", "/0/version", "3.5.0"),
            v2("QGET", "", ""),
            Request {
                time: 1_700_000_000_123_456_789,
                ..v2("SYNC", "", "")
            },
            v2("DELETE", "/0/members/8e9e05c52164694d", ""),
            Request::default(),
        ];
        for req in cases {
            let bytes = gogo_v2(&req);
            // The clash: field 5 is a varint here and a message (delete_range) in the IRR.
            assert!(
                InternalRaftRequest::decode(bytes.as_slice()).is_err(),
                "prost accepted a v2 request as an IRR: {req:?}"
            );
            let p = decode_entry(0, &bytes);
            assert_eq!(p, Payload::V2(Box::new(req.clone())));
            assert_eq!(p.kind(), EntryKind::V2Request);
            assert_eq!(p.request_id(), Some(req.id));
            assert!(p.keys().is_empty());
        }
        let p = decode_entry(0, &gogo_v2(&v2("PUT", "/0/version", "3.5.0")));
        assert_eq!(
            p.summary(None),
            "v2_request method=PUT path=\"/0/version\" val=\"3.5.0\""
        );
        let p = decode_entry(
            0,
            &gogo_v2(&Request {
                time: 5,
                ..v2("SYNC", "", "")
            }),
        );
        assert_eq!(p.summary(None), "v2_request method=SYNC time=5");
    }
}

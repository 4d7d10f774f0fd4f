//! Member and cluster IDs and the `--initial-cluster` checks, as etcd computes them
//! (etcd 3.5 `server/etcdserver/api/membership/{member.go,cluster.go}`,
//! `client/pkg/types/{urls.go,urlsmap.go}`, `server/config/config.go` `VerifyBootstrap`).
//!
//! member ID = first 8 bytes (big-endian) of SHA-1(sorted peer URLs concatenated ‖ token);
//! cluster ID = first 8 bytes of SHA-1(sorted member IDs, each 8 bytes big-endian).

use std::collections::BTreeMap;

use super::RestoreError;

/// SHA-1 (FIPS 180-4) of `data`. Only used to derive IDs the way etcd does.
#[expect(
    clippy::indexing_slicing,
    reason = "fixed-size arrays indexed below their constant lengths"
)]
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (wi, word) in w.iter_mut().zip(block.chunks_exact(4)) {
            *wi = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (o, v) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn first_u64(hash: &[u8; 20]) -> u64 {
    hash.first_chunk::<8>()
        .map_or(0, |b| u64::from_be_bytes(*b))
}

/// etcd's member ID for these peer URLs and cluster token (`computeMemberId` without a
/// time: what bootstrap and restore use).
pub fn member_id(peer_urls: &[String], token: &str) -> u64 {
    let mut urls: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    urls.sort_unstable();
    let mut b = urls.concat().into_bytes();
    b.extend_from_slice(token.as_bytes());
    first_u64(&sha1(&b))
}

/// etcd's cluster ID from the member IDs (`RaftCluster.genID`).
pub fn cluster_id(member_ids: &[u64]) -> u64 {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    let b: Vec<u8> = ids.iter().flat_map(|id| id.to_be_bytes()).collect();
    first_u64(&sha1(&b))
}

/// Check one URL as `types.NewURLs` does: http/https need `host:port` and no path.
pub fn check_url(url: &str) -> Result<String, RestoreError> {
    let url = url.trim();
    let bad = |reason: &'static str| RestoreError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("URL scheme must be http, https, unix, or unixs"));
    };
    match scheme {
        "http" | "https" => {
            let (host, path) = match rest.find(['/', '?', '#']) {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            if !path.is_empty() {
                return Err(bad("URL must not contain a path"));
            }
            let port_ok = host.rsplit_once(':').is_some_and(|(h, p)| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(['@'])
            });
            if !port_ok {
                return Err(bad("URL address does not have the form \"host:port\""));
            }
        }
        "unix" | "unixs" => {}
        _ => return Err(bad("URL scheme must be http, https, unix, or unixs")),
    }
    Ok(url.to_owned())
}

/// Parse a comma-separated URL list (`--initial-advertise-peer-urls`), sorted.
pub fn parse_urls(s: &str) -> Result<Vec<String>, RestoreError> {
    let mut out = s.split(',').map(check_url).collect::<Result<Vec<_>, _>>()?;
    out.sort();
    Ok(out)
}

/// A member of the cluster being bootstrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NewMember {
    /// Member ID.
    pub id: u64,
    /// Name from `--initial-cluster`.
    pub name: String,
    /// Peer URLs, sorted.
    pub peer_urls: Vec<String>,
}

impl NewMember {
    /// The member as Go's `json.Marshal(membership.Member)` writes it (the `members` bucket
    /// value and the ConfChange context): `{"id":…,"peerURLs":[…],"name":"…"}` (no client
    /// URLs, not a learner).
    pub fn json(&self) -> String {
        let urls: Vec<String> = self.peer_urls.iter().map(|u| go_json_string(u)).collect();
        let mut s = format!("{{\"id\":{},\"peerURLs\":[{}]", self.id, urls.join(","));
        if !self.name.is_empty() {
            s.push_str(",\"name\":");
            s.push_str(&go_json_string(&self.name));
        }
        s.push('}');
        s
    }

    /// The member as a restore writes it into the v2 store (peer URLs only).
    pub fn store(&self) -> super::snap::StoreMember<'_> {
        super::snap::StoreMember {
            id: self.id,
            peer_urls: &self.peer_urls,
            is_learner: false,
            attributes: None,
        }
    }
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe: `<`, `>`, `&` escaped, as
/// are U+2028 and U+2029).
pub fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The cluster a restore bootstraps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NewCluster {
    /// Members in ascending ID order.
    pub members: Vec<NewMember>,
    /// Cluster ID.
    pub cluster_id: u64,
    /// ID of the local member (`--name`).
    pub local_id: u64,
}

impl NewCluster {
    /// Build and check the cluster from the restore flags, with etcd's error messages.
    pub fn from_flags(
        name: &str,
        initial_cluster: &str,
        token: &str,
        advertise_peer_urls: &str,
    ) -> Result<NewCluster, RestoreError> {
        // types.NewURLsMap: "name=url" items, URLs of one name grouped.
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in initial_cluster.split(',').filter(|s| !s.trim().is_empty()) {
            let Some((n, u)) = item.split_once('=') else {
                return Err(RestoreError::BadInitialCluster {
                    value: initial_cluster.to_owned(),
                    reason: format!("item {item:?} is not name=url"),
                });
            };
            by_name
                .entry(n.trim().to_owned())
                .or_default()
                .push(check_url(u)?);
        }
        let mut all: Vec<&String> = by_name.values().flatten().collect();
        all.sort();
        if all.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(RestoreError::BadInitialCluster {
                value: initial_cluster.to_owned(),
                reason: format!("initial cluster {initial_cluster} has duplicate url"),
            });
        }
        let Some(local_urls) = by_name.get(name) else {
            return Err(RestoreError::LocalNameMissing {
                name: name.to_owned(),
            });
        };
        let mut local_urls = local_urls.clone();
        local_urls.sort();
        let advertise = parse_urls(advertise_peer_urls)?;
        if local_urls != advertise {
            return Err(RestoreError::AdvertiseMismatch {
                initial_cluster: local_urls.join(","),
                advertise: advertise.join(","),
            });
        }
        let mut members = Vec::new();
        for (n, mut urls) in by_name {
            urls.sort();
            let id = member_id(&urls, token);
            if id == 0 {
                return Err(RestoreError::BadInitialCluster {
                    value: initial_cluster.to_owned(),
                    reason: "cannot use 0 as member id".to_owned(),
                });
            }
            if members.iter().any(|m: &NewMember| m.id == id) {
                return Err(RestoreError::BadInitialCluster {
                    value: initial_cluster.to_owned(),
                    reason: format!("member exists with identical ID {id:x}"),
                });
            }
            members.push(NewMember {
                id,
                name: n,
                peer_urls: urls,
            });
        }
        members.sort_by_key(|m| m.id);
        let ids: Vec<u64> = members.iter().map(|m| m.id).collect();
        let local_id = member_id(&local_urls, token);
        Ok(NewCluster {
            cluster_id: cluster_id(&ids),
            local_id,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        assert_eq!(
            hex(&sha1(&vec![b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn spec_example_ids() {
        let c = NewCluster::from_flags(
            "default",
            "default=http://localhost:2380",
            "etcd-cluster",
            "http://localhost:2380",
        )
        .unwrap();
        assert_eq!(format!("{:x}", c.local_id), "8e9e05c52164694d");
        assert_eq!(format!("{:x}", c.cluster_id), "cdf818194e3a8c32");
        assert_eq!(
            c.members[0].json(),
            r#"{"id":10276657743932975437,"peerURLs":["http://localhost:2380"],"name":"default"}"#
        );
    }

    #[test]
    fn flag_errors() {
        let e = NewCluster::from_flags("x", "a=http://h:1", "t", "http://h:1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "couldn't find local name \"x\" in the initial cluster configuration"
        );
        let e = NewCluster::from_flags("a", "a=http://h:1", "t", "http://h:2").unwrap_err();
        assert!(
            e.to_string()
                .contains("missing from --initial-advertise-peer-urls")
        );
        let e = NewCluster::from_flags("a", "a=http://h:1,b=http://h:1", "t", "http://h:1")
            .unwrap_err();
        assert!(e.to_string().contains("duplicate url"), "{e}");
        assert!(check_url("http://h:1/x").is_err());
        assert!(check_url("ftp://h:1").is_err());
        assert!(check_url("http://h").is_err());
        // Three members, ascending IDs, cluster ID over all of them.
        let c = NewCluster::from_flags(
            "b",
            "a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3",
            "t",
            "http://127.0.0.1:2",
        )
        .unwrap();
        assert_eq!(c.members.len(), 3);
        assert!(c.members.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(c.local_id, member_id(&["http://127.0.0.1:2".into()], "t"));
        assert_eq!(go_json_string("a<&\"\n"), r#""a\u003c\u0026\"\n""#);
    }
}

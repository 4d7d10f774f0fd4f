//! Which etcd binary reads the data: a release `X.Y.Z`, and what changed between releases
//! in how etcd reacts to the same bytes (`../shared/spec/etcd-36-37.md` has the sources).
//!
//! Without a release the verdict is the one of the release line that wrote the data as the
//! test rig's etcd 3.4.23 and 3.5.1 behave. With one ([`crate::Options::etcd_version`]),
//! the WAL findings are first read as that release's decoder reports them
//! ([`adapt_scan`]), then [`crate::boot::decide`] applies that release's start rules:
//!
//! | rule | releases | source |
//! |---|---|---|
//! | max entry size: none (a huge length word is `unexpected EOF`) | 3.4.0–3.4.9 | `wal/decoder.go@v3.4.9` |
//! | max entry size: 10 MiB, fatal `wal: max entry size limit exceeded` | 3.4.10+, 3.5.0–3.5.4 | `decoder.go@v3.5.1` |
//! | max entry size: what is left of the file, fatal | 3.5.5–3.5.6 | commit 621cd7b9e |
//! | the same limit wrapped as `unexpected EOF` (repairable in the last segment) | 3.5.7+, 3.6, 3.7 | commit e1fc545d8 |
//! | CRC error with expected/computed/file/position | 3.6, 3.7 | `walpb/record.go@v3.6.0` |
//! | a malformed record protobuf is no longer `unexpected EOF` | 3.7 | `decoder.go:125@v3.7.1` |
//! | a db behind the snapshot with `<index>.snap.db` behind too: `tx closed` panic | 3.5.0–3.5.1 | observed on 3.5.1 |
//! | the same: starts, the entries between the `.snap.db`'s consistent index and the snapshot never applied | 3.5.2–3.5.11 | commit 8c8159845, observed on 3.5.6 |
//! | the same: `does not match with snapshot`, before the WAL is read | 3.5.12+, 3.6, 3.7 | commit a2e9dc8cc |
//! | more than one learner: `membership: too many learner members in cluster` | 3.6, 3.7 | `bootstrap.go@v3.6.14` |
//! | custom v2 store content: `detected disallowed custom content in v2store …` | 3.6 | `storage/util.go@v3.6.14` |
//! | an empty last WAL segment: `unmarshal should never fail (proto: …)` | 3.7 | observed on 3.7.3 |
//! | 3.5 data under 3.4: `invalid downgrade; server version is lower than determined cluster version` | 3.4 | observed on 3.4.23 |
//!
//! Every rule is checked against the verdict real etcd 3.4.9, 3.4.23, 3.5.1, 3.5.6,
//! 3.5.35, 3.6.16 and 3.7.3 gave on the same bytes (`wal-inspect/tests/cli/releases.rs`;
//! 3.4.9 and 3.5.6 stand for 3.4.0–3.4.9 and 3.5.5–3.5.6, whose rules come from the source).

use std::fmt;
use std::str::FromStr;

use etcd_wal::predict::{Prediction, Stage};
use etcd_wal::scan::Scan;
use etcd_wal::{EtcdReaction, FindingKind};

/// An etcd release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtcdVersion {
    /// Major (3).
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl EtcdVersion {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> EtcdVersion {
        EtcdVersion {
            major,
            minor,
            patch,
        }
    }

    /// The release line, `3.5`.
    pub fn line(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    fn at_least(self, major: u32, minor: u32, patch: u32) -> bool {
        self >= EtcdVersion::new(major, minor, patch)
    }

    fn is_3_4(self) -> bool {
        self.major == 3 && self.minor == 4
    }
}

impl fmt::Display for EtcdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl serde::Serialize for EtcdVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A release that is not `X.Y.Z` with X = 3 and Y in 4..=7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("etcd version {0:?}: expected X.Y.Z, a release of 3.4, 3.5, 3.6 or 3.7 (e.g. 3.5.21)")]
pub struct BadVersion(pub String);

impl FromStr for EtcdVersion {
    type Err = BadVersion;
    fn from_str(s: &str) -> Result<EtcdVersion, BadVersion> {
        let bad = || BadVersion(s.to_owned());
        let t = s.trim().trim_start_matches('v');
        let mut parts = t.split('.').map(|p| p.parse::<u32>().map_err(|_| bad()));
        let (Some(a), Some(b), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let v = EtcdVersion::new(a?, b?, c?);
        if v.major != 3 || !(4..=7).contains(&v.minor) {
            return Err(bad());
        }
        Ok(v)
    }
}

/// The releases the test rig runs, one per behaviour this module knows: the ones a verdict
/// without `--etcd-version` is compared with (`later_releases`).
pub const REPRESENTATIVES: [EtcdVersion; 5] = [
    EtcdVersion::new(3, 4, 23),
    EtcdVersion::new(3, 5, 1),
    EtcdVersion::new(3, 5, 35),
    EtcdVersion::new(3, 6, 16),
    EtcdVersion::new(3, 7, 3),
];

/// The WAL findings of `scan` as release `v`'s decoder reports them: the same damage, with
/// that release's reaction (fatal or `unexpected EOF`) and error text.
pub fn adapt_scan(scan: &Scan, v: EtcdVersion) -> Scan {
    let mut out = scan.clone();
    for f in &mut out.findings {
        let name = f.at.file_name();
        let verb = if v.at_least(3, 6, 0) {
            "reading"
        } else {
            "decoding"
        };
        match f.kind {
            FindingKind::OversizedLength => {
                if v.is_3_4() && !v.at_least(3, 4, 10) {
                    f.reaction = EtcdReaction::UnexpectedEof;
                    f.etcd_error = "unexpected EOF".into();
                } else if v.at_least(3, 5, 7) {
                    f.reaction = EtcdReaction::UnexpectedEof;
                    f.etcd_error = limit_text(scan, f, verb, &name);
                } else if v.at_least(3, 5, 5) {
                    f.etcd_error = limit_text_3_5_5(scan, f);
                }
            }
            // A length word beyond the end of the file: ReadFull's `unexpected EOF` up to
            // 3.5.4; the file-size limit from 3.5.5 (fatal until 3.5.6, wrapped since).
            FindingKind::TruncatedRecord
                if f.reaction == EtcdReaction::UnexpectedEof && beyond_file(scan, f) =>
            {
                if v.at_least(3, 5, 7) {
                    f.etcd_error = limit_text(scan, f, verb, &name);
                } else if v.at_least(3, 5, 5) {
                    f.reaction = EtcdReaction::Fatal;
                    f.etcd_error = limit_text_3_5_5(scan, f);
                }
            }
            // A protobuf field running past the record: gogo's `io.ErrUnexpectedEOF`
            // (repairable) up to 3.6; protobuf-go's parse error (fatal) in 3.7.
            FindingKind::TruncatedRecord
                if v.at_least(3, 7, 0) && f.reaction == EtcdReaction::UnexpectedEof =>
            {
                f.reaction = EtcdReaction::Fatal;
                f.etcd_error = PROTO_PARSE_ERROR.into();
            }
            FindingKind::CrcMismatch if v.at_least(3, 6, 0) => {
                f.etcd_error = match (f.expected_crc, f.actual_crc) {
                    (Some(e), Some(a)) => format!(
                        "walpb: crc mismatch: expected: {e:x} computed: {a:x}: in file '{name}' at position: {}",
                        f.at.offset
                    ),
                    _ => "walpb: crc mismatch".into(),
                };
            }
            FindingKind::TornWrite if v.at_least(3, 6, 0) => {
                f.etcd_error = format!(
                    "unexpected EOF: in file '{name}' at position: {}",
                    f.at.offset
                );
            }
            FindingKind::ChainBreak if v.at_least(3, 6, 0) => {
                f.etcd_error = "walpb: crc mismatch".into();
            }
            // protobuf-go has one text for every malformed record (gogo named the field).
            FindingKind::InvalidRecord
                if v.at_least(3, 7, 0) && f.etcd_error.starts_with("proto:") =>
            {
                f.reaction = EtcdReaction::Fatal;
                f.etcd_error = PROTO_PARSE_ERROR.into();
            }
            _ => {}
        }
    }
    out
}

/// etcd ≥ 3.5.7's text for a length word over the file-size limit (`decoder.go:87@v3.5.33`,
/// `:110@v3.6.0`): the numbers of [`limit_numbers`] after a wrapped `unexpected EOF`.
fn limit_text(scan: &Scan, f: &etcd_wal::Finding, verb: &str, name: &str) -> String {
    let head = format!("unexpected EOF: [wal] max entry size limit exceeded when {verb} {name:?}");
    format!("{head}{}", limit_numbers(scan, f))
}

/// etcd 3.5.5–3.5.6's text for the same limit, fatal and unwrapped (observed on 3.5.6).
fn limit_text_3_5_5(scan: &Scan, f: &etcd_wal::Finding) -> String {
    format!(
        "wal: max entry size limit exceeded{}",
        limit_numbers(scan, f)
    )
}

/// `, recBytes: …, fileSize(…) - offset(…) - padBytes(…) = entryLimit(…)`: `recBytes` and
/// `padBytes` from the length word itself (read again from the segment, 8 bytes),
/// `fileSize` the segment's size, `offset` where the frame starts; empty when the word
/// cannot be read again.
fn limit_numbers(scan: &Scan, f: &etcd_wal::Finding) -> String {
    let Some(seg) = scan.dir.segments.get(f.at.segment_pos) else {
        return String::new();
    };
    let word = std::fs::File::open(&seg.path).ok().and_then(|file| {
        let mut b = [0u8; 8];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut b, f.at.offset).ok()?;
        Some(u64::from_le_bytes(b))
    });
    let Some(word) = word else {
        return String::new();
    };
    let rec_bytes = word & !(0xffu64 << 56);
    let pad = if word >> 63 == 1 {
        (word >> 56) & 0x7
    } else {
        0
    };
    let size = seg.size;
    let limit = i128::from(size) - i128::from(f.at.offset) - i128::from(pad);
    format!(
        ", recBytes: {rec_bytes}, fileSize({size}) - offset({}) - padBytes({pad}) = entryLimit({limit})",
        f.at.offset
    )
}

/// protobuf-go's error for a malformed message (3.7).
pub const PROTO_PARSE_ERROR: &str = "proto: cannot parse invalid wire-format data";

/// Whether the frame's length word claims more than its segment holds.
fn beyond_file(scan: &Scan, f: &etcd_wal::Finding) -> bool {
    let size = scan.segments.get(f.at.segment_pos).map(|s| s.size);
    match (f.frame_len, size) {
        (Some(len), Some(size)) => f.at.offset.saturating_add(len) > size,
        _ => false,
    }
}

/// The WAL's own verdict as release `v` words it: 3.6+ wrap the segment-selection errors.
pub fn adapt_prediction(p: &mut Prediction, scan: &Scan, v: EtcdVersion) {
    if !v.at_least(3, 6, 0) || p.refused_at != Some(Stage::Open) {
        return;
    }
    let gap = p
        .decisive
        .and_then(|i| scan.findings.get(i))
        .is_some_and(|f| {
            matches!(
                f.kind,
                FindingKind::SegmentGap | FindingKind::MissingSegment
            )
        });
    p.etcd_error = Some(match (gap, p.start_segment) {
        (true, Some(first)) => format!(
            "openAtIndex failed: [openAtIndex] selectWALFiles failed: wal: file sequence numbers (starting from {first}) do not increase continuously"
        ),
        _ => format!(
            "openAtIndex failed: [openAtIndex] selectWALFiles failed: wal: file not found which matches the snapshot index '{}'",
            p.start_snapshot.index
        ),
    });
}

/// The text of bbolt's panic on a page whose type flags are invalid, as release `v`'s bbolt
/// words it: bbolt 1.3.8 added `page.fastCheck` (etcd 3.5.10 moved to it, inferred; 3.5.1
/// gives the older text, 3.5.35, 3.6.16 and 3.7.3 this one, observed).
pub fn invalid_page_type_panic(v: EtcdVersion, page: u64, flags: u16) -> Option<String> {
    v.at_least(3, 5, 10)
        .then(|| format!("assertion failed: page {page}: has unexpected type/flags: {flags:x}"))
}

/// What the start rules of a release need beyond the WAL and the db's consistent index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseFacts {
    /// The release, when one was asked for.
    pub version: Option<EtcdVersion>,
    /// The consistent index of `<snapshot index>.snap.db`, when etcd would open it.
    pub snap_db_consistent_index: Option<u64>,
    /// The db file as etcd names it in its error (`<data-dir>/member/snap/db`).
    pub db_path: String,
    /// Learners in the db's `members` bucket.
    pub learners: usize,
    /// Top-level v2 store nodes with custom content in the `.snap` etcd loads.
    pub v2_custom_content: Vec<String>,
    /// The cluster version the data records (db `cluster` bucket, else the `.snap`).
    pub cluster_version: Option<String>,
    /// The last WAL segment holds no record at all.
    pub empty_last_segment: bool,
    /// A page with invalid type flags breaks bbolt's walk at open: (page, flags).
    pub invalid_page_type: Option<(u64, u16)>,
    /// The db's `meta/storageVersion` (written by 3.6+ and `etcdutl migrate`).
    pub storage_version: Option<String>,
}

/// The release line that wrote a member's data, as far as the data tells: the db's
/// `meta/storageVersion` (3.6+ write it once the cluster runs 3.6), else its `cluster`
/// bucket's cluster version (the line the whole cluster had agreed on), else the WAL's
/// snapshot records (3.5+ carry a ConfState) or the db's `meta/term` (3.5+): `"3.4"`,
/// `"3.5"`, `"3.6"`, `"3.7"`, or `"unknown"` (a fresh WAL with no snapshot record and no db).
pub fn detect_line(ins: &crate::Inspection) -> String {
    let db = ins.db();
    let line = |v: &str| major_minor(v).map(|(a, b)| format!("{a}.{b}"));
    if let Some(l) = db
        .and_then(|d| d.meta.storage_version.as_deref())
        .and_then(line)
    {
        return l;
    }
    if let Some(l) = db
        .and_then(|d| d.cluster.cluster_version.as_deref())
        .and_then(line)
    {
        return l;
    }
    match ins.prediction.release {
        etcd_wal::predict::Release::V3_5 => "3.5".into(),
        etcd_wal::predict::Release::V3_4 => "3.4".into(),
        etcd_wal::predict::Release::Unknown if db.is_some_and(|d| d.meta.term.is_some()) => {
            "3.5".into()
        }
        etcd_wal::predict::Release::Unknown => "unknown".into(),
    }
}

/// The rig's release of the line the data says wrote it (3.4 → 3.4.23, 3.5 → 3.5.1,
/// 3.6 → 3.6.16, 3.7 → 3.7.3): the db's storage version, else its cluster version, else the
/// WAL's snapshot records (3.5+ carry a ConfState), else the db's `meta/term` (3.5+).
pub fn implied_by_data(scan: &Scan, m: Option<&etcd_snap::MemberReport>) -> Option<EtcdVersion> {
    let db = m.and_then(|m| m.db.as_ref().ok());
    let line = db
        .and_then(|d| {
            d.meta
                .storage_version
                .as_deref()
                .or(d.cluster.cluster_version.as_deref())
        })
        .and_then(major_minor)
        .or(match etcd_wal::predict::Release::detect(scan) {
            etcd_wal::predict::Release::V3_5 => Some((3, 5)),
            etcd_wal::predict::Release::V3_4 => Some((3, 4)),
            etcd_wal::predict::Release::Unknown => db.and_then(|d| d.meta.term).map(|_| (3, 5)),
        })?;
    REPRESENTATIVES
        .iter()
        .copied()
        .find(|r| (r.major, r.minor) == line)
}

/// `3.5.0` → (3, 5).
pub fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut p = v.split('.');
    Some((p.next()?.parse().ok()?, p.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let v: EtcdVersion = "3.5.35".parse().unwrap();
        assert_eq!(v, EtcdVersion::new(3, 5, 35));
        assert_eq!(
            "v3.6.16".parse::<EtcdVersion>().unwrap().to_string(),
            "3.6.16"
        );
        assert!(EtcdVersion::new(3, 5, 7) > EtcdVersion::new(3, 5, 6));
        assert!(EtcdVersion::new(3, 6, 0) > EtcdVersion::new(3, 5, 35));
        for bad in ["3.5", "3.5.x", "4.0.0", "3.8.0", "3.5.1.2", ""] {
            assert!(bad.parse::<EtcdVersion>().is_err(), "{bad}");
        }
    }
}

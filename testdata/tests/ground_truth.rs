//! Proves every case's ground truth against the clean data with an own minimal WAL frame walk
//! (independent of etcd-wal and of the python generator), and checks that `testdata::case`
//! really applies the edits.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

fn varint(b: &[u8], mut i: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = *b.get(i)?;
        i += 1;
        v |= u64::from(x & 0x7f) << shift;
        if x & 0x80 == 0 {
            return Some((v, i));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// A field value: varint, or (start, len) of a length-delimited field.
type FieldVal = Result<u64, (usize, usize)>;

/// (field number, value) pairs of a protobuf message.
fn pb_fields(b: &[u8]) -> Option<Vec<(u64, FieldVal)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (key, j) = varint(b, i)?;
        i = j;
        match key & 7 {
            0 => {
                let (v, j) = varint(b, i)?;
                out.push((key >> 3, Ok(v)));
                i = j;
            }
            2 => {
                let (n, j) = varint(b, i)?;
                let n = usize::try_from(n).ok()?;
                if j + n > b.len() {
                    return None;
                }
                out.push((key >> 3, Err((j, n))));
                i = j + n;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[derive(Debug, Clone)]
struct Rec {
    offset: u64,
    frame_len: u64,
    rtype: u64,
    index: Option<u64>,
    term: Option<u64>,
}

fn walk(seg: &[u8]) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 8 <= seg.len() {
        let w = u64::from_le_bytes(seg[off..off + 8].try_into().unwrap());
        if w == 0 {
            break;
        }
        let rec_len = usize::try_from(w & 0x00ff_ffff_ffff_ffff).unwrap();
        let pad = if w >> 63 == 1 {
            ((w >> 56) & 7) as usize
        } else {
            0
        };
        let end = off + 8 + rec_len;
        if end + pad > seg.len() {
            break;
        }
        let fields = pb_fields(&seg[off + 8..end]).expect("clean record decodes");
        let mut rtype = 0;
        let mut data = None;
        for (f, v) in fields {
            match (f, v) {
                (1, Ok(t)) => rtype = t,
                (3, Err((s, n))) => data = Some(&seg[off + 8 + s..off + 8 + s + n]),
                _ => {}
            }
        }
        let (mut index, mut term) = (None, None);
        if rtype == 2 {
            for (f, v) in pb_fields(data.unwrap_or_default()).expect("entry decodes") {
                match (f, v) {
                    (2, Ok(t)) => term = Some(t),
                    (3, Ok(i)) => index = Some(i),
                    _ => {}
                }
            }
        }
        out.push(Rec {
            offset: off as u64,
            frame_len: (8 + rec_len + pad) as u64,
            rtype,
            index,
            term,
        });
        off = end + pad;
    }
    out
}

fn type_name(t: u64) -> &'static str {
    match t {
        1 => "metadata",
        2 => "entry",
        3 => "state",
        4 => "crc",
        5 => "snapshot",
        _ => "unknown",
    }
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("missing {k} in {v}"))
}

fn check_edit_against_clean(name: &str, clean: &Path, e: &Value) {
    let op = e["op"].as_str().unwrap();
    match op {
        "write" | "zero" => {
            let f = clean.join(e["file"].as_str().unwrap());
            let data = fs::read(&f).unwrap();
            let off = usize::try_from(u(e, "offset")).unwrap();
            let old = testdata::from_hex(e["old"].as_str().unwrap()).unwrap();
            let len = if op == "zero" {
                usize::try_from(u(e, "len")).unwrap()
            } else {
                old.len()
            };
            assert_eq!(old.len(), len, "{name}: old length");
            assert_eq!(
                &data[off..off + len],
                &old[..],
                "{name}: old bytes differ from clean"
            );
            if op == "write" {
                let new = testdata::from_hex(e["hex"].as_str().unwrap()).unwrap();
                assert_ne!(new, old, "{name}: write changes nothing");
            } else {
                assert!(
                    old.iter().any(|&b| b != 0),
                    "{name}: zeroing already-zero bytes"
                );
            }
        }
        "truncate" => {
            let f = clean.join(e["file"].as_str().unwrap());
            let size = fs::metadata(&f).unwrap().len();
            assert_eq!(size, u(e, "old_size"), "{name}: old_size");
            assert!(u(e, "size") < size, "{name}: truncate must shorten");
        }
        "delete" => assert!(clean.join(e["file"].as_str().unwrap()).is_file(), "{name}"),
        "rename" | "copy" => {
            assert!(clean.join(e["from"].as_str().unwrap()).is_file(), "{name}");
            assert!(!clean.join(e["to"].as_str().unwrap()).exists(), "{name}");
        }
        _ => panic!("{name}: unknown op {op}"),
    }
}

fn entries_from(wal_dir: &Path, seg: &str, ordinal: usize) -> (u64, Option<(u64, u64)>) {
    let mut names: Vec<String> = fs::read_dir(wal_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".wal"))
        .collect();
    names.sort();
    let mut after = 0;
    let mut before = None;
    let mut hit = false;
    for n in &names {
        let data = fs::read(wal_dir.join(n)).unwrap();
        for (i, r) in walk(&data).iter().enumerate() {
            if n == seg && i == ordinal {
                hit = true;
            }
            if r.rtype == 2 {
                if hit {
                    after += 1;
                } else {
                    before = Some((r.index.unwrap(), r.term.unwrap()));
                }
            }
        }
    }
    (after, before)
}

#[test]
fn every_case_has_ground_truth_and_verdict() {
    let cases = testdata::all_cases();
    assert!(cases.len() >= 3, "expected fixture cases, found {cases:?}");
    let configs = testdata::all_configs();
    for name in &cases {
        let c = testdata::Case::load(name).unwrap();
        assert!(
            configs.iter().any(|x| x == c.clean()),
            "{name}: unknown config {}",
            c.clean()
        );
        assert!(
            ["starts", "repairs_tail", "refuses"].contains(&c.expected_outcome()),
            "{name}: expected_outcome {:?}",
            c.expected_outcome()
        );
        if c.json["as_written"] == true {
            // the condition was written by etcd itself (the config's workload)
            assert!(c.edits().is_empty(), "{name}: as_written with edits");
        } else {
            assert!(!c.edits().is_empty(), "{name}: no edits");
        }
        assert!(!c.file().is_empty(), "{name}: no ground_truth.file");
        assert!(c.verdict().get("outcome").is_some(), "{name}: no verdict");
        if c.expected_outcome() == "refuses" {
            assert!(
                c.etcd_error().is_some(),
                "{name}: refusal without error string"
            );
        }
    }
}

#[test]
fn wal_ground_truth_matches_clean_frames() {
    let mut seen = BTreeMap::new();
    for name in testdata::all_cases() {
        let c = testdata::Case::load(&name).unwrap();
        let clean = testdata::pristine(c.clean()).unwrap();
        for e in c.edits() {
            check_edit_against_clean(&name, &clean, e);
        }
        let gt = c.ground_truth();
        if gt["record"].is_null() {
            // non-WAL case: the damaged file must exist in the clean copy
            assert!(c.file_path(&clean).is_file(), "{name}: {}", c.file());
            continue;
        }
        let seg_path = c.file_path(&clean);
        let seg_name = seg_path.file_name().unwrap().to_str().unwrap().to_owned();
        let data = fs::read(&seg_path).unwrap();
        let recs = walk(&data);
        assert_eq!(
            recs.len() as u64,
            u(gt, "records_in_segment"),
            "{name}: records in segment"
        );
        let ord = usize::try_from(c.ordinal().unwrap()).unwrap();
        let r = &recs[ord];
        assert_eq!(
            r.offset,
            c.record_offset().unwrap(),
            "{name}: record offset"
        );
        assert_eq!(r.frame_len, c.frame_len().unwrap(), "{name}: frame_len");
        assert_eq!(type_name(r.rtype), c.record_type().unwrap(), "{name}: type");
        assert_eq!(r.index, c.index(), "{name}: index");
        assert_eq!(r.term, c.term(), "{name}: term");
        let lo = r.offset;
        let hi = r.offset + r.frame_len;
        let member = c.member_dir(&clean).unwrap();
        let seg_rel = format!("{}/{}", c.member_rel().unwrap(), c.file());
        for e in c.edits() {
            let file = e.get("file").and_then(Value::as_str).unwrap_or_default();
            if file != seg_rel {
                continue;
            }
            match e["op"].as_str().unwrap() {
                "write" | "zero" => {
                    let off = u(e, "offset");
                    assert!(
                        (lo..hi).contains(&off),
                        "{name}: edit at {off} not in record [{lo},{hi})"
                    );
                }
                "truncate" => {
                    let size = u(e, "size");
                    // a segment truncated to 0 bytes loses its first record (the crc record) whole
                    assert!(
                        (lo < size && size < hi) || (size == 0 && lo == 0 && ord == 0),
                        "{name}: truncation {size} not inside record"
                    );
                }
                _ => {}
            }
        }
        // where etcd's own Repair cut the segment must be the start of the hit record
        if let Some(rp) = c.verdict().get("repair_point") {
            assert_eq!(
                rp["first_rewritten_record_offset"].as_u64(),
                Some(r.offset),
                "{name}: etcd's repair point vs ground truth record"
            );
        }
        if c.expected_outcome() == "repairs_tail" {
            assert!(
                c.verdict().get("repair_point").is_some(),
                "{name}: repair without repair_point"
            );
        }
        let (after, before) = entries_from(&member.join("wal"), &seg_name, ord);
        assert_eq!(Some(after), c.entries_after(), "{name}: entries_after");
        assert_eq!(
            before,
            c.last_good_entry_before(),
            "{name}: last_good_entry_before"
        );
        seen.insert(name, (seg_name, ord));
    }
    assert!(!seen.is_empty(), "no WAL cases");
}

#[test]
fn case_applies_edits() {
    // one case per edit op is enough to prove `case()`; pick the first of each op.
    let mut done = std::collections::BTreeSet::new();
    for name in testdata::all_cases() {
        let c = testdata::Case::load(&name).unwrap();
        // as written by etcd (no edits), or every op already proven by an earlier case: skip
        let mut new_op = false;
        for e in c.edits() {
            if let Some(op) = e["op"].as_str() {
                new_op |= done.insert(op.to_owned());
            }
        }
        if !new_op {
            continue;
        }
        let (dir, c) = testdata::case(&name).unwrap();
        let root = dir.path();
        for e in c.edits() {
            match e["op"].as_str().unwrap() {
                "write" => {
                    let data = fs::read(root.join(e["file"].as_str().unwrap())).unwrap();
                    let off = usize::try_from(u(e, "offset")).unwrap();
                    let new = testdata::from_hex(e["hex"].as_str().unwrap()).unwrap();
                    assert_eq!(&data[off..off + new.len()], &new[..], "{name}");
                }
                "zero" => {
                    let data = fs::read(root.join(e["file"].as_str().unwrap())).unwrap();
                    let off = usize::try_from(u(e, "offset")).unwrap();
                    let len = usize::try_from(u(e, "len")).unwrap();
                    assert!(data[off..off + len].iter().all(|&b| b == 0), "{name}");
                }
                "truncate" => {
                    let size = fs::metadata(root.join(e["file"].as_str().unwrap()))
                        .unwrap()
                        .len();
                    assert_eq!(size, u(e, "size"), "{name}");
                }
                "delete" => assert!(!root.join(e["file"].as_str().unwrap()).exists(), "{name}"),
                "rename" => {
                    assert!(!root.join(e["from"].as_str().unwrap()).exists(), "{name}");
                    assert!(root.join(e["to"].as_str().unwrap()).is_file(), "{name}");
                }
                "copy" => {
                    let from = fs::read(root.join(e["from"].as_str().unwrap())).unwrap();
                    let to = fs::read(root.join(e["to"].as_str().unwrap())).unwrap();
                    assert!(from == to, "{name}: copy differs");
                }
                op => panic!("{name}: {op}"),
            }
        }
    }
}

#[test]
fn clean_configs_extract_and_match_metadata() {
    for config in testdata::all_configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let dir = testdata::clean(&config).unwrap();
        let wal = &meta["wal"];
        for (member, summary) in wal.as_object().unwrap() {
            let wal_dir = dir
                .path()
                .join("data")
                .join(member)
                .join("member")
                .join("wal");
            for seg in summary["segments"].as_array().unwrap() {
                let name = seg["name"].as_str().unwrap();
                let data = fs::read(wal_dir.join(name)).unwrap();
                assert_eq!(
                    data.len() as u64,
                    u(seg, "size"),
                    "{config}/{member}/{name}: size"
                );
                let recs = walk(&data);
                assert_eq!(
                    recs.len() as u64,
                    u(seg, "records"),
                    "{config}/{member}/{name}: records"
                );
                let end = recs.last().map(|r| r.offset + r.frame_len).unwrap_or(0);
                assert_eq!(
                    end,
                    u(seg, "end_of_data"),
                    "{config}/{member}/{name}: end_of_data"
                );
                let n_entries = recs.iter().filter(|r| r.rtype == 2).count() as u64;
                assert_eq!(
                    n_entries,
                    u(seg, "entries"),
                    "{config}/{member}/{name}: entries"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- suites and per-release verdicts

const OUTCOMES: [&str; 3] = ["starts", "repairs_tail", "refuses"];

#[test]
fn suites_partition_the_fixtures() {
    let all = testdata::all_cases();
    let default = testdata::cases();
    for name in &all {
        let c = testdata::Case::load(name).unwrap();
        assert!(
            ["default", "extended"].contains(&c.suite()),
            "{name}: suite {}",
            c.suite()
        );
        assert_eq!(default.contains(name), c.suite() == "default", "{name}");
        if c.suite() == "default" {
            // the default suite is written and judged by the packaged releases only
            assert!(
                ["3.5.1", "3.4.23"].contains(&c.etcd_version()),
                "{name}: {}",
                c.etcd_version()
            );
            let meta = testdata::config_meta(c.clean()).unwrap();
            assert_eq!(testdata::suite_of(&meta), "default", "{name}: config suite");
        }
        assert!(
            testdata::release(c.etcd_version()).is_some(),
            "{name}: unknown release {}",
            c.etcd_version()
        );
    }
    for config in testdata::all_configs() {
        let meta = testdata::config_meta(&config).unwrap();
        let v = meta["etcd_version"].as_str().unwrap();
        assert!(testdata::release(v).is_some(), "{config}: release {v}");
        assert_eq!(
            testdata::configs().contains(&config),
            testdata::suite_of(&meta) == "default",
            "{config}"
        );
    }
}

#[test]
fn cross_release_cases_have_every_verdict() {
    let mut n = 0;
    for name in testdata::all_cases() {
        let c = testdata::Case::load(&name).unwrap();
        let Some(want) = c.json["releases"].as_array() else {
            assert!(
                c.verdict_releases().is_empty(),
                "{name}: etcd_verdicts without releases"
            );
            continue;
        };
        n += 1;
        let want: Vec<&str> = want.iter().map(|v| v.as_str().unwrap()).collect();
        let mut judged = c.verdict_releases();
        judged.sort_unstable();
        let mut listed = want.clone();
        listed.sort_unstable();
        assert_eq!(judged, listed, "{name}: releases judged");
        let meta = testdata::config_meta(c.clean()).unwrap();
        for rel in &want {
            let v = c.verdict_of(rel).unwrap();
            assert_eq!(v["etcd"], *rel, "{name}@{rel}");
            assert!(v["outcome"].is_string(), "{name}@{rel}: no outcome");
            let exp = c.expected_outcome_of(rel).unwrap();
            assert!(OUTCOMES.contains(&exp), "{name}@{rel}: {exp}");
            if exp == "refuses" && v["outcome"] == "exited" {
                assert!(
                    c.etcd_error_of(rel).is_some(),
                    "{name}@{rel}: refusal without error"
                );
            }
            // what this release does with the clean bytes, to tell damage from version refusals
            assert!(
                meta["clean_baseline_by_release"][rel]["outcome"].is_string(),
                "{name}: {} has no clean baseline for {rel}",
                c.clean()
            );
        }
        // the case's own verdict is its own release's entry
        let own = c.verdict_of(c.etcd_version()).unwrap();
        for (k, v) in c.verdict().as_object().unwrap() {
            assert_eq!(&own[k], v, "{name}: etcd_verdict.{k} vs etcd_verdicts");
        }
        assert_eq!(
            c.expected_outcome_of(c.etcd_version()),
            Some(c.expected_outcome()),
            "{name}"
        );
    }
    assert!(n >= 9, "only {n} cross-release cases");
}

/// The older opt-in releases (testdata/gen/gen.py `OLDER_RELEASES`, `gen.py release-verdicts`)
/// judged every case their release line wrote and every cross-release case: 3.5.6 the data of
/// 3.5.1 and 3.5.35, 3.4.9 that of 3.4.23.
#[test]
fn older_releases_judged_their_lines_cases() {
    let mut n = 0;
    for name in testdata::all_cases() {
        let c = testdata::Case::load(&name).unwrap();
        let judged = c.verdict_releases();
        let cross = ["3.4.23", "3.5.1", "3.5.35", "3.6.16", "3.7.3"]
            .iter()
            .all(|r| judged.contains(r));
        for (older, lines) in [
            ("3.5.6", &["3.5.1", "3.5.35"][..]),
            ("3.4.9", &["3.4.23"][..]),
        ] {
            let want = cross || lines.contains(&c.etcd_version());
            assert_eq!(judged.contains(&older), want, "{name}: {older}'s verdict");
            n += usize::from(want);
        }
    }
    assert!(n >= 80, "only {n} verdicts of 3.5.6 and 3.4.9");
}

// ---------------------------------------------------------------- new kinds, own decoders

fn le32(b: &[u8], o: usize) -> usize {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize
}
fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn le16(b: &[u8], o: usize) -> usize {
    usize::from(u16::from_le_bytes(b[o..o + 2].try_into().unwrap()))
}
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Leaf elements (key, value offset, value len) of the leaf pages under `pgid`.
fn bolt_leaves(db: &[u8], ps: usize, pgid: u64, out: &mut Vec<(Vec<u8>, usize, usize, u32)>) {
    let off = usize::try_from(pgid).unwrap() * ps;
    bolt_page(db, ps, off, out);
}

fn bolt_page(db: &[u8], ps: usize, off: usize, out: &mut Vec<(Vec<u8>, usize, usize, u32)>) {
    let flags = le16(db, off + 8);
    let count = le16(db, off + 10);
    for i in 0..count {
        let e = off + 16 + i * 16;
        if flags & 0x02 != 0 {
            let (fl, pos, ks, vs) = (
                le32(db, e),
                le32(db, e + 4),
                le32(db, e + 8),
                le32(db, e + 12),
            );
            let k = db[e + pos..e + pos + ks].to_vec();
            out.push((k, e + pos + ks, vs, fl as u32));
        } else if flags & 0x01 != 0 {
            bolt_leaves(db, ps, le64(db, e + 8), out);
        } else {
            panic!("page at {off}: flags {flags:#x}");
        }
    }
}

/// Items of top-level bucket `name` in the current tree of a clean bbolt file.
fn bolt_bucket(db: &[u8], name: &[u8]) -> Vec<(Vec<u8>, usize, usize)> {
    let ps = le32(db, 16 + 8);
    let metas: Vec<usize> = [0, ps]
        .into_iter()
        .map(|p| p + 16)
        .filter(|&m| le32(db, m) == 0xED0C_DAED && fnv1a(&db[m..m + 56]) == le64(db, m + 56))
        .collect();
    let m = *metas
        .iter()
        .max_by_key(|&&m| le64(db, m + 48))
        .expect("a valid meta page");
    let mut top = Vec::new();
    bolt_leaves(db, ps, le64(db, m + 16), &mut top);
    let (_, voff, _, _) = top
        .into_iter()
        .find(|(k, _, _, fl)| k == name && fl & 1 == 1)
        .unwrap_or_else(|| panic!("no bucket {}", String::from_utf8_lossy(name)));
    let mut items = Vec::new();
    match le64(db, voff) {
        0 => bolt_page(db, ps, voff + 16, &mut items), // inline bucket
        root => bolt_leaves(db, ps, root, &mut items),
    }
    items.into_iter().map(|(k, o, l, _)| (k, o, l)).collect()
}

fn snap_index(name: &str) -> u64 {
    let stem = name.strip_suffix(".snap").unwrap();
    u64::from_str_radix(stem.split_once('-').unwrap().1, 16).unwrap()
}

#[test]
fn new_kinds_ground_truth_by_own_decoders() {
    let mut kinds = std::collections::BTreeSet::new();
    for name in testdata::all_cases() {
        let c = testdata::Case::load(&name).unwrap();
        let gt = c.ground_truth();
        let clean = testdata::pristine(c.clean()).unwrap();
        let Some(member) = c.member_dir(&clean) else {
            continue;
        };
        match c.kind() {
            "db-behind-snap" => {
                let db = fs::read(member.join("snap/db")).unwrap();
                let meta = bolt_bucket(&db, b"meta");
                let (_, off, len) = meta
                    .iter()
                    .find(|(k, _, _)| k == b"consistent_index")
                    .unwrap()
                    .clone();
                assert_eq!(len, 8, "{name}");
                assert_eq!(
                    off as u64,
                    u(gt, "offset"),
                    "{name}: consistent_index offset"
                );
                let ci = u64::from_be_bytes(db[off..off + 8].try_into().unwrap());
                assert_eq!(ci, u(gt, "consistent_index"), "{name}");
                let newest = gt["newest_snap"].as_str().unwrap();
                assert!(member.join("snap").join(newest).is_file(), "{name}");
                assert_eq!(snap_index(newest), u(gt, "newest_snap_index"), "{name}");
                let lowered = u(gt, "consistent_index_new");
                assert!(
                    lowered < snap_index(newest) && snap_index(newest) <= ci,
                    "{name}"
                );
                let e = &c.edits()[0];
                assert_eq!(u(e, "offset"), off as u64, "{name}");
                assert_eq!(
                    testdata::from_hex(e["hex"].as_str().unwrap()).unwrap(),
                    lowered.to_be_bytes(),
                    "{name}"
                );
                let expected = gt["expected_snap_db"].as_str().unwrap();
                assert!(!member.join("snap").join(expected).exists(), "{name}");
            }
            "db-deleted" => {
                assert!(member.join("snap/db").is_file(), "{name}");
                let snaps = gt["snap_files"].as_array().unwrap();
                assert!(!snaps.is_empty(), "{name}");
                for s in snaps {
                    assert!(
                        member.join("snap").join(s.as_str().unwrap()).is_file(),
                        "{name}"
                    );
                }
                let newest = snaps.last().unwrap().as_str().unwrap();
                assert_eq!(snap_index(newest), u(gt, "newest_snap_index"), "{name}");
            }
            "learners-two" => {
                let db = fs::read(member.join("snap/db")).unwrap();
                let learners = bolt_bucket(&db, b"members")
                    .iter()
                    .filter(|(_, o, l)| {
                        let m: Value = serde_json::from_slice(&db[*o..*o + *l]).unwrap();
                        m["isLearner"] == true
                    })
                    .count() as u64;
                assert_eq!(learners, u(gt, "db_learners"), "{name}");
                assert!(learners >= 2, "{name}");
            }
            "v2store-custom" => {
                let snap = fs::read(member.join(c.file())).unwrap();
                let keys = gt["v2_custom_keys"].as_array().unwrap();
                assert!(!keys.is_empty(), "{name}");
                for k in keys {
                    let needle = format!("\"Path\":\"{}\"", k.as_str().unwrap());
                    assert!(
                        snap.windows(needle.len()).any(|w| w == needle.as_bytes()),
                        "{name}: {needle} not in {}",
                        c.file()
                    );
                }
            }
            "wal-len-beyond-file" => {
                let seg = fs::read(c.file_path(&clean)).unwrap();
                let off = c.record_offset().unwrap();
                let e = &c.edits()[0];
                let new = testdata::from_hex(e["hex"].as_str().unwrap()).unwrap();
                let claim =
                    u64::from_le_bytes(new[..8].try_into().unwrap()) & 0x00ff_ffff_ffff_ffff;
                assert_eq!(claim, u(gt, "claimed_len"), "{name}");
                assert!(
                    claim > seg.len() as u64 - off - 8,
                    "{name}: fits in the file"
                );
                assert!(claim < 10 * 1024 * 1024, "{name}: not below 10 MiB");
                assert!(
                    c.ground_truth()["segment_position"].as_u64().unwrap() > 0,
                    "{name}"
                );
            }
            "wal-record-malformed" => {
                let seg = fs::read(c.file_path(&clean)).unwrap();
                let r = usize::try_from(c.record_offset().unwrap()).unwrap();
                let rec_len = usize::try_from(
                    u64::from_le_bytes(seg[r..r + 8].try_into().unwrap()) & 0x00ff_ffff_ffff_ffff,
                )
                .unwrap();
                let body = &seg[r + 8..r + 8 + rec_len];
                let fields = pb_fields(body).unwrap();
                let (_, data) = fields.iter().find(|(f, _)| *f == 3).unwrap();
                let (start, len) = (*data).unwrap_err();
                let a = usize::try_from(u(gt, "data_len_varint_offset")).unwrap();
                assert_eq!(
                    varint(&seg, a).unwrap(),
                    (len as u64, r + 8 + start),
                    "{name}"
                );
                let e = &c.edits()[0];
                let new = testdata::from_hex(e["hex"].as_str().unwrap()).unwrap();
                let (claimed, end) = varint(&new, 0).unwrap();
                assert_eq!(end, new.len(), "{name}: varint width");
                assert_eq!(claimed, u(gt, "data_len_claimed"), "{name}");
                assert!(
                    r + 8 + start + claimed as usize > r + 8 + rec_len,
                    "{name}: still fits"
                );
            }
            _ => continue,
        }
        kinds.insert(c.kind().to_owned());
    }
    assert_eq!(kinds.len(), 6, "kinds checked: {kinds:?}");
}

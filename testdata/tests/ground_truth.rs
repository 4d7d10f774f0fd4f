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
        "rename" => {
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
    let cases = testdata::cases();
    assert!(cases.len() >= 3, "expected fixture cases, found {cases:?}");
    let configs = testdata::configs();
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
        assert!(!c.edits().is_empty(), "{name}: no edits");
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
    for name in testdata::cases() {
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
                    assert!(
                        lo < size && size < hi,
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
    for name in testdata::cases() {
        let c = testdata::Case::load(&name).unwrap();
        let op = c.edits()[0]["op"].as_str().unwrap().to_owned();
        if !done.insert(op.clone()) {
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
                op => panic!("{name}: {op}"),
            }
        }
    }
}

#[test]
fn clean_configs_extract_and_match_metadata() {
    for config in testdata::configs() {
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

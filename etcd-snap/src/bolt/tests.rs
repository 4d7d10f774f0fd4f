//! Unit tests of the bolt reader on hand-built files.

use super::testutil::*;
use super::*;
use crate::Error;

fn open(bytes: &[u8]) -> (tempfile::NamedTempFile, crate::Result<Db>) {
    let f = temp(bytes);
    let db = Db::open(f.path());
    (f, db)
}

fn all(db: &Db, b: &Bucket) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.cursor(b)
        .map(|e| e.unwrap())
        .map(|e| (e.key, e.value))
        .collect()
}

/// Open, check, walk every bucket; must never panic. Returns (open ok, findings).
fn exercise(bytes: &[u8]) -> (bool, Vec<Finding>) {
    let (_f, db) = open(bytes);
    let Ok(db) = db else {
        return (false, Vec::new());
    };
    let report = db.check().unwrap();
    for top in db.cursor(&db.root()) {
        let Ok(top) = top else { break };
        if let Ok(b) = db.open_bucket(&top) {
            for e in db.cursor(&b) {
                if e.is_err() {
                    break;
                }
            }
            for from in [&b"m"[..], &[0xff; 4]] {
                for e in db.cursor_from(&b, from) {
                    if e.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = crate::status::etcdutl_status(&db);
    // Salvage reads whatever is readable and writes a db that opens and checks clean.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("salvaged.db");
    if let Ok(s) = super::salvage::salvage(_f.path(), &out) {
        let copy = Db::open(&out).unwrap();
        assert!(copy.check().unwrap().is_clean(), "{s:?}");
    }
    (true, report.findings)
}

#[test]
fn reads_sample() {
    let (_f, db) = open(&sample());
    let db = db.unwrap();
    assert_eq!(db.page_size(), 4096);
    assert_eq!(db.active_meta(), 1);
    assert_eq!(db.meta().txid, 3);
    assert_eq!(
        db.bucket_names().unwrap(),
        [b"big".to_vec(), b"inl".to_vec(), b"ovf".to_vec()]
    );
    let inl = db.bucket(b"inl").unwrap().unwrap();
    assert!(inl.is_inline());
    assert_eq!(
        all(&db, &inl),
        [
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec())
        ]
    );
    let big = db.bucket(b"big").unwrap().unwrap();
    let keys: Vec<_> = all(&db, &big).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [b"k1", b"k2", b"k3", b"k4"]);
    assert_eq!(db.get(&big, b"k3").unwrap(), Some(b"v3".to_vec()));
    assert_eq!(db.get(&big, b"k0").unwrap(), None);
    let ovf = db.bucket(b"ovf").unwrap().unwrap();
    assert_eq!(db.get(&ovf, b"huge").unwrap(), Some(vec![0xab; 10_000]));
    let r = db.check().unwrap();
    assert!(r.is_clean(), "{:?}", r.findings);
    assert_eq!(r.reachable_pages, 7);
    assert_eq!(r.buckets, 3);
    assert_eq!(r.keys, 7);
}

#[test]
fn meta_choice_and_findings() {
    // Bad checksum on meta 1 (the newer): meta 0 is used, one finding.
    let mut b = sample();
    b[PS + 16 + 40] ^= 1; // pgid byte of meta 1
    let (_f, db) = open(&b);
    let db = db.unwrap();
    assert_eq!(db.active_meta(), 0);
    let f = db.meta_findings();
    assert_eq!(f.len(), 1);
    assert!(matches!(
        f[0].kind,
        FindingKind::MetaInvalid {
            meta: 1,
            problem: MetaProblem::BadChecksum { .. }
        }
    ));
    assert_eq!((f[0].page, f[0].offset), (1, 4096));

    // Bad magic on meta 0: page size found by probing, meta 1 used.
    let mut b = sample();
    b[16] ^= 0xff;
    let (_f, db) = open(&b);
    let db = db.unwrap();
    assert_eq!(
        db.page_size_source(),
        PageSizeSource::SecondMeta { offset: 4096 }
    );
    assert_eq!(db.active_meta(), 1);
    assert!(matches!(
        db.metas()[0].problem,
        Some(MetaProblem::BadMagic { .. })
    ));

    // Bad version on meta 0 and bad checksum on meta 1: refuse.
    let mut b = sample();
    b[20] = 3;
    b[PS + 16 + 48] ^= 1;
    let (_f, db) = open(&b);
    match db.unwrap_err() {
        Error::BothMetasInvalid { meta0, meta1, .. } => {
            assert_eq!(meta0, MetaProblem::BadVersion { found: 3 });
            assert!(matches!(meta1, MetaProblem::BadChecksum { .. }));
        }
        e => panic!("{e}"),
    }

    // Nothing bolt-like at all.
    let (_f, db) = open(&vec![0u8; 3 * PS]);
    assert!(matches!(db.unwrap_err(), Error::BothMetasInvalid { .. }));
    let (_f, db) = open(b"tiny");
    assert!(matches!(db.unwrap_err(), Error::InvalidDatabase { .. }));
    let (_f, db) = open(b"");
    assert!(matches!(db.unwrap_err(), Error::EmptyFile { .. }));
}

#[test]
fn every_header_field_damaged() {
    // Page 3 (branch), 4 (leaf), 6 (overflow leaf); each header field set to hostile values.
    let values: [u64; 6] = [0, 1, 2, 0xFFFF, 0x7FFF_FFFF, u64::MAX];
    for page in [2u64, 3, 4, 6] {
        for (field, off, len) in [
            ("id", 0, 8),
            ("flags", 8, 2),
            ("count", 10, 2),
            ("overflow", 12, 4),
        ] {
            for v in values {
                let mut b = sample();
                let at = page as usize * PS + off;
                b[at..at + len].copy_from_slice(&v.to_le_bytes()[..len]);
                if b == sample() {
                    continue;
                }
                let (opened, findings) = exercise(&b);
                assert!(opened);
                let changed_count_down = field == "count";
                // Lowering a count only hides elements; everything else must be found.
                if !changed_count_down {
                    assert!(
                        !findings.is_empty(),
                        "page {page} {field}={v:#x}: no finding"
                    );
                    assert!(findings.iter().any(|f| f.page >= page), "{findings:?}");
                }
            }
        }
    }
}

#[test]
fn damaged_pointers_and_cycles() {
    // Branch child pointing back at itself: multiple references, no hang.
    let mut b = sample();
    let e1 = 3 * PS + 16 + 16 + 8; // second element's pgid
    b[e1..e1 + 8].copy_from_slice(&3u64.to_le_bytes());
    let (_f, db) = open(&b);
    let db = db.unwrap();
    let big = db.bucket(b"big").unwrap().unwrap();
    let res: Vec<_> = db.cursor(&big).collect();
    let err = res.last().unwrap().as_ref().unwrap_err();
    let f = err.finding().unwrap();
    assert_eq!(f.kind, FindingKind::MultipleReferences);
    assert_eq!(
        (f.page, f.offset, f.referenced_from),
        (3, 3 * 4096, Some(3))
    );
    let r = db.check().unwrap();
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == FindingKind::MultipleReferences)
    );
    // Page 5 is now unreachable: with NoFreelistSync it counts as free.
    assert_eq!(r.free_pages, 1);

    // Child beyond pgid.
    b[e1..e1 + 8].copy_from_slice(&1000u64.to_le_bytes());
    let (_f, db) = open(&b);
    let r = db.unwrap().check().unwrap();
    assert!(matches!(
        r.findings[0].kind,
        FindingKind::PageOutOfRange { high_water: 9 }
    ));
    assert_eq!(r.findings[0].page, 1000);

    // Keys out of order in a leaf.
    let mut b = sample();
    let k = 4 * PS + 16 + 2 * 16; // first key "k1" of page 4
    b[k + 1] = b'9';
    let (_f, db) = open(&b);
    let r = db.unwrap().check().unwrap();
    assert!(
        r.findings
            .iter()
            .any(|f| matches!(f.kind, FindingKind::KeyOrder { .. }) && f.page == 4)
    );
}

#[test]
fn truncation_at_every_page_boundary() {
    let full = sample();
    for pages in 0..9usize {
        for cut in [pages * PS, pages * PS + 100] {
            let (opened, findings) = exercise(&full[..cut]);
            if cut < 2 * PS {
                assert!(
                    !opened || cut >= 2 * PS,
                    "cut {cut}: opened a file without 2 pages"
                );
                continue;
            }
            assert!(opened, "cut {cut}");
            assert!(
                findings
                    .iter()
                    .any(|f| matches!(f.kind, FindingKind::FileShorterThanHighWater { .. })),
                "cut {cut}: {findings:?}"
            );
            if cut < 7 * PS {
                assert!(
                    findings
                        .iter()
                        .any(|f| matches!(f.kind, FindingKind::PageBeyondEof { .. })),
                    "cut {cut}: {findings:?}"
                );
            }
        }
    }
}

#[test]
fn every_byte_of_the_sample_damaged() {
    // Exhaustive single-byte damage over the used part of every page (cheap: 9 pages).
    let clean = sample();
    for page in 0..9usize {
        for off in 0..200usize {
            let at = page * PS + off;
            let mut b = clean.clone();
            b[at] ^= 0xa5;
            let _ = exercise(&b);
        }
    }
}

/// The lean walk's lowest unreachable pages are the first `free` pages of `db pages`'
/// listing, on real dbs of 3.4.23, 3.5.1 and 3.6.16.
#[test]
fn lowest_unreachable_pages_equal_the_page_list() {
    for config in ["v34-single", "v35-single", "v36-single"] {
        let dir = testdata::pristine(config).unwrap();
        let db = Db::open(dir.join("snapshot.db")).unwrap();
        let listed: Vec<u64> = db
            .page_list()
            .unwrap()
            .iter()
            .filter(|p| p.kind == "free")
            .map(|p| p.id)
            .collect();
        assert!(listed.len() >= 3, "{config}: {} free pages", listed.len());
        for k in [0, 1, 3, listed.len() + 5] {
            let got = db.lowest_unreachable_pages(k).unwrap().unwrap();
            assert_eq!(
                got,
                listed.iter().copied().take(k).collect::<Vec<_>>(),
                "{config} k={k}"
            );
        }
    }
}

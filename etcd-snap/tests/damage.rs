//! Random single-byte damage of the real etcd 3.5.1 and 3.4.23 dbs of the `v3x-single`
//! fixtures (seeded, a few hundred cases each): every reader entry point must return (Ok or
//! Err), never panic, never hang. And the generator's `v3x-db-*` cases, which real etcd
//! refused or survived, are noticed at the page they damage.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use etcd_snap::bolt::Db;
use etcd_snap::{mvcc, schema, status};

/// xorshift64*: deterministic, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Test-only bbolt walk of an undamaged 4 KiB-page file: the logical pages reachable from the
/// meta page with the higher txid (branch/leaf pages of every bucket, non-inline).
fn reachable(db: &[u8]) -> std::collections::BTreeSet<u64> {
    // meta at page offset 16: magic, version, page_size, flags, root {pgid, seq}, freelist,
    // pgid, txid, checksum.
    let meta = |p: usize| {
        (
            u64_at(db, p * 4096 + 16 + 56),
            u64_at(db, p * 4096 + 16 + 16),
        )
    };
    let (root, (t0, t1)) = ((meta(0).1, meta(1).1), (meta(0).0, meta(1).0));
    let root = if t1 > t0 { root.1 } else { root.0 };
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        assert!(seen.insert(p), "page {p} referenced twice");
        let o = p as usize * 4096;
        let (flags, count) = (u16_at(db, o + 8), u16_at(db, o + 10));
        for i in 0..usize::from(count) {
            let e = o + 16 + i * 16;
            match flags {
                0x01 => todo.push(u64_at(db, e + 8)), // branch: pos, ksize, pgid
                0x02 => {
                    // leaf: flags, pos, ksize, vsize; a bucket value starts with its root
                    // (0 = inline bucket, stored in the value itself).
                    let (ef, pos, ks) = (u32_at(db, e), u32_at(db, e + 4), u32_at(db, e + 8));
                    if ef & 1 != 0 {
                        let bucket_root = u64_at(db, e + (pos + ks) as usize);
                        if bucket_root != 0 {
                            todo.push(bucket_root);
                        }
                    }
                }
                f => panic!("page {p}: flags {f:#x} in the tree"),
            }
        }
    }
    seen
}

/// Run everything a caller might run on a db; report whether anything noticed damage.
fn exercise(path: &std::path::Path) -> bool {
    let Ok(db) = Db::open(path) else { return true };
    let mut noticed = !db.meta_findings().is_empty();
    match db.check() {
        Ok(r) => noticed |= !r.is_clean(),
        Err(_) => noticed = true,
    }
    noticed |= status::etcdutl_status(&db).is_err();
    match mvcc::live_keys(&db, None, b"") {
        Ok(l) => noticed |= l.bad_records > 0,
        Err(_) => noticed = true,
    }
    let _ = mvcc::history(&db, b"/k/1");
    let _ = mvcc::get(&db, b"/k/1", Some(500));
    let _ = schema::meta(&db);
    let _ = schema::membership(&db);
    let _ = schema::leases(&db);
    let _ = schema::alarms(&db);
    let _ = schema::auth(&db);
    let _ = schema::cluster(&db);
    let _ = etcd_snap::inspect_member(path.parent().unwrap().parent().unwrap(), None);
    // Salvage: whatever it reads, the db it writes opens and checks clean.
    let out = tempfile::tempdir().unwrap();
    if let Ok(s) = etcd_snap::salvage::salvage_db(path, &out.path().join("s.db")) {
        let copy = Db::open(out.path().join("s.db")).unwrap();
        assert!(copy.check().unwrap().is_clean(), "{s:?}");
    }
    noticed
}

#[test]
fn random_single_byte_damage_never_panics() {
    for (config, seed) in [
        ("v35-single", 0x5eed_e7cd_0000_0001),
        ("v34-single", 0x5eed_e7cd_0000_0002),
    ] {
        random_damage(config, seed);
    }
}

fn random_damage(config: &str, seed: u64) {
    let tmp = testdata::clean(config).unwrap();
    let path = tmp.path().join("data/m1/member/snap/db");
    let clean = std::fs::read(&path).unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let pages = clean.len() as u64 / 4096;

    // Pages in use that start a logical page (header id == position), as opposed to overflow
    // continuation pages that hold value bytes (bolt has no checksum over those) and to free
    // pages (etcd's bbolt keeps no freelist on disk; nothing reads a free page).
    let used = reachable(&clean);
    let starts: Vec<u64> = (2..pages)
        .filter(|p| {
            let o = (*p * 4096) as usize;
            clean[o..o + 8] == p.to_le_bytes() && used.contains(p)
        })
        .collect();
    assert!(starts.len() > 50, "{config}: {} pages", starts.len());

    let mut rng = Rng(seed);
    let cases = 450;
    let (mut header_cases, mut header_noticed) = (0, 0);
    for case in 0..cases {
        // A third hit a page header (16 bytes), a third a page's element array, a third
        // land anywhere in the file.
        let start = starts[(rng.next() % starts.len() as u64) as usize] * 4096;
        let off = match case % 3 {
            0 => start + rng.next() % 16,
            1 => start + 16 + rng.next() % 64,
            _ => rng.next() % clean.len() as u64,
        };
        let old = clean[off as usize];
        let new = match rng.next() % 3 {
            0 => old ^ 0xff,
            1 => old ^ (1 << (rng.next() % 8)),
            _ => rng.next() as u8,
        };
        if new == old {
            continue;
        }
        file.write_all_at(&[new], off).unwrap();
        let t = Instant::now();
        let outcome = std::panic::catch_unwind(|| exercise(&path));
        let took = t.elapsed();
        file.write_all_at(&[old], off).unwrap();
        let n = outcome
            .unwrap_or_else(|_| panic!("{config} case {case}: panic with byte {off} = {new:#04x}"));
        assert!(
            took < Duration::from_secs(10),
            "{config} case {case}: {took:?} at {off}"
        );
        // Header damage that only lowers `count` hides elements without breaking structure.
        let count_lowered = (10..12).contains(&(off % 4096)) && {
            let o = (off - off % 4096) as usize + 10;
            let mut c = [clean[o], clean[o + 1]];
            c[(off % 4096 - 10) as usize] = new;
            u16::from_le_bytes(c) < u16::from_le_bytes([clean[o], clean[o + 1]])
        };
        if case % 3 == 0 && !count_lowered {
            header_cases += 1;
            header_noticed += usize::from(n);
        }
    }
    eprintln!(
        "{config}: {} pages in use of {pages}; header damage noticed in {header_noticed} of {header_cases}",
        starts.len()
    );
    assert!(
        header_noticed * 10 >= header_cases * 9,
        "{config}: header damage noticed in only {header_noticed} of {header_cases} cases"
    );
}

/// The `v3x-db-*` cases (a leaf page's flags, the current meta page, both meta pages):
/// nothing panics, the damage is noticed, and when the db still opens a finding names the
/// page the generator's ground truth names.
#[test]
fn db_cases_are_noticed_at_their_page() {
    let mut checked = 0;
    for name in testdata::cases() {
        let case = testdata::Case::load(&name).unwrap();
        if !case.kind().starts_with("db-") {
            continue;
        }
        let (root, case) = testdata::case(&name).unwrap();
        let path = case.file_path(root.path());
        assert!(path.ends_with("snap/db"), "{name}: {}", path.display());
        let page = case.page_id().expect("page_id");
        let noticed = std::panic::catch_unwind(|| exercise(&path))
            .unwrap_or_else(|_| panic!("{name}: panic"));
        assert!(noticed, "{name}: damage not noticed");
        if let Ok(db) = Db::open(&path) {
            let mut findings = db.meta_findings();
            findings.extend(db.check().map(|r| r.findings).unwrap_or_default());
            assert!(
                findings.iter().any(|f| f.page == page),
                "{name}: no finding on page {page}: {findings:?}"
            );
        } else {
            // Only when bbolt has no valid meta page left: etcd refused it.
            assert_eq!(case.expected_outcome(), "refuses", "{name}");
        }
        checked += 1;
    }
    assert_eq!(
        checked, 6,
        "v35 and v34 × leaf-flags, meta-current, meta-both"
    );
}

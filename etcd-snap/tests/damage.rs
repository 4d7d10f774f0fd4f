//! Random single-byte damage of a real etcd 3.5.1 db (seeded, a few hundred cases): every
//! reader entry point must return (Ok or Err), never panic, never hang.

mod common;

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
    noticed
}

#[test]
fn random_single_byte_damage_never_panics() {
    let src = common::clean("sample-v35-single").join("data/dev1/member/snap/db");
    let tmp = tempfile::tempdir().unwrap();
    let member = tmp.path().join("member");
    std::fs::create_dir_all(member.join("snap")).unwrap();
    let path = member.join("snap/db");
    std::fs::copy(&src, &path).unwrap();
    let clean = std::fs::read(&path).unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let pages = clean.len() as u64 / 4096;

    // Pages that start a logical page (header id == position), as opposed to overflow
    // continuation pages that hold value bytes (bolt has no checksum over those).
    let starts: Vec<u64> = (2..pages)
        .filter(|p| {
            let o = (*p * 4096) as usize;
            clean[o..o + 8] == p.to_le_bytes()
        })
        .collect();
    assert!(starts.len() > 50);

    let mut rng = Rng(0x5eed_e7cd_0000_0001);
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
        let n =
            outcome.unwrap_or_else(|_| panic!("case {case}: panic with byte {off} = {new:#04x}"));
        assert!(
            took < Duration::from_secs(10),
            "case {case}: {took:?} at {off}"
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
    assert!(
        header_noticed * 10 >= header_cases * 9,
        "header damage noticed in only {header_noticed} of {header_cases} cases"
    );
}

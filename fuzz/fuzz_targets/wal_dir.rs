//! Multi-segment directory verify. Input: one flag byte, then the bytes of up to 5
//! segments separated by `SEP`. Segment `i` is named `<seq>-<index>.wal` with `seq = i`
//! (flag bit `i` set: `seq = i + 1`, a gap) and `index` from the segment's own first
//! entry-ish bytes so listing order and name checks are exercised too.
#![no_main]

use etcd_wal::predict::{self, Context};
use etcd_wal::scan;
use libfuzzer_sys::fuzz_target;
use wal_inspect_fuzz::{Budget, check_scan, fresh_dir, put, split};

/// Separator between segments in the input.
pub const SEP: &[u8] = b"\xffSEG\xff";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let parts = split(rest, SEP);
    let dir = fresh_dir("wal_dir");
    let mut sizes = Vec::new();
    let mut seq = 0u64;
    let mut index = 0u64;
    for (i, part) in parts.iter().take(5).enumerate() {
        if flags & (1 << i) != 0 {
            seq += 1;
        }
        if i > 0 {
            // Names must grow in index as etcd's do; bit 5..7 pick how far.
            index += u64::from(flags >> 5) * 0x40 + 1;
        }
        put(&dir, &format!("{seq:016x}-{index:016x}.wal"), part);
        sizes.push(part.len() as u64);
        seq += 1;
    }
    let _budget = Budget::new(data.len());
    let scan = scan::scan_dir(&dir).expect("readable segments always scan");
    check_scan(&scan, &sizes);
    let _ = predict::predict(&scan, &Context::default());
});

//! Shared pieces of the fuzz targets: a counting global allocator that enforces the
//! allocation bound, and a per-process scratch directory for the file-based entry points.
//!
//! The allocation bound (checked, not assumed): while a target runs on an input of `n`
//! bytes, no single allocation may exceed `FLOOR + SINGLE_FACTOR * n` bytes and the bytes
//! live at once (above what was live before the run) may not exceed
//! `FLOOR + LIVE_FACTOR * n`. A request over either bound is refused (the allocator returns
//! null), so Rust's `handle_alloc_error` aborts right at the offending call site and
//! libFuzzer records the input as a crash with the stack of the allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Allowance independent of the input size (paths, listings, small fixed tables).
pub const FLOOR: usize = 1 << 20;
/// Largest single allocation: `FLOOR + SINGLE_FACTOR * input_len`.
pub const SINGLE_FACTOR: usize = 8;
/// Most bytes live at once: `FLOOR + LIVE_FACTOR * input_len` (decoded protobuf and JSON
/// trees cost several times their encoding).
pub const LIVE_FACTOR: usize = 64;

/// The counting allocator, installed as the global allocator of every target.
#[derive(Debug)]
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static BASE: AtomicUsize = AtomicUsize::new(0);
static SINGLE_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static LIVE_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

fn admit(size: usize) -> bool {
    if size > SINGLE_LIMIT.load(Relaxed) {
        report(size, "single allocation");
        return false;
    }
    let live = LIVE.load(Relaxed).saturating_add(size);
    let above = live.saturating_sub(BASE.load(Relaxed));
    if above > LIVE_LIMIT.load(Relaxed) {
        report(size, "live bytes");
        return false;
    }
    if above > PEAK.load(Relaxed) {
        PEAK.store(above, Relaxed);
    }
    if size > LARGEST.load(Relaxed) {
        LARGEST.store(size, Relaxed);
    }
    true
}

/// Print the violation and lift the bound (this request still fails, so Rust aborts at the
/// allocating call; the abort's backtrace must be able to allocate).
fn report(size: usize, what: &str) {
    // No allocation here: write straight to stderr.
    use std::io::Write;
    let mut buf = [0u8; 160];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(
        cur,
        "fuzz: allocation bound exceeded ({what}): request {size} B, single limit {} B, live limit {} B\n",
        SINGLE_LIMIT.load(Relaxed),
        LIVE_LIMIT.load(Relaxed)
    );
    let n = cur.position() as usize;
    let _ = std::io::stderr().write_all(&buf[..n]);
    unbound();
}

// SAFETY: every call forwards to `System` with the caller's layout; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's (valid, non-zero-size) layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && !admit(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr`/`layout` come from this allocator; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            LIVE.fetch_add(new_size, Relaxed);
        }
        p
    }
}

/// Enforces the bound while alive; create one at the start of every run.
#[derive(Debug)]
pub struct Budget(());

impl Budget {
    /// Bound the allocations of this run to the input length `n`.
    pub fn new(n: usize) -> Budget {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            // A panic must be reported in full: lift the bound before the hooks (ours and
            // libFuzzer's) format the message and the backtrace.
            let prev = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                unbound();
                prev(info);
            }));
        });
        BASE.store(LIVE.load(Relaxed), Relaxed);
        PEAK.store(0, Relaxed);
        LARGEST.store(0, Relaxed);
        // `FUZZ_ALLOC_FLOOR=<bytes>` overrides FLOOR (e.g. 0 to see the bound trip).
        static FLOOR_BYTES: OnceLock<usize> = OnceLock::new();
        let floor = *FLOOR_BYTES.get_or_init(|| {
            std::env::var("FUZZ_ALLOC_FLOOR")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(FLOOR)
        });
        SINGLE_LIMIT.store(
            floor.saturating_add(SINGLE_FACTOR.saturating_mul(n)),
            Relaxed,
        );
        LIVE_LIMIT.store(floor.saturating_add(LIVE_FACTOR.saturating_mul(n)), Relaxed);
        Budget(())
    }

    /// (peak bytes live above the start of the run, largest single allocation) so far.
    pub fn usage(&self) -> (usize, usize) {
        (PEAK.load(Relaxed), LARGEST.load(Relaxed))
    }
}

fn unbound() {
    SINGLE_LIMIT.store(usize::MAX, Relaxed);
    LIVE_LIMIT.store(usize::MAX, Relaxed);
}

impl Drop for Budget {
    fn drop(&mut self) {
        unbound();
        if std::env::var_os("FUZZ_ALLOC_STATS").is_some() {
            eprintln!(
                "fuzz: peak {} B, largest {} B",
                PEAK.load(Relaxed),
                LARGEST.load(Relaxed)
            );
        }
    }
}

/// A scratch directory for this process (`$TMPDIR` or `/dev/shm`, `+ pid`), created once
/// and reused by every run (the targets overwrite its files).
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        // Remove the scratch dirs of fuzz processes that are gone (libFuzzer exits without
        // running destructors, so nobody else cleans up).
        if let Ok(rd) = std::fs::read_dir(&base) {
            for e in rd.flatten() {
                let name = e.file_name();
                let Some(pid) = name
                    .to_str()
                    .and_then(|n| n.strip_prefix("wal-inspect-fuzz-"))
                else {
                    continue;
                };
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("wal-inspect-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

/// A clean scratch subdirectory `name` (emptied on every call).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch_dir().join(name);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    } else {
        std::fs::create_dir_all(&dir).expect("scratch subdir");
    }
    dir
}

/// Write `bytes` to `dir/name` and return the path.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

/// Split `data` at every occurrence of `sep` (the multi-file targets' input format).
pub fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

/// Check the WAL pass's invariants: every finding and summary points inside the files
/// (`sizes[pos]` = size of the segment at listing position `pos`).
pub fn check_scan(scan: &etcd_wal::scan::Scan, sizes: &[u64]) {
    for f in &scan.findings {
        let size = *sizes.get(f.at.segment_pos).unwrap_or_else(|| {
            panic!(
                "finding names segment position {} of {}: {f:?}",
                f.at.segment_pos,
                sizes.len()
            )
        });
        if f.kind != etcd_wal::FindingKind::MissingSegment {
            let off = f.at.offset;
            assert!(
                off < size || (off == size && size == 0),
                "finding offset {off} outside segment of {size} B: {f:?}"
            );
        }
        if let Some(r) = f.resync_offset {
            assert!(
                r < size,
                "resync offset {r} outside segment of {size} B: {f:?}"
            );
            {
                let off = f.at.offset;
                assert!(
                    r > off,
                    "resync offset {r} not after the damage at {off}: {f:?}"
                );
            }
        }
    }
    assert_eq!(scan.segments.len(), sizes.len(), "one summary per segment");
    for (s, &size) in scan.segments.iter().zip(sizes) {
        assert_eq!(s.size, size);
        assert!(
            s.valid_offset <= size,
            "valid offset {} > size {size}",
            s.valid_offset
        );
        assert!(s.data_end <= size, "data end {} > size {size}", s.data_end);
        assert!(
            s.valid_offset <= s.data_end || s.data_end == 0,
            "valid {} > data end {}",
            s.valid_offset,
            s.data_end
        );
    }
}

/// A small bolt file (page size 4096) holding `buckets` (name, entries; names sorted,
/// entries sorted and unique within a bucket) under the root bucket: metas in pages 0 and
/// 1, page 2 unused (freelist not persisted, as etcd leaves it), then one leaf page (with
/// overflow pages as needed) per bucket too large to be inline, then the root leaf.
/// Used by the targets that need a well-formed db around fuzzed contents.
pub fn small_db(buckets: &[(&[u8], Vec<etcd_snap::bolt::write::LeafItem>)]) -> Vec<u8> {
    use etcd_snap::bolt::write::{
        LeafItem, MetaFields, bucket_value, encode_leaf, encode_meta, inline_bucket_value,
        inlineable,
    };
    const PS: u32 = 4096;
    let mut pages = vec![0u8; 3 * PS as usize];
    let mut root = Vec::new();
    for (name, items) in buckets {
        let value = if inlineable(items, PS) {
            inline_bucket_value(0, items)
        } else {
            let id = (pages.len() / PS as usize) as u64;
            pages.extend_from_slice(&encode_leaf(id, items, PS));
            bucket_value(id, 0)
        };
        root.push(LeafItem {
            flags: etcd_snap::bolt::LEAF_FLAG_BUCKET,
            key: name.to_vec(),
            value,
        });
    }
    let root_id = (pages.len() / PS as usize) as u64;
    pages.extend_from_slice(&encode_leaf(root_id, &root, PS));
    let pgid = (pages.len() / PS as usize) as u64;
    for slot in 0..2u64 {
        let m = MetaFields {
            page_size: PS,
            root: root_id,
            sequence: 0,
            freelist: etcd_snap::bolt::FREELIST_NOT_PERSISTED,
            pgid,
            txid: slot + 1,
        };
        let meta = encode_meta(slot, &m);
        let at = slot as usize * PS as usize;
        if let Some(dst) = pages.get_mut(at..at + meta.len()) {
            dst.copy_from_slice(&meta);
        }
    }
    pages
}

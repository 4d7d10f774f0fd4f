//! Test-only builder of small bolt files, page by page.

use super::meta::{MAGIC, VERSION, fnv1a64};
use super::page::{ELEMENT_LEN, FLAG_BRANCH, FLAG_LEAF, FLAG_META, HEADER_LEN, LEAF_FLAG_BUCKET};

pub(crate) const PS: usize = 4096;

fn header(id: u64, flags: u16, count: u16, overflow: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_LEN);
    b.extend_from_slice(&id.to_le_bytes());
    b.extend_from_slice(&flags.to_le_bytes());
    b.extend_from_slice(&count.to_le_bytes());
    b.extend_from_slice(&overflow.to_le_bytes());
    b
}

/// A meta page (page 0 or 1).
pub(crate) fn meta_page(id: u64, root: u64, pgid: u64, txid: u64) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&MAGIC.to_le_bytes());
    m.extend_from_slice(&VERSION.to_le_bytes());
    m.extend_from_slice(&(PS as u32).to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(&root.to_le_bytes());
    m.extend_from_slice(&0u64.to_le_bytes());
    m.extend_from_slice(&u64::MAX.to_le_bytes());
    m.extend_from_slice(&pgid.to_le_bytes());
    m.extend_from_slice(&txid.to_le_bytes());
    let sum = fnv1a64(&m);
    m.extend_from_slice(&sum.to_le_bytes());
    let mut p = header(id, FLAG_META, 0, 0);
    p.extend_from_slice(&m);
    p
}

/// Leaf page bytes (not padded). `elems`: (is_bucket, key, value).
pub(crate) fn leaf(id: u64, elems: &[(bool, &[u8], &[u8])], overflow: u32) -> Vec<u8> {
    let n = elems.len();
    let mut p = header(id, FLAG_LEAF, n as u16, overflow);
    let mut data = Vec::new();
    for (i, (bucket, k, v)) in elems.iter().enumerate() {
        let elem_off = HEADER_LEN + i * ELEMENT_LEN;
        let pos = HEADER_LEN + n * ELEMENT_LEN + data.len() - elem_off;
        let flags = if *bucket { LEAF_FLAG_BUCKET } else { 0 };
        p.extend_from_slice(&flags.to_le_bytes());
        p.extend_from_slice(&(pos as u32).to_le_bytes());
        p.extend_from_slice(&(k.len() as u32).to_le_bytes());
        p.extend_from_slice(&(v.len() as u32).to_le_bytes());
        data.extend_from_slice(k);
        data.extend_from_slice(v);
    }
    p.extend_from_slice(&data);
    p
}

/// Branch page bytes. `elems`: (key, child pgid).
pub(crate) fn branch(id: u64, elems: &[(&[u8], u64)]) -> Vec<u8> {
    let n = elems.len();
    let mut p = header(id, FLAG_BRANCH, n as u16, 0);
    let mut data = Vec::new();
    for (i, (k, child)) in elems.iter().enumerate() {
        let elem_off = HEADER_LEN + i * ELEMENT_LEN;
        let pos = HEADER_LEN + n * ELEMENT_LEN + data.len() - elem_off;
        p.extend_from_slice(&(pos as u32).to_le_bytes());
        p.extend_from_slice(&(k.len() as u32).to_le_bytes());
        p.extend_from_slice(&child.to_le_bytes());
        data.extend_from_slice(k);
    }
    p.extend_from_slice(&data);
    p
}

/// Value of a bucket element pointing at a root page.
pub(crate) fn bucket_at(root: u64) -> Vec<u8> {
    let mut v = root.to_le_bytes().to_vec();
    v.extend_from_slice(&0u64.to_le_bytes());
    v
}

/// Value of an inline bucket holding `elems`.
pub(crate) fn bucket_inline(elems: &[(bool, &[u8], &[u8])]) -> Vec<u8> {
    let mut v = bucket_at(0);
    v.extend_from_slice(&leaf(0, elems, 0));
    v
}

/// Lay pages out: each `(id, bytes)` goes at `id * PS`; the file is `pages * PS` long.
pub(crate) fn file(pages: u64, contents: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut f = vec![0u8; pages as usize * PS];
    for (id, bytes) in contents {
        let off = *id as usize * PS;
        f[off..off + bytes.len()].copy_from_slice(bytes);
    }
    f
}

/// A small db: root leaf at page 2 with bucket `inl` (inline: a=1, b=2), bucket `big`
/// (root page 3 = branch → leaves 4 and 5), and bucket `ovf` (page 6, a value spanning
/// pages 6..=8). pgid 9.
pub(crate) fn sample() -> Vec<u8> {
    let inl = bucket_inline(&[(false, b"a", b"1"), (false, b"b", b"2")]);
    let big = bucket_at(3);
    let ovf = bucket_at(6);
    let root = leaf(
        2,
        &[
            (true, b"big", &big),
            (true, b"inl", &inl),
            (true, b"ovf", &ovf),
        ],
        0,
    );
    let l4 = leaf(4, &[(false, b"k1", b"v1"), (false, b"k2", b"v2")], 0);
    let l5 = leaf(5, &[(false, b"k3", b"v3"), (false, b"k4", b"v4")], 0);
    let big_value = vec![0xabu8; 10_000];
    let l6 = leaf(6, &[(false, b"huge", &big_value)], 2);
    file(
        9,
        &[
            (0, meta_page(0, 2, 9, 2)),
            (1, meta_page(1, 2, 9, 3)),
            (2, root),
            (3, branch(3, &[(b"k1", 4), (b"k3", 5)])),
            (4, l4),
            (5, l5),
            (6, l6),
        ],
    )
}

/// Write bytes to a temp file and return it (kept alive by the caller).
pub(crate) fn temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

//! Checked little- and big-endian integer reads from byte slices.
//!
//! Every read returns `None` instead of panicking when the slice is too short, so that
//! hostile lengths and offsets from disk can never index out of bounds.

/// Bytes `[off, off + len)` of `buf`, or `None` if that range is not inside `buf`.
pub(crate) fn slice(buf: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    buf.get(off..off.checked_add(len)?)
}

fn array<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
    slice(buf, off, N)?.try_into().ok()
}

/// Little-endian `u16` at `off`.
pub(crate) fn u16_le(buf: &[u8], off: usize) -> Option<u16> {
    array(buf, off).map(u16::from_le_bytes)
}

/// Little-endian `u32` at `off`.
pub(crate) fn u32_le(buf: &[u8], off: usize) -> Option<u32> {
    array(buf, off).map(u32::from_le_bytes)
}

/// Little-endian `u64` at `off`.
pub(crate) fn u64_le(buf: &[u8], off: usize) -> Option<u64> {
    array(buf, off).map(u64::from_le_bytes)
}

/// Big-endian `u64` at `off`.
pub(crate) fn u64_be(buf: &[u8], off: usize) -> Option<u64> {
    array(buf, off).map(u64::from_be_bytes)
}

/// Short hex rendering for `Debug` of byte buffers: at most 32 bytes, then the length.
pub(crate) fn debug_hex(bytes: &[u8]) -> String {
    const SHOWN: usize = 32;
    let mut s = String::with_capacity(SHOWN * 2 + 16);
    for b in bytes.iter().take(SHOWN) {
        s.push_str(&format!("{b:02x}"));
    }
    if bytes.len() > SHOWN {
        s.push_str(&format!("..({} bytes)", bytes.len()));
    }
    s
}

/// Lowercase hex of all bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_le(&b, 0), Some(0x0201));
        assert_eq!(u64_le(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_le(&b, 2), None);
        assert_eq!(u32_le(&b, usize::MAX), None);
        assert_eq!(u64_be(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(slice(&b, 8, 1), Some(&[9u8][..]));
        assert_eq!(slice(&b, 9, 1), None);
    }

    #[test]
    fn hexes() {
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}

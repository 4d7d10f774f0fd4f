//! Locating a single damaged byte from a CRC-32C syndrome.
//!
//! CRC-32C is linear over GF(2): for data `d`, an error pattern `e` of the same length and
//! any starting value `p`, `crc(p, d ^ e) ^ crc(p, d) = raw(e)`, where `raw` is the CRC
//! register fed from 0 with no final inversion. An error confined to byte `i` with XOR value
//! `v` gives `raw(e) = Z^(n-1-i)(T[v])` (`T` = the byte table, `Z` = feeding one zero byte).
//! `Z` is invertible, so walking the syndrome backwards (`Z^-1` once per position) and
//! looking the value up in `T` lists every single-byte change that makes the CRC match, in
//! O(n).

use std::collections::HashMap;

/// Reflected CRC-32C polynomial (Castagnoli).
const POLY: u32 = 0x82F6_3B78;

/// One single-byte change that makes the data match the stored CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteFix {
    /// Position in the data, 0-based.
    pub pos: usize,
    /// XOR to apply to the byte at `pos` (never 0).
    pub xor: u8,
}

fn table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (i, slot) in t.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
        }
        *slot = c;
    }
    t
}

/// Every single-byte change of `data` for which `crc32c_append(prev, data') == stored`.
/// Stops counting after `limit` candidates (a unique answer is all a repair accepts).
pub fn single_byte_fixes(prev: u32, data: &[u8], stored: u32, limit: usize) -> Vec<ByteFix> {
    let syndrome = crate::crc::append(prev, data) ^ stored;
    let mut out = Vec::new();
    if syndrome == 0 || data.is_empty() {
        return out;
    }
    let t = table();
    // T's entries have 256 distinct top bytes (the property CRC reversal relies on), so both
    // lookups below are unique.
    let by_value: HashMap<u32, u8> = t.iter().enumerate().map(|(i, &v)| (v, i as u8)).collect();
    let mut by_top = [0u8; 256];
    for (i, &v) in t.iter().enumerate() {
        if let Some(slot) = by_top.get_mut((v >> 24) as usize) {
            *slot = i as u8;
        }
    }
    let mut x = syndrome;
    for pos in (0..data.len()).rev() {
        if let Some(&v) = by_value.get(&x) {
            if v != 0 {
                out.push(ByteFix { pos, xor: v });
                if out.len() >= limit {
                    break;
                }
            }
        }
        // Z^-1: Z(s) = T[s & 0xff] ^ (s >> 8); the top byte of Z(s) names s & 0xff.
        let b = by_top.get((x >> 24) as usize).copied().unwrap_or(0);
        let tb = t.get(usize::from(b)).copied().unwrap_or(0);
        x = ((x ^ tb) << 8) | u32::from(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_single_byte_error() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        let prev = 0x1234_5678;
        let stored = crate::crc::append(prev, &data);
        assert!(single_byte_fixes(prev, &data, stored, 4).is_empty());
        for pos in [0usize, 1, 150, 298, 299] {
            for xor in [1u8, 0x80, 0xff, 0x5a] {
                let mut bad = data.clone();
                bad[pos] ^= xor;
                let fixes = single_byte_fixes(prev, &bad, stored, 4);
                assert_eq!(fixes, vec![ByteFix { pos, xor }], "pos {pos} xor {xor:#x}");
            }
        }
    }

    #[test]
    fn two_byte_damage_is_not_explained() {
        let data = vec![0x42u8; 64];
        let stored = crate::crc::append(0, &data);
        let mut bad = data.clone();
        bad[3] ^= 1;
        bad[40] ^= 2;
        let fixes = single_byte_fixes(0, &bad, stored, 4);
        for f in fixes {
            // Any spurious candidate must at least make the CRC match.
            let mut d = bad.clone();
            d[f.pos] ^= f.xor;
            assert_eq!(crate::crc::append(0, &d), stored);
        }
    }
}

//! etcd's torn-write rule (`isTornEntry` in `wal/decoder.go`, 3.4–3.6).
//!
//! After a record fails to decode or to match its CRC, etcd calls it *torn* (and so
//! `io.ErrUnexpectedEOF`, which its repair truncates) when the record lies in the last
//! segment and any 512-byte-sector-aligned chunk of the bytes after its length word is
//! all zeros. Chunks are cut at file offsets that are multiples of 512; the first and
//! last chunk may be short (even 1 byte), and they count too.

/// etcd's `minSectorSize`.
pub const SECTOR: u64 = 512;

/// Whether `body` (record and padding, starting at file offset `body_offset`) contains an
/// all-zero sector chunk.
pub fn has_zero_sector(body: &[u8], body_offset: u64) -> bool {
    let mut rest = body;
    let first = (SECTOR - body_offset % SECTOR) as usize;
    let mut chunk_len = first;
    while !rest.is_empty() {
        let take = chunk_len.min(rest.len());
        let (chunk, tail) = rest.split_at(take);
        if chunk.iter().all(|&b| b == 0) {
            return true;
        }
        rest = tail;
        chunk_len = SECTOR as usize;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_file_sectors() {
        let mut body = vec![1u8; 1024];
        assert!(!has_zero_sector(&body, 8));
        // Zero the chunk [504, 1016) of the body = file [512, 1024) when body starts at 8.
        for b in &mut body[504..1016] {
            *b = 0;
        }
        assert!(has_zero_sector(&body, 8));
        // Shifted by 8 the same zeros no longer cover a whole sector.
        assert!(!has_zero_sector(&body, 16));
    }

    #[test]
    fn tiny_last_chunk_counts() {
        // A record ending 3 bytes into a new sector whose bytes are zero padding.
        let mut body = vec![1u8; 504];
        body.extend_from_slice(&[0, 0, 0]);
        assert!(has_zero_sector(&body, 8));
    }

    #[test]
    fn empty_body_is_not_torn() {
        assert!(!has_zero_sector(&[], 8));
    }
}

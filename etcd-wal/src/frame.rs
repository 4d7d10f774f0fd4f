//! The 8-byte length word in front of every WAL record.
//!
//! ```text
//! offset 0   u64 little-endian length word
//!            bits 0..56  recBytes: length of the serialized walpb.Record
//!            bit  63     set when the frame is padded
//!            bits 56..59 padBytes (only meaningful when bit 63 is set)
//! offset 8   recBytes bytes of walpb.Record
//! offset 8+r padBytes zero bytes (never checked by etcd)
//! ```
//! Every frame is a multiple of 8 bytes, so length words never straddle a 512-byte sector.
//! Mirrors etcd `wal/encoder.go` `encodeFrameSize` and `wal/decoder.go` `decodeFrameSize`
//! (identical in 3.4, 3.5 and 3.6).

/// Size of the length word in bytes.
pub const LEN_WORD_BYTES: u64 = 8;

/// etcd 3.4.10+ / 3.5.0–3.5.4 refuse records whose `recBytes >= 10 MiB - padBytes`
/// (`maxWALEntrySizeLimit` in `wal/decoder.go`).
pub const MAX_ENTRY_SIZE: u64 = 10 * 1024 * 1024;

const LEN_MASK: u64 = 0x00FF_FFFF_FFFF_FFFF;

/// A decoded length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Length of the serialized record, in bytes (low 56 bits of the word).
    pub rec_len: u64,
    /// Padding after the record, 0..=7 bytes.
    pub pad: u64,
}

impl Frame {
    /// Split a raw length word as etcd does: padding counts only when bit 63 is set;
    /// bits 59–62 are ignored.
    pub fn decode(word: u64) -> Frame {
        let rec_len = word & LEN_MASK;
        let pad = if word >> 63 == 1 {
            (word >> 56) & 0x7
        } else {
            0
        };
        Frame { rec_len, pad }
    }

    /// The frame etcd writes for a record of `rec_len` bytes.
    pub fn for_record(rec_len: u64) -> Frame {
        Frame {
            rec_len,
            pad: (8 - rec_len % 8) % 8,
        }
    }

    /// The length word etcd writes for this frame.
    pub fn encode(self) -> u64 {
        let mut word = self.rec_len & LEN_MASK;
        if self.pad != 0 {
            word |= (0x80 | self.pad) << 56;
        }
        word
    }

    /// Bytes after the length word: record plus padding (saturating; a hostile word can
    /// ask for more than any file holds).
    pub fn body_len(self) -> u64 {
        self.rec_len.saturating_add(self.pad)
    }

    /// Whole frame: length word, record and padding.
    pub fn total_len(self) -> u64 {
        self.body_len().saturating_add(LEN_WORD_BYTES)
    }

    /// Whether etcd 3.4.10+ / 3.5.0–3.5.4 reject this frame with
    /// "wal: max entry size limit exceeded".
    pub fn exceeds_entry_limit(self) -> bool {
        self.rec_len >= MAX_ENTRY_SIZE.saturating_sub(self.pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_padding() {
        for rec_len in 0..64u64 {
            let f = Frame::for_record(rec_len);
            assert_eq!(f.total_len() % 8, 0);
            assert_eq!(Frame::decode(f.encode()), f);
        }
    }

    #[test]
    fn padding_needs_bit_63() {
        // Top byte 0x07 without bit 63: pad 0, the 3 bits are ignored.
        let f = Frame::decode(0x0700_0000_0000_0010);
        assert_eq!(
            f,
            Frame {
                rec_len: 0x10,
                pad: 0
            }
        );
        let f = Frame::decode(0x8400_0000_0000_0004);
        assert_eq!(f, Frame { rec_len: 4, pad: 4 });
    }

    #[test]
    fn entry_limit() {
        assert!(
            Frame {
                rec_len: MAX_ENTRY_SIZE,
                pad: 0
            }
            .exceeds_entry_limit()
        );
        assert!(
            !Frame {
                rec_len: MAX_ENTRY_SIZE - 1,
                pad: 0
            }
            .exceeds_entry_limit()
        );
        assert!(
            Frame {
                rec_len: MAX_ENTRY_SIZE - 1,
                pad: 1
            }
            .exceeds_entry_limit()
        );
        assert!(Frame::decode(u64::MAX).exceeds_entry_limit());
        assert!(Frame::decode(u64::MAX).total_len() > MAX_ENTRY_SIZE);
    }
}

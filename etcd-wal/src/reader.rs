//! Positioned, buffered reads of one segment file.
//!
//! No memory map: a live etcd truncates its tail segment (on cut and on repair), and a
//! mapped page that disappears raises SIGBUS. Reads go through one reused buffer, so
//! memory stays bounded whatever the segment size, and each byte is read from the file
//! once when the caller walks forward.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// How much is read at a time (fits in L2 with room to spare, so the CRC pass reads it
/// from cache right after the copy).
pub const CHUNK: usize = 1 << 20;

/// A segment file opened read-only (no lock is taken).
#[derive(Debug)]
pub struct SegmentReader {
    file: File,
    path: PathBuf,
    size: u64,
    /// Reused allocation; only `buf[..valid]` holds file bytes.
    buf: Vec<u8>,
    valid: usize,
    /// File offset of `buf[0]`.
    buf_off: u64,
}

impl SegmentReader {
    /// Open `path` read-only. The size is captured now, as etcd captures it on open.
    pub fn open(path: &Path) -> Result<SegmentReader, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        Ok(SegmentReader {
            file,
            path: path.to_path_buf(),
            size,
            buf: Vec::new(),
            valid: 0,
            buf_off: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File size when opened, in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes from `off` to the end of the file.
    pub fn remaining(&self, off: u64) -> u64 {
        self.size.saturating_sub(off)
    }

    /// The bytes `[off, off + len)`. The caller checks that they lie inside the file;
    /// a file that shrank since it was opened gives an `UnexpectedEof` I/O error.
    pub fn bytes(&mut self, off: u64, len: usize) -> Result<&[u8], Error> {
        let end = off
            .checked_add(len as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                self.io_error(
                    std::io::ErrorKind::UnexpectedEof,
                    off,
                    "read past the end of the file",
                )
            })?;
        let buf_end = self.buf_off + self.valid as u64;
        if off < self.buf_off || end > buf_end {
            self.refill(off, len)?;
        }
        let start = (off - self.buf_off) as usize;
        self.buf
            .get(start..start + len)
            .filter(|_| start + len <= self.valid)
            .ok_or_else(|| self.io_error(std::io::ErrorKind::UnexpectedEof, off, "short read"))
    }

    fn refill(&mut self, off: u64, len: usize) -> Result<(), Error> {
        let buf_end = self.buf_off + self.valid as u64;
        // Keep the part of the window already read (walking forward reads each byte once).
        let keep_from = if off >= self.buf_off && off < buf_end {
            (off - self.buf_off) as usize
        } else {
            self.valid
        };
        let kept = self.valid - keep_from;
        self.buf.copy_within(keep_from..self.valid, 0);
        self.valid = kept;
        self.buf_off = off;
        // `len` was checked against the file size by the caller; the buffer only grows to
        // the largest frame actually present.
        let want = (len.max(CHUNK) as u64).min(self.size - off) as usize;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut filled = kept;
        while filled < want {
            let Some(dst) = self.buf.get_mut(filled..want) else {
                return Err(self.io_error(
                    std::io::ErrorKind::InvalidInput,
                    off + filled as u64,
                    "read window out of range",
                ));
            };
            match self.file.read_at(dst, off + filled as u64) {
                Ok(0) => {
                    self.valid = filled;
                    return Err(self.io_error(
                        std::io::ErrorKind::UnexpectedEof,
                        off + filled as u64,
                        "file shrank while being read (is etcd running?)",
                    ));
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    self.valid = filled;
                    return Err(Error::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        self.valid = want;
        Ok(())
    }

    fn io_error(&self, kind: std::io::ErrorKind, off: u64, what: &str) -> Error {
        Error::Io {
            path: self.path.clone(),
            source: std::io::Error::new(kind, format!("{what} at offset {off}")),
        }
    }

    /// The little-endian u64 at `off` (caller checks 8 bytes remain).
    pub fn u64_le(&mut self, off: u64) -> Result<u64, Error> {
        let b = self.bytes(off, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Offset of the first non-zero byte in `[from, size)`, if any.
    pub fn first_nonzero(&mut self, from: u64) -> Result<Option<u64>, Error> {
        let mut off = from;
        while off < self.size {
            let len = (self.size - off).min(CHUNK as u64) as usize;
            let chunk = self.bytes(off, len)?;
            if let Some(i) = first_nonzero_in(chunk) {
                return Ok(Some(off + i as u64));
            }
            off += len as u64;
        }
        Ok(None)
    }
}

/// Position of the first non-zero byte. Whole 4 KiB blocks are OR-folded first (the
/// compiler vectorises that; a byte-wise search does not), since preallocated tails are
/// tens of megabytes of zeros.
fn first_nonzero_in(buf: &[u8]) -> Option<usize> {
    const BLOCK: usize = 4096;
    let mut base = 0usize;
    for block in buf.chunks(BLOCK) {
        if block.iter().fold(0u8, |acc, &b| acc | b) != 0 {
            return block.iter().position(|&b| b != 0).map(|i| base + i);
        }
        base += block.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, SegmentReader, first_nonzero_in};

    fn file_of(len: usize, seed: u64) -> (tempfile::NamedTempFile, Vec<u8>) {
        let mut x = seed;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        (f, bytes)
    }

    /// Forward reads of every size (inside a chunk, across one or several chunk
    /// boundaries, skipping ahead) and reads behind the window all give the file's bytes.
    #[test]
    fn reads_give_the_file_bytes_wherever_they_fall() {
        for (len, seed) in [(5 * CHUNK + 12_345, 1u64), (CHUNK + 7, 2), (3 * CHUNK, 3)] {
            let (f, want) = file_of(len, seed);
            let mut r = SegmentReader::open(f.path()).unwrap();
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut rnd = |m: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % m
            };
            let mut off = 0u64;
            while off < len as u64 {
                let n = match rnd(10) {
                    0 => rnd(3 * CHUNK as u64) as usize,
                    1 => 8,
                    _ => rnd(200_000) as usize + 1,
                };
                let n = n.min(len - off as usize);
                let got = r.bytes(off, n).unwrap().to_vec();
                assert_eq!(
                    got,
                    want[off as usize..off as usize + n],
                    "at {off} len {n}"
                );
                if rnd(20) == 0 && off > 100_000 {
                    // A look behind (resync): a direct read.
                    let back = off - rnd(100_000) - 1;
                    let got = r.bytes(back, 1000).unwrap().to_vec();
                    assert_eq!(got, want[back as usize..back as usize + 1000]);
                }
                off += n as u64 + rnd(3) * rnd(50_000);
            }
            assert_eq!(
                r.first_nonzero(0).unwrap(),
                want.iter().position(|b| *b != 0).map(|p| p as u64)
            );
            assert!(r.bytes(len as u64 - 4, 8).is_err(), "past the end");
        }
    }

    /// A file that shrinks after it was opened (etcd truncating its tail segment) gives
    /// an error naming the offset, never a panic or short data.
    #[test]
    fn a_file_that_shrinks_is_an_error() {
        let (f, _) = file_of(6 * CHUNK, 4);
        let mut r = SegmentReader::open(f.path()).unwrap();
        r.bytes(0, 100).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(f.path())
            .unwrap()
            .set_len(2 * CHUNK as u64 + 10)
            .unwrap();
        let mut off = 100u64;
        let err = loop {
            match r.bytes(off, 100_000) {
                Ok(_) => off += 100_000,
                Err(e) => break e,
            }
            assert!(off < 6 * CHUNK as u64, "read past the truncation");
        };
        assert!(err.to_string().contains("offset"), "{err}");
    }

    #[test]
    fn finds_the_first_nonzero_byte() {
        let mut v = vec![0u8; 10_000];
        assert_eq!(first_nonzero_in(&v), None);
        v[9_999] = 1;
        assert_eq!(first_nonzero_in(&v), Some(9_999));
        v[4_096] = 7;
        assert_eq!(first_nonzero_in(&v), Some(4_096));
        v[0] = 1;
        assert_eq!(first_nonzero_in(&v), Some(0));
    }
}

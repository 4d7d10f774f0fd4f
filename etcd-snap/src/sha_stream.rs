//! SHA-256 of a file's first bytes, read in the calling thread and hashed in a second one.
//!
//! SHA-256 of one stream cannot be split, so the hash is the floor of every pass that
//! checks or makes a `snapshot save` trailer. Reading (a copy out of the page cache)
//! and whatever else is done with the bytes (the restore writes them to the new db) run
//! in the calling thread, beside the hash, over a few reused buffers: memory stays at
//! most [`BUFFERS`] × [`CHUNK`] for any file size (less for a small one) and each byte is
//! read once.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

/// Size of one buffer, in bytes.
pub const CHUNK: usize = 2 << 20;

/// Buffers in flight between the reading and the hashing thread.
pub const BUFFERS: usize = 4;

/// Alignment of every buffer's start (what `O_DIRECT` asks of a buffer).
pub const ALIGN: usize = 4096;

/// Why [`sha256_of_prefix`] stopped.
#[derive(Debug)]
pub enum StreamError {
    /// Reading the file failed at `offset` (`UnexpectedEof`: it is shorter than asked).
    Read {
        /// Offset of the chunk being read.
        offset: u64,
        /// The error.
        source: io::Error,
    },
    /// The caller's `each` failed.
    Each(io::Error),
    /// The hashing thread panicked.
    HashThread,
}

/// A heap buffer of up to [`CHUNK`] bytes starting on an [`ALIGN`] boundary (moving it between
/// threads moves the allocation, not the bytes).
struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
}

impl AlignedBuf {
    fn new(size: usize) -> AlignedBuf {
        let raw = vec![0u8; size + ALIGN];
        let start = raw.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf { raw, start }
    }

    fn get(&self, len: usize) -> &[u8] {
        self.raw
            .get(self.start..self.start + len)
            .unwrap_or_default()
    }

    fn get_mut(&mut self, len: usize) -> &mut [u8] {
        self.raw
            .get_mut(self.start..self.start + len)
            .unwrap_or_default()
    }
}

/// SHA-256 of the first `len` bytes of `file`. Each chunk, once read, is handed to
/// `each(bytes, offset)` in order (in the calling thread, while earlier chunks are being
/// hashed); chunks start [`ALIGN`]-aligned in memory and at multiples of [`ALIGN`] in
/// the file. Buffers are at most [`BUFFERS`] × [`CHUNK`] bytes, fewer and smaller for a
/// small `len`.
pub fn sha256_of_prefix(
    file: &File,
    len: u64,
    mut each: impl FnMut(&[u8], u64) -> io::Result<()>,
) -> Result<[u8; 32], StreamError> {
    // A small file gets small buffers: memory stays proportional to what is read.
    let chunk = usize::try_from(len)
        .unwrap_or(CHUNK)
        .clamp(1, CHUNK)
        .next_multiple_of(ALIGN);
    let buffers = usize::try_from(len.div_ceil(chunk as u64))
        .unwrap_or(BUFFERS)
        .clamp(1, BUFFERS);
    std::thread::scope(|s| {
        let (full_tx, full_rx) = mpsc::sync_channel::<(AlignedBuf, usize)>(buffers);
        let (empty_tx, empty_rx) = mpsc::channel::<AlignedBuf>();
        for _ in 0..buffers {
            let _ = empty_tx.send(AlignedBuf::new(chunk));
        }
        let hasher = s.spawn(move || {
            let mut h = Sha256::new();
            for (buf, n) in full_rx {
                h.update(buf.get(n));
                // The reading thread may have stopped on an error: nobody to give it to.
                let _ = empty_tx.send(buf);
            }
            <[u8; 32]>::from(h.finalize())
        });
        let fed = (|| {
            let mut off = 0u64;
            while off < len {
                let mut buf = empty_rx.recv().map_err(|_| StreamError::HashThread)?;
                let n = usize::try_from(len - off).unwrap_or(chunk).min(chunk);
                file.read_exact_at(buf.get_mut(n), off)
                    .map_err(|source| StreamError::Read {
                        offset: off,
                        source,
                    })?;
                each(buf.get(n), off).map_err(StreamError::Each)?;
                off += n as u64;
                full_tx
                    .send((buf, n))
                    .map_err(|_| StreamError::HashThread)?;
            }
            Ok(())
        })();
        drop(full_tx);
        let digest = hasher.join().map_err(|_| StreamError::HashThread);
        fed?;
        digest
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_chunks_match_the_file_at_every_edge() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let total = BUFFERS * CHUNK * 2 + 4099;
        let bytes: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        for len in [0, 1, ALIGN, CHUNK - 1, CHUNK, CHUNK + 1, total - 1, total] {
            let mut seen = Vec::new();
            let got = sha256_of_prefix(&file, len as u64, |b, off| {
                assert_eq!(off as usize, seen.len());
                assert_eq!(b.as_ptr() as usize % ALIGN, 0);
                seen.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(
                got,
                <[u8; 32]>::from(Sha256::digest(&bytes[..len])),
                "{len}"
            );
            assert_eq!(seen, &bytes[..len]);
        }
    }

    #[test]
    fn a_small_file_gets_small_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let file = File::open(&path).unwrap();
        let mut chunks = 0;
        let got = sha256_of_prefix(&file, 3, |b, _| {
            chunks += 1;
            assert_eq!(b, b"abc");
            Ok(())
        })
        .unwrap();
        assert_eq!(got, <[u8; 32]>::from(Sha256::digest(b"abc")));
        assert_eq!(chunks, 1);
    }

    #[test]
    fn a_short_file_and_a_failing_sink_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![1u8; CHUNK + 10]).unwrap();
        let file = File::open(&path).unwrap();
        match sha256_of_prefix(&file, 2 * CHUNK as u64, |_, _| Ok(())) {
            Err(StreamError::Read { offset, source }) => {
                assert_eq!(offset, CHUNK as u64);
                assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof);
            }
            other => panic!("{other:?}"),
        }
        let r = sha256_of_prefix(&file, CHUNK as u64 + 10, |_, off| {
            if off > 0 {
                Err(io::Error::other("disk full"))
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(StreamError::Each(e)) if e.to_string() == "disk full"));
    }
}

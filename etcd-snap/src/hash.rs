//! The SHA-256 trailer of `snapshot save` files.
//!
//! A saved snapshot is the db bytes followed by their 32-byte SHA-256. etcd decides
//! whether a file has the trailer **only by its size**: `size % 512 == 32`
//! (etcdutl 3.5 `snapshot/v3_snapshot.go`, also the restore path).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::bytes::hex;
use crate::error::{Error, Result};
use crate::sha_stream::{StreamError, sha256_of_prefix};

/// Trailer length in bytes.
pub const TRAILER_LEN: u64 = 32;

/// Whether a file of this size carries a SHA-256 trailer, by etcd's rule.
pub fn has_trailer(size: u64) -> bool {
    size % 512 == TRAILER_LEN
}

/// What the trailer check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TrailerState {
    /// The trailer equals the SHA-256 of the bytes before it.
    Valid,
    /// The trailer differs (restore would fail "expected sha256 …, got …").
    Invalid,
    /// No trailer by size (a plain db file; restore needs `--skip-hash-check`).
    Absent,
}

impl TrailerState {
    /// `valid`, `invalid` or `absent`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TrailerState::Valid => "valid",
            TrailerState::Invalid => "invalid",
            TrailerState::Absent => "absent",
        }
    }
}

/// The trailer check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Trailer {
    /// Valid, invalid or absent.
    pub state: TrailerState,
    /// File size in bytes.
    pub file_size: u64,
    /// Length of the db part in bytes (file size minus the trailer, if any).
    pub db_len: u64,
    /// The stored hash, lowercase hex.
    pub stored: Option<String>,
    /// SHA-256 of the db part, lowercase hex.
    pub computed: Option<String>,
}

/// Check a file's SHA-256 trailer, reading and hashing on two threads ([`sha256_of_prefix`]).
pub fn check_trailer(path: impl AsRef<Path>) -> Result<Trailer> {
    let path = path.as_ref();
    let io = |e| Error::io(path, e);
    let file = File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    if !has_trailer(file_size) {
        return Ok(Trailer {
            state: TrailerState::Absent,
            file_size,
            db_len: file_size,
            stored: None,
            computed: None,
        });
    }
    let db_len = file_size - TRAILER_LEN;
    let computed = sha256_of_prefix(&file, db_len, |_, _| Ok(())).map_err(|e| match e {
        StreamError::Read { source, .. } | StreamError::Each(source) => io(source),
        StreamError::HashThread => io(std::io::Error::other("the hashing thread panicked")),
    })?;
    let mut stored = [0u8; TRAILER_LEN as usize];
    file.read_exact_at(&mut stored, db_len).map_err(io)?;
    let state = if computed.as_slice() == stored {
        TrailerState::Valid
    } else {
        TrailerState::Invalid
    };
    Ok(Trailer {
        state,
        file_size,
        db_len,
        stored: Some(hex(&stored)),
        computed: Some(hex(&computed)),
    })
}

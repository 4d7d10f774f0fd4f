//! The crate's error type.
//!
//! An `Err` means the job could not be done (unreadable file, a structure so damaged that
//! the requested data cannot be reached). Damage that can be described and stepped over
//! is reported as a [`Finding`](crate::bolt::Finding) inside an `Ok` report instead.

use std::path::PathBuf;

use crate::bolt::{Finding, MetaProblem};

/// Everything that can go wrong in this crate. Every variant says which file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or listing a file failed.
    #[error("reading {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The db file is empty (bbolt would initialise it; we never write).
    #[error("{}: empty file, not a bolt database", path.display())]
    EmptyFile {
        /// The db file.
        path: PathBuf,
    },
    /// No meta page could be read at all (bbolt: "invalid database").
    #[error("{}: invalid database (no readable meta page)", path.display())]
    InvalidDatabase {
        /// The db file.
        path: PathBuf,
    },
    /// The file is shorter than two pages (bbolt: "file size too small").
    #[error("{}: file size too small {size} (page size {page_size})", path.display())]
    FileTooSmall {
        /// The db file.
        path: PathBuf,
        /// File size in bytes.
        size: u64,
        /// Page size in bytes.
        page_size: u32,
    },
    /// Neither meta page validates; bbolt refuses to open the file.
    #[error("{}: both meta pages invalid (meta 0: {meta0}; meta 1: {meta1})", path.display())]
    BothMetasInvalid {
        /// The db file.
        path: PathBuf,
        /// Why meta page 0 is invalid.
        meta0: MetaProblem,
        /// Why meta page 1 is invalid.
        meta1: MetaProblem,
    },
    /// A damaged structure was met while reading the db.
    #[error("{}: {finding}", path.display())]
    Corrupt {
        /// The db file.
        path: PathBuf,
        /// What and where (page id, file offset).
        finding: Finding,
    },
    /// A key in etcd's `key` bucket is not a revision (17 or 18 bytes, `_` separator).
    #[error("{}: page {page} (offset {offset}): invalid revision key {key_hex}: {reason}", path.display())]
    InvalidRevisionKey {
        /// The db file.
        path: PathBuf,
        /// Page holding the key (for an inline bucket: the page holding the bucket).
        page: u64,
        /// File offset of that page.
        offset: u64,
        /// The key, hex (at most 64 bytes shown).
        key_hex: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A value in an etcd bucket does not decode as the protobuf message it must hold.
    #[error("{}: page {page} (offset {offset}): bucket {bucket}: value is not a {message}", path.display())]
    DecodeValue {
        /// The db file.
        path: PathBuf,
        /// Bucket name.
        bucket: String,
        /// Protobuf message name.
        message: &'static str,
        /// Page holding the entry.
        page: u64,
        /// File offset of that page.
        offset: u64,
        /// prost's reason.
        #[source]
        source: prost::DecodeError,
    },
    /// A `.snap` file (or its payload) is empty, or its crc field is 0 ("snap: empty snapshot").
    #[error("{}: snap: empty snapshot", path.display())]
    SnapEmpty {
        /// The `.snap` file.
        path: PathBuf,
    },
    /// A `.snap` file is not a `snappb.Snapshot` protobuf.
    #[error("{}: snappb decode: {source}", path.display())]
    SnapDecode {
        /// The `.snap` file.
        path: PathBuf,
        /// prost's reason.
        #[source]
        source: prost::DecodeError,
    },
    /// CRC-32C of a `.snap` payload differs from the stored one ("snap: crc mismatch").
    #[error("{}: snap: crc mismatch (stored {stored:#010x}, computed {computed:#010x})", path.display())]
    SnapCrcMismatch {
        /// The `.snap` file.
        path: PathBuf,
        /// The crc field of the file.
        stored: u32,
        /// CRC-32C of the data field.
        computed: u32,
    },
    /// A `.snap` payload is not a `raftpb.Snapshot`.
    #[error("{}: raftpb.Snapshot decode: {source}", path.display())]
    SnapRaftDecode {
        /// The `.snap` file.
        path: PathBuf,
        /// prost's reason.
        #[source]
        source: prost::DecodeError,
    },
    /// A file the operation needs is not there (e.g. no `snap/db` in a member dir).
    #[error("{}: not found ({what})", path.display())]
    NotFound {
        /// Where we looked.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
}

/// What kind of error, without its details: for callers that branch on it (and for
/// reports that must be `Clone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::EmptyFile`].
    EmptyFile,
    /// [`Error::InvalidDatabase`].
    InvalidDatabase,
    /// [`Error::FileTooSmall`].
    FileTooSmall,
    /// [`Error::BothMetasInvalid`].
    BothMetasInvalid,
    /// [`Error::Corrupt`].
    Corrupt,
    /// [`Error::InvalidRevisionKey`].
    InvalidRevisionKey,
    /// [`Error::DecodeValue`].
    DecodeValue,
    /// [`Error::SnapEmpty`].
    SnapEmpty,
    /// [`Error::SnapDecode`].
    SnapDecode,
    /// [`Error::SnapCrcMismatch`].
    SnapCrcMismatch,
    /// [`Error::SnapRaftDecode`].
    SnapRaftDecode,
    /// [`Error::NotFound`].
    NotFound,
}

impl Error {
    /// What kind of error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::EmptyFile { .. } => ErrorKind::EmptyFile,
            Error::InvalidDatabase { .. } => ErrorKind::InvalidDatabase,
            Error::FileTooSmall { .. } => ErrorKind::FileTooSmall,
            Error::BothMetasInvalid { .. } => ErrorKind::BothMetasInvalid,
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::InvalidRevisionKey { .. } => ErrorKind::InvalidRevisionKey,
            Error::DecodeValue { .. } => ErrorKind::DecodeValue,
            Error::SnapEmpty { .. } => ErrorKind::SnapEmpty,
            Error::SnapDecode { .. } => ErrorKind::SnapDecode,
            Error::SnapCrcMismatch { .. } => ErrorKind::SnapCrcMismatch,
            Error::SnapRaftDecode { .. } => ErrorKind::SnapRaftDecode,
            Error::NotFound { .. } => ErrorKind::NotFound,
        }
    }

    /// The finding behind a [`Error::Corrupt`], if that is what this is.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            Error::Corrupt { finding, .. } => Some(finding),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// An error reduced to its kind and message, for reports that must be `Clone` and
/// serializable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ErrorInfo {
    /// [`Error::kind`].
    pub kind: ErrorKind,
    /// The full message.
    pub message: String,
    /// The finding, for [`Error::Corrupt`].
    pub finding: Option<Finding>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo {
            kind: e.kind(),
            message: e.to_string(),
            finding: e.finding().cloned(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

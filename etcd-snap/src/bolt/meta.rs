//! bbolt meta pages: parsing, validation (magic, version, FNV-1a checksum) and page-size
//! discovery, as bbolt's `db.go` does it.
//!
//! ```text
//! page 0 / page 1 (at 0 and at page_size):
//! | page header 16 B | magic u32 | version u32 | pageSize u32 | flags u32 |
//! | root pgid u64 | root sequence u64 | freelist pgid u64 | pgid u64 | txid u64 | checksum u64 |
//! all little-endian; checksum = FNV-1a 64 over meta bytes [0, 56)
//! ```

use std::fmt;

use crate::bytes::{u32_le, u64_le};

/// bbolt's magic number.
pub const MAGIC: u32 = 0xED0C_DAED;
/// The only bolt format version.
pub const VERSION: u32 = 2;
/// Freelist page id meaning "freelist not persisted" (etcd's `NoFreelistSync`).
pub const FREELIST_NOT_PERSISTED: u64 = u64::MAX;

/// Offset of the meta struct inside its page (after the page header).
pub(crate) const META_OFFSET: usize = 16;
const MAGIC_OFF: usize = META_OFFSET;
const VERSION_OFF: usize = MAGIC_OFF + 4;
const PAGE_SIZE_OFF: usize = VERSION_OFF + 4;
const FLAGS_OFF: usize = PAGE_SIZE_OFF + 4;
const ROOT_OFF: usize = FLAGS_OFF + 4;
const SEQUENCE_OFF: usize = ROOT_OFF + 8;
const FREELIST_OFF: usize = SEQUENCE_OFF + 8;
const PGID_OFF: usize = FREELIST_OFF + 8;
const TXID_OFF: usize = PGID_OFF + 8;
const CHECKSUM_OFF: usize = TXID_OFF + 8;
/// Bytes of a meta page that must be present: header plus the 64-byte meta struct.
pub(crate) const META_PAGE_MIN: usize = CHECKSUM_OFF + 8;

/// Smallest and largest page size this reader accepts in a valid meta.
const MIN_PAGE_SIZE: u32 = 512;
const MAX_PAGE_SIZE: u32 = 1 << 24;

/// The fallback page size when no meta validates but one could be read (bbolt uses the
/// OS page size; 4096 on every etcd platform we know of except some arm64 hosts).
pub(crate) const FALLBACK_PAGE_SIZE: u32 = 4096;

/// The fields of one meta page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Meta {
    /// Magic number (valid: [`MAGIC`]).
    pub magic: u32,
    /// Format version (valid: [`VERSION`]).
    pub version: u32,
    /// Page size in bytes.
    pub page_size: u32,
    /// Unused flags.
    pub flags: u32,
    /// Root bucket's root page id.
    pub root: u64,
    /// Root bucket's sequence.
    pub sequence: u64,
    /// Freelist page id, or [`FREELIST_NOT_PERSISTED`].
    pub freelist: u64,
    /// High-water mark: number of pages in use; valid page ids are `< pgid`.
    pub pgid: u64,
    /// Transaction id of the commit that wrote this meta.
    pub txid: u64,
    /// Stored FNV-1a 64 checksum.
    pub checksum: u64,
    /// FNV-1a 64 of meta bytes `[0, 56)` as read.
    pub computed_checksum: u64,
}

/// Why a meta page is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum MetaProblem {
    /// The file ends before the meta struct.
    Unreadable,
    /// bbolt: "invalid database".
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// bbolt: "version mismatch".
    BadVersion {
        /// The version found.
        found: u32,
    },
    /// bbolt: "checksum error".
    BadChecksum {
        /// Stored checksum.
        stored: u64,
        /// Checksum computed over the meta bytes.
        computed: u64,
    },
    /// Magic, version and checksum are fine but the page size is not a power of two in
    /// [512, 16 MiB] (a check bbolt does not make; such a file is unusable anyway).
    BadPageSize {
        /// The page size found.
        found: u32,
    },
    /// The meta was written with a different page size than the file's.
    PageSizeDiffers {
        /// Page size in this meta.
        found: u32,
        /// The page size in use.
        expected: u32,
    },
}

impl fmt::Display for MetaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaProblem::Unreadable => write!(f, "meta page cannot be read (file too short)"),
            MetaProblem::BadMagic { found } => write!(f, "invalid database (magic {found:#010x})"),
            MetaProblem::BadVersion { found } => write!(f, "version mismatch (version {found})"),
            MetaProblem::BadChecksum { stored, computed } => {
                write!(
                    f,
                    "checksum error (stored {stored:#018x}, computed {computed:#018x})"
                )
            }
            MetaProblem::BadPageSize { found } => write!(f, "unusable page size {found}"),
            MetaProblem::PageSizeDiffers { found, expected } => {
                write!(f, "page size {found} differs from the file's {expected}")
            }
        }
    }
}

/// FNV-1a 64 (the hash bbolt uses for meta checksums).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Meta {
    /// Parse the meta struct from the first bytes of a meta page (header included).
    /// `None` if fewer than 80 bytes are given.
    pub fn parse(page: &[u8]) -> Option<Meta> {
        let summed = page.get(META_OFFSET..CHECKSUM_OFF)?;
        Some(Meta {
            magic: u32_le(page, MAGIC_OFF)?,
            version: u32_le(page, VERSION_OFF)?,
            page_size: u32_le(page, PAGE_SIZE_OFF)?,
            flags: u32_le(page, FLAGS_OFF)?,
            root: u64_le(page, ROOT_OFF)?,
            sequence: u64_le(page, SEQUENCE_OFF)?,
            freelist: u64_le(page, FREELIST_OFF)?,
            pgid: u64_le(page, PGID_OFF)?,
            txid: u64_le(page, TXID_OFF)?,
            checksum: u64_le(page, CHECKSUM_OFF)?,
            computed_checksum: fnv1a64(summed),
        })
    }

    /// bbolt's `meta.validate()` (magic, then version, then checksum), plus a sanity
    /// check of the page size so that a crafted meta cannot make us divide by zero.
    pub fn validate(&self) -> Result<(), MetaProblem> {
        if self.magic != MAGIC {
            return Err(MetaProblem::BadMagic { found: self.magic });
        }
        if self.version != VERSION {
            return Err(MetaProblem::BadVersion {
                found: self.version,
            });
        }
        if self.checksum != self.computed_checksum {
            return Err(MetaProblem::BadChecksum {
                stored: self.checksum,
                computed: self.computed_checksum,
            });
        }
        if !self.page_size.is_power_of_two()
            || !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&self.page_size)
        {
            return Err(MetaProblem::BadPageSize {
                found: self.page_size,
            });
        }
        Ok(())
    }

    /// Whether the freelist is persisted in a page.
    pub fn freelist_persisted(&self) -> bool {
        self.freelist != FREELIST_NOT_PERSISTED
    }
}

/// Parse and validate; the error says why the page is not a valid meta.
pub(crate) fn parse_valid(page: &[u8]) -> Result<Meta, MetaProblem> {
    let meta = Meta::parse(page).ok_or(MetaProblem::Unreadable)?;
    meta.validate()?;
    Ok(meta)
}

/// How the page size was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PageSizeSource {
    /// From meta page 0 (the normal case).
    FirstMeta,
    /// Meta 0 is invalid; a valid meta was found by probing `1024 << i`.
    SecondMeta {
        /// File offset of the meta that gave the page size.
        offset: u64,
    },
    /// No meta validated; bbolt falls back to the OS page size.
    Fallback,
}

/// bbolt's page-size discovery (`getPageSize`): `read(offset, len)` returns up to `len`
/// bytes from the file (fewer at the end). `Ok(None)` = nothing could be read
/// ("invalid database").
pub(crate) fn discover_page_size(
    file_size: u64,
    mut read: impl FnMut(u64, usize) -> std::io::Result<Vec<u8>>,
) -> std::io::Result<Option<(u32, PageSizeSource)>> {
    const PROBE: usize = 0x1000;
    let first = read(0, PROBE)?;
    // bbolt requires a full 4 KiB read for meta 0.
    if first.len() == PROBE {
        if let Ok(m) = parse_valid(&first) {
            return Ok(Some((m.page_size, PageSizeSource::FirstMeta)));
        }
    }
    let mut can_read = first.len() == PROBE;
    for i in 0..=14u32 {
        let pos: u64 = 1024u64 << i;
        if pos >= file_size.saturating_sub(1024) {
            break;
        }
        let buf = read(pos, PROBE)?;
        let full = buf.len() == PROBE || Some(buf.len() as u64) == file_size.checked_sub(pos);
        if full {
            can_read = true;
            if let Ok(m) = parse_valid(&buf) {
                return Ok(Some((
                    m.page_size,
                    PageSizeSource::SecondMeta { offset: pos },
                )));
            }
        }
    }
    Ok(can_read.then_some((FALLBACK_PAGE_SIZE, PageSizeSource::Fallback)))
}

/// Which of two metas bbolt uses: the one with the higher txid if it validates, else the
/// other one if it validates (`db.meta()`). `None` if neither validates.
pub(crate) fn choose_active(
    m0: &Result<Meta, MetaProblem>,
    m1: &Result<Meta, MetaProblem>,
) -> Option<u8> {
    // bbolt tries the higher txid first even if it is invalid; the outcome is the same as
    // comparing only valid metas: both valid -> higher txid (tie -> meta 0), else the valid one.
    let tx = |m: &Result<Meta, MetaProblem>| m.as_ref().map(|m| m.txid).unwrap_or(0);
    let (a, b) = if tx(m1) > tx(m0) {
        (1u8, 0u8)
    } else {
        (0u8, 1u8)
    };
    let ok = |i: u8| if i == 0 { m0.is_ok() } else { m1.is_ok() };
    if ok(a) {
        Some(a)
    } else if ok(b) {
        Some(b)
    } else {
        None
    }
}

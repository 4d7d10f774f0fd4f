//! The one pass a plan needs: every entry's place and trust, the bytes of trusted entries
//! above the db's consistent index (for a rebuild), the keys written after the damage, and
//! the running CRC at the first damaged record (for a fix).

use std::path::Path;

use super::MAX_REBUILD_BYTES;
use crate::error::Error;
use crate::payload::{self, KeyRange};
use crate::record::RecordType;
use crate::scan::{self, Event, RecordStatus, Scan};

/// A record's place in the log: (segment position, byte offset), as
/// [`WalLocation::key`](crate::WalLocation::key) gives it.
pub(super) type Place = (usize, u64);

/// One entry as the pass saw it.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntryAt {
    pub(super) pos: usize,
    pub(super) offset: u64,
    pub(super) index: u64,
    pub(super) term: u64,
    pub(super) trusted: bool,
}

/// What the pass collects for planning.
#[derive(Debug, Default)]
pub(super) struct Collected {
    pub(super) entries: Vec<EntryAt>,
    /// Raw entry data (walpb data field) by position, for trusted entries above the floor.
    pub(super) beyond: Vec<(EntryAt, Vec<u8>)>,
    pub(super) beyond_bytes: usize,
    /// Keys of every entry after the first finding, by place (bounded).
    pub(super) keys_after_damage: Vec<(Place, Vec<KeyRange>)>,
    /// The running CRC before the first damaged record, and that record's place.
    pub(super) fix_site: Option<FixSite>,
    pub(super) last_stored: u32,
    pub(super) seen_damage: bool,
    /// Where every record is.
    pub(super) records: Vec<Place>,
}

#[derive(Debug, Clone)]
pub(super) struct FixSite {
    pub(super) pos: usize,
    pub(super) offset: u64,
    pub(super) prev_crc: u32,
    pub(super) stored: u32,
    pub(super) raw_type: i64,
}

pub(super) fn collect(wal_dir: &Path, floor: u64) -> Result<(Scan, Collected), Error> {
    let mut c = Collected::default();
    let scan = scan::scan_dir_with(wal_dir, &mut |ev| match ev {
        Event::SegmentStart { .. } => {}
        Event::Finding(_) => c.seen_damage = true,
        Event::Record(r) => {
            if r.status == RecordStatus::CrcMismatch && c.fix_site.is_none() {
                c.fix_site = Some(FixSite {
                    pos: r.at.segment_pos,
                    offset: r.at.offset,
                    prev_crc: c.last_stored,
                    stored: r.record.crc,
                    raw_type: r.record.raw_type,
                });
            }
            c.last_stored = r.record.crc;
            c.records.push(r.at.key());
            let Some(e) = r
                .entry
                .filter(|_| r.record.record_type() == Some(RecordType::Entry))
            else {
                return;
            };
            let trusted = r.status.trusted();
            let at = EntryAt {
                pos: r.at.segment_pos,
                offset: r.at.offset,
                index: e.index,
                term: e.term,
                trusted,
            };
            c.entries.push(at);
            if trusted && e.index > floor && c.beyond_bytes <= MAX_REBUILD_BYTES {
                c.beyond_bytes += r.record.data.len();
                c.beyond.push((at, r.record.data.to_vec()));
            }
            if c.seen_damage && c.keys_after_damage.len() < 1_000_000 {
                let keys = payload::decode_entry(e.entry_type, e.data).keys();
                c.keys_after_damage.push((r.at.key(), keys));
            }
        }
    })?;
    Ok((scan, c))
}

impl EntryAt {
    /// Where the entry is.
    pub(super) fn place(&self) -> Place {
        (self.pos, self.offset)
    }
}

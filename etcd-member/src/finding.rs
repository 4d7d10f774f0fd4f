//! A finding in any file of a data dir: the WAL's, a `.snap`'s, the db's, a cross-check's.
//!
//! One type, serialized one way: the object `verify --json` prints on each `finding` line
//! (and `dump --json` for WAL damage). Every object has `type`, `kind`, `file`, `offset`,
//! `ordinal`, `record_type`, `index`, `term`, `decisive`, `message` and `etcd_error`
//! (null where they do not apply), then the fields of its kind.

use std::path::PathBuf;

use etcd_proto::json::Bytes;
use etcd_wal::record::RecordType;
use etcd_wal::{EtcdReaction, WalLocation};
use serde::ser::{SerializeMap as _, Serializer};

/// What kind of damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// Damage in a WAL segment (see [`etcd_wal::FindingKind`]).
    Wal(etcd_wal::FindingKind),
    /// A `.snap` file whose CRC does not match.
    SnapCrcMismatch,
    /// A `.snap` file that does not decode (empty, not protobuf, no raft snapshot).
    SnapInvalid,
    /// A meta page of the db does not validate (or neither does: the db cannot be opened).
    DbMetaInvalid,
    /// A page of the db is damaged (type, references, bounds).
    DbPageInvalid,
    /// The db has applied less than the snapshot etcd loads, and the `<index>.snap.db` it
    /// would need is missing.
    DbBehindSnapshot,
    /// `snap/db` is missing while etcd loads a `.snap` file: etcd looks for that
    /// snapshot's `.snap.db` and panics.
    DbMissing,
    /// A key's latest value in the db is not what the WAL wrote (`--check-values`).
    DbValueMismatch,
    /// The member's own WAL removes it from the cluster.
    MemberRemoved,
    /// The member's configuration (`--config`) does not fit its data or its cluster
    /// (see [`crate::configcheck`]).
    ConfigMismatch,
    /// A newer release asked for (`--etcd-version`, `--upgrade-to`) refuses data that is
    /// not damaged (too many learners, custom v2 store content, a storage version it does
    /// not support), or changes it (membership taken from the db, not the v2 store).
    UpgradeBlocker,
    /// An older release asked for refuses data a newer cluster wrote (`invalid downgrade`).
    DowngradeBlocker,
}

impl FindingKind {
    /// The name in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Wal(k) => k.as_str(),
            FindingKind::SnapCrcMismatch => "snap_crc_mismatch",
            FindingKind::SnapInvalid => "snap_invalid",
            FindingKind::DbMetaInvalid => "db_meta_invalid",
            FindingKind::DbPageInvalid => "db_page_invalid",
            FindingKind::DbBehindSnapshot => "db_behind_snapshot",
            FindingKind::DbMissing => "db_missing",
            FindingKind::DbValueMismatch => "db_value_mismatch",
            FindingKind::MemberRemoved => "member_removed",
            FindingKind::ConfigMismatch => "config_mismatch",
            FindingKind::UpgradeBlocker => "upgrade_blocker",
            FindingKind::DowngradeBlocker => "downgrade_blocker",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in its file a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A WAL record.
    Wal(WalLocation),
    /// A db page (and the byte offset of the damaged structure, or of a value).
    Db {
        /// Page id (none when the whole file is concerned).
        page: Option<u64>,
        /// Byte offset in the file.
        offset: Option<u64>,
    },
    /// A file as a whole, or a byte in it.
    File {
        /// Byte offset in the file.
        offset: Option<u64>,
    },
}

impl Location {
    /// The byte offset in the file.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Location::Wal(w) => Some(w.offset),
            Location::Db { offset, .. } | Location::File { offset } => *offset,
        }
    }

    /// The 0-based record number (WAL records only).
    pub fn ordinal(&self) -> Option<u64> {
        match self {
            Location::Wal(w) => Some(w.ordinal),
            _ => None,
        }
    }
}

/// What a finding of each kind adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// WAL damage: how etcd's decoder reacts, CRCs, the frame.
    Wal {
        /// How etcd's decoder reacts.
        reaction: EtcdReaction,
        /// CRC stored in the record.
        expected_crc: Option<u32>,
        /// CRC computed over its data.
        actual_crc: Option<u32>,
        /// Length the frame's length word claims.
        frame_len: Option<u64>,
        /// Where reading resumed after the damage.
        resync_offset: Option<u64>,
    },
    /// Db damage: the damage code bbolt's checks give it.
    Db {
        /// The damage (`invalid_page_type`, `meta_invalid`, …), when a page check found it.
        damage: Option<&'static str>,
    },
    /// A value cross-check mismatch.
    Value {
        /// The key as `dump` escapes it.
        key_escaped: String,
        /// The key's bytes.
        key: Vec<u8>,
        /// Main revision of the db's latest record of the key.
        revision: Option<i64>,
        /// The WAL file that wrote what the db should hold (relative as `file` is).
        wal_file: Option<String>,
        /// Byte offset of that entry's record.
        wal_offset: Option<u64>,
        /// What differs.
        diffs: Vec<crate::crosscheck::Diff>,
    },
    /// The member's removal.
    Removal {
        /// Whether the last HardState commits it.
        committed: bool,
        /// What to do, in order (one command or step each).
        advice: Vec<String>,
    },
    /// A configuration problem: the flag, when it bites, the fix.
    Config {
        /// The flag (without `--`), as etcd names it.
        flag: String,
        /// On this data dir as it is, or on an empty one.
        when: crate::configcheck::ConfigWhen,
        /// What to change.
        fix: String,
    },
    /// Nothing more.
    None,
}

/// One piece of damage in a data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// The file, relative to the path inspected (absolute when outside it).
    pub file: String,
    /// The file, absolute.
    pub path: PathBuf,
    /// Where in the file.
    pub location: Location,
    /// The WAL record type, for WAL records.
    pub record_type: Option<RecordType>,
    /// Raft index (of the damaged entry, the snapshot, the WAL entry behind a value).
    pub index: Option<u64>,
    /// Raft term.
    pub term: Option<u64>,
    /// What etcd says when this damage decides its start (its error text), if it notices.
    pub etcd_error: Option<String>,
    /// One line for people.
    pub message: String,
    /// Whether this finding decides what etcd does on start (the first finding, when one
    /// does).
    pub decisive: bool,
    /// What the kind adds.
    pub detail: Detail,
}

impl Finding {
    /// `at byte N, record #M (type, raft index I term T)` as the text output writes it.
    pub fn place(&self) -> String {
        let mut at = String::new();
        if self.kind != FindingKind::Wal(etcd_wal::FindingKind::MissingSegment) {
            if let Some(o) = self.location.offset() {
                at.push_str(&format!(" at byte {o}"));
            }
            if let Some(n) = self.location.ordinal() {
                at.push_str(&format!(", record #{n}"));
            }
        }
        if let Some(t) = self.record_type {
            at.push_str(&format!(" ({t}"));
            if let (Some(idx), Some(tm)) = (self.index, self.term) {
                at.push_str(&format!(", raft index {idx} term {tm}"));
            }
            at.push(')');
        }
        at
    }
}

fn hex32(v: Option<u32>) -> Option<String> {
    v.map(|c| format!("{c:08x}"))
}

impl serde::Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "finding")?;
        m.serialize_entry("kind", self.kind.as_str())?;
        m.serialize_entry("file", &self.file)?;
        let missing = self.kind == FindingKind::Wal(etcd_wal::FindingKind::MissingSegment);
        m.serialize_entry("offset", &self.location.offset().filter(|_| !missing))?;
        m.serialize_entry("ordinal", &self.location.ordinal().filter(|_| !missing))?;
        m.serialize_entry("record_type", &self.record_type.map(|t| t.as_str()))?;
        m.serialize_entry("index", &self.index)?;
        m.serialize_entry("term", &self.term)?;
        m.serialize_entry("decisive", &self.decisive)?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("etcd_error", &self.etcd_error)?;
        match &self.detail {
            Detail::Wal {
                reaction,
                expected_crc,
                actual_crc,
                frame_len,
                resync_offset,
            } => {
                m.serialize_entry("etcd_reaction", reaction)?;
                m.serialize_entry("expected_crc", &hex32(*expected_crc))?;
                m.serialize_entry("actual_crc", &hex32(*actual_crc))?;
                m.serialize_entry("frame_len", frame_len)?;
                m.serialize_entry("resync_offset", resync_offset)?;
            }
            Detail::Db { damage } => {
                if let Location::Db { page, .. } = &self.location {
                    m.serialize_entry("page", page)?;
                }
                m.serialize_entry("damage", damage)?;
            }
            Detail::Value {
                key_escaped,
                key,
                revision,
                wal_file,
                wal_offset,
                diffs,
            } => {
                m.serialize_entry("key", key_escaped)?;
                m.serialize_entry("key_bytes", &Bytes(key))?;
                m.serialize_entry("revision", revision)?;
                if let Location::Db { page, .. } = &self.location {
                    m.serialize_entry("page", page)?;
                }
                m.serialize_entry("wal_file", wal_file)?;
                m.serialize_entry("wal_offset", wal_offset)?;
                m.serialize_entry("diffs", diffs)?;
            }
            Detail::Removal { committed, advice } => {
                m.serialize_entry("committed", committed)?;
                m.serialize_entry("advice", advice)?;
            }
            Detail::Config { flag, when, fix } => {
                m.serialize_entry("flag", flag)?;
                m.serialize_entry("when", when)?;
                m.serialize_entry("fix", fix)?;
            }
            Detail::None => {}
        }
        m.end()
    }
}

/// The finding for damage the WAL scan found: `file` names the segment relative to the
/// path inspected.
pub fn from_wal(f: &etcd_wal::Finding, file: String, path: PathBuf) -> Finding {
    Finding {
        kind: FindingKind::Wal(f.kind),
        file,
        path,
        location: Location::Wal(f.at),
        record_type: f.record_type,
        index: f.index,
        term: f.term,
        etcd_error: (!f.etcd_error.is_empty()).then(|| f.etcd_error.clone()),
        message: f.message.clone(),
        decisive: false,
        detail: Detail::Wal {
            reaction: f.reaction,
            expected_crc: f.expected_crc,
            actual_crc: f.actual_crc,
            frame_len: f.frame_len,
            resync_offset: f.resync_offset,
        },
    }
}

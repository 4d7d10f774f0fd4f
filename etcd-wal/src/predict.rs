//! What etcd 3.4/3.5 will do when started on this WAL, derived from a [`Scan`].
//!
//! The server's start sequence (etcd 3.5 `etcdserver/storage.go` `readWAL`,
//! `wal.ValidSnapshotEntries`, `wal.Open`, `wal.ReadAll`, `wal.Repair`; 3.4.8+ alike):
//! 1. `ValidSnapshotEntries` reads every segment from the first; crc-record mismatches and
//!    fatal decode errors abort, `unexpected EOF` just ends the read.
//! 2. The newest `.snap` matching one of those snapshot records (index ≤ HardState.commit)
//!    picks the start index S.
//! 3. `Open` selects the last segment named ≤ S and requires consecutive sequence numbers
//!    after it ("wal: file not found").
//! 4. `ReadAll` replays from there; `unexpected EOF` triggers `Repair` of the last segment
//!    (truncate at the last valid record, keep a `.wal.broken` copy) and one retry.

use etcd_proto::RaftPos;

use crate::finding::{EtcdReaction, Finding, FindingKind};
use crate::scan::{Scan, SegmentEnd};

/// Entries etcd writes itself when it starts (leader no-op, attributes publish).
pub const WEDGE_SLACK: u64 = 2;

/// What etcd does on start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// Starts without running its repair (possibly dropping records silently).
    Starts,
    /// Runs its own repair: truncates the last segment, leaves `<segment>.broken`, starts.
    RepairsTail,
    /// Exits with an error.
    Refuses,
}

impl Outcome {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Starts => "starts",
            Outcome::RepairsTail => "repairs_tail",
            Outcome::Refuses => "refuses",
        }
    }
}

/// The etcd release line that wrote the WAL, as far as the data tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Release {
    /// etcd 3.4: WAL snapshot records (index > 0) without conf_state.
    #[cfg_attr(feature = "serde", serde(rename = "3.4"))]
    V3_4,
    /// etcd 3.5: WAL snapshot records (index > 0) carry conf_state.
    #[cfg_attr(feature = "serde", serde(rename = "3.5"))]
    V3_5,
    /// No snapshot record past index 0: cannot tell.
    #[cfg_attr(feature = "serde", serde(rename = "unknown"))]
    Unknown,
}

impl Release {
    /// Guess from the snapshot records.
    pub fn detect(scan: &Scan) -> Release {
        match scan.snapshots.iter().find(|s| s.pos.index > 0) {
            Some(s) if s.has_conf_state => Release::V3_5,
            Some(_) => Release::V3_4,
            None => Release::Unknown,
        }
    }
}

/// What the caller knows beyond the WAL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Every readable `.snap` file's snapshot, or `None` when the snap directory is unknown
    /// (then the newest WAL snapshot record is assumed to have its `.snap`).
    pub snap_files: Option<Vec<RaftPos>>,
    /// The db's `meta/consistent_index`, when known.
    pub db_consistent_index: Option<u64>,
    /// Number of voting members, when known. A member of a larger cluster whose log ends
    /// below the db's index catches up from the leader instead of wedging.
    pub voters: Option<usize>,
}

/// The step of etcd's start that reads the WAL (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Stage {
    /// `ValidSnapshotEntries`, before the `.snap` file is picked ("discovery failed").
    Discovery,
    /// `Open`: segment selection and sequence check ("failed to open WAL").
    Open,
    /// `ReadAll` ("failed to read WAL, cannot be repaired").
    ReadAll,
    /// `Repair` of the last segment ("failed to repair WAL").
    Repair,
}

impl Stage {
    /// The message etcd logs when it refuses at this step (etcd 3.5 `server/etcdserver`).
    pub fn etcd_message(self) -> &'static str {
        match self {
            Stage::Discovery => "discovery failed",
            Stage::Open => "failed to open WAL",
            Stage::ReadAll => "failed to read WAL, cannot be repaired",
            Stage::Repair => "failed to repair WAL",
        }
    }
}

/// Where etcd's own repair cuts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TailRepair {
    /// Segment file name (always the last segment).
    pub segment: String,
    /// Its new size: the end of the last valid record.
    pub truncate_at: u64,
}

/// The prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Prediction {
    /// What etcd does.
    pub outcome: Outcome,
    /// The error etcd exits with (for `refuses`) or repairs (for `repairs_tail`).
    pub etcd_error: Option<String>,
    /// The log line etcd prints for a refusal.
    pub etcd_message: Option<String>,
    /// The step at which etcd refuses (for `refuses`).
    pub refused_at: Option<Stage>,
    /// Index into `Scan::findings` of the finding that decides the outcome.
    pub decisive: Option<usize>,
    /// The snapshot etcd replays from (index 0 when it replays from the start).
    pub start_snapshot: RaftPos,
    /// Position of the first segment `ReadAll` reads.
    pub start_segment: Option<usize>,
    /// etcd's own tail repair, for `repairs_tail`.
    pub repair: Option<TailRepair>,
    /// Last raft index etcd's log holds after start (None when it refuses).
    pub last_index_after_start: Option<u64>,
    /// Starts, but the log ends below the db's consistent index: reads work, every write
    /// times out.
    pub wedged: bool,
    /// Release line assumed.
    pub release: Release,
    /// Where later releases behave differently.
    pub later_releases: Option<String>,
}

/// Predict etcd's behaviour.
pub fn predict(scan: &Scan, ctx: &Context) -> Prediction {
    let mut p = predict_start(scan, ctx);
    let last_pos = scan.dir.segments.len().saturating_sub(1);
    if let Some(d) = p.decisive.and_then(|i| scan.findings.get(i)) {
        if d.kind == FindingKind::OversizedLength && d.at.segment_pos == last_pos {
            p.later_releases = Some(
                "etcd 3.5.7+ treat an oversized length word in the last segment as a torn tail \
                 and repair it; 3.4.0-3.4.9 have no size check"
                    .into(),
            );
        }
    }
    // A chain break right after a missing segment is the symptom; the gap is the cause.
    if let Some(d) = p.decisive.and_then(|i| scan.findings.get(i)) {
        if d.kind == FindingKind::ChainBreak && d.at.offset == 0 {
            let pos = d.at.segment_pos;
            if let Some(m) = scan.findings.iter().position(|f| {
                (f.kind == FindingKind::MissingSegment && f.at.segment_pos == pos)
                    || (f.kind == FindingKind::EmptySegment && f.at.segment_pos + 1 == pos)
            }) {
                p.decisive = Some(m);
            }
        }
    }
    p
}

fn predict_start(scan: &Scan, ctx: &Context) -> Prediction {
    let release = Release::detect(scan);
    let mut p = Prediction {
        outcome: Outcome::Starts,
        etcd_error: None,
        etcd_message: None,
        refused_at: None,
        decisive: None,
        start_snapshot: RaftPos::default(),
        start_segment: None,
        repair: None,
        last_index_after_start: None,
        wedged: false,
        release,
        later_releases: None,
    };
    let refuse = |p: &mut Prediction, i: Option<usize>, err: String, stage: Stage| {
        p.outcome = Outcome::Refuses;
        p.refused_at = Some(stage);
        p.etcd_error = Some(err);
        p.etcd_message = Some(stage.etcd_message().to_string());
        p.decisive = i;
        p.last_index_after_start = None;
    };
    let last_pos = scan.dir.segments.len().saturating_sub(1);
    let stops = |f: &Finding| {
        matches!(
            f.reaction,
            EtcdReaction::UnexpectedEof | EtcdReaction::Fatal | EtcdReaction::FatalOnReplay
        )
    };

    // 1. ValidSnapshotEntries over every segment.
    let candidates = match valid_snapshot_entries(scan) {
        Ok(c) => c,
        Err(i) => {
            let err = scan
                .findings
                .get(i)
                .map(|f| f.etcd_error.clone())
                .unwrap_or_default();
            refuse(&mut p, Some(i), err, Stage::Discovery);
            return p;
        }
    };
    // 2. The newest .snap that matches (names sort by term, then index).
    let start = match &ctx.snap_files {
        Some(files) => files
            .iter()
            .filter(|f| candidates.contains(f))
            .max_by_key(|f| f.term_then_index())
            .copied()
            .unwrap_or_default(),
        None => candidates.last().copied().unwrap_or_default(),
    };
    p.start_snapshot = start;
    let s_index = start.index;

    // 3. Open: segment selection and sequence continuity.
    let Some(first) = scan.dir.search_index(s_index) else {
        refuse(&mut p, None, "wal: file not found".into(), Stage::Open);
        return p;
    };
    p.start_segment = Some(first);
    if let Some(gap_at) = scan.dir.first_seq_gap(first) {
        let i = scan.findings.iter().position(|f| {
            matches!(
                f.kind,
                FindingKind::SegmentGap | FindingKind::MissingSegment
            ) && f.at.segment_pos == gap_at
        });
        refuse(&mut p, i, "wal: file not found".into(), Stage::Open);
        return p;
    }

    // 4. ReadAll from `first`: a fresh decoder does not check the first crc record.
    let replayed = |f: &Finding| {
        f.at.segment_pos >= first
            && !(f.kind == FindingKind::ChainBreak && f.at.segment_pos == first && f.at.offset == 0)
            && f.kind != FindingKind::MissingSegment
            && f.kind != FindingKind::SegmentGap
    };
    let read_all_stop = scan
        .findings
        .iter()
        .enumerate()
        .find(|(_, f)| replayed(f) && stops(f));
    let mut last_index = scan
        .last_entry_before_damage
        .map_or(0, |e| e.index)
        .max(s_index);
    if let Some((i, f)) = read_all_stop {
        if f.reaction != EtcdReaction::UnexpectedEof {
            refuse(&mut p, Some(i), f.etcd_error.clone(), Stage::ReadAll);
            return p;
        }
        // Repair: the last segment alone, with a fresh decoder.
        let repair_stop = scan.findings.iter().enumerate().find(|(_, f)| {
            f.at.segment_pos == last_pos
                && !(f.kind == FindingKind::ChainBreak && f.at.offset == 0)
                && matches!(
                    f.reaction,
                    EtcdReaction::UnexpectedEof | EtcdReaction::Fatal
                )
        });
        match repair_stop {
            Some((j, rf)) if rf.reaction == EtcdReaction::UnexpectedEof && j == i => {
                p.outcome = Outcome::RepairsTail;
                p.etcd_error = Some(f.etcd_error.clone());
                p.decisive = Some(i);
                p.repair = Some(TailRepair {
                    segment: rf.segment(),
                    truncate_at: rf.at.offset,
                });
            }
            Some((j, rf)) if rf.reaction == EtcdReaction::Fatal => {
                refuse(&mut p, Some(j), rf.etcd_error.clone(), Stage::Repair);
                return p;
            }
            _ => {
                refuse(&mut p, Some(i), f.etcd_error.clone(), Stage::ReadAll);
                return p;
            }
        }
    } else if let Some(i) = scan.findings.iter().position(|f| {
        matches!(
            f.kind,
            FindingKind::RecordsAfterEnd | FindingKind::EmptySegment
        ) && f.at.segment_pos == last_pos
    }) {
        // Silent end in the last segment: etcd starts and overwrites what follows (or, for
        // an empty last segment, appends to it what it writes next).
        p.decisive = Some(i);
    }

    // Semantic checks of ReadAll: entries must continue the log after S.
    if let Some(i) = index_gap(scan, first, s_index) {
        refuse(
            &mut p,
            i,
            "wal: slice bounds out of range".into(),
            Stage::ReadAll,
        );
        return p;
    }
    if scan
        .findings
        .iter()
        .all(|f| !stops(f) || f.at.segment_pos < first)
    {
        // Nothing stops the replay: the whole log is kept.
        last_index = scan
            .segments
            .iter()
            .filter_map(|s| s.last_index)
            .max()
            .unwrap_or(0)
            .max(s_index);
        if scan
            .segments
            .iter()
            .any(|s| s.end == SegmentEnd::ZeroWordWithData)
        {
            last_index = scan
                .last_entry_before_damage
                .map_or(0, |e| e.index)
                .max(s_index);
        }
    }
    p.last_index_after_start = Some(last_index);
    if let Some(ci) = ctx.db_consistent_index {
        // On start etcd appends entries of its own (the new leader's no-op, the member
        // attributes publish) that land at indexes the db has applied and are skipped;
        // those absorb a gap of up to two. Beyond that, every client write gets an index
        // ≤ the consistent index, is skipped at apply and times out (observed with real
        // etcd 3.4.23 and 3.5.1: a gap of 2 was harmless, ~330 wedged the member).
        p.wedged = ci > last_index.saturating_add(WEDGE_SLACK) && ctx.voters.is_none_or(|v| v <= 1);
    }
    p
}

/// etcd's `ValidSnapshotEntries`: the WAL snapshot records with index ≤ the last HardState's
/// commit, read from the first segment until the first `unexpected EOF`, sorted as etcd
/// sorts `.snap` names (term, then index). `Err(i)` when finding `i` makes it fail (etcd
/// then exits with "discovery failed").
pub fn valid_snapshot_entries(scan: &Scan) -> Result<Vec<RaftPos>, usize> {
    let mut stop = None;
    for (i, f) in scan.findings.iter().enumerate() {
        match f.reaction {
            EtcdReaction::Fatal => return Err(i),
            EtcdReaction::UnexpectedEof => {
                stop = Some(f.at.key());
                break;
            }
            _ => {}
        }
    }
    let before_stop = |pos: usize, off: u64| stop.is_none_or(|(sp, so)| (pos, off) < (sp, so));
    let commit = scan.hard_state.map_or(0, |h| h.commit);
    let mut out: Vec<RaftPos> = scan
        .snapshots
        .iter()
        .filter(|s| {
            let (pos, off) = s.at.key();
            before_stop(pos, off) && s.pos.index <= commit
        })
        .map(|s| s.pos)
        .collect();
    out.sort_unstable_by_key(|p| p.term_then_index());
    out.dedup();
    Ok(out)
}

/// `ReadAll`'s "slice bounds out of range": an entry after S whose index skips ahead.
fn index_gap(scan: &Scan, first: usize, s_index: u64) -> Option<Option<usize>> {
    let mut last = s_index;
    for run in scan
        .runs
        .iter()
        .filter(|r| r.segment_pos >= first && r.before_damage)
    {
        if run.last <= s_index {
            continue;
        }
        let from = run.first.max(s_index + 1);
        if from > last + 1 {
            return Some(None);
        }
        last = run.last;
    }
    None
}

//! `verify --metrics-file F`: the verdict in Prometheus' text exposition format, for
//! node_exporter's textfile collector (`--collector.textfile.directory`), written
//! atomically (a temporary file in the same directory, then a rename) so the collector
//! never reads half a file.

use std::fmt::Write as _;
use std::path::Path;

use etcd_member::{FindingKind, Inspection, Outcome};

/// A label value escaped as the exposition format wants (`\\`, `\"`, `\n`).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics text for one inspection of `path`, at `now` (seconds since the epoch).
pub fn render(v: &Inspection, path: &Path, now: f64) -> String {
    let id = &v.identity;
    let mut labels = format!("path=\"{}\"", escape(&path.display().to_string()));
    if let Some(m) = id.member_id {
        let _ = write!(labels, ",member_id=\"{m:016x}\"");
    }
    if let Some(n) = &id.name {
        let _ = write!(labels, ",member_name=\"{}\"", escape(&n.value));
    }
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP wal_inspect_{name} {help}");
        let _ = writeln!(out, "# TYPE wal_inspect_{name} gauge");
        for (extra, value) in samples {
            let _ = writeln!(out, "wal_inspect_{name}{{{labels}{extra}}} {value}");
        }
    };
    let damage = v
        .findings()
        .iter()
        .filter(|f| f.kind != FindingKind::ConfigMismatch)
        .count();
    gauge(
        "damaged",
        "1 when verify found damage in the data dir (WAL, .snap, db, removal), else 0.",
        &[(String::new(), f64::from(u8::from(damage > 0)))],
    );
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for f in v.findings() {
        match kinds.iter_mut().find(|(k, _)| *k == f.kind.as_str()) {
            Some((_, n)) => *n += 1,
            None => kinds.push((f.kind.as_str(), 1)),
        }
    }
    kinds.sort_unstable();
    gauge(
        "findings",
        "Findings of the last verify, by kind (kinds with none are absent).",
        &kinds
            .iter()
            .map(|(k, n)| (format!(",kind=\"{k}\""), *n as f64))
            .collect::<Vec<_>>(),
    );
    gauge(
        "etcd_outcome",
        "What etcd will do on start: 1 for the predicted outcome, 0 for the others.",
        &[
            ("starts", Outcome::Starts),
            ("repairs_tail", Outcome::RepairsTail),
            ("refuses", Outcome::Refuses),
        ]
        .iter()
        .map(|(name, o)| {
            (
                format!(",outcome=\"{name}\""),
                f64::from(u8::from(v.outcome() == *o)),
            )
        })
        .collect::<Vec<_>>(),
    );
    gauge(
        "wedged",
        "1 when etcd will start but every write will time out (its log ends below the db's consistent index).",
        &[(String::new(), f64::from(u8::from(v.wedged())))],
    );
    let s = &v.scan;
    let mut opt = |name: &str, help: &str, value: Option<u64>| {
        if let Some(x) = value {
            gauge(name, help, &[(String::new(), x as f64)]);
        }
    };
    opt("last_index", "Last raft index in the WAL.", s.last_index());
    opt(
        "last_term",
        "Term of the last entry before the first damage.",
        s.last_entry_before_damage.map(|e| e.term),
    );
    opt(
        "commit",
        "Commit index of the last HardState etcd reads.",
        s.hard_state.map(|h| h.commit),
    );
    opt(
        "db_consistent_index",
        "The db's consistent index (meta/consistent_index).",
        v.db_consistent_index(),
    );
    opt(
        "db_size_bytes",
        "Size of member/snap/db in bytes.",
        v.db().map(|d| d.file_size),
    );
    opt(
        "wal_segments",
        "WAL segment files.",
        Some(s.segments.len() as u64),
    );
    gauge(
        "last_run_timestamp_seconds",
        "When this verify ran (seconds since the epoch).",
        &[(String::new(), now.floor())],
    );
    out
}

/// Write `text` to `file` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map_or_else(|| "metrics".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

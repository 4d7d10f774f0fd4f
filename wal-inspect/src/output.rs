//! The one output layer: JSON Lines written from typed structs, one `begin` line per JSON
//! command, and every error and refusal through one printer.
//!
//! JSON conventions (every command, schema in `docs/json/`): one object per line, each with
//! a `"type"`; the first line is `begin` (`tool`, `version`, `command`, `schema_version`);
//! IDs (member, cluster, node, lease, vote) are strings of 16 hex digits, CRCs 8 hex digits;
//! no number exceeds 2^53 − 1.

use std::io::{self, Write};

use serde::Serialize;

/// `-w/--write-out`, as etcdctl and etcdutl spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WriteOut {
    /// The text output (the default).
    #[default]
    Simple,
    /// What `--json` prints.
    Json,
    /// A table as etcdctl draws one (`snapshot status`, `members`).
    Table,
}

/// A table drawn as etcdctl's `-w table` draws it (ASCII borders, a line under the
/// header), with `header` as the first row.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
    // etcdctl's tablewriter: `+---+` borders, a `-` line under the header, headers
    // centred, numbers right-aligned, no lines between rows (text, such as commands and
    // paths, left-aligned to stay readable).
    const ETCDCTL: &str = "||--+-++|    ++++++";
    let mut t = Table::new();
    t.load_preset(ETCDCTL)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            header
                .iter()
                .map(|h| Cell::new(h).set_alignment(CellAlignment::Center)),
        );
    for r in rows {
        t.add_row(r.into_iter().map(|c| {
            let numeric = c == "-" || c.starts_with(|ch: char| ch.is_ascii_digit());
            let align = if numeric {
                CellAlignment::Right
            } else {
                CellAlignment::Left
            };
            Cell::new(c).set_alignment(align)
        }));
    }
    format!("{t}\n")
}

/// Version of every command's JSON Lines schema (in the `begin` line). 2: one finding shape
/// for `verify` and `dump`, IDs as hex strings everywhere, a `begin` line for every command.
pub const SCHEMA_VERSION: u32 = 2;

/// The first line of every `--json` output.
#[derive(Debug, Serialize)]
pub struct Begin<'a> {
    /// Always `begin`.
    #[serde(rename = "type")]
    pub line: &'static str,
    /// Always `wal-inspect`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// The command (`verify`, `dump`, `members`, `repair`, `snapshot status`, `db keys`, …).
    pub command: &'a str,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
}

/// A value with `"type": <line>` put first (for library types that do not carry one).
#[derive(Debug, Serialize)]
pub struct Typed<'a, T: Serialize> {
    /// The line type.
    #[serde(rename = "type")]
    pub line: &'static str,
    /// The value's own fields.
    #[serde(flatten)]
    pub value: &'a T,
}

/// Write one JSON line: rendered into a reused buffer, then handed to `out` in one
/// `write_all` (not one call per JSON token through `dyn Write`, each of which a
/// line-buffered stdout scans for a newline).
pub fn json_line<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    thread_local! {
        static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LINE.with(|line| {
        let mut buf = line.try_borrow_mut().map_err(io::Error::other)?;
        buf.clear();
        crate::jsonw::to_vec(&mut buf, value).map_err(io::Error::other)?;
        buf.push(b'\n');
        out.write_all(&buf)?;
        // A huge line once should not pin its buffer for the rest of the run.
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        Ok(())
    })
}

/// Write the `begin` line of `command`.
pub fn begin(out: &mut dyn Write, command: &str) -> io::Result<()> {
    json_line(
        out,
        &Begin {
            line: "begin",
            tool: "wal-inspect",
            version: env!("CARGO_PKG_VERSION"),
            command,
            schema_version: SCHEMA_VERSION,
        },
    )
}

/// A refusal: the command would not do what was asked (exit code 3). `main` prints it once,
/// as `wal-inspect: refused: <reason>` (and as a `{"type":"refused"}` line with `--json`,
/// which the command writes itself).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The `{"type":"refused"}` line.
#[derive(Debug, Serialize)]
pub struct RefusedLine<'a> {
    /// Always `refused`.
    #[serde(rename = "type")]
    pub line: &'static str,
    /// Why.
    pub reason: &'a str,
}

/// Refuse: with `json`, the `refused` line on `out`; the message on stderr either way (by
/// `main`), exit code 3.
pub fn refuse(
    out: &mut dyn Write,
    json: bool,
    reason: String,
) -> anyhow::Result<crate::exit::Exit> {
    if json {
        json_line(
            out,
            &RefusedLine {
                line: "refused",
                reason: &reason,
            },
        )?;
    }
    Err(Refused(reason).into())
}

/// The error and its causes, each cause once: a cause whose text the message already holds
/// (an I/O error our error types print inline) is not repeated.
pub fn message(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

//! `wal-inspect dump`: every record and entry, decoded. (Being built: see issue "dump".)

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::exit::Exit;

/// `wal-inspect dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// A data dir, member dir or WAL dir.
    pub path: PathBuf,
    /// The WAL directory, when it is not `<member>/wal`.
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `dump`.
pub fn run(args: &DumpArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let _ = (args, out);
    anyhow::bail!("dump is not implemented yet")
}

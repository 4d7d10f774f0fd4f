//! `wal-inspect members`: who a data dir belongs to. (Being built: see issue "members".)

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::exit::Exit;

/// `wal-inspect members`.
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// One or more data dirs (or member dirs).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `members`.
pub fn run(args: &MembersArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let _ = (args, out);
    anyhow::bail!("members is not implemented yet")
}

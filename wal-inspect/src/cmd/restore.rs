//! `wal-inspect snapshot restore`. (Being built: see issue "restore".)

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::exit::Exit;

/// `wal-inspect snapshot restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A `snapshot save` file, a bare db file, or a data/member dir.
    pub source: PathBuf,
}

/// Run `snapshot restore`.
pub fn run(args: &RestoreArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let _ = (args, out);
    anyhow::bail!("snapshot restore is not implemented yet")
}

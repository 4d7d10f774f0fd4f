//! `wal-inspect repair`: plan, then apply. (Being built: see issue "repair".)

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::exit::Exit;

/// `wal-inspect repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// A data dir or member dir.
    pub path: PathBuf,
    /// Carry the plan out (backs up what it changes first).
    #[arg(long)]
    pub apply: bool,
    /// Allow a plan that loses committed data.
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Put the newest backup back.
    #[arg(long, conflicts_with = "apply")]
    pub undo: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `repair`.
pub fn run(args: &RepairArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let _ = (args, out);
    anyhow::bail!("repair is not implemented yet")
}

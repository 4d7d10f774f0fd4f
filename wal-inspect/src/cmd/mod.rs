//! One module per subcommand; each renders to the writer it is given.

use std::io::Write;

use crate::cli::{Cli, Command, SnapshotCommand};
use crate::exit::Exit;

pub mod dump;
pub mod k8s;
pub mod members;
pub mod pages;
pub mod recover;
pub mod repair;
pub mod restore;
pub mod salvage;
pub mod snapshot;
pub mod verify;

/// Run the parsed command line, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Verify(args) => verify::run(&args, out),
        Command::Snapshot(SnapshotCommand::Status(args)) => snapshot::status(&args, out),
        Command::Snapshot(SnapshotCommand::Restore(args)) => restore::run(&args, out),
        Command::Db(args) => snapshot::db(&args, out),
        Command::Dump(args) => dump::run(&args, out),
        Command::Members(args) => members::run(&args, out),
        Command::Repair(args) => repair::run(&args, out),
        Command::Recover(args) => recover::run(&args, out),
        Command::Completion { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "wal-inspect", out);
            Ok(Exit::Clean)
        }
        Command::Man => {
            // The page names the version, not the commit (it is kept in the repository).
            let cmd = <Cli as clap::CommandFactory>::command().long_version(None::<&str>);
            clap_mangen::Man::new(cmd).render(out)?;
            Ok(Exit::Clean)
        }
    }
}

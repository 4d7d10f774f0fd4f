//! One module per subcommand; each renders to the writer it is given.

use std::io::Write;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

pub mod verify;

/// Run the parsed command line, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Verify(args) => verify::run(&args, out),
    }
}

//! `wal-inspect`: forensics for etcd data dirs.
//!
//! `main` only parses arguments, runs the command and maps the result to an exit code.

mod cli;
mod cmd;
mod datadir;
mod exit;
mod live;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd::run(cli, &mut out) {
        Ok(code) => {
            // A closed pipe (`wal-inspect dump | head`) is not an error worth reporting.
            match out.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                _ => code.into(),
            }
        }
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = out.flush();
            eprintln!("wal-inspect: error: {err:#}");
            exit::Exit::CouldNotRun.into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

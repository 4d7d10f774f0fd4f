//! `wal-inspect`: forensics for etcd data dirs.
//!
//! `main` only parses arguments, runs the command and maps the result to an exit code.

mod cli;
mod cmd;
mod exit;
mod metrics;
mod output;
mod paint;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    paint::init(cli.color);
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
            if let Some(r) = err.downcast_ref::<output::Refused>() {
                eprintln!("wal-inspect: refused: {r}");
                return exit::Exit::Refused.into();
            }
            if let Some(e) = err.downcast_ref::<etcd_member::Error>() {
                if e.is_refusal() {
                    eprintln!("wal-inspect: refused: {}", output::message(&err));
                    return exit::Exit::Refused.into();
                }
            }
            eprintln!("wal-inspect: error: {}", output::message(&err));
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

//! `wal-inspect`: forensics for etcd data dirs.
//!
//! `main` only parses arguments, runs the command and maps the result to an exit code.

mod cli;
mod cmd;
mod exit;
mod jsonw;
mod metrics;
mod output;
mod paint;
mod progress;

use std::io::{IsTerminal as _, Write};
use std::os::fd::AsFd as _;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    paint::init(cli.color);
    let stdout = std::io::stdout();
    // A terminal gets each line as it is written; a pipe or file gets 64 KiB writes (a
    // line-buffered pipe costs one write(2) per line: most of `dump --json`'s system time).
    // The pipe is written through its own descriptor (a duplicate of fd 1): std's stdout
    // would scan every 64 KiB block for its last newline and hold back the rest.
    let mut out: Box<dyn std::io::Write> = if stdout.is_terminal() {
        Box::new(stdout.lock())
    } else {
        match stdout.as_fd().try_clone_to_owned() {
            Ok(fd) => Box::new(std::io::BufWriter::with_capacity(
                1 << 16,
                std::fs::File::from(fd),
            )),
            Err(_) => Box::new(std::io::BufWriter::with_capacity(1 << 16, stdout.lock())),
        }
    };
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

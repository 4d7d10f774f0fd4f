//! Command-line arguments (clap derive).

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  clean (no damage found / nothing to do / done)
  1  damage found (verify, dump, snapshot status, db; verify --config: also a configuration
     problem), a repair plan exists (repair)
  2  could not run (bad arguments, unreadable input)
  3  refused (a live etcd holds the data dir, data loss not allowed, target not empty)";

/// `--version`: the crate version and, built from a git checkout, its commit.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WAL_INSPECT_GIT_COMMIT"),
    ")"
);

/// Forensics for etcd data dirs: find the exact record behind "wal: crc mismatch".
#[derive(Debug, Parser)]
#[command(
    name = "wal-inspect",
    version,
    long_version = LONG_VERSION,
    about,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a data dir, member dir or WAL dir without writing anything; say what is damaged,
    /// where, and what etcd will do on start.
    #[command(after_help = EXIT_CODES)]
    Verify(crate::cmd::verify::VerifyArgs),
    /// `snapshot save` files and dbs: status (hash, revision, keys, trailer), and restore into
    /// a new data dir.
    #[command(subcommand, after_help = EXIT_CODES)]
    Snapshot(SnapshotCommand),
    /// Read the keyspace of a db: live keys, one key's value, one key's history.
    #[command(after_help = EXIT_CODES)]
    Db(crate::cmd::snapshot::DbArgs),
    /// Print every WAL record and entry, decoded (puts, txns, leases, membership changes…).
    // (No after_help here: it would replace DumpArgs' own, which lists the entry kinds and
    // dump's exit codes.)
    Dump(crate::cmd::dump::DumpArgs),
    /// Who a data dir belongs to: member and cluster IDs, membership history, removal.
    #[command(after_help = EXIT_CODES)]
    Members(crate::cmd::members::MembersArgs),
    /// Plan (and with --apply, carry out) the safest way to bring a member back.
    #[command(after_help = EXIT_CODES)]
    Repair(crate::cmd::repair::RepairArgs),
    /// Print a shell completion script (e.g. `wal-inspect completion bash >
    /// /etc/bash_completion.d/wal-inspect`).
    #[command(after_help = EXIT_CODES)]
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; `wal-inspect man > wal-inspect.1`, `man ./wal-inspect.1`).
    #[command(after_help = EXIT_CODES)]
    Man,
}

/// `wal-inspect snapshot …`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// What `etcdutl snapshot status` prints (same hash, revision, total keys and size),
    /// plus the SHA-256 trailer, consistent index, members, alarms and page damage.
    #[command(after_help = EXIT_CODES)]
    Status(crate::cmd::snapshot::StatusArgs),
    /// Build a new data dir from a snapshot, as `etcdutl snapshot restore` does.
    #[command(after_help = EXIT_CODES)]
    Restore(crate::cmd::restore::RestoreArgs),
}

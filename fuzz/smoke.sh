#!/usr/bin/env bash
# A bounded fuzz smoke run of every target, on the stable toolchain (what `.ci/run` runs): no
# nightly and no cargo-fuzz. The targets are built with libFuzzer's coverage instrumentation
# through stable codegen flags (SanitizerCoverage, no AddressSanitizer: that one needs
# nightly), then each runs FUZZ_SMOKE_SECS seconds (default 15) from its committed seeds
# (`seeds/<target>/`) into a scratch corpus, FUZZ_SMOKE_JOBS targets at once (default: one
# per core; each target is one libFuzzer process on one core, so running them side by side
# gives each the same FUZZ_SMOKE_SECS of fuzzing in a fraction of the time). Exits non-zero,
# naming the target and showing its crash, when any target crashes, leaks past the RSS limit
# or times out.
#
#   fuzz/smoke.sh                  # every target
#   fuzz/smoke.sh inspect load_str # some
#   fuzz/smoke.sh --build-only     # only build them (`.ci/run` starts this early, at nice 19)
#
# The build has no debug information (CARGO_PROFILE_DEV_DEBUG=0, a quarter less to compile and
# link): a crash's stack still names every function (from the symbol table), and the crashing
# input kept in artifacts/ replays under a build with line numbers.
#
# Crashing inputs are kept in `target/smoke/artifacts/<target>/`; replay one with
# `fuzz/target/smoke/<host triple>/debug/<target> <file>` (or `cargo +nightly fuzz run <target> <file>`).
set -euo pipefail
cd "$(dirname "$0")"
build_only=0
if [ "${1:-}" = "--build-only" ]; then
  build_only=1
  shift
fi
secs=${FUZZ_SMOKE_SECS:-15}
jobs=${FUZZ_SMOKE_JOBS:-$(nproc)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/smoke}
# A clean clone builds once: incremental state would only cost time and disk.
export CARGO_INCREMENTAL=0
# No debug information (see above); the profile in Cargo.toml keeps line tables for other builds.
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-0}

# The longest input each target is given (as in the campaigns; README.md).
declare -A max_len=(
  [parse_yaml]=16384 [parse_json]=16384 [load_str]=16384 [normalize_path]=1024
  [router_lookup]=1024 [gateway_params]=4096 [gateway_body]=8192 [gateway_config]=16384
  [gateway_apikeys]=4096 [gateway_jwt]=4096 [inspect]=8192 [gateway_response]=8192
  [gateway_decompress]=8192 [gateway_admin_query]=1024 [discover_logs]=8192
  [scan_answers]=8192
)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^portcullis-fuzz$')
fi
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "fuzz smoke: no max_len for target $t (add it above)" >&2; exit 2; }
  [ -d "seeds/$t" ] || { echo "fuzz smoke: target $t has no seeds/$t/" >&2; exit 2; }
done

# What cargo-fuzz passes for `--sanitizer none`, all stable codegen options.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions"
# An explicit --target keeps these flags off build scripts and proc macros (as cargo-fuzz does).
host=$(rustc -vV | sed -n 's/^host: //p')
started=$(date +%s)
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --locked --target "$host" "${bins[@]}"
echo "fuzz smoke: built in $(( $(date +%s) - started ))s"
if [ "$build_only" -eq 1 ]; then
  exit 0
fi
bindir="$CARGO_TARGET_DIR/$host/debug"

# One target: its libFuzzer run, log in artifacts/<target>.log, exit status in the scratch dir.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run_one() {
  local t=$1
  local log="$CARGO_TARGET_DIR/artifacts/$t.log"
  mkdir -p "$scratch/$t" "$CARGO_TARGET_DIR/artifacts/$t"
  local status=0
  "$bindir/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
    -max_len="${max_len[$t]}" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$CARGO_TARGET_DIR/artifacts/$t/" "$scratch/$t" "seeds/$t" >"$log" 2>&1 || status=$?
  echo "$status" >"$scratch/$t.status"
}
running=()
for t in "${targets[@]}"; do
  # At most $jobs at once: wait for one to end (bounded: each stops after $secs seconds,
  # or after -timeout on one input).
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_one "$t" &
  running+=("$!")
done
for pid in "${running[@]}"; do wait "$pid" || true; done

failed=()
for t in "${targets[@]}"; do
  log="$CARGO_TARGET_DIR/artifacts/$t.log"
  if [ "$(cat "$scratch/$t.status" 2>/dev/null)" = "0" ]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz smoke: $t ok (${runs:-?} runs in ${secs}s)"
  else
    echo "fuzz smoke: $t FAILED; the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    failed+=("$t")
  fi
done
echo "fuzz smoke: $(( $(date +%s) - started ))s in all ($jobs targets at once)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke: crashed: ${failed[*]}" >&2
  exit 1
fi

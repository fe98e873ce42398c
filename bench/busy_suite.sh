#!/usr/bin/env bash
# Runs the test suite while the machine is kept busy, to check that it gives the same answer on
# a loaded machine (issue 29): a CPU burner per core (a shell busy loop, at normal priority, so
# the tests and the gateways they start compete for every core), then `cargo test` RUNS times,
# stopping at the first run that fails and naming its failing tests.
#
#   bench/busy_suite.sh                      # the whole suite (the README's command), 3 runs
#   RUNS=5 bench/busy_suite.sh               # 5 runs in a row
#   bench/busy_suite.sh -p portcullis        # only the gateway's end-to-end tests (crates/cli)
#   bench/busy_suite.sh -p portcullis --test timeouts_e2e -- an_answer   # one test
#
# Arguments replace `--workspace` in `cargo test --workspace --no-fail-fast`. Settings (env):
#   RUNS=3          runs in a row; stops at the first failure
#   BURNERS=<cores> busy loops beside the tests (nproc by default)
#   RUN_LIMIT=2400  seconds one run may take before `timeout` ends it (counted as a failure)
#   LOGS=<dir>      where each run's log goes (a new directory under /tmp by default)
# The suite is built first, without the burners. Every burner is bounded in time too and
# killed when the script exits, however it exits. Exit status: 0 when every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
burners=${BURNERS:-$(nproc)}
run_limit=${RUN_LIMIT:-2400}
logs=${LOGS:-$(mktemp -d /tmp/busy-suite.XXXXXX)}
mkdir -p "$logs"
# cargo's arguments, and the test binaries' own (after `--`: a test name filter...).
cargo_args=()
test_args=()
while [ "$#" -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    test_args=("$@")
    break
  fi
  cargo_args+=("$1")
  shift
done
[ "${#cargo_args[@]}" -gt 0 ] || cargo_args=(--workspace)
command=(cargo test --no-fail-fast "${cargo_args[@]}")

pids=()
stop_burners() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_burners EXIT
trap 'exit 130' INT TERM

echo "== building: ${command[*]} --no-run"
echo "== then $runs runs of: ${command[*]} -- ${test_args[*]}"
"${command[@]}" --no-run >"$logs/build.log" 2>&1 || {
  tail -30 "$logs/build.log"
  echo "the build failed (log: $logs/build.log)"
  exit 1
}

# Each burner stops by itself after every run could have taken its limit, should the trap
# never run (the script killed with SIGKILL).
burner_limit=$((runs * run_limit + 60))
for _ in $(seq "$burners"); do
  timeout "$burner_limit" bash -c 'while :; do :; done' &
  pids+=("$!")
done
echo "== $burners CPU burners running (pids ${pids[*]}, at most ${burner_limit}s); logs in $logs"

for run in $(seq "$runs"); do
  log="$logs/run-$run.log"
  started=$(date +%s)
  set +e
  timeout --kill-after=30 "$run_limit" "${command[@]}" -- "${test_args[@]}" >"$log" 2>&1
  status=$?
  set -e
  took=$(($(date +%s) - started))
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  set +e
  summary=$(.ci/run --summary "$log")
  counted=$?
  set -e
  echo "== run $run of $runs: ${took}s, load average $load, cargo status $status: $(tail -1 <<<"$summary")"
  if [ "$status" -eq 124 ]; then
    echo "   timed out after ${run_limit}s"
  fi
  if [ "$status" -ne 0 ] || [ "$counted" -ne 0 ]; then
    echo "$summary"
    echo "== run $run FAILED; stopped (log: $log)"
    exit 1
  fi
done
echo "== $runs runs passed in a row under $burners CPU burners"

#!/usr/bin/env bash
# Context switches per request, per gateway thread: a cost that instruction counts
# (instructions.sh) cannot see, since the kernel does the switching. Each binary given serves
# `route` (run.sh's (c), with its config: routing only, decision log off) in front of bench/src/bin/upstream.rs
# under `wrk -t2 -c64` (by default) for DURATION; each thread's voluntary and involuntary switches over
# the measured run (from /proc/PID/task/*/status) are divided by the requests served.
# A thread that is woken once per request (voluntary ~1/req) also preempts the workers
# (their involuntary switches rise): that was the observation dispatcher before 2 ms ticks.
#
#   bench/gateway/switches.sh /tmp/portcullis-before /tmp/portcullis-after
#   (env: DURATION=5s CONNECTIONS=64 THREADS=2 BASE_PORT=19080; the upstream binary from ${CARGO_TARGET_DIR:-target}/release,
#    built with `cargo build --release -p portcullis-bench --bin upstream --bin jwt_bench`: run.sh makes the fixtures)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BASE_PORT=${BASE_PORT:-19080}
up_port=$BASE_PORT gw_port=$((BASE_PORT + 2))
upstream="${CARGO_TARGET_DIR:-$root/target}/release/upstream"
[ -x "$upstream" ] || { echo "build the upstream first: cargo build --release -p portcullis-bench --bin upstream" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ "$#" -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 1; }

# Fixtures (spec, configs) from run.sh, which runs no scenario here; its route.yaml listens on
# BASE_PORT + 2 and forwards to BASE_PORT.
work=$(SCENARIOS=" " TOKENS=1 BASE_PORT=$BASE_PORT NO_BUILD=1 "$root/bench/gateway/run.sh" 2>/dev/null |
  sed -n 's/^(raw wrk output and configs: \(.*\))$/\1/p')
[ -d "$work" ] || { echo "run.sh made no fixtures" >&2; exit 1; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_port() { # port
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}
"$upstream" "127.0.0.1:$up_port" >/dev/null &
pids+=($!)
wait_port "$up_port"

# thread name, voluntary and involuntary switches, one line per thread in thread-id order
snapshot() { # pid
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm")" \
      "$(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v, n }' "$t/status")"
  done | sort -n
}
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  wrk -t$THREADS -c$CONNECTIONS -d$DURATION  load: $(cut -d' ' -f1-3 /proc/loadavg)"
for bin in "$@"; do
  RUST_LOG=warn "$bin" serve --config "$work/route.yaml" >"$work/gw.log" 2>&1 &
  gw=$!
  pids+=("$gw")
  wait_port "$gw_port" || { cat "$work/gw.log" >&2; exit 1; }
  timeout 30 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$gw_port/items" >/dev/null
  snapshot "$gw" >"$work/before"
  out=$(timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$gw_port/items")
  snapshot "$gw" >"$work/after"
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  echo "$bin: $requests requests, $(awk '/Requests\/sec/ { print $2 }' <<<"$out") req/s"
  join "$work/before" "$work/after" | awk -v r="$requests" '
    { printf "  %-20s voluntary/req %.3f  involuntary/req %.3f\n", $2, ($6 - $3) / r, ($7 - $4) / r }'
  kill "$gw"
  wait "$gw" 2>/dev/null || true
  while (exec 3<>"/dev/tcp/127.0.0.1/$gw_port") 2>/dev/null; do sleep 0.05; done
done

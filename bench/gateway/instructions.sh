#!/usr/bin/env bash
# User-space instructions per proxied request, counted by valgrind (cachegrind, no cache
# simulation): a figure that a noisy shared machine cannot move, unlike req/s (this 2-core
# VM's host swings wrk runs by 15-30%) and unlike hardware counters (absent in the VM).
# It counts work, not time: memory stalls, system calls and scheduling are not in it, so it
# ranks changes to the gateway's own code; run.sh and pairs.sh give the throughput.
#
# For each binary and scenario: the gateway is started under cachegrind twice, once with no
# traffic (start-up and shutdown) and once under wrk -t1 -c$CONNECTIONS (16 by default) for DURATION; the difference
# divided by the requests served is the cost per request. Scenarios are run.sh's configs:
#   route      GET /items, routing only          validate   POST /items with a JSON body
#   inventory  route with the admin API, the inventory and the detectors on (issue 25)
#   jwt_cache  GET /secure/items, cached RS256   limit_memory  route plus a memory rate limit
#   protect    validate plus the threat checks and every response check (issue 24)
#   bare       route's GET through bench/src/bin/bare_proxy.rs (a bare hyper proxy shaped like
#              the gateway): the hyper and tokio floor under route, measured once (its binary
#              is target/release/bare_proxy, whatever binaries are given)
#
# Usage: bench/gateway/instructions.sh [portcullis-binary...]
#        (default $CARGO_TARGET_DIR/release/portcullis, else target/release; env: NO_BUILD=1
#         as run.sh, SCENARIOS="route validate" DURATION=10s CONNECTIONS=16
#         BASE_PORT=18080)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
SCENARIOS=${SCENARIOS:-"route validate"}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
BASE_PORT=${BASE_PORT:-18080}
GW_PORT=$((BASE_PORT + 2))

if ! command -v valgrind >/dev/null; then
  echo "installing valgrind" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends valgrind >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind >/dev/null; }
fi

# Fixtures (spec, configs, wrk scripts, one token) from run.sh, which runs no scenario here.
work=$(SCENARIOS=" " TOKENS=1 BASE_PORT=$BASE_PORT "$root/bench/gateway/run.sh" 2>/dev/null |
  sed -n 's/^(raw wrk output and configs: \(.*\))$/\1/p')
[ -d "$work" ] || { echo "run.sh made no fixtures" >&2; exit 1; }
# The release binaries run.sh builds (NO_BUILD=1: those already in $CARGO_TARGET_DIR/release).
reldir="${CARGO_TARGET_DIR:-$root/target}/release"
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("$reldir/portcullis")

"$reldir/upstream" "127.0.0.1:$BASE_PORT" >/dev/null &
up_pid=$!
trap 'kill $up_pid 2>/dev/null || true' EXIT

# measure binary config script duration -> "requests instructions"
measure() {
  local out="$work/cachegrind.out" n=0 gw
  rm -f "$out"
  local command=("$1" serve --config "$work/$2.yaml")
  [ "$2" = bare ] && command=("$1" "127.0.0.1:$GW_PORT" "127.0.0.1:$BASE_PORT" 2)
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
    "${command[@]}" >"$work/cachegrind.log" 2>&1 &
  gw=$!
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break
    sleep 0.05
  done
  if [ "$4" != 0 ]; then
    n=$(timeout 120 wrk -t1 -c"$CONNECTIONS" -d"$4" -s "$work/$3" "http://127.0.0.1:$GW_PORT" |
      sed -n 's/.* requests=\([0-9]*\).*/\1/p')
  fi
  kill -TERM "$gw"
  wait "$gw" 2>/dev/null || true
  echo "$n $(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$out")"
}

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- crates || echo '+local changes')  wrk -t1 -c$CONNECTIONS -d$DURATION"
echo "| scenario | binary | requests | instructions per request |"
echo "|---|---|---:|---:|"
for scenario in $SCENARIOS; do
  case $scenario in
    route) config=route script=get.lua ;;
    inventory) config=inventory script=get.lua ;;
    validate) config=validate script=post.lua ;;
    protect) config=protect script=post.lua ;;
    jwt_cache) config=jwt script=jwt_cache.lua ;;
    limit_memory) config=limit_memory script=get.lua ;;
    bare) config=bare script=get.lua ;;
    *) echo "unknown scenario $scenario" >&2; exit 1 ;;
  esac
  runs=("${binaries[@]}")
  [ "$scenario" = bare ] && runs=("$reldir/bare_proxy")
  for bin in "${runs[@]}"; do
    read -r _ idle < <(measure "$bin" "$config" "$script" 0)
    read -r n busy < <(measure "$bin" "$config" "$script" "$DURATION")
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then
      echo "| $scenario | $bin | 0 | - |"
      continue
    fi
    echo "| $scenario | $bin | $n | $(( (busy - idle) / n )) |"
  done
done
echo "(configs and cachegrind output: $work)"

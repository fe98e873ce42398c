#!/usr/bin/env bash
# Soak test of `portcullis serve` (issue 28): mixed load (benign, hostile, valid and invalid
# reloads, Redis restarts) for DURATION seconds through the real binary on 127.0.0.1, its RSS
# sampled every SAMPLE seconds into a CSV. Fails (exit 1) when the gateway dies, an error
# happens that the run did not cause, or memory crosses its bound: the peak RSS over
# MAX_RSS_MIB, or a growth after the warm-up (first 10 % of the run) over MAX_GROWTH_MIB.
# The driver is bench/src/bin/soak/main.rs (its doc comment says exactly what is sent and checked).
#
#   bench/soak/run.sh                               # 30 minutes, debug build
#   DURATION=120 bench/soak/run.sh                  # the 2-minute version .ci/run runs
#   SOAK_PREBUILT=1 bench/soak/run.sh               # the debug binaries as they are (no build)
#   PROFILE=release DURATION=1800 nice -n 19 bench/soak/run.sh
#
# Needs redis-server. Results: OUT (default target/soak), soak.csv and the driver's report.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-1800}"
SAMPLE="${SAMPLE:-2}"
PROFILE="${PROFILE:-debug}"
MAX_RSS_MIB="${MAX_RSS_MIB:-256}"
MAX_GROWTH_MIB="${MAX_GROWTH_MIB:-32}"
OUT="${OUT:-target/soak}"

command -v redis-server >/dev/null || { echo "error: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }

if [ "$PROFILE" = "release" ]; then
  cargo build --locked --release -p portcullis -p portcullis-bench --bin portcullis --bin soak
  dir="${CARGO_TARGET_DIR:-target}/release"
elif [ "${SOAK_PREBUILT:-0}" = "1" ]; then
  # As `cargo test --workspace` built them (.ci/run): a `cargo build` here would build the
  # gateway and every crate on tokio again, without the tests' features (tokio's test-util).
  dir="${CARGO_TARGET_DIR:-target}/debug"
  for b in portcullis soak; do
    [ -x "$dir/$b" ] || { echo "error: SOAK_PREBUILT=1 but $dir/$b is not built (cargo test --workspace builds it)" >&2; exit 1; }
  done
else
  cargo build --locked -p portcullis -p portcullis-bench --bin portcullis --bin soak
  dir="${CARGO_TARGET_DIR:-target}/debug"
fi

mkdir -p "$OUT"
rm -rf "$OUT/work"
echo "soak: $PROFILE build, ${DURATION}s, RSS sampled every ${SAMPLE}s into $OUT/soak.csv"
"$dir/soak" --bin "$dir/portcullis" --dir "$OUT/work" --csv "$OUT/soak.csv" \
  --duration "$DURATION" --sample "$SAMPLE" \
  --max-rss-mib "$MAX_RSS_MIB" --max-growth-mib "$MAX_GROWTH_MIB"

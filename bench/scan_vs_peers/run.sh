#!/usr/bin/env bash
# `portcullis scan` beside Schemathesis and OFFAT, against the demo bank and VAmPI, in one run:
# true and false positives per tool and per planted flaw (classify.py says how claims are read).
#
#   bench/scan_vs_peers/run.sh /path/to/VAmPI [path/to/portcullis]
#
# VAmPI: `git clone https://github.com/erev0s/VAmPI` (never commit it; measured at 1713b54). Its
# requirements go into VAMPI_VENV (default <VAmPI>/../vampi-venv, as bench/scan_vampi.sh). The
# peers are installed from PyPI into PEERS_VENV (default <VAmPI>/../peers-venv) on the first run,
# at the versions measured (SCHEMATHESIS, OFFAT). Each tool gets a fresh target (the bank
# restarted, VAmPI's /createdb), a fresh token of the first user, `timeout` (LIMIT seconds, 600)
# and `prlimit --as` (MEM bytes, 4 GB). Everything listens on 127.0.0.1. Results go to OUT
# (default a new directory under /tmp), the table to stdout.
set -euo pipefail

VAMPI=$(cd "${1:?usage: run.sh /path/to/VAmPI [portcullis]}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${2:-$ROOT/target/debug/portcullis}
VAMPI_VENV=${VAMPI_VENV:-$(dirname "$VAMPI")/vampi-venv}
PEERS_VENV=${PEERS_VENV:-$(dirname "$VAMPI")/peers-venv}
SCHEMATHESIS=${SCHEMATHESIS:-4.32.5}
OFFAT=${OFFAT:-0.19.4}
LIMIT=${LIMIT:-600}
MEM=${MEM:-4000000000}
OUT=${OUT:-$(mktemp -d /tmp/scan-vs-peers.XXXXXX)}
[ -x "$BIN" ] || { echo "no portcullis binary at $BIN (cargo build -p portcullis)" >&2; exit 2; }

if [ ! -x "$VAMPI_VENV/bin/python" ]; then
  python3 -m venv "$VAMPI_VENV" && "$VAMPI_VENV/bin/pip" install -q -r "$VAMPI/requirements.txt"
fi
if [ ! -x "$PEERS_VENV/bin/st" ] || [ ! -x "$PEERS_VENV/bin/offat" ]; then
  python3 -m venv "$PEERS_VENV" && "$PEERS_VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS" "offat==$OFFAT"
fi
echo "schemathesis $("$PEERS_VENV/bin/st" --version | awk '{print $NF}'), offat $("$PEERS_VENV/bin/pip" show offat | awk '/^Version/ {print $2}'), portcullis $("$BIN" --version | awk '{print $NF}')"

PID=""
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
trap 'stop' EXIT
capped() { timeout "$LIMIT" prlimit --as="$MEM" "$@"; }
wait_http() { for _ in $(seq 1 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; return 1; }
token() { curl -fsS "$1" -H 'content-type: application/json' -d "$2" | "$PEERS_VENV/bin/python" -c "import json,sys; print(json.load(sys.stdin)['$3'])"; }

# --- the demo bank ---------------------------------------------------------------------------
start_bank() {
  "$BIN" demo >"$OUT/bank/demo.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 150); do grep -q "unprotected bank" "$OUT/bank/demo.log" 2>/dev/null && break; sleep 0.2; done
  BANK=$(awk '/unprotected bank/ {print $3}' "$OUT/bank/demo.log")
  wait_http "$BANK/documents" || true
  TOKEN=$(token "$BANK/auth/login" '{"username":"alice","password":"alice-demo-pw"}' access_token)
}
mkdir -p "$OUT/bank" "$OUT/vampi"
cp "$ROOT/examples/demo/bank.yaml" "$OUT/bank/spec.yaml"
# Every row of the ground truth a rule covers, `safe: false` ones included (the peers send
# updates too, so portcullis runs with safe: false here); uncovered rows are listed as `-`.
awk -F'\t' '!/^#/ && NF==3 { if ($2 != "-") print $1"\t"$2"\t"$3; else if ($3 ~ /^safe:false /) { split($3, a, " "); print $1"\t"a[2]"\t"a[3] } else print $1"\t-\t-" }' \
  "$ROOT/examples/demo/scan-ground-truth.tsv" >"$OUT/bank/flaws.tsv"
sed 's/safe: true/safe: false/' "$ROOT/examples/demo/scan.yaml" >"$OUT/bank/scan.yaml"

start_bank
s=$(date +%s.%N); capped "$BIN" scan --target "$BANK" --spec "$OUT/bank/spec.yaml" --config "$OUT/bank/scan.yaml" --format json --fail-on critical >"$OUT/bank/portcullis.json" 2>"$OUT/bank/portcullis.err" || true
echo "bank: portcullis $(tail -1 "$OUT/bank/portcullis.err") in $(echo "$(date +%s.%N) - $s" | bc) s"; stop
start_bank
s=$(date +%s.%N); capped "$PEERS_VENV/bin/st" run "$OUT/bank/spec.yaml" --url "$BANK" -H "Authorization: Bearer $TOKEN" --checks all --max-examples 20 --seed 1 --request-timeout 5 --report ndjson --report-ndjson-path "$OUT/bank/schemathesis.ndjson" >"$OUT/bank/schemathesis.txt" 2>&1 || true
echo "bank: schemathesis in $(echo "$(date +%s.%N) - $s" | bc) s ($(tail -1 "$OUT/bank/schemathesis.txt" | tr -d '='))"; stop
start_bank
s=$(date +%s.%N); capped "$PEERS_VENV/bin/offat" -f "$OUT/bank/spec.yaml" --server "$BANK" -H "Authorization: Bearer $TOKEN" -o "$OUT/bank/offat.json" -of json -rl 100 >"$OUT/bank/offat.txt" 2>&1 || true
echo "bank: offat in $(echo "$(date +%s.%N) - $s" | bc) s"; stop

# --- VAmPI, vulnerable=1 -----------------------------------------------------------------------
copy="$OUT/vampi/app"
mkdir -p "$copy"
(cd "$VAMPI" && tar --exclude=.git --exclude='database/*.db' -cf - .) | (cd "$copy" && tar -xf -)
cp "$copy/openapi_specs/openapi3.yml" "$OUT/vampi/spec.yaml"
grep -v '^#' "$ROOT/bench/scan_vampi/expected.tsv" | cut -f1-3 >"$OUT/vampi/flaws.tsv"
cp "$HERE/vampi-also-real.tsv" "$OUT/vampi/also-real.tsv"
port=$("$VAMPI_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VAMPI_URL="http://127.0.0.1:$port"
(cd "$copy" && vulnerable=1 PORT=$port exec "$VAMPI_VENV/bin/python" -c \
  'import os, config; config.vuln_app.run(host="127.0.0.1", port=int(os.environ["PORT"]), debug=True, use_reloader=False)' \
  >"$OUT/vampi/app.log" 2>&1) &
PID=$!
wait_http "$VAMPI_URL/" || { echo "VAmPI did not start: $OUT/vampi/app.log" >&2; exit 1; }
fresh_vampi() {
  curl -fsS -o /dev/null "$VAMPI_URL/createdb"
  TOKEN=$(token "$VAMPI_URL/users/v1/login" '{"username":"name1","password":"pass1"}' auth_token)
}
fresh_vampi
s=$(date +%s.%N); capped "$BIN" scan --target "$VAMPI_URL" --spec "$OUT/vampi/spec.yaml" --config "$ROOT/bench/scan_vampi/scan.yaml" --format json --fail-on critical >"$OUT/vampi/portcullis.json" 2>"$OUT/vampi/portcullis.err" || true
echo "vampi: portcullis $(tail -1 "$OUT/vampi/portcullis.err") in $(echo "$(date +%s.%N) - $s" | bc) s"
fresh_vampi
s=$(date +%s.%N); capped "$PEERS_VENV/bin/st" run "$OUT/vampi/spec.yaml" --url "$VAMPI_URL" -H "Authorization: Bearer $TOKEN" --checks all --max-examples 20 --seed 1 --request-timeout 5 --report ndjson --report-ndjson-path "$OUT/vampi/schemathesis.ndjson" >"$OUT/vampi/schemathesis.txt" 2>&1 || true
echo "vampi: schemathesis in $(echo "$(date +%s.%N) - $s" | bc) s ($(tail -1 "$OUT/vampi/schemathesis.txt" | tr -d '='))"
fresh_vampi
s=$(date +%s.%N); capped "$PEERS_VENV/bin/offat" -f "$OUT/vampi/spec.yaml" --server "$VAMPI_URL" -H "Authorization: Bearer $TOKEN" -o "$OUT/vampi/offat.json" -of json -rl 100 >"$OUT/vampi/offat.txt" 2>&1 || true
echo "vampi: offat in $(echo "$(date +%s.%N) - $s" | bc) s"
stop

"$PEERS_VENV/bin/python" "$HERE/classify.py" "$OUT"
echo "raw results: $OUT"

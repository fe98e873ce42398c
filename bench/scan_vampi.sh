#!/usr/bin/env bash
# `portcullis scan` against VAmPI, the public deliberately vulnerable API, in both of its modes:
# for each of VAmPI's nine documented flaws (bench/scan_vampi/expected.tsv), found or missed,
# plus every other finding, the requests sent and the seconds taken.
#
#   bench/scan_vampi.sh /path/to/VAmPI [path/to/portcullis]
#
# Get VAmPI (never commit it; the measured commit is 1713b54):
#   git clone https://github.com/erev0s/VAmPI /tmp/VAmPI
# Its requirements go into a virtual environment next to it (VENV, default
# <VAmPI>/../vampi-venv), created on the first run with `python3 -m venv` and pip. Each mode
# runs on a fresh copy of the checkout (its SQLite file is created by /createdb), served by
# VAmPI's own app on 127.0.0.1 with debug on as app.py ships it; only host and port differ.
# The binary defaults to target/debug/portcullis (built with `cargo build -p portcullis`).
set -euo pipefail

VAMPI=${1:?usage: bench/scan_vampi.sh /path/to/VAmPI [portcullis binary]}
VAMPI=$(cd "$VAMPI" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=${2:-$ROOT/target/debug/portcullis}
VENV=${VENV:-$(dirname "$VAMPI")/vampi-venv}
[ -x "$BIN" ] || { echo "no portcullis binary at $BIN (cargo build -p portcullis)" >&2; exit 2; }
[ -f "$VAMPI/openapi_specs/openapi3.yml" ] || { echo "$VAMPI is not a VAmPI checkout" >&2; exit 2; }

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$VAMPI/requirements.txt"
fi

WORK=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

status=0
for mode in 1 0; do
  copy="$WORK/vampi-$mode"
  mkdir -p "$copy"
  (cd "$VAMPI" && tar --exclude=.git --exclude='database/*.db' -cf - .) | (cd "$copy" && tar -xf -)
  port=$(free_port)
  (cd "$copy" && vulnerable=$mode PORT=$port exec "$VENV/bin/python" -c \
    'import os, config; config.vuln_app.run(host="127.0.0.1", port=int(os.environ["PORT"]), debug=True, use_reloader=False)' \
    >"$WORK/vampi-$mode.log" 2>&1) &
  PID=$!
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/createdb" || { echo "VAmPI (vulnerable=$mode) did not start; log: $WORK/vampi-$mode.log" >&2; cat "$WORK/vampi-$mode.log" >&2; exit 1; }
  start=$(date +%s.%N)
  set +e
  "$BIN" scan --target "http://127.0.0.1:$port" --spec "$copy/openapi_specs/openapi3.yml" \
    --config "$HERE/scan_vampi/scan.yaml" --format json --fail-on critical \
    >"$WORK/report-$mode.json" 2>"$WORK/stderr-$mode.txt"
  code=$?
  set -e
  end=$(date +%s.%N)
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
  if [ "$code" -gt 1 ]; then echo "scan failed (exit $code):" >&2; cat "$WORK/stderr-$mode.txt" >&2; exit 1; fi
  "$VENV/bin/python" - "$HERE/scan_vampi/expected.tsv" "$WORK/report-$mode.json" "$WORK/stderr-$mode.txt" "$mode" "$start" "$end" <<'PY' || status=1
import json, re, sys
expected_path, report_path, stderr_path, mode, start, end = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(expected_path) if l.strip() and not l.startswith("#")]
findings = json.load(open(report_path))["findings"]
stderr = open(stderr_path).read()
m = re.search(r"(\d+) requests to ", stderr)
requests = int(m.group(1)) if m else -1
def matches(f, rule, op):
    return f["rule"] == rule and (op == "-" or f["location"].get("operation") == op)
print(f"== VAmPI vulnerable={mode}: {requests} requests, {float(end) - float(start):.1f} s")
ok, used = True, set()
for flaw, rule, op, kept in rows:
    hit = [i for i, f in enumerate(findings) if matches(f, rule, op)]
    used.update(hit)
    should = mode == "1" or kept == "yes"
    verdict = ("found" if hit else "MISSED") if should else ("not reported (correct)" if not hit else "REPORTED (false positive)")
    ok &= bool(hit) == should
    print(f"  {flaw:45s} {rule:20s} {verdict}")
for i, f in enumerate(findings):
    if i not in used:
        where = f["location"].get("operation") or f["location"].get("url")
        print(f"  other: {f['rule']} {f['severity']} {where}: {f['message'][:110]}")
print("  result:", "as expected" if ok else "NOT as expected")
sys.exit(0 if ok else 1)
PY
done
exit $status

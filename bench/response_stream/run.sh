#!/usr/bin/env bash
# Memory of the response checks on a large streamed answer: an upstream on 127.0.0.1 streams
# SIZE_MB of JSON (chunked, no length) and `portcullis serve` (response checks on, max_inspect
# 1 MiB) passes it to curl; the gateway's peak RSS (VmHWM) is printed with the bytes received.
# The answer is over max_inspect, so the gateway sends what it read and streams the rest:
# its memory must stay near its idle size whatever SIZE_MB is.
#
# Usage: bench/response_stream/run.sh   (env: BIN=target/release/portcullis SIZE_MB=100)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$root/target/release/portcullis}
SIZE_MB=${SIZE_MB:-100}
work=$(mktemp -d /tmp/portcullis-stream.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); GW=$(free_port)
cat >"$work/upstream.py" <<PY
import http.server, socketserver
CHUNK = (b'"' + b"x" * 65530 + b'",')
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        def chunk(b):
            self.wfile.write(b"%x\r\n" % len(b) + b + b"\r\n")
        chunk(b"[")
        for _ in range($SIZE_MB * 16):
            chunk(CHUNK)
        chunk(b'"end"]')
        self.wfile.write(b"0\r\n\r\n")
    def log_message(self, *a): pass
socketserver.TCPServer.allow_reuse_address = True
http.server.HTTPServer(("127.0.0.1", $UP), H).serve_forever()
PY
python3 "$work/upstream.py" & pids+=($!)
cat >"$work/spec.yaml" <<'SPEC'
openapi: 3.0.3
info: { title: stream, version: '1' }
paths:
  /big:
    get:
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: array, items: { type: string } } } } }
SPEC
cat >"$work/gw.yaml" <<CONF
server: { listen: 127.0.0.1:$GW }
log: { decisions: "off" }
apis:
  - name: s
    spec: spec.yaml
    upstream: http://127.0.0.1:$UP
    response: { validate: log, undeclared_fields: strip, sensitive_data: mask, max_inspect: 1MiB }
CONF
"$BIN" serve --config "$work/gw.yaml" 2>"$work/gw.log" & gw=$!; pids+=($gw)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$GW") 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$UP") 2>/dev/null && break; sleep 0.1; done
idle=$(awk '/VmRSS/ {print $2}' "/proc/$gw/status")
start=$(date +%s.%N)
bytes=$(timeout 300 curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$GW/big")
secs=$(echo "$(date +%s.%N) - $start" | bc)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status")
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git -C "$root" rev-parse --short HEAD)  binary: $BIN"
echo "streamed ${SIZE_MB} MB answer: received $bytes bytes in ${secs}s; gateway RSS idle $((idle / 1024)) MiB, peak $((peak / 1024)) MiB"

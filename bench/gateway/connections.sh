#!/usr/bin/env bash
# Memory per open client connection (what `server.max_connections` bounds): N kept-alive
# HTTP/1.1 connections, each having made one request and then idle, held open against
#   nginx        nginx as the same reverse proxy (keep-alive upstream pool), all its processes
#   bare         bench/src/bin/bare_proxy.rs, a bare hyper 1.x proxy: hyper's own floor
#   portcullis   the gateway routing the same GET
# in one run, same upstream. Reports the growth of resident memory (VmRSS, summed over nginx's
# processes) per connection, and the ratio. Both keep idle connections for 120 s (nginx's
# keepalive_timeout, the gateway's header_timeout), longer than the run.
#
# Usage: bench/gateway/connections.sh   (env: CONNECTIONS=5000 BASE_PORT=18090)
# Needs python3 (the client) and nginx (installed with apt-get when missing, as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CONNECTIONS=${CONNECTIONS:-5000}
BASE_PORT=${BASE_PORT:-18090}
UP_PORT=$BASE_PORT
NGINX_PORT=$((BASE_PORT + 1))
GW_PORT=$((BASE_PORT + 2))
BARE_PORT=$((BASE_PORT + 3))

command -v nginx >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends nginx-light >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null; }
}
command -v python3 >/dev/null || { echo "python3 is needed for the client" >&2; exit 1; }
cargo build --release -q -p portcullis -p portcullis-bench --bin portcullis --bin upstream --bin bare_proxy
ulimit -n $((CONNECTIONS * 2 + 1024))

work=$(mktemp -d /tmp/portcullis-connections-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

cat >"$work/spec.yaml" <<'SPEC'
openapi: 3.0.3
info: { title: bench, version: "1" }
paths:
  /items: { get: { responses: { "200": { description: ok } } } }
SPEC
cat >"$work/gateway.yaml" <<CONF
server:
  listen: 127.0.0.1:$GW_PORT
  max_connections: $((CONNECTIONS + 100))
  limits: { header_timeout: 120s }
log:
  decisions: "off"
apis:
  - name: bench
    spec: spec.yaml
    upstream: http://127.0.0.1:$UP_PORT
CONF
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections $((CONNECTIONS + 1024)); }
http {
  access_log off;
  keepalive_timeout 120s;
  keepalive_requests 100000;
  upstream up { server 127.0.0.1:$UP_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
cat >"$work/client.py" <<'PY'
# Opens N connections to 127.0.0.1:PORT, one GET each (answer read), then holds them; prints
# the VmRSS growth (KiB, summed over PIDS) once all are answered and idle.
import socket, sys, time
port, n, pids = int(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3].split(",")]
def rss():
    total = 0
    for pid in pids:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS"):
                total += int(line.split()[1])
    return total
before = rss()
request = b"GET /items HTTP/1.1\r\nhost: bench\r\n\r\n"
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    socks.append(s)
for s in socks:
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"connection closed before its answer ({len(socks)} open)")
        got += chunk
time.sleep(1)
print(before, rss())
PY

"$root/target/release/upstream" "127.0.0.1:$UP_PORT" >/dev/null 2>&1 &
pids+=($!)
nginx -c "$work/nginx.conf" -g 'daemon off;' 2>>"$work/nginx-error.log" &
pids+=($!)
"$root/target/release/portcullis" serve --config "$work/gateway.yaml" 2>"$work/gateway.log" &
gw=$!
pids+=($gw)
"$root/target/release/bare_proxy" "127.0.0.1:$BARE_PORT" "127.0.0.1:$UP_PORT" 2 >/dev/null 2>&1 &
bare=$!
pids+=($bare)
sleep 1
# nginx's master and its workers (named "nginx: worker process", so found by parent).
master=$(pgrep -f "nginx -c $work/nginx.conf" | head -n1 || true)
[ -n "$master" ] || { echo "nginx did not start: $(cat "$work/nginx-error.log")" >&2; exit 1; }
nginx_pids="$master,$(pgrep -d, -P "$master")"

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git -C "$root" rev-parse --short HEAD)  connections: $CONNECTIONS"
echo "| proxy | RSS before MiB | RSS with the connections MiB | KiB per connection |"
echo "|---|---:|---:|---:|"
per=()
for row in "nginx $NGINX_PORT $nginx_pids" "bare $BARE_PORT $bare" "portcullis $GW_PORT $gw"; do
  read -r name port who <<<"$row"
  read -r before after < <(python3 "$work/client.py" "$port" "$CONNECTIONS" "$who")
  kib=$(( (after - before) * 10 / CONNECTIONS ))
  per+=("$kib")
  printf '| %s | %d.%d | %d.%d | %d.%d |\n' "$name" $((before / 1024)) $((before % 1024 * 10 / 1024)) \
    $((after / 1024)) $((after % 1024 * 10 / 1024)) $((kib / 10)) $((kib % 10))
done
if [ "${per[0]}" -gt 0 ] && [ "${per[1]}" -gt 0 ]; then
  to_nginx=$(( per[2] * 10 / per[0] ))
  echo "per connection: portcullis / nginx $((to_nginx / 10)).$((to_nginx % 10))x, portcullis / bare hyper $(( per[2] * 100 / per[1] ))%"
fi

#!/usr/bin/env bash
# Detection and cost of Portcullis's threat checks against Apache + ModSecurity + OWASP CRS
# (paranoia 1, blocking), on the same corpora (crates/inspect/corpus: the generated attack
# corpus and the benign corpus), each line sent as a query parameter and as a JSON field, in one
# run. Prints recall per kind, the false-positive rate and CPU microseconds per request (the WAF's
# processes only, read from /proc) side by side.
#
#   bench/detection_vs_crs/run.sh [PORTCULLIS_BINARY]   (default target/release/portcullis)
#
# Needs root for apt-get (Debian packages apache2, libapache2-mod-security2, modsecurity-crs) the
# first time, python3, and ports 18080-18082 on 127.0.0.1. Everything runs under `timeout`, the
# servers under `prlimit` (memory and open files); nothing listens beyond 127.0.0.1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/release/portcullis}
[ -x "$bin" ] || { echo "no portcullis binary at $bin (cargo build --release -p portcullis)" >&2; exit 2; }
work=$(mktemp -d /tmp/detection_vs_crs.XXXXXX)
up=18080 crs=18081 gw=18082
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$work/httpd.pid" ] && kill "$(cat "$work/httpd.pid")" 2>/dev/null || true; }
trap cleanup EXIT

if ! dpkg -s apache2 libapache2-mod-security2 modsecurity-crs >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q apache2 libapache2-mod-security2 modsecurity-crs >/dev/null
fi
crs_version=$(dpkg-query -W -f '${Version}' modsecurity-crs)
modsec_version=$(dpkg-query -W -f '${Version}' libapache2-mod-security2)

# The upstream both WAFs forward to.
timeout 1200 python3 "$here/drive.py" upstream $up & pids+=($!)

# Apache as a reverse proxy with ModSecurity (engine On) and CRS at its defaults: paranoia 1,
# anomaly scoring, blocking at an inbound score of 5.
sed -e 's/^SecRuleEngine .*/SecRuleEngine On/' -e 's/^SecAuditEngine .*/SecAuditEngine Off/' \
  /etc/modsecurity/modsecurity.conf-recommended > "$work/modsecurity.conf"
cp /etc/modsecurity/unicode.mapping "$work/"
mods=/usr/lib/apache2/modules
cat > "$work/httpd.conf" <<CONF
ServerRoot /etc/apache2
PidFile $work/httpd.pid
ErrorLog $work/error.log
LogLevel warn
Listen 127.0.0.1:$crs
ServerName 127.0.0.1
User www-data
Group www-data
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule unique_id_module $mods/mod_unique_id.so
LoadModule security2_module $mods/mod_security2.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
KeepAliveTimeout 30
MaxKeepAliveRequests 0
SecDataDir $work
SecTmpDir $work
Include $work/modsecurity.conf
SecAuditLog $work/audit.log
Include /usr/share/modsecurity-crs/owasp-crs.load
ProxyPass / http://127.0.0.1:$up/
CONF
chown www-data "$work"
timeout 1200 prlimit --as=4000000000 --nofile=4096 apache2 -f "$work/httpd.conf" -DFOREGROUND & pids+=($!)
apache=$!

# Portcullis in front of the same upstream, threats at paranoia 1, blocking.
cat > "$work/api.yaml" <<SPEC
openapi: 3.0.3
info: { title: bench, version: "1" }
paths:
  /search:
    get:
      operationId: search
      parameters: [{ name: q, in: query, schema: { type: string } }]
      responses: { "200": { description: ok } }
  /fetch:
    get:
      operationId: fetch
      parameters: [{ name: url, in: query, schema: { type: string } }]
      responses: { "200": { description: ok } }
  /items:
    post:
      operationId: createItem
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: { q: { type: string }, url: { type: string } }
      responses: { "200": { description: ok } }
SPEC
cat > "$work/gw.yaml" <<GW
server:
  listen: 127.0.0.1:$gw
apis:
  - name: bench
    spec: $work/api.yaml
    upstream: http://127.0.0.1:$up
    threats: { injection: block, ssrf: block, paranoia: 1 }
GW
timeout 1200 prlimit --as=4000000000 --nofile=4096 "$bin" serve --config "$work/gw.yaml" >"$work/gw.log" 2>&1 & pids+=($!)
gateway=$!

# Wait (bounded) until both answer.
for port in $crs $gw; do
  for _ in $(seq 1 100); do
    if python3 -c "import http.client,sys; c=http.client.HTTPConnection('127.0.0.1',$port,timeout=1); c.request('GET','/search?q=hello'); sys.exit(0 if c.getresponse().status==200 else 1)" 2>/dev/null; then break; fi
    sleep 0.1
  done
done

{
  timeout 900 python3 "$here/drive.py" send crs $crs "$apache"
  timeout 900 python3 "$here/drive.py" send portcullis $gw "$gateway"
} > "$work/results.tsv"

echo "Apache + ModSecurity $modsec_version + CRS $crs_version (paranoia 1, blocking) vs Portcullis $("$bin" --version 2>/dev/null | head -1) (threats paranoia 1, blocking)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -F'\t' '
  $3 == "cpu_us_per_request" { cpu[$1 FS $2] = $4; next }
  { hit[$1 FS $2 FS $3] = $4; n[$1 FS $2 FS $3] = $5; kinds[$3] = 1 }
  END {
    printf "%-10s %-6s %16s %16s\n", "kind", "mode", "CRS", "Portcullis"
    split("sqli xss cmd traversal ldap ssti nosql ssrf benign", order, " ")
    for (m = 1; m <= 2; m++) {
      mode = (m == 1) ? "query" : "json"
      for (i = 1; i <= 9; i++) {
        k = order[i]
        c = "crs" FS mode FS k; p = "portcullis" FS mode FS k
        label = (k == "benign") ? "benign FP" : k
        printf "%-10s %-6s %7d/%-4d %5.1f%% %7d/%-4d %5.1f%%\n", label, mode, hit[c], n[c], 100*hit[c]/(n[c]?n[c]:1), hit[p], n[p], 100*hit[p]/(n[p]?n[p]:1)
      }
      printf "%-10s %-6s %14s us %14s us\n", "cpu/req", mode, cpu["crs" FS mode], cpu["portcullis" FS mode]
    }
  }' "$work/results.tsv"
echo "(raw results: $work/results.tsv)"

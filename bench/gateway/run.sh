#!/usr/bin/env bash
# Gateway throughput (issues #5, #6, #7): wrk against the same upstream, in one run,
#   (a) direct            the upstream alone
#   (b) nginx             nginx as a plain reverse proxy (keep-alive upstream pool, no access log)
#   (c) route             Portcullis routing only (the spec documents the route; validation off)
#   (d) validate          Portcullis validating a JSON request body against the schema
#   (d') protect          (d) plus threat checks (injection, SSRF: block) on the body and the
#                         response checks (schema log, strip, sensitive-data mask, sanitizing,
#                         secure headers) on the answer
#   (e) jwt_cache         RS256 bearer token, the same token again (verified-token cache hits)
#   (f) jwt_nocache       RS256 bearer tokens cycled from more tokens than the cache holds, so
#                         every request pays a full signature check (the config has no switch to
#                         turn the cache off; `jwt_bench verify` measures the verifier alone)
#   (g) limit_memory      (c) plus a rate limit on the client IP, memory backend (never denies)
#   (h) limit_redis       the same limit with the Redis backend (a redis-server started here)
#   (i) inventory         (c) with the admin API and `detect` on: the inventory and the anomaly
#                         detectors fed by every observation (issue 25: cost >= 0.95x of route)
# and the baselines that send the same request as a row above, so that a ratio compares like
# with like:
#   nginx_post            nginx proxying (d)'s POST with its JSON body: the base of (d)
#   nginx_fwd             nginx doing the header work (c) does: X-Forwarded-For/-Proto/-Host
#                         and an X-Request-Id to the upstream, the X-Request-Id on the answer
#                         (the issue's (b) is the plain proxy above; this one is like for like)
#   bare                  the floor of (c): bench/src/bin/bare_proxy.rs, a bare hyper 1.x proxy
#                         shaped like the gateway (workers, pool) doing none of its work, i.e.
#                         what hyper and tokio allow before any Portcullis code runs
#   route_token           (e)'s config and bearer header, sent to the unsecured GET /items, so
#                         the gateway carries the same bytes but checks no credential: the base
#                         of (e) and (f), whose ratio to it is the cost of authentication
# then the p99 added latency at half of saturation load: wrk with a per-request delay (a Lua
# `delay()` hook) so that each run sends about half the rate (c) reached, against the upstream
# directly, through nginx and through Portcullis (c); "added" is the difference of p99s.
# Every run has the same threads, connections and duration; each is capped by `timeout`.
# Portcullis decision logs are off (nginx's access log is off too).
#
# Usage: bench/gateway/run.sh   (env: DURATION=15s CONNECTIONS=64 THREADS=2 TOKENS=30000
#                                SCENARIOS="direct nginx route ..." BASE_PORT=18080
#                                NGINX_WORKERS=<cores> UPSTREAM=rust BASELINE=<binary>)
# Each gateway scenario also exists as <scenario>_base, served by the BASELINE binary (an
# older build of the gateway) instead of the one built here: `PAIRS="route:route_base"` in
# pairs.sh sets a change against the code before it, interleaved in one run.
# THREADS is wrk's; the gateway runs one worker per core (its default) and nginx as many worker
# processes (NGINX_WORKERS), so that neither proxy has more workers than the other. UPSTREAM=nginx
# serves the same JSON answer from an nginx `return 200` instead of bench/src/bin/upstream.rs, a
# second upstream implementation to check that a ratio does not depend on ours.
# Needs root or sudo-less apt-get only when wrk, nginx or redis-server are missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-30000}
SCENARIOS=${SCENARIOS:-"direct nginx nginx_post route validate route_token jwt_cache jwt_nocache limit_memory limit_redis"}
BASE_PORT=${BASE_PORT:-18080}
NGINX_WORKERS=${NGINX_WORKERS:-$(nproc)}
UPSTREAM=${UPSTREAM:-rust}
UP_PORT=$BASE_PORT
NGINX_PORT=$((BASE_PORT + 1))
GW_PORT=$((BASE_PORT + 2))
ADMIN_PORT=$((BASE_PORT + 3))
REDIS_PORT=$((BASE_PORT + 4))
NGINX_FWD_PORT=$((BASE_PORT + 5))
BARE_PORT=$((BASE_PORT + 6))
secs=${DURATION%s}
cap=$((secs + 30))

# --- tools --------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
# --bin selects targets in every package given, so the gateway binary is named too (without
# it, a stale target/release/portcullis was measured after a change).
# NO_BUILD=1 measures the binaries already in ${CARGO_TARGET_DIR:-target}/release (say which
# commit they were built from when recording).
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p portcullis -p portcullis-bench --bin portcullis --bin upstream --bin jwt_bench --bin bare_proxy
bin="${CARGO_TARGET_DIR:-$root/target}/release"

work=$(mktemp -d /tmp/portcullis-gateway-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() { # port
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}
for p in $UP_PORT $NGINX_PORT $GW_PORT $ADMIN_PORT $REDIS_PORT $NGINX_FWD_PORT $BARE_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is busy: set BASE_PORT" >&2
    exit 1
  fi
done

# --- fixtures -----------------------------------------------------------------------------------
cat >"$work/bench.yaml" <<'SPEC'
openapi: 3.0.3
info: { title: bench, version: "1" }
paths:
  /items:
    get:
      operationId: listItems
      responses:
        "200": { description: ok }
    post:
      operationId: createItem
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name, price]
              properties:
                name: { type: string, minLength: 1, maxLength: 64 }
                price: { type: number, minimum: 0 }
                quantity: { type: integer, minimum: 1, maximum: 1000 }
                tags: { type: array, maxItems: 8, items: { type: string, maxLength: 16 } }
      responses:
        "200": { description: ok }
  /secure/items:
    get:
      operationId: listSecureItems
      security: [{ bearer: [] }]
      responses:
        "200": { description: ok }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
SPEC

echo "signing $TOKENS RS256 tokens..." >&2
"$bin/jwt_bench" gen "$work" "$TOKENS" >&2
first_token=$(head -n1 "$work/tokens.txt")

gateway_config() { # name validate backend limits [extra: protect | inventory]
  local name=$1 validate=$2 backend=$3 limits=$4 extra=${5:-no}
  local protect=no inventory=no
  [ "$extra" = protect ] && protect=yes
  [ "$extra" = inventory ] && inventory=yes
  {
    cat <<CONF
server:
  listen: 127.0.0.1:$GW_PORT
log:
  decisions: "off"
identity:
  jwt:
    - issuer: https://bench.issuer/
      audiences: [bank]
      jwks: jwks.json
      algorithms: [RS256]
state:
  backend: $backend
  on_failure: deny
apis:
  - name: bench
    spec: bench.yaml
    upstream: http://127.0.0.1:$UP_PORT
    request: { validate: $validate, unknown_fields: $validate }
CONF
    if [ "$protect" = yes ]; then
      echo "    threats: { injection: block, ssrf: block, paranoia: 1 }"
      echo "    response: { validate: log, undeclared_fields: strip, sensitive_data: mask, sanitize_errors: true, security_headers: true }"
    fi
    if [ "$limits" = yes ]; then
      echo "    rate_limits:"
      echo "      - { key: ip, limit: 100000000, per: 1s }"
    fi
    # The inventory runs when something reads it (the admin API) and the detectors with
    # `detect`; the other scenarios have neither, so they measure the gateway without them.
    if [ "$inventory" = yes ]; then
      printf 'admin:\n  listen: 127.0.0.1:%s\n  token: bench-admin-token-0123456789abcdef\n' "$ADMIN_PORT"
      echo "detect: { enabled: true }"
    fi
  } >"$work/$name.yaml"
}
gateway_config route off memory no
gateway_config inventory off memory no inventory
gateway_config validate block memory no
gateway_config protect block memory no protect
gateway_config jwt off memory no
gateway_config limit_memory off memory yes
gateway_config limit_redis off "redis://127.0.0.1:$REDIS_PORT/" yes

# wrk scripts: each prints one machine-readable RESULT line.
cat >"$work/done.lua" <<'LUA'
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50=%.0f p99=%.0f p999=%.0f requests=%d non2xx=%d errors=%d\n",
    summary.requests / secs, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA
{ cat "$work/done.lua"; cat <<'LUA'
request = function() return wrk.format("GET", "/items") end
LUA
} >"$work/get.lua"
{ cat "$work/done.lua"; cat <<'LUA'
local body = '{"name":"widget","price":9.5,"quantity":3,"tags":["blue","sale"]}'
request = function()
  return wrk.format("POST", "/items", { ["Content-Type"] = "application/json" }, body)
end
LUA
} >"$work/post.lua"
{ cat "$work/done.lua"; cat <<LUA
local header = { ["Authorization"] = "Bearer $first_token" }
request = function() return wrk.format("GET", "/secure/items", header) end
LUA
} >"$work/jwt_cache.lua"
{ cat "$work/done.lua"; cat <<LUA
local header = { ["Authorization"] = "Bearer $first_token" }
request = function() return wrk.format("GET", "/items", header) end
LUA
} >"$work/token_route.lua"
{ cat "$work/done.lua"; cat <<LUA
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
local tokens = {}
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  -- Threads start far apart in the list, so no token is seen twice while still cached.
  i = i + 1
  local k = (id * math.floor(#tokens / $THREADS) + i) % #tokens + 1
  return wrk.format("GET", "/secure/items", { ["Authorization"] = "Bearer " .. tokens[k] })
end
LUA
} >"$work/jwt_nocache.lua"

# nginx_head DIR: the top of an nginx config whose files all stay in DIR, up to `http {`'s
# shared settings (the caller adds its servers and closes the block).
nginx_head() {
  cat <<NGINX
worker_processes $NGINX_WORKERS;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
NGINX
}

# --- processes ----------------------------------------------------------------------------------
case $UPSTREAM in
  rust)
    "$bin/upstream" "127.0.0.1:$UP_PORT" >/dev/null &
    up_pid=$! ;;
  nginx)
    # The same answer as bench/src/bin/upstream.rs: the JSON body, application/json, keep-alive.
    mkdir -p "$work/up"
    { nginx_head "$work/up"; cat <<NGINX; } >"$work/up/nginx.conf"
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP_PORT;
    location / {
      default_type application/json;
      return 200 '{"id":42,"name":"widget","price":9.5,"tags":["a","b"]}';
    }
  }
}
NGINX
    nginx -p "$work/up" -c "$work/up/nginx.conf" -g 'daemon off;' &
    up_pid=$! ;;
  *) echo "UPSTREAM is rust or nginx, not $UPSTREAM" >&2; exit 1 ;;
esac
pids+=("$up_pid")
wait_port "$UP_PORT"

gw_pid=""
start_gateway() { # config [binary]
  RUST_LOG=warn "${2:-$bin/portcullis}" serve --config "$work/$1.yaml" >"$work/$1.log" 2>&1 &
  gw_pid=$!
  pids+=("$gw_pid")
  wait_port "$GW_PORT"
}
stop_gateway() {
  kill "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null || return 0
    sleep 0.05
  done
}
peak_rss_mib() { # pid...
  local kib=0
  for pid in "$@"; do
    kib=$((kib + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status")))
  done
  awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }'
}

# CPU time in clock ticks of the processes in $measure (all their threads): "user system".
measure=()
cpu_ticks() {
  local u=0 s=0 pid us
  for pid in "${measure[@]}"; do
    read -r -a us < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
    u=$((u + us[0])) s=$((s + us[1]))
  done
  echo "$u $s"
}
ticks_per_sec=$(getconf CLK_TCK)

# run_wrk label port script [delay-ms]: warm-up, then the measured run; prints "label RESULT...
# cpu_us=N sys_us=M" where N is the proxy's CPU time per request (processes in $measure), a
# figure a busy shared machine disturbs less than req/s, and M the kernel's part of it.
run_wrk() {
  local label=$1 port=$2 script=$3 delay=${4:-}
  local s="$work/$script"
  if [ -n "$delay" ]; then
    s="$work/$script.delay.lua"
    { cat "$work/$script"; echo "delay = function() return $delay end"; } >"$s"
  fi
  timeout 30 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$s" "http://127.0.0.1:$port" >/dev/null
  local out before after line requests cpu=- sys=-
  read -r -a before < <(cpu_ticks)
  out=$(timeout "$cap" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$s" "http://127.0.0.1:$port")
  read -r -a after < <(cpu_ticks)
  echo "$out" >"$work/$label.wrk"
  line=$(grep '^RESULT' <<<"$out" || echo "RESULT failed")
  requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  if [ ${#measure[@]} -gt 0 ] && [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
    cpu=$(awk -v t=$((after[0] + after[1] - before[0] - before[1])) -v hz="$ticks_per_sec" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    sys=$(awk -v t=$((after[1] - before[1])) -v hz="$ticks_per_sec" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  fi
  echo "$label $line cpu_us=$cpu sys_us=$sys"
}

results="$work/results.txt"
: >"$results"
nginx_pids=()
redis_pid=""
for scenario in $SCENARIOS; do
  case $scenario in
    direct)
      measure=("$up_pid")
      echo "$(run_wrk direct "$UP_PORT" get.lua) rss_mib=-" >>"$results" ;;
    nginx | nginx_post | nginx_fwd)
      script=get.lua port=$NGINX_PORT
      [ "$scenario" = nginx_post ] && script=post.lua
      [ "$scenario" = nginx_fwd ] && port=$NGINX_FWD_PORT
      if [ ${#nginx_pids[@]} -gt 0 ]; then
        measure=("${nginx_pids[@]}")
        line=$(run_wrk "$scenario" "$port" "$script")
        echo "$line rss_mib=$(peak_rss_mib "${nginx_pids[@]}")" >>"$results"
        tail -n1 "$results" >&2
        continue
      fi
      mkdir -p "$work/nginx"
      { nginx_head "$work/nginx"; cat <<NGINX; } >"$work/nginx/nginx.conf"
  upstream backend { server 127.0.0.1:$UP_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$NGINX_FWD_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_set_header X-Request-Id \$request_id;
      add_header X-Request-Id \$request_id always;
    }
  }
}
NGINX
      nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
      pids+=($!)
      master=$!
      wait_port "$NGINX_PORT"
      mapfile -t workers < <(pgrep -P "$master")
      measure=("$master" "${workers[@]}")
      line=$(run_wrk "$scenario" "$port" "$script")
      echo "$line rss_mib=$(peak_rss_mib "$master" "${workers[@]}")" >>"$results"
      nginx_pids=("${measure[@]}") ;;
    bare)
      "$bin/bare_proxy" "127.0.0.1:$BARE_PORT" "127.0.0.1:$UP_PORT" "$THREADS" >/dev/null &
      bare_pid=$!
      pids+=("$bare_pid")
      wait_port "$BARE_PORT"
      measure=("$bare_pid")
      line=$(run_wrk bare "$BARE_PORT" get.lua)
      echo "$line rss_mib=$(peak_rss_mib "$bare_pid")" >>"$results"
      kill "$bare_pid" 2>/dev/null || true
      wait "$bare_pid" 2>/dev/null || true
      while (exec 3<>"/dev/tcp/127.0.0.1/$BARE_PORT") 2>/dev/null; do sleep 0.05; done ;;
    route | inventory | validate | protect | route_token | jwt_cache | jwt_nocache | limit_memory | limit_redis | *_base)
      # <scenario>_base: the same scenario served by the BASELINE binary (an older build), so
      # that pairs.sh can set a change against the code before it in one interleaved run.
      name=${scenario%_base} exe="$bin/portcullis"
      if [ "$name" != "$scenario" ]; then
        [ -x "${BASELINE:-}" ] || { echo "$scenario needs BASELINE=<a portcullis binary>" >&2; exit 1; }
        exe=$BASELINE
      fi
      config=$name script=get.lua
      case $name in
        route | inventory | validate | protect | route_token | jwt_cache | jwt_nocache | limit_memory | limit_redis) ;;
        *) echo "unknown scenario $scenario" >&2; exit 1 ;;
      esac
      case $name in
        validate | protect) script=post.lua ;;
        route_token) config=jwt script=token_route.lua ;;
        jwt_cache) config=jwt script=jwt_cache.lua ;;
        jwt_nocache) config=jwt script=jwt_nocache.lua ;;
        limit_redis)
          redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
          redis_pid=$!
          pids+=("$redis_pid")
          wait_port "$REDIS_PORT" ;;
      esac
      start_gateway "$config" "$exe"
      measure=("$gw_pid")
      line=$(run_wrk "$scenario" "$GW_PORT" "$script")
      echo "$line rss_mib=$(peak_rss_mib "$gw_pid")" >>"$results"
      stop_gateway ;;
    *) echo "unknown scenario $scenario" >&2; exit 1 ;;
  esac
  tail -n1 "$results" >&2
done

# --- p99 added latency at half of saturation load -----------------------------------------------
route_rps=$(awk '$1 == "route" { sub("rps=", "", $3); print $3 }' "$results" | tail -n1)
if [ -n "$route_rps" ]; then
  half=$((route_rps / 2))
  # Each connection waits `delay` ms after each response: about CONNECTIONS * 1000 / delay req/s.
  delay=$(( (CONNECTIONS * 1000 + half / 2) / half ))
  echo "half load: target ~$half req/s (delay ${delay} ms per connection)" >&2
  measure=("$up_pid")
  echo "$(run_wrk half_direct "$UP_PORT" get.lua "$delay") rss_mib=-" >>"$results"
  if [ ${#nginx_pids[@]} -gt 0 ]; then
    measure=("${nginx_pids[@]}")
    echo "$(run_wrk half_nginx "$NGINX_PORT" get.lua "$delay") rss_mib=-" >>"$results"
  fi
  start_gateway route
  measure=("$gw_pid")
  echo "$(run_wrk half_route "$GW_PORT" get.lua "$delay") rss_mib=$(peak_rss_mib "$gw_pid")" >>"$results"
  stop_gateway
fi

# --- report -------------------------------------------------------------------------------------
echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo '+local changes')"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up 2 s each); nginx workers: $NGINX_WORKERS; upstream: $UPSTREAM; $(nproc) cores: wrk, upstream, proxy and Redis share them"
awk '
  function val(k,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
  { label[NR] = $1; rps[$1] = val("rps"); p50[$1] = val("p50"); p99[$1] = val("p99"); p999[$1] = val("p999");
    non[$1] = val("non2xx"); err[$1] = val("errors"); rss[$1] = val("rss_mib"); cpu[$1] = val("cpu_us") }
  END {
    # Each row against nginx sending the same request, and against the Portcullis row that
    # differs from it by one feature only (its base).
    same["route"] = "nginx"; same["bare"] = "nginx"; same["validate"] = "nginx_post"; same["protect"] = "nginx_post"; same["half_route"] = "half_nginx"
    base["validate"] = "route"; base["protect"] = "validate"; base["route_token"] = "route"; base["jwt_cache"] = "route_token"
    base["jwt_nocache"] = "route_token"; base["limit_memory"] = "route"; base["limit_redis"] = "route"; base["inventory"] = "route"
    printf "| run | req/s | p50 ms | p99 ms | p99.9 ms | peak RSS MiB | CPU us/req | vs nginx, same request | vs its base | non-2xx/errors |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    for (i = 1; i <= NR; i++) {
      l = label[i]
      s = same[l]; b = base[l]
      vn = (s != "" && rps[s] > 0) ? sprintf("%.2fx", rps[l] / rps[s]) : "-"
      vr = (b != "" && rps[b] > 0) ? sprintf("%.2fx of %s", rps[l] / rps[b], b) : "-"
      printf "| %s | %d | %.2f | %.2f | %.2f | %s | %s | %s | %s | %s/%s |\n", l, rps[l], p50[l] / 1000, p99[l] / 1000, p999[l] / 1000, rss[l], cpu[l], vn, vr, non[l], err[l]
    }
    if (rps["nginx_fwd"] > 0 && rps["route"] > 0)
      printf "\n(c) route / nginx_fwd (nginx doing the same header work): %.2fx\n", rps["route"] / rps["nginx_fwd"]
    if (p99["half_direct"] != "" && p99["half_route"] != "")
      printf "\np99 added at half load: Portcullis (c) %.3f ms", (p99["half_route"] - p99["half_direct"]) / 1000
    if (p99["half_nginx"] != "")
      printf ", nginx %.3f ms", (p99["half_nginx"] - p99["half_direct"]) / 1000
    printf "\n"
  }' "$results"
echo "(raw wrk output and configs: $work)"

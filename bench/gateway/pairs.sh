#!/usr/bin/env bash
# Cost ratios that a noisy shared machine cannot fake: each comparison runs as A B B A
# (bench/gateway/run.sh with SCENARIOS in that order), so a load that drifts during the group
# weighs on both sides alike, and ROUNDS groups give a spread. Pairs:
#   route / nginx              (c) against nginx, the same GET        (issue #5 goal >= 1.0x)
#   bare / nginx               a bare hyper proxy shaped like the gateway (run.sh's `bare`):
#                              the ceiling of route / nginx with hyper and tokio
#   route / nginx_fwd          (c) against nginx setting the same forwarded headers and request id
#   validate / nginx_post      (d) against nginx, the same POST body  (issue #5 goal >= 0.8x)
#   protect / nginx_post       (d) with threat and response checks    (issue #24 goal >= 0.7x)
#   protect / validate         what the threat and response checks add to validation
#   jwt_cache / route_token    authentication and authorization, the same bytes (#6: cost < 5%)
#   limit_memory / route       the memory rate limiter                (#7: cost < 3%)
#   route / route_base         this build against BASELINE=<an older portcullis binary>, any
#                              gateway scenario (run.sh's <scenario>_base): "not below before"
# For each pair: req/s ratio (B over A) and the CPU-per-request ratio, per round and median.
#
# Usage: bench/gateway/pairs.sh   (env: ROUNDS=2 DURATION=8s PAIRS="route:nginx ..." and
#                                  run.sh's own: CONNECTIONS THREADS BASE_PORT NGINX_WORKERS UPSTREAM)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-2}
PAIRS=${PAIRS:-"route:nginx validate:nginx_post jwt_cache:route_token limit_memory:route"}
scenarios=""
for _ in $(seq 1 "$ROUNDS"); do
  for pair in $PAIRS; do
    b=${pair%%:*} a=${pair##*:}
    scenarios="$scenarios $a $b $b $a"
  done
done
log=$(mktemp /tmp/portcullis-pairs.XXXXXX)
DURATION=${DURATION:-8s} SCENARIOS="$scenarios" "$root/bench/gateway/run.sh" 2>"$log" >/dev/null || {
  cat "$log" >&2
  exit 1
}
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git -C "$root" rev-parse --short HEAD)  rounds: $ROUNDS  duration: ${DURATION:-8s}  wrk: -t${THREADS:-2} -c${CONNECTIONS:-64}  nginx workers: ${NGINX_WORKERS:-$(nproc)}  upstream: ${UPSTREAM:-rust}  load: $(cut -d' ' -f1-3 /proc/loadavg)${BASELINE:+  baseline: $BASELINE}"
grep ' RESULT ' "$log" | awk -v pairs="$PAIRS" '
  function val(k,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
  { label[NR] = $1; rps[NR] = val("rps"); cpu[NR] = val("cpu_us") }
  END {
    n = split(pairs, list, " ")
    printf "| B / A | req/s ratio per round | median | CPU us/req ratio per round | median |\n|---|---|---:|---|---:|\n"
    for (p = 1; p <= n; p++) {
      split(list[p], ab, ":"); b = ab[1]; a = ab[2]
      k = 0
      # Groups of four in run order: A B B A.
      for (i = 1; i + 3 <= NR; i++) {
        if (label[i] == a && label[i+1] == b && label[i+2] == b && label[i+3] == a) {
          k++
          r[k] = (rps[i+1] + rps[i+2]) / (rps[i] + rps[i+3])
          c[k] = (cpu[i+1] + cpu[i+2]) / (cpu[i] + cpu[i+3])
          i += 3
        }
      }
      rs = ""; cs = ""
      for (j = 1; j <= k; j++) { rs = rs sprintf("%s%.3f", j > 1 ? ", " : "", r[j]); cs = cs sprintf("%s%.3f", j > 1 ? ", " : "", c[j]) }
      printf "| %s / %s | %s | %.3f | %s | %.3f |\n", b, a, rs, median(r, k), cs, median(c, k)
    }
  }
  function median(v, k,   i, j, t, s) {
    for (i = 1; i <= k; i++) s[i] = v[i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
    if (k == 0) return 0
    return (k % 2) ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2
  }'
echo "(every run: $log)"

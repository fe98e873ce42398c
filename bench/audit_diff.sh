#!/usr/bin/env bash
# `portcullis audit diff` of the two largest corpus documents against mutated copies (a
# security requirement removed, a maxLength removed, a response field added, an operation
# added without security): wall time and peak memory (/usr/bin/time -v), release build.
# Results in BENCHMARKS.md ("audit diff").
#
#   bench/audit_diff.sh            # builds release if needed, runs each diff 3 times
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${PORTCULLIS_CORPUS:-../shared/corpus}
RUNS=${RUNS:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cargo build --release --locked -p portcullis -p portcullis-bench --bin portcullis --bin mutate_spec >&2
BIN=target/release/portcullis

# The two largest documents of the manifest.
mapfile -t DOCS < <(tail -n +2 "$CORPUS/MANIFEST.tsv" | sort -t$'\t' -k7,7nr | head -2 | cut -f1)
echo "commit $(git rev-parse --short HEAD), $(date -u +%F), $(nproc) cores"
for doc in "${DOCS[@]}"; do
  src="$CORPUS/$doc"
  mut="$OUT/$(basename "$doc").mutated.json"
  echo "== $doc ($(stat -c %s "$src") bytes); mutations:"
  target/release/mutate_spec "$src" "$mut" | sed 's/^/   /'
  for i in $(seq "$RUNS"); do
    /usr/bin/time -v "$BIN" audit diff --format json --output "$OUT/diff.json" "$src" "$mut" \
      2> "$OUT/time.txt" || true
    wall=$(grep 'Elapsed (wall clock)' "$OUT/time.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$OUT/time.txt" | awk '{print $NF}')
    changes=$(grep -c '"rule"' "$OUT/diff.json" || true)
    printf '   run %d: wall %s, peak RSS %d MiB (%s "rule" entries in the report)\n' \
      "$i" "$wall" "$((rss / 1024))" "$changes"
  done
done

#!/usr/bin/env bash
# Portcullis audit vs. its peers (Spectral + the OWASP ruleset, Checkov's OpenAPI checks) over the
# real-world corpus and its five largest documents: wall time and peak memory of each run.
#
# Usage: bench/audit_vs_peers/run.sh [install|lists|run|all]   (default: all)
#   install  installs the peers under $PEERS_DIR (a temporary folder unless set)
#   lists    prints the Spectral OWASP rule names and Checkov's OpenAPI check ids (for docs/rules.md)
#   run      builds Portcullis (release) and times every tool on every input
#   all      install, then run
#
# Environment: PEERS_DIR (reuse an install), PORTCULLIS_CORPUS (default ../shared/corpus),
# RESULTS (default $PEERS_DIR/results.tsv), PORTCULLIS_BIN (a release binary to measure
# instead of building one), CAP_SECONDS (default 1200). Every peer run is
# capped: `timeout $CAP_SECONDS` and `prlimit --as=8G`; a capped run is a lower bound and is
# reported as ">CAP s" / "killed". (The cap was 600 s until Portcullis audited the corpus in
# about 4 s: a capped run could then show at most about 150x; 1200 s shows up to about 300x.)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${PORTCULLIS_CORPUS:-$root/../shared/corpus}"
corpus="$(cd "$corpus" && pwd)"
PEERS_DIR="${PEERS_DIR:-$(mktemp -d /tmp/portcullis-peers.XXXXXX)}"
mkdir -p "$PEERS_DIR"
RESULTS="${RESULTS:-$PEERS_DIR/results.tsv}"
CAP_SECONDS="${CAP_SECONDS:-1200}"
CAP_MEMORY=8G

spectral="$PEERS_DIR/node/node_modules/.bin/spectral"
checkov="$PEERS_DIR/venv/bin/checkov"
ruleset="$PEERS_DIR/node/.spectral.yaml"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

install() {
    if [[ ! -x /usr/bin/time ]]; then
        log "installing GNU time"
        apt-get update -qq && apt-get install -y -qq time
    fi
    if [[ ! -x "$spectral" ]]; then
        log "installing @stoplight/spectral-cli and @stoplight/spectral-owasp-ruleset (npm)"
        mkdir -p "$PEERS_DIR/node"
        (cd "$PEERS_DIR/node" && npm init -y >/dev/null &&
            npm install --no-audit --no-fund --loglevel=error \
                @stoplight/spectral-cli @stoplight/spectral-owasp-ruleset >&2)
    fi
    printf 'extends:\n  - "@stoplight/spectral-owasp-ruleset"\n' >"$PEERS_DIR/node/.spectral.yaml"
    if [[ ! -x "$checkov" ]]; then
        log "installing checkov (PyPI, in a venv)"
        python3 -m venv "$PEERS_DIR/venv"
        "$PEERS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check checkov >&2
    fi
    log "spectral $("$spectral" --version 2>/dev/null), checkov $("$checkov" --version 2>/dev/null)"
}

lists() {
    local src="$PEERS_DIR/node/node_modules/@stoplight/spectral-owasp-ruleset"
    # The package's `exports` hide package.json from require(): read the file.
    echo "## spectral-owasp-ruleset $(node -p "JSON.parse(require('fs').readFileSync('$src/package.json', 'utf8')).version")"
    # Rule names are the keys of the ruleset's `rules` object.
    (cd "$PEERS_DIR/node" && node -e '
        const m = require("@stoplight/spectral-owasp-ruleset");
        const rs = m.default ?? m;
        for (const [name, r] of Object.entries(rs.rules)) console.log(name + "\t" + (r.description ?? r.message ?? "").replace(/\s+/g, " "));
    ')
    echo "## checkov $("$checkov" --version)"
    "$checkov" --list --framework openapi 2>/dev/null
}

# Runs one capped command; appends "tool<TAB>input<TAB>seconds<TAB>peak_kib<TAB>exit<TAB>note".
measure() {
    local tool="$1" input="$2" capped="$3"
    shift 3
    local tfile out
    tfile="$(mktemp)"
    out="$PEERS_DIR/out.$tool.$(basename "$input")"
    local status=0
    if [[ "$capped" == yes ]]; then
        /usr/bin/time -v -o "$tfile" timeout "$CAP_SECONDS" prlimit --as="$(numfmt --from=iec "$CAP_MEMORY")" -- "$@" >"$out" 2>"$out.err" || status=$?
    else
        /usr/bin/time -v -o "$tfile" "$@" >"$out" 2>"$out.err" || status=$?
    fi
    local wall peak note=""
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tfile" |
        awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')"
    peak="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")"
    if [[ "$status" == 124 ]]; then
        note="timed out: >${CAP_SECONDS} s (lower bound)"
    elif [[ "$status" -ge 128 ]] || grep -qiE 'out of memory|MemoryError|heap out of memory|Cannot allocate' "$out.err" 2>/dev/null; then
        note="killed or out of memory under --as=${CAP_MEMORY} (lower bound)"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$(basename "$input")" "$wall" "$peak" "$status" "$note" | tee -a "$RESULTS" >&2
    rm -f "$tfile"
}

run() {
    [[ -x "$spectral" && -x "$checkov" ]] || install
    # A copy, so that rebuilding the workspace during the run cannot change what is measured.
    local portcullis="$PEERS_DIR/portcullis"
    if [[ -n "${PORTCULLIS_BIN:-}" ]]; then
        log "using $PORTCULLIS_BIN"
        cp "$PORTCULLIS_BIN" "$portcullis"
    else
        log "building portcullis (release)"
        (cd "$root" && cargo build --release -p portcullis >&2)
        cp "$root/target/release/portcullis" "$portcullis"
    fi

    # The corpus documents (MANIFEST.tsv, given to every tool as files, in place, so that
    # multi-file documents keep their relative $refs) and the five largest of them.
    mapfile -t docs < <(tail -n +2 "$corpus/MANIFEST.tsv" | cut -f1 | sed "s|^|$corpus/|")
    mapfile -t largest < <(tail -n +2 "$corpus/MANIFEST.tsv" | sort -t$'\t' -k7,7nr | head -5 | cut -f1 | sed "s|^|$corpus/|")

    {
        echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "# commit: $(git -C "$root" rev-parse --short HEAD)"
        echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
        echo "# corpus: ${#docs[@]} documents, $(du -chL "${docs[@]}" | tail -1 | cut -f1)"
        echo "# spectral $("$spectral" --version), checkov $("$checkov" --version), $("$portcullis" --version)"
        printf 'tool\tinput\twall_s\tpeak_kib\texit\tnote\n'
    } >"$RESULTS"

    log "whole corpus"
    measure portcullis corpus no "$portcullis" audit --format json --fail-on critical "${docs[@]}"
    measure spectral corpus yes "$spectral" lint --ruleset "$ruleset" --format json --quiet --fail-severity error "${docs[@]}"
    measure checkov corpus yes "$checkov" --framework openapi --file "${docs[@]}" --output json --quiet --compact --skip-download
    for doc in "${largest[@]}"; do
        log "$(basename "$doc")"
        measure portcullis "$doc" no "$portcullis" audit --format json --fail-on critical "$doc"
        measure spectral "$doc" yes "$spectral" lint --ruleset "$ruleset" --format json --quiet --fail-severity error "$doc"
        measure checkov "$doc" yes "$checkov" --framework openapi --file "$doc" --output json --quiet --compact --skip-download
    done
    log "results in $RESULTS"
    column -t -s$'\t' "$RESULTS" >&2 || cat "$RESULTS" >&2
}

case "${1:-all}" in
install) install ;;
lists) lists ;;
run) run ;;
all) install && run ;;
*) echo "usage: $0 [install|lists|run|all]" >&2 && exit 2 ;;
esac

#!/usr/bin/env bash
# Runs gates (default: tsan) while stress-ng keeps every core busy, as a CI
# runner shared with other jobs is. A gate that passes quietly but fails
# here depends on wall time or on a lucky interleaving: that is a flaky gate.
#
#   scripts/loaded-gates.sh            the TSan gate under load
#   scripts/loaded-gates.sh tsan helgrind
#
# LOAD_WORKERS sets the number of stress-ng CPU workers (default: one per
# core). Prints run-gates.sh's lines and exits with its status.
set -uo pipefail
cd "$(dirname "$0")/.."
gates=${*:-tsan}
workers=${LOAD_WORKERS:-$(nproc 2>/dev/null || echo 2)}
scripts/ensure-deps.sh stress-ng || exit 2
# --cpu-method matrixprod: a steady, cache-heavy load; lowest priority
# would let our tests win every time slice, so it runs at normal priority.
stress-ng --cpu "$workers" --cpu-method matrixprod --timeout 4h --quiet &
load=$!
trap 'kill "$load" 2>/dev/null; wait "$load" 2>/dev/null' EXIT
echo "=== load: stress-ng --cpu $workers (pid $load)"
GATES="$gates" scripts/run-gates.sh

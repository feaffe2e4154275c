#!/usr/bin/env bash
# The checks that need no build: manual pages (mandoc -T lint, warnings
# are errors), the layout's sizes (scripts/sizes.sh: files <= 700 lines,
# functions <= 80) and the code's format (scripts/format-check.sh: every
# .c and .h file as .clang-format says). run-gates.sh runs it first as the
# "lint" gate.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh mandoc clang-format-14 || exit 2
rc=0
for page in man/*.[1-8]; do
	if ! mandoc -T lint -W warning "$page"; then
		echo "lint: $page: mandoc warnings" >&2
		rc=1
	fi
done
[ "$rc" -eq 0 ] && echo "lint: $(ls man/*.[1-8] | wc -l) manual pages clean"
scripts/sizes.sh || rc=1
scripts/format-check.sh || rc=1
exit "$rc"

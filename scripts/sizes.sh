#!/usr/bin/env bash
# Sizes the layout promises (docs/layout.md): no C file over 700 lines, no
# function over 80. A function is what lies between a `{` and a `}` alone
# at the start of a line, the project's style for function bodies.
# Prints each breach as file:line and exits 1 if there is one.
set -uo pipefail
cd "$(dirname "$0")/.."
MAX_FILE=${MAX_FILE:-700}
MAX_FN=${MAX_FN:-80}
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
bad=0
for f in $files; do
	n=$(wc -l < "$f")
	if [ "$n" -gt "$MAX_FILE" ]; then
		echo "$f: $n lines (over $MAX_FILE)"
		bad=1
	fi
	awk -v f="$f" -v max="$MAX_FN" '
		/^\{/ { start = NR; name = prev }
		/^\}/ && start { len = NR - start - 1
			if (len > max) { printf "%s:%d: %s: %d lines (over %d)\n", f, start, name, len, max; bad = 1 }
			start = 0 }
		{ if ($0 ~ /^[A-Za-z_].*\(/) prev = $0 }
		END { exit bad }' "$f" || bad=1
done
[ "$bad" -eq 0 ] && echo "sizes: every file <= $MAX_FILE lines, every function <= $MAX_FN"
exit "$bad"

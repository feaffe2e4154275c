#!/usr/bin/env bash
# Checks every tracked .c and .h file against .clang-format with
# clang-format 14 (--dry-run -Werror: nothing is changed). Prints each file
# that would change, with how many of its lines, and exits 1 if there is
# one; exits 2 when clang-format-14 is missing. FILES=... checks only those.
# To apply the style: clang-format-14 -i <files>.
set -uo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$CF" >/dev/null 2>&1; then
	echo "format-check: $CF not found (apt-get install clang-format-14)" >&2
	exit 2
fi
files=${FILES:-$(git ls-files '*.c' '*.h')}
bad=0 nlines=0
for f in $files; do
	if ! "$CF" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
		n=$("$CF" --style=file "$f" | diff -U0 "$f" - | grep -c '^-[^-]')
		echo "$f: $n lines differ"
		bad=$((bad + 1))
		nlines=$((nlines + n))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "format-check: $bad files ($nlines lines) differ from .clang-format" >&2
	exit 1
fi
echo "format-check: every file matches .clang-format"

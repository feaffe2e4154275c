#!/usr/bin/env bash
# bench/wrap/run.sh - what `faultline wrap` costs per wrapped call
# (docs/wrap.md, "Overhead"): fl-wrap-cost run unwrapped, wrapped with no
# plan, and wrapped with a plan armed at malloc, free's partner and write
# that never fires (@ a count no run reaches), PROCS processes each; the
# median per variant of ns per malloc+free round and per write(2).
#
# Environment:
#   BUILD   the build folder [build/release]; this script builds nothing
#   N       rounds per process [1000000]
#   PROCS   processes per variant [7]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build/release}
n=${N:-1000000}
procs=${PROCS:-7}
cost=$build/bench/fl-wrap-cost
fl=$build/cli/faultline
for f in "$cost" "$fl"; do
	[ -x "$f" ] || { echo "run.sh: $f not built (cmake --build --preset release)" >&2; exit 2; }
done
never='libc/mem/malloc=@999999999999 error(ENOMEM); libc/io/write=@999999999999 error(EIO)'

# median of the numbers on stdin
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

run() { # variant: prints "malloc+free NS write NS" lines, one per process
	for _ in $(seq "$procs"); do
		case $1 in
		bare) "$cost" "$n" ;;
		noplan) "$fl" wrap --seed 1 -- "$cost" "$n" | grep '^malloc+free' ;;
		armed) "$fl" wrap --seed 1 --faults "$never" -- "$cost" "$n" | grep '^malloc+free' ;;
		esac
	done
}

printf '%-28s %14s %14s\n' "variant (median of $procs)" "malloc+free ns" "write ns"
for v in bare noplan armed; do
	out=$(run $v)
	m=$(awk '{print $2}' <<<"$out" | median)
	w=$(awk '{print $4}' <<<"$out" | median)
	label=$([ $v = bare ] && echo unwrapped || ([ $v = noplan ] && echo "wrapped, no plan" || echo "wrapped, armed, never fires"))
	printf '%-28s %14s %14s\n' "$label" "$m" "$w"
done

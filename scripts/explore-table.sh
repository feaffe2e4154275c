#!/bin/sh
# explore-table.sh [FAULTLINE] [RUNS] [SEED] - the measurement of
# docs/explore.md: for each bug of the zoo, the share of RUNS schedules
# (default 10000, run i with seed SEED+i, default 1) that hit it under
# random, PCT of depth 1, 2 and 3, PCT's iterative deepening (pct:auto,
# depth 1 + seed mod 3) and POS, beside PCT's lower bound 1/(n k^(d-1))
# from the measured n (tasks) and k (most steps of a run); and under dfs
# with 2 preemptions (every run seed SEED), the run of its first hit, the
# failing schedules and the size of the space (or RUNS when it is larger).
# The bound holds for a bug of depth <= d; each bug's depth is by design
# (cat_zoo.c) and a bound is printed only where it applies; pct:auto's is
# the mean of the bounds of the depths it cycles through. Prints a
# Markdown table; the sim backend only, so the numbers are exact per seed.
set -eu
FL=${1:-build/release/cli/faultline}
RUNS=${2:-10000}
SEED=${3:-1}
echo "| bug | depth | n | k | random | pct d=1 (bound) | pct d=2 (bound) | pct d=3 (bound) | pct auto (bound) | pos | dfs P=2: first hit, hits / schedules |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for bug in lost_wakeup:2 order:1 atomicity:2 deadlock:2 missed_close:2 double_done:2 torn_read:3; do
	name=${bug%:*}
	depth=${bug#*:}
	line="| zoo_$name | $depth"
	n=0 k=0
	cells=""
	for st in random pct:1 pct:2 pct:3 pct:auto pos dfs; do
		case $st in
		pct:auto) args="--strategy pct --depth auto" ;;
		pct:*) args="--strategy pct --depth ${st#pct:}" ;;
		*) args="--strategy $st" ;;
		esac
		# shellcheck disable=SC2086
		res=$("$FL" explore "zoo_$name" $args --runs "$RUNS" --seed "$SEED" --keep-going \
			2>/dev/null | sed -n 's/^result: //p')
		field() { echo "$res" | sed "s/.* $1=\([0-9]*\).*/\1/"; }
		hits=$(field hits)
		rn=$(field n)
		rk=$(field k)
		runs=$(field runs)
		[ "$rn" -gt "$n" ] && n=$rn
		[ "$rk" -gt "$k" ] && k=$rk
		cell=$(awk -v h="$hits" -v r="$runs" 'BEGIN { printf "%.2f%%", 100 * h / r }')
		case $st in
		pct:auto)
			cell="$cell ($(awk -v n="$rn" -v k="$rk" -v b="$depth" 'BEGIN {
				for (d = b; d <= 3; d++) s += 1 / (n * k ^ (d - 1));
				printf "%.2f%%", 100 * s / 3 }'))"
			;;
		pct:*)
			d=${st#pct:}
			if [ "$d" -ge "$depth" ]; then
				cell="$cell ($(awk -v n="$rn" -v k="$rk" -v d="$d" \
					'BEGIN { printf "%.2f%%", 100 / (n * k ^ (d - 1)) }'))"
			else
				cell="$cell (-)"
			fi
			;;
		dfs)
			first=$(field first)
			[ "$(field exhausted)" = 1 ] && space=$runs || space=">$runs"
			[ "$first" = 0 ] && first="-" || first="run $first"
			cell="$first, $hits / $space"
			;;
		esac
		cells="$cells | $cell"
	done
	echo "$line | $n | $k$cells |"
done

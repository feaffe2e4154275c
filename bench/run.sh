#!/usr/bin/env bash
# bench/run.sh - the C suite (fl-bench) next to the Go peer, with ratios.
#
#   bench/run.sh                  SUITES (3) suite runs of C and of Go,
#                                 interleaved, then the C/Go table
#   bench/run.sh --quick          one suite run at small sizes (smoke)
#   bench/run.sh pipeline cancel  only some workloads
#
# Environment:
#   FL_BENCH_BIN   the C binary [build/release/bench/fl-bench]; this script
#                  builds nothing (`make bench` builds the release preset)
#   SUITES         suite runs per side [3]
#   BACKENDS       C scheduler backends, space-separated ["fibers threads"]
#   RUNS           timed runs per variant, passed to both sides as -runs
#   OUT_DIR        results [build/bench-results/<UTC timestamp>]
#   FL_SHARED_DIR  the shared folder [<repo>/../shared]; read only
#   NO_GO=1        skip the Go peer even if `go` is installed
#
# Each workload runs in its own process, as the Go peer's run.sh does. Suite
# i of C (every backend) runs right before suite i of Go, so both see the
# same machine state. Output: OUT_DIR/c-run<i>.jsonl, go-run<i>.jsonl,
# env.txt and table.md (also printed). Exits non-zero if any workload failed
# its own verification.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))
cd "$root"
shared=${FL_SHARED_DIR:-$root/../shared}
bin=${FL_BENCH_BIN:-build/release/bench/fl-bench}
suites=${SUITES:-3}
backends=${BACKENDS:-fibers threads}
quick=0
workloads=()

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1; suites=${SUITES:-1}; shift ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) workloads+=("$1"); shift ;;
	esac
done

if [ ! -x "$bin" ]; then
	echo "run.sh: $bin not found; build it with 'make bench' or" >&2
	echo "        'cmake --preset release && cmake --build --preset release'" >&2
	exit 1
fi
[ ${#workloads[@]} -gt 0 ] || mapfile -t workloads < <("$bin" list)
out=${OUT_DIR:-build/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
failed=()

# Per-workload flags of --quick: small sizes, valid for both suites.
quick_args() {
	case "$1" in
	spawn|trygo) printf '%s' "-n 5000" ;;
	pipeline|fanout|pingpong) printf '%s' "-n 10000" ;;
	cancel) printf '%s' "-reps 40" ;;
	cancel-err) printf '%s' "-reps 30" ;;
	first-error) printf '%s' "-reps 100" ;;
	sync) printf '%s' "-n 1000000" ;;
	hedge) printf '%s' "-n 200" ;;
	*) ;;
	esac
}

# Flags for workload $1 on both sides.
wl_args() {
	local a=()
	[ "$quick" = 1 ] && read -r -a a <<<"$(quick_args "$1")"
	[ "$quick" = 1 ] && a+=(-runs 1)
	[ -n "${RUNS:-}" ] && a+=(-runs "$RUNS")
	printf '%s ' "${a[@]}"
}

# Runs one suite of side $1 ("c" with backend $2, or "go") into file $3.
run_suite() {
	local side=$1 be=$2 file=$3 w args
	for w in "${workloads[@]}"; do
		read -r -a args <<<"$(wl_args "$w")"
		if [ "$side" = c ]; then
			echo "run.sh:   c/$be $w" >&2
			"$bin" "$w" "${args[@]}" --backend "$be" >>"$file" || failed+=("c/$be $w ($file)")
		else
			echo "run.sh:   go $w" >&2
			"$gopeer" "$w" "${args[@]}" >>"$file" || failed+=("go $w ($file)")
		fi
	done
}

# Builds the Go peer from a copy (the shared folder is read only).
gopeer=""
build_go() {
	local sync=/usr/share/gocode/src/golang.org/x/sync f
	if [ -n "${NO_GO:-}" ] || ! command -v go >/dev/null 2>&1; then
		echo "run.sh: go not available; C suite only" >&2
		return
	fi
	[ -d "$shared/peers/go" ] || { echo "run.sh: no Go peer at $shared/peers/go" >&2; return; }
	for f in 'SetLimit(n int)' 'TryGo(f func() error) bool'; do
		grep -qF "$f" "$sync/errgroup/errgroup.go" 2>/dev/null ||
			{ echo "run.sh: errgroup in $sync lacks $f; C suite only" >&2; return; }
	done
	local dir
	mkdir -p build
	dir=$(mktemp -d "$root/build/bench-gopeer.XXXXXX")
	cp -R "$shared/peers/go/." "$dir/"
	chmod -R u+w "$dir"
	echo "run.sh: building the Go peer in $dir" >&2
	if (cd "$dir" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local \
		GOCACHE=${GOCACHE:-$root/build/go-cache} go build -o bin/gopeer .); then
		gopeer=$dir/bin/gopeer
		gopeer_dir=$dir
	else
		echo "run.sh: Go peer build failed; C suite only" >&2
	fi
}

env_info() {
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "revision: $(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"
	echo "c binary: $bin"
	echo "c version: $("$bin" sync -n 1 -runs 1 | head -n 1 | sed -n 's/.*"c_version":"\([^"]*\)".*/\1/p')"
	echo "c backends: $backends"
	echo "go: $(go version 2>/dev/null || echo none)"
	echo "x/sync: $(dpkg-query -W -f='${Version}' golang-golang-x-sync-dev 2>/dev/null || echo unknown)"
	echo "kernel: $(uname -srm)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
	echo "suites: $suites  quick: $quick  workloads: ${workloads[*]}"
}

# The OS timer floor (the Go peer's probe), when a C compiler is present.
os_probe() {
	local src=$shared/peers/go/probe/nanosleep.c
	if [ -f "$src" ] && command -v cc >/dev/null 2>&1 &&
		cc -O2 -o "$out/nanosleep" "$src" -lm 2>/dev/null; then
		"$out/nanosleep" "$([ "$quick" = 1 ] && echo 200 || echo 1000)"
		rm -f "$out/nanosleep"
	fi
}

build_go
env_info >"$out/env.txt"
os_probe >>"$out/env.txt"
start=$(date +%s)
for i in $(seq 1 "$suites"); do
	: >"$out/c-run$i.jsonl"
	for be in $backends; do
		echo "run.sh: suite $i/$suites, C ($be) -> $out/c-run$i.jsonl" >&2
		run_suite c "$be" "$out/c-run$i.jsonl"
	done
	if [ -n "$gopeer" ]; then
		echo "run.sh: suite $i/$suites, Go -> $out/go-run$i.jsonl" >&2
		: >"$out/go-run$i.jsonl"
		run_suite go "" "$out/go-run$i.jsonl"
	fi
done
echo "elapsed: $(($(date +%s) - start)) s" >>"$out/env.txt"
[ -z "${gopeer_dir:-}" ] || rm -rf "$gopeer_dir"

go_files=()
for i in $(seq 1 "$suites"); do
	[ -f "$out/go-run$i.jsonl" ] && go_files+=("$out/go-run$i.jsonl")
done
python3 "$here/compare.py" --out-dir "$out" --json "$out/summary.json" \
	--c "$out"/c-run*.jsonl ${go_files[@]+--go "${go_files[@]}"} | tee "$out/table.md"
echo
echo "results: $out"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'run.sh: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi

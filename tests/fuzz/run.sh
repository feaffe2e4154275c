#!/bin/bash
# tests/fuzz/run.sh [seconds] - build and run the fuzz targets (HDR, fault plans).
#
# Compiles each tests/fuzz/fuzz_*.c directly with clang and
# -fsanitize=fuzzer,address,undefined (the CMake build uses gcc and knows
# nothing of this), seeds a temporary corpus from the reference vectors in
# the shared folder (FL_SHARED_DIR, default <repo>/../shared), runs every
# target for the given seconds (default 30) and exits non-zero on the first
# crash, leak or sanitizer report. Nothing is written into the repository;
# on failure the work directory with the crashing input is kept and named.
set -euo pipefail

secs=${1:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${FL_SHARED_DIR:-$root/../shared}
vectors=$shared/specs/hdr-vectors
work=$(mktemp -d "${TMPDIR:-/tmp}/fl-fuzz.XXXXXX")
keep=0
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

cc=${CLANG:-clang}
flags=(-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$root/reports/include" -I"$root/runtime/include"
       -I"$root/common/include_internal")

# The error type is the only runtime piece the reports need. It is built
# on its own so the runtime's private headers cannot shadow system ones.
"$cc" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -I"$root/runtime/src" \
	-c "$root/runtime/src/err.c" -o "$work/err.o"
# fl__assert_fail (FL_ASSERT, FL_LOCK in faults/) is the runtime's, in sync.c
# (its header is in runtime/private).
"$cc" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -I"$root/runtime/private" \
	-c "$root/runtime/src/sync.c" -o "$work/sync.o"

hex_to_bin() { # hex text on stdin -> bytes on stdout
	tr -d ' \n\r' | sed 's/\(..\)/\\x\1/g' | xargs -0 printf '%b'
}

seed() {
	mkdir -p "$work/corpus-decode" "$work/corpus-hlog"
	for d in "$vectors"/*/; do
		n=$(basename "$d")
		[ -f "$d/histogram.b64" ] || continue
		tr -d '\n\r' < "$d/histogram.b64" > "$work/corpus-decode/$n.b64"
		tr -d '\n\r' < "$d/histogram.b64" | base64 -d > "$work/corpus-decode/$n.bin"
		hex_to_bin < "$d/uncompressed-v2.hex" > "$work/corpus-decode/$n.raw"
		cp "$d/intervals.hlog" "$work/corpus-hlog/$n.hlog"
	done
}

run() { # target corpus [sources, default the HDR ones]
	local t=$1 corpus=$2
	shift 2
	local srcs=("$@")
	[ ${#srcs[@]} -gt 0 ] || srcs=("$root"/reports/src/hdr*.c)
	echo "== $t: building"
	"$cc" "${flags[@]}" -I"$root/reports/src" -I"$root/faults/src" -I"$root/faults/include" \
		"$root/tests/fuzz/$t.c" "${srcs[@]}" "$work/err.o" "$work/sync.o" \
		-lz -lm -lpthread -o "$work/$t"
	echo "== $t: fuzzing for ${secs}s"
	if ! "$work/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$t-" -print_final_stats=1 "$corpus" \
		> "$work/$t.log" 2>&1; then
		keep=1
		tail -n 60 "$work/$t.log"
		echo "FAIL: $t crashed; input and log kept in $work" >&2
		exit 1
	fi
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$work/$t.log" | tail -n 3
	echo "== $t: ok"
}

seed
run fuzz_hdr_decode "$work/corpus-decode"
run fuzz_hlog_read "$work/corpus-hlog"
# The fault-plan parser needs only the error type; seeded with plans.
mkdir -p "$work/corpus-plan"
printf '%s' 'enrich=@3..5 error(inval)->every(10) sleep(lognormal(2ms,0.5)~1ms)' > "$work/corpus-plan/a"
printf '%s' 'seed=0x2a; fetch=peritem @1..2 error(again); t/*/x=after(2s) until(5s) 1% panic(boom)' > "$work/corpus-plan/b"
printf '%s\n%s' 'a/**/b*' 'a/x/y/bz' > "$work/corpus-plan/c"
run fuzz_fault_plan "$work/corpus-plan" "$root/faults/src/parse.c" "$root/faults/src/names.c"
echo "fuzz: all targets clean"

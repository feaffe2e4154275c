#!/bin/bash
# tests/fuzz/jobs.sh [seconds] - build and run the job-file parser's fuzz target.
#
# Configures build/fuzz with clang, FL_FUZZ=ON and ASan+UBSan (libraries
# only: no tests, benches or commands), builds fuzz_job_parse, seeds a
# temporary corpus with scenarios/jobs/*.ini, and fuzzes for the given
# seconds (default 30) with the INI dictionary below. Exits non-zero on the
# first crash, leak, sanitizer report or broken invariant; on failure the
# work directory with the crashing input is kept and named.
set -euo pipefail

secs=${1:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/fuzz
work=$(mktemp -d "${TMPDIR:-/tmp}/fl-fuzz-jobs.XXXXXX")
keep=0
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

CC=${CLANG:-clang} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFL_FUZZ=ON \
	-DFL_SANITIZE='address;undefined' -DFL_JEMALLOC=OFF -DFAULTLINE_BUILD_TESTS=OFF \
	-DFAULTLINE_BUILD_BENCH=OFF -DFAULTLINE_BUILD_CLI=OFF -DFAULTLINE_INSTALL=OFF \
	-DFAULTLINE_BUILD_SHARED=OFF >/dev/null
if ! cmake --build "$build" -j"$(nproc)" --target fuzz_job_parse >"$work/build.log" 2>&1; then
	cat "$work/build.log" >&2
	exit 1
fi

mkdir -p "$work/corpus"
cp "$root"/scenarios/jobs/*.ini "$work/corpus/"
# Every key and shape as a token, so mutations reach the semantic checks.
{
	for k in description shape stages workers width buffer group_limit items rate work \
		error_mode iterations retry retry_backoff hedge breaker breaker_cooldown budget \
		bulkhead tenants bulkhead_wait dlq faults stress_faults cancel_at cancel_p50 \
		cancel_p99 cancel_max cancel_hang slo_p50 slo_p99 slo_p999 slo_max heap_tolerance \
		expect_error expect_stage plant global linear fan-out fan-in diamond per-item \
		forever first-error collect-all; do
		echo "\"$k\""
	done
	printf '"%s"\n' '[' ']' ' = ' 'us' 'ms' '1e9' '65536' '256' '#' '|' ';' \
		'\x0D\x0A' '\x0D' '\xEF\xBB\xBF'
} > "$work/ini.dict"

echo "== fuzz_job_parse: fuzzing for ${secs}s"
if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	"$build/tests/fuzz/fuzz_job_parse" -max_total_time="$secs" -max_len=4096 \
	-dict="$work/ini.dict" -print_final_stats=1 "$work/corpus" 2>&1 | tail -25); then
	keep=1
	echo "fuzz_job_parse: FAILED; inputs in $work" >&2
	exit 1
fi
echo "fuzz_job_parse: clean"

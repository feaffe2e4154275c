#!/usr/bin/env bash
# The gates `make test` runs, in order, each with its wall time:
#   lint      what needs no build: the manual pages, the code format
#             (.clang-format), file and function
#             sizes (scripts/lint.sh)
#   release   every test, jemalloc allocator
#   layout    no circle between source files (scripts/circles.py, from the
#             release build's objects)
#   report    the report tells the truth in every format, the HTML checked
#             in headless Chromium (scripts/report-check.sh)
#   install   faultline installed, as .deb files and via add_subdirectory,
#             used by examples/consumer; lintian (scripts/install-check.sh)
#   tsan      every test under ThreadSanitizer (no suppressions for our code)
#   tsan-loaded  the TSan tests again while stress-ng keeps every core busy
#             (scripts/loaded-gates.sh): a CI runner is a busy machine, and a
#             test that depends on wall time or luck fails here
#   asan      every test under AddressSanitizer + UBSan (leaks on)
#   helgrind  the "concurrency" tests on the threads backend under Helgrind
#   memcheck  the "memcheck" subset under valgrind memcheck
# Stops at the first red gate. Prints one summary line per gate and a final
# "N passed, N failed" line counting gates.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
GATES=${GATES:-lint release layout report install tsan tsan-loaded asan helgrind memcheck}
passed=0
failed=0
for g in $GATES; do
	start=$(date +%s)
	echo "=== gate: $g"
	if [ "$g" = lint ]; then
		ok=false
		scripts/lint.sh && ok=true
	elif [ "$g" = layout ]; then
		ok=false
		python3 scripts/circles.py build/release && ok=true
	elif [ "$g" = report ]; then
		ok=false
		scripts/report-check.sh build/release && ok=true
	elif [ "$g" = install ]; then
		ok=false
		scripts/install-check.sh && ok=true
	elif [ "${g%-loaded}" != "$g" ]; then
		ok=false
		scripts/loaded-gates.sh "${g%-loaded}" && ok=true
	elif cmake --preset "$g" >/dev/null &&
	   cmake --build --preset "$g" -j "$JOBS" >"build-$g.log" 2>&1 &&
	   ctest --preset "$g"; then
		ok=true
	else
		ok=false
	fi
	if $ok; then
		passed=$((passed + 1))
		echo "=== gate $g: ok ($(( $(date +%s) - start )) s)"
		rm -f "build-$g.log"
	else
		failed=$((failed + 1))
		[ -f "build-$g.log" ] && tail -50 "build-$g.log"
		echo "=== gate $g: FAILED ($(( $(date +%s) - start )) s)"
		break
	fi
done
echo "gates: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# ci.sh BUILD - the orders project's CI gate beyond ctest, run from its
# build directory's parent or anywhere: BUILD holds orders-faultline and
# hlog-count (a cmake build of this folder).
#
#   1. each planted bug is caught by its check: orders_leaky fails "no
#      leaks", "no leaked threads", "no leaked fds" and "heap does not grow
#      with iterations"; orders_lossy fails "every order accounted for" and
#      "no hang" (exit 3); orders_clean passes every check;
#   2. stress finds the bug that only a fault shows (orders_swallow) and
#      prints a replay line; replaying it under --backend sim fails the
#      same way twice, with the same trace;
#   3. bench run drives the orders_one load open-loop and its .hlog decodes
#      to the number of requests the run measured;
#   4. `faultline wrap` over copy, a plain pthreads program of ours with no
#      faultline in it: it copies cleanly with nothing leaked; a failed
#      write (ENOSPC) is reported by copy and ends it with status 1; the
#      malloc sweep finds no crash or leak on any failed allocation.
# Exit 0 when all hold; 1 with the reason otherwise.
set -euo pipefail
B=$(cd "${1:?usage: ci.sh BUILD}" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
prog="$B/orders-faultline"
fail() { echo "orders ci: FAILED: $*" >&2; exit 1; }

# verdict REPORT CHECK: the verdict of "<scenario>: CHECK" in REPORT.json
verdict() {
	python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(next((c["verdict"] for c in r["checks"] if c["name"].endswith(": " + sys.argv[2])), "absent"))' "$1" "$2"
}

echo "--- orders ci: the planted bugs are caught"
rc=0; "$prog" run orders_clean --skip-timing --json clean.json >clean.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat clean.txt; fail "orders_clean exited $rc"; }
rc=0; "$prog" run orders_leaky --skip-timing --json leaky.json >leaky.txt 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat leaky.txt; fail "orders_leaky exited $rc, want 1"; }
for c in "no leaks" "no leaked threads" "no leaked fds" "heap does not grow with iterations"; do
	v=$(verdict leaky.json "$c")
	[ "$v" = fail ] || fail "orders_leaky: '$c' is $v, want fail"
	[ "$(verdict clean.json "$c")" != fail ] || fail "orders_clean: '$c' failed"
done
rc=0; "$prog" run orders_lossy --skip-timing --json lossy.json >lossy.txt 2>&1 || rc=$?
[ "$rc" = 3 ] || { cat lossy.txt; fail "orders_lossy exited $rc, want 3 (a hang)"; }
for c in "every order accounted for" "no hang"; do
	v=$(verdict lossy.json "$c")
	[ "$v" = fail ] || fail "orders_lossy: '$c' is $v, want fail"
done
[ "$(verdict clean.json "every order accounted for")" = pass ] || fail "orders_clean lost orders"
echo "    leaks (objects, threads, fds, heap growth), a lost order and a stall: each caught"

echo "--- orders ci: stress finds the swallowed error, replay under sim repeats it"
rc=0; "$prog" stress orders_swallow --iterations 300 --seed 1 --backend sim >stress.txt 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat stress.txt; fail "stress exited $rc, want 1 (the plant found)"; }
line=$(grep '^replay: ' stress.txt | sed 's/^replay: //') || true
[ -n "$line" ] || { cat stress.txt; fail "stress printed no replay line"; }
grep -m1 FAILED stress.txt | sed 's/^/    /'
# the line quotes its arguments for a shell: run it through one
for i in 1 2; do
	rc=0; FAULTLINE_TRACE="$T/trace$i" bash -c "$line --json replay$i.json" >replay$i.txt 2>&1 || rc=$?
	[ "$rc" = 1 ] || { cat replay$i.txt; fail "replay $i exited $rc, want 1"; }
	[ "$(verdict replay$i.json "every order accounted for")" = fail ] || fail "replay $i passed"
done
cmp -s "$T/trace1" "$T/trace2" || fail "the two sim replays traced different runs"
echo "    replayed twice under sim: same failure, identical traces ($(wc -l <"$T/trace1") events)"

echo "--- orders ci: bench run on the orders_one load"
"$prog" bench run orders_one --rate 1000 --items 2000 --warmup 100ms --workers 2 \
	--report bench >bench.txt 2>&1 || { cat bench.txt; fail "bench run"; }
measured=$(sed -n 's/^items \([0-9]*\) measured.*/\1/p' bench.txt)
read -r count p99 < <("$B/hlog-count" bench/run.hlog response)
[ -n "$measured" ] && [ "$count" = "$measured" ] ||
	fail "run.hlog holds $count responses, the run measured ${measured:-?}"
echo "    run.hlog: $count responses decoded (p99 $p99 ns), as measured"
echo "--- orders ci: faultline wrap over a plain program (copy)"
wrap=$(sed -n 's/^FAULTLINE_COMMAND:FILEPATH=//p' "$B/CMakeCache.txt")
if [ -z "$wrap" ] || [ ! -x "$wrap" ]; then
	echo "    skipped: no installed faultline command beside the package (vendored build)"
else
	head -c 100000 /dev/urandom >in.bin
	"$wrap" wrap --seed 1 -- "$B/copy" in.bin out.bin >wrap.txt 2>&1 ||
		{ cat wrap.txt; fail "copy under wrap, no plan"; }
	cmp -s in.bin out.bin || fail "copy under wrap copied wrong"
	grep -q "no leaked heap: pass" wrap.txt || { cat wrap.txt; fail "copy leaked"; }
	rc=0; "$wrap" wrap --seed 1 --faults 'libc/io/write=@3 error(ENOSPC)' --json wrap.json \
		-- "$B/copy" in.bin out.bin >enospc.txt 2>&1 || rc=$?
	[ "$rc" = 1 ] || { cat enospc.txt; fail "wrap with a failed write exited $rc, want 1"; }
	grep -q "copy: write: No space left on device" enospc.txt ||
		{ cat enospc.txt; fail "copy did not report the failed write"; }
	grep -q "libc/io/write eval 3, thread 0: error(ENOSPC)" enospc.txt ||
		{ cat enospc.txt; fail "wrap did not account the firing"; }
	rc=0; "$wrap" wrap --sweep libc/mem/malloc --max 40 -- "$B/copy" in.bin out.bin \
		>sweep.txt 2>&1 || rc=$?
	[ "$rc" = 0 ] || { cat sweep.txt; fail "the malloc sweep over copy exited $rc"; }
	echo "    $(grep -m1 'copy: write' enospc.txt); $(tail -1 sweep.txt)"
fi
echo "orders ci: passed"

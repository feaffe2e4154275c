#!/usr/bin/env bash
# report-check.sh [BUILD] - the report tells the truth, in every format.
#
# Runs tests/browser/truth.ini (injected faults that are retried away, a
# lost item, a crashing stage) with BUILD's faultline (default
# build/release), expects exit 1, and checks every format of the report:
#   Markdown  the fault count is not zero; the first check listed is a
#             failure; the crashing function is named
#   JSON      faults.total > 0 with a count for the faulty point; the crash
#             check's message names the crashing function
#   JUnit     valid against tests/reports/junit.xsd; a <failure> names it
#   HTML      in headless Chromium (tests/browser/check_html.sh: self-
#             contained, screenshot, plots in the DOM), then in the DOM: the
#             "faults injected" tile is not zero, the first check row is a
#             failure, the fault timeline is drawn, the function is named,
#             the throughput and p99 over time plot the faulty job's e2e
#             series (fl_scenario_record's intervals).
# Negative control: the same checks on a clean run's report (`run cancel_latency`: no
# fault, no failure) must fail, so none of them can pass by accident.
# Needs chromium (Debian's package; check_html.sh installs it as root).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
fl="$build/cli/faultline"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "report-check: FAIL: $*" >&2; exit 1; }
crash_fn='fl__eng_handle'

# truthful DIR: 0 when every format in DIR tells the truth, else 1 with
# the reason on stderr.
truthful() {
	local d=$1 ok=0
	python3 - "$d" "$crash_fn" <<'EOF' || ok=1
import json, re, sys
d, fn = sys.argv[1], sys.argv[2]
bad = []
def no(why):
    bad.append(why)
md = open(d + "/summary.md", encoding="utf-8").read()
m = re.search(r"^## Faults: (\d+) injected", md, re.M)
if not m or int(m.group(1)) == 0:
    no("summary.md: no injected faults counted")
rows = [l for l in md.splitlines() if re.match(r"\| (✅|❌|⏭)", l)]
if not rows or "fail" not in rows[0]:
    no("summary.md: the first check listed is not a failure")
if fn.replace("_", "\\_") not in md:
    no("summary.md: the crashing function is not named")
j = json.load(open(d + "/report.json", encoding="utf-8"))
if j["faults"]["total"] <= 0 or not any(k.endswith(": work") for k in j["faults"]["counts"]):
    no("report.json: no fault counts for the faulty point")
if not any(c["verdict"] == "fail" and fn in c["message"] for c in j["checks"]):
    no("report.json: no failed check names the crashing function")
junit = open(d + "/junit.xml", encoding="utf-8").read()
if not re.search(r"<failure[^>]*>[^<]*" + fn, junit) and not re.search(r'<failure[^>]*message="[^"]*' + fn, junit):
    no("junit.xml: no failure names the crashing function")
for b in bad:
    print("report-check: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
	xmllint --noout --schema tests/reports/junit.xsd "$d/junit.xml" 2>"$tmp/xsd.log" ||
		{ cat "$tmp/xsd.log" >&2; return 1; }
	FL_BROWSER_REQUIRED=1 tests/browser/check_html.sh "$d" >"$tmp/html.log" 2>&1 ||
		{ cat "$tmp/html.log" >&2; return 1; }
	python3 - "$d/index.dom.html" "$crash_fn" <<'EOF' || ok=1
import re, sys
dom, fn = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
bad = []
def no(why):
    bad.append(why)
m = re.search(r"faults injected</span><b>(\d+)</b>", dom)
if not m or int(m.group(1)) == 0:
    no("the faults-injected tile says 0")
checks = dom[dom.find('id="checks"'):]
first = re.search(r'<tbody>\s*<tr class="(\w+)"', checks)
if not first or first.group(1) != "fail":
    no("the first check row is not a failure")
faults = dom[dom.find('id="faults"'):]
if "<svg" not in faults.split("</section>")[0]:
    no("no fault timeline")
if fn not in dom:
    no("the crashing function is not named")
over_time = dom[dom.find('id="time"'):].split("</section>")[0]
if "<svg" not in over_time or "<title>faulty.e2e at " not in over_time:
    no("no over-time plot of the scenario run's series (faulty.e2e)")
for b in bad:
    print("report-check: index.html: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
	return $ok
}

rc=0
"$fl" run tests/browser/truth.ini --skip-timing --report "$tmp/truth" >"$tmp/run.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/run.log" >&2; fail "faultline run exited $rc, want 1 (a failed check)"; }
truthful "$tmp/truth" || fail "the report of tests/browser/truth.ini does not tell the truth"
echo "report-check: ok: Markdown, JSON, JUnit and HTML (Chromium) show the faults, the failure first and the crash"

"$fl" run cancel_latency --skip-timing --report "$tmp/clean" >"$tmp/clean.log" 2>&1 ||
	{ cat "$tmp/clean.log" >&2; fail "the clean run failed"; }
if truthful "$tmp/clean" 2>"$tmp/neg.log"; then
	fail "negative control: a clean run's report passed the checks"
fi
for what in "summary.md: no injected" "summary.md: the first check" "report.json: no fault" \
	"report.json: no failed" "junit.xml: no failure" "index.html: the faults-injected" \
	"index.html: the first check row" "index.html: no over-time"; do
	grep -q "$what" "$tmp/neg.log" ||
		{ cat "$tmp/neg.log" >&2; fail "negative control: '$what' was not caught"; }
done
echo "report-check: ok: negative control: a clean run's report fails $(wc -l <"$tmp/neg.log") checks"
echo "report-check: PASS"

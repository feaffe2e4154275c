#!/usr/bin/env bash
# check_html.sh OUTDIR - renders OUTDIR/index.html (a run report written by
# fl_report_write_html, e.g. by `fl-report-demo OUTDIR`) in headless
# Chromium and checks it.
#
#   1. Static: the page is one self-contained file; nothing in it can make
#      a browser fetch (no loading elements, no src=/href= attributes, no
#      url() or @import).
#   2. Screenshot: OUTDIR/index.png (look at it; this is the visual check).
#   3. DOM: --dump-dom into OUTDIR/index.dom.html, then verify the inline
#      SVG plots are in the DOM with non-empty path data, and the sections
#      are present.
#
# Chromium comes from Debian's package "chromium". If it is missing, the
# script installs it when running as root with apt-get, and otherwise
# prints SKIP and exits 0 (set FL_BROWSER_REQUIRED=1 to fail instead).
# Environment: FL_SHOT_WIDTH / FL_SHOT_HEIGHT (window size, default
# 1200x2800), CHROMIUM (the browser binary).
#
# Heavy (starts a browser): not part of ctest. Exit status 0 = pass or skip.
set -euo pipefail

die() { echo "check_html: FAIL: $*" >&2; exit 1; }
skip() {
	echo "check_html: SKIP: $*"
	[ "${FL_BROWSER_REQUIRED:-0}" = 1 ] && exit 1
	exit 0
}

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
outdir=$(cd "$1" && pwd) || die "no directory $1"
page="$outdir/index.html"
[ -f "$page" ] || die "$page does not exist (run fl-report-demo $1 first)"

find_browser() {
	for b in "${CHROMIUM:-}" chromium chromium-browser; do
		[ -n "$b" ] && command -v "$b" >/dev/null 2>&1 && { command -v "$b"; return 0; }
	done
	return 1
}

browser=$(find_browser || true)
if [ -z "$browser" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "check_html: installing Debian's chromium (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null ||
			{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y chromium >/dev/null; } ||
			skip "could not install chromium"
		browser=$(find_browser || true)
	fi
	[ -n "$browser" ] || skip "chromium is not installed and we are not root (apt-get install chromium)"
fi

# 1. Static self-containment: no element that loads something, no
# attribute that names a resource, no CSS import or url(). (User text in the
# page is escaped, so a "<" here is always real markup.)
fetchy='<(script|link|img|iframe|object|embed|video|audio|source|image|use)[[:space:]>/]'
fetchy="$fetchy"'|<[^>]*[[:space:]](src|href|xlink:href|srcset|poster|data|action)[[:space:]]*='
fetchy="$fetchy"'|url\(|@import'
if grep -Eqi "$fetchy" "$page"; then
	grep -Eoi ".{0,40}($fetchy).{0,40}" "$page" | head -5 >&2
	die "index.html references external resources"
fi
echo "check_html: ok: no external references"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--disable-extensions --disable-default-apps --hide-scrollbars
	--user-data-dir="$profile")
url="file://$page"

# 2. Screenshot.
size="${FL_SHOT_WIDTH:-1200},${FL_SHOT_HEIGHT:-2800}"
rm -f "$outdir/index.png"
timeout 120 "$browser" "${flags[@]}" --window-size="$size" \
	--screenshot="$outdir/index.png" "$url" >/dev/null 2>"$profile/shot.log" ||
	{ cat "$profile/shot.log" >&2; die "chromium --screenshot failed"; }
[ -s "$outdir/index.png" ] || die "no screenshot written"
echo "check_html: ok: screenshot $outdir/index.png ($(wc -c <"$outdir/index.png") bytes)"

# 3. DOM.
dom="$outdir/index.dom.html"
timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$dom" 2>"$profile/dom.log" ||
	{ cat "$profile/dom.log" >&2; die "chromium --dump-dom failed"; }
count() { grep -Eo "$1" "$2" | wc -l || true; }
svgs=$(count '<svg class="plot"' "$dom")
[ "$svgs" -ge 1 ] || die "no SVG plot in the DOM"
# Every plotted line is a path "M x y L x y ..."; count the ones with data.
lines=$(count ' d="M[0-9.]+ [0-9.]+ L[^"]+"' "$dom")
empty=$(count ' d=""' "$dom")
[ "$lines" -ge 1 ] || die "no SVG path with line data in the DOM"
for section in 'id="checks"' 'id="latency"' 'id="time"' 'id="faults"'; do
	grep -q "$section" "$dom" || die "section $section missing from the DOM"
done
if grep -q '<script' "$dom"; then
	die "the DOM holds a <script> element"
fi
echo "check_html: ok: DOM has $svgs SVG plots, $lines paths with data ($empty empty)"
echo "check_html: PASS ($outdir)"

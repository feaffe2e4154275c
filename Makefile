# faultline - top-level entry points. See README.md.
#
#   make run     install missing Debian packages, build, run the default suite
#   make test    build and test: release, TSan, ASan+UBSan, Helgrind, memcheck
#   make bench   micro-benchmarks next to the Go peer (ratios)
#
# Each configuration builds into build/<preset> (CMakePresets.json).

SHELL := /bin/bash
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
OUT ?= out

# Debian packages the build and the gates need.
DEB_PKGS := build-essential cmake pkg-config zlib1g-dev libsqlite3-dev \
            libjemalloc-dev libinih-dev valgrind
DEB_BENCH_PKGS := golang-go golang-golang-x-sync-dev

.PHONY: all deps build run test test-release test-tsan test-asan test-helgrind \
        test-memcheck bench browser-check fuzz clean

all: build

# Installs what is missing (apt-get, when root); otherwise says what to install.
deps:
	@scripts/ensure-deps.sh $(DEB_PKGS)

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

run: build
	build/release/scenarios/faultline run --report $(OUT)

define preset_test
	cmake --preset $(1) >/dev/null
	cmake --build --preset $(1) -j $(JOBS)
	ctest --preset $(1) $(2)
endef

test-release: deps
	$(call preset_test,release)
test-tsan: deps
	$(call preset_test,tsan)
test-asan: deps
	$(call preset_test,asan)
test-helgrind: deps
	$(call preset_test,helgrind)
test-memcheck: deps
	$(call preset_test,memcheck)

# The full gate, as CI runs it.
test: deps
	@scripts/run-gates.sh

bench: deps
	@scripts/ensure-deps.sh $(DEB_BENCH_PKGS)
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	bench/run.sh

# Renders a demo report in headless Chromium (installs chromium when root),
# checks the plots are in the DOM and leaves a screenshot in build/browser.
browser-check: build
	rm -rf build/browser && build/release/reports/examples/fl-report-demo build/browser
	FL_BROWSER_REQUIRED=1 tests/browser/check_html.sh build/browser

# Bounded libFuzzer runs (clang) of the HDR decoder, the .hlog reader and the
# fault plan parser. FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 30
fuzz: deps
	@scripts/ensure-deps.sh clang libclang-rt-14-dev
	tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build $(OUT)

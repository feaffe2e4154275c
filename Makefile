# faultline - top-level entry points. See README.md.
#
#   make run     install missing Debian packages, build, run the default suite
#   make test    lint, then build and test: release, the report in Chromium, TSan (quiet, then under load), ASan+UBSan, Helgrind, memcheck
#   make bench   micro-benchmarks next to the Go peer (ratios)
#   make sweep   a small capacity sweep: out/sweep/index.html shows the knee
#
# Each configuration builds into build/<preset> (CMakePresets.json).

SHELL := /bin/bash
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
OUT ?= out

# Debian packages the build and the gates need.
DEB_PKGS := build-essential cmake pkg-config zlib1g-dev libsqlite3-dev \
            libjemalloc-dev libinih-dev libjansson-dev valgrind mandoc stress-ng \
            python3 lintian fakeroot libxml2-utils chromium clang-format-14
DEB_BENCH_PKGS := golang-go golang-golang-x-sync-dev

.PHONY: all deps build run test test-release test-tsan test-asan test-helgrind \
        test-memcheck bench sweep browser-check fuzz deb install-check clean

all: build

# Installs what is missing (apt-get, when root); otherwise says what to install.
deps:
	@scripts/ensure-deps.sh $(DEB_PKGS)

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# Timing goals are reported, not judged, on the real clock (--skip-timing):
# a busy machine must not fail the suite. `make test` judges them on sim.
run: build
	build/release/cli/faultline run catalogue scenarios/jobs/shapes.ini \
		scenarios/jobs/policies.ini --skip-timing --report $(OUT)

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

# Debian packages (docs/install.md): libfaultline0, libfaultline-dev and
# faultline, built with prefix /usr into build/deb/*.deb.
deb: deps
	cmake --preset deb >/dev/null
	cmake --build --preset deb -j $(JOBS)
	cd build/deb && rm -f *.deb && cpack -G DEB >/dev/null && ls -1 *.deb

# What a user does: install, build examples/consumer against it three ways,
# the .deb files unpacked; lintian on the packages (the install gate).
install-check: deps
	@scripts/install-check.sh

bench: deps
	@scripts/ensure-deps.sh $(DEB_BENCH_PKGS)
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	bench/run.sh

# A small capacity sweep on the real clock (about 30 s): two configurations
# (2 and 4 workers of exp(1ms) work, slept) over eight offered rates; the
# page marks each configuration's knee against a 20 ms p99 SLO.
SWEEP_ARGS ?= --service 'exp(1ms)' --work sleep --workers 2,4 \
              --rate 500,1000,1500,2000,2500,3000,3500,4000 --cell 1.5s \
              --warmup 0.3s --slo 20ms
sweep: build
	build/release/cli/faultline-bench sweep $(SWEEP_ARGS) --report $(OUT)/sweep

# Renders a demo report in headless Chromium (installs chromium when root),
# checks the plots are in the DOM and leaves a screenshot in build/browser.
browser-check: build
	rm -rf build/browser && build/release/reports/examples/fl-report-demo build/browser
	FL_BROWSER_REQUIRED=1 tests/browser/check_html.sh build/browser

# Bounded libFuzzer runs (clang) of the HDR decoder, the .hlog reader, the
# fault plan parser and the job-file parser (build/fuzz, FL_FUZZ=ON).
# FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 30
fuzz: deps
	@scripts/ensure-deps.sh clang libclang-rt-14-dev
	tests/fuzz/run.sh $(FUZZ_SECONDS)
	tests/fuzz/jobs.sh $(FUZZ_SECONDS)

clean:
	rm -rf build $(OUT)

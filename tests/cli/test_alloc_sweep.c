/* fl-test-labels: onebackend notsan */
/* onebackend: each sweep names its backend on its command line. notsan:
 * hundreds of children per case; the release and ASan gates run it, and
 * the hook's atomics are covered under TSan by tests/runtime/test_alloc.c. */
/*
 * test_alloc_sweep.c - `faultline sweep --alloc`: a bounded form of the
 * allocation-failure sweep over the catalogue (the small scenarios every
 * n until exhausted, the rest to a --max bound) with no bad run, and the
 * negative control: alloc_demo.c's planted leak on allocation failure is
 * reported as a bad run, while its careful twin is clean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fl_test.h"
#include "fl_test_sh.h"

#define BIN FL_BINARY_DIR "/cli/faultline"
#define DEMO FL_BINARY_DIR "/tests/cli/fl_alloc_demo"

static char out[1 << 16];

/* Runs cmd, output into out; exit status. */
static int sh(const char *cmd) { return fl_test_sh(cmd, out, sizeof(out)); }

static void expect(const char *want)
{
	if (!strstr(out, want))
		FL_FAIL("expected \"%s\" in:\n%s", want, out);
}

/* Sweeps name on backend (max 0: until exhausted); asserts no bad run. */
static void clean_sweep(const char *name, const char *backend, int max)
{
	char cmd[512], bound[32] = "";
	if (max)
		snprintf(bound, sizeof(bound), " --max %d", max);
	snprintf(cmd, sizeof(cmd), BIN " sweep --alloc %s --backend %s%s", name, backend, bound);
	int rc = sh(cmd);
	if (rc != 0)
		FL_FAIL("%s: exit %d:\n%s", cmd, rc, out);
	expect(", 0 bad");
	if (!max)
		expect("exhausted");
}

FL_TEST(small_catalogue_scenarios_sweep_clean_to_exhaustion)
{
	static const char *const full[] = {"sum", "drain_on_error", "panic_capture", "set_limit"};
	for (size_t i = 0; i < sizeof(full) / sizeof(*full); i++) {
		clean_sweep(full[i], "threads", 0);
		clean_sweep(full[i], "fibers", 0);
		clean_sweep(full[i], "sim", 0);
	}
}

/* On sim, timed waits: deadline's parks with a deadline (a timed park
 * aborted when the timer heap could not grow) and retry_item's backoffs. */
FL_TEST(sim_timed_waits_sweep_clean_to_exhaustion)
{
	clean_sweep("deadline", "sim", 0);
	clean_sweep("retry_item", "sim", 0);
}

/* The rest of the catalogue, each to a bound (the full sweep, hundreds of
 * runs for some, is `faultline sweep --alloc NAME` by hand: docs/scenarios.md).
 * hedged_fetch is left out: about 2 s a run. */
FL_TEST(rest_of_catalogue_sweeps_clean_to_a_bound)
{
	static const char *const rest[] = {"early_return",     "fanout_nested",
					   "join_errors",      "stage_as",
					   "deadline",         "cancel_latency",
					   "fetch_all",        "retry_item",
					   "skip_sentinel",    "saga",
					   "saga_restart",     "bulkhead_tenants",
					   "circuit_breaker",  "dead_letter",
					   "cursor_restart",   "stream_aggregate",
					   "integration",      "leak_found",
					   "chaos_1pct",       "translate_999",
					   "forgotten_drain",  "cancelled_too_early",
					   "tail_at_scale",    "ok_error_body",
					   "typed_errors",     "mini_group",
					   "rate_limited_pool"};
	for (size_t i = 0; i < sizeof(rest) / sizeof(*rest); i++)
		clean_sweep(rest[i], "threads", 6);
}

FL_TEST(planted_leak_on_allocation_failure_is_a_bad_run)
{
	ASSERT_EQ(sh(DEMO " sweep --alloc two_chans_ok --backend threads"), 0);
	expect("exhausted");
	expect(", 0 bad");
	ASSERT_EQ(sh(DEMO " sweep --alloc two_chans_leaky --backend threads"), 1);
	expect("BAD: no leaks");
	expect("two_chans_leaky: allocation ");
}

FL_TEST(usage_errors)
{
	ASSERT_EQ(sh(BIN " sweep --alloc"), 2);
	expect("name exactly one scenario");
	ASSERT_EQ(sh(BIN " sweep --alloc sum --max 0"), 2);
	ASSERT_EQ(sh(BIN " run sum --max 3"), 2);
	expect("--alloc and --max belong to");
}

FL_TEST_MAIN(FL_CASE(small_catalogue_scenarios_sweep_clean_to_exhaustion),
	     FL_CASE(sim_timed_waits_sweep_clean_to_exhaustion),
	     FL_CASE(rest_of_catalogue_sweeps_clean_to_a_bound),
	     FL_CASE(planted_leak_on_allocation_failure_is_a_bad_run), FL_CASE(usage_errors))

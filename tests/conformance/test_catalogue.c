/* fl-test-labels: concurrency memcheck */
/*
 * The reference-task catalogue, the cases cheap enough for every checker
 * (Helgrind and memcheck too): ErrSkip, the planted leak (a negative
 * control: the scenario passes because its leak check catches the leak),
 * the 1% chaos pipeline, bulkheads per tenant, streaming aggregation, the
 * 999 translations and the forgotten drain.
 * test_catalogue_io.c has the ones that use sockets, files and child
 * processes.
 *
 * Each case runs one scenario through fl_scenario_run and asserts on what
 * it recorded: exact counts where unbuffered channels or handshakes make
 * them exact, the live error through the observe hook (fl_err_is,
 * fl_err_as, the text of the chain), every declared check passed, and the
 * live counts back at the baseline. Timing goals are skipped.
 */
#include <fl/fault.h>
#include <fl/retry.h>
#include <fl/scenario.h>
#include <fl/task.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fl_test.h"
#include "scn_test.h"

/* ---- task 5: per-item retry, and the story it fixes ------------------------------------------ */

static void retry_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "3 attempts") == 0) {
		ASSERT_NULL(err);
		return;
	}
	ASSERT_STR_EQ(what, "2 attempts");
	const fl_retry_info *ri = fl_err_as(err, &fl_retry_error_type);
	ASSERT_NOT_NULL(ri);
	ASSERT_EQ(ri->attempts, 2);
	ASSERT_EQ(ri->stop, FL_RETRY_STOP_ATTEMPTS);
	ASSERT(fl_err_is(err, fl_scenario_err_transient));
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	ASSERT_NOT_NULL(fi); /* the injected error is kept under the retry's */
	ASSERT_STR_EQ(fi->point, "retry.process");
	s->extra++;
}

FL_TEST(retry_item)
{
	seen s = {.check = retry_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("retry_item", &p, &r);
	ASSERT_EQ(s.calls, 4);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "items", 2 * 20);
	assert_counter(&r, "attempts", 2 * 3 * 20); /* fails twice, then succeeds */
	assert_counter(&r, "failed", 2);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

static void early_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "retry inside the task") == 0) {
		ASSERT_NULL(err);
	} else {
		ASSERT(fl_err_is(err, fl_scenario_err_transient));
		ASSERT_NULL(fl_err_as(err, &fl_retry_error_type)); /* one attempt, no retry */
	}
	s->extra++;
}

FL_TEST(cancelled_too_early)
{
	seen s = {.check = early_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("cancelled_too_early", &p, &r);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "items", 100);
	assert_counter(&r, "attempts", 2 * 100); /* each source: one failure, one success */
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 15: circuit breaker ---------------------------------------------------------- */

FL_TEST(circuit_breaker)
{
	seen s = {0};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("circuit_breaker", &p, &r);
	ASSERT_EQ(s.nil, 2); /* per-item results: the stage never fails */
	assert_counter(&r, "failed", 2 * 5);
	int64_t fast = fl_scenario_counter_value(&r, "failed_fast");
	if (fl_test_virtual_time()) /* no cool-down passes among items 6-10 */
		ASSERT_EQ(fast, 2 * 5);
	ASSERT_LE(fast, 2 * 5);
	assert_counter(&r, "items", 2 * 15 - fast);
	assert_counter(&r, "backend_calls", 2 * 20 - fast); /* none while open */
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 16: dead-letter queue ------------------------------------------------------- */

FL_TEST(dead_letter)
{
	seen s = {0};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("dead_letter", &p, &r);
	ASSERT_EQ(s.nil, 2); /* poison never fails the pipeline */
	assert_counter(&r, "dead_lettered", 2 * 2);
	assert_counter(&r, "items", 2 * 30); /* 28 at once, 2 recovered */
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 6: ErrSkip ---------------------------------------------------------------- */

static void skip_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "skip empties") == 0) {
		ASSERT_NULL(err); /* ErrSkip never reaches the group */
		return;
	}
	ASSERT_STR_EQ(what, "one invalid");
	ASSERT(fl_err_is(err, fl_scenario_err_invalid));
	ASSERT(!fl_err_is(err, fl_scenario_err_skip));
	assert_text(err, "sink: item 14: invalid item");
	s->extra++;
}

FL_TEST(skip_sentinel)
{
	seen s = {.check = skip_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("skip_sentinel", &p, &r);
	ASSERT_EQ(s.calls, 4);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "items", 2 * 15); /* 20 strings, 5 empty */
	assert_counter(&r, "skipped", 2 * 5);
	assert_counter(&r, "failed", 2);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- bonus 2: the planted leak, found ------------------------------------------------- */

static void leak_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT(fl_err_is(err, fl_scenario_err_rejected));
	assert_text(err, "consumer: gave up after 3: item rejected");
}

FL_TEST(leak_found)
{
	seen s = {.check = leak_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("leak_found", &p, &r);
	ASSERT_EQ(s.calls, 2);
	/* The negative control: exactly one task was leaked and seen. */
	assert_counter(&r, "leaked_tasks", 1);
	const fl_scenario_verdict *c =
		fl_scenario_find_check(&r, "leak check finds the planted leak");
	ASSERT_NOT_NULL(c);
	ASSERT_DBL_NEAR(c->measured, 1, 0);
	assert_verdict(&r, "dump names the leaked task", FL_REPORT_PASS);
	assert_verdict(&r, "fixed producer leaks nothing", FL_REPORT_PASS);
	assert_all_pass(&r); /* and the planted leak was cleaned up */
	fl_scenario_result_destroy(&r);
}

/* ---- bonus 3: 1% random faults --------------------------------------------------------- */

static void chaos_err(const char *what, const fl_err *err, seen *s)
{
	if (!err)
		return;
	/* An injected error: the sentinel and the fault point's payload. */
	ASSERT(fl_err_is(err, fl_scenario_err_chaos));
	s->extra++;
}

FL_TEST(chaos_1pct)
{
	seen s = {.check = chaos_err};
	fl_scenario_params p = params(300, &s);
	p.seed = 42;
	fl_scenario_result r;
	run("chaos_1pct", &p, &r);
	ASSERT_EQ(s.calls, 300);
	ASSERT_EQ(s.extra, fl_scenario_counter_value(&r, "faulted_runs"));
	/* About 48 evaluations an iteration at 1%: some runs fail, most not. */
	ASSERT_GT(fl_scenario_counter_value(&r, "faulted_runs"), 0);
	ASSERT_LT(fl_scenario_counter_value(&r, "faulted_runs"), 300);
	ASSERT_GE(fl_scenario_counter_value(&r, "error_fires"),
		  fl_scenario_counter_value(&r, "faulted_runs"));
	int64_t produced = fl_scenario_counter_value(&r, "produced");
	ASSERT_EQ(produced, fl_scenario_counter_value(&r, "delivered") +
				    fl_scenario_counter_value(&r, "dropped") +
				    fl_scenario_counter_value(&r, "failed") +
				    fl_scenario_counter_value(&r, "cancelled"));
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, "never swallows an error");
	ASSERT_EQ(c->evals, 300);
	ASSERT_EQ(c->fails, 0);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 14: bulkhead per tenant ------------------------------------------------------- */

static void tenant_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT_STR_EQ(what, "coordinator");
	ASSERT(fl_err_is(err, fl_scenario_err_invalid));
	ASSERT_EQ(fl_err_join_len(err), 0); /* tenant b's error alone */
	char buf[FL_SCENARIO_ERR_MAX];
	fl_err_format(err, buf, sizeof(buf));
	ASSERT(strstr(buf, "'b'") != NULL);
	ASSERT(strstr(buf, "item 5: invalid item") != NULL);
	s->extra++;
}

FL_TEST(bulkhead_tenants)
{
	seen s = {.check = tenant_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("bulkhead_tenants", &p, &r);
	ASSERT_EQ(s.extra, 2);
	/* a, c and d deliver all 40 (after b failed); b never its item 5
	 * (how many of its others ran depends on the schedule). */
	assert_counter(&r, "delivered.healthy", 2 * 3 * 40);
	ASSERT_LE(fl_scenario_counter_value(&r, "delivered.failing"), 2 * 39);
	assert_counter(&r, "failed", 2);
	assert_counter(&r, "produced", 2 * 4 * 40);
	for (char c = 'a'; c <= 'd'; c++) {
		char name[16];
		snprintf(name, sizeof(name), "tenant.%c", c);
		const fl_scenario_group *g = find_group(&r, name);
		ASSERT_EQ(g->limit, 8);
		ASSERT_LE(g->hwm, 8);
	}
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 19: streaming aggregation -------------------------------------------------------- */

FL_TEST(stream_aggregate)
{
	seen s = {0};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("stream_aggregate", &p, &r);
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.nil, 1);              /* close: the DLQ took the poison batch */
	assert_counter(&r, "items", 250); /* flushed, then the DLQ's replayed */
	if (fl_test_virtual_time()) {     /* boundaries are exact on virtual time */
		assert_counter(&r, "dead_lettered", 100);
		assert_counter(&r, "batches", 3);
		assert_counter(&r, "by_time", 2); /* the two pauses */
	} else {                                  /* a preempted burst may also be closed by time */
		ASSERT_GE(fl_scenario_counter_value(&r, "dead_lettered"), 1);
		ASSERT_GE(fl_scenario_counter_value(&r, "batches"), 3);
		ASSERT_GE(fl_scenario_counter_value(&r, "by_time"), 2);
	}
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- story: 999 translations ----------------------------------------------------------- */

static void translate_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT(fl_err_is(err, fl_scenario_err_rate_limited));
	assert_text(err, "translate doc 1000: rate limited");
	s->extra += strcmp(what, "collect all") == 0;
}

FL_TEST(translate_999)
{
	seen s = {.check = translate_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("translate_999", &p, &r);
	ASSERT_EQ(s.calls, 2);
	ASSERT_EQ(s.extra, 1);
	assert_counter(&r, "thrown_away", 999); /* the bug, exactly */
	assert_counter(&r, "delivered", 999);   /* the fix keeps them */
	assert_counter(&r, "failed", 1);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- story: the forgotten drain -------------------------------------------------------- */

static void drain_story_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "return nil early") == 0) {
		ASSERT(fl_err_is(err, FL_ERR_DEADLINE)); /* only the guard ended it */
	} else if (strcmp(what, "continue") == 0) {
		ASSERT_NULL(err);
	} else {
		ASSERT_STR_EQ(what, "return an error");
		ASSERT(fl_err_is(err, fl_scenario_err_skip));
		assert_text(err, "sink: abort at item 4: skip item");
	}
	s->extra++;
}

FL_TEST(forgotten_drain)
{
	seen s = {.check = drain_story_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("forgotten_drain", &p, &r);
	ASSERT_EQ(s.extra, 3);
	assert_counter(&r, "hung", 1);
	assert_counter(&r, "items", 9);
	assert_counter(&r, "skipped", 1);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- the catalogue lists them ---------------------------------------------------------- */

FL_TEST(catalogue_lists_reference_tasks)
{
	static const char *const names[] = {"sum",
					    "early_return",
					    "fetch_all",
					    "drain_on_error",
					    "skip_sentinel",
					    "saga",
					    "saga_restart",
					    "bulkhead_tenants",
					    "cursor_restart",
					    "stream_aggregate",
					    "integration",
					    "tail_at_scale",
					    "fanout_nested",
					    "join_errors",
					    "stage_as",
					    "deadline",
					    "panic_capture",
					    "leak_found",
					    "chaos_1pct",
					    "cancel_latency",
					    "translate_999",
					    "forgotten_drain",
					    "ok_error_body",
					    "retry_item",
					    "cancelled_too_early",
					    "dead_letter",
					    "hedged_fetch",
					    "circuit_breaker"};
	builtins();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const fl_scenario *s = fl_scenario_find(names[i]);
		if (!s)
			FL_FAIL("no scenario %s", names[i]);
		ASSERT_NOT_NULL(s->checks[0]);
	}
}

FL_TEST_MAIN(FL_CASE(retry_item), FL_CASE(cancelled_too_early), FL_CASE(circuit_breaker),
	     FL_CASE(dead_letter), FL_CASE(skip_sentinel), FL_CASE(leak_found), FL_CASE(chaos_1pct),
	     FL_CASE(bulkhead_tenants), FL_CASE(stream_aggregate), FL_CASE(translate_999),
	     FL_CASE(forgotten_drain), FL_CASE(catalogue_lists_reference_tasks))

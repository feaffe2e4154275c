/* fl-test-labels: concurrency memcheck */
/*
 * The conformance exercises: each case runs one scenario of the catalogue
 * through fl_scenario_run (so the exercise's code exists once, in
 * scenarios/) and asserts on what it recorded: exact counts where the
 * pipeline's channels make them exact, the live error itself (seen through
 * the observe hook: fl_err_is, fl_err_as, the join's children, the text of
 * the chain), the live counts against the baseline, and the groups'
 * high-water marks. Timing goals are never asserted (skip_timing); the
 * deadline exercise's budgets scale with FL_TEST_TIME_SCALE.
 *
 * The last cases test the runner itself with scenarios defined here: a
 * leak is caught, an unevaluated check fails, a failed run is reported,
 * and results become one report.
 */
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/hdr.h>
#include <fl/report.h>
#include <fl/scenario.h>
#include <fl/task.h>

#include <math.h>

#include "fl_test.h"
#include "scn_test.h"

/* ---- 1. sum --------------------------------------------------------------------- */

FL_TEST(sum)
{
	seen s = {0};
	fl_scenario_params p = params(3, &s);
	fl_scenario_result r;
	run("sum", &p, &r);
	ASSERT_EQ(s.calls, 3);
	ASSERT_EQ(s.nil, 3); /* Sum returned no error, every time */
	assert_counter(&r, "total", 15);
	assert_counter(&r, "produced", 5);
	assert_counter(&r, "delivered", 5);
	assert_counter(&r, "items", 15); /* 5 per iteration */
	ASSERT_STR_EQ(r.err_text, "");
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, "total is 15");
	ASSERT_NOT_NULL(c);
	ASSERT_EQ(c->verdict, FL_REPORT_PASS);
	ASSERT_EQ(c->evals, 3);
	ASSERT_DBL_NEAR(c->measured, 15, 0);
	const fl_hdr *e2e = fl_scenario_find_hist(&r, "e2e");
	ASSERT_NOT_NULL(e2e);
	ASSERT_EQ(fl_hdr_total_count(e2e), 15); /* one latency per delivered item */
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 2. early return on a negative ---------------------------------------------- */

static void negative_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT_STR_EQ(what, "sum");
	ASSERT_NOT_NULL(err);
	ASSERT(fl_err_is(err, fl_scenario_err_negative)); /* through the wrap */
	ASSERT(!fl_err_is(err, FL_ERR_CANCELED));
	ASSERT_STR_EQ(fl_err_msg(err), "process item 3");
	ASSERT(fl_err_unwrap(err) == fl_scenario_err_negative);
	assert_text(err, "process item 3: negative value");
}

FL_TEST(early_return)
{
	seen s = {.check = negative_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("early_return", &p, &r);
	ASSERT_EQ(s.calls, 2);
	ASSERT_EQ(s.nil, 0);
	ASSERT_STR_EQ(r.err_text, "process item 3: negative value");
	assert_counter(&r, "produced", 2); /* 1 and 2; then -1 stopped it */
	assert_counter(&r, "delivered", 2);
	assert_counter(&r, "failed", 2);
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, "total is 0 on error");
	ASSERT_NOT_NULL(c);
	ASSERT_DBL_NEAR(c->measured, 0, 0);
	assert_verdict(&r, "wait error is ErrNegative", FL_REPORT_PASS);
	assert_verdict(&r, "consumer stops", FL_REPORT_PASS);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 3. cancel at item 500 ---------------------------------------------------------- */

static void drain_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT(fl_err_is(err, fl_scenario_err_rejected));
	/* The stage's error is the first; the producer's later cancellation
	 * error is not what wait returns. */
	ASSERT(!fl_err_is(err, FL_ERR_CANCELED));
	assert_text(err, "stage 2: item 500: item rejected");
}

FL_TEST(drain_on_error)
{
	seen s = {.check = drain_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("drain_on_error", &p, &r);
	ASSERT_EQ(s.calls, 2);
	/* Unbuffered channels make these exact: stage 2 took items 1..500,
	 * forwarded 1..499, and stage 1 left blocked on item 501, through the
	 * cancellation. */
	assert_counter(&r, "produced", 500);
	assert_counter(&r, "forwarded", 499);
	assert_counter(&r, "delivered", 499);
	assert_counter(&r, "producer_canceled", 2);
	assert_counter(&r, "failed", 2);
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, "producer exits on cancellation");
	ASSERT_NOT_NULL(c);
	ASSERT_LT(c->measured, 1000);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "e2e")), 2 * 499);
	assert_no_leaks(&r); /* tasks (the producer's too), chans, ctxs, errs */
	fl_scenario_result_destroy(&r);
}

/* ---- 4. fan-out with a nested group --------------------------------------------------- */

FL_TEST(fanout_nested)
{
	seen s = {0};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("fanout_nested", &p, &r);
	ASSERT_EQ(s.nil, 2);
	assert_counter(&r, "delivered", 1000);
	assert_counter(&r, "sum", 333833500LL); /* sum of v*v, v = 1..1000 */
	assert_counter(&r, "inner_hwm", 4);
	const fl_scenario_group *g = find_group(&r, "fanout.inner");
	ASSERT_EQ(g->limit, 4);
	ASSERT_EQ(g->hwm, 4);
	assert_verdict(&r, "every item once", FL_REPORT_PASS);
	assert_verdict(&r, "group fanout.inner hwm <= 4", FL_REPORT_PASS);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "e2e")), 2000);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 5. aggregate errors with join ------------------------------------------------------ */

static void join_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT_EQ(fl_err_join_len(err), 3);
	ASSERT(fl_err_is(err, fl_scenario_err_invalid));
	ASSERT(fl_err_is(err, fl_scenario_err_unavailable));
	ASSERT(fl_err_is(err, fl_scenario_err_quota));
	assert_text(fl_err_join_at(err, 0), "item 3: invalid item"); /* the first, first */
	/* Items 6 and 9 fail after the cancellation, in either order. */
	const fl_err *a = fl_err_join_at(err, 1), *b = fl_err_join_at(err, 2);
	if (fl_err_is(a, fl_scenario_err_quota)) {
		const fl_err *t = a;
		a = b;
		b = t;
	}
	assert_text(a, "item 6: backend unavailable");
	assert_text(b, "item 9: quota exceeded");
}

FL_TEST(join_errors)
{
	seen s = {.check = join_err};
	fl_scenario_params p = params(3, &s);
	fl_scenario_result r;
	run("join_errors", &p, &r);
	ASSERT_EQ(s.calls, 3);
	assert_counter(&r, "items", 30); /* every item processed, failures too */
	assert_counter(&r, "failed", 3);
	assert_counter(&r, "succeeded", 7);
	assert_verdict(&r, "first error is first", FL_REPORT_PASS);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 6. stage attribution with as ---------------------------------------------------------- */

static void stage_err(const char *what, const fl_err *err, seen *s)
{
	const fl_scenario_stage_err *se = fl_err_as(err, &fl_scenario_stage_err_type);
	ASSERT_NOT_NULL(se);
	ASSERT_STR_EQ(se->stage, "transform");
	ASSERT_EQ(se->index, 3);
	ASSERT(fl_err_is(err, fl_scenario_err_invalid)); /* the cause is kept */
	ASSERT_STR_EQ(fl_err_msg(err), "pipeline");      /* the caller's own wrap */
	assert_text(err, "pipeline: stage transform, item 3: value 30: invalid item");
}

FL_TEST(stage_as)
{
	seen s = {.check = stage_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("stage_as", &p, &r);
	ASSERT_EQ(s.calls, 2);
	assert_counter(&r, "stage_index", 3);
	assert_counter(&r, "stored", 2); /* items 1 and 2 made it through */
	assert_verdict(&r, "stage is transform", FL_REPORT_PASS);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 7. deadline: 10 workers vs 1 ------------------------------------------------------------- */

static void deadline_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "workers=10") == 0) {
		/* On a real clock a busy machine may miss the deadline: then it
		 * is the deadline that ended the run, nothing else. */
		if (err && !fl_test_virtual_time() && fl_err_is(err, FL_ERR_DEADLINE))
			return;
		if (err) {
			fl_err_print(stderr, err);
			FL_FAIL("10 workers must beat the deadline");
		}
		return;
	}
	ASSERT_STR_EQ(what, "workers=1");
	ASSERT(fl_err_is(err, FL_ERR_DEADLINE));
	ASSERT(!fl_err_is(err, FL_ERR_CANCELED));
	s->extra++;
}

FL_TEST(deadline)
{
	seen s = {.check = deadline_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("deadline", &p, &r);
	ASSERT_EQ(s.calls, 2);
	ASSERT_EQ(s.extra, 1);
	ASSERT_LT(fl_scenario_counter_value(&r, "finished.workers1"), 40);
	/* 1 worker: wait returned no earlier than the (scaled) deadline. */
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, "1 worker stops at the deadline");
	ASSERT_NOT_NULL(c);
	ASSERT_STR_EQ(c->unit, "ns");
	ASSERT_GE(c->measured, c->threshold);
	ASSERT_DBL_NEAR(c->threshold, 120e6 * (double)p.time_scale, 0);
	/* Time is virtual on sim: 10 workers finish 40 x 10 ms in 40 ms. */
	if (fl_test_virtual_time()) {
		assert_counter(&r, "finished.workers10", 40);
		assert_verdict(&r, "10 workers finish in time", FL_REPORT_PASS);
		ASSERT_DBL_NEAR(c->measured, c->threshold, 0); /* wait returned at it */
	} else {
		assert_verdict(&r, "10 workers finish in time", FL_REPORT_SKIP);
	}
	assert_no_leaks(&r); /* the deadline's timer included */
	fl_scenario_result_destroy(&r);
}

/* ---- 8. panic captured ---------------------------------------------------------------------- */

static void panic_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT(fl_err_is(err, FL_ERR_PANIC));
	const fl_panic_info *pi = fl_err_as(err, &fl_panic_type);
	ASSERT_NOT_NULL(pi);
	ASSERT_STR_EQ(pi->msg, "risky stage: bad item 3");
	ASSERT_STR_EQ(pi->task, "risky");
}

FL_TEST(panic_capture)
{
	seen s = {.check = panic_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("panic_capture", &p, &r);
	ASSERT_EQ(s.calls, 2);
	assert_counter(&r, "panics", 2);
	assert_counter(&r, "sent", 3);      /* risky took 1..3, then panicked */
	assert_counter(&r, "delivered", 2); /* it forwarded 1 and 2 */
	assert_verdict(&r, "other stages exit on cancellation", FL_REPORT_PASS);
	assert_verdict(&r, "deferred cleanup ran", FL_REPORT_PASS);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 9. SetLimit(2) over 10 tasks ------------------------------------------------------------- */

FL_TEST(set_limit)
{
	seen s = {0};
	fl_scenario_params p = params(3, &s);
	fl_scenario_result r;
	run("set_limit", &p, &r);
	ASSERT_EQ(s.nil, 3);
	assert_counter(&r, "max_running", 2); /* never 3, and 2 reached */
	assert_counter(&r, "hwm", 2);
	assert_counter(&r, "items", 30);
	const fl_scenario_group *g = find_group(&r, "set_limit");
	ASSERT_EQ(g->limit, 2);
	ASSERT_EQ(g->hwm, 2);
	assert_verdict(&r, "group set_limit hwm <= 2", FL_REPORT_PASS);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- 10. cancel -> wait latency ------------------------------------------------------------- */

static void cancel_err(const char *what, const fl_err *err, seen *s)
{
	ASSERT(fl_err_is(err, FL_ERR_CANCELED));
	ASSERT(!fl_err_is(err, FL_ERR_DEADLINE));
}

FL_TEST(cancel_latency)
{
	seen s = {.check = cancel_err};
	fl_scenario_params p = params(20, &s);
	fl_scenario_result r;
	run("cancel_latency", &p, &r);
	ASSERT_EQ(s.calls, 20);
	assert_counter(&r, "cancels", 20);
	ASSERT_GE(fl_scenario_counter_value(&r, "items"), 20 * 16);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "cancel_wait")), 20);
	assert_verdict(&r, "every wait returns canceled", FL_REPORT_PASS);
	/* A timing goal: recorded, never judged in a test. */
	assert_verdict(&r, "p99 cancel to wait < 100 ms", timing_goal());
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- the runner itself ------------------------------------------------------------------------ */

static fl_chan *leaked;

static fl_err *leaky_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_scenario_check(r, "ran", true, NAN, NAN, NULL, "leaves a channel behind");
	return fl_chan_new(1, 0, NULL, &leaked);
}

static const char *const leaky_checks[] = {"ran", NULL};
static const fl_scenario leaky = {.name = "leaky",
				  .description = "leaks a channel",
				  .checks = leaky_checks,
				  .default_iterations = 1,
				  .run = leaky_run};

FL_TEST(runner_catches_leak)
{
	fl_scenario_result r;
	fl_scenario_result_init(&r, &leaky);
	fl_scenario_params p = {.time_scale = 1}; /* the settle window: 1 s */
	fl_err *err = fl_scenario_run(&leaky, &p, &r);
	ASSERT_NULL(err);
	ASSERT_EQ(r.after.chans, r.baseline.chans + 1);
	ASSERT_GE(r.settle_ns, FL_SEC(1)); /* it waited for the channel to go */
	assert_verdict(&r, FL_SCENARIO_CHECK_LEAKS, FL_REPORT_FAIL);
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, FL_SCENARIO_CHECK_LEAKS);
	ASSERT(strstr(c->message, "chans +1") != NULL);
	ASSERT(!fl_scenario_result_passed(&r));
	fl_chan_free(leaked);
	fl_scenario_result_destroy(&r);
}

static fl_err *partial_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		fl_scenario_check(r, "odd iterations", i % 2 == 0, i, 0, NULL, "iteration %d", i);
		fl_scenario_count(r, "items", 2);
	}
	return NULL;
}

static const char *const partial_checks[] = {"odd iterations", "forgotten", NULL};
static const fl_scenario partial = {.name = "partial",
				    .description = "merges and forgets",
				    .checks = partial_checks,
				    .default_iterations = 4,
				    .run = partial_run};

FL_TEST(runner_merges_and_flags_unevaluated)
{
	fl_scenario_result r;
	fl_scenario_result_init(&r, &partial);
	fl_err *err = fl_scenario_run(&partial, NULL, &r);
	ASSERT_NULL(err);
	ASSERT_EQ(r.iterations, 4); /* the scenario's default */
	const fl_scenario_verdict *c = fl_scenario_find_check(&r, "odd iterations");
	ASSERT_EQ(c->verdict, FL_REPORT_FAIL);
	ASSERT_EQ(c->evals, 4);
	ASSERT_EQ(c->fails, 2);
	ASSERT_STR_EQ(c->message, "iteration 1"); /* the first failure sticks */
	ASSERT_DBL_NEAR(c->measured, 1, 0);
	assert_verdict(&r, "forgotten", FL_REPORT_FAIL);
	assert_verdict(&r, FL_SCENARIO_CHECK_LEAKS, FL_REPORT_PASS);
	assert_counter(&r, "items", 8);
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

FL_ERR_SENTINEL(test_no_thread, "no thread for you");

static fl_err *broken_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	return fl_err_wrap(test_no_thread, "start stage");
}

static const char *const broken_checks[] = {"never", NULL};
static const fl_scenario broken = {.name = "broken",
				   .description = "cannot run",
				   .checks = broken_checks,
				   .default_iterations = 1,
				   .run = broken_run};

FL_TEST(runner_reports_a_failed_run)
{
	fl_scenario_result r;
	fl_scenario_result_init(&r, &broken);
	fl_err *err = fl_scenario_run(&broken, NULL, &r);
	ASSERT_NOT_NULL(err);
	assert_text(err, "scenario broken: start stage: no thread for you");
	fl_err_drop(err);
	ASSERT_STR_EQ(r.run_err, "start stage: no thread for you");
	assert_verdict(&r, "never", FL_REPORT_SKIP);
	assert_verdict(&r, FL_SCENARIO_CHECK_LEAKS, FL_REPORT_PASS); /* the error is not a leak */
	ASSERT(!fl_scenario_result_passed(&r));

	fl_report *rep;
	const fl_scenario_result *one[] = {&r};
	ASSERT_NULL(fl_scenario_report_new("broken", one, 1, NULL, &rep));
	ASSERT_EQ(fl_report_count_verdict(rep, FL_REPORT_FAIL), 1); /* "broken: ran" */
	ASSERT_STR_EQ(rep->checks[0].name, "broken: ran");
	ASSERT_STR_EQ(rep->checks[0].message, "start stage: no thread for you");
	fl_report_free(rep);
	fl_scenario_result_destroy(&r);
}

FL_TEST(results_become_one_report)
{
	fl_scenario_params p = {.iterations = 1, .skip_timing = true};
	fl_scenario_result a, b;
	run("sum", &p, &a);
	run("set_limit", &p, &b);
	const fl_scenario_result *both[] = {&a, &b};
	fl_report *rep;
	ASSERT_NULL(fl_scenario_report_new("suite", both, 2, &(struct fl_report_opts){.seed = 7},
					   &rep));
	ASSERT_STR_EQ(rep->name, "suite");
	ASSERT_U64_EQ(rep->seed, 7);
	ASSERT_STR_EQ(rep->backend, fl_sched_backend());
	ASSERT_EQ(rep->nchecks, a.nchecks + b.nchecks);
	ASSERT_EQ(fl_report_count_verdict(rep, FL_REPORT_FAIL),
		  0); /* heap: skip without jemalloc */
	ASSERT_STR_EQ(rep->checks[0].name, "sum: total is 15");
	ASSERT_DBL_NEAR(rep->checks[0].measured, 15, 0);
	ASSERT_EQ(rep->duration_ns, a.duration_ns + b.duration_ns);
	/* Throughput stays per scenario: no suite total of unrelated items. */
	ASSERT_NULL(fl_report_find_counter(rep, "items"));
	ASSERT_EQ(fl_report_find_counter(rep, "sum.items")->value, 5);
	ASSERT_EQ(fl_report_find_counter(rep, "set_limit.items")->value, 10);
	ASSERT_EQ(fl_report_find_counter(rep, "sum.total")->value, 15);
	const fl_report_hist *h = fl_report_find_hist(rep, "sum.e2e");
	ASSERT_NOT_NULL(h);
	fl_report_stats st;
	fl_report_hist_stats(h, &st);
	ASSERT_EQ(st.count, 5);
	fl_scenario_result_destroy(&a);
	fl_scenario_result_destroy(&b);
	/* The report owns clones: it outlives the results. */
	fl_report_hist_stats(fl_report_find_hist(rep, "sum.e2e"), &st);
	ASSERT_EQ(st.count, 5);
	fl_report_free(rep);
}

FL_TEST(catalogue_is_consistent)
{
	size_t n;
	builtins();
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	ASSERT_GE(n, 10); /* the ten exercises, then the catalogue (test_catalogue) */
	for (size_t i = 0; i < n; i++) {
		ASSERT(fl_scenario_find(cat[i]->name) == cat[i]); /* names are unique */
		ASSERT_NOT_NULL(cat[i]->description);
		ASSERT_GE(cat[i]->default_iterations, 1);
		ASSERT_NOT_NULL(cat[i]->checks[0]);
	}
	ASSERT_EQ(fl_scenario_find("cancel_latency")->default_iterations, 200);
	ASSERT_NULL(fl_scenario_find("nope"));
}

FL_TEST_MAIN(FL_CASE(sum), FL_CASE(early_return), FL_CASE(drain_on_error), FL_CASE(fanout_nested),
	     FL_CASE(join_errors), FL_CASE(stage_as), FL_CASE(deadline), FL_CASE(panic_capture),
	     FL_CASE(set_limit), FL_CASE(cancel_latency), FL_CASE(runner_catches_leak),
	     FL_CASE(runner_merges_and_flags_unevaluated), FL_CASE(runner_reports_a_failed_run),
	     FL_CASE(results_become_one_report), FL_CASE(catalogue_is_consistent))

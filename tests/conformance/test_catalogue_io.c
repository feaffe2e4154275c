/*
 * The catalogue's exercises that use the system around the process: HTTP
 * to a server the scenario starts on 127.0.0.1 (task 3's FetchAll, the
 * 200-OK-with-error-body story), and SQLite stores with child processes
 * killed by SIGKILL and restarted (tasks 11, 12 and 17), and the full
 * integration (task 20) whose sagas persist there too; and the
 * Tail-at-Scale fan-out, whose 10,000 leaf tasks are too many for them. Not labelled for
 * Helgrind and memcheck: a child spawned through /proc/self/exe under
 * valgrind would be the valgrind tool itself, and the sockets' 2 ms poll
 * slices make those checkers slow while adding nothing the pipelines of
 * test_catalogue.c do not already show them. They run on both backends
 * and under TSan and ASan.
 */
#include <fl/hdr.h>
#include <fl/saga.h>
#include <fl/scenario.h>
#include <fl/task.h>

#include <stdio.h>
#include <string.h>

#include "fl_test.h"
#include "scn_test.h"

/* ---- task 3: FetchAll with SetLimit(8) ---------------------------------------------- */

static void fetch_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "fetch all") == 0) {
		ASSERT_NULL(err);
		return;
	}
	ASSERT_STR_EQ(what, "fetch all, one 500");
	ASSERT(fl_err_is(err, fl_scenario_err_http_status));
	ASSERT(!fl_err_is(err, FL_ERR_CANCELED)); /* the 500 is first, not a victim */
	char buf[FL_SCENARIO_ERR_MAX];
	fl_err_format(err, buf, sizeof(buf));
	ASSERT(strstr(buf, "fetch http://127.0.0.1:") == buf); /* wrapped with the URL */
	ASSERT(strstr(buf, "/fail/7: status 500: bad HTTP status") != NULL);
	s->extra++;
}

FL_TEST(fetch_all)
{
	seen s = {.check = fetch_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("fetch_all", &p, &r);
	ASSERT_EQ(s.calls, 4);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "delivered", 2 * 32); /* only the happy runs deliver */
	assert_counter(&r, "failed", 2);
	assert_counter(&r, "cancelled", 2 * (7 + 24)); /* in flight + never started */
	assert_counter(&r, "produced", 2 * 2 * 32);
	assert_counter(&r, "requests", 2 * 32); /* the happy runs' requests, all served */
	const fl_scenario_group *g = find_group(&r, "fetch");
	ASSERT_EQ(g->limit, 8);
	ASSERT_EQ(g->hwm, 8); /* the hold proves 8 at once; never 9 */
	assert_verdict(&r, "limit reached", FL_REPORT_PASS);
	assert_verdict(&r, "in-flight fetches cancelled", FL_REPORT_PASS);
	assert_verdict(&r, "nothing starts after the failure", FL_REPORT_PASS);
	assert_verdict(&r, "fail to wait p99 < 100 ms", timing_goal());
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "fail_to_wait")), 2);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- story: 200 OK with an error body ------------------------------------------------ */

static void body_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "decode only") == 0) {
		ASSERT_NULL(err); /* the bug: nothing failed */
		return;
	}
	ASSERT_STR_EQ(what, "validating parse");
	ASSERT(fl_err_is(err, fl_scenario_err_bad_record));
	const fl_scenario_stage_err *se = fl_err_as(err, &fl_scenario_stage_err_type);
	ASSERT_NOT_NULL(se);
	ASSERT_STR_EQ(se->stage, "parse");
	ASSERT_EQ(se->index, 4);
	assert_text(err, "stage parse, item 4: body {\"error\":\"rate limited\"}: invalid record");
	s->extra++;
}

FL_TEST(ok_error_body)
{
	seen s = {.check = body_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("ok_error_body", &p, &r);
	ASSERT_EQ(s.calls, 4);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "bogus_naive", 2); /* one bogus record per buggy run */
	assert_counter(&r, "bogus_fixed", 0);
	assert_counter(&r, "items", 2 * (6 + 3));
	assert_counter(&r, "failed", 2);
	assert_no_leaks(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 11: saga with compensations ------------------------------------------------ */

static void saga_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "commit") == 0) {
		ASSERT_NULL(err);
		return;
	}
	ASSERT(fl_err_is(err, FL_ERR_SAGA_ROLLED_BACK));
	ASSERT(fl_err_is(err, fl_scenario_err_unavailable)); /* the forward failure */
	if (strcmp(what, "rollback") == 0) {
		ASSERT(!fl_err_is(err, FL_ERR_SAGA_COMPENSATION));
	} else {
		ASSERT_STR_EQ(what, "comp-fails");
		ASSERT(fl_err_is(err, FL_ERR_SAGA_COMPENSATION));
		ASSERT(fl_err_is(err, fl_scenario_err_rejected)); /* collected */
	}
	s->extra++;
}

FL_TEST(saga)
{
	seen s = {.check = saga_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("saga", &p, &r);
	ASSERT_EQ(s.calls, 3);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "items", 3);
	assert_counter(&r, "failed", 2);
	assert_verdict(&r, "failed step compensated in reverse", FL_REPORT_PASS);
	assert_verdict(&r, "compensation errors collected", FL_REPORT_PASS);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- tasks 12 and 17: killed and restarted ------------------------------------------------ */

FL_TEST(saga_restart)
{
	seen s = {0};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("saga_restart", &p, &r);
	ASSERT_EQ(s.nil, 1); /* the resume succeeded */
	assert_counter(&r, "kills", 1);
	assert_counter(&r, "items", 1);
	const fl_scenario_verdict *c =
		fl_scenario_find_check(&r, "restart finds the saga where it died");
	ASSERT_DBL_NEAR(c->measured, 1, 0); /* step index 1: charge */
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

FL_TEST(cursor_restart)
{
	seen s = {0};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("cursor_restart", &p, &r);
	ASSERT_EQ(s.nil, 1);
	assert_counter(&r, "kills", 1);
	assert_counter(&r, "items", 200 - 130); /* the restart's share */
	assert_counter(&r, "duplicates", 7);    /* 130..136, done before the kill */
	const fl_scenario_verdict *c =
		fl_scenario_find_check(&r, "restart resumes from the saved cursor");
	ASSERT_DBL_NEAR(c->measured, 130, 0);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 20: full integration ---------------------------------------------------------- */

static void shop_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "tenant.a") == 0) {
		/* One order's saga error among the collected ones: the others
		 * committed, nobody was cancelled. */
		ASSERT(fl_err_is(err, FL_ERR_SAGA_ROLLED_BACK));
		ASSERT(!fl_err_is(err, FL_ERR_CANCELED));
		char buf[FL_SCENARIO_ERR_MAX];
		fl_err_format(err, buf, sizeof(buf));
		ASSERT(strstr(buf, "a-5") != NULL);
	} else if (strcmp(what, "tenant.b") == 0) {
		ASSERT_NULL(err);
	} else {
		ASSERT_STR_EQ(what, "tenant.c");
		const fl_panic_info *pi = fl_err_as(err, &fl_panic_type);
		ASSERT_NOT_NULL(pi);
		ASSERT_STR_EQ(pi->msg, "parse: malformed order c-5");
		ASSERT_STR_EQ(pi->task, "parse.worker");
	}
	s->extra++;
}

FL_TEST(integration)
{
	seen s = {.check = shop_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("integration", &p, &r);
	ASSERT_EQ(s.extra, 3);
	assert_counter(&r, "failed", 1); /* the garbage order */
	/* a: 7 committed + 1 rolled back; b: 8 committed; c: what got through
	 * before the panic, the rest cancelled. */
	ASSERT_GE(fl_scenario_counter_value(&r, "committed"), 7 + 8);
	ASSERT_GE(fl_scenario_counter_value(&r, "rolled_back"), 1);
	ASSERT_EQ(fl_scenario_counter_value(&r, "committed") +
			  fl_scenario_counter_value(&r, "rolled_back") +
			  fl_scenario_counter_value(&r, "failed") +
			  fl_scenario_counter_value(&r, "cancelled"),
		  3 * 8);
	for (char c = 'a'; c <= 'c'; c++) {
		char name[16];
		snprintf(name, sizeof(name), "sagas.%c", c);
		const fl_scenario_group *g = find_group(&r, name);
		ASSERT_EQ(g->limit, 4);
		ASSERT_LE(g->hwm, 4);
	}
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- Tail at Scale --------------------------------------------------------------------- */

FL_TEST(tail_at_scale)
{
	seen s = {0};
	fl_scenario_params p = params(1, &s); /* one iteration: 20 requests each way */
	p.seed = 3;
	fl_scenario_result r;
	run("tail_at_scale", &p, &r);
	ASSERT_EQ(s.calls, 0);                      /* no request failed */
	assert_counter(&r, "requests", 20);         /* each way: plain, one, two hedges */
	assert_counter(&r, "leaf_calls", 20 * 100); /* the plain run's */
	assert_counter(&r, "items", 3 * 20);
	/* About 1% slow leaf calls (binomial: 20 +- 4.5; seed 3 is fixed, and
	 * the draws are a function of the seed alone). */
	ASSERT_GT(fl_scenario_counter_value(&r, "slow_leaves"), 5);
	ASSERT_LT(fl_scenario_counter_value(&r, "slow_leaves"), 50);
	const fl_hdr *leaf = fl_scenario_find_hist(&r, "leaf");
	ASSERT_EQ(fl_hdr_total_count(leaf), 20 * 100);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "request")), 20);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "request.hedged")), 20);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "request.hedged2")), 20);
	/* Hedges fired (the slow 1% at least need one each), but far fewer
	 * than one per leaf call. */
	ASSERT_GT(fl_scenario_counter_value(&r, "hedges"), 0);
	ASSERT_GT(fl_scenario_counter_value(&r, "hedges2"), 0);
	ASSERT_LT(fl_scenario_counter_value(&r, "extra_requests_permille"), 1000);
	ASSERT_LT(fl_scenario_counter_value(&r, "extra_requests2_permille"), 1000);
	assert_verdict(&r, "one hedge cuts the median request", timing_goal());
	assert_verdict(&r, "two hedges cut the request p99.9", timing_goal());
	/* Orderings, not durations: the plain tail is at least the injected
	 * delay (a slow leaf's request cannot answer before it). */
	ASSERT_GE(fl_scenario_counter_value(&r, "p999_us"), 10000 * p.time_scale);
	ASSERT_GE(fl_scenario_counter_value(&r, "p999_us"),
		  fl_scenario_counter_value(&r, "p50_us"));
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* ---- task 18: hedged fetch ------------------------------------------------------------- */

static void hedge_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "two hang, one answers") == 0) {
		ASSERT_NULL(err);
		return;
	}
	ASSERT_STR_EQ(what, "all fail");
	ASSERT_EQ(fl_err_join_len(err), 3); /* errors.Join of every attempt's */
	for (size_t i = 0; i < 3; i++) {
		char buf[FL_SCENARIO_ERR_MAX], want[32];
		fl_err_format(fl_err_join_at(err, i), buf, sizeof(buf));
		snprintf(want, sizeof(want), "fetch /fail/%zu: status 500", i);
		ASSERT(strstr(buf, want) == buf); /* in attempt order */
	}
	s->extra++;
}

FL_TEST(hedged_fetch)
{
	seen s = {.check = hedge_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("hedged_fetch", &p, &r);
	ASSERT_EQ(s.calls, 4);
	ASSERT_EQ(s.extra, 2);
	assert_counter(&r, "items", 2);
	assert_counter(&r, "attempts", 2 * (3 + 3));
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(fetch_all), FL_CASE(ok_error_body), FL_CASE(saga), FL_CASE(saga_restart),
	     FL_CASE(cursor_restart), FL_CASE(integration), FL_CASE(tail_at_scale),
	     FL_CASE(hedged_fetch))

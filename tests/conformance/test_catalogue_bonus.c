/*
 * The three reference exercises added last: bonus 1 (typed_errors), bonus 4
 * (mini_group) and case C of the WaitGroup/errgroup/channel text
 * (rate_limited_pool). Each case runs the scenario through fl_scenario_run
 * and asserts on its live errors (the observe hook), its exact counters and
 * its verdicts; timing goals are judged on sim and skipped on the real
 * clocks. The negative controls: typed_errors carries its own (the
 * text-matching consumers must fail as described), and a fault plan makes
 * mini_group's and rate_limited_pool's checks fail.
 */
#include <fl/scenario.h>

#include <string.h>

#include "fl_test.h"
#include "scn_test.h"

static void typed_err(const char *what, const fl_err *err, seen *s)
{
	if (strcmp(what, "exact text") == 0) {
		assert_text(err, "fetch item 10: not found"); /* fatal: the wrap broke it */
	} else if (strcmp(what, "sentinel, backend fails") == 0) {
		assert_text(err, "fetch item 55: backend: route not found");
	} else {
		ASSERT(strcmp(what, "substring") == 0 || strcmp(what, "sentinel") == 0);
		ASSERT_NULL(err); /* substring: the backend error was swallowed */
	}
	s->extra++;
}

FL_TEST(typed_errors)
{
	seen s = {.check = typed_err};
	fl_scenario_params p = params(2, &s);
	fl_scenario_result r;
	run("typed_errors", &p, &r);
	ASSERT_EQ(s.calls, 2 * 4);
	ASSERT_EQ(s.extra, 2 * 4);
	assert_counter(&r, "exact_text_delivered", 2 * 9);
	assert_counter(&r, "substring_swallowed", 2);
	assert_counter(&r, "items", 2 * 90);
	assert_counter(&r, "skipped", 2 * 10);
	assert_counter(&r, "failed", 2);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

static void mini_err(const char *what, const fl_err *err, seen *s)
{
	if (strstr(what, "failing"))
		assert_text(err, "task 4: boom"); /* the first error, on both */
	else
		ASSERT_NULL(err);
	s->extra++;
}

FL_TEST(mini_group)
{
	seen s = {.check = mini_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("mini_group", &p, &r);
	ASSERT_EQ(s.extra, 4);
	assert_counter(&r, "fl_group_started", 4);
	assert_counter(&r, "mini_started", 20);
	assert_counter(&r, "fl_group_cancelled", 3);
	assert_counter(&r, "mini_cancelled", 19);
	ASSERT_EQ(find_group(&r, "fl_group")->hwm, 4);
	ASSERT_EQ(find_group(&r, "mini group")->hwm, 4);
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* Negative control: every task failing first breaks the first-error and
 * clean-run checks, on fl_group and on the mini group. */
FL_TEST(mini_group_checks_can_fail)
{
	seen s = {0};
	fl_scenario_params p = params(1, &s);
	p.faults = "mini_group.task=error(inval)";
	fl_scenario_result r;
	run("mini_group", &p, &r);
	assert_verdict(&r, "wait returns the first error", FL_REPORT_FAIL);
	assert_verdict(&r, "clean run succeeds", FL_REPORT_FAIL);
	assert_verdict(&r, "wait waits for every task", FL_REPORT_PASS);
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

static void pool_err(const char *what, const fl_err *err, seen *s)
{
	char text[FL_SCENARIO_ERR_MAX] = "";
	if (err)
		fl_err_format(err, text, sizeof(text));
	if (strcmp(what, "failing job") == 0)
		ASSERT(strstr(text, "job 20: upstream failed"));
	else if (strcmp(what, "cancelled") == 0)
		ASSERT(fl_err_is(err, FL_ERR_CANCELED));
	else
		ASSERT_NULL(err);
	s->extra++;
}

FL_TEST(rate_limited_pool)
{
	seen s = {.check = pool_err};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("rate_limited_pool", &p, &r);
	ASSERT_EQ(s.extra, 6);
	assert_counter(&r, "items", 2 * 50);
	assert_counter(&r, "failed", 1);
	assert_verdict(&r, "the gate holds the rate", FL_REPORT_PASS);
	assert_verdict(&r, "in flight stays within workers + 1", FL_REPORT_PASS);
	assert_verdict(&r, "the pool uses the rate", timing_goal());
	assert_verdict(&r, "back-pressure reaches the producer", timing_goal());
	assert_verdict(&r, "negative control: without the gate the rate is exceeded",
		       timing_goal());
	assert_verdict(&r, "negative control: a buffered hand-off overfills the pool",
		       timing_goal());
	if (fl_test_virtual_time())
		assert_counter(&r, "inflight_max", 5); /* exactly workers + 1 */
	assert_all_pass(&r);
	fl_scenario_result_destroy(&r);
}

/* Negative control: a job failing in the clean runs breaks "every job done". */
FL_TEST(rate_limited_pool_checks_can_fail)
{
	seen s = {0};
	fl_scenario_params p = params(1, &s);
	p.faults = "rate_limited_pool.do=@3 error(inval)";
	fl_scenario_result r;
	run("rate_limited_pool", &p, &r);
	assert_verdict(&r, "every job done", FL_REPORT_FAIL);
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

/* FAULTLINE_FAULTS reaches a scenario run without any init call: the
 * runner arms it before its baseline, so the plan acts (the checks fail as
 * with p.faults) and its own objects are not counted as leaks. */
FL_TEST(env_plan_reaches_the_run)
{
	setenv("FAULTLINE_FAULTS", "mini_group.task=error(inval)", 1);
	seen s = {0};
	fl_scenario_params p = params(1, &s);
	fl_scenario_result r;
	run("mini_group", &p, &r);
	assert_verdict(&r, "wait returns the first error", FL_REPORT_FAIL);
	assert_verdict(&r, FL_SCENARIO_CHECK_LEAKS, FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
	unsetenv("FAULTLINE_FAULTS");
}

FL_TEST_MAIN(FL_CASE(typed_errors), FL_CASE(mini_group), FL_CASE(mini_group_checks_can_fail),
	     FL_CASE(rate_limited_pool), FL_CASE(rate_limited_pool_checks_can_fail),
	     FL_CASE(env_plan_reaches_the_run))

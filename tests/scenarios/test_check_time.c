/* fl-test-labels: nosim */
/* nosim: check times are wall time, and a sleep on sim takes none. */
/*
 * test_check_time.c - each check carries the wall time spent on it (the
 * time since the run's previous check record), in process and across the
 * isolated child's pipe, into the report, its JSON and JUnit's testcase
 * time (it was time="0" for every testcase). The assertions are lower
 * bounds from a real wait and sums, which hold on any busy machine.
 */
#include <fl/ctx.h>
#include <fl/report.h>
#include <fl/scenario.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fl_test.h"

#define WAIT FL_MS(50)

static fl_err *body(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	fl_scenario_check(r, "quick", true, NAN, NAN, NULL, NULL);
	(void)fl_sleep_until(NULL, fl_deadline_in(WAIT)); /* real time, >= WAIT */
	fl_scenario_check(r, "after the wait", true, NAN, NAN, NULL, NULL);
	return NULL;
}

static const char *const checks[] = {"quick", "after the wait", NULL};
static const fl_scenario timed = {.name = "timed",
				  .description = "two checks, a wait between",
				  .checks = checks,
				  .run = body};

static int64_t check_time(const fl_scenario_result *r, const char *name)
{
	const fl_scenario_verdict *c = fl_scenario_find_check(r, name);
	ASSERT_NOT_NULL(c);
	return c->time_ns;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void run_timed(bool isolated, fl_scenario_result *r, int64_t *wall)
{
	fl_scenario_params p = {.skip_timing = true, .time_scale = fl_test_time_scale(), .seed = 1};
	fl_scenario_result_init(r, &timed);
	/* the wall clock: fl_now would start the scheduler in this process,
	 * which must not have started it before an isolated run forks */
	int64_t t0 = wall_ns();
	ASSERT_NULL(isolated ? fl_scenario_run_isolated(&timed, &p, r)
			     : fl_scenario_run(&timed, &p, r));
	*wall = wall_ns() - t0;
	ASSERT(fl_scenario_result_passed(r));
}

static void times_follow_the_wait(bool isolated)
{
	fl_scenario_result r;
	int64_t wall, sum = 0;
	run_timed(isolated, &r, &wall);
	ASSERT(check_time(&r, "after the wait") >= WAIT);
	for (size_t i = 0; i < r.nchecks; i++) {
		ASSERT(r.checks[i].time_ns >= 0);
		sum += r.checks[i].time_ns;
	}
	ASSERT(sum <= wall); /* charged once each: the times add up to the run's */
	fl_scenario_result_destroy(&r);
}

FL_TEST(check_time_is_the_time_since_the_last_check) { times_follow_the_wait(false); }

FL_TEST(check_time_crosses_the_isolated_childs_pipe) { times_follow_the_wait(true); }

/* Negative control: checks recorded outside fl_scenario_run (no mark)
 * get no time, whatever they waited: the times are measured, not made. */
FL_TEST(checks_outside_a_run_have_no_time)
{
	fl_scenario_result r;
	fl_scenario_result_init(&r, &timed);
	ASSERT_NULL(body(&(fl_scenario_params){0}, &r));
	ASSERT_EQ(check_time(&r, "after the wait"), 0);
	fl_scenario_result_destroy(&r);
}

/* The time reaches JUnit's testcase and survives the JSON round trip. */
FL_TEST(junit_and_json_carry_the_check_time)
{
	fl_scenario_result r;
	int64_t wall;
	run_timed(false, &r, &wall);
	const fl_scenario_result *rs[] = {&r};
	fl_report *rep, *back;
	ASSERT_NULL(fl_scenario_report_new("suite", rs, 1, NULL, &rep));
	char dir[] = "/tmp/fl-check-time-XXXXXX", junit[64], json[64];
	ASSERT_NOT_NULL(mkdtemp(dir));
	snprintf(junit, sizeof(junit), "%s/junit.xml", dir);
	snprintf(json, sizeof(json), "%s/report.json", dir);
	ASSERT_NULL(fl_report_write_junit(rep, junit));
	ASSERT_NULL(fl_report_write_json(rep, json));
	ASSERT_NULL(fl_report_load_json(json, &back));
	const fl_report_check *c = NULL;
	for (size_t i = 0; i < back->nchecks; i++)
		if (strcmp(back->checks[i].name, "timed: after the wait") == 0)
			c = &back->checks[i];
	ASSERT_NOT_NULL(c);
	ASSERT(c->time_ns == check_time(&r, "after the wait"));
	FILE *f = fopen(junit, "r");
	ASSERT_NOT_NULL(f);
	static char xml[1 << 16];
	size_t n = fread(xml, 1, sizeof(xml) - 1, f);
	xml[n] = '\0';
	fclose(f);
	const char *tc = strstr(xml, "<testcase name=\"after the wait\"");
	ASSERT_NOT_NULL(tc);
	const char *t = strstr(tc, "time=\"");
	ASSERT_NOT_NULL(t);
	ASSERT(strtod(t + 6, NULL) >= (double)WAIT / 1e9);
	unlink(junit);
	unlink(json);
	rmdir(dir);
	fl_report_free(back);
	fl_report_free(rep);
	fl_scenario_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(check_time_is_the_time_since_the_last_check),
	     FL_CASE(check_time_crosses_the_isolated_childs_pipe),
	     FL_CASE(checks_outside_a_run_have_no_time),
	     FL_CASE(junit_and_json_carry_the_check_time))

/*
 * test_fault_log.c - a scenario's result keeps every fault injected while
 * it ran, from every plan (a job file's own, here, which the runner never
 * armed), in process and across the isolated child's pipe, and the report
 * counts them per point and action. Before, results carried only the
 * runner's own plan's total, and a report said "faults injected 0".
 */
#include <fl/fault.h>
#include <fl/job.h>
#include <fl/report.h>
#include <fl/scenario.h>

#include <string.h>

#include "fl_test.h"

static const char job[] = "[global]\nitems = 20\nbuffer = 0\n"
			  "[faulty]\nshape = linear\nstages = source, work, sink\n"
			  "faults = work=@3..4 error(again)\nretry = 2\n"
			  "retry_backoff = 0\n";

static void run_faulty(bool isolated, fl_scenario_result *r, fl_jobs **j)
{
	ASSERT_NULL(fl_jobs_parse(job, "test.ini", j));
	const fl_scenario *s = fl_jobs_find(*j, "faulty");
	ASSERT_NOT_NULL(s);
	fl_scenario_params p = {.skip_timing = true, .time_scale = fl_test_time_scale(), .seed = 3};
	fl_scenario_result_init(r, s);
	fl_err *err = isolated ? fl_scenario_run_isolated(s, &p, r) : fl_scenario_run(s, &p, r);
	ASSERT_NULL(err);
}

static void faults_are_kept(bool isolated)
{
	fl_scenario_result r;
	fl_jobs *j;
	run_faulty(isolated, &r, &j);
	ASSERT(fl_scenario_result_passed(&r)); /* retried away */
	ASSERT_EQ(r.nfaults, 2);
	ASSERT_EQ(r.faults_unlogged, 0);
	for (size_t i = 0; i < r.nfaults; i++) {
		ASSERT_STR_EQ(r.faults[i].point, "work");
		ASSERT_STR_EQ(r.faults[i].action, "error");
		ASSERT(r.faults[i].at_ns >= 0 && r.faults[i].at_ns <= r.duration_ns);
	}
	ASSERT(r.faults[0].at_ns <= r.faults[1].at_ns);
	fl_report *rep;
	ASSERT_NULL(fl_scenario_report_new("suite", (const fl_scenario_result *const[]){&r}, 1,
					   NULL, &rep));
	ASSERT_EQ(rep->nfaults, 2);
	ASSERT_STR_EQ(rep->faults[0].point, "faulty: work");
	ASSERT_STR_EQ(rep->faults[1].action, "error");
	fl_report_free(rep);
	fl_scenario_result_destroy(&r);
	ASSERT_NULL(r.faults);
	fl_jobs_free(j);
}

FL_TEST(faults_of_a_job_files_plan_are_kept) { faults_are_kept(false); }

FL_TEST(faults_cross_the_isolated_childs_pipe) { faults_are_kept(true); }

/* The observer sees every fire of every plan, and removing it waits. */
static void count_fire(const fl_fault_event *ev, void *arg)
{
	if (strcmp(ev->point, "obs.point") == 0)
		(*(int *)arg)++;
}

FL_TEST(observer_sees_every_plan)
{
	int seen = 0;
	fl_fault_plan *a, *b;
	ASSERT_NULL(fl_fault_arm("obs.point=@1 error(again)", 1, &a));
	ASSERT_NULL(fl_fault_arm("obs.point=@2 error(again)", 1, &b));
	fl_fault_observe(count_fire, &seen);
	for (int i = 0; i < 3; i++)
		fl_err_drop(FL_FAULT(NULL, "obs.point"));
	fl_fault_observe(NULL, NULL);
	fl_err_drop(FL_FAULT(NULL, "obs.point")); /* not watched any more */
	ASSERT_EQ(seen, 2);
	fl_fault_plan_free(a);
	fl_fault_plan_free(b);
}

FL_TEST_MAIN(FL_CASE(faults_of_a_job_files_plan_are_kept),
	     FL_CASE(faults_cross_the_isolated_childs_pipe), FL_CASE(observer_sees_every_plan))

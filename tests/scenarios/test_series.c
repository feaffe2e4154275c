/* fl-test-labels: concurrency */
/* concurrency: tasks record into one result from several threads at once. */
/*
 * test_series.c - fl_scenario_record's series: a histogram's values over
 * the run's time, in intervals that merge pairwise as the run grows.
 *
 * On sim, where time is virtual, a body records at known times and every
 * value must be in the interval that holds its time, after two merges
 * (width 10 ms -> 40 ms), in process and across the isolated child's pipe,
 * and in the report's JSON series (offset by the runs before it). On every
 * backend, tasks recording concurrently: the intervals add up to the
 * histogram. Negative controls: a histogram recorded with plain
 * fl_hdr_record has no series, and the placement check fails against the
 * times shifted by one interval.
 */
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/hdr.h>
#include <fl/job.h>
#include <fl/report.h>
#include <fl/scenario.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_test.h"
#include "fl_test_sh.h"

/* fl-test-sim-only: values_land_in_the_interval_of_their_time */
/* fl-test-sim-only: series_cross_the_isolated_pipe_unchanged */
/* fl-test-sim-only: report_json_has_the_series_offset_by_earlier_runs */
/* fl-test-sim-only: an_interval_out_of_memory_drops_the_series_not_the_run */
/* (virtual time: the times, and so the placement, are exact only on sim) */

#define NREC 500
#define STEP FL_MS(7) /* 500 records over 3.5 s: two merges, 10 -> 40 ms */

/* The time of record k from the body's start, and its value. */
static int64_t at_of(int k) { return (int64_t)k * STEP; }
static int64_t value_of(int k) { return 1000 + 10 * k; }

static fl_err *timed_body(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	fl_hdr *lat, *plain;
	fl_err *err = fl_scenario_hist(r, "lat", &lat);
	if (!err)
		err = fl_scenario_hist(r, "plain", &plain);
	for (int k = 0; k < NREC && !err; k++) {
		(void)fl_sleep_until(NULL, r->series_t0_ns + at_of(k));
		ASSERT(fl_scenario_record(r, lat, value_of(k)));
		fl_hdr_record(plain, value_of(k)); /* no series */
	}
	return err;
}

static const fl_scenario timed = {.name = "timed",
				  .description = "records at known times",
				  .run = timed_body};

/* Whether each interval of s holds exactly the records whose time (from
 * at_of, shifted by shift_ns) falls in it. */
static bool placed(const fl_scenario_series *s, int64_t shift_ns)
{
	int64_t want[FL_SCENARIO_SERIES_MAX] = {0};
	for (int k = 0; k < NREC; k++) {
		int64_t i = (at_of(k) + shift_ns) / s->width_ns;
		if (i < 0 || i >= FL_SCENARIO_SERIES_MAX)
			return false;
		want[i]++;
	}
	for (size_t i = 0; i < FL_SCENARIO_SERIES_MAX; i++) {
		int64_t got = i < s->nivs && s->ivs[i] ? fl_hdr_total_count(s->ivs[i]) : 0;
		if (got != want[i])
			return false;
	}
	return true;
}

static const fl_scenario_series *series_of(const fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->nhists; i++)
		if (strcmp(r->hists[i].name, name) == 0)
			return &r->hists[i].series;
	FL_FAIL("no histogram %s", name);
}

static int64_t series_total(const fl_scenario_series *s)
{
	int64_t n = 0;
	for (size_t i = 0; i < s->nivs; i++)
		n += s->ivs[i] ? fl_hdr_total_count(s->ivs[i]) : 0;
	return n;
}

/* Everything the sim run of timed must show, in process or not. */
static void expect_timed(const fl_scenario_result *r)
{
	ASSERT_STR_EQ(r->run_err, "");
	const fl_scenario_series *s = series_of(r, "lat");
	ASSERT_EQ(s->width_ns, 4 * FL_SCENARIO_SERIES_WIDTH); /* merged twice */
	ASSERT_EQ(s->nivs, (size_t)(at_of(NREC - 1) / s->width_ns + 1));
	ASSERT(s->nivs >= FL_SCENARIO_SERIES_MAX / 2 && s->nivs <= FL_SCENARIO_SERIES_MAX);
	ASSERT(!s->dropped);
	ASSERT_EQ(r->series_dropped, 0);
	ASSERT(placed(s, 0));
	ASSERT(!placed(s, s->width_ns)); /* negative control: one interval off */
	ASSERT_EQ(series_total(s), fl_hdr_total_count(fl_scenario_find_hist(r, "lat")));
	ASSERT_EQ(series_total(s), NREC);
	/* the values too: the last record alone in the last interval */
	const fl_hdr *last = s->ivs[s->nivs - 1];
	ASSERT_NOT_NULL(last);
	ASSERT(fl_hdr_values_are_equivalent(last, fl_hdr_max(last), value_of(NREC - 1)));
	/* negative control: plain fl_hdr_record makes no series */
	const fl_scenario_series *plain = series_of(r, "plain");
	ASSERT_EQ(plain->width_ns, 0);
	ASSERT_EQ(plain->nivs, 0);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(r, "plain")), NREC);
}

static void run_timed(bool isolated, fl_scenario_result *r)
{
	fl_scenario_params p = {.skip_timing = true, .seed = 5, .sim_reseed = true};
	fl_scenario_result_init(r, &timed);
	fl_err *err =
		isolated ? fl_scenario_run_isolated(&timed, &p, r) : fl_scenario_run(&timed, &p, r);
	ASSERT_NULL(err);
	ASSERT(fl_scenario_result_passed(r));
}

FL_TEST(values_land_in_the_interval_of_their_time)
{
	fl_scenario_result r;
	run_timed(false, &r);
	expect_timed(&r);
	ASSERT(!r.series_on); /* the clock stops with the body */
	fl_scenario_result_destroy(&r);
	ASSERT_EQ(r.nhists, 0);
}

FL_TEST(series_cross_the_isolated_pipe_unchanged)
{
	fl_scenario_result r;
	run_timed(true, &r); /* first: the parent must not own a scheduler at fork */
	expect_timed(&r);
	fl_scenario_result in;
	run_timed(false, &in); /* the same seed on sim: the same run */
	const fl_scenario_series *a = series_of(&r, "lat"), *b = series_of(&in, "lat");
	ASSERT_EQ(a->width_ns, b->width_ns);
	ASSERT_EQ(a->nivs, b->nivs);
	for (size_t i = 0; i < a->nivs; i++) {
		ASSERT_EQ(!a->ivs[i], !b->ivs[i]);
		if (!a->ivs[i])
			continue;
		ASSERT_EQ(fl_hdr_total_count(a->ivs[i]), fl_hdr_total_count(b->ivs[i]));
		ASSERT_EQ(fl_hdr_max(a->ivs[i]), fl_hdr_max(b->ivs[i]));
		ASSERT_EQ(fl_hdr_min(a->ivs[i]), fl_hdr_min(b->ivs[i]));
	}
	fl_scenario_result_destroy(&in);
	fl_scenario_result_destroy(&r);
}

/* Out of memory for an interval: the series is dropped and counted, the
 * histogram stays whole, the run passes. The body's allocations are failed
 * one at a time (fl/alloc.h's hook) until one is an interval's. */
FL_TEST(an_interval_out_of_memory_drops_the_series_not_the_run)
{
	bool seen = false;
	for (uint64_t n = 1; n <= 64 && !seen; n++) {
		fl_scenario_result r;
		fl_scenario_params p = {.skip_timing = true, .seed = 5, .alloc_fail_nth = n};
		fl_scenario_result_init(&r, &timed);
		fl_err_drop(fl_scenario_run(&timed, &p, &r));
		const fl_scenario_series *s = r.nhists == 2 ? series_of(&r, "lat") : NULL;
		if (s && s->dropped) {
			seen = true;
			ASSERT(fl_scenario_result_passed(&r));
			ASSERT_EQ(r.series_dropped, 1);
			ASSERT_EQ(s->nivs, 0);
			ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "lat")), NREC);
			fl_report *rep;
			ASSERT_NULL(fl_scenario_report_new("suite",
							   (const fl_scenario_result *const[]){&r},
							   1, NULL, &rep));
			const fl_report_counter *c =
				fl_report_find_counter(rep, "timed.series_dropped");
			ASSERT_NOT_NULL(c);
			ASSERT_EQ(c->value, 1);
			fl_report_free(rep);
		} else if (s) { /* negative control: a run whose intervals were all had */
			ASSERT_EQ(r.series_dropped, 0);
		}
		fl_scenario_result_destroy(&r);
	}
	ASSERT(seen);
}

/* ---- the report ----------------------------------------------------------- */

static fl_err *quick_body(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	fl_hdr *h;
	fl_err *err = fl_scenario_hist(r, "lat", &h);
	if (!err)
		(void)fl_scenario_record(r, h, 5000);
	return err;
}

static const fl_scenario quick = {.name = "quick", .description = "one record", .run = quick_body};

FL_TEST(report_json_has_the_series_offset_by_earlier_runs)
{
	fl_scenario_result q, r;
	fl_scenario_params p = {.skip_timing = true, .seed = 5, .sim_reseed = true};
	fl_scenario_result_init(&q, &quick);
	ASSERT_NULL(fl_scenario_run(&quick, &p, &q));
	run_timed(false, &r);
	fl_report *rep;
	ASSERT_NULL(fl_scenario_report_new("suite", (const fl_scenario_result *const[]){&q, &r}, 2,
					   NULL, &rep));
	char dir[256], path[320];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	ASSERT_NULL(fl_report_write_json(rep, path));
	fl_report_free(rep);
	ASSERT_NULL(fl_report_load_json(path, &rep));
	unlink(path);
	rmdir(dir);
	const fl_report_series *rs = fl_report_find_series(rep, "timed.lat");
	ASSERT_NOT_NULL(rs);
	const fl_scenario_series *s = series_of(&r, "lat");
	ASSERT_EQ(rs->nivs, s->nivs); /* the empty ones too: a stall is a 0 */
	for (size_t i = 0; i < rs->nivs; i++) {
		fl_report_stats st;
		fl_report_interval_stats(&rs->ivs[i], &st);
		ASSERT_EQ(st.count, s->ivs[i] ? fl_hdr_total_count(s->ivs[i]) : 0);
		if (s->ivs[i])
			ASSERT_EQ(st.pct[FL_REPORT_NPCT - 1], fl_hdr_max(s->ivs[i]));
		ASSERT_NULL(rs->ivs[i].hdr); /* a summary, not a second histogram */
		/* after the quick run: the suite's timeline */
		ASSERT_EQ(rs->ivs[i].start_ns, q.duration_ns + (int64_t)i * s->width_ns);
		if (i + 1 < rs->nivs)
			ASSERT_EQ(rs->ivs[i].length_ns, s->width_ns);
	}
	/* the last interval ends with the run */
	const fl_report_interval *end = &rs->ivs[rs->nivs - 1];
	ASSERT(end->length_ns > 0 && end->length_ns <= s->width_ns);
	ASSERT(end->start_ns + end->length_ns <= q.duration_ns + r.duration_ns);
	ASSERT_NOT_NULL(fl_report_find_series(rep, "quick.lat"));
	ASSERT_NULL(fl_report_find_series(rep, "timed.plain")); /* negative control */
	fl_report_free(rep);
	fl_scenario_result_destroy(&q);
	fl_scenario_result_destroy(&r);
}

/* ---- any backend: concurrent recorders, counts only ------------------------- */

#define TASKS 4
#define PER_TASK 300

typedef struct rec_arg {
	fl_scenario_result *r;
	fl_hdr *h;
} rec_arg;

static fl_err *recorder(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	rec_arg *a = arg;
	for (int k = 0; k < PER_TASK; k++) {
		(void)fl_scenario_record(a->r, a->h, 100 + k);
		if (k % 50 == 0)
			(void)fl_sleep_until(NULL, fl_deadline_in(FL_MS(3)));
	}
	return NULL;
}

static fl_err *concurrent_body(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	rec_arg a = {.r = r};
	fl_err *err = fl_scenario_hist(r, "lat", &a.h);
	if (err)
		return err;
	fl_group *g;
	fl_ctx *gctx;
	if ((err = fl_group_new(fl_ctx_background(), NULL, &g, &gctx)))
		return err;
	for (int i = 0; i < TASKS && !err; i++)
		err = fl_group_go_named(g, "recorder", recorder, &a);
	fl_err *werr = fl_group_wait(g);
	fl_group_free(g);
	fl_err_drop(werr);
	return err;
}

static const fl_scenario concurrent = {.name = "concurrent",
				       .description = "tasks record",
				       .run = concurrent_body};

static void concurrent_counts(bool isolated)
{
	fl_scenario_result r;
	fl_scenario_params p = {.skip_timing = true, .time_scale = fl_test_time_scale()};
	fl_scenario_result_init(&r, &concurrent);
	ASSERT_NULL(isolated ? fl_scenario_run_isolated(&concurrent, &p, &r)
			     : fl_scenario_run(&concurrent, &p, &r));
	ASSERT(fl_scenario_result_passed(&r));
	const fl_scenario_series *s = series_of(&r, "lat");
	ASSERT(s->width_ns >= FL_SCENARIO_SERIES_WIDTH);
	ASSERT(s->nivs >= 1 && s->nivs <= FL_SCENARIO_SERIES_MAX);
	ASSERT_EQ(series_total(s), TASKS * PER_TASK);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "lat")), TASKS * PER_TASK);
	fl_scenario_result_destroy(&r);
}

FL_TEST(concurrent_records_add_up_in_process) { concurrent_counts(false); }

FL_TEST(concurrent_records_add_up_across_the_pipe) { concurrent_counts(true); }

/* The job engine records its histograms with their series. */
FL_TEST(a_job_records_e2e_over_time)
{
	static const char job[] = "[global]\nitems = 200\n"
				  "[flow]\nshape = linear\nstages = source, work, sink\n";
	fl_jobs *j;
	ASSERT_NULL(fl_jobs_parse(job, "series.ini", &j));
	const fl_scenario *s = fl_jobs_find(j, "flow");
	ASSERT_NOT_NULL(s);
	fl_scenario_params p = {.skip_timing = true, .time_scale = fl_test_time_scale()};
	fl_scenario_result r;
	fl_scenario_result_init(&r, s);
	ASSERT_NULL(fl_scenario_run_isolated(s, &p, &r));
	ASSERT(fl_scenario_result_passed(&r));
	const fl_scenario_series *e2e = series_of(&r, "e2e");
	ASSERT(e2e->nivs >= 1);
	ASSERT_EQ(series_total(e2e), fl_hdr_total_count(fl_scenario_find_hist(&r, "e2e")));
	ASSERT_EQ(series_total(e2e), 200);
	ASSERT_EQ(series_total(series_of(&r, "stage.work")), 200);
	fl_report *rep;
	ASSERT_NULL(fl_scenario_report_new("suite", (const fl_scenario_result *const[]){&r}, 1,
					   NULL, &rep));
	ASSERT_NOT_NULL(fl_report_find_series(rep, "flow.e2e"));
	fl_report_free(rep);
	fl_scenario_result_destroy(&r);
	fl_jobs_free(j);
}

FL_TEST_MAIN(FL_CASE(values_land_in_the_interval_of_their_time),
	     FL_CASE(series_cross_the_isolated_pipe_unchanged),
	     FL_CASE(report_json_has_the_series_offset_by_earlier_runs),
	     FL_CASE(an_interval_out_of_memory_drops_the_series_not_the_run),
	     FL_CASE(concurrent_records_add_up_in_process),
	     FL_CASE(concurrent_records_add_up_across_the_pipe),
	     FL_CASE(a_job_records_e2e_over_time))

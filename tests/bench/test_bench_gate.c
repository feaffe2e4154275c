/*
 * test_bench_gate.c - the regression gate's controls (docs/bench.md): an
 * A/A comparison passes, a planted 5% slowdown of the stage (the fault
 * injector's slow(1.05)) is flagged, a planted 0.5% one is not.
 *
 * The runs use the virtual clock, so the controls measure the gate, not
 * the machine: the repetitions differ only by their seeds (the baseline
 * draws seeds 1000.., the candidate 2000..), which gives them real
 * sampling noise, and the same seeds give the same histograms on any
 * machine, under any sanitizer and any load. A control cannot flake.
 * The load: constant arrivals at 3000/s into one stage of one worker with
 * lognormal(100us, 0.2) work (30% busy, so queueing barely amplifies the
 * planted change), 20000 measured items per repetition after a 1 s
 * warm-up, 9 repetitions per side.
 */
/* fl-test-labels: memcheck */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>
#include <fl/report.h>

#include "fl_test.h"

#include <math.h>
#include <stdlib.h>

#define REPS 9

static void control_opts(struct fl_bench_load_opts *o)
{
	fl_bench_load_defaults(o);
	fl_bench_schedule_const(&o->schedule, 3000, (int64_t)10 * 1000000000);
	o->max_items = 20000;
	o->virtual_clock = true;
	o->service = (fl_bench_dist){FL_BENCH_LOGNORMAL, 100e3, 0.2};
}

/* REPS repetitions with seeds seed0.., under plan (NULL: none). */
static void reps(uint64_t seed0, const char *plan, fl_bench_sample *out)
{
	fl_fault_plan *p = NULL;
	if (plan)
		ASSERT(fl_fault_arm(plan, 1, &p) == NULL);
	for (int r = 0; r < REPS; r++) {
		struct fl_bench_load_opts o;
		control_opts(&o);
		o.seed = seed0 + (uint64_t)r;
		fl_bench_result res;
		ASSERT(fl_bench_load_run(&o, &res) == NULL);
		ASSERT_EQ(res.items, 20000);
		ASSERT_EQ(fl_hdr_total_count(res.response), 20000);
		fl_bench_sample_of(&res, &out[r]);
		fl_bench_result_destroy(&res);
	}
	fl_fault_plan_free(p);
}

static fl_bench_verdict gate(const char *plan)
{
	fl_bench_sample a[REPS], b[REPS];
	reps(1000, NULL, a);
	reps(2000, plan, b);
	fl_bench_verdict v;
	ASSERT(fl_bench_gate_eval(a, REPS, b, REPS, NULL, &v) == NULL);
	fl_bench_verdict_markdown(&v, stdout);
	return v;
}

FL_TEST(control_aa_passes)
{
	fl_bench_verdict v = gate(NULL);
	ASSERT(!v.regression);
	for (int m = 0; m < FL_BENCH_NMETRICS; m++) {
		ASSERT(!v.m[m].regression);
		ASSERT(fabs(v.m[m].worse) < v.m[m].floor);
	}
}

FL_TEST(control_slow_5pct_flagged)
{
	fl_bench_verdict v = gate("stage1=slow(1.05)");
	ASSERT(v.regression);
	/* The median response is what a 5% slower stage moves most surely. */
	ASSERT(v.m[1].regression);
	ASSERT(v.m[1].worse > 0.04 && v.m[1].worse < 0.07);
	ASSERT(v.m[1].ci_lo > 0.01);
	/* Open loop: the offered rate is kept, so throughput does not drop. */
	ASSERT(!v.m[0].regression);
}

FL_TEST(control_slow_half_pct_not_flagged)
{
	fl_bench_verdict v = gate("stage1=slow(1.005)");
	ASSERT(!v.regression);
	for (int m = 0; m < FL_BENCH_NMETRICS; m++)
		ASSERT(!v.m[m].regression);
}

FL_TEST(verdict_needs_two_reps)
{
	fl_bench_sample a[1] = {{{1, 1, 1, 1}}};
	fl_bench_verdict v;
	fl_err *e = fl_bench_gate_eval(a, 1, a, 1, NULL, &v);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
}

FL_TEST(baseline_round_trip)
{
	/* A stored baseline gives back the samples of its repetitions. */
	fl_report *b;
	ASSERT(fl_bench_baseline_new("test", &b) == NULL);
	fl_bench_sample direct[3];
	for (int r = 0; r < 3; r++) {
		struct fl_bench_load_opts o;
		control_opts(&o);
		o.max_items = 2000;
		o.seed = 10 + (uint64_t)r;
		fl_bench_result res;
		ASSERT(fl_bench_load_run(&o, &res) == NULL);
		fl_bench_sample_of(&res, &direct[r]);
		ASSERT(fl_bench_baseline_add(b, &res) == NULL);
		fl_bench_result_destroy(&res);
	}
	char path[] = "/tmp/fl-baseline-XXXXXX.json";
	int fd = mkstemps(path, 5);
	ASSERT(fd >= 0);
	ASSERT(fl_report_write_json(b, path) == NULL);
	fl_report *back;
	ASSERT(fl_report_load_json(path, &back) == NULL);
	remove(path);
	fl_bench_sample *s;
	size_t n;
	ASSERT(fl_bench_baseline_samples(back, &s, &n) == NULL);
	ASSERT_EQ(n, 3);
	for (int r = 0; r < 3; r++)
		for (int m = 0; m < FL_BENCH_NMETRICS; m++)
			ASSERT_DBL_NEAR(s[r].v[m], direct[r].v[m], 1e-6 * direct[r].v[m]);
	ASSERT_EQ(fl_bench_fingerprint_diff(b, back, NULL), 0);
	free(s);
	fl_report_free(back);
	fl_report_free(b);
}

FL_TEST_MAIN(FL_CASE(control_aa_passes), FL_CASE(control_slow_5pct_flagged),
	     FL_CASE(control_slow_half_pct_not_flagged), FL_CASE(verdict_needs_two_reps),
	     FL_CASE(baseline_round_trip))

/*
 * test_bench_driver.c - the real-clock open-loop driver: every issued item
 * is accounted for, histograms and the interval log agree with the counts,
 * the in-flight limit and small buffers push items into the generator's
 * backlog without losing any, and a failing stage ends the run with its
 * error. Timing is never asserted: only counts and orderings.
 */
/* fl-test-labels: concurrency memcheck nosim */
/* nosim: the driver measures real time: its generator is an OS thread that
 * spins on the clock, which sim (one thread, virtual time) cannot host; the
 * virtual-clock driver (the gate controls in test_bench_gate) runs there. */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "fl_test.h"

#include <stdio.h>

static void small(struct fl_bench_load_opts *o)
{
	fl_bench_load_defaults(o);
	fl_bench_schedule_const(&o->schedule, 1000, 150000000); /* 150 items */
	o->warmup_ns = 20000000;                                /* 20 more */
	o->stages = 2;
	o->workers = 2;
	o->buffer = 1;
	o->limit = 2;
	o->sleep_work = true;
	o->service = (fl_bench_dist){FL_BENCH_CONST, 200e3, 0};
	o->interval_ns = 50000000;
}

FL_TEST(every_item_accounted)
{
	struct fl_bench_load_opts o;
	small(&o);
	FILE *log = tmpfile();
	ASSERT(log != NULL);
	o.hlog = log;
	fl_bench_result r;
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	ASSERT_EQ(r.items, 150);
	ASSERT_EQ(r.issued, 170);
	ASSERT_EQ(fl_hdr_total_count(r.response), 150);
	ASSERT_EQ(fl_hdr_total_count(r.service), 150);
	ASSERT_EQ(fl_hdr_total_count(r.sched_error), 150);
	/* Response counts from the intended start, service from the actual
	 * one: the slowest response is at least the slowest service, and two
	 * stages of 200us each bound the service from below. */
	ASSERT_GE(fl_hdr_max(r.response), fl_hdr_max(r.service));
	ASSERT_GE(fl_hdr_min(r.service), 390000);
	ASSERT(r.busy_ns >= 150 * 400000);
	int64_t sum = 0;
	for (size_t i = 0; i < r.nivs; i++) {
		sum += fl_hdr_total_count(r.ivs[i].response);
		if (i)
			ASSERT(r.ivs[i].start_ns >= r.ivs[i - 1].start_ns);
	}
	ASSERT_EQ(sum, 150);
	rewind(log);
	fl_hdr *merged;
	ASSERT(fl_hdr_log_read_merged(log, "response", &merged) == NULL);
	ASSERT(merged != NULL);
	ASSERT_EQ(fl_hdr_total_count(merged), 150);
	fl_hdr_free(merged);
	fclose(log);
	fl_bench_result_destroy(&r);
}

FL_TEST(failing_stage_ends_the_run)
{
	struct fl_bench_load_opts o;
	small(&o);
	fl_fault_plan *p;
	ASSERT(fl_fault_arm("stage2=@5 error(inval)", 1, &p) == NULL);
	fl_bench_result r;
	fl_err *e = fl_bench_load_run(&o, &r);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_fault_plan_free(p);
}

FL_TEST(bad_options_are_named)
{
	struct fl_bench_load_opts o;
	small(&o);
	o.workers = 0;
	fl_bench_result r;
	fl_err *e = fl_bench_load_run(&o, &r);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_bench_dist d;
	e = fl_bench_dist_parse("gamma(1ms)", &d);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	ASSERT(fl_bench_dist_parse("lognormal(1ms,0.5)", &d) == NULL);
	ASSERT(d.kind == FL_BENCH_LOGNORMAL && d.a == 1e6 && d.b == 0.5);
	fl_bench_schedule s;
	ASSERT(fl_bench_schedule_parse("1000@1s,1000..5000@2s", &s) == NULL);
	ASSERT_EQ(s.n, 2);
	ASSERT(s.seg[1].rate1 == 5000 && s.seg[1].dur_ns == 2000000000);
	e = fl_bench_schedule_parse("1000", &s);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
}

FL_TEST(schedules_set_the_arrivals)
{
	/* Virtual clock, no warm-up: a step issues rate x duration items, a
	 * linear ramp the area under it, Poisson about the same (seeded). */
	struct fl_bench_load_opts o;
	fl_bench_load_defaults(&o);
	o.virtual_clock = true;
	o.warmup_ns = 0;
	o.service = (fl_bench_dist){FL_BENCH_CONST, 10e3, 0};
	fl_bench_result r;
	ASSERT(fl_bench_schedule_parse("1000@1s,2000@1s", &o.schedule) == NULL);
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	ASSERT_EQ(r.items, 3000);
	ASSERT_EQ(fl_hdr_total_count(r.response), 3000);
	fl_bench_result_destroy(&r);
	ASSERT(fl_bench_schedule_parse("1000..3000@2s", &o.schedule) == NULL);
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	ASSERT(r.items >= 3990 && r.items <= 4010); /* (1000 + 3000) / 2 x 2 s */
	/* The rate rises: the second second holds more than the first. */
	ASSERT(r.nivs >= 2);
	ASSERT_GT(fl_hdr_total_count(r.ivs[1].response), fl_hdr_total_count(r.ivs[0].response));
	fl_bench_result_destroy(&r);
	o.poisson = true;
	fl_bench_schedule_const(&o.schedule, 5000, 2000000000);
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	int64_t a = r.items;
	ASSERT(a > 9500 && a < 10500); /* 10000 expected, sd 100 */
	fl_bench_result_destroy(&r);
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	ASSERT_EQ(r.items, a); /* same seed, same arrivals */
	fl_bench_result_destroy(&r);
	/* --items bounds the measured items whatever the schedule. */
	o.max_items = 777;
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	ASSERT_EQ(r.items, 777);
	fl_bench_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(every_item_accounted), FL_CASE(failing_stage_ends_the_run),
	     FL_CASE(bad_options_are_named), FL_CASE(schedules_set_the_arrivals))

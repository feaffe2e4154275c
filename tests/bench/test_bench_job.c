/*
 * test_bench_job.c - a job file's pipeline as open-loop load: stages named
 * after the job's middle stages (so its fault plan hits them), workers from
 * the shape, work, buffer, rate and items taken over; diamond refused.
 */
/* fl-test-labels: memcheck */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>
#include <fl/job.h>

#include "fl_test.h"

#include <stdio.h>
#include <unistd.h>

static const char ini[] = "[global]\n"
			  "items = 300\n"
			  "buffer = 4\n"
			  "\n"
			  "[fan]\n"
			  "shape = fan-out\n"
			  "stages = read, fetch, store\n"
			  "group_limit = 8\n"
			  "work = 200us\n"
			  "rate = 1000\n"
			  "faults = fetch=slow(2)\n"
			  "slo_p99 = 50ms\n"
			  "\n"
			  "[chain]\n"
			  "shape = linear\n"
			  "stages = a, b, c, d\n"
			  "workers = 3\n"
			  "\n"
			  "[tee]\n"
			  "shape = diamond\n"
			  "stages = src, x, sink\n";

static void write_ini(char *path)
{
	int fd = mkstemps(path, 4);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, ini, sizeof(ini) - 1), (long)(sizeof(ini) - 1));
	close(fd);
}

FL_TEST(fan_out_section_drives_the_load)
{
	char path[] = "/tmp/fl-job-XXXXXX.ini";
	write_ini(path);
	struct fl_bench_load_opts o;
	fl_bench_load_defaults(&o);
	const char *names[6], *plan = NULL;
	int64_t slo = 0;
	fl_jobs *jobs;
	ASSERT(fl_bench_load_from_job(path, "fan", &o, names, &plan, &slo, &jobs) == NULL);
	ASSERT_EQ(o.stages, 1);
	ASSERT(strcmp(o.stage_names[0], "fetch") == 0);
	ASSERT_EQ(o.workers, 8);
	ASSERT_EQ(o.buffer, 4);
	ASSERT_EQ(o.max_items, 300);
	ASSERT(o.service.kind == FL_BENCH_CONST && o.service.a == 200e3);
	ASSERT(o.schedule.n == 1 && o.schedule.seg[0].rate0 == 1000);
	ASSERT(plan && strcmp(plan, "fetch=slow(2)") == 0);
	ASSERT_EQ(slo, 50000000);
	/* The job's plan hits the stage by its name: every service is 2x. */
	o.virtual_clock = true;
	o.warmup_ns = 0;
	fl_fault_plan *p;
	ASSERT(fl_fault_arm(plan, 1, &p) == NULL);
	fl_bench_result r;
	ASSERT(fl_bench_load_run(&o, &r) == NULL);
	fl_fault_plan_free(p);
	ASSERT_EQ(r.items, 300);
	ASSERT(fl_hdr_values_are_equivalent(r.service, fl_hdr_min(r.service), 400000));
	ASSERT(fl_hdr_values_are_equivalent(r.service, fl_hdr_max(r.service), 400000));
	fl_bench_result_destroy(&r);
	fl_jobs_free(jobs);

	/* A linear chain: the middle stages, with the job's workers. */
	fl_bench_load_defaults(&o);
	ASSERT(fl_bench_load_from_job(path, "chain", &o, names, &plan, &slo, &jobs) == NULL);
	ASSERT_EQ(o.stages, 2);
	ASSERT(strcmp(o.stage_names[0], "b") == 0 && strcmp(o.stage_names[1], "c") == 0);
	ASSERT_EQ(o.workers, 3);
	ASSERT_EQ(o.schedule.n, 0); /* closed loop in the job: a rate must be given */
	fl_jobs_free(jobs);
	remove(path);
}

FL_TEST(diamond_and_unknown_section_refused)
{
	char path[] = "/tmp/fl-job-XXXXXX.ini";
	write_ini(path);
	struct fl_bench_load_opts o;
	fl_bench_load_defaults(&o);
	const char *names[6], *plan;
	int64_t slo;
	fl_jobs *jobs = NULL;
	fl_err *e = fl_bench_load_from_job(path, "tee", &o, names, &plan, &slo, &jobs);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	e = fl_bench_load_from_job(path, "nope", &o, names, &plan, &slo, &jobs);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	ASSERT(jobs == NULL);
	remove(path);
}

FL_TEST_MAIN(FL_CASE(fan_out_section_drives_the_load), FL_CASE(diamond_and_unknown_section_refused))

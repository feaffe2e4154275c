/*
 * fault_bench.c - what a fault point costs (fl-fault-bench).
 *
 * Measures one FL_FAULT evaluation in a tight loop in four states: nothing
 * armed (the fast path: one relaxed atomic load), a plan armed that does not
 * match the point (the per-site cache: a second load), a matching plan whose
 * term never fires (a registry lock stripe, counter, selectors), and a
 * matching plan that fires `off` on every evaluation (plus a plan reference
 * and the fire log), and that last but one again with 4 tasks evaluating at
 * once (each thread locks its own stripe; the point's evaluation counter is
 * the one line they all write; ns/op is wall time over all tasks'
 * evaluations). Each figure is the median of 5 repetitions. This is a
 * benchmark: it measures and never fails on timing.
 *
 * Usage: fl-fault-bench [iterations]   (default 20,000,000 unarmed)
 */
#include <fl/fault.h>
#include <fl/group.h>

#include <stdio.h>
#include <stdlib.h>

#define REPS 5

/* One timed run of n evaluations; returns ns per evaluation. */
static double run_once(long n)
{
	int64_t t0 = fl_now();
	long fired = 0;
	for (long i = 0; i < n; i++) {
		fl_err *e = FL_FAULT(NULL, "bench/enrich");
		if (e) {
			fired++;
			fl_err_drop(e);
		}
	}
	int64_t t1 = fl_now();
	if (fired)
		fprintf(stderr, "unexpected: %ld injected errors\n", fired);
	return (double)(t1 - t0) / (double)n;
}

#define TASKS 4

static fl_err *bench_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	run_once(*(long *)arg);
	return NULL;
}

/* n evaluations split over TASKS concurrent tasks; wall ns per evaluation. */
static double run_parallel(long n)
{
	long each = n / TASKS;
	fl_group *g;
	fl_ctx *gctx;
	int64_t t0 = fl_now();
	fl_err *e = fl_group_new(fl_ctx_background(), NULL, &g, &gctx);
	for (int t = 0; t < TASKS && !e; t++)
		e = fl_group_go(g, bench_task, &each);
	e = fl_err_join2(e, fl_group_wait(g));
	fl_group_free(g);
	if (e) {
		fl_err_print(stderr, e);
		exit(1);
	}
	return (double)(fl_now() - t0) / (double)(each * TASKS);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Arms plan (NULL: nothing), measures REPS runs, prints the median. */
static void measure(const char *label, const char *plan, long n, double (*run)(long))
{
	fl_fault_plan *p = NULL;
	if (plan) {
		fl_err *e = fl_fault_arm(plan, 1, &p);
		if (e) {
			fl_err_print(stderr, e);
			fl_err_drop(e);
			exit(1);
		}
	}
	double v[REPS];
	run(n / 10); /* warm up: resolve the site, fault in pages, start workers */
	for (int r = 0; r < REPS; r++)
		v[r] = run(n);
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	printf("%-38s %8.2f ns/op   (min %.2f, max %.2f, %ld evals x %d)\n", label, v[REPS / 2],
	       v[0], v[REPS - 1], n, REPS);
	fl_fault_plan_free(p);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000000;
	if (n < 10)
		n = 10;
	printf("fault point cost, median of %d (threads backend)\n", REPS);
	printf("%-38s %8s\n", "compiled out (-DFL_FAULTS_OFF)", "0 (constant)");
	const char *never = "bench/enrich=every(1000000000000) error(inval)";
	measure("unarmed", NULL, n, run_once);
	measure("armed, point not matched", "other/point=error(inval)", n, run_once);
	measure("armed, matched, never fires", never, n / 10, run_once);
	measure("armed, matched, fires off", "bench/enrich=off", n / 10, run_once);
	measure("unarmed, 4 tasks", NULL, n, run_parallel);
	measure("armed, matched, never fires, 4 tasks", never, n / 10, run_parallel);
	return 0;
}

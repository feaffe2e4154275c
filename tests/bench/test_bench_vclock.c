/*
 * test_bench_vclock.c - the virtual clock's pipeline model (bench/lib/sim.c)
 * against independent computations: FCFS servers when nothing can block,
 * one item at a time under limit 1, and the textbook recurrence of two
 * single-worker stages with a buffer of B slots between them (blocking
 * after service), for B = 0 (a rendezvous) and B > 0.
 *
 * Every reference here is computed from the same seeded draws
 * (fl_bench_dist_draw), so the histograms must agree slot by slot and the
 * window and busy time to the nanosecond. Arrivals are constant gaps with
 * no warm-up: item k intends to start at k x gap.
 */
/* fl-test-labels: memcheck */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>

#include "fl_test.h"
#include "fl_test_hdr.h"

#include <math.h>
#include <stdlib.h>

#define MS 1000000

/* What an independent computation says each item did. */
typedef struct ref {
	int64_t n;
	int64_t *intended, *start, *done;
	int64_t busy;
} ref;

static void opts(struct fl_bench_load_opts *o, int64_t gap, int64_t items, int stages, int workers,
		 int buffer, int limit, fl_bench_dist service)
{
	fl_bench_load_defaults(o);
	o->virtual_clock = true;
	o->warmup_ns = 0;
	fl_bench_schedule_const(&o->schedule, 1e9 / (double)gap, (int64_t)3600 * 1000 * MS);
	o->max_items = items;
	o->stages = stages;
	o->workers = workers;
	o->buffer = buffer;
	o->limit = limit;
	o->service = service;
	o->seed = 7;
}

static ref ref_new(int64_t n, int64_t gap)
{
	ref x = {n, calloc((size_t)n, 8), calloc((size_t)n, 8), calloc((size_t)n, 8), 0};
	ASSERT(x.intended && x.start && x.done);
	for (int64_t k = 0; k < n; k++)
		x.intended[k] = k * gap;
	return x;
}

static void ref_free(ref *x)
{
	free(x->intended);
	free(x->start);
	free(x->done);
}

/* Stage s's work on item k (s from 0), stretched as slow(x) does. */
static int64_t work(const struct fl_bench_load_opts *o, int s, int64_t k, double slow)
{
	int64_t w = fl_bench_dist_draw(&o->service, o->seed, (uint64_t)s + 1, (uint64_t)k);
	return slow != 1.0 ? (int64_t)llround((double)w * slow) : w;
}

/* The result must be exactly what x says. */
static void check(const ref *x, const fl_bench_result *r)
{
	fl_hdr *resp, *svc;
	ASSERT(fl_hdr_new(1, (int64_t)3600 * 1000 * MS, 3, &resp) == NULL);
	ASSERT(fl_hdr_new(1, (int64_t)3600 * 1000 * MS, 3, &svc) == NULL);
	int64_t last = 0;
	double area = 0;
	for (int64_t k = 0; k < x->n; k++) {
		fl_hdr_record(resp, x->done[k] - x->intended[k]);
		fl_hdr_record(svc, x->done[k] - x->start[k]);
		last = x->done[k] > last ? x->done[k] : last;
		area += (double)(x->done[k] - x->intended[k]);
	}
	fl_test_assert_same_hdr("histogram", r->response, resp);
	fl_test_assert_same_hdr("histogram", r->service, svc);
	ASSERT_EQ(r->items, x->n);
	ASSERT_EQ(r->issued, x->n);
	ASSERT_EQ(r->window_ns, last);
	ASSERT_EQ(r->busy_ns, x->busy);
	/* Little's L: the exact integral of the items in flight. */
	ASSERT(fabs(r->mean_in_system - area / (double)last) <= 1e-9 * area / (double)last);
	fl_hdr_free(resp);
	fl_hdr_free(svc);
}

static void run(const struct fl_bench_load_opts *o, fl_bench_result *r)
{
	ASSERT(fl_bench_load_run(o, r) == NULL);
}

/* ---- 1. nothing blocks: FCFS servers ---------------------------------------------------- */

static const int64_t *by_at;

static int cmp_by_at(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (by_at[x] != by_at[y])
		return by_at[x] < by_at[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The stage-by-stage FCFS model: at each stage the items in order of
 * arrival there (ties by number), each to the server that frees up first. */
static void ref_fcfs(const struct fl_bench_load_opts *o, ref *x)
{
	int64_t n = x->n, *at = calloc((size_t)n, 8), *ord = calloc((size_t)n, 8);
	int64_t *free_at = calloc((size_t)o->workers, 8);
	ASSERT(at && ord && free_at);
	x->busy = 0;
	for (int64_t k = 0; k < n; k++)
		at[k] = x->intended[k];
	for (int s = 0; s < o->stages; s++) {
		for (int64_t k = 0; k < n; k++)
			ord[k] = k;
		by_at = at;
		qsort(ord, (size_t)n, 8, cmp_by_at);
		for (int w = 0; w < o->workers; w++)
			free_at[w] = 0;
		for (int64_t i = 0; i < n; i++) {
			int64_t k = ord[i];
			int best = 0;
			for (int w = 1; w < o->workers; w++)
				if (free_at[w] < free_at[best])
					best = w;
			int64_t st = at[k] > free_at[best] ? at[k] : free_at[best];
			int64_t w = work(o, s, k, 1.0);
			if (s == 0)
				x->start[k] = st;
			at[k] = free_at[best] = st + w;
			x->busy += w;
		}
	}
	for (int64_t k = 0; k < n; k++)
		x->done[k] = at[k];
	free(at);
	free(ord);
	free(free_at);
}

FL_TEST(fcfs_when_nothing_blocks)
{
	/* One worker, 60% busy: start = max(arrival, previous finish). */
	struct fl_bench_load_opts o;
	opts(&o, 500000, 20000, 1, 1, 1 << 15, 0, (fl_bench_dist){FL_BENCH_EXP, 300e3, 0});
	ref x = ref_new(20000, 500000);
	int64_t prev = 0;
	for (int64_t k = 0; k < x.n; k++) {
		int64_t w = work(&o, 0, k, 1.0);
		x.start[k] = x.intended[k] > prev ? x.intended[k] : prev;
		prev = x.done[k] = x.start[k] + w;
		x.busy += w;
	}
	fl_bench_result r;
	run(&o, &r);
	check(&x, &r);
	fl_bench_result_destroy(&r);
	ref_free(&x);

	/* Three stages of three workers, 80% busy, a buffer of more slots than
	 * items: exactly FCFS with parallel servers per stage. */
	opts(&o, 125000, 20000, 3, 3, 1 << 15, 0, (fl_bench_dist){FL_BENCH_EXP, 300e3, 0});
	x = ref_new(20000, 125000);
	ref_fcfs(&o, &x);
	run(&o, &r);
	check(&x, &r);
	ASSERT_EQ(r.backlog_max, 0);
	/* Same options, same histograms. */
	fl_bench_result r2;
	run(&o, &r2);
	fl_test_assert_same_hdr("histogram", r.response, r2.response);
	fl_test_assert_same_hdr("histogram", r.service, r2.service);
	fl_bench_result_destroy(&r2);
	fl_bench_result_destroy(&r);
	ref_free(&x);
}

/* ---- 2. limit 1: one item at a time ----------------------------------------------------------- */

FL_TEST(limit_one_serialises)
{
	/* Two stages of four workers, const(1ms) each, arrivals every 0.5 ms:
	 * with limit 1 item k enters when k - 1 completes, so it completes at
	 * 2 ms x (k + 1), its service is 2 ms and the throughput 1 / 2 ms. */
	enum { N = 1000 };
	struct fl_bench_load_opts o;
	opts(&o, MS / 2, N, 2, 4, 64, 1, (fl_bench_dist){FL_BENCH_CONST, 1e6, 0});
	ref x = ref_new(N, MS / 2);
	for (int64_t k = 0; k < N; k++) {
		x.start[k] = 2 * MS * k;
		x.done[k] = 2 * MS * (k + 1);
		x.busy += 2 * MS;
	}
	fl_bench_result r;
	run(&o, &r);
	check(&x, &r);
	ASSERT_EQ(fl_hdr_count_at_value(r.service, 2 * MS), N);
	ASSERT_EQ(r.window_ns, (int64_t)N * 2 * MS);
	ASSERT_EQ(r.items * 1000000000 / r.window_ns, 500);
	/* When item k arrives (at k/2 ms) floor(k/4) + 1 items have entered,
	 * so the backlog peaks at 999 - 249. */
	ASSERT_EQ(r.backlog_max, 750);
	fl_bench_result_destroy(&r);

	/* The same with exp draws: a single server working both stages. */
	o.service = (fl_bench_dist){FL_BENCH_EXP, 100e3, 0};
	x.busy = 0;
	int64_t prev = 0;
	for (int64_t k = 0; k < N; k++) {
		int64_t w = work(&o, 0, k, 1.0) + work(&o, 1, k, 1.0);
		x.start[k] = x.intended[k] > prev ? x.intended[k] : prev;
		prev = x.done[k] = x.start[k] + w;
		x.busy += w;
	}
	run(&o, &r);
	check(&x, &r);
	fl_bench_result_destroy(&r);
	ref_free(&x);

	/* Without the limit, four workers per stage take 2000/s at once:
	 * every response is the 2 ms of work and nothing waits. */
	opts(&o, MS / 2, N, 2, 4, 64, 0, (fl_bench_dist){FL_BENCH_CONST, 1e6, 0});
	run(&o, &r);
	ASSERT_EQ(fl_hdr_count_at_value(r.response, 2 * MS), N);
	ASSERT_EQ(r.backlog_max, 0);
	fl_bench_result_destroy(&r);
}

/* ---- 3. buffers between stages ------------------------------------------------------------ */

/*
 * Two stages of one worker, B slots between them, stage 2 slowed by slow2
 * (blocking after service): item k starts stage 1 when it has arrived and
 * stage 1 let k - 1 go, starts stage 2 when it finished stage 1 and stage 2
 * finished k - 1, and leaves stage 1 once it finished there and k - B has
 * started stage 2 (its slot freed; B = 0: when stage 2 takes k itself).
 */
static void ref_tandem(const struct fl_bench_load_opts *o, int B, double slow2, ref *x)
{
	int64_t n = x->n, *s2 = calloc((size_t)n, 8);
	ASSERT(s2);
	int64_t left1 = 0, f2 = 0;
	x->busy = 0;
	for (int64_t k = 0; k < n; k++) {
		int64_t w1 = work(o, 0, k, 1.0), w2 = work(o, 1, k, slow2);
		x->start[k] = x->intended[k] > left1 ? x->intended[k] : left1;
		int64_t f1 = x->start[k] + w1;
		s2[k] = f1 > f2 ? f1 : f2;
		f2 = x->done[k] = s2[k] + w2;
		int64_t slot = k - B >= 0 ? s2[k - B] : f1;
		left1 = f1 > slot ? f1 : slot;
		x->busy += w1 + w2;
	}
	free(s2);
}

FL_TEST(rendezvous_blocks_first_stage)
{
	fl_fault_plan *p;
	ASSERT(fl_fault_arm("stage2=slow(3)", 1, &p) == NULL);
	/* A burst of 200 items 1 us apart into const(1ms) then 3 ms. With
	 * buffer 0 stage 1 holds each item until stage 2 takes it: item k >= 1
	 * starts at (3k - 2) ms and completes at (3k + 4) ms, a service of 6
	 * ms; the generator keeps the 199 others. */
	enum { N = 200 };
	struct fl_bench_load_opts o;
	opts(&o, 1000, N, 2, 1, 0, 0, (fl_bench_dist){FL_BENCH_CONST, 1e6, 0});
	ref x = ref_new(N, 1000);
	x.start[0] = 0;
	x.done[0] = 4 * MS;
	for (int64_t k = 1; k < N; k++) {
		x.start[k] = (3 * k - 2) * MS;
		x.done[k] = (3 * k + 4) * MS;
	}
	x.busy = (int64_t)N * 4 * MS;
	fl_bench_result r0, r64;
	run(&o, &r0);
	check(&x, &r0);
	ASSERT_EQ(fl_hdr_count_at_value(r0.service, 6 * MS), N - 1);
	ASSERT_EQ(r0.backlog_max, N - 1);
	ref y = ref_new(N, 1000);
	ref_tandem(&o, 0, 3.0, &y);
	check(&y, &r0);
	/* With 64 slots stage 1 runs ahead: the bottleneck completes the
	 * items at the same times, but they start earlier and wait in the
	 * buffer instead of the backlog. */
	o.buffer = 64;
	run(&o, &r64);
	ref_tandem(&o, 64, 3.0, &y);
	check(&y, &r64);
	for (int64_t k = 0; k < N; k++)
		ASSERT_EQ(y.done[k], x.done[k]);
	ASSERT_EQ(r64.backlog_max, N - 1 - 64);
	ASSERT_GT(fl_hdr_value_at_percentile(r64.service, 50),
		  fl_hdr_value_at_percentile(r0.service, 50));
	fl_bench_result_destroy(&r0);
	fl_bench_result_destroy(&r64);
	ref_free(&x);
	ref_free(&y);
	fl_fault_plan_free(p);

	/* Random work: exp(1ms) then 1.2 ms at 600/s (stage 2 72% busy). A
	 * rendezvous lets stage 2 starve while stage 1 works, and stage 1
	 * idle while it holds a finished item: the pair's capacity drops,
	 * the backlog grows and responses get longer. Both match the
	 * recurrence exactly. */
	ASSERT(fl_fault_arm("stage2=slow(1.2)", 1, &p) == NULL);
	enum { M = 20000 };
	int64_t gap = 1000000000 / 600;
	opts(&o, gap, M, 2, 1, 0, 0, (fl_bench_dist){FL_BENCH_EXP, 1e6, 0});
	run(&o, &r0);
	x = ref_new(M, gap);
	ref_tandem(&o, 0, 1.2, &x);
	check(&x, &r0);
	o.buffer = 64;
	run(&o, &r64);
	ref_tandem(&o, 64, 1.2, &x);
	check(&x, &r64);
	ASSERT_GT(r0.backlog_max, 4 * r64.backlog_max);
	ASSERT_GT(fl_hdr_value_at_percentile(r0.response, 50),
		  fl_hdr_value_at_percentile(r64.response, 50));
	ASSERT_GT(fl_hdr_value_at_percentile(r0.response, 99),
		  2 * fl_hdr_value_at_percentile(r64.response, 99));
	ASSERT(r0.mean_in_system > r64.mean_in_system);
	ASSERT_LT(r0.items * 1000000000 / r0.window_ns, r64.items * 1000000000 / r64.window_ns);
	fl_bench_result_destroy(&r0);
	fl_bench_result_destroy(&r64);
	ref_free(&x);
	fl_fault_plan_free(p);
}

FL_TEST(limit_of_all_workers_equals_rendezvous)
{
	/* Two stages of W workers: a rendezvous holds at most 2W items in the
	 * pipeline and admits one exactly when a stage-1 worker is free, which
	 * a limit of 2W with a large buffer also does. Same histograms. */
	struct fl_bench_load_opts o;
	opts(&o, 1000000000 / 1800, 20000, 2, 3, 0, 0, (fl_bench_dist){FL_BENCH_EXP, 1.5e6, 0});
	fl_bench_result a, b;
	run(&o, &a);
	o.buffer = 64;
	o.limit = 6;
	run(&o, &b);
	fl_test_assert_same_hdr("histogram", a.response, b.response);
	fl_test_assert_same_hdr("histogram", a.service, b.service);
	ASSERT_EQ(a.window_ns, b.window_ns);
	ASSERT_EQ(a.backlog_max, b.backlog_max);
	ASSERT(a.backlog_max > 0);
	fl_bench_result_destroy(&b);
	/* A limit of 1 less is slower. */
	o.limit = 5;
	run(&o, &b);
	ASSERT_GT(fl_hdr_value_at_percentile(b.response, 99),
		  fl_hdr_value_at_percentile(a.response, 99));
	fl_bench_result_destroy(&a);
	fl_bench_result_destroy(&b);
}

FL_TEST_MAIN(FL_CASE(fcfs_when_nothing_blocks), FL_CASE(limit_one_serialises),
	     FL_CASE(rendezvous_blocks_first_stage),
	     FL_CASE(limit_of_all_workers_equals_rendezvous))

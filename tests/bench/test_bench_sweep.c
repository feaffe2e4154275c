/*
 * test_bench_sweep.c - capacity sweeps: shards merged with
 * fl_report_merge give the histograms and counters of one unsharded run,
 * also through JSON files; the knee is found where p99 leaves the SLO.
 * Cells run on the virtual clock, so both runs draw the same values.
 */
/* fl-test-labels: memcheck */
#include <fl/bench.h>
#include <fl/hdr.h>
#include <fl/report.h>

#include "fl_test.h"
#include "fl_test_hdr.h"

#include <stdlib.h>
#include <unistd.h>

static void grid(fl_bench_grid *g)
{
	*g = (fl_bench_grid){0};
	ASSERT(fl_bench_axis_parse_int("--limit", "0", g->limit, &g->nlimit) == NULL);
	ASSERT(fl_bench_axis_parse_int("--buffer", "16", g->buffer, &g->nbuffer) == NULL);
	ASSERT(fl_bench_axis_parse_int("--workers", "1,2", g->workers, &g->nworkers) == NULL);
	ASSERT(fl_bench_axis_parse_rate("--rate", "2000,6000,9000,12000", g->rate, &g->nrate) ==
	       NULL);
}

static void base(struct fl_bench_load_opts *o)
{
	fl_bench_load_defaults(o);
	o->virtual_clock = true;
	o->warmup_ns = 100000000;
	o->service = (fl_bench_dist){FL_BENCH_EXP, 100e3, 0};
	o->seed = 5;
}

static fl_report *sweep(int shard, int shards)
{
	fl_bench_grid g;
	grid(&g);
	struct fl_bench_load_opts o;
	base(&o);
	fl_report *r;
	ASSERT(fl_report_new("sweep", NULL, &r) == NULL);
	ASSERT(fl_bench_sweep_run(&g, 2, shard, shards, &o, 500000000, r, NULL) == NULL);
	return r;
}

static void assert_same(const fl_report *whole, const fl_report *merged)
{
	ASSERT_EQ(whole->nhists, merged->nhists);
	ASSERT(whole->nhists > 0);
	for (size_t i = 0; i < whole->nhists; i++) {
		const fl_report_hist *m = fl_report_find_hist(merged, whole->hists[i].name);
		ASSERT(m != NULL && m->hdr != NULL);
		fl_test_assert_same_hdr("histogram", whole->hists[i].hdr, m->hdr);
	}
	ASSERT_EQ(whole->ncounters, merged->ncounters);
	for (size_t i = 0; i < whole->ncounters; i++) {
		const fl_report_counter *c =
			fl_report_find_counter(merged, whole->counters[i].name);
		ASSERT(c != NULL);
		ASSERT_EQ(c->value, whole->counters[i].value);
	}
	ASSERT_EQ(whole->nseries, merged->nseries);
	for (size_t i = 0; i < whole->nseries; i++) {
		const fl_report_series *s = fl_report_find_series(merged, whole->series[i].name);
		ASSERT(s != NULL);
		ASSERT_EQ(s->nivs, whole->series[i].nivs);
		for (size_t k = 0; k < s->nivs; k++) {
			ASSERT_EQ(s->ivs[k].start_ns, whole->series[i].ivs[k].start_ns);
			fl_test_assert_same_hdr("histogram", whole->series[i].ivs[k].hdr,
						s->ivs[k].hdr);
		}
	}
}

FL_TEST(two_shards_merge_to_unsharded)
{
	fl_report *whole = sweep(0, 1), *s1 = sweep(0, 2), *s2 = sweep(1, 2);
	ASSERT(s1->nhists > 0 && s2->nhists > 0 && s1->nhists < whole->nhists);
	fl_report *m;
	ASSERT(fl_report_new("merged", NULL, &m) == NULL);
	ASSERT(fl_report_merge(m, s1) == NULL);
	ASSERT(fl_report_merge(m, s2) == NULL);
	assert_same(whole, m);
	fl_report_free(m);

	/* Through the JSON files, as `faultline report merge` does. */
	char p1[] = "/tmp/fl-shard-XXXXXX.json", p2[] = "/tmp/fl-shard-XXXXXX.json";
	int f1 = mkstemps(p1, 5), f2 = mkstemps(p2, 5);
	ASSERT(f1 >= 0 && f2 >= 0);
	close(f1);
	close(f2);
	ASSERT(fl_report_write_json(s1, p1) == NULL);
	ASSERT(fl_report_write_json(s2, p2) == NULL);
	fl_report *l1, *l2;
	ASSERT(fl_report_load_json(p1, &l1) == NULL);
	ASSERT(fl_report_load_json(p2, &l2) == NULL);
	remove(p1);
	remove(p2);
	ASSERT(fl_report_merge(l1, l2) == NULL);
	assert_same(whole, l1);
	fl_report_free(l1);
	fl_report_free(l2);
	fl_report_free(whole);
	fl_report_free(s1);
	fl_report_free(s2);
}

FL_TEST(merge_refuses_summary_only)
{
	fl_report *a, *b;
	ASSERT(fl_report_new("a", NULL, &a) == NULL);
	ASSERT(fl_report_new("b", NULL, &b) == NULL);
	fl_report_stats st = {.count = 3};
	ASSERT(fl_report_add_hist_stats(b, "x", &st) == NULL);
	fl_err *e = fl_report_merge(a, b);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_report_free(a);
	fl_report_free(b);
}

FL_TEST(knee_where_p99_leaves_slo)
{
	/* One worker of exp(100us): capacity 10000/s; 2000/s and 6000/s keep
	 * p99 under 5 ms, 12000/s (overload) does not. Two workers keep all
	 * but the overload of 20000/s+ within. */
	fl_report *r = sweep(0, 1);
	fl_bench_cell *c;
	size_t n;
	ASSERT(fl_bench_sweep_cells(r, 5000000, &c, &n) == NULL);
	ASSERT_EQ(n, 8);
	int knees = 0;
	for (size_t i = 0; i < n; i++) {
		knees += c[i].knee;
		ASSERT_EQ(c[i].reps, 2);
		ASSERT(c[i].utilisation > 0 && c[i].utilisation <= 1.0001);
		/* Sorted: workers, then offered rate. */
		if (i % 4)
			ASSERT(c[i].offered > c[i - 1].offered);
	}
	ASSERT_EQ(knees, 2);
	ASSERT_EQ(c[0].workers, 1);
	ASSERT(c[3].p99 > 5000000);      /* 12000/s on one worker: overloaded */
	ASSERT(c[3].throughput < 11000); /* achieved stays near capacity */
	ASSERT(c[1].knee || c[2].knee);
	ASSERT(!c[3].knee);
	ASSERT(c[7].knee); /* two workers: 12000/s is 60% busy */
	/* Little's law holds on the virtual clock within a few percent. */
	for (size_t i = 0; i < n; i++)
		if (c[i].within_slo)
			ASSERT(c[i].little_dev > -0.05 && c[i].little_dev < 0.05);
	char dir[] = "/tmp/fl-sweep-XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	ASSERT(fl_bench_sweep_write_html(c, n, 5000000, "test sweep", dir) == NULL);
	char path[64];
	snprintf(path, sizeof(path), "%s/index.html", dir);
	FILE *f = fopen(path, "r");
	ASSERT(f != NULL);
	char buf[65536];
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	ASSERT(strstr(buf, "<svg") != NULL);
	ASSERT(strstr(buf, "(knee)") != NULL);
	remove(path);
	rmdir(dir);
	free(c);
	fl_report_free(r);
}

FL_TEST_MAIN(FL_CASE(two_shards_merge_to_unsharded), FL_CASE(merge_refuses_summary_only),
	     FL_CASE(knee_where_p99_leaves_slo))

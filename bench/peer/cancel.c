/*
 * cancel.c - W5 cancel and W5b cancel-err (Go: pipeline.go).
 *
 * Both run the 4-stage select pipeline (stages.c) with an infinite producer
 * and measure how fast cancellation drains it.
 *
 * W5, one repetition: parent = fl_ctx_with_cancel(background); the group
 * derives its ctx from parent; the pipeline starts; main does a plain sleep
 * of run_for (fl_sleep_until(NULL, ...)); then t0, fl_ctx_cancel(parent),
 * fl_group_wait. The sample is now - t0; the check is that wait's error
 * matches FL_ERR_CANCELED. Extra: items_per_rep, the median consumer count.
 *
 * W5b, repetition r (warm-up reps included): k = kmin + draw(5, r, 0) mod
 * kspan; relay 1 fails on v == k, stamping fail_ns just before it returns
 * flb_err_boom. The sample is (after wait) now - fail_ns. Checks: the error
 * matches flb_err_boom; the consumer saw count <= k items summing to
 * count(count-1)/2.
 *
 * Both discard `warm` repetitions per run; secs covers the measured ones
 * (wall time including teardown, as in Go).
 */
#include "peer_internal.h"

#include <stdio.h>
#include <stdlib.h>

struct cancel_cfg {
	int64_t reps, warm, cap;
	int64_t run_for_ns;  /* W5 */
	int64_t kmin, kspan; /* W5b */
};

/* One W5 repetition; returns the sample and the consumer's count. */
static int64_t cancel_rep(const struct cancel_cfg *c, int64_t *items)
{
	fl_ctx *parent, *ctx;
	fl_group *g;
	struct flb_pipe p;
	flb_must_ok(fl_ctx_with_cancel(fl_ctx_background(), &parent), "fl_ctx_with_cancel");
	flb_must_ok(fl_group_new(parent, NULL, &g, &ctx), "fl_group_new");
	flb_pipe_start(&p, g, -1, (size_t)c->cap, true, -1);
	fl_sleep_until(NULL, fl_deadline_in(c->run_for_ns));
	int64_t t0 = flb_clock_ns();
	fl_ctx_cancel(parent, NULL);
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - t0;
	flb_must(fl_err_is(err, FL_ERR_CANCELED), "cancel: wait returned %s",
		 err ? fl_err_msg(err) : "nil");
	fl_err_drop(err);
	fl_group_free(g);
	fl_ctx_free(parent);
	flb_pipe_free(&p);
	*items = p.s[3].count;
	return d;
}

static void cancel_run(void *arg, struct flb_metrics *m)
{
	const struct cancel_cfg *c = arg;
	int64_t *lat = calloc((size_t)c->reps, sizeof *lat);
	double *items = calloc((size_t)c->reps, sizeof *items);
	int64_t start = 0, count;
	flb_must(lat && items, "cancel: out of memory");
	for (int64_t r = 0; r < c->warm + c->reps; r++) {
		if (r == c->warm)
			start = flb_clock_ns();
		int64_t d = cancel_rep(c, &count);
		if (r >= c->warm) {
			lat[r - c->warm] = d;
			items[r - c->warm] = (double)count;
		}
	}
	int64_t wall = flb_clock_ns() - start;
	flb_metrics_timing(m, c->reps, wall);
	flb_metrics_percentiles(m, lat, (size_t)c->reps);
	flb_metrics_set(m, "items_per_rep", flb_median(items, (size_t)c->reps));
	free(lat);
	free(items);
}

int flb_cmd_cancel(int argc, char **argv)
{
	int64_t reps = 0, warm = 10, cap = 0, rfs[8];
	const char *run_for = "2ms,50ms";
	struct flb_flag flags[] = {
		{"reps", NULL, FLB_INT, &reps,
		 "cancellations per run (0: min(1000, 10s / run-for))"},
		{"warm-reps", NULL, FLB_INT, &warm, "discarded reps per run [10]"},
		{"run-for", "run_for", FLB_STR, &run_for,
		 "pipeline run time before cancel [2ms,50ms]"},
		{"cap", NULL, FLB_INT, &cap, "channel capacity [0]"},
	};
	int runs = flb_setup("cancel", flags, 4, argc, argv, 3);
	size_t nr = flb_dur_list(run_for, rfs, 8);
	for (size_t i = 0; i < nr; i++) {
		int64_t n = reps;
		if (n <= 0) {
			n = FL_SEC(10) / rfs[i];
			n = n > 1000 ? 1000 : n;
		}
		struct cancel_cfg c = {.reps = n, .warm = warm, .cap = cap, .run_for_ns = rfs[i]};
		struct flb_bench b = {.workload = "cancel",
				      .ops = n,
				      .runs = runs,
				      .run = cancel_run,
				      .arg = &c};
		flb_json_int(&b.params, "reps", n);
		flb_json_int(&b.params, "stages", 4);
		flb_json_int(&b.params, "cap", cap);
		flb_json_num(&b.params, "run_for_ms", flb_ms(rfs[i]));
		flb_json_str(&b.params, "percentiles_of", "cancel_to_wait_ns");
		flb_measure(&b);
	}
	return 0;
}

/* One W5b repetition r; returns the sample. */
static int64_t cancel_err_rep(const struct cancel_cfg *c, int64_t r)
{
	int64_t k = c->kmin +
		    (int64_t)(flb_draw(FLB_TAG_CANCEL_ERR, (uint64_t)r, 0) % (uint64_t)c->kspan);
	fl_ctx *ctx;
	fl_group *g;
	struct flb_pipe p;
	flb_must_ok(fl_group_new(fl_ctx_background(), NULL, &g, &ctx), "fl_group_new");
	flb_pipe_start(&p, g, -1, (size_t)c->cap, true, k);
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - p.s[1].fail_ns;
	flb_must(fl_err_is(err, flb_err_boom), "cancel-err: wait returned %s",
		 err ? fl_err_msg(err) : "nil");
	fl_err_drop(err);
	fl_group_free(g);
	flb_pipe_free(&p);
	int64_t count = p.s[3].count, sum = p.s[3].sum;
	flb_must(count <= k && sum == count * (count - 1) / 2,
		 "cancel-err: consumer saw %lld items (k=%lld)", (long long)count, (long long)k);
	return d;
}

static void cancel_err_run(void *arg, struct flb_metrics *m)
{
	const struct cancel_cfg *c = arg;
	int64_t *lat = calloc((size_t)c->reps, sizeof *lat);
	int64_t start = 0;
	flb_must(lat != NULL, "cancel-err: out of memory");
	for (int64_t r = 0; r < c->warm + c->reps; r++) {
		if (r == c->warm)
			start = flb_clock_ns();
		int64_t d = cancel_err_rep(c, r);
		if (r >= c->warm)
			lat[r - c->warm] = d;
	}
	int64_t wall = flb_clock_ns() - start;
	flb_metrics_timing(m, c->reps, wall);
	flb_metrics_percentiles(m, lat, (size_t)c->reps);
	free(lat);
}

int flb_cmd_cancel_err(int argc, char **argv)
{
	int64_t reps = -1, warm = 10, cap = 0, kmin = 1000, kspan = 4000;
	struct flb_flag flags[] = {
		{"reps", NULL, FLB_INT, &reps, "failures per run [1000]"},
		{"warm-reps", NULL, FLB_INT, &warm, "discarded reps per run [10]"},
		{"cap", NULL, FLB_INT, &cap, "channel capacity [0]"},
		{"kmin", NULL, FLB_INT, &kmin, "smallest failing item [1000]"},
		{"kspan", NULL, FLB_INT, &kspan, "failing item is kmin + draw % kspan [4000]"},
	};
	int runs = flb_setup("cancel-err", flags, 5, argc, argv, 3);
	flb_resolve(&reps, "cancel-err.reps", 1000);
	flb_must(reps > 0 && kspan > 0, "cancel-err: -reps and -kspan must be > 0");
	struct cancel_cfg c = {.reps = reps,
			       .warm = warm,
			       .cap = cap,
			       .kmin = kmin,
			       .kspan = kspan};
	struct flb_bench b = {.workload = "cancel-err",
			      .ops = reps,
			      .runs = runs,
			      .run = cancel_err_run,
			      .arg = &c};
	flb_json_int(&b.params, "reps", reps);
	flb_json_int(&b.params, "stages", 4);
	flb_json_int(&b.params, "cap", cap);
	flb_json_int(&b.params, "kmin", kmin);
	flb_json_int(&b.params, "kspan", kspan);
	flb_json_str(&b.params, "percentiles_of", "error_return_to_wait_ns");
	flb_measure(&b);
	return 0;
}

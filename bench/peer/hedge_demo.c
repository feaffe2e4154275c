/*
 * hedge_demo.c - fl_hedge against a long-tailed stage (not a Go-peer
 * workload: it is not in `all` or `list`, and it prints a table, not JSON).
 *
 * Request i's copy j sleeps a Pareto-distributed service time (scale 0.5 ms,
 * shape 1.5: p50 ~0.8 ms, p90 ~2.3 ms, p99 ~11 ms, p99.9 ~50 ms; capped at
 * 200 ms), drawn statelessly from (i, j), so every variant sees the same
 * service times for the same copy. Requests run one after another, each a
 * fl_hedge call, in three variants: unhedged (one attempt), a fixed hedge
 * delay, and the p90 of recent winners from an fl_hedge_estimator. The
 * latency sample spans the whole fl_hedge call, including cancelling and
 * joining the loser. Prints p50, p99, p99.9, max, the extra-request ratio
 * (hedges fired / requests) and how often the hedge won.
 */
#include "peer_internal.h"

#include <fl/hedge.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { DEMO_TAG = 0x4844 }; /* "HD": a stream of its own, not a Go tag */

struct demo_cfg {
	int64_t n;
	int64_t scale_ns;
	double shape;
	int64_t cap_ns;
};

struct demo_req {
	const struct demo_cfg *c;
	uint64_t i;
};

static int64_t service_ns(const struct demo_cfg *c, uint64_t i, uint64_t j)
{
	double u = 1.0 - flb_unit(flb_draw(DEMO_TAG, i, j)); /* (0, 1] */
	double d = (double)c->scale_ns / pow(u, 1.0 / c->shape);
	return d > (double)c->cap_ns ? c->cap_ns : (int64_t)d;
}

static fl_err *demo_copy(fl_ctx *ctx, int attempt, void *arg)
{
	const struct demo_req *r = arg;
	int64_t d = service_ns(r->c, r->i, (uint64_t)attempt - 1);
	if (fl_sleep_until(ctx, fl_deadline_in(d)) != FL_OK)
		return fl_ctx_cause(ctx); /* a loser, cancelled */
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

struct demo_out {
	int64_t p50, p99, p999, max;
	int64_t hedges, wins;
	double secs;
};

static struct demo_out demo_run(const struct demo_cfg *c, struct fl_hedge_opts o)
{
	int64_t *lat = calloc((size_t)c->n, sizeof *lat);
	flb_must(lat != NULL, "hedge-demo: out of memory");
	struct demo_out out = {0};
	int64_t t0 = flb_clock_ns();
	for (int64_t i = 0; i < c->n; i++) {
		struct demo_req r = {c, (uint64_t)i};
		fl_hedge_stats st;
		int64_t s = flb_clock_ns();
		flb_must_ok(fl_hedge(fl_ctx_background(), &o, demo_copy, &r, &st), "fl_hedge");
		lat[i] = flb_clock_ns() - s;
		out.hedges += st.fired - 1;
		out.wins += st.hedge_won;
	}
	out.secs = (double)(flb_clock_ns() - t0) / 1e9;
	qsort(lat, (size_t)c->n, sizeof *lat, cmp_i64);
	out.p50 = flb_nearest_rank(lat, (size_t)c->n, 0.50);
	out.p99 = flb_nearest_rank(lat, (size_t)c->n, 0.99);
	out.p999 = flb_nearest_rank(lat, (size_t)c->n, 0.999);
	out.max = lat[c->n - 1];
	free(lat);
	return out;
}

static void demo_print(const char *name, const struct demo_cfg *c, const struct demo_out *o)
{
	printf("%-22s %8.2f %8.2f %8.2f %8.2f %8.3f %8.3f %7.2f\n", name, flb_ms(o->p50),
	       flb_ms(o->p99), flb_ms(o->p999), flb_ms(o->max), (double)o->hedges / (double)c->n,
	       o->hedges ? (double)o->wins / (double)o->hedges : 0.0, o->secs);
}

int flb_cmd_hedge_demo(int argc, char **argv)
{
	int64_t n = 1500, after = FL_MS(2);
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "sequential requests per variant [1500]"},
		{"hedge-after", "hedge_after", FLB_DUR, &after, "fixed hedge delay [2ms]"},
	};
	flb_setup("hedge-demo", flags, 2, argc, argv, 1);
	flb_must(n > 0, "hedge-demo: -n must be > 0");
	struct demo_cfg c = {.n = n, .scale_ns = FL_US(500), .shape = 1.5, .cap_ns = FL_MS(200)};
	fl_hedge_estimator *est;
	flb_must_ok(fl_hedge_estimator_new(256, &est), "fl_hedge_estimator_new");
	printf("hedge-demo: %" PRId64 " sequential requests, Pareto service time (scale 0.5 ms, "
	       "shape 1.5, cap 200 ms), backend %s\n",
	       n, fl_sched_backend());
	printf("%-22s %8s %8s %8s %8s %8s %8s %7s\n", "variant", "p50 ms", "p99 ms", "p99.9 ms",
	       "max ms", "extra", "won", "secs");
	struct demo_out base = demo_run(&c, (struct fl_hedge_opts){.max_attempts = 1});
	demo_print("unhedged", &c, &base);
	char name[32];
	snprintf(name, sizeof name, "hedge after %.1f ms", flb_ms(after));
	struct demo_out fixed =
		demo_run(&c, (struct fl_hedge_opts){.max_attempts = 2, .delay_ns = after});
	demo_print(name, &c, &fixed);
	struct demo_out adapt = demo_run(&c, (struct fl_hedge_opts){.max_attempts = 2,
								    .delay_ns = after,
								    .quantile = 0.90,
								    .est = est});
	demo_print("hedge after p90 (est)", &c, &adapt);
	printf("p99.9: %.2f ms unhedged -> %.2f ms fixed (%.1fx), %.2f ms adaptive (%.1fx); "
	       "extra requests %.1f%% / %.1f%%\n",
	       flb_ms(base.p999), flb_ms(fixed.p999), (double)base.p999 / (double)fixed.p999,
	       flb_ms(adapt.p999), (double)base.p999 / (double)adapt.p999,
	       100.0 * (double)fixed.hedges / (double)n, 100.0 * (double)adapt.hedges / (double)n);
	fl_hedge_estimator_free(est);
	return 0;
}

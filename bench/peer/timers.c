/*
 * timers.c - W9 hedge and W10 retry (Go: timers.go).
 *
 * The Go peer's ctx-aware sleep (a timer plus select on ctx.Done) is
 * fl_sleep_until(ctx, fl_deadline_in(d)); its `select { won, timer }` is a
 * receive with a deadline, fl_chan_recv(won, &w, NULL, deadline), where
 * FL_TIMEDOUT is the timer firing first.
 *
 * W9, request i (sequential): parent = with_cancel(background), a group on
 * it and `won`, a channel of capacity 2. Copy `which` sleeps slow if
 * draw(9, i, which) mod 10000 < slow_per_10k, else fast, then sends which.
 * Unhedged: wait for won. Hedged: wait up to hedge_after, then issue the
 * hedge copy and wait again. The sample ends at the first success; cancel
 * and wait (the loser returns nil on cancellation) lie outside it.
 *
 * W10: a group with limit 16; task i, attempt a: count the attempt; succeed
 * when a >= fails; fail with flb_err_transient when a == attempts - 1;
 * otherwise sleep backoff(i, a) = base*2^a + trunc(unit(draw(10, i, a)) *
 * base*2^a / 2), recording the overshoot. Check: no error, attempts =
 * n * (fails + 1).
 */
#include "peer_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- W9 ------------------------------------------------------------------ */

struct hedge_cfg {
	int64_t n, fast, slow, hedge_after;
	uint64_t slow_per_10k;
};

/* One copy of a request: sleeps d (ctx-aware), then reports which. */
struct hedge_copy {
	fl_chan *won;
	int64_t d;
	uint64_t which;
};

static int64_t hedge_latency(const struct hedge_cfg *c, uint64_t i, uint64_t which)
{
	return flb_draw(FLB_TAG_HEDGE, i, which) % 10000 < c->slow_per_10k ? c->slow : c->fast;
}

static fl_err *copy_task(fl_ctx *ctx, void *arg)
{
	struct hedge_copy *cp = arg;
	if (fl_sleep_until(ctx, fl_deadline_in(cp->d)) == FL_OK)
		fl_chan_send(cp->won, &cp->which, NULL, FL_FOREVER); /* cap 2: never blocks */
	return NULL; /* losing to the other copy is not an error */
}

struct hedge_result {
	int64_t lat;
	bool hedged, hedge_won;
};

/* Waits for the first winner, issuing the hedge after hedge_after. */
static uint64_t hedge_wait(const struct hedge_cfg *c, fl_group *g, struct hedge_copy *cps,
			   bool *hedged)
{
	uint64_t winner = 0;
	int st = FL_TIMEDOUT;
	if (c->hedge_after > 0)
		st = fl_chan_recv(cps[0].won, &winner, NULL, fl_deadline_in(c->hedge_after));
	if (c->hedge_after > 0 && st == FL_TIMEDOUT) {
		*hedged = true;
		flb_go(g, copy_task, &cps[1]);
	}
	if (st != FL_OK)
		st = fl_chan_recv(cps[0].won, &winner, NULL, FL_FOREVER);
	flb_must(st == FL_OK, "hedge: receive on won failed (%d)", st);
	return winner;
}

static struct hedge_result hedged_call(const struct hedge_cfg *c, uint64_t i)
{
	struct hedge_result res = {0};
	fl_ctx *parent, *ctx;
	fl_group *g;
	fl_chan *won;
	int64_t start = flb_clock_ns();
	flb_must_ok(fl_ctx_with_cancel(fl_ctx_background(), &parent), "fl_ctx_with_cancel");
	flb_must_ok(fl_group_new(parent, NULL, &g, &ctx), "fl_group_new");
	flb_must_ok(fl_chan_new(sizeof(uint64_t), 2, NULL, &won), "fl_chan_new");
	struct hedge_copy cps[2] = {
		{won, hedge_latency(c, i, 0), 0},
		{won, hedge_latency(c, i, 1), 1},
	};
	flb_go(g, copy_task, &cps[0]);
	uint64_t winner = hedge_wait(c, g, cps, &res.hedged);
	res.lat = flb_clock_ns() - start;
	res.hedge_won = winner == 1;
	fl_ctx_cancel(parent, NULL);
	fl_err *err = fl_group_wait(g);
	flb_must(err == NULL, "hedge: unexpected error");
	fl_group_free(g);
	fl_ctx_free(parent);
	fl_chan_free(won);
	return res;
}

static void hedge_run(void *arg, struct flb_metrics *m)
{
	const struct hedge_cfg *c = arg;
	int64_t *lat = calloc((size_t)c->n, sizeof *lat);
	int64_t hedges = 0, wins = 0, spurious = 0, slow = 0;
	flb_must(lat != NULL, "hedge: out of memory");
	int64_t start = flb_clock_ns();
	for (int64_t i = 0; i < c->n; i++) {
		struct hedge_result r = hedged_call(c, (uint64_t)i);
		bool primary_slow = hedge_latency(c, (uint64_t)i, 0) == c->slow;
		lat[i] = r.lat;
		slow += primary_slow;
		hedges += r.hedged;
		spurious += r.hedged && !primary_slow; /* a fast primary missed the deadline */
		wins += r.hedge_won;
	}
	int64_t wall = flb_clock_ns() - start;
	flb_metrics_timing(m, c->n, wall);
	flb_metrics_percentiles(m, lat, (size_t)c->n);
	flb_metrics_set(m, "slow_primaries", (double)slow);
	flb_metrics_set(m, "hedges", (double)hedges);
	flb_metrics_set(m, "extra_ratio", (double)hedges / (double)c->n);
	flb_metrics_set(m, "hedge_wins", (double)wins);
	flb_metrics_set(m, "spurious_hedges", (double)spurious);
	free(lat);
}

int flb_cmd_hedge(int argc, char **argv)
{
	int64_t n = 2000, fast = FL_MS(1), slow = FL_MS(50), after = FL_MS(2);
	uint64_t per10k = 100;
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "sequential requests per run [2000]"},
		{"fast", NULL, FLB_DUR, &fast, "common latency [1ms]"},
		{"slow", NULL, FLB_DUR, &slow, "tail latency [50ms]"},
		{"slow-per-10k", "slow_per_10k", FLB_U64, &per10k,
		 "tail probability in 1/10000 [100]"},
		{"hedge-after", "hedge_after", FLB_DUR, &after,
		 "hedge delay of the hedged variant [2ms]"},
	};
	int runs = flb_setup("hedge", flags, 5, argc, argv, 3);
	flb_must(n > 0, "hedge: -n must be > 0");
	int64_t afters[2] = {0, after};
	for (int v = 0; v < 2; v++) {
		struct hedge_cfg c = {.n = n,
				      .fast = fast,
				      .slow = slow,
				      .hedge_after = afters[v],
				      .slow_per_10k = per10k};
		struct flb_bench b = {.workload = "hedge",
				      .ops = n,
				      .runs = runs,
				      .run = hedge_run,
				      .arg = &c};
		flb_json_int(&b.params, "n", n);
		flb_json_num(&b.params, "fast_ms", flb_ms(fast));
		flb_json_num(&b.params, "slow_ms", flb_ms(slow));
		flb_json_int(&b.params, "slow_per_10k", (int64_t)per10k);
		flb_json_num(&b.params, "hedge_after_ms", flb_ms(afters[v]));
		flb_json_str(&b.params, "percentiles_of", "request_latency_ns");
		flb_measure(&b);
	}
	return 0;
}

/* ---- W10 ------------------------------------------------------------------ */

static FL_ERR_SENTINEL(flb_err_transient, "transient failure");

struct retry_cfg {
	int64_t n, limit, attempts, fails, base;
	int64_t *over; /* per-sleep overshoot; slot i*fails+a by task i */
	atomic_llong tries;
};

struct retry_item {
	struct retry_cfg *c;
	int64_t i;
};

static fl_err *retry_task(fl_ctx *ctx, void *arg)
{
	const struct retry_item *it = arg;
	struct retry_cfg *c = it->c;
	for (int64_t a = 0;; a++) {
		atomic_fetch_add(&c->tries, 1);
		if (a >= c->fails)
			return NULL; /* this attempt succeeds */
		if (a == c->attempts - 1)
			return flb_err_transient; /* out of attempts */
		int64_t d = flb_backoff(c->base, it->i, a);
		int64_t t0 = flb_clock_ns();
		if (fl_sleep_until(ctx, fl_deadline_in(d)) != FL_OK)
			return flb_ctx_err(ctx);
		c->over[it->i * c->fails + a] = flb_clock_ns() - t0 - d;
	}
}

static void retry_run(void *arg, struct flb_metrics *m)
{
	struct retry_cfg *c = arg;
	size_t sleeps = (size_t)(c->n * c->fails);
	struct retry_item *items = calloc((size_t)c->n, sizeof *items);
	int64_t requested = 0;
	c->over = calloc(sleeps ? sleeps : 1, sizeof *c->over);
	flb_must(items && c->over, "retry: out of memory");
	for (int64_t i = 0; i < c->n; i++) {
		items[i] = (struct retry_item){c, i};
		for (int64_t a = 0; a < c->fails; a++)
			requested += flb_backoff(c->base, i, a);
	}
	atomic_store(&c->tries, 0);
	fl_group *g;
	fl_ctx *ctx;
	int64_t start = flb_clock_ns();
	struct fl_group_opts o = {.limit = (int)c->limit};
	flb_must_ok(fl_group_new(fl_ctx_background(), &o, &g, &ctx), "fl_group_new");
	for (int64_t i = 0; i < c->n; i++)
		flb_go(g, retry_task, &items[i]);
	fl_err *err = fl_group_wait(g);
	int64_t wall = flb_clock_ns() - start;
	fl_group_free(g);
	long long tries = atomic_load(&c->tries);
	flb_must(err == NULL && tries == c->n * (c->fails + 1), "retry: err=%s attempts=%lld",
		 err ? fl_err_msg(err) : "nil", tries);
	double ideal = (double)requested / 1e9 / (double)c->limit;
	flb_metrics_timing(m, c->n, wall);
	flb_metrics_percentiles(m, c->over, sleeps);
	flb_metrics_set(m, "wall_secs", (double)wall / 1e9); /* the headline (= secs) */
	flb_metrics_set(m, "attempts", (double)tries);
	flb_metrics_set(m, "sleeps", (double)sleeps);
	flb_metrics_set(m, "ideal_secs", ideal);
	flb_metrics_set(m, "wall_over_ideal_ratio", (double)wall / 1e9 / ideal);
	free(c->over);
	free(items);
}

int flb_cmd_retry(int argc, char **argv)
{
	int64_t n = 1000, limit = 16, attempts = 3, fails = 2, base = FL_MS(1);
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "items per run [1000]"},
		{"limit", NULL, FLB_INT, &limit, "group limit [16]"},
		{"attempts", NULL, FLB_INT, &attempts, "max attempts per item [3]"},
		{"fails", NULL, FLB_INT, &fails,
		 "transient failures before success (< attempts) [2]"},
		{"base", NULL, FLB_DUR, &base, "backoff base [1ms]"},
	};
	int runs = flb_setup("retry", flags, 5, argc, argv, 3);
	if (fails >= attempts || n <= 0 || limit <= 0) {
		fprintf(stderr, "fl-bench retry: need -fails < -attempts, -n > 0, -limit > 0\n");
		return 2;
	}
	struct retry_cfg c = {.n = n,
			      .limit = limit,
			      .attempts = attempts,
			      .fails = fails,
			      .base = base};
	struct flb_bench b = {.workload = "retry",
			      .ops = n,
			      .runs = runs,
			      .warmup = 1,
			      .run = retry_run,
			      .arg = &c};
	flb_json_int(&b.params, "n", n);
	flb_json_int(&b.params, "limit", limit);
	flb_json_int(&b.params, "attempts", attempts);
	flb_json_int(&b.params, "fails", fails);
	flb_json_num(&b.params, "base_ms", flb_ms(base));
	flb_json_str(&b.params, "percentiles_of", "sleep_overshoot_ns");
	flb_measure(&b);
	return 0;
}

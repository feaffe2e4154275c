/*
 * pipeline.c - W3 pipeline and W4 fanout (Go: pipeline.go).
 *
 * W3: one group, producer -> relay -> relay -> summing consumer over
 * channels of capacity cap, with range or select receives (stages.c).
 * Timed region: fl_group_new .. fl_group_wait, channel creation included;
 * channels and group are freed after the clock stops. Check: no error and
 * sum = N(N-1)/2.
 *
 * W4: an outer group of producer, stage and consumer. The stage opens a
 * nested group on the outer ctx (errgroup.WithContext(ctx)) with W workers
 * that share the `in` channel (range receive), compute xorshift(v, R) and do
 * a ctx-aware send on `out` with the nested ctx; it then waits the nested
 * group, closes `out` and returns the nested error. The consumer sums with
 * wrapping. Check: the sum equals the sequential checksum, computed before
 * the variants (and, for N = 10^6 and R = 100, equals 560f711b35260c30).
 */
#include "peer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- W3 ------------------------------------------------------------------ */

struct pipe_cfg {
	int64_t n, cap;
	bool select;
};

static void pipeline_run(void *arg, struct flb_metrics *m)
{
	const struct pipe_cfg *c = arg;
	struct flb_pipe p;
	fl_group *g;
	fl_ctx *ctx;
	int64_t start = flb_clock_ns();
	flb_must_ok(fl_group_new(fl_ctx_background(), NULL, &g, &ctx), "fl_group_new");
	flb_pipe_start(&p, g, c->n, (size_t)c->cap, c->select, -1);
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - start;
	fl_group_free(g);
	flb_pipe_free(&p);
	int64_t sum = p.s[3].sum;
	flb_must(err == NULL && sum == c->n * (c->n - 1) / 2, "pipeline: err=%s sum=%lld",
		 err ? fl_err_msg(err) : "nil", (long long)sum);
	flb_metrics_timing(m, c->n, d);
	flb_metrics_set(m, "items_per_sec", (double)c->n / ((double)d / 1e9));
}

int flb_cmd_pipeline(int argc, char **argv)
{
	int64_t n = -1, caps[8];
	const char *cap_list = "0,64", *recv_list = "range,select";
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "items per run"},
		{"caps", "cap", FLB_STR, &cap_list, "channel capacities, one variant each [0,64]"},
		{"recv", NULL, FLB_STR, &recv_list, "receive styles: range, select [range,select]"},
	};
	int runs = flb_setup("pipeline", flags, 3, argc, argv, 3);
	flb_resolve(&n, "pipeline.n", 1000000);
	size_t nc = flb_int_list(cap_list, caps, 8);
	for (size_t i = 0; i < nc; i++) {
		char buf[64], *save = NULL;
		snprintf(buf, sizeof buf, "%s", recv_list);
		for (char *r = strtok_r(buf, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
			bool sel = strcmp(r, "select") == 0;
			flb_must(sel || strcmp(r, "range") == 0, "pipeline: bad -recv %s", r);
			struct pipe_cfg c = {.n = n, .cap = caps[i], .select = sel};
			struct flb_bench b = {.workload = "pipeline",
					      .ops = n,
					      .runs = runs,
					      .warmup = 1,
					      .run = pipeline_run,
					      .arg = &c};
			flb_json_int(&b.params, "n", n);
			flb_json_int(&b.params, "stages", 4);
			flb_json_int(&b.params, "cap", caps[i]);
			flb_json_str(&b.params, "recv", r);
			flb_measure(&b);
		}
	}
	return 0;
}

/* ---- W4 ------------------------------------------------------------------ */

struct fan {
	int64_t n, workers, cap;
	int rounds;
	uint64_t want;     /* the sequential checksum */
	fl_chan *in, *out; /* per run */
	uint64_t sum;      /* consumer's result, per run */
};

/* `for v := range in { r := xorshift(v, R); ctx-aware send (wctx) of r }` */
static fl_err *fan_worker(fl_ctx *wctx, void *arg)
{
	struct fan *f = arg;
	for (;;) {
		int64_t v;
		int st = fl_chan_recv(f->in, &v, NULL, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return flb_status_err(wctx, st);
		uint64_t r = flb_xorshift((uint64_t)v, f->rounds);
		st = fl_chan_send(f->out, &r, wctx, FL_FOREVER);
		if (st != FL_OK)
			return flb_status_err(wctx, st);
	}
}

/* The middle stage: a nested group of workers, then close(out). */
static fl_err *fan_stage(fl_ctx *ctx, void *arg)
{
	struct fan *f = arg;
	fl_group *wg;
	fl_ctx *wctx;
	fl_err *err = fl_group_new(ctx, NULL, &wg, &wctx);
	if (!err) {
		for (int64_t w = 0; w < f->workers; w++)
			flb_go(wg, fan_worker, f);
		err = fl_group_wait(wg);
		fl_group_free(wg);
	}
	fl_err *cerr = fl_chan_close(f->out);
	flb_must(cerr == NULL, "fanout: out closed twice");
	return err;
}

static fl_err *fan_consume(fl_ctx *ctx, void *arg)
{
	struct fan *f = arg;
	uint64_t sum = 0, r;
	while (fl_chan_recv(f->out, &r, NULL, FL_FOREVER) == FL_OK)
		sum += r; /* wrapping; order-independent checksum */
	f->sum = sum;
	return NULL;
}

static void fanout_run(void *arg, struct flb_metrics *m)
{
	struct fan *f = arg;
	fl_group *g;
	fl_ctx *ctx;
	int64_t start = flb_clock_ns();
	flb_must_ok(fl_group_new(fl_ctx_background(), NULL, &g, &ctx), "fl_group_new");
	f->in = flb_chan((size_t)f->cap);
	f->out = flb_chan((size_t)f->cap);
	struct flb_stage prod = {.out = f->in, .n = f->n, .fail_at = -1};
	flb_go(g, flb_produce, &prod);
	flb_go(g, fan_stage, f);
	flb_go(g, fan_consume, f);
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - start;
	fl_group_free(g);
	fl_chan_free(f->in);
	fl_chan_free(f->out);
	flb_must(err == NULL && f->sum == f->want, "fanout: err=%s checksum=%016llx want %016llx",
		 err ? fl_err_msg(err) : "nil", (unsigned long long)f->sum,
		 (unsigned long long)f->want);
	flb_metrics_timing(m, f->n, d);
	flb_metrics_set(m, "items_per_sec", (double)f->n / ((double)d / 1e9));
}

int flb_cmd_fanout(int argc, char **argv)
{
	int64_t n = -1, workers = 4, rounds = 100, caps[8];
	const char *cap_list = "0,64";
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "items per run"},
		{"workers", NULL, FLB_INT, &workers, "workers in the middle stage [4]"},
		{"rounds", NULL, FLB_INT, &rounds, "xorshift rounds per item [100]"},
		{"caps", "cap", FLB_STR, &cap_list, "channel capacities, one variant each [0,64]"},
	};
	int runs = flb_setup("fanout", flags, 4, argc, argv, 3);
	flb_resolve(&n, "fanout.n", 1000000);
	int64_t t0 = flb_clock_ns();
	uint64_t want = flb_fanout_checksum(n, (int)rounds);
	double seq = (double)(flb_clock_ns() - t0) / (double)n;
	flb_must(n != 1000000 || rounds != 100 || want == 0x560f711b35260c30u,
		 "fanout: checksum %016llx, want 560f711b35260c30", (unsigned long long)want);
	size_t nc = flb_int_list(cap_list, caps, 8);
	for (size_t i = 0; i < nc; i++) {
		struct fan f = {.n = n,
				.workers = workers,
				.cap = caps[i],
				.rounds = (int)rounds,
				.want = want};
		struct flb_bench b = {.workload = "fanout",
				      .ops = n,
				      .runs = runs,
				      .warmup = 1,
				      .run = fanout_run,
				      .arg = &f};
		char hex[24];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)want);
		flb_json_int(&b.params, "n", n);
		flb_json_int(&b.params, "workers", workers);
		flb_json_int(&b.params, "rounds", rounds);
		flb_json_int(&b.params, "cap", caps[i]);
		flb_json_str(&b.info, "checksum", hex);
		flb_json_num(&b.info, "seq_work_ns_per_item", seq);
		flb_measure(&b);
	}
	return 0;
}

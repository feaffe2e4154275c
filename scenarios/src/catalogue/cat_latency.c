/*
 * cat_latency.c - cancel-to-wait latency (bonus 5): how long after a
 * parent context is cancelled does fl_group_wait return on a pipeline that
 * is busy moving items?
 *
 * Four stages (source -> relay -> relay -> sink) on unbuffered channels,
 * every send and receive an fl_select watching the group's context. Each
 * iteration waits until the sink has seen FLOW_ITEMS items (it says so on
 * a one-slot channel: a handshake, not a sleep), then stamps the time,
 * cancels the parent, waits for the group and records the interval in an
 * HDR histogram (the public prompt-cancellation check, fl/check.h: the
 * cancel marked issued, the wait marked joined). Every wait must return an
 * error matching FL_ERR_CANCELED; the p99 goal of 100 ms is a timing goal,
 * skipped under skip_timing.
 */
#include "scn_internal.h"

#include <fl/check.h>

#include <stdio.h>

#define FLOW_ITEMS 16
#define P99_GOAL FL_MS(100)

typedef struct lat_run {
	fl_chan *c[3];    /* source -> c0 -> relay -> c1 -> relay -> c2 -> sink */
	fl_chan *flowing; /* one slot: the sink saw FLOW_ITEMS items */
	long delivered;   /* sink */
	struct lat_stage {
		struct lat_run *l;
		int in, out; /* channel indexes; -1 for none */
	} st[4];
} lat_run;

/* One select case watching ctx: FL_OK, FL_CLOSED or a negative status. */
static int one(int op, fl_chan *ch, void *elem, fl_ctx *ctx)
{
	fl_select_case c = {.op = op, .ch = ch, .elem = elem};
	int i = fl_select(&c, 1, ctx, FL_FOREVER);
	return i < 0 ? i : c.status;
}

static fl_err *lat_stage_fn(fl_ctx *ctx, void *arg)
{
	struct lat_stage *s = arg;
	lat_run *l = s->l;
	for (long v = 1;; v++) {
		fl__scn_item it = {v, fl_now()};
		int st = s->in < 0 ? FL_OK : one(FL_RECV, l->c[s->in], &it, ctx);
		if (st == FL_OK && s->out >= 0)
			st = one(FL_SEND, l->c[s->out], &it, ctx);
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st,
					       s->in < 0    ? "source"
					       : s->out < 0 ? "sink"
							    : "relay");
		if (s->out < 0 && ++l->delivered == FLOW_ITEMS) {
			char tok = 1;
			(void)fl_chan_send(l->flowing, &tok, NULL, FL_TRY);
		}
	}
}

static fl_err *lat_chans(lat_run *l)
{
	static const char *const names[] = {"latency.c0", "latency.c1", "latency.c2"};
	fl_err *err = NULL;
	for (int i = 0; i < 3 && !err; i++)
		err = fl__scn_chan(names[i], 0, &l->c[i]);
	if (!err)
		err = fl_chan_new(1, 1, &(struct fl_chan_opts){.name = "latency.flowing"},
				  &l->flowing);
	return err;
}

static void lat_free_chans(lat_run *l)
{
	for (int i = 0; i < 3; i++)
		fl_chan_free(l->c[i]);
	fl_chan_free(l->flowing);
}

/* One cancel, its interval marked in c; *err wait's error. */
static fl_err *lat_once(lat_run *l, fl_check_cancel *c, fl_err **err)
{
	fl_ctx *parent, *ctx;
	fl_group *g;
	fl_err *env = fl_ctx_with_cancel(fl_ctx_background(), &parent);
	if (env)
		return env;
	if ((env = fl_group_new(parent, &(struct fl_group_opts){.name = "cancel_latency"}, &g,
				&ctx))) {
		fl_ctx_free(parent);
		return env;
	}
	if ((env = lat_chans(l)))
		fl_group_cancel(g, NULL);
	static const char *const names[] = {"source", "relay1", "relay2", "sink"};
	for (int i = 0; !env && i < 4; i++) {
		l->st[i] = (struct lat_stage){l, i - 1, i < 3 ? i : -1};
		if (!fl__scn_go(g, ctx, names[i], lat_stage_fn, &l->st[i], &env))
			break;
	}
	if (!env)
		(void)fl_chan_recv(l->flowing, NULL, ctx, FL_FOREVER);
	int64_t mark = fl_check_cancel_issued(c);
	fl_ctx_cancel(parent, NULL);
	*err = fl_group_wait(g);
	fl_check_cancel_joined(c, mark);
	fl_group_free(g);
	fl_ctx_free(parent);
	lat_free_chans(l);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

#define P99_CHECK "p99 cancel to wait < 100 ms"

static fl_err *latency_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_check_cancel *c;
	struct fl_check_cancel_opts co = {.check = P99_CHECK,
					  .hist = "cancel_wait",
					  .p99_ns = P99_GOAL,
					  .timing_only = true};
	fl_err *env = fl_check_cancel_new(r, &co, &c);
	if (env)
		return env;
	int canceled = 0, flowed = 0;
	for (int i = 0; i < p->iterations && !env; i++) {
		lat_run l = {0};
		fl_err *err = NULL;
		if ((env = lat_once(&l, c, &err)))
			break;
		fl_scenario_note_err(r, p, "cancel", err);
		canceled += fl_err_is(err, FL_ERR_CANCELED);
		flowed += l.delivered >= FLOW_ITEMS;
		fl_scenario_count(r, "items", l.delivered);
		fl_err_drop(err);
	}
	if (env) {
		fl_check_cancel_free(c);
		return env;
	}
	int n = p->iterations;
	fl_scenario_check(r, "every wait returns canceled", canceled == n, canceled, n, NULL,
			  "%d of %d waits matched FL_ERR_CANCELED; last: %s", canceled, n,
			  r->err_text[0] ? r->err_text : "<nil>");
	fl_scenario_check(r, "pipeline flows before each cancel", flowed == n, flowed, n, NULL,
			  "%d of %d runs moved %d items before the cancel", flowed, n, FLOW_ITEMS);
	fl_scenario_set(r, "cancels", n);
	fl_check_cancel_judge(c, p);
	fl_check_cancel_free(c);
	return NULL;
}

static const char *const latency_checks[] = {"every wait returns canceled",
					     "pipeline flows before each cancel", P99_CHECK, NULL};
const fl_scenario fl__scn_cancel_latency = {
	.name = "cancel_latency",
	.description = "bonus 5: cancel a busy 4-stage pipeline; wait returns within 100 ms (p99)",
	.checks = latency_checks,
	.default_iterations = 200,
	.run = latency_scn,
};

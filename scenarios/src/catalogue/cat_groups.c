/*
 * cat_groups.c - the exercises about groups themselves: a fan-out stage
 * built on a nested group (task 7), a deadline that 10 workers beat and 1
 * worker does not (task 10), and SetLimit(2) over 10 tasks.
 *
 * Fan-out: producer -> fan-out stage -> sink. The stage runs a nested
 * group of 4 workers (limit 4) under its own context and closes its output
 * only after the nested wait, as Go's `defer close(out)` after
 * inner.Wait(). Saturation is proved, not hoped for: each worker announces
 * itself on `ready` and then waits for `gate`, which the stage closes once
 * all four have announced, so all four run at once and the nested group's
 * high-water mark is exactly 4. The sink checks the sum of squares and
 * that every item arrived exactly once.
 *
 * Deadline: 40 items of 10 ms each (fl_sleep_until on the group's context,
 * so the work is cancellable) under a 120 ms deadline: 10 workers need
 * about 40 ms (a third of the deadline) and 1 worker about 400 ms (over
 * three times the deadline). Every duration is scaled by time_scale.
 *
 * Limit: 10 tasks at limit 2 meet in pairs on an unbuffered channel (even
 * tasks send, odd ones receive). A sender cannot return before its partner
 * has started, so two tasks provably run at once, and the limit means no
 * third can; an atomic counter of running tasks (and its maximum) checks
 * both from the inside, fl_group_hwm from the outside. No sleeps.
 */
#include "scn_internal.h"

#include <fl/check.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

#define STAGE_RUNNING 1

/* ---- fan-out with a nested group ------------------------------------------------ */

#define FAN_ITEMS 1000
#define FAN_WORKERS 4

typedef struct fan_run fan_run;
typedef struct fan_worker {
	fan_run *f;
	long done; /* this worker: items squared */
} fan_worker;

struct fan_run {
	fl_chan *in, *out;     /* producer -> stage -> sink, unbuffered */
	fl_chan *ready, *gate; /* the saturation handshake (1-byte tokens) */
	fl_hdr *e2e;           /* sink (and its series) */
	fl_scenario_result *r;
	fan_worker workers[FAN_WORKERS];
	int inner_hwm;                     /* stage: fl_group_hwm of the nested group */
	long delivered;                    /* sink */
	long long sum;                     /* sink: sum of squares */
	long distinct;                     /* sink: distinct roots seen */
	unsigned char seen[FAN_ITEMS + 1]; /* sink */
};

static fl_err *fan_produce(fl_ctx *ctx, void *arg)
{
	fan_run *f = arg;
	fl_err *err = NULL;
	for (long v = 1; v <= FAN_ITEMS && !err; v++) {
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(f->in, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "producer");
	}
	return fl_err_join2(err, fl_chan_close(f->in));
}

static fl_err *fan_work(fl_ctx *ctx, void *arg)
{
	fan_worker *w = arg;
	fan_run *f = w->f;
	char tok = 1;
	int st = fl_chan_send(f->ready, &tok, ctx, FL_FOREVER);
	if (st == FL_OK && (st = fl_chan_recv(f->gate, NULL, ctx, FL_FOREVER)) == FL_CLOSED)
		st = FL_OK; /* the gate opened: all four run */
	while (st == FL_OK) {
		fl__scn_item it;
		if ((st = fl_chan_recv(f->in, &it, ctx, FL_FOREVER)) != FL_OK)
			break;
		it.v *= it.v;
		if ((st = fl_chan_send(f->out, &it, ctx, FL_FOREVER)) == FL_OK)
			w->done++;
	}
	return st == FL_CLOSED ? NULL : fl__scn_stopped(ctx, st, "worker");
}

/* Waits until n workers announced themselves, then opens the gate. */
static fl_err *fan_open_gate(fan_run *f, int n, fl_ctx *ictx)
{
	for (int k = 0; k < n; k++) {
		int st = fl_chan_recv(f->ready, NULL, ictx, FL_FOREVER);
		if (st != FL_OK)
			break; /* the nested group failed: its error tells why */
	}
	return fl_chan_close(f->gate);
}

static fl_err *fan_stage(fl_ctx *ctx, void *arg)
{
	fan_run *f = arg;
	fl_group *inner;
	fl_ctx *ictx;
	struct fl_group_opts o = {.name = "fanout.inner", .limit = FAN_WORKERS};
	fl_err *err = fl_group_new(ctx, &o, &inner, &ictx);
	if (err)
		return fl_err_join2(err, fl_chan_close(f->out));
	int started = 0;
	for (int w = 0; w < FAN_WORKERS; w++) {
		if (!fl__scn_go(inner, ictx, "worker", fan_work, &f->workers[w], &err))
			break;
		started++;
	}
	fl_err *gerr = fan_open_gate(f, started, ictx);
	fl_err *werr = fl_group_wait(inner);
	f->inner_hwm = fl_group_hwm(inner);
	fl_group_free(inner);
	/* defer close(out): after the nested wait, so no worker still sends. */
	return fl_err_join((fl_err *[]){fl_err_wrap(err, "fan-out"), werr, gerr,
					fl_chan_close(f->out)},
			   4);
}

static long isqrt(long v)
{
	long r = (long)sqrt((double)v);
	while (r * r > v)
		r--;
	while ((r + 1) * (r + 1) <= v)
		r++;
	return r;
}

static fl_err *fan_sink(fl_ctx *ctx, void *arg)
{
	fan_run *f = arg;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(f->out, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			return st == FL_CLOSED ? NULL : fl__scn_stopped(ctx, st, "sink");
		f->delivered++;
		f->sum += it.v;
		long root = isqrt(it.v);
		if (root >= 1 && root <= FAN_ITEMS && root * root == it.v && !f->seen[root]++)
			f->distinct++;
		(void)fl_scenario_record(f->r, f->e2e, fl_now() - it.born_ns);
	}
}

static fl_err *fan_chans(fan_run *f)
{
	fl_err *err;
	if ((err = fl__scn_chan("fanout.in", 0, &f->in)) ||
	    (err = fl__scn_chan("fanout.out", 0, &f->out)) ||
	    (err = fl_chan_new(1, FAN_WORKERS, &(struct fl_chan_opts){.name = "fanout.ready"},
			       &f->ready)) ||
	    (err = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "fanout.gate"}, &f->gate)))
		return err;
	return NULL;
}

static void fan_free_chans(fan_run *f)
{
	fl_chan_free(f->in);
	fl_chan_free(f->out);
	fl_chan_free(f->ready);
	fl_chan_free(f->gate);
}

static fl_err *fan_once(fan_run *f, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "fanout"},
				   &g, &ctx);
	if (env)
		return env;
	for (int w = 0; w < FAN_WORKERS; w++)
		f->workers[w].f = f;
	if ((env = fan_chans(f)))
		fl_group_cancel(g, NULL);
	if (!env && fl__scn_go(g, ctx, "producer", fan_produce, f, &env) &&
	    fl__scn_go(g, ctx, "fanout", fan_stage, f, &env))
		fl__scn_go(g, ctx, "sink", fan_sink, f, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	fan_free_chans(f);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *fanout_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	const long long want = (long long)FAN_ITEMS * (FAN_ITEMS + 1) * (2 * FAN_ITEMS + 1) / 6;
	for (int i = 0; i < p->iterations; i++) {
		fan_run *f = fl__calloc(1, sizeof(*f));
		if (!f)
			return fl_err_wrap(FL_ERR_NOMEM, "fanout run");
		f->r = r;
		fl_err *err = NULL, *env = fl_scenario_hist(r, "e2e", &f->e2e);
		if (env || (env = fan_once(f, &err))) {
			free(f);
			return env;
		}
		fl_scenario_note_err(r, p, "fanout", err);
		fl_scenario_check(r, "sum of squares is right", !err && f->sum == want,
				  (double)f->sum, (double)want, NULL,
				  "sum of v*v for v in 1..%d: %lld%s%s", FAN_ITEMS, f->sum,
				  err ? "; error: " : "", err ? r->err_text : "");
		fl_scenario_check(r, "every item once",
				  f->delivered == FAN_ITEMS && f->distinct == FAN_ITEMS,
				  (double)f->distinct, FAN_ITEMS, NULL,
				  "%ld delivered, %ld distinct", f->delivered, f->distinct);
		fl_scenario_check(r, "nested group hwm is 4", f->inner_hwm == FAN_WORKERS,
				  f->inner_hwm, FAN_WORKERS, NULL,
				  "fl_group_hwm of the nested group: %d", f->inner_hwm);
		long min_done = FAN_ITEMS;
		for (int w = 0; w < FAN_WORKERS; w++)
			if (f->workers[w].done < min_done)
				min_done = f->workers[w].done;
		fl_scenario_note_group(r, "fanout.inner", FAN_WORKERS, f->inner_hwm);
		fl_scenario_count(r, "items", f->delivered);
		fl_scenario_set(r, "delivered", f->delivered);
		fl_scenario_set(r, "sum", f->sum);
		fl_scenario_max(r, "inner_hwm", f->inner_hwm);
		fl_scenario_set(r, "least_busy_worker", min_done);
		fl_scenario_count(r, "failed", err != NULL);
		fl_err_drop(err);
		free(f);
	}
	return NULL;
}

static const char *const fanout_checks[] = {"sum of squares is right", "every item once",
					    "nested group hwm is 4", NULL};
const fl_scenario fl__scn_fanout_nested = {
	.name = "fanout_nested",
	.description = "task 7: a fan-out stage of 4 workers in a nested group squares 1..1000",
	.checks = fanout_checks,
	.default_iterations = 1,
	.run = fanout_scn,
};

/* ---- deadline: 10 workers vs 1 ----------------------------------------------------- */

#define DL_ITEMS 40
#define DL_WORK_MS 10
#define DL_DEADLINE_MS 120
#define DL_MAX_WORKERS 10
/* The margins the exercise promises, both at least 3x. */
_Static_assert(DL_DEADLINE_MS >= 3 * (DL_ITEMS / DL_MAX_WORKERS) * DL_WORK_MS,
	       "deadline >= 3x the 10-worker time");
_Static_assert(DL_ITEMS *DL_WORK_MS >= 3 * DL_DEADLINE_MS, "1-worker time >= 3x the deadline");

typedef struct dl_run {
	fl_chan *in;
	int64_t work_ns;
	long done[DL_MAX_WORKERS]; /* worker i: items finished */
	struct dl_worker {
		struct dl_run *d;
		int id;
	} w[DL_MAX_WORKERS];
} dl_run;

static fl_err *dl_produce(fl_ctx *ctx, void *arg)
{
	dl_run *d = arg;
	fl_err *err = NULL;
	for (long v = 1; v <= DL_ITEMS && !err; v++) {
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(d->in, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "producer");
	}
	return fl_err_join2(err, fl_chan_close(d->in));
}

static fl_err *dl_work(fl_ctx *ctx, void *arg)
{
	struct dl_worker *w = arg;
	dl_run *d = w->d;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(d->in, &it, ctx, FL_FOREVER);
		if (st == FL_OK)
			st = fl_sleep_until(ctx, fl_deadline_in(d->work_ns)); /* the work */
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl_err_wrap(fl__scn_stopped(ctx, st, "work"), "worker %d", w->id);
		d->done[w->id]++;
	}
}

/* One run with n workers: *err from wait, *elapsed, *finished items. */
static fl_err *dl_once(const fl_scenario_params *p, int n, fl_err **err, int64_t *elapsed,
		       long *finished)
{
	dl_run d = {.work_ns = fl__scn_scaled(p, FL_MS(DL_WORK_MS))};
	fl_ctx *dctx, *ctx;
	fl_group *g;
	int64_t start = fl_now();
	fl_err *env = fl_ctx_with_timeout(fl_ctx_background(),
					  fl__scn_scaled(p, FL_MS(DL_DEADLINE_MS)), NULL, &dctx);
	if (env)
		return env;
	if ((env = fl_group_new(dctx, &(struct fl_group_opts){.name = "deadline"}, &g, &ctx))) {
		fl_ctx_free(dctx);
		return env;
	}
	if ((env = fl__scn_chan("deadline.in", 0, &d.in)))
		fl_group_cancel(g, NULL);
	bool ok = !env && fl__scn_go(g, ctx, "producer", dl_produce, &d, &env);
	for (int i = 0; ok && i < n; i++) {
		d.w[i] = (struct dl_worker){&d, i};
		ok = fl__scn_go(g, ctx, "worker", dl_work, &d.w[i], &env);
	}
	*err = fl_group_wait(g);
	*elapsed = fl_now() - start;
	fl_group_free(g);
	fl_ctx_free(dctx);
	fl_chan_free(d.in);
	*finished = 0;
	for (int i = 0; i < n; i++)
		*finished += d.done[i];
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *deadline_pair(const fl_scenario_params *p, fl_scenario_result *r)
{
	const int64_t deadline = fl__scn_scaled(p, FL_MS(DL_DEADLINE_MS));
	fl_hdr *h10, *h1;
	fl_err *err, *env;
	int64_t el = 0;
	long fin = 0;
	if ((env = fl_scenario_hist(r, "elapsed.workers10", &h10)) ||
	    (env = fl_scenario_hist(r, "elapsed.workers1", &h1)) ||
	    (env = dl_once(p, DL_MAX_WORKERS, &err, &el, &fin)))
		return env;
	fl_hdr_record(h10, el);
	fl_scenario_note_err(r, p, "workers=10", err);
	/* 40 x 10 ms over 10 workers fit the deadline three times over, but
	 * only as a timing goal: a busy machine may not give them the time. */
	if (fl_scenario_judge_timing(p)) {
		fl_scenario_check(r, "10 workers finish in time", !err && fin == DL_ITEMS,
				  (double)el, (double)deadline, "ns", "%ld of %d items, %s", fin,
				  DL_ITEMS, err ? r->err_text : "no error");
	} else {
		char why[FL_SCENARIO_MSG_MAX];
		snprintf(why, sizeof(why), "timing goal (skip_timing): %ld of %d items in %.1f ms",
			 fin, DL_ITEMS, (double)el / 1e6);
		fl_scenario_skip(r, "10 workers finish in time", why);
	}
	fl_scenario_count(r, "items", fin);
	fl_scenario_set(r, "finished.workers10", fin);
	fl_err_drop(err);

	if ((env = dl_once(p, 1, &err, &el, &fin)))
		return env;
	fl_hdr_record(h1, el);
	fl_scenario_note_err(r, p, "workers=1", err);
	fl_check_err_is(r, "1 worker hits the deadline", err, FL_ERR_DEADLINE);
	/* Wait cannot return before the deadline: the last item's sleep only
	 * ends by cancellation. The work is cut short, never completed. */
	fl_scenario_check(r, "1 worker stops at the deadline", el >= deadline && fin < DL_ITEMS,
			  (double)el, (double)deadline, "ns", "%ld of %d items done when stopped",
			  fin, DL_ITEMS);
	fl_scenario_count(r, "items", fin);
	fl_scenario_set(r, "finished.workers1", fin);
	fl_scenario_count(r, "failed", err != NULL);
	fl_err_drop(err);
	return NULL;
}

static fl_err *deadline_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		fl_err *env = deadline_pair(p, r);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const deadline_checks[] = {"10 workers finish in time",
					      "1 worker hits the deadline",
					      "1 worker stops at the deadline", NULL};
const fl_scenario fl__scn_deadline = {
	.name = "deadline",
	.description =
		"task 10: 40 items x 10 ms under a 120 ms deadline: 10 workers pass, 1 does not",
	.checks = deadline_checks,
	.default_iterations = 1,
	.run = deadline_scn,
};

/* ---- SetLimit(2) over 10 tasks ---------------------------------------------------- */

#define LIM_TASKS 10
#define LIM_LIMIT 2

typedef struct lim_run {
	fl_chan *meet;      /* unbuffered: pairs of tasks meet here */
	atomic_int running; /* tasks inside their body now */
	atomic_int max;     /* the most seen at once, from the inside */
	atomic_int ran;     /* bodies completed */
	struct lim_task {
		struct lim_run *l;
		int id;
	} t[LIM_TASKS];
} lim_run;

static fl_err *lim_body(fl_ctx *ctx, void *arg)
{
	struct lim_task *t = arg;
	lim_run *l = t->l;
	int cur = atomic_fetch_add(&l->running, 1) + 1;
	int m = atomic_load(&l->max);
	while (cur > m && !atomic_compare_exchange_weak(&l->max, &m, cur))
		;
	char tok = 1;
	int st = t->id % 2 == 0 ? fl_chan_send(l->meet, &tok, ctx, FL_FOREVER)
				: fl_chan_recv(l->meet, NULL, ctx, FL_FOREVER);
	atomic_fetch_sub(&l->running, 1);
	atomic_fetch_add(&l->ran, 1);
	return st == FL_OK ? NULL : fl__scn_stopped(ctx, st, "limited task");
}

static fl_err *limit_once(const fl_scenario_params *p, fl_scenario_result *r)
{
	lim_run l = {0};
	fl_group *g;
	fl_ctx *ctx;
	struct fl_group_opts o = {.name = "set_limit", .limit = LIM_LIMIT};
	fl_err *env = fl_group_new(fl_ctx_background(), &o, &g, &ctx);
	if (env)
		return env;
	if ((env = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "set_limit.meet"}, &l.meet)))
		fl_group_cancel(g, NULL);
	for (int i = 0; !env && i < LIM_TASKS; i++) {
		l.t[i] = (struct lim_task){&l, i};
		if (!fl__scn_go(g, ctx, "limited", lim_body, &l.t[i], &env))
			break;
	}
	fl_err *err = fl_group_wait(g);
	int hwm = fl_group_hwm(g);
	fl_group_free(g);
	fl_chan_free(l.meet);
	if (env) {
		fl_err_drop(err);
		return env;
	}
	int max = atomic_load(&l.max), ran = atomic_load(&l.ran);
	fl_scenario_note_err(r, p, "set_limit", err);
	fl_scenario_check(r, "never more than 2 running", max <= LIM_LIMIT, max, LIM_LIMIT, NULL,
			  "at most %d bodies at once (counted inside the tasks)", max);
	fl_scenario_check(r, "reaches 2 running", max == LIM_LIMIT, max, LIM_LIMIT, NULL,
			  "pairs met on an unbuffered channel: %d at once", max);
	fl_scenario_check(r, "group hwm is 2", hwm == LIM_LIMIT, hwm, LIM_LIMIT, NULL,
			  "fl_group_hwm %d", hwm);
	fl_scenario_check(r, "all 10 tasks run", ran == LIM_TASKS && !err, ran, LIM_TASKS, NULL,
			  "%d bodies completed, %s", ran, err ? r->err_text : "no error");
	fl_scenario_note_group(r, "set_limit", LIM_LIMIT, hwm);
	fl_scenario_count(r, "items", ran);
	fl_scenario_max(r, "max_running", max);
	fl_scenario_max(r, "hwm", hwm);
	fl_err_drop(err);
	return NULL;
}

static fl_err *limit_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		fl_err *env = limit_once(p, r);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const limit_checks[] = {"never more than 2 running", "reaches 2 running",
					   "group hwm is 2", "all 10 tasks run", NULL};
const fl_scenario fl__scn_set_limit = {
	.name = "set_limit",
	.description = "SetLimit(2) over 10 tasks: never more than 2 at once, and 2 reached",
	.checks = limit_checks,
	.default_iterations = 1,
	.run = limit_scn,
};

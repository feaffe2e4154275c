/*
 * hedge.c - hedged and tied requests on a group.
 *
 * Each call owns a group (so nothing it starts outlives it) and a results
 * channel with one buffered slot per attempt (so an attempt never blocks
 * reporting). Attempt tasks always return NULL to the group: a failed
 * attempt must not cancel its siblings; its error travels on the channel.
 * Each attempt runs under its own child context, registered in the call's
 * table under `mu`, so the tied variant can cancel every attempt but the
 * one that started.
 *
 * The caller's loop receives results with the hedge deadline as timeout:
 * a timeout fires the next attempt, a failure fires the next at once, the
 * first success cancels the group (the losers) and stops firing. The loop
 * ends when every fired attempt has reported; then the group is waited, so
 * all tasks have returned before fl_hedge does.
 *
 * The estimator learns from attempt 1 of every call, whatever happens to
 * it. Attempt 1 is fired unconditionally, so its latencies are a fair
 * sample of the service; when a hedge wins, attempt 1 is cancelled and
 * reports the time until it stopped, a lower bound on its true latency
 * that is already above the hedge delay (latencies count from the fire,
 * as the caller waits, so a cut-short attempt 1 has waited at least the
 * delay), and the quantile the delay comes from is not pulled down. Recording winners instead would keep only the
 * fast side of every hedged call: the estimate drifts low and hedges
 * multiply. A call cut short by the caller's context records nothing.
 *
 * Lock order: `mu` may be held while cancelling an attempt's context (the
 * context code never calls back into us). The estimator has its own mutex,
 * a leaf.
 */
#include <fl/chan.h>
#include <fl/group.h>
#include <fl/hedge.h>
#include <fl/task.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

/* ---- estimator ---------------------------------------------------------- */

struct fl_hedge_estimator {
	fl__mutex mu;
	int cap;          /* immutable */
	int n;            /* (mu) samples held, <= cap */
	int next;         /* (mu) ring position */
	int64_t *ring;    /* (mu) */
	int64_t *scratch; /* (mu) sorted copy for quantiles */
	double cached_q;  /* (mu) the last quantile computed, 0: none */
	int64_t cached_v; /* (mu) its value */
	int fresh;        /* (mu) samples recorded since it was computed */
};

/* A quantile is recomputed (a sort of the window) when asked for another
 * q, or once this many samples arrived since: every hedged call asks, and
 * sorting 256 samples per call would cost more than a leaf's work. */
#define REFRESH_EVERY 16

fl_err *fl_hedge_estimator_new(int samples, fl_hedge_estimator **out)
{
	if (!out || samples < 0)
		return FL_ERR_INVAL;
	int cap = samples ? samples : 256;
	fl_hedge_estimator *e = fl__calloc(1, sizeof(*e));
	if (!e)
		return FL_ERR_NOMEM;
	e->ring = fl__calloc((size_t)cap, sizeof(int64_t));
	if (!e->ring)
		goto fail_ring;
	e->scratch = fl__calloc((size_t)cap, sizeof(int64_t));
	if (!e->scratch)
		goto fail_scratch;
	fl__mutex_init(&e->mu);
	e->cap = cap;
	*out = e;
	return NULL;
fail_scratch:
	free(e->ring);
fail_ring:
	free(e);
	return FL_ERR_NOMEM;
}

void fl_hedge_estimator_free(fl_hedge_estimator *e)
{
	if (!e)
		return;
	fl__mutex_destroy(&e->mu);
	free(e->scratch);
	free(e->ring);
	free(e);
}

void fl_hedge_estimator_record(fl_hedge_estimator *e, int64_t ns)
{
	fl__mutex_lock(&e->mu);
	e->ring[e->next] = ns;
	e->next = (e->next + 1) % e->cap;
	if (e->n < e->cap)
		e->n++;
	e->fresh++;
	fl__mutex_unlock(&e->mu);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t fl_hedge_estimator_quantile(fl_hedge_estimator *e, double q)
{
	if (!(q > 0 && q <= 1))
		return -1;
	fl__mutex_lock(&e->mu);
	int warm = e->cap < 16 ? e->cap : 16;
	int64_t v = -1;
	if (e->n >= warm && e->cached_q == q && e->fresh < REFRESH_EVERY && e->fresh < e->n) {
		v = e->cached_v;
	} else if (e->n >= warm) {
		memcpy(e->scratch, e->ring, (size_t)e->n * sizeof(int64_t));
		qsort(e->scratch, (size_t)e->n, sizeof(int64_t), cmp_i64);
		int idx = (int)ceil(q * (double)e->n) - 1;
		v = e->scratch[idx < 0 ? 0 : idx];
		e->cached_q = q;
		e->cached_v = v;
		e->fresh = 0;
	}
	fl__mutex_unlock(&e->mu);
	return v;
}

/* ---- one call ------------------------------------------------------------- */

struct hedge;

struct fl_hedge_tie {
	struct hedge *h;  /* immutable */
	int n;            /* immutable: 1-based attempt */
	int64_t fired_at; /* set before the attempt's task starts */
	fl_ctx *ctx;      /* (h->mu) the attempt's context while it runs */
};

typedef struct result {
	int n;
	fl_err *err;
	int64_t latency_ns;
} result;

typedef struct hedge {
	fl__mutex mu;
	fl_hedge_fn fn;       /* immutable: plain hedging, or */
	fl_hedge_tied_fn tfn; /* immutable: tied */
	void *arg;            /* immutable */
	fl_chan *results;     /* immutable */
	int started;          /* (mu) tied: the attempt that started, 0 none */
	fl_hedge_tie *att;    /* one per attempt; ctx under mu */
} hedge;

int fl_hedge_tie_attempt(const fl_hedge_tie *tie) { return tie->n; }

bool fl_hedge_tie_start(fl_hedge_tie *tie)
{
	hedge *h = tie->h;
	fl__mutex_lock(&h->mu);
	if (!h->started) {
		h->started = tie->n;
		for (fl_hedge_tie *t = h->att; t->h; t++)
			if (t != tie && t->ctx)
				fl_ctx_cancel(t->ctx, NULL);
	}
	bool mine = h->started == tie->n;
	fl__mutex_unlock(&h->mu);
	return mine;
}

static fl_err *attempt_task(fl_ctx *gctx, void *arg)
{
	fl_hedge_tie *tie = arg;
	hedge *h = tie->h;
	result r = {.n = tie->n};
	fl_ctx *actx;
	r.err = fl_ctx_with_cancel(gctx, &actx);
	if (!r.err) {
		fl__mutex_lock(&h->mu);
		tie->ctx = actx;
		if (h->started && h->started != tie->n)
			fl_ctx_cancel(actx, NULL);
		fl__mutex_unlock(&h->mu);
		r.err = h->tfn ? h->tfn(actx, tie, h->arg) : h->fn(actx, tie->n, h->arg);
		r.latency_ns = fl_now() - tie->fired_at; /* as the caller saw it */
		fl__mutex_lock(&h->mu);
		tie->ctx = NULL;
		fl__mutex_unlock(&h->mu);
		fl_ctx_free(actx);
	}
	/* One buffered slot per attempt: never blocks. */
	FL_ASSERT(fl_chan_send(h->results, &r, NULL, FL_TRY) == FL_OK);
	return NULL;
}

static int started_attempt(hedge *h)
{
	fl__mutex_lock(&h->mu);
	int s = h->started;
	fl__mutex_unlock(&h->mu);
	return s;
}

/* The loop's state. */
typedef struct run {
	hedge *h;
	fl_group *g;
	const char *name;
	int max, fired, ended, winner;
	bool stop;         /* fire nothing more */
	bool caller_done;  /* the caller's ctx ended the call */
	fl_err **errs;     /* per attempt */
	fl_err *spawn_err; /* a failed fl_group_go */
} run;

static void fire(run *r)
{
	if (r->stop || r->fired >= r->max || started_attempt(r->h)) {
		r->stop = true;
		return;
	}
	fl_hedge_tie *t = &r->h->att[r->fired];
	char name[64];
	snprintf(name, sizeof(name), "%s#%d", r->name, t->n);
	t->fired_at = fl_now();
	fl_err *e = fl_group_go_named(r->g, name, attempt_task, t);
	if (e) {
		r->spawn_err = fl_err_join2(r->spawn_err, e);
		r->stop = true;
		return;
	}
	r->fired++;
}

static int64_t hedge_delay(const struct fl_hedge_opts *o)
{
	int64_t d = -1;
	if (o->quantile > 0)
		d = fl_hedge_estimator_quantile(o->est, o->quantile);
	return d >= 0 ? d : o->delay_ns;
}

/* Handles one result; returns nothing, updates r. */
static void on_result(run *r, const struct fl_hedge_opts *o, result *res, int64_t delay,
		      int64_t *next_at)
{
	r->ended++;
	int started = started_attempt(r->h);
	bool counts = !started || started == res->n;
	if (res->n == 1 && o->est && !r->caller_done)
		fl_hedge_estimator_record(o->est, res->latency_ns);
	if (!res->err && !r->winner && counts) {
		r->winner = res->n;
		r->stop = true;
		fl_group_cancel(r->g, NULL); /* the losers */
		return;
	}
	if (res->err) {
		r->errs[res->n - 1] = res->err;
		if (started == res->n) { /* tied: the starter failed; that is final */
			r->winner = 0;
			r->stop = true;
		} else if (!r->winner && !r->stop) {
			fire(r); /* a failure hedges at once */
			*next_at = fl_deadline_in(delay);
		}
	}
}

/*
 * Fires the first attempt, then one more each time delay passes without a
 * winner, and collects every attempt's result. Returns the caller's
 * cancellation (cause joined with the sentinel) if ctx ended first, else
 * NULL.
 */
static fl_err *collect(run *r, const struct fl_hedge_opts *o, fl_ctx *ctx, int64_t delay)
{
	fire(r);
	int64_t next_at = fl_deadline_in(delay);
	fl_ctx *watch = ctx;
	fl_err *ctx_err = NULL;
	while (r->ended < r->fired) {
		bool may_fire = !r->stop && r->fired < r->max;
		result res;
		int rc = fl_chan_recv(r->h->results, &res, watch, may_fire ? next_at : FL_FOREVER);
		if (rc == FL_TIMEDOUT) {
			fire(r);
			next_at = fl_deadline_in(delay);
		} else if (rc == FL_CANCELED) {
			/* The attempts see it too; collect what they return. */
			watch = NULL;
			r->stop = true;
			r->caller_done = true;
			ctx_err = fl_ctx_stop_err(ctx);
		} else {
			FL_ASSERT(rc == FL_OK);
			on_result(r, o, &res, delay, &next_at);
		}
	}
	return ctx_err;
}

static fl_err *hedge_run(fl_ctx *ctx, const struct fl_hedge_opts *o, hedge *h,
			 fl_hedge_stats *stats)
{
	fl_hedge_stats local;
	if (!stats)
		stats = &local;
	*stats = (fl_hedge_stats){0};
	if (!ctx || !o || o->max_attempts < 0 || o->delay_ns < 0 || o->quantile < 0 ||
	    o->quantile > 1 || (o->quantile > 0 && !o->est))
		return FL_ERR_INVAL;
	if (fl_ctx_done(ctx))
		return fl_err_wrap(fl_ctx_stop_err(ctx), "hedge");
	int max = o->max_attempts ? o->max_attempts : 2;
	int64_t delay = hedge_delay(o);
	stats->delay_ns = delay;
	fl_err *err = NULL;
	run r = {.h = h, .name = o->name ? o->name : "hedge", .max = max};
	r.errs = fl__calloc((size_t)max, sizeof(fl_err *));
	h->att = fl__calloc((size_t)max + 1, sizeof(fl_hedge_tie)); /* h == NULL ends */
	if (!r.errs || !h->att) {
		err = FL_ERR_NOMEM;
		goto out_alloc;
	}
	for (int i = 0; i < max; i++)
		h->att[i] = (fl_hedge_tie){.h = h, .n = i + 1};
	err = fl_chan_new(sizeof(result), (size_t)max, &(struct fl_chan_opts){.name = "hedge"},
			  &h->results);
	if (err)
		goto out_alloc;
	fl_ctx *gctx;
	err = fl_group_new(ctx, &(struct fl_group_opts){.name = r.name}, &r.g, &gctx);
	if (err)
		goto out_chan;
	fl__mutex_init(&h->mu);

	fl_err *ctx_err = collect(&r, o, ctx, delay);
	fl_err_drop(fl_group_wait(r.g)); /* tasks return NULL; they have all reported */
	fl_group_free(r.g);
	fl__mutex_destroy(&h->mu);

	int started = h->started;
	stats->fired = r.fired;
	stats->winner = r.winner ? r.winner : (started && !r.errs[started - 1] ? started : 0);
	stats->hedge_won = stats->winner > 1;
	if (r.winner) {
		if (fl_err_is(r.spawn_err, FL_ERR_NOMEM))
			fl__alloc_absorbed(); /* a winner hides it */
		fl_err_drop(ctx_err);
		fl_err_drop(r.spawn_err);
		ctx_err = r.spawn_err = NULL;
	} else if (started) {
		/* Tied: the starter's outcome is the call's. */
		err = r.errs[started - 1];
		r.errs[started - 1] = NULL;
		err = fl_err_join2(ctx_err, err);
		ctx_err = NULL;
	} else {
		err = fl_err_join(r.errs, (size_t)max);
		memset(r.errs, 0, (size_t)max * sizeof(fl_err *));
		err = fl_err_join2(fl_err_join2(ctx_err, r.spawn_err), err);
		ctx_err = r.spawn_err = NULL;
	}
	for (int i = 0; i < max; i++) {
		if (fl_err_is(r.errs[i], FL_ERR_NOMEM))
			fl__alloc_absorbed(); /* a loser's out of memory: the winner hides it */
		fl_err_drop(r.errs[i]);
	}
out_chan:
	fl_chan_free(h->results);
out_alloc:
	free(h->att);
	free(r.errs);
	return err;
}

fl_err *fl_hedge(fl_ctx *ctx, const struct fl_hedge_opts *o, fl_hedge_fn fn, void *arg,
		 fl_hedge_stats *stats)
{
	if (!fn)
		return FL_ERR_INVAL;
	hedge h = {.fn = fn, .arg = arg};
	return hedge_run(ctx, o, &h, stats);
}

fl_err *fl_hedge_tied(fl_ctx *ctx, const struct fl_hedge_opts *o, fl_hedge_tied_fn fn, void *arg,
		      fl_hedge_stats *stats)
{
	if (!fn)
		return FL_ERR_INVAL;
	hedge h = {.tfn = fn, .arg = arg};
	return hedge_run(ctx, o, &h, stats);
}

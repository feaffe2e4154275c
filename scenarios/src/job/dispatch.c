/*
 * dispatch.c - the fan-out stage and the per-item layer: a dispatcher
 * receives items and starts one task per item, in a nested group limited
 * to group_limit or (bulkhead) in its tenant's compartment of an
 * fl_bulkhead. One receive-allocate-start loop serves both; what differs
 * is how a task is started (and what a refusal means), the end of input
 * (a bulkhead may drain its compartments) and what is kept afterwards.
 * A per-item task runs the item through its own inner group of middle
 * stages on one-slot channels.
 */
#include "engine_internal.h"

#include <fl/bulkhead.h>

#include <stdlib.h>
#include "fl_alloc_internal.h"

/* A bulkhead dispatcher's state, shared with the tasks it starts. */
typedef struct disp {
	fl_chan *ended;                          /* a task ended: wakes the drain */
	atomic_int inflight;                     /* admitted tasks not yet ended */
	atomic_bool failed[FL__JOB_MAX_TENANTS]; /* per key: an item failed in it */
} disp;

typedef struct one_arg {
	fl__eng *e;
	int stage, out;
	fl__eng_item it;
	fl__eng_hold hold;
	disp *d; /* bulkhead: the dispatcher; NULL: a nested group's task */
	int key; /* bulkhead: the compartment's key index */
} one_arg;

/* Runs when a per-item task ends, normally or by a captured panic. */
static void one_cleanup(void *arg)
{
	one_arg *o = arg;
	disp *d = o->d;
	fl__eng_hold_cleanup(&o->hold);
	free(o);
	if (d) {
		char tok = 0;
		atomic_fetch_sub(&d->inflight, 1);
		(void)fl_chan_send(d->ended, &tok, NULL, FL_TRY); /* full: one is pending */
	}
}

/* Registers one_cleanup; if that fails (it then ran already) the item is
 * counted as cancelled and the error returned. */
static fl_err *one_defer(one_arg *o)
{
	fl__eng *e = o->e;
	long id = o->it.id;
	o->hold = (fl__eng_hold){.e = e, .failed = o->d ? &o->d->failed[o->key] : NULL};
	fl_err *err = fl_defer(one_cleanup, o);
	if (err)
		fl__eng_count_item(e, C_CANCELLED, id, 1);
	return err;
}

static fl_err *one_fn(fl_ctx *ctx, void *arg)
{
	one_arg *o = arg;
	fl_err *err = one_defer(o);
	if (err)
		return err;
	int copies;
	return fl__eng_handle(o->e, o->stage, &o->it, o->out, ctx, &copies, &o->hold);
}

/* Per-item: the item's own pipeline over the middle stages. */
typedef struct sub_stage {
	fl__eng *e;
	int stage;
	fl_chan *in, *out;
	fl__eng_hold hold;
} sub_stage;

static fl_err *sub_stage_fn(fl_ctx *ctx, void *arg)
{
	sub_stage *ss = arg;
	fl_err *ret = NULL;
	fl__eng_item it;
	int st;
	fl__eng_hold_start(&ss->hold, ss->e);
	while (!ret && (st = fl_chan_recv(ss->in, &it, ctx, FL_FOREVER)) == FL_OK) {
		int copies;
		ret = fl__eng_handle(ss->e, ss->stage, &it, -1, ctx, &copies, &ss->hold);
		for (int k = 0; !ret && k < copies; k++)
			if (fl_chan_send(ss->out, &it, ctx, FL_FOREVER) != FL_OK) {
				fl__eng_count_item(ss->e, C_CANCELLED, it.id, copies - k);
				ret = fl__scn_stopped(ctx, FL_CANCELED,
						      ss->e->j->stages[ss->stage]);
			}
	}
	if (!ret && st != FL_CLOSED)
		ret = fl__scn_stopped(ctx, st, ss->e->j->stages[ss->stage]);
	fl_err_drop(fl_chan_close(ss->out));
	return ret;
}

/* Runs one item through an inner group, then forwards what comes out. */
static fl_err *item_pipeline(fl__eng *e, one_arg *o, fl_ctx *ctx)
{
	const fl__job *j = e->j;
	int nmid = j->nstages - 2;
	fl_chan *ch[FL__JOB_MAX_STAGES];
	sub_stage ss[FL__JOB_MAX_STAGES];
	fl_group *g;
	fl_ctx *ictx;
	struct fl_group_opts go = {.name = "item", .panic = FL_PANIC_CAPTURE};
	fl_err *err = fl_group_new(ctx, &go, &g, &ictx);
	if (err) {
		fl__eng_count_item(e, C_CANCELLED, o->it.id, 1);
		return err;
	}
	int made = 0;
	/* 1 << nmid slots: every stage may duplicate the item */
	for (; made <= nmid && !err; made++)
		err = fl_err_wrap(fl_chan_new(sizeof(fl__eng_item), (size_t)1 << nmid,
					      &(struct fl_chan_opts){.name = "item"}, &ch[made]),
				  "channel item");
	if (err)
		made--;
	if (!err) {
		(void)fl_chan_send(ch[0], &o->it, NULL, FL_TRY);
		fl_err_drop(fl_chan_close(ch[0]));
		for (int s = 0; s < nmid && !err; s++) {
			ss[s] = (sub_stage){.e = e,
					    .stage = s + 1,
					    .in = ch[s],
					    .out = ch[s + 1],
					    .hold = {.failed = o->hold.failed}};
			(void)fl__scn_go(g, ictx, j->stages[s + 1], sub_stage_fn, &ss[s], &err);
		}
	}
	fl_err *werr = fl_group_wait(g);
	fl_group_free(g);
	err = err ? fl_err_join2(err, werr) : werr;
	fl__eng_item it;
	while (made == nmid + 1 && fl_chan_recv(ch[nmid], &it, NULL, FL_TRY) == FL_OK) {
		if (err) {
			fl__eng_count_item(e, C_CANCELLED, it.id, 1);
			continue;
		}
		err = fl__eng_forward(e, o->out, &it, 1, ctx, "item");
	}
	/* items left before or between inner stages after a failure (or when
	 * a stage could not start) were cancelled */
	for (int c = 0; c < made && c < nmid; c++)
		while (fl_chan_recv(ch[c], &it, NULL, FL_TRY) == FL_OK)
			fl__eng_count_item(e, C_CANCELLED, it.id, 1);
	for (int c = 0; c < made; c++)
		fl_chan_free(ch[c]);
	return err;
}

static fl_err *per_item_fn(fl_ctx *ctx, void *arg)
{
	one_arg *o = arg;
	fl_err *err = one_defer(o);
	return err ? err : item_pipeline(o->e, o, ctx);
}

static int planted_limit(const fl__eng *e, int limit)
{
	if (e->j->plant == PLANT_BREACH_LIMIT)
		return limit + 1; /* the bug: the group allows one more */
	if (e->j->plant == PLANT_STARVE_LIMIT && limit > 1)
		return limit - 1; /* the bug: one slot never used */
	return limit;
}

/*
 * How a dispatcher starts item task o (running fn) in its nested group or
 * compartment (how: the dispatcher's state). Returns NULL when the item
 * is settled: its task owns o, or the item was shed or cancelled (o
 * freed, its fate counted) and the dispatcher goes on. Any other error
 * (o freed, the item counted) stops the dispatcher and is its result.
 */
typedef fl_err *(*start_fn)(void *how, one_arg *o, fl_task_fn fn);

/*
 * The dispatcher's loop, one for both kinds: receives items on stage a's
 * input until it is closed (NULL) or ctx ends (the stop, as a stage
 * error), and starts one task per item through start.
 */
static fl_err *dispatch_items(fl__eng_task *a, fl_ctx *ctx, const char *name, start_fn start,
			      void *how)
{
	fl__eng *e = a->e;
	fl_task_fn fn = e->j->shape == JOB_PERITEM ? per_item_fn : one_fn;
	for (;;) {
		fl__eng_item it;
		int st = fl_chan_recv(e->ch[a->in], &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, name);
		one_arg *o = fl__malloc(sizeof(*o));
		if (!o) {
			fl__eng_count_item(e, C_CANCELLED, it.id, 1);
			return fl_err_wrap(FL_ERR_NOMEM, "%s", name);
		}
		*o = (one_arg){.e = e, .stage = a->stage, .out = a->out, .it = it};
		fl_err *err = start(how, o, fn);
		if (err)
			return err;
	}
}

/* ---- in a nested group ------------------------------------------------------------ */

typedef struct group_how {
	fl_group *g;
	const char *name;
	bool saturated; /* try_go was refused at the limit */
} group_how;

/* Starts o in the nested group, waiting for a slot when it is full. */
static fl_err *group_start(void *how, one_arg *o, fl_task_fn fn)
{
	group_how *gh = how;
	fl__eng *e = o->e;
	long id = o->it.id;
	fl_err *err = fl_group_try_go(gh->g, fn, o);
	if (err && fl_err_is(err, FL_ERR_LIMIT)) {
		fl_err_drop(err);
		gh->saturated = true;
		err = fl_group_go_named(gh->g, gh->name, fn, o);
	}
	if (err) {
		free(o);
		fl__eng_count_item(e, C_CANCELLED, id, 1);
	}
	return err;
}

/* Fan-out stage or the per-item layer: a dispatcher starting one task per
 * item in a nested group with the job's limit. */
static fl_err *dispatch_group(fl_ctx *ctx, fl__eng_task *a, const char *name)
{
	fl__eng *e = a->e;
	group_how gh = {.name = name};
	fl_ctx *ictx;
	struct fl_group_opts go = {.name = name,
				   .limit = planted_limit(e, e->limit),
				   .panic = FL_PANIC_CAPTURE};
	fl_err *ret = fl_group_new(ctx, &go, &gh.g, &ictx);
	if (ret) {
		fl__eng_done_writing(e, a->out);
		return ret;
	}
	ret = dispatch_items(a, ictx, name, group_start, &gh);
	fl_err *werr = fl_group_wait(gh.g);
	int hwm = fl_group_hwm(gh.g);
	fl_group_free(gh.g);
	pthread_mutex_lock(&e->mu);
	e->inner_hwm = hwm > e->inner_hwm ? hwm : e->inner_hwm;
	e->saturated |= gh.saturated;
	pthread_mutex_unlock(&e->mu);
	fl__eng_done_writing(e, a->out);
	if (werr) { /* an item's own failure beats "the dispatcher was cancelled" */
		fl_err_drop(ret);
		return werr;
	}
	return ret;
}

/* ---- in a bulkhead's compartments ----------------------------------------------- */

typedef struct bulkhead_how {
	fl__eng *e;
	fl_bulkhead *b;
	disp *d;
	fl_ctx *ctx; /* the dispatcher's */
	const char *name;
	bool shared;                         /* the planted bug: one compartment for all */
	int64_t wait;                        /* for a full compartment's slot; < 0: forever */
	bool saturated[FL__JOB_MAX_TENANTS]; /* per key: try_go was refused */
} bulkhead_how;

/*
 * The end of input with load shedding on (a finite bulkhead_wait): the
 * dispatcher waits for its compartments while they make progress. Once
 * none of its tasks has ended for cancel_hang, the ones still running are
 * taken as stuck (a hung tenant) and cancelled, so the run can end; their
 * items count as cancelled. With bulkhead_wait = forever it waits forever.
 */
static void drain_bulkhead(fl__eng *e, disp *d, fl_bulkhead *b, fl_ctx *ctx, const char *name)
{
	int64_t patience = e->j->cancel_hang_ns * e->p->time_scale;
	while (atomic_load(&d->inflight) > 0) {
		char tok;
		int st = fl_chan_recv(d->ended, &tok, ctx, fl_deadline_in(patience));
		if (st == FL_OK)
			continue;
		if (st == FL_TIMEDOUT) {
			fl_err *cause = fl_err_wrap(FL_ERR_DEADLINE,
						    "%s: %d task(s) made no progress for "
						    "cancel_hang after the end of input",
						    name, atomic_load(&d->inflight));
			fl_bulkhead_cancel(b, cause);
			fl_err_drop(cause);
		}
		return; /* or the dispatcher was cancelled, and the compartments with it */
	}
}

/* After the bulkhead's wait: its compartments' high-water marks, and the
 * errors of those where an item failed (the tenant's errgroup result),
 * kept for the pipeline's result. Cancellations (shedding, the drain, the
 * pipeline's cancel) are fates, not failures. */
static void bulkhead_done(fl__eng *e, int stage, disp *d, fl_bulkhead *b, const bool *saturated)
{
	bool shared = e->j->plant == PLANT_SHARED_BULKHEAD;
	const fl_bulkhead_result *res;
	size_t n = fl_bulkhead_results(b, &res);
	fl_err *failed = NULL;
	pthread_mutex_lock(&e->mu);
	fl__eng_bh *bs = &e->bh[stage];
	bs->ran = true;
	for (size_t i = 0; i < n; i++) {
		int k = shared ? 0 : atoi(res[i].key + 1); /* "tK" */
		bs->used[k] = true;
		bs->hwm[k] = res[i].hwm > bs->hwm[k] ? res[i].hwm : bs->hwm[k];
		bs->saturated[k] |= saturated[k];
		if (res[i].err && atomic_load(&d->failed[k]))
			failed = fl_err_join2(failed, fl_err_wrap(fl_err_ref((fl_err *)res[i].err),
								  "tenant '%s'", res[i].key));
	}
	if (failed)
		e->contained = fl_err_join2(e->contained, failed);
	pthread_mutex_unlock(&e->mu);
}

/*
 * A full compartment: sheds at once (wait 0), waits for a slot in the
 * compartment's own context (forever: until the tenant ends) or for up to
 * wait. *shed: the wait ran out while the dispatcher goes on.
 */
static fl_err *wait_for_slot(bulkhead_how *bh, const char *key, fl_task_fn fn, one_arg *o,
			     bool *shed)
{
	fl_ctx *wctx = NULL;
	fl_err *err = NULL;
	if (bh->wait == 0)
		*shed = true;
	else if (bh->wait < 0) /* the compartment's context: ends with the tenant */
		err = fl_bulkhead_go(bh->b, NULL, key, fn, o);
	else if (!(err = fl_ctx_with_timeout(bh->ctx, bh->wait, NULL, &wctx))) {
		err = fl_bulkhead_go(bh->b, wctx, key, fn, o);
		*shed = err && fl_ctx_done(wctx) && !fl_ctx_done(bh->ctx);
	}
	fl_ctx_free(wctx);
	return err;
}

/*
 * Starts o in its tenant's compartment. A shed item, or one whose
 * compartment has ended (that tenant failed), is settled; the
 * dispatcher's own cancel or an environment error stops it.
 */
static fl_err *bulkhead_start(void *how, one_arg *o, fl_task_fn fn)
{
	bulkhead_how *bh = how;
	fl__eng *e = bh->e;
	long id = o->it.id;
	/* the planted bug puts every tenant into one compartment */
	int k = bh->shared ? 0 : fl__eng_tenant_of(e, id);
	const char *key = bh->shared ? "shared" : e->tkeys[k];
	o->d = bh->d;
	o->key = k;
	atomic_fetch_add(&bh->d->inflight, 1);
	bool shed = false;
	fl_err *err = fl_bulkhead_try_go(bh->b, key, fn, o);
	if (err && fl_err_is(err, FL_ERR_LIMIT)) {
		fl_err_drop(err);
		bh->saturated[k] = true;
		err = wait_for_slot(bh, key, fn, o, &shed);
	}
	if (!err && !shed)
		return NULL; /* the task owns o now */
	free(o);
	atomic_fetch_sub(&bh->d->inflight, 1);
	if (shed) {
		fl_err_drop(err);
		fl__eng_count_item(e, C_SHED, id, 1);
		return NULL;
	}
	fl__eng_count_item(e, C_CANCELLED, id, 1);
	if (fl_ctx_done(bh->ctx)) {
		fl_err_drop(err);
		return fl__scn_stopped(bh->ctx, FL_CANCELED, bh->name);
	}
	if (fl_err_is(err, FL_ERR_CANCELED) || fl_err_is(err, FL_ERR_DEADLINE)) {
		fl_err_drop(err); /* its compartment ended: that tenant failed */
		return NULL;
	}
	return err;
}

/*
 * Fan-out stage or per-item layer with a bulkhead: each item runs in its
 * tenant's compartment (limit: bulkhead). A full compartment sheds the
 * item after bulkhead_wait (forever: waits; 0: at once). The dispatcher
 * returns only its own stop (a cancel, an environment error): failures in
 * compartments go into the pipeline's result without cancelling it.
 */
static fl_err *dispatch_bulkhead(fl_ctx *ctx, fl__eng_task *a, const char *name)
{
	fl__eng *e = a->e;
	const fl__job *j = e->j;
	bulkhead_how bh = {.e = e,
			   .ctx = ctx,
			   .name = name,
			   .shared = j->plant == PLANT_SHARED_BULKHEAD,
			   .wait = j->bulkhead_wait_ns < 0
					   ? -1
					   : j->bulkhead_wait_ns * e->p->time_scale};
	bh.d = fl__calloc(1, sizeof(*bh.d));
	fl_err *ret = bh.d ? fl_chan_new(1, 1, &(struct fl_chan_opts){.name = name}, &bh.d->ended)
			   : FL_ERR_NOMEM;
	struct fl_bulkhead_opts bo = {.name = name,
				      .limit = planted_limit(e, j->bulkhead),
				      .per_item = j->mode != JOB_FIRST_ERROR,
				      .panic = FL_PANIC_CAPTURE};
	if (!ret && (ret = fl_bulkhead_new(ctx, &bo, &bh.b)))
		fl_chan_free(bh.d->ended);
	if (ret) {
		free(bh.d);
		fl__eng_done_writing(e, a->out);
		return ret;
	}
	ret = dispatch_items(a, ctx, name, bulkhead_start, &bh);
	if (ret)
		fl_bulkhead_cancel(bh.b, NULL);
	else if (bh.wait >= 0)
		drain_bulkhead(e, bh.d, bh.b, ctx, name);
	fl_err_drop(fl_bulkhead_wait(bh.b)); /* bulkhead_done keeps the failures */
	bulkhead_done(e, a->stage, bh.d, bh.b, bh.saturated);
	fl_bulkhead_free(bh.b);
	fl_chan_free(bh.d->ended);
	free(bh.d);
	fl__eng_done_writing(e, a->out);
	return ret;
}

fl_err *fl__eng_dispatch_fn(fl_ctx *ctx, void *arg)
{
	fl__eng_task *a = arg;
	fl__eng *e = a->e;
	const char *name = e->j->shape == JOB_PERITEM ? "per-item" : e->j->stages[a->stage];
	return e->ntenants ? dispatch_bulkhead(ctx, a, name) : dispatch_group(ctx, a, name);
}

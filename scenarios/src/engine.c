/*
 * engine.c - the generic pipeline engine behind job files.
 *
 * One iteration builds the job's shape out of runtime groups and channels,
 * runs items through it and then accounts for every item:
 *
 *   linear     source -> s1 (workers) -> ... -> sink
 *   fan-out    source -> [s1: a dispatcher starting one task per item in a
 *              nested group limited to group_limit, or in its tenant's
 *              compartment of a bulkhead] -> ... -> sink
 *   fan-in     width sources (items split between them; the last one to
 *              finish closes the shared channel) -> s1 -> ... -> sink
 *   diamond    source tees each item to width branches, each branch runs the
 *              middle stages; the sink selects over the branches
 *   per-item   source -> dispatcher: per item, a task in an outer group
 *              (group_limit) runs an inner group with one task per middle
 *              stage on one-slot channels -> sink
 *
 * Every stage evaluates a fault point named after the stage once per item
 * (fl_fault_item: errors, drops, dups, sleeps, stuck...), then does `work`
 * (middle stages only; a cancellable sleep). Item fates are counted with
 * atomics: produced (+ duplicated) = delivered + skipped + shed + failed +
 * dead-lettered + cancelled-in-flight, where items still buffered in
 * channels after wait count as cancelled in flight. Under diamond every
 * branch copy is an item.
 *
 * With `bulkhead`, item i belongs to tenant i % tenants, and a dispatcher
 * (fan-out stages, the per-item layer) runs each item in its tenant's
 * compartment of an fl_bulkhead instead of one nested group: a failing
 * item fails only its tenant (the pipeline goes on, the failure joins the
 * result), a full compartment sheds after bulkhead_wait, and middle stages
 * also evaluate the point "tK/STAGE". Fates are also counted per tenant,
 * for the tenant isolation check.
 *
 * Cancellation is measured from the driver's cancel (cancel_at) or from the
 * first failing stage's return, to fl_group_wait returning (all tasks of
 * every nested group have joined by then). A watchdog (watchdog.c) armed at
 * that moment names the stages that did not return within cancel_hang. A
 * failure contained in a bulkhead compartment cancels no pipeline: it is
 * neither measured nor watched.
 *
 * Histograms are shared by all tasks of an iteration and recorded under
 * one mutex (short critical sections; never held across a blocking call).
 */
#include "job_internal.h"

#include <fl/breaker.h>
#include <fl/bulkhead.h>
#include <fl/dlq.h>
#include <fl/fault.h>
#include <fl/hedge.h>
#include <fl/retry.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jitem {
	long id;
	int64_t intended_ns; /* open loop: when it should have started */
	int64_t start_ns;    /* when the source actually produced it */
} jitem;

/* Item fates come first: they are also counted per tenant (NFATE). */
enum { C_PRODUCED, C_DELIVERED, C_SKIPPED, C_SHED, C_FAILED, C_DLQ, C_CANCELLED, C_DUPS,
       NFATE, C_INJECTED = NFATE, C_ABSORBED, C_RETRIES, C_HEDGES, C_REJECTED, NCOUNT };
static const char *const count_names[NCOUNT] = {
	"produced", "delivered", "skipped", "shed", "failed", "dead_lettered",
	"cancelled_in_flight", "duplicated", "injected_errors", "absorbed_errors", "retries",
	"hedges", "breaker_rejected"};
static const char *const fate_names[NFATE] = {
	"produced", "delivered", "skipped", "shed", "failed", "dead_lettered", "cancelled",
	"duplicated"};

#define MAXCH (FL__JOB_MAX_STAGES * 2 + 16)

typedef struct eng {
	const fl__job *j;
	const fl_scenario_params *p;
	fl_group *g;
	fl_ctx *gctx, *parent;
	fl_chan *ch[MAXCH];                    /* set up before start; read-only */
	int nch;
	fl_chan *flowing;                      /* cancel_at token; sink closes */
	fl_fault_site sites[FL__JOB_MAX_STAGES];
	atomic_long n[NCOUNT];
	atomic_int left[MAXCH];                /* writers left per channel */
	_Atomic int64_t fail_ns;               /* first failure's time; 0: none */
	int64_t t0, work_ns;
	int64_t t_start;                       /* before the plan was armed */
	pthread_mutex_t mu;                    /* guards the fields below */
	fl_hdr *stage_h[FL__JOB_MAX_STAGES], *e2e, *svc;
	fl_err *errs[64];                      /* collect-all: item errors */
	size_t nerrs;
	long extra_errs;                       /* beyond errs[] (still counted) */
	int inner_hwm, limit;                  /* fan-out / per-item groups */
	bool saturated;
	fl__scn_watchdog wd;
	fl_dlq *dlq;                           /* dlq = true: poison items */
	fl_breaker *breakers[FL__JOB_MAX_STAGES]; /* breaker: middle stages */
	fl_retry_budget *budget;               /* budget: shared by all stages */

	/* bulkhead: tenants, their fault points and fates */
	int ntenants;                          /* 0: no bulkhead */
	char tkeys[FL__JOB_MAX_TENANTS][12];   /* "t0".."t63": compartment keys */
	char tpoints[FL__JOB_MAX_TENANTS][FL__JOB_MAX_STAGES][FL__JOB_STAGE_NAME + 16];
	fl_fault_site tsites[FL__JOB_MAX_TENANTS][FL__JOB_MAX_STAGES]; /* "tK/STAGE" */
	atomic_long tn[NFATE][FL__JOB_MAX_TENANTS];
	atomic_bool hit[FL__JOB_MAX_TENANTS];  /* a fault the engine saw met an item */
	struct bh_stats {                      /* mu: per dispatching stage */
		bool ran;
		int hwm[FL__JOB_MAX_TENANTS];  /* by key index (0: the planted shared key) */
		bool saturated[FL__JOB_MAX_TENANTS], used[FL__JOB_MAX_TENANTS];
	} bh[FL__JOB_MAX_STAGES];
	fl_err *contained;                     /* mu: failures kept in compartments */
} eng;

/* A planted leak must stay reachable (so sanitizers' leak checkers do not
 * report the negative control itself) yet count as live: parked here. */
static void *_Atomic planted_leaks[64];

static void count(eng *e, int c, long d) { atomic_fetch_add(&e->n[c], d); }
static long val(eng *e, int c) { return atomic_load(&e->n[c]); }
static int tenant_of(const eng *e, long id) { return (int)(id % e->ntenants); }

/* Counts d items of fate c, and for item id's tenant too (bulkhead). */
static void count_item(eng *e, int c, long id, long d)
{
	count(e, c, d);
	if (e->ntenants && c < NFATE)
		atomic_fetch_add(&e->tn[c][tenant_of(e, id)], d);
}

static void rec(eng *e, fl_hdr *h, int64_t v)
{
	pthread_mutex_lock(&e->mu);
	fl_hdr_record(h, v < 1 ? 1 : v);
	pthread_mutex_unlock(&e->mu);
}

/* The first failure: stamp it and start the cancel watchdog. */
static void note_failure(eng *e)
{
	int64_t zero = 0;
	if (atomic_compare_exchange_strong(&e->fail_ns, &zero, fl_now()))
		fl__scn_watchdog_kick(&e->wd);
}

/* Writer done with channel c: the last one closes it. */
static void done_writing(eng *e, int c)
{
	if (atomic_fetch_sub(&e->left[c], 1) == 1)
		fl_err_drop(fl_chan_close(e->ch[c]));
}

static fl_err *stage_err(eng *e, int s, const jitem *it, fl_err *cause)
{
	fl_scenario_stage_err se = {.index = it->id + 1};
	snprintf(se.stage, sizeof(se.stage), "%s", e->j->stages[s]);
	return fl_err_typed(&fl_scenario_stage_err_type, &se, cause, NULL);
}

/*
 * One item at stage s, as a chain of the runtime's resilience patterns:
 *
 *   fl_retry (retry, retry_backoff, budget)
 *     -> fl_breaker (breaker, breaker_cooldown; middle stages)
 *       -> fl_hedge (hedge: a second attempt after the delay)
 *         -> attempt: the stage's fault point, then its work
 *
 * Each layer is present only when its key is set. Injected errors are
 * counted where they happen (per attempt); those a retry got past are
 * absorbed. Every attempt records its time into the stage's histogram.
 */
typedef struct call {
	eng *e;
	int s;
	const jitem *it;
	enum fl_fault_verdict v[2];   /* per hedged attempt */
	int injected;                 /* injected errors met in this call */
	bool last_injected;           /* the latest attempt's error was one */
} call;

static fl_err *attempt_fn(fl_ctx *ctx, int attempt, void *arg)
{
	call *c = arg;
	eng *e = c->e;
	const fl__job *j = e->j;
	bool middle = c->s > 0 && c->s < j->nstages - 1;
	enum fl_fault_verdict *v = &c->v[attempt > 1];
	int64_t t = fl_now();
	fl_err *err = fl_fault_item(&e->sites[c->s], ctx, c->it->id, v);
	if (!err && middle && e->ntenants) {
		/* then the tenant's own point, "tK/STAGE" */
		enum fl_fault_verdict tv;
		fl_fault_site *site = &e->tsites[tenant_of(e, c->it->id)][c->s];
		err = fl_fault_item(site, ctx, c->it->id, &tv);
		if (*v == FL_FAULT_KEEP)
			*v = tv;
	}
	if (!err && middle && e->work_ns > 0 &&
	    fl_sleep_until(ctx, fl_deadline_in(e->work_ns)) != FL_OK)
		err = fl__scn_stopped(ctx, FL_CANCELED, j->stages[c->s]);
	rec(e, e->stage_h[c->s], fl_now() - t);
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	bool injected = fi && fi->action == FL_FAULT_ACT_ERROR;
	if (injected) {
		count(e, C_INJECTED, 1);
		pthread_mutex_lock(&e->mu);
		c->injected++;
		pthread_mutex_unlock(&e->mu);
	}
	return err;
}

static fl_err *hedged_fn(fl_ctx *ctx, void *arg)
{
	call *c = arg;
	eng *e = c->e;
	if (e->j->hedge_ns <= 0 || c->s == 0 || c->s == e->j->nstages - 1)
		return attempt_fn(ctx, 1, c);
	struct fl_hedge_opts ho = {.max_attempts = 2, .delay_ns = e->j->hedge_ns * e->p->time_scale,
				   .name = e->j->stages[c->s]};
	fl_hedge_stats hs;
	fl_err *err = fl_hedge(ctx, &ho, attempt_fn, c, &hs);
	count(e, C_HEDGES, hs.fired > 1 ? hs.fired - 1 : 0);
	if (!err && hs.winner == 2)
		c->v[0] = c->v[1];
	return err;
}

static fl_err *guarded_fn(fl_ctx *ctx, int attempt, void *arg)
{
	call *c = arg;
	eng *e = c->e;
	c->v[0] = c->v[1] = FL_FAULT_KEEP;
	if (attempt > 1)
		count(e, C_RETRIES, 1);
	int before = c->injected;
	fl_breaker *b = e->breakers[c->s];
	fl_err *err;
	if (!b) {
		err = hedged_fn(ctx, c);
	} else {
		fl_breaker_ticket t;
		if ((err = fl_breaker_allow(b, &t)) != NULL) {
			count(e, C_REJECTED, 1);
		} else {
			err = hedged_fn(ctx, c);
			fl_breaker_done(b, &t, err);
		}
	}
	c->last_injected = c->injected > before && err;
	return err;
}

/*
 * Runs stage s on one item. Returns NULL (and the verdict), or the item's
 * error (stage-typed). A cancellation, or a fault's wait cut short by one,
 * comes back untyped: the item was cancelled, not failed.
 */
static fl_err *process(eng *e, int s, const jitem *it, fl_ctx *ctx, enum fl_fault_verdict *v)
{
	const fl__job *j = e->j;
	call c = {.e = e, .s = s, .it = it};
	fl_err *err;
	if (j->retry > 0) {
		fl_retry_policy rp = {.max_attempts = 1 + j->retry,
				      .initial_ns = j->retry_backoff_ns * e->p->time_scale,
				      .multiplier = 2,
				      .budget = e->budget};
		err = fl_retry(ctx, &rp, guarded_fn, &c, NULL);
	} else {
		err = guarded_fn(ctx, 1, &c);
	}
	/* every injected error met but the one that ends the item was got past */
	count(e, C_ABSORBED, c.injected - (err && c.last_injected ? 1 : 0));
	*v = c.v[0];
	if (!err)
		return NULL;
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	if (fi && e->ntenants) /* an injected error, or a fault's wait cut short */
		atomic_store(&e->hit[tenant_of(e, it->id)], true);
	bool failed = (fi && fi->action == FL_FAULT_ACT_ERROR && c.last_injected) ||
		      fl_err_is(err, FL_ERR_CIRCUIT_OPEN);
	if (!failed && (fi || fl_ctx_done(ctx) || fl_err_is(err, FL_ERR_CANCELED)))
		return err; /* cancelled */
	return stage_err(e, s, it, err);
}

/*
 * An item a task holds while a fault point may panic: a captured panic
 * unwinds the task past every counter, so a cleanup registered once per
 * task (fl_defer) counts the held item as failed. In a bulkhead's
 * compartment (failed set) a failure is contained: it marks the
 * compartment instead of starting the pipeline's cancel measurement.
 */
typedef struct hold_t {
	eng *e;
	int n;               /* items held inside process(); only its own task touches it */
	long id;             /* the held item */
	atomic_bool *failed; /* a compartment's task: its key's failure mark */
} hold_t;

static void hold_cleanup(void *arg)
{
	hold_t *h = arg;
	if (h->n > 0) {
		count_item(h->e, C_FAILED, h->id, h->n);
		if (h->failed)
			atomic_store(h->failed, true);
		else
			note_failure(h->e);
		h->n = 0;
	}
}

static void hold_start(hold_t *h, eng *e)
{
	h->e = e;
	h->n = 0;
	fl_err_drop(fl_defer(hold_cleanup, h)); /* out of memory: ran at once */
}

/*
 * What a stage does with a failed item, by error mode. Returns NULL to go
 * on with the next item, or the error the stage must return.
 */
static fl_err *item_failed(eng *e, const jitem *it, fl_err *err, fl_ctx *ctx, hold_t *h)
{
	const fl__job *j = e->j;
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	bool injected = fi && fi->action == FL_FAULT_ACT_ERROR;
	if (!fl_err_as(err, &fl_scenario_stage_err_type)) {
		count_item(e, C_CANCELLED, it->id, 1); /* stopped by cancellation mid-item */
		return err;
	}
	if (j->plant == PLANT_SWALLOW_ERROR) {
		fl_err_drop(err); /* the bug: dropped, and the item counted as failed */
		count_item(e, C_FAILED, it->id, 1);
		return NULL;
	}
	if (e->dlq) {
		/* counted from the queue itself after the run (conservation) */
		fl_dlq_attempt at;
		fl_dlq_attempt_set(&at, j->retry + 1, err);
		fl_err *perr = fl_dlq_put(e->dlq, it, sizeof(*it), err, &at, 1);
		if (!perr) {
			count(e, C_ABSORBED, injected);
			if (e->ntenants) /* the total comes from the queue */
				atomic_fetch_add(&e->tn[C_DLQ][tenant_of(e, it->id)], 1);
			fl_err_drop(err);
			return NULL;
		}
		fl_err_drop(perr); /* could not dead-letter it: it fails */
	}
	count_item(e, C_FAILED, it->id, 1);
	switch (j->mode) {
	case JOB_PER_ITEM:
		count(e, C_ABSORBED, injected); /* a per-item result, not lost */
		fl_err_drop(err);
		return NULL;
	case JOB_COLLECT_ALL:
		pthread_mutex_lock(&e->mu);
		if (e->nerrs < sizeof(e->errs) / sizeof(e->errs[0]))
			e->errs[e->nerrs++] = err;
		else
			e->extra_errs++, fl_err_drop(err);
		pthread_mutex_unlock(&e->mu);
		return NULL;
	default:
		(void)ctx;
		if (h->failed)
			atomic_store(h->failed, true); /* its compartment's errgroup fails */
		else
			note_failure(e);
		return err;
	}
}

/* Sends it n times on channel c; counts unsent copies as cancelled. */
static fl_err *forward(eng *e, int c, jitem *it, int n, fl_ctx *ctx, const char *who)
{
	for (int k = 0; k < n; k++) {
		int st = fl_chan_send(e->ch[c], it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			count_item(e, C_CANCELLED, it->id, n - k);
			return fl__scn_stopped(ctx, st, who);
		}
	}
	return NULL;
}

/*
 * One item through stage s, then on to channel out (-1: the caller keeps
 * it). Returns NULL to continue, or the error that ends the stage.
 * *kept is set when the item should go on (out == -1 callers).
 */
static fl_err *handle(eng *e, int s, jitem *it, int out, fl_ctx *ctx, int *copies, hold_t *h)
{
	enum fl_fault_verdict v;
	*copies = 0;
	h->n = 1;
	h->id = it->id;
	fl_err *err = process(e, s, it, ctx, &v);
	h->n = 0;
	if (err)
		return item_failed(e, it, err, ctx, h);
	if (e->j->plant == PLANT_LOSE_ITEM && s == 1 && it->id == 0)
		return NULL; /* the bug: item 0 vanishes without a trace */
	if (e->j->plant == PLANT_CRASH && s == 1)
		abort();
	if (v == FL_FAULT_DROP) {
		count_item(e, C_SKIPPED, it->id, 1);
		return NULL;
	}
	int n = v == FL_FAULT_DUP ? 2 : 1;
	count_item(e, C_DUPS, it->id, n - 1);
	*copies = n;
	return out < 0 ? NULL : forward(e, out, it, n, ctx, e->j->stages[s]);
}

/* ---- stages ------------------------------------------------------------------- */

typedef struct task_arg {
	eng *e;
	int stage, in, out;
	long lo, hi;          /* sources: item ids [lo, hi) */
	int nout;             /* diamond source: branch channels out..out+nout-1 */
	hold_t hold;          /* the task's held item (panics) */
} task_arg;

static fl_err *source_fn(fl_ctx *ctx, void *arg)
{
	task_arg *a = arg;
	eng *e = a->e;
	hold_start(&a->hold, e);
	const fl__job *j = e->j;
	fl_err *ret = NULL;
	for (long i = a->lo; i < a->hi && !ret; i++) {
		int64_t intended = 0;
		if (j->rate > 0) {
			intended = e->t0 + (int64_t)((double)i * 1e9 / j->rate);
			if (fl_sleep_until(ctx, intended) != FL_OK) {
				ret = fl__scn_stopped(ctx, FL_CANCELED, j->stages[0]);
				break;
			}
		}
		jitem it = {i, intended, fl_now()};
		if (j->rate <= 0)
			it.intended_ns = it.start_ns;
		count_item(e, C_PRODUCED, it.id, 1);
		int copies;
		if ((ret = handle(e, 0, &it, -1, ctx, &copies, &a->hold)) || copies == 0)
			continue;
		/* diamond: the tee's copies are documented duplicates */
		count_item(e, C_DUPS, it.id, (long)copies * (a->nout - 1));
		for (int b = 0; b < a->nout && !ret; b++)
			if ((ret = forward(e, a->out + b, &it, copies, ctx, j->stages[0])))
				count_item(e, C_CANCELLED, it.id, (long)copies * (a->nout - 1 - b));
	}
	for (int b = 0; b < a->nout; b++)
		done_writing(e, a->out + b);
	return ret;
}

static fl_err *middle_fn(fl_ctx *ctx, void *arg)
{
	task_arg *a = arg;
	eng *e = a->e;
	hold_start(&a->hold, e);
	fl_err *ret = NULL;
	for (;;) {
		jitem it;
		int st = fl_chan_recv(e->ch[a->in], &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			ret = fl__scn_stopped(ctx, st, e->j->stages[a->stage]);
			break;
		}
		int copies;
		if ((ret = handle(e, a->stage, &it, a->out, ctx, &copies, &a->hold)))
			break;
	}
	done_writing(e, a->out);
	return ret;
}

/* Diamond branch: every middle stage in turn on each item. */
static fl_err *branch_fn(fl_ctx *ctx, void *arg)
{
	task_arg *a = arg;
	eng *e = a->e;
	hold_start(&a->hold, e);
	int last = e->j->nstages - 2;
	fl_err *ret = NULL;
	for (;;) {
		jitem it;
		int st = fl_chan_recv(e->ch[a->in], &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			ret = fl__scn_stopped(ctx, st, e->j->stages[1]);
			break;
		}
		int copies = 1;
		for (int s = 1; s <= last && copies > 0 && !ret; s++) {
			int c2;
			ret = handle(e, s, &it, s == last ? a->out : -1, ctx, &c2, &a->hold);
			if (!ret && c2 == 2 && s < last)
				/* dup inside a branch: keep one copy */
				count_item(e, C_DUPS, it.id, -1);
			copies = c2;
		}
		if (ret)
			break;
	}
	done_writing(e, a->out);
	return ret;
}

static fl_err *deliver(eng *e, jitem *it, fl_ctx *ctx, hold_t *h)
{
	int copies;
	fl_err *err = handle(e, e->j->nstages - 1, it, -1, ctx, &copies, h);
	if (err || copies == 0)
		return err;
	int64_t now = fl_now();
	for (int k = 0; k < copies; k++) {
		rec(e, e->e2e, now - it->intended_ns);
		rec(e, e->svc, now - it->start_ns);
	}
	if (e->ntenants)
		atomic_fetch_add(&e->tn[C_DELIVERED][tenant_of(e, it->id)], copies);
	long d = atomic_fetch_add(&e->n[C_DELIVERED], copies) + copies;
	if (e->j->cancel_at > 0 && d >= e->j->cancel_at && d - copies < e->j->cancel_at) {
		/* the chosen point: tell the driver, then hold the pipeline there
		 * until its cancel arrives, so the run cannot finish first */
		char tok = 1;
		(void)fl_chan_send(e->flowing, &tok, NULL, FL_TRY);
		(void)fl_ctx_wait(ctx, FL_FOREVER);
		return fl__scn_stopped(ctx, FL_CANCELED, e->j->stages[e->j->nstages - 1]);
	}
	return NULL;
}

/* The sink: receives from channels [in, in + nout) until all are closed. */
static fl_err *sink_fn(fl_ctx *ctx, void *arg)
{
	task_arg *a = arg;
	eng *e = a->e;
	hold_start(&a->hold, e);
	fl_select_case cs[FL__JOB_MAX_STAGES + 256];
	jitem items[FL__JOB_MAX_STAGES + 256];
	size_t open = (size_t)a->nout;
	for (size_t i = 0; i < open; i++)
		cs[i] = (fl_select_case){.op = FL_RECV, .ch = e->ch[a->in + (int)i], .elem = &items[i]};
	fl_err *ret = NULL;
	while (open > 0 && !ret) {
		int i = fl_select(cs, open, ctx, FL_FOREVER);
		if (i < 0) {
			ret = fl__scn_stopped(ctx, i, e->j->stages[e->j->nstages - 1]);
			break;
		}
		if (cs[i].status == FL_CLOSED) {
			cs[i] = cs[--open]; /* its elem slot moves along with it */
			continue;
		}
		ret = deliver(e, cs[i].elem, ctx, &a->hold);
	}
	fl_err_drop(fl_chan_close(e->flowing));
	return ret;
}

/* ---- nested groups: fan-out and per-item ---------------------------------- */

/* A bulkhead dispatcher's state, shared with the tasks it starts. */
typedef struct disp {
	fl_chan *ended;                          /* a task ended: wakes the drain */
	atomic_int inflight;                     /* admitted tasks not yet ended */
	atomic_bool failed[FL__JOB_MAX_TENANTS]; /* per key: an item failed in it */
} disp;

typedef struct one_arg {
	eng *e;
	int stage, out;
	jitem it;
	hold_t hold;
	disp *d;  /* bulkhead: the dispatcher; NULL: a nested group's task */
	int key;  /* bulkhead: the compartment's key index */
} one_arg;

/* Runs when a per-item task ends, normally or by a captured panic. */
static void one_cleanup(void *arg)
{
	one_arg *o = arg;
	disp *d = o->d;
	hold_cleanup(&o->hold);
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
	eng *e = o->e;
	long id = o->it.id;
	o->hold = (hold_t){.e = e, .failed = o->d ? &o->d->failed[o->key] : NULL};
	fl_err *err = fl_defer(one_cleanup, o);
	if (err)
		count_item(e, C_CANCELLED, id, 1);
	return err;
}

static fl_err *one_fn(fl_ctx *ctx, void *arg)
{
	one_arg *o = arg;
	fl_err *err = one_defer(o);
	if (err)
		return err;
	int copies;
	return handle(o->e, o->stage, &o->it, o->out, ctx, &copies, &o->hold);
}

/* Per-item: the item's own pipeline over the middle stages. */
typedef struct sub_stage {
	eng *e;
	int stage;
	fl_chan *in, *out;
	hold_t hold;
} sub_stage;

static fl_err *sub_stage_fn(fl_ctx *ctx, void *arg)
{
	sub_stage *ss = arg;
	fl_err *ret = NULL;
	jitem it;
	int st;
	hold_start(&ss->hold, ss->e);
	while (!ret && (st = fl_chan_recv(ss->in, &it, ctx, FL_FOREVER)) == FL_OK) {
		int copies;
		ret = handle(ss->e, ss->stage, &it, -1, ctx, &copies, &ss->hold);
		for (int k = 0; !ret && k < copies; k++)
			if (fl_chan_send(ss->out, &it, ctx, FL_FOREVER) != FL_OK) {
				count_item(ss->e, C_CANCELLED, it.id, copies - k);
				ret = fl__scn_stopped(ctx, FL_CANCELED, ss->e->j->stages[ss->stage]);
			}
	}
	if (!ret && st != FL_CLOSED)
		ret = fl__scn_stopped(ctx, st, ss->e->j->stages[ss->stage]);
	fl_err_drop(fl_chan_close(ss->out));
	return ret;
}

/* Runs one item through an inner group, then forwards what comes out. */
static fl_err *item_pipeline(eng *e, one_arg *o, fl_ctx *ctx)
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
		count_item(e, C_CANCELLED, o->it.id, 1);
		return err;
	}
	int made = 0;
	/* 1 << nmid slots: every stage may duplicate the item */
	for (; made <= nmid && !err; made++)
		err = fl_err_wrap(fl_chan_new(sizeof(jitem), (size_t)1 << nmid,
					      &(struct fl_chan_opts){.name = "item"}, &ch[made]),
				  "channel item");
	if (err)
		made--;
	if (!err) {
		(void)fl_chan_send(ch[0], &o->it, NULL, FL_TRY);
		fl_err_drop(fl_chan_close(ch[0]));
		for (int s = 0; s < nmid && !err; s++) {
			ss[s] = (sub_stage){.e = e, .stage = s + 1, .in = ch[s], .out = ch[s + 1],
					    .hold = {.failed = o->hold.failed}};
			(void)fl__scn_go(g, ictx, j->stages[s + 1], sub_stage_fn, &ss[s], &err);
		}
	}
	fl_err *werr = fl_group_wait(g);
	fl_group_free(g);
	err = err ? fl_err_join2(err, werr) : werr;
	jitem it;
	while (made == nmid + 1 && fl_chan_recv(ch[nmid], &it, NULL, FL_TRY) == FL_OK) {
		if (err) {
			count_item(e, C_CANCELLED, it.id, 1);
			continue;
		}
		err = forward(e, o->out, &it, 1, ctx, "item");
	}
	/* items left before or between inner stages after a failure (or when
	 * a stage could not start) were cancelled */
	for (int c = 0; c < made && c < nmid; c++)
		while (fl_chan_recv(ch[c], &it, NULL, FL_TRY) == FL_OK)
			count_item(e, C_CANCELLED, it.id, 1);
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

static int planted_limit(const eng *e, int limit)
{
	if (e->j->plant == PLANT_BREACH_LIMIT)
		return limit + 1; /* the bug: the group allows one more */
	if (e->j->plant == PLANT_STARVE_LIMIT && limit > 1)
		return limit - 1; /* the bug: one slot never used */
	return limit;
}

/* Fan-out stage (per_item false) or the per-item layer: a dispatcher
 * starting one task per item in a nested group with the job's limit. */
static fl_err *dispatch_group(fl_ctx *ctx, task_arg *a, const char *name)
{
	eng *e = a->e;
	bool per_item = e->j->shape == JOB_PERITEM;
	fl_group *g;
	fl_ctx *ictx;
	struct fl_group_opts go = {.name = name, .limit = planted_limit(e, e->limit),
				   .panic = FL_PANIC_CAPTURE};
	fl_err *ret = fl_group_new(ctx, &go, &g, &ictx);
	if (ret) {
		done_writing(e, a->out);
		return ret;
	}
	bool saturated = false;
	for (;;) {
		jitem it;
		int st = fl_chan_recv(e->ch[a->in], &it, ictx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			ret = fl__scn_stopped(ictx, st, name);
			break;
		}
		one_arg *o = malloc(sizeof(*o));
		if (!o) {
			count_item(e, C_CANCELLED, it.id, 1);
			ret = fl_err_wrap(FL_ERR_NOMEM, "%s", name);
			break;
		}
		*o = (one_arg){.e = e, .stage = a->stage, .out = a->out, .it = it};
		fl_task_fn fn = per_item ? per_item_fn : one_fn;
		fl_err *err = fl_group_try_go(g, fn, o);
		if (err && fl_err_is(err, FL_ERR_LIMIT)) {
			fl_err_drop(err);
			saturated = true;
			err = fl_group_go_named(g, name, fn, o);
		}
		if (err) {
			free(o);
			count_item(e, C_CANCELLED, it.id, 1);
			ret = err;
			break;
		}
	}
	fl_err *werr = fl_group_wait(g);
	int hwm = fl_group_hwm(g);
	fl_group_free(g);
	pthread_mutex_lock(&e->mu);
	e->inner_hwm = hwm > e->inner_hwm ? hwm : e->inner_hwm;
	e->saturated |= saturated;
	pthread_mutex_unlock(&e->mu);
	done_writing(e, a->out);
	if (werr) { /* an item's own failure beats "the dispatcher was cancelled" */
		fl_err_drop(ret);
		return werr;
	}
	return ret;
}

/*
 * The end of input with load shedding on (a finite bulkhead_wait): the
 * dispatcher waits for its compartments while they make progress. Once
 * none of its tasks has ended for cancel_hang, the ones still running are
 * taken as stuck (a hung tenant) and cancelled, so the run can end; their
 * items count as cancelled. With bulkhead_wait = forever it waits forever.
 */
static void drain_bulkhead(eng *e, disp *d, fl_bulkhead *b, fl_ctx *ctx, const char *name)
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
static void bulkhead_done(eng *e, int stage, disp *d, fl_bulkhead *b, const bool *saturated)
{
	bool shared = e->j->plant == PLANT_SHARED_BULKHEAD;
	const fl_bulkhead_result *res;
	size_t n = fl_bulkhead_results(b, &res);
	fl_err *failed = NULL;
	pthread_mutex_lock(&e->mu);
	struct bh_stats *bs = &e->bh[stage];
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
 * Fan-out stage or per-item layer with a bulkhead: each item runs in its
 * tenant's compartment (limit: bulkhead). A full compartment sheds the
 * item after bulkhead_wait (forever: waits; 0: at once). The dispatcher
 * returns only its own stop (a cancel, an environment error): failures in
 * compartments go into the pipeline's result without cancelling it.
 */
static fl_err *dispatch_bulkhead(fl_ctx *ctx, task_arg *a, const char *name)
{
	eng *e = a->e;
	const fl__job *j = e->j;
	bool per_item = j->shape == JOB_PERITEM;
	bool shared = j->plant == PLANT_SHARED_BULKHEAD;
	int64_t wait = j->bulkhead_wait_ns < 0 ? -1 : j->bulkhead_wait_ns * e->p->time_scale;
	bool saturated[FL__JOB_MAX_TENANTS] = {false};
	fl_bulkhead *b = NULL;
	disp *d = calloc(1, sizeof(*d));
	fl_err *ret = d ? fl_chan_new(1, 1, &(struct fl_chan_opts){.name = name}, &d->ended)
			: FL_ERR_NOMEM;
	struct fl_bulkhead_opts bo = {.name = name, .limit = planted_limit(e, j->bulkhead),
				      .per_item = j->mode != JOB_FIRST_ERROR,
				      .panic = FL_PANIC_CAPTURE};
	if (!ret && (ret = fl_bulkhead_new(ctx, &bo, &b)))
		fl_chan_free(d->ended);
	if (ret) {
		free(d);
		done_writing(e, a->out);
		return ret;
	}
	for (;;) {
		jitem it;
		int st = fl_chan_recv(e->ch[a->in], &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			ret = fl__scn_stopped(ctx, st, name);
			break;
		}
		/* the planted bug puts every tenant into one compartment */
		int k = shared ? 0 : tenant_of(e, it.id);
		const char *key = shared ? "shared" : e->tkeys[k];
		one_arg *o = malloc(sizeof(*o));
		if (!o) {
			count_item(e, C_CANCELLED, it.id, 1);
			ret = fl_err_wrap(FL_ERR_NOMEM, "%s", name);
			break;
		}
		*o = (one_arg){
		    .e = e, .stage = a->stage, .out = a->out, .it = it, .d = d, .key = k};
		fl_task_fn fn = per_item ? per_item_fn : one_fn;
		atomic_fetch_add(&d->inflight, 1);
		bool shed = false;
		fl_err *err = fl_bulkhead_try_go(b, key, fn, o);
		if (err && fl_err_is(err, FL_ERR_LIMIT)) {
			fl_err_drop(err);
			err = NULL;
			saturated[k] = true;
			fl_ctx *wctx = NULL;
			if (wait == 0)
				shed = true;
			else if (wait < 0) /* the compartment's context: ends with the tenant */
				err = fl_bulkhead_go(b, NULL, key, fn, o);
			else if (!(err = fl_ctx_with_timeout(ctx, wait, NULL, &wctx))) {
				err = fl_bulkhead_go(b, wctx, key, fn, o);
				shed = err && fl_ctx_done(wctx) && !fl_ctx_done(ctx);
			}
			fl_ctx_free(wctx);
		}
		if (!err && !shed)
			continue; /* the task owns o now */
		free(o);
		atomic_fetch_sub(&d->inflight, 1);
		if (shed) {
			fl_err_drop(err);
			count_item(e, C_SHED, it.id, 1);
			continue;
		}
		count_item(e, C_CANCELLED, it.id, 1);
		if (fl_ctx_done(ctx)) {
			fl_err_drop(err);
			ret = fl__scn_stopped(ctx, FL_CANCELED, name);
			break;
		}
		if (fl_err_is(err, FL_ERR_CANCELED) || fl_err_is(err, FL_ERR_DEADLINE)) {
			fl_err_drop(err); /* its compartment ended: that tenant failed */
			continue;
		}
		ret = err;
		break;
	}
	if (ret)
		fl_bulkhead_cancel(b, NULL);
	else if (wait >= 0)
		drain_bulkhead(e, d, b, ctx, name);
	fl_err_drop(fl_bulkhead_wait(b)); /* bulkhead_done keeps the failures */
	bulkhead_done(e, a->stage, d, b, saturated);
	fl_bulkhead_free(b);
	fl_chan_free(d->ended);
	free(d);
	done_writing(e, a->out);
	return ret;
}

static fl_err *dispatch_fn(fl_ctx *ctx, void *arg)
{
	task_arg *a = arg;
	eng *e = a->e;
	const char *name = e->j->shape == JOB_PERITEM ? "per-item" : e->j->stages[a->stage];
	return e->ntenants ? dispatch_bulkhead(ctx, a, name) : dispatch_group(ctx, a, name);
}

/* ---- one iteration ------------------------------------------------------------ */

typedef struct plan_set {
	eng *e;
	task_arg args[FL__JOB_MAX_STAGES * 256 + 8];
	int nargs;
} plan_set;

static task_arg *arg_new(plan_set *ps, int stage, int in, int out, int nout)
{
	task_arg *a = &ps->args[ps->nargs++];
	*a = (task_arg){.e = ps->e, .stage = stage, .in = in, .out = out, .nout = nout};
	return a;
}

/* Creates channel c (writers: nwriters). */
static fl_err *chan_at(eng *e, int c, int nwriters)
{
	char name[FL_SCENARIO_NAME_MAX + 16];
	snprintf(name, sizeof(name), "%s.%d", e->j->name, c);
	struct fl_chan_opts o = {.name = name};
	fl_err *err = fl_chan_new(sizeof(jitem), (size_t)e->j->buffer, &o, &e->ch[c]);
	if (err)
		return err;
	atomic_store(&e->left[c], nwriters);
	e->nch = c + 1 > e->nch ? c + 1 : e->nch;
	return NULL;
}

/* Builds the shape's channels and starts its tasks. */
static fl_err *build(eng *e, plan_set *ps)
{
	const fl__job *j = e->j;
	int last = j->nstages - 1, w = j->width;
	fl_err *err = NULL;
#define GO(name, fn, a) (void)fl__scn_go(e->g, e->gctx, (name), (fn), (a), &err)
	switch (j->shape) {
	case JOB_DIAMOND:
		for (int b = 0; b < 2 * w && !err; b++)
			err = chan_at(e, b, 1);
		if (err)
			return err;
		task_arg *src = arg_new(ps, 0, -1, 0, w);
		src->hi = j->items;
		GO(j->stages[0], source_fn, src);
		for (int b = 0; b < w && !err; b++)
			GO(j->stages[1], branch_fn, arg_new(ps, 1, b, w + b, 1));
		GO(j->stages[last], sink_fn, arg_new(ps, last, w, -1, w));
		return err;
	case JOB_PERITEM:
		if ((err = chan_at(e, 0, 1)) || (err = chan_at(e, 1, 1)))
			return err;
		task_arg *src1 = arg_new(ps, 0, -1, 0, 1);
		src1->hi = j->items;
		GO(j->stages[0], source_fn, src1);
		GO("per-item", dispatch_fn, arg_new(ps, 1, 0, 1, 1));
		GO(j->stages[last], sink_fn, arg_new(ps, last, 1, -1, 1));
		return err;
	default:
		break;
	}
	int nsrc = j->shape == JOB_FANIN ? w : 1;
	for (int c = 0; c < last && !err; c++) {
		int writers = c == 0 ? nsrc : j->shape == JOB_FANOUT ? 1 : j->workers;
		err = chan_at(e, c, writers);
	}
	if (err)
		return err;
	for (int k = 0; k < nsrc && !err; k++) {
		task_arg *a = arg_new(ps, 0, -1, 0, 1);
		a->lo = j->items * k / nsrc;
		a->hi = j->items * (k + 1) / nsrc;
		GO(j->stages[0], source_fn, a);
	}
	for (int s = 1; s < last && !err; s++) {
		if (j->shape == JOB_FANOUT) {
			GO(j->stages[s], dispatch_fn, arg_new(ps, s, s - 1, s, 1));
			continue;
		}
		for (int k = 0; k < j->workers && !err; k++)
			GO(j->stages[s], middle_fn, arg_new(ps, s, s - 1, s, 1));
	}
	GO(j->stages[last], sink_fn, arg_new(ps, last, last - 1, -1, 1));
#undef GO
	return err;
}

/* Drains what is left in the channels: cancelled in flight. */
static void drain(eng *e)
{
	jitem it;
	for (int c = 0; c < e->nch; c++)
		while (fl_chan_recv(e->ch[c], &it, NULL, FL_TRY) == FL_OK)
			count_item(e, C_CANCELLED, it.id, 1);
}

static const fl_err *sentinel_named(const char *name)
{
	static const struct { const char *n; const fl_err *e; } t[] = {
		{"canceled", FL_ERR_CANCELED}, {"deadline", FL_ERR_DEADLINE},
		{"nomem", FL_ERR_NOMEM},       {"closed", FL_ERR_CLOSED},
		{"limit", FL_ERR_LIMIT},       {"inval", FL_ERR_INVAL},
		{"again", FL_ERR_AGAIN},       {"misuse", FL_ERR_MISUSE},
		{"panic", FL_ERR_PANIC},       {"system", FL_ERR_SYSTEM}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, name) == 0)
			return t[i].e;
	return NULL;
}

static void check_error(eng *e, fl_scenario_result *r, const fl_err *err, bool cancelled)
{
	const fl__job *j = e->j;
	long escaped = val(e, C_INJECTED) - val(e, C_ABSORBED);
	char got[200] = "<nil>";
	if (err)
		fl_err_format(err, got, sizeof(got));
	const char *want = j->expect_error;
	bool ok;
	char why[120] = "";
	if (want[0] && strcmp(want, "none") != 0) {
		if (strcmp(want, "any") == 0)
			ok = err != NULL;
		else if (strcmp(want, "injected") == 0)
			ok = fl_err_as(err, &fl_fault_info_type) != NULL;
		else
			ok = fl_err_is(err, sentinel_named(want));
		snprintf(why, sizeof(why), "expected %s", want);
		if (ok && j->expect_stage[0]) {
			const fl_scenario_stage_err *se = fl_err_as(err, &fl_scenario_stage_err_type);
			ok = se && strcmp(se->stage, j->expect_stage) == 0;
			snprintf(why, sizeof(why), "expected %s from stage %s", want, j->expect_stage);
		}
	} else if (want[0]) {
		ok = err == NULL;
		snprintf(why, sizeof(why), "expected no error");
	} else if ((escaped > 0 || val(e, C_FAILED) > 0) && j->mode == JOB_FIRST_ERROR) {
		ok = err && (fl_err_as(err, &fl_fault_info_type) ||
			     fl_err_is(err, FL_ERR_CIRCUIT_OPEN) || fl_err_is(err, FL_ERR_PANIC) ||
			     (cancelled && fl_err_is(err, FL_ERR_CANCELED)));
		snprintf(why, sizeof(why), "%ld injected error(s) escaped, %ld item(s) failed: "
			 "fail-fast must return one", escaped, val(e, C_FAILED));
	} else if (escaped > 0 && j->mode == JOB_COLLECT_ALL) {
		long kept = (long)e->nerrs + e->extra_errs;
		ok = err && kept == escaped;
		snprintf(why, sizeof(why), "collect-all: %ld of %ld injected errors joined", kept,
			 escaped);
	} else if (cancelled) {
		/* a stage may have failed on its own while the cancel landed */
		ok = fl_err_is(err, FL_ERR_CANCELED) || fl_err_is(err, FL_ERR_PANIC) ||
		     (escaped > 0 && fl_err_as(err, &fl_fault_info_type));
		snprintf(why, sizeof(why), "cancelled by the driver: expected canceled");
	} else {
		ok = err == NULL || fl_err_is(err, FL_ERR_PANIC);
		snprintf(why, sizeof(why), "no error escaped a stage: expected nil");
	}
	fl_scenario_check(r, JOB_CHECK_ERROR, ok, (double)escaped, NAN, NULL, "%s; got %s", why,
			  got);
}

static void check_conservation(eng *e, fl_scenario_result *r)
{
	long in = val(e, C_PRODUCED) + val(e, C_DUPS);
	long out = val(e, C_DELIVERED) + val(e, C_SKIPPED) + val(e, C_SHED) + val(e, C_FAILED) +
		   val(e, C_DLQ) + val(e, C_CANCELLED);
	fl_scenario_check(r, JOB_CHECK_CONSERVE, in == out, (double)out, (double)in, NULL,
			  "produced %ld + duplicated %ld = %ld; delivered %ld + skipped %ld + "
			  "shed %ld + failed %ld + dead-lettered %ld + cancelled %ld = %ld",
			  val(e, C_PRODUCED), val(e, C_DUPS), in, val(e, C_DELIVERED),
			  val(e, C_SKIPPED), val(e, C_SHED), val(e, C_FAILED), val(e, C_DLQ),
			  val(e, C_CANCELLED), out);
}

/* ---- bulkhead checks ------------------------------------------------------------ */

/* Per dispatching stage, over its compartments: no hwm above the limit,
 * and every compartment ever found full (try_go refused) reached it. */
static void check_bulkheads(eng *e, fl_scenario_result *r)
{
	const fl__job *j = e->j;
	int lim = j->bulkhead;
	bool shared = j->plant == PLANT_SHARED_BULKHEAD;
	for (int s = 1; s < j->nstages - 1; s++) {
		const char *hwm_check = j->bh_checks[s][0], *reach_check = j->bh_checks[s][1];
		if (!hwm_check[0])
			continue;
		const struct bh_stats *bs = &e->bh[s];
		if (!bs->ran) {
			fl_scenario_skip(r, hwm_check, "the dispatcher did not run to its end");
			fl_scenario_skip(r, reach_check, "the dispatcher did not run to its end");
			continue;
		}
		int nkeys = 0, top = -1, nsat = 0, short_k = -1;
		for (int k = 0; k < FL__JOB_MAX_TENANTS; k++) {
			if (!bs->used[k])
				continue;
			nkeys++;
			if (top < 0 || bs->hwm[k] > bs->hwm[top])
				top = k;
			if (!bs->saturated[k])
				continue;
			nsat++;
			if (bs->hwm[k] != lim && short_k < 0)
				short_k = k;
		}
		const char *stage = j->shape == JOB_PERITEM ? "per-item" : j->stages[s];
#define KEY(k) (shared ? "shared" : e->tkeys[k])
		int hwm = top < 0 ? 0 : bs->hwm[top];
		fl_scenario_check(r, hwm_check, hwm <= lim, hwm, lim, NULL,
				  "%d compartment(s); highest hwm %d (%s/%s), limit %d", nkeys, hwm,
				  stage, top < 0 ? "-" : KEY(top), lim);
		if (nsat == 0)
			fl_scenario_skip(r, reach_check, "no compartment was ever full");
		else if (short_k < 0)
			fl_scenario_check(r, reach_check, true, lim, lim, NULL,
					  "%d compartment(s) were full and every one reached %d",
					  nsat, lim);
		else
			fl_scenario_check(r, reach_check, false, bs->hwm[short_k], lim, NULL,
					  "%s/%s was full (try_go refused) but its hwm is %d of %d",
					  stage, KEY(short_k), bs->hwm[short_k], lim);
#undef KEY
	}
}

typedef struct hit_scan {
	const eng *e;
	bool *hit;
} hit_scan;

static void hit_by_event(const fl_fault_event *ev, void *arg)
{
	hit_scan *h = arg;
	if (ev->item >= 0 && ev->t_ns >= h->e->t_start)
		h->hit[tenant_of(h->e, (long)ev->item)] = true;
}

/* Marks the tenants plan's faults met in this iteration: from its fire
 * log, or if the log overflowed, from its "tK/STAGE" points' counts. */
static void hits_of_plan(const eng *e, const fl_fault_plan *plan, bool *hit)
{
	if (!plan)
		return;
	hit_scan hs = {e, hit};
	fl_fault_log_foreach(plan, hit_by_event, &hs);
	if (fl_fault_log_overflows(plan) == 0)
		return;
	fl_fault_point_stats st;
	for (int t = 0; t < e->ntenants; t++)
		for (int s = 1; s < e->j->nstages - 1 && !hit[t]; s++)
			hit[t] = fl_fault_stats_get(plan, e->tpoints[t][s], &st) &&
				 st.fires_total > 0;
}

/*
 * Tenant isolation: a tenant no fault met must lose nothing to another's
 * trouble. Hit: a fault fired on one of its items in this iteration (the
 * fire logs of the job's plan and of the runner's), the engine saw an
 * injected error or a fault's wait cut short on one, or an item of it
 * failed or was dead-lettered. Every other tenant must have shed nothing
 * and had nothing cancelled.
 */
static void check_isolation(eng *e, fl_scenario_result *r, const fl_fault_plan *plan,
			    bool cancelled)
{
	if (cancelled) {
		fl_scenario_skip(r, JOB_CHECK_ISOLATION,
				 "does not apply under a driver cancel (cancel_at): every tenant "
				 "loses its items in flight");
		return;
	}
	if (atomic_load(&e->fail_ns)) {
		fl_scenario_skip(r, JOB_CHECK_ISOLATION,
				 "does not apply: a failure outside the compartments cancelled "
				 "the whole pipeline");
		return;
	}
	int nt = e->ntenants;
	bool hit[FL__JOB_MAX_TENANTS];
	for (int t = 0; t < nt; t++)
		hit[t] = atomic_load(&e->hit[t]) || atomic_load(&e->tn[C_FAILED][t]) > 0 ||
			 atomic_load(&e->tn[C_DLQ][t]) > 0;
	hits_of_plan(e, plan, hit);           /* the job's own */
	hits_of_plan(e, r->faults_plan, hit); /* the runner's (--faults, stress) */
	char hits[120] = "";
	size_t len = 0;
	int nhit = 0, bad = -1, nbad = 0;
	for (int t = 0; t < nt; t++) {
		long shed = atomic_load(&e->tn[C_SHED][t]);
		long canc = atomic_load(&e->tn[C_CANCELLED][t]);
		if (hit[t]) {
			nhit++;
			if (len < sizeof(hits) - 1)
				len += (size_t)snprintf(hits + len, sizeof(hits) - len, "%s%s",
							len ? ", " : "", e->tkeys[t]);
		} else if (shed || canc) {
			nbad++;
			bad = bad < 0 ? t : bad;
		}
	}
	if (bad >= 0) {
		fl_scenario_check(r, JOB_CHECK_ISOLATION, false, nbad, 0, NULL,
				  "%s: no fault met it, yet %ld shed and %ld cancelled (produced "
				  "%ld, delivered %ld); %d such tenant(s); hit: %s",
				  e->tkeys[bad], atomic_load(&e->tn[C_SHED][bad]),
				  atomic_load(&e->tn[C_CANCELLED][bad]),
				  atomic_load(&e->tn[C_PRODUCED][bad]),
				  atomic_load(&e->tn[C_DELIVERED][bad]), nbad,
				  nhit ? hits : "none");
		return;
	}
	fl_scenario_check(r, JOB_CHECK_ISOLATION, true, 0, 0, NULL,
			  "%d tenant(s) hit (%s); the other %d lost nothing", nhit,
			  nhit ? hits : "none", nt - nhit);
}

/* Per-tenant fates as counters "tenant.tK.FATE" (produced and delivered
 * always, the others when not zero), as far as the result has room. */
static void count_tenants(eng *e, fl_scenario_result *r)
{
	char name[FL_SCENARIO_NAME_MAX];
	for (int t = 0; t < e->ntenants; t++)
		for (int c = 0; c < NFATE; c++) {
			long v = atomic_load(&e->tn[c][t]);
			if (v == 0 && c != C_PRODUCED && c != C_DELIVERED)
				continue;
			snprintf(name, sizeof(name), "tenant.%s.%s", e->tkeys[t], fate_names[c]);
			if (fl_scenario_find_counter(r, name) ||
			    r->ncounters < FL_SCENARIO_MAX_COUNTERS)
				fl_scenario_count(r, name, v);
		}
}

static void plant_leaks(const fl__job *j)
{
	static atomic_int next;
	int k = atomic_fetch_add(&next, 1);
	if (k >= 64)
		return;
	if (j->plant == PLANT_LEAK) {
		fl_chan *c;
		if (!fl_chan_new(1, 0, NULL, &c))
			planted_leaks[k] = c;
	} else if (j->plant == PLANT_LEAK_HEAP) {
		size_t n = (size_t)32 << 20;
		char *m = malloc(n);
		if (m)
			memset(m, 1, n);
		planted_leaks[k] = m;
	}
}

typedef struct hists {
	fl_hdr *stage[FL__JOB_MAX_STAGES], *e2e, *svc, *cancel;
} hists;

static fl_err *get_hists(const fl__job *j, fl_scenario_result *r, hists *h)
{
	fl_err *err = NULL;
	char name[FL_SCENARIO_NAME_MAX];
	for (int s = 0; s < j->nstages && !err; s++) {
		snprintf(name, sizeof(name), "stage.%s", j->stages[s]);
		err = fl_scenario_hist(r, name, &h->stage[s]);
	}
	if (!err)
		err = fl_scenario_hist(r, "e2e", &h->e2e);
	if (!err)
		err = fl_scenario_hist(r, "service", &h->svc);
	if (!err)
		err = fl_scenario_hist(r, "cancel", &h->cancel);
	return err;
}

/* Runs iteration it; returns only environment errors. */
static fl_err *iteration(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			 const hists *h, int it)
{
	eng *e = calloc(1, sizeof(*e));
	plan_set *ps = calloc(1, sizeof(*ps));
	fl_fault_plan *plan = NULL;
	fl_err *env = NULL;
	if (!e || !ps) {
		free(e);
		free(ps);
		return fl_err_wrap(FL_ERR_NOMEM, "job %s", j->name);
	}
	e->j = j;
	e->p = p;
	e->t_start = fl_now();
	ps->e = e;
	e->work_ns = j->work_ns * p->time_scale;
	e->limit = j->group_limit > 0 ? j->group_limit : 0;
	pthread_mutex_init(&e->mu, NULL);
	memcpy(e->stage_h, h->stage, sizeof(e->stage_h));
	e->e2e = h->e2e;
	e->svc = h->svc;
	for (int s = 0; s < j->nstages; s++)
		fl_fault_site_init(&e->sites[s], j->stages[s]);
	e->ntenants = j->bulkhead > 0 ? j->tenants : 0;
	for (int t = 0; t < e->ntenants; t++) {
		snprintf(e->tkeys[t], sizeof(e->tkeys[t]), "t%d", t);
		for (int s = 1; s < j->nstages - 1; s++) {
			snprintf(e->tpoints[t][s], sizeof(e->tpoints[t][s]), "t%d/%s", t,
				 j->stages[s]);
			fl_fault_site_init(&e->tsites[t][s], e->tpoints[t][s]);
		}
	}
	if ((env = fl_ctx_with_cancel(fl_ctx_background(), &e->parent)))
		goto out_e;
	if (j->faults[0] &&
	    (env = fl_fault_arm_scoped(j->faults, p->seed + (uint64_t)it, e->parent, &plan)))
		goto out_parent;
	struct fl_group_opts go = {.name = j->name, .panic = FL_PANIC_CAPTURE};
	if ((env = fl_group_new(e->parent, &go, &e->g, &e->gctx)))
		goto out_plan;
	for (int st = 1; st < j->nstages - 1 && !env && j->breaker > 0; st++) {
		struct fl_breaker_opts bo = {.name = j->stages[st],
					     .consecutive_failures = j->breaker,
					     .cooldown_ns = j->breaker_cooldown_ns * p->time_scale};
		env = fl_breaker_new(&bo, &e->breakers[st]);
	}
	if (!env && j->budget > 0)
		env = fl_retry_budget_new(j->budget / 100.0, 1, FL_SEC(10), &e->budget);
	if (env) {
		fl_err_drop(fl_group_wait(e->g));
		goto out_group;
	}
	if (j->dlq && (env = fl_dlq_new(NULL, &e->dlq))) {
		fl_err_drop(fl_group_wait(e->g));
		goto out_group;
	}
	if ((env = fl_chan_new(1, 1, NULL, &e->flowing))) {
		fl_err_drop(fl_group_wait(e->g));
		goto out_group;
	}
	char what[FL_SCENARIO_NAME_MAX + 32];
	snprintf(what, sizeof(what), "cancel of job %s", j->name);
	(void)fl__scn_watchdog_start_idle(&e->wd, what, j->cancel_hang_ns * p->time_scale, &plan,
					  1);
	if (it == 0 && j->plant != PLANT_NONE)
		plant_leaks(j);

	e->t0 = fl_now();
	env = build(e, ps);
	bool cancelled = false;
	int64_t t_cancel = 0;
	char tok;
	/* the sink sends the token at the chosen point and closes the channel
	 * when it returns; a failed group (a panicking sink cannot close it)
	 * ends the wait through gctx */
	if (!env && j->cancel_at > 0 &&
	    fl_chan_recv(e->flowing, &tok, e->gctx, FL_FOREVER) == FL_OK) {
		cancelled = true;
		t_cancel = fl_now();
		fl__scn_watchdog_kick(&e->wd);
		fl_ctx_cancel(e->parent, NULL);
	}
	if (env)
		fl_group_cancel(e->g, env);
	fl_err *err = fl_group_wait(e->g);
	/* sim: a stage that ignores the cancel shows up as a deadlock */
	while (err && fl_err_is(err, FL_ERR_DEADLOCK) && fl__scn_watchdog_deadlock(&e->wd)) {
		fl_err_drop(err);
		err = fl_group_wait(e->g);
	}
	int64_t t_ret = fl_now();
	int64_t t_fail = atomic_load(&e->fail_ns);
	if (!cancelled && t_fail)
		t_cancel = t_fail;
	if (t_cancel)
		fl_hdr_record(h->cancel, t_ret - t_cancel > 0 ? t_ret - t_cancel : 1);
	if (fl__scn_watchdog_stop(&e->wd)) {
		r->hung = true;
		fl_scenario_check(r, JOB_CHECK_CANCEL, false, NAN,
				  (double)(j->cancel_hang_ns * p->time_scale), "ns",
				  "stage(s) %s did not return after the cancel (task dump on stderr)",
				  e->wd.stuck);
	}
	drain(e);
	size_t dead = 0;
	if (e->dlq && !env && (env = fl_dlq_count(e->dlq, &dead)) == NULL)
		atomic_store(&e->n[C_DLQ], (long)dead);
	if (!env) {
		if (e->nerrs) {
			fl_err *joined = fl_err_join(e->errs, e->nerrs);
			err = err ? fl_err_join2(err, joined) : joined;
		}
		if (e->contained) { /* tenants' failures, after the pipeline's own */
			err = err ? fl_err_join2(err, e->contained) : e->contained;
			e->contained = NULL;
		}
		check_conservation(e, r);
		check_error(e, r, err, cancelled);
		fl_scenario_note_err(r, p, j->name, err);
		if (e->ntenants) {
			check_bulkheads(e, r);
			check_isolation(e, r, plan, cancelled);
		}
	}
	fl_err_drop(err);
	fl_err_drop(e->contained);
	for (int c = 0; c < NCOUNT; c++)
		fl_scenario_count(r, count_names[c], val(e, c));
	fl_scenario_count(r, "items", val(e, C_DELIVERED));
	count_tenants(e, r);
	if (e->limit > 0 && (j->shape == JOB_FANOUT || j->shape == JOB_PERITEM)) {
		const char *gname = j->shape == JOB_FANOUT ? j->stages[1] : "per-item";
		if (e->saturated)
			fl_scenario_note_group_saturated(r, gname, e->limit, e->inner_hwm);
		else
			fl_scenario_note_group(r, gname, e->limit, e->inner_hwm);
	}
	for (int c = 0; c < e->nch; c++)
		fl_chan_free(e->ch[c]);
	fl_chan_free(e->flowing);
out_group:
	fl_dlq_free(e->dlq);
	for (int st = 0; st < FL__JOB_MAX_STAGES; st++)
		fl_breaker_free(e->breakers[st]);
	fl_retry_budget_free(e->budget);
	fl_group_free(e->g);
out_plan:
	fl_fault_plan_free(plan);
out_parent:
	fl_ctx_free(e->parent);
out_e:
	pthread_mutex_destroy(&e->mu);
	free(e);
	free(ps);
	return env;
}

/* ---- the scenario --------------------------------------------------------------- */

/* p50/p99/max of the cancel latencies against the job's thresholds. */
static void check_cancel(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			 const fl_hdr *h)
{
	const fl_scenario_verdict *v = fl_scenario_find_check(r, JOB_CHECK_CANCEL);
	if (v && v->verdict == FL_REPORT_FAIL)
		return; /* the watchdog already named the stuck stage */
	int64_t n = fl_hdr_total_count(h);
	if (n == 0) {
		const char *why = j->bulkhead > 0
					  ? "no pipeline-wide cancellation (no cancel_at, no "
					    "failure outside a bulkhead compartment)"
					  : "no cancellation happened (no cancel_at, no failing stage)";
		fl_scenario_skip(r, JOB_CHECK_CANCEL, why);
		return;
	}
	int64_t p50 = fl_hdr_value_at_percentile(h, 50), p99 = fl_hdr_value_at_percentile(h, 99);
	int64_t max = fl_hdr_max(h);
	char a[24], b[24], c[24];
	fl_report_format_ns((double)p50, true, a, sizeof(a));
	fl_report_format_ns((double)p99, true, b, sizeof(b));
	fl_report_format_ns((double)max, true, c, sizeof(c));
	if (!fl_scenario_judge_timing(p)) {
		fl_scenario_check(r, JOB_CHECK_CANCEL, true, (double)p99, NAN, "ns",
				  "%lld cancels, every wait returned and joined (p50 %s, p99 %s, "
				  "max %s; thresholds not evaluated: skip_timing)",
				  (long long)n, a, b, c);
		return;
	}
	int64_t s = p->time_scale;
	bool ok50 = !j->cancel_p50_ns || p50 <= j->cancel_p50_ns * s;
	bool ok99 = !j->cancel_p99_ns || p99 <= j->cancel_p99_ns * s;
	bool okmax = !j->cancel_max_ns || max <= j->cancel_max_ns * s;
	fl_scenario_check(r, JOB_CHECK_CANCEL, ok50 && ok99 && okmax, (double)p99,
			  j->cancel_p99_ns ? (double)(j->cancel_p99_ns * s) : NAN, "ns",
			  "%lld cancels: p50 %s, p99 %s, max %s%s", (long long)n, a, b, c,
			  ok50 && ok99 && okmax ? "" : " (over a threshold)");
}

static void check_slo(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
		      const fl_hdr *h)
{
	static const double pct[4] = {50, 99, 99.9, 100};
	static const char *const label[4] = {"p50", "p99", "p99.9", "max"};
	bool any = false;
	for (int i = 0; i < 4; i++)
		any |= j->slo_ns[i] > 0;
	if (!any)
		return;
	if (!fl_scenario_judge_timing(p)) {
		char why[FL_SCENARIO_MSG_MAX], a[24], b[24];
		fl_report_format_ns((double)fl_hdr_value_at_percentile(h, 99), true, a, sizeof(a));
		fl_report_format_ns((double)fl_hdr_max(h), true, b, sizeof(b));
		snprintf(why, sizeof(why), "timing goal (skip_timing): end-to-end p99 %s, max %s", a,
			 b);
		fl_scenario_skip(r, JOB_CHECK_SLO, why);
		return;
	}
	if (fl_hdr_total_count(h) == 0) {
		fl_scenario_check(r, JOB_CHECK_SLO, false, NAN, NAN, NULL, "no item delivered");
		return;
	}
	for (int i = 0; i < 4; i++) {
		if (j->slo_ns[i] <= 0)
			continue;
		int64_t v = i == 3 ? fl_hdr_max(h) : fl_hdr_value_at_percentile(h, pct[i]);
		char a[24], b[24];
		fl_report_format_ns((double)v, true, a, sizeof(a));
		fl_report_format_ns((double)j->slo_ns[i], true, b, sizeof(b));
		fl_scenario_check(r, JOB_CHECK_SLO, v <= j->slo_ns[i], (double)v,
				  (double)j->slo_ns[i], "ns", "end-to-end %s %s (SLO %s%s)",
				  label[i], a, b, j->rate > 0 ? ", from intended start" : "");
	}
}

fl_err *fl__job_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	const fl__job *j = r->scenario->data;
	hists h;
	fl_err *err = get_hists(j, r, &h);
	for (int it = 0; !err && it < p->iterations; it++)
		err = iteration(j, p, r, &h, it);
	if (err)
		return fl_err_wrap(err, "job %s", j->name);
	check_cancel(j, p, r, h.cancel);
	check_slo(j, p, r, h.e2e);
	return NULL;
}

void fl__job_declare(fl__job *j)
{
	int n = 0;
	j->checks[n++] = JOB_CHECK_CANCEL;
	j->checks[n++] = JOB_CHECK_CONSERVE;
	j->checks[n++] = JOB_CHECK_ERROR;
	for (int s = 1; j->bulkhead > 0 && s < j->nstages - 1; s++) {
		if (j->shape == JOB_PERITEM && s > 1)
			break; /* one dispatcher: the per-item layer */
		const char *stage = j->shape == JOB_PERITEM ? "per-item" : j->stages[s];
		snprintf(j->bh_checks[s][0], FL_SCENARIO_NAME_MAX, "bulkhead %s hwm <= %d", stage,
			 j->bulkhead);
		snprintf(j->bh_checks[s][1], FL_SCENARIO_NAME_MAX, "bulkhead %s reaches %d", stage,
			 j->bulkhead);
		j->checks[n++] = j->bh_checks[s][0];
		j->checks[n++] = j->bh_checks[s][1];
	}
	if (j->bulkhead > 0)
		j->checks[n++] = JOB_CHECK_ISOLATION;
	for (int i = 0; i < 4; i++)
		if (j->slo_ns[i] > 0) {
			j->checks[n++] = JOB_CHECK_SLO;
			break;
		}
	j->checks[n] = NULL;
	for (int i = 0; i < j->nstress; i++)
		j->stress_ptrs[i] = j->stress[i];
	j->stress_ptrs[j->nstress] = NULL;
	if (!j->description[0])
		snprintf(j->description, sizeof(j->description), "job file: %s pipeline, %d stages",
			 (const char *const[]){"linear", "fan-out", "fan-in", "diamond",
					       "per-item"}[j->shape],
			 j->nstages);
	j->scn = (fl_scenario){
		.name = j->name,
		.description = j->description,
		.checks = j->checks,
		.default_iterations = j->iterations,
		.run = fl__job_run,
		.data = j,
		.stress_faults = j->nstress ? j->stress_ptrs : NULL,
	};
}

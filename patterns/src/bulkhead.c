/*
 * bulkhead.c - compartments keyed by string, each a group plus a slot
 * semaphore.
 *
 * A compartment (comp) is created on first use of its key: a group under
 * the bulkhead's context and a channel of capacity `limit` used as a
 * counting semaphore (a buffered send takes a slot, a receive gives it
 * back). Admission happens on the semaphore rather than on the group's own
 * limit so that it can wait on the caller's context, or refuse at once.
 * Each task runs inside job_run, which counts its outcome, gives its slot
 * back and, in per-item mode, keeps the error itself and returns NULL so
 * the compartment's group never cancels. With panic = FL_PANIC_CAPTURE a
 * panic unwinds past job_run: a cleanup registered with fl_defer then does
 * the counting and gives the slot back (the group records the panic).
 *
 * The high-water mark counts slots held (admission to release), as
 * fl_group_hwm counts a group's slots, so a compartment that refused a
 * try_go because it was full has an hwm of exactly its limit.
 *
 * `mu` protects the compartment list, the counters and the waited flag; it
 * is never held while blocking or while user code runs (creating a group or
 * a channel under it takes only context locks, which never call back).
 */
#include <fl/bulkhead.h>
#include <fl/chan.h>
#include <fl/task.h>

#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

typedef struct comp {
	char *key;                                    /* immutable, owned */
	fl_group *g;                                  /* immutable */
	fl_ctx *gctx;                                 /* immutable, owned by g */
	fl_chan *sem;                                 /* immutable: `limit` slots */
	fl_err **item_errs;                           /* (mu) per-item mode: every error */
	size_t nitem_errs, cap_item_errs;             /* (mu) */
	int64_t started, succeeded, failed, rejected; /* (mu) */
	int held, hwm;     /* (mu) slots held by admitted tasks, and their peak */
	struct comp *next; /* (mu) */
} comp;

struct fl_bulkhead {
	fl__mutex mu;
	fl_ctx *ctx;                 /* immutable: parent of every compartment */
	char name[48];               /* immutable */
	int limit, max_keys;         /* immutable */
	bool per_item;               /* immutable */
	enum fl_panic_policy panic;  /* immutable: every compartment's group */
	comp *head, *tail;           /* (mu) in order of creation */
	int nkeys;                   /* (mu) */
	bool waited;                 /* (mu) */
	fl_bulkhead_result *results; /* after wait */
	fl_err **final;              /* after wait: per comp, owned */
	size_t nresults;
	fl_err *result; /* after wait */
};

typedef struct job {
	fl_bulkhead *b;
	comp *c;
	fl_task_fn fn;
	void *arg;
	bool ran, returned; /* capture mode: fn started / returned */
} job;

fl_err *fl_bulkhead_new(fl_ctx *parent, const struct fl_bulkhead_opts *opts, fl_bulkhead **out)
{
	struct fl_bulkhead_opts o = opts ? *opts : (struct fl_bulkhead_opts){0};
	if (!parent || !out || o.limit < 0 || o.max_keys < 0 ||
	    (o.panic != FL_PANIC_ABORT && o.panic != FL_PANIC_CAPTURE))
		return FL_ERR_INVAL;
	fl_bulkhead *b = fl__calloc(1, sizeof(*b));
	if (!b)
		return FL_ERR_NOMEM;
	fl_err *e = fl_ctx_with_cancel(parent, &b->ctx);
	if (e) {
		free(b);
		return e;
	}
	fl__mutex_init(&b->mu);
	snprintf(b->name, sizeof(b->name), "%s", o.name ? o.name : "bulkhead");
	b->limit = o.limit ? o.limit : 4;
	b->max_keys = o.max_keys;
	b->per_item = o.per_item;
	b->panic = o.panic;
	*out = b;
	return NULL;
}

static void comp_free(comp *c)
{
	fl_group_free(c->g);
	fl_chan_free(c->sem);
	for (size_t i = 0; i < c->nitem_errs; i++)
		fl_err_drop(c->item_errs[i]);
	free(c->item_errs);
	free(c->key);
	free(c);
}

/* Finds or creates key's compartment. Caller holds mu. */
static fl_err *comp_get(fl_bulkhead *b, const char *key, comp **out)
{
	for (comp *c = b->head; c; c = c->next)
		if (strcmp(c->key, key) == 0) {
			*out = c;
			return NULL;
		}
	if (b->max_keys && b->nkeys >= b->max_keys)
		return fl_err_wrap(FL_ERR_LIMIT, "bulkhead '%s': no room for key '%s' (%d keys)",
				   b->name, key, b->max_keys);
	comp *c = fl__calloc(1, sizeof(*c));
	if (!c)
		return FL_ERR_NOMEM;
	fl_err *e = FL_ERR_NOMEM;
	c->key = fl__strdup(key);
	if (!c->key)
		goto fail_key;
	char name[96];
	snprintf(name, sizeof(name), "%s/%s", b->name, key);
	e = fl_chan_new(1, (size_t)b->limit, &(struct fl_chan_opts){.name = name}, &c->sem);
	if (e)
		goto fail_sem;
	e = fl_group_new(b->ctx, &(struct fl_group_opts){.name = name, .panic = b->panic}, &c->g,
			 &c->gctx);
	if (e)
		goto fail_group;
	if (b->tail)
		b->tail->next = c;
	else
		b->head = c;
	b->tail = c;
	b->nkeys++;
	*out = c;
	return NULL;
fail_group:
	fl_chan_free(c->sem);
fail_sem:
	free(c->key);
fail_key:
	free(c);
	return e;
}

/* Gives a slot back; held drops first, so held never exceeds the slots
 * the semaphore really hands out. */
static void slot_release(fl_bulkhead *b, comp *c)
{
	fl__mutex_lock(&b->mu);
	c->held--;
	fl__mutex_unlock(&b->mu);
	FL_ASSERT(fl_chan_recv(c->sem, NULL, NULL, FL_TRY) == FL_OK);
}

/* Appends e (taking the reference) to c's per-item errors. Caller holds
 * mu. Returns false, keeping nothing, if out of memory. */
static bool keep_error(comp *c, fl_err *e)
{
	if (c->nitem_errs == c->cap_item_errs) {
		size_t cap = c->cap_item_errs ? 2 * c->cap_item_errs : 8;
		fl_err **a = fl__realloc(c->item_errs, cap * sizeof(*a));
		if (!a) {
			fl__alloc_absorbed(); /* the item's error fails its compartment */
			return false;
		}
		c->item_errs = a;
		c->cap_item_errs = cap;
	}
	c->item_errs[c->nitem_errs++] = e;
	return true;
}

/* The end of a task: counts it and gives its slot back. Returns what the
 * compartment's group sees (NULL for an error kept in per-item mode). */
static fl_err *job_done(fl_bulkhead *b, comp *c, fl_err *e)
{
	fl__mutex_lock(&b->mu);
	if (e)
		c->failed++;
	else
		c->succeeded++;
	bool kept = false;
	if (e && b->per_item)
		kept = keep_error(c, e);
	fl__mutex_unlock(&b->mu);
	slot_release(b, c);
	if (b->per_item && kept)
		return NULL;
	return e; /* per-item without memory to keep it: the group keeps it */
}

/* Capture mode: runs when the task ends. If fn was unwound by a panic, the
 * task failed (the group records the panic) and its slot comes back. */
static void job_unwound(void *arg)
{
	job *j = arg;
	if (j->ran && !j->returned) {
		fl__mutex_lock(&j->b->mu);
		j->c->failed++;
		fl__mutex_unlock(&j->b->mu);
		slot_release(j->b, j->c);
	}
	free(j);
}

static fl_err *job_run(fl_ctx *ctx, void *arg)
{
	job *j = arg;
	fl_bulkhead *b = j->b;
	comp *c = j->c;
	fl_task_fn fn = j->fn;
	void *fn_arg = j->arg;
	if (b->panic != FL_PANIC_CAPTURE) {
		free(j);
		return job_done(b, c, fn(ctx, fn_arg));
	}
	fl_err *e = fl_defer(job_unwound, j);
	if (e) /* no memory for the cleanup, which ran at once (freeing j) */
		return job_done(b, c, e);
	j->ran = true;
	e = fn(ctx, fn_arg);
	j->returned = true;
	return job_done(b, c, e);
}

static fl_err *admit(fl_bulkhead *b, fl_ctx *ctx, const char *key, fl_task_fn fn, void *arg,
		     bool try)
{
	if (!b || !key || !fn)
		return FL_ERR_INVAL;
	comp *c = NULL;
	fl__mutex_lock(&b->mu);
	fl_err *e = b->waited ? fl_err_wrap(FL_ERR_MISUSE, "bulkhead '%s': go after wait", b->name)
			      : comp_get(b, key, &c);
	fl__mutex_unlock(&b->mu);
	if (e)
		return e;
	fl_ctx *wctx = ctx ? ctx : c->gctx;
	char tok = 0;
	int rc = fl_chan_send(c->sem, &tok, wctx, try ? FL_TRY : FL_FOREVER);
	if (rc == FL_AGAIN) {
		fl__mutex_lock(&b->mu);
		c->rejected++;
		if (c->hwm < b->limit)
			c->hwm = b->limit; /* every slot was held just now */
		fl__mutex_unlock(&b->mu);
		return fl_err_wrap(FL_ERR_LIMIT, "bulkhead '%s': tenant '%s' full", b->name, key);
	}
	if (rc != FL_OK)
		return fl_err_wrap(fl_ctx_stop_err(wctx), "bulkhead '%s': admission to '%s'",
				   b->name, key);
	fl__mutex_lock(&b->mu);
	c->started++;
	if (++c->held > c->hwm)
		c->hwm = c->held;
	fl__mutex_unlock(&b->mu);
	job *j = fl__malloc(sizeof(*j));
	e = j ? NULL : FL_ERR_NOMEM;
	if (j) {
		*j = (job){.b = b, .c = c, .fn = fn, .arg = arg};
		if ((e = fl_group_go(c->g, job_run, j)))
			free(j);
	}
	if (e) {
		fl__mutex_lock(&b->mu);
		c->started--;
		fl__mutex_unlock(&b->mu);
		slot_release(b, c);
	}
	return e;
}

fl_err *fl_bulkhead_go(fl_bulkhead *b, fl_ctx *ctx, const char *key, fl_task_fn fn, void *arg)
{
	return admit(b, ctx, key, fn, arg, false);
}

fl_err *fl_bulkhead_try_go(fl_bulkhead *b, const char *key, fl_task_fn fn, void *arg)
{
	return admit(b, NULL, key, fn, arg, true);
}

void fl_bulkhead_cancel(fl_bulkhead *b, fl_err *cause) { fl_ctx_cancel(b->ctx, cause); }

fl_err *fl_bulkhead_wait(fl_bulkhead *b)
{
	fl__mutex_lock(&b->mu);
	bool again = b->waited;
	b->waited = true;
	size_t n = (size_t)b->nkeys;
	fl__mutex_unlock(&b->mu);
	if (again)
		return fl_err_ref(b->result);
	/* After waited is set no compartment is added: the list is stable. */
	b->results = fl__calloc(n ? n : 1, sizeof(*b->results));
	b->final = fl__calloc(n ? n : 1, sizeof(*b->final));
	if (!b->results || !b->final) {
		/* Still join every compartment; only the per-key table is lost. */
		free(b->results);
		free(b->final);
		b->results = NULL;
		b->final = NULL;
		b->result = FL_ERR_NOMEM;
	}
	size_t i = 0;
	for (comp *c = b->head; c; c = c->next, i++) {
		fl_err *e = fl_group_wait(c->g);
		fl__mutex_lock(&b->mu);
		if (b->per_item && c->nitem_errs) {
			/* e holds only errors that could not be kept (no memory). */
			e = fl_err_join2(fl_err_join(c->item_errs, c->nitem_errs), e);
			c->nitem_errs = 0;
		}
		if (b->results) {
			b->results[i] = (fl_bulkhead_result){.key = c->key,
							     .err = e,
							     .started = c->started,
							     .succeeded = c->succeeded,
							     .failed = c->failed,
							     .rejected = c->rejected,
							     .hwm = c->hwm};
			b->final[i] = fl_err_ref(e);
		}
		fl__mutex_unlock(&b->mu);
		if (e)
			b->result = fl_err_join2(b->result, fl_err_wrap(e, "tenant '%s'", c->key));
	}
	b->nresults = b->results ? n : 0;
	return fl_err_ref(b->result);
}

size_t fl_bulkhead_results(fl_bulkhead *b, const fl_bulkhead_result **out)
{
	*out = b->results;
	return b->results ? b->nresults : 0;
}

void fl_bulkhead_free(fl_bulkhead *b)
{
	if (!b)
		return;
	fl__mutex_lock(&b->mu);
	bool waited = b->waited;
	fl__mutex_unlock(&b->mu);
	if (!waited) {
		fl_bulkhead_cancel(b, NULL);
		fl_err_drop(fl_bulkhead_wait(b));
	}
	for (size_t i = 0; i < b->nresults; i++)
		fl_err_drop(b->final[i]);
	for (comp *c = b->head, *next; c; c = next) {
		next = c->next;
		comp_free(c);
	}
	fl_err_drop(b->result);
	free(b->results);
	free(b->final);
	fl_ctx_free(b->ctx);
	fl__mutex_destroy(&b->mu);
	free(b);
}

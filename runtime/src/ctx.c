/*
 * ctx.c - cancellation trees (Go's context) on the scheduler seam.
 *
 * Data structure: each context has a parent reference, a list of linked
 * children (those that inherit cancellation), a list of waiter links of
 * tasks blocked on it, and a list of after-func handles. A deadline context
 * arms one timer of the backend.
 *
 * Invariants:
 *   - done goes 0 -> 1 once, under mu, after err and cause are written; so a
 *     reader that sees done == 1 (acquire) may read err and cause unlocked.
 *   - A linked child holds a reference to its parent and is on the parent's
 *     kids list until it is freed; while it is on the list its own reference
 *     count is at least 1, so a canceller may take a reference to it under
 *     the parent's lock.
 *   - An armed timer holds one reference to its context; whoever stops the
 *     timer successfully, or the timer callback itself, drops it.
 *
 * Cancellation is iterative (a worklist threaded through cancel_next), so a
 * deep tree cannot overflow the stack. Waiters are fired and unparked under
 * the context's lock (sched_internal.h). After-funcs and timer stops run unlocked.
 *
 * Lock order: a context's mu is never held while taking another context's
 * mu, except parent -> child is never needed: linking takes the parent's
 * lock only, and propagation takes each child's lock after releasing the
 * parent's.
 */
#include "ctx_internal.h"

#include <stdlib.h>

#include "fl_annotate_internal.h"
#include "leak_internal.h"
#include "fl_alloc_internal.h"

enum ctx_kind { K_BACKGROUND, K_CANCEL, K_DEADLINE, K_NOCANCEL, K_SHIELD };

struct fl_ctx_after {
	void (*fn)(void *arg);
	void *arg;
	int state;                 /* owner ctx mu: AF_* */
	fl_ctx *owner;             /* immutable */
	fl_ctx_after *prev, *next; /* owner ctx mu */
	fl_ctx_after *run_next;    /* private to the canceller */
};
enum { AF_PENDING, AF_STARTED };

struct fl_ctx {
	fl__obj obj;        /* immutable: label and trace number */
	atomic_long refs;   /* < 0: immortal (background) */
	enum ctx_kind kind; /* immutable */
	fl_ctx *parent;     /* immutable; reference held */
	fl__mutex mu;
	_Atomic int done;            /* written under mu, read anywhere */
	fl_err *err;                 /* sentinel; written once under mu */
	fl_err *cause;               /* owned; written once under mu */
	int64_t deadline_ns;         /* immutable: effective deadline */
	fl_err *deadline_cause;      /* immutable, owned: cause for own deadline */
	fl__timer timer;             /* armed iff timer_armed */
	bool timer_armed;            /* mu */
	bool linked;                 /* parent's mu: on parent's kids list */
	fl_ctx *kids;                /* mu: linked children */
	fl_ctx *sib_prev, *sib_next; /* parent's mu */
	fl_ctx *cancel_next;         /* worklist link during propagation */
	fl__wqueue waiters;          /* mu */
	fl_ctx_after *afters;        /* mu */
};
_Static_assert(offsetof(struct fl_ctx, obj) == 0, "the seam reads the header");

static fl_ctx background = {
	.obj = {.label = "ctx"},
	.refs = -1,
	.kind = K_BACKGROUND,
	.mu = {PTHREAD_MUTEX_INITIALIZER},
	.deadline_ns = FL_FOREVER,
};

fl_ctx *fl_ctx_background(void) { return &background; }

fl_ctx *fl__ctx_ref(fl_ctx *ctx)
{
	if (ctx && atomic_load_explicit(&ctx->refs, memory_order_relaxed) >= 0)
		atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
	return ctx;
}

static void ctx_destroy(fl_ctx *ctx);

void fl__ctx_unref(fl_ctx *ctx)
{
	if (!ctx || atomic_load_explicit(&ctx->refs, memory_order_relaxed) < 0)
		return;
	FL_HAPPENS_BEFORE(&ctx->refs);
	if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1) {
		FL_HAPPENS_AFTER(&ctx->refs);
		FL_HAPPENS_FORGET(&ctx->refs);
		ctx_destroy(ctx);
	}
}

static void ctx_destroy(fl_ctx *ctx)
{
	FL_ASSERT(fl__wqueue_empty(&ctx->waiters));
	while (ctx->afters) {
		fl_ctx_after *a = ctx->afters;
		ctx->afters = a->next;
		free(a);
	}
	fl_err_drop(ctx->cause);
	fl_err_drop(ctx->deadline_cause);
	fl_ctx *parent = ctx->parent;
	fl__mutex_destroy(&ctx->mu);
	FL__LEAK_UNTRACK(ctx->obj.leak);
	free(ctx);
	fl__count_add(FL__C_CTXS, -1);
	fl__ctx_unref(parent);
}

/* ---- cancellation --------------------------------------------------------- */

static void start_afters(fl_ctx_after *run);

/*
 * Marks one context done, fires its waiters and collects its linked children
 * (with a reference each) onto *work. After-funcs start once the lock is
 * released. Returns whether this call did the cancellation.
 */
static bool cancel_one(fl_ctx *ctx, fl_err *err, fl_err *cause, fl_ctx **work)
{
	fl__mutex_lock(&ctx->mu);
	if (atomic_load_explicit(&ctx->done, memory_order_relaxed)) {
		fl__mutex_unlock(&ctx->mu);
		return false;
	}
	ctx->err = err;
	ctx->cause = fl_err_ref(cause);
	FL_HAPPENS_BEFORE(&ctx->done); /* err and cause before done, for Helgrind */
	atomic_store_explicit(&ctx->done, 1, memory_order_release);
	FL__SIM_TRACE(FL__EV_CANCEL, ctx->obj.trace_id, err == FL_ERR_DEADLINE);
	fl__wlink *l;
	while ((l = fl__wqueue_fire_first(&ctx->waiters, FL_CANCELED)) != NULL)
		fl__waiter_unpark(l->w);
	for (fl_ctx *k = ctx->kids; k; k = k->sib_next) {
		fl__ctx_ref(k);
		k->cancel_next = *work;
		*work = k;
	}
	fl_ctx_after *run = NULL;
	for (fl_ctx_after *a = ctx->afters; a; a = a->next) {
		if (a->state == AF_PENDING) {
			a->state = AF_STARTED;
			fl__ctx_ref(ctx); /* the started handle keeps its owner */
			a->run_next = run;
			run = a;
		}
	}
	bool armed = ctx->timer_armed;
	ctx->timer_armed = false;
	fl__mutex_unlock(&ctx->mu);
	start_afters(run);
	if (armed) {
		/* We disarmed it, so its reference is ours to drop, whether the
		 * stop won or the callback (which then does nothing) ran. */
		fl__sched()->timer_stop(&ctx->timer);
		fl__count_add(FL__C_TIMERS, -1);
		fl__ctx_unref(ctx);
	}
	return true;
}

void fl__ctx_cancel_with(fl_ctx *ctx, fl_err *err, fl_err *cause)
{
	if (!ctx || ctx->kind == K_BACKGROUND)
		return;
	if (!cause)
		cause = err;
	fl_ctx *work = NULL;
	fl_ctx *cur = fl__ctx_ref(ctx);
	while (cur) {
		cancel_one(cur, err, cause, &work);
		fl__ctx_unref(cur);
		cur = work;
		if (work)
			work = work->cancel_next;
	}
}

void fl_ctx_cancel(fl_ctx *ctx, fl_err *cause) { fl__ctx_cancel_with(ctx, FL_ERR_CANCELED, cause); }

/* ---- after-funcs -------------------------------------------------------- */

static void after_entry(fl__task *t)
{
	fl_ctx_after *a = t->arg;
	a->fn(a->arg);
	fl__ctx_unref(a->owner);
}

/* Starts each collected callback in its own task (inline if none can be
 * had, rather than lose it). Called without any lock. */
static void start_afters(fl_ctx_after *run)
{
	while (run) {
		fl_ctx_after *a = run;
		run = a->run_next;
		fl__task *t = fl__task_new("ctx.after_func", NULL, after_entry, a);
		fl_err *err = t ? fl__sched()->spawn(t) : FL_ERR_NOMEM;
		if (err) {
			if (t)
				fl__task_finish(t);
			fl_err_drop(err);
			a->fn(a->arg);
			fl__ctx_unref(a->owner);
		}
	}
}

/* fl_ctx_after_func on a context already cancelled: a's task starts now,
 * or, when none can be had, the registration is undone and the error
 * returned (the caller still owns arg; running fn inline here could block
 * the caller on the very tasks it means to start). */
static fl_err *start_now(fl_ctx *ctx, fl_ctx_after *a, fl_ctx_after **out)
{
	fl__task *t = fl__task_new("ctx.after_func", NULL, after_entry, a);
	fl_err *err = t ? fl__sched()->spawn(t) : fl_err_ref(FL_ERR_NOMEM);
	if (!err)
		return NULL;
	if (t)
		fl__task_finish(t);
	fl__mutex_lock(&ctx->mu);
	a->state = AF_PENDING;
	fl__mutex_unlock(&ctx->mu);
	fl__ctx_unref(ctx);         /* the task's reference */
	(void)fl_ctx_after_stop(a); /* unlinks, frees a, drops the handle's */
	*out = NULL;
	return err;
}

fl_err *fl_ctx_after_func(fl_ctx *ctx, void (*fn)(void *), void *arg, fl_ctx_after **out)
{
	if (!ctx || !fn || !out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_ctx_after_func: NULL argument");
	*out = NULL;
	fl_ctx_after *a = fl__calloc(1, sizeof(*a));
	if (!a)
		return FL_ERR_NOMEM;
	a->fn = fn;
	a->arg = arg;
	a->owner = fl__ctx_ref(ctx); /* the handle's: stop may come after free */
	fl_ctx_after *run = NULL;
	fl__mutex_lock(&ctx->mu);
	a->next = ctx->afters;
	if (ctx->afters)
		ctx->afters->prev = a;
	ctx->afters = a;
	if (atomic_load_explicit(&ctx->done, memory_order_relaxed)) {
		a->state = AF_STARTED;
		fl__ctx_ref(ctx);
		run = a;
	}
	fl__mutex_unlock(&ctx->mu);
	*out = a;
	return run ? start_now(ctx, a, out) : NULL;
}

bool fl_ctx_after_stop(fl_ctx_after *a)
{
	if (!a)
		return false;
	fl_ctx *ctx = a->owner;
	fl__mutex_lock(&ctx->mu);
	bool prevented = a->state == AF_PENDING;
	if (prevented) {
		if (a->prev)
			a->prev->next = a->next;
		else
			ctx->afters = a->next;
		if (a->next)
			a->next->prev = a->prev;
	}
	fl__mutex_unlock(&ctx->mu);
	if (prevented)
		free(a);
	/* A started handle stays on the list; its context frees it, once this,
	 * the handle's reference, was the last. */
	fl__ctx_unref(ctx);
	return prevented;
}

/* ---- construction -------------------------------------------------------- */

static void timer_fired(fl__timer *t)
{
	fl_ctx *ctx = t->arg;
	fl__mutex_lock(&ctx->mu);
	bool mine = ctx->timer_armed;
	ctx->timer_armed = false;
	fl__mutex_unlock(&ctx->mu);
	if (mine) { /* we disarmed it: the timer's reference is ours */
		fl__count_add(FL__C_TIMERS, -1);
		fl__ctx_cancel_with(ctx, FL_ERR_DEADLINE, ctx->deadline_cause);
		fl__ctx_unref(ctx);
	}
}

static fl_err *ctx_alloc(fl_ctx *parent, enum ctx_kind kind, fl_ctx **out)
{
	if (!parent || !out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_ctx: NULL %s", parent ? "out" : "parent");
	fl_ctx *c = fl__calloc(1, sizeof(*c));
	if (!c)
		return FL_ERR_NOMEM;
	atomic_init(&c->refs, 1);
	c->kind = kind;
	c->parent = fl__ctx_ref(parent);
	fl__mutex_init(&c->mu);
	FL_BENIGN_RACE(&c->done, "lock-free done flag; err/cause ordered by HAPPENS annotations");
	c->deadline_ns = FL_FOREVER;
	c->timer.heap_index = -1;
	c->obj.label = "ctx";
	if (fl__sim_on)
		c->obj.trace_id = fl__sim_obj_id();
	fl__count_add(FL__C_CTXS, 1);
	FL__LEAK_TRACK(&c->obj, FL__LEAK_CTX);
	*out = c;
	return NULL;
}

/* Links c under its parent, or cancels it at once if the parent is done. */
static void ctx_link(fl_ctx *c)
{
	fl_ctx *p = c->parent;
	if (p->kind == K_BACKGROUND)
		return;
	fl__mutex_lock(&p->mu);
	bool pdone = atomic_load_explicit(&p->done, memory_order_relaxed);
	if (!pdone) {
		c->sib_prev = NULL;
		c->sib_next = p->kids;
		if (p->kids)
			p->kids->sib_prev = c;
		p->kids = c;
		c->linked = true;
	}
	fl__mutex_unlock(&p->mu);
	if (pdone)
		fl__ctx_cancel_with(c, p->err, p->cause);
}

static void ctx_unlink(fl_ctx *c)
{
	fl_ctx *p = c->parent;
	if (!p || p->kind == K_BACKGROUND)
		return;
	fl__mutex_lock(&p->mu);
	if (c->linked) {
		if (c->sib_prev)
			c->sib_prev->sib_next = c->sib_next;
		else
			p->kids = c->sib_next;
		if (c->sib_next)
			c->sib_next->sib_prev = c->sib_prev;
		c->linked = false;
	}
	fl__mutex_unlock(&p->mu);
}

fl_err *fl_ctx_with_cancel(fl_ctx *parent, fl_ctx **out)
{
	fl_ctx *c;
	fl_err *err = ctx_alloc(parent, K_CANCEL, &c);
	if (err)
		return err;
	c->deadline_ns = parent->deadline_ns;
	ctx_link(c);
	*out = c;
	return NULL;
}

/* Arms c's deadline timer; false when out of memory (nothing armed). */
static bool arm_deadline(fl_ctx *c, int64_t deadline_ns, fl_err *cause)
{
	c->deadline_cause = fl_err_ref(cause ? cause : FL_ERR_DEADLINE);
	c->deadline_ns = deadline_ns;
	if (deadline_ns <= fl__now()) {
		fl__ctx_cancel_with(c, FL_ERR_DEADLINE, c->deadline_cause);
		return true;
	}
	bool nomem = false;
	fl__mutex_lock(&c->mu);
	if (!atomic_load_explicit(&c->done, memory_order_relaxed)) {
		c->timer.when_ns = deadline_ns;
		c->timer.fn = timer_fired;
		c->timer.arg = c;
		c->timer_armed = true;
		fl__ctx_ref(c);
		fl__count_add(FL__C_TIMERS, 1);
		if (!fl__sched()->timer_start(&c->timer)) { /* out of memory: undone */
			c->timer_armed = false;
			fl__count_add(FL__C_TIMERS, -1);
			nomem = true;
		}
	}
	fl__mutex_unlock(&c->mu);
	if (nomem)
		fl__ctx_unref(c); /* the timer's reference */
	return !nomem;
}

fl_err *fl_ctx_with_deadline(fl_ctx *parent, int64_t deadline_ns, fl_err *cause, fl_ctx **out)
{
	fl_ctx *c;
	fl_err *err = ctx_alloc(parent, K_DEADLINE, &c);
	if (err)
		return err;
	c->deadline_ns = parent->deadline_ns;
	ctx_link(c);
	if (deadline_ns < parent->deadline_ns && !arm_deadline(c, deadline_ns, cause)) {
		fl_ctx_free(c);
		return fl_err_ref(FL_ERR_NOMEM);
	}
	*out = c;
	return NULL;
}

fl_err *fl_ctx_with_timeout(fl_ctx *parent, int64_t timeout_ns, fl_err *cause, fl_ctx **out)
{
	return fl_ctx_with_deadline(parent, fl_deadline_in(timeout_ns), cause, out);
}

fl_err *fl_ctx_without_cancel(fl_ctx *parent, fl_ctx **out)
{
	return ctx_alloc(parent, K_NOCANCEL, out);
}

fl_err *fl_ctx_shielded(fl_ctx *parent, int64_t timeout_ns, fl_ctx **out)
{
	if (timeout_ns <= 0)
		return fl_err_wrap(FL_ERR_INVAL, "fl_ctx_shielded: timeout must be > 0");
	fl_ctx *c;
	fl_err *err = ctx_alloc(parent, K_SHIELD, &c);
	if (err)
		return err;
	if (!arm_deadline(c, fl_deadline_in(timeout_ns), NULL)) {
		fl_ctx_free(c);
		return fl_err_ref(FL_ERR_NOMEM);
	}
	*out = c;
	return NULL;
}

void fl_ctx_free(fl_ctx *ctx)
{
	if (!ctx || ctx->kind == K_BACKGROUND)
		return;
	fl__ctx_cancel_with(ctx, FL_ERR_CANCELED, NULL);
	/* A deadline callback may still be running (it holds a reference until
	 * it returns); wait it out so the caller sees its counts settled. */
	if (ctx->kind == K_DEADLINE || ctx->kind == K_SHIELD)
		fl__sched()->timer_stop(&ctx->timer);
	ctx_unlink(ctx);
	fl__ctx_unref(ctx);
}

/* ---- queries and waits -------------------------------------------------- */

bool fl_ctx_done(const fl_ctx *ctx)
{
	if (!ctx || !atomic_load_explicit(&ctx->done, memory_order_acquire))
		return false;
	FL_HAPPENS_AFTER((void *)&ctx->done);
	return true;
}

fl_err *fl_ctx_err(const fl_ctx *ctx) { return fl_ctx_done(ctx) ? ctx->err : NULL; }

fl_err *fl_ctx_cause(const fl_ctx *ctx) { return fl_ctx_done(ctx) ? fl_err_ref(ctx->cause) : NULL; }

fl_err *fl_ctx_stop_err(const fl_ctx *ctx)
{
	if (!fl_ctx_done(ctx))
		return NULL;
	fl_err *err = fl_ctx_err(ctx), *cause = fl_ctx_cause(ctx);
	if (!err)
		err = FL_ERR_CANCELED;
	if (!cause || fl_err_is(cause, err)) /* the cause already says it */
		return cause ? cause : err;
	return fl_err_join2(cause, err);
}

int64_t fl_ctx_deadline(const fl_ctx *ctx) { return ctx ? ctx->deadline_ns : FL_FOREVER; }

bool fl_ctx_has_ancestor(const fl_ctx *ctx, const fl_ctx *ancestor)
{
	for (; ctx; ctx = ctx->parent) /* parents are immutable */
		if (ctx == ancestor)
			return true;
	return false;
}

bool fl__ctx_watch(fl_ctx *ctx, fl__wlink *l)
{
	if (!ctx)
		return true;
	if (ctx->kind == K_BACKGROUND || ctx->kind == K_NOCANCEL)
		return true; /* never fires: no need to queue */
	fl__mutex_lock(&ctx->mu);
	bool ok = !atomic_load_explicit(&ctx->done, memory_order_relaxed);
	if (ok)
		fl__wqueue_push(&ctx->waiters, l);
	fl__mutex_unlock(&ctx->mu);
	return ok;
}

void fl__ctx_unwatch(fl_ctx *ctx, fl__wlink *l)
{
	if (!ctx || ctx->kind == K_BACKGROUND || ctx->kind == K_NOCANCEL)
		return;
	fl__mutex_lock(&ctx->mu);
	fl__wqueue_remove(&ctx->waiters, l);
	fl__mutex_unlock(&ctx->mu);
}

/*
 * The one blocking wait on a context, behind fl_ctx_wait and fl_sleep_until:
 * FL_CANCELED once ctx is done (ctx may be NULL: never), FL_TIMEDOUT when
 * deadline_ns passes first. kind says what the task waits for in dumps.
 */
static int wait_done(fl_ctx *ctx, int64_t deadline_ns, int kind)
{
	fl__waiter w;
	fl__waiter_init(&w);
	fl__wlink l = {.w = &w, .index = -1};
	if (!fl__ctx_watch(ctx, &l))
		return FL_CANCELED; /* registered nowhere: nothing can fire it */
	if (fl__waiter_wait(&w, deadline_ns, kind, ctx))
		return FL_CANCELED;
	fl__ctx_unwatch(ctx, &l);
	return FL_TIMEDOUT;
}

int fl_ctx_wait(fl_ctx *ctx, int64_t deadline_ns)
{
	if (fl_ctx_done(ctx))
		return FL_CANCELED;
	if (deadline_ns == FL_TRY)
		return FL_AGAIN;
	int rc = wait_done(ctx, deadline_ns, FL__WAIT_CTX);
	/* An unbounded wait ends unfired only on a sim deadlock. */
	if (rc == FL_TIMEDOUT && deadline_ns == FL_FOREVER)
		return FL_DEADLOCK;
	return rc;
}

int fl_sleep_until(fl_ctx *ctx, int64_t deadline_ns)
{
	if (ctx && fl_ctx_done(ctx))
		return FL_CANCELED;
	return wait_done(ctx, deadline_ns, FL__WAIT_SLEEP) == FL_TIMEDOUT ? FL_OK : FL_CANCELED;
}

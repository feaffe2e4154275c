/*
 * group.c - groups of tasks with a shared context (Go's errgroup).
 *
 * Problem: start tasks that share one cancellable context, bound how many
 * run at once, keep the first error (or all of them), and let the owner wait
 * until every task has returned, so that nothing a group started outlives
 * fl_group_wait.
 *
 * Data structure: a mutex-protected record of slots and outcomes plus two
 * wait queues of the scheduler seam (sched_internal.h). limitq holds callers of
 * fl_group_go blocked at the limit, waitq holds callers of fl_group_wait. A
 * slot is taken before a task is spawned and released by the task's entry
 * after the body and its cleanups have run.
 *
 * Invariants (under mu):
 *   - running counts taken slots: tasks spawned or being spawned, not yet
 *     released. 0 <= running, and running <= limit when limit > 0.
 *   - blocked counts the links on limitq (live or stale); it is changed
 *     only under mu.
 *   - A released slot is handed straight to the first live limitq waiter
 *     (running stays the same), so limitq holds live waiters only while
 *     running > 0 and try_go never steals a slot from a blocked go.
 *   - waitq waiters are woken exactly when running drops to 0, and once
 *     wait has begun and running is 0, go is refused: running never rises
 *     again, so a woken wait sees running == 0 for good.
 *   - first_err, once set, never changes until fl_group_free.
 *
 * Slots: running and blocked share one atomic word, so the common go and
 * task end need no lock. The lock-free fast paths are: take a slot when
 * 1 <= running < limit (or no limit) and blocked == 0, and release one when
 * running >= 2 and blocked == 0. Everything else (the first slot, the last
 * release, which wakes wait, a hand-over to a blocked go, blocking at the
 * limit) takes mu. A go blocks only by one CAS that checks running >= limit
 * and raises blocked together, so a fast release cannot slip between its
 * check and its queueing, and a fast take never overtakes a blocked go.
 * Since the fast paths need running >= 1, they never start a task after
 * wait saw running == 0, and never make running 0.
 *
 * Lock order: mu -> (firing a waiter, unparking: the backend's parker lock).
 * No fl__ctx_* call that may lock a context is made while mu is held
 * (fl_ctx_done is a lock-free load), because cancellation fires context
 * waiters under the context's lock and a group task may hold that lock's
 * position in another order. User code never runs under mu.
 *
 * Ending a task: the entry records the error (cancelling the context if it
 * is the first), unregisters the task from the live-task registry, and only
 * then releases its slot, so that when wait returns fl_stats_get().tasks no
 * longer counts it. The waiter may then free the group at once, while the
 * entry is still inside pthread_mutex_unlock: glibc writes the mutex after
 * the point Helgrind records as the release. So each task holds a reference
 * to the group struct and drops it after its last unlock; the mutex is
 * destroyed by whoever drops the last reference (the owner's is dropped by
 * fl_group_free, after everything else is released). The reference count
 * carries FL_HAPPENS_BEFORE/AFTER annotations, as contexts' do.
 *
 * Panics (FL_PANIC_CAPTURE): the body runs below a setjmp frame on the
 * task's own stack; fl_panic (panic.c) longjmps back to it. longjmp within
 * one stack is understood by TSan and ASan (both intercept it and unpoison
 * the abandoned frames), so no annotation is needed.
 */
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_annotate_internal.h"
#include "ctx_internal.h"
#include "leak_internal.h"
#include "panic_internal.h"
#include "sched_internal.h"
#include "fl_alloc_internal.h"

struct fl_group {
	fl__obj obj;      /* immutable: label (name) */
	atomic_long refs; /* the owner's until fl_group_free, and one per
				    * spawned task until its entry is done with g */
	fl__mutex mu;
	fl_ctx *ctx;                /* immutable; owned (freed by fl_group_free) */
	char name[48];              /* immutable */
	enum fl_panic_policy panic; /* immutable */
	bool collect;               /* immutable */
	atomic_int limit;           /* written under mu while running is 0; 0 = none */
	/* Slots: running (low 32 bits: slots taken) and blocked (high 32 bits:
	 * links on limitq). Changed by CAS; see "Slots" above. */
	_Atomic uint64_t slots;
	atomic_int hwm;         /* high-water mark of running */
	atomic_long started;    /* go calls that got a slot (task names) */
	fl_err *first_err;      /* mu: owned; set once */
	fl_err **errs;          /* mu: collect mode, owned refs in order */
	size_t nerrs, cap_errs; /* mu */
	fl_err *panic_err;      /* mu: owned; the first captured panic */
	fl_err *result;         /* mu: collect mode, the cached join */
	bool result_done;       /* mu: result computed */
	bool waiting;           /* mu: fl_group_wait has begun */
	bool waited;            /* mu: fl_group_wait has returned once */
	fl__wqueue limitq;      /* mu: go callers blocked at the limit */
	fl__wqueue waitq;       /* mu: wait callers */
};
_Static_assert(offsetof(struct fl_group, obj) == 0, "the seam reads the header");

/* What a task's entry needs; allocated by go, freed by the entry. */
typedef struct task_box {
	fl_task_fn fn;
	void *arg;
} task_box;

static void group_unref(fl_group *g)
{
	FL_HAPPENS_BEFORE(&g->refs);
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) {
		FL_HAPPENS_AFTER(&g->refs);
		FL_HAPPENS_FORGET(&g->refs);
		fl__mutex_destroy(&g->mu);
		free(g);
	}
}

/* ---- slots -------------------------------------------------------------- */

#define BLOCKED_ONE ((uint64_t)1 << 32)

static uint32_t running_of(uint64_t slots) { return (uint32_t)slots; }
static uint32_t blocked_of(uint64_t slots) { return (uint32_t)(slots >> 32); }
static uint32_t running(fl_group *g) { return running_of(atomic_load(&g->slots)); }

static void hwm_raise(fl_group *g, int run)
{
	int h = atomic_load_explicit(&g->hwm, memory_order_relaxed);
	while (run > h &&
	       !atomic_compare_exchange_weak_explicit(&g->hwm, &h, run, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* Pops limitq links until one whose waiter can be fired (blocked drops by
 * one per link); NULL if none. Caller holds mu. */
static fl__wlink *limitq_fire_first(fl_group *g)
{
	fl__wlink *l;
	while ((l = g->limitq.head) != NULL) {
		fl__wqueue_remove(&g->limitq, l);
		atomic_fetch_sub(&g->slots, BLOCKED_ONE);
		if (fl__waiter_fire(l->w, l->index, FL_OK))
			return l;
	}
	return NULL;
}

/* Releases one slot, handing it to the first blocked go if there is one.
 * Caller holds mu. */
static void slot_release(fl_group *g)
{
	fl__wlink *l = limitq_fire_first(g);
	if (l) {
		fl__waiter_unpark(l->w); /* the slot moves to that caller */
		return;
	}
	FL_HAPPENS_BEFORE(&g->slots);
	uint64_t was = atomic_fetch_sub(&g->slots, 1);
	FL_ASSERT(running_of(was) > 0);
	if (running_of(was) > 1)
		return;
	while ((l = fl__wqueue_fire_first(&g->waitq, FL_OK)) != NULL)
		fl__waiter_unpark(l->w);
}

/* The lock-free release: true if done (running >= 2, nothing blocked). */
static bool slot_release_fast(fl_group *g)
{
	uint64_t v = atomic_load_explicit(&g->slots, memory_order_relaxed);
	FL_HAPPENS_BEFORE(&g->slots);
	while (running_of(v) >= 2 && blocked_of(v) == 0)
		if (atomic_compare_exchange_weak_explicit(&g->slots, &v, v - 1,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			return true;
	return false;
}

/* The lock-free take: true if a slot is ours (see "Slots" above). */
static bool slot_take_fast(fl_group *g)
{
	uint64_t v = atomic_load_explicit(&g->slots, memory_order_relaxed);
	int lim = atomic_load_explicit(&g->limit, memory_order_relaxed);
	for (;;) {
		uint32_t run = running_of(v);
		if (run == 0 || blocked_of(v) || (lim > 0 && run >= (uint32_t)lim))
			return false;
		if (atomic_compare_exchange_weak_explicit(&g->slots, &v, v + 1,
							  memory_order_acq_rel,
							  memory_order_relaxed)) {
			hwm_raise(g, (int)run + 1);
			return true;
		}
	}
}

/* Caller holds mu. go is refused once wait has returned, or once wait has
 * begun and no task is left that could legitimately start another. */
static bool go_refused(fl_group *g) { return g->waited || (g->waiting && running(g) == 0); }

/* The error for "cancelled, nothing started": matches the context's err
 * (FL_ERR_CANCELED or FL_ERR_DEADLINE) and its cause. Called without mu. */
static fl_err *cancelled_err(fl_group *g)
{
	fl_err *base = fl_ctx_stop_err(g->ctx);
	return fl_err_wrap(base ? base : FL_ERR_CANCELED, "group '%s' cancelled; task not started",
			   g->name);
}

/*
 * Blocks at the limit until a slot is handed over (returns true: the slot is
 * ours) or the context is cancelled (false). Called with mu held and
 * returns with it released.
 */
static bool slot_wait(fl_group *g)
{
	fl__waiter w;
	fl__waiter_init(&w); /* self() is already known: no lock is taken */
	fl__wlink lq = {.w = &w, .index = 0};
	fl__wlink lc = {.w = &w, .index = -1};
	fl__wqueue_push(&g->limitq, &lq); /* blocked was raised by the caller */
	fl__mutex_unlock(&g->mu);

	if (fl__ctx_watch(g->ctx, &lc)) {
		/* Unfired only on a sim deadlock (fired_index stays -2). */
		if (!fl__waiter_wait(&w, FL_FOREVER, FL__WAIT_GROUP_LIMIT, g))
			fl__ctx_unwatch(g->ctx, &lc);
	} else if (fl__waiter_abort(&w)) {
		w.fired_index = -1; /* withdrawn: cancelled before we slept */
	}

	if (w.fired_index == 0) {
		fl__ctx_unwatch(g->ctx, &lc);
		return true;
	}
	fl__mutex_lock(&g->mu);
	if (lq.queued) {
		fl__wqueue_remove(&g->limitq, &lq);
		atomic_fetch_sub(&g->slots, BLOCKED_ONE);
	}
	fl__mutex_unlock(&g->mu);
	return false;
}

/* Takes a slot (blocking at the limit if allowed). NULL: the slot is ours. */
static fl_err *slot_acquire(fl_group *g, bool block)
{
	fl__sched()->self(); /* adopt a foreign caller before taking mu */
	if (!fl_ctx_done(g->ctx) && slot_take_fast(g))
		return NULL;
	fl__mutex_lock(&g->mu);
	if (go_refused(g)) {
		fl__mutex_unlock(&g->mu);
		return fl_err_wrap(FL_ERR_MISUSE, "group '%s': go after wait", g->name);
	}
	if (fl_ctx_done(g->ctx)) {
		fl__mutex_unlock(&g->mu);
		return cancelled_err(g);
	}
	int lim = atomic_load_explicit(&g->limit, memory_order_relaxed);
	uint64_t v = atomic_load(&g->slots);
	for (;;) {
		uint32_t run = running_of(v);
		if (lim == 0 || run < (uint32_t)lim) {
			if (!atomic_compare_exchange_weak(&g->slots, &v, v + 1))
				continue;
			hwm_raise(g, (int)run + 1);
			fl__mutex_unlock(&g->mu);
			return NULL;
		}
		if (!block) {
			fl__mutex_unlock(&g->mu);
			return fl_err_wrap(FL_ERR_LIMIT, "group '%s': all %d slots taken", g->name,
					   lim);
		}
		/* Block only if still full: a fast release cannot slip in. */
		if (atomic_compare_exchange_weak(&g->slots, &v, v + BLOCKED_ONE))
			break;
	}
	if (slot_wait(g))
		return NULL;
	if (!fl_ctx_done(g->ctx))
		return fl_err_wrap(FL_ERR_DEADLOCK, "group '%s': go blocked at the limit forever",
				   g->name);
	return cancelled_err(g);
}

/* ---- tasks -------------------------------------------------------------- */

static void group_record(fl_group *g, fl_err *err);

/* Runs the body below a panic frame. Kept apart so that nothing in the
 * caller lives across setjmp. */
static fl_err *run_captured(fl__task *t, fl_task_fn fn, fl_ctx *ctx, void *arg)
{
	fl__panic_frame f;
	f.panicked = false;
	f.record = group_record;
	t->panic_frame = &f;
	if (setjmp(f.jb) == 0) {
		fl_err *err = fn(ctx, arg);
		t->panic_frame = NULL;
		return err;
	}
	/* fl_panic recorded the panic error and ran the cleanups. */
	t->panic_frame = NULL;
	return NULL;
}

static void task_entry(fl__task *t)
{
	fl_group *g = t->group;
	task_box box = *(task_box *)t->arg;
	free(t->arg);
	t->arg = NULL;

	fl_err *err;
	if (g->panic == FL_PANIC_CAPTURE)
		err = run_captured(t, box.fn, g->ctx, box.arg);
	else
		err = box.fn(g->ctx, box.arg);
	fl__task_run_defers(t);
	if (err)
		group_record(g, err);

	FL__LEAK_UNTRACK(t->leak); /* before the wait returns, like the count */
	t->leak = NULL;
	fl__task_unregister(t); /* no longer counted once wait returns */
	if (!slot_release_fast(g)) {
		fl__mutex_lock(&g->mu);
		slot_release(g);
		fl__mutex_unlock(&g->mu);
	}
	group_unref(g); /* touch nothing of g after this */
}

/* out = base "." seq (what snprintf "%s.%ld" gives, without its cost on
 * the spawn path). out has room for a 47-byte base and 20 digits. */
static void seq_name(char out[72], const char *base, long seq)
{
	char digits[24];
	int n = 0;
	unsigned long v = seq < 0 ? 0UL - (unsigned long)seq : (unsigned long)seq;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (seq < 0)
		digits[n++] = '-';
	size_t len = strnlen(base, 47);
	memcpy(out, base, len);
	out[len++] = '.';
	while (n)
		out[len++] = digits[--n];
	out[len] = '\0';
}

/* Spawns a task into a slot already taken; releases the slot on failure. */
static fl_err *task_start(fl_group *g, const char *name, fl_task_fn fn, void *arg)
{
	fl_err *err = NULL;
	task_box *box = NULL;
	fl__task *t = NULL;
	char auto_name[72]; /* name "." seq; the task keeps its first 47 bytes */
	long seq;

	if (fl_ctx_done(g->ctx)) { /* nothing starts after cancellation */
		err = cancelled_err(g);
		goto err_slot;
	}
	box = fl__malloc(sizeof(*box));
	if (!box) {
		err = FL_ERR_NOMEM;
		goto err_slot;
	}
	box->fn = fn;
	box->arg = arg;
	seq = atomic_fetch_add_explicit(&g->started, 1, memory_order_relaxed);
	if (!name) {
		seq_name(auto_name, g->name, seq);
		name = auto_name;
	}
	t = fl__task_new(name, g, task_entry, box);
	if (!t) {
		err = FL_ERR_NOMEM;
		goto err_box;
	}
	t->panic_capture = g->panic == FL_PANIC_CAPTURE;
	if (FL__LEAK_ON())
		fl__leak_track_task(t); /* before it can run: it inherits the scope */
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed); /* the task's */
	err = fl__sched()->spawn(t);
	if (err) {
		err = fl_err_wrap(err, "group '%s': cannot start task '%s'", g->name, t->name);
		FL__LEAK_UNTRACK(t->leak);
		fl__task_finish(t); /* never ran: unregister and free it here */
		atomic_fetch_sub_explicit(&g->refs, 1, memory_order_relaxed); /* not last */
		goto err_box;
	}
	return NULL;

err_box:
	free(box);
err_slot:
	fl__mutex_lock(&g->mu);
	slot_release(g);
	fl__mutex_unlock(&g->mu);
	return err;
}

/* Appends err (consumed on success) to the collected errors. Caller holds
 * mu. Returns false, keeping nothing, when out of memory. */
static bool errs_append(fl_group *g, fl_err *err)
{
	if (g->nerrs == g->cap_errs) {
		size_t cap = g->cap_errs ? g->cap_errs * 2 : 8;
		fl_err **e = fl__realloc(g->errs, cap * sizeof(*e));
		if (!e) {
			fl__alloc_absorbed(); /* the join will lack this error */
			return false;
		}
		g->errs = e;
		g->cap_errs = cap;
	}
	g->errs[g->nerrs++] = err;
	return true;
}

/*
 * Records err (consumed) as a task's outcome: the first one becomes the
 * group's first error and cancels the group's context with it as cause;
 * in collect mode every error is kept. Takes the group lock, then cancels
 * without it. Called by the task's entry and, through the panic frame, by
 * fl_panic.
 */
static void group_record(fl_group *g, fl_err *err)
{
	bool is_panic = fl_err_as(err, &fl_panic_type) != NULL;
	fl__mutex_lock(&g->mu);
	bool first = g->first_err == NULL;
	if (first)
		g->first_err = fl_err_ref(err);
	if (is_panic && !g->panic_err)
		g->panic_err = fl_err_ref(err);
	if (g->collect && errs_append(g, err))
		err = NULL; /* the list owns it now */
	fl__mutex_unlock(&g->mu);
	if (first) /* g->first_err is ours to read: set once, above */
		fl__ctx_cancel_with(g->ctx, FL_ERR_CANCELED, g->first_err);
	fl_err_drop(err);
}

/* ---- public API --------------------------------------------------------- */

fl_err *fl_group_new(fl_ctx *parent, const struct fl_group_opts *opts, fl_group **out,
		     fl_ctx **ctx_out)
{
	struct fl_group_opts def = {0};
	if (!opts)
		opts = &def;
	if (!parent || !out || !ctx_out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_new: NULL argument");
	if (opts->limit < 0)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_new: negative limit %d", opts->limit);
	if (opts->panic != FL_PANIC_ABORT && opts->panic != FL_PANIC_CAPTURE)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_new: unknown panic policy %d",
				   (int)opts->panic);
	fl_group *g = fl__calloc(1, sizeof(*g));
	if (!g)
		return FL_ERR_NOMEM;
	fl_err *err = fl_ctx_with_cancel(parent, &g->ctx);
	if (err)
		goto err_group;
	atomic_init(&g->refs, 1);
	fl__mutex_init(&g->mu);
	snprintf(g->name, sizeof(g->name), "%s", opts->name ? opts->name : "group");
	g->obj.label = g->name;
	g->panic = opts->panic;
	g->collect = opts->collect;
	atomic_init(&g->limit, opts->limit);
	fl__count_add(FL__C_GROUPS, 1);
	FL__LEAK_TRACK(&g->obj, FL__LEAK_GROUP);
	*out = g;
	*ctx_out = g->ctx;
	return NULL;

err_group:
	free(g);
	return err;
}

fl_err *fl_group_go(fl_group *g, fl_task_fn fn, void *arg)
{
	return fl_group_go_named(g, NULL, fn, arg);
}

fl_err *fl_group_go_named(fl_group *g, const char *name, fl_task_fn fn, void *arg)
{
	if (!g || !fn)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_go: NULL argument");
	fl_err *err = slot_acquire(g, true);
	return err ? err : task_start(g, name, fn, arg);
}

fl_err *fl_group_try_go(fl_group *g, fl_task_fn fn, void *arg)
{
	if (!g || !fn)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_try_go: NULL argument");
	fl_err *err = slot_acquire(g, false);
	return err ? err : task_start(g, NULL, fn, arg);
}

fl_err *fl_group_set_limit(fl_group *g, int limit)
{
	if (!g)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_set_limit: NULL group");
	if (limit < 0)
		return fl_err_wrap(FL_ERR_INVAL, "group '%s': negative limit %d", g->name, limit);
	fl_err *err = NULL;
	fl__mutex_lock(&g->mu);
	uint32_t run = running(g);
	if (run > 0)
		err = fl_err_wrap(FL_ERR_MISUSE, "group '%s': set_limit while %u tasks run",
				  g->name, run);
	else
		atomic_store_explicit(&g->limit, limit, memory_order_relaxed);
	fl__mutex_unlock(&g->mu);
	return err;
}

/* The result of wait, computed once (caller holds mu): a new reference. */
static fl_err *wait_result(fl_group *g)
{
	if (!g->collect)
		return fl_err_ref(g->first_err);
	if (!g->result_done) {
		fl_err **refs = g->nerrs ? fl__malloc(g->nerrs * sizeof(*refs)) : NULL;
		if (refs) {
			for (size_t i = 0; i < g->nerrs; i++)
				refs[i] = fl_err_ref(g->errs[i]);
			g->result = fl_err_join(refs, g->nerrs);
			free(refs);
		} else {
			if (g->nerrs)
				fl__alloc_absorbed();         /* the first error stands for all */
			g->result = fl_err_ref(g->first_err); /* none, or out of memory */
		}
		g->result_done = true;
	}
	return fl_err_ref(g->result);
}

fl_err *fl_group_wait(fl_group *g)
{
	if (!g)
		return fl_err_wrap(FL_ERR_INVAL, "fl_group_wait: NULL group");
	fl__task *self = fl__sched()->self();
	if (self->group == g)
		return fl_err_wrap(FL_ERR_MISUSE, "group '%s': wait from its own task '%s'",
				   g->name, self->name);
	fl__mutex_lock(&g->mu);
	g->waiting = true;
	while (running(g) > 0) {
		fl__waiter w;
		fl__waiter_init(&w);
		fl__wlink l = {.w = &w, .index = 0};
		fl__wqueue_push(&g->waitq, &l);
		fl__mutex_unlock(&g->mu);
		bool fired = fl__waiter_wait(&w, FL_FOREVER, FL__WAIT_GROUP_WAIT, g);
		fl__mutex_lock(&g->mu);
		if (!fired) { /* only on a sim deadlock: the tasks can never end */
			fl__wqueue_remove(&g->waitq, &l);
			long n = running(g);
			fl__mutex_unlock(&g->mu);
			return fl_err_wrap(FL_ERR_DEADLOCK,
					   "group '%s': wait with %ld tasks blocked forever",
					   g->name, n);
		}
	}
	FL_HAPPENS_AFTER(&g->slots);  /* every task's release, fast ones too */
	fl_err *first = g->first_err; /* fixed from now on */
	fl__mutex_unlock(&g->mu);

	fl_ctx_cancel(g->ctx, first);

	fl__mutex_lock(&g->mu);
	g->waited = true;
	fl_err *res = wait_result(g);
	fl__mutex_unlock(&g->mu);
	return res;
}

void fl_group_cancel(fl_group *g, fl_err *cause)
{
	if (g)
		fl_ctx_cancel(g->ctx, cause);
}

fl_err *fl_group_stop(fl_group *g, fl_err *cause)
{
	fl_group_cancel(g, cause);
	return fl_group_wait(g);
}

const fl_err *fl_group_first_err(fl_group *g)
{
	if (!g)
		return NULL;
	fl__mutex_lock(&g->mu);
	const fl_err *e = g->first_err;
	fl__mutex_unlock(&g->mu);
	return e;
}

int fl_group_hwm(fl_group *g)
{
	if (!g)
		return 0;
	return atomic_load(&g->hwm);
}

int fl_group_running(fl_group *g)
{
	if (!g)
		return 0;
	return (int)running(g);
}

/* Aborts for a group freed without wait, with the captured panic if any. */
static void abort_unwaited(fl_group *g) __attribute__((noreturn));
static void abort_unwaited(fl_group *g)
{
	static char msg[4096]; /* we are about to abort: no reentrancy */
	fl__mutex_lock(&g->mu);
	const fl_err *perr = g->panic_err; /* never freed: we do not return */
	int nrun = (int)running(g);
	fl__mutex_unlock(&g->mu);
	const fl_panic_info *p = perr ? fl_err_as(perr, &fl_panic_type) : NULL;
	int n = snprintf(msg, sizeof(msg),
			 "fl_group_free: group '%s' was never waited on (%d tasks running)",
			 g->name, nrun);
	if (p && n > 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n,
			 "; task '%s' panicked: %s\nbacktrace:\n%s", p->task, p->msg, p->backtrace);
	FL_ABORT(msg);
}

void fl_group_free(fl_group *g)
{
	if (!g)
		return;
	fl__mutex_lock(&g->mu);
	bool waited = g->waited;
	fl__mutex_unlock(&g->mu);
	if (!waited)
		abort_unwaited(g);
	FL_ASSERT(atomic_load(&g->slots) == 0 && fl__wqueue_empty(&g->limitq) &&
		  fl__wqueue_empty(&g->waitq));
	fl_ctx_free(g->ctx);
	for (size_t i = 0; i < g->nerrs; i++)
		fl_err_drop(g->errs[i]);
	free(g->errs);
	fl_err_drop(g->first_err);
	fl_err_drop(g->panic_err);
	fl_err_drop(g->result);
	fl__count_add(FL__C_GROUPS, -1);
	FL__LEAK_UNTRACK(g->obj.leak);
	g->obj.leak = NULL;
	group_unref(g); /* a finishing task may still be leaving mu */
}

/*
 * sched.c - the backend-independent half of the scheduler seam.
 *
 * Backend selection, wait queues and the waiter protocol of
 * sched_internal.h, fl_stats_get and fl_task_dump over task.c's counters
 * and registry, and the clock, yield and blocking calls. Selection knows
 * every backend, so this file sits above them; what the backends need
 * from the seam (creating, adopting and finishing tasks) is in task.c,
 * below them. (Sleeping is a context wait: fl_sleep_until lives in ctx.c
 * beside fl_ctx_wait.)
 */
#include "sched_internal.h"

#include "alloc_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_valgrind_internal.h"

#include "fl_annotate_internal.h"

/* ---- backend selection ------------------------------------------------ */

static const fl__sched_ops *_Atomic active;
bool fl__sim_on; /* the active backend has trace hooks: set once, at start */
static pthread_mutex_t select_lock = PTHREAD_MUTEX_INITIALIZER;

extern const fl__sched_ops fl__sched_fibers; /* fibers.c */

/*
 * The default is fibers, the fast backend. Under valgrind it is threads:
 * Helgrind and DRD model pthreads, not user-space stack switches, so a
 * process started under valgrind without an explicit choice gets the
 * backend those tools can check.
 */
static const fl__sched_ops *backend_by_name(const char *name)
{
	if (!name || !*name)
		return RUNNING_ON_VALGRIND ? &fl__sched_threads : &fl__sched_fibers;
	if (strcmp(name, "threads") == 0)
		return &fl__sched_threads;
	if (strcmp(name, "fibers") == 0)
		return &fl__sched_fibers;
	if (strcmp(name, "sim") == 0)
		return &fl__sched_sim;
	return NULL;
}

/* The allocator's arenas, made before the backend starts its threads
 * (alloc_internal.h): a shortage is this error, not a crash later. */
static fl_err *arenas_ready(void)
{
	unsigned which, total;
	int rc = fl__alloc_arenas_init(&which, &total);
	if (!rc)
		return NULL;
	return fl_err_wrap(FL_ERR_NOMEM, "making jemalloc's arena %u of %u: %s", which + 1, total,
			   strerror(rc));
}

fl_err *fl_sched_init(const struct fl_sched_opts *opts)
{
	struct fl_sched_opts def = {0};
	if (!opts) { /* "start the configured backend unless one runs" */
		if (atomic_load_explicit(&active, memory_order_acquire))
			return NULL;
		opts = &def;
	}
	const char *name = opts->backend ? opts->backend : getenv("FAULTLINE_BACKEND");
	const fl__sched_ops *ops = backend_by_name(name);
	if (!ops)
		return fl_err_wrap(FL_ERR_INVAL,
				   "unknown scheduler backend '%s' (known: threads, fibers, sim)",
				   name);
	FL_ASSERT(pthread_mutex_lock(&select_lock) == 0);
	const fl__sched_ops *cur = atomic_load(&active);
	fl_err *err = NULL;
	if (cur && cur != ops)
		err = fl_err_wrap(FL_ERR_INVAL, "scheduler backend '%s' already running",
				  cur->name);
	else if (!cur && !(err = arenas_ready()) && !(err = ops->init(opts))) {
		fl__progress_init();
		if (ops->trace) /* only then: other backends never write it */
			fl__sim_on = true;
		FL_HAPPENS_BEFORE(&active); /* the backend's init, for Helgrind */
		atomic_store(&active, ops);
	}
	FL_ASSERT(pthread_mutex_unlock(&select_lock) == 0);
	return err;
}

const fl__sched_ops *fl__sched(void)
{
	const fl__sched_ops *ops = atomic_load_explicit(&active, memory_order_acquire);
	if (__builtin_expect(ops != NULL, 1)) {
		FL_HAPPENS_AFTER(&active);
		return ops;
	}
	fl_err *err = fl_sched_init(NULL);
	if (err) {
		fl_err_print(stderr, err);
		FL_ABORT("cannot start the scheduler backend (check FAULTLINE_BACKEND)");
	}
	return atomic_load(&active);
}

const char *fl_sched_backend(void) { return fl__sched()->name; }

const char *fl_sched_backend_chosen(void)
{
	const fl__sched_ops *ops = atomic_load_explicit(&active, memory_order_acquire);
	if (ops) {
		FL_HAPPENS_AFTER(&active);
		return ops->name;
	}
	ops = backend_by_name(getenv("FAULTLINE_BACKEND"));
	return ops ? ops->name : NULL;
}

/* ---- wait queues ------------------------------------------------------- */

void fl__wqueue_push(fl__wqueue *q, fl__wlink *l)
{
	l->next = NULL;
	l->prev = q->tail;
	if (q->tail)
		q->tail->next = l;
	else
		q->head = l;
	q->tail = l;
	l->queued = true;
}

void fl__wqueue_remove(fl__wqueue *q, fl__wlink *l)
{
	if (!l->queued)
		return;
	if (l->prev)
		l->prev->next = l->next;
	else
		q->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		q->tail = l->prev;
	l->prev = l->next = NULL;
	l->queued = false;
}

bool fl__wqueue_empty(const fl__wqueue *q) { return q->head == NULL; }

fl__wlink *fl__wqueue_fire_first(fl__wqueue *q, int result)
{
	fl__wlink *l;
	while ((l = q->head) != NULL) {
		fl__wqueue_remove(q, l);
		if (fl__waiter_fire(l->w, l->index, result))
			return l;
	}
	return NULL;
}

/* ---- the waiter protocol ---------------------------------------------- */

void fl__waiter_init(fl__waiter *w)
{
	w->task = fl__sched()->self();
	atomic_init(&w->state, FL__W_WAITING);
	w->fired_index = -2;
	w->result = FL_OK;
}

bool fl__waiter_fire(fl__waiter *w, int index, int result)
{
	int expect = FL__W_WAITING;
	if (!atomic_compare_exchange_strong_explicit(&w->state, &expect, FL__W_FIRED,
						     memory_order_acq_rel, memory_order_acquire))
		return false;
	w->fired_index = index;
	w->result = result;
	return true;
}

void fl__waiter_unpark(fl__waiter *w) { fl__sched()->unpark(w->task); }

bool fl__waiter_abort(fl__waiter *w)
{
	int expect = FL__W_WAITING;
	if (atomic_compare_exchange_strong_explicit(&w->state, &expect, FL__W_ABORTED,
						    memory_order_acq_rel, memory_order_acquire))
		return true;
	/* A fire won: its unpark is in flight or done. Take that token. */
	FL_ASSERT(fl__sched()->park(w->task, FL_FOREVER));
	return false;
}

bool fl__waiter_wait(fl__waiter *w, int64_t deadline_ns, int kind, const void *obj)
{
	fl__task *t = w->task;
	const fl__sched_ops *s = fl__sched();
	fl__task_set_wait(t, kind, obj, deadline_ns);
	bool fired = s->park(t, deadline_ns) || !fl__waiter_abort(w);
	fl__task_set_wait(t, FL__WAIT_NONE, NULL, FL_FOREVER);
	fl__progress_bump(t); /* fired, timed out or aborted: every wait ends here */
	FL_ASSERT(!fired || atomic_load(&w->state) == FL__W_FIRED);
	return fired;
}

/* ---- stats and dumps ---------------------------------------------------- */

fl_stats fl_stats_get(void)
{
	fl_stats st = {
		.tasks = fl__count_get(FL__C_TASKS),
		.threads = fl__sched()->threads_live(),
		.chans = fl__count_get(FL__C_CHANS),
		.ctxs = fl__count_get(FL__C_CTXS),
		.errs = fl_err_live(),
		.timers = fl__count_get(FL__C_TIMERS),
		.groups = fl__count_get(FL__C_GROUPS),
		.progress = fl__progress_read(),
	};
	return st;
}

int fl_task_dump(FILE *out)
{
	int64_t now = fl__now();
	fprintf(out, "live tasks (backend %s):\n", fl__sched()->name);
	int n = fl__task_dump_tasks(out, now);
	fflush(out);
	return n;
}

const char *fl_task_name(void) { return fl__sched()->self()->name; }

/* ---- time --------------------------------------------------------------- */

int64_t fl_now(void) { return fl__now(); }

int64_t fl_deadline_in(int64_t rel_ns)
{
	int64_t now = fl__now();
	if (rel_ns <= 0)
		return now;
	if (rel_ns >= FL_FOREVER - now)
		return FL_FOREVER;
	return now + rel_ns;
}

void fl_yield(void) { fl__sched()->yield(); }

uint64_t fl_rand_u64(void) { return fl__sched()->rand(); }

void fl_blocking(void (*fn)(void *arg), void *arg)
{
	FL_ASSERT(fn != NULL);
	const fl__sched_ops *s = fl__sched();
	fl__task *t = s->self();
	fl__task_set_wait(t, FL__WAIT_BLOCKING, NULL, FL_FOREVER);
	s->blocking(fn, arg);
	fl__task_set_wait(t, FL__WAIT_NONE, NULL, FL_FOREVER);
	fl__progress_bump(t);
}

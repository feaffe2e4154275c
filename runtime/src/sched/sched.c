/*
 * sched.c - the backend-independent half of the scheduler seam.
 *
 * Backend selection, wait queues and the waiter protocol of sched_internal.h, the
 * registry of live tasks behind fl_task_dump, the live object counters
 * and the progress counter behind fl_stats_get. (Sleeping is a context
 * wait: fl_sleep_until lives in ctx.c beside fl_ctx_wait.)
 *
 * The progress counter behind fl_stats.progress is PROGRESS_STRIPES
 * cache-line-padded words, a task bumping the one of its id with a relaxed
 * load and store: no locked instruction on the channel hot path, at the
 * price of an increment lost now and then when two tasks of one stripe
 * race (a stripe can even step back). Readers only need to see it move,
 * and fl_stats_get never reports less than it reported before.
 *
 * The registry is REG_STRIPES doubly linked lists of every spawned or
 * adopted task: a task is on stripe id % REG_STRIPES, under that stripe's
 * lock, so tasks starting and ending on different workers rarely contend.
 * A task's own wait fields are atomics written only by that task, so a dump
 * can read them from any thread without stopping it. The stripe locks are
 * leaf locks: nothing else is taken while one is held, except stdio in
 * fl_task_dump.
 */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include "sched_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/valgrind.h>

#include "annotate_internal.h"

/* ---- progress ----------------------------------------------------------- */

#define PROGRESS_STRIPES 16

static struct progress_stripe {
	_Alignas(64) atomic_ulong n;
} progress[PROGRESS_STRIPES];
static atomic_ulong progress_seen; /* the most fl_stats_get has reported */

/* Before any task can bump (the backend starts here): Helgrind does not
 * model atomics, and the stripes are racy by design. */
static void progress_init(void)
{
	for (int i = 0; i < PROGRESS_STRIPES; i++)
		FL_BENIGN_RACE(&progress[i].n, "progress: relaxed, lossy, for watchdogs");
	FL_BENIGN_RACE(&progress_seen, "progress: relaxed, for watchdogs");
}

/* One completed wait or finished task of t: a plain load and store, no RMW. */
static inline void progress_bump(const fl__task *t)
{
	atomic_ulong *n = &progress[t->id % PROGRESS_STRIPES].n;
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* The sum of the stripes, never less than an earlier result. */
static unsigned long progress_read(void)
{
	unsigned long sum = 0;
	for (int i = 0; i < PROGRESS_STRIPES; i++)
		sum += atomic_load_explicit(&progress[i].n, memory_order_relaxed);
	unsigned long seen = atomic_load_explicit(&progress_seen, memory_order_relaxed);
	while (sum > seen && !atomic_compare_exchange_weak_explicit(&progress_seen, &seen, sum,
								    memory_order_relaxed,
								    memory_order_relaxed))
		;
	return sum > seen ? sum : seen;
}

/* ---- backend selection ------------------------------------------------ */

static const fl__sched_ops *_Atomic active;
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

fl_err *fl_sched_init(const struct fl_sched_opts *opts)
{
	struct fl_sched_opts def = {0};
	if (!opts)
		opts = &def;
	const char *name = opts->backend ? opts->backend : getenv("FAULTLINE_BACKEND");
	const fl__sched_ops *ops = backend_by_name(name);
	if (!ops)
		return fl_err_wrap(FL_ERR_INVAL, "unknown scheduler backend '%s' (known: threads, fibers, sim)",
				   name);
	FL_ASSERT(pthread_mutex_lock(&select_lock) == 0);
	const fl__sched_ops *cur = atomic_load(&active);
	fl_err *err = NULL;
	if (cur && cur != ops)
		err = fl_err_wrap(FL_ERR_INVAL, "scheduler backend '%s' already running", cur->name);
	else if (!cur && !(err = ops->init(opts))) {
		progress_init();
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

void fl__waiter_unpark(fl__waiter *w)
{
	fl__sched()->unpark(w->task);
}

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
	progress_bump(t); /* fired, timed out or aborted: every wait ends here */
	FL_ASSERT(!fired || atomic_load(&w->state) == FL__W_FIRED);
	return fired;
}

/* ---- counters ----------------------------------------------------------- */

static atomic_long counters[FL__C_N];

void fl__count_add(fl__counter c, long delta)
{
	atomic_fetch_add_explicit(&counters[c], delta, memory_order_relaxed);
}

fl_stats fl_stats_get(void)
{
	fl_stats st = {
		.tasks = atomic_load(&counters[FL__C_TASKS]),
		.threads = fl__sched()->threads_live(),
		.chans = atomic_load(&counters[FL__C_CHANS]),
		.ctxs = atomic_load(&counters[FL__C_CTXS]),
		.errs = fl_err_live(),
		.timers = atomic_load(&counters[FL__C_TIMERS]),
		.groups = atomic_load(&counters[FL__C_GROUPS]),
		.progress = progress_read(),
	};
	return st;
}

/* ---- task registry ------------------------------------------------------ */

#define REG_STRIPES 16

static struct reg_stripe {
	_Alignas(64) fl__mutex mu;
	fl__task *head;         /* mu */
} reg[REG_STRIPES] = {
#define S {.mu = FL__MUTEX_INITIALIZER}
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
#undef S
};
_Static_assert(sizeof(reg) / sizeof(reg[0]) == REG_STRIPES, "one initialiser per stripe");
static atomic_ullong next_id = 1;

static struct reg_stripe *reg_of(const fl__task *t) { return &reg[t->id % REG_STRIPES]; }

static void reg_insert(fl__task *t)
{
	FL_BENIGN_RACE(&t->wait_kind, "task dump: diagnostic atomic read");
	FL_BENIGN_RACE(&t->wait_obj, "task dump: diagnostic atomic read");
	FL_BENIGN_RACE(&t->wait_until_ns, "task dump: diagnostic atomic read");
	struct reg_stripe *r = reg_of(t);
	fl__mutex_lock(&r->mu);
	t->reg_prev = NULL;
	t->reg_next = r->head;
	if (r->head)
		r->head->reg_prev = t;
	r->head = t;
	t->registered = true;
	fl__mutex_unlock(&r->mu);
}

fl__task *fl__task_new(const char *name, struct fl_group *g, void (*entry)(fl__task *), void *arg)
{
	fl__task *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (!name)
		name = "task";
	size_t len = strnlen(name, sizeof(t->name) - 1); /* snprintf's truncation */
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->group = g;
	t->id = atomic_fetch_add(&next_id, 1);
	t->entry = entry;
	t->arg = arg;
	atomic_init(&t->wait_kind, FL__WAIT_NONE);
	atomic_init(&t->wait_obj, NULL);
	atomic_init(&t->wait_until_ns, FL_FOREVER);
	reg_insert(t);
	fl__count_add(FL__C_TASKS, 1);
	return t;
}

void fl__task_unregister(fl__task *t)
{
	/* registered changes only on the task's own path (spawn, its entry,
	 * its finish or its thread's exit), so the task may read it unlocked. */
	if (!t->registered)
		return;
	struct reg_stripe *r = reg_of(t);
	fl__mutex_lock(&r->mu);
	bool was = t->registered;
	if (was) {
		if (t->reg_prev)
			t->reg_prev->reg_next = t->reg_next;
		else
			r->head = t->reg_next;
		if (t->reg_next)
			t->reg_next->reg_prev = t->reg_prev;
		t->registered = false;
	}
	fl__mutex_unlock(&r->mu);
	if (was && !t->adopted) {
		fl__count_add(FL__C_TASKS, -1);
		progress_bump(t); /* a task finished */
	}
}

void fl__task_finish(fl__task *t)
{
	fl__task_unregister(t);
	free(t);
}

void fl__task_adopt(fl__task *t)
{
	t->adopted = true;
	t->id = atomic_fetch_add(&next_id, 1);
	atomic_init(&t->wait_kind, FL__WAIT_NONE);
	atomic_init(&t->wait_obj, NULL);
	atomic_init(&t->wait_until_ns, FL_FOREVER);
	reg_insert(t);
}

void fl__task_set_wait(fl__task *t, int kind, const void *obj, int64_t until)
{
	atomic_store_explicit(&t->wait_obj, obj, memory_order_relaxed);
	atomic_store_explicit(&t->wait_until_ns, until, memory_order_relaxed);
	atomic_store_explicit(&t->wait_kind, kind, memory_order_release);
}

static void describe_wait(const fl__task *t, char *buf, size_t cap, int64_t now)
{
	int kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
	const void *obj = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
	int64_t until = atomic_load_explicit(&t->wait_until_ns, memory_order_relaxed);
	char when[48] = "";
	if (until != FL_FOREVER && kind != FL__WAIT_NONE)
		snprintf(when, sizeof(when), " (deadline %+.3fms)", (double)(until - now) / 1e6);
	switch (kind) {
	case FL__WAIT_NONE: snprintf(buf, cap, "running"); return;
	case FL__WAIT_CHAN_SEND: snprintf(buf, cap, "chan send on '%s'%s", fl__obj_label(obj, "nil"), when); return;
	case FL__WAIT_CHAN_RECV: snprintf(buf, cap, "chan recv on '%s'%s", fl__obj_label(obj, "nil"), when); return;
	case FL__WAIT_SELECT: snprintf(buf, cap, "select%s", when); return;
	case FL__WAIT_CTX: snprintf(buf, cap, "ctx wait%s", when); return;
	case FL__WAIT_SLEEP: snprintf(buf, cap, "sleep until %+.3fms", (double)(until - now) / 1e6); return;
	case FL__WAIT_GROUP_WAIT: snprintf(buf, cap, "group wait on '%s'", fl__obj_label(obj, "-")); return;
	case FL__WAIT_GROUP_LIMIT: snprintf(buf, cap, "group limit of '%s'", fl__obj_label(obj, "-")); return;
	case FL__WAIT_BLOCKING: snprintf(buf, cap, "blocking call"); return;
	default: snprintf(buf, cap, "unknown wait %d", kind); return;
	}
}

int fl_task_dump(FILE *out)
{
	int n = 0;
	int64_t now = fl__now();
	fprintf(out, "live tasks (backend %s):\n", fl__sched()->name);
	for (int i = 0; i < REG_STRIPES; i++) {
		fl__mutex_lock(&reg[i].mu);
		for (fl__task *t = reg[i].head; t; t = t->reg_next) {
			char what[160];
			describe_wait(t, what, sizeof(what), now);
			fprintf(out, "  #%" PRIu64 " %-24s group=%-16s %s%s\n", t->id, t->name,
				fl__obj_label(t->group, "-"), what,
				t->adopted ? " [thread]" : "");
			n++;
		}
		fl__mutex_unlock(&reg[i].mu);
	}
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
	progress_bump(t);
}


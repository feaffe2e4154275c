/*
 * threads.c - the `threads` backend: every task on its own OS thread.
 *
 * Problem: run each task on a real pthread (the mode Helgrind and DRD can
 * check) without paying pthread_create for every fl_group_go.
 *
 * Data structures:
 *   - worker: one pooled OS thread with its parker (parker.c: adaptive
 *     spin, then a condvar sleep). A task runs on a worker from start to
 *     end, so a task's parker is its worker's. Idle workers wait on their
 *     own condvar (beside the parker) for the next task and
 *     exit after IDLE_LINGER_NS without work; pool.idle is a LIFO stack so
 *     the warmest thread is reused first. Steady-state spawning creates no
 *     thread.
 *   - foreign threads (main, user threads) get an adopted task from
 *     foreign.c (shared with the fibers backend) on first use.
 *   - timers: one timer thread with a binary min-heap ordered by deadline.
 *
 * Invariants: a parker holds at most one token and only its owner takes it;
 * the wake protocol in sched_internal.h guarantees one unpark per successful fire, so
 * a token is never left over once a wait returns. Parkers are type-stable:
 * a worker or adopted thread that ends puts its struct on a free list for
 * the next one instead of destroying the mutex a waker may have unlocked a
 * moment ago (glibc's unlock still writes the lock word after handing it
 * over, which Helgrind rightly cannot prove ordered before a destroy).
 *
 * Lock order: pool.mu -> worker.mu (handing a task to an idle worker).
 * parker locks are leaves. timers.mu is taken alone; timer callbacks run
 * without it.
 */
#define _GNU_SOURCE /* pthread_setname_np, pthread_getname_np */
#include "sched_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_annotate_internal.h"
#include "foreign_internal.h"
#include "parker_internal.h"
#include "fl_alloc_internal.h"

#define IDLE_LINGER_NS FL_SEC(5)
#define DEFAULT_STACK (256 * 1024)

typedef struct worker {
	fl__parker p;             /* the running task's parker */
	fl__mutex mu;             /* idle hand-over of the next task */
	fl__cond cv;              /* an idle worker waits here (mu) */
	fl__task *next;           /* mu: task handed over by spawn, or NULL */
	struct worker *idle_next; /* pool.mu */
	pthread_t thread;
	int index;
} worker;

static struct {
	fl__mutex mu;
	worker *idle;      /* mu: LIFO stack of idle workers */
	worker *free;      /* mu: structs of exited workers, for reuse */
	size_t stack_size; /* immutable after init */
	int nthreads;      /* mu */
	int seq;           /* mu: worker names */
} pool = {.mu = {PTHREAD_MUTEX_INITIALIZER}};

static atomic_long threads_live;
static _Thread_local fl__task *tls_task;

/* ---- parkers ------------------------------------------------------------ */

static bool th_park(fl__task *self, int64_t deadline_ns)
{
	if (self->adopted)
		return fl__foreign_park(self, deadline_ns);
	return fl__parker_park(self->backend, deadline_ns);
}

static void th_unpark(fl__task *t)
{
	if (t->adopted)
		fl__foreign_unpark(t);
	else
		fl__parker_unpark(t->backend);
}

/* ---- foreign threads ------------------------------------------------------ */

static fl__task *th_self(void)
{
	if (__builtin_expect(tls_task != NULL, 1))
		return tls_task;
	return fl__foreign_self();
}

/* ---- workers ------------------------------------------------------------ */

static void run_task(worker *w, fl__task *t)
{
	t->backend = &w->p;
	tls_task = t;
	t->entry(t);
	tls_task = NULL;
	fl__task_finish(t);
}

/* Waits for the next task; returns NULL when the worker should exit. */
static fl__task *worker_idle(worker *w)
{
	fl__mutex_lock(&pool.mu);
	w->idle_next = pool.idle;
	pool.idle = w;
	fl__mutex_unlock(&pool.mu);

	int64_t deadline = fl__mono_ns() + IDLE_LINGER_NS;
	fl__mutex_lock(&w->mu);
	while (!w->next) {
		if (fl__cond_wait_until(&w->cv, &w->mu, deadline) != ETIMEDOUT)
			continue;
		fl__mutex_unlock(&w->mu);
		/* Timed out: leave the idle stack unless spawn just took us. */
		fl__mutex_lock(&pool.mu);
		fl__mutex_lock(&w->mu);
		if (!w->next) {
			worker **pp = &pool.idle;
			while (*pp != w)
				pp = &(*pp)->idle_next;
			*pp = w->idle_next;
			pool.nthreads--;
			fl__mutex_unlock(&w->mu);
			fl__mutex_unlock(&pool.mu);
			return NULL;
		}
		fl__mutex_unlock(&pool.mu);
	}
	fl__task *t = w->next;
	w->next = NULL;
	fl__mutex_unlock(&w->mu);
	return t;
}

static void worker_put(worker *w);

static void *worker_main(void *arg)
{
	worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "fl-w%d", w->index);
	pthread_setname_np(pthread_self(), name);
	fl__mutex_lock(&w->mu);
	fl__task *t = w->next;
	w->next = NULL;
	fl__mutex_unlock(&w->mu);
	while (t) {
		run_task(w, t);
		t = worker_idle(w);
	}
	atomic_fetch_sub(&threads_live, 1);
	worker_put(w); /* type-stable: reused, never freed */
	return NULL;
}

static worker *worker_get(void)
{
	fl__mutex_lock(&pool.mu);
	worker *w = pool.free;
	if (w)
		pool.free = w->idle_next;
	fl__mutex_unlock(&pool.mu);
	if (!w && (w = fl__calloc(1, sizeof(*w))) != NULL) {
		fl__parker_init(&w->p);
		fl__mutex_init(&w->mu);
		fl__cond_init(&w->cv);
	}
	return w;
}

static void worker_put(worker *w)
{
	fl__mutex_lock(&pool.mu);
	w->idle_next = pool.free;
	pool.free = w;
	fl__mutex_unlock(&pool.mu);
}

static fl_err *start_worker(fl__task *t)
{
	worker *w = worker_get();
	if (!w)
		return FL_ERR_NOMEM;
	fl__mutex_lock(&w->mu);
	w->next = t;
	fl__mutex_unlock(&w->mu);
	pthread_attr_t attr;
	FL_ASSERT(pthread_attr_init(&attr) == 0);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, pool.stack_size);
	fl__mutex_lock(&pool.mu);
	w->index = pool.seq++;
	pool.nthreads++;
	fl__mutex_unlock(&pool.mu);
	atomic_fetch_add(&threads_live, 1);
	int rc = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		atomic_fetch_sub(&threads_live, 1);
		fl__mutex_lock(&pool.mu);
		pool.nthreads--;
		fl__mutex_unlock(&pool.mu);
		worker_put(w);
		return fl_err_errno(rc, "pthread_create");
	}
	return NULL;
}

static fl_err *th_spawn(fl__task *t)
{
	fl__mutex_lock(&pool.mu);
	worker *w = pool.idle;
	if (w) {
		pool.idle = w->idle_next;
		fl__mutex_lock(&w->mu);
		w->next = t;
		fl__cond_signal(&w->cv);
		fl__mutex_unlock(&w->mu);
	}
	fl__mutex_unlock(&pool.mu);
	return w ? NULL : start_worker(t);
}

/* ---- timers ------------------------------------------------------------- */

static struct {
	fl__mutex mu;
	fl__cond cv;       /* new earliest timer, or shutdown */
	fl__cond done;     /* a callback finished */
	fl__timer **heap;  /* mu */
	size_t n, cap;     /* mu */
	bool started;      /* mu */
	fl__timer *firing; /* mu: the timer whose callback runs now. The
			     * callback may free the timer, so the timer
			     * thread never touches it afterwards. */
} timers = {.mu = {PTHREAD_MUTEX_INITIALIZER}};

static void heap_swap(size_t a, size_t b)
{
	fl__timer *t = timers.heap[a];
	timers.heap[a] = timers.heap[b];
	timers.heap[b] = t;
	timers.heap[a]->heap_index = (int64_t)a;
	timers.heap[b]->heap_index = (int64_t)b;
}

static void heap_up(size_t i)
{
	while (i > 0 && timers.heap[(i - 1) / 2]->when_ns > timers.heap[i]->when_ns) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < timers.n && timers.heap[l]->when_ns < timers.heap[m]->when_ns)
			m = l;
		if (r < timers.n && timers.heap[r]->when_ns < timers.heap[m]->when_ns)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

static void heap_remove(size_t i)
{
	timers.heap[i]->heap_index = -1;
	timers.n--;
	if (i == timers.n)
		return;
	timers.heap[i] = timers.heap[timers.n];
	timers.heap[i]->heap_index = (int64_t)i;
	heap_down(i);
	heap_up(i);
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "fl-timers");
	fl__mutex_lock(&timers.mu);
	for (;;) {
		if (timers.n == 0) {
			fl__cond_wait(&timers.cv, &timers.mu);
			continue;
		}
		fl__timer *t = timers.heap[0];
		if (t->when_ns > fl__mono_ns()) {
			fl__cond_wait_until(&timers.cv, &timers.mu, t->when_ns);
			continue;
		}
		heap_remove(0);
		timers.firing = t;
		fl__mutex_unlock(&timers.mu);
		t->fn(t);
		fl__mutex_lock(&timers.mu);
		timers.firing = NULL;
		fl__cond_broadcast(&timers.done);
	}
	return NULL;
}

static bool th_timer_start(fl__timer *t)
{
	fl__mutex_lock(&timers.mu);
	if (!timers.started) {
		pthread_t th;
		pthread_attr_t attr;
		FL_ASSERT(pthread_attr_init(&attr) == 0);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, timer_main, NULL) != 0)
			FL_ABORT("cannot start the timer thread");
		pthread_attr_destroy(&attr);
		atomic_fetch_add(&threads_live, 1);
		timers.started = true;
	}
	if (timers.n == timers.cap) {
		size_t cap = timers.cap ? timers.cap * 2 : 64;
		fl__timer **h = fl__realloc(timers.heap, cap * sizeof(*h));
		if (!h) {
			fl__mutex_unlock(&timers.mu);
			return false;
		}
		timers.heap = h;
		timers.cap = cap;
	}
	t->heap_index = (int64_t)timers.n;
	timers.heap[timers.n++] = t;
	heap_up((size_t)t->heap_index);
	if (t->heap_index == 0)
		fl__cond_signal(&timers.cv);
	fl__mutex_unlock(&timers.mu);
	return true;
}

static bool th_timer_stop(fl__timer *t)
{
	bool stopped = false;
	fl__mutex_lock(&timers.mu);
	if (t->heap_index >= 0) {
		heap_remove((size_t)t->heap_index);
		stopped = true;
	} else {
		while (timers.firing == t)
			fl__cond_wait(&timers.done, &timers.mu);
	}
	fl__mutex_unlock(&timers.mu);
	return stopped;
}

/* ---- the rest of the seam ------------------------------------------------ */

static fl_err *th_init(const struct fl_sched_opts *opts)
{
	pool.stack_size = opts->stack_size ? opts->stack_size : DEFAULT_STACK;
	if (pool.stack_size < 64 * 1024)
		pool.stack_size = 64 * 1024;
	fl__cond_init(&timers.cv);
	fl__cond_init(&timers.done);
	/* Not pthread_once: the seam is initialised under a mutex before any
	 * self() call, which every checker sees as ordering. */
	int rc = fl__foreign_init(true); /* parkers spin adaptively, then sleep */
	return rc ? fl_err_errno(rc, "pthread_key_create") : NULL;
}

static void th_shutdown(void) {}

static int64_t th_now(void) { return fl__mono_ns(); }

/* Under valgrind, which runs one thread at a time behind its own lock,
 * sched_yield may hand the CPU straight back to the caller: a task polling
 * with fl_yield then starves the tasks it waits for. A 20 us nap blocks in
 * the kernel and gives the lock away. */
static void th_yield(void)
{
#if defined(FL_VALGRIND)
	if (RUNNING_ON_VALGRIND) {
		nanosleep(&(struct timespec){0, 20000}, NULL);
		return;
	}
#endif
	sched_yield();
}

static uint64_t th_rand(void)
{
	static _Thread_local uint64_t s;
	if (!s)
		s = (uint64_t)fl__mono_ns() ^ (uint64_t)(uintptr_t)&s ^ 0x9E3779B97F4A7C15ull;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

static long th_threads_live(void) { return atomic_load(&threads_live); }

static void th_blocking(void (*fn)(void *), void *arg) { fn(arg); }

const fl__sched_ops fl__sched_threads = {
	.name = "threads",
	.init = th_init,
	.shutdown = th_shutdown,
	.spawn = th_spawn,
	.self = th_self,
	.park = th_park,
	.unpark = th_unpark,
	.now = th_now,
	.yield = th_yield,
	.timer_start = th_timer_start,
	.timer_stop = th_timer_stop,
	.rand = th_rand,
	.threads_live = th_threads_live,
	.blocking = th_blocking,
};

/*
 * fibers.c - the `fibers` backend: M tasks on N worker threads.
 *
 * Problem: a task per OS thread costs a thread switch (futex, kernel,
 * scheduler) per channel handoff and megabytes per idle task. Here a task
 * is a fiber with its own small stack, and a handoff is a user-space
 * context switch on the same worker.
 *
 * Data structures:
 *   - worker: one OS thread running a scheduler loop on its own stack. It
 *     picks a fiber, switches to it, and gets control back when the fiber
 *     parks, yields or exits (w->after says which); it then finishes that
 *     transition on its own stack, where the fiber is no longer running.
 *     Run sources, in order: a fiber woken while it was still switching out
 *     (w->resume), the runnext slot, the local ring (fiber_runq.c), due
 *     timers, the global queue, then stealing half of another worker's
 *     ring. Every GLOBAL_TICK picks the global queue and the ring go
 *     before runnext, so a pair ping-ponging through runnext cannot starve
 *     them.
 *   - runnext: a wake from a fiber (a channel handoff) puts the woken fiber
 *     in the waker's runnext slot, so it runs as soon as the waker parks,
 *     on the same worker with a warm cache, as Go does. No idle worker is
 *     woken for it. A runnext slot is stolen only when stale: a thief saw
 *     the same fiber there, and the owner's tick unchanged, for STALE_NS.
 *   - idle: a worker with nothing to run spins a few rounds stealing, then
 *     sleeps on its own condvar. One sleeper, the watcher, sleeps with a
 *     timeout: the next timer, and while other workers are busy a backoff
 *     (50 us doubling to 10 ms) after which it checks for stale runnext
 *     slots. New work wakes a sleeper unless a worker is spinning.
 *   - fiber (fiber_internal.h): a state word whose phases and wake bits
 *     carry the wake protocol of sched_internal.h. park = "if the token is set,
 *     consume it and return; else READY -> PARKING and switch to the
 *     scheduler"; the scheduler then moves PARKING -> PARKED, and if a wake
 *     slipped in first (a bit set while PARKING) it resumes the fiber at
 *     once instead. unpark = set the token; if the fiber was PARKED, make
 *     it READY and enqueue it. Only the thread that moves a fiber out of
 *     PARKED enqueues it, so a fiber is enqueued exactly once per wake.
 *   - foreign threads (main, user pthreads, the blocking pool) get an
 *     adopted task that parks on a condvar (foreign.c); park and
 *     unpark dispatch on task->adopted.
 *
 * Fibers migrate between workers, so nothing here caches the current
 * worker across a switch: cur_worker() reads the thread-local afresh and
 * cannot be inlined or merged by the compiler.
 *
 * Lock order: object locks (channel, context, group) -> fl__idle.mu or gq.mu
 * (taken by unpark when it wakes a worker or uses the global queue) or a
 * parker lock; all three are leaves. The timer heap lock and the stack pool
 * lock are leaves too. No lock is held across a context switch.
 */
#define _GNU_SOURCE /* pthread_setname_np, pthread_getattr_np, adaptive mutexes */
#include "fiber_internal.h"
#include "fiber_switch_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_annotate_internal.h"
#include "sync_internal.h"
#include "fl_alloc_internal.h"

#define MAX_WORKERS 256
#define CACHE_MAX 32   /* recycled fibers kept per worker */
#define SPIN_ROUNDS 4  /* steal passes before sleeping */
#define GLOBAL_TICK 61 /* queues before runnext every N picks */
#define TIMER_TICK 16  /* timers checked every N fibers */
#define STEAL_BATCH (FL__RUNQ_CAP / 2)
#define STALE_NS FL_US(50) /* runnext may be stolen after this */
#define BACKOFF_MIN_NS FL_US(50)

#if defined(__clang__)
#define FRESH __attribute__((noinline))
#else
#define FRESH __attribute__((noinline, noipa))
#endif

enum { AFTER_PARK = 1, AFTER_YIELD, AFTER_EXIT };

typedef fl__worker worker; /* local shorthand */
typedef fl__seen seen;

static _Thread_local worker *tls_worker;

FRESH static worker *cur_worker(void)
{
	worker *w = tls_worker;
	__asm__ volatile("" ::: "memory");
	return w;
}

/* ---- run queues -------------------------------------------------------------- */

static void local_put(worker *w, fl__fiber *f)
{
	if (!fl__runq_put(&w->q, f))
		fl__gq_put(f);
}

/* Makes f (just taken out of PARKED, or new) run somewhere. A handoff from
 * a fiber goes to the waker's runnext slot. */
static void ready(fl__fiber *f, bool handoff)
{
	worker *w = cur_worker();
	if (!w) {
		fl__gq_put(f);
		fl__idle_wake();
		return;
	}
	if (handoff && w->cur) {
		fl__fiber *old = atomic_exchange_explicit(&w->runnext, f, memory_order_acq_rel);
		if (!old)
			return; /* the waker parks soon, as a handoff goes */
		f = old;
	}
	local_put(w, f);
	fl__idle_wake();
}

static fl__fiber *take_global(worker *w)
{
	fl__fiber *batch[32];
	long want = fl__gq_len() / fl__idle.n + 1;
	uint32_t n = fl__gq_get(batch, want < 32 ? (uint32_t)want : 32);
	for (uint32_t i = 1; i < n; i++)
		local_put(w, batch[i]);
	return n ? batch[0] : NULL;
}

static fl__fiber *find_local(worker *w)
{
	fl__fiber *f = w->resume;
	if (f) {
		w->resume = NULL;
		return f;
	}
	if (--w->fair <= 0) {
		w->fair = GLOBAL_TICK;
		/* Fairness: a pair ping-ponging through runnext would
		 * otherwise starve the global queue and the local ring. */
		if (fl__gq_len() > 0 && (f = take_global(w)))
			return f;
		if ((f = fl__runq_get(&w->q)))
			return f;
	}
	if (atomic_load_explicit(&w->runnext, memory_order_relaxed) &&
	    (f = atomic_exchange_explicit(&w->runnext, NULL, memory_order_acq_rel)))
		return f;
	return fl__runq_get(&w->q);
}

/* Half of v's ring, or v's runnext if the same fiber has sat there for
 * STALE_NS while v did not switch fibers (its waker went on computing). */
static fl__fiber *steal_from(worker *w, worker *v)
{
	fl__fiber *batch[STEAL_BATCH];
	uint32_t n = fl__runq_grab(&v->q, batch, STEAL_BATCH);
	if (n) {
		for (uint32_t i = 1; i < n; i++)
			local_put(w, batch[i]);
		return batch[0];
	}
	seen *s = &w->seen[v->index];
	fl__fiber *rn = atomic_load_explicit(&v->runnext, memory_order_acquire);
	uint64_t tick = atomic_load_explicit(&v->tick, memory_order_relaxed);
	if (!rn || rn != s->rn || tick != s->tick) {
		s->rn = rn;
		s->tick = tick;
		s->since_ns = rn ? fl__mono_ns() : 0;
		return NULL;
	}
	if (fl__mono_ns() - s->since_ns < STALE_NS ||
	    !atomic_compare_exchange_strong_explicit(&v->runnext, &rn, NULL, memory_order_acq_rel,
						     memory_order_relaxed))
		return NULL;
	s->rn = NULL;
	return rn;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static fl__fiber *spin_steal(worker *w)
{
	int n = fl__idle.n;
	if (n == 1 || 2 * atomic_load(&fl__idle.nspinning) >= n - atomic_load(&fl__idle.nsleeping))
		return NULL;
	atomic_fetch_add(&fl__idle.nspinning, 1);
	fl__fiber *f = NULL;
	for (int round = 0; round < SPIN_ROUNDS && !f; round++) {
		int start = (int)(xorshift(&w->rng) % (uint64_t)n);
		for (int i = 0; i < n && !f; i++) {
			worker *v = &fl__idle.w[(start + i) % n];
			if (v != w)
				f = steal_from(w, v);
		}
		if (!f && fl__gq_len() > 0)
			f = take_global(w);
		for (int k = 0; !f && k < 64; k++)
			fl__cpu_relax();
	}
	int left = atomic_fetch_sub(&fl__idle.nspinning, 1) - 1;
	if (f && left == 0 && fl__idle_work_visible())
		fl__idle_wake(); /* we were the last spinner: hand the search on */
	return f;
}

static fl__fiber *find_runnable(worker *w)
{
	for (;;) {
		fl__fiber *f;
		if (atomic_load_explicit(&w->tick, memory_order_relaxed) % TIMER_TICK == 0)
			fl__ftimer_run();
		if ((f = find_local(w)))
			return f;
		if (fl__ftimer_run() && (f = find_local(w)))
			return f;
		if (fl__gq_len() > 0 && (f = take_global(w)))
			return f;
		if ((f = spin_steal(w)))
			return f;
		fl__idle_sleep(w);
	}
}

/* ---- switching ----------------------------------------------------------------- */

static void fiber_exit(worker *w, fl__fiber *f);
static void finish_park(worker *w, fl__fiber *f);

/*
 * Finishes the transition of the fiber that switched out last (w->prev),
 * now that its stack is quiet. Runs on whatever was resumed: the scheduler
 * loop, or a fiber resumed by a direct switch.
 */
static void finish_prev(worker *w)
{
	fl__fiber *f = w->prev;
	w->prev = NULL;
	switch (w->after) {
	case AFTER_PARK: finish_park(w, f); break;
	case AFTER_YIELD: local_put(w, f); break;
	case AFTER_EXIT: fiber_exit(w, f); break;
	default: FL_ABORT("fiber switched out without a reason");
	}
}

/*
 * The fiber to switch to directly from a parking or exiting fiber: the
 * runnext slot, unless the scheduler loop has its own work due (a fiber
 * woken while it switched out, a fairness pick of the queues, or a timer
 * check). This is the handoff path: a send that woke a receiver on this
 * worker switches straight to it, without a pass through the loop.
 */
static fl__fiber *direct_next(worker *w)
{
	if (w->resume || w->fair <= 1 ||
	    (atomic_load_explicit(&w->tick, memory_order_relaxed) + 1) % TIMER_TICK == 0 ||
	    !atomic_load_explicit(&w->runnext, memory_order_relaxed))
		return NULL;
	fl__fiber *next = atomic_exchange_explicit(&w->runnext, NULL, memory_order_acq_rel);
	if (next)
		w->fair--;
	return next;
}

static fl__fswitch_to fiber_target(fl__fiber *f)
{
	return (fl__fswitch_to){&f->ctx, f->stack_lo, f->stack_size, f->tsan};
}

/* On the fiber: switches to the runnext fiber (park and exit) or back to
 * the scheduler of whichever worker runs us. */
static void switch_out(fl__fiber *f, int after)
{
	worker *w = cur_worker();
	fl__fiber *next = after == AFTER_YIELD ? NULL : direct_next(w);
	void **fake = after == AFTER_EXIT ? NULL : &f->asan_fake;
	w->prev = f;
	w->after = after;
	if (next) {
		w->cur = next;
		atomic_store_explicit(&w->tick,
				      atomic_load_explicit(&w->tick, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		atomic_store_explicit(&w->direct,
				      atomic_load_explicit(&w->direct, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		fl__fswitch(&f->ctx, fake, fiber_target(next));
	} else {
		fl__fswitch(&f->ctx, fake,
			    (fl__fswitch_to){&w->ctx, w->stack_lo, w->stack_size, w->tsan});
	}
	/* Resumed, possibly on another worker: w is stale. */
	w = cur_worker();
	if (w->prev)
		finish_prev(w); /* we were resumed by a direct switch */
}

static void fiber_main(void *arg)
{
	fl__fiber *f = arg;
	fl__fswitch_entered();
	worker *w = cur_worker();
	if (w->prev)
		finish_prev(w); /* started by a direct switch */
	fl__task *t = f->task;
	t->entry(t);
	switch_out(f, AFTER_EXIT);
	FL_ABORT("a finished fiber was resumed");
}

static void fiber_exit(worker *w, fl__fiber *f)
{
	fl__task_finish(f->task);
	f->task = NULL;
	fl__fswitch_tsan_free(f->tsan);
	f->tsan = NULL;
	fl__fswitch_stack_done(f->stack_lo, f->stack_size);
	if (w->ncache < CACHE_MAX) {
		f->next = w->cache;
		w->cache = f;
		w->ncache++;
	} else {
		fl__fiber_stack_put(f);
	}
}

/* The scheduler's half of a park: the fiber's stack is quiet now. */
static void finish_park(worker *w, fl__fiber *f)
{
	uint32_t expect = FIBER_PARKING;
	if (atomic_compare_exchange_strong_explicit(&f->state, &expect, FIBER_PARKED,
						    memory_order_acq_rel, memory_order_acquire))
		return;
	/* A wake arrived while it was switching out: run it again now. */
	atomic_fetch_and_explicit(&f->state, ~(uint32_t)FIBER_PHASE, memory_order_acq_rel);
	if (!w->resume) {
		w->resume = f;
		return;
	}
	/* Another is already waiting to resume: a direct switch finished
	 * that one's park, and the fiber it switched to parked through the
	 * loop. resume holds one fiber; this one goes to the ring. */
	local_put(w, f);
	fl__idle_wake();
}

static void run(worker *w, fl__fiber *f)
{
	w->cur = f;
	atomic_store_explicit(&w->tick, atomic_load_explicit(&w->tick, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	void *fake = NULL; /* the worker's ASan fake stack while f runs */
	fl__fswitch(&w->ctx, &fake, fiber_target(f));
	/* Back from f, or from a fiber f switched to directly (w->prev). */
	w->cur = NULL;
	finish_prev(w);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "fl-fw%d", w->index);
	pthread_setname_np(pthread_self(), name);
	tls_worker = w;
	w->tsan = fl__fswitch_tsan_current();
	fl__fswitch_thread_stack(&w->stack_lo, &w->stack_size);
	for (;;) {
		fl__fiber *f = find_runnable(w);
		w->backoff_ns = BACKOFF_MIN_NS;
		run(w, f);
	}
	return NULL;
}

/* ---- park / unpark --------------------------------------------------------------- */

static void park_timeout(fl__timer *tm)
{
	fl__fiber *f = tm->arg;
	uint32_t v = atomic_load_explicit(&f->state, memory_order_acquire);
	for (;;) {
		uint32_t phase = v & FIBER_PHASE;
		if (phase == FIBER_READY)
			return; /* already awake; it stops this timer itself */
		uint32_t nv = phase == FIBER_PARKED
				      ? ((v & ~(uint32_t)FIBER_PHASE) | FIBER_TIMEDOUT)
				      : (v | FIBER_TIMEDOUT);
		if (atomic_compare_exchange_weak_explicit(&f->state, &v, nv, memory_order_acq_rel,
							  memory_order_acquire)) {
			if (phase == FIBER_PARKED)
				ready(f, false);
			return;
		}
	}
}

static void fb_yield(void);

/* A timed park whose timer could not be armed (the timer heap could not
 * grow: out of memory): back out of PARKING, then wait by yielding and
 * looking, until the token or the deadline. A token landing after the
 * deadline is taken by the caller's failed abort, as after a timer. */
static bool park_poll(fl__fiber *f, int64_t deadline_ns)
{
	uint32_t v =
		atomic_fetch_and_explicit(&f->state, ~(uint32_t)FIBER_PHASE, memory_order_acq_rel);
	while (!(v & FIBER_TOKEN) && fl__mono_ns() < deadline_ns) {
		fb_yield();
		v = atomic_load_explicit(&f->state, memory_order_acquire);
	}
	if (!(v & FIBER_TOKEN))
		return false;
	atomic_store_explicit(&f->state, FIBER_READY, memory_order_relaxed);
	return true;
}

bool fl__fibers_park(fl__task *self, int64_t deadline_ns)
{
	if (self->adopted)
		return fl__foreign_park(self, deadline_ns);
	fl__fiber *f = self->backend;
	uint32_t v = atomic_load_explicit(&f->state, memory_order_acquire);
	if (v & FIBER_TOKEN) {
		/* Consume it; no one else writes the word now (see header). */
		atomic_store_explicit(&f->state, FIBER_READY, memory_order_relaxed);
		return true;
	}
	bool timed = deadline_ns != FL_FOREVER;
	if (timed && deadline_ns <= fl__mono_ns())
		return false;
	uint32_t expect = FIBER_READY;
	if (!atomic_compare_exchange_strong_explicit(&f->state, &expect, FIBER_PARKING,
						     memory_order_acq_rel, memory_order_acquire)) {
		FL_ASSERT(expect == (FIBER_READY | FIBER_TOKEN));
		atomic_store_explicit(&f->state, FIBER_READY, memory_order_relaxed);
		return true;
	}
	if (timed) {
		f->timer.when_ns = deadline_ns;
		f->timer.fn = park_timeout;
		f->timer.arg = f;
		bool earliest;
		if (!fl__ftimer_start(&f->timer, &earliest))
			return park_poll(f, deadline_ns);
		if (earliest)
			fl__fibers_kick_timers();
	}
	switch_out(f, AFTER_PARK);
	if (timed) {
		fl__ftimer_stop(&f->timer); /* after this, no callback can run */
		/* Woken by the deadline, the fire for this wait may still be
		 * on its way: its token can land at any moment, so clear with
		 * an RMW. If it lands later, the caller's abort fails and it
		 * parks again to take it. */
		v = atomic_fetch_and_explicit(&f->state, ~(uint32_t)(FIBER_TOKEN | FIBER_TIMEDOUT),
					      memory_order_acq_rel);
	} else {
		v = atomic_load_explicit(&f->state, memory_order_acquire);
		atomic_store_explicit(&f->state, FIBER_READY, memory_order_relaxed);
		FL_ASSERT(v & FIBER_TOKEN);
	}
	FL_ASSERT((v & FIBER_PHASE) == FIBER_READY);
	return (v & FIBER_TOKEN) != 0;
}

void fl__fibers_unpark(fl__task *t)
{
	if (t->adopted) {
		fl__foreign_unpark(t);
		return;
	}
	fl__fiber *f = t->backend;
	uint32_t v = atomic_load_explicit(&f->state, memory_order_relaxed);
	for (;;) {
		FL_ASSERT(!(v & FIBER_TOKEN)); /* one token per wait */
		bool parked = (v & FIBER_PHASE) == FIBER_PARKED;
		uint32_t nv = (parked ? (v & ~(uint32_t)FIBER_PHASE) : v) | FIBER_TOKEN;
		if (atomic_compare_exchange_weak_explicit(&f->state, &v, nv, memory_order_acq_rel,
							  memory_order_relaxed)) {
			/* Touch f again only if we own its enqueue: otherwise
			 * it may finish and be recycled at any moment. */
			if (parked)
				ready(f, true);
			return;
		}
	}
}

/* ---- the rest of the seam ----------------------------------------------------------- */

static fl__fiber *fiber_get(void)
{
	worker *w = cur_worker();
	if (w && w->cache) {
		fl__fiber *f = w->cache;
		w->cache = f->next;
		w->ncache--;
		f->next = NULL;
		f->asan_fake = NULL;
		f->timer.heap_index = -1;
		atomic_store_explicit(&f->state, FIBER_READY, memory_order_relaxed);
		return f;
	}
	return fl__fiber_stack_get();
}

static fl_err *fb_spawn(fl__task *t)
{
	fl__fiber *f = fiber_get();
	if (!f)
		return fl_err_errno(errno, "fibers: mapping a %zu-byte stack",
				    fl__fiber_stack_size());
	f->task = t;
	t->backend = f;
	fl__fctx_make(&f->ctx, f->stack_lo, f->stack_size, fiber_main, f);
	f->tsan = fl__fswitch_tsan_new();
	worker *w = cur_worker();
	if (w)
		local_put(w, f);
	else
		fl__gq_put(f);
	fl__idle_wake();
	return NULL;
}

static fl__task *fb_self(void)
{
	worker *w = cur_worker();
	if (w && w->cur)
		return w->cur->task;
	return fl__foreign_self();
}

static void fb_yield(void)
{
	worker *w = cur_worker();
	if (w && w->cur)
		switch_out(w->cur, AFTER_YIELD);
	else
		sched_yield();
}

static void fb_blocking(void (*fn)(void *), void *arg)
{
	worker *w = cur_worker();
	if (w && w->cur)
		fl__fblocking_run(w->cur->task, fn, arg);
	else
		fn(arg); /* a foreign thread may block itself */
}

static int64_t fb_now(void) { return fl__mono_ns(); }

static uint64_t fb_rand(void)
{
	static _Thread_local uint64_t s;
	if (!s)
		s = (fl__idle.seed ? fl__idle.seed : (uint64_t)fl__mono_ns()) ^
		    (uint64_t)(uintptr_t)&s ^ 0x9E3779B97F4A7C15ull;
	return xorshift(&s);
}

static long fb_threads_live(void) { return fl__idle.n + fl__fblocking_threads(); }

static fl_err *start_workers(void)
{
	for (int i = 0; i < fl__idle.n; i++) {
		pthread_attr_t attr;
		pthread_t th;
		FL_ASSERT(pthread_attr_init(&attr) == 0);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&th, &attr, worker_main, &fl__idle.w[i]);
		pthread_attr_destroy(&attr);
		if (rc)
			return fl_err_errno(rc, "fibers: starting worker %d", i);
	}
	return NULL;
}

static fl_err *fb_init(const struct fl_sched_opts *opts)
{
	long n = opts->workers > 0 ? opts->workers : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	fl__fiber_stack_config(opts->stack_size);
	int rc = fl__foreign_init(n > 1);
	if (rc)
		return fl_err_errno(rc, "pthread_key_create");
	fl__fblocking_init(fl__fibers_park, fl__fibers_unpark);
	size_t bytes = (sizeof(worker) * (size_t)n + 63) / 64 * 64;
	worker *ws = aligned_alloc(64, bytes);
	seen *looks = fl__calloc((size_t)(n * n), sizeof(seen));
	if (!ws || !looks) {
		free(ws);
		free(looks);
		return FL_ERR_NOMEM;
	}
	memset(ws, 0, bytes);
	for (int i = 0; i < n; i++) {
		worker *w = &ws[i];
		w->index = i;
		w->seen = looks + (size_t)i * (size_t)n;
		w->backoff_ns = BACKOFF_MIN_NS;
		w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ opts->seed;
		fl__cond_init(&w->cv);
	}
	fl__idle.seed = opts->seed;
	fl__idle.w = ws;
	fl__idle.n = (int)n;
	return start_workers();
}

static void fb_shutdown(void) {}

static bool fb_timer_start(fl__timer *t)
{
	bool earliest;
	if (!fl__ftimer_start(t, &earliest))
		return false;
	if (earliest)
		fl__fibers_kick_timers();
	return true;
}
static bool fb_timer_stop(fl__timer *t) { return fl__ftimer_stop(t); }

const fl__sched_ops fl__sched_fibers = {
	.name = "fibers",
	.init = fb_init,
	.shutdown = fb_shutdown,
	.spawn = fb_spawn,
	.self = fb_self,
	.park = fl__fibers_park,
	.unpark = fl__fibers_unpark,
	.now = fb_now,
	.yield = fb_yield,
	.timer_start = fb_timer_start,
	.timer_stop = fb_timer_stop,
	.rand = fb_rand,
	.threads_live = fb_threads_live,
	.blocking = fb_blocking,
};

/* ---- white-box hooks ------------------------------------------------------------------ */

int fl__fibers_worker_index(void)
{
	worker *w = cur_worker();
	return w ? w->index : -1;
}

fl__task *fl__fibers_runnext_task(void)
{
	worker *w = cur_worker();
	fl__fiber *f = w ? atomic_load(&w->runnext) : NULL;
	return f ? f->task : NULL;
}

int fl__fibers_workers(void) { return fl__idle.n; }

uint64_t fl__fibers_direct_switches(void)
{
	uint64_t n = 0;
	for (int i = 0; i < fl__idle.n; i++)
		n += atomic_load_explicit(&fl__idle.w[i].direct, memory_order_relaxed);
	return n;
}

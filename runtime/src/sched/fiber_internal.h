/*
 * fiber_internal.h - the `fibers` backend's internal interfaces.
 *
 * fibers.c is the scheduler (workers, park/unpark, spawn, the ops
 * table); the rest is split by concern: fiber_idle.c (putting idle workers
 * to sleep and waking them), fiber_ctx.c (the context switch),
 * fiber_stack.c (guarded, pooled stacks that also hold the fiber record),
 * fiber_runq.c (per-worker lock-free run queues and the global queue),
 * fiber_timers.c (the timer heap the workers fire), fiber_blocking.c (the
 * side thread pool behind fl_blocking) and foreign.c (adopted
 * threads and their condvar parkers). docs/scheduler.md explains the design; the white-box tests
 * at the end of this header are for tests/runtime/test_fibers.c only.
 */
#ifndef FL_FIBER_INTERNAL_H
#define FL_FIBER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fiber_ctx_internal.h"
#include "foreign_internal.h"
#include "sched_internal.h"

/*
 * A fiber's state word: a phase in the low two bits plus two wake bits.
 *
 *   READY     running on a worker, or runnable (queued, in a runnext slot,
 *             or being resumed): not waiting
 *   PARKING   decided to park, still switching out; only the scheduler of
 *             the worker it ran on moves it on, after the switch completed
 *   PARKED    switched out and waiting; whoever moves it to READY owns the
 *             right (and the duty) to enqueue it, exactly once
 *
 * TOKEN is the park token of the wake protocol (sched_internal.h): set by unpark,
 * consumed only by the fiber itself. TIMEDOUT is set by the park-deadline
 * timer. A wake that finds the fiber READY or PARKING only sets its bit; a
 * wake that finds it PARKED also makes it READY and enqueues it.
 *
 * The wake protocol allows one unpark per wait, so once a fiber holds its
 * token nothing else writes the word until its next wait registers
 * somewhere: it consumes the token with a plain store, and the scheduler
 * never needs a read-modify-write to run it. The exception is a timed park
 * woken by its deadline: the fire for that wait may still be on its way,
 * so that path clears the bits with an RMW.
 */
enum {
	FIBER_READY = 0,
	FIBER_PARKING = 1,
	FIBER_PARKED = 2,
	FIBER_PHASE = 3,
	FIBER_TOKEN = 4,
	FIBER_TIMEDOUT = 8,
};

typedef struct fl__fiber fl__fiber;

/* A fiber. The record lives at the top of its own stack mapping. */
struct fl__fiber {
	fl__fctx ctx;           /* saved context while switched out */
	_Atomic uint32_t state; /* phase | TOKEN | TIMEDOUT (see above) */
	fl__task *task;         /* the task it runs; set before enqueue */
	fl__fiber *next;        /* global queue / pool link (their locks) */
	fl__timer timer;        /* park deadline (heap lock, the fiber) */
	void *map;              /* immutable: the mapping (guard included) */
	size_t map_size;        /* immutable */
	void *stack_lo;         /* immutable: lowest usable stack byte */
	size_t stack_size;      /* immutable: usable bytes below the record */
	unsigned vg_stack;      /* immutable: Valgrind stack id */
	void *tsan;             /* TSan fiber, created per task */
	void *asan_fake;        /* ASan fake stack while switched out */
};

/* ---- stacks (fiber_stack.c) -------------------------------------------- */

/* Sets the usable stack size (rounded up to pages, at least 16 KiB). */
void fl__fiber_stack_config(size_t stack_size);
size_t fl__fiber_stack_size(void);
/* A fiber record with a fresh or recycled stack, or NULL (errno set). */
fl__fiber *fl__fiber_stack_get(void);
/* Returns f's stack to the pool (or unmaps it when the pool is full). */
void fl__fiber_stack_put(fl__fiber *f);
/* How guard pages are made: "madvise" (MADV_GUARD_INSTALL, no extra
 * mapping) or "mprotect" (a PROT_NONE mapping per stack). */
const char *fl__fiber_guard_kind(void);
/* Stacks currently mapped (pooled ones included). */
long fl__fiber_stacks_mapped(void);

/* ---- run queues (fiber_runq.c) ------------------------------------------- */

#define FL__RUNQ_CAP 256

/*
 * A per-worker run queue: a bounded ring (Go's runq). Only the owning
 * worker puts (it owns tail); the owner and thieves take from head with a
 * CAS. Slots are atomics, so a thief's speculative read of a slot the owner
 * is overwriting is harmless: its CAS on head then fails.
 */
typedef struct fl__runq {
	_Atomic uint32_t head;                  /* consumers, CAS */
	_Atomic uint32_t tail;                  /* owner, store-release */
	_Atomic(fl__fiber *) buf[FL__RUNQ_CAP]; /* slots [head, tail) */
} fl__runq;

/* Owner only. false if the ring is full (nothing changed). */
bool fl__runq_put(fl__runq *q, fl__fiber *f);
/* Owner only. NULL if empty. */
fl__fiber *fl__runq_get(fl__runq *q);
/* Any thread: takes up to half of q (at most max) into out[]; returns the
 * count. */
uint32_t fl__runq_grab(fl__runq *q, fl__fiber **out, uint32_t max);
/* Any thread: a snapshot of the length. */
uint32_t fl__runq_len(fl__runq *q);

/* The global queue: fibers made runnable off any worker (foreign threads,
 * the blocking pool) and overflow from full rings. */
void fl__gq_put(fl__fiber *f);
/* Takes up to max fibers (FIFO) into out[]; returns the count. */
uint32_t fl__gq_get(fl__fiber **out, uint32_t max);
/* A snapshot of the length (lock-free). */
long fl__gq_len(void);

/* ---- timers (fiber_timers.c) ---------------------------------------------- */

/* Arms t; false (t not armed) when out of memory. Sets *earliest when t
 * became the earliest timer: the caller must then call
 * fl__fibers_kick_timers (after the heap lock is released, so timers never
 * call up into the workers). */
bool fl__ftimer_start(fl__timer *t, bool *earliest);
bool fl__ftimer_stop(fl__timer *t);
/* Fires due timers (one worker at a time); returns how many fired. */
int fl__ftimer_run(void);
/* The earliest pending deadline, FL_FOREVER if none (lock-free). */
int64_t fl__ftimer_next(void);
/* Called when a timer became the earliest (fl__ftimer_start returned
 * true): an idle worker must recompute its sleep (fiber_idle.c). */
void fl__fibers_kick_timers(void);

/* ---- the blocking pool (fiber_blocking.c) -------------------------------- */

/* park and unpark are the backend's (fl__fibers_park/unpark), handed in so
 * the pool never calls up into fibers.c. */
void fl__fblocking_init(bool (*park)(fl__task *self, int64_t deadline_ns),
			void (*unpark)(fl__task *t));
/* Runs fn(arg) on a side thread while the current fiber t is parked. */
void fl__fblocking_run(fl__task *t, void (*fn)(void *), void *arg);
/* Live side threads (idle included). */
long fl__fblocking_threads(void);

/* Foreign threads: see foreign_internal.h (shared with the threads backend). */

/* ---- workers (fibers.c) and their idle state (fiber_idle.c) ------------- */

/* A thief's last look at one victim's runnext slot (stale-runnext steals). */
typedef struct fl__seen {
	uint64_t tick;    /* the victim's tick at the first look */
	fl__fiber *rn;    /* its runnext then */
	int64_t since_ns; /* when that pair was first seen */
} fl__seen;

/* "own" fields are touched only on the worker's thread (its scheduler or
 * the fiber it runs). */
typedef struct fl__worker {
	fl__runq q;                   /* see fl__runq */
	_Atomic(fl__fiber *) runnext; /* own puts; own takes; thieves CAS */
	_Atomic uint64_t tick;        /* own writes: fibers started so far */
	_Atomic uint64_t direct;      /* own writes: direct switches so far */
	fl__fctx ctx;                 /* own: the scheduler loop's context */
	fl__fiber *cur;               /* own: the fiber running now */
	fl__fiber *prev;              /* own: the fiber that switched out last,
					* until whoever runs next finishes it */
	int after;                    /* own: why prev switched out (fibers.c) */
	fl__fiber *resume;            /* own: woken while parking; runs next */
	int fair;                     /* own: countdown to a fairness pick */
	fl__fiber *cache;             /* own: recycled fibers (LIFO) */
	int ncache;                   /* own */
	fl__seen *seen;               /* own: last look at each victim */
	int64_t backoff_ns;           /* own: watcher sleep while others run */
	bool timer_spin;              /* own: woke early for a timer: spin */
	uint64_t rng;                 /* own: victim choice */
	fl__cond cv;                  /* wakes this worker (fl__idle.mu) */
	bool sleeping;                /* fl__idle.mu: waiting on cv */
	bool woken;                   /* fl__idle.mu: someone wants it up */
	int index;                    /* immutable */
	void *tsan;                   /* own: the thread's TSan fiber */
	void *stack_lo;               /* own: the thread's stack, for ASan */
	size_t stack_size;
} fl__worker;

/* The worker set and the state of its idle members (fiber_idle.c). */
struct fl__idle {
	fl__worker *w;        /* immutable after init */
	int n;                /* immutable after init */
	atomic_int nspinning; /* workers looking for work */
	atomic_int nsleeping; /* == workers with sleeping set */
	fl__mutex mu;         /* idle state of every worker */
	fl__worker *watcher;  /* mu: the sleeper with a timeout */
	uint64_t seed;        /* immutable after init */
};
extern struct fl__idle fl__idle;

/* Wakes one sleeping worker, preferring one that is not the watcher. */
void fl__idle_wake_one(void);

/*
 * Reads nsleeping with a read-modify-write, not a load: RMWs on one atomic
 * are totally ordered, so either fl__idle_sleep's increment comes first and
 * we see the sleeper, or ours does and the sleeper's increment acquires
 * everything we queued before, which its re-check then finds. (A fence
 * would do the same, but ThreadSanitizer does not support fences.)
 */
static inline int fl__idle_sleepers_sync(void) { return atomic_fetch_add(&fl__idle.nsleeping, 0); }

/* Called after queueing work where another worker could run it. Inline:
 * the common case (nobody asleep, or someone spinning) is two loads. */
static inline void fl__idle_wake(void)
{
	if (fl__idle_sleepers_sync() > 0 && atomic_load(&fl__idle.nspinning) == 0)
		fl__idle_wake_one();
}

/* Queued work any worker could take (runnext slots excepted). */
bool fl__idle_work_visible(void);
/* Puts w to sleep until woken, its watcher timeout or the next timer. */
void fl__idle_sleep(fl__worker *w);

/* ---- shared with the pieces above ---------------------------------------- */

extern const fl__sched_ops fl__sched_fibers;

/* The fibers backend's park and unpark (the ops table; the blocking pool
 * gets them at init). */
bool fl__fibers_park(fl__task *self, int64_t deadline_ns);
void fl__fibers_unpark(fl__task *t);

/* ---- white-box hooks for tests -------------------------------------------- */

/* Index of the worker running the caller, or -1 off the workers. */
int fl__fibers_worker_index(void);
/* The task in the current worker's runnext slot, or NULL. */
fl__task *fl__fibers_runnext_task(void);
/* Number of worker threads. */
int fl__fibers_workers(void);
/* Direct fiber-to-fiber switches so far, over all workers. */
uint64_t fl__fibers_direct_switches(void);

#endif

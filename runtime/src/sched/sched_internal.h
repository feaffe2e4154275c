/*
 * sched_internal.h - the scheduler seam (internal).
 *
 * Every blocking operation in the runtime (channel send/receive/select,
 * context waits, group waits and limits, sleeps) goes through this one small
 * interface, so a backend can be swapped without touching channels, contexts
 * or groups. A backend provides: spawn a task, park the current task, unpark
 * a task, the clock, and one-shot timers. The `threads` backend (1:1 pooled
 * pthreads) lives in threads.c; `fibers` and `sim` slot in beside it.
 *
 * The wake protocol (the only way anything wakes a task):
 *
 *   A task that must wait puts an fl__waiter (usually on its stack) on one or
 *   more wait lists (a channel's send or receive queue, a context's waiter
 *   list), each through an fl__wlink, while holding that object's lock. Then
 *   it calls fl__waiter_wait(). A waker, holding the object's lock, calls
 *   fl__waiter_fire(); only the first fire of a waiter succeeds (a CAS from
 *   WAITING), which is how a select over many objects is won exactly once.
 *   The winning waker fills in the result while still holding its lock,
 *   then unparks the task exactly once.
 *
 *   A task's park returns only after an unpark for that very wait arrived
 *   (one token per successful fire), or its deadline passed and it withdrew
 *   the waiter itself (CAS WAITING -> ABORTED). If the withdrawal loses the
 *   race, a fire is in flight and the task parks again to take its token.
 *   So a waiter never returns while a waker might still touch it, and no
 *   stale token is ever left behind for a later wait.
 *
 * Lock order: object locks (channel, context, group) may be held while
 * firing waiters; unpark takes only the backend's per-task parker lock, the
 * innermost lock in the runtime. Multiple channel locks (select) are taken in
 * address order. No runtime lock is held while user code runs.
 */
#ifndef FL_SCHED_INTERNAL_H
#define FL_SCHED_INTERNAL_H

#include <fl/task.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sync_internal.h"

typedef struct fl__task fl__task;
typedef struct fl__waiter fl__waiter;
typedef struct fl__wlink fl__wlink;
typedef struct fl__timer fl__timer;
struct fl_group;

/* What a blocked task is waiting for, for task dumps. */
enum fl__wait_kind {
	FL__WAIT_NONE,
	FL__WAIT_CHAN_SEND,
	FL__WAIT_CHAN_RECV,
	FL__WAIT_SELECT,
	FL__WAIT_CTX,
	FL__WAIT_SLEEP,
	FL__WAIT_GROUP_WAIT,
	FL__WAIT_GROUP_LIMIT,
	FL__WAIT_BLOCKING,
};

/* Deferred cleanup registered with fl_defer; runs LIFO at task exit. */
typedef struct fl__defer {
	void (*fn)(void *arg);
	void *arg;
	struct fl__defer *next;
} fl__defer;

/*
 * The backend-independent part of a task. Allocated by fl__task_new, run by
 * a backend, freed by fl__task_finish. Fields marked (self) are written only
 * by the task itself; the dump reads them through atomics.
 */
struct fl__task {
	char name[48];                    /* immutable after spawn */
	struct fl_group *group;           /* owning group or NULL; immutable */
	uint64_t id;                      /* immutable, unique */
	void (*entry)(fl__task *t);       /* what the backend runs */
	void *arg;                        /* entry's argument */
	_Atomic int wait_kind;            /* (self) enum fl__wait_kind */
	_Atomic(const void *) wait_obj;   /* (self) object waited on */
	_Atomic int64_t wait_until_ns;    /* (self) deadline or INT64_MAX */
	fl__defer *defers;                /* (self) LIFO cleanups */
	void *panic_frame;                /* (self) jmp target for capture */
	void *backend;                    /* backend-private (parker, fiber) */
	fl__task *reg_prev, *reg_next;    /* registry list (its stripe lock) */
	bool adopted;                     /* a foreign thread, not spawned */
	bool panic_capture;               /* immutable: group captures panics */
	bool registered;                  /* on the registry list (stripe lock) */
	struct fl_leak_scope *leak_scope; /* (self) current leak scope (leak.c) */
	struct fl__leak_rec *leak;        /* its record in its spawner's scope */
};

enum { FL__W_WAITING = 0, FL__W_FIRED = 1, FL__W_ABORTED = 2 };

/* One waiting task; lives on the waiting task's stack during the wait. */
struct fl__waiter {
	fl__task *task;    /* immutable during the wait */
	_Atomic int state; /* FL__W_*: WAITING until fired or aborted */
	int fired_index;   /* set by the winning waker (its link's index) */
	int result;        /* set by the winning waker: FL_OK, FL_CLOSED... */
};

/* A waiter's place on one wait list (protected by that list's owner lock). */
struct fl__wlink {
	fl__waiter *w;
	int index;  /* select case index, or -1 for a context link */
	void *elem; /* channel element buffer for direct handoff */
	fl__wlink *prev, *next;
	bool queued; /* on the list (owner lock) */
};

/* Intrusive FIFO of wlinks (owner lock). */
typedef struct fl__wqueue {
	fl__wlink *head, *tail;
} fl__wqueue;

void fl__wqueue_push(fl__wqueue *q, fl__wlink *l);
void fl__wqueue_remove(fl__wqueue *q, fl__wlink *l);
/* Pops links until one whose waiter can be fired; fires it and returns the
 * link (the caller then fills in data and calls fl__waiter_unpark). Links
 * whose waiter was already fired or aborted are dropped. NULL if none. */
fl__wlink *fl__wqueue_fire_first(fl__wqueue *q, int result);
bool fl__wqueue_empty(const fl__wqueue *q);

/* Prepares a waiter for the current task. */
void fl__waiter_init(fl__waiter *w);
/* CAS WAITING -> FIRED; on success records index/result. Caller holds the
 * lock of the list the link is on. Must be followed by fl__waiter_unpark. */
bool fl__waiter_fire(fl__waiter *w, int index, int result);
/* Delivers the wake for a successful fire. The waiter may return (and its
 * stack frame die) as soon as this is called: touch nothing afterwards. */
void fl__waiter_unpark(fl__waiter *w);
/* Blocks until fired (returns true) or until deadline_ns passes and the
 * waiter withdrew itself (returns false). Records kind/obj for dumps. Each
 * return counts one unit of progress (fl_stats.progress). */
bool fl__waiter_wait(fl__waiter *w, int64_t deadline_ns, int kind, const void *obj);
/* Withdraws a waiter that has not blocked yet (e.g. its context turned out
 * to be cancelled). Returns true if withdrawn; false if a fire won the race,
 * in which case the wake has been consumed and w->result is valid. */
bool fl__waiter_abort(fl__waiter *w);

/* One-shot timers on the backend's clock. The callback runs on a backend
 * context (timer thread or scheduler) and must not block. */
struct fl__timer {
	int64_t when_ns;
	void (*fn)(fl__timer *t);
	void *arg;
	int64_t heap_index; /* backend-private: position, -1 if not pending */
	uint32_t seq;       /* backend-private: start order (sim trace) */
};

/* The seam. One instance per backend, selected once per process. */
typedef struct fl__sched_ops {
	const char *name;
	fl_err *(*init)(const struct fl_sched_opts *opts);
	void (*shutdown)(void);
	/* Starts t->entry(t) on a new task. On error nothing was started. */
	fl_err *(*spawn)(fl__task *t);
	/* The current task; adopts a foreign thread on first use. */
	fl__task *(*self)(void);
	/* Blocks the current task until its token is set or the deadline passes
	 * (returns false). Consumes the token. */
	bool (*park)(fl__task *self, int64_t deadline_ns);
	/* Sets t's token and wakes it. */
	void (*unpark)(fl__task *t);
	int64_t (*now)(void);
	void (*yield)(void);
	/* Arms t; false (t not armed) when out of memory. */
	bool (*timer_start)(fl__timer *t);
	/* Returns true if the timer was pending and will not fire. If it is
	 * firing right now, waits for the callback to return, then false. */
	bool (*timer_stop)(fl__timer *t);
	/* A 64-bit random number for scheduling choices (select fairness). The
	 * sim backend makes it deterministic. */
	uint64_t (*rand)(void);
	/* Live OS threads owned by the backend. */
	long (*threads_live)(void);
	/* Runs fn(arg) where blocking the OS thread is harmless. */
	void (*blocking)(void (*fn)(void *), void *arg);
	/* Trace hooks (sim only; NULL elsewhere): see fl__sim_trace below. */
	void (*trace)(int kind, uint32_t obj, int64_t arg);
	uint32_t (*obj_id)(void);
} fl__sched_ops;

/* The active backend (initialised on first use from opts or FAULTLINE_BACKEND). */
const fl__sched_ops *fl__sched(void);
extern const fl__sched_ops fl__sched_threads;
extern const fl__sched_ops fl__sched_sim;

/*
 * Trace hooks of the sim backend, reached through the seam's ops (trace,
 * obj_id) so that the core never calls a backend directly. fl__sim_on
 * (sched.c) is set once, when a backend with trace hooks (sim) starts, and
 * never on other backends, so a hook costs them one predictable branch on
 * a global. Under sim everything runs on one thread, so the hooks need no
 * synchronisation.
 */
enum fl__sim_event {
	FL__EV_SWITCH,
	FL__EV_SPAWN,
	FL__EV_EXIT,
	FL__EV_WAKE,
	FL__EV_TIMEOUT,
	FL__EV_TIMER,
	FL__EV_SEND,
	FL__EV_RECV,
	FL__EV_CLOSE,
	FL__EV_SELECT,
	FL__EV_CANCEL,
	FL__EV_YIELD,
	FL__EV_DEADLOCK,
};
extern bool fl__sim_on;
/* Records an event of the current task on object obj (a number from
 * fl__sim_obj_id) with arg. Element bytes are not recorded: they may be
 * pointers, which differ from process to process. Only when fl__sim_on. */
static inline void fl__sim_trace(int kind, uint32_t obj, int64_t arg)
{
	fl__sched()->trace(kind, obj, arg);
}
/* A per-run number for a new traced object (channel, context). Only when
 * fl__sim_on. */
static inline uint32_t fl__sim_obj_id(void) { return fl__sched()->obj_id(); }
/* The sim backend's controls behind fl_sim_* (sim_api.c), on the sim
 * thread only. */
fl_err *fl__sim_begin(uint64_t seed);
uint64_t fl__sim_hash(void);
uint64_t fl__sim_events(void);
fl_err *fl__sim_trace_open(const char *path);
void fl__sim_set_report(FILE *out);
long fl__sim_deadlocks(void);
#define FL__SIM_TRACE(kind, obj, arg)                                 \
	do {                                                          \
		if (__builtin_expect(fl__sim_on, 0))                  \
			fl__sim_trace((kind), (obj), (int64_t)(arg)); \
	} while (0)

static inline int64_t fl__now(void) { return fl__sched()->now(); }

/* Task lifecycle helpers shared by every backend. */
fl__task *fl__task_new(const char *name, struct fl_group *g, void (*entry)(fl__task *), void *arg);
/* Called by the backend when entry returns: unregisters (if not yet) and
 * frees. */
void fl__task_finish(fl__task *t);
/* Removes t from the registry and the live task count, counting one unit of
 * progress for a spawned task (not an adopted thread); idempotent. A group
 * calls it just before announcing the task's end, so that once
 * fl_group_wait returns the task is no longer counted. */
void fl__task_unregister(fl__task *t);
/* Registers an adopted (foreign-thread) task; unregistered at thread exit. */
void fl__task_adopt(fl__task *t);
void fl__task_set_wait(fl__task *t, int kind, const void *obj, int64_t until);

/* Live object counters, for leak checks. */
typedef enum fl__counter {
	FL__C_TASKS,
	FL__C_CHANS,
	FL__C_CTXS,
	FL__C_TIMERS,
	FL__C_GROUPS,
	FL__C_N
} fl__counter;
void fl__count_add(fl__counter c, long delta);
long fl__count_get(fl__counter c);

/*
 * The progress counter behind fl_stats.progress (task.c): striped, relaxed
 * and lossy by design; see task.c. fl__progress_bump counts one completed
 * wait or finished task of t with a plain load and store, no RMW.
 */
#define FL__PROGRESS_STRIPES 16
struct fl__progress_stripe {
	_Alignas(64) atomic_ulong n;
};
extern struct fl__progress_stripe fl__progress[FL__PROGRESS_STRIPES];
static inline void fl__progress_bump(const fl__task *t)
{
	atomic_ulong *n = &fl__progress[t->id % FL__PROGRESS_STRIPES].n;
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}
/* Marks the stripes as benign races, before any task can bump. */
void fl__progress_init(void);
/* The sum of the stripes, never less than an earlier result. */
unsigned long fl__progress_read(void);

/* Writes one line per live task to out (fl_task_dump's body, under the
 * registry's stripe locks); returns how many. */
int fl__task_dump_tasks(FILE *out, int64_t now);

/*
 * The header a channel, a context and a group start with (their first
 * member), so the seam names a wait object in a task dump, and the sim
 * trace numbers it, without calling up into chan.c or group.c.
 */
typedef struct fl__obj {
	const char *label;         /* immutable: the object's name for dumps */
	uint32_t trace_id;         /* immutable: trace number (sim only), else 0 */
	struct fl__leak_rec *leak; /* its leak scope's record (leak.c), or NULL */
} fl__obj;

/* The label of a channel, context or group (its fl__obj), or nil_label for
 * NULL. */
static inline const char *fl__obj_label(const void *obj, const char *nil_label)
{
	return obj ? ((const fl__obj *)obj)->label : nil_label;
}

#endif

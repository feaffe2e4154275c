/*
 * fl/task.h - the scheduler, time, panics, deferred cleanups, introspection.
 *
 * Users never touch a raw pthread: tasks are started by groups (fl/group.h)
 * and run on the process's scheduler backend. This header holds what is
 * process-wide: backend choice, the clock, sleeping, fl_panic and fl_defer,
 * live counts and the task dump.
 */
#ifndef FL_TASK_H
#define FL_TASK_H

#include <fl/err.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "No deadline" for every call that takes an absolute deadline. */
#define FL_FOREVER INT64_MAX
/* Deadline 0 means "try": never block, return FL_AGAIN instead. */
#define FL_TRY 0

#define FL_NS(x) ((int64_t)(x))
#define FL_US(x) ((int64_t)(x) * 1000)
#define FL_MS(x) ((int64_t)(x) * 1000000)
#define FL_SEC(x) ((int64_t)(x) * 1000000000)

typedef struct fl_ctx fl_ctx;

/*
 * Scheduler options; the all-zero value means defaults.
 *   backend      "threads" (1:1 pooled pthreads) or "fibers" (M:N fibers on
 *                worker threads, docs/scheduler.md). NULL: the environment
 *                variable FAULTLINE_BACKEND, else the default: fibers
 *                (threads when the process runs under valgrind).
 *   stack_size   bytes per task stack; 0 = 256 KiB.
 *   workers      worker threads for M:N backends; 0 = one per core.
 *   seed         seed for the backend's scheduling choices (sim, select).
 */
struct fl_sched_opts {
	const char *backend;
	size_t stack_size;
	int workers;
	uint64_t seed;
};

/*
 * Selects and starts the backend. Optional: the first runtime call starts
 * the default. Errors: FL_ERR_INVAL (unknown backend name, or a backend is
 * already running with other options). Thread safety: call once, early.
 */
FL_MUST_CHECK fl_err *fl_sched_init(const struct fl_sched_opts *opts);
/* Name of the running backend ("threads"). */
const char *fl_sched_backend(void);

/* The backend's monotonic clock in ns (virtual time under sim). */
int64_t fl_now(void);
/* Absolute deadline `rel_ns` from now (saturating; negative = now). */
int64_t fl_deadline_in(int64_t rel_ns);

/*
 * Sleeps until deadline_ns or until ctx (may be NULL) is cancelled.
 * Returns FL_OK when the deadline passed, FL_CANCELED on cancellation.
 * Blocks: yes (cancellable).
 */
int fl_sleep_until(fl_ctx *ctx, int64_t deadline_ns);
/*
 * A 64-bit random number from the backend's source: the one select uses for
 * fairness, deterministic under the sim backend (seeded by
 * fl_sched_opts.seed). For jitter and random choices that a seeded run must
 * reproduce; not for cryptography. Thread safety: any task or thread.
 */
uint64_t fl_rand_u64(void);
/* Gives other tasks a chance to run. */
void fl_yield(void);

/*
 * Runs fn(arg), which may block its OS thread (a blocking system call, a
 * foreign library's lock, sleep(3)), without blocking other tasks. On the
 * fibers backend the calling task parks while a side thread runs fn, then
 * resumes (possibly on another worker thread); on the threads backend, or
 * outside a task, fn simply runs inline. Task dumps show the caller as
 * "blocking call" meanwhile.
 * fn must not be NULL. fn may call any runtime function; it runs on a
 * foreign thread, so fl_task_name() and thread-local state inside fn are
 * the side thread's, not the caller's. errno set by fn is lost on fibers:
 * capture it inside fn.
 * Blocks: until fn returns (not cancellable: fn owns its own timeout).
 * Thread safety: any task or thread.
 */
void fl_blocking(void (*fn)(void *arg), void *arg);

/*
 * Panics: inside a task of a group in FL_PANIC_CAPTURE mode, unwinds that
 * task to its boundary (running its fl_defer cleanups), cancels its siblings
 * at once with the panic as cause, and makes fl_group_wait return an error
 * matching FL_ERR_PANIC whose fl_panic_info payload holds the message and
 * backtrace. Anywhere else (default policy, or outside a task) prints the
 * message and a backtrace to stderr and aborts. Never returns.
 * Do not panic while holding a lock: unwinding does not release it.
 */
void fl_panic(const char *fmt, ...) FL_PRINTF(1, 2) __attribute__((noreturn));

/* The payload of a captured panic error (type fl_panic_type). */
typedef struct fl_panic_info {
	char msg[256];
	char task[48];
	char backtrace[2048]; /* newline-separated frames */
} fl_panic_info;
extern const fl_err_type fl_panic_type;

/*
 * Registers a cleanup on the current task, run in LIFO order when the task
 * returns or unwinds from a captured panic. Outside a task, cleanups run
 * when fl_defer_run_all() is called on that thread.
 * Errors: FL_ERR_NOMEM (the cleanup is then run immediately).
 */
FL_MUST_CHECK fl_err *fl_defer(void (*fn)(void *arg), void *arg);
/* Runs and removes the current task's cleanups (LIFO). */
void fl_defer_run_all(void);

/* Live counts for leak checks. Every field returns to its baseline when
 * everything a scope created has been freed and joined. */
typedef struct fl_stats {
	long tasks;        /* spawned tasks not yet finished */
	long threads;      /* OS threads owned by the backend (pooled idle included) */
	long chans;        /* channels not yet freed */
	long ctxs;         /* contexts not yet freed (background excluded) */
	long errs;         /* heap errors not yet dropped */
	long timers;       /* armed timers */
	long groups;       /* groups not yet freed */
} fl_stats;
fl_stats fl_stats_get(void);

/*
 * Prints every live task: id, name, group, state and what it is blocked on
 * ("chan recv on 'c1'", "ctx wait", "sleep until +12.3ms", "group limit").
 * Returns the number of tasks listed. Thread safety: any thread.
 */
int fl_task_dump(FILE *out);
/* Name of the current task ("main" or the adopted thread's name outside). */
const char *fl_task_name(void);

#ifdef __cplusplus
}
#endif
#endif

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
#define FL_US(x) ((int64_t)(x)*1000)
#define FL_MS(x) ((int64_t)(x)*1000000)
#define FL_SEC(x) ((int64_t)(x)*1000000000)

typedef struct fl_ctx fl_ctx;

/*
 * Scheduler options; the all-zero value means defaults.
 *   backend      "threads" (1:1 pooled pthreads), "fibers" (M:N fibers on
 *                worker threads) or "sim" (deterministic simulation: fibers
 *                on the calling thread, virtual time; see fl_sim_begin and
 *                docs/scheduler.md). NULL: the environment variable
 *                FAULTLINE_BACKEND, else the default: fibers (threads when
 *                the process runs under valgrind).
 *   stack_size   bytes per task stack; 0 = 256 KiB.
 *   workers      worker threads for M:N backends; 0 = one per core.
 *   seed         seed for the backend's scheduling choices (sim, select).
 *                Under sim, 0 means the environment variable FAULTLINE_SEED
 *                (decimal or 0x hex), else 0.
 */
struct fl_sched_opts {
	const char *backend;
	size_t stack_size;
	int workers;
	uint64_t seed;
};

/*
 * Selects and starts the backend. Optional: the first runtime call starts
 * the default, and aborts if it cannot; call this first to get the error
 * instead (opts NULL: FAULTLINE_BACKEND or the default, and success if a
 * backend already runs). Errors: FL_ERR_INVAL (unknown backend name, a backend is
 * already running with other options, or under sim a FAULTLINE_SEED that is
 * not a number); under sim, errno errors opening FAULTLINE_TRACE.
 * Thread safety: call once, early (under sim, from the thread that is to
 * run the simulation).
 */
FL_MUST_CHECK fl_err *fl_sched_init(const struct fl_sched_opts *opts);
/* Name of the running backend ("threads", "fibers" or "sim"). Starts the
 * default backend if none runs yet (as any runtime call does). */
const char *fl_sched_backend(void);
/*
 * The backend that runs, or else the one the first runtime call would
 * start (FAULTLINE_BACKEND, or the default), without starting anything:
 * for a parent that forks its runs and must not own the runtime's threads.
 * Returns NULL when FAULTLINE_BACKEND names no backend. Thread-safe.
 */
const char *fl_sched_backend_chosen(void);

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
 * capture it inside fn. Under sim, fn runs inline on the one thread: every
 * task, and virtual time, stand still until it returns.
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

/* Live counts for leak checks. Every field but progress returns to its
 * baseline when everything a scope created has been freed and joined. */
typedef struct fl_stats {
	long tasks;             /* spawned tasks not yet finished */
	long threads;           /* OS threads owned by the backend (pooled idle included) */
	long chans;             /* channels not yet freed */
	long ctxs;              /* contexts not yet freed (background excluded) */
	long errs;              /* heap errors not yet dropped */
	long timers;            /* armed timers */
	long groups;            /* groups not yet freed */
	unsigned long progress; /* cumulative: completed waits and finished tasks
				   (fl_blocking calls too); only ever grows; for
				   watchdogs: a change means something ran. Cheap
				   and approximate: a racing update may be lost */
} fl_stats;
fl_stats fl_stats_get(void);

/*
 * Prints every live task: id, name, group, state and what it is blocked on
 * ("chan recv on 'c1'", "ctx wait", "sleep until +12.3ms", "group limit").
 * Returns the number of tasks listed. Thread safety: any thread.
 */
int fl_task_dump(FILE *out);
/* What a live task is doing (fl_task_states). */
enum fl_task_wait {
	FL_TASK_RUNNING,   /* not blocked in the runtime */
	FL_TASK_CHAN_SEND, /* on: the channel */
	FL_TASK_CHAN_RECV, /* on: the channel */
	FL_TASK_SELECT,
	FL_TASK_CTX_WAIT, /* on: the context */
	FL_TASK_SLEEP,
	FL_TASK_GROUP_WAIT,  /* on: the group */
	FL_TASK_GROUP_LIMIT, /* on: the group whose limit holds it */
	FL_TASK_BLOCKING,    /* inside fl_blocking */
};

/* One live task, as fl_task_dump prints it, for programs and tests that
 * order events by what tasks wait on instead of sleeping. */
typedef struct fl_task_state {
	uint64_t id;
	char name[64];  /* the task's name (truncated) */
	char group[64]; /* its group's name, "-" for none */
	enum fl_task_wait wait;
	const void *on;    /* the channel, context or group waited on:
				      compare it, never dereference it */
	char on_label[64]; /* that object's name, "" for none */
	int64_t until_ns;  /* the wait's deadline, FL_FOREVER for none */
	bool thread;       /* an adopted OS thread, not a spawned task */
} fl_task_state;

/*
 * A snapshot of the live tasks: writes up to cap of them into out (may be
 * NULL with cap 0) and returns how many are live. Each task publishes its
 * wait state itself, so a task may change right after the snapshot; what
 * it shows is what was true while the snapshot read it. Thread safety: any
 * thread. Blocks: only on the registry's short locks.
 */
size_t fl_task_states(fl_task_state *out, size_t cap);

/* Name of the current task ("main" or the adopted thread's name outside). */
const char *fl_task_name(void);

/*
 * The sim backend (FAULTLINE_BACKEND=sim or opts.backend = "sim").
 *
 * Every task is a fiber on the thread that started the backend, the "root"
 * (normally main; it is task 0 and runs the others whenever it blocks).
 * fl_now() is virtual: it starts at an arbitrary fixed value and advances
 * only when every task is blocked, jumping to the next timer, so a
 * ten-minute timeout takes no real time. Which runnable task runs next,
 * select's poll order and the order of timers due at one instant are drawn
 * from a generator seeded by opts.seed (or FAULTLINE_SEED), so the same seed
 * and program give the same sequence of events. Calling the runtime from
 * any other OS thread aborts with a message naming the thread.
 *
 * The trace: task switches, spawns, exits and wake-ups, channel sends,
 * receives and closes (with their results, not the elements, which may be
 * pointers), select choices, context cancellations, timer fires, park
 * timeouts and deadlocks, each folded into a 64-bit FNV-1a hash; tasks,
 * channels, contexts and timers are numbered per run and times are
 * relative to the run's start, so the hash does not depend on addresses
 * and is the same in another process.
 * FAULTLINE_TRACE=path (or fl_sim_trace_file) also writes one text line per
 * event, flushed as it goes.
 *
 * Deadlock: when every task is blocked and no timer is pending, the sim
 * prints a report and the task dump (fl_task_dump) to stderr (or to
 * fl_sim_set_report's stream) and fails the root's blocked call: channel
 * operations, fl_select and fl_ctx_wait return FL_DEADLOCK, fl_group_wait and
 * a blocked fl_group_go return an error matching FL_ERR_DEADLOCK. The other
 * tasks stay blocked; the root may unblock them (close a channel, cancel a
 * context) and wait again.
 */

/*
 * Starts a new run on the sim backend: reseeds the generator with seed,
 * resets the trace hash and the per-run numbering of tasks and objects, and
 * makes trace times relative to now (the clock itself never goes back).
 * Errors: FL_ERR_MISUSE if the backend is not sim, if the caller is not the
 * root, or if tasks of the last run are still live or timers pending.
 */
FL_MUST_CHECK fl_err *fl_sim_begin(uint64_t seed);
/* The trace hash of the run so far (0 when the backend is not sim). */
uint64_t fl_sim_trace_hash(void);
/* Events recorded in the run so far (0 when the backend is not sim). */
uint64_t fl_sim_trace_events(void);
/* Writes the trace as text to path from now on (truncating it); NULL stops.
 * Errors: FL_ERR_MISUSE (not sim), errno errors opening the file. */
FL_MUST_CHECK fl_err *fl_sim_trace_file(const char *path);
/* Where deadlock reports go (NULL: stderr). No effect unless sim. */
void fl_sim_set_report(FILE *out);
/* Deadlocks detected since the backend started (0 unless sim). */
long fl_sim_deadlocks(void);

/*
 * The scheduling strategy: which runnable task runs at each step, for the
 * runs begun after this call (fl_sim_begin; at start FAULTLINE_STRATEGY,
 * same syntax, default random). spec is one of
 *   "random"   a uniform draw from the generator at every step (the sim's
 *              original choices, trace for trace);
 *   "pct:D"    PCT of depth D (1 to 16; "pct" is depth 3): random task
 *              priorities, the highest runnable task runs, and D-1 change
 *              points drawn uniformly in [1, k] where k is the most steps
 *              an earlier run of this process took; at a change point the
 *              task about to run drops below every other;
 *   "pct:D:K"  the same with k at least K (what a replay passes, so that
 *              one run alone draws what it drew among others);
 *   "pct:auto" or "pct:auto:DMAX" (iterative deepening, when the depth
 *              is unknown): PCT of depth 1 + seed mod DMAX (default 3), so
 *              consecutive seeds cycle the depths; the run's spec names
 *              the depth it used ("pct:2:57");
 *   "pos"      partial-order sampling: a task draws a fresh random priority
 *              each time it becomes runnable, the highest runs;
 *   "dfs:P"    ("dfs" is dfs:2) bounded exhaustive search: each run takes
 *              the next schedule, depth first, among those with at most P
 *              preemptions (the first run never preempts); every run must
 *              use the same seed, and the search lives in this process
 *              (fl_sim_space_exhausted says when it is complete).
 * Priorities and change points come from the run's seed, so a seed and a
 * strategy replay exactly (dfs: a run replays from its schedule file).
 * docs/explore.md has the details.
 * Errors: FL_ERR_MISUSE (not sim), FL_ERR_INVAL (spec, naming the field).
 * Thread safety: the sim thread. Blocks: no.
 */
FL_MUST_CHECK fl_err *fl_sim_strategy(const char *spec);
/* The strategy of the run under way as a spec that replays it ("pct:2:57":
 * the k it drew from; "random" when not sim), into buf (cap bytes, NUL
 * included, truncated). */
void fl_sim_strategy_used(char *buf, size_t cap);
/* Scheduling steps (choices of a task to run) in the run so far (0 unless
 * sim). */
uint64_t fl_sim_steps(void);
/* Tasks of the run so far, the root included (0 unless sim). */
uint64_t fl_sim_tasks(void);
/* Preemptions in the run so far (0 unless sim): steps that ran another
 * task than the previous step ran while that task was still runnable (a
 * task that blocks or returns is not preempted). Thread safety: the sim
 * thread. Blocks: no. */
uint64_t fl_sim_preemptions(void);
/* Under "dfs": true when the run under way (or just finished) is the last
 * schedule within the preemption bound, every one having run once (the
 * next fl_sim_begin starts the search over). False under other strategies
 * and when not sim. Thread safety: the sim thread. Blocks: no. */
bool fl_sim_space_exhausted(void);

#ifdef __cplusplus
}
#endif
#endif

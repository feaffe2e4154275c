/*
 * fl/group.h - groups of tasks with a shared context (Go's errgroup).
 *
 * A group owns the tasks it starts: nothing started by a group outlives its
 * fl_group_wait. The group derives a context from its parent; the first task
 * to return an error cancels it with that error as cause, and wait returns
 * that first error. Differences from errgroup, on purpose:
 *   - fl_group_go blocks at the limit, but the wait is cancellable: if the
 *     group's context is cancelled, go returns FL_ERR_CANCELED-matching
 *     error and starts nothing. Nothing starts after cancellation.
 *   - collect mode also keeps every error as a join tree (first error first).
 *   - a panic policy per group (see fl_panic in fl/task.h).
 *
 * Misuse has defined outcomes: a second wait returns the same result again;
 * go/try_go after wait returns an error matching FL_ERR_MISUSE (a task of
 * the group may still start siblings while the owner is inside wait, as in
 * errgroup); wait from one of the group's own tasks returns FL_ERR_MISUSE
 * instead of deadlocking; set_limit while tasks run returns FL_ERR_MISUSE;
 * freeing a group that was never waited on aborts with a message (and the
 * captured panic, if any).
 *
 * Thread safety: go, try_go and cancel may be called from any task,
 * including the group's own tasks. wait must be called by one task.
 */
#ifndef FL_GROUP_H
#define FL_GROUP_H

#include <fl/ctx.h>
#include <fl/err.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_group fl_group;

/* A task body. Returns NULL on success or an error (one reference). */
typedef fl_err *(*fl_task_fn)(fl_ctx *ctx, void *arg);

enum fl_panic_policy {
	FL_PANIC_ABORT = 0,   /* default: abort at the panic site with a backtrace */
	FL_PANIC_CAPTURE = 1, /* unwind the task, cancel siblings, surface from wait */
};

/* Group options; all-zero means defaults. */
struct fl_group_opts {
	const char *name; /* for dumps and task names; copied */
	int limit;        /* max concurrently running tasks; 0 = none */
	bool collect;     /* keep every error, as a join tree */
	enum fl_panic_policy panic;
};

/*
 * Creates a group and its derived context (Go's errgroup.WithContext).
 * *ctx_out is owned by the group: valid until fl_group_free, cancelled by
 * the first error, by fl_group_cancel, or when wait returns.
 * Errors: FL_ERR_INVAL (NULL parent/out, negative limit, unknown panic
 * policy), FL_ERR_NOMEM, and those of fl_ctx_with_cancel.
 */
FL_MUST_CHECK fl_err *fl_group_new(fl_ctx *parent, const struct fl_group_opts *opts, fl_group **out,
				   fl_ctx **ctx_out);

/*
 * Starts fn(ctx, arg) in a new task. At the limit, blocks until a slot is
 * free or the group's context is cancelled.
 * Errors: an error matching FL_ERR_CANCELED or FL_ERR_DEADLINE, and the
 * cancellation cause too (group cancelled; nothing started), FL_ERR_MISUSE
 * (after wait), FL_ERR_INVAL (NULL g or fn), FL_ERR_NOMEM, FL_ERR_SYSTEM (no
 * thread could be created). On error fn is not called.
 * Blocks: at the limit, until a slot frees or the context is cancelled.
 */
FL_MUST_CHECK fl_err *fl_group_go(fl_group *g, fl_task_fn fn, void *arg);
/* fl_group_go with a task name for dumps (copied). */
FL_MUST_CHECK fl_err *fl_group_go_named(fl_group *g, const char *name, fl_task_fn fn, void *arg);

/*
 * Starts fn only if a slot is free right now. Errors: FL_ERR_LIMIT (no
 * slot; nothing started), and those of fl_group_go except blocking.
 */
FL_MUST_CHECK fl_err *fl_group_try_go(fl_group *g, fl_task_fn fn, void *arg);

/*
 * Changes the limit (0 = none). Errors: FL_ERR_MISUSE while tasks are
 * running (as errgroup panics), FL_ERR_INVAL for a negative limit.
 */
FL_MUST_CHECK fl_err *fl_group_set_limit(fl_group *g, int limit);

/*
 * Waits for every task, then cancels the group's context with the first
 * error as cause (or FL_ERR_CANCELED) and returns the first error (a new
 * reference), or in collect mode the join of all errors in order of
 * occurrence. NULL if every task succeeded. Blocks: until all tasks return
 * (not cancellable: structured concurrency). Under the sim backend, a wait
 * that can never end returns an error matching FL_ERR_DEADLOCK instead
 * (fl/task.h); the group stays unwaited, and may be waited on again.
 */
FL_MUST_CHECK fl_err *fl_group_wait(fl_group *g);

/* Cancels the group's context with cause (NULL: FL_ERR_CANCELED); a
 * reference is taken, the caller keeps its own. Running tasks are not
 * stopped: they see their context cancelled. */
void fl_group_cancel(fl_group *g, fl_err *cause);
/* Cancel, then wait. */
FL_MUST_CHECK fl_err *fl_group_stop(fl_group *g, fl_err *cause);

/* The first error so far (borrowed; valid until free), or NULL. */
const fl_err *fl_group_first_err(fl_group *g);
/* High-water mark of concurrently running tasks. */
int fl_group_hwm(fl_group *g);
/* Tasks currently running. */
int fl_group_running(fl_group *g);

/* Frees a waited group (and its context). Aborts if never waited. NULL ok. */
void fl_group_free(fl_group *g);

#ifdef __cplusplus
}
#endif
#endif

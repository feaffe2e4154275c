/*
 * fl/bulkhead.h - per-key compartments (bulkheads) with their own limits.
 *
 * A bulkhead runs tasks in compartments, one per key (a tenant, a
 * downstream): each compartment is its own group with its own concurrency
 * limit and its own context under the bulkhead's. So one tenant's failure
 * cancels only that tenant (or nothing, in per-item mode), and one tenant's
 * slowness fills only its own slots: admission to a full compartment is
 * refused at once (try_go, load shedding) or waits for that compartment only
 * (go, cancellable), never for another's. fl_bulkhead_wait is the
 * coordinator: it joins every compartment and keeps a per-key result (the
 * tenant's error and its counts).
 *
 * Thread safety: go, try_go and cancel may be called from any task,
 * including the bulkhead's own tasks; wait must be called once, by one
 * task, after which go and try_go fail with FL_ERR_MISUSE.
 */
#ifndef FL_BULKHEAD_H
#define FL_BULKHEAD_H

#include <fl/ctx.h>
#include <fl/err.h>
#include <fl/group.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_bulkhead fl_bulkhead;

/* Bulkhead options; all-zero means defaults. */
struct fl_bulkhead_opts {
	const char *name; /* for task names; copied; NULL: "bulkhead" */
	int limit;        /* concurrent tasks per key; 0: 4 */
	int max_keys;     /* distinct keys allowed; 0: no limit */
	/* false (default): a compartment is an errgroup - its first error
	 * cancels that compartment's other tasks (and only them).
	 * true: per-item - errors are collected and the compartment goes on. */
	bool per_item;
	/* Each compartment's group policy (fl/group.h). FL_PANIC_CAPTURE: a
	 * panicking task fails its compartment with the panic (in per-item
	 * mode too: a panic is not an item's error) and gives its slot back. */
	enum fl_panic_policy panic;
};

/*
 * Creates a bulkhead whose compartments run under a child of parent.
 * Errors: FL_ERR_INVAL (NULL parent or out, negative limit or max_keys,
 * unknown panic policy), FL_ERR_NOMEM. *out only on success.
 */
FL_MUST_CHECK fl_err *fl_bulkhead_new(fl_ctx *parent, const struct fl_bulkhead_opts *opts,
				      fl_bulkhead **out);

/*
 * Starts fn(ctx, arg) in key's compartment (created on first use; key is
 * copied), where ctx is the compartment's context. If the compartment is
 * full, waits for one of its slots.
 * Errors: an error matching FL_ERR_CANCELED or FL_ERR_DEADLINE if ctx (may
 * be NULL: the compartment's context) or the compartment ends while
 * waiting; FL_ERR_LIMIT (max_keys reached for a new key); FL_ERR_MISUSE
 * (after wait); FL_ERR_INVAL; FL_ERR_NOMEM. On error fn is not called.
 * Blocks: only while key's compartment is full; cancellable.
 */
FL_MUST_CHECK fl_err *fl_bulkhead_go(fl_bulkhead *b, fl_ctx *ctx, const char *key, fl_task_fn fn,
				     void *arg);
/*
 * As fl_bulkhead_go, but a full compartment refuses at once with an error
 * matching FL_ERR_LIMIT (counted as rejected). Never blocks.
 */
FL_MUST_CHECK fl_err *fl_bulkhead_try_go(fl_bulkhead *b, const char *key, fl_task_fn fn, void *arg);

/* Cancels every compartment (cause: NULL means FL_ERR_CANCELED). */
void fl_bulkhead_cancel(fl_bulkhead *b, fl_err *cause);

/* One compartment's outcome, valid after fl_bulkhead_wait until free. */
typedef struct fl_bulkhead_result {
	const char *key;
	const fl_err *err; /* first error, or the join of all in per-item
			      * mode; NULL if every task succeeded. Borrowed. */
	int64_t started;   /* tasks admitted */
	int64_t succeeded;
	int64_t failed;
	int64_t rejected; /* try_go refusals (full compartment) */
	int hwm;          /* most slots held at once (admission to end, as
			      * fl_group_hwm): a compartment that refused a
			      * try_go has an hwm of exactly its limit */
} fl_bulkhead_result;

/*
 * Waits for every compartment (in order of creation). Returns NULL if every
 * task succeeded, else the join of the failing compartments' errors, each
 * wrapped with its key ("tenant 'b': ..."). Per-key results: see below.
 * Blocks: until every task has returned (not cancellable).
 */
FL_MUST_CHECK fl_err *fl_bulkhead_wait(fl_bulkhead *b);

/* The per-key results after wait: *out points at n results, in order of
 * creation (owned by the bulkhead). Returns n; 0 before wait. */
size_t fl_bulkhead_results(fl_bulkhead *b, const fl_bulkhead_result **out);

/* Frees a bulkhead. If it was never waited on, cancels and waits first.
 * NULL ok. */
void fl_bulkhead_free(fl_bulkhead *b);

#ifdef __cplusplus
}
#endif

#endif

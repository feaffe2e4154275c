/*
 * fl/ctx.h - cancellation trees with causes and deadlines (Go's context).
 *
 * A context is cancelled at most once; the first cancellation wins and fixes
 * its err (FL_ERR_CANCELED or FL_ERR_DEADLINE) and its cause (the error the
 * canceller gave, or err itself). Cancelling reaches every descendant
 * synchronously and wakes every task blocked on any of them; children take
 * the parent's err and cause. A child never affects its parent.
 *
 * Lifetime: every context except the background one is freed with
 * fl_ctx_free, which cancels it (with FL_ERR_CANCELED, if not yet done) and
 * detaches it from its parent - the equivalent of Go's `defer cancel()`.
 * A child holds a reference to its parent, so a parent freed before its
 * children stays alive (and keeps propagating) until they are freed.
 *
 * Thread safety: every function may be called from any task or thread.
 */
#ifndef FL_CTX_H
#define FL_CTX_H

#include <fl/err.h>
#include <fl/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The root: never cancelled, no deadline, not freed. */
fl_ctx *fl_ctx_background(void);

/*
 * A cancellable child of parent. Cancel it with fl_ctx_cancel, free it with
 * fl_ctx_free. If parent is already cancelled the child starts cancelled.
 * Errors: FL_ERR_INVAL (NULL argument), FL_ERR_NOMEM. *out only on success.
 */
FL_MUST_CHECK fl_err *fl_ctx_with_cancel(fl_ctx *parent, fl_ctx **out);

/*
 * A child that is also cancelled when the absolute monotonic deadline_ns
 * passes, with err FL_ERR_DEADLINE and cause `cause` (a reference is taken;
 * NULL means FL_ERR_DEADLINE). The effective deadline is min(parent's, own).
 * An already-expired deadline cancels at once.
 */
FL_MUST_CHECK fl_err *fl_ctx_with_deadline(fl_ctx *parent, int64_t deadline_ns, fl_err *cause,
					   fl_ctx **out);
/* fl_ctx_with_deadline(parent, fl_deadline_in(timeout_ns), cause, out). */
FL_MUST_CHECK fl_err *fl_ctx_with_timeout(fl_ctx *parent, int64_t timeout_ns, fl_err *cause,
					  fl_ctx **out);

/*
 * A child that is never cancelled by its parent (Go's WithoutCancel): it has
 * no deadline and no cancellation of its own; only fl_ctx_free ends it.
 */
FL_MUST_CHECK fl_err *fl_ctx_without_cancel(fl_ctx *parent, fl_ctx **out);

/*
 * A shielded child for cleanup and compensation (Trio's CancelScope with
 * shield=True): it ignores the parent's cancellation but has its own
 * deadline (relative timeout_ns, required, > 0) and can be cancelled
 * directly. Use it so that cancelling a caller cannot skip a compensation.
 */
FL_MUST_CHECK fl_err *fl_ctx_shielded(fl_ctx *parent, int64_t timeout_ns, fl_ctx **out);

/*
 * Cancels ctx with cause (a reference is taken; NULL means FL_ERR_CANCELED).
 * The first cancellation wins; later calls do nothing. Cancelling the
 * background context is ignored.
 */
void fl_ctx_cancel(fl_ctx *ctx, fl_err *cause);

/* Cancels (if not done), detaches from the parent and releases. NULL ok. */
void fl_ctx_free(fl_ctx *ctx);

/* True once ctx is cancelled. Cheap (one atomic load). */
bool fl_ctx_done(const fl_ctx *ctx);
/* FL_ERR_CANCELED, FL_ERR_DEADLINE, or NULL if not done. Borrowed sentinel. */
fl_err *fl_ctx_err(const fl_ctx *ctx);
/* The cancellation cause (a new reference), or NULL if not done. */
FL_MUST_CHECK fl_err *fl_ctx_cause(const fl_ctx *ctx);
/*
 * The error a call that ctx stopped returns (a new reference), as Go's
 * context.Cause with ctx.Err(): it matches fl_ctx_err(ctx) (FL_ERR_CANCELED
 * or FL_ERR_DEADLINE) and, with fl_err_is, the cause given to
 * fl_ctx_cancel too. NULL if ctx is not done. Thread safety: any thread.
 */
FL_MUST_CHECK fl_err *fl_ctx_stop_err(const fl_ctx *ctx);
/* The effective absolute deadline, or FL_FOREVER. */
int64_t fl_ctx_deadline(const fl_ctx *ctx);

/*
 * True if ancestor is ctx itself or one of its parents (through every kind
 * of child, including without_cancel and shielded ones). Used to scope
 * things, such as a fault plan, to everything under one context or group.
 */
bool fl_ctx_has_ancestor(const fl_ctx *ctx, const fl_ctx *ancestor);

/*
 * Blocks until ctx is cancelled (FL_CANCELED) or deadline_ns passes
 * (FL_TIMEDOUT; FL_AGAIN if deadline_ns is FL_TRY and ctx is not done).
 */
int fl_ctx_wait(fl_ctx *ctx, int64_t deadline_ns);

/*
 * Arranges for fn(arg) to run in its own task after ctx is cancelled (at
 * once, if it already is). Returns a handle for fl_ctx_after_stop, which
 * must release it, or sets *out to NULL. Errors: FL_ERR_INVAL, FL_ERR_NOMEM,
 * and, when ctx is already cancelled, those of starting the task
 * (FL_ERR_NOMEM, FL_ERR_SYSTEM): fn is then not run. (A task that cannot
 * be started at a later cancellation runs fn inline, rather than lose it.)
 */
typedef struct fl_ctx_after fl_ctx_after;
FL_MUST_CHECK fl_err *fl_ctx_after_func(fl_ctx *ctx, void (*fn)(void *arg), void *arg,
					fl_ctx_after **out);
/*
 * Prevents the callback if it has not started; returns true if it did
 * prevent it, false if it already ran or started. Frees the handle in both
 * cases: call it exactly once per handle, before or after fl_ctx_free (the
 * handle keeps its context's memory until then, as Go's stop func may be
 * called after cancel). Thread safety: any thread.
 */
bool fl_ctx_after_stop(fl_ctx_after *h);

#ifdef __cplusplus
}
#endif
#endif

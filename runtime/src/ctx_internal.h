/*
 * ctx_internal.h - how other runtime modules wait on a context.
 *
 * A blocking operation that also watches a context puts one extra fl__wlink
 * (index -1) of its waiter on the context's waiter list. Cancellation fires
 * every such waiter with result FL_CANCELED, under the context's lock, and
 * unparks it. The waiter removes its link again after waking for any other
 * reason. Never hold a channel or group lock while calling these (the
 * context lock is taken inside; see the lock order in sched_internal.h).
 */
#ifndef FL_CTX_INTERNAL_H
#define FL_CTX_INTERNAL_H

#include <fl/ctx.h>

#include "sched_internal.h"

/*
 * Adds l (l->w set, l->index == -1) to ctx's waiter list. Returns false and
 * adds nothing if ctx is already cancelled. ctx may be NULL: returns true
 * and adds nothing.
 */
bool fl__ctx_watch(fl_ctx *ctx, fl__wlink *l);
/* Removes l if it is still queued. ctx may be NULL. */
void fl__ctx_unwatch(fl_ctx *ctx, fl__wlink *l);

/* Cancels ctx with an explicit err sentinel and cause (reference taken). */
void fl__ctx_cancel_with(fl_ctx *ctx, fl_err *err, fl_err *cause);

/* Takes / releases a reference (children, groups and timers hold one). */
fl_ctx *fl__ctx_ref(fl_ctx *ctx);
void fl__ctx_unref(fl_ctx *ctx);

#endif

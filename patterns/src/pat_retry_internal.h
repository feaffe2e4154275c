/*
 * pat_retry_internal.h - the one place the patterns (batch, saga) call the retry
 * policy (private): fl_retry, or with a NULL policy a single attempt that
 * is not made once ctx is done.
 */
#ifndef FL_PAT_RETRY_INTERNAL_H
#define FL_PAT_RETRY_INTERNAL_H

#include <fl/ctx.h>
#include <fl/err.h>

struct fl_retry_policy;

/* fn's attempt numbers start at 1. *attempts receives the number made. */
FL_MUST_CHECK fl_err *fl__pat_retry(fl_ctx *ctx, const struct fl_retry_policy *p,
				    fl_err *(*fn)(fl_ctx *ctx, int attempt, void *arg), void *arg,
				    int *attempts);

#endif

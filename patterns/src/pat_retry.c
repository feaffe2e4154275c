/* pat_retry.c - see pat_retry_internal.h. */
#include "pat_retry_internal.h"

#include <fl/retry.h>

fl_err *fl__pat_retry(fl_ctx *ctx, const struct fl_retry_policy *p,
		      fl_err *(*fn)(fl_ctx *ctx, int attempt, void *arg), void *arg, int *attempts)
{
	if (p) {
		fl_retry_stats st = {0, 0};
		fl_err *e = fl_retry(ctx, p, fn, arg, &st);
		if (attempts)
			*attempts = st.attempts;
		return e;
	}
	if (attempts)
		*attempts = 1;
	if (fl_ctx_done(ctx))
		return fl_ctx_stop_err(ctx);
	return fn(ctx, 1, arg);
}

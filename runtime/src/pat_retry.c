/* pat_retry.c - see pat_retry.h. */
#include "pat_retry.h"

#if __has_include(<fl/retry.h>)
#include <fl/retry.h>
#define FL_HAVE_RETRY 1
#endif

fl_err *fl__pat_retry(fl_ctx *ctx, const struct fl_retry_policy *p,
		      fl_err *(*fn)(fl_ctx *ctx, int attempt, void *arg), void *arg, int *attempts)
{
#ifdef FL_HAVE_RETRY
	if (p) {
		fl_retry_stats st = {0, 0};
		fl_err *e = fl_retry(ctx, p, fn, arg, &st);
		if (attempts)
			*attempts = st.attempts;
		return e;
	}
#else
	(void)p;
#endif
	if (attempts)
		*attempts = 1;
	if (fl_ctx_done(ctx))
		return fl_ctx_cause(ctx);
	return fn(ctx, 1, arg);
}

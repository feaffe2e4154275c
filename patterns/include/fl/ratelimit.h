/*
 * fl/ratelimit.h - a token-bucket rate limiter (Go's x/time/rate).
 *
 * The bucket holds up to `burst` tokens and refills at `rate` tokens per
 * second on the seam's clock (virtual under the sim backend). allow takes
 * tokens only if they are there now; reserve takes them from the future and
 * says how long to wait; wait sleeps that long, cancellably, and refuses at
 * once when the wait would pass the context's deadline.
 *
 * Thread safety: every function may be called from any task at once.
 */
#ifndef FL_RATELIMIT_H
#define FL_RATELIMIT_H

#include <fl/ctx.h>
#include <fl/err.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A wait was refused because it would pass the deadline ("rate limited"). */
FL_ERR_DECLARE(FL_ERR_RATE_LIMITED);

typedef struct fl_ratelimit fl_ratelimit;

/*
 * A bucket with `burst` tokens (full at creation) refilled at rate_per_sec.
 * Errors: FL_ERR_INVAL (rate not finite or <= 0, burst < 1, NULL out),
 * FL_ERR_NOMEM. *out only on success.
 */
FL_MUST_CHECK fl_err *fl_ratelimit_new(double rate_per_sec, int64_t burst, fl_ratelimit **out);
/* Frees the limiter; nobody may be using it. NULL ok. */
void fl_ratelimit_free(fl_ratelimit *l);

/* Takes n tokens if n are available now; false (nothing taken) if not.
 * Never blocks. */
bool fl_ratelimit_allow(fl_ratelimit *l, int64_t n);

/* A claim on n tokens at a future time (caller's storage). */
typedef struct fl_ratelimit_reservation {
	fl_ratelimit *l;
	int64_t n;
	int64_t at_ns; /* absolute time the tokens are there (fl_now clock) */
	bool ok;       /* false: n > burst, nothing was reserved */
} fl_ratelimit_reservation;

/*
 * Reserves n tokens, borrowing from the future if needed, and returns the
 * wait: the time until r->at_ns (0 if the tokens are there now), or -1 with
 * r->ok false when n exceeds the burst (nothing reserved). The caller
 * should act no earlier than at_ns, or cancel. Never blocks.
 */
int64_t fl_ratelimit_reserve(fl_ratelimit *l, int64_t n, fl_ratelimit_reservation *r);

/*
 * Gives back a reservation that will not be used. If its time has not come,
 * the tokens not already spoken for by later reservations go back to the
 * bucket. Cancelling a spent or failed reservation does nothing; cancel at
 * most once.
 */
void fl_ratelimit_cancel(fl_ratelimit_reservation *r);

/*
 * Waits until n tokens are available and takes them.
 * Returns NULL on success.
 * Errors: FL_ERR_INVAL (n < 1 or n > burst); an error matching
 * FL_ERR_RATE_LIMITED and FL_ERR_DEADLINE when the wait would pass ctx's
 * deadline (returned at once, nothing taken); an error matching ctx's err
 * and cause when ctx ends during the wait (the reservation is cancelled).
 * Blocks: until the tokens are there or ctx ends.
 */
FL_MUST_CHECK fl_err *fl_ratelimit_wait(fl_ratelimit *l, fl_ctx *ctx, int64_t n);

/* Tokens available now (negative while reservations are outstanding). */
double fl_ratelimit_tokens(fl_ratelimit *l);

#ifdef __cplusplus
}
#endif

#endif

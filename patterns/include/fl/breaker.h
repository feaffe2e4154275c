/*
 * fl/breaker.h - a circuit breaker: closed, open, half-open.
 *
 * Closed, calls pass and their outcomes are counted. The breaker opens after
 * `consecutive_failures` failures in a row, or when the failure ratio over a
 * sliding time window reaches `failure_ratio` with at least `min_volume`
 * calls in the window. Open, every call fails fast with an error matching
 * FL_ERR_CIRCUIT_OPEN. After `cooldown_ns` it half-opens and admits up to
 * `probes` calls: if they all succeed it closes, and any failure opens it
 * again for another cool-down. Time is the seam's clock (fl_now), so under
 * the sim backend a test needs no real waiting.
 *
 * Two ways to use it: fl_breaker_call wraps one call; fl_breaker_allow and
 * fl_breaker_done bracket a call the caller makes itself (a ticket carries
 * the state generation, so an outcome that arrives after the state moved on
 * is counted but does not drive the state machine).
 *
 * Thread safety: every function may be called from any task at once. The
 * state-change callback runs after the change, outside the breaker's lock,
 * on the task that caused it; it may call back into the breaker.
 */
#ifndef FL_BREAKER_H
#define FL_BREAKER_H

#include <fl/ctx.h>
#include <fl/err.h>
#include <fl/group.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The circuit is open: the call was not made ("circuit open"). */
FL_ERR_DECLARE(FL_ERR_CIRCUIT_OPEN);

typedef struct fl_breaker fl_breaker;

enum fl_breaker_state {
	FL_BREAKER_CLOSED = 0,
	FL_BREAKER_OPEN = 1,
	FL_BREAKER_HALF_OPEN = 2,
};

/* "closed", "open", "half-open". */
const char *fl_breaker_state_name(enum fl_breaker_state s);

/* Breaker options; all-zero means defaults. */
struct fl_breaker_opts {
	const char *name;         /* for errors; copied; NULL: "breaker" */
	int consecutive_failures; /* open after this many in a row; 0: off */
	double failure_ratio;     /* open at this failure ratio; 0: off */
	int64_t window_ns;        /* sliding window of the ratio; 0: 10 s */
	int min_volume;           /* calls needed in the window; 0: 10 */
	int64_t cooldown_ns;      /* open -> half-open after; 0: 1 s */
	int probes;               /* calls admitted half-open; 0: 1 */
	/* Whether an error counts as a failure. NULL: every error except one
	 * matching FL_ERR_CANCELED (the caller gave up, not the dependency). */
	bool (*is_failure)(const fl_err *e, void *arg);
	void *is_failure_arg;
	/* Called after each state change (see thread safety above). */
	void (*on_change)(fl_breaker *b, enum fl_breaker_state from, enum fl_breaker_state to,
			  void *arg);
	void *on_change_arg;
};

/*
 * Creates a closed breaker. With neither consecutive_failures nor
 * failure_ratio set, consecutive_failures defaults to 5.
 * Errors: FL_ERR_INVAL (negative fields, ratio not in [0, 1], NULL out),
 * FL_ERR_NOMEM. *out only on success.
 */
FL_MUST_CHECK fl_err *fl_breaker_new(const struct fl_breaker_opts *opts, fl_breaker **out);
/* Frees the breaker; no call may be in flight. NULL ok. */
void fl_breaker_free(fl_breaker *b);

/* An admitted call, between fl_breaker_allow and fl_breaker_done. */
typedef struct fl_breaker_ticket {
	uint64_t gen; /* state generation at admission */
	bool probe;   /* admitted as a half-open probe */
} fl_breaker_ticket;

/*
 * Asks to make a call. Returns NULL and fills *t if admitted; the caller
 * must then report the outcome with fl_breaker_done exactly once.
 * Errors: an error matching FL_ERR_CIRCUIT_OPEN (open, or half-open with
 * every probe slot taken); nothing to report then. Never blocks.
 */
FL_MUST_CHECK fl_err *fl_breaker_allow(fl_breaker *b, fl_breaker_ticket *t);
/* Reports the outcome of an admitted call (result borrowed; NULL = ok). */
void fl_breaker_done(fl_breaker *b, const fl_breaker_ticket *t, const fl_err *result);

/*
 * Runs fn(ctx, arg) through the breaker: allow, call, done. Returns fn's
 * result, or the open-circuit error without calling fn.
 * Blocks: only inside fn.
 */
FL_MUST_CHECK fl_err *fl_breaker_call(fl_breaker *b, fl_ctx *ctx, fl_task_fn fn, void *arg);

/* The current state (an open breaker whose cool-down has passed reports,
 * and becomes, half-open). */
enum fl_breaker_state fl_breaker_state(fl_breaker *b);

/* Counters since creation. */
typedef struct fl_breaker_counters {
	int64_t successes;   /* admitted calls that succeeded */
	int64_t failures;    /* admitted calls that failed (is_failure) */
	int64_t ignored;     /* admitted calls whose error was not a failure */
	int64_t rejected;    /* calls refused with FL_ERR_CIRCUIT_OPEN */
	int64_t opened;      /* transitions to open */
	int64_t half_opened; /* transitions to half-open */
	int64_t closed;      /* transitions half-open -> closed */
} fl_breaker_counters;
fl_breaker_counters fl_breaker_counters_get(fl_breaker *b);

#ifdef __cplusplus
}
#endif

#endif

/*
 * fl/hedge.h - hedged and tied requests (Dean and Barroso, "The Tail at
 * Scale").
 *
 * fl_hedge fires attempt 1, and if no attempt has succeeded after a delay,
 * fires the next, up to max_attempts. The delay is fixed, or the observed
 * quantile (say p95) of recent first attempts' latencies, kept by a small
 * estimator shared across calls (a first attempt cut short by a winning
 * hedge counts with the time it ran: a lower bound above the delay). An attempt that fails fires the next
 * one at once. The first success wins; every other attempt is cancelled and
 * joined before fl_hedge returns, so no task outlives the call. If every
 * attempt fails, the result is the join of their errors.
 *
 * fl_hedge_tied is the tied-request variant: attempts are fired the same
 * way, and an attempt calls fl_hedge_tie_start when it really starts work
 * (say, when a server dequeues it); the first to start cancels the others,
 * and no more are fired.
 *
 * An attempt's value reaches the caller through arg (one slot per attempt,
 * indexed by the attempt number); stats->winner says which slot won.
 *
 * Thread safety: any number of fl_hedge calls may run at once, sharing an
 * estimator.
 */
#ifndef FL_HEDGE_H
#define FL_HEDGE_H

#include <fl/ctx.h>
#include <fl/err.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- latency estimator ---------------------------------------------------- */

typedef struct fl_hedge_estimator fl_hedge_estimator;

/*
 * An estimator over the last `samples` latencies (0: 256).
 * Errors: FL_ERR_INVAL (negative samples, NULL out), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_hedge_estimator_new(int samples, fl_hedge_estimator **out);
/* Frees it; no fl_hedge may be using it. NULL ok. */
void fl_hedge_estimator_free(fl_hedge_estimator *e);
/* Records one latency (fl_hedge records each call's first attempt). */
void fl_hedge_estimator_record(fl_hedge_estimator *e, int64_t ns);
/* The q-quantile (0 < q <= 1) of the recorded window, or -1 while fewer
 * than min(16, samples) latencies have been recorded. The value is cached:
 * asked again for the same q, it is recomputed only after 16 more samples
 * (or once a small window has turned over). */
int64_t fl_hedge_estimator_quantile(fl_hedge_estimator *e, double q);

/* ---- hedging ---------------------------------------------------------------- */

/* Hedge options; all-zero means defaults. */
struct fl_hedge_opts {
	int max_attempts;        /* including the first; 0: 2 */
	int64_t delay_ns;        /* fixed delay before each hedge (also the
				    * fallback while the estimator warms up) */
	double quantile;         /* > 0: delay = this quantile of est */
	fl_hedge_estimator *est; /* learns first attempts; required if quantile > 0 */
	const char *name;        /* for task names; NULL: "hedge" */
};

/* What one call did. */
typedef struct fl_hedge_stats {
	int fired;        /* attempts started (1 + hedges fired) */
	int winner;       /* the attempt that succeeded, 0 if none */
	bool hedge_won;   /* winner > 1 */
	int64_t delay_ns; /* the hedge delay that was used */
} fl_hedge_stats;

/* One attempt: attempt is 1-based; ctx is the attempt's own context. */
typedef fl_err *(*fl_hedge_fn)(fl_ctx *ctx, int attempt, void *arg);

/*
 * Runs fn as hedged attempts (see the top of this header).
 * Returns NULL if an attempt succeeded. stats (may be NULL) is filled in
 * every case.
 * Errors: the join of every attempt's error (in attempt order) if all
 * failed; if ctx ends first, an error matching its err and cause, joined
 * with what the attempts returned; FL_ERR_INVAL (NULL ctx or fn, negative
 * fields, quantile > 0 without est or > 1); FL_ERR_NOMEM and group errors.
 * Blocks: until an attempt succeeds or all have ended; every wait (the
 * hedge delay, results) ends when ctx is cancelled, after which fl_hedge
 * waits only for the attempts to return (they see their ctx cancelled).
 */
FL_MUST_CHECK fl_err *fl_hedge(fl_ctx *ctx, const struct fl_hedge_opts *o, fl_hedge_fn fn,
			       void *arg, fl_hedge_stats *stats);

/* ---- tied requests ---------------------------------------------------------- */

typedef struct fl_hedge_tie fl_hedge_tie;
typedef fl_err *(*fl_hedge_tied_fn)(fl_ctx *ctx, fl_hedge_tie *tie, void *arg);

/* The attempt number (1-based) of a tie. */
int fl_hedge_tie_attempt(const fl_hedge_tie *tie);
/*
 * Claims the start for this attempt. Returns true for the first attempt to
 * call it, which cancels every other attempt's context and stops further
 * hedges; false if another attempt already started (this one's context is
 * cancelled; it should return).
 */
bool fl_hedge_tie_start(fl_hedge_tie *tie);

/*
 * Tied requests: as fl_hedge, but attempts call fl_hedge_tie_start when
 * they begin real work and the first to start cancels the rest. The result
 * is that of the attempt that started (or, if none did, as fl_hedge).
 * stats->winner is the attempt that started.
 */
FL_MUST_CHECK fl_err *fl_hedge_tied(fl_ctx *ctx, const struct fl_hedge_opts *o, fl_hedge_tied_fn fn,
				    void *arg, fl_hedge_stats *stats);

#ifdef __cplusplus
}
#endif

#endif

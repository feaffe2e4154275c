/*
 * fl/retry.h - retries with capped exponential backoff, full jitter and a
 * shared retry budget.
 *
 * fl_retry calls an operation until it succeeds, fails for good, runs out of
 * attempts, is refused by the budget or its context ends. The context's
 * deadline spans every attempt, and the backoff sleeps are cancellable and
 * read the seam's clock (virtual time under the sim backend). Jitter comes
 * from the scheduler's random source (fl_rand_u64), so a seeded sim run
 * reproduces the same backoffs.
 *
 * Retrying inside one task keeps a failing attempt private to that task: the
 * surrounding group only sees the final outcome, so siblings are not
 * cancelled while attempts remain (the "cancelled too early" bug of
 * returning every attempt's error to an errgroup).
 *
 * A retry budget (Finagle's RetryBudget) is shared by a whole run and bounds
 * retry amplification when a dependency is down: every fl_retry call
 * deposits `percent` of a retry, every retry withdraws a whole one, and a
 * floor of `floor_per_sec` retries per second accrues on top. Deposits and
 * unused floor expire after the window. So over a run of T seconds with R
 * requests, retries <= percent * R + floor_per_sec * T, and attempts <=
 * (1 + percent) * R + floor_per_sec * T however hard the downstream fails.
 */
#ifndef FL_RETRY_H
#define FL_RETRY_H

#include <fl/ctx.h>
#include <fl/err.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The budget refused a retry ("retry budget exhausted"). */
FL_ERR_DECLARE(FL_ERR_BUDGET_EXHAUSTED);

typedef struct fl_retry_budget fl_retry_budget;

/* An operation to retry: attempt is 1-based. Returns NULL on success or an
 * error (one reference). */
typedef fl_err *(*fl_retry_fn)(fl_ctx *ctx, int attempt, void *arg);

/* A retry policy; the caller's storage, read only during fl_retry. */
typedef struct fl_retry_policy {
	int max_attempts;   /* including the first; <= 0 means 1 */
	int64_t initial_ns; /* cap of the first backoff; <= 0: no sleep */
	double multiplier;  /* growth of the cap per retry; < 1 means 1 */
	int64_t max_ns;     /* cap for any single backoff; <= 0: none */
	/* Returns true if e must not be retried. NULL: fl_retry_default_final
	 * (errors matching FL_ERR_CANCELED, FL_ERR_DEADLINE or
	 * FL_ERR_BUDGET_EXHAUSTED are final). */
	bool (*non_retryable)(const fl_err *e, void *arg);
	void *non_retryable_arg;
	fl_retry_budget *budget; /* optional; shared by many callers */
} fl_retry_policy;

/* What one fl_retry call did. */
typedef struct fl_retry_stats {
	int attempts;     /* calls of fn */
	int64_t slept_ns; /* total backoff actually slept */
} fl_retry_stats;

/* Why fl_retry gave up (in fl_retry_info). */
enum fl_retry_stop {
	FL_RETRY_STOP_FINAL = 1, /* the error was non-retryable */
	FL_RETRY_STOP_ATTEMPTS,  /* max_attempts spent */
	FL_RETRY_STOP_BUDGET,    /* the budget refused the next retry */
	FL_RETRY_STOP_CANCELED,  /* ctx ended (or its deadline would pass
				  * before the next attempt could start) */
};

/*
 * The payload of the error fl_retry returns on failure (type
 * fl_retry_error_type, found with fl_err_as). The error wraps the last
 * attempt's error and prints as
 *   "gave up after 3 attempts (attempts spent): <last error>".
 * It also matches FL_ERR_BUDGET_EXHAUSTED when stop is BUDGET, and
 * FL_ERR_CANCELED or FL_ERR_DEADLINE when stop is CANCELED (as the context
 * ended), even if the last attempt's error does not.
 */
typedef struct fl_retry_info {
	int attempts; /* calls of fn */
	enum fl_retry_stop stop;
	const fl_err *ctx_err; /* CANCELED: the ctx's sentinel, else NULL */
} fl_retry_info;
extern const fl_err_type fl_retry_error_type;

/*
 * Calls fn(ctx, attempt, arg) until it returns NULL, a non-retryable error,
 * the attempts are spent, the budget refuses, or ctx ends. Before retry n
 * (n = 1 for the second attempt) it sleeps a full-jitter backoff, uniform in
 * [0, min(max_ns, initial_ns * multiplier^(n-1))]. If ctx has a deadline that
 * would pass before the next attempt could start, it gives up at once
 * instead of sleeping. With a budget, each call deposits once and each
 * retry must withdraw first (a refused retry does not sleep).
 * Returns NULL on success, else an error of fl_retry_error_type wrapping the
 * last cause (or, if no attempt ran, the ctx's stop error: fl_ctx_stop_err).
 * Errors: as above; FL_ERR_INVAL (NULL ctx, p or fn).
 * stats (may be NULL) is filled in every case.
 * Blocks: in fn and in backoff sleeps; both end when ctx is cancelled.
 * Thread safety: any task; p may be shared read-only.
 */
FL_MUST_CHECK fl_err *fl_retry(fl_ctx *ctx, const fl_retry_policy *p, fl_retry_fn fn, void *arg,
			       fl_retry_stats *stats);

/* The backoff cap before retry n (1-based): min(max_ns, initial_ns *
 * multiplier^(n-1)), never negative. The sleep is uniform in [0, cap]. */
int64_t fl_retry_backoff_cap(const fl_retry_policy *p, int n);

/* The default predicate: true for errors matching FL_ERR_CANCELED,
 * FL_ERR_DEADLINE or FL_ERR_BUDGET_EXHAUSTED. arg is ignored. */
bool fl_retry_default_final(const fl_err *e, void *arg);

/*
 * Non-retryable classes for fl_retry_final_match: NULL-terminated lists of
 * sentinels (matched with fl_err_is) and payload types (fl_err_as). Either
 * list may be NULL. Use it as
 *   static const fl_err *final_errs[] = {app_err_bad_request, NULL};
 *   struct fl_retry_final f = {.sentinels = final_errs};
 *   policy.non_retryable = fl_retry_final_match;
 *   policy.non_retryable_arg = &f;
 */
struct fl_retry_final {
	const fl_err *const *sentinels;
	const fl_err_type *const *types;
};
/* True if e is final by default (fl_retry_default_final) or matches one of
 * the classes in arg (a struct fl_retry_final *, may be NULL). */
bool fl_retry_final_match(const fl_err *e, void *arg);

/*
 * A retry budget: retries <= percent * (requests in the window) +
 * floor_per_sec per second, where percent is a fraction (0.2 = 20%),
 * window_ns is how long a deposit (and unused floor) lasts. The floor
 * accrues from creation at floor_per_sec, up to floor_per_sec * window.
 * Errors: FL_ERR_INVAL (percent or floor_per_sec negative or not finite,
 * window_ns <= 0, NULL out), FL_ERR_NOMEM. *out only on success.
 * Thread safety: a budget may be used by any number of tasks at once.
 */
FL_MUST_CHECK fl_err *fl_retry_budget_new(double percent, double floor_per_sec, int64_t window_ns,
					  fl_retry_budget **out);
/* Frees the budget; no fl_retry may be using it. NULL ok. */
void fl_retry_budget_free(fl_retry_budget *b);
/* Records one request (fl_retry does this once per call). */
void fl_retry_budget_deposit(fl_retry_budget *b);
/* Takes one retry from the budget: true if allowed, false (counted as
 * refused) if the budget is exhausted. Never blocks. */
bool fl_retry_budget_try_withdraw(fl_retry_budget *b);

/* Counters of a budget since creation. */
typedef struct fl_retry_budget_stats {
	int64_t requests; /* deposits */
	int64_t retries;  /* successful withdrawals */
	int64_t refused;  /* refused withdrawals */
	double balance;   /* retries available right now */
} fl_retry_budget_stats;
fl_retry_budget_stats fl_retry_budget_stats_get(fl_retry_budget *b);

#ifdef __cplusplus
}
#endif

#endif

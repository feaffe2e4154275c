/*
 * retry.c - fl_retry and the retry budget.
 *
 * fl_retry is a plain loop: attempt, classify, then (unless it gives up)
 * withdraw from the budget and sleep a full-jitter backoff on the seam's
 * clock with fl_sleep_until, which ends early when ctx is cancelled. The
 * final error is a typed node (fl_retry_info) over the last cause, so
 * fl_err_is still finds the cause's sentinels and fl_err_as finds the
 * attempt count.
 *
 * The budget keeps its deposits in NSLICES time slices of window/NSLICES
 * each, a ring indexed by slice epoch (now / slice_ns). A slice older than
 * the window is emptied when the ring is next touched, so a deposit lasts
 * between window - slice and window. A withdrawal takes one whole retry,
 * from the oldest slices first (they expire soonest), then from the floor
 * tokens, which accrue at floor_per_sec up to floor_per_sec * window.
 * Invariant: total withdrawn <= percent * deposits + floor accrued, which
 * is the bound the header promises. One mutex protects everything; it is
 * held only for arithmetic, never across a wait.
 */
#include <fl/retry.h>
#include <fl/task.h>

#include <math.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

FL_ERR_SENTINEL(FL_ERR_BUDGET_EXHAUSTED, "retry budget exhausted");

/* ---- the final error ---------------------------------------------------- */

static const char *stop_name(enum fl_retry_stop s)
{
	switch (s) {
	case FL_RETRY_STOP_FINAL: return "non-retryable";
	case FL_RETRY_STOP_ATTEMPTS: return "attempts spent";
	case FL_RETRY_STOP_BUDGET: return "retry budget exhausted";
	case FL_RETRY_STOP_CANCELED: return "context done";
	}
	return "?";
}

static int info_format(const void *payload, char *buf, size_t cap)
{
	const fl_retry_info *in = payload;
	return snprintf(buf, cap, "gave up after %d attempt%s (%s)", in->attempts,
			in->attempts == 1 ? "" : "s", stop_name(in->stop));
}

static bool info_is(const void *payload, const fl_err *target)
{
	const fl_retry_info *in = payload;
	if (in->stop == FL_RETRY_STOP_BUDGET && target == FL_ERR_BUDGET_EXHAUSTED)
		return true;
	return in->ctx_err != NULL && target == in->ctx_err;
}

const fl_err_type fl_retry_error_type = {
	.name = "retry",
	.size = sizeof(fl_retry_info),
	.format = info_format,
	.is = info_is,
};

bool fl_retry_default_final(const fl_err *e, void *arg)
{
	(void)arg;
	return fl_err_is(e, FL_ERR_CANCELED) || fl_err_is(e, FL_ERR_DEADLINE) ||
	       fl_err_is(e, FL_ERR_BUDGET_EXHAUSTED);
}

bool fl_retry_final_match(const fl_err *e, void *arg)
{
	if (fl_retry_default_final(e, NULL))
		return true;
	const struct fl_retry_final *f = arg;
	if (!f)
		return false;
	for (const fl_err *const *s = f->sentinels; s && *s; s++)
		if (fl_err_is(e, *s))
			return true;
	for (const fl_err_type *const *t = f->types; t && *t; t++)
		if (fl_err_as(e, *t))
			return true;
	return false;
}

int64_t fl_retry_backoff_cap(const fl_retry_policy *p, int n)
{
	if (p->initial_ns <= 0 || n < 1)
		return 0;
	double mult = p->multiplier >= 1.0 ? p->multiplier : 1.0;
	double cap = (double)p->initial_ns * pow(mult, (double)(n - 1));
	double limit = p->max_ns > 0 ? (double)p->max_ns : (double)(INT64_MAX / 2);
	if (!(cap <= limit)) /* also catches inf and nan */
		cap = limit;
	return (int64_t)cap;
}

/* Uniform in [0, cap]. */
static int64_t jitter(int64_t cap)
{
	if (cap <= 0)
		return 0;
	return (int64_t)(fl_rand_u64() % ((uint64_t)cap + 1));
}

static fl_err *give_up(fl_ctx *ctx, fl_err *last, int attempts, enum fl_retry_stop stop)
{
	fl_retry_info in = {.attempts = attempts, .stop = stop};
	if (stop == FL_RETRY_STOP_CANCELED) {
		in.ctx_err = fl_ctx_err(ctx) ? fl_ctx_err(ctx) : FL_ERR_DEADLINE;
		if (!last)
			last = fl_ctx_stop_err(ctx);
	}
	return fl_err_typed(&fl_retry_error_type, &in, last, NULL);
}

fl_err *fl_retry(fl_ctx *ctx, const fl_retry_policy *p, fl_retry_fn fn, void *arg,
		 fl_retry_stats *stats)
{
	fl_retry_stats local;
	if (!stats)
		stats = &local;
	*stats = (fl_retry_stats){0, 0};
	if (!ctx || !p || !fn)
		return FL_ERR_INVAL;
	int max = p->max_attempts > 0 ? p->max_attempts : 1;
	bool (*final)(const fl_err *, void *) =
		p->non_retryable ? p->non_retryable : fl_retry_default_final;
	if (p->budget)
		fl_retry_budget_deposit(p->budget);
	fl_err *last = NULL;
	for (int n = 1;; n++) {
		if (fl_ctx_done(ctx))
			return give_up(ctx, last, n - 1, FL_RETRY_STOP_CANCELED);
		stats->attempts = n;
		fl_err *e = fn(ctx, n, arg);
		if (!e) {
			fl_err_drop(last);
			return NULL;
		}
		fl_err_drop(last);
		last = e;
		if (final(e, p->non_retryable_arg))
			return give_up(ctx, last, n, FL_RETRY_STOP_FINAL);
		if (n >= max)
			return give_up(ctx, last, n, FL_RETRY_STOP_ATTEMPTS);
		if (fl_ctx_done(ctx))
			return give_up(ctx, last, n, FL_RETRY_STOP_CANCELED);
		int64_t sleep_ns = jitter(fl_retry_backoff_cap(p, n));
		int64_t start = fl_now();
		int64_t until = fl_deadline_in(sleep_ns);
		int64_t dl = fl_ctx_deadline(ctx);
		if (sleep_ns > 0 && dl != FL_FOREVER && until >= dl) {
			/* The next attempt could not start in time. */
			fl_retry_info in = {.attempts = n,
					    .stop = FL_RETRY_STOP_CANCELED,
					    .ctx_err = FL_ERR_DEADLINE};
			return fl_err_typed(&fl_retry_error_type, &in, last, NULL);
		}
		if (p->budget && !fl_retry_budget_try_withdraw(p->budget))
			return give_up(ctx, last, n, FL_RETRY_STOP_BUDGET);
		if (sleep_ns > 0) {
			int rc = fl_sleep_until(ctx, until);
			stats->slept_ns += fl_now() - start;
			if (rc != FL_OK)
				return give_up(ctx, last, n, FL_RETRY_STOP_CANCELED);
		}
	}
}

/* ---- budget ------------------------------------------------------------- */

enum { NSLICES = 16 };

struct fl_retry_budget {
	fl__mutex mu;
	double percent;                     /* immutable */
	double floor_per_ns;                /* immutable */
	double floor_cap;                   /* immutable: floor_per_sec * window */
	int64_t slice_ns;                   /* immutable */
	int64_t epoch[NSLICES];             /* (mu) slice epoch of credit[i] */
	double credit[NSLICES];             /* (mu) unspent deposits of that slice */
	double floor;                       /* (mu) floor tokens */
	int64_t floor_at;                   /* (mu) when floor was last accrued */
	int64_t requests, retries, refused; /* (mu) */
};

fl_err *fl_retry_budget_new(double percent, double floor_per_sec, int64_t window_ns,
			    fl_retry_budget **out)
{
	if (!out || !isfinite(percent) || percent < 0 || !isfinite(floor_per_sec) ||
	    floor_per_sec < 0 || window_ns <= 0)
		return FL_ERR_INVAL;
	fl_retry_budget *b = fl__calloc(1, sizeof(*b));
	if (!b)
		return FL_ERR_NOMEM;
	fl__mutex_init(&b->mu);
	b->percent = percent;
	b->floor_per_ns = floor_per_sec / 1e9;
	b->floor_cap = floor_per_sec * ((double)window_ns / 1e9);
	b->slice_ns = window_ns / NSLICES > 0 ? window_ns / NSLICES : 1;
	for (int i = 0; i < NSLICES; i++)
		b->epoch[i] = -1;
	b->floor_at = fl_now();
	*out = b;
	return NULL;
}

void fl_retry_budget_free(fl_retry_budget *b)
{
	if (!b)
		return;
	fl__mutex_destroy(&b->mu);
	free(b);
}

/* Expires old slices and accrues the floor; returns the current epoch. */
static int64_t budget_advance(fl_retry_budget *b)
{
	int64_t now = fl_now();
	int64_t ep = now / b->slice_ns;
	for (int i = 0; i < NSLICES; i++)
		if (b->epoch[i] >= 0 && b->epoch[i] <= ep - NSLICES) {
			b->epoch[i] = -1;
			b->credit[i] = 0;
		}
	if (now > b->floor_at) {
		b->floor += b->floor_per_ns * (double)(now - b->floor_at);
		if (b->floor > b->floor_cap)
			b->floor = b->floor_cap;
		b->floor_at = now;
	}
	return ep;
}

static double budget_balance(const fl_retry_budget *b)
{
	double sum = b->floor;
	for (int i = 0; i < NSLICES; i++)
		sum += b->credit[i];
	return sum;
}

void fl_retry_budget_deposit(fl_retry_budget *b)
{
	fl__mutex_lock(&b->mu);
	int64_t ep = budget_advance(b);
	int i = (int)(ep % NSLICES);
	if (b->epoch[i] != ep) {
		b->epoch[i] = ep;
		b->credit[i] = 0;
	}
	b->credit[i] += b->percent;
	b->requests++;
	fl__mutex_unlock(&b->mu);
}

/* Rounding slack: 10 deposits of 0.1 must buy one retry. */
#define EPS 1e-9

bool fl_retry_budget_try_withdraw(fl_retry_budget *b)
{
	fl__mutex_lock(&b->mu);
	int64_t ep = budget_advance(b);
	bool ok = budget_balance(b) >= 1.0 - EPS;
	if (ok) {
		double need = 1.0;
		for (int64_t e = ep - NSLICES + 1; e <= ep && need > 0; e++) {
			int i = (int)(e % NSLICES);
			if (e < 0 || b->epoch[i] != e)
				continue;
			double take = b->credit[i] < need ? b->credit[i] : need;
			b->credit[i] -= take;
			need -= take;
		}
		b->floor = need > b->floor ? 0 : b->floor - need;
		b->retries++;
	} else {
		b->refused++;
	}
	fl__mutex_unlock(&b->mu);
	return ok;
}

fl_retry_budget_stats fl_retry_budget_stats_get(fl_retry_budget *b)
{
	fl__mutex_lock(&b->mu);
	budget_advance(b);
	fl_retry_budget_stats st = {b->requests, b->retries, b->refused, budget_balance(b)};
	fl__mutex_unlock(&b->mu);
	return st;
}

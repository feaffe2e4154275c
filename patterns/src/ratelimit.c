/*
 * ratelimit.c - token bucket with reservations.
 *
 * State, under one mutex: `tokens` as of time `last` (may be negative: that
 * many tokens are promised to outstanding reservations), and `last_event`,
 * the latest time any reservation may act. Refilling is lazy: advance()
 * adds rate * (now - last), capped at burst. A reservation subtracts its
 * tokens now and waits -tokens / rate if that went negative. Cancelling
 * gives back its tokens minus those later reservations already counted on
 * (rate * (last_event - at)), so it never lets anyone act earlier than they
 * were promised. The mutex is held for arithmetic only; waiting happens in
 * fl_sleep_until without it.
 */
#include <fl/ratelimit.h>
#include <fl/task.h>

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

FL_ERR_SENTINEL(FL_ERR_RATE_LIMITED, "rate limited");

struct fl_ratelimit {
	fl__mutex mu;
	double rate_per_ns; /* immutable */
	double burst;       /* immutable */
	double tokens;      /* (mu) as of last */
	int64_t last;       /* (mu) */
	int64_t last_event; /* (mu) latest reservation time */
};

fl_err *fl_ratelimit_new(double rate_per_sec, int64_t burst, fl_ratelimit **out)
{
	if (!out || !isfinite(rate_per_sec) || rate_per_sec <= 0 || burst < 1)
		return FL_ERR_INVAL;
	fl_ratelimit *l = fl__calloc(1, sizeof(*l));
	if (!l)
		return FL_ERR_NOMEM;
	fl__mutex_init(&l->mu);
	l->rate_per_ns = rate_per_sec / 1e9;
	l->burst = (double)burst;
	l->tokens = (double)burst;
	l->last = fl_now();
	l->last_event = l->last;
	*out = l;
	return NULL;
}

void fl_ratelimit_free(fl_ratelimit *l)
{
	if (!l)
		return;
	fl__mutex_destroy(&l->mu);
	free(l);
}

/* Tokens at now (not stored). */
static double tokens_at(const fl_ratelimit *l, int64_t now)
{
	double t = l->tokens;
	if (now > l->last) {
		t += l->rate_per_ns * (double)(now - l->last);
		if (t > l->burst)
			t = l->burst;
	}
	return t;
}

static void advance(fl_ratelimit *l, int64_t now)
{
	l->tokens = tokens_at(l, now);
	if (now > l->last)
		l->last = now;
}

bool fl_ratelimit_allow(fl_ratelimit *l, int64_t n)
{
	fl__mutex_lock(&l->mu);
	advance(l, fl_now());
	bool ok = n >= 0 && (double)n <= l->tokens;
	if (ok)
		l->tokens -= (double)n;
	fl__mutex_unlock(&l->mu);
	return ok;
}

/* Reserves n tokens if they are there within max_wait; at_ns on success. */
static bool reserve(fl_ratelimit *l, int64_t n, int64_t now, int64_t max_wait, int64_t *at_ns)
{
	if (n < 0 || (double)n > l->burst)
		return false;
	fl__mutex_lock(&l->mu);
	advance(l, now);
	double left = l->tokens - (double)n;
	double wait = left < 0 ? ceil(-left / l->rate_per_ns) : 0;
	bool ok = wait <= (double)max_wait;
	if (ok) {
		l->tokens = left;
		*at_ns = now + (int64_t)wait;
		if (*at_ns > l->last_event)
			l->last_event = *at_ns;
	}
	fl__mutex_unlock(&l->mu);
	return ok;
}

int64_t fl_ratelimit_reserve(fl_ratelimit *l, int64_t n, fl_ratelimit_reservation *r)
{
	int64_t now = fl_now();
	*r = (fl_ratelimit_reservation){.l = l, .n = n, .at_ns = now};
	r->ok = reserve(l, n, now, FL_FOREVER, &r->at_ns);
	return r->ok ? r->at_ns - now : -1;
}

void fl_ratelimit_cancel(fl_ratelimit_reservation *r)
{
	if (!r->ok || r->n == 0)
		return;
	fl_ratelimit *l = r->l;
	r->ok = false;
	int64_t now = fl_now();
	fl__mutex_lock(&l->mu);
	if (r->at_ns > now) {
		/* Later reservations counted on the tokens refilled after at. */
		double restore = (double)r->n - l->rate_per_ns * (double)(l->last_event - r->at_ns);
		if (restore > 0) {
			advance(l, now);
			l->tokens += restore;
			if (l->tokens > l->burst)
				l->tokens = l->burst;
			if (r->at_ns == l->last_event) {
				int64_t prev = r->at_ns - (int64_t)((double)r->n / l->rate_per_ns);
				l->last_event = prev > now ? prev : now;
			}
		}
	}
	fl__mutex_unlock(&l->mu);
}

fl_err *fl_ratelimit_wait(fl_ratelimit *l, fl_ctx *ctx, int64_t n)
{
	if (!l || !ctx || n < 1 || (double)n > l->burst)
		return FL_ERR_INVAL;
	if (fl_ctx_done(ctx))
		return fl_err_wrap(fl_ctx_stop_err(ctx), "rate limiter wait");
	int64_t now = fl_now();
	int64_t dl = fl_ctx_deadline(ctx);
	int64_t max_wait = dl == FL_FOREVER ? FL_FOREVER : dl - now;
	fl_ratelimit_reservation r = {.l = l, .n = n, .ok = false};
	if (!reserve(l, n, now, max_wait, &r.at_ns))
		return fl_err_wrap(fl_err_join2(FL_ERR_RATE_LIMITED, FL_ERR_DEADLINE),
				   "rate limiter: %" PRId64 " token(s) not due before the deadline",
				   n);
	r.ok = true;
	if (r.at_ns <= now)
		return NULL;
	if (fl_sleep_until(ctx, r.at_ns) == FL_OK)
		return NULL;
	fl_ratelimit_cancel(&r);
	return fl_err_wrap(fl_ctx_stop_err(ctx), "rate limiter wait");
}

double fl_ratelimit_tokens(fl_ratelimit *l)
{
	fl__mutex_lock(&l->mu);
	double t = tokens_at(l, fl_now());
	fl__mutex_unlock(&l->mu);
	return t;
}

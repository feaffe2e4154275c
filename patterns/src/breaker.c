/*
 * breaker.c - the circuit breaker state machine.
 *
 *   CLOSED --(N in a row, or ratio >= r over the window with volume)--> OPEN
 *   OPEN --(cool-down passed, checked lazily on the next call)--> HALF_OPEN
 *   HALF_OPEN --(`probes` successes)--> CLOSED
 *   HALF_OPEN --(any failure)--> OPEN
 *
 * Every transition bumps `gen`; an outcome reported with a ticket of an
 * older generation only updates the counters. The ratio window is a ring
 * of NBUCKETS buckets of window/NBUCKETS, indexed by bucket epoch; a bucket
 * older than the window is cleared when touched. One mutex protects all
 * state and is never held while user code (the call, the callbacks) runs:
 * transitions are recorded under the lock and announced after unlocking.
 */
#include <fl/breaker.h>
#include <fl/task.h>

#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

FL_ERR_SENTINEL(FL_ERR_CIRCUIT_OPEN, "circuit open");

enum { NBUCKETS = 10 };

struct fl_breaker {
	fl__mutex mu;
	struct fl_breaker_opts o;            /* immutable (defaults applied) */
	char name[48];                       /* immutable */
	int64_t bucket_ns;                   /* immutable */
	enum fl_breaker_state state;         /* (mu) */
	uint64_t gen;                        /* (mu) bumped on every transition */
	int consecutive;                     /* (mu) failures in a row, closed */
	int64_t open_until;                  /* (mu) end of the cool-down */
	int probes_admitted;                 /* (mu) half-open */
	int probes_ok;                       /* (mu) half-open */
	int64_t epoch[NBUCKETS];             /* (mu) bucket epoch, -1 empty */
	int64_t ok[NBUCKETS], bad[NBUCKETS]; /* (mu) */
	fl_breaker_counters c;               /* (mu) */
};

/* A transition to announce once the lock is dropped. */
typedef struct change {
	bool happened;
	enum fl_breaker_state from, to;
} change;

const char *fl_breaker_state_name(enum fl_breaker_state s)
{
	switch (s) {
	case FL_BREAKER_CLOSED: return "closed";
	case FL_BREAKER_OPEN: return "open";
	case FL_BREAKER_HALF_OPEN: return "half-open";
	}
	return "?";
}

static bool default_is_failure(const fl_err *e, void *arg)
{
	(void)arg;
	return e != NULL && !fl_err_is(e, FL_ERR_CANCELED);
}

fl_err *fl_breaker_new(const struct fl_breaker_opts *opts, fl_breaker **out)
{
	struct fl_breaker_opts o = opts ? *opts : (struct fl_breaker_opts){0};
	if (!out || o.consecutive_failures < 0 || !(o.failure_ratio >= 0 && o.failure_ratio <= 1) ||
	    o.window_ns < 0 || o.min_volume < 0 || o.cooldown_ns < 0 || o.probes < 0)
		return FL_ERR_INVAL;
	if (!o.consecutive_failures && o.failure_ratio == 0)
		o.consecutive_failures = 5;
	if (!o.window_ns)
		o.window_ns = FL_SEC(10);
	if (!o.min_volume)
		o.min_volume = 10;
	if (!o.cooldown_ns)
		o.cooldown_ns = FL_SEC(1);
	if (!o.probes)
		o.probes = 1;
	if (!o.is_failure)
		o.is_failure = default_is_failure;
	fl_breaker *b = fl__calloc(1, sizeof(*b));
	if (!b)
		return FL_ERR_NOMEM;
	fl__mutex_init(&b->mu);
	snprintf(b->name, sizeof(b->name), "%s", o.name ? o.name : "breaker");
	o.name = b->name;
	b->o = o;
	b->bucket_ns = o.window_ns / NBUCKETS > 0 ? o.window_ns / NBUCKETS : 1;
	for (int i = 0; i < NBUCKETS; i++)
		b->epoch[i] = -1;
	*out = b;
	return NULL;
}

void fl_breaker_free(fl_breaker *b)
{
	if (!b)
		return;
	fl__mutex_destroy(&b->mu);
	free(b);
}

static void window_reset(fl_breaker *b)
{
	for (int i = 0; i < NBUCKETS; i++) {
		b->epoch[i] = -1;
		b->ok[i] = b->bad[i] = 0;
	}
}

/* Records one outcome in the window; returns (ok, bad) totals in it. */
static void window_add(fl_breaker *b, int64_t now, bool failed, int64_t *tot_ok, int64_t *tot_bad)
{
	int64_t ep = now / b->bucket_ns;
	int i = (int)(ep % NBUCKETS);
	if (b->epoch[i] != ep) {
		b->epoch[i] = ep;
		b->ok[i] = b->bad[i] = 0;
	}
	if (failed)
		b->bad[i]++;
	else
		b->ok[i]++;
	*tot_ok = *tot_bad = 0;
	for (int k = 0; k < NBUCKETS; k++)
		if (b->epoch[k] > ep - NBUCKETS) {
			*tot_ok += b->ok[k];
			*tot_bad += b->bad[k];
		}
}

static void set_state(fl_breaker *b, enum fl_breaker_state to, int64_t now, change *ch)
{
	ch->happened = true;
	ch->from = b->state;
	ch->to = to;
	b->state = to;
	b->gen++;
	b->consecutive = 0;
	b->probes_admitted = b->probes_ok = 0;
	switch (to) {
	case FL_BREAKER_OPEN:
		b->open_until = now + b->o.cooldown_ns;
		b->c.opened++;
		break;
	case FL_BREAKER_HALF_OPEN: b->c.half_opened++; break;
	case FL_BREAKER_CLOSED:
		window_reset(b);
		b->c.closed++;
		break;
	}
}

/* The lazy open -> half-open transition. */
static void refresh(fl_breaker *b, int64_t now, change *ch)
{
	if (b->state == FL_BREAKER_OPEN && now >= b->open_until)
		set_state(b, FL_BREAKER_HALF_OPEN, now, ch);
}

static void announce(fl_breaker *b, const change *ch)
{
	if (ch->happened && b->o.on_change)
		b->o.on_change(b, ch->from, ch->to, b->o.on_change_arg);
}

fl_err *fl_breaker_allow(fl_breaker *b, fl_breaker_ticket *t)
{
	change ch = {0};
	bool ok = true;
	fl__mutex_lock(&b->mu);
	refresh(b, fl_now(), &ch);
	*t = (fl_breaker_ticket){.gen = b->gen, .probe = false};
	if (b->state == FL_BREAKER_OPEN) {
		ok = false;
	} else if (b->state == FL_BREAKER_HALF_OPEN) {
		if (b->probes_admitted < b->o.probes) {
			b->probes_admitted++;
			t->probe = true;
		} else {
			ok = false;
		}
	}
	if (!ok)
		b->c.rejected++;
	enum fl_breaker_state st = b->state;
	fl__mutex_unlock(&b->mu);
	announce(b, &ch);
	if (ok)
		return NULL;
	return fl_err_wrap(FL_ERR_CIRCUIT_OPEN, "breaker '%s' %s", b->name,
			   fl_breaker_state_name(st));
}

void fl_breaker_done(fl_breaker *b, const fl_breaker_ticket *t, const fl_err *result)
{
	bool failed = result && b->o.is_failure(result, b->o.is_failure_arg);
	bool ignored = result && !failed;
	change ch = {0};
	int64_t now = fl_now();
	fl__mutex_lock(&b->mu);
	if (ignored)
		b->c.ignored++;
	else if (failed)
		b->c.failures++;
	else
		b->c.successes++;
	if (t->gen != b->gen) {
		/* Stale: the state moved on since this call was admitted. */
	} else if (b->state == FL_BREAKER_HALF_OPEN) {
		if (failed)
			set_state(b, FL_BREAKER_OPEN, now, &ch);
		else if (ignored)
			b->probes_admitted--; /* the slot is free for another probe */
		else if (++b->probes_ok >= b->o.probes)
			set_state(b, FL_BREAKER_CLOSED, now, &ch);
	} else if (b->state == FL_BREAKER_CLOSED && !ignored) {
		b->consecutive = failed ? b->consecutive + 1 : 0;
		int64_t wok, wbad;
		window_add(b, now, failed, &wok, &wbad);
		bool by_run = b->o.consecutive_failures > 0 &&
			      b->consecutive >= b->o.consecutive_failures;
		bool by_ratio = b->o.failure_ratio > 0 && wok + wbad >= b->o.min_volume &&
				(double)wbad >= b->o.failure_ratio * (double)(wok + wbad);
		if (failed && (by_run || by_ratio))
			set_state(b, FL_BREAKER_OPEN, now, &ch);
	}
	fl__mutex_unlock(&b->mu);
	announce(b, &ch);
}

fl_err *fl_breaker_call(fl_breaker *b, fl_ctx *ctx, fl_task_fn fn, void *arg)
{
	fl_breaker_ticket t;
	fl_err *e = fl_breaker_allow(b, &t);
	if (e)
		return e;
	e = fn(ctx, arg);
	fl_breaker_done(b, &t, e);
	return e;
}

enum fl_breaker_state fl_breaker_state(fl_breaker *b)
{
	change ch = {0};
	fl__mutex_lock(&b->mu);
	refresh(b, fl_now(), &ch);
	enum fl_breaker_state s = b->state;
	fl__mutex_unlock(&b->mu);
	announce(b, &ch);
	return s;
}

fl_breaker_counters fl_breaker_counters_get(fl_breaker *b)
{
	fl__mutex_lock(&b->mu);
	fl_breaker_counters c = b->c;
	fl__mutex_unlock(&b->mu);
	return c;
}

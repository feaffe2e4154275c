/*
 * eval.c - deciding whether a point fires, and running its action.
 *
 * Decision: for each armed plan acting on an evaluation (registry.c finds
 * them), the point's evaluation counter gives a 1-based index k; terms are
 * tried left to right, as in FreeBSD's fail(9): a term whose action does
 * not apply at this kind of site, whose selectors (@N..M, every, items,
 * windows) exclude this evaluation, whose probability draw misses, or whose
 * count is used up passes to the next term; the first remaining term fires.
 *
 * Reproducibility: random draws are not taken from a shared generator. Each
 * is a pure function of (seed, stream, index, draw number) - SplitMix64's
 * finaliser applied three times - where stream is the point name's hash
 * (or, for a peritem term, a hash of the name and item) and index is k (or
 * the item's attempt number). So the decision at evaluation k depends only
 * on (seed, name, k), whatever the thread interleaving, on any backend.
 * Count limits (cnt*) and time windows are the documented exceptions.
 *
 * Counting and deciding run under the registry's read side (one stripe,
 * see registry.c), so an evaluation that fires nothing takes no plan
 * reference. Actions run with no fault lock held and a reference on the
 * plan (taken before the stripe is dropped), so a disarm during a hang
 * cannot free what the hang waits on. Every wait
 * (sleep, hang, stuck, slow) is a receive on the plan's done channel, which
 * is never sent on and is closed by disarm: the receive ends at its
 * deadline, on ctx cancellation, or at disarm, whichever comes first - no
 * polling, and a scope guard's end wakes everything blocked in its plan.
 * A panic drops every reference before calling fl_panic, which unwinds.
 */
#include "fault_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_WAIT_NS 1e18

/* ---- injected errors --------------------------------------------------------------- */

static int info_format(const void *payload, char *buf, size_t cap)
{
	const fl_fault_info *i = payload;
	if (i->item >= 0)
		return snprintf(buf, cap, "injected %s at '%s' (eval %llu, item %lld)",
				fl_fault_action_name(i->action), i->point,
				(unsigned long long)i->eval, (long long)i->item);
	return snprintf(buf, cap, "injected %s at '%s' (eval %llu)",
			fl_fault_action_name(i->action), i->point, (unsigned long long)i->eval);
}

const fl_err_type fl_fault_info_type = {
	.name = "fault",
	.size = sizeof(fl_fault_info),
	.format = info_format,
};

/* ---- one evaluation ------------------------------------------------------------------ */

/* Everything about the evaluation in progress. */
struct run {
	fl_ctx *ctx;
	int kind;        /* FL__FAULT_* */
	int64_t item;    /* -1: none */
	int64_t work_ns; /* FL__FAULT_WORK */
	struct fl__fault_out *out;
	fl__fault_hit *hits; /* each holds a plan reference */
	size_t nhits;
};

/* The term chosen for one (plan, evaluation). */
struct pick {
	const fl__fault_hit *hit;
	const fl__fault_term *t;
	int term;
	uint64_t k;   /* the point's evaluation index */
	uint64_t idx; /* k, or the item's attempt for peritem */
	uint64_t stream;
};

static uint64_t draw(uint64_t seed, uint64_t stream, uint64_t idx, uint64_t j)
{
	return fl__fault_mix64(fl__fault_mix64(fl__fault_mix64(seed ^ stream) + idx) + j);
}

/* A uniform double in [0, 1). */
static double unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }

/* Which actions apply at each kind of site. */
#define A(x) (1u << FL_FAULT_ACT_##x)
#define TIMING (A(OFF) | A(PANIC) | A(SLEEP) | A(DELAY) | A(HANG) | A(STUCK) | A(YIELD) | A(PRINT))
static const unsigned APPLIES[] = {
	[FL__FAULT_POINT] = TIMING | A(ERROR) | A(OOM),
	[FL__FAULT_ITEM] = TIMING | A(ERROR) | A(OOM) | A(DROP) | A(DUP),
	[FL__FAULT_ALLOC] = TIMING | A(OOM),
	[FL__FAULT_SLOW] = TIMING | A(SLOW),
	[FL__FAULT_WORK] = TIMING | A(ERROR) | A(OOM) | A(SLOW),
};
#undef A

/* The index-based selectors: items(..), @N..M, every(N). */
static bool selected(const fl__fault_term *t, uint64_t idx, int64_t item)
{
	if ((t->mods & FL__FAULT_M_ITEMS) && (item < t->item_lo || item > t->item_hi))
		return false;
	if ((t->mods & FL__FAULT_M_AT) && (idx < t->at_lo || idx > t->at_hi))
		return false;
	return !(t->mods & FL__FAULT_M_EVERY) || idx % t->every == 0;
}

static bool in_window(const fl__fault_term *t, int64_t since_arm)
{
	if ((t->mods & FL__FAULT_M_AFTER) && since_arm < t->after_ns)
		return false;
	return !(t->mods & FL__FAULT_M_UNTIL) || since_arm < t->until_ns;
}

/* Forced mode (force.c): fires at evaluation k only when the set names
 * it, with the rule's first term of the named action that applies here. */
static bool forced(const struct run *r, const fl__fault_hit *hit, uint64_t k, struct pick *pk)
{
	int a = fl__fault_forced_action(hit->point, k);
	const fl__fault_rule *rule = hit->point->rule;
	for (size_t i = 0; a >= 0 && i < rule->nterms; i++) {
		const fl__fault_term *t = &rule->terms[i];
		if ((int)t->action == a && (APPLIES[r->kind] & (1u << t->action))) {
			*pk = (struct pick){hit, t, (int)i, k, k, hit->point->hash};
			return true;
		}
	}
	return false;
}

/* Tries the terms of the hit's rule in order; fills *pk for the first one
 * that fires. */
static bool decide(const struct run *r, const fl__fault_hit *hit, uint64_t k, uint64_t attempt,
		   struct pick *pk)
{
	fl__fault_point *pt = hit->point;
	const fl__fault_rule *rule = pt->rule;
	int64_t since = -1;
	if (atomic_load_explicit(&fl__fault_forcing, memory_order_relaxed))
		return forced(r, hit, k, pk);
	for (size_t i = 0; i < rule->nterms; i++) {
		const fl__fault_term *t = &rule->terms[i];
		bool per = (t->mods & FL__FAULT_M_PERITEM) != 0;
		uint64_t idx = per ? attempt : k;
		if (!(APPLIES[r->kind] & (1u << t->action)) || (per && r->item < 0) ||
		    !selected(t, idx, r->item))
			continue;
		if (t->mods & (FL__FAULT_M_AFTER | FL__FAULT_M_UNTIL)) {
			if (since < 0)
				since = fl_now() - hit->plan->armed_at_ns;
			if (!in_window(t, since))
				continue;
		}
		uint64_t stream =
			per ? fl__fault_mix64(pt->hash ^ fl__fault_mix64((uint64_t)r->item))
			    : pt->hash;
		if ((t->mods & FL__FAULT_M_PCT) && !t->pct_always &&
		    draw(hit->plan->seed, stream, idx, 4 * i) >= t->pct_threshold)
			continue;
		if ((t->mods & FL__FAULT_M_CNT) &&
		    atomic_fetch_add_explicit(&pt->term_fires[i], 1, memory_order_relaxed) >=
			    t->cnt)
			continue;
		*pk = (struct pick){hit, t, (int)i, k, idx, stream};
		return true;
	}
	return false;
}

/* Draws a duration from the term's distribution (deterministic per pick). */
static int64_t sample(const struct pick *pk)
{
	const fl__fault_dist *d = &pk->t->dist;
	uint64_t seed = pk->hit->plan->seed, j = 4 * (uint64_t)pk->term;
	double u1 = unit(draw(seed, pk->stream, pk->idx, j + 1));
	double u2 = unit(draw(seed, pk->stream, pk->idx, j + 2));
	double u3 = unit(draw(seed, pk->stream, pk->idx, j + 3));
	double a = (double)d->a_ns, v = a;
	switch (d->kind) {
	case FL__FAULT_UNIFORM: v = a + ((double)d->b_ns - a) * u1; break;
	case FL__FAULT_EXP: v = -a * log1p(-u1); break;
	case FL__FAULT_LOGNORMAL:
		v = a * exp(d->shape * sqrt(-2 * log1p(-u1)) * cos(2 * M_PI * u2));
		break;
	case FL__FAULT_PARETO: v = a / pow(1 - u1, 1 / d->shape); break;
	default: break;
	}
	v += (2 * u3 - 1) * (double)d->jitter_ns;
	return v <= 0 ? 0 : v >= MAX_WAIT_NS ? (int64_t)MAX_WAIT_NS : (int64_t)v;
}

/* An injected error for pk, wrapping cause (consumed). */
static fl_err *injected(const struct run *r, const struct pick *pk, enum fl_fault_action a,
			fl_err *cause)
{
	fl_fault_info info = {
		.action = a,
		.eval = pk->k,
		.item = r->item,
		.plan_id = pk->hit->plan->id,
	};
	snprintf(info.point, sizeof(info.point), "%s", pk->hit->point->name);
	return fl_err_typed(&fl_fault_info_type, &info, cause, "%s", "");
}

/* Waits on the plan's done channel until deadline_ns, ctx (may be NULL)
 * cancellation, or disarm. Adds the time waited to the point's delay and
 * returns an injected error if ctx was cancelled. */
static fl_err *wait_plan(const struct run *r, const struct pick *pk, fl_ctx *ctx,
			 int64_t deadline_ns)
{
	int64_t start = fl_now();
	int st = fl_chan_recv(pk->hit->plan->done, NULL, ctx, deadline_ns);
	fl__fault_add_delay(pk->hit->point, fl_now() - start);
	if (st != FL_CANCELED)
		return NULL; /* FL_TIMEDOUT, or FL_CLOSED: disarmed */
	return injected(r, pk, pk->t->action, fl_ctx_cause(ctx));
}

/* Spins on fl_now() for ns (a CPU-burning delay the stage cannot cut).
 * Under sim the clock stands still while a task runs, so there the task
 * sleeps instead, uncancellably: ns of virtual time pass for it. */
static void busy_wait(const struct pick *pk, int64_t ns)
{
	int64_t start = fl_now(), end = start + ns;
	if (strcmp(fl_sched_backend(), "sim") == 0)
		(void)fl_sleep_until(NULL, end);
	while (fl_now() < end)
		;
	fl__fault_add_delay(pk->hit->point, fl_now() - start);
}

/* Drops every reference and panics with the term's message. */
static void panic_now(const struct run *r, const struct pick *pk) __attribute__((noreturn));
static void panic_now(const struct run *r, const struct pick *pk)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "injected panic at '%s' (eval %llu): %s", pk->hit->point->name,
		 (unsigned long long)pk->k, pk->t->text ? pk->t->text : "fault");
	for (size_t i = 0; i < r->nhits; i++)
		fl__fault_plan_unref(r->hits[i].plan);
	fl_panic("%s", msg);
}

/* slow(x): a multiplier at SLOW sites, an extra wait at WORK sites. */
static fl_err *act_slow(const struct run *r, const struct pick *pk)
{
	if (r->kind == FL__FAULT_SLOW) {
		r->out->slow = pk->t->factor;
		return NULL;
	}
	double extra = (pk->t->factor - 1) * (double)r->work_ns;
	if (extra <= 0)
		return NULL;
	int64_t ns = extra >= MAX_WAIT_NS ? (int64_t)MAX_WAIT_NS : (int64_t)extra;
	return wait_plan(r, pk, r->ctx, fl_now() + ns);
}

/* The actions that only set an output or touch a counter. */
static void act_simple(const struct run *r, const struct pick *pk)
{
	switch (pk->t->action) {
	case FL_FAULT_ACT_DROP: r->out->verdict = FL_FAULT_DROP; break;
	case FL_FAULT_ACT_DUP: r->out->verdict = FL_FAULT_DUP; break;
	case FL_FAULT_ACT_OOM:
		if (r->kind == FL__FAULT_ALLOC)
			r->out->fail_alloc = true;
		else
			atomic_fetch_add_explicit(&pk->hit->point->oom_pending, 1,
						  memory_order_relaxed);
		break;
	case FL_FAULT_ACT_YIELD: fl_yield(); break;
	case FL_FAULT_ACT_PRINT:
		fprintf(stderr, "fault: %s #%llu: %s\n", pk->hit->point->name,
			(unsigned long long)pk->k, pk->t->text ? pk->t->text : "hit");
		break;
	default: /* off */ break;
	}
}

/* Records the fire and runs its action. */
static fl_err *fire(const struct run *r, const struct pick *pk)
{
	const fl__fault_term *t = pk->t;
	int64_t d = t->action == FL_FAULT_ACT_SLEEP ? sample(pk) : t->dist.a_ns;
	fl__fault_record(pk->hit->plan, pk->hit->point, t->action, pk->k, r->item, pk->term, d);
	switch (t->action) {
	case FL_FAULT_ACT_ERROR: return injected(r, pk, FL_FAULT_ACT_ERROR, fl_err_ref(t->err));
	case FL_FAULT_ACT_PANIC: panic_now(r, pk);
	case FL_FAULT_ACT_SLEEP: return wait_plan(r, pk, r->ctx, fl_now() + d);
	case FL_FAULT_ACT_HANG: return wait_plan(r, pk, r->ctx, FL_FOREVER);
	case FL_FAULT_ACT_STUCK: return wait_plan(r, pk, NULL, fl_now() + d);
	case FL_FAULT_ACT_DELAY: busy_wait(pk, d); return NULL;
	case FL_FAULT_ACT_SLOW: return act_slow(r, pk);
	default: act_simple(r, pk); return NULL;
	}
}

/* Takes one pending oom (fired earlier at a non-alloc site of this name). */
static bool take_pending_oom(fl__fault_point *pt)
{
	uint64_t n = atomic_load_explicit(&pt->oom_pending, memory_order_relaxed);
	while (n > 0)
		if (atomic_compare_exchange_weak_explicit(&pt->oom_pending, &n, n - 1,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	return false;
}

/* Counts and decides one evaluation of the point under one plan: true when
 * a term fires (*pk says which). Runs under the registry's read side (or,
 * after an earlier plan's action, outside it with a plan reference), so it
 * must not yield or block: atomics, the item lock (a leaf) and the clock. */
static bool prepare(const struct run *r, const fl__fault_hit *hit, struct pick *pk)
{
	fl__fault_point *pt = hit->point;
	uint64_t k = atomic_fetch_add_explicit(&pt->evals, 1, memory_order_relaxed) + 1;
	if (r->kind == FL__FAULT_ALLOC && take_pending_oom(pt)) {
		r->out->fail_alloc = true;
		return false;
	}
	uint64_t attempt = 0;
	if (pt->rule->peritem && r->item >= 0)
		attempt = fl__fault_point_item_next(pt, r->item);
	return decide(r, hit, k, attempt, pk);
}

/* True once an earlier plan's action settled this evaluation. */
static bool settled(const struct fl__fault_out *o)
{
	return o->verdict != FL_FAULT_KEEP || o->fail_alloc || o->slow != 1.0;
}

/*
 * Most matched evaluations fire nothing, so the plans are counted and
 * decided under the registry stripe collect returns with, and only when a
 * term fires are references taken - on the firing plan and every later one,
 * which may be evaluated after its action, outside the lock. An evaluation
 * that fires nothing thus writes no shared line but the points' counters
 * (and, for peritem terms, item maps).
 */
fl_err *fl__fault_eval(fl_fault_site *site, fl_ctx *ctx, int kind, int64_t item, int64_t work_ns,
		       struct fl__fault_out *out)
{
	struct fl__fault_out local = {FL_FAULT_KEEP, false, 1.0};
	fl__fault_hit hits[FL__FAULT_MAX_HITS];
	struct run r = {
		.ctx = ctx,
		.kind = kind,
		.item = item < 0 ? -1 : item,
		.work_ns = work_ns,
		.out = out ? out : &local,
	};
	int stripe;
	fl__fault_env_lazy(site->name); /* FAULTLINE_FAULTS, once per process */
	size_t n = fl__fault_collect(site, ctx, hits, &stripe);
	bool locked = true;
	fl_err *err = NULL;
	struct pick pk;
	for (size_t i = 0; i < n && !err && !settled(r.out); i++) {
		if (!prepare(&r, &hits[i], &pk))
			continue;
		if (locked) { /* the first fire: reference this plan and the later ones */
			r.hits = &hits[i];
			r.nhits = n - i;
			for (size_t j = 0; j < r.nhits; j++)
				fl__fault_plan_ref(r.hits[j].plan);
			fl__fault_unlock(stripe); /* the index collect locked, kept in a local */
			locked = false;
		}
		err = fire(&r, &pk);
	}
	if (locked) {
		fl__fault_unlock(stripe);
		return NULL;
	}
	for (size_t j = 0; j < r.nhits; j++)
		fl__fault_plan_unref(r.hits[j].plan);
	return err;
}

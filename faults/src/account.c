/*
 * account.c - per-point state and counts, and each plan's fire log.
 *
 * Problem: the scenarios layer turns fault activity into report entries (a
 * timeline and counts), but faults/ must not depend on reports. So this
 * file keeps plain data and hands out snapshots through foreach calls
 * (the per-point statistics are read back by stats.c).
 *
 * Per (plan, point): evaluation and per-action fire counters and the total
 * injected wait, all atomics bumped without a lock (the values are
 * statistics; a snapshot may be a few increments stale but never torn).
 * Per-item attempt counters (for `peritem`) live in a small open-addressing
 * map under the point's item_mu, taken only by points whose rule uses
 * peritem.
 *
 * Per plan: a ring of FL_FAULT_LOG_CAP fire events under log_mu. When full
 * the oldest entry is overwritten; log_total - FL_FAULT_LOG_CAP is the
 * overflow count. Fires are far rarer than evaluations and each one is
 * followed by an action at least as costly, so a lock here is cheap.
 * Callbacks always run on a copy, without any lock held.
 *
 * The process-wide observer (fl_fault_observe) is a function and argument
 * under a read-write lock: a fire reads the `watching` flag (one relaxed
 * load when nobody watches) and calls the observer under the read side;
 * replacing it takes the write side, so it returns only after every call
 * of the old one has. fn runs without any of the locks above.
 */
#include "fault_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

fl__fault_point *fl__fault_point_new(const char *name, uint64_t hash, const fl__fault_rule *rule)
{
	fl__fault_point *pt = fl__calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	pt->term_fires = fl__calloc(rule->nterms, sizeof(*pt->term_fires));
	if (!pt->term_fires) {
		free(pt);
		return NULL;
	}
	FL_ASSERT(pthread_mutex_init(&pt->item_mu, NULL) == 0);
	pt->name = name;
	pt->hash = hash;
	pt->rule = rule;
	FL_BENIGN_RACE_SIZED(&pt->evals,
			     offsetof(fl__fault_point, term_fires) -
				     offsetof(fl__fault_point, evals),
			     "atomic statistics counters");
	FL_BENIGN_RACE_SIZED(pt->term_fires, rule->nterms * sizeof(*pt->term_fires),
			     "atomic per-term fire counters");
	return pt;
}

void fl__fault_point_free(fl__fault_point *pt)
{
	if (!pt)
		return;
	FL_ASSERT(pthread_mutex_destroy(&pt->item_mu) == 0);
	free(pt->item_keys);
	free(pt->item_counts);
	free(pt->term_fires);
	free(pt);
}

/* ---- per-item attempts ---------------------------------------------------------- */

/* The slot of key in the map (its own, or the empty one to fill). */
static size_t item_slot(const fl__fault_point *pt, int64_t key)
{
	size_t mask = pt->item_cap - 1;
	size_t i = (size_t)fl__fault_mix64((uint64_t)key) & mask;
	while (pt->item_keys[i] != -1 && pt->item_keys[i] != key)
		i = (i + 1) & mask;
	return i;
}

/* Doubles the map (or creates it). False when out of memory. */
static bool item_grow(fl__fault_point *pt)
{
	size_t ncap = pt->item_cap ? pt->item_cap * 2 : 64;
	int64_t *keys = fl__malloc(ncap * sizeof(*keys));
	uint64_t *counts = fl__malloc(ncap * sizeof(*counts));
	if (!keys || !counts) {
		free(keys);
		free(counts);
		return false;
	}
	memset(keys, 0xff, ncap * sizeof(*keys)); /* every key -1 */
	int64_t *old_keys = pt->item_keys;
	uint64_t *old_counts = pt->item_counts;
	size_t old_cap = pt->item_cap;
	pt->item_keys = keys;
	pt->item_counts = counts;
	pt->item_cap = ncap;
	for (size_t i = 0; i < old_cap; i++) {
		if (old_keys[i] == -1)
			continue;
		size_t j = item_slot(pt, old_keys[i]);
		pt->item_keys[j] = old_keys[i];
		pt->item_counts[j] = old_counts[i];
	}
	free(old_keys);
	free(old_counts);
	return true;
}

uint64_t fl__fault_point_item_next(fl__fault_point *pt, int64_t item)
{
	uint64_t n = 0; /* out of memory: attempt 0 matches no @ selector */
	FL_LOCK(&pt->item_mu);
	if ((pt->item_n + 1) * 2 <= pt->item_cap || item_grow(pt)) {
		size_t i = item_slot(pt, item);
		if (pt->item_keys[i] == -1) {
			pt->item_keys[i] = item;
			pt->item_counts[i] = 0;
			pt->item_n++;
		}
		n = ++pt->item_counts[i];
	} else {
		fl__alloc_absorbed();
	}
	FL_UNLOCK(&pt->item_mu);
	return n;
}

/* ---- counts ---------------------------------------------------------------------- */

void fl__fault_add_delay(fl__fault_point *pt, int64_t ns)
{
	if (ns > 0)
		atomic_fetch_add_explicit(&pt->delay_ns, ns, memory_order_relaxed);
}

void fl__fault_point_snapshot(const fl__fault_point *pt, fl_fault_point_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->point = pt->name;
	out->evals = atomic_load_explicit(&pt->evals, memory_order_relaxed);
	for (int a = 0; a < FL_FAULT_NACTIONS; a++) {
		out->fires[a] = atomic_load_explicit(&pt->fires[a], memory_order_relaxed);
		out->fires_total += out->fires[a];
	}
	out->delay_ns = atomic_load_explicit(&pt->delay_ns, memory_order_relaxed);
}

/* ---- the fire log ------------------------------------------------------------------ */

fl_err *fl__fault_log_init(fl_fault_plan *plan)
{
	plan->log = fl__calloc(FL_FAULT_LOG_CAP, sizeof(*plan->log));
	if (!plan->log)
		return FL_ERR_NOMEM;
	FL_ASSERT(pthread_mutex_init(&plan->log_mu, NULL) == 0);
	plan->log_total = 0;
	return NULL;
}

void fl__fault_log_destroy(fl_fault_plan *plan)
{
	FL_ASSERT(pthread_mutex_destroy(&plan->log_mu) == 0);
	free(plan->log);
}

char *fl_fault_event_describe(const fl_fault_event *ev, char *buf, size_t cap)
{
	const char *name = fl_fault_action_name(ev->action);
	double d = (double)ev->delay_ns;
	if (ev->delay_ns <= 0)
		snprintf(buf, cap, "%s", name);
	else if (d < 1e3)
		snprintf(buf, cap, "%s %.0fns", name, d);
	else if (d < 1e6)
		snprintf(buf, cap, "%s %.3gus", name, d / 1e3);
	else if (d < 1e9)
		snprintf(buf, cap, "%s %.3gms", name, d / 1e6);
	else
		snprintf(buf, cap, "%s %.3gs", name, d / 1e9);
	return buf;
}

static pthread_rwlock_t observer_lock = PTHREAD_RWLOCK_INITIALIZER;
static void (*observer_fn)(const fl_fault_event *ev, void *arg);
static void *observer_arg;
static atomic_bool watching;

void fl_fault_observe(void (*fn)(const fl_fault_event *ev, void *arg), void *arg)
{
	FL_ASSERT(pthread_rwlock_wrlock(&observer_lock) == 0);
	observer_fn = fn;
	observer_arg = arg;
	atomic_store_explicit(&watching, fn != NULL, memory_order_relaxed);
	FL_ASSERT(pthread_rwlock_unlock(&observer_lock) == 0);
}

static void observe(const fl_fault_event *ev)
{
	if (!atomic_load_explicit(&watching, memory_order_relaxed))
		return;
	FL_ASSERT(pthread_rwlock_rdlock(&observer_lock) == 0);
	if (observer_fn)
		observer_fn(ev, observer_arg);
	FL_ASSERT(pthread_rwlock_unlock(&observer_lock) == 0);
}

void fl__fault_record(fl_fault_plan *plan, fl__fault_point *pt, enum fl_fault_action a,
		      uint64_t eval, int64_t item, int term, int64_t delay_ns)
{
	atomic_fetch_add_explicit(&pt->fires[a], 1, memory_order_relaxed);
	int64_t now = fl_now();
	fl_fault_event ev = {
		.t_ns = now,
		.since_arm_ns = now - plan->armed_at_ns,
		.point = pt->name,
		.action = a,
		.eval = eval,
		.item = item,
		.term = term,
		.delay_ns = delay_ns,
	};
	FL_LOCK(&plan->log_mu);
	plan->log[plan->log_total % FL_FAULT_LOG_CAP] = ev;
	plan->log_total++;
	FL_UNLOCK(&plan->log_mu);
	observe(&ev);
}

void fl_fault_log_foreach(const fl_fault_plan *plan,
			  void (*fn)(const fl_fault_event *ev, void *arg), void *arg)
{
	fl_fault_plan *p = (fl_fault_plan *)plan; /* the lock is not logically state */
	fl_fault_event *copy = fl__malloc(FL_FAULT_LOG_CAP * sizeof(*copy));
	if (!copy)
		return;
	FL_LOCK(&p->log_mu);
	uint64_t total = p->log_total;
	size_t n = total < FL_FAULT_LOG_CAP ? (size_t)total : FL_FAULT_LOG_CAP;
	uint64_t start = total - n;
	for (size_t i = 0; i < n; i++)
		copy[i] = p->log[(start + i) % FL_FAULT_LOG_CAP];
	FL_UNLOCK(&p->log_mu);
	for (size_t i = 0; i < n; i++)
		fn(&copy[i], arg);
	free(copy);
}

uint64_t fl_fault_log_overflows(const fl_fault_plan *plan)
{
	fl_fault_plan *p = (fl_fault_plan *)plan;
	FL_LOCK(&p->log_mu);
	uint64_t total = p->log_total;
	FL_UNLOCK(&p->log_mu);
	return total > FL_FAULT_LOG_CAP ? total - FL_FAULT_LOG_CAP : 0;
}

/*
 * fault_log.c - every injected fault of a run, for its report.
 *
 * Problem: a report said "faults injected 0" while the plans had fired
 * hundreds of times, because only the runner's --faults plan was read,
 * and only for a total. Scenarios arm plans of their own (a job file's
 * `faults =`, chaos_1pct's per-iteration plans, a user's fl_fault_arm),
 * and those fires were never seen.
 *
 * So the runner watches the fault library itself (fl_fault_observe: every
 * fire of every plan) while the scenario runs. Fires come from any task on
 * any thread, and the result belongs to the runner's thread, so they go
 * into a log of our own under a mutex and move into the result once the
 * observer is removed (which waits for calls in flight). The log keeps
 * the first FL_SCENARIO_MAX_FAULTS events and counts the rest; growing it
 * may fail for want of memory, and then the event is counted, not kept.
 * What the log holds is kept by the result, not leaked: the heap-growth
 * samples (growth.c) leave its bytes out.
 */
#include "scn_internal.h"

#include <fl/fault.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

/* Appends to an array of events; false when it cannot grow. */
static bool append(fl_scenario_fault **v, size_t *n, size_t *cap, int64_t at_ns, const char *point,
		   const char *action, uint64_t eval)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		if (ncap > FL_SCENARIO_MAX_FAULTS)
			ncap = FL_SCENARIO_MAX_FAULTS;
		fl_scenario_fault *nv = fl__realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			return false;
		*v = nv;
		*cap = ncap;
	}
	fl_scenario_fault *f = &(*v)[(*n)++];
	f->at_ns = at_ns;
	snprintf(f->point, sizeof(f->point), "%s", point);
	snprintf(f->action, sizeof(f->action), "%s", action);
	f->eval = eval;
	return true;
}

/* The watched log's capacity in bytes, for the growth samples. */
static _Atomic size_t live_bytes;

size_t fl__scn_faults_bytes(void)
{
	return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

static void on_fire(const fl_fault_event *ev, void *arg)
{
	fl__scn_fault_log *log = arg;
	char action[32];
	fl_fault_event_describe(ev, action, sizeof(action));
	pthread_mutex_lock(&log->mu);
	if (log->n == FL_SCENARIO_MAX_FAULTS ||
	    !append(&log->ev, &log->n, &log->cap, ev->t_ns - log->start_ns, ev->point, action,
		    ev->eval))
		log->unlogged++;
	atomic_store_explicit(&live_bytes, log->cap * sizeof(*log->ev), memory_order_relaxed);
	pthread_mutex_unlock(&log->mu);
}

void fl__scn_faults_watch(fl__scn_fault_log *log, int64_t start_ns)
{
	memset(log, 0, sizeof(*log));
	pthread_mutex_init(&log->mu, NULL);
	log->start_ns = start_ns;
	fl_fault_observe(on_fire, log);
}

size_t fl__scn_faults_unwatch(fl__scn_fault_log *log, fl_scenario_result *r)
{
	fl_fault_observe(NULL, NULL); /* returns once no on_fire runs */
	atomic_store_explicit(&live_bytes, 0, memory_order_relaxed);
	free(r->faults);
	r->faults = log->ev;
	r->nfaults = log->n;
	r->faults_unlogged = log->unlogged;
	pthread_mutex_destroy(&log->mu);
	return log->cap * sizeof(*log->ev);
}

bool fl__scn_fault_add(fl_scenario_result *r, size_t *cap, int64_t at_ns, const char *point,
		       const char *action)
{
	if (r->nfaults == FL_SCENARIO_MAX_FAULTS) {
		r->faults_unlogged++;
		return true;
	}
	return append(&r->faults, &r->nfaults, cap, at_ns, point, action, 0);
}

/*
 * stats.c - the read side of the accounting: per-point statistics of a plan.
 *
 * Problem: a snapshot of a plan's points needs both the registry (a plan's
 * point list grows under the registry's write side, so it is read under a
 * stripe) and the accounting (each point's atomic counters). Kept in this
 * file above account.c and registry.c, so that neither of those calls the
 * other's read side: registry.c creates and frees point states and logs
 * through account.c, and account.c calls nothing in registry.c.
 *
 * Data: none of its own. A snapshot copies every point's counters, under
 * this thread's registry stripe (fl__fault_lock), into a malloc'd array;
 * callbacks run on that copy, without any lock held. Lock order: one
 * registry stripe only; the counters are atomics read without a lock.
 */
#include "fault_internal.h"

#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

/* Snapshots every point of p into a malloc'd array (*out); returns its
 * length (0 and NULL when there are none or memory ran out). */
static size_t plan_snapshot(const fl_fault_plan *p, fl_fault_point_stats **out)
{
	int s = fl__fault_lock(); /* points grow under the write side */
	size_t n = p->npoints;
	*out = n ? fl__calloc(n, sizeof(**out)) : NULL;
	if (!*out)
		n = 0;
	for (size_t i = 0; i < n; i++)
		fl__fault_point_snapshot(p->points[i], &(*out)[i]);
	fl__fault_unlock(s);
	return n;
}

void fl_fault_stats_foreach(const fl_fault_plan *plan,
			    void (*fn)(const fl_fault_point_stats *st, void *arg), void *arg)
{
	fl_fault_point_stats *all;
	size_t n = plan_snapshot(plan, &all);
	for (size_t i = 0; i < n; i++)
		fn(&all[i], arg);
	free(all);
}

bool fl_fault_stats_get(const fl_fault_plan *plan, const char *point, fl_fault_point_stats *out)
{
	fl_fault_point_stats *all;
	size_t n = plan_snapshot(plan, &all);
	bool found = false;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n && !found; i++) {
		if (strcmp(all[i].point, point) == 0) {
			*out = all[i];
			found = true;
		}
	}
	free(all);
	return found;
}

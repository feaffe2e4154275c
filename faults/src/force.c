/*
 * force.c - forced decisions: replaying the fault firings a schedule file
 * lists instead of drawing them.
 *
 * Problem: a run's firings follow from the plan's seed and each point's
 * evaluation counter, so a shrunk run (fewer firings than the seed draws)
 * cannot be had from any seed. fl_fault_force installs a set of (point,
 * evaluation index, action); while it is installed, every armed plan's
 * decision at evaluation k of point P is "is (P, k) in the set", and the
 * term that fires is the rule's first one with that action which applies at
 * the site; probabilities, selectors, windows and counts are not consulted.
 * The normal path reads one flag (eval.c's decide, past the fast path).
 */
#include "fault_internal.h"

#include <stdlib.h>
#include <string.h>

static struct {
	fl_fault_forced *set; /* owned copies of the names */
	uint64_t *hash;
	size_t n;
} F;

_Atomic bool fl__fault_forcing;

void fl_fault_force_clear(void)
{
	atomic_store_explicit(&fl__fault_forcing, false, memory_order_relaxed);
	for (size_t i = 0; i < F.n; i++)
		free((char *)F.set[i].point);
	free(F.set);
	free(F.hash);
	F.set = NULL, F.hash = NULL, F.n = 0;
}

fl_err *fl_fault_force(const fl_fault_forced *fires, size_t n)
{
	fl_fault_force_clear();
	F.set = calloc(n ? n : 1, sizeof(*F.set));
	F.hash = calloc(n ? n : 1, sizeof(*F.hash));
	if (!F.set || !F.hash) {
		fl_fault_force_clear();
		return FL_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)fires[i].action >= FL_FAULT_NACTIONS) {
			fl_fault_force_clear();
			return fl_err_wrap(FL_ERR_INVAL, "forced fire %zu: action %d is not one", i,
					   (int)fires[i].action);
		}
		F.set[i] = fires[i];
		F.set[i].point = strdup(fires[i].point);
		F.hash[i] = fl__fault_hash(fires[i].point);
		F.n = i + 1;
		if (!F.set[i].point) {
			fl_fault_force_clear();
			return FL_ERR_NOMEM;
		}
	}
	atomic_store_explicit(&fl__fault_forcing, true, memory_order_relaxed);
	return NULL;
}

int fl__fault_forced_action(const fl__fault_point *pt, uint64_t k)
{
	for (size_t i = 0; i < F.n; i++)
		if (F.hash[i] == pt->hash && F.set[i].eval == k &&
		    strcmp(F.set[i].point, pt->name) == 0)
			return (int)F.set[i].action;
	return -1;
}

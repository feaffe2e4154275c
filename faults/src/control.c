/*
 * control.c - the scoped guard (the environment's plane is env.c, the
 * FIFO's fifo.c).
 *
 * The guard is arm-on-begin, disarm-on-end in caller storage, for tests and
 * scenarios that scope a plan to one block (and usually one context).
 */
#include "fault_internal.h"

fl_err *fl_fault_guard_begin(fl_fault_guard *g, const char *text, uint64_t seed, fl_ctx *scope)
{
	g->plan = NULL;
	if (scope)
		return fl_fault_arm_scoped(text, seed, scope, &g->plan);
	return fl_fault_arm(text, seed, &g->plan);
}

void fl_fault_guard_end(fl_fault_guard *g)
{
	fl_fault_plan_free(g->plan);
	g->plan = NULL;
}

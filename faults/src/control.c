/*
 * control.c - the environment control plane and the scoped guard.
 *
 * FAULTLINE_FAULTS holds plan text and FAULTLINE_SEED its seed; a program
 * calls fl_fault_init_from_env() once at start. Parse errors come back as
 * errors naming the variable, so the caller can print them and exit rather
 * than run a chaos test with a plan silently ignored.
 *
 * The guard is arm-on-begin, disarm-on-end in caller storage, for tests and
 * scenarios that scope a plan to one block (and usually one context).
 */
#include "fault_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

/* Parses FAULTLINE_SEED (decimal or 0x-hex); 0 when unset or empty. */
static fl_err *env_seed(uint64_t *seed)
{
	const char *s = getenv("FAULTLINE_SEED");
	*seed = 0;
	if (!s || !*s)
		return NULL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || !isdigit((unsigned char)*s))
		return fl_err_wrap(FL_ERR_INVAL, "FAULTLINE_SEED: expected an unsigned "
				   "decimal or 0x-hex number, got '%s'", s);
	*seed = v;
	return NULL;
}

fl_err *fl_fault_init_from_env(fl_fault_plan **out)
{
	if (out)
		*out = NULL;
	const char *text = getenv("FAULTLINE_FAULTS");
	if (!text || !*text)
		return NULL;
	uint64_t seed;
	fl_err *e = env_seed(&seed);
	if (e)
		return e;
	fl_fault_plan *p;
	e = fl_fault_arm(text, seed, &p);
	if (e)
		return fl_err_wrap(e, "FAULTLINE_FAULTS");
	if (out)
		*out = p;
	return NULL; /* without out, the plan stays armed for the process */
}

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

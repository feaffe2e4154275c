/*
 * env.c - the environment control plane: FAULTLINE_FAULTS and FAULTLINE_SEED,
 * armed by fl_fault_init_from_env or, in a program that never calls it, by
 * the first fault point the process evaluates.
 *
 * Problem: a program with fault points, run with FAULTLINE_FAULTS set,
 * expects the plan to act whether or not its main called
 * fl_fault_init_from_env. A plan that is ignored, or that does not parse,
 * must never be silent: a chaos test that ran without its faults passes for
 * the wrong reason.
 *
 * Design: registry.c keeps the fast path's "look" bit set until this file
 * calls fl__fault_env_settled, so the first evaluation of any point reaches
 * fl__fault_eval, which calls fl__fault_env_lazy before it reads the
 * registry. env_state goes PENDING -> SETTLED once, under env_mu; after
 * that the lazy check is one acquire load. The lazy path:
 *   - variable unset or empty, or fl_fault_env_ignore called: nothing;
 *   - the plan parses: armed process-wide, its handle kept here (env_plan);
 *     a later fl_fault_init_from_env hands that handle over rather than
 *     arming a twin, and once a caller holds the handle (env_handed) a
 *     call without out (the scenario runner's) arms nothing more;
 *   - it does not parse (or FAULTLINE_SEED is bad): one stderr line naming
 *     the variable, the error and the point, then _Exit(2), the project's
 *     status for bad input. Not "carry on unarmed": that is the silent run
 *     this file exists to prevent. Not abort(): bad input is not a crash.
 *     _Exit, not exit: the point may run on any worker thread while others
 *     run, and atexit handlers must not race them.
 * At exit (a handler a constructor registers only when the variable is set
 * at start), stderr gets a line for a plan that was set but never armed (no
 * point evaluated and no init call), and one for each rule of env_plan that
 * matched no point the process evaluated (a misspelt point name). A process
 * that forked says nothing of a plan it never armed itself: its children
 * (the faultline runner's isolated scenarios) may well have armed it.
 *
 * Lock order: env_mu, then the registry's write side (fl_fault_arm,
 * fl__fault_env_settled), then the error-name lock (parsing). The caller of
 * fl__fault_env_lazy holds no fault lock.
 */
#include "fault_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "fl_alloc_internal.h"

enum { ENV_PENDING, ENV_SETTLED };

static pthread_mutex_t env_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int env_state;   /* ENV_*; written under env_mu */
static bool env_ignored;        /* env_mu: fl_fault_env_ignore was called */
static fl_fault_plan *env_plan; /* env_mu: armed for the process, not handed out */
static atomic_bool env_forked;  /* this process forked (pthread_atfork) */
static bool env_handed;         /* env_mu: a caller got a handle to the plan */

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
		return fl_err_wrap(FL_ERR_INVAL,
				   "FAULTLINE_SEED: expected an unsigned "
				   "decimal or 0x-hex number, got '%s'",
				   s);
	*seed = v;
	return NULL;
}

/* Arms the environment's plan into *out (NULL when the variable is unset). */
static fl_err *arm_env(fl_fault_plan **out)
{
	*out = NULL;
	const char *text = getenv("FAULTLINE_FAULTS");
	if (!text || !*text)
		return NULL;
	uint64_t seed;
	fl_err *e = env_seed(&seed);
	if (e)
		return e;
	e = fl_fault_arm(text, seed, out);
	return e ? fl_err_wrap(e, "FAULTLINE_FAULTS") : NULL;
}

/* Marks the environment looked at. Caller holds env_mu. */
static void settle(void)
{
	if (atomic_load_explicit(&env_state, memory_order_relaxed) == ENV_SETTLED)
		return;
	fl__fault_env_settled();
	atomic_store_explicit(&env_state, ENV_SETTLED, memory_order_release);
}

fl_err *fl_fault_init_from_env(fl_fault_plan **out)
{
	if (out)
		*out = NULL;
	FL_LOCK(&env_mu);
	fl_err *e = NULL;
	fl_fault_plan *p = env_plan;
	if (p && out) {
		env_plan = NULL; /* armed earlier: the caller owns it now */
		env_handed = true;
	} else if (!p && (out || !env_handed)) {
		e = arm_env(&p);
		if (p && out)
			env_handed = true;
		else if (p)
			env_plan = p; /* stays armed for the process */
	}
	settle();
	FL_UNLOCK(&env_mu);
	if (out && !e)
		*out = p;
	return e;
}

void fl_fault_env_ignore(void)
{
	FL_LOCK(&env_mu);
	env_ignored = true;
	fl_fault_plan *p = env_plan;
	env_plan = NULL;
	settle();
	FL_UNLOCK(&env_mu);
	fl_fault_plan_free(p);
}

/* The lazy path's answer to a plan that does not parse. */
static _Noreturn void env_fail(fl_err *e, const char *point)
{
	char msg[1024];
	fl_err_format(e, msg, sizeof(msg));
	fl_err_drop(e);
	fflush(stdout);
	fprintf(stderr,
		"faultline: %s (armed at the first fault point evaluated, '%s', since "
		"the program did not call fl_fault_init_from_env); exiting with status 2\n",
		msg, point);
	_Exit(2);
}

void fl__fault_env_lazy(const char *point)
{
	/* a hint: PENDING is re-checked under env_mu, and SETTLED is written
	 * once, after everything it publishes (Helgrind sees no atomics) */
	FL_BENIGN_RACE(&env_state, "double-checked: re-read under env_mu");
	if (atomic_load_explicit(&env_state, memory_order_acquire) == ENV_SETTLED)
		return;
	FL_LOCK(&env_mu);
	if (atomic_load_explicit(&env_state, memory_order_relaxed) == ENV_PENDING) {
		fl_fault_plan *p;
		fl_err *e = arm_env(&p);
		if (e)
			env_fail(e, point);
		env_plan = p;
		settle();
	}
	FL_UNLOCK(&env_mu);
}

/* ---- the report at exit ------------------------------------------------------------ */

/* Prints each rule of p that no evaluated point resolved to. */
static void report_unmatched(const fl_fault_plan *p)
{
	size_t n = p->spec.nrules;
	bool *hit = fl__calloc(n ? n : 1, sizeof(*hit));
	if (!hit)
		return;
	int s = fl__fault_lock(); /* a plan's points grow under the write side */
	for (size_t i = 0; i < p->npoints; i++)
		hit[p->points[i]->rule - p->spec.rules] = true;
	fl__fault_unlock(s);
	for (size_t r = 0; r < n; r++)
		if (!hit[r])
			fprintf(stderr,
				"faultline: FAULTLINE_FAULTS: rule '%s' matched none of the "
				"fault points this process evaluated\n",
				p->spec.rules[r].pattern);
	free(hit);
}

static void env_report(void)
{
	const char *text = getenv("FAULTLINE_FAULTS");
	if (!text || !*text || pthread_mutex_trylock(&env_mu) != 0)
		return; /* busy at exit: another thread is arming; say nothing wrong */
	if (!env_ignored && !atomic_load(&env_forked) &&
	    atomic_load_explicit(&env_state, memory_order_relaxed) == ENV_PENDING)
		fprintf(stderr, "faultline: FAULTLINE_FAULTS is set but was never armed: this "
				"process evaluated no fault point and did not call "
				"fl_fault_init_from_env\n");
	else if (env_plan)
		report_unmatched(env_plan);
	FL_UNLOCK(&env_mu);
}

static void env_fork_parent(void) { atomic_store(&env_forked, true); }

__attribute__((constructor)) static void env_watch(void)
{
	const char *text = getenv("FAULTLINE_FAULTS");
	if (text && *text) {
		atexit(env_report);
		(void)pthread_atfork(NULL, env_fork_parent, NULL);
	}
}

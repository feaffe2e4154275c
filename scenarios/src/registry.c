/*
 * registry.c - the scenarios a program registered, in registration order:
 * what the command line (fl/main.h) lists and runs. Users register from
 * constructors before main (FL_SCENARIO) or from any thread, the built-in
 * catalogue through the same fl_scenario_register (catalogue.c).
 *
 * The registry is an array of borrowed pointers grown by doubling, behind
 * one mutex initialised statically, so constructors may register before
 * anything else has run. A constructor cannot return an error, so
 * fl_scenario_define keeps the first few failures for
 * fl_scenario_registry_err, which the command line reads before anything
 * else; a program that reads the registry without asking gets them printed
 * to stderr on its first read. Nothing here is ever freed: the registry lives as long as the
 * program, like the scenarios it points at.
 */
#include <fl/scenario.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

#define KEPT_ERRS_MAX 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const fl_scenario **items;   /* lock */
static size_t nitems, cap;          /* lock */
static fl_err *kept[KEPT_ERRS_MAX]; /* lock: fl_scenario_define's failures */
static size_t nkept, nlost;         /* lock: kept, and the ones past the cap */
static bool reported;               /* lock: registry_err read, or printed */

static void lock_registry(void)
{
	if (pthread_mutex_lock(&lock) != 0)
		abort(); /* impossible with a default mutex: a broken invariant */
}

static void unlock_registry(void)
{
	if (pthread_mutex_unlock(&lock) != 0)
		abort();
}

/* Why name is not a scenario name, or NULL. */
static const char *bad_name(const char *name)
{
	if (!name || !name[0])
		return "is empty";
	if (strlen(name) >= FL_SCENARIO_NAME_MAX)
		return "is too long (at most 63 bytes)";
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return "may hold only a-z, 0-9 and _";
	return NULL;
}

/* Why a check list is not sane, or NULL; *at receives the bad index. */
static const char *bad_checks(const char *const *checks, size_t *at)
{
	for (size_t i = 0; checks && checks[i]; i++) {
		*at = i;
		if (!checks[i][0])
			return "is empty";
		if (strlen(checks[i]) >= FL_SCENARIO_NAME_MAX)
			return "is too long (at most 63 bytes)";
		for (size_t j = 0; j < i; j++)
			if (strcmp(checks[i], checks[j]) == 0)
				return "is declared twice";
	}
	return NULL;
}

/* FL_ERR_INVAL naming what is wrong with s, or NULL when it is valid. */
static fl_err *validate(const fl_scenario *s)
{
	const char *why = bad_name(s->name);
	const char *shown = s->name ? s->name : "(null)";
	if (why)
		return fl_err_wrap(FL_ERR_INVAL, "scenario '%.80s': name %s", shown, why);
	if (!s->run)
		return fl_err_wrap(FL_ERR_INVAL, "scenario '%s': run is NULL", shown);
	if (s->default_iterations < 0)
		return fl_err_wrap(FL_ERR_INVAL,
				   "scenario '%s': default_iterations is %d "
				   "(>= 1, or 0 for 1)",
				   shown, s->default_iterations);
	size_t at = 0;
	if ((why = bad_checks(s->checks, &at)))
		return fl_err_wrap(FL_ERR_INVAL, "scenario '%s': checks[%zu] %s", shown, at, why);
	for (size_t i = 0; s->stress_faults && s->stress_faults[i]; i++)
		if (!s->stress_faults[i][0])
			return fl_err_wrap(FL_ERR_INVAL,
					   "scenario '%s': stress_faults[%zu] is empty", shown, i);
	if (s->hang_ns < 0 || s->heap_tolerance < 0)
		return fl_err_wrap(FL_ERR_INVAL, "scenario '%s': %s is negative", shown,
				   s->hang_ns < 0 ? "hang_ns" : "heap_tolerance");
	return NULL;
}

static const fl_scenario *find_locked(const char *name)
{
	for (size_t i = 0; i < nitems; i++)
		if (strcmp(items[i]->name, name) == 0)
			return items[i];
	return NULL;
}

fl_err *fl_scenario_register(const fl_scenario *s)
{
	if (!s)
		return fl_err_wrap(FL_ERR_INVAL, "fl_scenario_register: NULL scenario");
	fl_err *err = validate(s);
	if (err)
		return err;
	lock_registry();
	const fl_scenario *old = find_locked(s->name);
	if (old && old != s) {
		err = fl_err_wrap(FL_ERR_INVAL,
				  "scenario '%s': name is already registered "
				  "(\"%s\")",
				  s->name, old->description ? old->description : "");
	} else if (!old && nitems == cap) {
		size_t ncap = cap ? cap * 2 : 64;
		const fl_scenario **grown = fl__realloc(items, ncap * sizeof(*grown));
		if (grown) {
			items = grown;
			cap = ncap;
		} else {
			err = fl_err_wrap(FL_ERR_NOMEM, "scenario '%s': registering", s->name);
		}
	}
	if (!err && !old)
		items[nitems++] = s;
	unlock_registry();
	return err;
}

/* The first read of a registry with failed registrations that nobody
 * asked fl_scenario_registry_err about prints them, once: a program that
 * reads the registry without fl_main still hears of them. Under lock. */
static void report_once_locked(void)
{
	if (reported || (nkept == 0 && nlost == 0))
		return;
	reported = true;
	for (size_t i = 0; i < nkept; i++) {
		fputs("faultline: a scenario failed to register: ", stderr);
		fl_err_print(stderr, kept[i]);
	}
	if (nlost)
		fprintf(stderr, "faultline: %zu more scenarios failed to register\n", nlost);
}

const fl_scenario *const *fl_scenario_catalogue(size_t *n)
{
	lock_registry();
	report_once_locked();
	*n = nitems;
	const fl_scenario *const *all = items;
	unlock_registry();
	return all;
}

const fl_scenario *fl_scenario_find(const char *name)
{
	if (!name)
		return NULL;
	lock_registry();
	report_once_locked();
	const fl_scenario *s = find_locked(name);
	unlock_registry();
	return s;
}

void fl_scenario_define(fl_scenario *s, const char *name, const char *description,
			const fl_scenario_options *o,
			fl_err *(*run)(const fl_scenario_params *p, fl_scenario_result *r))
{
	static const fl_scenario_options none;
	if (!o)
		o = &none;
	*s = (fl_scenario){.name = name,
			   .description = description ? description : "",
			   .checks = o->checks,
			   .default_iterations = o->iterations,
			   .run = run,
			   .data = o->data,
			   .stress_faults = o->stress_faults,
			   .hang_ns = o->hang_ns,
			   .heap_tolerance = o->heap_tolerance,
			   .labels = o->labels,
			   .explore_target = o->explore_target};
	fl_err *err = fl_scenario_register(s);
	if (!err)
		return;
	lock_registry();
	if (nkept < KEPT_ERRS_MAX) {
		kept[nkept++] = err;
		err = NULL;
	} else {
		nlost++;
	}
	unlock_registry();
	fl_err_drop(err);
}

fl_err *fl_scenario_registry_err(void)
{
	fl_err *all[KEPT_ERRS_MAX + 1];
	size_t n = 0;
	lock_registry();
	reported = true; /* the caller reports them */
	for (; n < nkept; n++)
		all[n] = fl_err_ref(kept[n]);
	size_t lost = nlost;
	unlock_registry();
	if (lost)
		all[n++] = fl_err_new("%zu more registrations failed", lost);
	if (n == 0)
		return NULL;
	return n == 1 ? all[0] : fl_err_join(all, n);
}

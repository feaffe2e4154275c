/*
 * registry.c - the users' loads: FL_LOAD registers each from a constructor,
 * fl_bench_load_register does it at run time, and the command line finds
 * them by name.
 *
 * The data: a growing array of borrowed pointers to the users' (static)
 * load definitions, in registration order, and the first registration
 * error met by a constructor (which has no one to return it to). One mutex
 * guards both; it is a static initialiser, so it works before main.
 *
 * A kept error is returned by every read (find, list) rather than once:
 * a duplicate or malformed FL_LOAD is a bug in the program, and a command
 * line that kept going after reporting it once would still run a registry
 * that is not what its author wrote.
 */
#include <fl/bench.h>

#include "fl_assert_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const fl_bench_user_load **loads; /* lock */
static size_t nloads, cap;               /* lock */
static fl_err *kept;                     /* lock: first constructor failure */

static bool name_ok(const char *n)
{
	if (!n || !*n)
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_'))
			return false;
	return true;
}

/* Under lock. */
static const fl_bench_user_load *find_locked(const char *name)
{
	for (size_t i = 0; i < nloads; i++)
		if (strcmp(loads[i]->name, name) == 0)
			return loads[i];
	return NULL;
}

/* Under lock. */
static fl_err *add_locked(const fl_bench_user_load *l)
{
	if (!l || !name_ok(l->name))
		return fl_err_wrap(FL_ERR_INVAL, "load name '%s': expected [a-z0-9_]+",
				   l && l->name ? l->name : "(null)");
	if (!l->serve)
		return fl_err_wrap(FL_ERR_INVAL, "load '%s': no serve function", l->name);
	if (find_locked(l->name))
		return fl_err_wrap(FL_ERR_INVAL, "load '%s' registered twice", l->name);
	if (nloads == cap) {
		size_t c = cap ? 2 * cap : 16;
		const fl_bench_user_load **v = realloc(loads, c * sizeof(*v));
		if (!v)
			return FL_ERR_NOMEM;
		loads = v;
		cap = c;
	}
	loads[nloads++] = l;
	return NULL;
}

fl_err *fl_bench_load_register(const fl_bench_user_load *l)
{
	FL_LOCK(&lock);
	fl_err *e = add_locked(l);
	FL_UNLOCK(&lock);
	return e;
}

void fl_bench_load_register_kept(const fl_bench_user_load *l)
{
	FL_LOCK(&lock);
	fl_err *e = add_locked(l);
	if (e && !kept)
		kept = fl_err_wrap(e, "FL_LOAD");
	else
		fl_err_drop(e);
	FL_UNLOCK(&lock);
}

fl_err *fl_bench_load_find(const char *name, const fl_bench_user_load **out)
{
	FL_LOCK(&lock);
	fl_err *e = kept ? fl_err_ref(kept) : NULL;
	const fl_bench_user_load *l = e ? NULL : find_locked(name ? name : "");
	if (!e && !l) {
		char known[512] = "";
		size_t used = 0;
		for (size_t i = 0; i < nloads && used + 1 < sizeof(known); i++) {
			int w = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
					 loads[i]->name);
			used += w > 0 ? (size_t)w : 0;
		}
		e = fl_err_wrap(FL_ERR_INVAL, "no load named '%s' (registered: %s)",
				name ? name : "", nloads ? known : "none");
	}
	FL_UNLOCK(&lock);
	if (!e)
		*out = l;
	return e;
}

fl_err *fl_bench_load_list(const fl_bench_user_load **out, size_t cap_out, size_t *n)
{
	FL_LOCK(&lock);
	fl_err *e = kept ? fl_err_ref(kept) : NULL;
	if (!e) {
		for (size_t i = 0; i < nloads && i < cap_out; i++)
			out[i] = loads[i];
		*n = nloads;
	}
	FL_UNLOCK(&lock);
	return e;
}

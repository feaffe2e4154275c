/*
 * alloc.c - the allocation-failure hook (fl/alloc.h).
 *
 * One countdown per process, here in the lowest library so that every
 * faultline library (each its own shared object) shares it. armed is the
 * fast path's flag (fl_alloc_internal.h reads it relaxed); left counts the
 * allocations still to go before the one that fails. The allocation that
 * takes left from 1 to 0 fails and disarms the hook, so exactly one fails
 * per arming even when threads race for it.
 *
 * absorbed counts the failures, injected or real, that a library turned
 * into a degraded result instead of an error (fl__alloc_absorbed), so a
 * run can say that out of memory changed it although nothing returned an
 * out-of-memory error.
 *
 * fl__alloc_arenas_init makes jemalloc's arenas up front
 * (alloc_internal.h says why).
 */
#include <fl/alloc.h>

#include "alloc_internal.h"
#include "fl_alloc_internal.h"
#include "fl_annotate_internal.h"

atomic_bool fl__alloc_armed = false;
static _Atomic uint64_t left;
static _Atomic uint64_t seen;
static _Atomic uint64_t failed;
static _Atomic uint64_t absorbed; /* since the start; never reset */

void fl_alloc_fail_after(uint64_t n)
{
	/* C11 atomics that Helgrind sees as plain accesses: the flag is a hint
	 * every allocation reads, the countdown a CAS loop */
	FL_BENIGN_RACE(&fl__alloc_armed, "atomic hint, read by every allocation");
	FL_BENIGN_RACE(&left, "atomic countdown (CAS)");
	FL_BENIGN_RACE(&seen, "atomic counter");
	FL_BENIGN_RACE(&failed, "atomic counter");
	atomic_store(&fl__alloc_armed, false);
	atomic_store(&seen, 0);
	atomic_store(&failed, 0);
	atomic_store(&left, n);
	if (n)
		atomic_store(&fl__alloc_armed, true);
}

uint64_t fl_alloc_count(void) { return atomic_load_explicit(&seen, memory_order_relaxed); }

uint64_t fl_alloc_failed(void) { return atomic_load_explicit(&failed, memory_order_relaxed); }

bool fl__alloc_fail_now(void)
{
	uint64_t l = atomic_load_explicit(&left, memory_order_relaxed);
	do {
		if (l == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&left, &l, l - 1, memory_order_relaxed,
							memory_order_relaxed));
	atomic_fetch_add_explicit(&seen, 1, memory_order_relaxed);
	if (l != 1)
		return false;
	atomic_store_explicit(&fl__alloc_armed, false, memory_order_relaxed);
	atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed);
	return true;
}

void fl__alloc_absorbed(void) { atomic_fetch_add_explicit(&absorbed, 1, memory_order_relaxed); }

uint64_t fl_alloc_absorbed(void) { return atomic_load_explicit(&absorbed, memory_order_relaxed); }

/* ---- jemalloc's arenas, made before any thread needs one ------------- */

int fl__alloc_arenas_init(unsigned *which, unsigned *total)
{
	static bool done;
	unsigned n = 0, cur = 0;
	size_t sz = sizeof(n);
	*which = *total = 0;
	if (!mallctl || done)
		return 0;
	if (mallctl("opt.narenas", &n, &sz, NULL, 0) != 0 ||
	    mallctl("thread.arena", &cur, &(size_t){sizeof(cur)}, NULL, 0) != 0)
		return 0; /* a jemalloc without these controls: nothing to do */
	*total = n;
	int rc = 0;
	/* Binding this thread to arena i makes it when it does not exist. */
	for (unsigned i = 0; i < n && !rc; i++)
		if ((rc = mallctl("thread.arena", NULL, NULL, &i, sizeof(i))) != 0)
			*which = i;
	(void)mallctl("thread.arena", NULL, NULL, &cur, sizeof(cur));
	done = rc == 0;
	return rc;
}

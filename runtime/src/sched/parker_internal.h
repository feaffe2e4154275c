/*
 * parker_internal.h - an OS thread's park token, with adaptive spin-then-sleep.
 *
 * Shared by the threads backend (every task's parker is its worker's) and
 * by foreign.c (adopted threads under either backend). A parker holds the
 * wake protocol's one token (sched_internal.h): unpark sets it, park consumes it.
 *
 * A park first spins on the token for a while, because the wake usually
 * comes from a thread that is running right now, and a futex sleep plus
 * wake-up costs 5-60 us on a VM. How long it spins adapts per parker: a
 * spin that got the token restores the full budget, one that had to sleep
 * anyway halves it (down to nothing, with a full probe every few parks),
 * so a thread whose wakes come late stops burning its core.
 *
 * Parkers must be type-stable: unpark may touch the mutex and condvar a
 * moment after the owner already took the token and moved on.
 */
#ifndef FL_PARKER_INTERNAL_H
#define FL_PARKER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync_internal.h"

typedef struct fl__parker {
	_Atomic int state; /* PARKER_EMPTY, _TOKEN or _SLEEPING (parker.c) */
	int spin_ns;       /* owner only: the current spin budget */
	int probe;         /* owner only: parks since the last probe */
	fl__mutex mu;      /* a sleeper waits on cv under mu */
	fl__cond cv;
} fl__parker;

/* Initialises p (once; parkers are reused, never destroyed). */
void fl__parker_init(fl__parker *p);
/* Sets the most any park spins, for every parker: 0 turns spinning off.
 * Call before parkers are used (the backend's init). */
void fl__parker_set_max_spin(int64_t spin_ns);
/* Owner only: waits for the token and consumes it (true), or returns false
 * once deadline_ns (FL_FOREVER: none) passed without one. */
bool fl__parker_park(fl__parker *p, int64_t deadline_ns);
/* Sets the token (the owner must not hold one) and wakes the owner. */
void fl__parker_unpark(fl__parker *p);

#endif

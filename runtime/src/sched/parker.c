/*
 * parker.c - an OS thread's park token, with adaptive spin-then-sleep.
 *
 * The state word is EMPTY, TOKEN or SLEEPING. unpark swaps in TOKEN and
 * takes the mutex to signal only if it swapped out SLEEPING, so a wake
 * that finds its owner spinning (or not yet parked) is one atomic swap.
 * park consumes a TOKEN with a CAS back to EMPTY; to sleep it takes the
 * mutex and moves EMPTY -> SLEEPING, so an unpark either came first (the
 * CAS fails: take the token) or sees SLEEPING and signals under the mutex,
 * after the sleeper is already waiting on the condvar. A timed-out sleeper
 * leaves with a CAS SLEEPING -> EMPTY; if that fails, a token just landed
 * and it takes it instead.
 *
 * The spin budget adapts to recent success: a spin that got the token
 * restores the full budget (max_spin), one that had to sleep anyway halves
 * it, down to nothing. A parker with no budget probes with a full spin
 * every PROBE_EVERY parks, so it can find its way back: two threads that
 * hand off to each other both sleep until one of them spins while the
 * other is awake to answer. At most one park per CPU spins at once (fewer
 * would make the two sides of a handoff, which overlap for a moment, put
 * each other to sleep). A short sleep is never counted as evidence for
 * spinning: with more runnable threads than cores a spinner takes the core
 * its waker needs. So a pair of threads handing off across two cores keep
 * spinning, and a thread whose wakes come late sleeps at once.
 *
 * Helgrind does not see atomics: unpark marks FL_HAPPENS_BEFORE on the
 * state word and every successful park FL_HAPPENS_AFTER, so the data a
 * waker wrote before its unpark is ordered before the woken thread's reads
 * even when no mutex was taken.
 */
#include "parker_internal.h"

#include <fl/task.h>

#include <errno.h>
#include <unistd.h>

#include "fl_annotate_internal.h"

#if defined(FL_VALGRIND)
#include <valgrind/valgrind.h>
#endif

enum { PARKER_EMPTY = 0, PARKER_TOKEN = 1, PARKER_SLEEPING = 2 };

#define SPIN_FLOOR_NS 1000 /* a budget below this is not worth a clock read */
#define PROBE_EVERY 8      /* a parker with no budget spins every N parks */

static int64_t max_spin_ns; /* set once by the backend's init */
static int max_spinners;    /* set once: one per CPU */
static atomic_int spinners; /* parks spinning now */

void fl__parker_set_max_spin(int64_t spin_ns)
{
#if defined(FL_VALGRIND)
	if (RUNNING_ON_VALGRIND)
		spin_ns = 0; /* valgrind runs one thread at a time: spinning only waits */
#endif
	max_spin_ns = spin_ns > 0 ? spin_ns : 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	max_spinners = ncpu > 1 ? (int)ncpu : 1;
}

void fl__parker_init(fl__parker *p)
{
	atomic_init(&p->state, PARKER_EMPTY);
	/* Helgrind sees the word's atomics as plain accesses; the data they
	 * order is covered by the HAPPENS annotations. */
	FL_BENIGN_RACE(&p->state, "parker state word: C11 atomics");
	p->spin_ns = (int)max_spin_ns;
	fl__mutex_init(&p->mu);
	fl__cond_init(&p->cv);
}

static bool take(fl__parker *p)
{
	int expect = PARKER_TOKEN;
	if (atomic_load_explicit(&p->state, memory_order_relaxed) != PARKER_TOKEN ||
	    !atomic_compare_exchange_strong_explicit(&p->state, &expect, PARKER_EMPTY,
						     memory_order_acquire, memory_order_relaxed))
		return false;
	FL_HAPPENS_AFTER(&p->state);
	return true;
}

/* Spins until the token arrives (true) or until `until` passes. */
static bool spin(fl__parker *p, int64_t until)
{
	do {
		for (int i = 0; i < 64; i++) {
			if (take(p))
				return true;
			fl__cpu_relax();
		}
	} while (fl__mono_ns() < until);
	return false;
}

bool fl__parker_park(fl__parker *p, int64_t deadline_ns)
{
	if (take(p))
		return true;
	bool spun = false;
	if (max_spin_ns > 0) {
		int64_t budget = p->spin_ns;
		if (budget == 0 && ++p->probe >= PROBE_EVERY) {
			p->probe = 0;
			budget = max_spin_ns;
		}
		if (budget > 0 &&
		    atomic_fetch_add_explicit(&spinners, 1, memory_order_relaxed) < max_spinners) {
			int64_t until = fl__mono_ns() + budget;
			bool got = spin(p, until < deadline_ns ? until : deadline_ns);
			atomic_fetch_sub_explicit(&spinners, 1, memory_order_relaxed);
			if (got) {
				p->spin_ns = (int)max_spin_ns;
				return true;
			}
			spun = true;
		} else if (budget > 0) {
			atomic_fetch_sub_explicit(&spinners, 1, memory_order_relaxed);
		}
	}
	bool got = true;
	fl__mutex_lock(&p->mu);
	int expect = PARKER_EMPTY;
	if (atomic_compare_exchange_strong_explicit(&p->state, &expect, PARKER_SLEEPING,
						    memory_order_acq_rel, memory_order_acquire)) {
		while (atomic_load_explicit(&p->state, memory_order_acquire) != PARKER_TOKEN) {
			if (deadline_ns == FL_FOREVER) {
				fl__cond_wait(&p->cv, &p->mu);
				continue;
			}
			if (fl__cond_wait_until(&p->cv, &p->mu, deadline_ns) != ETIMEDOUT)
				continue;
			expect = PARKER_SLEEPING;
			if (atomic_compare_exchange_strong_explicit(&p->state, &expect,
								    PARKER_EMPTY,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				got = false;
				break;
			}
		}
	}
	/* Else a token landed first (expect is TOKEN). */
	if (got) {
		atomic_store_explicit(&p->state, PARKER_EMPTY, memory_order_relaxed);
		FL_HAPPENS_AFTER(&p->state);
	}
	fl__mutex_unlock(&p->mu);
	if (spun) /* and slept anyway */
		p->spin_ns = p->spin_ns / 2 >= SPIN_FLOOR_NS ? p->spin_ns / 2 : 0;
	return got;
}

void fl__parker_unpark(fl__parker *p)
{
	FL_HAPPENS_BEFORE(&p->state);
	int old = atomic_exchange_explicit(&p->state, PARKER_TOKEN, memory_order_acq_rel);
	FL_ASSERT(old != PARKER_TOKEN); /* one token per wait (sched_internal.h) */
	if (old == PARKER_SLEEPING) {
		fl__mutex_lock(&p->mu);
		fl__cond_signal(&p->cv);
		fl__mutex_unlock(&p->mu);
	}
}

/*
 * fiber_idle.c - putting idle workers of the `fibers` backend to sleep,
 * and waking them.
 *
 * A worker with nothing to run (fibers.c: find_runnable) sleeps here on
 * its own condvar. One sleeper, the watcher, sleeps with a timeout: the
 * next timer (minus TIMER_SLACK_NS, then it spins), and while other
 * workers are busy a backoff (50 us doubling to 10 ms) after which it
 * checks for stale runnext slots. New work wakes a sleeper unless a worker
 * is spinning (fl__idle_wake, inline in fiber_internal.h); a timer that
 * became the earliest wakes the watcher (fl__fibers_kick_timers).
 *
 * Data: fl__idle, the worker set, with nsleeping/nspinning as atomics and
 * each worker's sleeping/woken flags and the watcher under fl__idle.mu.
 * Invariant: nsleeping == the number of workers with sleeping set.
 *
 * Lock order: fl__idle.mu is a leaf (taken under object locks by unpark).
 */
#define _GNU_SOURCE /* adaptive mutexes */
#include "fiber_internal.h"

#include <errno.h>

#include "sync_internal.h"

#define TIMER_SLACK_NS \
	FL_US(75) /* the watcher wakes this early, then spins:
				   * a timed sleep overshoots ~100 us here */
#define BACKOFF_MAX_NS FL_MS(10)

typedef fl__worker worker; /* local shorthand */

struct fl__idle fl__idle = {.mu = FL__MUTEX_INITIALIZER};

/* fl__idle.mu held; v is sleeping. */
static void wake_locked(worker *v)
{
	v->sleeping = false;
	v->woken = true;
	atomic_fetch_sub(&fl__idle.nsleeping, 1);
	fl__cond_signal(&v->cv);
}

void fl__idle_wake_one(void)
{
	fl__mutex_lock(&fl__idle.mu);
	worker *pick = NULL;
	for (int i = 0; i < fl__idle.n; i++) {
		worker *v = &fl__idle.w[i];
		if (!v->sleeping)
			continue;
		pick = v;
		if (v != fl__idle.watcher)
			break;
	}
	if (pick)
		wake_locked(pick);
	fl__mutex_unlock(&fl__idle.mu);
}

void fl__fibers_kick_timers(void)
{
	if (fl__idle_sleepers_sync() == 0)
		return; /* everyone runs: they check timers between fibers */
	fl__mutex_lock(&fl__idle.mu);
	if (fl__idle.watcher && fl__idle.watcher->sleeping) {
		wake_locked(fl__idle.watcher);
	} else {
		for (int i = 0; i < fl__idle.n; i++) {
			if (fl__idle.w[i].sleeping) {
				wake_locked(&fl__idle.w[i]);
				break;
			}
		}
	}
	fl__mutex_unlock(&fl__idle.mu);
}

bool fl__idle_work_visible(void)
{
	if (fl__gq_len() > 0)
		return true;
	for (int i = 0; i < fl__idle.n; i++)
		if (fl__runq_len(&fl__idle.w[i].q))
			return true;
	return false;
}

void fl__idle_sleep(worker *w)
{
	if (w->timer_spin) {
		/* The watcher woke TIMER_SLACK_NS before a timer: poll until it
		 * is due (find_runnable fires it), looking for work meanwhile. */
		int64_t next = fl__ftimer_next();
		if (next != FL_FOREVER && next - fl__mono_ns() <= TIMER_SLACK_NS) {
			for (int i = 0; i < 32; i++)
				fl__cpu_relax();
			return;
		}
		w->timer_spin = false;
	}
	fl__mutex_lock(&fl__idle.mu);
	w->sleeping = true;
	atomic_fetch_add(&fl__idle.nsleeping, 1); /* pairs with fl__idle_sleepers_sync */
	int64_t next = fl__ftimer_next();
	int64_t now = fl__mono_ns();
	if (fl__idle_work_visible() || next <= now) {
		w->sleeping = false;
		atomic_fetch_sub(&fl__idle.nsleeping, 1);
		fl__mutex_unlock(&fl__idle.mu);
		return;
	}
	int64_t until = FL_FOREVER;
	bool watching = false, for_timer = false;
	if (!fl__idle.watcher) {
		fl__idle.watcher = w;
		until = next;
		if (until != FL_FOREVER) {
			until -= TIMER_SLACK_NS;
			for_timer = true;
		}
		if (atomic_load(&fl__idle.nsleeping) < fl__idle.n && now + w->backoff_ns < until) {
			until = now + w->backoff_ns;
			watching = true;
			for_timer = false;
		}
	}
	bool timed_out = false;
	while (!w->woken) {
		if (until == FL_FOREVER) {
			fl__cond_wait(&w->cv, &fl__idle.mu);
		} else if (fl__cond_wait_until(&w->cv, &fl__idle.mu, until) == ETIMEDOUT) {
			timed_out = true;
			break;
		}
	}
	if (fl__idle.watcher == w)
		fl__idle.watcher = NULL;
	if (w->sleeping) {
		w->sleeping = false;
		atomic_fetch_sub(&fl__idle.nsleeping, 1);
	}
	w->woken = false;
	fl__mutex_unlock(&fl__idle.mu);
	if (timed_out && watching && w->backoff_ns < BACKOFF_MAX_NS)
		w->backoff_ns *= 2;
	w->timer_spin = timed_out && for_timer;
}

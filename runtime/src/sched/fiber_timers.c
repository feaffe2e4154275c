/*
 * fiber_timers.c - one-shot timers for the fibers backend, fired by the
 * workers' scheduler loops (no timer thread).
 *
 * Data structure: one global binary min-heap ordered by deadline, under
 * tm.mu, with the earliest deadline mirrored in an atomic (tm.next) so a
 * scheduler loop can tell "nothing due" without the lock. A worker fires
 * due timers between fibers, and the idle worker that watches timers
 * sleeps until tm.next (fibers.c, worker_sleep).
 *
 * Semantics are exactly those of sched_internal.h and of the threads backend: stop
 * returns true if the timer was pending and will not fire; if its callback
 * is running, stop waits for it to return, then returns false. Callbacks
 * run one at a time (tm.firing), on whichever worker found them due, as
 * they would on the threads backend's single timer thread; so a callback
 * that stops another timer can never wait on a callback that waits on it.
 * A callback may free its timer, so nothing touches the timer after it.
 *
 * Lock order: tm.mu is a leaf, never held while a callback runs or while
 * an idle worker is kicked.
 */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include "fiber_internal.h"

#include <stdlib.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

#define FIRE_BATCH 64

static struct {
	fl__mutex mu;
	fl__cond done;        /* a callback returned (mu) */
	fl__timer **heap;     /* mu */
	size_t n, cap;        /* mu */
	fl__timer *firing;    /* mu: the timer whose callback runs now */
	_Atomic int64_t next; /* written under mu: heap[0]->when_ns or FOREVER */
} tm = {.mu = FL__MUTEX_INITIALIZER, .done = {PTHREAD_COND_INITIALIZER}, .next = FL_FOREVER};

static void heap_set(size_t i, fl__timer *t)
{
	tm.heap[i] = t;
	t->heap_index = (int64_t)i;
}

static void heap_up(size_t i)
{
	fl__timer *t = tm.heap[i];
	while (i > 0 && tm.heap[(i - 1) / 2]->when_ns > t->when_ns) {
		heap_set(i, tm.heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, t);
}

static void heap_down(size_t i)
{
	fl__timer *t = tm.heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = l;
		if (l >= tm.n)
			break;
		if (r < tm.n && tm.heap[r]->when_ns < tm.heap[l]->when_ns)
			m = r;
		if (tm.heap[m]->when_ns >= t->when_ns)
			break;
		heap_set(i, tm.heap[m]);
		i = m;
	}
	heap_set(i, t);
}

static void heap_remove(size_t i)
{
	tm.heap[i]->heap_index = -1;
	tm.n--;
	if (i == tm.n)
		return;
	heap_set(i, tm.heap[tm.n]);
	if (i > 0 && tm.heap[(i - 1) / 2]->when_ns > tm.heap[i]->when_ns)
		heap_up(i);
	else
		heap_down(i);
}

static void publish_next(void) { atomic_store(&tm.next, tm.n ? tm.heap[0]->when_ns : FL_FOREVER); }

bool fl__ftimer_start(fl__timer *t, bool *earliest)
{
	fl__mutex_lock(&tm.mu);
	if (tm.n == tm.cap) {
		size_t cap = tm.cap ? tm.cap * 2 : 64;
		fl__timer **h = fl__realloc(tm.heap, cap * sizeof(*h));
		if (!h) {
			fl__mutex_unlock(&tm.mu);
			return false;
		}
		tm.heap = h;
		tm.cap = cap;
	}
	tm.heap[tm.n] = t;
	t->heap_index = (int64_t)tm.n++;
	heap_up((size_t)t->heap_index);
	*earliest = t->heap_index == 0;
	if (*earliest)
		publish_next();
	fl__mutex_unlock(&tm.mu);
	return true; /* the caller kicks an idle worker, unlocked */
}

bool fl__ftimer_stop(fl__timer *t)
{
	bool stopped = false;
	fl__mutex_lock(&tm.mu);
	if (t->heap_index >= 0) {
		heap_remove((size_t)t->heap_index);
		publish_next();
		stopped = true;
	} else {
		while (tm.firing == t)
			fl__cond_wait(&tm.done, &tm.mu);
	}
	fl__mutex_unlock(&tm.mu);
	return stopped;
}

int64_t fl__ftimer_next(void) { return atomic_load(&tm.next); }

int fl__ftimer_run(void)
{
	int64_t next = atomic_load_explicit(&tm.next, memory_order_relaxed);
	if (next == FL_FOREVER)
		return 0;
	int64_t now = fl__mono_ns();
	if (next > now)
		return 0;
	int fired = 0;
	fl__mutex_lock(&tm.mu);
	while (!tm.firing && tm.n && tm.heap[0]->when_ns <= now && fired < FIRE_BATCH) {
		fl__timer *t = tm.heap[0];
		heap_remove(0);
		publish_next();
		tm.firing = t;
		fl__mutex_unlock(&tm.mu);
		t->fn(t);
		fl__mutex_lock(&tm.mu);
		tm.firing = NULL;
		fl__cond_broadcast(&tm.done);
		fired++;
	}
	fl__mutex_unlock(&tm.mu);
	return fired;
}

/*
 * fiber_runq.c - run queues: a lock-free ring per worker, one global queue.
 *
 * The per-worker ring is Go's runq (runtime/proc.go): a bounded array of
 * FL__RUNQ_CAP slots with 32-bit head and tail counters. Only the owning
 * worker writes tail, so a put is a slot store and a store-release of tail,
 * with no read-modify-write. Every consumer, the owner included, advances
 * head with a CAS, so the owner's get and a thief's grab are one protocol
 * and the ring is FIFO for both. A thief reads the slots it wants first and
 * then claims them with the CAS; if the owner refilled those slots in
 * between, the CAS fails and the thief retries with the new head. Slots
 * are atomics so that speculative read is not a data race, and the
 * tail store-release / load-acquire pair publishes the fiber's contents.
 *
 * We chose this over a Chase-Lev deque because the owner pops FIFO (what a
 * scheduler wants for fairness) and no operation needs a standalone fence,
 * which ThreadSanitizer would not model. A full ring spills to the global
 * queue.
 *
 * The global queue is a mutex-protected FIFO threaded through fiber->next
 * (gq.mu is a leaf lock), plus an atomic length so that idle checks do
 * not take the lock.
 */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include "fiber_internal.h"

#include "sync_internal.h"

#define MO_RLX memory_order_relaxed
#define MO_ACQ memory_order_acquire
#define MO_REL memory_order_release
#define MO_AR memory_order_acq_rel

bool fl__runq_put(fl__runq *q, fl__fiber *f)
{
	uint32_t h = atomic_load_explicit(&q->head, MO_ACQ);
	uint32_t t = atomic_load_explicit(&q->tail, MO_RLX);
	if (t - h >= FL__RUNQ_CAP)
		return false;
	atomic_store_explicit(&q->buf[t % FL__RUNQ_CAP], f, MO_RLX);
	atomic_store_explicit(&q->tail, t + 1, MO_REL);
	return true;
}

fl__fiber *fl__runq_get(fl__runq *q)
{
	uint32_t h = atomic_load_explicit(&q->head, MO_ACQ);
	for (;;) {
		uint32_t t = atomic_load_explicit(&q->tail, MO_RLX);
		if (t == h)
			return NULL;
		fl__fiber *f = atomic_load_explicit(&q->buf[h % FL__RUNQ_CAP], MO_RLX);
		if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + 1, MO_AR, MO_ACQ))
			return f;
	}
}

uint32_t fl__runq_grab(fl__runq *q, fl__fiber **out, uint32_t max)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&q->head, MO_ACQ);
		uint32_t t = atomic_load_explicit(&q->tail, MO_ACQ);
		uint32_t n = t - h;
		n -= n / 2;
		if (n == 0)
			return 0;
		if (n > FL__RUNQ_CAP / 2)
			continue; /* read head and tail across a wrap: retry */
		if (n > max)
			n = max;
		for (uint32_t i = 0; i < n; i++)
			out[i] = atomic_load_explicit(&q->buf[(h + i) % FL__RUNQ_CAP], MO_RLX);
		if (atomic_compare_exchange_strong_explicit(&q->head, &h, h + n, MO_AR, MO_RLX))
			return n;
	}
}

uint32_t fl__runq_len(fl__runq *q)
{
	uint32_t h = atomic_load_explicit(&q->head, MO_ACQ);
	uint32_t t = atomic_load_explicit(&q->tail, MO_ACQ);
	uint32_t n = t - h;
	return n > FL__RUNQ_CAP ? FL__RUNQ_CAP : n; /* raced: "some" */
}

/* ---- the global queue ---------------------------------------------------- */

static struct {
	fl__mutex mu;
	fl__fiber *head, *tail; /* mu */
	atomic_long n;          /* written under mu; read anywhere */
} gq = {.mu = FL__MUTEX_INITIALIZER};

void fl__gq_put(fl__fiber *f)
{
	f->next = NULL;
	fl__mutex_lock(&gq.mu);
	if (gq.tail)
		gq.tail->next = f;
	else
		gq.head = f;
	gq.tail = f;
	atomic_fetch_add_explicit(&gq.n, 1, memory_order_seq_cst);
	fl__mutex_unlock(&gq.mu);
}

uint32_t fl__gq_get(fl__fiber **out, uint32_t max)
{
	uint32_t n = 0;
	fl__mutex_lock(&gq.mu);
	while (n < max && gq.head) {
		fl__fiber *f = gq.head;
		gq.head = f->next;
		f->next = NULL;
		out[n++] = f;
	}
	if (!gq.head)
		gq.tail = NULL;
	atomic_fetch_sub_explicit(&gq.n, (long)n, memory_order_relaxed);
	fl__mutex_unlock(&gq.mu);
	return n;
}

long fl__gq_len(void) { return atomic_load_explicit(&gq.n, memory_order_seq_cst); }

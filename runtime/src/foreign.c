/*
 * foreign.c - threads the runtime did not start (both backends).
 *
 * Problem: the main thread, user pthreads and the fibers backend's side
 * threads call blocking runtime operations too, but they are not tasks of
 * a backend. Each gets an adopted task, on first use, whose parker is a
 * mutex, condvar and token. park and unpark in sched_threads.c and
 * sched_fibers.c dispatch on task->adopted.
 *
 * Adopted records are type-stable: a thread that ends puts its record on
 * a free list for the next one instead of destroying the mutex a waker may
 * have unlocked a moment ago (glibc's unlock still writes the lock word after handing it over, which
 * Helgrind cannot prove ordered before a destroy).
 *
 * Tokens are set under the parker's mutex, so a sleeper cannot miss one,
 * but the owner may take one without it: a parking thread first spins for
 * up to SPIN_NS (when spinning is on: more than one worker), because a
 * fiber's reply usually comes within microseconds and a futex sleep and
 * wake-up costs tens of them.
 *
 * Lock order: a parker's mutex is a leaf; adopt_mu is a leaf.
 */
#define _GNU_SOURCE /* pthread_getname_np */
#include "foreign.h"

#include <fl/task.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

#define SPIN_NS FL_US(20)

typedef struct parker {
	fl__mutex mu;
	fl__cond cv;
	atomic_int token;   /* set under mu; taken by the owner */
} parker;

typedef struct adopted {
	fl__task task;
	parker p;
} adopted;

static pthread_key_t adopt_key; /* created by fl__foreign_init, before any self() */
static bool spin_first;         /* set once by fl__foreign_init */
static fl__mutex adopt_mu = {PTHREAD_MUTEX_INITIALIZER};
static adopted *adopt_free;     /* adopt_mu: recycled (type-stable) records */
static _Thread_local adopted *tls_adopted;

static bool parker_spin(parker *p, int64_t deadline_ns)
{
	int64_t until = fl__mono_ns() + SPIN_NS;
	if (until > deadline_ns)
		until = deadline_ns;
	do {
		for (int i = 0; i < 32; i++) {
			if (atomic_load_explicit(&p->token, memory_order_relaxed) &&
			    atomic_exchange_explicit(&p->token, 0, memory_order_acquire))
				return true;
			fl__cpu_relax();
		}
	} while (fl__mono_ns() < until);
	return false;
}

static bool parker_park(parker *p, int64_t deadline_ns)
{
	if (spin_first && parker_spin(p, deadline_ns))
		return true;
	bool got = true;
	fl__mutex_lock(&p->mu);
	while (!atomic_load_explicit(&p->token, memory_order_relaxed)) {
		if (deadline_ns == FL_FOREVER) {
			fl__cond_wait(&p->cv, &p->mu);
		} else if (fl__cond_wait_until(&p->cv, &p->mu, deadline_ns) == ETIMEDOUT &&
			   !atomic_load_explicit(&p->token, memory_order_relaxed)) {
			got = false;
			break;
		}
	}
	if (got)
		atomic_store_explicit(&p->token, 0, memory_order_relaxed);
	fl__mutex_unlock(&p->mu);
	return got;
}

static void parker_unpark(parker *p)
{
	fl__mutex_lock(&p->mu);
	atomic_store_explicit(&p->token, 1, memory_order_release);
	fl__cond_signal(&p->cv);
	fl__mutex_unlock(&p->mu);
}

static void adopted_release(void *arg)
{
	adopted *a = arg;
	fl__task_unregister(&a->task);
	fl__mutex_lock(&adopt_mu);
	a->task.arg = adopt_free;
	adopt_free = a;
	fl__mutex_unlock(&adopt_mu);
}

static adopted *adopted_get(void)
{
	fl__mutex_lock(&adopt_mu);
	adopted *a = adopt_free;
	if (a)
		adopt_free = a->task.arg;
	fl__mutex_unlock(&adopt_mu);
	if (a) {
		parker p = a->p; /* keep the initialised parker */
		memset(a, 0, sizeof(*a));
		memcpy(&a->p, &p, sizeof(p));
		return a;
	}
	a = calloc(1, sizeof(*a));
	if (a) {
		fl__mutex_init(&a->p.mu);
		fl__cond_init(&a->p.cv);
	}
	return a;
}

fl__task *fl__foreign_self(void)
{
	if (__builtin_expect(tls_adopted != NULL, 1))
		return &tls_adopted->task;
	adopted *a = adopted_get();
	if (!a)
		FL_ABORT("out of memory adopting a thread");
	a->task.backend = &a->p;
	char name[16] = "thread";
	pthread_getname_np(pthread_self(), name, sizeof(name));
	snprintf(a->task.name, sizeof(a->task.name), "%s", name);
	fl__task_adopt(&a->task);
	FL_ASSERT(pthread_setspecific(adopt_key, a) == 0);
	tls_adopted = a;
	return &a->task;
}

bool fl__foreign_park(fl__task *t, int64_t deadline_ns) { return parker_park(t->backend, deadline_ns); }

void fl__foreign_unpark(fl__task *t) { parker_unpark(t->backend); }

int fl__foreign_init(bool spin)
{
	spin_first = spin;
	/* Not pthread_once: the seam is initialised under a mutex before any
	 * self() call, which every checker sees as ordering. */
	return pthread_key_create(&adopt_key, adopted_release);
}

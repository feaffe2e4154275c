/*
 * foreign.c - threads the runtime did not start (both backends).
 *
 * Problem: the main thread, user pthreads and the fibers backend's side
 * threads call blocking runtime operations too, but they are not tasks of
 * a backend. Each gets an adopted task, on first use, with a parker
 * (parker.c). park and unpark in threads.c and
 * fibers.c dispatch on task->adopted.
 *
 * Adopted records are type-stable: a thread that ends puts its record on
 * a free list for the next one instead of destroying the mutex a waker may
 * have unlocked a moment ago (glibc's unlock still writes the lock word after handing it over, which
 * Helgrind cannot prove ordered before a destroy).
 *
 * The parker is parker.c's: a parking thread first spins for an adaptive
 * while (when spinning is on), because a reply usually comes within
 * microseconds and a futex sleep and wake-up costs tens of them.
 *
 * Lock order: a parker's mutex is a leaf; adopt_mu is a leaf.
 */
#define _GNU_SOURCE /* pthread_getname_np */
#include "foreign_internal.h"

#include <fl/task.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parker_internal.h"
#include "sync_internal.h"
#include "fl_alloc_internal.h"

#define SPIN_NS FL_US(20) /* the most a park spins, when spinning is on */

typedef struct adopted {
	fl__task task;
	fl__parker p;
} adopted;

static pthread_key_t adopt_key; /* created by fl__foreign_init, before any self() */
static fl__mutex adopt_mu = {PTHREAD_MUTEX_INITIALIZER};
static adopted *adopt_free; /* adopt_mu: recycled (type-stable) records */
static _Thread_local adopted *tls_adopted;

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
		/* Keep the initialised parker (type-stable; its token is
		 * EMPTY, as every wait took its own). */
		memset(&a->task, 0, sizeof(a->task));
		return a;
	}
	a = fl__calloc(1, sizeof(*a));
	if (a)
		fl__parker_init(&a->p);
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

bool fl__foreign_park(fl__task *t, int64_t deadline_ns)
{
	return fl__parker_park(t->backend, deadline_ns);
}

void fl__foreign_unpark(fl__task *t) { fl__parker_unpark(t->backend); }

int fl__foreign_init(bool spin)
{
	fl__parker_set_max_spin(spin && sysconf(_SC_NPROCESSORS_ONLN) > 1 ? SPIN_NS : 0);
	/* Not pthread_once: the seam is initialised under a mutex before any
	 * self() call, which every checker sees as ordering. */
	return pthread_key_create(&adopt_key, adopted_release);
}

/*
 * fiber_blocking.c - the side thread pool behind fl_blocking on fibers.
 *
 * Problem: a fiber that makes a blocking system call blocks its worker and
 * every fiber queued behind it. fl_blocking(fn, arg) instead queues a job,
 * parks the fiber, and a side thread runs fn(arg) and unparks the fiber,
 * as Go hands a P off around a syscall.
 *
 * Data structure: a FIFO of jobs under side.mu. A job lives on the parked
 * fiber's stack: the side thread reads what it needs, runs fn, then unparks
 * the fiber, and touches the job no more (the fiber may return at once).
 * Threads are started on demand when jobs outnumber idle threads (up to
 * MAX_THREADS; beyond, jobs wait in the queue) and exit after LINGER_NS
 * idle, so a burst does not leave hundreds of threads behind.
 *
 * The park/unpark pair is private to the job: the fiber is on no wait list
 * while it waits here, so the one token it consumes is the job's.
 *
 * Lock order: side.mu is a leaf; unpark runs without it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "fiber_internal.h"

#include <errno.h>
#include <pthread.h>

#include "sync_internal.h"

#define LINGER_NS FL_SEC(5)
#define MAX_THREADS 256

typedef struct job {
	void (*fn)(void *);
	void *arg;
	fl__task *task;
	struct job *next; /* side.mu */
} job;

static struct {
	fl__mutex mu;
	fl__cond cv;      /* a job was queued */
	job *head, *tail; /* mu */
	int pending;      /* mu: queued, not yet taken */
	int idle;         /* mu: threads waiting for a job */
	int nthreads;     /* mu */
	atomic_long live; /* == nthreads, readable without the lock */
	bool (*park)(fl__task *self, int64_t deadline_ns); /* immutable after init */
	void (*unpark)(fl__task *t);                       /* immutable after init */
} side = {.mu = {PTHREAD_MUTEX_INITIALIZER}};

/* Not pthread_once: the seam is initialised under a mutex before any
 * fl_blocking call, which every checker sees as ordering. */
void fl__fblocking_init(bool (*park)(fl__task *self, int64_t deadline_ns),
			void (*unpark)(fl__task *t))
{
	fl__cond_init(&side.cv);
	side.park = park;
	side.unpark = unpark;
}

static job *job_pop(void)
{
	job *j = side.head;
	side.head = j->next;
	if (!side.head)
		side.tail = NULL;
	side.pending--;
	return j;
}

static void *side_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "fl-blocking");
	fl__mutex_lock(&side.mu);
	for (;;) {
		int64_t linger = fl__mono_ns() + LINGER_NS;
		while (!side.head) {
			side.idle++;
			int rc = fl__cond_wait_until(&side.cv, &side.mu, linger);
			side.idle--;
			if (rc == ETIMEDOUT && !side.head)
				goto out;
		}
		job *j = job_pop();
		fl__mutex_unlock(&side.mu);
		fl__task *t = j->task;
		j->fn(j->arg);
		side.unpark(t); /* j may be gone from here on */
		fl__mutex_lock(&side.mu);
	}
out:
	side.nthreads--;
	atomic_fetch_sub(&side.live, 1);
	fl__mutex_unlock(&side.mu);
	return NULL;
}

static bool side_start(void)
{
	pthread_attr_t attr;
	pthread_t th;
	FL_ASSERT(pthread_attr_init(&attr) == 0);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &attr, side_main, NULL);
	pthread_attr_destroy(&attr);
	return rc == 0;
}

/* Removes j if no side thread took it yet. side.mu held. */
static bool job_unqueue(job *j)
{
	job **pp = &side.head, *prev = NULL;
	while (*pp && *pp != j) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return false;
	*pp = j->next;
	if (side.tail == j)
		side.tail = prev;
	side.pending--;
	return true;
}

void fl__fblocking_run(fl__task *t, void (*fn)(void *), void *arg)
{
	job j = {.fn = fn, .arg = arg, .task = t};
	fl__mutex_lock(&side.mu);
	if (side.tail)
		side.tail->next = &j;
	else
		side.head = &j;
	side.tail = &j;
	side.pending++;
	bool grow = side.pending > side.idle && side.nthreads < MAX_THREADS;
	if (grow) {
		side.nthreads++;
		atomic_fetch_add(&side.live, 1);
	} else {
		fl__cond_signal(&side.cv);
	}
	fl__mutex_unlock(&side.mu);
	if (grow && !side_start()) {
		fl__mutex_lock(&side.mu);
		side.nthreads--;
		atomic_fetch_sub(&side.live, 1);
		bool mine = side.nthreads == 0 && job_unqueue(&j);
		fl__mutex_unlock(&side.mu);
		if (mine) { /* no side thread at all: better late than never */
			fn(arg);
			return;
		}
	}
	FL_ASSERT(side.park(t, FL_FOREVER));
}

long fl__fblocking_threads(void) { return atomic_load(&side.live); }

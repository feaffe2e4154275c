/* sync.c - aborting mutex/condvar wrappers and the monotonic clock. */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP */
#include "sync_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void fl__assert_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "faultline: %s:%d: fatal: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

void fl__mutex_init(fl__mutex *m)
{
#ifdef PTHREAD_MUTEX_ADAPTIVE_NP
	/* Runtime critical sections are a few dozen instructions: on contention
	 * a short spin beats a futex sleep and wake-up by microseconds. */
	pthread_mutexattr_t a;
	FL_ASSERT(pthread_mutexattr_init(&a) == 0);
	FL_ASSERT(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP) == 0);
	FL_ASSERT(pthread_mutex_init(&m->m, &a) == 0);
	pthread_mutexattr_destroy(&a);
#else
	FL_ASSERT(pthread_mutex_init(&m->m, NULL) == 0);
#endif
}

void fl__mutex_destroy(fl__mutex *m) { FL_ASSERT(pthread_mutex_destroy(&m->m) == 0); }

void fl__cond_init(fl__cond *c)
{
	pthread_condattr_t a;
	FL_ASSERT(pthread_condattr_init(&a) == 0);
	FL_ASSERT(pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0);
	FL_ASSERT(pthread_cond_init(&c->c, &a) == 0);
	pthread_condattr_destroy(&a);
}

void fl__cond_destroy(fl__cond *c) { FL_ASSERT(pthread_cond_destroy(&c->c) == 0); }

int fl__cond_wait_until(fl__cond *c, fl__mutex *m, int64_t deadline_ns)
{
	struct timespec ts;
	if (deadline_ns < 0)
		deadline_ns = 0;
	ts.tv_sec = (time_t)(deadline_ns / 1000000000);
	ts.tv_nsec = (long)(deadline_ns % 1000000000);
	int rc = pthread_cond_timedwait(&c->c, &m->m, &ts);
	FL_ASSERT(rc == 0 || rc == ETIMEDOUT);
	return rc;
}

int64_t fl__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * sync_internal.h - mutexes and condition variables that cannot fail silently.
 *
 * The runtime builds on pthread mutexes and condition variables (signalled
 * while holding the mutex). A failing lock is an impossible state, so these
 * wrappers abort with file:line instead of returning an error, as
 * FL_ASSERT does for every other broken invariant. Only the backends use the
 * condition variables directly; everything else blocks through sched_internal.h.
 */
#ifndef FL_SYNC_INTERNAL_H
#define FL_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "fl_assert_internal.h" /* FL_ASSERT, FL_ABORT (common/) */

typedef struct fl__mutex {
	pthread_mutex_t m;
} fl__mutex;

typedef struct fl__cond {
	pthread_cond_t c;
} fl__cond;

/* An adaptive mutex where libc has one (it spins briefly before sleeping);
 * a normal one elsewhere. Statically initialised runtime locks use
 * FL__MUTEX_INITIALIZER in files that define _GNU_SOURCE. */
void fl__mutex_init(fl__mutex *m);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define FL__MUTEX_INITIALIZER                         \
	{                                             \
		PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP \
	}
#else
#define FL__MUTEX_INITIALIZER             \
	{                                 \
		PTHREAD_MUTEX_INITIALIZER \
	}
#endif
void fl__mutex_destroy(fl__mutex *m);
#define fl__mutex_lock(mu) FL_ASSERT(pthread_mutex_lock(&(mu)->m) == 0)
#define fl__mutex_unlock(mu) FL_ASSERT(pthread_mutex_unlock(&(mu)->m) == 0)

/* Condition variables use CLOCK_MONOTONIC. */
void fl__cond_init(fl__cond *c);
void fl__cond_destroy(fl__cond *c);
#define fl__cond_signal(cv) FL_ASSERT(pthread_cond_signal(&(cv)->c) == 0)
#define fl__cond_broadcast(cv) FL_ASSERT(pthread_cond_broadcast(&(cv)->c) == 0)
#define fl__cond_wait(cv, mu) FL_ASSERT(pthread_cond_wait(&(cv)->c, &(mu)->m) == 0)
/* Waits until deadline_ns (CLOCK_MONOTONIC); returns 0 or ETIMEDOUT. */
int fl__cond_wait_until(fl__cond *c, fl__mutex *m, int64_t deadline_ns);

/* A polite busy-wait step. */
static inline void fl__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t fl__mono_ns(void);

#endif

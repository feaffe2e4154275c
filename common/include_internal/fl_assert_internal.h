/*
 * fl_assert_internal.h - the always-on assert and aborting lock wrappers.
 *
 * A failing mutex lock, or any other broken invariant, is an impossible
 * state: it is never returned as an error. FL_ASSERT prints file:line and
 * the failed condition, then aborts, in every build type (NDEBUG does not
 * turn it off). FL_LOCK and FL_UNLOCK wrap pthread_mutex_lock/unlock the
 * same way, for libraries that lock plain pthread mutexes.
 *
 * Shared by every library through the internal fl_internal target (never
 * installed). fl__assert_fail is defined once, in runtime/src/sync.c (the
 * lowest library, which every other one links).
 */
#ifndef FL_ASSERT_INTERNAL_H
#define FL_ASSERT_INTERNAL_H

#include <pthread.h>

/* Always-on assertion: prints file:line and the message, then aborts. */
void fl__assert_fail(const char *file, int line, const char *what) __attribute__((noreturn));
#define FL_ASSERT(c)                                             \
	do {                                                     \
		if (__builtin_expect(!(c), 0))                   \
			fl__assert_fail(__FILE__, __LINE__, #c); \
	} while (0)
#define FL_ABORT(msg) fl__assert_fail(__FILE__, __LINE__, (msg))

/* Locks and unlocks a pthread_mutex_t *, aborting on failure. */
#define FL_LOCK(m) FL_ASSERT(pthread_mutex_lock(m) == 0)
#define FL_UNLOCK(m) FL_ASSERT(pthread_mutex_unlock(m) == 0)

#endif

/*
 * fiber_switch_internal.h - a fiber switch with its sanitizer bookkeeping (internal).
 *
 * ASan and TSan must be told about every switch between stacks: ASan
 * which stack the thread is on (so it does not report the new stack's
 * frames as overflows, and can keep a fake stack per fiber), TSan which
 * of its fibers runs (so the happens-before of one task is not mixed with
 * another's). fibers.c and sim.c both switch between fiber stacks and
 * thread stacks; this header is the only place that knows the sanitizer
 * calls, and the only sanitizer #if of the two backends. Built without
 * sanitizers, every function here is a plain call to fl__fctx_switch or
 * nothing at all.
 *
 * Why a header of static inline functions and not a fiber_switch.c: the
 * switch is the hot path of every channel handoff (two per ping-pong round
 * trip), and the build has no link-time optimisation, so a call into
 * another object would add a call per switch. Inline, the helper compiles
 * to exactly the code the backends had with the #ifs written in place.
 *
 * A switch goes from the running stack to a target described by its
 * context, its bounds (for ASan) and its TSan fiber. The running side
 * passes where ASan keeps its fake stack while it is switched out, or NULL
 * when it is switching out for the last time (an exiting fiber), which
 * lets ASan free that fake stack.
 */
#ifndef FL_FIBER_SWITCH_INTERNAL_H
#define FL_FIBER_SWITCH_INTERNAL_H

#include <stddef.h>

#include "fiber_ctx_internal.h"
#include "fl_assert_internal.h"

#ifdef FL_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#ifdef FL_ASAN
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/* Where a switch goes: a context, its stack (ASan) and its TSan fiber. */
typedef struct fl__fswitch_to {
	fl__fctx *ctx;
	void *stack_lo; /* lowest usable byte of the target's stack */
	size_t stack_size;
	void *tsan; /* the target's TSan fiber (NULL without TSan) */
} fl__fswitch_to;

/*
 * Saves the running context into from and resumes to; returns when
 * something switches back to from. from_fake is where ASan keeps the
 * running side's fake stack while it is out, or NULL if the running side
 * never comes back. Not thread-safe in any sense: it runs on the thread it
 * switches, and only that thread touches from.
 */
static inline void fl__fswitch(fl__fctx *from, void **from_fake, fl__fswitch_to to)
{
#ifdef FL_ASAN
	__sanitizer_start_switch_fiber(from_fake, to.stack_lo, to.stack_size);
#endif
#ifdef FL_TSAN
	__tsan_switch_to_fiber(to.tsan, 0);
#endif
	fl__fctx_switch(from, to.ctx);
#ifdef FL_ASAN
	if (from_fake)
		__sanitizer_finish_switch_fiber(*from_fake, NULL, NULL);
#else
	(void)from_fake;
#endif
}

/* The first thing a fiber's entry function calls on its new stack: ends
 * the switch that started it. */
static inline void fl__fswitch_entered(void)
{
#ifdef FL_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

/* A new TSan fiber for a task (about a millisecond under TSan: sim.c keeps
 * a pool), or NULL without TSan. */
static inline void *fl__fswitch_tsan_new(void)
{
#ifdef FL_TSAN
	return __tsan_create_fiber(0);
#else
	return NULL;
#endif
}

/* Destroys a TSan fiber from fl__fswitch_tsan_new (NULL: nothing). */
static inline void fl__fswitch_tsan_free(void *tsan)
{
#ifdef FL_TSAN
	if (tsan)
		__tsan_destroy_fiber(tsan);
#else
	(void)tsan;
#endif
}

/* The calling thread's own TSan fiber, to switch back to it (NULL
 * without TSan). */
static inline void *fl__fswitch_tsan_current(void)
{
#ifdef FL_TSAN
	return __tsan_get_current_fiber();
#else
	return NULL;
#endif
}

/* Sets *lo and *size to the calling thread's stack, which ASan needs to
 * switch back to it; leaves them alone without ASan (nothing reads them). */
static inline void fl__fswitch_thread_stack(void **lo, size_t *size)
{
#ifdef FL_ASAN
	pthread_attr_t a;
	FL_ASSERT(pthread_getattr_np(pthread_self(), &a) == 0);
	FL_ASSERT(pthread_attr_getstack(&a, lo, size) == 0);
	pthread_attr_destroy(&a);
#else
	(void)lo;
	(void)size;
#endif
}

/* A finished fiber's stack is about to be reused: clears the ASan poison
 * its frames that never returned (the entry trampoline's) left behind. */
static inline void fl__fswitch_stack_done(void *lo, size_t size)
{
#ifdef FL_ASAN
	ASAN_UNPOISON_MEMORY_REGION(lo, size);
#else
	(void)lo;
	(void)size;
#endif
}

#endif

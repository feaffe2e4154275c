/*
 * preload_internal.h - what the preloaded library's two files share:
 * preload.c (the plan, the decisions, the accounting, start-up and exit)
 * below calls.c (the interposed libc calls).
 */
#ifndef FL_PRELOAD_INTERNAL_H
#define FL_PRELOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wrap_internal.h"

/* The interposed calls: the only symbols the library exports. */
#define FL_EXPORT __attribute__((visibility("default")))
#define FL_TLS __thread __attribute__((tls_model("initial-exec")))

/* Set while the preload itself runs (and around the calls it makes), so
 * nothing it calls is faulted or counted. */
extern FL_TLS int fl__wrap_guard;
/* This thread's ordinal: 0 the main thread, then creation order as the
 * pthread_create wrapper sees it; -1 until known. */
extern FL_TLS long fl__wrap_thread;

/* The wrapped call at point was made from ra: counts it and decides.
 * Returns 0 to make the real call (after any sleep or delay that fired),
 * or the errno to fail it with. Never faults the preload's own calls, the
 * dynamic loader's, or anything before the constructor finished. */
int fl__wrap_enter(int point, const void *ra);

/* ---- for the interposed calls (calls.c, calls_more.c) ---- */

/* The wrapped call's caller: an exported wrapper's return address. */
#define FL_WRAP_RA __builtin_return_address(0)

/* Looks up the next definition of name once, into real_<name> (racing
 * threads store the same pointer). */
#define FL_WRAP_REAL(name)                    \
	static __typeof__(name) *real_##name; \
	if (!real_##name)                     \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);

/* Returns fail, with errno set to the plan's errno, if point fires. */
#define FL_WRAP_FAULT_RET(point, fail)                        \
	do {                                                  \
		int e_ = fl__wrap_enter((point), FL_WRAP_RA); \
		if (e_) {                                     \
			errno = e_;                           \
			return (fail);                        \
		}                                             \
	} while (0)

/* The same for the calls that fail with -1. */
#define FL_WRAP_FAULT(point) FL_WRAP_FAULT_RET(point, -1)

/* The mode argument of open and openat: read only when flags create. */
#define FL_WRAP_OPEN_MODE(flags, last)                 \
	__extension__({                                \
		mode_t m_ = 0;                         \
		if ((flags) & (O_CREAT | O_TMPFILE)) { \
			va_list ap_;                   \
			va_start(ap_, last);           \
			m_ = (mode_t)va_arg(ap_, int); \
			va_end(ap_);                   \
		}                                      \
		m_;                                    \
	})

/* The next thread ordinal (the pthread_create wrapper, in the creator). */
long fl__wrap_next_thread(void);

/* Whether a return address lies inside libc (its allocations on its own
 * behalf, stdio's buffers among them, are not the program's leaks). */
bool fl__wrap_from_libc(const void *ra);
/* Whether the leak counts have started (the constructor finished). */
bool fl__wrap_counting(void);

/* ---- the live heap blocks (heap.c) ---- */

/* A block of size bytes allocated from site; replaces p's entry if any. */
void fl__wrap_heap_add(void *p, size_t size, const void *site);
/* p was freed (or moved by realloc); unknown pointers are ignored. */
void fl__wrap_heap_del(void *p);
/* Makes fork take and release the table's lock (start-up, once). */
void fl__wrap_heap_atfork(void);
/* The live blocks and bytes, the blocks the full table could not hold, and
 * each live block's size and site to each (under the table's lock). */
void fl__wrap_heap_summary(uint64_t *blocks, uint64_t *bytes, uint64_t *lost,
			   void (*each)(void *arg, uint64_t size, const void *site), void *arg);

#endif

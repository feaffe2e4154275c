/*
 * preload_internal.h - what the preloaded library's two files share:
 * preload.c (the plan, the decisions, the accounting, start-up and exit)
 * below calls.c (the interposed libc calls).
 */
#ifndef FL_PRELOAD_INTERNAL_H
#define FL_PRELOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

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

/* The next thread ordinal (the pthread_create wrapper, in the creator). */
long fl__wrap_next_thread(void);

#endif

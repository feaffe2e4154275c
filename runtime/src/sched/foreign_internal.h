/*
 * foreign_internal.h - adopted tasks for threads the runtime did not start.
 *
 * Shared by the threads and fibers backends: the main thread and user
 * pthreads that block in the runtime park on a type-stable condvar parker.
 */
#ifndef FL_FOREIGN_INTERNAL_H
#define FL_FOREIGN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "sched_internal.h"

/* Creates the adoption key; spin: parkers spin briefly before sleeping.
 * Call once from the backend's init, before any self(). Returns 0 or an
 * errno value. */
int fl__foreign_init(bool spin);
/* The calling foreign thread's adopted task (adopted on first use). */
fl__task *fl__foreign_self(void);
bool fl__foreign_park(fl__task *t, int64_t deadline_ns);
void fl__foreign_unpark(fl__task *t);

#endif

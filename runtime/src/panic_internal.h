/*
 * panic_internal.h - the panic frame and task cleanups (internal), which
 * group.c uses and panic.c provides.
 *
 * A task of a group in FL_PANIC_CAPTURE mode runs its body below a panic
 * frame (a jmp_buf on the task's own stack, pointed to by t->panic_frame).
 * fl_panic records the panic as the group's error through the frame's
 * record callback, which cancels the siblings at once, runs the task's
 * cleanups and jumps back to the frame; the task's entry then finishes
 * exactly as if the body had returned. The callback is how panic.c stays
 * below group.c: it calls no group function.
 */
#ifndef FL_PANIC_INTERNAL_H
#define FL_PANIC_INTERNAL_H

#include <fl/err.h>

#include <setjmp.h>
#include <stdbool.h>

#include "sched_internal.h"

/* The target of a captured panic; lives on the task's stack. */
typedef struct fl__panic_frame {
	jmp_buf jb;
	bool panicked; /* set by fl_panic just before it jumps */
	/* Records err (consumed) as the task's outcome on group g, cancelling
	 * g's context; set by the group with the frame. */
	void (*record)(struct fl_group *g, fl_err *err);
} fl__panic_frame;

/* Runs and removes t's fl_defer cleanups, last registered first. */
void fl__task_run_defers(fl__task *t);

#endif

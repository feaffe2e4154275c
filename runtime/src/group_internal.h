/*
 * group_internal.h - what panic.c and group.c share (internal).
 *
 * A task of a group in FL_PANIC_CAPTURE mode runs its body below a panic
 * frame (a jmp_buf on the task's own stack, pointed to by t->panic_frame).
 * fl_panic records the panic as the group's error, which cancels the
 * siblings at once, runs the task's cleanups and jumps back to the frame;
 * the task's entry then finishes exactly as if the body had returned.
 */
#ifndef FL_GROUP_INTERNAL_H
#define FL_GROUP_INTERNAL_H

#include <fl/group.h>

#include <setjmp.h>
#include <stdbool.h>

#include "sched_internal.h"

/* The target of a captured panic; lives on the task's stack. */
typedef struct fl__panic_frame {
	jmp_buf jb;
	bool panicked; /* set by fl_panic just before it jumps */
} fl__panic_frame;

/* True if g captures panics of its tasks (FL_PANIC_CAPTURE). */
bool fl__group_captures(const struct fl_group *g);

/*
 * Records err (consumed) as a task's outcome: the first one becomes the
 * group's first error and cancels the group's context with it as cause;
 * in collect mode every error is kept. Takes the group lock, then cancels
 * without it. Called by the task's entry and by fl_panic.
 */
void fl__group_record(struct fl_group *g, fl_err *err);

/* Runs and removes t's fl_defer cleanups, last registered first. */
void fl__task_run_defers(fl__task *t);

#endif

/*
 * panic.c - fl_panic, its error type, and fl_defer cleanups.
 *
 * Problem: a task that hits an impossible state should either take the
 * process down loudly (the default, like an unrecovered Go panic) or, in a
 * group that asked for it (FL_PANIC_CAPTURE), end only that task: run its
 * cleanups, cancel its siblings and let fl_group_wait report the panic as
 * an error carrying the message and a backtrace.
 *
 * Data structure: each task keeps a LIFO singly linked list of cleanups
 * (t->defers) and, while a capturing group's body runs, a pointer to a
 * panic frame on its own stack (t->panic_frame, see panic_internal.h). Both
 * are written only by the task itself, so no lock protects them.
 *
 * Capture, in this order: build the panic error; record it on the group,
 * which cancels the group's context with it as cause, so siblings wake at
 * once and the panic (not some sibling's "cancelled") is the first error;
 * run the cleanups LIFO; longjmp to the frame. The frame pointer is cleared
 * first, so a panic inside a cleanup, or after the body returned, aborts.
 * longjmp stays on the task's own stack, which TSan and ASan intercept and
 * handle; the jump skips the frames between the body and fl_panic, which is
 * why fl/task.h forbids panicking while holding a lock.
 *
 * The backtrace uses glibc's execinfo (no extra library); without
 * -rdynamic the frames show as module+offset, which addr2line resolves.
 *
 * Lock order: fl_panic takes the group lock (and then context locks,
 * without it) through the frame's record callback; nothing here holds a lock while
 * calling user code.
 */
#include "panic_internal.h"

#include <fl/task.h>

#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

#define MAX_FRAMES 64

static bool panic_is(const void *payload, const fl_err *target)
{
	(void)payload;
	return target == FL_ERR_PANIC;
}

const fl_err_type fl_panic_type = {
	.name = "panic",
	.size = sizeof(fl_panic_info),
	.is = panic_is,
};

/* Writes the frames, one per line, into buf (truncated to cap). */
static void format_backtrace(void *const *frames, int n, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	char **syms = backtrace_symbols(frames, n);
	for (int i = 0; i < n && len + 1 < cap; i++) {
		int w;
		if (syms)
			w = snprintf(buf + len, cap - len, "%s\n", syms[i]);
		else
			w = snprintf(buf + len, cap - len, "%p\n", frames[i]);
		if (w < 0)
			break;
		len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
	}
	free(syms);
}

void fl__task_run_defers(fl__task *t)
{
	fl__defer *d;
	while ((d = t->defers) != NULL) {
		t->defers = d->next; /* pop first: a cleanup may defer again */
		d->fn(d->arg);
		free(d);
	}
}

fl_err *fl_defer(void (*fn)(void *arg), void *arg)
{
	if (!fn)
		return fl_err_wrap(FL_ERR_INVAL, "fl_defer: NULL function");
	fl__task *t = fl__sched()->self();
	fl__defer *d = fl__malloc(sizeof(*d));
	if (!d) {
		fn(arg); /* as documented: run at once rather than never */
		return FL_ERR_NOMEM;
	}
	d->fn = fn;
	d->arg = arg;
	d->next = t->defers;
	t->defers = d;
	return NULL;
}

void fl_defer_run_all(void) { fl__task_run_defers(fl__sched()->self()); }

/* Unwinds t to its panic frame; the group records nothing more. */
static void capture(fl__task *t, fl_panic_info *info, void *const *frames, int n)
	__attribute__((noreturn));
static void capture(fl__task *t, fl_panic_info *info, void *const *frames, int n)
{
	fl__panic_frame *f = t->panic_frame;
	t->panic_frame = NULL;
	format_backtrace(frames, n, info->backtrace, sizeof(info->backtrace));
	fl_err *err = fl_err_typed(&fl_panic_type, info, NULL, "panic in task '%s': %s", info->task,
				   info->msg);
	f->record(t->group, err); /* cancels the siblings now */
	fl__task_run_defers(t);
	f->panicked = true;
	longjmp(f->jb, 1);
}

void fl_panic(const char *fmt, ...)
{
	fl_panic_info info;
	memset(&info, 0, sizeof(info));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(info.msg, sizeof(info.msg), fmt, ap);
	va_end(ap);

	void *frames[MAX_FRAMES];
	int n = backtrace(frames, MAX_FRAMES);
	fl__task *t = fl__sched()->self();
	snprintf(info.task, sizeof(info.task), "%s", t->name);
	if (!t->adopted && t->panic_frame && t->panic_capture)
		capture(t, &info, frames, n);

	fprintf(stderr, "faultline: panic in task '%s': %s\n", info.task, info.msg);
	if (t->group && t->panic_capture)
		fprintf(stderr, "faultline: (panicked outside the task body, e.g. in a "
				"cleanup: not capturable)\n");
	fprintf(stderr, "backtrace:\n");
	fflush(stderr);
	backtrace_symbols_fd(frames, n, 2);
	abort();
}

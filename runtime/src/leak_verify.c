/*
 * leak_verify.c - fl_leak_verify_none: one look at what a leak scope still
 * tracks and at the process's threads, descriptors and heap against the
 * scope's baseline, repeated (yield, then short sleeps through the
 * runtime) until nothing is left or the settle deadline passes, as
 * goleak's VerifyNone retries. The report is built in a bounded buffer on
 * the stack, so the heap it measures holds nothing of its own. It sits
 * above leak.c and ctx.c (it sleeps), which call no function here.
 */
#include <fl/leak.h>
#include <fl/task.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak_internal.h"

/* A bounded text: lines past its end are counted, not kept. */
typedef struct text {
	char buf[4096];
	size_t len;
	int lines, dropped;
} text;

static void FL_PRINTF(2, 3) line(text *t, const char *fmt, ...)
{
	t->lines++;
	if (t->len + 160 > sizeof(t->buf)) {
		t->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	t->len += (size_t)snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "\n  ");
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < sizeof(t->buf) - t->len ? (size_t)n
							      : sizeof(t->buf) - t->len - 1;
}

static const char *wait_text(const fl__task *t, char *buf, size_t cap)
{
	int kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
	const void *on = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
	static const char *const what[] = {"running",       "chan send on",   "chan recv on",
					   "select",        "ctx wait",       "sleep",
					   "group wait on", "group limit of", "blocking call"};
	if (kind < 0 || kind > FL__WAIT_BLOCKING)
		kind = FL__WAIT_NONE;
	if (kind == FL__WAIT_CHAN_SEND || kind == FL__WAIT_CHAN_RECV ||
	    kind == FL__WAIT_GROUP_WAIT || kind == FL__WAIT_GROUP_LIMIT)
		snprintf(buf, cap, "%s '%s'", what[kind], fl__obj_label(on, "nil"));
	else
		snprintf(buf, cap, "%s", what[kind]);
	return buf;
}

static void list_objects(fl_leak_scope *s, text *t)
{
	static const char *const kinds[] = {"task", "chan", "ctx", "group"};
	fl__mutex_lock(&s->mu);
	for (const fl__leak_rec *r = s->head; r; r = r->next) {
		char w[96];
		if (r->kind == FL__LEAK_TASK)
			line(t, "task '%s' (group '%s') created by '%s' [%s]", r->label, r->group,
			     r->creator, wait_text(r->task, w, sizeof(w)));
		else
			line(t, "%s '%s' created by '%s'", kinds[r->kind], r->label, r->creator);
	}
	fl__mutex_unlock(&s->mu);
}

static bool in_threads(const fl_leak_scope *s, long tid)
{
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid == tid)
			return true;
	return false;
}

static bool ignored(const char *name, const char *const *prefixes)
{
	if (fl__leak_runtime_thread(name))
		return true;
	for (const char *const *p = prefixes; p && *p; p++)
		if (strncmp(name, *p, strlen(*p)) == 0)
			return true;
	return false;
}

static void list_threads(const fl_leak_scope *s, const fl_leak_opts *o, text *t)
{
	fl__leak_thread *th;
	size_t n;
	if (fl__leak_threads(&th, &n) != 0) {
		line(t, "threads: cannot read /proc/self/task");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!in_threads(s, th[i].tid) && !ignored(th[i].name, o->ignore_threads))
			line(t, "thread %ld '%s'", th[i].tid, th[i].name);
	free(th);
}

static void list_fds(const fl_leak_scope *s, text *t)
{
	fl__leak_fd *fds;
	size_t n;
	if (fl__leak_fds(&fds, &n) != 0) {
		line(t, "fds: cannot read /proc/self/fd");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool old = false;
		for (size_t j = 0; j < s->nfds && !old; j++)
			old = s->fds[j].fd == fds[i].fd &&
			      strcmp(s->fds[j].target, fds[i].target) == 0;
		if (!old)
			line(t, "fd %d -> %s", fds[i].fd, fds[i].target);
	}
	free(fds);
}

/* One look: fills t with what is still live beyond the baseline. */
static void look(fl_leak_scope *s, const fl_leak_opts *o, text *t)
{
	t->len = 0;
	t->lines = t->dropped = 0;
	t->buf[0] = '\0';
	if (!(o->skip & FL_LEAK_HEAP) && s->heap0 >= 0) {
		const char *src;
		int64_t d = fl_leak_heap_bytes(&src) - s->heap0;
		int64_t tol = o->heap_tolerance > 0 ? o->heap_tolerance : 64 << 10;
		if (d > tol)
			line(t, "heap %+lld B over the %lld B tolerance (%s)", (long long)d,
			     (long long)tol, src);
	}
	if (!(o->skip & FL_LEAK_OBJECTS))
		list_objects(s, t);
	if (!(o->skip & FL_LEAK_THREADS))
		list_threads(s, o, t);
	if (!(o->skip & FL_LEAK_FDS))
		list_fds(s, t);
}

fl_err *fl_leak_verify_none(fl_leak_scope *s, const fl_leak_opts *opts)
{
	if (!s)
		return fl_err_wrap(FL_ERR_INVAL, "fl_leak_verify_none: NULL scope");
	fl_leak_opts o = opts ? *opts : (fl_leak_opts){0};
	int64_t settle = o.settle_ns == 0 ? FL_SEC(1) : o.settle_ns;
	int64_t start = fl_now(), end = settle < 0 ? start : fl_deadline_in(settle);
	text tb, *t = &tb; /* not on the heap: the heap is measured */
	for (int polls = 0;; polls++) {
		look(s, &o, t);
		if (t->lines == 0 || fl_now() >= end)
			break;
		if (polls < 100)
			fl_yield();
		else
			(void)fl_sleep_until(NULL, fl_deadline_in(FL_US(500)));
	}
	fl_err *err = NULL;
	if (t->lines) {
		char waited[48];
		snprintf(waited, sizeof(waited), "%.3f s", (double)(fl_now() - start) / 1e9);
		err = fl_err_new("leak scope '%s': %d still live after %s:%s%s", s->name, t->lines,
				 waited, t->buf, t->dropped ? "\n  ..." : "");
	}
	return err;
}

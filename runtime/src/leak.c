/*
 * leak.c - leak scopes (fl/leak.h): which tasks, channels, contexts and
 * groups a test or scenario created, and goleak's VerifyNone over them and
 * over the process's threads, descriptors and heap bytes.
 *
 * A scope is current on one task (an adopted thread is a task too): the
 * task's leak_scope field, written only by that task. A task spawned by a
 * group inherits its spawner's scope when it is created, so everything a
 * test's tasks create belongs to the test, and a second scope current on
 * another task sees none of it. Tracking is by record: a constructor that
 * sees a live scope (fl__leak_scopes, one relaxed load, FL__LEAK_TRACK)
 * allocates a record naming the object, its creator and, for a task, its
 * group, and puts it on the scope's list; the object keeps the record
 * (fl__obj.leak, fl__task.leak) and detaches it when it is freed. Records
 * hold a reference to their scope, so a scope freed while objects it
 * tracked still live stays allocated until the last of them goes.
 *
 * Lock order: a scope's mu is a leaf; it is taken in track, untrack and
 * verify only, with nothing else held. A task record's task pointer is
 * valid while the record is on the list (its group untracks it before the
 * task is freed), so verify reads the task's wait state under mu.
 */
#include <fl/leak.h>
#include <fl/task.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak_internal.h"
#include "sync_internal.h"

atomic_int fl__leak_scopes;

typedef struct fl__leak_rec {
	struct fl_leak_scope *scope; /* immutable; holds a reference */
	struct fl__leak_rec *prev, *next; /* scope->mu */
	enum fl__leak_kind kind;     /* immutable */
	const fl__task *task;        /* immutable: a task record's task */
	char label[48];              /* immutable: name at creation */
	char group[48];              /* immutable: a task's group, "" */
	char creator[48];            /* immutable: the creating task's name */
} fl__leak_rec;

struct fl_leak_scope {
	fl__mutex mu;
	fl__leak_rec *head;          /* mu: live records */
	atomic_long refs;            /* the owner's and one per record */
	fl__task *owner;             /* immutable: the task it is current on */
	struct fl_leak_scope *prev;  /* immutable: owner's scope before */
	char name[48];               /* immutable */
	fl__leak_thread *threads;    /* immutable: baseline threads */
	size_t nthreads;
	fl__leak_fd *fds;            /* immutable: baseline descriptors */
	size_t nfds;
	int64_t heap0;               /* immutable: heap bytes at baseline, -1 */
};

static void scope_unref(fl_leak_scope *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	fl__mutex_destroy(&s->mu);
	free(s->threads);
	free(s->fds);
	free(s);
}

static fl__leak_rec *rec_new(fl_leak_scope *s, enum fl__leak_kind kind, const char *label,
			     const fl__task *creator)
{
	fl__leak_rec *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL; /* untracked: a leak check then misses it, never crashes */
	r->scope = s;
	r->kind = kind;
	snprintf(r->label, sizeof(r->label), "%s", label ? label : "");
	snprintf(r->creator, sizeof(r->creator), "%s", creator->name);
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return r;
}

static void rec_insert(fl__leak_rec *r)
{
	fl_leak_scope *s = r->scope;
	fl__mutex_lock(&s->mu);
	r->prev = NULL;
	r->next = s->head;
	if (s->head)
		s->head->prev = r;
	s->head = r;
	fl__mutex_unlock(&s->mu);
}

void fl__leak_track_obj(fl__obj *o, enum fl__leak_kind kind)
{
	fl__task *self = fl__sched()->self();
	fl_leak_scope *s = self->leak_scope;
	if (!s)
		return;
	o->leak = rec_new(s, kind, o->label, self);
	if (o->leak)
		rec_insert(o->leak);
}

void fl__leak_track_task(fl__task *t)
{
	fl__task *self = fl__sched()->self();
	fl_leak_scope *s = self->leak_scope;
	t->leak_scope = s; /* inherited: what t creates is s's too */
	if (!s)
		return;
	t->leak = rec_new(s, FL__LEAK_TASK, t->name, self);
	if (!t->leak)
		return;
	t->leak->task = t;
	snprintf(t->leak->group, sizeof(t->leak->group), "%s", fl__obj_label(t->group, "-"));
	rec_insert(t->leak);
}

void fl__leak_untrack(fl__leak_rec *r)
{
	fl_leak_scope *s = r->scope;
	fl__mutex_lock(&s->mu);
	if (r->prev)
		r->prev->next = r->next;
	else
		s->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	fl__mutex_unlock(&s->mu);
	free(r);
	scope_unref(s);
}

fl_err *fl_leak_baseline(const char *name, fl_leak_scope **out)
{
	if (!out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_leak_baseline: NULL out");
	fl_leak_scope *s = calloc(1, sizeof(*s));
	if (!s)
		return FL_ERR_NOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "leak scope");
	int rc = fl__leak_threads(&s->threads, &s->nthreads);
	if (rc)
		goto fail;
	rc = fl__leak_fds(&s->fds, &s->nfds);
	if (rc)
		goto fail;
	fl__mutex_init(&s->mu);
	atomic_init(&s->refs, 1);
	s->owner = fl__sched()->self();
	s->prev = s->owner->leak_scope;
	s->heap0 = fl_leak_heap_bytes(NULL);
	s->owner->leak_scope = s;
	atomic_fetch_add_explicit(&fl__leak_scopes, 1, memory_order_relaxed);
	*out = s;
	return NULL;
fail:
	free(s->threads);
	free(s);
	return fl_err_errno(rc, "fl_leak_baseline: reading /proc/self");
}

void fl_leak_scope_free(fl_leak_scope *s)
{
	if (!s)
		return;
	if (s->owner->leak_scope == s)
		s->owner->leak_scope = s->prev;
	atomic_fetch_sub_explicit(&fl__leak_scopes, 1, memory_order_relaxed);
	scope_unref(s);
}

/* ---- verify ----------------------------------------------------------------- */

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
		t->len += (size_t)n < sizeof(t->buf) - t->len ? (size_t)n : sizeof(t->buf) - t->len - 1;
}

static const char *wait_text(const fl__task *t, char *buf, size_t cap)
{
	int kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
	const void *on = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
	static const char *const what[] = {"running", "chan send on", "chan recv on", "select",
					   "ctx wait", "sleep", "group wait on", "group limit of",
					   "blocking call"};
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
			old = s->fds[j].fd == fds[i].fd && strcmp(s->fds[j].target, fds[i].target) == 0;
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

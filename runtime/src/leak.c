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
 * fl_leak_verify_none lives in leak_verify.c, above the contexts it sleeps
 * on, since contexts call the hooks here.
 */
#include <fl/leak.h>
#include <fl/task.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_annotate_internal.h"
#include "leak_internal.h"
#include "sync_internal.h"
#include "fl_alloc_internal.h"

atomic_int fl__leak_scopes;

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
	fl__leak_rec *r = fl__calloc(1, sizeof(*r));
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

static void *nothing(void *arg) { return arg; }

/* Once, before the first scope: ThreadSanitizer starts its background
 * thread at the process's first pthread_create; make that happen before
 * the first thread baseline, or the first thread a test starts would bring
 * an unnamed one with it. */
static void start_lazy_threads(void)
{
	/* Read relaxed by every constructor, on purpose without ordering: a
	 * scope sees the objects created after its baseline returns. */
	FL_BENIGN_RACE(&fl__leak_scopes, "leak scopes: relaxed count, read on create");
	pthread_t t;
	if (pthread_create(&t, NULL, nothing, NULL) == 0)
		(void)pthread_join(t, NULL);
}

fl_err *fl_leak_baseline(const char *name, fl_leak_scope **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	if (!out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_leak_baseline: NULL out");
	(void)pthread_once(&once, start_lazy_threads);
	fl_leak_scope *s = fl__calloc(1, sizeof(*s));
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

/*
 * task.c - the tasks and counters under the scheduler seam: the registry
 * of live tasks behind fl_task_dump, the live object counters and the
 * progress counter behind fl_stats_get.
 *
 * It sits below the backends and the seam's selection (sched.c): a backend
 * creates, adopts and finishes tasks here, and nothing here calls a
 * backend, so the backends and the seam form no circle.
 *
 * The progress counter behind fl_stats.progress is FL__PROGRESS_STRIPES
 * cache-line-padded words, a task bumping the one of its id with a relaxed
 * load and store (fl__progress_bump, inline in sched_internal.h): no
 * locked instruction on the channel hot path, at the price of an increment
 * lost now and then when two tasks of one stripe race (a stripe can even
 * step back). Readers only need to see it move, and fl_stats_get never
 * reports less than it reported before.
 *
 * The registry is REG_STRIPES doubly linked lists of every spawned or
 * adopted task: a task is on stripe id % REG_STRIPES, under that stripe's
 * lock, so tasks starting and ending on different workers rarely contend.
 * A task's own wait fields are atomics written only by that task, so a dump
 * can read them from any thread without stopping it. The stripe locks are
 * leaf locks: nothing else is taken while one is held, except stdio in
 * fl_task_dump.
 */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include "sched_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_annotate_internal.h"
#include "fl_alloc_internal.h"

/* ---- progress ----------------------------------------------------------- */

struct fl__progress_stripe fl__progress[FL__PROGRESS_STRIPES];
static atomic_ulong progress_seen; /* the most fl_stats_get has reported */

/* Before any task can bump (the backend starts here): Helgrind does not
 * model atomics, and the stripes are racy by design. */
void fl__progress_init(void)
{
	for (int i = 0; i < FL__PROGRESS_STRIPES; i++)
		FL_BENIGN_RACE(&fl__progress[i].n, "progress: relaxed, lossy, for watchdogs");
	FL_BENIGN_RACE(&progress_seen, "progress: relaxed, for watchdogs");
}

/* The sum of the stripes, never less than an earlier result. */
unsigned long fl__progress_read(void)
{
	unsigned long sum = 0;
	for (int i = 0; i < FL__PROGRESS_STRIPES; i++)
		sum += atomic_load_explicit(&fl__progress[i].n, memory_order_relaxed);
	unsigned long seen = atomic_load_explicit(&progress_seen, memory_order_relaxed);
	while (sum > seen &&
	       !atomic_compare_exchange_weak_explicit(&progress_seen, &seen, sum,
						      memory_order_relaxed, memory_order_relaxed))
		;
	return sum > seen ? sum : seen;
}

/* ---- counters ----------------------------------------------------------- */

static atomic_long counters[FL__C_N];

void fl__count_add(fl__counter c, long delta)
{
	atomic_fetch_add_explicit(&counters[c], delta, memory_order_relaxed);
}

long fl__count_get(fl__counter c) { return atomic_load(&counters[c]); }

/* ---- task registry ------------------------------------------------------ */

#define REG_STRIPES 16

static struct reg_stripe {
	_Alignas(64) fl__mutex mu;
	fl__task *head; /* mu */
} reg[REG_STRIPES] = {
#define S                                   \
	{                                   \
		.mu = FL__MUTEX_INITIALIZER \
	}
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
#undef S
};
_Static_assert(sizeof(reg) / sizeof(reg[0]) == REG_STRIPES, "one initialiser per stripe");
static atomic_ullong next_id = 1;

static struct reg_stripe *reg_of(const fl__task *t) { return &reg[t->id % REG_STRIPES]; }

static void reg_insert(fl__task *t)
{
	FL_BENIGN_RACE(&t->wait_kind, "task dump: diagnostic atomic read");
	FL_BENIGN_RACE(&t->wait_obj, "task dump: diagnostic atomic read");
	FL_BENIGN_RACE(&t->wait_until_ns, "task dump: diagnostic atomic read");
	struct reg_stripe *r = reg_of(t);
	fl__mutex_lock(&r->mu);
	t->reg_prev = NULL;
	t->reg_next = r->head;
	if (r->head)
		r->head->reg_prev = t;
	r->head = t;
	t->registered = true;
	fl__mutex_unlock(&r->mu);
}

fl__task *fl__task_new(const char *name, struct fl_group *g, void (*entry)(fl__task *), void *arg)
{
	fl__task *t = fl__calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (!name)
		name = "task";
	size_t len = strnlen(name, sizeof(t->name) - 1); /* snprintf's truncation */
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->group = g;
	t->id = atomic_fetch_add(&next_id, 1);
	t->entry = entry;
	t->arg = arg;
	atomic_init(&t->wait_kind, FL__WAIT_NONE);
	atomic_init(&t->wait_obj, NULL);
	atomic_init(&t->wait_until_ns, FL_FOREVER);
	reg_insert(t);
	fl__count_add(FL__C_TASKS, 1);
	return t;
}

void fl__task_unregister(fl__task *t)
{
	/* registered changes only on the task's own path (spawn, its entry,
	 * its finish or its thread's exit), so the task may read it unlocked. */
	if (!t->registered)
		return;
	struct reg_stripe *r = reg_of(t);
	fl__mutex_lock(&r->mu);
	bool was = t->registered;
	if (was) {
		if (t->reg_prev)
			t->reg_prev->reg_next = t->reg_next;
		else
			r->head = t->reg_next;
		if (t->reg_next)
			t->reg_next->reg_prev = t->reg_prev;
		t->registered = false;
	}
	fl__mutex_unlock(&r->mu);
	if (was && !t->adopted) {
		fl__count_add(FL__C_TASKS, -1);
		fl__progress_bump(t); /* a task finished */
	}
}

void fl__task_finish(fl__task *t)
{
	fl__task_unregister(t);
	free(t);
}

void fl__task_adopt(fl__task *t)
{
	t->adopted = true;
	t->id = atomic_fetch_add(&next_id, 1);
	atomic_init(&t->wait_kind, FL__WAIT_NONE);
	atomic_init(&t->wait_obj, NULL);
	atomic_init(&t->wait_until_ns, FL_FOREVER);
	reg_insert(t);
}

void fl__task_set_wait(fl__task *t, int kind, const void *obj, int64_t until)
{
	atomic_store_explicit(&t->wait_obj, obj, memory_order_relaxed);
	atomic_store_explicit(&t->wait_until_ns, until, memory_order_relaxed);
	atomic_store_explicit(&t->wait_kind, kind, memory_order_release);
}

static void describe_wait(const fl__task *t, char *buf, size_t cap, int64_t now)
{
	int kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
	const void *obj = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
	int64_t until = atomic_load_explicit(&t->wait_until_ns, memory_order_relaxed);
	char when[48] = "";
	if (until != FL_FOREVER && kind != FL__WAIT_NONE)
		snprintf(when, sizeof(when), " (deadline %+.3fms)", (double)(until - now) / 1e6);
	switch (kind) {
	case FL__WAIT_NONE: snprintf(buf, cap, "running"); return;
	case FL__WAIT_CHAN_SEND:
		snprintf(buf, cap, "chan send on '%s'%s", fl__obj_label(obj, "nil"), when);
		return;
	case FL__WAIT_CHAN_RECV:
		snprintf(buf, cap, "chan recv on '%s'%s", fl__obj_label(obj, "nil"), when);
		return;
	case FL__WAIT_SELECT: snprintf(buf, cap, "select%s", when); return;
	case FL__WAIT_CTX: snprintf(buf, cap, "ctx wait%s", when); return;
	case FL__WAIT_SLEEP:
		snprintf(buf, cap, "sleep until %+.3fms", (double)(until - now) / 1e6);
		return;
	case FL__WAIT_GROUP_WAIT:
		snprintf(buf, cap, "group wait on '%s'", fl__obj_label(obj, "-"));
		return;
	case FL__WAIT_GROUP_LIMIT:
		snprintf(buf, cap, "group limit of '%s'", fl__obj_label(obj, "-"));
		return;
	case FL__WAIT_BLOCKING: snprintf(buf, cap, "blocking call"); return;
	default: snprintf(buf, cap, "unknown wait %d", kind); return;
	}
}

#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(FL_TASK_RUNNING, FL__WAIT_NONE) &&
		       SAME(FL_TASK_CHAN_SEND, FL__WAIT_CHAN_SEND) &&
		       SAME(FL_TASK_CHAN_RECV, FL__WAIT_CHAN_RECV) &&
		       SAME(FL_TASK_SELECT, FL__WAIT_SELECT) &&
		       SAME(FL_TASK_CTX_WAIT, FL__WAIT_CTX) &&
		       SAME(FL_TASK_SLEEP, FL__WAIT_SLEEP) &&
		       SAME(FL_TASK_GROUP_WAIT, FL__WAIT_GROUP_WAIT) &&
		       SAME(FL_TASK_GROUP_LIMIT, FL__WAIT_GROUP_LIMIT) &&
		       SAME(FL_TASK_BLOCKING, FL__WAIT_BLOCKING),
	       "the public wait kinds are the registry's");
#undef SAME

size_t fl_task_states(fl_task_state *out, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < REG_STRIPES; i++) {
		fl__mutex_lock(&reg[i].mu);
		for (fl__task *t = reg[i].head; t; t = t->reg_next, n++) {
			if (n >= cap || !out)
				continue;
			fl_task_state *s = &out[n];
			int kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
			s->id = t->id;
			snprintf(s->name, sizeof(s->name), "%s", t->name);
			snprintf(s->group, sizeof(s->group), "%s", fl__obj_label(t->group, "-"));
			s->wait = (enum fl_task_wait)kind;
			s->on = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
			snprintf(s->on_label, sizeof(s->on_label), "%s", fl__obj_label(s->on, ""));
			s->until_ns = atomic_load_explicit(&t->wait_until_ns, memory_order_relaxed);
			s->thread = t->adopted;
		}
		fl__mutex_unlock(&reg[i].mu);
	}
	return n;
}

int fl__task_dump_tasks(FILE *out, int64_t now)
{
	int n = 0;
	for (int i = 0; i < REG_STRIPES; i++) {
		fl__mutex_lock(&reg[i].mu);
		for (fl__task *t = reg[i].head; t; t = t->reg_next) {
			char what[160];
			describe_wait(t, what, sizeof(what), now);
			fprintf(out, "  #%" PRIu64 " %-24s group=%-16s %s%s\n", t->id, t->name,
				fl__obj_label(t->group, "-"), what, t->adopted ? " [thread]" : "");
			n++;
		}
		fl__mutex_unlock(&reg[i].mu);
	}
	return n;
}

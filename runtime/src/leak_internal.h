/*
 * leak_internal.h - the hooks object constructors call for leak scopes
 * (fl/leak.h), and the process probes behind fl_leak_verify_none.
 *
 * The fast path is one relaxed load of fl__leak_scopes (live scopes): while
 * it is zero no object is tracked and creating one costs nothing more.
 */
#ifndef FL_LEAK_INTERNAL_H
#define FL_LEAK_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <fl/leak.h>

#include "sched_internal.h"
#include "sync_internal.h"

enum fl__leak_kind { FL__LEAK_TASK, FL__LEAK_CHAN, FL__LEAK_CTX, FL__LEAK_GROUP };

/* One OS thread of the process. */
typedef struct fl__leak_thread {
	long tid;
	char name[16];
} fl__leak_thread;

/* One open descriptor and what it points to (readlink). */
typedef struct fl__leak_fd {
	int fd;
	char target[96];
} fl__leak_fd;

/* ---- scopes and records (leak.c; verified in leak_verify.c) --------------- */

typedef struct fl__leak_rec {
	struct fl_leak_scope *scope;      /* immutable; holds a reference */
	struct fl__leak_rec *prev, *next; /* scope->mu */
	enum fl__leak_kind kind;          /* immutable */
	const fl__task *task;             /* immutable: a task record's task */
	char label[48];                   /* immutable: name at creation */
	char group[48];                   /* immutable: a task's group, "" */
	char creator[48];                 /* immutable: the creating task's name */
} fl__leak_rec;

struct fl_leak_scope {
	fl__mutex mu;
	fl__leak_rec *head;         /* mu: live records */
	atomic_long refs;           /* the owner's and one per record */
	fl__task *owner;            /* immutable: the task it is current on */
	struct fl_leak_scope *prev; /* immutable: owner's scope before */
	char name[48];              /* immutable */
	fl__leak_thread *threads;   /* immutable: baseline threads */
	size_t nthreads;
	fl__leak_fd *fds; /* immutable: baseline descriptors */
	size_t nfds;
	int64_t heap0; /* immutable: heap bytes at baseline, -1 */
};

/* Scopes alive in the process (leak.c). */
extern atomic_int fl__leak_scopes;

/* Slow paths: attach a new object (its fl__obj header) or a new task to
 * the current task's scope, if it has one. */
void fl__leak_track_obj(fl__obj *o, enum fl__leak_kind kind);
void fl__leak_track_task(fl__task *t);
/* Detaches a record from its scope and frees it. */
void fl__leak_untrack(struct fl__leak_rec *rec);

#define FL__LEAK_ON() \
	__builtin_expect(atomic_load_explicit(&fl__leak_scopes, memory_order_relaxed) != 0, 0)
/* After an object is built, before it is published. */
#define FL__LEAK_TRACK(obj, kind)                          \
	do {                                               \
		if (FL__LEAK_ON())                         \
			fl__leak_track_obj((obj), (kind)); \
	} while (0)
/* When an object is freed (or a task ends). */
#define FL__LEAK_UNTRACK(rec)                           \
	do {                                            \
		if (__builtin_expect((rec) != NULL, 0)) \
			fl__leak_untrack(rec);          \
	} while (0)

/* ---- process probes (leak_proc.c) ----------------------------------------- */

/* The threads (fds) of the process into a new array *out of *n; 0, or an
 * errno value. The caller frees *out. */
int fl__leak_threads(fl__leak_thread **out, size_t *n);
int fl__leak_fds(fl__leak_fd **out, size_t *n);
/* True for the runtime's own threads (pools, timers), never leaks. */
int fl__leak_runtime_thread(const char *name);

#endif

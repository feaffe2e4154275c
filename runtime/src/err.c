/*
 * err.c - immutable, reference-counted errors: Go's errors package in C.
 *
 * Problem: stages, groups and contexts pass errors between threads, wrap
 * them on the way up, and later ask "was this a cancellation?" or "which
 * fault was injected?". So errors must be shareable without locks, cheap to
 * build, unable to fail, and matchable through any nesting of wraps and
 * joins.
 *
 * Data structure: every heap error is one malloc block that holds the public
 * struct fl_err, then the typed payload or the join's child array, then the
 * message text:
 *
 *     [ struct fl_err | payload or kids[] | msg \0 ]
 *
 * One block means one allocation per error and one way to fail. Wraps and
 * typed errors point at their cause, joins at their kids. The result is a
 * DAG: an error may be shared by many parents, but a node can only point at
 * errors that existed before it, so there are no cycles.
 *
 * Invariants:
 *   - After construction only refs changes, so readers need no lock.
 *   - Sentinels (kind FL__ERR_SENTINEL, refs < 0) are immortal: ref and drop
 *     ignore them and never touch their count.
 *   - A heap error owns one reference to its cause and one to each kid. It
 *     releases them when its own count reaches zero. The decrement is
 *     acq_rel, so the freeing thread sees every write that was made before
 *     another thread's drop. Helgrind does not understand atomics, so the
 *     same edge is spelled out with the fl_annotate_internal.h macros.
 *   - live counts heap errors from allocation to free.
 *
 * Depth: a wrap chain can grow without bound (think of a retry loop that
 * wraps the same error each time), so every walk follows causes with a loop
 * and never recurses on them. Only join children recurse. Joins are built
 * by hand, and their depth stays small.
 *
 * Text: a node's label is its own part of the message. For a wrap or a leaf
 * that is the message; for a typed node it is the type's format() output
 * and the message, joined by ": " when both are there (the type name when
 * neither is). One-line text is "label: <cause>", joins are "[a; b]".
 *
 * There are no locks.
 */
#include <fl/err.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err_internal.h"
#include "fl_annotate_internal.h"
#include "fl_assert_internal.h"
#include "fl_alloc_internal.h"

FL_ERR_SENTINEL(FL_ERR_CANCELED, "context canceled");
FL_ERR_SENTINEL(FL_ERR_DEADLINE, "context deadline exceeded");
FL_ERR_SENTINEL(FL_ERR_NOMEM, "out of memory");
FL_ERR_SENTINEL(FL_ERR_CLOSED, "channel closed");
FL_ERR_SENTINEL(FL_ERR_LIMIT, "limit reached");
FL_ERR_SENTINEL(FL_ERR_INVAL, "invalid argument");
FL_ERR_SENTINEL(FL_ERR_AGAIN, "operation would block");
FL_ERR_SENTINEL(FL_ERR_MISUSE, "API misuse");
FL_ERR_SENTINEL(FL_ERR_PANIC, "task panicked");
FL_ERR_SENTINEL(FL_ERR_SYSTEM, "system error");
FL_ERR_SENTINEL(FL_ERR_DEADLOCK, "deadlock");

/* The layout of one heap error; see the design note. */
struct err_block {
	fl_err err;         /* immutable after construction but for refs */
	max_align_t data[]; /* payload or kids, then the message */
};

/* Heap errors allocated and not yet freed. Relaxed: a statistic only. */
static atomic_long live;

/* Test hook: allocations left before they fail; negative means off. */
static atomic_int alloc_budget = -1;

void fl__err_set_alloc_fail(int n_before_fail)
{
	int n = n_before_fail < 0 ? -1 : n_before_fail;
	atomic_store_explicit(&alloc_budget, n, memory_order_relaxed);
}

/* Takes one allocation from the test budget; false when it is spent. */
static bool budget_take(void)
{
	int left = atomic_load_explicit(&alloc_budget, memory_order_relaxed);
	while (left > 0 &&
	       !atomic_compare_exchange_weak_explicit(&alloc_budget, &left, left - 1,
						      memory_order_relaxed, memory_order_relaxed))
		;
	return left != 0;
}

/*
 * Allocates a heap node with data_size bytes of payload or kids and room for
 * a message of msg_len bytes, which the caller writes to *msg. The message
 * is NUL-terminated already, so an empty one needs no writing. Returns NULL
 * when out of memory.
 */
static fl_err *node_alloc(enum fl__err_kind kind, size_t data_size, size_t msg_len, char **msg)
{
	const size_t align = sizeof(max_align_t);
	const size_t max = SIZE_MAX / 4;

	if (data_size > max || msg_len > max)
		return NULL;
	size_t data = (data_size + align - 1) / align * align;
	if (!budget_take())
		return NULL;
	struct err_block *b = fl__malloc(sizeof(*b) + data + msg_len + 1);
	if (!b) {
		fl__alloc_absorbed(); /* the caller degrades: NOMEM or the cause */
		return NULL;
	}

	fl_err *e = &b->err;
	atomic_init(&e->refs, 1);
	e->kind = kind;
	e->cause = NULL;
	e->kids = NULL;
	e->nkids = 0;
	e->type = NULL;
	e->payload = NULL;
	*msg = (char *)b->data + data;
	(*msg)[msg_len] = '\0';
	e->msg = *msg;
	if (kind == FL__ERR_TYPED)
		e->payload = b->data;
	else if (kind == FL__ERR_JOIN)
		e->kids = (fl_err **)b->data;
	atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
	return e;
}

static fl_err *node_new(enum fl__err_kind kind, size_t data_size, const char *suffix,
			const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * Allocates a node whose message is fmt's output, then ": suffix" when
 * suffix is given (just the suffix when fmt prints nothing). fmt may be
 * NULL for no message. Returns NULL when out of memory.
 */
static fl_err *node_new(enum fl__err_kind kind, size_t data_size, const char *suffix,
			const char *fmt, va_list ap)
{
	size_t head = 0;
	if (fmt) {
		va_list aq;
		va_copy(aq, ap);
		int n = vsnprintf(NULL, 0, fmt, aq);
		va_end(aq);
		head = n > 0 ? (size_t)n : 0;
	}
	size_t tail = suffix ? strlen(suffix) : 0;
	size_t sep = head && tail ? 2 : 0;

	char *msg;
	fl_err *e = node_alloc(kind, data_size, head + sep + tail, &msg);
	if (!e)
		return NULL;
	if (head)
		vsnprintf(msg, head + 1, fmt, ap);
	if (sep)
		memcpy(msg + head, ": ", 2);
	if (tail)
		memcpy(msg + head + sep, suffix, tail);
	return e;
}

fl_err *fl_err_from_status(int status)
{
	switch (status) {
	case FL_OK: return NULL;
	case FL_CLOSED: return FL_ERR_CLOSED;
	case FL_CANCELED: return FL_ERR_CANCELED;
	case FL_TIMEDOUT: return FL_ERR_DEADLINE;
	case FL_AGAIN: return FL_ERR_AGAIN;
	case FL_DEADLOCK: return FL_ERR_DEADLOCK;
	}
	FL_ABORT("fl_err_from_status: unknown status");
}

fl_err *fl_err_new(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fl_err *e = node_new(FL__ERR_LEAF, 0, NULL, fmt, ap);
	va_end(ap);
	return e ? e : FL_ERR_NOMEM;
}

fl_err *fl_err_wrap(fl_err *cause, const char *fmt, ...)
{
	if (!cause)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	fl_err *e = node_new(FL__ERR_WRAP, 0, NULL, fmt, ap);
	va_end(ap);
	if (!e)
		return cause;
	e->cause = cause;
	return e;
}

static fl_err *typed_new(const fl_err_type *type, const void *payload, fl_err *cause,
			 const char *suffix, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/* fl_err_typed with an optional message suffix (see node_new). A NULL
 * payload gives a zero-filled one. */
static fl_err *typed_new(const fl_err_type *type, const void *payload, fl_err *cause,
			 const char *suffix, const char *fmt, va_list ap)
{
	FL_ASSERT(type != NULL && type->name != NULL);
	fl_err *e = node_new(FL__ERR_TYPED, type->size, suffix, fmt, ap);
	if (!e) {
		/* The payload's resources were handed over: release them. */
		if (payload && type->destroy)
			type->destroy((void *)payload);
		return cause ? cause : FL_ERR_NOMEM;
	}
	if (payload)
		memcpy(e->payload, payload, type->size);
	else
		memset(e->payload, 0, type->size);
	e->type = type;
	e->cause = cause;
	return e;
}

fl_err *fl_err_typed(const fl_err_type *type, const void *payload, fl_err *cause, const char *fmt,
		     ...)
{
	va_list ap;
	va_start(ap, fmt);
	fl_err *e = typed_new(type, payload, cause, NULL, fmt, ap);
	va_end(ap);
	return e;
}

static bool errno_is(const void *payload, const fl_err *target) { return target == FL_ERR_SYSTEM; }

const fl_err_type fl_err_errno_type = {
	.name = "errno",
	.size = sizeof(int),
	.is = errno_is,
};

/*
 * strerror_r is the XSI one (returns int) or the GNU one (returns char *)
 * depending on the C library and feature macros. _Generic on its return
 * type picks the matching reader, so neither variant is named in an #if.
 */
static const char *strerror_xsi(int rc, const char *buf) __attribute__((unused));
static const char *strerror_gnu(const char *s, const char *buf) __attribute__((unused));

static const char *strerror_xsi(int rc, const char *buf) { return rc == 0 ? buf : NULL; }

static const char *strerror_gnu(const char *s, const char *buf) { return s; }

/* The text for errnum; buf (cap bytes) may hold it. Never NULL. */
static const char *errno_text(int errnum, char *buf, size_t cap)
{
	buf[0] = '\0';
	const char *s = _Generic(strerror_r(errnum, buf, cap), int
				 : strerror_xsi, default
				 : strerror_gnu)(strerror_r(errnum, buf, cap), buf);
	if (!s || !*s) {
		snprintf(buf, cap, "errno %d", errnum);
		s = buf;
	}
	return s;
}

fl_err *fl_err_errno(int errnum, const char *fmt, ...)
{
	char buf[128];
	const char *text = errno_text(errnum, buf, sizeof(buf));
	va_list ap;
	va_start(ap, fmt);
	fl_err *e = typed_new(&fl_err_errno_type, &errnum, NULL, text, fmt, ap);
	va_end(ap);
	return e;
}

fl_err *fl_err_join(fl_err **errs, size_t n)
{
	size_t first = n, count = 0;
	for (size_t i = 0; i < n; i++) {
		if (errs[i] && first == n)
			first = i;
		count += errs[i] != NULL;
	}
	if (count == 0)
		return NULL;
	if (count == 1)
		return errs[first];

	char *msg;
	fl_err *e = NULL;
	if (count <= SIZE_MAX / sizeof(fl_err *))
		e = node_alloc(FL__ERR_JOIN, count * sizeof(fl_err *), 0, &msg);
	if (!e) {
		/* Keep the first error, as errgroup would, and drop the rest
		 * (by position: the same error may be passed twice). */
		for (size_t i = first + 1; i < n; i++)
			fl_err_drop(errs[i]);
		return errs[first];
	}
	for (size_t i = 0; i < n; i++)
		if (errs[i])
			e->kids[e->nkids++] = errs[i];
	return e;
}

fl_err *fl_err_join2(fl_err *a, fl_err *b)
{
	fl_err *errs[2] = {a, b};
	return fl_err_join(errs, 2);
}

fl_err *fl_err_ref(fl_err *err)
{
	if (err && err->kind != FL__ERR_SENTINEL)
		atomic_fetch_add_explicit(&err->refs, 1, memory_order_relaxed);
	return err;
}

/* Drops one reference to e; true when it was the last, and e must go. */
static bool release(fl_err *e)
{
	if (e->kind == FL__ERR_SENTINEL)
		return false;
	FL_HAPPENS_BEFORE(&e->refs);
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return false;
	FL_HAPPENS_AFTER(&e->refs);
	FL_HAPPENS_FORGET(&e->refs);
	return true;
}

/* Frees a node whose count reached zero, all but its cause. */
static void node_free(fl_err *e)
{
	for (size_t i = 0; i < e->nkids; i++)
		fl_err_drop(e->kids[i]);
	if (e->kind == FL__ERR_TYPED && e->type->destroy)
		e->type->destroy(e->payload);
	atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	free(e);
}

void fl_err_drop(fl_err *err)
{
	/* Walk down the cause chain for as long as we free the last owner. */
	while (err && release(err)) {
		fl_err *cause = err->cause;
		node_free(err);
		err = cause;
	}
}

static bool is_walk(const fl_err *e, const fl_err *target)
{
	for (; e; e = e->cause) {
		if (e == target)
			return true;
		if (e->kind == FL__ERR_TYPED && e->type->is && e->type->is(e->payload, target))
			return true;
		if (e->kind == FL__ERR_JOIN) {
			for (size_t i = 0; i < e->nkids; i++)
				if (is_walk(e->kids[i], target))
					return true;
			return false;
		}
	}
	return false;
}

bool fl_err_is(const fl_err *err, const fl_err *target)
{
	if (!err || !target)
		return err == target;
	return is_walk(err, target);
}

const void *fl_err_as(const fl_err *err, const fl_err_type *type)
{
	for (; err && type; err = err->cause) {
		if (err->kind == FL__ERR_TYPED && err->type == type)
			return err->payload;
		if (err->kind == FL__ERR_JOIN) {
			for (size_t i = 0; i < err->nkids; i++) {
				const void *p = fl_err_as(err->kids[i], type);
				if (p)
					return p;
			}
			return NULL;
		}
	}
	return NULL;
}

const char *fl_err_msg(const fl_err *err) { return err ? err->msg : NULL; }

const fl_err *fl_err_unwrap(const fl_err *err) { return err ? err->cause : NULL; }

size_t fl_err_join_len(const fl_err *err) { return err ? err->nkids : 0; }

const fl_err *fl_err_join_at(const fl_err *err, size_t i)
{
	return err && i < err->nkids ? err->kids[i] : NULL;
}

long fl_err_live(void) { return atomic_load_explicit(&live, memory_order_relaxed); }

/*
 * Text output goes through a sink: either a caller's buffer, truncated like
 * snprintf, or a stream. len counts the full text either way.
 */
struct sink {
	char *buf; /* buffer mode: cap bytes, NUL-terminated when cap > 0 */
	size_t cap;
	size_t len; /* length of the full text so far */
	FILE *out;  /* stream mode when non-NULL */
};

static void sink_put(struct sink *s, const char *str, size_t n)
{
	if (s->out) {
		fwrite(str, 1, n, s->out);
	} else if (s->len + 1 < s->cap) {
		size_t room = s->cap - s->len - 1;
		size_t k = n < room ? n : room;
		memcpy(s->buf + s->len, str, k);
		s->buf[s->len + k] = '\0';
	}
	s->len += n;
}

static void sink_str(struct sink *s, const char *str) { sink_put(s, str, strlen(str)); }

/* Appends the type's format() output for a typed node. */
static void sink_payload(struct sink *s, const fl_err *e)
{
	const fl_err_type *t = e->type;
	char small[160];
	if (!s->out) {
		size_t room = s->len < s->cap ? s->cap - s->len : 0;
		char *dst = room ? s->buf + s->len : small;
		int n = t->format(e->payload, dst, room);
		if (n < 0 && room)
			dst[0] = '\0';
		s->len += n > 0 ? (size_t)n : 0;
		return;
	}
	int n = t->format(e->payload, small, sizeof(small));
	if (n <= 0)
		return;
	char *big = (size_t)n < sizeof(small) ? NULL : fl__malloc((size_t)n + 1);
	if (big && t->format(e->payload, big, (size_t)n + 1) >= 0)
		sink_str(s, big);
	else
		sink_str(s, small); /* fits, or the truncated text under OOM */
	free(big);
}

/* Appends a node's label (see the design note); returns its length. */
static size_t sink_label(struct sink *s, const fl_err *e)
{
	size_t start = s->len;
	if (e->kind != FL__ERR_TYPED) {
		sink_str(s, e->msg);
		return s->len - start;
	}
	if (e->type->format)
		sink_payload(s, e);
	if (e->msg[0]) {
		if (s->len > start)
			sink_str(s, ": ");
		sink_str(s, e->msg);
	}
	if (s->len == start)
		sink_str(s, e->type->name);
	return s->len - start;
}

/* Appends the one-line text of e: labels down the cause chain, joins in
 * brackets. */
static void sink_line(struct sink *s, const fl_err *e)
{
	while (e && e->kind != FL__ERR_JOIN) {
		size_t n = sink_label(s, e);
		e = e->cause;
		if (e && n)
			sink_str(s, ": ");
	}
	if (!e)
		return;
	sink_str(s, "[");
	for (size_t i = 0; i < e->nkids; i++) {
		if (i)
			sink_str(s, "; ");
		sink_line(s, e->kids[i]);
	}
	sink_str(s, "]");
}

size_t fl_err_format(const fl_err *err, char *buf, size_t cap)
{
	struct sink s = {.buf = buf, .cap = buf ? cap : 0};
	if (s.cap)
		buf[0] = '\0';
	if (err)
		sink_line(&s, err);
	else
		sink_str(&s, "<nil>");
	return s.len;
}

void fl_err_print(FILE *out, const fl_err *err)
{
	struct sink s = {.out = out};
	if (err)
		sink_line(&s, err);
	else
		sink_str(&s, "<nil>");
	sink_str(&s, "\n");
}

/*
 * The tree view. prefix holds the marks of the open ancestors: a pipe where
 * more siblings follow, blanks where the last one was printed.
 */
#define TREE_MID "├─ "
#define TREE_LAST "└─ "
#define TREE_PIPE "│  "
#define TREE_GAP "   "

struct tree {
	struct sink s; /* stream mode */
	char *prefix;  /* heap, not NUL-terminated */
	size_t len;
	size_t cap;
};

/* Appends mark to the prefix. Out of memory it leaves the prefix as it
 * is: the tree loses indentation, not lines. */
static void tree_push(struct tree *t, const char *mark)
{
	size_t n = strlen(mark);
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		while (cap < t->len + n)
			cap *= 2;
		char *p = fl__realloc(t->prefix, cap);
		if (!p)
			return;
		t->prefix = p;
		t->cap = cap;
	}
	memcpy(t->prefix + t->len, mark, n);
	t->len += n;
}

static void tree_line(struct tree *t, const char *branch, const fl_err *e)
{
	if (t->len)
		sink_put(&t->s, t->prefix, t->len);
	sink_str(&t->s, branch);
	if (e->kind == FL__ERR_JOIN) {
		char head[48];
		snprintf(head, sizeof(head), "join (%zu)", e->nkids);
		sink_str(&t->s, head);
	} else {
		sink_label(&t->s, e);
	}
	sink_str(&t->s, "\n");
}

/* Prints everything below e's line: a cause chain by looping down it, a
 * join's kids by recursing into each. */
static void tree_below(struct tree *t, const fl_err *e)
{
	size_t saved = t->len;
	while (e->kind != FL__ERR_JOIN) {
		e = e->cause;
		if (!e) {
			t->len = saved;
			return;
		}
		tree_line(t, TREE_LAST, e);
		tree_push(t, TREE_GAP);
	}
	for (size_t i = 0; i < e->nkids; i++) {
		bool last = i + 1 == e->nkids;
		size_t mark = t->len;
		tree_line(t, last ? TREE_LAST : TREE_MID, e->kids[i]);
		tree_push(t, last ? TREE_GAP : TREE_PIPE);
		tree_below(t, e->kids[i]);
		t->len = mark;
	}
	t->len = saved;
}

void fl_err_print_tree(FILE *out, const fl_err *err)
{
	if (!err) {
		fputs("<nil>\n", out);
		return;
	}
	struct tree t = {.s = {.out = out}};
	tree_line(&t, "", err);
	tree_below(&t, err);
	free(t.prefix);
}

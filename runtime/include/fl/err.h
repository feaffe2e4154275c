/*
 * fl/err.h - immutable, reference-counted errors that wrap, join and match.
 *
 * The C counterpart of Go's errors package. An fl_err is one of:
 *   - a sentinel: a static, immortal error compared by identity
 *     (FL_ERR_CANCELED, or one declared with FL_ERR_SENTINEL);
 *   - a leaf with a formatted message (fl_err_new);
 *   - a wrap: a message plus one cause (fl_err_wrap);
 *   - a typed error: a payload of a registered type plus an optional cause
 *     (fl_err_typed), found again with fl_err_as;
 *   - a join: a list of errors (fl_err_join).
 *
 * Conventions (see STYLE):
 *   - Fallible calls return fl_err * and NULL means success. A returned error
 *     hands the caller one reference: return it, wrap it (wrapping consumes
 *     it), store it, or drop it with fl_err_drop. Only the error
 *     constructors (wrap, typed, join) consume the errors they are given;
 *     every other call borrows. The whole rule: docs/runtime.md.
 *   - Creating or wrapping never fails: out of memory yields FL_ERR_NOMEM (or
 *     the unwrapped cause, so the cause is never lost).
 *   - Errors are immutable after creation; the reference count is atomic, so
 *     an error may be shared by any number of threads.
 */
#ifndef FL_ERR_H
#define FL_ERR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_MUST_CHECK __attribute__((warn_unused_result))
#define FL_PRINTF(a, b) __attribute__((format(printf, a, b)))

typedef struct fl_err fl_err;

/*
 * A payload type for typed errors. Declare one per kind of payload, with
 * static storage; its address is the type id (as libdill's hquery ids).
 *
 *   name    printed in tree views; required.
 *   size    payload size in bytes; fl_err_typed copies that many bytes.
 *   destroy optional: releases what the payload owns (not the payload
 *           memory itself) when the last reference goes.
 *   format  optional: appends a one-line description of the payload to buf
 *           (at most cap bytes, NUL-terminated); returns the length it
 *           wanted, like snprintf. Its text comes before the error's
 *           message ("text: msg"); without it the message alone is used.
 *   is      optional: custom match. Called as is(payload, target) for every
 *           node of this type while fl_err_is walks; return true to match
 *           target (e.g. an HTTP error matching a status sentinel).
 */
typedef struct fl_err_type {
	const char *name;
	size_t size;
	void (*destroy)(void *payload);
	int (*format)(const void *payload, char *buf, size_t cap);
	bool (*is)(const void *payload, const fl_err *target);
} fl_err_type;

/* Private layout, public only so sentinels can be static. Do not touch. */
enum fl__err_kind { FL__ERR_SENTINEL, FL__ERR_LEAF, FL__ERR_WRAP, FL__ERR_TYPED, FL__ERR_JOIN };
struct fl_err {
	atomic_long refs; /* < 0: immortal (sentinels). */
	enum fl__err_kind kind;
	const char *msg;         /* owned unless kind == SENTINEL */
	fl_err *cause;           /* WRAP and TYPED: owned reference or NULL */
	fl_err **kids;           /* JOIN: owned references */
	size_t nkids;            /* JOIN */
	const fl_err_type *type; /* TYPED */
	void *payload;           /* TYPED: owned copy of type->size bytes */
};

/*
 * Declare a sentinel in a header:   FL_ERR_DECLARE(app_err_skip);
 * Define it once in a .c file:      FL_ERR_SENTINEL(app_err_skip, "skip item");
 * The name then is an fl_err * usable anywhere (it is a one-element array).
 */
#define FL_ERR_DECLARE(name) extern fl_err name[1]
#define FL_ERR_SENTINEL(name, message) \
	fl_err name[1] = {{.refs = -1, .kind = FL__ERR_SENTINEL, .msg = (message)}}

/* Built-in sentinels. */
FL_ERR_DECLARE(FL_ERR_CANCELED); /* "context canceled" */
FL_ERR_DECLARE(FL_ERR_DEADLINE); /* "context deadline exceeded" */
FL_ERR_DECLARE(FL_ERR_NOMEM);    /* "out of memory" */
FL_ERR_DECLARE(FL_ERR_CLOSED);   /* "channel closed" */
FL_ERR_DECLARE(FL_ERR_LIMIT);    /* "limit reached" */
FL_ERR_DECLARE(FL_ERR_INVAL);    /* "invalid argument" */
FL_ERR_DECLARE(FL_ERR_AGAIN);    /* "operation would block" */
FL_ERR_DECLARE(FL_ERR_MISUSE);   /* "API misuse" (wait twice, go after wait) */
FL_ERR_DECLARE(FL_ERR_PANIC);    /* "task panicked" */
FL_ERR_DECLARE(FL_ERR_SYSTEM);   /* "system error" (see fl_err_errno) */
FL_ERR_DECLARE(FL_ERR_DEADLOCK); /* "deadlock" (sim backend: all tasks blocked) */

/*
 * Status codes of per-item hot-path calls (channel send/recv/select, context
 * waits). They are control flow, not failures; lift them with
 * fl_err_from_status when a stage must report one.
 */
enum fl_status {
	FL_OK = 0,
	FL_CLOSED = -1,   /* channel closed (and drained, for receives) */
	FL_CANCELED = -2, /* the context was cancelled; see fl_ctx_err */
	FL_TIMEDOUT = -3, /* the call's own deadline passed */
	FL_AGAIN = -4,    /* a try (deadline 0) would have blocked */
	FL_DEADLOCK = -5, /* sim backend: an unbounded wait can never end */
};

/* Returns the sentinel for a status: NULL for FL_OK, FL_ERR_CLOSED,
 * FL_ERR_CANCELED, FL_ERR_DEADLINE (for FL_TIMEDOUT), FL_ERR_AGAIN,
 * FL_ERR_DEADLOCK.
 * Any other value is misuse and aborts. */
fl_err *fl_err_from_status(int status);

/* A new leaf error with a printf-formatted message. Never NULL. */
FL_MUST_CHECK fl_err *fl_err_new(const char *fmt, ...) FL_PRINTF(1, 2);

/*
 * Wraps cause with a printf-formatted message: "msg: cause". Consumes the
 * reference to cause. Returns NULL if cause is NULL, so
 * `return fl_err_wrap(step(), "step %d", i);` passes success through.
 * Out of memory: returns cause unchanged.
 */
FL_MUST_CHECK fl_err *fl_err_wrap(fl_err *cause, const char *fmt, ...) FL_PRINTF(2, 3);

/*
 * A typed error: copies type->size bytes from payload, keeps cause (consumed,
 * may be NULL) and the formatted message (fmt may be NULL for none).
 * fl_err_as(err, type) finds it.
 * Out of memory: calls type->destroy on payload (the copy was not taken, so
 * ownership of what payload owns moves to the error in every case) and
 * returns cause if non-NULL, else FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_err_typed(const fl_err_type *type, const void *payload, fl_err *cause,
				   const char *fmt, ...) FL_PRINTF(4, 5);

/* Captures errnum (an errno value) as a typed error of fl_err_errno_type,
 * matching FL_ERR_SYSTEM, with message "msg: strerror(errnum)". */
FL_MUST_CHECK fl_err *fl_err_errno(int errnum, const char *fmt, ...) FL_PRINTF(2, 3);
extern const fl_err_type fl_err_errno_type; /* payload: int (the errno) */

/*
 * Joins n errors into one, consuming every reference. NULL entries are
 * dropped; returns NULL if all are NULL and the single error itself if only
 * one is left. Joins nest: a join of joins is a tree.
 * Out of memory: returns the first non-NULL error and drops the others.
 */
FL_MUST_CHECK fl_err *fl_err_join(fl_err **errs, size_t n);
/* fl_err_join over two errors (either may be NULL). */
FL_MUST_CHECK fl_err *fl_err_join2(fl_err *a, fl_err *b);

/* Takes another reference (NULL passes through). */
fl_err *fl_err_ref(fl_err *err);
/* Drops a reference; frees the error when it was the last. Accepts NULL. */
void fl_err_drop(fl_err *err);

/*
 * Reports whether err or anything it wraps or joins is target: by identity,
 * or because a typed node's is() hook says so. Depth-first, pre-order,
 * exactly as Go's errors.Is over Unwrap() and Unwrap() []error.
 */
bool fl_err_is(const fl_err *err, const fl_err *target);

/*
 * Finds the first node (same order as fl_err_is) whose type is type and
 * returns its payload, or NULL. The payload is borrowed: it lives as long as
 * the error does.
 */
const void *fl_err_as(const fl_err *err, const fl_err_type *type);

/* This node's own message (for a sentinel, its text). Borrowed. */
const char *fl_err_msg(const fl_err *err);
/* The wrapped cause of a wrap or typed node, else NULL. Borrowed. */
const fl_err *fl_err_unwrap(const fl_err *err);
/* For a join: the number of children, and child i (borrowed). */
size_t fl_err_join_len(const fl_err *err);
const fl_err *fl_err_join_at(const fl_err *err, size_t i);

/*
 * Formats the whole error on one line into buf (cap bytes, always
 * NUL-terminated when cap > 0): "parse row 42: bad row: invalid argument";
 * joins print as "[a; b]". Returns the length the full text needs, like
 * snprintf, so a caller can retry with a larger buffer.
 */
size_t fl_err_format(const fl_err *err, char *buf, size_t cap);
/* Prints the one-line form followed by a newline. "<nil>" for NULL. */
void fl_err_print(FILE *out, const fl_err *err);
/* Prints an indented tree: one node per line, joins as branches. */
void fl_err_print_tree(FILE *out, const fl_err *err);

/* Live heap-allocated errors in the process (for leak checks). */
long fl_err_live(void);

#ifdef __cplusplus
}
#endif
#endif

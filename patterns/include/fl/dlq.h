/*
 * fl/dlq.h - dead-letter queue for poison items.
 *
 * When an item cannot be processed (its attempts are exhausted, or its
 * error is not retryable), the stage moves it here with why and how it
 * failed, and carries on with the next item. After the run the owner drains
 * the queue (takes every entry out) or replays it (calls a function on
 * every entry and removes those that now succeed).
 *
 * Each entry holds a copy of the item's bytes, the reason (the error chain
 * on one line), the kind (the first configured sentinel or error type the
 * error matches, so entries can be sorted without parsing text), the
 * attempt history and a timestamp. Timestamps come from the seam's clock
 * (fl_now: monotonic, virtual under a simulated backend), so they order
 * entries within one run; they mean nothing across runs.
 *
 * Backends: in memory (opts.path NULL), or a SQLite file (the same file
 * format as the saga and cursor stores), which survives the process.
 * Both have the same API and the same ordering (put order).
 *
 * Thread safety: every function may be called from any task or thread
 * concurrently, except fl_dlq_free.
 * Blocks: the SQLite backend does file I/O (through fl_blocking, so a
 * fibers worker is not stalled); not cancellable, short.
 */
#ifndef FL_DLQ_H
#define FL_DLQ_H

#include <fl/ctx.h>
#include <fl/err.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_dlq fl_dlq;

/* One failed attempt at an item. */
typedef struct fl_dlq_attempt {
	int attempt;     /* 1-based */
	int64_t at_ns;   /* fl_now() when it failed */
	char error[240]; /* the attempt's error, one line (truncated) */
} fl_dlq_attempt;

/* Fills *a for attempt number attempt failing with err, at fl_now(). */
void fl_dlq_attempt_set(fl_dlq_attempt *a, int attempt, const fl_err *err);

/* A dead-lettered item, as drain and replay hand it out. */
typedef struct fl_dlq_entry {
	int64_t id; /* increasing in put order */
	void *item; /* copy of the item bytes (owned) */
	size_t item_len;
	char *reason;             /* the error chain, one line (owned) */
	char *kind;               /* "sentinel: <text>", "type: <name>" or "" */
	int64_t at_ns;            /* fl_now() at put */
	fl_dlq_attempt *attempts; /* attempt history, oldest first (owned) */
	size_t nattempts;
} fl_dlq_entry;

/*
 * Options; all-zero means an in-memory queue with no kinds.
 *   path        SQLite file to persist to (created if missing), or NULL.
 *   sentinels   errors whose match (fl_err_is) names an entry's kind,
 *               tried in order before types.
 *   types       error types whose match (fl_err_as) names the kind.
 */
struct fl_dlq_opts {
	const char *path;
	fl_err *const *sentinels;
	size_t nsentinels;
	const fl_err_type *const *types;
	size_t ntypes;
};

/*
 * Opens a queue. A persisted queue starts with what the file holds.
 * Errors: FL_ERR_INVAL (NULL out; or, naming the file: not a database, a
 * foreign database, another schema version), FL_ERR_SYSTEM (I/O),
 * FL_ERR_NOMEM. *out only on success.
 */
FL_MUST_CHECK fl_err *fl_dlq_new(const struct fl_dlq_opts *opts, fl_dlq **out);
/* Closes the queue (entries stay in its file, if any). NULL ok. */
void fl_dlq_free(fl_dlq *q);

/*
 * Adds an entry: copies len bytes of item, formats reason (must not be
 * NULL) and copies the n attempts (may be 0).
 * Errors: FL_ERR_INVAL (NULL q or reason), FL_ERR_NOMEM, FL_ERR_SYSTEM.
 * On error nothing was added.
 */
FL_MUST_CHECK fl_err *fl_dlq_put(fl_dlq *q, const void *item, size_t len, const fl_err *reason,
				 const fl_dlq_attempt *attempts, size_t n);

/* The number of entries. Errors: FL_ERR_SYSTEM (SQLite). */
FL_MUST_CHECK fl_err *fl_dlq_count(fl_dlq *q, size_t *out);

/*
 * Removes every entry and hands them over in put order (*out NULL and *n 0
 * when empty). Free them with fl_dlq_entries_free. Errors: FL_ERR_NOMEM,
 * FL_ERR_SYSTEM; on error nothing is removed.
 */
FL_MUST_CHECK fl_err *fl_dlq_drain(fl_dlq *q, fl_dlq_entry **out, size_t *n);
void fl_dlq_entries_free(fl_dlq_entry *e, size_t n);

/*
 * Calls fn on each entry present at the call, in put order, and removes
 * those for which fn returns NULL; failed entries stay. Stops before the
 * next entry once ctx is cancelled. *replayed (may be NULL) gets the number
 * removed. Returns the join of fn's errors, plus ctx's stop error
 * (fl_ctx_stop_err: matches FL_ERR_CANCELED or FL_ERR_DEADLINE, and the
 * cause) if it stopped early (those entries stay too). fn may call fl_dlq_put on q.
 */
FL_MUST_CHECK fl_err *fl_dlq_replay(fl_dlq *q, fl_ctx *ctx,
				    fl_err *(*fn)(fl_ctx *ctx, const fl_dlq_entry *e, void *arg),
				    void *arg, size_t *replayed);

#ifdef __cplusplus
}
#endif
#endif

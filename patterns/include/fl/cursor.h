/*
 * fl/cursor.h - a stream consumer that persists its cursor in SQLite.
 *
 * A consumer reads events from a source in offset order, processes each,
 * and every `every` events records "everything below offset X is done" in a
 * SQLite file under its name. On restart it asks the source to start at
 * the recorded offset. Processing comes before the record, so a crash
 * replays at most the events since the last record (fewer than `every`):
 * delivery is at-least-once, with no gaps, and duplicates bounded by
 * `every`. Processing must therefore be idempotent (keyed by the offset).
 *
 * Events travel from the source task to the consumer through a channel of
 * event_size-byte elements; each element must begin with its int64_t
 * offset (increasing; gaps allowed).
 *
 * Thread safety: a cursor is used by one task at a time; several cursors
 * (names) may share a file from any tasks or processes.
 */
#ifndef FL_CURSOR_H
#define FL_CURSOR_H

#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/err.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_cursor fl_cursor;

/* Options; path and name are required. every 0 means 1. */
struct fl_cursor_opts {
	const char *path;
	const char *name;
	int every;
};

/*
 * Opens the cursor named opts->name in the file (created if missing).
 * *next gets the offset to resume from (0 for a new cursor).
 * Errors: FL_ERR_INVAL (NULL or empty argument; or, naming the file: not a
 * database, a foreign database, another schema version), FL_ERR_SYSTEM,
 * FL_ERR_NOMEM. Blocks: file I/O.
 */
FL_MUST_CHECK fl_err *fl_cursor_open(const struct fl_cursor_opts *opts, fl_cursor **out,
				     int64_t *next);
/* Closes without saving (fl_cursor_save first to keep progress). NULL ok. */
void fl_cursor_close(fl_cursor *c);

/*
 * Marks offset done; every `every` calls, records offset + 1. Errors: store
 * errors (the cursor then stays where it was recorded last).
 */
FL_MUST_CHECK fl_err *fl_cursor_done(fl_cursor *c, int64_t offset);
/* Records the last done offset + 1 now (if it moved). */
FL_MUST_CHECK fl_err *fl_cursor_save(fl_cursor *c);
/* The offset recorded last (what a restart resumes from). */
int64_t fl_cursor_saved(const fl_cursor *c);

/* Produces events from offset `from` on into out, then returns (the
 * consumer closes out). Must stop when ctx is cancelled. */
typedef fl_err *(*fl_cursor_source_fn)(fl_ctx *ctx, int64_t from, fl_chan *out, void *arg);
/* Processes one event (ev points at event_size bytes, offset first). */
typedef fl_err *(*fl_cursor_process_fn)(fl_ctx *ctx, const void *ev, void *arg);

/*
 * Runs a consumer to the end of the source: opens the cursor, starts the
 * source at the recorded offset in a task, processes every event and marks
 * it done, and saves the cursor at the end. A processing error stops the
 * run (the cursor stays at the last recorded offset plus what was done:
 * saved on the way out). Cancelling ctx stops both tasks at their next
 * blocking point; progress made is saved. Returns NULL, the first error,
 * or ctx's stop error (fl_ctx_stop_err: matches FL_ERR_CANCELED or
 * FL_ERR_DEADLINE, and the cause). *processed (may be NULL) counts events processed.
 * Blocks: on the channel and in the callbacks.
 */
FL_MUST_CHECK fl_err *fl_cursor_run(fl_ctx *ctx, const struct fl_cursor_opts *opts,
				    size_t event_size, fl_cursor_source_fn source,
				    fl_cursor_process_fn process, void *arg, size_t *processed);

#ifdef __cplusplus
}
#endif
#endif

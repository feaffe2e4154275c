/*
 * cat_internal.h - what the reference-task catalogue (cat_*.c) shares: a
 * tiny HTTP/1.0 server and client on 127.0.0.1 for the fetch exercises,
 * and the catalogue entries those files define.
 */
#ifndef FL_CAT_INTERNAL_H
#define FL_CAT_INTERNAL_H

#include "scn_internal.h"

#include <fl/saga.h>

#include <stdatomic.h>

/* ---- the loopback HTTP server ------------------------------------------------ */

/*
 * Routes (N is any decimal number; the body is what the route answers):
 *   /doc/N      200 "doc N"
 *   /json/N     200 {"id":N,"text":"doc N"}
 *   /limited/N  200 {"error":"rate limited"}   (a quota error in a 200 body)
 *   /fail/N     500 "internal error"
 *   /hang/N     no answer: holds the connection until the client closes it
 *               or the server stops (an in-flight request to cancel)
 *   anything    404 "not found"
 * hold: the first `hold` /doc/ requests are answered only once `hold` of
 * them are in flight at once, which proves the client runs that many
 * concurrently (a client that cannot is caught by its own deadline).
 */
struct fl__http_opts {
	int hold;
};

/* What a server saw, read after fl__http_stop. */
typedef struct fl__http_stats {
	long requests; /* requests parsed */
	long ok;       /* 2xx answers written */
	long errors;   /* 4xx/5xx answers written */
	long hung;     /* /hang/ requests (never answered) */
	long broken;   /* connections dropped before a full request */
} fl__http_stats;

typedef struct fl__http_srv fl__http_srv;

/*
 * Starts a server on 127.0.0.1 at an ephemeral port: a listening socket
 * and a group (under parent) whose accept task starts one handler task
 * per connection. Every socket call that may block runs through
 * fl_blocking (poll in 2 ms slices that also watch the server's context),
 * so a fibers worker is never stalled. *out only on success.
 * Errors: FL_ERR_SYSTEM (socket, bind, listen), FL_ERR_NOMEM, those of
 * fl_group_new.
 */
FL_MUST_CHECK fl_err *fl__http_start(fl_ctx *parent, const struct fl__http_opts *o,
				     fl__http_srv **out);
/* The port the server listens on. */
int fl__http_port(const fl__http_srv *s);
/*
 * Stops the server: cancels its group (handlers still holding a request
 * give up), waits for every task, closes the socket, copies the counts to
 * *st (may be NULL) and frees s. Returns the group's error (the accept
 * loop's socket error, if any), or NULL. NULL s is ignored.
 */
FL_MUST_CHECK fl_err *fl__http_stop(fl__http_srv *s, fl__http_stats *st);

/*
 * GET path from 127.0.0.1:port over HTTP/1.0. On success *status holds the
 * status code and body (cap bytes, NUL-terminated, truncated) the body.
 * A non-2xx status is not an error here: the caller decides (as Go's
 * http.Client). Cancellable: ctx is checked every 2 ms while waiting.
 * Errors: ctx's error wrapped ("GET /x: context canceled") when ctx ends
 * first; FL_ERR_SYSTEM (connect, send, recv); FL_ERR_INVAL for a reply
 * that is not HTTP.
 */
FL_MUST_CHECK fl_err *fl__http_get(fl_ctx *ctx, int port, const char *path, int *status, char *body,
				   size_t cap);

/* ---- child processes and effect logs (cat_child.c) ---------------------------- */

/*
 * Runs this executable again as a child that does `kind`'s part (the
 * constructor of that kind's file, with dir and arg) and waits for it.
 * *sig receives the signal that killed it, or 0 if it exited 0.
 * Errors: FL_ERR_SYSTEM (spawn, wait, or a nonzero exit status).
 * Blocks: until the child ends (through fl_blocking).
 */
FL_MUST_CHECK fl_err *fl__cat_spawn(const char *kind, const char *dir, long arg, int *sig);
/*
 * In a kind's constructor (before main): true if this process is a child
 * fl__cat_spawn started for kind, with its dir and arg filled in and the
 * threads backend started; false in any other process. A malformed child
 * spec, or a backend that does not start, exits the process with status 2.
 */
bool fl__cat_child_of(const char *kind, char *dir, size_t cap, long *arg);

/* Creates a scratch directory "$TMPDIR/faultline-<what>-XXXXXX" into dir. */
FL_MUST_CHECK fl_err *fl__cat_tmpdir(const char *what, char *dir, size_t cap);
/* Removes the store and effect log files a scenario made, then dir. */
void fl__cat_rmdir(const char *dir);
/* Appends line to dir/effects.log (survives a SIGKILL right after). */
FL_MUST_CHECK fl_err *fl__cat_log_add(const char *dir, const char *line);
/* Reads dir/effects.log into buf (cap bytes; "" when there is none). */
FL_MUST_CHECK fl_err *fl__cat_log_read(const char *dir, char *buf, size_t cap);
/* How many lines of text are exactly line. */
long fl__cat_log_count(const char *text, const char *line);

/* ---- the saga "order" (cat_saga.c) ------------------------------------------------ */

/* What the order saga's actions are given. */
typedef struct fl__cat_saga_env {
	const char *dir; /* scratch directory: store.db, effects.log */
	long kill_step;  /* 1-based step whose start kills the process; 0: none */
} fl__cat_saga_env;

/* A coordinator with "order" (reserve, charge, ship) registered. Its
 * actions log their effects in env.dir's effect log, idempotently by key;
 * a saga's input " fail=N" fails step N, " compfail=N" its compensation. */
typedef struct fl__cat_order {
	fl__cat_saga_env env; /* set by the caller */
	fl_saga_step steps[3];
	fl_saga_def def;
	fl_saga_coord *c; /* set by fl__cat_order_open; free with fl_saga_coord_free */
} fl__cat_order;

/* Opens o->c on o->env.dir/store.db. Errors: those of fl/saga.h. */
FL_MUST_CHECK fl_err *fl__cat_order_open(fl__cat_order *o);
/* Saga id's effect lines in order, "0/fwd 1/fwd 1/comp ...", into out. */
FL_MUST_CHECK fl_err *fl__cat_saga_effects(const char *dir, const char *id, char *out, size_t cap);

/* ---- the reference exercises (cat_pipeline.c, cat_errors.c, cat_groups.c,
 * cat_latency.c) ---------------------------------------------------------------- */

extern const fl_scenario fl__scn_sum;
extern const fl_scenario fl__scn_early_return;
extern const fl_scenario fl__scn_drain_on_error;
extern const fl_scenario fl__scn_fanout_nested;
extern const fl_scenario fl__scn_join_errors;
extern const fl_scenario fl__scn_stage_as;
extern const fl_scenario fl__scn_deadline;
extern const fl_scenario fl__scn_panic_capture;
extern const fl_scenario fl__scn_set_limit;
extern const fl_scenario fl__scn_cancel_latency;

/* ---- the catalogue entries of cat_*.c ----------------------------------------- */

extern const fl_scenario fl__scn_fetch_all;
extern const fl_scenario fl__scn_ok_error_body;
extern const fl_scenario fl__scn_skip_sentinel;
extern const fl_scenario fl__scn_leak_found;
extern const fl_scenario fl__scn_translate_999;
extern const fl_scenario fl__scn_forgotten_drain;
extern const fl_scenario fl__scn_chaos_1pct;
extern const fl_scenario fl__scn_bulkhead_tenants;
extern const fl_scenario fl__scn_saga;
extern const fl_scenario fl__scn_saga_restart;
extern const fl_scenario fl__scn_cursor_restart;
extern const fl_scenario fl__scn_stream_aggregate;
extern const fl_scenario fl__scn_integration;
extern const fl_scenario fl__scn_tail_at_scale;
extern const fl_scenario fl__scn_retry_item;
extern const fl_scenario fl__scn_cancelled_too_early;
extern const fl_scenario fl__scn_dead_letter;
extern const fl_scenario fl__scn_hedged_fetch;
extern const fl_scenario fl__scn_circuit_breaker;

/* ---- bonus 1, bonus 4 and case C (cat_typed.c, cat_minigroup.c, cat_ratelimit.c) ---- */

extern const fl_scenario fl__scn_typed_errors;
extern const fl_scenario fl__scn_mini_group;
extern const fl_scenario fl__scn_rate_limited_pool;
/* The bug zoo (cat_zoo.c): each planted bug and its fixed twin. */
extern const fl_scenario fl__scn_zoo_lost_wakeup, fl__scn_zoo_lost_wakeup_fixed;
extern const fl_scenario fl__scn_zoo_order, fl__scn_zoo_order_fixed;
extern const fl_scenario fl__scn_zoo_atomicity, fl__scn_zoo_atomicity_fixed;
extern const fl_scenario fl__scn_zoo_deadlock, fl__scn_zoo_deadlock_fixed;
extern const fl_scenario fl__scn_zoo_missed_close, fl__scn_zoo_missed_close_fixed;
extern const fl_scenario fl__scn_zoo_double_done, fl__scn_zoo_double_done_fixed;
extern const fl_scenario fl__scn_zoo_torn_read, fl__scn_zoo_torn_read_fixed;
extern const fl_scenario fl__scn_zoo_real_clock; /* for replay --check-determinism */

#endif

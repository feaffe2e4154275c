/*
 * fl/saga.h - sagas: steps with compensations, persisted in SQLite.
 *
 * A saga definition is a list of steps, each with a forward action and an
 * optional compensation. Running a saga runs the forward actions in order.
 * If one fails (or the caller's context is cancelled), every step whose
 * forward action was started - including the failed one, whose effect may
 * be partial - is compensated in reverse order: the compensation is
 * registered before its step runs, as a defer would be. Compensations run
 * in a shielded context with its own deadline (the caller's cancellation
 * does not skip them), each is retried with the retry policy, and a failing
 * one does not stop the others: their errors are joined.
 *
 * Persistence: the coordinator keeps each saga's state (id, definition
 * name, phase, current step, per-step status, last error) in a SQLite file
 * and writes it ahead of every side effect: a step is marked running, and
 * committed, before its action is called. After a crash, fl_saga_resume
 * finds every saga not in a terminal phase and carries it on: forward from
 * its current step (re-running a step that was running), or on with its
 * compensation. So an action may run more than once after a crash, never
 * zero times once its step is recorded as done; actions make themselves
 * idempotent with the key they are given, one per (saga, step, direction).
 * A compensation may also be called for a step whose forward action never
 * took effect, and must then do nothing (call->forward_key names the
 * forward effect to look for).
 *
 * The outcome of every saga is T1..Tn (committed) or T1..Tj, Cj..C1 (rolled
 * back), counting each idempotency key once. The file runs in WAL mode with
 * synchronous=FULL: resume trusts the last recorded transition, and NORMAL
 * may lose the last transactions on power loss (not on a process crash),
 * which could turn a saga that had started compensating back to forward.
 *
 * Thread safety: sagas may run concurrently from any tasks on one
 * coordinator (each saga id by one task at a time); register before use.
 */
#ifndef FL_SAGA_H
#define FL_SAGA_H

#include <fl/ctx.h>
#include <fl/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_saga_coord fl_saga_coord;
struct fl_retry_policy;

/* The saga ended rolled back: wraps the forward failure (and, joined, any
 * compensation failures). */
FL_ERR_DECLARE(FL_ERR_SAGA_ROLLED_BACK);
/* At least one compensation failed for good; the saga is left in phase
 * "compensation_failed" for a human. */
FL_ERR_DECLARE(FL_ERR_SAGA_COMPENSATION);

/* What an action is told. All strings are borrowed for the call. */
typedef struct fl_saga_call {
	const char *saga_id;
	const char *input; /* the saga's input text given at start */
	size_t step;       /* 0-based */
	const char *step_name;
	bool compensate;         /* false: forward action */
	const char *key;         /* idempotency key: "<saga>/<step>/fwd|comp" */
	const char *forward_key; /* the forward action's key (for comps) */
	int attempt;             /* 1-based attempt of this call (retries) */
	void *arg;               /* the step's arg */
} fl_saga_call;

typedef fl_err *(*fl_saga_action)(fl_ctx *ctx, const fl_saga_call *call);

typedef struct fl_saga_step {
	const char *name;
	fl_saga_action forward;    /* required */
	fl_saga_action compensate; /* NULL: nothing to undo */
	void *arg;
} fl_saga_step;

/* A definition; registered by name, which is what the store records. */
typedef struct fl_saga_def {
	const char *name;
	const fl_saga_step *steps;
	size_t nsteps;
} fl_saga_def;

/*
 * Coordinator options; path is required.
 *   forward_retry       policy for forward actions (NULL: one try).
 *   compensate_retry    policy for compensations (NULL: one try).
 *   compensate_timeout_ns  deadline of the shielded compensation context;
 *                       0 = 30 s.
 *   sync_normal         synchronous=NORMAL instead of FULL: no fsync per
 *                       transition (about 50x the rate on a busy disk),
 *                       still safe against a process crash, but a power
 *                       loss may roll back the last transitions (see above).
 */
struct fl_saga_opts {
	const char *path;
	const struct fl_retry_policy *forward_retry;
	const struct fl_retry_policy *compensate_retry;
	int64_t compensate_timeout_ns;
	bool sync_normal;
};

/*
 * Opens (creating) the store. Errors: FL_ERR_INVAL (NULL argument; or,
 * naming the file: not a database, a foreign database, another schema
 * version), FL_ERR_SYSTEM, FL_ERR_NOMEM. Blocks: file I/O.
 */
FL_MUST_CHECK fl_err *fl_saga_coord_new(const struct fl_saga_opts *opts, fl_saga_coord **out);
void fl_saga_coord_free(fl_saga_coord *c);

/* Registers def (borrowed: must outlive c). Errors: FL_ERR_INVAL (bad or
 * duplicate name, no steps, a step without forward), FL_ERR_NOMEM. */
FL_MUST_CHECK fl_err *fl_saga_register(fl_saga_coord *c, const fl_saga_def *def);

/*
 * Creates saga id (unique in the store) of definition def_name with input
 * (may be NULL) and runs it to a terminal phase. Returns NULL if it
 * committed; an error matching FL_ERR_SAGA_ROLLED_BACK (and the forward
 * failure's own sentinels) if it rolled back; one also matching
 * FL_ERR_SAGA_COMPENSATION if a compensation failed for good. Other
 * errors: FL_ERR_INVAL (unknown definition, id already used or longer
 * than 200 bytes), store
 * errors (the saga then stays where the store last recorded it, for
 * resume). Blocks: in the actions, and on file I/O.
 */
FL_MUST_CHECK fl_err *fl_saga_run(fl_saga_coord *c, fl_ctx *ctx, const char *def_name,
				  const char *id, const char *input);

/*
 * Carries on every saga not in a terminal phase, one after another, in
 * creation order. *resumed (may be NULL) gets how many. Returns the join
 * of their results (as fl_saga_run's; a forward failure from before the
 * restart is known only by its recorded text). A saga of an unregistered
 * definition is an error naming it (it stays for a later resume).
 */
FL_MUST_CHECK fl_err *fl_saga_resume(fl_saga_coord *c, fl_ctx *ctx, size_t *resumed);

/* Phases as recorded: "forward", "compensating", "committed",
 * "rolled_back", "compensation_failed". */
typedef struct fl_saga_info {
	char phase[24];
	char def[64];
	int64_t current; /* the step running or next to run/undo */
	size_t nsteps;
	char last_error[512];
} fl_saga_info;

/* Reads the recorded state of saga id. Errors: FL_ERR_INVAL (no such
 * saga), store errors. */
FL_MUST_CHECK fl_err *fl_saga_info_get(fl_saga_coord *c, const char *id, fl_saga_info *out);

#ifdef __cplusplus
}
#endif
#endif

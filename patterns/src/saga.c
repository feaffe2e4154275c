/*
 * saga.c - sagas with write-ahead state in SQLite (fl/saga.h).
 *
 * Tables: saga (one row per saga: definition, input, phase, current step,
 * last error; seq orders resume) and saga_step (per step: forward status
 * pending|running|done|failed, compensation status none|running|done|
 * failed, the step's last error). Every transition is one transaction, and
 * the transition that precedes an action (step -> running) commits before
 * the action is called: that is the write-ahead rule resume relies on.
 *
 * State machine of one saga (phase, cur):
 *   forward(i):   mark step i fwd running; call; on success mark done and
 *                 cur = i + 1 (committed after the last step); on failure
 *                 mark failed and switch to compensating(i) in the same
 *                 transaction, with the error as last_error.
 *   compensating(i): for i down to 0, skip steps never started (pending)
 *                 or already undone; mark comp running; call in the
 *                 shielded context; mark done or failed; at the end the
 *                 phase becomes rolled_back or compensation_failed.
 * A crash leaves at most one step "running"; resume re-runs exactly that
 * call (with the same idempotency key) and continues.
 *
 * Lock order: only the store's mutex, taken inside fl__store_call; actions
 * run without it.
 */
#include <fl/saga.h>
#include <fl/task.h>

#include <stdlib.h>
#include <string.h>

#include "pat_retry_internal.h"
#include "store_internal.h"
#include "fl_alloc_internal.h"

FL_ERR_SENTINEL(FL_ERR_SAGA_ROLLED_BACK, "saga rolled back");
FL_ERR_SENTINEL(FL_ERR_SAGA_COMPENSATION, "saga compensation failed");

#define MAX_DEFS 64
#define MAX_ID 200 /* keys "<id>/<step>/comp" fit in 256 bytes */

struct fl_saga_coord {
	fl__store *store;                  /* immutable pointer; see store_internal.h */
	struct fl_saga_opts o;             /* immutable */
	const fl_saga_def *defs[MAX_DEFS]; /* written by register before use */
	size_t ndefs;
};

static const char saga_schema[] =
	"CREATE TABLE IF NOT EXISTS saga(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE, def TEXT NOT NULL, input TEXT NOT NULL,"
	" phase TEXT NOT NULL CHECK(phase IN ('forward','compensating','committed',"
	"'rolled_back','compensation_failed')),"
	" cur INTEGER NOT NULL, nsteps INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS saga_step(saga TEXT NOT NULL, idx INTEGER NOT NULL,"
	" fwd TEXT NOT NULL CHECK(fwd IN ('pending','running','done','failed')),"
	" comp TEXT NOT NULL CHECK(comp IN ('none','running','done','failed')),"
	" error TEXT NOT NULL DEFAULT '', PRIMARY KEY(saga, idx));";

enum { PENDING, RUNNING, DONE, FAILED }; /* comp: PENDING is "none" */
static const char *const fwd_names[] = {"pending", "running", "done", "failed"};
static const char *const comp_names[] = {"none", "running", "done", "failed"};

/* One saga in memory, mirroring its rows. */
struct saga {
	fl_saga_coord *c;
	const fl_saga_def *def;
	char *id, *input, *last_error;
	char phase[24];
	int64_t cur;
	int *fwd, *comp; /* per step */
};

/* ---- store transactions ------------------------------------------------- */

struct create_args {
	const char *id, *def, *input;
	size_t nsteps;
};

static fl_err *step_sql(fl__store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	fl_err *e = rc == SQLITE_DONE ? NULL : fl__store_err(s, rc, sqlite3_sql(st));
	sqlite3_finalize(st);
	return e;
}

static fl_err *tx_create(fl__store *s, void *arg)
{
	struct create_args *a = arg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_exec(s, "BEGIN IMMEDIATE");
	if (e)
		return e;
	if (!(e = fl__store_prepare(s,
				    "INSERT INTO saga(id, def, input, phase, cur, nsteps)"
				    " VALUES(?, ?, ?, 'forward', 0, ?)",
				    &st))) {
		sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->def, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->input, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)a->nsteps);
		e = step_sql(s, st);
	}
	for (size_t i = 0; !e && i < a->nsteps; i++) {
		if ((e = fl__store_prepare(s,
					   "INSERT INTO saga_step(saga, idx, fwd, comp)"
					   " VALUES(?, ?, 'pending', 'none')",
					   &st)))
			break;
		sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		e = step_sql(s, st);
	}
	fl_err_drop(fl__store_exec(s, e ? "ROLLBACK" : "COMMIT"));
	return e;
}

/* One transition: a step's status (idx < 0: none) and the saga's row. */
struct record_args {
	struct saga *sg;
	int64_t idx;
	bool comp;
	int status;
	const char *step_error;
};

static fl_err *tx_record(fl__store *s, void *arg)
{
	struct record_args *a = arg;
	struct saga *sg = a->sg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_exec(s, "BEGIN IMMEDIATE");
	if (e)
		return e;
	if (a->idx >= 0 &&
	    !(e = fl__store_prepare(s,
				    a->comp ? "UPDATE saga_step SET comp = ?, error = ?"
					      " WHERE saga = ? AND idx = ?"
					    : "UPDATE saga_step SET fwd = ?, error = ?"
					      " WHERE saga = ? AND idx = ?",
				    &st))) {
		sqlite3_bind_text(st, 1, (a->comp ? comp_names : fwd_names)[a->status], -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->step_error ? a->step_error : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sg->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, a->idx);
		e = step_sql(s, st);
	}
	if (!e && !(e = fl__store_prepare(s,
					  "UPDATE saga SET phase = ?, cur = ?, last_error = ?"
					  " WHERE id = ?",
					  &st))) {
		sqlite3_bind_text(st, 1, sg->phase, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, sg->cur);
		sqlite3_bind_text(st, 3, sg->last_error ? sg->last_error : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, sg->id, -1, SQLITE_STATIC);
		e = step_sql(s, st);
	}
	fl_err_drop(fl__store_exec(s, e ? "ROLLBACK" : "COMMIT"));
	return e;
}

/* Applies a transition in memory and in the store. */
static fl_err *record(struct saga *sg, int64_t idx, bool comp, int status, const fl_err *err)
{
	char *text = err ? fl__err_text(err) : NULL;
	if (idx >= 0)
		(comp ? sg->comp : sg->fwd)[idx] = status;
	struct record_args a = {sg, idx, comp, status, text};
	fl_err *e = fl__store_call(sg->c->store, tx_record, &a);
	free(text);
	return e;
}

static void set_phase(struct saga *sg, const char *phase, int64_t cur)
{
	snprintf(sg->phase, sizeof sg->phase, "%s", phase);
	sg->cur = cur;
}

static int status_of(const char *t, const char *const names[4])
{
	for (int i = 0; i < 4; i++)
		if (t && strcmp(t, names[i]) == 0)
			return i;
	return -1;
}

static char *text_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return fl__strdup(t ? (const char *)t : "");
}

/* Loads saga sg->id: fills def name into *defname (caller frees). */
struct load_args {
	struct saga *sg;
	char *defname;
	int64_t nsteps;
	bool found;
};

static fl_err *tx_load(fl__store *s, void *arg)
{
	struct load_args *a = arg;
	struct saga *sg = a->sg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(s,
				      "SELECT def, input, phase, cur, nsteps, last_error"
				      " FROM saga WHERE id = ?",
				      &st);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, sg->id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->found = true;
		a->defname = text_col(st, 0);
		sg->input = text_col(st, 1);
		const unsigned char *ph = sqlite3_column_text(st, 2);
		snprintf(sg->phase, sizeof sg->phase, "%s", ph ? (const char *)ph : "");
		sg->cur = sqlite3_column_int64(st, 3);
		a->nsteps = sqlite3_column_int64(st, 4);
		sg->last_error = text_col(st, 5);
		if (!a->defname || !sg->input || !sg->last_error)
			e = FL_ERR_NOMEM;
	} else if (rc != SQLITE_DONE) {
		e = fl__store_err(s, rc, "read saga");
	}
	sqlite3_finalize(st);
	return e;
}

static fl_err *tx_load_steps(fl__store *s, void *arg)
{
	struct saga *sg = arg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(s,
				      "SELECT idx, fwd, comp FROM saga_step WHERE saga = ?"
				      " ORDER BY idx",
				      &st);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, sg->id, -1, SQLITE_STATIC);
	size_t seen = 0;
	int rc;
	while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 0);
		int f = status_of((const char *)sqlite3_column_text(st, 1), fwd_names);
		int cp = status_of((const char *)sqlite3_column_text(st, 2), comp_names);
		if (idx != (int64_t)seen || seen >= sg->def->nsteps || f < 0 || cp < 0)
			e = fl_err_wrap(FL_ERR_INVAL, "%s: saga %s: bad step row %lld", s->path,
					sg->id, (long long)idx);
		else {
			sg->fwd[seen] = f;
			sg->comp[seen] = cp;
			seen++;
		}
	}
	if (!e && rc != SQLITE_DONE)
		e = fl__store_err(s, rc, "read saga steps");
	if (!e && seen != sg->def->nsteps)
		e = fl_err_wrap(FL_ERR_INVAL, "%s: saga %s: %zu step rows, definition %s has %zu",
				s->path, sg->id, seen, sg->def->name, sg->def->nsteps);
	sqlite3_finalize(st);
	return e;
}

/* ---- running ------------------------------------------------------------ */

struct act {
	fl_saga_action fn;
	fl_saga_call call;
};

static fl_err *act_once(fl_ctx *ctx, int attempt, void *arg)
{
	struct act *a = arg;
	a->call.attempt = attempt;
	return a->fn(ctx, &a->call);
}

static fl_err *call_action(struct saga *sg, fl_ctx *ctx, size_t i, bool comp)
{
	char key[256], fkey[256];
	snprintf(fkey, sizeof fkey, "%s/%zu/fwd", sg->id, i);
	snprintf(key, sizeof key, "%s/%zu/%s", sg->id, i, comp ? "comp" : "fwd");
	const fl_saga_step *step = &sg->def->steps[i];
	struct act a = {comp ? step->compensate : step->forward,
			{sg->id, sg->input, i, step->name ? step->name : "", comp, key, fkey, 0,
			 step->arg}};
	fl_err *e = fl__pat_retry(ctx, comp ? sg->c->o.compensate_retry : sg->c->o.forward_retry,
				  act_once, &a, NULL);
	return fl_err_wrap(e, "saga %s step %zu (%s) %s", sg->id, i, a.call.step_name,
			   comp ? "compensation" : "forward");
}

/* Runs forward from sg->cur. Returns NULL when committed; else the forward
 * failure (the saga is then in phase compensating), or a store error. */
static fl_err *run_forward(struct saga *sg, fl_ctx *ctx, fl_err **failure)
{
	for (size_t i = (size_t)sg->cur; i < sg->def->nsteps; i++) {
		fl_err *e;
		if (fl_ctx_done(ctx)) {
			*failure = fl_err_wrap(fl_ctx_stop_err(ctx),
					       "saga %s cancelled before step %zu", sg->id, i);
			free(sg->last_error);
			sg->last_error = fl__err_text(*failure);
			set_phase(sg, "compensating", (int64_t)i - 1);
			return record(sg, -1, false, 0, NULL);
		}
		set_phase(sg, "forward", (int64_t)i);
		if ((e = record(sg, (int64_t)i, false, RUNNING, NULL)))
			return e;
		fl_err *fe = call_action(sg, ctx, i, false);
		if (fe) {
			*failure = fe;
			free(sg->last_error);
			sg->last_error = fl__err_text(fe);
			set_phase(sg, "compensating", (int64_t)i);
			return record(sg, (int64_t)i, false, FAILED, fe);
		}
		set_phase(sg, "forward", (int64_t)i + 1);
		if ((e = record(sg, (int64_t)i, false, DONE, NULL)))
			return e;
	}
	set_phase(sg, "committed", (int64_t)sg->def->nsteps);
	return record(sg, -1, false, 0, NULL);
}

/* Compensates from sg->cur down to step 0 in a shielded context. Returns a
 * store error, and the joined compensation failures in *comp_errs. */
static fl_err *run_compensation(struct saga *sg, fl_ctx *ctx, fl_err **comp_errs)
{
	int64_t timeout =
		sg->c->o.compensate_timeout_ns > 0 ? sg->c->o.compensate_timeout_ns : FL_SEC(30);
	fl_ctx *sctx;
	fl_err *e = fl_ctx_shielded(ctx, timeout, &sctx);
	if (e)
		return e;
	for (int64_t i = sg->cur; i >= 0 && !e; i--) {
		if (sg->fwd[i] == PENDING || sg->comp[i] == DONE)
			continue;
		set_phase(sg, "compensating", i);
		if (!sg->def->steps[i].compensate) {
			e = record(sg, i, true, DONE, NULL);
			continue;
		}
		if ((e = record(sg, i, true, RUNNING, NULL)))
			break;
		fl_err *ce = call_action(sg, sctx, (size_t)i, true);
		e = record(sg, i, true, ce ? FAILED : DONE, ce);
		if (ce)
			*comp_errs = fl_err_join2(*comp_errs, ce);
	}
	fl_ctx_free(sctx);
	if (e)
		return e;
	set_phase(sg, *comp_errs ? "compensation_failed" : "rolled_back", -1);
	return record(sg, -1, false, 0, NULL);
}

/* Runs a loaded saga from its recorded phase to a terminal one. */
static fl_err *drive(struct saga *sg, fl_ctx *ctx)
{
	fl_err *failure = NULL, *comp_errs = NULL, *e = NULL;
	if (strcmp(sg->phase, "forward") == 0) {
		if ((e = run_forward(sg, ctx, &failure))) {
			fl_err_drop(failure);
			return e;
		}
		if (!failure)
			return NULL;
	} else if (strcmp(sg->phase, "compensating") == 0) {
		failure = fl_err_new("%s", sg->last_error);
	} else {
		return NULL; /* terminal already */
	}
	if ((e = run_compensation(sg, ctx, &comp_errs))) {
		fl_err_drop(failure);
		fl_err_drop(comp_errs);
		return e;
	}
	fl_err *parts[3] = {FL_ERR_SAGA_ROLLED_BACK, failure,
			    comp_errs ? fl_err_join2(FL_ERR_SAGA_COMPENSATION, comp_errs) : NULL};
	return fl_err_join(parts, 3);
}

static const fl_saga_def *find_def(fl_saga_coord *c, const char *name)
{
	for (size_t i = 0; i < c->ndefs; i++)
		if (strcmp(c->defs[i]->name, name) == 0)
			return c->defs[i];
	return NULL;
}

static void saga_clear(struct saga *sg)
{
	free(sg->id);
	free(sg->input);
	free(sg->last_error);
	free(sg->fwd);
	free(sg->comp);
}

static fl_err *saga_alloc(struct saga *sg, fl_saga_coord *c, const fl_saga_def *def, const char *id)
{
	memset(sg, 0, sizeof *sg);
	sg->c = c;
	sg->def = def;
	sg->id = fl__strdup(id);
	sg->fwd = fl__calloc(def->nsteps, sizeof *sg->fwd);
	sg->comp = fl__calloc(def->nsteps, sizeof *sg->comp);
	if (!sg->id || !sg->fwd || !sg->comp) {
		saga_clear(sg);
		return FL_ERR_NOMEM;
	}
	return NULL;
}

/* ---- the API -------------------------------------------------------------- */

fl_err *fl_saga_coord_new(const struct fl_saga_opts *opts, fl_saga_coord **out)
{
	if (!opts || !opts->path || !out || opts->compensate_timeout_ns < 0)
		return FL_ERR_INVAL;
	fl_saga_coord *c = fl__calloc(1, sizeof *c);
	if (!c)
		return FL_ERR_NOMEM;
	c->o = *opts;
	c->o.path = NULL;
	fl_err *e = fl__store_open(opts->path, saga_schema, !opts->sync_normal, &c->store);
	if (e) {
		free(c);
		return fl_err_wrap(e, "saga store");
	}
	*out = c;
	return NULL;
}

void fl_saga_coord_free(fl_saga_coord *c)
{
	if (!c)
		return;
	fl__store_close(c->store);
	free(c);
}

fl_err *fl_saga_register(fl_saga_coord *c, const fl_saga_def *def)
{
	if (!c || !def || !def->name || !def->name[0] || strlen(def->name) >= 64 || !def->nsteps ||
	    !def->steps)
		return FL_ERR_INVAL;
	for (size_t i = 0; i < def->nsteps; i++)
		if (!def->steps[i].forward)
			return fl_err_wrap(FL_ERR_INVAL, "saga %s: step %zu has no forward action",
					   def->name, i);
	if (find_def(c, def->name))
		return fl_err_wrap(FL_ERR_INVAL, "saga definition %s registered twice", def->name);
	if (c->ndefs == MAX_DEFS)
		return fl_err_wrap(FL_ERR_INVAL, "more than %d saga definitions", MAX_DEFS);
	c->defs[c->ndefs++] = def;
	return NULL;
}

fl_err *fl_saga_run(fl_saga_coord *c, fl_ctx *ctx, const char *def_name, const char *id,
		    const char *input)
{
	if (!c || !ctx || !def_name || !id || !id[0])
		return FL_ERR_INVAL;
	if (strlen(id) > MAX_ID)
		return fl_err_wrap(FL_ERR_INVAL, "saga id longer than %d bytes", MAX_ID);
	const fl_saga_def *def = find_def(c, def_name);
	if (!def)
		return fl_err_wrap(FL_ERR_INVAL, "saga %s: unknown definition %s", id, def_name);
	struct saga sg;
	fl_err *e = saga_alloc(&sg, c, def, id);
	if (e)
		return e;
	sg.input = fl__strdup(input ? input : "");
	set_phase(&sg, "forward", 0);
	struct create_args a = {id, def_name, sg.input ? sg.input : "", def->nsteps};
	if (!sg.input)
		e = FL_ERR_NOMEM;
	else if ((e = fl__store_call(c->store, tx_create, &a)))
		e = fl_err_wrap(e, "saga %s: create", id);
	else
		e = drive(&sg, ctx);
	saga_clear(&sg);
	return e;
}

/* Loads saga id and drives it on. */
static fl_err *resume_one(fl_saga_coord *c, fl_ctx *ctx, const char *id)
{
	struct saga probe = {.c = c, .id = (char *)id};
	struct load_args la = {&probe, NULL, 0, false};
	fl_err *e = fl__store_call(c->store, tx_load, &la);
	const fl_saga_def *def = la.defname ? find_def(c, la.defname) : NULL;
	if (!e && !la.found)
		e = fl_err_wrap(FL_ERR_INVAL, "saga %s: not in the store", id);
	else if (!e && !def)
		e = fl_err_wrap(FL_ERR_INVAL, "%s: saga %s: definition %s is not registered",
				c->store->path, id, la.defname);
	else if (!e && la.nsteps != (int64_t)def->nsteps)
		e = fl_err_wrap(FL_ERR_INVAL,
				"%s: saga %s: store has %lld steps, definition %s has %zu",
				c->store->path, id, (long long)la.nsteps, def->name, def->nsteps);
	else if (!e && (probe.cur < -1 || probe.cur > la.nsteps))
		e = fl_err_wrap(FL_ERR_INVAL, "%s: saga %s: current step %lld out of range",
				c->store->path, id, (long long)probe.cur);
	struct saga sg;
	if (!e && !(e = saga_alloc(&sg, c, def, id))) {
		sg.input = probe.input;
		sg.last_error = probe.last_error;
		memcpy(sg.phase, probe.phase, sizeof sg.phase);
		sg.cur = probe.cur;
		probe.input = probe.last_error = NULL;
		e = fl__store_call(c->store, tx_load_steps, &sg);
		if (!e)
			e = drive(&sg, ctx);
		saga_clear(&sg);
	}
	free(probe.input);
	free(probe.last_error);
	free(la.defname);
	return e;
}

struct ids {
	char **v;
	size_t n;
};

static fl_err *tx_open_ids(fl__store *s, void *arg)
{
	struct ids *ids = arg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(s,
				      "SELECT id FROM saga WHERE phase IN"
				      " ('forward','compensating') ORDER BY seq",
				      &st);
	if (e)
		return e;
	int rc;
	while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **nv = fl__realloc(ids->v, (ids->n + 1) * sizeof *nv);
		if (!nv || !(nv[ids->n] = text_col(st, 0))) {
			if (nv)
				ids->v = nv;
			e = FL_ERR_NOMEM;
			break;
		}
		ids->v = nv;
		ids->n++;
	}
	if (!e && rc != SQLITE_DONE)
		e = fl__store_err(s, rc, "list sagas");
	sqlite3_finalize(st);
	return e;
}

fl_err *fl_saga_resume(fl_saga_coord *c, fl_ctx *ctx, size_t *resumed)
{
	if (resumed)
		*resumed = 0;
	if (!c || !ctx)
		return FL_ERR_INVAL;
	struct ids ids = {NULL, 0};
	fl_err *e = fl__store_call(c->store, tx_open_ids, &ids);
	/* Every open saga is carried on: one's rollback (or failure) is its
	 * result, joined into the return, not a reason to leave the next in
	 * "forward" or "compensating". */
	for (size_t i = 0; i < ids.n; i++) {
		fl_err *re = resume_one(c, ctx, ids.v[i]);
		if (resumed)
			(*resumed)++;
		e = fl_err_join2(e, re);
	}
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	return e;
}

fl_err *fl_saga_info_get(fl_saga_coord *c, const char *id, fl_saga_info *out)
{
	if (!c || !id || !out)
		return FL_ERR_INVAL;
	struct saga probe = {.c = c, .id = (char *)id};
	struct load_args la = {&probe, NULL, 0, false};
	fl_err *e = fl__store_call(c->store, tx_load, &la);
	if (!e && !la.found)
		e = fl_err_wrap(FL_ERR_INVAL, "saga %s: not in the store", id);
	if (!e) {
		memset(out, 0, sizeof *out);
		memcpy(out->phase, probe.phase, sizeof out->phase);
		snprintf(out->def, sizeof out->def, "%s", la.defname);
		out->current = probe.cur;
		out->nsteps = (size_t)la.nsteps;
		snprintf(out->last_error, sizeof out->last_error, "%s", probe.last_error);
	}
	free(probe.input);
	free(probe.last_error);
	free(la.defname);
	return e;
}

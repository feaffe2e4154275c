/*
 * test_saga.c - sagas: forward, reverse compensation, aggregation of
 * compensation failures, shielded compensation under cancellation, the
 * store's bad-input errors, and kill/restart for real: the test re-executes
 * itself as a child process that runs sagas and SIGKILLs itself at a chosen
 * action call, then restarts it until it completes and checks every saga's
 * effect log.
 */
/* fl-test-labels: concurrency memcheck */
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/retry.h>
#include <fl/saga.h>
#include <fl/task.h>

#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "pat_test_util.h"

extern char **environ;

/* This binary (argv[0]): under valgrind /proc/self/exe is valgrind. */
static const char *g_self;

FL_ERR_SENTINEL(test_step_failed, "step refused");
FL_ERR_SENTINEL(test_comp_failed, "undo refused");

/* ---- effect recording ------------------------------------------------------
 * Actions append "<key> <T|C>" to an effect log: in memory for in-process
 * cases, in a SQLite table for the child process (so a SIGKILL loses
 * nothing written). A compensation first checks that its forward effect
 * exists: a step that failed or never ran has nothing to undo. */

struct memlog {
	char keys[64][80];
	int n;
};

static struct memlog *g_mem;   /* in-process cases */
static sqlite3 *g_effects;     /* child process */
static long g_calls;           /* child: action calls made in this process */
static long g_kill_at;         /* child: call number to die at (0: never) */
static char g_kill_mode;       /* 'b': before the effect, 'a': after it */

static bool has_effect(const char *key)
{
	if (g_mem) {
		for (int i = 0; i < g_mem->n; i++)
			if (strncmp(g_mem->keys[i], key, strlen(key)) == 0 &&
			    g_mem->keys[i][strlen(key)] == ' ')
				return true;
		return false;
	}
	sqlite3_stmt *st;
	ASSERT_EQ(sqlite3_prepare_v2(g_effects, "SELECT count(*) FROM effects WHERE key = ?", -1,
				     &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	bool r = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return r;
}

static void add_effect(const fl_saga_call *c)
{
	if (g_mem) {
		ASSERT(g_mem->n < 64);
		snprintf(g_mem->keys[g_mem->n++], 80, "%s %c", c->key, c->compensate ? 'C' : 'T');
		return;
	}
	sqlite3_stmt *st;
	ASSERT_EQ(sqlite3_prepare_v2(g_effects, "INSERT INTO effects(saga, key, kind)"
				     " VALUES(?, ?, ?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, c->saga_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->compensate ? "C" : "T", -1, SQLITE_STATIC);
	ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Child-process crash hook: dies at the chosen call. */
static void maybe_die(bool after)
{
	if (g_kill_at && g_calls == g_kill_at && (g_kill_mode == 'a') == after)
		raise(SIGKILL);
}

/* Which forward steps fail is a pure function of (input, step), so every
 * restart makes the same decision. input "fail=K" fails step K. */
static bool should_fail(const fl_saga_call *c)
{
	int k;
	return sscanf(c->input, "fail=%d", &k) == 1 && (size_t)k == c->step;
}

static fl_err *step_forward(fl_ctx *ctx, const fl_saga_call *c)
{
	g_calls++;
	maybe_die(false);
	fl_err *e = FL_FAULT(ctx, "saga.forward");
	if (e)
		return e;
	if (should_fail(c)) {
		maybe_die(true); /* after deciding, before the coordinator records it */
		return fl_err_wrap(fl_err_ref(test_step_failed), "step %zu", c->step);
	}
	if (!has_effect(c->key)) /* idempotent by key */
		add_effect(c);
	else if (!g_mem)
		add_effect(c); /* the child logs repeats too: the check dedups */
	maybe_die(true);
	return NULL;
}

static fl_err *step_compensate(fl_ctx *ctx, const fl_saga_call *c)
{
	g_calls++;
	maybe_die(false);
	ASSERT(c->compensate);
	char want[128];
	snprintf(want, sizeof want, "%s/%zu/fwd", c->saga_id, c->step);
	ASSERT_STR_EQ(c->forward_key, want);
	fl_err *e = FL_FAULT(ctx, "saga.compensate");
	if (e)
		return e;
	if (has_effect(c->forward_key))
		add_effect(c);
	maybe_die(true);
	return NULL;
}

static const fl_saga_step three_steps[] = {
	{"reserve", step_forward, step_compensate, NULL},
	{"charge", step_forward, step_compensate, NULL},
	{"ship", step_forward, step_compensate, NULL},
};
static const fl_saga_def order_def = {"order", three_steps, 3};

static fl_saga_coord *open_coord_retry(const char *path, int64_t comp_timeout,
				       const fl_retry_policy *fwd, const fl_retry_policy *comp)
{
	struct fl_saga_opts o = {.path = path, .compensate_timeout_ns = comp_timeout,
				 .forward_retry = fwd, .compensate_retry = comp};
	fl_saga_coord *c;
	fl_err *e = fl_saga_coord_new(&o, &c);
	if (e)
		FL_FAIL("fl_saga_coord_new: %s", pat_errtext(e));
	ASSERT_NULL(fl_saga_register(c, &order_def));
	return c;
}

static fl_saga_coord *open_coord(const char *path, int64_t comp_timeout)
{
	return open_coord_retry(path, comp_timeout, NULL, NULL);
}

static void expect_log(const struct memlog *m, const char *const *want, int n)
{
	ASSERT_EQ(m->n, n);
	for (int i = 0; i < n; i++)
		ASSERT_STR_EQ(m->keys[i], want[i]);
}

static void expect_phase(fl_saga_coord *c, const char *id, const char *phase)
{
	fl_saga_info info;
	ASSERT_NULL(fl_saga_info_get(c, id, &info));
	ASSERT_STR_EQ(info.phase, phase);
}

FL_TEST(commits_all_steps)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), 0);
	ASSERT_NULL(fl_saga_run(c, fl_ctx_background(), "order", "o1", ""));
	const char *want[] = {"o1/0/fwd T", "o1/1/fwd T", "o1/2/fwd T"};
	expect_log(&m, want, 3);
	expect_phase(c, "o1", "committed");
	fl_err *e = fl_saga_run(c, fl_ctx_background(), "order", "o1", "");
	ASSERT(fl_err_is(e, FL_ERR_INVAL)); /* ids are unique */
	fl_err_drop(e);
	size_t resumed = 9;
	ASSERT_NULL(fl_saga_resume(c, fl_ctx_background(), &resumed));
	ASSERT_EQ(resumed, 0);
	fl_saga_coord_free(c);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

/* Step 3 fails (fault injector): steps 2 and 1 are undone in reverse; the
 * failed step's compensation runs too but finds nothing to undo. */
FL_TEST(failure_compensates_in_reverse)
{
	ASSERT_NULL(fl_fault_register_error("ESTEP", test_step_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("saga.forward=@3 error(ESTEP)", 1, &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), 0);
	fl_err *e = fl_saga_run(c, fl_ctx_background(), "order", "o2", "");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
	ASSERT(fl_err_is(e, test_step_failed));
	ASSERT(!fl_err_is(e, FL_ERR_SAGA_COMPENSATION));
	ASSERT_CONTAINS(pat_errtext(e), "step 2 (ship) forward");
	fl_err_drop(e);
	const char *want[] = {"o2/0/fwd T", "o2/1/fwd T", "o2/1/comp C", "o2/0/comp C"};
	expect_log(&m, want, 4);
	fl_saga_info info;
	ASSERT_NULL(fl_saga_info_get(c, "o2", &info));
	ASSERT_STR_EQ(info.phase, "rolled_back");
	ASSERT_CONTAINS(info.last_error, "step refused");
	fl_saga_coord_free(c);
	fl_fault_plan_free(plan);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

/* Every compensation fails: all are still attempted, and every failure is
 * in the result. */
FL_TEST(compensation_failures_aggregated)
{
	ASSERT_NULL(fl_fault_register_error("ESTEP", test_step_failed));
	ASSERT_NULL(fl_fault_register_error("EUNDO", test_comp_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("saga.forward=@3 error(ESTEP); saga.compensate=error(EUNDO)", 1,
				 &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), 0);
	fl_err *e = fl_saga_run(c, fl_ctx_background(), "order", "o3", "");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
	ASSERT(fl_err_is(e, FL_ERR_SAGA_COMPENSATION));
	ASSERT(fl_err_is(e, test_comp_failed));
	const char *text = pat_errtext(e);
	ASSERT_CONTAINS(text, "step 2 (ship) compensation");
	ASSERT_CONTAINS(text, "step 1 (charge) compensation");
	ASSERT_CONTAINS(text, "step 0 (reserve) compensation");
	fl_err_drop(e);
	expect_phase(c, "o3", "compensation_failed");
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(plan, "saga.compensate", &st));
	ASSERT_EQ(st.evals, 3);
	size_t resumed = 9; /* terminal: not resumed */
	ASSERT_NULL(fl_saga_resume(c, fl_ctx_background(), &resumed));
	ASSERT_EQ(resumed, 0);
	fl_saga_coord_free(c);
	fl_fault_plan_free(plan);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

/* Retries: a transient forward failure (evaluation 2: step 1's first
 * attempt) and two transient compensation failures are retried away. */
FL_TEST(actions_retried_with_policy)
{
	ASSERT_NULL(fl_fault_register_error("ESTEP", test_step_failed));
	ASSERT_NULL(fl_fault_register_error("EUNDO", test_comp_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("saga.forward=@2 error(ESTEP); saga.compensate=@1..2 error(EUNDO)",
				 1, &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_retry_policy rp = {.max_attempts = 3, .initial_ns = FL_US(100), .multiplier = 2};
	fl_saga_coord *c = open_coord_retry(pat_tmp_path(&t, "saga.db", p, sizeof p), 0, &rp, &rp);
	ASSERT_NULL(fl_saga_run(c, fl_ctx_background(), "order", "r1", ""));
	const char *want1[] = {"r1/0/fwd T", "r1/1/fwd T", "r1/2/fwd T"};
	expect_log(&m, want1, 3);
	/* r2 fails for good at step 1 ("fail=1" is not a transient error, but
	 * the policy retries it: three attempts, then compensation, whose
	 * first two attempts fail (C1 is a no-op, then C0 is undone). */
	m.n = 0;
	fl_err *e = fl_saga_run(c, fl_ctx_background(), "order", "r2", "fail=1");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
	ASSERT(!fl_err_is(e, FL_ERR_SAGA_COMPENSATION));
	ASSERT_CONTAINS(pat_errtext(e), "3 attempts");
	fl_err_drop(e);
	const char *want2[] = {"r2/0/fwd T", "r2/0/comp C"};
	expect_log(&m, want2, 2);
	expect_phase(c, "r2", "rolled_back");
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(plan, "saga.compensate", &st));
	ASSERT_EQ(st.evals, 4); /* C1 x3 (two failed), C0 x1 */
	fl_saga_coord_free(c);
	fl_fault_plan_free(plan);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

static fl_ctx *g_cancel_on_first;

static fl_err *fwd_cancels_then_fails(fl_ctx *ctx, const fl_saga_call *c)
{
	if (c->step < 1)
		return step_forward(ctx, c);
	ASSERT_EQ(c->attempt, 1); /* never a second attempt */
	fl_ctx_cancel(g_cancel_on_first, NULL);
	return fl_err_ref(test_step_failed);
}

/* Blocking points: the retry backoffs. A forward backoff of an hour ends
 * with the caller's cancellation; a compensation backoff of an hour is
 * bounded by the shielded context's own deadline (the caller's
 * cancellation does not reach it; without the deadline the test would
 * hang for an hour). */
FL_TEST(retry_backoffs_end_on_cancel_and_deadline)
{
	ASSERT_NULL(fl_fault_register_error("EUNDO", test_comp_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("saga.compensate=@1 error(EUNDO)", 1, &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_ctx *caller;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &caller));
	g_cancel_on_first = caller;
	/* Backoffs are full jitter, drawn from [0, cap]: with a cap of an hour
	 * a draw fit the 200 s deadline valgrind's time scale gives 5.6% of
	 * the time, slept it, and the retried C1 then passed. With ~30 years
	 * a draw below the deadline is vanishingly rare (2e-7 under valgrind). */
	fl_retry_policy slow = {.max_attempts = 5, .initial_ns = FL_SEC(1000000000),
				.multiplier = 1};
	static const fl_saga_step steps[] = {
		{"a", step_forward, step_compensate, NULL},
		{"b", fwd_cancels_then_fails, step_compensate, NULL},
	};
	static const fl_saga_def def = {"slowretry", steps, 2};
	/* A backoff drawn past the shielded context's deadline is not slept:
	 * fl_retry gives up at once, so the deadline can be generous without
	 * making the test slow. */
	fl_saga_coord *c = open_coord_retry(pat_tmp_path(&t, "saga.db", p, sizeof p),
					    FL_SEC(10) * fl_test_time_scale(), &slow, &slow);
	ASSERT_NULL(fl_saga_register(c, &def));
	fl_err *e = fl_saga_run(c, caller, "slowretry", "b1", "");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
	ASSERT(fl_err_is(e, FL_ERR_SAGA_COMPENSATION)); /* C1 failed, no time to retry */
	ASSERT(fl_err_is(e, test_comp_failed));
	fl_err_drop(e);
	const char *want[] = {"b1/0/fwd T", "b1/0/comp C"}; /* C0 still ran */
	expect_log(&m, want, 2);
	expect_phase(c, "b1", "compensation_failed");
	fl_saga_coord_free(c);
	fl_ctx_free(caller);
	fl_fault_plan_free(plan);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

struct cancel_rig {
	fl_ctx *caller;
	int comp_calls;
	bool comp_ctx_live;
};

static struct cancel_rig *g_rig;

/* Blocking point: a forward action waiting on its context. The test
 * cancels the caller from inside (deterministic: the action is blocked or
 * about to block on a context that is already cancelled). */
static fl_err *fwd_blocks(fl_ctx *ctx, const fl_saga_call *c)
{
	if (c->step == 1) {
		fl_ctx_cancel(g_rig->caller, NULL);
		ASSERT_EQ(fl_ctx_wait(ctx, FL_FOREVER), FL_CANCELED);
		return fl_ctx_cause(ctx);
	}
	return step_forward(ctx, c);
}

static fl_err *comp_checks_ctx(fl_ctx *ctx, const fl_saga_call *c)
{
	g_rig->comp_calls++;
	g_rig->comp_ctx_live = !fl_ctx_done(ctx) && fl_ctx_deadline(ctx) != FL_FOREVER;
	ASSERT(g_rig->comp_ctx_live);
	return step_compensate(ctx, c);
}

/* Cancelling the caller does not skip compensation: it runs in a shielded
 * context (not cancelled, with its own deadline). */
FL_TEST(cancelled_caller_still_compensates)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_ctx *caller;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &caller));
	struct cancel_rig rig = {caller, 0, false};
	g_rig = &rig;
	static const fl_saga_step steps[] = {
		{"a", fwd_blocks, comp_checks_ctx, NULL},
		{"b", fwd_blocks, comp_checks_ctx, NULL},
		{"c", fwd_blocks, comp_checks_ctx, NULL},
	};
	static const fl_saga_def def = {"blocking", steps, 3};
	fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), FL_SEC(60));
	ASSERT_NULL(fl_saga_register(c, &def));
	fl_err *e = fl_saga_run(c, caller, "blocking", "o4", "");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	ASSERT_EQ(rig.comp_calls, 2);
	const char *want[] = {"o4/0/fwd T", "o4/0/comp C"};
	expect_log(&m, want, 2);
	expect_phase(c, "o4", "rolled_back");
	/* A caller cancelled before the saga starts: nothing runs forward,
	 * and the saga is recorded as rolled back. */
	m.n = 0;
	e = fl_saga_run(c, caller, "order", "o5", "");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
	fl_err_drop(e);
	ASSERT_EQ(m.n, 0);
	expect_phase(c, "o5", "rolled_back");
	fl_saga_coord_free(c);
	fl_ctx_free(caller);
	g_mem = NULL;
	g_rig = NULL;
	pat_tmp_destroy(&t);
}

/* Blocking point: a compensation that hangs. The shielded context's own
 * deadline ends it; the remaining compensations still run. */
FL_TEST(hung_compensation_hits_its_deadline)
{
	ASSERT_NULL(fl_fault_register_error("ESTEP", test_step_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("saga.forward=@3 error(ESTEP); saga.compensate=@1 hang", 1,
				 &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {0};
	g_mem = &m;
	fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), FL_MS(50));
	fl_err *e = fl_saga_run(c, fl_ctx_background(), "order", "o6", "");
	ASSERT(fl_err_is(e, FL_ERR_SAGA_COMPENSATION));
	ASSERT(fl_err_is(e, FL_ERR_DEADLINE));
	fl_err_drop(e);
	expect_phase(c, "o6", "compensation_failed");
	fl_saga_coord_free(c);
	fl_fault_plan_free(plan);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

FL_TEST(bad_store_and_definitions)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	pat_tmp_path(&t, "foreign.db", p, sizeof p);
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE saga(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct fl_saga_opts o = {.path = p};
	fl_saga_coord *c = NULL;
	fl_err *e = fl_saga_coord_new(&o, &c);
	ASSERT_NULL(c);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT_CONTAINS(pat_errtext(e), p);
	ASSERT_CONTAINS(pat_errtext(e), "foreign SQLite database");
	fl_err_drop(e);

	c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), 0);
	e = fl_saga_register(c, &order_def);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	e = fl_saga_run(c, fl_ctx_background(), "nosuch", "x", "");
	ASSERT_CONTAINS(pat_errtext(e), "unknown definition nosuch");
	fl_err_drop(e);
	fl_saga_coord_free(c);
	/* A saga left half-way, then a coordinator without its definition. */
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "INSERT INTO saga(id, def, input, phase, cur, nsteps)"
			       " VALUES('z', 'gone', '', 'forward', 0, 1);"
			       "INSERT INTO saga_step(saga, idx, fwd, comp) VALUES('z', 0, 'pending', 'none')",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	c = open_coord(p, 0);
	e = fl_saga_resume(c, fl_ctx_background(), NULL);
	ASSERT_CONTAINS(pat_errtext(e), "definition gone is not registered");
	ASSERT_CONTAINS(pat_errtext(e), p);
	fl_err_drop(e);
	expect_phase(c, "z", "forward"); /* left for a later resume */
	fl_saga_coord_free(c);
	pat_tmp_destroy(&t);
}

/* Two sagas a crash left open: a (first in the store) was compensating,
 * b had not started. Resume must finish both: a's rollback is a result,
 * not a reason to leave b in "forward" (it once stopped at the first). */
FL_TEST(resume_finishes_every_open_saga)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct memlog m = {.n = 1, .keys = {"a/0/fwd T"}}; /* a's step 0 took effect */
	g_mem = &m;
	fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), 0);
	fl_saga_coord_free(c);
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db,
			       "INSERT INTO saga(id, def, input, phase, cur, nsteps)"
			       " VALUES('a', 'order', 'fail=1', 'compensating', 1, 3);"
			       "INSERT INTO saga_step(saga, idx, fwd, comp) VALUES"
			       " ('a', 0, 'done', 'none'), ('a', 1, 'failed', 'none'),"
			       " ('a', 2, 'pending', 'none');"
			       "INSERT INTO saga(id, def, input, phase, cur, nsteps)"
			       " VALUES('b', 'order', '', 'forward', 0, 3);"
			       "INSERT INTO saga_step(saga, idx, fwd, comp) VALUES"
			       " ('b', 0, 'pending', 'none'), ('b', 1, 'pending', 'none'),"
			       " ('b', 2, 'pending', 'none')",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	c = open_coord(p, 0);
	size_t resumed = 0;
	fl_err *e = fl_saga_resume(c, fl_ctx_background(), &resumed);
	ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK)); /* a's outcome, reported */
	fl_err_drop(e);
	ASSERT_EQ(resumed, 2);
	expect_phase(c, "a", "rolled_back");
	expect_phase(c, "b", "committed");
	const char *want[] = {"a/0/fwd T", "a/0/comp C", "b/0/fwd T", "b/1/fwd T", "b/2/fwd T"};
	expect_log(&m, want, 5);
	fl_saga_coord_free(c);
	g_mem = NULL;
	pat_tmp_destroy(&t);
}

/* ---- many sagas at once -------------------------------------------------- */

/* Fewer sagas under valgrind (FL_TEST_TIME_SCALE > 1): SQLite is slow there. */
enum { SAGA_TASKS = 4, SAGAS_PER_TASK_MAX = 10, NSAGAS = SAGA_TASKS * SAGAS_PER_TASK_MAX };
static int g_per_task;

/* Per saga: bit i set by forward i, cleared by compensation i. */
static atomic_int g_state[NSAGAS];
static atomic_int g_comp_calls[NSAGAS];

static int saga_no(const fl_saga_call *c)
{
	int n = -1;
	ASSERT_EQ(sscanf(c->input, "%d", &n), 1);
	ASSERT(n >= 0 && n < NSAGAS);
	return n;
}

static fl_err *conc_forward(fl_ctx *ctx, const fl_saga_call *c)
{
	int n = saga_no(c);
	if (n % 5 == 4 && c->step == 2)
		return fl_err_ref(test_step_failed);
	atomic_fetch_or(&g_state[n], 1 << c->step);
	return NULL;
}

static fl_err *conc_compensate(fl_ctx *ctx, const fl_saga_call *c)
{
	int n = saga_no(c);
	atomic_fetch_add(&g_comp_calls[n], 1);
	atomic_fetch_and(&g_state[n], ~(1 << c->step));
	return NULL;
}

static const fl_saga_step conc_steps[] = {
	{"a", conc_forward, conc_compensate, NULL},
	{"b", conc_forward, conc_compensate, NULL},
	{"c", conc_forward, conc_compensate, NULL},
};
static const fl_saga_def conc_def = {"conc", conc_steps, 3};

struct conc_task {
	fl_saga_coord *c;
	int first;
};

static fl_err *run_many(fl_ctx *ctx, void *arg)
{
	struct conc_task *t = arg;
	for (int i = t->first; i < t->first + g_per_task; i++) {
		char id[32], input[32];
		snprintf(id, sizeof id, "c%d", i);
		snprintf(input, sizeof input, "%d", i);
		fl_err *e = fl_saga_run(t->c, ctx, "conc", id, input);
		if (i % 5 == 4) {
			ASSERT(fl_err_is(e, FL_ERR_SAGA_ROLLED_BACK));
			fl_err_drop(e);
		} else if (e) {
			return e;
		}
	}
	return NULL;
}

/* Sagas run concurrently on one coordinator (one store): each ends in its
 * own right state. Prints the rate (a number, not a goal). */
FL_TEST(many_sagas_concurrently)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	/* NORMAL: this case is about concurrency, not durability (the kill
	 * tests run the default, FULL), and FULL costs an fsync per
	 * transition. */
	struct fl_saga_opts o = {.path = pat_tmp_path(&t, "saga.db", p, sizeof p),
				 .sync_normal = true};
	fl_saga_coord *c;
	ASSERT_NULL(fl_saga_coord_new(&o, &c));
	ASSERT_NULL(fl_saga_register(c, &order_def));
	ASSERT_NULL(fl_saga_register(c, &conc_def));
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	struct conc_task ts[SAGA_TASKS];
	g_per_task = fl_test_time_scale() > 1 ? 2 : SAGAS_PER_TASK_MAX;
	int64_t t0 = fl_now();
	for (int i = 0; i < SAGA_TASKS; i++) {
		ts[i] = (struct conc_task){c, i * g_per_task};
		ASSERT_NULL(fl_group_go(g, run_many, &ts[i]));
	}
	ASSERT_NULL(fl_group_wait(g));
	int64_t dt = fl_now() - t0;
	fl_group_free(g);
	int nsagas = SAGA_TASKS * g_per_task;
	for (int i = 0; i < nsagas; i++) {
		char id[32];
		snprintf(id, sizeof id, "c%d", i);
		if (i % 5 == 4) {
			ASSERT_EQ(atomic_load(&g_state[i]), 0);
			ASSERT_EQ(atomic_load(&g_comp_calls[i]), 3);
			expect_phase(c, id, "rolled_back");
		} else {
			ASSERT_EQ(atomic_load(&g_state[i]), 7);
			ASSERT_EQ(atomic_load(&g_comp_calls[i]), 0);
			expect_phase(c, id, "committed");
		}
	}
	fprintf(stderr, "%d sagas (3 steps, synchronous=NORMAL) on %d tasks: %.1f ms, %.0f sagas/s\n",
		nsagas, SAGA_TASKS, dt / 1e6, nsagas / (dt / 1e9));
	fl_saga_coord_free(c);
	pat_tmp_destroy(&t);
}

/* ---- kill/restart ----------------------------------------------------------
 * The child: `test_saga --saga-child DIR KILL_AT MODE` resumes what the
 * store holds, then runs the sagas not yet created, one by one. Three
 * sagas: one commits, one fails at step 2, one at step 1. */

static const char *const child_ids[] = {"s0", "s1", "s2"};
static const char *const child_inputs[] = {"", "fail=2", "fail=1"};
/* The effect log each must end with (after dedup by key). */
static const char *const child_want[3] = {
	"s0/0/fwd T,s0/1/fwd T,s0/2/fwd T",
	"s1/0/fwd T,s1/1/fwd T,s1/1/comp C,s1/0/comp C",
	"s2/0/fwd T,s2/0/comp C",
};

static int child_main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	char p[600];
	snprintf(p, sizeof p, "%s/effects.db", argv[2]);
	ASSERT_EQ(sqlite3_open(p, &g_effects), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(g_effects, "PRAGMA journal_mode=WAL;"
			       "CREATE TABLE IF NOT EXISTS effects(seq INTEGER PRIMARY KEY"
			       " AUTOINCREMENT, saga TEXT, key TEXT, kind TEXT)", NULL, NULL, NULL),
		  SQLITE_OK);
	g_kill_at = atol(argv[3]);
	g_kill_mode = argv[4][0];
	snprintf(p, sizeof p, "%s/saga.db", argv[2]);
	fl_saga_coord *c = open_coord(p, 0);
	fl_err_drop(fl_saga_resume(c, fl_ctx_background(), NULL));
	for (int i = 0; i < 3; i++) {
		fl_saga_info info;
		fl_err *e = fl_saga_info_get(c, child_ids[i], &info);
		if (!e)
			continue; /* created by an earlier run (and resumed) */
		fl_err_drop(e);
		fl_err_drop(fl_saga_run(c, fl_ctx_background(), "order", child_ids[i],
					child_inputs[i]));
	}
	fl_saga_coord_free(c);
	sqlite3_close(g_effects);
	return 0;
}

/* Runs the child; returns the signal that killed it, or 0 on exit 0. */
static int run_child(const char *dir, long kill_at, char mode)
{
	char k[32], m[2] = {mode, 0};
	snprintf(k, sizeof k, "%ld", kill_at);
	char *args[] = {(char *)g_self, (char *)"--saga-child", (char *)dir, k, m, NULL};
	pid_t pid;
	ASSERT_EQ(posix_spawn(&pid, g_self, NULL, NULL, args, environ), 0);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return WTERMSIG(st);
	ASSERT(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	return 0;
}

/* The effect log of saga id, deduplicated by key (first occurrence). */
static void effect_log(const char *dir, const char *id, char *out, size_t cap, int *dups)
{
	char p[600];
	snprintf(p, sizeof p, "%s/effects.db", dir);
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_stmt *st;
	ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key, kind, count(*) FROM effects WHERE saga = ?"
				     " GROUP BY key ORDER BY min(seq)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	out[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t len = strlen(out);
		snprintf(out + len, cap - len, "%s%s %s", len ? "," : "",
			 (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1));
		*dups += sqlite3_column_int(st, 2) - 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* For each kill point k (the k-th action call of the first run), kill the
 * child there; for odd k kill the restarted child too, at its first call;
 * then restart until done. Every saga must end with exactly its expected
 * effect log, every saga terminal. */
static void kill_restart(char mode, long from, long to)
{
	int kills = 0, total_dups = 0;
	/* Under valgrind only this parent is checked (the children run
	 * natively), so every third kill point is enough there. */
	long stride = fl_test_time_scale() > 1 ? 3 : 1;
	for (long k = from; k <= to; k += stride) {
		pat_tmp t;
		pat_tmp_init(&t);
		int sig = run_child(t.dir, k, mode);
		ASSERT_EQ(sig, SIGKILL); /* every k here is reached */
		kills++;
		if (k % 2 && run_child(t.dir, 1, mode) == SIGKILL)
			kills++;
		ASSERT_EQ(run_child(t.dir, 0, mode), 0);
		for (int i = 0; i < 3; i++) {
			char got[512];
			int dups = 0;
			effect_log(t.dir, child_ids[i], got, sizeof got, &dups);
			if (strcmp(got, child_want[i]) != 0)
				FL_FAIL("kill at call %ld (%c): saga %s effects \"%s\", want \"%s\"", k,
					mode, child_ids[i], got, child_want[i]);
			total_dups += dups;
		}
		char p[600];
		fl_saga_coord *c = open_coord(pat_tmp_path(&t, "saga.db", p, sizeof p), 0);
		expect_phase(c, "s0", "committed");
		expect_phase(c, "s1", "rolled_back");
		expect_phase(c, "s2", "rolled_back");
		fl_saga_coord_free(c);
		pat_tmp_destroy(&t);
	}
	fprintf(stderr, "kill points %ld..%ld mode %c: %d kills, %d duplicate effects deduped\n",
		from, to, mode, kills, total_dups);
	if (mode == 'a')
		ASSERT_GT(total_dups, 0); /* kills after effects did cause re-runs */
	else
		ASSERT_EQ(total_dups, 0); /* write-ahead: nothing ran twice */
}

/* 13 action calls in a full run: s0 T0 T1 T2, s1 T0 T1 T2(fails) C2 C1
 * C0, s2 T0 T1(fails) C1 C0. Kill points cover forward steps and the
 * middle of compensation. */
FL_TEST(kill_before_effect_forward)
{
	kill_restart('b', 1, 6);
}

FL_TEST(kill_before_effect_compensating)
{
	kill_restart('b', 7, 13);
}

FL_TEST(kill_after_effect_forward)
{
	kill_restart('a', 1, 6);
}

FL_TEST(kill_after_effect_compensating)
{
	kill_restart('a', 7, 13);
}

static const fl_test_case cases[] = {
	FL_CASE(commits_all_steps), FL_CASE(failure_compensates_in_reverse),
	FL_CASE(compensation_failures_aggregated), FL_CASE(cancelled_caller_still_compensates),
	FL_CASE(hung_compensation_hits_its_deadline), FL_CASE(bad_store_and_definitions),
	FL_CASE(resume_finishes_every_open_saga),
	FL_CASE(many_sagas_concurrently), FL_CASE(actions_retried_with_policy),
	FL_CASE(retry_backoffs_end_on_cancel_and_deadline),
	FL_CASE(kill_before_effect_forward), FL_CASE(kill_before_effect_compensating),
	FL_CASE(kill_after_effect_forward), FL_CASE(kill_after_effect_compensating),
	{0, 0}};

int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc > 1 && strcmp(argv[1], "--saga-child") == 0)
		return child_main(argc, argv);
	return fl_test_main(argc, argv, cases);
}

/*
 * test_saga_steps.c - one saga's steps, in-process: forward, reverse
 * compensation, aggregation of compensation failures, actions retried
 * with a policy, shielded compensation under cancellation, a hung
 * compensation's deadline, the store's bad-input errors, and resume.
 * Many sagas at once and kill/restart are in test_saga.c; the effect log
 * and the "order" saga both use are in saga_test_util.h.
 */
/* fl-test-labels: concurrency memcheck */
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/retry.h>
#include <fl/saga.h>
#include <fl/task.h>

#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>

#include "pat_test_util.h"
#include "saga_test_util.h"

FL_ERR_SENTINEL(test_comp_failed, "undo refused");

static void expect_log(const struct memlog *m, const char *const *want, int n)
{
	ASSERT_EQ(m->n, n);
	for (int i = 0; i < n; i++)
		ASSERT_STR_EQ(m->keys[i], want[i]);
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
	fl_retry_policy slow = {.max_attempts = 5,
				.initial_ns = FL_SEC(1000000000),
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
	ASSERT_NULL(
		fl_fault_arm("saga.forward=@3 error(ESTEP); saga.compensate=@1 hang", 1, &plan));
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
	ASSERT_EQ(
		sqlite3_exec(
			db,
			"INSERT INTO saga(id, def, input, phase, cur, nsteps)"
			" VALUES('z', 'gone', '', 'forward', 0, 1);"
			"INSERT INTO saga_step(saga, idx, fwd, comp) VALUES('z', 0, 'pending', 'none')",
			NULL, NULL, NULL),
		SQLITE_OK);
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

FL_TEST_MAIN(FL_CASE(commits_all_steps), FL_CASE(failure_compensates_in_reverse),
	     FL_CASE(compensation_failures_aggregated), FL_CASE(cancelled_caller_still_compensates),
	     FL_CASE(hung_compensation_hits_its_deadline), FL_CASE(bad_store_and_definitions),
	     FL_CASE(resume_finishes_every_open_saga), FL_CASE(actions_retried_with_policy),
	     FL_CASE(retry_backoffs_end_on_cancel_and_deadline))

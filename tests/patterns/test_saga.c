/*
 * test_saga.c - sagas under load and crashes: many sagas at once on
 * several tasks, and kill/restart for real: the test re-executes itself
 * as a child process that runs sagas and SIGKILLs itself at a chosen
 * action call, then restarts it until it completes and checks every
 * saga's effect log. One saga's steps in-process (forward, compensation,
 * retries, cancellation, bad input, resume) are in test_saga_steps.c; the
 * effect log and the "order" saga both use are in saga_test_util.h.
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
#include "saga_test_util.h"

extern char **environ;

/* This binary (argv[0]): under valgrind /proc/self/exe is valgrind. */
static const char *g_self;

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
	fprintf(stderr,
		"%d sagas (3 steps, synchronous=NORMAL) on %d tasks: %.1f ms, %.0f sagas/s\n",
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
	ASSERT_EQ(sqlite3_exec(g_effects,
			       "PRAGMA journal_mode=WAL;"
			       "CREATE TABLE IF NOT EXISTS effects(seq INTEGER PRIMARY KEY"
			       " AUTOINCREMENT, saga TEXT, key TEXT, kind TEXT)",
			       NULL, NULL, NULL),
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
	ASSERT_EQ(sqlite3_prepare_v2(db,
				     "SELECT key, kind, count(*) FROM effects WHERE saga = ?"
				     " GROUP BY key ORDER BY min(seq)",
				     -1, &st, NULL),
		  SQLITE_OK);
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
				FL_FAIL("kill at call %ld (%c): saga %s effects \"%s\", want \"%s\"",
					k, mode, child_ids[i], got, child_want[i]);
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
FL_TEST(kill_before_effect_forward) { kill_restart('b', 1, 6); }

FL_TEST(kill_before_effect_compensating) { kill_restart('b', 7, 13); }

FL_TEST(kill_after_effect_forward) { kill_restart('a', 1, 6); }

FL_TEST(kill_after_effect_compensating) { kill_restart('a', 7, 13); }

static const fl_test_case cases[] = {FL_CASE(many_sagas_concurrently),
				     FL_CASE(kill_before_effect_forward),
				     FL_CASE(kill_before_effect_compensating),
				     FL_CASE(kill_after_effect_forward),
				     FL_CASE(kill_after_effect_compensating),
				     {0, 0}};

int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc > 1 && strcmp(argv[1], "--saga-child") == 0)
		return child_main(argc, argv);
	return fl_test_main(argc, argv, cases);
}

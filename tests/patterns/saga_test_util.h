/*
 * saga_test_util.h - what the saga tests share: the effect log the actions
 * write (in memory in-process, in SQLite in the kill/restart child), the
 * three-step "order" saga whose steps record effects, fail on request and
 * can die at a chosen call, and coordinator helpers.
 */
#ifndef FL_SAGA_TEST_UTIL_H
#define FL_SAGA_TEST_UTIL_H

#include <fl/fault.h>
#include <fl/retry.h>
#include <fl/saga.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "pat_test_util.h"

FL_ERR_SENTINEL(test_step_failed, "step refused");

/* ---- effect recording ------------------------------------------------------
 * Actions append "<key> <T|C>" to an effect log: in memory for in-process
 * cases, in a SQLite table for the child process (so a SIGKILL loses
 * nothing written). A compensation first checks that its forward effect
 * exists: a step that failed or never ran has nothing to undo. */

struct memlog {
	char keys[64][80];
	int n;
};

static struct memlog *g_mem; /* in-process cases */
static sqlite3 *g_effects;   /* child process */
static long g_calls;         /* child: action calls made in this process */
static long g_kill_at;       /* child: call number to die at (0: never) */
static char g_kill_mode;     /* 'b': before the effect, 'a': after it */

static inline bool has_effect(const char *key)
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
				     &st, NULL),
		  SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	bool r = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return r;
}

static inline void add_effect(const fl_saga_call *c)
{
	if (g_mem) {
		ASSERT(g_mem->n < 64);
		snprintf(g_mem->keys[g_mem->n++], 80, "%s %c", c->key, c->compensate ? 'C' : 'T');
		return;
	}
	sqlite3_stmt *st;
	ASSERT_EQ(sqlite3_prepare_v2(g_effects,
				     "INSERT INTO effects(saga, key, kind)"
				     " VALUES(?, ?, ?)",
				     -1, &st, NULL),
		  SQLITE_OK);
	sqlite3_bind_text(st, 1, c->saga_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->compensate ? "C" : "T", -1, SQLITE_STATIC);
	ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Child-process crash hook: dies at the chosen call. */
static inline void maybe_die(bool after)
{
	if (g_kill_at && g_calls == g_kill_at && (g_kill_mode == 'a') == after)
		raise(SIGKILL);
}

/* Which forward steps fail is a pure function of (input, step), so every
 * restart makes the same decision. input "fail=K" fails step K. */
static inline bool should_fail(const fl_saga_call *c)
{
	int k;
	return sscanf(c->input, "fail=%d", &k) == 1 && (size_t)k == c->step;
}

static inline fl_err *step_forward(fl_ctx *ctx, const fl_saga_call *c)
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

static inline fl_err *step_compensate(fl_ctx *ctx, const fl_saga_call *c)
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

static inline fl_saga_coord *open_coord_retry(const char *path, int64_t comp_timeout,
					      const fl_retry_policy *fwd,
					      const fl_retry_policy *comp)
{
	struct fl_saga_opts o = {.path = path,
				 .compensate_timeout_ns = comp_timeout,
				 .forward_retry = fwd,
				 .compensate_retry = comp};
	fl_saga_coord *c;
	fl_err *e = fl_saga_coord_new(&o, &c);
	if (e)
		FL_FAIL("fl_saga_coord_new: %s", pat_errtext(e));
	ASSERT_NULL(fl_saga_register(c, &order_def));
	return c;
}

static inline fl_saga_coord *open_coord(const char *path, int64_t comp_timeout)
{
	return open_coord_retry(path, comp_timeout, NULL, NULL);
}

static inline void expect_phase(fl_saga_coord *c, const char *id, const char *phase)
{
	fl_saga_info info;
	ASSERT_NULL(fl_saga_info_get(c, id, &info));
	ASSERT_STR_EQ(info.phase, phase);
}

#endif

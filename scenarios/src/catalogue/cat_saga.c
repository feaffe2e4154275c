/*
 * cat_saga.c - sagas with compensating actions (task 11) and a persistent
 * saga that survives a kill and a restart (task 12), on fl/saga.h.
 *
 * The saga "order" has three steps, reserve, charge and ship, each with a
 * compensation. Every side effect is a line in an effect log (cat_child.c)
 * named by the idempotency key the coordinator hands the action
 * ("<saga>/<step>/fwd|comp"); an action whose key is already logged does
 * nothing, and a compensation whose forward effect is not logged does
 * nothing, as saga.h asks. The saga's input text plants the failures:
 * " fail=3" fails ship's forward action, " compfail=1" fails reserve's
 * compensation.
 *
 * Task 11, three sagas per iteration: one commits (T1 T2 T3); one fails
 * at ship and is rolled back in reverse (T1 T2 C2 C1: ship's own
 * compensation runs too but has no effect to undo); one whose reserve
 * compensation also fails ends "compensation_failed" with that error
 * collected next to the forward failure (the other compensation still
 * ran).
 *
 * Task 12: a child process runs saga order-1 and dies by SIGKILL as step
 * 2 (charge) starts, after the store recorded it running. The scenario
 * then restarts: a new coordinator on the same file finds the saga in
 * phase "forward", fl_saga_resume carries it on, and it commits with each
 * step's effect logged exactly once.
 */
#include "cat_internal.h"

#include <fl/saga.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_MAX 8192

typedef fl__cat_saga_env saga_env;

/* Whether input holds " name=step". */
static bool says(const char *input, const char *name, size_t step)
{
	char want[32];
	snprintf(want, sizeof(want), " %s=%zu", name, step);
	return input && strstr(input, want);
}

static bool logged(const saga_env *e, const char *key, fl_err **err)
{
	char text[LOG_MAX];
	*err = fl__cat_log_read(e->dir, text, sizeof(text));
	return !*err && fl__cat_log_count(text, key) > 0;
}

/* Does the effect named key once. */
static fl_err *effect(const saga_env *e, const char *key)
{
	fl_err *err;
	if (logged(e, key, &err) || err)
		return err; /* done before (a re-run after a crash) */
	return fl__cat_log_add(e->dir, key);
}

static fl_err *saga_fwd(fl_ctx *ctx, const fl_saga_call *c)
{
	const saga_env *e = c->arg;
	if (e->kill_step == (long)c->step + 1)
		raise(SIGKILL); /* the crash: between the store's record and the effect */
	if (says(c->input, "fail", c->step + 1))
		return fl_err_wrap(fl_scenario_err_unavailable, "%s", c->step_name);
	return effect(e, c->key);
}

static fl_err *saga_comp(fl_ctx *ctx, const fl_saga_call *c)
{
	const saga_env *e = c->arg;
	if (says(c->input, "compfail", c->step + 1))
		return fl_err_wrap(fl_scenario_err_rejected, "undo %s", c->step_name);
	fl_err *err;
	if (!logged(e, c->forward_key, &err))
		return err; /* the forward effect never happened: nothing to undo */
	return effect(e, c->key);
}

fl_err *fl__cat_order_open(fl__cat_order *o)
{
	static const char *const names[] = {"reserve", "charge", "ship"};
	for (int i = 0; i < 3; i++)
		o->steps[i] = (fl_saga_step){names[i], saga_fwd, saga_comp, &o->env};
	o->def = (fl_saga_def){"order", o->steps, 3};
	char path[4200];
	snprintf(path, sizeof(path), "%s/store.db", o->env.dir);
	fl_err *err = fl_saga_coord_new(&(struct fl_saga_opts){.path = path}, &o->c);
	if (err)
		return err;
	if ((err = fl_saga_register(o->c, &o->def))) {
		fl_saga_coord_free(o->c);
		o->c = NULL;
	}
	return err;
}

/* The effect lines of saga id, in order, joined with spaces ("0/fwd 1/fwd"). */
fl_err *fl__cat_saga_effects(const char *dir, const char *id, char *out, size_t cap)
{
	char text[LOG_MAX];
	fl_err *err = fl__cat_log_read(dir, text, sizeof(text));
	if (err)
		return err;
	size_t idlen = strlen(id), len = 0;
	out[0] = '\0';
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, id, idlen) == 0 && line[idlen] == '/' && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " " : "",
						line + idlen + 1);
	return NULL;
}

/* ---- task 11 ----------------------------------------------------------------------- */

typedef struct saga_case {
	const char *id;
	const char *input;
	const char *check;
	const char *want_effects;
	const char *want_phase;
} saga_case;

static const saga_case cases[] = {
	{"commit", "", "happy saga commits", "0/fwd 1/fwd 2/fwd", "committed"},
	{"rollback", " fail=3", "failed step compensated in reverse", "0/fwd 1/fwd 1/comp 0/comp",
	 "rolled_back"},
	{"comp-fails", " fail=3 compfail=1", "compensation errors collected", "0/fwd 1/fwd 1/comp",
	 "compensation_failed"},
};

/* Whether err is what case i must return. */
static bool saga_err_ok(int i, const fl_err *err)
{
	switch (i) {
	case 0: return err == NULL;
	case 1:
		return fl_err_is(err, FL_ERR_SAGA_ROLLED_BACK) &&
		       fl_err_is(err, fl_scenario_err_unavailable) &&
		       !fl_err_is(err, FL_ERR_SAGA_COMPENSATION);
	default:
		return fl_err_is(err, FL_ERR_SAGA_COMPENSATION) &&
		       fl_err_is(err, fl_scenario_err_unavailable) &&
		       fl_err_is(err, fl_scenario_err_rejected);
	}
}

static fl_err *saga_once(const fl_scenario_params *p, fl_scenario_result *r, const char *dir)
{
	fl__cat_order o = {.env = {.dir = dir}};
	fl_err *env = fl__cat_order_open(&o);
	fl_saga_coord *c = o.c;
	for (int i = 0; !env && i < 3; i++) {
		const saga_case *k = &cases[i];
		fl_err *err = fl_saga_run(c, fl_ctx_background(), "order", k->id, k->input);
		fl_scenario_note_err(r, p, k->id, err);
		char got[256] = "";
		fl_saga_info info;
		memset(&info, 0, sizeof(info));
		if (!(env = fl__cat_saga_effects(dir, k->id, got, sizeof(got))))
			env = fl_saga_info_get(c, k->id, &info);
		if (!env) {
			bool ok = saga_err_ok(i, err) && strcmp(got, k->want_effects) == 0 &&
				  strcmp(info.phase, k->want_phase) == 0;
			fl_scenario_check(r, k->check, ok, ok, 1, NULL,
					  "%s; effects [%s] (want [%s]); phase %s",
					  err ? r->err_text : "saga <nil>", got, k->want_effects,
					  info.phase);
			fl_scenario_count(r, "items", 1);
			fl_scenario_count(r, "failed", err != NULL);
		}
		fl_err_drop(err);
	}
	fl_saga_coord_free(c);
	return env;
}

static fl_err *saga_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		char dir[4096];
		fl_err *env = fl__cat_tmpdir("saga", dir, sizeof(dir));
		if (env)
			return env;
		env = saga_once(p, r, dir);
		fl__cat_rmdir(dir);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const saga_checks[] = {"happy saga commits",
					  "failed step compensated in reverse",
					  "compensation errors collected", NULL};
const fl_scenario fl__scn_saga = {
	.name = "saga",
	.description = "task 11: reserve, charge, ship; ship fails and charge, reserve are "
		       "compensated in reverse; compensation errors are collected",
	.checks = saga_checks,
	.default_iterations = 1,
	.run = saga_scn,
};

/* ---- task 12: killed and restarted -------------------------------------------------- */

#define KILL_STEP 2 /* charge */

static int saga_child(const char *dir, long kill_step)
{
	fl__cat_order o = {.env = {.dir = dir, .kill_step = kill_step}};
	fl_err *err = fl__cat_order_open(&o);
	if (!err) {
		err = fl_saga_run(o.c, fl_ctx_background(), "order", "order-1", "");
		fl_saga_coord_free(o.c);
	}
	if (!err)
		return 0; /* only when the kill did not happen */
	fl_err_print(stderr, err);
	fl_err_drop(err);
	return 1;
}

/* The child's part, before main, in a process fl__cat_spawn started as a
 * "saga" child; in any other process it does nothing. */
__attribute__((constructor)) static void saga_child_entry(void)
{
	char dir[4096];
	long arg;
	if (fl__cat_child_of("saga", dir, sizeof(dir), &arg))
		_exit(saga_child(dir, arg));
}

static fl_err *restart_once(const fl_scenario_params *p, fl_scenario_result *r, const char *dir)
{
	int sig = 0;
	fl_err *env = fl__cat_spawn("saga", dir, KILL_STEP, &sig);
	if (env)
		return env;
	fl_scenario_check(r, "child killed mid-saga", sig == SIGKILL, sig, SIGKILL, NULL,
			  "the child %s (signal %d)", sig ? "was killed" : "finished", sig);
	fl__cat_order o = {.env = {.dir = dir}};
	if ((env = fl__cat_order_open(&o)))
		return env;
	fl_saga_coord *c = o.c;
	fl_saga_info before, after;
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	size_t resumed = 0;
	fl_err *err = NULL;
	char got[256] = "";
	if (!(env = fl_saga_info_get(c, "order-1", &before))) {
		err = fl_saga_resume(c, fl_ctx_background(), &resumed);
		if (!(env = fl_saga_info_get(c, "order-1", &after)))
			env = fl__cat_saga_effects(dir, "order-1", got, sizeof(got));
	}
	fl_saga_coord_free(c);
	if (env) {
		fl_err_drop(err);
		return env;
	}
	fl_scenario_note_err(r, p, "resume", err);
	bool found = strcmp(before.phase, "forward") == 0 && before.current == KILL_STEP - 1;
	fl_scenario_check(r, "restart finds the saga where it died", found, (double)before.current,
			  KILL_STEP - 1, NULL, "phase %s at step %lld", before.phase,
			  (long long)before.current);
	bool once = !err && resumed == 1 && strcmp(after.phase, "committed") == 0 &&
		    strcmp(got, "0/fwd 1/fwd 2/fwd") == 0;
	fl_scenario_check(r, "resumed saga commits, each step once", once, (double)resumed, 1, NULL,
			  "%s; %zu resumed, phase %s, effects [%s]",
			  err ? r->err_text : "resume <nil>", resumed, after.phase, got);
	fl_scenario_count(r, "items", once);
	fl_scenario_count(r, "kills", sig == SIGKILL);
	fl_err_drop(err);
	return NULL;
}

static fl_err *restart_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		char dir[4096];
		fl_err *env = fl__cat_tmpdir("saga", dir, sizeof(dir));
		if (env)
			return env;
		env = restart_once(p, r, dir);
		fl__cat_rmdir(dir);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const restart_checks[] = {"child killed mid-saga",
					     "restart finds the saga where it died",
					     "resumed saga commits, each step once", NULL};
const fl_scenario fl__scn_saga_restart = {
	.name = "saga_restart",
	.description = "task 12: a persisted saga's process is killed at step 2; a restart "
		       "resumes it to commit, each effect once",
	.checks = restart_checks,
	.default_iterations = 1,
	.run = restart_scn,
};

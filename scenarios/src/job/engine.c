/*
 * engine.c - the generic pipeline engine behind job files: one iteration
 * as a sequence (set up, run, judge, report, tear down) and the scenario
 * that repeats it. The concerns it calls on have files of their own
 * (engine_internal.h lists them).
 *
 * One iteration builds the job's shape out of runtime groups and channels,
 * runs items through it and then accounts for every item:
 *
 *   linear     source -> s1 (workers) -> ... -> sink
 *   fan-out    source -> [s1: a dispatcher starting one task per item in a
 *              nested group limited to group_limit, or in its tenant's
 *              compartment of a bulkhead] -> ... -> sink
 *   fan-in     width sources (items split between them; the last one to
 *              finish closes the shared channel) -> s1 -> ... -> sink
 *   diamond    source tees each item to width branches, each branch runs the
 *              middle stages; the sink selects over the branches
 *   per-item   source -> dispatcher: per item, a task in an outer group
 *              (group_limit) runs an inner group with one task per middle
 *              stage on one-slot channels -> sink
 *
 * Every stage evaluates a fault point named after the stage once per item
 * (fl_fault_item: errors, drops, dups, sleeps, stuck...), then does `work`
 * (middle stages only; a cancellable sleep). Item fates are counted with
 * atomics: produced (+ duplicated) = delivered + skipped + shed + failed +
 * dead-lettered + cancelled-in-flight, where items still buffered in
 * channels after wait count as cancelled in flight. Under diamond every
 * branch copy is an item.
 *
 * With `bulkhead`, item i belongs to tenant i % tenants, and a dispatcher
 * (fan-out stages, the per-item layer) runs each item in its tenant's
 * compartment of an fl_bulkhead instead of one nested group: a failing
 * item fails only its tenant (the pipeline goes on, the failure joins the
 * result), a full compartment sheds after bulkhead_wait, and middle stages
 * also evaluate the point "tK/STAGE". Fates are also counted per tenant,
 * for the tenant isolation check.
 *
 * Cancellation is measured from the driver's cancel (cancel_at) or from the
 * first failing stage's return, to fl_group_wait returning (all tasks of
 * every nested group have joined by then). A watchdog (watchdog.c) armed at
 * that moment names the stages that did not return within cancel_hang. A
 * failure contained in a bulkhead compartment cancels no pipeline: it is
 * neither measured nor watched.
 *
 * Histograms are shared by all tasks of an iteration and recorded under
 * one mutex (short critical sections; never held across a blocking call).
 */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

static const char *const count_names[NCOUNT] = {"produced",
						"delivered",
						"skipped",
						"shed",
						"failed",
						"dead_lettered",
						"cancelled_in_flight",
						"duplicated",
						"injected_errors",
						"absorbed_errors",
						"retries",
						"hedges",
						"breaker_rejected"};

/* A planted leak must stay reachable (so sanitizers' leak checkers do not
 * report the negative control itself) yet count as live: parked here. */
static void *_Atomic planted_leaks[64];

static void plant_leaks(const fl__job *j)
{
	static atomic_int next;
	int k = atomic_fetch_add(&next, 1);
	if (k >= 64)
		return;
	if (j->plant == PLANT_LEAK) {
		fl_chan *c;
		if (!fl_chan_new(1, 0, NULL, &c))
			planted_leaks[k] = c;
	} else if (j->plant == PLANT_LEAK_HEAP) {
		size_t n = (size_t)32 << 20;
		char *m = fl__malloc(n);
		if (m)
			memset(m, 1, n);
		planted_leaks[k] = m;
	}
}

typedef struct hists {
	fl_hdr *stage[FL__JOB_MAX_STAGES], *e2e, *svc;
	fl_check_cancel *cancel; /* the "cancel" histogram's recorder */
} hists;

static fl_err *get_hists(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			 hists *h)
{
	fl_err *err = NULL;
	char name[FL_SCENARIO_NAME_MAX];
	for (int s = 0; s < j->nstages && !err; s++) {
		snprintf(name, sizeof(name), "stage.%s", j->stages[s]);
		err = fl_scenario_hist(r, name, &h->stage[s]);
	}
	if (!err)
		err = fl_scenario_hist(r, "e2e", &h->e2e);
	if (!err)
		err = fl_scenario_hist(r, "service", &h->svc);
	int64_t sc = p->time_scale;
	struct fl_check_cancel_opts co =
		{.check = JOB_CHECK_CANCEL,
		 .hist = "cancel",
		 .p50_ns = j->cancel_p50_ns * sc,
		 .p99_ns = j->cancel_p99_ns * sc,
		 .max_ns = j->cancel_max_ns * sc,
		 .none_why = j->bulkhead > 0 ? "no pipeline-wide cancellation (no cancel_at, no "
					       "failure outside a bulkhead compartment)"
					     : "no cancellation happened (no cancel_at, no failing "
					       "stage)"};
	if (!err)
		err = fl_check_cancel_new(r, &co, &h->cancel);
	return err;
}

/* ---- one iteration ------------------------------------------------------------ */

/* The iteration's state with the job's fault sites and tenants; NULL when
 * out of memory. */
static fl__eng *eng_new(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			const hists *h)
{
	fl__eng *e = fl__calloc(1, sizeof(*e));
	fl__eng_tasks *tasks = fl__calloc(1, sizeof(*tasks));
	/* Channels: a diamond has two per branch (width up to 256), the other
	 * shapes one per stage. */
	int chcap = 2 * j->width + FL__JOB_MAX_STAGES;
	fl_chan **ch = fl__calloc((size_t)chcap, sizeof(*ch));
	atomic_int *left = fl__calloc((size_t)chcap, sizeof(*left));
	if (!e || !tasks || !ch || !left) {
		free(e);
		free(tasks);
		free(ch);
		free(left);
		return NULL;
	}
	e->ch = ch;
	e->left = left;
	e->chcap = chcap;
	e->tasks = tasks;
	e->j = j;
	e->p = p;
	e->r = r;
	e->t_start = fl_now();
	e->work_ns = j->work_ns * p->time_scale;
	e->limit = j->group_limit > 0 ? j->group_limit : 0;
	pthread_mutex_init(&e->mu, NULL);
	memcpy(e->stage_h, h->stage, sizeof(e->stage_h));
	e->e2e = h->e2e;
	e->svc = h->svc;
	for (int s = 0; s < j->nstages; s++)
		fl_fault_site_init(&e->sites[s], j->stages[s]);
	e->ntenants = j->bulkhead > 0 ? j->tenants : 0;
	for (int t = 0; t < e->ntenants; t++) {
		snprintf(e->tkeys[t], sizeof(e->tkeys[t]), "t%d", t);
		for (int s = 1; s < j->nstages - 1; s++) {
			snprintf(e->tpoints[t][s], sizeof(e->tpoints[t][s]), "t%d/%s", t,
				 j->stages[s]);
			fl_fault_site_init(&e->tsites[t][s], e->tpoints[t][s]);
		}
	}
	return e;
}

/*
 * The parent context, the job's fault plan (seeded per iteration), the
 * pipeline's group, the policies' shared objects (breakers, retry budget,
 * dead-letter queue) and the cancel_at token. On failure what was made
 * stays in e for eng_free (a group is waited first: it may not be freed
 * unwaited).
 */
static fl_err *eng_open(fl__eng *e, int it)
{
	const fl__job *j = e->j;
	const fl_scenario_params *p = e->p;
	fl_err *env = fl_ctx_with_cancel(fl_ctx_background(), &e->parent);
	if (!env && j->faults[0])
		env = fl_fault_arm_scoped(j->faults, p->seed + (uint64_t)it, e->parent, &e->plan);
	if (env)
		return env;
	struct fl_group_opts go = {.name = j->name, .panic = FL_PANIC_CAPTURE};
	if ((env = fl_group_new(e->parent, &go, &e->g, &e->gctx)))
		return env;
	for (int st = 1; st < j->nstages - 1 && !env && j->breaker > 0; st++) {
		struct fl_breaker_opts bo = {.name = j->stages[st],
					     .consecutive_failures = j->breaker,
					     .cooldown_ns = j->breaker_cooldown_ns * p->time_scale};
		env = fl_breaker_new(&bo, &e->breakers[st]);
	}
	if (!env && j->budget > 0)
		env = fl_retry_budget_new(j->budget / 100.0, 1, FL_SEC(10), &e->budget);
	if (!env && j->dlq)
		env = fl_dlq_new(NULL, &e->dlq);
	if (!env)
		env = fl_chan_new(1, 1, NULL, &e->flowing);
	if (env)
		fl_err_drop(fl_group_wait(e->g));
	return env;
}

/* Releases what eng_open and the run made, in reverse, and e. */
static void eng_free(fl__eng *e)
{
	fl__eng_unbuild(e);
	fl_chan_free(e->flowing);
	fl_dlq_free(e->dlq);
	for (int st = 0; st < FL__JOB_MAX_STAGES; st++)
		fl_breaker_free(e->breakers[st]);
	fl_retry_budget_free(e->budget);
	fl_group_free(e->g);
	fl_fault_plan_free(e->plan);
	fl_ctx_free(e->parent);
	pthread_mutex_destroy(&e->mu);
	free(e->tasks);
	free(e->ch);
	free(e->left);
	free(e);
}

/*
 * Builds and runs the pipeline until its group returns: the driver's
 * cancel at the cancel_at point, the cancel latency (from that cancel or
 * the first failure), and the cancel watchdog's verdict. Returns the
 * environment error (the shape could not be built); *err: wait's result.
 */
static fl_err *run_pipeline(fl__eng *e, const hists *h, fl_scenario_result *r, fl_err **err,
			    bool *cancelled)
{
	const fl__job *j = e->j;
	int64_t t_cancel = 0;
	char tok;
	e->t0 = fl_now();
	fl_err *env = fl__eng_build(e);
	/* the sink sends the token at the chosen point and closes the channel
	 * when it returns; a failed group (a panicking sink cannot close it)
	 * ends the wait through gctx */
	*cancelled = false;
	if (!env && j->cancel_at > 0 &&
	    fl_chan_recv(e->flowing, &tok, e->gctx, FL_FOREVER) == FL_OK) {
		*cancelled = true;
		t_cancel = fl_now();
		fl__scn_watchdog_kick(&e->wd);
		fl_ctx_cancel(e->parent, NULL);
	}
	if (env)
		fl_group_cancel(e->g, env);
	*err = fl_group_wait(e->g);
	/* sim: a stage that ignores the cancel shows up as a deadlock */
	while (*err && fl_err_is(*err, FL_ERR_DEADLOCK) && fl__scn_watchdog_deadlock(&e->wd)) {
		fl_err_drop(*err);
		*err = fl_group_wait(e->g);
	}
	int64_t t_ret = fl_now();
	int64_t t_fail = atomic_load(&e->fail_ns);
	if (!*cancelled && t_fail)
		t_cancel = t_fail;
	if (t_cancel)
		fl_check_cancel_record(h->cancel, t_ret - t_cancel);
	if (fl__scn_watchdog_stop(&e->wd)) {
		r->hung = true;
		fl_scenario_check(
			r, JOB_CHECK_CANCEL, false, NAN,
			(double)(j->cancel_hang_ns * e->p->time_scale), "ns",
			"stage(s) %s did not return after the cancel (task dump on stderr)",
			e->wd.stuck);
	}
	fl__eng_drain(e);
	return env;
}

/*
 * The iteration's verdicts over wait's result err (consumed), joined with
 * the collected item errors and the compartments' contained failures.
 * Returns an environment error (counting the dead letters failed).
 */
static fl_err *judge(fl__eng *e, fl_scenario_result *r, fl_err *err, bool cancelled)
{
	size_t dead = 0;
	fl_err *env = NULL;
	if (e->dlq && (env = fl_dlq_count(e->dlq, &dead)) != NULL) {
		fl_err_drop(err);
		return env;
	}
	if (e->dlq)
		atomic_store(&e->n[C_DLQ], (long)dead);
	if (e->nerrs) {
		fl_err *joined = fl_err_join(e->errs, e->nerrs);
		err = err ? fl_err_join2(err, joined) : joined;
	}
	if (e->contained) { /* tenants' failures, after the pipeline's own */
		err = err ? fl_err_join2(err, e->contained) : e->contained;
		e->contained = NULL;
	}
	fl__eng_check_conservation(e, r);
	fl__eng_check_error(e, r, err, cancelled);
	fl_scenario_note_err(r, e->p, e->j->name, err);
	if (e->ntenants) {
		fl__eng_check_bulkheads(e, r);
		fl__eng_check_isolation(e, r, cancelled);
	}
	fl_err_drop(err);
	return NULL;
}

/* The iteration's counters, and the nested groups' high-water marks. */
static void report_counts(fl__eng *e, fl_scenario_result *r)
{
	const fl__job *j = e->j;
	for (int c = 0; c < NCOUNT; c++)
		fl_scenario_count(r, count_names[c], fl__eng_total(e, c));
	fl_scenario_count(r, "items", fl__eng_total(e, C_DELIVERED));
	fl__eng_count_tenants(e, r);
	if (e->limit > 0 && (j->shape == JOB_FANOUT || j->shape == JOB_PERITEM)) {
		const char *gname = j->shape == JOB_FANOUT ? j->stages[1] : "per-item";
		if (e->saturated)
			fl_scenario_note_group_saturated(r, gname, e->limit, e->inner_hwm);
		else
			fl_scenario_note_group(r, gname, e->limit, e->inner_hwm);
	}
}

/* Runs iteration it; returns only environment errors. */
static fl_err *iteration(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			 const hists *h, int it)
{
	fl__eng *e = eng_new(j, p, r, h);
	if (!e)
		return fl_err_wrap(FL_ERR_NOMEM, "job %s", j->name);
	fl_err *env = eng_open(e, it);
	if (env) {
		eng_free(e);
		return env;
	}
	char what[FL_SCENARIO_NAME_MAX + 32];
	snprintf(what, sizeof(what), "cancel of job %s", j->name);
	(void)fl__scn_watchdog_start_idle(&e->wd, what, j->cancel_hang_ns * p->time_scale, &e->plan,
					  1);
	if (it == 0 && j->plant != PLANT_NONE)
		plant_leaks(j);
	fl_err *err;
	bool cancelled;
	env = run_pipeline(e, h, r, &err, &cancelled);
	if (!env)
		env = judge(e, r, err, cancelled);
	else
		fl_err_drop(err);
	fl_err_drop(e->contained);
	report_counts(e, r);
	eng_free(e);
	return env;
}

/* ---- the scenario --------------------------------------------------------------- */

fl_err *fl__job_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	const fl__job *j = r->scenario->data;
	hists h = {0};
	fl_err *err = get_hists(j, p, r, &h);
	for (int it = 0; !err && it < p->iterations; it++)
		err = iteration(j, p, r, &h, it);
	if (!err) {
		fl__eng_check_cancel(j, p, r, h.cancel);
		fl__eng_check_slo(j, p, r);
	}
	fl_check_cancel_free(h.cancel);
	if (err)
		return fl_err_wrap(err, "job %s", j->name);
	return NULL;
}

void fl__job_declare(fl__job *j)
{
	int n = 0;
	j->checks[n++] = JOB_CHECK_CANCEL;
	j->checks[n++] = JOB_CHECK_CONSERVE;
	j->checks[n++] = JOB_CHECK_ERROR;
	for (int s = 1; j->bulkhead > 0 && s < j->nstages - 1; s++) {
		if (j->shape == JOB_PERITEM && s > 1)
			break; /* one dispatcher: the per-item layer */
		const char *stage = j->shape == JOB_PERITEM ? "per-item" : j->stages[s];
		snprintf(j->bh_checks[s][0], FL_SCENARIO_NAME_MAX, "bulkhead %s hwm <= %d", stage,
			 j->bulkhead);
		snprintf(j->bh_checks[s][1], FL_SCENARIO_NAME_MAX, "bulkhead %s reaches %d", stage,
			 j->bulkhead);
		j->checks[n++] = j->bh_checks[s][0];
		j->checks[n++] = j->bh_checks[s][1];
	}
	if (j->bulkhead > 0)
		j->checks[n++] = JOB_CHECK_ISOLATION;
	for (int i = 0; i < 4; i++)
		if (j->slo_ns[i] > 0) {
			j->checks[n++] = JOB_CHECK_SLO;
			break;
		}
	j->checks[n] = NULL;
	for (int i = 0; i < j->nstress; i++)
		j->stress_ptrs[i] = j->stress[i];
	j->stress_ptrs[j->nstress] = NULL;
	if (!j->description[0])
		snprintf(j->description, sizeof(j->description), "job file: %s pipeline, %d stages",
			 (const char *const[]){"linear", "fan-out", "fan-in", "diamond",
					       "per-item"}[j->shape],
			 j->nstages);
	j->scn = (fl_scenario){
		.name = j->name,
		.description = j->description,
		.checks = j->checks,
		.default_iterations = j->iterations,
		.run = fl__job_run,
		.data = j,
		.stress_faults = j->nstress ? j->stress_ptrs : NULL,
	};
}

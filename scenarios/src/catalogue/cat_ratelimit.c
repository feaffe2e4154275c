/*
 * cat_ratelimit.c - case C of the WaitGroup/errgroup/channel text
 * (reference 003): a producer and a worker pool under a rate limit, where
 * back-pressure flows to the producer through unbuffered channels.
 *
 * The shape follows the text's Run: the producer sends jobs on `in`; a gate
 * task takes each one, waits for a token of an fl/ratelimit.h bucket (rate
 * rps, burst 1) and hands it on over `gated`; RL_WORKERS workers call do()
 * on each. Every hand-off is unbuffered, so when the workers are busy the
 * gate blocks on its send and the producer on its own: in flight (handed
 * off by the producer, not yet done) never exceeds RL_WORKERS + 1. The
 * tasks share one group: the first failing do() or the caller's cancel
 * stops them all (the text's errs/done/ctx.Done() select).
 *
 * Four runs per iteration:
 *   - rate-bound (fast work): the gate holds the rate. With burst 1 at most
 *     1 + t * rps tokens exist t after the bucket was made, so RL_JOBS jobs
 *     take at least (RL_JOBS - 1) / rps, on any clock; that the pool also
 *     uses the rate (no slower than that plus one job) is a timing goal;
 *   - worker-bound (slow work, a fast gate): in flight stays <= workers + 1,
 *     and reaches it, with the producer blocked (judged where time is
 *     virtual or timing is judged: on a real clock it depends on speed);
 *   - a failing job: the pool stops with that job's error, nothing leaks;
 *   - the caller cancels after RL_CANCEL_AT jobs: the pool stops promptly
 *     with the cancellation, nothing leaks;
 * and two negative controls, judged where timing is (they show that the
 * checks above can fail): the rate-bound run without the gate's token
 * finishes faster than the rate allows, and the worker-bound run with a
 * buffered hand-off lets in flight run far past workers + 1.
 * do() has a fault point, "rate_limited_pool.do", for stress plans.
 */
#include "cat_internal.h"

#include <fl/fault.h>
#include <fl/ratelimit.h>

#include <string.h>

#define RL_JOBS 50
#define RL_WORKERS 4
#define RL_FAIL_JOB 20
#define RL_CANCEL_AT 10

static FL_ERR_SENTINEL(rl_upstream, "upstream failed");

typedef struct rl_run {
	double rps;
	int64_t work_ns;
	long fail_job;    /* 0: none */
	long cancel_at;   /* 0: none; else the caller cancels after this many done */
	bool ungated;     /* negative control: no token is taken */
	size_t gated_cap; /* 0; the negative control buffers the hand-off */
	fl_ctx *caller;   /* the caller's context (cancelled in the cancel run) */
	fl_ratelimit *lim;
	fl_chan *in, *gated;  /* unbuffered: the back-pressure */
	long produced;        /* producer */
	long blocked;         /* producer: sends that had to wait */
	long inflight_max;    /* producer: produced - done, after each send */
	int64_t start_ns;     /* the bucket's creation */
	int64_t last_gate_ns; /* gate: when the last job passed */
	atomic_long done;     /* workers */
} rl_run;

static fl_err *rl_producer(fl_ctx *ctx, void *arg)
{
	rl_run *t = arg;
	fl_err *err = NULL;
	for (long j = 1; j <= RL_JOBS && !err; j++) {
		int st = fl_chan_send(t->in, &j, ctx, FL_TRY);
		if (st == FL_AGAIN) {
			t->blocked++;
			st = fl_chan_send(t->in, &j, ctx, FL_FOREVER);
		}
		if (st != FL_OK) {
			err = fl__scn_stopped(ctx, st, "producer");
			break;
		}
		t->produced++;
		long inflight = t->produced - atomic_load(&t->done);
		if (inflight > t->inflight_max)
			t->inflight_max = inflight;
	}
	return fl_err_join2(err, fl_chan_close(t->in));
}

/* The text's gate goroutine: a token, then the unbuffered hand-off. */
static fl_err *rl_gate(fl_ctx *ctx, void *arg)
{
	rl_run *t = arg;
	fl_err *err = NULL;
	for (;;) {
		long j;
		int st = fl_chan_recv(t->in, &j, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st == FL_OK) {
			if (!t->ungated && (err = fl_ratelimit_wait(t->lim, ctx, 1)))
				break;
			t->last_gate_ns = fl_now();
			st = fl_chan_send(t->gated, &j, ctx, FL_FOREVER);
		}
		if (st != FL_OK) {
			err = fl__scn_stopped(ctx, st, "gate");
			break;
		}
	}
	return fl_err_join2(err, fl_chan_close(t->gated));
}

static fl_err *rl_do(rl_run *t, fl_ctx *ctx, long j)
{
	fl_err *e = FL_FAULT(ctx, "rate_limited_pool.do");
	if (e)
		return e;
	int st = fl_sleep_until(ctx, fl_deadline_in(t->work_ns));
	if (st != FL_OK)
		return fl__scn_stopped(ctx, st, "do");
	if (j == t->fail_job)
		return fl_err_wrap(rl_upstream, "job %ld", j);
	return NULL;
}

static fl_err *rl_worker(fl_ctx *ctx, void *arg)
{
	rl_run *t = arg;
	for (;;) {
		long j;
		int st = fl_chan_recv(t->gated, &j, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "worker");
		fl_err *e = rl_do(t, ctx, j);
		if (e)
			return e;
		if (atomic_fetch_add(&t->done, 1) + 1 == t->cancel_at)
			fl_ctx_cancel(t->caller, NULL); /* the caller gives up */
	}
}

/* Run(ctx, in, workers, rps, do) of the text, for one configuration. */
static fl_err *rl_once(rl_run *t, fl_err **err)
{
	fl_err *env = fl_ctx_with_cancel(fl_ctx_background(), &t->caller);
	if (env)
		return env;
	fl_group *g = NULL;
	fl_ctx *ctx;
	t->start_ns = fl_now();
	if (!(env = fl_ratelimit_new(t->rps, 1, &t->lim)) &&
	    !(env = fl_chan_new(sizeof(long), 0, &(struct fl_chan_opts){.name = "pool.in"},
				&t->in))) {
		if (!(env = fl_chan_new(sizeof(long), t->gated_cap,
					&(struct fl_chan_opts){.name = "pool.gated"}, &t->gated)))
			env = fl_group_new(t->caller, &(struct fl_group_opts){.name = "pool"}, &g,
					   &ctx);
	}
	if (g && fl__scn_go(g, ctx, "producer", rl_producer, t, &env) &&
	    fl__scn_go(g, ctx, "gate", rl_gate, t, &env))
		for (int i = 0; i < RL_WORKERS; i++)
			if (!fl__scn_go(g, ctx, "worker", rl_worker, t, &env))
				break;
	if (g) {
		*err = fl_group_wait(g);
		fl_group_free(g);
	}
	fl_chan_free(t->gated);
	fl_chan_free(t->in);
	fl_ratelimit_free(t->lim);
	fl_ctx_free(t->caller);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static void rl_check_rate(fl_scenario_result *r, const fl_scenario_params *p, rl_run *t,
			  const fl_err *err)
{
	long done = atomic_load(&t->done);
	double min_s = (RL_JOBS - 1) / t->rps, took = (double)(t->last_gate_ns - t->start_ns) / 1e9;
	fl_scenario_check(r, "every job done", !err && done == RL_JOBS && t->produced == RL_JOBS,
			  (double)done, RL_JOBS, NULL, "%s; %ld produced = %ld done",
			  err ? r->err_text : "wait <nil>", t->produced, done);
	fl_scenario_check(r, "the gate holds the rate", took >= min_s - 1e-6, took, min_s, "s",
			  "%d jobs passed the gate in %.3f s, at least %.3f s at %.0f/s burst 1",
			  RL_JOBS, took, min_s, t->rps);
	double max_s = min_s + (double)t->work_ns / 1e9 + 0.01;
	if (fl_scenario_judge_timing(p))
		fl_scenario_check(r, "the pool uses the rate", took <= max_s, took, max_s, "s",
				  "%.3f s for %d jobs at %.0f/s", took, RL_JOBS, t->rps);
	else
		fl_scenario_skip(r, "the pool uses the rate", "timing not judged on a real clock");
	fl_scenario_count(r, "items", done);
}

static void rl_check_pressure(fl_scenario_result *r, const fl_scenario_params *p, rl_run *t,
			      const fl_err *err)
{
	long done = atomic_load(&t->done);
	fl_scenario_check(r, "every job done", !err && done == RL_JOBS && t->produced == RL_JOBS,
			  (double)done, RL_JOBS, NULL, "%s; %ld produced = %ld done",
			  err ? r->err_text : "wait <nil>", t->produced, done);
	fl_scenario_check(r, "in flight stays within workers + 1",
			  t->inflight_max <= RL_WORKERS + 1, (double)t->inflight_max,
			  RL_WORKERS + 1, NULL, "at most %ld jobs between producer and done",
			  t->inflight_max);
	bool reached = t->inflight_max == RL_WORKERS + 1 && t->blocked > 0;
	if (fl_scenario_judge_timing(p))
		fl_scenario_check(r, "back-pressure reaches the producer", reached,
				  (double)t->blocked, NAN, NULL,
				  "%ld in flight at most, the producer waited on %ld sends",
				  t->inflight_max, t->blocked);
	else
		fl_scenario_skip(r, "back-pressure reaches the producer",
				 "depends on speed on a real clock");
	fl_scenario_set(r, "inflight_max", t->inflight_max);
	fl_scenario_count(r, "producer_blocked", t->blocked);
	fl_scenario_count(r, "items", done);
}

static void rl_check_stop(fl_scenario_result *r, rl_run *t, const fl_err *err)
{
	long done = atomic_load(&t->done);
	bool ok;
	if (t->fail_job) {
		ok = fl_err_is(err, rl_upstream) &&
		     strstr(r->err_text, "job 20: upstream failed") && done < RL_JOBS;
		fl_scenario_check(r, "a failing job stops the pool", ok, (double)done, NAN, NULL,
				  "%s; %ld of %d done", err ? r->err_text : "<nil>", done, RL_JOBS);
		fl_scenario_count(r, "failed", err != NULL);
		return;
	}
	ok = fl_err_is(err, FL_ERR_CANCELED) && done >= RL_CANCEL_AT && done < RL_JOBS;
	fl_scenario_check(r, "cancel stops the pool", ok, (double)done, NAN, NULL,
			  "%s; %ld of %d done, cancelled after %d", err ? r->err_text : "<nil>",
			  done, RL_JOBS, RL_CANCEL_AT);
}

/* The negative controls: without the gate, and with a buffered hand-off,
 * the checks above would fail. Judged where timing is: on a real clock a
 * slow enough machine could hide either. */
static void rl_check_controls(fl_scenario_result *r, const fl_scenario_params *p, rl_run *t,
			      const fl_err *err)
{
	static const char *const names[] =
		{"negative control: without the gate the rate is exceeded",
		 "negative control: a buffered hand-off overfills the pool"};
	const char *name = names[!t->ungated];
	if (!fl_scenario_judge_timing(p)) {
		fl_scenario_skip(r, name, "depends on speed on a real clock");
		return;
	}
	if (t->ungated) {
		double min_s = (RL_JOBS - 1) / t->rps;
		double took = (double)(t->last_gate_ns - t->start_ns) / 1e9;
		fl_scenario_check(r, name, !err && took < min_s, took, min_s, "s",
				  "%d jobs in %.3f s, under the %.3f s the rate allows (the "
				  "failure, reproduced)",
				  RL_JOBS, took, min_s);
		return;
	}
	fl_scenario_check(r, name, !err && t->inflight_max > RL_WORKERS + 1,
			  (double)t->inflight_max, RL_WORKERS + 1, NULL,
			  "%ld jobs in flight at most (the failure, reproduced)", t->inflight_max);
}

static fl_err *rl_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const char *const names[] = {"rate-bound", "worker-bound", "failing job",
					    "cancelled",  "ungated",      "buffered"};
	for (int i = 0; i < p->iterations; i++) {
		for (int k = 0; k < 6; k++) {
			bool slow = k != 0 && k != 4;
			rl_run t = {.rps = slow ? 10000 : 200,
				    .work_ns = fl__scn_scaled(p, slow ? FL_MS(10) : FL_MS(2)),
				    .fail_job = k == 2 ? RL_FAIL_JOB : 0,
				    .cancel_at = k == 3 ? RL_CANCEL_AT : 0,
				    .ungated = k == 4,
				    .gated_cap = k == 5 ? RL_JOBS : 0};
			fl_err *err = NULL, *env = rl_once(&t, &err);
			if (env)
				return env;
			fl_scenario_note_err(r, p, names[k], err);
			if (k == 0)
				rl_check_rate(r, p, &t, err);
			else if (k == 1)
				rl_check_pressure(r, p, &t, err);
			else if (k < 4)
				rl_check_stop(r, &t, err);
			else
				rl_check_controls(r, p, &t, err);
			fl_err_drop(err);
		}
	}
	return NULL;
}

static const char *const rl_checks[] = {"every job done",
					"the gate holds the rate",
					"the pool uses the rate",
					"in flight stays within workers + 1",
					"back-pressure reaches the producer",
					"a failing job stops the pool",
					"cancel stops the pool",
					"negative control: without the gate the rate is exceeded",
					"negative control: a buffered hand-off overfills the pool",
					NULL};
const fl_scenario fl__scn_rate_limited_pool = {
	.name = "rate_limited_pool",
	.description = "case C: a producer and 4 workers behind a rate-limit gate; the rate holds "
		       "and back-pressure reaches the producer",
	.checks = rl_checks,
	.default_iterations = 1,
	.run = rl_scn,
};

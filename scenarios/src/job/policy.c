/*
 * policy.c - one item at one stage, through the runtime's resilience
 * patterns as the job's keys ask (retry, breaker, hedge, budget), down to
 * the stage's fault point and its work. Counts injected, absorbed and
 * retried errors, hedges and breaker rejections; records each attempt's
 * time into the stage's histogram.
 */
#include "engine_internal.h"

#include <fl/hedge.h>

#include <stdio.h>

static fl_err *stage_err(fl__eng *e, int s, const fl__eng_item *it, fl_err *cause)
{
	fl_scenario_stage_err se = {.index = it->id + 1};
	snprintf(se.stage, sizeof(se.stage), "%s", e->j->stages[s]);
	return fl_err_typed(&fl_scenario_stage_err_type, &se, cause, NULL);
}

/*
 * One item at stage s, as a chain of the runtime's resilience patterns:
 *
 *   fl_retry (retry, retry_backoff, budget)
 *     -> fl_breaker (breaker, breaker_cooldown; middle stages)
 *       -> fl_hedge (hedge: a second attempt after the delay)
 *         -> attempt: the stage's fault point, then its work
 *
 * Each layer is present only when its key is set. Injected errors are
 * counted where they happen (per attempt); those a retry got past are
 * absorbed. Every attempt records its time into the stage's histogram.
 */
typedef struct call {
	fl__eng *e;
	int s;
	const fl__eng_item *it;
	enum fl_fault_verdict v[2]; /* per hedged attempt */
	int injected;               /* injected errors met in this call */
	bool last_injected;         /* the latest attempt's error was one */
} call;

static fl_err *attempt_fn(fl_ctx *ctx, int attempt, void *arg)
{
	call *c = arg;
	fl__eng *e = c->e;
	const fl__job *j = e->j;
	bool middle = c->s > 0 && c->s < j->nstages - 1;
	enum fl_fault_verdict *v = &c->v[attempt > 1];
	int64_t t = fl_now();
	fl_err *err = fl_fault_item(&e->sites[c->s], ctx, c->it->id, v);
	if (!err && middle && e->ntenants) {
		/* then the tenant's own point, "tK/STAGE" */
		enum fl_fault_verdict tv;
		fl_fault_site *site = &e->tsites[fl__eng_tenant_of(e, c->it->id)][c->s];
		err = fl_fault_item(site, ctx, c->it->id, &tv);
		if (*v == FL_FAULT_KEEP)
			*v = tv;
	}
	if (!err && middle && e->work_ns > 0 &&
	    fl_sleep_until(ctx, fl_deadline_in(e->work_ns)) != FL_OK)
		err = fl__scn_stopped(ctx, FL_CANCELED, j->stages[c->s]);
	fl__eng_record(e, e->stage_h[c->s], fl_now() - t);
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	bool injected = fi && fi->action == FL_FAULT_ACT_ERROR;
	if (injected) {
		fl__eng_count(e, C_INJECTED, 1);
		pthread_mutex_lock(&e->mu);
		c->injected++;
		pthread_mutex_unlock(&e->mu);
	}
	return err;
}

static fl_err *hedged_fn(fl_ctx *ctx, void *arg)
{
	call *c = arg;
	fl__eng *e = c->e;
	if (e->j->hedge_ns <= 0 || c->s == 0 || c->s == e->j->nstages - 1)
		return attempt_fn(ctx, 1, c);
	struct fl_hedge_opts ho = {.max_attempts = 2,
				   .delay_ns = e->j->hedge_ns * e->p->time_scale,
				   .name = e->j->stages[c->s]};
	fl_hedge_stats hs;
	fl_err *err = fl_hedge(ctx, &ho, attempt_fn, c, &hs);
	fl__eng_count(e, C_HEDGES, hs.fired > 1 ? hs.fired - 1 : 0);
	if (!err && hs.winner == 2)
		c->v[0] = c->v[1];
	return err;
}

static fl_err *guarded_fn(fl_ctx *ctx, int attempt, void *arg)
{
	call *c = arg;
	fl__eng *e = c->e;
	c->v[0] = c->v[1] = FL_FAULT_KEEP;
	if (attempt > 1)
		fl__eng_count(e, C_RETRIES, 1);
	int before = c->injected;
	fl_breaker *b = e->breakers[c->s];
	fl_err *err;
	if (!b) {
		err = hedged_fn(ctx, c);
	} else {
		fl_breaker_ticket t;
		if ((err = fl_breaker_allow(b, &t)) != NULL) {
			fl__eng_count(e, C_REJECTED, 1);
		} else {
			err = hedged_fn(ctx, c);
			fl_breaker_done(b, &t, err);
		}
	}
	c->last_injected = c->injected > before && err;
	return err;
}

/*
 * Runs stage s on one item. Returns NULL (and the verdict), or the item's
 * error (stage-typed). A cancellation, or a fault's wait cut short by one,
 * comes back untyped: the item was cancelled, not failed.
 */
fl_err *fl__eng_process(fl__eng *e, int s, const fl__eng_item *it, fl_ctx *ctx,
			enum fl_fault_verdict *v)
{
	const fl__job *j = e->j;
	call c = {.e = e, .s = s, .it = it};
	fl_err *err;
	if (j->retry > 0) {
		fl_retry_policy rp = {.max_attempts = 1 + j->retry,
				      .initial_ns = j->retry_backoff_ns * e->p->time_scale,
				      .multiplier = 2,
				      .budget = e->budget};
		err = fl_retry(ctx, &rp, guarded_fn, &c, NULL);
	} else {
		err = guarded_fn(ctx, 1, &c);
	}
	/* every injected error met but the one that ends the item was got past */
	fl__eng_count(e, C_ABSORBED, c.injected - (err && c.last_injected ? 1 : 0));
	*v = c.v[0];
	if (!err)
		return NULL;
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	if (fi && e->ntenants) /* an injected error, or a fault's wait cut short */
		atomic_store(&e->hit[fl__eng_tenant_of(e, it->id)], true);
	bool failed = (fi && fi->action == FL_FAULT_ACT_ERROR && c.last_injected) ||
		      fl_err_is(err, FL_ERR_CIRCUIT_OPEN);
	if (!failed && (fi || fl_ctx_done(ctx) || fl_err_is(err, FL_ERR_CANCELED)))
		return err; /* cancelled */
	return stage_err(e, s, it, err);
}

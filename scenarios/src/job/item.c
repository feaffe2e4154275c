/*
 * item.c - what a stage does with an item once its policies have run: the
 * held item a panic would lose (counted failed by a cleanup), a failed
 * item by error mode (swallowed by the planted bug, dead-lettered,
 * per-item, collected, or failing the stage), dropped and duplicated
 * items, and forwarding the copies downstream.
 */
#include "engine_internal.h"

#include <stdlib.h>

void fl__eng_hold_cleanup(void *arg)
{
	fl__eng_hold *h = arg;
	if (h->n > 0) {
		fl__eng_count_item(h->e, C_FAILED, h->id, h->n);
		if (h->failed)
			atomic_store(h->failed, true);
		else
			fl__eng_note_failure(h->e);
		h->n = 0;
	}
}

void fl__eng_hold_start(fl__eng_hold *h, fl__eng *e)
{
	h->e = e;
	h->n = 0;
	fl_err_drop(fl_defer(fl__eng_hold_cleanup, h)); /* out of memory: ran at once */
}

/*
 * What a stage does with a failed item, by error mode. Returns NULL to go
 * on with the next item, or the error the stage must return.
 */
static fl_err *item_failed(fl__eng *e, const fl__eng_item *it, fl_err *err, fl_ctx *ctx,
			   fl__eng_hold *h)
{
	const fl__job *j = e->j;
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	bool injected = fi && fi->action == FL_FAULT_ACT_ERROR;
	if (!fl_err_as(err, &fl_scenario_stage_err_type)) {
		fl__eng_count_item(e, C_CANCELLED, it->id,
				   1); /* stopped by cancellation mid-item */
		return err;
	}
	if (j->plant == PLANT_SWALLOW_ERROR) {
		fl_err_drop(err); /* the bug: dropped, and the item counted as failed */
		fl__eng_count_item(e, C_FAILED, it->id, 1);
		return NULL;
	}
	if (e->dlq) {
		/* counted from the queue itself after the run (conservation) */
		fl_dlq_attempt at;
		fl_dlq_attempt_set(&at, j->retry + 1, err);
		fl_err *perr = fl_dlq_put(e->dlq, it, sizeof(*it), err, &at, 1);
		if (!perr) {
			fl__eng_count(e, C_ABSORBED, injected);
			if (e->ntenants) /* the total comes from the queue */
				atomic_fetch_add(&e->tn[C_DLQ][fl__eng_tenant_of(e, it->id)], 1);
			fl_err_drop(err);
			return NULL;
		}
		fl_err_drop(perr); /* could not dead-letter it: it fails */
	}
	fl__eng_count_item(e, C_FAILED, it->id, 1);
	switch (j->mode) {
	case JOB_PER_ITEM:
		fl__eng_count(e, C_ABSORBED, injected); /* a per-item result, not lost */
		fl_err_drop(err);
		return NULL;
	case JOB_COLLECT_ALL:
		pthread_mutex_lock(&e->mu);
		if (e->nerrs < sizeof(e->errs) / sizeof(e->errs[0]))
			e->errs[e->nerrs++] = err;
		else
			e->extra_errs++, fl_err_drop(err);
		pthread_mutex_unlock(&e->mu);
		return NULL;
	default:
		(void)ctx;
		if (h->failed)
			atomic_store(h->failed, true); /* its compartment's errgroup fails */
		else
			fl__eng_note_failure(e);
		return err;
	}
}

/* Sends it n times on channel c; counts unsent copies as cancelled. */
fl_err *fl__eng_forward(fl__eng *e, int c, fl__eng_item *it, int n, fl_ctx *ctx, const char *who)
{
	for (int k = 0; k < n; k++) {
		int st = fl_chan_send(e->ch[c], it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			fl__eng_count_item(e, C_CANCELLED, it->id, n - k);
			return fl__scn_stopped(ctx, st, who);
		}
	}
	return NULL;
}

/*
 * One item through stage s, then on to channel out (-1: the caller keeps
 * it). Returns NULL to continue, or the error that ends the stage.
 * *kept is set when the item should go on (out == -1 callers).
 */
fl_err *fl__eng_handle(fl__eng *e, int s, fl__eng_item *it, int out, fl_ctx *ctx, int *copies,
		       fl__eng_hold *h)
{
	enum fl_fault_verdict v;
	*copies = 0;
	h->n = 1;
	h->id = it->id;
	fl_err *err = fl__eng_process(e, s, it, ctx, &v);
	h->n = 0;
	if (err)
		return item_failed(e, it, err, ctx, h);
	if (e->j->plant == PLANT_LOSE_ITEM && s == 1 && it->id == 0)
		return NULL; /* the bug: item 0 vanishes without a trace */
	if (e->j->plant == PLANT_CRASH && s == 1)
		abort();
	if (v == FL_FAULT_DROP) {
		fl__eng_count_item(e, C_SKIPPED, it->id, 1);
		return NULL;
	}
	int n = v == FL_FAULT_DUP ? 2 : 1;
	fl__eng_count_item(e, C_DUPS, it->id, n - 1);
	*copies = n;
	return out < 0 ? NULL : fl__eng_forward(e, out, it, n, ctx, e->j->stages[s]);
}

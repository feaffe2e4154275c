/*
 * stages.c - the pipeline's task bodies: the source (open or closed loop;
 * a diamond's tee), a middle stage's worker, a diamond branch running
 * every middle stage, and the sink (a select over its inputs, end-to-end
 * latency, the cancel_at point).
 */
#include "engine_internal.h"

fl_err *fl__eng_source_fn(fl_ctx *ctx, void *arg)
{
	fl__eng_task *a = arg;
	fl__eng *e = a->e;
	fl__eng_hold_start(&a->hold, e);
	const fl__job *j = e->j;
	fl_err *ret = NULL;
	for (long i = a->lo; i < a->hi && !ret; i++) {
		int64_t intended = 0;
		if (j->rate > 0) {
			intended = e->t0 + (int64_t)((double)i * 1e9 / j->rate);
			if (fl_sleep_until(ctx, intended) != FL_OK) {
				ret = fl__scn_stopped(ctx, FL_CANCELED, j->stages[0]);
				break;
			}
		}
		fl__eng_item it = {i, intended, fl_now()};
		if (j->rate <= 0)
			it.intended_ns = it.start_ns;
		fl__eng_count_item(e, C_PRODUCED, it.id, 1);
		int copies;
		if ((ret = fl__eng_handle(e, 0, &it, -1, ctx, &copies, &a->hold)) || copies == 0)
			continue;
		/* diamond: the tee's copies are documented duplicates */
		fl__eng_count_item(e, C_DUPS, it.id, (long)copies * (a->nout - 1));
		for (int b = 0; b < a->nout && !ret; b++)
			if ((ret = fl__eng_forward(e, a->out + b, &it, copies, ctx, j->stages[0])))
				fl__eng_count_item(e, C_CANCELLED, it.id,
						   (long)copies * (a->nout - 1 - b));
	}
	for (int b = 0; b < a->nout; b++)
		fl__eng_done_writing(e, a->out + b);
	return ret;
}

fl_err *fl__eng_middle_fn(fl_ctx *ctx, void *arg)
{
	fl__eng_task *a = arg;
	fl__eng *e = a->e;
	fl__eng_hold_start(&a->hold, e);
	fl_err *ret = NULL;
	for (;;) {
		fl__eng_item it;
		int st = fl_chan_recv(e->ch[a->in], &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			ret = fl__scn_stopped(ctx, st, e->j->stages[a->stage]);
			break;
		}
		int copies;
		if ((ret = fl__eng_handle(e, a->stage, &it, a->out, ctx, &copies, &a->hold)))
			break;
	}
	fl__eng_done_writing(e, a->out);
	return ret;
}

/* Diamond branch: every middle stage in turn on each item. */
fl_err *fl__eng_branch_fn(fl_ctx *ctx, void *arg)
{
	fl__eng_task *a = arg;
	fl__eng *e = a->e;
	fl__eng_hold_start(&a->hold, e);
	int last = e->j->nstages - 2;
	fl_err *ret = NULL;
	for (;;) {
		fl__eng_item it;
		int st = fl_chan_recv(e->ch[a->in], &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			ret = fl__scn_stopped(ctx, st, e->j->stages[1]);
			break;
		}
		int copies = 1;
		for (int s = 1; s <= last && copies > 0 && !ret; s++) {
			int c2;
			ret = fl__eng_handle(e, s, &it, s == last ? a->out : -1, ctx, &c2,
					     &a->hold);
			if (!ret && c2 == 2 && s < last)
				/* dup inside a branch: keep one copy */
				fl__eng_count_item(e, C_DUPS, it.id, -1);
			copies = c2;
		}
		if (ret)
			break;
	}
	fl__eng_done_writing(e, a->out);
	return ret;
}

static fl_err *deliver(fl__eng *e, fl__eng_item *it, fl_ctx *ctx, fl__eng_hold *h)
{
	int copies;
	fl_err *err = fl__eng_handle(e, e->j->nstages - 1, it, -1, ctx, &copies, h);
	if (err || copies == 0)
		return err;
	int64_t now = fl_now();
	for (int k = 0; k < copies; k++) {
		fl__eng_record(e, e->e2e, now - it->intended_ns);
		fl__eng_record(e, e->svc, now - it->start_ns);
	}
	if (e->ntenants)
		atomic_fetch_add(&e->tn[C_DELIVERED][fl__eng_tenant_of(e, it->id)], copies);
	long d = atomic_fetch_add(&e->n[C_DELIVERED], copies) + copies;
	if (e->j->cancel_at > 0 && d >= e->j->cancel_at && d - copies < e->j->cancel_at) {
		/* the chosen point: tell the driver, then hold the pipeline there
		 * until its cancel arrives, so the run cannot finish first */
		char tok = 1;
		(void)fl_chan_send(e->flowing, &tok, NULL, FL_TRY);
		(void)fl_ctx_wait(ctx, FL_FOREVER);
		return fl__scn_stopped(ctx, FL_CANCELED, e->j->stages[e->j->nstages - 1]);
	}
	return NULL;
}

/* The sink: receives from channels [in, in + nout) until all are closed. */
fl_err *fl__eng_sink_fn(fl_ctx *ctx, void *arg)
{
	fl__eng_task *a = arg;
	fl__eng *e = a->e;
	fl__eng_hold_start(&a->hold, e);
	fl_select_case cs[FL__JOB_MAX_STAGES + 256];
	fl__eng_item items[FL__JOB_MAX_STAGES + 256];
	size_t open = (size_t)a->nout;
	for (size_t i = 0; i < open; i++)
		cs[i] = (fl_select_case){.op = FL_RECV,
					 .ch = e->ch[a->in + (int)i],
					 .elem = &items[i]};
	fl_err *ret = NULL;
	while (open > 0 && !ret) {
		int i = fl_select(cs, open, ctx, FL_FOREVER);
		if (i < 0) {
			ret = fl__scn_stopped(ctx, i, e->j->stages[e->j->nstages - 1]);
			break;
		}
		if (cs[i].status == FL_CLOSED) {
			cs[i] = cs[--open]; /* its elem slot moves along with it */
			continue;
		}
		ret = deliver(e, cs[i].elem, ctx, &a->hold);
	}
	fl_err_drop(fl_chan_close(e->flowing));
	return ret;
}

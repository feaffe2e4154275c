/*
 * shape.c - the job's shape out of channels and tasks (see engine.c):
 * linear, fan-out, fan-in, diamond and per-item pipelines, the task
 * arguments they are started with, and the items left in the channels
 * once the group has returned.
 */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>

static fl__eng_task *arg_new(fl__eng *e, int stage, int in, int out, int nout)
{
	fl__eng_task *a = &e->tasks->args[e->tasks->nargs++];
	*a = (fl__eng_task){.e = e, .stage = stage, .in = in, .out = out, .nout = nout};
	return a;
}

/* Creates channel c (writers: nwriters). */
static fl_err *chan_at(fl__eng *e, int c, int nwriters)
{
	if (c >= e->chcap) /* eng_new sized it for every shape: a bug here */
		return fl_err_wrap(FL_ERR_INVAL, "%s: channel %d of %d", e->j->name, c, e->chcap);
	char name[FL_SCENARIO_NAME_MAX + 16];
	snprintf(name, sizeof(name), "%s.%d", e->j->name, c);
	struct fl_chan_opts o = {.name = name};
	fl_err *err = fl_chan_new(sizeof(fl__eng_item), (size_t)e->j->buffer, &o, &e->ch[c]);
	if (err)
		return err;
	atomic_store(&e->left[c], nwriters);
	e->nch = c + 1 > e->nch ? c + 1 : e->nch;
	return NULL;
}

fl_err *fl__eng_build(fl__eng *e)
{
	const fl__job *j = e->j;
	int last = j->nstages - 1, w = j->width;
	fl_err *err = NULL;
#define GO(name, fn, a) (void)fl__scn_go(e->g, e->gctx, (name), (fn), (a), &err)
	switch (j->shape) {
	case JOB_DIAMOND:
		for (int b = 0; b < 2 * w && !err; b++)
			err = chan_at(e, b, 1);
		if (err)
			return err;
		fl__eng_task *src = arg_new(e, 0, -1, 0, w);
		src->hi = j->items;
		GO(j->stages[0], fl__eng_source_fn, src);
		for (int b = 0; b < w && !err; b++)
			GO(j->stages[1], fl__eng_branch_fn, arg_new(e, 1, b, w + b, 1));
		GO(j->stages[last], fl__eng_sink_fn, arg_new(e, last, w, -1, w));
		return err;
	case JOB_PERITEM:
		if ((err = chan_at(e, 0, 1)) || (err = chan_at(e, 1, 1)))
			return err;
		fl__eng_task *src1 = arg_new(e, 0, -1, 0, 1);
		src1->hi = j->items;
		GO(j->stages[0], fl__eng_source_fn, src1);
		GO("per-item", fl__eng_dispatch_fn, arg_new(e, 1, 0, 1, 1));
		GO(j->stages[last], fl__eng_sink_fn, arg_new(e, last, 1, -1, 1));
		return err;
	default: break;
	}
	int nsrc = j->shape == JOB_FANIN ? w : 1;
	for (int c = 0; c < last && !err; c++) {
		int writers = c == 0 ? nsrc : j->shape == JOB_FANOUT ? 1 : j->workers;
		err = chan_at(e, c, writers);
	}
	if (err)
		return err;
	for (int k = 0; k < nsrc && !err; k++) {
		fl__eng_task *a = arg_new(e, 0, -1, 0, 1);
		a->lo = j->items * k / nsrc;
		a->hi = j->items * (k + 1) / nsrc;
		GO(j->stages[0], fl__eng_source_fn, a);
	}
	for (int s = 1; s < last && !err; s++) {
		if (j->shape == JOB_FANOUT) {
			GO(j->stages[s], fl__eng_dispatch_fn, arg_new(e, s, s - 1, s, 1));
			continue;
		}
		for (int k = 0; k < j->workers && !err; k++)
			GO(j->stages[s], fl__eng_middle_fn, arg_new(e, s, s - 1, s, 1));
	}
	GO(j->stages[last], fl__eng_sink_fn, arg_new(e, last, last - 1, -1, 1));
#undef GO
	return err;
}

/* Drains what is left in the channels: cancelled in flight. */
void fl__eng_drain(fl__eng *e)
{
	fl__eng_item it;
	for (int c = 0; c < e->nch; c++)
		while (fl_chan_recv(e->ch[c], &it, NULL, FL_TRY) == FL_OK)
			fl__eng_count_item(e, C_CANCELLED, it.id, 1);
}

void fl__eng_unbuild(fl__eng *e)
{
	for (int c = 0; c < e->nch; c++)
		fl_chan_free(e->ch[c]);
	e->nch = 0;
}

/* fl-test-labels: concurrency memcheck */
/*
 * test_fault_sweep.c - the Nth-hit sweep on a two-stage pipeline.
 *
 * A producer sends 10 items to a stage that evaluates one fault point per
 * item. Sweeping the point with error(inval) must give 11 runs: runs 1..10
 * fail at exactly the nth item, run 11 sees only 10 evaluations, nothing
 * fires, and the pipeline completes.
 */
#include "fl_test.h"

#include <fl/chan.h>
#include <fl/fault.h>
#include <fl/group.h>

#define ITEMS 10

struct pipeline {
	fl_chan *ch;
	int sum;
};

static fl_err *producer(fl_ctx *ctx, void *arg)
{
	struct pipeline *p = arg;
	int st = FL_OK;
	for (int i = 0; i < ITEMS && st == FL_OK; i++)
		st = fl_chan_send(p->ch, &i, ctx, FL_FOREVER);
	fl_err_drop(fl_chan_close(p->ch));
	return st == FL_OK ? NULL : fl_err_from_status(st);
}

static fl_err *stage(fl_ctx *ctx, void *arg)
{
	struct pipeline *p = arg;
	for (;;) {
		int v;
		int st = fl_chan_recv(p->ch, &v, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl_err_from_status(st);
		fl_err *e = FL_FAULT(ctx, "sweep/stage");
		if (e)
			return fl_err_wrap(e, "stage: item %d", v);
		p->sum += v;
	}
}

/* The scenario a sweep re-runs: everything under ctx. */
static fl_err *scenario(fl_ctx *ctx, void *arg)
{
	struct pipeline *p = arg;
	p->sum = 0;
	ASSERT_NULL(fl_chan_new(sizeof(int), 0, NULL, &p->ch));
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(ctx, NULL, &g, &gctx));
	ASSERT_NULL(fl_group_go(g, producer, p));
	ASSERT_NULL(fl_group_go(g, stage, p));
	fl_err *e = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(p->ch);
	return e;
}

struct results {
	struct pipeline pipe; /* first: the scenario's arg is the whole struct */
	int runs;
	bool fired[ITEMS + 3];
	uint64_t evals[ITEMS + 3];
	int64_t failed_eval[ITEMS + 3];
	int last_sum;
};

static void report(const fl_fault_sweep_result *r, void *arg)
{
	struct results *res = arg;
	ASSERT_EQ(r->n, (uint64_t)res->runs + 1);
	ASSERT_LT(res->runs, ITEMS + 3);
	res->fired[res->runs] = r->fired;
	res->evals[res->runs] = r->evals;
	const fl_fault_info *info = fl_err_as(r->err, &fl_fault_info_type);
	res->failed_eval[res->runs] = info ? (int64_t)info->eval : -1;
	if (r->err)
		ASSERT(fl_err_is(r->err, FL_ERR_INVAL));
	res->last_sum = res->pipe.sum;
	res->runs++;
}

FL_TEST(sweep_fails_every_evaluation_once)
{
	struct results res = {0};
	ASSERT_NULL(fl_fault_sweep("sweep/stage", "error(inval)", scenario, report, &res));
	ASSERT_EQ(res.runs, ITEMS + 1);
	for (int i = 0; i < ITEMS; i++) {
		ASSERT(res.fired[i]);
		ASSERT_EQ(res.failed_eval[i], i + 1);
		ASSERT_EQ(res.evals[i], i + 1); /* the stage stops at the fault */
	}
	ASSERT(!res.fired[ITEMS]);
	ASSERT_EQ(res.evals[ITEMS], ITEMS);
	ASSERT_EQ(res.failed_eval[ITEMS], -1);
	ASSERT_EQ(res.last_sum, ITEMS * (ITEMS - 1) / 2);
}

FL_TEST(sweep_rejects_bad_action)
{
	struct results res = {0};
	fl_err *e = fl_fault_sweep("sweep/stage", "eror(inval)", scenario, report, &res);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT_STR_EQ(fl_err_msg(e),
		      "plan:1:16: in term 'sweep/stage=@1 eror(inval)': expected "
		      "action name (error, panic, sleep, delay, hang, stuck, slow, drop, dup, "
		      "oom, yield, print, off)");
	fl_err_drop(e);
	ASSERT_EQ(res.runs, 0);
}

FL_TEST_MAIN(FL_CASE(sweep_fails_every_evaluation_once), FL_CASE(sweep_rejects_bad_action))

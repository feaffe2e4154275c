/*
 * user_scenarios.c - a test binary built the way a user builds theirs: its
 * own scenarios registered with FL_SCENARIO and FL_SCENARIO_WITH, and main
 * from faultline::main. test_fl_main.c runs it: list, globs, exit codes,
 * the options, the replay line.
 *
 *   orders_sum    a producer and a consumer in a group sum 1..10 through a
 *                 channel (passes)
 *   orders_lost   the same pipeline with a planted lost item: the consumer
 *                 skips item 7, the conservation check fails (exit 1)
 *   with_options  FL_SCENARIO_WITH: 3 iterations, a declared check and a
 *                 label; its check holds only when the options applied
 */
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/scenario.h>

typedef struct orders {
	fl_chan *ch;
	long lose;      /* the item the consumer drops (0: none) */
	long produced;  /* producer */
	long delivered; /* consumer */
	long total;     /* consumer */
} orders;

static fl_err *produce(fl_ctx *ctx, void *arg)
{
	orders *o = arg;
	for (long i = 1; i <= 10; i++) {
		if (fl_chan_send(o->ch, &i, ctx, FL_FOREVER) != FL_OK)
			break;
		o->produced++;
	}
	return fl_chan_close(o->ch);
}

static fl_err *consume(fl_ctx *ctx, void *arg)
{
	orders *o = arg;
	long v;
	while (fl_chan_recv(o->ch, &v, ctx, FL_FOREVER) == FL_OK) {
		if (v == o->lose)
			continue; /* the plant: an item vanishes */
		o->total += v;
		o->delivered++;
	}
	return NULL;
}

/* One pipeline run into r; an error only when it could not run. */
static fl_err *orders_run(long lose, fl_scenario_result *r)
{
	orders o = {.lose = lose};
	fl_group *g;
	fl_ctx *ctx;
	fl_err *err = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "orders"},
				   &g, &ctx);
	if (err)
		return err;
	err = fl_chan_new(sizeof(long), 0, NULL, &o.ch);
	if (!err)
		err = fl_group_go_named(g, "producer", produce, &o);
	if (!err)
		err = fl_group_go_named(g, "consumer", consume, &o);
	if (err)
		fl_group_cancel(g, NULL);
	err = fl_err_join2(err, fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(o.ch);
	if (err)
		return err;
	fl_scenario_check(r, "every item accounted", o.produced == o.delivered, (double)o.delivered,
			  (double)o.produced, NULL, "produced %ld, delivered %ld", o.produced,
			  o.delivered);
	fl_scenario_count(r, "items", o.delivered);
	return NULL;
}

FL_SCENARIO(orders_sum, "a producer and a consumer sum 1..10 through a channel")
{
	for (int i = 0; i < params->iterations; i++) {
		fl_err *err = orders_run(0, result);
		if (err)
			return err;
	}
	return NULL;
}

FL_SCENARIO(orders_lost, "the same pipeline with a planted lost item (fails)")
{
	for (int i = 0; i < params->iterations; i++) {
		fl_err *err = orders_run(7, result);
		if (err)
			return err;
	}
	return NULL;
}

FL_SCENARIO_WITH(with_options, "options: three iterations, a declared check, a label",
		 .iterations = 3, .checks = (const char *const[]){"saw three iterations", NULL},
		 .labels = "slow orders")
{
	fl_scenario_check(result, "saw three iterations", params->iterations == 3,
			  params->iterations, 3, NULL, "iterations %d", params->iterations);
	return NULL;
}

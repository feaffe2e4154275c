/*
 * fault_window.c - a scenario whose failure needs one particular fault
 * firing and one preemption, for explore --faults, schedule files with
 * fault lines and shrinking (test_explore_shrink.c).
 *
 *   fault_window  a writer makes four steps; at each it evaluates the
 *                 fault point fw/step, and when the third evaluation fires
 *                 it leaves the record half-written across a yield. A
 *                 reader that runs inside that yield (a preemption: the
 *                 writer is still runnable) sees it: the check fails.
 *                 Every step also evaluates fw/noise, whose firings change
 *                 nothing, so a plan arming both leaves one firing that
 *                 matters among several.
 *   spawn_extra   a writer halfway through an update across a yield, and a
 *                 reader spawned after it that fails the check when it
 *                 runs inside that yield; with FW_EXTRA=1 in the
 *                 environment the writer first spawns a task that does
 *                 nothing, which renumbers the reader but leaves its
 *                 spawn path as it was (schedule files name tasks by it).
 *   clock_fail    a task yields as many times as the real clock's
 *                 microseconds modulo 65536 say, and the check always
 *                 fails: explore's nondeterminism check must see its two
 *                 replays diverge (equal only when they read the clock a
 *                 multiple of 65.536 ms apart to the microsecond).
 */
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/scenario.h>
#include <fl/task.h>

#include <stdlib.h>
#include <time.h>

typedef struct window {
	bool half; /* the record is half-written */
	bool seen; /* the reader saw it */
} window;

static fl_err *writer(fl_ctx *ctx, void *arg)
{
	window *w = arg;
	for (int i = 1; i <= 4; i++) {
		fl_err_drop(FL_FAULT(ctx, "fw/noise"));
		fl_err *e = FL_FAULT(ctx, "fw/step");
		if (e && i == 3) {
			w->half = true;
			fl_yield();
			w->half = false;
		}
		fl_err_drop(e);
		fl_yield();
	}
	return NULL;
}

static fl_err *reader(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	window *w = arg;
	w->seen = w->half;
	return NULL;
}

FL_SCENARIO(fault_window, "a fault firing opens a window a preempting reader sees (fails)")
{
	(void)params;
	window w = {0};
	fl_group *g;
	fl_ctx *ctx;
	fl_err *err =
		fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "fw"}, &g, &ctx);
	if (err)
		return err;
	err = fl_group_go_named(g, "writer", writer, &w);
	if (!err)
		err = fl_group_go_named(g, "reader", reader, &w);
	if (err)
		fl_group_cancel(g, NULL);
	err = fl_err_join2(err, fl_group_wait(g));
	fl_group_free(g);
	if (err)
		return err;
	fl_scenario_check(result, "record never seen half-written", !w.seen, w.seen, 0, NULL,
			  "the reader %s", w.seen ? "saw a half-written record" : "saw none");
	return NULL;
}

static fl_err *clock_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	int *n = arg;
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	*n = (int)((t.tv_nsec / 1000) % 65536);
	for (int i = 0; i < *n; i++)
		fl_yield();
	return NULL;
}

FL_SCENARIO(clock_fail, "reads the real clock, then fails a planted check (fails)")
{
	(void)params;
	int n = 0;
	fl_group *g;
	fl_ctx *ctx;
	fl_err *err = fl_group_new(fl_ctx_background(), NULL, &g, &ctx);
	if (err)
		return err;
	err = fl_group_go(g, clock_task, &n);
	err = fl_err_join2(err, fl_group_wait(g));
	fl_group_free(g);
	if (err)
		return err;
	fl_scenario_check(result, "planted failure", false, n, 0, NULL,
			  "yielded %d times, as the real clock said", n);
	return NULL;
}

typedef struct extra {
	fl_group *g;
	fl_chan *started; /* the writer tells the root it has begun */
	int step;         /* the writer's progress: 1 inside its update */
	bool seen;
} extra;

static fl_err *idle(fl_ctx *ctx, void *arg)
{
	(void)ctx, (void)arg;
	return NULL;
}

static fl_err *extra_writer(fl_ctx *ctx, void *arg)
{
	extra *x = arg;
	const char *e = getenv("FW_EXTRA");
	if (e && *e == '1')
		fl_err_drop(fl_group_go(x->g, idle, NULL));
	int one = 1;
	(void)fl_chan_send(x->started, &one, ctx, FL_FOREVER);
	x->step = 1;
	fl_yield();
	x->step = 2;
	return NULL;
}

static fl_err *extra_reader(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	extra *x = arg;
	x->seen = x->step == 1;
	return NULL;
}

FL_SCENARIO(spawn_extra, "a reader inside a writer's update; FW_EXTRA=1 spawns one more (fails)")
{
	(void)params;
	extra x = {0};
	fl_ctx *ctx;
	int v;
	fl_err *err = fl_chan_new(sizeof(int), 1, NULL, &x.started);
	if (err)
		return err;
	err = fl_group_new(fl_ctx_background(), NULL, &x.g, &ctx);
	if (err) {
		fl_chan_free(x.started);
		return err;
	}
	err = fl_group_go(x.g, extra_writer, &x);
	if (!err && fl_chan_recv(x.started, &v, ctx, FL_FOREVER) == FL_OK)
		err = fl_group_go(x.g, extra_reader, &x);
	if (err)
		fl_group_cancel(x.g, NULL);
	err = fl_err_join2(err, fl_group_wait(x.g));
	fl_group_free(x.g);
	fl_chan_free(x.started);
	if (err)
		return err;
	fl_scenario_check(result, "update never seen halfway", !x.seen, x.seen, 0, NULL,
			  "the reader %s", x.seen ? "saw the update halfway" : "did not");
	return NULL;
}

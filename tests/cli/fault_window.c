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
 *   clock_fail    a task yields as many times as the real clock's
 *                 microseconds modulo 65536 say, and the check always
 *                 fails: explore's nondeterminism check must see its two
 *                 replays diverge (equal only when they read the clock a
 *                 multiple of 65.536 ms apart to the microsecond).
 */
#include <fl/ctx.h>
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/scenario.h>
#include <fl/task.h>

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

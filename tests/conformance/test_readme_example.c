/* fl-test-labels: concurrency memcheck */
/*
 * The README's "A pipeline in twenty lines", compiled and run, so the
 * first code a reader sees keeps working. The body is the README's, with
 * main() turned into a test case: the early `return 2` becomes a failed
 * assertion and the final verdict asserts sum == 15 and no error. Keep the
 * two in step when either changes.
 */
#include <fl/chan.h>
#include <fl/group.h>

#include "fl_test.h"

static fl_err *produce(fl_ctx *ctx, void *arg)
{
	fl_chan *out = arg;
	for (long i = 1; i <= 5; i++)
		if (fl_chan_send(out, &i, ctx, FL_FOREVER) != FL_OK)
			break; /* cancelled: stop promptly */
	return fl_chan_close(out);
}

FL_TEST(pipeline_in_twenty_lines)
{
	fl_stats base = fl_stats_get();
	fl_group *g;
	fl_ctx *ctx;
	fl_chan *ch;
	long v, sum = 0;
	if (fl_group_new(fl_ctx_background(), NULL, &g, &ctx) ||
	    fl_chan_new(sizeof(long), 0, NULL, &ch))
		FL_FAIL("setup failed"); /* README: return 2 */
	fl_err *err = fl_group_go(g, produce, ch);
	while (!err && fl_chan_recv(ch, &v, ctx, FL_FOREVER) == FL_OK)
		sum += v; /* 15 */
	err = fl_err_join2(err, fl_group_wait(g));
	fl_err_print(stderr, err); /* "<nil>" */
	ASSERT_NULL(err);
	ASSERT_EQ(sum, 15);
	fl_group_free(g);
	fl_chan_free(ch);
	fl_err_drop(err);

	fl_stats now = fl_stats_get(); /* nothing left behind */
	ASSERT_EQ(now.tasks, base.tasks);
	ASSERT_EQ(now.chans, base.chans);
	ASSERT_EQ(now.ctxs, base.ctxs);
	ASSERT_EQ(now.groups, base.groups);
	ASSERT_EQ(now.errs, base.errs);
}

FL_TEST_MAIN(FL_CASE(pipeline_in_twenty_lines))

/* fl-test-labels: concurrency memcheck */
/*
 * test_alloc.c - the allocation-failure hook (fl/alloc.h): armed with n,
 * the nth allocation from then on fails once and the counts say so; off,
 * nothing fails; racing threads see exactly one failure per arming.
 */
#include <fl/alloc.h>
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>

#include "fl_test.h"

/* How many of k channel creations fail. */
static int chan_failures(int k)
{
	int failed = 0;
	for (int i = 0; i < k; i++) {
		fl_chan *c;
		fl_err *err = fl_chan_new(sizeof(int), 1, NULL, &c);
		if (err) {
			ASSERT(fl_err_is(err, FL_ERR_NOMEM));
			fl_err_drop(err);
			failed++;
		} else {
			fl_chan_free(c);
		}
	}
	return failed;
}

FL_TEST(nth_allocation_fails_once)
{
	fl_alloc_fail_after(1);
	ASSERT_EQ(chan_failures(3), 1);
	ASSERT_U64_EQ(fl_alloc_failed(), 1);
	ASSERT_U64_EQ(fl_alloc_count(), 1);
	fl_alloc_fail_after(1000000);
	ASSERT_EQ(chan_failures(3), 0); /* never reached: nothing failed */
	ASSERT_U64_EQ(fl_alloc_failed(), 0);
	ASSERT(fl_alloc_count() >= 3);
	fl_alloc_fail_after(0);
}

FL_TEST(off_nothing_fails_nor_counts)
{
	fl_alloc_fail_after(0); /* negative control of the case above */
	ASSERT_EQ(chan_failures(50), 0);
	ASSERT_U64_EQ(fl_alloc_count(), 0);
	ASSERT_U64_EQ(fl_alloc_failed(), 0);
}

FL_TEST(absorbed_counts_an_error_made_without_memory)
{
	uint64_t before = fl_alloc_absorbed();
	fl_err *ok = fl_err_new("item %d failed", 3); /* control: nothing fails */
	ASSERT(ok != FL_ERR_NOMEM);
	fl_err_drop(ok);
	ASSERT_U64_EQ(fl_alloc_absorbed(), before);
	fl_alloc_fail_after(1);
	fl_err *e = fl_err_new("item %d failed", 3);
	fl_alloc_fail_after(0);
	ASSERT(e == FL_ERR_NOMEM); /* degraded, as fl/err.h promises */
	fl_err_drop(e);
	ASSERT_U64_EQ(fl_alloc_absorbed(), before + 1);
}

static fl_err *make_chans(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	*(int *)arg = chan_failures(200);
	return NULL;
}

FL_TEST(racing_tasks_see_one_failure)
{
	enum { T = 4 };
	int failed[T] = {0};
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	fl_alloc_fail_after(300); /* inside the 4 x 200 allocations at least */
	for (int i = 0; i < T; i++)
		ASSERT_NULL(fl_group_go(g, make_chans, &failed[i]));
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_alloc_fail_after(0);
	ASSERT_EQ(failed[0] + failed[1] + failed[2] + failed[3], 1);
	ASSERT_U64_EQ(fl_alloc_failed(), 0); /* re-arming with 0 reset it */
}

FL_TEST_MAIN(FL_CASE(nth_allocation_fails_once), FL_CASE(off_nothing_fails_nor_counts),
	     FL_CASE(absorbed_counts_an_error_made_without_memory),
	     FL_CASE(racing_tasks_see_one_failure))

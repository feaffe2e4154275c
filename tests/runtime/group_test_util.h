/*
 * group_test_util.h - what the group tests share: the errors a task fails
 * or a group is cancelled with, a task that succeeds and one that fails.
 */
#ifndef FL_GROUP_TEST_UTIL_H
#define FL_GROUP_TEST_UTIL_H

#include <fl/ctx.h>
#include <fl/err.h>

FL_ERR_SENTINEL(test_boom, "boom");
FL_ERR_SENTINEL(test_cause, "test cause");

static inline fl_err *ok_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return NULL;
}

static inline fl_err *boom_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return fl_err_wrap(test_boom, "task failed");
}

#endif

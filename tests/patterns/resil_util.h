/*
 * resil_util.h - shared helpers for the retry, rate limiter, breaker, hedge
 * and bulkhead tests: the runtime tests' baseline and semaphore helpers, a
 * check that a task is parked on something (from the task dump), and
 * arming a fault plan with a readable failure.
 */
#ifndef FL_RESIL_UTIL_H
#define FL_RESIL_UTIL_H

#define _GNU_SOURCE
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/task.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "../runtime/task_test_util.h"
#include "fl_test.h"

/* Whether the task dump currently contains needle. */
static inline bool dump_contains(const char *needle)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_NOT_NULL(f);
	fl_task_dump(f);
	fclose(f);
	bool found = buf && strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

/* Yields until the task dump shows needle (a task parked on something);
 * fails after a generous hang bound. */
static inline void wait_dump(const char *needle)
{
	int64_t give_up = hang_deadline();
	while (!dump_contains(needle)) {
		ASSERT_LT(fl_now(), give_up);
		fl_sleep_until(NULL, fl_deadline_in(FL_US(200)));
	}
}

static inline fl_fault_plan *arm_plan(const char *text)
{
	fl_fault_plan *p = NULL;
	fl_err *e = fl_fault_arm(text, 1, &p);
	if (e) {
		char buf[512];
		fl_err_format(e, buf, sizeof(buf));
		FL_FAIL("arm '%s': %s", text, buf);
	}
	return p;
}

/* Formats err into a static buffer (for string asserts). */
static inline const char *err_text(const fl_err *err)
{
	static char buf[1024];
	fl_err_format(err, buf, sizeof(buf));
	return buf;
}

#endif

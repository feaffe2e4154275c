/*
 * fiber_test_util.h - what the fibers backend tests share: starting the
 * backend with two workers, a group maker and finisher, a hang bound, a
 * short nap, and a fiber's phase (white-box, fiber_internal.h).
 */
#ifndef FL_FIBER_TEST_UTIL_H
#define FL_FIBER_TEST_UTIL_H

#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <stdatomic.h>
#include <time.h>

#include "fiber_internal.h"
#include "chan_test_util.h"

#define WORKERS 2

static inline void use_fibers(void)
{
	check(fl_sched_init(&(struct fl_sched_opts){.backend = "fibers", .workers = WORKERS}));
	ASSERT_STR_EQ(fl_sched_backend(), "fibers");
	ASSERT_EQ(fl__fibers_workers(), WORKERS);
}

static inline fl_group *group_make(const char *name)
{
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = name}, &g, &ctx));
	return g;
}

static inline void group_finish(fl_group *g)
{
	check(fl_group_wait(g));
	fl_group_free(g);
}

/* A bound that only turns a hang into a failure. */
static inline int64_t hang_deadline(void) { return fl_deadline_in(fl_test_hang_ns()); }

static inline void nap_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static inline int phase_of(fl__task *t)
{
	fl__fiber *f = t->backend;
	return (int)(atomic_load(&f->state) & FIBER_PHASE);
}

#endif

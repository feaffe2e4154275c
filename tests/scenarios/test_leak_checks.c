/*
 * test_leak_checks.c - fl_scenario_run's leak checks on a user's own
 * scenario: a planted heap leak of 384 KB per pipeline run (under the
 * 4 MiB tolerance in total) fails "heap does not grow with iterations"
 * naming the bytes per run while the same scenario freeing its buffer
 * passes, and a heap that only wanders does not fit a line; a planted
 * thread, descriptor and channel are each named, and the clean run passes
 * all of them.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <fl/chan.h>
#include <fl/leak.h>
#include <fl/scenario.h>

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_test.h"

enum plant { CLEAN, HEAP_LEAK, HEAP_WANDERS, THREAD, FD, CHAN };

#define LEAK_BYTES (384 << 10)
#define RUNS 10 /* 10 x 384 KB = 3.75 MiB: under the heap check's 4 MiB */

static enum plant planted;
static char *kept[64];
static size_t nkept;
static int leaked_fd = -1;
static fl_chan *leaked_chan;
static sem_t thr_release;
static pthread_t leaked_thr;

static void *idle_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "planted-thr");
	while (sem_wait(&thr_release) != 0)
		;
	return NULL;
}

static void plant_once(void)
{
	if (planted == THREAD) {
		sem_init(&thr_release, 0, 0);
		ASSERT_EQ(pthread_create(&leaked_thr, NULL, idle_thread, NULL), 0);
	} else if (planted == FD) {
		leaked_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ASSERT_GE(leaked_fd, 0);
	} else if (planted == CHAN) {
		ASSERT_NULL(fl_chan_new(sizeof(int), 1,
					&(struct fl_chan_opts){.name = "planted-chan"},
					&leaked_chan));
	}
}

static fl_err *run(const fl_scenario_params *p, fl_scenario_result *r)
{
	plant_once();
	for (int it = 0; it < p->iterations; it++) {
		char *buf = malloc(LEAK_BYTES);
		ASSERT_NOT_NULL(buf);
		memset(buf, it, LEAK_BYTES);
		bool keep = planted == HEAP_LEAK ||
			    (planted == HEAP_WANDERS && it % 2 == 0 && nkept == 0);
		if (keep)
			kept[nkept++] = buf;
		else
			free(buf);
		if (planted == HEAP_WANDERS && it % 2 == 1 && nkept) /* up and down */
			free(kept[--nkept]);
		fl_scenario_check(r, "ran", true, NAN, NAN, NULL, "iteration %d", it);
		fl_scenario_note_err(r, p, "pipeline", NULL);
	}
	return NULL;
}

static const char *const checks[] = {"ran", NULL};
static const fl_scenario user_scn = {
	.name = "user_pipeline",
	.description = "a user's own pipeline with one planted leak",
	.checks = checks,
	.default_iterations = RUNS,
	.run = run,
};

static void cleanup(void)
{
	while (nkept)
		free(kept[--nkept]);
	if (planted == THREAD) {
		sem_post(&thr_release);
		ASSERT_EQ(pthread_join(leaked_thr, NULL), 0);
		sem_destroy(&thr_release);
	}
	if (leaked_fd >= 0)
		close(leaked_fd);
	leaked_fd = -1;
	fl_chan_free(leaked_chan);
	leaked_chan = NULL;
}

/* Runs the scenario with plant p into r. */
static void run_planted(enum plant p, fl_scenario_result *r)
{
	planted = p;
	fl_scenario_result_init(r, &user_scn);
	fl_scenario_params params = {.skip_timing = true, .time_scale = fl_test_time_scale()};
	fl_err *err = fl_scenario_run(&user_scn, &params, r);
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("the run itself failed");
	}
	cleanup();
}

static const fl_scenario_verdict *verdict(const fl_scenario_result *r, const char *name)
{
	const fl_scenario_verdict *v = fl_scenario_find_check(r, name);
	if (!v)
		FL_FAIL("no check '%s'", name);
	return v;
}

static void assert_passed(const fl_scenario_result *r, const char *name)
{
	const fl_scenario_verdict *v = verdict(r, name);
	if (v->verdict != FL_REPORT_PASS)
		FL_FAIL("'%s' did not pass: %s", name, v->message);
}

static void assert_failed_with(const fl_scenario_result *r, const char *name, const char *text)
{
	const fl_scenario_verdict *v = verdict(r, name);
	if (v->verdict != FL_REPORT_FAIL)
		FL_FAIL("'%s' did not fail: %s", name, v->message);
	if (!strstr(v->message, text))
		FL_FAIL("'%s': \"%s\" not in \"%s\"", name, text, v->message);
}

static bool heap_measurable(void) { return fl_leak_heap_bytes(NULL) >= 0; }

FL_TEST(clean_run_passes_every_leak_check)
{
	fl_scenario_result r;
	run_planted(CLEAN, &r);
	assert_passed(&r, FL_SCENARIO_CHECK_LEAKS);
	assert_passed(&r, FL_SCENARIO_CHECK_THREADS);
	assert_passed(&r, FL_SCENARIO_CHECK_FDS);
	if (heap_measurable())
		assert_passed(&r, FL_SCENARIO_CHECK_HEAP_GROWTH);
	ASSERT(fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

FL_TEST(heap_leak_per_run_is_caught_by_growth)
{
	if (!heap_measurable())
		return; /* valgrind: the check is skipped, as the runner says */
	fl_scenario_result r;
	run_planted(HEAP_LEAK, &r);
	assert_failed_with(&r, FL_SCENARIO_CHECK_HEAP_GROWTH, "heap grows with iterations");
	const fl_scenario_verdict *v = verdict(&r, FL_SCENARIO_CHECK_HEAP_GROWTH);
	/* 384 KB per run, within what the allocator rounds. */
	ASSERT_GE(v->measured, LEAK_BYTES * 0.95);
	ASSERT_LE(v->measured, LEAK_BYTES * 1.1);
	/* The total (3.75 MiB) is under the heap check's 4 MiB. */
	const fl_scenario_verdict *h = verdict(&r, FL_SCENARIO_CHECK_HEAP);
	ASSERT(h->verdict != FL_REPORT_FAIL);
	fl_scenario_result_destroy(&r);
}

FL_TEST(heap_that_wanders_does_not_fit_a_line)
{
	if (!heap_measurable())
		return;
	fl_scenario_result r;
	run_planted(HEAP_WANDERS, &r);
	assert_passed(&r, FL_SCENARIO_CHECK_HEAP_GROWTH);
	fl_scenario_result_destroy(&r);
}

FL_TEST(leaked_thread_is_named)
{
	fl_scenario_result r;
	run_planted(THREAD, &r);
	assert_failed_with(&r, FL_SCENARIO_CHECK_THREADS, "'planted-thr'");
	assert_passed(&r, FL_SCENARIO_CHECK_FDS);
	fl_scenario_result_destroy(&r);
}

FL_TEST(leaked_fd_is_named_with_its_target)
{
	fl_scenario_result r;
	run_planted(FD, &r);
	const fl_scenario_verdict *v = verdict(&r, FL_SCENARIO_CHECK_FDS);
	ASSERT_EQ(v->verdict, FL_REPORT_FAIL);
	if (!strstr(v->message, "-> /dev/null"))
		FL_FAIL("no /dev/null in \"%s\"", v->message);
	assert_passed(&r, FL_SCENARIO_CHECK_THREADS);
	fl_scenario_result_destroy(&r);
}

FL_TEST(leaked_channel_is_named_with_its_creator)
{
	fl_scenario_result r;
	run_planted(CHAN, &r);
	assert_failed_with(&r, FL_SCENARIO_CHECK_LEAKS, "chans +1");
	assert_failed_with(&r, FL_SCENARIO_CHECK_LEAKS, "chan 'planted-chan' created by");
	fl_scenario_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(clean_run_passes_every_leak_check),
	     FL_CASE(heap_leak_per_run_is_caught_by_growth),
	     FL_CASE(heap_that_wanders_does_not_fit_a_line), FL_CASE(leaked_thread_is_named),
	     FL_CASE(leaked_fd_is_named_with_its_target),
	     FL_CASE(leaked_channel_is_named_with_its_creator))

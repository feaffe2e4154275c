/*
 * scn_test.h - what the conformance and catalogue tests share: an observe
 * hook that hands each pipeline's live error to a per-test checker, and
 * asserts over a scenario result (verdicts, counters, groups, leaks).
 */
#ifndef FL_SCN_TEST_H
#define FL_SCN_TEST_H

#include <fl/err.h>
#include <fl/scenario.h>

#include <string.h>

#include "fl_test.h"

/* What the observe hook saw: the calls, and the test's own verdicts. */
typedef struct seen {
	int calls;
	int nil; /* calls with no error */
	void (*check)(const char *what, const fl_err *err, struct seen *s);
	long extra; /* per-test scratch */
} seen;

static inline void observe(const char *what, const fl_err *err, void *arg)
{
	seen *s = arg;
	s->calls++;
	s->nil += err == NULL;
	if (s->check)
		s->check(what, err, s);
}

static inline fl_scenario_params params(int iterations, seen *s)
{
	return (fl_scenario_params){
		.iterations = iterations,
		.time_scale = fl_test_time_scale(),
		.skip_timing = true,
		.observe = observe,
		.observe_arg = s,
	};
}

/* Registers the built-in catalogue (idempotent): a program has none
 * until it asks. */
static inline void builtins(void)
{
	fl_err *err = fl_scenario_register_builtins();
	if (err) {
		fl_err_print(stderr, err);
		fl_err_drop(err);
		FL_FAIL("the built-in catalogue did not register");
	}
}

/* Runs scenario name into r; the run itself must not fail. */
static inline void run(const char *name, const fl_scenario_params *p, fl_scenario_result *r)
{
	builtins();
	const fl_scenario *s = fl_scenario_find(name);
	ASSERT_NOT_NULL(s);
	fl_scenario_result_init(r, s);
	fl_err *err = fl_scenario_run(s, p, r);
	if (err) {
		fl_err_print(stderr, err);
		fl_err_drop(err);
		FL_FAIL("scenario %s could not run: %s", name, r->run_err);
	}
	ASSERT_STR_EQ(r->run_err, "");
}

static inline void assert_verdict(const fl_scenario_result *r, const char *check,
				  enum fl_report_verdict v)
{
	const fl_scenario_verdict *c = fl_scenario_find_check(r, check);
	if (!c)
		FL_FAIL("%s: no check '%s'", r->scenario->name, check);
	if (c->verdict != v)
		FL_FAIL("%s: check '%s' is %s, want %s: %s", r->scenario->name, check,
			fl_report_verdict_name(c->verdict), fl_report_verdict_name(v), c->message);
}

/* A timing goal the scenario meets: judged (and met) on virtual time,
 * skipped on the real clocks, where the tests set skip_timing. */
static inline enum fl_report_verdict timing_goal(void)
{
	return fl_test_virtual_time() ? FL_REPORT_PASS : FL_REPORT_SKIP;
}

static inline void assert_counter(const fl_scenario_result *r, const char *name, int64_t want)
{
	const fl_scenario_counter *c = fl_scenario_find_counter(r, name);
	if (!c)
		FL_FAIL("%s: no counter '%s'", r->scenario->name, name);
	ASSERT_EQ(c->value, want);
}

/* Every object the run created is gone again (goleak). */
static inline void assert_no_leaks(const fl_scenario_result *r)
{
	ASSERT_EQ(r->after.tasks, r->baseline.tasks);
	ASSERT_EQ(r->after.chans, r->baseline.chans);
	ASSERT_EQ(r->after.ctxs, r->baseline.ctxs);
	ASSERT_EQ(r->after.errs, r->baseline.errs);
	ASSERT_EQ(r->after.timers, r->baseline.timers);
	ASSERT_EQ(r->after.groups, r->baseline.groups);
	assert_verdict(r, FL_SCENARIO_CHECK_LEAKS, FL_REPORT_PASS);
	ASSERT(fl_scenario_result_passed(r));
}

static inline void assert_text(const fl_err *err, const char *want)
{
	char buf[FL_SCENARIO_ERR_MAX];
	fl_err_format(err, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, want);
}

static inline const fl_scenario_group *find_group(const fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i].name, name) == 0)
			return &r->groups[i];
	FL_FAIL("%s: no group '%s'", r->scenario->name, name);
}

/* Every check the scenario declares passed (timing ones may be skipped). */
static inline void assert_all_pass(const fl_scenario_result *r)
{
	for (const char *const *c = r->scenario->checks; *c; c++) {
		const fl_scenario_verdict *v = fl_scenario_find_check(r, *c);
		if (!v)
			FL_FAIL("%s: check '%s' missing", r->scenario->name, *c);
		if (v->verdict == FL_REPORT_FAIL)
			FL_FAIL("%s: check '%s' failed: %s", r->scenario->name, *c, v->message);
	}
	assert_no_leaks(r);
}

#endif

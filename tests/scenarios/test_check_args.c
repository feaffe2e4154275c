/*
 * test_check_args.c - the cancellation recorder of fl/check.h refuses bad
 * arguments by name and makes nothing, and its defaults (check "prompt
 * cancellation" over histogram "cancel"). The checks' behaviour under real
 * runs is test_check_api.c's.
 */
#include <fl/check.h>
#include <fl/scenario.h>

#include <string.h>

#include "fl_test.h"

/* Bad arguments are errors that name what is wrong, and nothing is made. */
FL_TEST(cancel_recorder_rejects_bad_arguments)
{
	static const fl_scenario s = {.name = "bad"};
	fl_scenario_result r;
	fl_scenario_result_init(&r, &s);
	fl_check_cancel *c = (fl_check_cancel *)&r; /* must stay untouched */
	fl_err *err = fl_check_cancel_new(NULL, NULL, &c);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	char longname[FL_SCENARIO_NAME_MAX + 1];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	err = fl_check_cancel_new(&r, &(struct fl_check_cancel_opts){.hist = longname}, &c);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	char text[256];
	fl_err_format(err, text, sizeof(text));
	ASSERT(strstr(text, "histogram 'xxx") != NULL);
	fl_err_drop(err);
	ASSERT(c == (fl_check_cancel *)&r);
	ASSERT_EQ(r.nhists, 0);
	/* the defaults: check FL_CHECK_CANCEL over histogram "cancel" */
	ASSERT(fl_check_cancel_new(&r, NULL, &c) == NULL);
	ASSERT(fl_scenario_find_hist(&r, "cancel") != NULL);
	fl_scenario_params p = {.skip_timing = true};
	ASSERT(fl_check_cancel_judge(c, &p));
	const fl_scenario_verdict *v = fl_scenario_find_check(&r, FL_CHECK_CANCEL);
	ASSERT_NOT_NULL(v);
	ASSERT_EQ(v->verdict, FL_REPORT_SKIP);
	ASSERT(strstr(v->message, "no cancellation happened") != NULL);
	fl_check_cancel_free(c);
	fl_check_cancel_free(NULL);
	fl_scenario_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(cancel_recorder_rejects_bad_arguments))

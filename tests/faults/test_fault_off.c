/* fl-test-labels: memcheck */
/*
 * test_fault_off.c - with -DFL_FAULTS_OFF the point macros are constants:
 * they evaluate none of their arguments and never fire, even with a
 * matching plan armed.
 */
#define FL_FAULTS_OFF 1
#include "fl_test.h"

#include <fl/fault.h>

static int evaluated;

static fl_ctx *side_effect(void)
{
	evaluated++;
	return NULL;
}

FL_TEST(points_compile_to_constants)
{
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm("off/**=error(inval)", 1, &p));
	ASSERT_NULL(FL_FAULT(side_effect(), "off/a"));
	enum fl_fault_verdict v = FL_FAULT_DUP;
	ASSERT_NULL(FL_FAULT_ITEM(side_effect(), "off/b", evaluated++, &v));
	ASSERT_EQ(v, FL_FAULT_KEEP);
	ASSERT(!FL_FAULT_ALLOC(side_effect(), "off/c"));
	ASSERT(FL_FAULT_SLOW(side_effect(), "off/d") == 1.0);
	ASSERT_NULL(FL_FAULT_WORK(side_effect(), "off/e", evaluated++));
	ASSERT_EQ(evaluated, 0);
	fl_fault_point_stats st;
	ASSERT(!fl_fault_stats_get(p, "off/a", &st));
	fl_fault_plan_free(p);
}

FL_TEST_MAIN(FL_CASE(points_compile_to_constants))

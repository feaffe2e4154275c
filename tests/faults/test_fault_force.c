/* fl-test-labels: memcheck */
/*
 * test_fault_force.c - forced decisions (fl_fault_force): while a set is
 * installed, a point fires at exactly the evaluations the set lists, with
 * the rule's term of the listed action, whatever the plan's probability
 * says; cleared, the plan decides again. The control: the same plan
 * without a set fires at every evaluation (100%) or at none (0%).
 */
#include "fl_test.h"

#include <fl/fault.h>

#include <string.h>

/* Which of the first 6 evaluations of a point fire, as a bit mask (the
 * point's name is a literal: each site is static). */
#define FIRES(fn, point)                                   \
	static unsigned fn(void)                           \
	{                                                  \
		unsigned m = 0;                            \
		for (int k = 1; k <= 6; k++) {             \
			fl_err *e = FL_FAULT(NULL, point); \
			m |= e ? 1u << k : 0;              \
			fl_err_drop(e);                    \
		}                                          \
		return m;                                  \
	}
FIRES(fires_never, "force/never")
FIRES(fires_always, "force/always")
#define fires(p) (strcmp(p, "force/never") == 0 ? fires_never() : fires_always())

FL_TEST(only_the_listed_evaluations_fire)
{
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm("force/never=0%error(inval);force/always=error(inval)", 1, &p));
	ASSERT_EQ(fires("force/never"), 0u); /* the controls: the plan's own decisions */
	ASSERT_EQ(fires("force/always"), 0x7eu);
	fl_fault_plan_free(p);

	const fl_fault_forced set[] = {{"force/never", 2, FL_FAULT_ACT_ERROR},
				       {"force/never", 5, FL_FAULT_ACT_ERROR},
				       {"force/always", 3, FL_FAULT_ACT_ERROR},
				       {"force/always", 4, FL_FAULT_ACT_SLEEP}}; /* no such term */
	ASSERT_NULL(fl_fault_force(set, 4));
	ASSERT_NULL(fl_fault_arm("force/never=0%error(inval);force/always=error(inval)", 1, &p));
	ASSERT_EQ(fires("force/never"), (1u << 2) | (1u << 5));
	ASSERT_EQ(fires("force/always"), 1u << 3);
	fl_fault_plan_free(p);

	fl_fault_force_clear();
	ASSERT_NULL(fl_fault_arm("force/always=error(inval)", 1, &p));
	ASSERT_EQ(fires("force/always"), 0x7eu);
	fl_fault_plan_free(p);
}

FL_TEST(an_empty_set_fires_nothing_and_bad_actions_are_refused)
{
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_force(NULL, 0));
	ASSERT_NULL(fl_fault_arm("force/always=error(inval)", 1, &p));
	ASSERT_EQ(fires("force/always"), 0u);
	fl_fault_plan_free(p);
	const fl_fault_forced bad = {"force/always", 1, FL_FAULT_NACTIONS};
	fl_err *err = fl_fault_force(&bad, 1);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	ASSERT_NULL(fl_fault_arm("force/always=error(inval)", 1, &p)); /* nothing installed */
	ASSERT_EQ(fires("force/always"), 0x7eu);
	fl_fault_plan_free(p);
}

FL_TEST_MAIN(FL_CASE(only_the_listed_evaluations_fire),
	     FL_CASE(an_empty_set_fires_nothing_and_bad_actions_are_refused))

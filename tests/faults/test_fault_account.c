/* fl-test-labels: concurrency memcheck */
/*
 * test_fault_account.c - per-point counts, the fire log and its overflow
 * count, and fl_fault_list.
 */
#include "fl_test.h"

#include <fl/fault.h>
#include <fl/group.h>

#include <stdlib.h>
#include <string.h>

static fl_fault_plan *arm(const char *text)
{
	fl_fault_plan *p = NULL;
	ASSERT_NULL(fl_fault_arm(text, 1, &p));
	return p;
}

struct seen {
	int n;
	char names[4][32];
	fl_fault_point_stats st[4];
};

static void collect(const fl_fault_point_stats *st, void *arg)
{
	struct seen *s = arg;
	ASSERT_LT(s->n, 4);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", st->point);
	s->st[s->n++] = *st;
}

FL_TEST(counts_per_point_and_action)
{
	fl_fault_plan *p = arm("acc/a=@1 delay(1ms)->@2..3 error(inval)->every(5) yield;"
			       "acc/b=drop; acc/none=@1000 off");
	for (int i = 0; i < 10; i++)
		fl_err_drop(FL_FAULT(NULL, "acc/a"));
	for (int64_t i = 0; i < 3; i++) {
		enum fl_fault_verdict v;
		ASSERT_NULL(FL_FAULT_ITEM(NULL, "acc/b", i, &v));
	}
	ASSERT_NULL(FL_FAULT(NULL, "acc/none"));
	ASSERT_NULL(FL_FAULT(NULL, "acc/unmatched"));
	struct seen s = {0};
	fl_fault_stats_foreach(p, collect, &s);
	ASSERT_EQ(s.n, 3); /* first-seen order; unmatched points are not the plan's */
	ASSERT_STR_EQ(s.names[0], "acc/a");
	ASSERT_STR_EQ(s.names[1], "acc/b");
	ASSERT_STR_EQ(s.names[2], "acc/none");
	ASSERT_EQ(s.st[0].evals, 10);
	ASSERT_EQ(s.st[0].fires[FL_FAULT_ACT_DELAY], 1);
	ASSERT_EQ(s.st[0].fires[FL_FAULT_ACT_ERROR], 2);
	ASSERT_EQ(s.st[0].fires[FL_FAULT_ACT_YIELD], 2); /* evaluations 5 and 10 */
	ASSERT_EQ(s.st[0].fires_total, 5);
	ASSERT_GE(s.st[0].delay_ns, FL_MS(1));
	ASSERT_EQ(s.st[1].evals, 3);
	ASSERT_EQ(s.st[1].fires[FL_FAULT_ACT_DROP], 3);
	ASSERT_EQ(s.st[2].evals, 1);
	ASSERT_EQ(s.st[2].fires_total, 0);
	fl_fault_point_stats st;
	ASSERT(!fl_fault_stats_get(p, "acc/unmatched", &st));
	ASSERT_EQ(st.evals, 0);
	fl_fault_plan_free(p);
}

struct events {
	uint64_t n, first_eval, last_eval;
	int64_t last_t;
};

static void walk(const fl_fault_event *ev, void *arg)
{
	struct events *e = arg;
	if (e->n == 0)
		e->first_eval = ev->eval;
	else
		ASSERT_EQ(ev->eval, e->last_eval + 1); /* oldest first, in order */
	ASSERT_GE(ev->t_ns, e->last_t);
	ASSERT_GE(ev->since_arm_ns, 0);
	ASSERT_STR_EQ(ev->point, "acc/ring");
	ASSERT_EQ(ev->action, FL_FAULT_ACT_OFF);
	ASSERT_EQ(ev->term, 0);
	ASSERT_EQ(ev->item, -1);
	e->last_eval = ev->eval;
	e->last_t = ev->t_ns;
	e->n++;
}

FL_TEST(ring_overflow_is_counted)
{
	fl_fault_plan *p = arm("acc/ring=off");
	const int n = FL_FAULT_LOG_CAP + 904;
	for (int i = 0; i < n; i++)
		ASSERT_NULL(FL_FAULT(NULL, "acc/ring"));
	ASSERT_U64_EQ(fl_fault_log_overflows(p), 904);
	struct events e = {0};
	fl_fault_log_foreach(p, walk, &e);
	ASSERT_U64_EQ(e.n, FL_FAULT_LOG_CAP);
	ASSERT_U64_EQ(e.first_eval, 905);
	ASSERT_U64_EQ(e.last_eval, (uint64_t)n);
	fl_fault_plan_free(p);
}

static fl_err *hammer(fl_ctx *ctx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 2500; i++)
		fl_err_drop(FL_FAULT(ctx, "acc/hammer"));
	return NULL;
}

FL_TEST(concurrent_counts_add_up)
{
	fl_fault_plan *p = arm("acc/hammer=every(2) off->error(inval)");
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int t = 0; t < 4; t++)
		ASSERT_NULL(fl_group_go(g, hammer, NULL));
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "acc/hammer", &st));
	ASSERT_EQ(st.evals, 10000);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_OFF], 5000);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_ERROR], 5000);
	ASSERT_U64_EQ(fl_fault_log_overflows(p), 10000 - FL_FAULT_LOG_CAP);
	fl_fault_plan_free(p);
}

FL_TEST(list_shows_plans_and_points)
{
	fl_fault_plan *p = arm("seed=7; acc/listed=@2 error(inval)");
	ASSERT_NULL(FL_FAULT(NULL, "acc/listed"));
	fl_err_drop(FL_FAULT(NULL, "acc/listed"));
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	fl_fault_list(m);
	fclose(m);
	char want[256];
	snprintf(want, sizeof(want),
		 "plan %llu seed=7 global: seed=7; acc/listed=@2 error(inval)\n"
		 "  point acc/listed evals=2 fires=1 error=1 delay=0ns\n",
		 (unsigned long long)fl_fault_plan_id(p));
	ASSERT_NOT_NULL(strstr(buf, want));
	ASSERT_NOT_NULL(strstr(buf, "point acc/listed\n"));
	free(buf);
	fl_fault_plan_free(p);
}

FL_TEST_MAIN(FL_CASE(counts_per_point_and_action), FL_CASE(ring_overflow_is_counted),
	     FL_CASE(concurrent_counts_add_up), FL_CASE(list_shows_plans_and_points))

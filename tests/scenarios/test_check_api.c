/*
 * test_check_api.c - the public checks (fl/check.h) from a user's scenario
 * body: each passes on a correct pipeline and fails on a planted defect
 * (a lost item, a swallowed error, a wrong sentinel or payload, a cancel
 * never joined, a slow cancel, an SLO breach, a join that never returns).
 * Durations are judged on the sim backend only, where time is virtual;
 * elsewhere the same runs use skip_timing and the tests assert what does
 * not depend on the clock (joins, counts, skips that carry the measured
 * value).
 */
/* fl-test-sim-only: slow_cancel_is_caught_on_sim slo_breach_is_caught_on_sim */
#include <fl/chan.h>
#include <fl/check.h>
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/hdr.h>
#include <fl/scenario.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fl_test.h"

/* What the scenario bodies below plant; set by each test before its run. */
enum plant {
	P_NONE,
	P_SLOW,
	P_UNJOINED,
	P_STUCK,
	P_LOSE,
	P_WRONG,
	P_SWALLOW,
	P_TYPED,
	P_TYPED_WRONG
};
static enum plant plant;
static int64_t bound_ns; /* the SLO bound, the cancel p99 threshold */

static const char *const all_checks[] = {FL_CHECK_CANCEL, FL_CHECK_CONSERVATION, FL_CHECK_ERROR,
					 FL_CHECK_SLO,    "many marks",          NULL};

static void run_scn(fl_err *(*fn)(const fl_scenario_params *, fl_scenario_result *),
		    fl_scenario_result *r, int64_t hang_ns, const char *faults)
{
	static fl_scenario s;
	s = (fl_scenario){.name = "check_api",
			  .description = "fl/check.h under test",
			  .checks = all_checks,
			  .default_iterations = 3,
			  .run = fn};
	fl_scenario_params p = {.skip_timing = true,
				.time_scale = fl_test_time_scale(),
				.seed = 11,
				.hang_ns = hang_ns,
				.faults = faults};
	fl_scenario_result_init(r, &s);
	fl_err *err = fl_scenario_run(&s, &p, r);
	if (err)
		fl_err_print(stderr, err);
	ASSERT(err == NULL);
}

static const fl_scenario_verdict *check(const fl_scenario_result *r, const char *name)
{
	const fl_scenario_verdict *v = fl_scenario_find_check(r, name);
	if (!v)
		FL_FAIL("no check '%s'", name);
	return v;
}

static void expect(const fl_scenario_result *r, const char *name, enum fl_report_verdict want)
{
	const fl_scenario_verdict *v = check(r, name);
	if (v->verdict != want)
		FL_FAIL("check '%s': verdict %d, want %d: %s", name, v->verdict, want, v->message);
}

static void expect_in(const fl_scenario_result *r, const char *name, const char *text)
{
	if (!strstr(check(r, name)->message, text))
		FL_FAIL("check '%s' lacks \"%s\": %s", name, text, check(r, name)->message);
}

/* The checks a test did not exercise were declared: skip them. */
static void skip_rest(fl_scenario_result *r)
{
	for (const char *const *c = all_checks; *c; c++)
		if (!fl_scenario_find_check(r, *c))
			fl_scenario_skip(r, *c, "not this test's");
}

/* ---- prompt cancellation ---------------------------------------------------- */

static fl_fault_site hold_site = FL_FAULT_SITE_INIT("check.hold");

/* Waits for the cancel; then ignores it for 50 ms (P_SLOW), or sits in a
 * fault point a stuck() action holds (P_STUCK, the task named "holder"). */
static fl_err *waiter(fl_ctx *ctx, void *arg)
{
	(void)arg;
	(void)fl_sleep_until(ctx, fl_deadline_in(FL_SEC(3600)));
	if (plant == P_SLOW)
		(void)fl_sleep_until(NULL, fl_deadline_in(FL_MS(50)));
	return NULL;
}

static fl_err *holder(fl_ctx *ctx, void *arg)
{
	(void)arg;
	(void)fl_sleep_until(ctx, fl_deadline_in(FL_SEC(3600)));
	fl_err_drop(fl_fault_point(&hold_site, ctx));
	return NULL;
}

/* Per iteration: four waiters (and a holder under P_STUCK), a cancel
 * marked issued, the group's wait marked joined. */
static fl_err *cancel_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_check_cancel *c;
	fl_err *env = fl_check_cancel_new(r,
					  &(struct fl_check_cancel_opts){.p99_ns = bound_ns,
									 .max_ns = bound_ns},
					  &c);
	for (int it = 0; !env && it < p->iterations; it++) {
		fl_ctx *parent, *ctx;
		fl_group *g;
		if ((env = fl_ctx_with_cancel(fl_ctx_background(), &parent)))
			break;
		if ((env = fl_group_new(parent, NULL, &g, &ctx))) {
			fl_ctx_free(parent);
			break;
		}
		/* P_STUCK's first iteration runs the holder alone: whenever the
		 * watchdog fires (a slow start may look like no progress), the
		 * holder is the one task it can find live */
		bool alone = plant == P_STUCK && it == 0;
		for (int i = 0; i < 4 && !env && !alone; i++)
			env = fl_group_go_named(g, "waiter", waiter, NULL);
		if (!env && alone)
			env = fl_group_go_named(g, "holder", holder, NULL);
		int64_t mark = fl_check_cancel_issued(c);
		fl_ctx_cancel(parent, NULL);
		fl_err_drop(fl_group_wait(g));
		if (!(plant == P_UNJOINED && it == 1))
			fl_check_cancel_joined(c, mark);
		fl_group_free(g);
		fl_ctx_free(parent);
	}
	if (!env)
		fl_check_cancel_judge(c, p);
	fl_check_cancel_free(c);
	skip_rest(r);
	return env;
}

FL_TEST(cancel_passes_when_every_join_returns)
{
	plant = P_NONE;
	bound_ns = FL_MS(10);
	fl_scenario_result r;
	run_scn(cancel_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_CANCEL, FL_REPORT_PASS);
	expect_in(&r, FL_CHECK_CANCEL, "3 cancels: p50 ");
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "cancel")), 3);
	if (fl_test_virtual_time()) /* judged: a cancel that lands at once takes no time */
		ASSERT_LE(check(&r, FL_CHECK_CANCEL)->measured, 1000);
	else
		expect_in(&r, FL_CHECK_CANCEL, "thresholds not judged");
	ASSERT(fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

/* Negative control: the second cancel's join is never marked. */
FL_TEST(unjoined_cancel_is_caught)
{
	plant = P_UNJOINED;
	bound_ns = 0;
	fl_scenario_result r;
	run_scn(cancel_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_CANCEL, FL_REPORT_FAIL);
	expect_in(&r, FL_CHECK_CANCEL, "1 of 3 cancels never joined");
	fl_scenario_result_destroy(&r);
}

/* Negative control on virtual time: every waiter ignores the cancel for
 * 50 ms; a 10 ms p99 cannot hold, and the latency is exactly 50 ms. */
FL_TEST(slow_cancel_is_caught_on_sim)
{
	plant = P_SLOW;
	bound_ns = FL_MS(10);
	fl_scenario_result r;
	run_scn(cancel_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_CANCEL, FL_REPORT_FAIL);
	expect_in(&r, FL_CHECK_CANCEL, "over its threshold 10.0 ms");
	const fl_scenario_verdict *v = check(&r, FL_CHECK_CANCEL);
	ASSERT_GE(v->measured, FL_MS(50));
	ASSERT_LE(v->measured, FL_MS(50) + FL_MS(50) / 1000); /* HDR: 3 digits */
	ASSERT_EQ(v->threshold, FL_MS(10));
	fl_scenario_result_destroy(&r);
	/* the same run with a 60 ms threshold passes */
	bound_ns = FL_MS(60);
	run_scn(cancel_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_CANCEL, FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
}

/*
 * A join that never returns: "holder" ignores the cancel inside a stuck()
 * fault. The join is never marked, so the check cannot measure it; the
 * runner's watchdog catches it instead, names the task and disarms the
 * plan, so the run ends (hung, exit status 3 in the command) and nothing
 * leaks. The check then still holds the (late) join to account.
 */
FL_TEST(stuck_join_ends_as_hang_naming_the_task)
{
	plant = P_STUCK;
	bound_ns = 0;
	fl_scenario_result r;
	run_scn(cancel_scn, &r, FL_MS(50) * fl_test_time_scale(), "check.hold=stuck(30m)");
	ASSERT(r.hung);
	expect(&r, FL_SCENARIO_CHECK_HANG, FL_REPORT_FAIL);
	expect_in(&r, FL_SCENARIO_CHECK_HANG, "holder");
	if (strstr(check(&r, FL_SCENARIO_CHECK_HANG)->message, "waiter"))
		FL_FAIL("a cooperating task is named: %s",
			check(&r, FL_SCENARIO_CHECK_HANG)->message);
	expect(&r, FL_SCENARIO_CHECK_LEAKS, FL_REPORT_PASS);
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

/*
 * A join that truly never returns: "blocked" waits on a channel no one
 * sends on, without a context, so neither the cancel nor disarming a plan
 * frees it. The scenario runs isolated, as the command runs every
 * scenario: the child's watchdog dumps, disarms, waits one more period and
 * exits 3, and the parent's FL_SCENARIO_CHECK_HANG names the task. (5 s of
 * real time on the real-clock backends: the watchdog's second period.)
 */
static fl_chan *never;

static fl_err *blocked(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	char x;
	(void)fl_chan_recv(never, &x, NULL, FL_FOREVER);
	return NULL;
}

static fl_err *never_joins_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_check_cancel *c;
	fl_err *env = fl_check_cancel_new(r, NULL, &c);
	fl_ctx *ctx;
	fl_group *g;
	if (!env)
		env = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "never"}, &never);
	if (!env && !(env = fl_group_new(fl_ctx_background(), NULL, &g, &ctx))) {
		env = fl_group_go_named(g, "blocked", blocked, NULL);
		int64_t mark = fl_check_cancel_issued(c);
		fl_group_cancel(g, NULL);
		fl_err_drop(fl_group_wait(g)); /* never returns */
		fl_check_cancel_joined(c, mark);
		fl_group_free(g);
	}
	fl_check_cancel_judge(c, p);
	fl_check_cancel_free(c);
	return env;
}

FL_TEST(never_joining_task_is_named_by_the_isolated_hang)
{
	plant = P_NONE;
	static const fl_scenario s = {.name = "never_joins",
				      .checks = all_checks,
				      .default_iterations = 1,
				      .run = never_joins_scn};
	fl_scenario_params p = {.skip_timing = true,
				.time_scale = fl_test_time_scale(),
				.hang_ns = FL_MS(50) * fl_test_time_scale()};
	fl_scenario_result r;
	fl_scenario_result_init(&r, &s);
	fl_err *err = fl_scenario_run_isolated(&s, &p, &r);
	if (err)
		fl_err_print(stderr, err);
	ASSERT(err == NULL);
	ASSERT(r.hung);
	expect(&r, FL_SCENARIO_CHECK_HANG, FL_REPORT_FAIL);
	expect_in(&r, FL_SCENARIO_CHECK_HANG, "could not free the stuck tasks (blocked)");
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

/* Marks from many tasks at once: every one is counted (TSan watches). */
typedef struct marker {
	fl_check_cancel *c;
	int k;
} marker;

static fl_err *mark_many(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	marker *m = arg;
	for (int i = 0; i < 100; i++) {
		if (i % 2)
			fl_check_cancel_joined(m->c, fl_check_cancel_issued(m->c));
		else
			fl_check_cancel_record(m->c, m->k * 1000 + i);
	}
	return NULL;
}

static fl_err *many_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_check_cancel *c;
	fl_err *env = fl_check_cancel_new(r,
					  &(struct fl_check_cancel_opts){.check = "many marks",
									 .hist = "marks"},
					  &c);
	fl_ctx *ctx;
	fl_group *g;
	if (!env && !(env = fl_group_new(fl_ctx_background(), NULL, &g, &ctx))) {
		marker m[8];
		for (int k = 0; k < 8 && !env; k++) {
			m[k] = (marker){c, k};
			env = fl_group_go(g, mark_many, &m[k]);
		}
		fl_err *werr = fl_group_wait(g);
		env = env ? env : werr;
		if (env != werr)
			fl_err_drop(werr);
		fl_group_free(g);
	}
	if (!env)
		fl_check_cancel_judge(c, p);
	fl_check_cancel_free(c);
	skip_rest(r);
	return env;
}

FL_TEST(marks_from_many_tasks_are_all_counted)
{
	fl_scenario_result r;
	run_scn(many_scn, &r, 0, NULL);
	expect(&r, "many marks", FL_REPORT_PASS);
	expect_in(&r, "many marks", "800 cancels");
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "marks")), 800);
	fl_scenario_result_destroy(&r);
}

/* ---- conservation ------------------------------------------------------------ */

typedef struct worker_arg {
	fl_check_items *items;
	int k;
} worker_arg;

/* Items 1..100, item i handled by task i % 4: multiples of 10 fail,
 * other multiples of 7 are skipped, the rest done. P_LOSE: item 42 is
 * dropped without a fate. */
static fl_err *count_items(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	worker_arg *w = arg;
	for (int i = 1; i <= 100; i++) {
		if (i % 4 != w->k)
			continue;
		fl_check_items_add(w->items, FL_ITEM_PRODUCED, 1);
		if (plant == P_LOSE && i == 42)
			continue;
		enum fl_check_fate f = i % 10 == 0  ? FL_ITEM_FAILED
				       : i % 7 == 0 ? FL_ITEM_SKIPPED
						    : FL_ITEM_DONE;
		fl_check_items_add(w->items, f, 1);
	}
	return NULL;
}

static fl_err *items_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	fl_check_items items;
	fl_check_items_init(&items);
	fl_ctx *ctx;
	fl_group *g;
	fl_err *env = fl_group_new(fl_ctx_background(), NULL, &g, &ctx);
	if (env)
		return env;
	worker_arg w[4];
	for (int k = 0; k < 4 && !env; k++) {
		w[k] = (worker_arg){&items, k};
		env = fl_group_go(g, count_items, &w[k]);
	}
	fl_err_drop(fl_group_wait(g));
	fl_group_free(g);
	fl_check_items_judge(&items, r, NULL);
	fl_check_items_count(&items, r, NULL);
	skip_rest(r);
	return env;
}

FL_TEST(conservation_holds_when_every_item_has_a_fate)
{
	plant = P_NONE;
	fl_scenario_result r;
	run_scn(items_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_CONSERVATION, FL_REPORT_PASS);
	ASSERT_STR_EQ(check(&r, FL_CHECK_CONSERVATION)->message,
		      "all 100 accounted for: produced 100, duplicated 0, done 77, failed 10, "
		      "skipped 13, shed 0, dead_lettered 0, cancelled 0");
	ASSERT_EQ(fl_scenario_counter_value(&r, "produced"), 100);
	ASSERT_EQ(fl_scenario_counter_value(&r, "done"), 77);
	ASSERT_EQ(fl_scenario_counter_value(&r, "dead_lettered"), 0);
	fl_scenario_result_destroy(&r);
}

FL_TEST(lost_item_is_caught_by_name)
{
	plant = P_LOSE;
	fl_scenario_result r;
	run_scn(items_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_CONSERVATION, FL_REPORT_FAIL);
	ASSERT_STR_EQ(check(&r, FL_CHECK_CONSERVATION)->message,
		      "lost 1: produced 100, duplicated 0, done 77, failed 10, skipped 12, "
		      "shed 0, dead_lettered 0, cancelled 0");
	ASSERT_EQ(check(&r, FL_CHECK_CONSERVATION)->measured, 99);
	ASSERT_EQ(check(&r, FL_CHECK_CONSERVATION)->threshold, 100);
	fl_scenario_result_destroy(&r);
}

FL_TEST(conservation_counts_duplicates_and_surplus)
{
	fl_scenario_result r;
	static const fl_scenario s = {.name = "dups", .checks = all_checks};
	fl_scenario_result_init(&r, &s);
	fl_check_items c = {0};
	fl_check_items_add(&c, FL_ITEM_PRODUCED, 10);
	fl_check_items_add(&c, FL_ITEM_DUPLICATED, 2);
	fl_check_items_add(&c, FL_ITEM_DONE, 11);
	fl_check_items_add(&c, FL_ITEM_DEAD_LETTERED, 1);
	ASSERT(fl_check_items_judge(&c, &r, "dups ok"));
	fl_check_items_add(&c, FL_ITEM_CANCELLED, 2);
	ASSERT(!fl_check_items_judge(&c, &r, "dups surplus"));
	expect_in(&r, "dups surplus", "2 too many: produced 10, duplicated 2, done 11");
	ASSERT_STR_EQ(fl_check_fate_name(FL_ITEM_SHED), "shed");
	ASSERT_STR_EQ(fl_check_fate_name((enum fl_check_fate)99), "?");
	fl_scenario_result_destroy(&r);
}

/* ---- error identity ------------------------------------------------------------ */

FL_ERR_SENTINEL(test_err_bad, "bad input");

static fl_err *failing_stage(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	switch (plant) {
	case P_WRONG: return fl_err_wrap(FL_ERR_INVAL, "stage parse");
	case P_SWALLOW: return NULL; /* the bug: it logged the error and went on */
	case P_TYPED:
	case P_TYPED_WRONG: {
		fl_scenario_stage_err se = {.index = 3};
		snprintf(se.stage, sizeof(se.stage), "%s", "parse");
		return fl_err_typed(&fl_scenario_stage_err_type, &se, test_err_bad, "parse");
	}
	default: return fl_err_wrap(test_err_bad, "stage parse, item 3");
	}
}

static bool stage_named(const void *payload, void *arg)
{
	return strcmp(((const fl_scenario_stage_err *)payload)->stage, arg) == 0;
}

static fl_err *err_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	fl_ctx *ctx;
	fl_group *g;
	fl_err *env = fl_group_new(fl_ctx_background(), NULL, &g, &ctx);
	if (env)
		return env;
	env = fl_group_go_named(g, "parse", failing_stage, NULL);
	fl_err *err = fl_group_wait(g);
	fl_group_free(g);
	if (plant == P_TYPED || plant == P_TYPED_WRONG) {
		const void *pl;
		fl_check_err_as(r, NULL, err, &fl_scenario_stage_err_type, stage_named,
				(void *)(plant == P_TYPED ? "parse" : "sink"), &pl);
		ASSERT(pl != NULL);
		ASSERT_EQ(((const fl_scenario_stage_err *)pl)->index, 3);
	} else if (plant == P_SWALLOW) {
		fl_check_err_returned(r, NULL, err, "the parse stage failed");
	} else {
		fl_check_err_is(r, NULL, err, test_err_bad);
		fl_check_err_returned(r, NULL, err, "the parse stage failed");
	}
	fl_err_drop(err);
	skip_rest(r);
	return env;
}

FL_TEST(error_identity_matches_the_sentinel)
{
	plant = P_NONE;
	fl_scenario_result r;
	run_scn(err_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_ERROR, FL_REPORT_PASS);
	expect_in(&r, FL_CHECK_ERROR, "stage parse, item 3: bad input");
	fl_scenario_result_destroy(&r);
}

FL_TEST(wrong_sentinel_is_caught_with_both_texts)
{
	plant = P_WRONG;
	fl_scenario_result r;
	run_scn(err_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_ERROR, FL_REPORT_FAIL);
	ASSERT_STR_EQ(check(&r, FL_CHECK_ERROR)->message,
		      "expected bad input; got stage parse: invalid argument");
	fl_scenario_result_destroy(&r);
}

FL_TEST(swallowed_error_is_caught)
{
	plant = P_SWALLOW;
	fl_scenario_result r;
	run_scn(err_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_ERROR, FL_REPORT_FAIL);
	ASSERT_STR_EQ(check(&r, FL_CHECK_ERROR)->message,
		      "the parse stage failed; got <nil>: the error was swallowed");
	fl_scenario_result_destroy(&r);
}

FL_TEST(typed_payload_is_matched_and_a_wrong_one_caught)
{
	plant = P_TYPED;
	fl_scenario_result r;
	run_scn(err_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_ERROR, FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
	plant = P_TYPED_WRONG;
	run_scn(err_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_ERROR, FL_REPORT_FAIL);
	expect_in(&r, FL_CHECK_ERROR, "fl_scenario_stage_err that matches (its payload does not)");
	expect_in(&r, FL_CHECK_ERROR, "got stage parse, item 3: parse: bad input");
	fl_scenario_result_destroy(&r);
}

/* ---- latency SLOs --------------------------------------------------------------- */

typedef struct slo_run {
	pthread_mutex_t mu;
	fl_hdr *stage, *e2e;
} slo_run;

/* Five items of 1 ms of work each (a cancellable sleep). */
static fl_err *slo_work(fl_ctx *ctx, void *arg)
{
	slo_run *s = arg;
	for (int i = 0; i < 5; i++) {
		int64_t t0 = fl_now();
		if (fl_sleep_until(ctx, fl_deadline_in(FL_MS(1))) != FL_OK)
			return fl_ctx_stop_err(ctx);
		pthread_mutex_lock(&s->mu);
		fl_hdr_record(s->stage, fl_now() - t0);
		fl_hdr_record(s->e2e, fl_now() - t0 + 1000);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static fl_err *slo_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	slo_run s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	fl_err *env = fl_scenario_hist(r, "stage.work", &s.stage);
	if (!env)
		env = fl_scenario_hist(r, "e2e", &s.e2e);
	fl_ctx *ctx;
	fl_group *g;
	if (!env && !(env = fl_group_new(fl_ctx_background(), NULL, &g, &ctx))) {
		for (int k = 0; k < 4 && !env; k++)
			env = fl_group_go(g, slo_work, &s);
		fl_err *werr = fl_group_wait(g);
		fl_group_free(g);
		if (!env)
			env = werr;
		else
			fl_err_drop(werr);
	}
	if (!env) {
		fl_check_slo(r, p, NULL, "stage.work", 99, bound_ns);
		fl_check_slo(r, p, NULL, "e2e", 100, bound_ns + FL_MS(1));
	}
	skip_rest(r);
	return env;
}

/* On sim the goals are judged (1 ms of virtual work per item, a 2 ms
 * bound); on a real clock with skip_timing they are skipped, and the skip
 * carries the measured value and the sample count. */
FL_TEST(slo_holds_on_sim_and_is_skipped_with_values_on_real)
{
	bound_ns = FL_MS(2);
	fl_scenario_result r;
	run_scn(slo_scn, &r, 0, NULL);
	if (fl_test_virtual_time()) {
		expect(&r, FL_CHECK_SLO, FL_REPORT_PASS);
		const fl_scenario_verdict *v = check(&r, FL_CHECK_SLO);
		ASSERT_EQ(v->evals, 2);
		expect_in(&r, FL_CHECK_SLO, "e2e max 1.00 ms <= 3.00 ms (20 samples)");
	} else {
		expect(&r, FL_CHECK_SLO, FL_REPORT_SKIP);
		expect_in(&r, FL_CHECK_SLO, "timing goal (skip_timing): e2e max ");
		expect_in(&r, FL_CHECK_SLO, "bound 3.00 ms (20 samples)");
	}
	fl_scenario_result_destroy(&r);
}

/* Negative control on virtual time: a 500 us bound on 1 ms items. */
FL_TEST(slo_breach_is_caught_on_sim)
{
	bound_ns = FL_US(500);
	fl_scenario_result r;
	run_scn(slo_scn, &r, 0, NULL);
	expect(&r, FL_CHECK_SLO, FL_REPORT_FAIL);
	ASSERT_STR_EQ(check(&r, FL_CHECK_SLO)->message,
		      "stage.work p99 1.00 ms > 500 us (20 samples)");
	ASSERT_GE(check(&r, FL_CHECK_SLO)->measured, FL_MS(1));
	ASSERT_EQ(check(&r, FL_CHECK_SLO)->threshold, FL_US(500));
	fl_scenario_result_destroy(&r);
}

/* A judged goal on a histogram that has no samples (or none at all)
 * fails: an SLO nothing was measured against is not met. Not judged
 * (skip_timing on a real clock) it is skipped and says so. No clock is
 * read: this holds on every backend. */
FL_TEST(slo_without_samples_fails)
{
	static const fl_scenario s = {.name = "nohist", .checks = all_checks};
	fl_scenario_result r;
	fl_scenario_result_init(&r, &s);
	fl_scenario_params p = {.skip_timing = false};
	ASSERT(!fl_check_slo(&r, &p, NULL, "stage.missing", 99.9, FL_MS(1)));
	expect(&r, FL_CHECK_SLO, FL_REPORT_FAIL);
	expect_in(&r, FL_CHECK_SLO, "no samples in stage.missing (p99.9 <= 1.00 ms)");
	fl_scenario_result_destroy(&r);
	fl_scenario_result_init(&r, &s);
	p.skip_timing = true;
	fl_check_slo(&r, &p, NULL, "stage.missing", 50, FL_MS(1));
	expect(&r, FL_CHECK_SLO, fl_test_virtual_time() ? FL_REPORT_FAIL : FL_REPORT_SKIP);
	fl_scenario_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(cancel_passes_when_every_join_returns), FL_CASE(unjoined_cancel_is_caught),
	     FL_CASE(slow_cancel_is_caught_on_sim),
	     FL_CASE(stuck_join_ends_as_hang_naming_the_task),
	     FL_CASE(marks_from_many_tasks_are_all_counted),
	     FL_CASE(never_joining_task_is_named_by_the_isolated_hang),
	     FL_CASE(conservation_holds_when_every_item_has_a_fate),
	     FL_CASE(lost_item_is_caught_by_name),
	     FL_CASE(conservation_counts_duplicates_and_surplus),
	     FL_CASE(error_identity_matches_the_sentinel),
	     FL_CASE(wrong_sentinel_is_caught_with_both_texts), FL_CASE(swallowed_error_is_caught),
	     FL_CASE(typed_payload_is_matched_and_a_wrong_one_caught),
	     FL_CASE(slo_holds_on_sim_and_is_skipped_with_values_on_real),
	     FL_CASE(slo_breach_is_caught_on_sim), FL_CASE(slo_without_samples_fails))

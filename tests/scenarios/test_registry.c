/*
 * test_registry.c - registering scenarios: what fl_scenario_register
 * refuses (each field named), duplicates, registration order, the
 * built-ins registering through the same call (idempotent), FL_SCENARIO_WITH
 * filling a scenario from its options before main, failures in
 * constructors kept for fl_scenario_registry_err, and registration from
 * many threads at once. Each case runs in its own process, so each starts
 * with only this file's FL_SCENARIO_WITH registered.
 */
#include <fl/scenario.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fl_test.h"

FL_SCENARIO_WITH(macro_defined, "defined by the macro, before main", .iterations = 4,
		 .checks = (const char *const[]){"ran four times", NULL}, .labels = "fast unit",
		 .hang_ns = FL_SEC(5), .heap_tolerance = 1 << 20)
{
	fl_scenario_check(result, "ran four times", params->iterations == 4, params->iterations, 4,
			  NULL, "iterations %d", params->iterations);
	return NULL;
}

static fl_err *noop(const fl_scenario_params *p, fl_scenario_result *r)
{
	(void)p;
	(void)r;
	return NULL;
}

static size_t count(void)
{
	size_t n;
	(void)fl_scenario_catalogue(&n);
	return n;
}

/* err is FL_ERR_INVAL and its text holds want; drops err. */
static void assert_inval(fl_err *err, const char *want)
{
	ASSERT_NOT_NULL(err);
	char text[512];
	fl_err_format(err, text, sizeof(text));
	bool inval = fl_err_is(err, FL_ERR_INVAL);
	fl_err_drop(err);
	if (!inval || !strstr(text, want))
		FL_FAIL("expected FL_ERR_INVAL with \"%s\", got: %s", want, text);
}

FL_TEST(register_names_the_bad_field)
{
	static const char *const empty_check[] = {"ok", "", NULL};
	static const char *const dup_check[] = {"a", "b", "a", NULL};
	static const char *const empty_plan[] = {"", NULL};
	char long_name[80];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	const struct {
		fl_scenario s;
		const char *want;
	} bad[] = {
		{{.name = "Orders", .run = noop},
		 "scenario 'Orders': name may hold only a-z, 0-9 and _"},
		{{.name = "orders-sum", .run = noop}, "'orders-sum': name may hold only"},
		{{.name = "", .run = noop}, "name is empty"},
		{{.name = NULL, .run = noop}, "scenario '(null)': name is empty"},
		{{.name = long_name, .run = noop}, "name is too long"},
		{{.name = "no_run"}, "scenario 'no_run': run is NULL"},
		{{.name = "neg", .run = noop, .default_iterations = -1},
		 "scenario 'neg': default_iterations is -1"},
		{{.name = "chk", .run = noop, .checks = empty_check},
		 "scenario 'chk': checks[1] is empty"},
		{{.name = "chk2", .run = noop, .checks = dup_check}, "checks[2] is declared twice"},
		{{.name = "plan", .run = noop, .stress_faults = empty_plan},
		 "scenario 'plan': stress_faults[0] is empty"},
		{{.name = "hang", .run = noop, .hang_ns = -1},
		 "scenario 'hang': hang_ns is negative"},
	};
	size_t before = count();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_inval(fl_scenario_register(&bad[i].s), bad[i].want);
	assert_inval(fl_scenario_register(NULL), "NULL scenario");
	ASSERT_EQ(count(), before); /* nothing registered on error */
	/* negative control: the same fields, valid, register */
	static const char *const two[] = {"a", "b", NULL};
	static const fl_scenario good = {.name = "orders_sum_2", .run = noop, .checks = two};
	ASSERT_NULL(fl_scenario_register(&good));
	ASSERT_EQ(count(), before + 1);
	ASSERT(fl_scenario_find("orders_sum_2") == &good);
}

FL_TEST(duplicates_are_refused_and_the_same_scenario_is_a_noop)
{
	static const fl_scenario a = {.name = "dup", .description = "first", .run = noop};
	static const fl_scenario b = {.name = "dup", .description = "second", .run = noop};
	size_t before = count();
	ASSERT_NULL(fl_scenario_register(&a));
	assert_inval(fl_scenario_register(&b), "scenario 'dup': name is already registered");
	ASSERT_NULL(fl_scenario_register(&a));
	ASSERT_EQ(count(), before + 1);
	ASSERT(fl_scenario_find("dup") == &a);
	ASSERT_NULL(fl_scenario_find("dup2"));
	ASSERT_NULL(fl_scenario_find(NULL));
}

FL_TEST(registration_order_is_kept)
{
	static const fl_scenario c = {.name = "c", .run = noop}, a = {.name = "a", .run = noop},
				 b = {.name = "b", .run = noop};
	ASSERT_NULL(fl_scenario_register(&c));
	ASSERT_NULL(fl_scenario_register(&a));
	ASSERT_NULL(fl_scenario_register(&b));
	size_t n;
	const fl_scenario *const *all = fl_scenario_catalogue(&n);
	ASSERT_EQ(n, 4);
	ASSERT_STR_EQ(all[0]->name, "macro_defined"); /* before main */
	ASSERT(all[1] == &c && all[2] == &a && all[3] == &b);
}

FL_TEST(builtins_register_through_the_public_call_once)
{
	ASSERT_EQ(count(), 1); /* a program has no built-in until it asks */
	ASSERT_NULL(fl_scenario_find("sum"));
	ASSERT_NULL(fl_scenario_register_builtins());
	size_t n = count();
	ASSERT_GE(n, 20);
	ASSERT_NULL(fl_scenario_register_builtins()); /* idempotent */
	ASSERT_EQ(count(), n);
	ASSERT_EQ(fl_scenario_find("cancel_latency")->default_iterations, 200);
	size_t k;
	ASSERT_STR_EQ(fl_scenario_catalogue(&k)[1]->name, "sum"); /* catalogue order */
}

FL_TEST(builtins_refuse_a_name_the_program_took)
{
	static const fl_scenario mine = {.name = "sum", .run = noop};
	ASSERT_NULL(fl_scenario_register(&mine));
	fl_err *err = fl_scenario_register_builtins();
	assert_inval(err, "the built-in catalogue: scenario 'sum': name is already registered");
	ASSERT(fl_scenario_find("sum") == &mine);
}

FL_TEST(macro_fills_the_scenario_from_its_options)
{
	fl_err *err = fl_scenario_registry_err();
	ASSERT_NULL(err); /* this file's registrations all succeeded */
	const fl_scenario *s = fl_scenario_find("macro_defined");
	ASSERT_NOT_NULL(s);
	ASSERT_STR_EQ(s->description, "defined by the macro, before main");
	ASSERT_EQ(s->default_iterations, 4);
	ASSERT_STR_EQ(s->checks[0], "ran four times");
	ASSERT_NULL(s->checks[1]);
	ASSERT_STR_EQ(s->labels, "fast unit");
	ASSERT_EQ(s->hang_ns, FL_SEC(5));
	ASSERT_EQ(s->heap_tolerance, 1 << 20);
	ASSERT_NULL(s->stress_faults);
	/* its body is the scenario's run: four iterations by default */
	fl_scenario_result r;
	fl_scenario_result_init(&r, s);
	ASSERT_NULL(fl_scenario_run(s, NULL, &r));
	ASSERT(fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
	/* negative control: two iterations break the body's check */
	fl_scenario_result_init(&r, s);
	ASSERT_NULL(fl_scenario_run(s, &(fl_scenario_params){.iterations = 2}, &r));
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

FL_TEST(define_keeps_failures_for_the_registry_err)
{
	static fl_scenario bad1, bad2, ok;
	fl_scenario_define(&ok, "fine_one", "registers", NULL, noop);
	ASSERT_NULL(fl_scenario_registry_err());
	fl_scenario_define(&bad1, "Bad", "an upper-case name", NULL, noop);
	fl_scenario_define(&bad2, "fine_one", "a duplicate", NULL, noop);
	fl_err *err = fl_scenario_registry_err();
	ASSERT_NOT_NULL(err);
	char text[1024];
	fl_err_format(err, text, sizeof(text));
	fl_err_drop(err);
	if (!strstr(text, "scenario 'Bad': name may hold only") ||
	    !strstr(text, "scenario 'fine_one': name is already registered"))
		FL_FAIL("registry error: %s", text);
	ASSERT(fl_scenario_find("fine_one") == &ok);
	ASSERT_NULL(fl_scenario_find("Bad"));
}

/* Runs what(), its stderr into buf. */
static void capture_stderr(void (*what)(void), char *buf, size_t cap)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	ASSERT_NOT_NULL(tmp);
	int saved = dup(2);
	ASSERT(saved >= 0);
	ASSERT(dup2(fileno(tmp), 2) >= 0);
	what();
	fflush(stderr);
	ASSERT(dup2(saved, 2) >= 0);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, cap - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static void read_twice(void)
{
	size_t n;
	(void)fl_scenario_catalogue(&n);
	(void)fl_scenario_find("anything");
}

FL_TEST(unasked_failures_are_printed_on_the_first_read)
{
	static fl_scenario bad;
	char text[1024];
	capture_stderr(read_twice, text, sizeof(text));
	ASSERT_STR_EQ(text, ""); /* negative control: nothing failed, nothing printed */
	fl_scenario_define(&bad, "Bad", "an upper-case name", NULL, noop);
	capture_stderr(read_twice, text, sizeof(text));
	const char *want = "faultline: a scenario failed to register: scenario 'Bad': name";
	const char *at = strstr(text, want);
	if (!at || strstr(at + 1, want)) /* once, not per read */
		FL_FAIL("stderr: %s", text);
	capture_stderr(read_twice, text, sizeof(text));
	ASSERT_STR_EQ(text, "");
}

/* ---- many threads ----------------------------------------------------------------- */

#define THREADS 4
#define EACH 64

typedef struct worker {
	pthread_barrier_t *start;
	int id;
	fl_scenario s[EACH];
	char names[EACH][16];
	int failed;
} worker;

static void *register_many(void *arg)
{
	worker *w = arg;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < EACH; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "t%d_%d", w->id, i);
		w->s[i] = (fl_scenario){.name = w->names[i], .run = noop};
		fl_err *err = fl_scenario_register(&w->s[i]);
		w->failed += err != NULL;
		fl_err_drop(err);
		(void)fl_scenario_find(w->names[i]);
	}
	return NULL;
}

FL_TEST(threads_register_at_once)
{
	static worker w[THREADS];
	pthread_barrier_t start;
	ASSERT_EQ(pthread_barrier_init(&start, NULL, THREADS), 0);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){.start = &start, .id = i};
		ASSERT_EQ(pthread_create(&t[i], NULL, register_many, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		ASSERT_EQ(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&start);
	ASSERT_EQ(count(), 1 + THREADS * EACH);
	for (int i = 0; i < THREADS; i++) {
		ASSERT_EQ(w[i].failed, 0);
		for (int k = 0; k < EACH; k++)
			ASSERT(fl_scenario_find(w[i].names[k]) == &w[i].s[k]);
	}
}

FL_TEST_MAIN(FL_CASE(register_names_the_bad_field),
	     FL_CASE(duplicates_are_refused_and_the_same_scenario_is_a_noop),
	     FL_CASE(registration_order_is_kept),
	     FL_CASE(builtins_register_through_the_public_call_once),
	     FL_CASE(builtins_refuse_a_name_the_program_took),
	     FL_CASE(macro_fills_the_scenario_from_its_options),
	     FL_CASE(define_keeps_failures_for_the_registry_err),
	     FL_CASE(unasked_failures_are_printed_on_the_first_read),
	     FL_CASE(threads_register_at_once))

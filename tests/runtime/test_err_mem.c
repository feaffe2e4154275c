/* fl-test-labels: concurrency memcheck */
/*
 * test_err_mem.c - errors' memory: reference counts and the live count,
 * one error shared by many threads, errors made on many threads at once,
 * a 100,000-deep chain freed, and the out-of-memory paths (through the
 * private allocation hook in err_internal.h). The rest of the error API
 * is in test_err.c; the typed errors both use are in err_test_util.h.
 *
 * Every case checks that fl_err_live() is back at its starting value, so a
 * leaked reference fails here and not only under memcheck.
 */
#include <fl/err.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err_internal.h"
#include "fl_test.h"
#include "err_test_util.h"

/* A stage error whose destroy scribbles over the payload, so Helgrind sees
 * a write that must come after every other thread's last read. */
static void stage_poison(void *payload) { memset(payload, 0xdd, sizeof(struct stage_err)); }

static const fl_err_type poisoned_stage_type = {
	.name = "poisoned stage",
	.size = sizeof(struct stage_err),
	.destroy = stage_poison,
	.format = stage_format,
};

FL_TEST(refcount_live_baseline)
{
	long base = fl_err_live();
	fl_err *e = fl_err_wrap(fl_err_new("leaf"), "top");
	const fl_err *leaf = fl_err_unwrap(e);
	ASSERT_EQ(fl_err_live(), base + 2);
	ASSERT(fl_err_ref(e) == e);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base + 2);

	/* A shared cause outlives the wrap that is freed first. */
	fl_err *kept = fl_err_ref((fl_err *)leaf);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base + 1);
	assert_format(kept, "leaf");
	fl_err_drop(kept);
	ASSERT_EQ(fl_err_live(), base);
}

enum { REF_THREADS = 4, REF_ITERS = 100000 };

struct ref_arg {
	pthread_barrier_t *start;
	fl_err *err; /* one reference owned by the thread */
};

static void *ref_worker(void *p)
{
	struct ref_arg *a = p;
	pthread_barrier_wait(a->start);
	for (int i = 0; i < REF_ITERS; i++) {
		fl_err *r = fl_err_ref(a->err);
		if (r != a->err)
			FL_FAIL("ref returned another error");
		/* Read the error, so a destroy racing with this is seen. */
		const struct stage_err *s = fl_err_as(r, &poisoned_stage_type);
		if (!fl_err_is(r, FL_ERR_INVAL) || s->item != 9)
			FL_FAIL("the shared error changed");
		fl_err_drop(r);
	}
	/* Whichever thread ends last frees the error. */
	fl_err_drop(a->err);
	return NULL;
}

FL_TEST(refcount_concurrent)
{
	long base = fl_err_live();
	struct stage_err payload = {"shared", 9};
	fl_err *e = fl_err_typed(&poisoned_stage_type, &payload, fl_err_wrap(FL_ERR_INVAL, "root"),
				 "hot");
	pthread_barrier_t start;
	ASSERT_EQ(pthread_barrier_init(&start, NULL, REF_THREADS), 0);
	pthread_t tid[REF_THREADS];
	struct ref_arg args[REF_THREADS];
	for (int i = 0; i < REF_THREADS; i++) {
		args[i] = (struct ref_arg){&start, fl_err_ref(e)};
		ASSERT_EQ(pthread_create(&tid[i], NULL, ref_worker, &args[i]), 0);
	}
	fl_err_drop(e);
	for (int i = 0; i < REF_THREADS; i++)
		ASSERT_EQ(pthread_join(tid[i], NULL), 0);
	pthread_barrier_destroy(&start);
	ASSERT_EQ(fl_err_live(), base);
}

enum { MAKE_ITERS = 5000 };

static void *make_worker(void *p)
{
	pthread_barrier_t *start = p;
	pthread_barrier_wait(start);
	for (int i = 0; i < MAKE_ITERS; i++) {
		fl_err *e = fl_err_wrap(fl_err_new("item %d", i), "stage");
		e = fl_err_join2(e, stage_err("s", i, FL_ERR_CANCELED, "x"));
		if (!fl_err_is(e, FL_ERR_CANCELED))
			FL_FAIL("lost the cause");
		fl_err_drop(e);
	}
	return NULL;
}

/* Errors built and freed on many threads at once keep the live count. */
FL_TEST(create_concurrent)
{
	long base = fl_err_live();
	pthread_barrier_t start;
	ASSERT_EQ(pthread_barrier_init(&start, NULL, REF_THREADS), 0);
	pthread_t tid[REF_THREADS];
	for (int i = 0; i < REF_THREADS; i++)
		ASSERT_EQ(pthread_create(&tid[i], NULL, make_worker, &start), 0);
	for (int i = 0; i < REF_THREADS; i++)
		ASSERT_EQ(pthread_join(tid[i], NULL), 0);
	pthread_barrier_destroy(&start);
	ASSERT_EQ(fl_err_live(), base);
}

enum { DEEP = 100000 };

FL_TEST(deep_chain_free)
{
	long base = fl_err_live();
	fl_err *e = stage_err("bottom", 1, FL_ERR_INVAL, "");
	size_t want = strlen("stage \"bottom\" item 1: invalid argument");
	fl_err *half = NULL;
	for (int i = 0; i < DEEP; i++) {
		char msg[32];
		e = fl_err_wrap(e, "level %d", i);
		want += (size_t)snprintf(msg, sizeof(msg), "level %d: ", i);
		if (i == DEEP / 2)
			half = fl_err_ref(e);
	}
	ASSERT_EQ(fl_err_live(), base + DEEP + 1);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT(!fl_err_is(e, FL_ERR_CANCELED));
	const struct stage_err *s = fl_err_as(e, &stage_type);
	ASSERT_STR_EQ(s->stage, "bottom");
	ASSERT_NULL(fl_err_as(e, &http_type));
	ASSERT_EQ(fl_err_format(e, NULL, 0), want);

	/* Freeing stops at the shared middle node, then goes on from it. */
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base + DEEP / 2 + 2);
	fl_err_drop(half);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(oom_new)
{
	long base = fl_err_live();
	fl__err_set_alloc_fail(0);
	fl_err *e = fl_err_new("row %d", 1);
	fl__err_set_alloc_fail(-1);
	ASSERT(e == FL_ERR_NOMEM);
	fl_err_drop(e);

	/* The budget counts allocations, then fails every one after it. */
	fl__err_set_alloc_fail(2);
	fl_err *a = fl_err_new("a");
	fl_err *b = fl_err_new("b");
	fl_err *c = fl_err_new("c");
	fl_err *d = fl_err_new("d");
	fl__err_set_alloc_fail(-1);
	ASSERT(a != FL_ERR_NOMEM && b != FL_ERR_NOMEM);
	ASSERT(c == FL_ERR_NOMEM && d == FL_ERR_NOMEM);
	fl_err_drop(a);
	fl_err_drop(b);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(oom_wrap)
{
	long base = fl_err_live();
	fl_err *cause = fl_err_new("root");
	fl__err_set_alloc_fail(0);
	fl_err *e = fl_err_wrap(cause, "context %d", 1);
	fl__err_set_alloc_fail(-1);
	ASSERT(e == cause);
	assert_format(e, "root");

	fl__err_set_alloc_fail(0);
	ASSERT(fl_err_wrap(FL_ERR_CLOSED, "send") == FL_ERR_CLOSED);
	fl__err_set_alloc_fail(-1);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(oom_typed)
{
	long base = fl_err_live();
	owned_destroyed = 0;

	struct owned o = {strdup("lost")};
	fl__err_set_alloc_fail(0);
	fl_err *e = fl_err_typed(&owned_type, &o, NULL, "m");
	fl__err_set_alloc_fail(-1);
	ASSERT(e == FL_ERR_NOMEM);
	ASSERT_EQ(owned_destroyed, 1);

	fl_err *cause = fl_err_wrap(FL_ERR_INVAL, "why");
	o.text = strdup("lost too");
	fl__err_set_alloc_fail(0);
	e = fl_err_typed(&owned_type, &o, cause, "m");
	fl__err_set_alloc_fail(-1);
	ASSERT(e == cause);
	ASSERT_EQ(owned_destroyed, 2);
	fl_err_drop(e);

	struct stage_err s = {"x", 1};
	fl__err_set_alloc_fail(0);
	e = fl_err_typed(&stage_type, &s, FL_ERR_LIMIT, "no destroy hook");
	fl__err_set_alloc_fail(-1);
	ASSERT(e == FL_ERR_LIMIT);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(oom_join)
{
	long base = fl_err_live();
	fl_err *errs[4] = {NULL, fl_err_new("a"), fl_err_new("b"),
			   fl_err_wrap(fl_err_new("c"), "w")};
	fl_err *first = errs[1];
	fl__err_set_alloc_fail(0);
	fl_err *j = fl_err_join(errs, 4);
	fl__err_set_alloc_fail(-1);
	ASSERT(j == first);
	ASSERT_EQ(fl_err_live(), base + 1);
	fl_err_drop(j);

	/* The same error twice: one reference survives, one is dropped. */
	fl_err *a = fl_err_new("a");
	fl__err_set_alloc_fail(0);
	j = fl_err_join2(a, fl_err_ref(a));
	fl__err_set_alloc_fail(-1);
	ASSERT(j == a);
	ASSERT_EQ(fl_err_live(), base + 1);
	fl_err_drop(j);
	ASSERT_EQ(fl_err_live(), base);

	fl__err_set_alloc_fail(0);
	j = fl_err_join2(FL_ERR_CANCELED, fl_err_new("nomem"));
	fl__err_set_alloc_fail(-1);
	ASSERT(j == FL_ERR_CANCELED);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(oom_errno)
{
	long base = fl_err_live();
	fl__err_set_alloc_fail(0);
	fl_err *e = fl_err_errno(ENOENT, "open");
	fl__err_set_alloc_fail(-1);
	ASSERT(e == FL_ERR_NOMEM);
	ASSERT_EQ(fl_err_live(), base);
}

/* Builds a composite error with every allocation budget up to the one that
 * needs none to fail: whatever survives must be whole and leak-free. */
FL_TEST(oom_budget_sweep)
{
	long base = fl_err_live();
	char full[256];
	snprintf(full, sizeof(full), "[[w: stage \"s\" item 5: m: leaf; read: %s]; owned]",
		 strerror(EIO));
	/* Seven allocations: leaf, stage, wrap, owned, errno and two joins. */
	for (int budget = 0; budget <= 7; budget++) {
		owned_destroyed = 0;
		fl__err_set_alloc_fail(budget);
		fl_err *e = stage_err("s", 5, fl_err_new("leaf"), "m");
		e = fl_err_wrap(e, "w");
		struct owned o = {strdup("o")};
		fl_err *t = fl_err_typed(&owned_type, &o, NULL, NULL);
		e = fl_err_join2(e, fl_err_errno(EIO, "read"));
		e = fl_err_join2(e, t);
		fl__err_set_alloc_fail(-1);

		ASSERT_NOT_NULL(e);
		char buf[256];
		size_t n = fl_err_format(e, buf, sizeof(buf));
		ASSERT_EQ(n, strlen(buf));
		if (budget == 7)
			ASSERT_STR_EQ(buf, full);
		fl_err_drop(e);
		ASSERT_EQ(owned_destroyed, 1);
		ASSERT_EQ(fl_err_live(), base);
	}
}

FL_TEST_MAIN(FL_CASE(refcount_live_baseline), FL_CASE(refcount_concurrent),
	     FL_CASE(create_concurrent), FL_CASE(deep_chain_free), FL_CASE(oom_new),
	     FL_CASE(oom_wrap), FL_CASE(oom_typed), FL_CASE(oom_join), FL_CASE(oom_errno),
	     FL_CASE(oom_budget_sweep))

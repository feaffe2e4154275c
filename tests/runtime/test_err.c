/* fl-test-labels: concurrency memcheck */
/*
 * test_err.c - errors: sentinels, wrap, typed, join, matching, reference
 * counts, formatting, and the out-of-memory paths (through the private
 * allocation hook in err_internal.h).
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

/* A user sentinel, declared in one line. */
static FL_ERR_SENTINEL(app_err_not_found, "not found");

/* A typed error naming the pipeline stage and item that failed. */
struct stage_err {
	char stage[32];
	long item;
};

static int stage_format(const void *payload, char *buf, size_t cap)
{
	const struct stage_err *s = payload;
	return snprintf(buf, cap, "stage \"%s\" item %ld", s->stage, s->item);
}

static const fl_err_type stage_type = {
	.name = "stage",
	.size = sizeof(struct stage_err),
	.format = stage_format,
};

static fl_err *stage_err(const char *stage, long item, fl_err *cause,
			 const char *msg)
{
	struct stage_err s = {.item = item};
	snprintf(s.stage, sizeof(s.stage), "%s", stage);
	return fl_err_typed(&stage_type, &s, cause, "%s", msg);
}

/* An HTTP status error. It matches another HTTP error with the same status
 * and, for 404, the app_err_not_found sentinel. */
struct http_err {
	int status;
};

static const fl_err_type http_type;

static bool http_is(const void *payload, const fl_err *target)
{
	const struct http_err *h = payload;
	if (target == app_err_not_found)
		return h->status == 404;
	const struct http_err *t = fl_err_as(target, &http_type);
	return t && t->status == h->status;
}

static int http_format(const void *payload, char *buf, size_t cap)
{
	const struct http_err *h = payload;
	return snprintf(buf, cap, "http %d", h->status);
}

static const fl_err_type http_type = {
	.name = "http",
	.size = sizeof(struct http_err),
	.format = http_format,
	.is = http_is,
};

static fl_err *http_err(int status)
{
	struct http_err h = {status};
	return fl_err_typed(&http_type, &h, NULL, NULL);
}

/* A payload that owns heap memory, to check who calls destroy. */
struct owned {
	char *text;
};

static int owned_destroyed;

static void owned_destroy(void *payload)
{
	struct owned *o = payload;
	free(o->text);
	owned_destroyed++;
}

static const fl_err_type owned_type = {
	.name = "owned",
	.size = sizeof(struct owned),
	.destroy = owned_destroy,
};

/* A stage error whose destroy scribbles over the payload, so Helgrind sees
 * a write that must come after every other thread's last read. */
static void stage_poison(void *payload)
{
	memset(payload, 0xdd, sizeof(struct stage_err));
}

static const fl_err_type poisoned_stage_type = {
	.name = "poisoned stage",
	.size = sizeof(struct stage_err),
	.destroy = stage_poison,
	.format = stage_format,
};

static void assert_format(const fl_err *err, const char *want)
{
	char buf[512];
	size_t n = fl_err_format(err, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, want);
	ASSERT_EQ(n, strlen(want));
}

/* Prints with fn into a memory stream and returns the text (to free). */
static char *capture(void (*fn)(FILE *, const fl_err *), const fl_err *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ASSERT_NOT_NULL(f);
	fn(f, err);
	ASSERT_EQ(fclose(f), 0);
	return text;
}

FL_TEST(sentinel_identity)
{
	long base = fl_err_live();
	fl_err *all[] = {FL_ERR_CANCELED, FL_ERR_DEADLINE, FL_ERR_NOMEM,
			 FL_ERR_CLOSED, FL_ERR_LIMIT, FL_ERR_INVAL,
			 FL_ERR_AGAIN, FL_ERR_MISUSE, FL_ERR_PANIC,
			 FL_ERR_SYSTEM, app_err_not_found};
	const char *text[] = {"context canceled", "context deadline exceeded",
			      "out of memory", "channel closed",
			      "limit reached", "invalid argument",
			      "operation would block", "API misuse",
			      "task panicked", "system error", "not found"};
	size_t n = sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n; i++) {
		ASSERT_STR_EQ(fl_err_msg(all[i]), text[i]);
		assert_format(all[i], text[i]);
		ASSERT_NULL(fl_err_unwrap(all[i]));
		for (size_t j = 0; j < n; j++)
			ASSERT_EQ(fl_err_is(all[i], all[j]), i == j);
		/* Immortal: references change nothing, drops never free. */
		for (int k = 0; k < 3; k++)
			ASSERT(fl_err_ref(all[i]) == all[i]);
		for (int k = 0; k < 5; k++)
			fl_err_drop(all[i]);
		ASSERT_LT(atomic_load(&all[i]->refs), 0);
	}
	ASSERT(fl_err_is(NULL, NULL));
	ASSERT(!fl_err_is(NULL, FL_ERR_INVAL));
	ASSERT(!fl_err_is(FL_ERR_INVAL, NULL));
	ASSERT_NULL(fl_err_ref(NULL));
	fl_err_drop(NULL);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(new_formats_message)
{
	long base = fl_err_live();
	fl_err *e = fl_err_new("bad row %d of %s", 7, "input.csv");
	ASSERT_EQ(fl_err_live(), base + 1);
	ASSERT_STR_EQ(fl_err_msg(e), "bad row 7 of input.csv");
	assert_format(e, "bad row 7 of input.csv");
	ASSERT(fl_err_is(e, e));
	ASSERT(!fl_err_is(e, FL_ERR_INVAL));
	ASSERT_NULL(fl_err_unwrap(e));
	ASSERT_EQ(fl_err_join_len(e), 0);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(wrap_message_and_is)
{
	long base = fl_err_live();
	fl_err *e = fl_err_wrap(FL_ERR_INVAL, "bad row");
	e = fl_err_wrap(e, "parse row %d", 42);
	assert_format(e, "parse row 42: bad row: invalid argument");
	ASSERT_STR_EQ(fl_err_msg(e), "parse row 42");
	e = fl_err_wrap(e, "load %s", "users");
	assert_format(e, "load users: parse row 42: bad row: invalid argument");
	ASSERT_EQ(fl_err_live(), base + 3);

	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT(!fl_err_is(e, FL_ERR_CANCELED));
	const fl_err *mid = fl_err_unwrap(fl_err_unwrap(e));
	ASSERT_STR_EQ(fl_err_msg(mid), "bad row");
	ASSERT(fl_err_is(e, mid));
	ASSERT(!fl_err_is(mid, e));
	ASSERT(fl_err_unwrap(mid) == FL_ERR_INVAL);

	/* An empty wrap message adds nothing to the text. */
	e = fl_err_wrap(e, "%s", "");
	assert_format(e, "load users: parse row 42: bad row: invalid argument");
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(wrap_null_passes_through)
{
	long base = fl_err_live();
	ASSERT_NULL(fl_err_wrap(NULL, "step %d", 3));
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(is_through_nested_joins)
{
	long base = fl_err_live();
	fl_err *leaf = fl_err_new("leaf");
	fl_err *inner = fl_err_join2(fl_err_new("a"),
				     fl_err_wrap(FL_ERR_CANCELED, "fetch"));
	fl_err *mid = fl_err_join2(fl_err_ref(leaf), inner);
	fl_err *outer = fl_err_join2(fl_err_new("b"), mid);
	outer = fl_err_wrap(outer, "run");
	assert_format(outer, "run: [b; [leaf; [a; fetch: context canceled]]]");

	ASSERT(fl_err_is(outer, FL_ERR_CANCELED));
	ASSERT(fl_err_is(outer, leaf));
	ASSERT(!fl_err_is(outer, FL_ERR_DEADLINE));
	ASSERT(!fl_err_is(outer, app_err_not_found));
	ASSERT_EQ(fl_err_join_len(fl_err_unwrap(outer)), 2);
	fl_err_drop(leaf);
	fl_err_drop(outer);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(as_finds_payload)
{
	long base = fl_err_live();
	fl_err *st = stage_err("parse", 42, FL_ERR_INVAL, "bad row");
	fl_err *e = fl_err_join2(fl_err_new("other"), fl_err_wrap(st, "step"));
	e = fl_err_wrap(fl_err_join2(fl_err_new("first"), e), "run");

	const struct stage_err *s = fl_err_as(e, &stage_type);
	ASSERT_NOT_NULL(s);
	ASSERT_STR_EQ(s->stage, "parse");
	ASSERT_EQ(s->item, 42);
	ASSERT_NULL(fl_err_as(e, &http_type));
	ASSERT_NULL(fl_err_as(NULL, &stage_type));
	ASSERT_NULL(fl_err_as(FL_ERR_INVAL, &stage_type));
	ASSERT(fl_err_is(e, FL_ERR_INVAL));

	/* Pre-order: the outer typed node wins over the one it wraps. */
	fl_err *two = stage_err("outer", 1, stage_err("inner", 2, NULL, ""), "");
	s = fl_err_as(two, &stage_type);
	ASSERT_STR_EQ(s->stage, "outer");
	s = fl_err_as(fl_err_unwrap(two), &stage_type);
	ASSERT_STR_EQ(s->stage, "inner");
	assert_format(two, "stage \"outer\" item 1: stage \"inner\" item 2");

	fl_err_drop(two);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(is_custom_hook)
{
	long base = fl_err_live();
	fl_err *nf = fl_err_wrap(http_err(404), "get /users/7");
	fl_err *boom = fl_err_wrap(http_err(500), "get /users/8");
	fl_err *want404 = http_err(404);
	fl_err *want503 = http_err(503);

	ASSERT(fl_err_is(nf, app_err_not_found));
	ASSERT(!fl_err_is(boom, app_err_not_found));
	ASSERT(fl_err_is(nf, want404));
	ASSERT(!fl_err_is(boom, want404));
	ASSERT(!fl_err_is(nf, want503));
	ASSERT(!fl_err_is(nf, FL_ERR_INVAL));

	fl_err *both = fl_err_join2(fl_err_ref(boom), fl_err_ref(nf));
	ASSERT(fl_err_is(both, app_err_not_found));
	assert_format(both, "[get /users/8: http 500; get /users/7: http 404]");
	const struct http_err *h = fl_err_as(both, &http_type);
	ASSERT_EQ(h->status, 500);

	fl_err_drop(both);
	fl_err_drop(want503);
	fl_err_drop(want404);
	fl_err_drop(boom);
	fl_err_drop(nf);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(typed_text_and_destroy)
{
	long base = fl_err_live();
	owned_destroyed = 0;
	struct owned o = {strdup("payload text")};
	ASSERT_NOT_NULL(o.text);
	fl_err *e = fl_err_typed(&owned_type, &o, NULL, NULL);
	/* No format hook and no message: the type name stands in. */
	assert_format(e, "owned");
	const struct owned *got = fl_err_as(e, &owned_type);
	ASSERT_STR_EQ(got->text, "payload text");
	ASSERT(got != &o);
	fl_err_drop(e);
	ASSERT_EQ(owned_destroyed, 1);

	/* A message alone, and a NULL payload reads as zeroes. */
	e = fl_err_typed(&stage_type, NULL, NULL, "no stage");
	const struct stage_err *s = fl_err_as(e, &stage_type);
	ASSERT_EQ(s->item, 0);
	ASSERT_STR_EQ(s->stage, "");
	assert_format(e, "stage \"\" item 0: no stage");
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(join_drops_nulls)
{
	long base = fl_err_live();
	fl_err *none[3] = {NULL, NULL, NULL};
	ASSERT_NULL(fl_err_join(none, 3));
	ASSERT_NULL(fl_err_join(NULL, 0));
	ASSERT_NULL(fl_err_join2(NULL, NULL));

	fl_err *a = fl_err_new("a");
	fl_err *one[3] = {NULL, a, NULL};
	ASSERT(fl_err_join(one, 3) == a);
	ASSERT(fl_err_join2(NULL, a) == a);
	ASSERT(fl_err_join2(a, NULL) == a);
	ASSERT_EQ(fl_err_live(), base + 1);

	fl_err *errs[5] = {NULL, a, NULL, FL_ERR_LIMIT, fl_err_new("c")};
	fl_err *j = fl_err_join(errs, 5);
	ASSERT_EQ(fl_err_live(), base + 3);
	ASSERT_EQ(fl_err_join_len(j), 3);
	ASSERT(fl_err_join_at(j, 0) == a);
	ASSERT(fl_err_join_at(j, 1) == FL_ERR_LIMIT);
	ASSERT_STR_EQ(fl_err_msg(fl_err_join_at(j, 2)), "c");
	ASSERT_NULL(fl_err_join_at(j, 3));
	ASSERT_NULL(fl_err_unwrap(j));
	ASSERT_STR_EQ(fl_err_msg(j), "");
	assert_format(j, "[a; limit reached; c]");
	fl_err_drop(j);

	/* One error may be joined twice, given two references. */
	a = fl_err_new("a");
	j = fl_err_join2(a, fl_err_ref(a));
	ASSERT_EQ(fl_err_join_len(j), 2);
	assert_format(j, "[a; a]");
	fl_err_drop(j);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(accessors_on_null)
{
	ASSERT_NULL(fl_err_msg(NULL));
	ASSERT_NULL(fl_err_unwrap(NULL));
	ASSERT_EQ(fl_err_join_len(NULL), 0);
	ASSERT_NULL(fl_err_join_at(NULL, 0));
	ASSERT_NULL(fl_err_join_at(FL_ERR_INVAL, 0));
	assert_format(NULL, "<nil>");
}

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
	fl_err *e = fl_err_typed(&poisoned_stage_type, &payload,
				 fl_err_wrap(FL_ERR_INVAL, "root"), "hot");
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

FL_TEST(format_truncation)
{
	long base = fl_err_live();
	fl_err *e = fl_err_join2(
	    stage_err("parse", 42, fl_err_wrap(FL_ERR_INVAL, "bad row"), "x"),
	    fl_err_wrap(http_err(503), "fetch %d", 3));
	const char *want = "[stage \"parse\" item 42: x: bad row: invalid "
			   "argument; fetch 3: http 503]";
	size_t full = strlen(want);
	ASSERT_EQ(fl_err_format(e, NULL, 0), full);
	assert_format(e, want);

	const unsigned char canary = 0xA5;
	unsigned char *buf = malloc(full + 8);
	ASSERT_NOT_NULL(buf);
	for (size_t cap = 0; cap <= full + 1; cap++) {
		memset(buf, canary, full + 8);
		ASSERT_EQ(fl_err_format(e, (char *)buf, cap), full);
		for (size_t i = cap; i < full + 8; i++)
			if (buf[i] != canary)
				FL_FAIL("cap %zu: byte %zu overwritten", cap, i);
		if (cap == 0)
			continue;
		size_t kept = cap - 1 < full ? cap - 1 : full;
		ASSERT_EQ(strlen((char *)buf), kept);
		ASSERT_EQ(memcmp(buf, want, kept), 0);
	}
	free(buf);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(print_one_line)
{
	long base = fl_err_live();
	fl_err *e = fl_err_wrap(FL_ERR_DEADLINE, "wait %s", "ack");
	char *text = capture(fl_err_print, e);
	ASSERT_STR_EQ(text, "wait ack: context deadline exceeded\n");
	free(text);
	text = capture(fl_err_print, NULL);
	ASSERT_STR_EQ(text, "<nil>\n");
	free(text);

	/* A format() text longer than the stream path's stack buffer. */
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct http_err h = {418};
	fl_err_drop(e);
	e = fl_err_typed(&http_type, &h, NULL, "%s", longname);
	text = capture(fl_err_print, e);
	char want[256];
	snprintf(want, sizeof(want), "http 418: %s\n", longname);
	ASSERT_STR_EQ(text, want);
	free(text);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(print_tree_exact)
{
	long base = fl_err_live();
	fl_err *e = fl_err_join2(stage_err("parse", 42, FL_ERR_INVAL, "bad row"),
				 FL_ERR_DEADLINE);
	char *text = capture(fl_err_print_tree, e);
	ASSERT_STR_EQ(text, "join (2)\n"
			    "├─ stage \"parse\" item 42: bad row\n"
			    "│  └─ invalid argument\n"
			    "└─ context deadline exceeded\n");
	free(text);
	fl_err_drop(e);

	fl_err *errs[3] = {
	    fl_err_wrap(fl_err_wrap(FL_ERR_CANCELED, "fetch"), "run"),
	    fl_err_join2(fl_err_new("a"), fl_err_wrap(fl_err_new("b"), "c")),
	    http_err(503),
	};
	e = fl_err_wrap(fl_err_join(errs, 3), "pipeline");
	text = capture(fl_err_print_tree, e);
	ASSERT_STR_EQ(text, "pipeline\n"
			    "└─ join (3)\n"
			    "   ├─ run\n"
			    "   │  └─ fetch\n"
			    "   │     └─ context canceled\n"
			    "   ├─ join (2)\n"
			    "   │  ├─ a\n"
			    "   │  └─ c\n"
			    "   │     └─ b\n"
			    "   └─ http 503\n");
	free(text);
	assert_format(e, "pipeline: [run: fetch: context canceled; [a; c: b]; "
			 "http 503]");
	text = capture(fl_err_print_tree, NULL);
	ASSERT_STR_EQ(text, "<nil>\n");
	free(text);
	text = capture(fl_err_print_tree, FL_ERR_PANIC);
	ASSERT_STR_EQ(text, "task panicked\n");
	free(text);
	fl_err_drop(e);
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

FL_TEST(errno_typed)
{
	long base = fl_err_live();
	fl_err *e = fl_err_errno(ENOENT, "open %s", "config.ini");
	char want[256];
	snprintf(want, sizeof(want), "open config.ini: %s", strerror(ENOENT));
	assert_format(e, want);
	ASSERT(fl_err_is(e, FL_ERR_SYSTEM));
	ASSERT(!fl_err_is(e, FL_ERR_INVAL));
	e = fl_err_wrap(e, "load");
	ASSERT(fl_err_is(e, FL_ERR_SYSTEM));
	const int *errnum = fl_err_as(e, &fl_err_errno_type);
	ASSERT_NOT_NULL(errnum);
	ASSERT_EQ(*errnum, ENOENT);
	fl_err_drop(e);

	/* No message: just the system's text. */
	e = fl_err_errno(EIO, NULL);
	assert_format(e, strerror(EIO));
	fl_err_drop(e);

	/* An unknown number still says something. */
	e = fl_err_errno(987654, "x");
	ASSERT_EQ(strncmp(fl_err_msg(e), "x: ", 3), 0);
	ASSERT_GT(strlen(fl_err_msg(e)), 3);
	fl_err_drop(e);
	ASSERT_EQ(fl_err_live(), base);
}

FL_TEST(from_status)
{
	ASSERT_NULL(fl_err_from_status(FL_OK));
	ASSERT(fl_err_from_status(FL_CLOSED) == FL_ERR_CLOSED);
	ASSERT(fl_err_from_status(FL_CANCELED) == FL_ERR_CANCELED);
	ASSERT(fl_err_from_status(FL_TIMEDOUT) == FL_ERR_DEADLINE);
	ASSERT(fl_err_from_status(FL_AGAIN) == FL_ERR_AGAIN);
}

FL_TEST_MAIN(FL_CASE(sentinel_identity), FL_CASE(new_formats_message),
	     FL_CASE(wrap_message_and_is), FL_CASE(wrap_null_passes_through),
	     FL_CASE(is_through_nested_joins), FL_CASE(as_finds_payload),
	     FL_CASE(is_custom_hook), FL_CASE(typed_text_and_destroy),
	     FL_CASE(join_drops_nulls), FL_CASE(accessors_on_null),
	     FL_CASE(refcount_live_baseline), FL_CASE(refcount_concurrent),
	     FL_CASE(create_concurrent), FL_CASE(deep_chain_free),
	     FL_CASE(format_truncation), FL_CASE(print_one_line),
	     FL_CASE(print_tree_exact), FL_CASE(oom_new), FL_CASE(oom_wrap),
	     FL_CASE(oom_typed), FL_CASE(oom_join), FL_CASE(oom_errno),
	     FL_CASE(oom_budget_sweep), FL_CASE(errno_typed),
	     FL_CASE(from_status))

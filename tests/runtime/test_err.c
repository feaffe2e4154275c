/* fl-test-labels: concurrency memcheck */
/*
 * test_err.c - errors: sentinels, wrap, typed, join, matching, formatting
 * and printing, errno errors and statuses. Reference counts, errors shared
 * across threads, deep chains and the out-of-memory paths are in
 * test_err_mem.c; the typed errors both use are in err_test_util.h.
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
	fl_err *all[] = {FL_ERR_CANCELED, FL_ERR_DEADLINE, FL_ERR_NOMEM,     FL_ERR_CLOSED,
			 FL_ERR_LIMIT,    FL_ERR_INVAL,    FL_ERR_AGAIN,     FL_ERR_MISUSE,
			 FL_ERR_PANIC,    FL_ERR_SYSTEM,   app_err_not_found};
	const char *text[] = {"context canceled",
			      "context deadline exceeded",
			      "out of memory",
			      "channel closed",
			      "limit reached",
			      "invalid argument",
			      "operation would block",
			      "API misuse",
			      "task panicked",
			      "system error",
			      "not found"};
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
	fl_err *inner = fl_err_join2(fl_err_new("a"), fl_err_wrap(FL_ERR_CANCELED, "fetch"));
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

FL_TEST(format_truncation)
{
	long base = fl_err_live();
	fl_err *e = fl_err_join2(stage_err("parse", 42, fl_err_wrap(FL_ERR_INVAL, "bad row"), "x"),
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
	fl_err *e = fl_err_join2(stage_err("parse", 42, FL_ERR_INVAL, "bad row"), FL_ERR_DEADLINE);
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

FL_TEST_MAIN(FL_CASE(sentinel_identity), FL_CASE(new_formats_message), FL_CASE(wrap_message_and_is),
	     FL_CASE(wrap_null_passes_through), FL_CASE(is_through_nested_joins),
	     FL_CASE(as_finds_payload), FL_CASE(is_custom_hook), FL_CASE(typed_text_and_destroy),
	     FL_CASE(join_drops_nulls), FL_CASE(accessors_on_null), FL_CASE(format_truncation),
	     FL_CASE(print_one_line), FL_CASE(print_tree_exact), FL_CASE(errno_typed),
	     FL_CASE(from_status))

/* test_dlq.c - dead-letter queue: both backends, replay, bad files, faults. */
/* fl-test-labels: concurrency memcheck */
#include <fl/dlq.h>
#include <fl/fault.h>
#include <fl/group.h>

#include <sqlite3.h>

#include "pat_test_util.h"

FL_ERR_SENTINEL(test_poison, "poison item");
FL_ERR_SENTINEL(test_other, "other failure");

static fl_dlq *open_q(const char *path)
{
	fl_err *const sentinels[] = {test_other, test_poison};
	const fl_err_type *const types[] = {&fl_err_errno_type};
	struct fl_dlq_opts o = {path, sentinels, 2, types, 1};
	fl_dlq *q = NULL;
	fl_err *e = fl_dlq_new(&o, &q);
	if (e)
		FL_FAIL("fl_dlq_new: %s", pat_errtext(e));
	return q;
}

/* Puts three entries: a wrapped sentinel with two attempts, an errno
 * error, a plain one with no history and an empty item. */
static void put_three(fl_dlq *q)
{
	fl_dlq_attempt h[2];
	fl_err *e1 = fl_err_new("first try");
	fl_dlq_attempt_set(&h[0], 1, e1);
	fl_dlq_attempt_set(&h[1], 2, test_poison);
	fl_err *reason = fl_err_wrap(fl_err_ref(test_poison), "item %d", 7);
	ASSERT_NULL(fl_dlq_put(q, "seven", 5, reason, h, 2));
	fl_err_drop(reason);
	fl_err_drop(e1);
	reason = fl_err_errno(5, "write sink");
	ASSERT_NULL(fl_dlq_put(q, "eight", 5, reason, NULL, 0));
	fl_err_drop(reason);
	reason = fl_err_new("no kind");
	ASSERT_NULL(fl_dlq_put(q, NULL, 0, reason, NULL, 0));
	fl_err_drop(reason);
}

static void check_three(fl_dlq_entry *v, size_t n)
{
	ASSERT_EQ(n, 3);
	ASSERT(v[0].id < v[1].id && v[1].id < v[2].id);
	ASSERT_EQ(v[0].item_len, 5);
	ASSERT(memcmp(v[0].item, "seven", 5) == 0);
	ASSERT_STR_EQ(v[0].reason, "item 7: poison item");
	ASSERT_STR_EQ(v[0].kind, "sentinel: poison item");
	ASSERT_EQ(v[0].nattempts, 2);
	ASSERT_EQ(v[0].attempts[0].attempt, 1);
	ASSERT_STR_EQ(v[0].attempts[0].error, "first try");
	ASSERT_EQ(v[0].attempts[1].attempt, 2);
	ASSERT_STR_EQ(v[0].attempts[1].error, "poison item");
	ASSERT(v[0].attempts[0].at_ns <= v[0].attempts[1].at_ns);
	ASSERT(v[0].attempts[1].at_ns <= v[0].at_ns);
	ASSERT_STR_EQ(v[1].kind, "type: errno");
	ASSERT(memcmp(v[1].item, "eight", 5) == 0);
	ASSERT_CONTAINS(v[1].reason, "write sink");
	ASSERT_EQ(v[1].nattempts, 0);
	ASSERT_STR_EQ(v[2].kind, "");
	ASSERT_EQ(v[2].item_len, 0);
	ASSERT_STR_EQ(v[2].reason, "no kind");
}

static void put_drain(const char *path)
{
	fl_dlq *q = open_q(path);
	put_three(q);
	size_t n = 0;
	ASSERT_NULL(fl_dlq_count(q, &n));
	ASSERT_EQ(n, 3);
	fl_dlq_entry *v;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	check_three(v, n);
	fl_dlq_entries_free(v, n);
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	ASSERT_EQ(n, 0);
	ASSERT_NULL(v);
	fl_dlq_free(q);
}

FL_TEST(put_drain_memory)
{
	put_drain(NULL);
	ASSERT_EQ(fl_err_live(), 0);
}

FL_TEST(put_drain_sqlite)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	put_drain(pat_tmp_path(&t, "dlq.db", p, sizeof p));
	pat_tmp_destroy(&t);
}

FL_TEST(sqlite_survives_reopen)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	pat_tmp_path(&t, "dlq.db", p, sizeof p);
	fl_dlq *q = open_q(p);
	put_three(q);
	fl_dlq_free(q);
	q = open_q(p);
	size_t n;
	fl_dlq_entry *v;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	check_three(v, n);
	fl_dlq_entries_free(v, n);
	fl_dlq_free(q);
	q = open_q(p); /* the drain was durable too */
	ASSERT_NULL(fl_dlq_count(q, &n));
	ASSERT_EQ(n, 0);
	fl_dlq_free(q);
	pat_tmp_destroy(&t);
}

/* Replay succeeds on items whose first byte is even. */
static fl_err *replay_even(fl_ctx *ctx, const fl_dlq_entry *e, void *arg)
{
	int *calls = arg;
	(*calls)++;
	const unsigned char *b = e->item;
	return b[0] % 2 == 0 ? NULL : fl_err_new("still odd %d", b[0]);
}

static void replay_keeps_failures(const char *path)
{
	fl_dlq *q = open_q(path);
	for (unsigned char i = 0; i < 6; i++)
		ASSERT_NULL(fl_dlq_put(q, &i, 1, test_other, NULL, 0));
	int calls = 0;
	size_t replayed = 99;
	fl_err *e = fl_dlq_replay(q, fl_ctx_background(), replay_even, &calls, &replayed);
	ASSERT_EQ(calls, 6);
	ASSERT_EQ(replayed, 3);
	ASSERT_NOT_NULL(e);
	ASSERT_CONTAINS(pat_errtext(e), "still odd 1");
	ASSERT_CONTAINS(pat_errtext(e), "still odd 3");
	ASSERT_CONTAINS(pat_errtext(e), "still odd 5");
	fl_err_drop(e);
	fl_dlq_entry *v;
	size_t n;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	ASSERT_EQ(n, 3);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(((unsigned char *)v[i].item)[0], 2 * i + 1);
	fl_dlq_entries_free(v, n);
	fl_dlq_free(q);
}

FL_TEST(replay_keeps_failures_memory) { replay_keeps_failures(NULL); }

FL_TEST(replay_keeps_failures_sqlite)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	replay_keeps_failures(pat_tmp_path(&t, "dlq.db", p, sizeof p));
	pat_tmp_destroy(&t);
}

struct cancel_at {
	fl_ctx *ctx;
	int at, calls;
};

static fl_err *replay_cancel(fl_ctx *ctx, const fl_dlq_entry *e, void *arg)
{
	struct cancel_at *c = arg;
	if (++c->calls == c->at)
		fl_ctx_cancel(c->ctx, NULL);
	return NULL;
}

/* Cancelling replay's context stops it before the next entry; the rest
 * stay queued. */
FL_TEST(replay_stops_on_cancel)
{
	fl_dlq *q = open_q(NULL);
	for (unsigned char i = 0; i < 5; i++)
		ASSERT_NULL(fl_dlq_put(q, &i, 1, test_other, NULL, 0));
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct cancel_at c = {ctx, 2, 0};
	size_t replayed;
	fl_err *e = fl_dlq_replay(q, ctx, replay_cancel, &c, &replayed);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	ASSERT_CONTAINS(pat_errtext(e), "3 entries left");
	fl_err_drop(e);
	ASSERT_EQ(c.calls, 2);
	ASSERT_EQ(replayed, 2);
	size_t n;
	ASSERT_NULL(fl_dlq_count(q, &n));
	ASSERT_EQ(n, 3);
	fl_ctx_free(ctx);
	fl_dlq_free(q);
}

struct producer {
	fl_dlq *q;
	int id;
};

enum { PRODUCERS = 4, PER_PRODUCER_MAX = 50 };
static int g_per_producer; /* fewer under valgrind */

static fl_err *produce(fl_ctx *ctx, void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < g_per_producer; i++) {
		int item[2] = {p->id, i};
		fl_err *e = fl_dlq_put(p->q, item, sizeof item, test_poison, NULL, 0);
		if (e)
			return e;
	}
	return NULL;
}

/* Concurrent puts: nothing lost, and each producer's entries keep their
 * order (ids increase in put order). */
static void concurrent_puts(const char *path)
{
	g_per_producer = fl_test_time_scale() > 1 ? 10 : PER_PRODUCER_MAX;
	fl_dlq *q = open_q(path);
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	struct producer ps[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		ps[i] = (struct producer){q, i};
		ASSERT_NULL(fl_group_go(g, produce, &ps[i]));
	}
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_dlq_entry *v;
	size_t n;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	ASSERT_EQ(n, PRODUCERS * g_per_producer);
	int next[PRODUCERS] = {0};
	for (size_t i = 0; i < n; i++) {
		int item[2];
		ASSERT_EQ(v[i].item_len, sizeof item);
		memcpy(item, v[i].item, sizeof item);
		ASSERT(item[0] >= 0 && item[0] < PRODUCERS);
		ASSERT_EQ(item[1], next[item[0]]);
		next[item[0]]++;
	}
	fl_dlq_entries_free(v, n);
	fl_dlq_free(q);
}

FL_TEST(concurrent_puts_memory) { concurrent_puts(NULL); }

FL_TEST(concurrent_puts_sqlite)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	concurrent_puts(pat_tmp_path(&t, "dlq.db", p, sizeof p));
	pat_tmp_destroy(&t);
}

/* A stage whose items 2..4 are poisoned by the fault injector: they go to
 * the DLQ with their reason and history, and the stage carries on. */
FL_TEST(pipeline_continues_past_poison)
{
	ASSERT_NULL(fl_fault_register_error("EPOISON", test_poison));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("proc=items(2..4) error(EPOISON)", 1, &plan));
	fl_dlq *q = open_q(NULL);
	int done = 0;
	for (int64_t i = 0; i < 10; i++) {
		enum fl_fault_verdict v;
		fl_err *e = FL_FAULT_ITEM(fl_ctx_background(), "proc", i, &v);
		if (!e) {
			done++;
			continue;
		}
		fl_dlq_attempt h;
		fl_dlq_attempt_set(&h, 1, e);
		ASSERT_NULL(fl_dlq_put(q, &i, sizeof i, e, &h, 1));
		fl_err_drop(e);
	}
	fl_fault_plan_free(plan);
	ASSERT_EQ(done, 7);
	fl_dlq_entry *v;
	size_t n;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	ASSERT_EQ(n, 3);
	for (size_t i = 0; i < n; i++) {
		int64_t item;
		memcpy(&item, v[i].item, sizeof item);
		ASSERT_EQ(item, (int64_t)i + 2);
		ASSERT_STR_EQ(v[i].kind, "sentinel: poison item");
		ASSERT_CONTAINS(v[i].reason, "poison item");
		ASSERT_EQ(v[i].nattempts, 1);
	}
	fl_dlq_entries_free(v, n);
	fl_dlq_free(q);
}

static void expect_open_error(const char *path, const char *what)
{
	struct fl_dlq_opts o = {.path = path};
	fl_dlq *q = NULL;
	fl_err *e = fl_dlq_new(&o, &q);
	ASSERT_NULL(q);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT_CONTAINS(pat_errtext(e), path);
	ASSERT_CONTAINS(pat_errtext(e), what);
	fl_err_drop(e);
}

static void sql(const char *path, const char *text)
{
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Bad input: each gives an error naming the file and what is wrong. */
FL_TEST(bad_files_named)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	pat_tmp_path(&t, "text.db", p, sizeof p);
	FILE *f = fopen(p, "w");
	ASSERT_NOT_NULL(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	expect_open_error(p, "not a database");

	pat_tmp_path(&t, "foreign.db", p, sizeof p);
	sql(p, "CREATE TABLE orders(id INTEGER)");
	expect_open_error(p, "foreign SQLite database");

	pat_tmp_path(&t, "otherapp.db", p, sizeof p);
	sql(p, "PRAGMA application_id = 1234");
	expect_open_error(p, "application_id 0x4d2");

	/* A store whose first page (the schema) is overwritten with garbage
	 * after the header: SQLite calls it malformed. */
	pat_tmp_path(&t, "corrupt.db", p, sizeof p);
	fl_dlq *cq = open_q(p);
	fl_dlq_free(cq);
	f = fopen(p, "r+b");
	ASSERT_NOT_NULL(f);
	ASSERT_EQ(fseek(f, 100, SEEK_SET), 0);
	for (int i = 0; i < 3000; i++)
		fputc(0xA5, f);
	fclose(f);
	expect_open_error(p, "malformed");

	pat_tmp_path(&t, "future.db", p, sizeof p);
	fl_dlq *q = open_q(p);
	fl_dlq_free(q);
	sql(p, "PRAGMA user_version = 9");
	expect_open_error(p, "schema version 9, this build reads version 1");
	pat_tmp_destroy(&t);
}

FL_TEST_MAIN(FL_CASE(put_drain_memory), FL_CASE(put_drain_sqlite), FL_CASE(sqlite_survives_reopen),
	     FL_CASE(replay_keeps_failures_memory), FL_CASE(replay_keeps_failures_sqlite),
	     FL_CASE(replay_stops_on_cancel), FL_CASE(concurrent_puts_memory),
	     FL_CASE(concurrent_puts_sqlite), FL_CASE(pipeline_continues_past_poison),
	     FL_CASE(bad_files_named))

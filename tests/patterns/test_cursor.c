/*
 * test_cursor.c - cursor stream: save every N, resume, cancellation at the
 * consumer's blocking points, bad files, and kill/restart for real (the
 * test re-executes itself as a consumer that SIGKILLs itself after event
 * k): no gaps, duplicates bounded by N.
 */
/* fl-test-labels: memcheck */
#include <fl/chan.h>
#include <fl/cursor.h>
#include <fl/fault.h>
#include <fl/group.h>

#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "pat_test_util.h"

extern char **environ;

/* This binary (argv[0]): under valgrind /proc/self/exe is valgrind. */
static const char *g_self;

FL_ERR_SENTINEL(test_bad_event, "bad event");

struct stall {
	fl_chan *signal; /* source stalled, consumer did offset 4 */
	fl_ctx *cancel;
};

struct event {
	int64_t offset; /* first, as fl_cursor_run requires */
	int64_t value;
};

enum { EVENTS = 120 };

struct rig {
	int64_t end;          /* the source produces [from, end) */
	int64_t seen[EVENTS]; /* times each offset was processed */
	int64_t first_from;   /* the offset the source was started at */
	int64_t block_at;     /* process blocks on ctx at this offset (-1: no) */
	fl_ctx *cancel;       /* ...after cancelling this context */
	sqlite3 *log;         /* child: durable processing log */
	int64_t kill_after;   /* child: SIGKILL after processing this (-1: no) */
	struct stall *stall;  /* optional: signal after processing offset 4 */
};

static fl_err *source(fl_ctx *ctx, int64_t from, fl_chan *out, void *arg)
{
	struct rig *r = arg;
	r->first_from = from;
	for (int64_t off = from; off < r->end; off++) {
		fl_err *e = FL_FAULT(ctx, "cursor.source");
		if (e)
			return e;
		struct event ev = {off, off * 10};
		if (fl_chan_send(out, &ev, ctx, FL_FOREVER) != FL_OK)
			return fl_ctx_cause(ctx);
	}
	return NULL;
}

static fl_err *process(fl_ctx *ctx, const void *p, void *arg)
{
	struct rig *r = arg;
	const struct event *ev = p;
	ASSERT_EQ(ev->value, ev->offset * 10);
	enum fl_fault_verdict v;
	fl_err *e = FL_FAULT_ITEM(ctx, "cursor.process", ev->offset, &v);
	if (e)
		return e;
	if (r->stall && ev->offset == 4) {
		int one = 1;
		ASSERT_EQ(fl_chan_send(r->stall->signal, &one, NULL, FL_FOREVER), FL_OK);
	}
	if (ev->offset == r->block_at) {
		fl_ctx_cancel(r->cancel, NULL);
		ASSERT_EQ(fl_ctx_wait(ctx, FL_FOREVER), FL_CANCELED);
		return fl_ctx_cause(ctx);
	}
	if (r->log) {
		sqlite3_stmt *st;
		ASSERT_EQ(sqlite3_prepare_v2(r->log, "INSERT INTO log(off) VALUES(?)", -1, &st,
					     NULL),
			  SQLITE_OK);
		sqlite3_bind_int64(st, 1, ev->offset);
		ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		if (ev->offset == r->kill_after)
			raise(SIGKILL);
		return NULL;
	}
	ASSERT(ev->offset >= 0 && ev->offset < EVENTS);
	r->seen[ev->offset]++;
	return NULL;
}

static struct rig rig_new(int64_t end)
{
	struct rig r;
	memset(&r, 0, sizeof r);
	r.end = end;
	r.block_at = -1;
	r.kill_after = -1;
	r.first_from = -1;
	return r;
}

FL_TEST(saves_every_n_and_resumes)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	pat_tmp_path(&t, "cursor.db", p, sizeof p);
	struct fl_cursor_opts o = {p, "orders", 10};
	fl_cursor *c;
	int64_t next = -1;
	ASSERT_NULL(fl_cursor_open(&o, &c, &next));
	ASSERT_EQ(next, 0);
	for (int64_t i = 0; i < 25; i++)
		ASSERT_NULL(fl_cursor_done(c, i));
	ASSERT_EQ(fl_cursor_saved(c), 20); /* every 10 */
	fl_cursor_close(c);                /* no save: a crash, in effect */
	ASSERT_NULL(fl_cursor_open(&o, &c, &next));
	ASSERT_EQ(next, 20);
	ASSERT_NULL(fl_cursor_done(c, 20));
	ASSERT_NULL(fl_cursor_save(c));
	ASSERT_EQ(fl_cursor_saved(c), 21);
	fl_cursor_close(c);
	/* Another name in the same file is independent. */
	struct fl_cursor_opts o2 = {p, "invoices", 1};
	ASSERT_NULL(fl_cursor_open(&o2, &c, &next));
	ASSERT_EQ(next, 0);
	fl_cursor_close(c);
	pat_tmp_destroy(&t);
}

FL_TEST(run_to_end_then_resume_at_end)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct fl_cursor_opts o = {pat_tmp_path(&t, "cursor.db", p, sizeof p), "s", 7};
	struct rig r = rig_new(100);
	size_t n = 0;
	ASSERT_NULL(fl_cursor_run(fl_ctx_background(), &o, sizeof(struct event), source, process,
				  &r, &n));
	ASSERT_EQ(n, 100);
	ASSERT_EQ(r.first_from, 0);
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(r.seen[i], 1);
	r.end = EVENTS; /* the source grew */
	ASSERT_NULL(fl_cursor_run(fl_ctx_background(), &o, sizeof(struct event), source, process,
				  &r, &n));
	ASSERT_EQ(r.first_from, 100);
	ASSERT_EQ(n, EVENTS - 100);
	for (int i = 0; i < EVENTS; i++)
		ASSERT_EQ(r.seen[i], 1);
	pat_tmp_destroy(&t);
}

/* A processing error (fault injector, event 37) stops the run; what was
 * done is saved, and the restart resumes at the failed event. */
FL_TEST(process_error_stops_and_resumes_there)
{
	ASSERT_NULL(fl_fault_register_error("EBADEV", test_bad_event));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("cursor.process=items(37..37) error(EBADEV)", 1, &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct fl_cursor_opts o = {pat_tmp_path(&t, "cursor.db", p, sizeof p), "s", 10};
	struct rig r = rig_new(60);
	size_t n;
	fl_err *e = fl_cursor_run(fl_ctx_background(), &o, sizeof(struct event), source, process,
				  &r, &n);
	ASSERT(fl_err_is(e, test_bad_event));
	ASSERT_CONTAINS(pat_errtext(e), "event 37");
	fl_err_drop(e);
	ASSERT_EQ(n, 37);
	fl_fault_plan_free(plan);
	ASSERT_NULL(fl_cursor_run(fl_ctx_background(), &o, sizeof(struct event), source, process,
				  &r, &n));
	ASSERT_EQ(r.first_from, 37);
	for (int i = 0; i < 60; i++)
		ASSERT_EQ(r.seen[i], 1);
	pat_tmp_destroy(&t);
}

/* Blocking points: the consumer inside process (blocked on its ctx) and
 * the source blocked on the channel behind it. Cancelling the caller ends
 * both; progress is saved. */
FL_TEST(cancel_while_processing)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct fl_cursor_opts o = {pat_tmp_path(&t, "cursor.db", p, sizeof p), "s", 10};
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct rig r = rig_new(100);
	r.block_at = 44;
	r.cancel = ctx;
	size_t n;
	fl_err *e = fl_cursor_run(ctx, &o, sizeof(struct event), source, process, &r, &n);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	ASSERT_EQ(n, 44);
	fl_ctx_free(ctx);
	fl_cursor *c;
	int64_t next;
	ASSERT_NULL(fl_cursor_open(&o, &c, &next));
	ASSERT_EQ(next, 44);
	fl_cursor_close(c);
	/* Cancelled before it starts: the source and consumer stop at once. */
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, NULL);
	e = fl_cursor_run(ctx, &o, sizeof(struct event), source, process, &r, &n);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	ASSERT_EQ(n, 0);
	fl_ctx_free(ctx);
	pat_tmp_destroy(&t);
}

static fl_err *stalling_source(fl_ctx *ctx, int64_t from, fl_chan *out, void *arg)
{
	struct rig *r = arg;
	struct stall *st = r->stall;
	for (int64_t off = from; off < 5; off++) {
		struct event ev = {off, off * 10};
		if (fl_chan_send(out, &ev, ctx, FL_FOREVER) != FL_OK)
			return fl_ctx_cause(ctx);
	}
	int one = 1;
	ASSERT_EQ(fl_chan_send(st->signal, &one, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(fl_ctx_wait(ctx, FL_FOREVER), FL_CANCELED); /* a stalled feed */
	return fl_ctx_cause(ctx);
}

static fl_err *canceller(fl_ctx *ctx, void *arg)
{
	struct stall *st = arg;
	int v;
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(fl_chan_recv(st->signal, &v, NULL, FL_FOREVER), FL_OK);
	fl_ctx_cancel(st->cancel, NULL);
	return NULL;
}

/* Blocking point: the consumer waiting for an event from a stalled source.
 * A task cancels the caller once the source has stalled and the consumer
 * has done all five events; the wait ends and the five are saved. */
FL_TEST(cancel_while_waiting_for_events)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct fl_cursor_opts o = {pat_tmp_path(&t, "cursor.db", p, sizeof p), "s", 100};
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct stall st = {NULL, ctx};
	ASSERT_NULL(fl_chan_new(sizeof(int), 2, NULL, &st.signal));
	struct rig r = rig_new(100);
	r.stall = &st;
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	ASSERT_NULL(fl_group_go(g, canceller, &st));
	size_t n;
	fl_err *e = fl_cursor_run(ctx, &o, sizeof(struct event), stalling_source, process, &r, &n);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	ASSERT_EQ(n, 5);
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(st.signal);
	fl_ctx_free(ctx);
	fl_cursor *c;
	int64_t next;
	ASSERT_NULL(fl_cursor_open(&o, &c, &next));
	ASSERT_EQ(next, 5); /* saved on the way out, though every = 100 */
	fl_cursor_close(c);
	pat_tmp_destroy(&t);
}

FL_TEST(bad_files_named)
{
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	pat_tmp_path(&t, "cursor.db", p, sizeof p);
	struct fl_cursor_opts o = {p, "s", 1};
	fl_cursor *c;
	int64_t next;
	ASSERT_NULL(fl_cursor_open(&o, &c, &next));
	fl_cursor_close(c);
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "INSERT INTO cursor VALUES('s', 'twelve')", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	fl_err *e = fl_cursor_open(&o, &c, &next);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT_CONTAINS(pat_errtext(e), p);
	ASSERT_CONTAINS(pat_errtext(e), "cursor s: next_offset is not an offset");
	fl_err_drop(e);
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	e = fl_cursor_open(&o, &c, &next);
	ASSERT_CONTAINS(pat_errtext(e), p);
	ASSERT_CONTAINS(pat_errtext(e), "schema version 2");
	fl_err_drop(e);
	pat_tmp_destroy(&t);
}

/* ---- kill/restart ----------------------------------------------------------
 * Child: `test_cursor --cursor-child DIR KILL_AFTER EVERY` consumes offsets
 * 0..199, logging each processing durably, and SIGKILLs itself right after
 * processing KILL_AFTER (-1: never). */

enum { CHILD_EVENTS = 200 };

static int child_main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	char p[600];
	struct rig r = rig_new(CHILD_EVENTS);
	snprintf(p, sizeof p, "%s/log.db", argv[2]);
	ASSERT_EQ(sqlite3_open(p, &r.log), SQLITE_OK);
	ASSERT_EQ(
		sqlite3_exec(r.log,
			     "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
			     "CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, off INTEGER)",
			     NULL, NULL, NULL),
		SQLITE_OK);
	r.kill_after = atol(argv[3]);
	snprintf(p, sizeof p, "%s/cursor.db", argv[2]);
	struct fl_cursor_opts o = {p, "child", atoi(argv[4])};
	fl_err *e = fl_cursor_run(fl_ctx_background(), &o, sizeof(struct event), source, process,
				  &r, NULL);
	sqlite3_close(r.log);
	if (e) {
		fl_err_print(stderr, e);
		fl_err_drop(e);
		return 1;
	}
	return 0;
}

static int run_child(const char *dir, long kill_after, int every)
{
	char k[32], ev[32];
	snprintf(k, sizeof k, "%ld", kill_after);
	snprintf(ev, sizeof ev, "%d", every);
	char *args[] = {(char *)g_self, (char *)"--cursor-child", (char *)dir, k, ev, NULL};
	pid_t pid;
	ASSERT_EQ(posix_spawn(&pid, g_self, NULL, NULL, args, environ), 0);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return WTERMSIG(st);
	ASSERT(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	return 0;
}

/* Kills at several points (around and between save points, the first and
 * the last event, and twice in a row), restarts to completion, and checks
 * the log: every offset processed (no gaps), and each kill re-delivers at
 * most `every` events, all of them immediately before the kill point. */
FL_TEST(kill_restart_no_gaps_bounded_duplicates)
{
	const int every = 10;
	const long points[][2] = {{0, -1},  {8, -1},   {9, -1},    {10, -1}, {11, -1},
				  {57, 63}, {123, -1}, {150, 151}, {199, -1}};
	int total_dups = 0;
	for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
		pat_tmp t;
		pat_tmp_init(&t);
		int kills = 0;
		for (int j = 0; j < 2; j++) {
			if (points[i][j] < 0)
				continue;
			ASSERT_EQ(run_child(t.dir, points[i][j], every), SIGKILL);
			kills++;
		}
		ASSERT_EQ(run_child(t.dir, -1, every), 0);
		char p[600];
		sqlite3 *db;
		ASSERT_EQ(sqlite3_open(pat_tmp_path(&t, "log.db", p, sizeof p), &db), SQLITE_OK);
		sqlite3_stmt *st;
		ASSERT_EQ(sqlite3_prepare_v2(db,
					     "SELECT off, count(*) FROM log GROUP BY off"
					     " ORDER BY off",
					     -1, &st, NULL),
			  SQLITE_OK);
		int64_t expect = 0;
		int dups = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t off = sqlite3_column_int64(st, 0);
			int cnt = sqlite3_column_int(st, 1);
			ASSERT_EQ(off, expect); /* no gap */
			expect++;
			ASSERT_LE(cnt, 1 + kills);
			if (cnt > 1) {
				/* re-delivered: within `every` before a kill point */
				bool near = false;
				for (int j = 0; j < 2; j++)
					near |= points[i][j] >= off && points[i][j] - off < every;
				if (!near)
					FL_FAIL("offset %lld delivered %d times, not near a kill",
						(long long)off, cnt);
			}
			dups += cnt - 1;
		}
		sqlite3_finalize(st);
		sqlite3_close(db);
		ASSERT_EQ(expect, CHILD_EVENTS);
		ASSERT_LE(dups, every * kills);
		total_dups += dups;
		pat_tmp_destroy(&t);
	}
	fprintf(stderr, "cursor kill/restart: %d re-delivered events over 11 kills (every=%d)\n",
		total_dups, every);
	ASSERT_GT(total_dups, 0);
}

static const fl_test_case cases[] = {FL_CASE(saves_every_n_and_resumes),
				     FL_CASE(run_to_end_then_resume_at_end),
				     FL_CASE(process_error_stops_and_resumes_there),
				     FL_CASE(cancel_while_processing),
				     FL_CASE(cancel_while_waiting_for_events),
				     FL_CASE(bad_files_named),
				     FL_CASE(kill_restart_no_gaps_bounded_duplicates),
				     {0, 0}};

int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc > 1 && strcmp(argv[1], "--cursor-child") == 0)
		return child_main(argc, argv);
	return fl_test_main(argc, argv, cases);
}

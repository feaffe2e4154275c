/* fl-test-skip-sim: fifo_example */
/* (the control FIFO's thread is a second OS thread; sim refuses to start it) */
/*
 * test_fault_docs.c - every example in docs/faults.md runs as written.
 *
 * The test reads the page: plans and error lines are taken from it, and
 * each C block is compared, byte for byte, with this file's copy between
 * "doc:NAME begin/end" markers, which is what gets compiled and run. So an
 * edit to an example that breaks it fails here, and so does an edit to
 * either copy alone. One case per example; each asserts what the page says
 * the example does, with a negative control where the example's claim
 * could be vacuous.
 */
#include "fl_test.h"

#include <fl/chan.h>
#include <fl/fault.h>
#include <fl/group.h>

#include <stdatomic.h>

#define DOC FL_SOURCE_DIR "/docs/faults.md"
#define SELF FL_SOURCE_DIR "/tests/faults/test_fault_docs.c"

/* clang-format off */ /* the page's code, byte for byte */
/* doc:register begin */
FL_ERR_SENTINEL(app_transient, "transient failure");
FL_ERR_SENTINEL(app_failed, "operation failed");

/* Before any plan naming them is armed: a constructor runs before main,
 * and so before the first fault point arms FAULTLINE_FAULTS. */
__attribute__((constructor)) static void register_fault_errors(void)
{
	fl_err *e = fl_fault_register_error("ETRANSIENT", app_transient);
	if (!e)
		e = fl_fault_register_error("EFAIL", app_failed);
	if (e) {
		fl_err_print(stderr, e);
		exit(2);
	}
}
/* doc:register end */
/* clang-format on */

/* ---- reading the page ------------------------------------------------------------ */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		FL_FAIL("cannot open %s", path);
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			ASSERT_NOT_NULL(buf);
		}
		size_t k = fread(buf + n, 1, 4096, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The body of the first fenced block opened by the line fence ("```" or
 * "```c") after anchor, closing newline included. */
static char *block_after(const char *doc, const char *anchor, const char *fence)
{
	const char *a = strstr(doc, anchor);
	if (!a)
		FL_FAIL("docs/faults.md: no '%s'", anchor);
	char open[16];
	snprintf(open, sizeof(open), "\n%s\n", fence);
	const char *b = strstr(a, open);
	ASSERT_NOT_NULL(b);
	b += strlen(open);
	const char *e = strstr(b, "\n```");
	ASSERT_NOT_NULL(e);
	return strndup(b, (size_t)(e - b) + 1);
}

/* This file's copy of example name; strip: drop one leading tab a line. */
static char *own_block(const char *name, bool strip)
{
	char *src = slurp(SELF), begin[64], end[64];
	snprintf(begin, sizeof(begin), "/* doc:%s begin */\n", name);
	snprintf(end, sizeof(end), "/* doc:%s end */", name);
	char *b = strstr(src, begin);
	ASSERT_NOT_NULL(b);
	b += strlen(begin);
	char *e = strstr(b, end);
	ASSERT_NOT_NULL(e);
	while (e > b && e[-1] != '\n')
		e--; /* to the start of the marker's line */
	char *out = malloc((size_t)(e - b) + 1), *w = out;
	for (char *p = b; p < e; p++) {
		if (strip && *p == '\t' && (p == b || p[-1] == '\n'))
			continue;
		*w++ = *p;
	}
	*w = '\0';
	free(src);
	return out;
}

/* A plan block's text without its newline. */
static char *plan_after(const char *anchor)
{
	char *doc = slurp(DOC), *plan = block_after(doc, anchor, "```");
	plan[strcspn(plan, "\n")] = '\0';
	free(doc);
	return plan;
}

static void same_as_doc(const char *anchor, const char *name, bool strip)
{
	char *doc = slurp(DOC), *want = block_after(doc, anchor, "```c");
	char *have = own_block(name, strip);
	ASSERT_STR_EQ(have, want);
	free(have);
	free(want);
	free(doc);
}

/* ---- your errors by name ----------------------------------------------------------- */

FL_TEST(register_example)
{
	same_as_doc("**Your errors by name.**", "register", false);
	/* the constructor ran before main: both names parse, and resolve */
	ASSERT_NULL(fl_fault_check("fetch=error(ETRANSIENT); x=error(EFAIL)"));
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm("docs/reg=error(EFAIL)", 1, &p));
	fl_err *e = FL_FAULT(NULL, "docs/reg");
	ASSERT(fl_err_is(e, app_failed));
	fl_err_drop(e);
	fl_fault_plan_free(p);
	/* negative control: a name nobody registered does not parse */
	e = fl_fault_check("fetch=error(EOTHER)");
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
}

/* The page's line for an unregistered name is the parser's, exactly. */
FL_TEST(unknown_name_example)
{
	char *doc = slurp(DOC), *want = block_after(doc, "the call to make:", "```");
	/* the page's plan is 'fetch=error(ETRANSIENT)': unregistered only in a
	 * program that skipped the call, so check the text's shape with the
	 * name swapped for one this binary never registers */
	char *swapped = malloc(strlen(want) * 2 + 1), *w = swapped;
	for (const char *p = want; *p;) {
		if (strncmp(p, "ETRANSIENT", 10) == 0) {
			w += sprintf(w, "ETRANSIENT2");
			p += 10;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	fl_err *e = fl_fault_check("fetch=error(ETRANSIENT2)");
	char have[1024];
	fl_err_format(e, have, sizeof(have) - 1);
	fl_err_drop(e);
	strcat(have, "\n");
	const char *suffix = ": invalid argument\n";
	char *cut = strstr(have, suffix);
	ASSERT_NOT_NULL(cut);
	strcpy(cut, "\n");
	ASSERT_STR_EQ(have, swapped);
	free(swapped);
	free(want);
	free(doc);
}

/* The plan-language section's parse error, up to its "...". */
FL_TEST(parse_error_example)
{
	char *doc = slurp(DOC), *want = block_after(doc, "Every parse error is", "```");
	char *dots = strstr(want, "...");
	ASSERT_NOT_NULL(dots);
	*dots = '\0';
	char *q1 = strchr(want, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
	ASSERT_NOT_NULL(q2);
	char *term = strndup(q1 + 1, (size_t)(q2 - q1 - 1));
	fl_err *e = fl_fault_check(term);
	char have[1024];
	fl_err_format(e, have, sizeof(have));
	fl_err_drop(e);
	ASSERT(strncmp(have, want, strlen(want)) == 0);
	free(term);
	free(want);
	free(doc);
}

/* ---- task 5: per-item retry --------------------------------------------------------- */

static fl_err *fetch_item(fl_ctx *ctx, int64_t item)
{
	/* clang-format off */ /* the page's code, byte for byte */
	/* doc:task5 begin */
	for (int attempt = 0;; attempt++) {
		enum fl_fault_verdict v;
		fl_err *e = FL_FAULT_ITEM(ctx, "fetch", item, &v);
		if (!e)
			break;                                   /* third attempt succeeds */
		if (attempt == 2 || !fl_err_is(e, app_transient))
			return fl_err_wrap(e, "after %d attempts", attempt + 1);
		fl_err_drop(e);
		if (fl_sleep_until(ctx, fl_deadline_in(FL_MS(100) << attempt)) != FL_OK)
			return fl_err_ref(fl_ctx_err(ctx));
	}
	/* doc:task5 end */
	/* clang-format on */
	return NULL;
}

/* Runs items 0..2 through the example under plan; returns the first error. */
static fl_err *run_task5(const char *plan, fl_fault_point_stats *st, int64_t *took)
{
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm_scoped(plan, 1, ctx, &p));
	int64_t t0 = fl_now();
	fl_err *err = NULL;
	for (int64_t item = 0; item < 3 && !err; item++)
		err = fetch_item(ctx, item);
	*took = fl_now() - t0;
	ASSERT(fl_fault_stats_get(p, "fetch", st));
	fl_fault_plan_free(p);
	fl_ctx_free(ctx);
	return err;
}

FL_TEST(task5_example)
{
	same_as_doc("*Task 5", "task5", true);
	char *plan = plan_after("*Task 5");
	ASSERT_STR_EQ(plan, "fetch=peritem @1..2 error(ETRANSIENT)");
	fl_fault_point_stats st;
	int64_t took;
	ASSERT_NULL(run_task5(plan, &st, &took)); /* every item's third attempt succeeds */
	ASSERT_U64_EQ(st.evals, 9);
	ASSERT_U64_EQ(st.fires[FL_FAULT_ACT_ERROR], 6);
	/* backoff 100 ms then 200 ms per item: exact where time is virtual */
	if (fl_test_virtual_time())
		ASSERT_EQ(took, 3 * FL_MS(300));
	else
		ASSERT_GE(took, 3 * FL_MS(300));
	/* negative control: a third failure per item gives up after 3 attempts */
	fl_err *e = run_task5("fetch=peritem @1..3 error(ETRANSIENT)", &st, &took);
	ASSERT(fl_err_is(e, app_transient));
	char text[256];
	fl_err_format(e, text, sizeof(text));
	ASSERT_STR_EQ(text, "after 3 attempts: injected error at 'fetch' (eval 3, item 0): "
			    "transient failure");
	fl_err_drop(e);
	free(plan);
}

/* ---- bonus 3: 1% failures, 1000 iterations -------------------------------------------- */

#define B3_TASKS 4
#define B3_CALLS 5

struct b3 {
	atomic_int finished;
};

static fl_err *b3_task(fl_ctx *ctx, void *arg)
{
	struct b3 *b = arg;
	fl_err *err = NULL;
	for (int i = 0; i < B3_CALLS && !err; i++)
		err = FL_FAULT(ctx, "fetch");
	atomic_fetch_add(&b->finished, 1);
	return err;
}

/* One iteration of the example; returns whether the pipeline failed. */
static bool b3_iteration(const char *plan, uint64_t i)
{
	fl_ctx *run_ctx, *gctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &run_ctx));
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm_scoped(plan, i, run_ctx, &p));
	struct b3 b = {0};
	fl_group *g;
	ASSERT_NULL(fl_group_new(run_ctx, NULL, &g, &gctx));
	int started = 0;
	for (; started < B3_TASKS; started++) {
		fl_err *e = fl_group_go(g, b3_task, &b);
		if (e) { /* refused: a task already failed and cancelled the group */
			ASSERT(fl_err_is(e, FL_ERR_CANCELED));
			fl_err_drop(e);
			break;
		}
	}
	fl_err *err = fl_group_wait(g);
	fl_group_free(g);
	fl_fault_point_stats st;
	bool fired = fl_fault_stats_get(p, "fetch", &st) && st.fires_total > 0;
	ASSERT_EQ(err != NULL, fired);                /* an error exactly when a fault fired */
	ASSERT(!err || fl_err_is(err, app_failed));   /* and it is the injected one */
	ASSERT_EQ(atomic_load(&b.finished), started); /* the group waited for every task */
	fl_err_drop(err);
	fl_fault_plan_free(p);
	fl_ctx_free(run_ctx);
	return fired;
}

FL_TEST(bonus3_example)
{
	char *plan = plan_after("*Bonus 3");
	ASSERT_STR_EQ(plan, "fetch=1% error(EFAIL)");
	int failed = 0;
	for (uint64_t i = 0; i < 1000; i++)
		failed += b3_iteration(plan, i);
	/* 20 calls at 1% each: about 18% of runs fail; neither none nor all */
	ASSERT_GT(failed, 0);
	ASSERT_LT(failed, 1000);
	/* the same seed replays the same run */
	bool again = b3_iteration(plan, 7);
	ASSERT_EQ(again, b3_iteration(plan, 7));
	free(plan);
}

/* ---- a slow stage ---------------------------------------------------------------------- */

struct draws {
	int n;
	int64_t ns[32]; /* the drawn sleeps, from the fire log */
	int64_t sum;
};

static void collect_draw(const fl_fault_event *ev, void *arg)
{
	struct draws *d = arg;
	if (strcmp(ev->point, "enrich") == 0 && d->n < 32) {
		d->ns[d->n++] = ev->delay_ns;
		d->sum += ev->delay_ns;
	}
}

static int cmp_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

FL_TEST(slow_stage_example)
{
	char *plan = plan_after("*A slow stage.*");
	ASSERT_STR_EQ(plan, "enrich=sleep(lognormal(2ms,0.5)); transform=5% slow(3)");
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm(plan, 3, &p));
	int64_t t0 = fl_now();
	for (int i = 0; i < 21; i++)
		ASSERT_NULL(FL_FAULT(NULL, "enrich"));
	int64_t took = fl_now() - t0;
	int slow = 0;
	for (int i = 0; i < 2000; i++) {
		double x = FL_FAULT_SLOW(NULL, "transform");
		ASSERT(x == 1.0 || x == 3.0);
		slow += x == 3.0;
	}
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "enrich", &st));
	ASSERT_U64_EQ(st.fires[FL_FAULT_ACT_SLEEP], 21); /* every evaluation sleeps */
	struct draws d = {0};
	fl_fault_log_foreach(p, collect_draw, &d);
	ASSERT_EQ(d.n, 21);
	if (fl_test_virtual_time())
		ASSERT_EQ(took, d.sum); /* the drawn delays, exactly */
	else
		ASSERT_GE(took, d.sum);
	/* median 2 ms: the draws are seeded, so the median is the same on
	 * every backend; sigma 0.5 keeps it well inside 1..4 ms */
	qsort(d.ns, (size_t)d.n, sizeof(d.ns[0]), cmp_ns);
	ASSERT_GT(d.ns[10], FL_MS(1));
	ASSERT_LT(d.ns[10], FL_MS(4));
	ASSERT_GT(slow, 50); /* 5% of 2000 is 100 */
	ASSERT_LT(slow, 150);
	fl_fault_plan_free(p);
	/* negative control: unarmed, nothing is slow */
	ASSERT(FL_FAULT_SLOW(NULL, "transform") == 1.0);
	free(plan);
}

/* ---- a hung sink ------------------------------------------------------------------------ */

struct sink {
	fl_chan *ready;
	fl_err *first; /* what the first evaluation returned */
};

static fl_err *sink_task(fl_ctx *ctx, void *arg)
{
	struct sink *s = arg;
	ASSERT_EQ(fl_chan_close(s->ready), NULL);
	s->first = FL_FAULT(ctx, "sink"); /* hangs until the cancel */
	return NULL;
}

FL_TEST(hung_sink_example)
{
	char *plan = plan_after("*A hung sink.*");
	ASSERT_STR_EQ(plan, "sink=@1 hang");
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm(plan, 1, &p));
	struct sink s = {0};
	ASSERT_NULL(fl_chan_new(1, 0, NULL, &s.ready));
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	ASSERT_NULL(fl_group_go(g, sink_task, &s));
	ASSERT_EQ(fl_chan_recv(s.ready, NULL, NULL, FL_FOREVER), FL_CLOSED);
	int64_t t0 = fl_now();
	fl_group_cancel(g, NULL);
	ASSERT_NULL(fl_group_wait(g));
	int64_t took = fl_now() - t0;
	if (fl_test_virtual_time())
		ASSERT_EQ(took, 0); /* wait returns at the cancel (bonus 5 asks < 100 ms) */
	fl_group_free(g);
	fl_chan_free(s.ready);
	ASSERT(fl_err_is(s.first, FL_ERR_CANCELED)); /* the injected error wraps the cause */
	const fl_fault_info *fi = fl_err_as(s.first, &fl_fault_info_type);
	ASSERT_NOT_NULL(fi);
	ASSERT_EQ(fi->action, FL_FAULT_ACT_HANG);
	fl_err_drop(s.first);
	/* only the first evaluation hangs */
	ASSERT_NULL(FL_FAULT(NULL, "sink"));
	fl_fault_plan_free(p);
	free(plan);
}

/* ---- the control FIFO ------------------------------------------------------------------- */

FL_TEST(fifo_example)
{
	char *doc = slurp(DOC), *b = strstr(doc, "`echo 'arm");
	ASSERT_NOT_NULL(b);
	char *cmd = strndup(b + 1, strcspn(b + 1, "`"));
	fl_fault_fifo *f;
	ASSERT_NULL(fl_fault_fifo_start(NULL, &f));
	char dir[4096], line[8192];
	snprintf(dir, sizeof(dir), "%s", fl_fault_fifo_ctl_path(f));
	*strrchr(dir, '/') = '\0';
	snprintf(line, sizeof(line), "dir='%s'; %s", dir, cmd);
	FILE *sh = popen(line, "r");
	ASSERT_NOT_NULL(sh);
	char reply[256] = "";
	ASSERT_NOT_NULL(fgets(reply, sizeof(reply), sh));
	ASSERT_EQ(pclose(sh), 0);
	ASSERT(strncmp(reply, "ok plan ", 8) == 0); /* armed: "ok plan <id> seed 0" */
	fl_fault_fifo_stop(f);
	free(cmd);
	free(doc);
}

FL_TEST_MAIN(FL_CASE(register_example), FL_CASE(unknown_name_example), FL_CASE(parse_error_example),
	     FL_CASE(task5_example), FL_CASE(bonus3_example), FL_CASE(slow_stage_example),
	     FL_CASE(hung_sink_example), FL_CASE(fifo_example))

/*
 * test_stream_kill.c - a cursor stream and a DLQ replay killed at random.
 *
 * The same harness as test_saga_kill.c (kill_util.h): a child process
 * writes a progress byte per event it handles, the parent SIGKILLs it
 * after a seeded random count, up to four times per trial, then lets a
 * last child finish, and checks what survived.
 *   - cursor: 200 offsets through fl_cursor_run with a persist interval of
 *     10. Each run's log (appended with one write(2) per offset) must be
 *     consecutive offsets; a run starts at most `every` offsets back from
 *     where the killed one got to and never beyond it (no gap), and the
 *     last run reaches the end.
 *   - DLQ: 60 items seeded into a persisted queue; each child replays it,
 *     handling the good items (logged, then removed) and failing the bad
 *     ones (they stay). After recovery every good item was handled (at most
 *     one repeat per kill: the one in flight), every bad one is still
 *     dead-lettered exactly once with its bytes and attempt history, and
 *     nothing else is.
 * Each has a lossy child as its negative control.
 */
#include <fl/chan.h>
#include <fl/cursor.h>
#include <fl/dlq.h>

#include <fcntl.h>

#include "kill_util.h"
#include "pat_test_util.h"

static const char *g_self;

enum { CUR_EVENTS = 200, CUR_EVERY = 10, DLQ_ITEMS = 60 };

FL_ERR_SENTINEL(kill_item_bad, "item refused");

static int open_log(const char *dir, const char *name)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	ASSERT(fd >= 0);
	return fd;
}

/* Appends "<tag><v>\n" with one write(2). */
static void log_line(int fd, const char *tag, long v)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%s%ld\n", tag, v);
	ASSERT_EQ(write(fd, line, (size_t)n), n);
}

/* ---- cursor child ---------------------------------------------------------- */

struct cur_rig {
	int fd;
	bool lossy; /* negative control: a restart skips offsets */
};

static fl_err *cur_source(fl_ctx *ctx, int64_t from, fl_chan *out, void *arg)
{
	struct cur_rig *r = arg;
	if (r->lossy && from > 0)
		from += CUR_EVERY + 1; /* beyond any re-delivery: a gap */
	for (int64_t off = from; off < CUR_EVENTS; off++)
		if (fl_chan_send(out, &off, ctx, FL_FOREVER) != FL_OK)
			return fl_ctx_cause(ctx);
	return NULL;
}

static fl_err *cur_process(fl_ctx *ctx, const void *p, void *arg)
{
	(void)ctx;
	struct cur_rig *r = arg;
	log_line(r->fd, "", (long)*(const int64_t *)p);
	kill_progress();
	return NULL;
}

static int cursor_child(const char *dir, bool lossy)
{
	char p[600];
	struct cur_rig r = {open_log(dir, "log"), lossy};
	log_line(r.fd, "run ", 0);
	snprintf(p, sizeof p, "%s/cursor.db", dir);
	struct fl_cursor_opts o = {p, "kill", CUR_EVERY};
	fl_err *e = fl_cursor_run(fl_ctx_background(), &o, sizeof(int64_t), cur_source, cur_process,
				  &r, NULL);
	close(r.fd);
	if (e) {
		fl_err_print(stderr, e);
		fl_err_drop(e);
		return 1;
	}
	return 0;
}

/* The log's runs: consecutive offsets each, no gap, bounded re-delivery. */
static void cursor_check(const char *dir, long *dups, char *why, size_t cap)
{
	char p[600], line[64];
	snprintf(p, sizeof p, "%s/log", dir);
	FILE *f = fopen(p, "r");
	ASSERT_NOT_NULL(f);
	long reached = -1, prev = -2; /* highest offset so far; last in this run */
	int run = -1;
	why[0] = 0;
	while (!why[0] && fgets(line, sizeof line, f)) {
		if (strncmp(line, "run", 3) == 0) {
			run++;
			prev = -2;
			continue;
		}
		long off = atol(line);
		if (prev == -2) { /* a run's first offset */
			if (off > reached + 1)
				snprintf(why, cap, "run %d starts at %ld after %ld: a gap", run,
					 off, reached);
			else if (reached + 1 - off > CUR_EVERY)
				snprintf(why, cap, "run %d re-delivers %ld offsets (every %d)", run,
					 reached + 1 - off, CUR_EVERY);
			*dups += reached + 1 - off;
		} else if (off != prev + 1) {
			snprintf(why, cap, "run %d: %ld after %ld", run, off, prev);
		}
		prev = off;
		if (off > reached)
			reached = off;
	}
	fclose(f);
	if (!why[0] && reached != CUR_EVENTS - 1)
		snprintf(why, cap, "the stream ended at %ld, want %d", reached, CUR_EVENTS - 1);
}

/* ---- DLQ child ------------------------------------------------------------- */

static bool dlq_bad(long id) { return id % 4 == 0; }

struct dlq_rig {
	int fd;
	bool lossy; /* negative control: bad items are dropped, not kept */
};

static fl_err *dlq_handle(fl_ctx *ctx, const fl_dlq_entry *e, void *arg)
{
	(void)ctx;
	struct dlq_rig *r = arg;
	long id;
	ASSERT_EQ(e->item_len, sizeof id);
	memcpy(&id, e->item, sizeof id);
	kill_progress();
	if (dlq_bad(id))
		return r->lossy ? NULL : fl_err_ref(kill_item_bad);
	log_line(r->fd, "", id);
	return NULL;
}

static fl_dlq *dlq_open(const char *dir)
{
	char p[600];
	snprintf(p, sizeof p, "%s/dlq.db", dir);
	struct fl_dlq_opts o = {.path = p};
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(&o, &q));
	return q;
}

static int dlq_child(const char *dir, bool lossy)
{
	struct dlq_rig r = {open_log(dir, "log"), lossy};
	fl_dlq *q = dlq_open(dir);
	fl_err_drop(fl_dlq_replay(q, fl_ctx_background(), dlq_handle, &r, NULL));
	fl_dlq_free(q);
	close(r.fd);
	return 0;
}

static void dlq_seed(const char *dir)
{
	fl_dlq *q = dlq_open(dir);
	for (long id = 0; id < DLQ_ITEMS; id++) {
		fl_dlq_attempt a;
		fl_dlq_attempt_set(&a, 1, kill_item_bad);
		ASSERT_NULL(fl_dlq_put(q, &id, sizeof id, kill_item_bad, &a, 1));
	}
	fl_dlq_free(q);
}

static void dlq_check(const char *dir, long kills, long *dups, char *why, size_t cap)
{
	int handled[DLQ_ITEMS] = {0};
	char p[600], line[64];
	snprintf(p, sizeof p, "%s/log", dir);
	FILE *f = fopen(p, "r");
	ASSERT_NOT_NULL(f);
	while (fgets(line, sizeof line, f)) {
		long id = atol(line);
		ASSERT(id >= 0 && id < DLQ_ITEMS);
		handled[id]++;
	}
	fclose(f);
	fl_dlq *q = dlq_open(dir);
	fl_dlq_entry *v;
	size_t n;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	fl_dlq_free(q);
	int kept[DLQ_ITEMS] = {0};
	why[0] = 0;
	for (size_t i = 0; i < n; i++) {
		long id;
		ASSERT_EQ(v[i].item_len, sizeof id);
		memcpy(&id, v[i].item, sizeof id);
		ASSERT(id >= 0 && id < DLQ_ITEMS);
		kept[id]++;
		if (v[i].nattempts != 1 || strstr(v[i].reason, "item refused") == NULL)
			snprintf(why, cap, "item %ld kept without its reason or attempts", id);
	}
	fl_dlq_entries_free(v, n);
	for (long id = 0; id < DLQ_ITEMS && !why[0]; id++) {
		if (dlq_bad(id) && (kept[id] != 1 || handled[id]))
			snprintf(why, cap, "bad item %ld: dead-lettered %d times, handled %d", id,
				 kept[id], handled[id]);
		else if (!dlq_bad(id) && (kept[id] || !handled[id] || handled[id] > 1 + kills))
			snprintf(why, cap,
				 "good item %ld: handled %d times over %ld kills, kept %d", id,
				 handled[id], kills, kept[id]);
		*dups += handled[id] > 1 ? handled[id] - 1 : 0;
	}
	if (!why[0] && *dups > kills)
		snprintf(why, cap, "%ld repeats over %ld kills", *dups, kills);
}

/* ---- trials ------------------------------------------------------------------ */

struct tally {
	long kills, trials, dups, bad;
	char first_bad[700];
};

/* Trials of `what` ("cursor" or "dlq") until `kills` kills. */
static void trials(const char *what, long kills, bool lossy, struct tally *t)
{
	bool cur = strcmp(what, "cursor") == 0;
	uint64_t seed = kill_seed();
	memset(t, 0, sizeof *t);
	char *argv[] = {(char *)g_self, (char *)"--kill-child",         (char *)what,
			NULL,           lossy ? (char *)"lossy" : NULL, NULL};
	while (t->kills < kills) {
		pat_tmp d;
		kill_tmp_init(&d);
		argv[3] = d.dir;
		if (!cur)
			dlq_seed(d.dir);
		long k = 0;
		for (int r = 0; r < 4 && t->kills < kills; r++) {
			long n = kill_draw(&seed, 1, cur ? CUR_EVENTS : DLQ_ITEMS);
			if (!kill_after(kill_spawn(argv), n))
				break;
			k++;
			t->kills++;
		}
		kill_run_clean(argv);
		char why[600];
		long dups = 0;
		if (cur)
			cursor_check(d.dir, &dups, why, sizeof why);
		else
			dlq_check(d.dir, k, &dups, why, sizeof why);
		t->dups += dups;
		if (why[0] && !t->bad++)
			snprintf(t->first_bad, sizeof t->first_bad, "trial %ld: %s", t->trials,
				 why);
		t->trials++;
		pat_tmp_destroy(&d);
	}
	fprintf(stderr,
		"%s random kills (seed %#llx%s): %ld kills over %ld trials, %ld repeats,"
		" %ld broken\n",
		what, (unsigned long long)kill_seed(), lossy ? ", lossy" : "", t->kills, t->trials,
		t->dups, t->bad);
}

/* 200 kills (FL_KILLS for more); 60 under ASan and 20 under TSan, whose
 * children start about 3x and 10x slower (20-30 s on 2 cores). */
FL_TEST(cursor_random_kills_no_gaps)
{
	struct tally t;
	trials("cursor", kill_count(KILL_BUDGET(200, 60, 20)), false, &t);
	if (t.bad)
		FL_FAIL("%s", t.first_bad);
	ASSERT_GT(t.dups, 0); /* kills between save points did re-deliver */
}

FL_TEST(cursor_random_kills_catch_gap)
{
	struct tally t;
	/* a kill lands between save points as the children's pace allows:
	 * more trials until one shows the skip (64 kills: never needed more
	 * than a few) */
	for (long kills = 4; kills <= 64; kills *= 2) {
		trials("cursor", kills, true, &t);
		if (t.bad)
			break;
	}
	ASSERT_GT(t.bad, 0);
	/* skipped offsets: a gap, or (skipped past the end) a short stream */
	if (!strstr(t.first_bad, "gap") && !strstr(t.first_bad, "ended at"))
		FL_FAIL("unexpected: %s", t.first_bad);
}

FL_TEST(dlq_random_kills_exactly_once)
{
	struct tally t;
	trials("dlq", kill_count(KILL_BUDGET(200, 60, 20)), false, &t);
	if (t.bad)
		FL_FAIL("%s", t.first_bad);
}

FL_TEST(dlq_random_kills_catch_lost_item)
{
	struct tally t;
	for (long kills = 2; kills <= 32; kills *= 2) { /* as above */
		trials("dlq", kills, true, &t);
		if (t.bad)
			break;
	}
	ASSERT_GT(t.bad, 0);
	ASSERT(strstr(t.first_bad, "bad item") != NULL);
}

static const fl_test_case cases[] = {FL_CASE(cursor_random_kills_no_gaps),
				     FL_CASE(cursor_random_kills_catch_gap),
				     FL_CASE(dlq_random_kills_exactly_once),
				     FL_CASE(dlq_random_kills_catch_lost_item),
				     {0, 0}};

/* `--kill-child cursor|dlq DIR [lossy]` */
int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc > 3 && strcmp(argv[1], "--kill-child") == 0) {
		bool lossy = argc > 4 && strcmp(argv[4], "lossy") == 0;
		return strcmp(argv[2], "cursor") == 0 ? cursor_child(argv[3], lossy)
						      : dlq_child(argv[3], lossy);
	}
	return fl_test_main(argc, argv, cases);
}

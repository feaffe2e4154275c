/*
 * test_saga_kill.c - sagas killed at random moments, several in flight.
 *
 * A child process (this binary with --kill-child DIR) resumes what its
 * SQLite store holds, then runs the sagas not yet created, all at once, one
 * task each, on the backend the test runs on. Its actions write one
 * progress byte each (kill_util.h); the parent SIGKILLs it after a seeded
 * random number of them, up to four times per trial, then lets a last
 * child run to the end. Afterwards every saga must be terminal, in the
 * phase its input decides, and its effect log, deduplicated by idempotency
 * key, must be T1..Tn or T1..Tj,Cj..C1 exactly: the effects are appended
 * to a file with one write(2) each, so a SIGKILL loses none that happened.
 * Planned kill points, one saga at a time, are in test_saga.c.
 */
#include <fl/group.h>
#include <fl/saga.h>
#include <fl/task.h>

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "kill_util.h"
#include "pat_test_util.h"

static const char *g_self;

FL_ERR_SENTINEL(kill_step_failed, "step refused");

/* Six sagas of three steps: "" commits, "fail=K" fails forward step K. */
enum { NSAGAS = 6, NSTEPS = 3 };
static const char *const inputs[NSAGAS] = {"", "fail=2", "fail=1", "", "fail=0", "fail=2"};
/* Action calls of one undisturbed run: 3 + 6 + 4 + 3 + 2 + 6. */
enum { FULL_RUN_CALLS = 24 };

/* ---- the child ------------------------------------------------------------
 * Effects: "<key> <T|C>\n" lines appended to DIR/effects.log; the keys of
 * earlier runs are read back at start, so a compensation knows whether its
 * forward effect exists (a step that failed or never ran has nothing to
 * undo). Several tasks act at once: a mutex guards the set. */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char (*g_keys)[96];
static size_t g_nkeys, g_capkeys;
static int g_fd = -1;
static bool g_lossy; /* negative control: compensations forget their effect */

static bool has_effect(const char *key)
{
	bool r = false;
	pthread_mutex_lock(&g_mu);
	for (size_t i = 0; i < g_nkeys && !r; i++)
		r = strcmp(g_keys[i], key) == 0;
	pthread_mutex_unlock(&g_mu);
	return r;
}

static void remember(const char *key)
{
	if (g_nkeys == g_capkeys) {
		g_capkeys = g_capkeys ? 2 * g_capkeys : 64;
		g_keys = realloc(g_keys, g_capkeys * sizeof *g_keys);
		ASSERT_NOT_NULL(g_keys);
	}
	snprintf(g_keys[g_nkeys++], sizeof g_keys[0], "%s", key);
}

static void add_effect(const char *key, char kind)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%s %c\n", key, kind);
	ASSERT(n > 0 && (size_t)n < sizeof line);
	pthread_mutex_lock(&g_mu);
	ASSERT_EQ(write(g_fd, line, (size_t)n), n);
	remember(key);
	pthread_mutex_unlock(&g_mu);
}

static void load_effects(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[128];
	while (fgets(line, sizeof line, f)) {
		char *sp = strchr(line, ' ');
		ASSERT_NOT_NULL(sp);
		*sp = 0;
		remember(line);
	}
	fclose(f);
}

static fl_err *forward(fl_ctx *ctx, const fl_saga_call *c)
{
	(void)ctx;
	kill_progress();
	fl_yield(); /* lets the sim backend interleave the sagas too */
	int k;
	if (sscanf(c->input, "fail=%d", &k) == 1 && (size_t)k == c->step)
		return fl_err_wrap(fl_err_ref(kill_step_failed), "step %zu", c->step);
	add_effect(c->key, 'T'); /* repeats are logged too: the check dedups */
	return NULL;
}

static fl_err *compensate(fl_ctx *ctx, const fl_saga_call *c)
{
	(void)ctx;
	kill_progress();
	fl_yield();
	if (has_effect(c->forward_key) && !g_lossy)
		add_effect(c->key, 'C');
	return NULL;
}

static const fl_saga_step steps[NSTEPS] = {
	{"reserve", forward, compensate, NULL},
	{"charge", forward, compensate, NULL},
	{"ship", forward, compensate, NULL},
};
static const fl_saga_def def = {"kord", steps, NSTEPS};

static fl_err *run_one(fl_ctx *ctx, void *arg)
{
	fl_saga_coord *c = ((void **)arg)[0];
	int i = (int)(intptr_t)((void **)arg)[1];
	char id[16];
	snprintf(id, sizeof id, "k%d", i);
	fl_err_drop(fl_saga_run(c, ctx, "kord", id, inputs[i]));
	return NULL;
}

/* `--kill-child DIR [lossy]`: resume, then run the sagas not yet created. */
static int child_main(int argc, char **argv)
{
	char p[600];
	g_lossy = argc > 3 && strcmp(argv[3], "lossy") == 0;
	snprintf(p, sizeof p, "%s/effects.log", argv[2]);
	load_effects(p);
	g_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	ASSERT(g_fd >= 0);
	snprintf(p, sizeof p, "%s/saga.db", argv[2]);
	struct fl_saga_opts o = {.path = p};
	fl_saga_coord *c;
	ASSERT_NULL(fl_saga_coord_new(&o, &c));
	ASSERT_NULL(fl_saga_register(c, &def));
	fl_err_drop(fl_saga_resume(c, fl_ctx_background(), NULL));
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	void *args[NSAGAS][2];
	for (int i = 0; i < NSAGAS; i++) {
		char id[16];
		fl_saga_info info;
		snprintf(id, sizeof id, "k%d", i);
		fl_err *e = fl_saga_info_get(c, id, &info);
		if (!e)
			continue; /* created by an earlier run (and resumed) */
		fl_err_drop(e);
		args[i][0] = c;
		args[i][1] = (void *)(intptr_t)i;
		ASSERT_NULL(fl_group_go(g, run_one, args[i]));
	}
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_saga_coord_free(c);
	close(g_fd);
	free(g_keys);
	return 0;
}

/* ---- the checks ------------------------------------------------------------ */

/* The effect log saga i must end with (deduplicated by key). */
static void want_log(int i, char *out, size_t cap)
{
	int k = NSTEPS;
	sscanf(inputs[i], "fail=%d", &k);
	size_t len = 0;
	out[0] = 0;
	for (int s = 0; s < k; s++)
		len += (size_t)snprintf(out + len, cap - len, "%sk%d/%d/fwd T", len ? "," : "", i,
					s);
	for (int s = k == NSTEPS ? -1 : k - 1; s >= 0; s--)
		len += (size_t)snprintf(out + len, cap - len, "%sk%d/%d/comp C", len ? "," : "", i,
					s);
}

/* The logged effects of saga i in first-occurrence order, one per key. */
static void got_log(const char *dir, int i, char *out, size_t cap)
{
	char p[600], line[128], prefix[16], seen[64][128];
	int nseen = 0;
	snprintf(p, sizeof p, "%s/effects.log", dir);
	snprintf(prefix, sizeof prefix, "k%d/", i);
	size_t len = 0;
	out[0] = 0;
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		bool dup = false;
		for (int j = 0; j < nseen && !dup; j++)
			dup = strcmp(seen[j], line) == 0;
		if (dup)
			continue;
		ASSERT_LT(nseen, 64);
		snprintf(seen[nseen++], sizeof seen[0], "%s", line);
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", line);
	}
	fclose(f);
}

/* Sagas of the store not in a terminal phase (read directly: the parent
 * must not resume them). */
static int open_sagas(const char *dir)
{
	char p[600];
	snprintf(p, sizeof p, "%s/saga.db", dir);
	struct stat sb;
	if (stat(p, &sb) != 0)
		return 0;
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	int n = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT count(*) FROM saga WHERE phase IN"
			       " ('forward','compensating')",
			       -1, &st, NULL) == SQLITE_OK) {
		ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
		n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/* The first broken promise after the trial in dir, or "" (into why). */
static void check_trial(const char *dir, char *why, size_t cap)
{
	char p[600];
	snprintf(p, sizeof p, "%s/saga.db", dir);
	struct fl_saga_opts o = {.path = p};
	fl_saga_coord *c;
	ASSERT_NULL(fl_saga_coord_new(&o, &c));
	why[0] = 0;
	for (int i = 0; i < NSAGAS && !why[0]; i++) {
		char id[16], want[512], got[512];
		snprintf(id, sizeof id, "k%d", i);
		fl_saga_info info;
		fl_err *e = fl_saga_info_get(c, id, &info);
		if (e) {
			snprintf(why, cap, "saga %s missing", id);
			fl_err_drop(e);
			break;
		}
		const char *phase = inputs[i][0] ? "rolled_back" : "committed";
		if (strcmp(info.phase, phase) != 0) {
			snprintf(why, cap, "saga %s is %s, want %s", id, info.phase, phase);
			break;
		}
		want_log(i, want, sizeof want);
		got_log(dir, i, got, sizeof got);
		if (strcmp(want, got) != 0)
			snprintf(why, cap, "saga %s effects \"%s\", want \"%s\"", id, got, want);
	}
	fl_saga_coord_free(c);
}

struct tally {
	long kills, trials, multi_open; /* kills that left >= 2 sagas open */
	long bad;                       /* trials with a broken promise */
	char first_bad[700];
};

/* Trials until `kills` kills: each up to four random kills, then a run to
 * the end, then the checks. */
static void trials(long kills, uint64_t seed, bool lossy, struct tally *t)
{
	memset(t, 0, sizeof *t);
	char *argv[] = {(char *)g_self, (char *)"--kill-child", NULL,
			lossy ? (char *)"lossy" : NULL, NULL};
	while (t->kills < kills) {
		pat_tmp d;
		kill_tmp_init(&d);
		argv[2] = d.dir;
		for (int r = 0; r < 4 && t->kills < kills; r++) {
			if (!kill_after(kill_spawn(argv), kill_draw(&seed, 1, FULL_RUN_CALLS)))
				break; /* it finished before the drawn count */
			t->kills++;
			t->multi_open += open_sagas(d.dir) >= 2;
		}
		kill_run_clean(argv);
		char why[600];
		check_trial(d.dir, why, sizeof why);
		if (why[0] && !t->bad++)
			snprintf(t->first_bad, sizeof t->first_bad, "trial %ld: %s", t->trials,
				 why);
		t->trials++;
		pat_tmp_destroy(&d);
	}
}

/* At least 200 kills (FL_KILLS for more); 60 under ASan and 20 under
 * TSan, whose children start about 3x and 10x slower (20-30 s on 2
 * cores). Every trial must keep every promise; some kills must have
 * caught two or more sagas in flight, or the test would not be about
 * several. */
FL_TEST(random_kills_many_sagas)
{
	long want = kill_count(KILL_BUDGET(200, 60, 20));
	uint64_t seed = kill_seed();
	struct tally t;
	trials(want, seed, false, &t);
	fprintf(stderr,
		"saga random kills (seed %#llx): %ld kills over %ld trials, %ld with >= 2"
		" sagas in flight, %ld broken\n",
		(unsigned long long)seed, t.kills, t.trials, t.multi_open, t.bad);
	if (t.bad)
		FL_FAIL("%s", t.first_bad);
	ASSERT_GT(t.multi_open, 0);
}

/* Negative control: a child whose compensations forget their effects must
 * be caught by the same checks. */
FL_TEST(random_kills_catch_lost_compensation)
{
	struct tally t;
	/* more trials until one shows it: where a kill lands depends on the
	 * children's pace (64 kills: never needed more than a few) */
	for (long kills = 4; kills <= 64; kills *= 2) {
		trials(kills, kill_seed(), true, &t);
		if (t.bad)
			break;
	}
	ASSERT_GT(t.bad, 0);
	ASSERT(strstr(t.first_bad, "effects") != NULL);
}

static const fl_test_case cases[] = {FL_CASE(random_kills_many_sagas),
				     FL_CASE(random_kills_catch_lost_compensation),
				     {0, 0}};

int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc > 2 && strcmp(argv[1], "--kill-child") == 0)
		return child_main(argc, argv);
	return fl_test_main(argc, argv, cases);
}

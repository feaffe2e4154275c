/*
 * cat_cursor.c - a stream consumer with a persisted cursor, killed and
 * restarted (task 17), on fl/cursor.h.
 *
 * A fake source produces events 0..199 (an offset and a value) into the
 * consumer's channel, starting at the offset it is asked for. Processing
 * an event logs "ev <offset>" in the effect log (cat_child.c); the cursor
 * records its progress every 10 events. A child process consumes the
 * stream and dies by SIGKILL as it starts event 137: events 0..136 were
 * processed and the cursor last recorded 130. The restarted consumer must
 * ask the source for offset 130, so events 130..136 are processed twice
 * (at-least-once, duplicates fewer than `every`) and none is missed.
 */
#include "cat_internal.h"

#include <fl/cursor.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVENTS 200
#define EVERY 10
#define KILL_AT 137
#define LOG_MAX (EVENTS * 2 * 12)

typedef struct event {
	int64_t offset; /* first, as cursor.h requires */
	long value;
} event;

typedef struct cur_env {
	const char *dir;
	long kill_at; /* offset whose processing kills the process; -1: none */
	int64_t from; /* source: the offset it was asked to start at */
} cur_env;

static fl_err *cur_source(fl_ctx *ctx, int64_t from, fl_chan *out, void *arg)
{
	cur_env *e = arg;
	e->from = from;
	for (int64_t off = from; off < EVENTS; off++) {
		event ev = {off, (long)off * 3};
		int st = fl_chan_send(out, &ev, ctx, FL_FOREVER);
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "source");
	}
	return NULL;
}

static fl_err *cur_process(fl_ctx *ctx, const void *p, void *arg)
{
	cur_env *e = arg;
	const event *ev = p;
	if (ev->offset == e->kill_at)
		raise(SIGKILL); /* the crash */
	if (ev->value != ev->offset * 3)
		return fl_err_wrap(fl_scenario_err_invalid, "event %lld", (long long)ev->offset);
	char line[32];
	snprintf(line, sizeof(line), "ev %lld", (long long)ev->offset);
	return fl__cat_log_add(e->dir, line);
}

static fl_err *consume(cur_env *e, size_t *processed)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/store.db", e->dir);
	struct fl_cursor_opts o = {.path = path, .name = "events", .every = EVERY};
	return fl_cursor_run(fl_ctx_background(), &o, sizeof(event), cur_source, cur_process, e,
			     processed);
}

static int cursor_child(const char *dir, long kill_at)
{
	cur_env e = {.dir = dir, .kill_at = kill_at};
	size_t processed = 0;
	fl_err *err = consume(&e, &processed);
	if (!err)
		return 0;
	fl_err_print(stderr, err);
	fl_err_drop(err);
	return 1;
}

/* The child's part, before main, in a process fl__cat_spawn started as a
 * "cursor" child; in any other process it does nothing. */
__attribute__((constructor)) static void cursor_child_entry(void)
{
	char dir[4096];
	long arg;
	if (fl__cat_child_of("cursor", dir, sizeof(dir), &arg))
		_exit(cursor_child(dir, arg));
}

/* Counts over the log: offsets never seen, and lines beyond one per offset. */
static void tally(const char *text, long *missing, long *dups)
{
	static int seen[EVENTS];
	memset(seen, 0, sizeof(seen));
	*dups = 0;
	for (const char *p = text; (p = strstr(p, "ev ")); p += 3) {
		long off = strtol(p + 3, NULL, 10);
		if (off >= 0 && off < EVENTS && seen[off]++)
			(*dups)++;
	}
	*missing = 0;
	for (int i = 0; i < EVENTS; i++)
		*missing += !seen[i];
}

static fl_err *cursor_once(const fl_scenario_params *p, fl_scenario_result *r, const char *dir)
{
	int sig = 0;
	fl_err *env = fl__cat_spawn("cursor", dir, KILL_AT, &sig);
	if (env)
		return env;
	fl_scenario_check(r, "child killed mid-stream", sig == SIGKILL, sig, SIGKILL, NULL,
			  "the child %s (signal %d)", sig ? "was killed" : "finished", sig);
	cur_env e = {.dir = dir, .kill_at = -1, .from = -1};
	size_t processed = 0;
	fl_err *err = consume(&e, &processed);
	fl_scenario_note_err(r, p, "restart", err);
	static char text[LOG_MAX];
	if ((env = fl__cat_log_read(dir, text, sizeof(text)))) {
		fl_err_drop(err);
		return env;
	}
	long missing, dups;
	tally(text, &missing, &dups);
	int64_t want_from = KILL_AT / EVERY * EVERY;
	fl_scenario_check(r, "restart resumes from the saved cursor", !err && e.from == want_from,
			  (double)e.from, (double)want_from, NULL,
			  "%s; the source was asked for %lld", err ? r->err_text : "run <nil>",
			  (long long)e.from);
	fl_scenario_check(r, "no gaps", missing == 0, (double)missing, 0, NULL,
			  "%ld of %d events never processed", missing, EVENTS);
	fl_scenario_check(r, "duplicates bounded by the save interval",
			  dups == KILL_AT - want_from && dups < EVERY, (double)dups, EVERY - 1,
			  NULL, "%ld events processed twice", dups);
	fl_scenario_count(r, "items", (int64_t)processed);
	fl_scenario_count(r, "duplicates", dups);
	fl_scenario_count(r, "kills", sig == SIGKILL);
	fl_err_drop(err);
	return NULL;
}

static fl_err *cursor_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		char dir[4096];
		fl_err *env = fl__cat_tmpdir("cursor", dir, sizeof(dir));
		if (env)
			return env;
		env = cursor_once(p, r, dir);
		fl__cat_rmdir(dir);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const cursor_checks[] = {"child killed mid-stream",
					    "restart resumes from the saved cursor", "no gaps",
					    "duplicates bounded by the save interval", NULL};
const fl_scenario fl__scn_cursor_restart = {
	.name = "cursor_restart",
	.description = "task 17: a stream consumer saving its cursor every 10 events is killed "
		       "at event 137; the restart resumes at 130, no gaps",
	.checks = cursor_checks,
	.default_iterations = 1,
	.run = cursor_scn,
};

/*
 * watchdog.c - a hang detector that does not trust the runtime.
 *
 * A run that does not finish in time is usually a stage that ignores
 * cancellation (a `stuck` fault, a blocking call without a deadline). The
 * watchdog is a plain pthread, outside the scheduler, so that it still runs
 * when every worker is blocked. It sleeps on a condition variable against
 * CLOCK_MONOTONIC (real time even under a virtual-clock backend). If the
 * deadline passes before fl__scn_watchdog_stop, it dumps the live tasks
 * (fl_task_dump into memory, also copied to stderr), keeps the names of the
 * tasks still alive (the stages that did not cooperate: after a cancel,
 * every cooperating stage has returned) and disarms the plans it was given,
 * which wakes tasks held by hang/stuck/sleep faults, so the run can finish
 * and be reported. If it still has not finished after a second period the
 * process exits with status 3 (the command's "hang detected" status).
 *
 * Progress, not elapsed time. The whole-run watchdog (fl__scn_watchdog_start,
 * params.hang_ns) judges a hang by the runtime's progress counter
 * (fl_stats.progress: completed waits and finished tasks). When a period
 * ends and the counter moved since it began, the watchdog notes the new
 * value and starts another period: a run that is merely slow (a loaded
 * machine, TSan, thousands of short sleeps) is never called hung. Only a
 * whole period without progress fires; after the dump and the disarm,
 * likewise, only a whole second period without progress exits 3. The
 * counter is read without wd->mu, so a read takes no lock of ours. A
 * period without progress while some task sleeps (fl_sleep_until: a
 * stage's `work`, a rate's pacing) is a wait on time, not a hang: the
 * watchdog looks again one period after the earliest such sleep ends
 * (next_sleep_end), so a 60 s `work` under a 60 s bound is slow, not hung.
 * Injected waits (sleep, hang, stuck) are receives on a plan's channel,
 * not sleeps: a stuck(30m) still fires after one period. The
 * cancel watchdog (start_idle, kicked at the cancel) still counts elapsed
 * time from the kick: after a cancel, a stage that is still running, busy
 * or not, is what it is there to name.
 *
 * Under the sim backend real time means nothing (and a foreign thread may
 * not touch the simulation), so the watchdog is a task sleeping on virtual
 * time instead, with the same rule for sleeping tasks; see
 * fl__scn_watchdog_deadlock in scn_internal.h.
 *
 * Lock order: wd->mu only; fl_task_dump takes the runtime's registry lock
 * on its own, never while wd->mu is held.
 */
#include "scn_internal.h"

#include <fl/fault.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fl_alloc_internal.h"

static struct timespec ts_after(int64_t ns)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	int64_t tot = (int64_t)t.tv_nsec + ns % FL_SEC(1);
	t.tv_sec += (time_t)(ns / FL_SEC(1) + tot / FL_SEC(1));
	t.tv_nsec = (long)(tot % FL_SEC(1));
	return t;
}

/* Appends the task names of a dump ("  #12 name group=... what") to out. */
static void names_from_dump(const char *dump, char *out, size_t cap)
{
	size_t len = strlen(out);
	for (const char *l = dump; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l, *eol = strchr(l, '\n');
		while (*p == ' ')
			p++;
		if (*p != '#')
			continue;
		/* adopted threads (the driver waiting) are not stages */
		size_t ll = eol ? (size_t)(eol - l) : strlen(l);
		if (ll >= 8 && strncmp(l + ll - 8, "[thread]", 8) == 0)
			continue;
		p = strchr(p, ' ');
		if (!p)
			continue;
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " \n");
		if (n == 0 || len + n + 3 >= cap || strncmp(p, "faultline.watchdog", n) == 0)
			continue;
		/* skip names already listed (several workers of one stage) */
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), p);
		/* "fetch.12" (an unnamed task of group fetch) names stage fetch */
		char *dot = strrchr(name, '.');
		if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1))
			*dot = '\0';
		bool seen = false;
		for (const char *q = out; (q = strstr(q, name)) != NULL; q++) {
			size_t nl = strlen(name);
			if ((q == out || q[-1] == ' ') && (q[nl] == ',' || q[nl] == '\0')) {
				seen = true;
				break;
			}
		}
		if (seen)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", name);
	}
}

/* Dumps, names the live tasks and disarms the plans. On the watchdog's
 * thread, or under sim on the simulation thread. */
static void dump_and_disarm(fl__scn_watchdog *wd)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	int n = 0;
	if (f) {
		n = fl_task_dump(f);
		fclose(f);
	}
	fprintf(stderr, "faultline: watchdog: %s %s %.3f ms; %d live task(s)\n%s", wd->what,
		wd->on_progress ? "made no progress for" : "after", (double)wd->after_ns / 1e6, n,
		buf ? buf : "");
	pthread_mutex_lock(&wd->mu);
	wd->fired = true;
	wd->stuck[0] = '\0';
	if (buf)
		names_from_dump(buf, wd->stuck, sizeof(wd->stuck));
	bool all = wd->disarm_all;
	pthread_mutex_unlock(&wd->mu);
	free(buf);
	for (int i = 0; i < wd->nplans; i++)
		if (wd->plans[i])
			fl_fault_disarm(wd->plans[i]);
	/* and every other plan: a job file's own (a stuck(30m) in `faults =`
	 * was never released), a stage's scoped ones */
	if (all)
		(void)fl_fault_disarm_all();
}

/* An isolated child's result pipe (-1: none): set before any watchdog
 * starts, read by the watchdog that gives up. */
static int giveup_fd = -1;

void fl__scn_watchdog_giveup_fd(int fd) { giveup_fd = fd; }

/* Disarming did not free the run: exit with the command's "hang detected"
 * status, naming what is stuck (on stderr, and to an isolated child's
 * parent as an "S" record). Called with or without wd->mu. */
static _Noreturn void give_up(fl__scn_watchdog *wd)
{
	const char *stuck = wd->stuck[0] ? wd->stuck
					 : "no stage task is live: the scenario's own thread is "
					   "blocked outside the runtime";
	fprintf(stderr,
		"faultline: watchdog: %s: still stuck after every fault plan was disarmed "
		"(%s); exiting\n",
		wd->what, stuck);
	fflush(stderr);
	if (giveup_fd >= 0)
		dprintf(giveup_fd, "S\x1f%s\n", stuck);
	_exit(3);
}

static void fire(fl__scn_watchdog *wd) { dump_and_disarm(wd); }

/*
 * The earliest end (fl_now() clock) of a live task's sleep, the
 * watchdog's own task excepted, or -1 when no task sleeps. Takes the task
 * registry's locks: call it without wd->mu.
 */
static int64_t next_sleep_end(void)
{
	size_t cap = fl_task_states(NULL, 0) + 16;
	fl_task_state *st = fl__malloc(cap * sizeof(*st));
	if (!st)
		return -1; /* no memory: judge by progress alone */
	size_t n = fl_task_states(st, cap);
	int64_t best = -1;
	for (size_t i = 0; i < n && i < cap; i++)
		if (st[i].wait == FL_TASK_SLEEP && st[i].until_ns != FL_FOREVER &&
		    strcmp(st[i].name, "faultline.watchdog") != 0 &&
		    (best < 0 || st[i].until_ns < best))
			best = st[i].until_ns;
	free(st);
	return best;
}

/* How long from now until a period after the earliest sleep ends, or -1
 * when nothing sleeps (then the run is hung). */
static int64_t sleeping_grace(int64_t period)
{
	int64_t end = next_sleep_end();
	if (end < 0)
		return -1;
	int64_t left = end - fl_now();
	return (left > 0 ? left : 0) + period;
}

/* The sim backend's watchdog: a task sleeping on virtual time. */
static fl_err *sim_watch(fl_ctx *ctx, void *arg)
{
	fl__scn_watchdog *wd = arg;
	int64_t wait = wd->after_ns;
	do
		if (fl_sleep_until(ctx, fl_deadline_in(wait)) != FL_OK)
			return NULL; /* stopped in time */
	while ((wait = sleeping_grace(wd->after_ns)) >= 0);
	dump_and_disarm(wd);
	if (fl_sleep_until(ctx, fl_deadline_in(wd->after_ns + FL_SEC(5))) != FL_OK)
		return NULL;
	give_up(wd);
}

bool fl__scn_watchdog_deadlock(fl__scn_watchdog *wd)
{
	if (!wd->running || !wd->sim)
		return false;
	pthread_mutex_lock(&wd->mu);
	bool first = !wd->fired;
	pthread_mutex_unlock(&wd->mu);
	if (first)
		dump_and_disarm(wd);
	return first;
}

/* The runtime's progress counter, read with wd->mu released. */
static unsigned long progress_unlocked(fl__scn_watchdog *wd)
{
	pthread_mutex_unlock(&wd->mu);
	unsigned long n = fl_stats_get().progress;
	pthread_mutex_lock(&wd->mu);
	return n;
}

static void *watch(void *arg)
{
	fl__scn_watchdog *wd = arg;
	pthread_mutex_lock(&wd->mu);
	while (!wd->armed && !wd->stopping)
		pthread_cond_wait(&wd->cv, &wd->mu);
	int64_t period = wd->after_ns;
	unsigned long seen = wd->on_progress ? progress_unlocked(wd) : 0;
	struct timespec dl = ts_after(period);
	while (!wd->stopping) {
		if (pthread_cond_timedwait(&wd->cv, &wd->mu, &dl) == ETIMEDOUT && !wd->stopping) {
			if (wd->on_progress) {
				unsigned long now = progress_unlocked(wd);
				if (now != seen) { /* it moved: not hung, watch anew */
					seen = now;
					dl = ts_after(period);
					continue;
				}
				if (wd->stopping)
					break;
				pthread_mutex_unlock(&wd->mu);
				int64_t grace = sleeping_grace(period);
				pthread_mutex_lock(&wd->mu);
				if (grace >= 0 && !wd->stopping) { /* waiting on time */
					dl = ts_after(grace);
					continue;
				}
			}
			if (wd->fired) {
				/* disarming did not free it: give up, as the command's
				 * "hang detected" status */
				give_up(wd);
			}
			pthread_mutex_unlock(&wd->mu);
			fire(wd);
			pthread_mutex_lock(&wd->mu);
			period = wd->after_ns + FL_SEC(5);
			if (wd->on_progress)
				seen = progress_unlocked(wd);
			dl = ts_after(period);
		}
	}
	pthread_mutex_unlock(&wd->mu);
	return NULL;
}

bool fl__scn_watchdog_start(fl__scn_watchdog *wd, const char *what, int64_t after_ns,
			    fl_fault_plan *const *plans, int nplans)
{
	if (!fl__scn_watchdog_start_idle(wd, what, after_ns, plans, nplans))
		return false;
	/* before the kick: the thread reads it once armed, under wd->mu (under
	 * sim virtual time cannot be slow: the watchdog task counts it) */
	pthread_mutex_lock(&wd->mu);
	wd->on_progress = !wd->sim;
	wd->disarm_all = true; /* the whole run is hung: free every stuck action */
	pthread_mutex_unlock(&wd->mu);
	fl__scn_watchdog_kick(wd);
	return true;
}

void fl__scn_watchdog_kick(fl__scn_watchdog *wd)
{
	if (!wd->running)
		return;
	if (wd->sim) {
		if (wd->armed)
			return;
		wd->armed = true;
		fl_ctx *gctx;
		struct fl_group_opts o = {.name = "faultline.watchdog"};
		if (fl_group_new(fl_ctx_background(), &o, &wd->simg, &gctx) == NULL &&
		    fl_group_go_named(wd->simg, "faultline.watchdog", sim_watch, wd) != NULL) {
			/* refused (out of memory): no watchdog, as if start failed */
			fl_group_free(wd->simg);
			wd->simg = NULL;
		}
		return;
	}
	pthread_mutex_lock(&wd->mu);
	if (!wd->armed) {
		wd->armed = true;
		pthread_cond_signal(&wd->cv);
	}
	pthread_mutex_unlock(&wd->mu);
}

bool fl__scn_watchdog_start_idle(fl__scn_watchdog *wd, const char *what, int64_t after_ns,
				 fl_fault_plan *const *plans, int nplans)
{
	memset(wd, 0, sizeof(*wd));
	wd->sim = fl__scn_virtual_time();
	snprintf(wd->what, sizeof(wd->what), "%s", what);
	if (wd->sim) {
		wd->after_ns = after_ns;
		for (int i = 0; i < nplans && i < 4; i++)
			wd->plans[wd->nplans++] = plans[i];
		pthread_mutex_init(&wd->mu, NULL);
		wd->running = true;
		return true;
	}
	wd->after_ns = after_ns;
	for (int i = 0; i < nplans && i < 4; i++)
		wd->plans[wd->nplans++] = plans[i];
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&wd->mu, NULL);
	if (pthread_create(&wd->thread, NULL, watch, wd) != 0) {
		pthread_cond_destroy(&wd->cv);
		pthread_mutex_destroy(&wd->mu);
		return false;
	}
	wd->running = true;
	return true;
}

bool fl__scn_watchdog_stop(fl__scn_watchdog *wd)
{
	if (!wd->running)
		return false;
	if (wd->sim) {
		if (wd->simg) {
			fl_group_cancel(wd->simg, NULL);
			fl_err_drop(fl_group_wait(wd->simg));
			fl_group_free(wd->simg);
			wd->simg = NULL;
		}
		pthread_mutex_destroy(&wd->mu);
		wd->running = false;
		return wd->fired;
	}
	pthread_mutex_lock(&wd->mu);
	wd->stopping = true;
	pthread_cond_signal(&wd->cv);
	pthread_mutex_unlock(&wd->mu);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->cv);
	pthread_mutex_destroy(&wd->mu);
	wd->running = false;
	return wd->fired;
}

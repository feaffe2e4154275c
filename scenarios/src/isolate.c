/*
 * isolate.c - running a scenario in a forked child (crash isolation).
 *
 * The child runs fl_scenario_run and writes the result to a pipe as text,
 * one record per line, fields separated by the ASCII unit separator (0x1f;
 * messages have it and newlines replaced by spaces), ending with "Z". The
 * parent reads until EOF, then reaps the child:
 *   - exit 0 with a complete record: the child's result, plus a passed
 *     FL_SCENARIO_CHECK_CRASH;
 *   - exit 3: the child's watchdog gave up on a hang (r->hung); its last
 *     act was an "S" record naming the stuck tasks, which the check gets;
 *   - a signal: a failed FL_SCENARIO_CHECK_CRASH naming it, with the frames
 *     the child's signal handler wrote to a second pipe (backtrace_symbols_fd
 *     is async-signal-safe once backtrace has been warmed up);
 *   - anything else: a failed FL_SCENARIO_CHECK_CRASH with the status.
 * Fault events travel one per line (F), with the count of those not kept (U).
 * Histograms travel as (value, count) pairs of their recorded slots: each
 * value is re-recorded into the same slot, so percentiles come back exact.
 * A histogram's series follows it: a W record (its width, whether dropped),
 * then one I record per interval that holds anything, its index and its
 * pairs, so the intervals come back as exact as the histogram.
 * The parent must not have started the scheduler: after fork only the
 * forking thread exists in the child.
 */
#define _GNU_SOURCE 1
#include "scn_internal.h"

#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define US "\x1f"

/* ---- writing ------------------------------------------------------------ */

static void put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' || *s == '\x1f' ? ' ' : *s, f);
}

static void put_stats(FILE *f, char tag, const fl_stats *st)
{
	fprintf(f, "%c" US "%ld" US "%ld" US "%ld" US "%ld" US "%ld" US "%ld" US "%ld\n", tag,
		st->tasks, st->threads, st->chans, st->ctxs, st->errs, st->timers, st->groups);
}

static void put_hist(FILE *f, const fl_hdr *h)
{
	fl_hdr_iter it;
	fl_hdr_iter_recorded_init(&it, h);
	while (fl_hdr_iter_next(&it))
		fprintf(f, US "%lld:%lld", (long long)it.value, (long long)it.count_here);
	fputc('\n', f);
}

/* A histogram's series, after its H record. */
static void put_series(FILE *f, const fl_scenario_hist_entry *e)
{
	const fl_scenario_series *s = &e->series;
	if (!s->width_ns && !s->dropped)
		return;
	fprintf(f, "W" US "%s" US "%lld" US "%d\n", e->name, (long long)s->width_ns,
		s->dropped ? 1 : 0);
	for (size_t j = 0; j < s->nivs; j++)
		if (s->ivs[j]) {
			fprintf(f, "I" US "%s" US "%zu", e->name, j);
			put_hist(f, s->ivs[j]);
		}
}

static void write_result(FILE *f, const fl_scenario_result *r)
{
	fprintf(f, "R" US "%d" US "%lld" US "%lld" US "%d" US "%llu" US "%lld\n", r->iterations,
		(long long)r->duration_ns, (long long)r->settle_ns, r->hung ? 1 : 0,
		(unsigned long long)r->faults_fired, (long long)r->heap_delta);
	put_stats(f, 'B', &r->baseline);
	put_stats(f, 'A', &r->after);
	fputs("E" US, f), put_text(f, r->run_err), fputc('\n', f);
	fputs("T" US, f), put_text(f, r->err_text), fputc('\n', f);
	for (size_t i = 0; i < r->nchecks; i++) {
		const fl_scenario_verdict *c = &r->checks[i];
		fprintf(f, "C" US "%s" US "%d" US "%a" US "%a" US "%s" US "%d" US "%d" US "%lld" US,
			c->name, (int)c->verdict, c->measured, c->threshold, c->unit, c->evals,
			c->fails, (long long)c->time_ns);
		put_text(f, c->message);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->ncounters; i++)
		fprintf(f, "N" US "%s" US "%lld\n", r->counters[i].name,
			(long long)r->counters[i].value);
	for (size_t i = 0; i < r->ngroups; i++)
		fprintf(f, "G" US "%s" US "%d" US "%d" US "%d\n", r->groups[i].name,
			r->groups[i].limit, r->groups[i].hwm, r->groups[i].saturated ? 1 : 0);
	for (size_t i = 0; i < r->nfaults; i++) {
		fprintf(f, "F" US "%lld" US, (long long)r->faults[i].at_ns);
		put_text(f, r->faults[i].point);
		fputs(US, f);
		put_text(f, r->faults[i].action);
		fputc('\n', f);
	}
	if (r->faults_unlogged)
		fprintf(f, "U" US "%llu\n", (unsigned long long)r->faults_unlogged);
	fprintf(f, "M" US "%llu" US "%llu\n", (unsigned long long)r->allocs,
		(unsigned long long)r->allocs_failed);
	for (size_t i = 0; i < r->nhists; i++) {
		fprintf(f, "H" US "%s", r->hists[i].name);
		put_hist(f, r->hists[i].hdr);
		put_series(f, &r->hists[i]);
	}
	if (r->series_dropped)
		fprintf(f, "D" US "%llu\n", (unsigned long long)r->series_dropped);
	fputs("Z\n", f);
}

/* ---- reading ------------------------------------------------------------ */

/* Splits line in place at the unit separator; returns the field count. */
static int split(char *line, char **fld, int max)
{
	int n = 0;
	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; n < max;) {
		fld[n++] = p;
		p = strchr(p, '\x1f');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static void get_stats(char **fld, int n, fl_stats *st)
{
	long v[7] = {0};
	for (int i = 0; i < 7 && i + 1 < n; i++)
		v[i] = strtol(fld[i + 1], NULL, 10);
	*st = (fl_stats){v[0], v[1], v[2], v[3], v[4], v[5], v[6], 0}; /* progress: not sent */
}

static void get_pairs(fl_hdr *h, char **fld, int from, int n)
{
	for (int i = from; i < n; i++) {
		long long v, c;
		if (sscanf(fld[i], "%lld:%lld", &v, &c) == 2)
			fl_hdr_record_n(h, v, c);
	}
}

static fl_err *read_hist(fl_scenario_result *r, char **fld, int n)
{
	fl_hdr *h;
	fl_err *err = fl_scenario_hist(r, fld[1], &h);
	if (!err)
		get_pairs(h, fld, 2, n);
	return err;
}

/* The series of the histogram named name (sent before it), or NULL. */
static fl_scenario_series *series_named(fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->nhists; i++)
		if (strcmp(r->hists[i].name, name) == 0)
			return &r->hists[i].series;
	return NULL;
}

/* A "W" record (a series' shape) or an "I" record (one interval). */
static void read_series(fl_scenario_result *r, char **fld, int n)
{
	fl_scenario_series *s = n >= 3 ? series_named(r, fld[1]) : NULL;
	if (!s)
		return;
	if (fld[0][0] == 'W') {
		long long w = n >= 4 ? strtoll(fld[2], NULL, 10) : 0;
		s->width_ns = w > 0 ? w : 0;
		s->dropped = n >= 4 && atoi(fld[3]) != 0;
		return;
	}
	unsigned long long i = strtoull(fld[2], NULL, 10);
	fl_hdr *h = s->width_ns ? fl__scn_series_interval(r, s, (size_t)i) : NULL;
	if (h)
		get_pairs(h, fld, 3, n);
}

/* A "C" record: one check verdict, appended while r has room. */
static void read_check(fl_scenario_result *r, char **fld, int n)
{
	if (n < 10 || r->nchecks == FL_SCENARIO_MAX_CHECKS)
		return;
	fl_scenario_verdict *c = &r->checks[r->nchecks++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", fld[1]);
	c->verdict = (enum fl_report_verdict)atoi(fld[2]);
	c->measured = strtod(fld[3], NULL);
	c->threshold = strtod(fld[4], NULL);
	snprintf(c->unit, sizeof(c->unit), "%s", fld[5]);
	c->evals = atoi(fld[6]);
	c->fails = atoi(fld[7]);
	c->time_ns = strtoll(fld[8], NULL, 10);
	snprintf(c->message, sizeof(c->message), "%s", fld[9]);
}

/* Reads the child's record into r; true if it was complete. */
static bool read_result(FILE *f, fl_scenario_result *r)
{
	char *line = NULL, *fld[4096];
	size_t cap = 0, fcap = 0;
	bool done = false;
	while (!done && getline(&line, &cap, f) > 0) {
		int n = split(line, fld, 4096);
		switch (fld[0][0]) {
		case 'R':
			if (n >= 7) {
				r->iterations = atoi(fld[1]);
				r->duration_ns = strtoll(fld[2], NULL, 10);
				r->settle_ns = strtoll(fld[3], NULL, 10);
				r->hung = atoi(fld[4]) != 0;
				r->faults_fired = strtoull(fld[5], NULL, 10);
				r->heap_delta = strtoll(fld[6], NULL, 10);
			}
			break;
		case 'B': get_stats(fld, n, &r->baseline); break;
		case 'A': get_stats(fld, n, &r->after); break;
		case 'E':
			snprintf(r->run_err, sizeof(r->run_err), "%s", n > 1 ? fld[1] : "");
			break;
		case 'T':
			snprintf(r->err_text, sizeof(r->err_text), "%s", n > 1 ? fld[1] : "");
			break;
		case 'C': read_check(r, fld, n); break;
		case 'N':
			if (n >= 3)
				fl_scenario_set(r, fld[1], strtoll(fld[2], NULL, 10));
			break;
		case 'G':
			if (n >= 5) {
				fl_scenario_note_group(r, fld[1], atoi(fld[2]), atoi(fld[3]));
				if (atoi(fld[4]))
					fl_scenario_note_group_saturated(r, fld[1], atoi(fld[2]),
									 atoi(fld[3]));
			}
			break;
		case 'H':
			if (n >= 2)
				fl_err_drop(read_hist(r, fld, n));
			break;
		case 'W':
		case 'I': read_series(r, fld, n); break;
		case 'D':
			if (n >= 2)
				r->series_dropped += strtoull(fld[1], NULL, 10);
			break;
		case 'F':
			if (n >= 4 &&
			    !fl__scn_fault_add(r, &fcap, strtoll(fld[1], NULL, 10), fld[2], fld[3]))
				r->faults_unlogged++;
			break;
		case 'U':
			if (n >= 2)
				r->faults_unlogged += strtoull(fld[1], NULL, 10);
			break;
		case 'M':
			if (n >= 3) {
				r->allocs = strtoull(fld[1], NULL, 10);
				r->allocs_failed = strtoull(fld[2], NULL, 10);
			}
			break;
		case 'S': /* the watchdog gave up: exit 3 follows */
			r->hung = true;
			fl_scenario_check(
				r, FL_SCENARIO_CHECK_HANG, false, NAN, NAN, NULL,
				"the watchdog could not free the stuck tasks (%s): exited "
				"with status 3 (task dump on stderr)",
				n > 1 ? fld[1] : "?");
			break;
		case 'Z': done = true; break;
		default: break;
		}
	}
	free(line);
	return done;
}

static void child(const fl_scenario *s, const fl_scenario_params *p, int out_fd, int bt)
{
	fl__scn_bt_install(bt);
	fl__scn_watchdog_giveup_fd(out_fd);
	fl_scenario_result r;
	fl_scenario_result_init(&r, s);
	fl_err *err = fl_scenario_run(s, p, &r);
	fl_err_drop(err); /* its text is r.run_err */
	FILE *f = fdopen(out_fd, "w");
	if (!f)
		_exit(2);
	write_result(f, &r);
	fflush(f);
	fl_scenario_result_destroy(&r);
	fflush(stdout);
	fflush(stderr);
	_exit(0);
}

static void outcome(fl_scenario_result *r, int status, bool complete, const char *bt)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		r->signal = sig;
		fl_scenario_check(r, FL_SCENARIO_CHECK_CRASH, false, sig, NAN, NULL,
				  "killed by signal %d (%s); backtrace: %s", sig, strsignal(sig),
				  bt[0] ? bt : "(none)");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		r->hung = true;
		fl_scenario_check(r, FL_SCENARIO_CHECK_HANG, false, NAN, NAN, NULL,
				  "the watchdog could not free the stuck tasks: exited with "
				  "status 3 (task dump on stderr)");
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !complete) {
		fl_scenario_check(r, FL_SCENARIO_CHECK_CRASH, false, NAN, NAN, NULL,
				  "child exited with status %d%s", WEXITSTATUS(status),
				  complete ? "" : " before reporting");
	} else {
		fl_scenario_check(r, FL_SCENARIO_CHECK_CRASH, true, 0, NAN, NULL,
				  "ran in child process; exited normally");
	}
}

fl_err *fl_scenario_run_isolated(const fl_scenario *s, const fl_scenario_params *p,
				 fl_scenario_result *r)
{
	if (!s || !r)
		return fl_err_wrap(FL_ERR_INVAL, "fl_scenario_run_isolated: NULL argument");
	int res[2], bt[2];
	if (pipe(res) != 0)
		return fl_err_errno(errno, "pipe");
	if (pipe(bt) != 0) {
		int e = errno;
		close(res[0]), close(res[1]);
		return fl_err_errno(e, "pipe");
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(res[0]), close(res[1]), close(bt[0]), close(bt[1]);
		return fl_err_errno(e, "fork");
	}
	if (pid == 0) {
		close(res[0]);
		close(bt[0]);
		child(s, p, res[1], bt[1]);
	}
	close(res[1]);
	close(bt[1]);
	r->scenario = s;
	FILE *f = fdopen(res[0], "r");
	bool complete = f && read_result(f, r);
	if (f)
		fclose(f);
	else
		close(res[0]);
	char trace[FL_SCENARIO_MSG_MAX];
	fl__scn_bt_read(bt[0], trace, sizeof(trace)); /* closes it */
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	outcome(r, status, complete, trace);
	if (r->run_err[0])
		return fl_err_new("scenario %s: %s", s->name, r->run_err);
	return NULL;
}

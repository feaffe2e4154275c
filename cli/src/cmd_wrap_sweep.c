/*
 * cmd_wrap_sweep.c - `faultline wrap --sweep POINT [--max N] -- PROGRAM`:
 * the Nth-call sweep SQLite's harness runs on itself, for anyone's
 * program. Run n fails the n-th call at POINT (the first errno of its
 * table: ENOMEM for the allocation calls) and nothing else; the sweep goes on until
 * a run makes fewer than n calls there (the preload's evaluation count),
 * or --max runs. Each run is judged: a clean exit (0, or the program's own
 * error status: it noticed), a crash (signal, and the failing call site
 * symbolised), a hang (with --hang-after: no wrapped call for that long),
 * leaks (the three checks). The verdict is 1 when any run crashed, hung or
 * leaked.
 */
#include "cmd_wrap_internal.h"

#include <fl/fault.h>
#include <fl/report.h>

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* What run n came to, printed; whether it was bad (crash, hang or leak). */
static bool judge(const wrap_opts *w, uint64_t n, const wrap_run *r, char *line, size_t cap)
{
	char out[128];
	fl__wrap_outcome_text(r, out, sizeof(out));
	const struct fl__wrap_acct *a = &r->acct;
	bool crashed = WIFSIGNALED(r->status) && !r->hung;
	size_t k = (size_t)snprintf(line, cap, "  n=%" PRIu64 ": %s", n, out);
	if (crashed && a->nlog > 0 && a->log[0].nframes > 0 && k < cap) {
		char site[600];
		fl__wrap_symbolise(w->prog, a->log[0].frames[0], site, sizeof(site));
		k += (size_t)snprintf(line + k, cap - k, " after the failed call at %s", site);
	}
	bool leaked = !fl__wrap_leaks_ok(&a->leaks);
	if (leaked && k < cap) {
		fl__wrap_symbolise_acct(w->prog, (struct fl__wrap_acct *)a);
		leak_check c[3];
		fl__wrap_leak_checks(&a->leaks, c);
		for (int i = 0; i < 3 && k < cap; i++)
			if (c[i].n)
				k += (size_t)snprintf(line + k, cap - k, "; leaked: %s", c[i].msg);
	}
	if (r->hung && k < cap)
		snprintf(line + k, cap - k, "; threads: %s", r->threads);
	printf("%s\n", line);
	return crashed || leaked || r->hung;
}

/* The plan failing the n-th call at the swept point. */
static void plan_for(const char *point, int idx, uint64_t n, char *out, size_t cap)
{
	char first[32];
	const char *errs = fl__wrap_errnos(idx);
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(errs, " "), errs);
	snprintf(out, cap, "%s=@%" PRIu64 " error(%s)", point, n, first);
}

static int point_index(const char *name)
{
	for (int p = 0; p < FL_WRAP_NPOINTS; p++)
		if (strcmp(fl__wrap_point_names[p], name) == 0)
			return p;
	return -1;
}

int fl__wrap_sweep(const wrap_opts *w, const char *preload)
{
	int idx = point_index(w->sweep);
	if (idx < 0) {
		fprintf(stderr,
			"%s wrap: --sweep: '%s' is no wrapped call (libc/mem/malloc, ...)\n",
			fl__cli_prog, w->sweep);
		return EXIT_USAGE;
	}
	struct fl_report_opts ro = fl__cli_report_opts(&w->o, NULL);
	ro.backend = NULL;
	fl_report *rep = NULL;
	fl_err *e = fl_report_new("wrap-sweep", &ro, &rep);
	uint64_t n = 1, bad = 0, runs = 0;
	int rc = 0;
	printf("sweep %s over %s:\n", w->sweep, w->prog[0]);
	for (; !e && !rc && (!w->o.max || n <= w->o.max); n++) {
		char plan[128], *flat = NULL, line[2400], name[64];
		uint64_t seed;
		plan_for(w->sweep, idx, n, plan, sizeof(plan));
		e = fl__wrap_compile(plan, w->o.seed, &flat, &seed);
		wrap_run r;
		if (!e)
			rc = fl__wrap_run_once(w->prog, preload, flat, w->hang_ns, &r);
		free(flat);
		if (e || rc)
			break;
		if (r.exec_errno || !r.have_acct) {
			fprintf(stderr, "%s wrap: %s: %s\n", fl__cli_prog, w->prog[0],
				r.exec_errno ? strerror(r.exec_errno) : "ran without the preload");
			rc = EXIT_USAGE;
			break;
		}
		runs++;
		if (r.acct.evals[idx] < n && !WIFSIGNALED(r.status) && !r.hung)
			break; /* the n-th call never came: every call has been failed */
		bool b = judge(w, n, &r, line, sizeof(line));
		bad += b;
		snprintf(name, sizeof(name), "%s: call %" PRIu64 " fails", w->sweep, n);
		e = fl_report_add_check(rep, name, b ? FL_REPORT_FAIL : FL_REPORT_PASS, (double)n,
					NAN, NULL, line + 2);
	}
	if (!e && !rc)
		e = fl_report_add_counter(rep, "sweep.runs", (int64_t)runs);
	if (!e && !rc)
		e = fl__cli_write_report(&w->o, rep);
	fl_report_free(rep);
	if (e) {
		fprintf(stderr, "%s wrap: ", fl__cli_prog);
		fl_err_print(stderr, e);
		fl_err_drop(e);
		return EXIT_USAGE;
	}
	if (rc)
		return rc;
	printf("sweep %s: %" PRIu64 " runs, %" PRIu64 " bad (crash, hang or leak)%s\n", w->sweep,
	       runs, bad, w->o.max && n > w->o.max ? ", stopped at --max" : "");
	return bad ? EXIT_CHECK_FAILED : EXIT_PASS;
}

/*
 * gate.c - faultline-bench gate: the regression gate. gate --save runs the
 * LOAD reps times in process and stores the samples as a baseline; gate
 * BASELINE compares fresh repetitions against a stored baseline, or, when
 * BASELINE is a binary, runs it and this binary in turn (A/B interleaved,
 * ABBA order, every repetition a fresh process on the same seed), then
 * prints the verdict (markdown) and writes it as JSON and markdown.
 */
#include "cli_internal.h"

#include <fl/hdr.h>
#include <fl/report.h>
#include <fl/task.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl_version_internal.h"

extern char **environ;

typedef fl__bench_cli_opts opts;

/* Runs `bin [VERB] run --json tmp LOAD --seed S` and reads its sample.
 * VERB when this program runs the verbs under a verb of its own (`faultline
 * bench`): the baseline binary is taken to be an older build of the same
 * program, so it gets the same VERB. */
static fl_err *run_binary(const char *bin, const opts *o, uint64_t seed, fl_bench_sample *s,
			  fl_report **fp)
{
	char tmp[PATH_MAX];
	const char *td = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/faultline-gate-XXXXXX", td && *td ? td : "/tmp");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return fl_err_errno(errno, "mkstemp");
	close(fd);
	char seedbuf[32];
	snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)seed);
	char **argv = calloc((size_t)o->nfwd + 9, sizeof(char *));
	if (!argv) {
		unlink(tmp);
		return FL_ERR_NOMEM;
	}
	static char s_run[] = "run", s_json[] = "--json", s_seed[] = "--seed";
	int n = 0;
	argv[n++] = (char *)bin;
	if (*fl__bench_cli_verb_prefix()) /* `faultline bench run ...` */
		argv[n++] = (char *)fl__bench_cli_verb_prefix();
	argv[n++] = s_run;
	argv[n++] = s_json;
	argv[n++] = tmp;
	for (int k = 0; k < o->nfwd; k++)
		argv[n++] = o->fwd[k];
	argv[n++] = s_seed;
	argv[n++] = seedbuf;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	fl_err *e = NULL;
	int status = 0;
	if (rc)
		e = fl_err_errno(rc, "spawn %s", bin);
	else if (waitpid(pid, &status, 0) < 0)
		e = fl_err_errno(errno, "waitpid %s", bin);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		e = fl_err_wrap(FL_ERR_INVAL, "%s run failed (status %d)", bin, status);
	fl_report *r = NULL;
	if (!e)
		e = fl_report_load_json(tmp, &r);
	unlink(tmp);
	if (!e)
		e = fl_bench_sample_of_report(r, "", s);
	if (!e && fp && !*fp)
		*fp = r;
	else
		fl_report_free(r);
	return e;
}

/* Runs reps in-process into *samples (and into base when saving). */
static fl_err *run_reps(opts *o, int reps, uint64_t seed0, fl_bench_sample *samples,
			fl_report *base)
{
	fl_fault_plan *plan;
	fl_err *e = fl__bench_cli_arm(o, &plan);
	for (int r = -o->warmup_reps; r < reps && !e; r++) {
		struct fl_bench_load_opts l = o->load;
		l.seed = seed0 + (uint64_t)(r + o->warmup_reps);
		fl_bench_result res;
		if ((e = fl_bench_load_run(&l, &res)))
			break;
		if (fl__bench_cli_failures_over(o, &res))
			e = fl_err_wrap(FL_ERR_INVAL,
					"repetition %d: more failed requests than "
					"--max-failures allows",
					r + 1);
		if (!e && r >= 0) {
			fl_bench_sample_of(&res, &samples[r]);
			if (base)
				e = fl_bench_baseline_add(base, &res);
		}
		fl_bench_result_destroy(&res);
	}
	fl_fault_plan_free(plan);
	return e;
}

static int gate_save(opts *o)
{
	fl_report *b;
	fl_bench_sample *s = calloc((size_t)o->reps, sizeof(*s));
	fl_err *e = s ? fl_bench_baseline_new(FL_REVISION, &b) : FL_ERR_NOMEM;
	if (!e) {
		if (o->load.virtual_clock) {
			free(b->backend);
			b->backend = strdup("virtual");
		}
		if (!(e = run_reps(o, o->reps, o->load.seed, s, b)))
			e = fl_report_write_json(b, o->save);
		fl_report_free(b);
	}
	free(s);
	if (e) {
		fl__bench_cli_print_err("gate --save", e);
		return EXIT_USAGE;
	}
	fprintf(o->text, "baseline: %s (%d repetitions)\n", o->save, o->reps);
	return EXIT_OK;
}

static bool is_json(const char *p)
{
	size_t n = strlen(p);
	return n > 5 && strcmp(p + n - 5, ".json") == 0;
}

/* A/B interleaved, ABBA order, every repetition a fresh process: the
 * baseline binary's samples into *bs (allocated here), this binary's into
 * cs, and the baseline's first report into *base (its fingerprint). */
static fl_err *run_ab(opts *o, const char *baseline, fl_bench_sample **bs, fl_bench_sample *cs,
		      fl_report **base)
{
	fl_err *e = NULL;
	char self[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	*bs = calloc((size_t)o->reps, sizeof(**bs));
	if (l < 0 || !*bs)
		e = l < 0 ? fl_err_errno(errno, "readlink /proc/self/exe") : FL_ERR_NOMEM;
	else
		self[l] = '\0';
	for (int r = -o->warmup_reps; r < o->reps && !e; r++) {
		fl_bench_sample sa, sb;
		uint64_t seed = o->load.seed + (uint64_t)(r + o->warmup_reps);
		bool a_first = (r & 1) == 0;
		for (int k = 0; k < 2 && !e; k++)
			e = (k == 0) == a_first ? run_binary(baseline, o, seed, &sa, base)
						: run_binary(self, o, seed, &sb, NULL);
		if (!e && r >= 0) {
			(*bs)[r] = sa;
			cs[r] = sb;
		}
	}
	return e;
}

/* The verdict as JUnit: one check per metric, failed on a regression. */
static fl_err *verdict_junit(const opts *o, const fl_bench_verdict *v)
{
	struct fl_report_opts ro = {.seed = o->load.seed,
				    .fault_plan = o->fault_plan,
				    .git_rev = FL_REVISION};
	fl_report *r = NULL;
	fl_err *e = fl_report_new("regression gate", &ro, &r);
	for (int m = 0; m < FL_BENCH_NMETRICS && !e; m++) {
		const fl_bench_metric_verdict *x = &v->m[m];
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "change %+.2f%% (CI %+.2f%%..%+.2f%%), p (Holm) %.3g, "
			 "floor %.0f%%",
			 100 * x->worse, 100 * x->ci_lo, 100 * x->ci_hi, x->p_holm, 100 * x->floor);
		e = fl_report_add_check(r, fl_bench_metric_name(m),
					x->regression ? FL_REPORT_FAIL : FL_REPORT_PASS, x->worse,
					x->floor, NULL, msg);
	}
	if (!e)
		e = fl_report_write_junit(r, o->junit);
	fl_report_free(r);
	return e;
}

/* Prints the verdict and writes it as --json, --md and --junit asked. */
static fl_err *verdict_write(const opts *o, const fl_bench_verdict *v, const fl_report *base,
			     const fl_report *cand)
{
	fl_err *e = NULL;
	int diffs = base ? fl_bench_fingerprint_diff(base, cand, stderr) : 0;
	fl_bench_verdict_markdown(v, o->text);
	if (o->json)
		e = fl_bench_verdict_write_json(v, base, cand, diffs, o->json);
	if (!e && o->md) {
		fl_report_file *f;
		if (!(e = fl_report_file_open(o->md, &f))) {
			fl_bench_verdict_markdown(v, fl_report_file_stream(f));
			e = fl_report_file_commit(f);
		}
	}
	if (!e && o->junit)
		e = verdict_junit(o, v);
	return e;
}

int fl__bench_cli_gate(opts *o, const char *baseline)
{
	if (o->save)
		return gate_save(o);
	if (!baseline) {
		fprintf(stderr, "%s: gate needs BASELINE (a .json or a binary)\n",
			fl__bench_cli_prog());
		return EXIT_USAGE;
	}
	fl_bench_sample *bs = NULL, *cs = calloc((size_t)o->reps, sizeof(*cs));
	size_t nb = 0;
	fl_report *base = NULL, *cand = NULL;
	fl_err *e = cs ? fl_bench_baseline_new(FL_REVISION, &cand) : FL_ERR_NOMEM;
	if (!e && o->load.virtual_clock) {
		free(cand->backend);
		cand->backend = strdup("virtual");
	}
	if (!e && is_json(baseline)) {
		if (!(e = fl_report_load_json(baseline, &base)) &&
		    !(e = fl_bench_baseline_samples(base, &bs, &nb)))
			e = run_reps(o, o->reps, o->load.seed, cs, NULL);
	} else if (!e) {
		nb = (size_t)o->reps;
		e = run_ab(o, baseline, &bs, cs, &base);
	}
	fl_bench_verdict v;
	if (!e)
		e = fl_bench_gate_eval(bs, nb, cs, (size_t)o->reps, NULL, &v);
	if (!e)
		e = verdict_write(o, &v, base, cand);
	fl_report_free(base);
	fl_report_free(cand);
	free(bs);
	free(cs);
	if (e) {
		fl__bench_cli_print_err("gate", e);
		return EXIT_USAGE;
	}
	return v.regression ? EXIT_REGRESSION : EXIT_OK;
}

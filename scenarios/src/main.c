/*
 * main.c - the faultline command: subcommand dispatch, list, and what the
 * subcommands share (targets, options, the backend).
 *
 *   faultline run     [TARGET...] [options]   the checks, a report
 *   faultline list    [FILE...]               scenarios and their checks
 *   faultline stress  TARGET... [options]     random seeds and fault plans
 *   faultline replay  SEED TARGET [options]   one iteration again
 *   faultline sweep   POINT TARGET [options]  Nth-hit fault sweep
 *   faultline report compare BASE NEW         two runs side by side
 *   faultline report merge OUT IN...          shards' results added up
 *   faultline X ...                           runs faultline-X next to us
 *
 * A TARGET is a catalogue scenario name, a job file (every section in it)
 * or FILE:SECTION. Exit status: 0 all checks passed, 1 a check failed, 2
 * usage, input or environment error, 3 a hang was detected and dumped.
 *
 * The runtime's scheduler is never started in this process before the
 * scenario children are forked (fork keeps only the calling thread), so
 * the backend choice travels to the children in FAULTLINE_BACKEND.
 */
#include "cmd.h"

#include <fl/fault.h>
#include <fl/task.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: faultline run [TARGET...] [--seed N] [--backend threads|fibers|sim]\n"
		"                     [--faults PLAN] [--iterations N] [--duration D]\n"
		"                     [--report DIR] [--json PATH] [--junit PATH]\n"
		"                     [--skip-timing] [--no-isolate]\n"
		"       faultline list [FILE...]\n"
		"       faultline stress TARGET... [--iterations N] [--seed N] [--batch K]\n"
		"                     [--duration D] [--backend B]\n"
		"       faultline replay SEED TARGET [--faults PLAN] [--backend B]\n"
		"       faultline sweep POINT TARGET [--action ACTION] [--iterations MAX]\n"
		"       faultline report compare BASE NEW\n"
		"       faultline report merge OUT IN...\n"
		"       faultline COMMAND ...   (runs faultline-COMMAND, e.g. faultline bench)\n"
		"\n"
		"TARGET: a scenario of `faultline list`, a job file (docs/scenarios.md),\n"
		"FILE:SECTION, or `catalogue` (every built-in scenario, the default\n"
		"suite). run without targets runs the default suite and writes\n"
		"report.json, junit.xml, summary.md and index.html into DIR (default out).\n"
		"Every scenario runs in a child process (--no-isolate: in this one).\n"
		"--iterations sets the pipeline runs per scenario; --duration (e.g. 30s)\n"
		"repeats them to fill about that long. stress runs one iteration per seed\n"
		"with a fault plan drawn from the scenario's allowed set, stops at the\n"
		"first violation and prints the replay command. report merge adds the\n"
		"shards' results (.json reports or .hlog interval logs, as OUT's\n"
		"extension says) into OUT: histograms and counters add, nothing is\n"
		"averaged.\n"
		"Exit status: 0 all checks passed, 1 a check failed, 2 usage, input or\n"
		"environment error, 3 a hang was detected (live tasks dumped to stderr).\n");
}

/* ---- targets -------------------------------------------------------------------- */

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_one(cmd_targets *t, const fl_scenario *s, const char *spec)
{
	if (t->n == CMD_MAX_TARGETS) {
		fprintf(stderr, "faultline: more than %d scenarios\n", CMD_MAX_TARGETS);
		return EXIT_USAGE;
	}
	snprintf(t->specbuf[t->n], sizeof(t->specbuf[0]), "%s", spec);
	t->spec[t->n] = t->specbuf[t->n];
	t->s[t->n++] = s;
	return 0;
}

static fl_jobs *load_file(cmd_targets *t, const char *path)
{
	if (t->nfiles == sizeof(t->files) / sizeof(t->files[0])) {
		fprintf(stderr, "faultline: too many job files\n");
		return NULL;
	}
	fl_jobs *jobs;
	fl_err *err = fl_jobs_load(path, &jobs);
	if (err) {
		fprintf(stderr, "faultline: ");
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return NULL;
	}
	t->files[t->nfiles++] = jobs;
	return jobs;
}

int cmd_target_add(cmd_targets *t, const char *arg)
{
	const fl_scenario *s = fl_scenario_find(arg);
	if (!s && strcmp(arg, "catalogue") == 0) {
		size_t before = t->n;
		cmd_target_all(t);
		return t->n > before ? 0 : EXIT_USAGE;
	}
	if (s)
		return add_one(t, s, arg);
	char path[PATH_MAX];
	const char *colon = strrchr(arg, ':');
	if (!is_file(arg) && colon && (size_t)(colon - arg) < sizeof(path)) {
		snprintf(path, sizeof(path), "%.*s", (int)(colon - arg), arg);
		if (is_file(path)) {
			fl_jobs *jobs = load_file(t, path);
			if (!jobs)
				return EXIT_USAGE;
			s = fl_jobs_find(jobs, colon + 1);
			if (!s) {
				fprintf(stderr, "faultline: %s has no section [%s]\n", path, colon + 1);
				return EXIT_USAGE;
			}
			return add_one(t, s, arg);
		}
	}
	if (!is_file(arg) && !strchr(arg, '/') && !strstr(arg, ".ini")) {
		fprintf(stderr, "faultline: no scenario '%s' (see: faultline list)\n", arg);
		return EXIT_USAGE;
	}
	fl_jobs *jobs = load_file(t, arg);
	if (!jobs)
		return EXIT_USAGE;
	for (size_t i = 0; i < fl_jobs_count(jobs); i++) {
		char spec[320];
		snprintf(spec, sizeof(spec), "%s:%s", arg, fl_jobs_scenario(jobs, i)->name);
		if (add_one(t, fl_jobs_scenario(jobs, i), spec))
			return EXIT_USAGE;
	}
	return 0;
}

void cmd_target_all(cmd_targets *t)
{
	size_t n;
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	for (size_t i = 0; i < n; i++)
		if (add_one(t, cat[i], cat[i]->name))
			break;
}

void cmd_targets_free(cmd_targets *t)
{
	for (size_t i = 0; i < t->nfiles; i++)
		fl_jobs_free(t->files[i]);
	t->nfiles = 0;
}

/* ---- options -------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_duration(const char *s, int64_t *out)
{
	char *end;
	double d = strtod(s, &end);
	double m = strcmp(end, "ms") == 0 ? 1e6 : strcmp(end, "s") == 0 || !*end ? 1e9
		 : strcmp(end, "m") == 0 ? 60e9 : -1;
	if (end == s || m < 0 || d <= 0 || d > 1e6)
		return false;
	*out = (int64_t)(d * m);
	return true;
}

int cmd_parse(int argc, char **argv, cmd_opts *o, cmd_targets *t, const char *cmd)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--skip-timing") == 0) {
			o->skip_timing = true;
			continue;
		}
		if (strcmp(a, "--no-isolate") == 0) {
			o->no_isolate = true;
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (t && cmd_target_add(t, a))
				return EXIT_USAGE;
			if (!t) {
				fprintf(stderr, "faultline %s: unexpected argument '%s'\n", cmd, a);
				return EXIT_USAGE;
			}
			continue;
		}
		static const char *const valued[] = {"--seed", "--backend", "--faults",
						      "--iterations", "--duration", "--report",
						      "--json", "--junit", "--batch", "--action", NULL};
		int k;
		for (k = 0; valued[k] && strcmp(valued[k], a) != 0; k++)
			;
		if (!valued[k]) {
			fprintf(stderr, "faultline %s: unknown option '%s'\n", cmd, a);
			return EXIT_USAGE;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "faultline %s: %s needs a value\n", cmd, a);
			return EXIT_USAGE;
		}
		const char *v = argv[++i];
		uint64_t u;
		bool ok = true;
		switch (k) {
		case 0: ok = parse_u64(v, &o->seed), o->seed_set = true; break;
		case 1: o->backend = v; break;
		case 2: o->faults = v; break;
		case 3:
			ok = parse_u64(v, &u) && u >= 1 && u <= 100000000;
			o->iterations = (int)u;
			break;
		case 4: ok = parse_duration(v, &o->duration_ns); break;
		case 5: o->report_dir = v; break;
		case 6: o->json = v; break;
		case 7: o->junit = v; break;
		case 8:
			ok = parse_u64(v, &u) && u >= 1 && u <= 1000000;
			o->batch = (int)u;
			break;
		default: o->action = v; break;
		}
		if (!ok) {
			fprintf(stderr, "faultline %s: %s: bad value '%s'\n", cmd, a, v);
			return EXIT_USAGE;
		}
	}
	if (o->faults) {
		fl_err *err = fl_fault_check(o->faults);
		if (err) {
			fprintf(stderr, "faultline %s: --faults: ", cmd);
			fl_err_print(stderr, err);
			fl_err_drop(err);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int cmd_backend(const char *backend, bool fallback_ok)
{
	if (!backend)
		return 0;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		struct fl_sched_opts so = {.backend = backend};
		fl_err *err = fl_sched_init(&so);
		_exit(err ? 2 : 0);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		if (fallback_ok) {
			fprintf(stderr, "faultline: backend '%s' is not available in this build; "
				"replaying on the default backend with the same seed\n", backend);
			return 0;
		}
		fprintf(stderr, "faultline: backend '%s' is not available (threads, fibers%s)\n",
			backend, "");
		return EXIT_USAGE;
	}
	setenv("FAULTLINE_BACKEND", backend, 1);
	return 0;
}

void cmd_shell_quote(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	if (cap < 3) {
		if (cap)
			out[0] = '\0';
		return;
	}
	out[o++] = '\'';
	for (; *s && o + 6 < cap; s++) {
		if (*s == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = *s;
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
}

/* ---- list ----------------------------------------------------------------------- */

static void list_one(const fl_scenario *s)
{
	printf("%-20s %s\n", s->name, s->description);
	for (const char *const *c = s->checks; c && *c; c++)
		printf("%-20s   - %s\n", "", *c);
	for (const char *const *f = s->stress_faults; f && *f; f++)
		printf("%-20s   stress plan: %s\n", "", *f);
}

static int cmd_list(int argc, char **argv)
{
	cmd_targets t = {0};
	int rc = 0;
	if (argc == 0)
		cmd_target_all(&t);
	for (int i = 0; i < argc && !rc; i++)
		rc = cmd_target_add(&t, argv[i]);
	for (size_t i = 0; i < t.n && !rc; i++)
		list_one(t.s[i]);
	if (!rc && argc == 0)
		printf("\nevery scenario also gets: %s, %s, %s (isolated runs), %s,\n"
		       "and for each group it notes: hwm <= limit (and reaches it when "
		       "saturated)\n",
		       FL_SCENARIO_CHECK_LEAKS, FL_SCENARIO_CHECK_HEAP, FL_SCENARIO_CHECK_CRASH,
		       FL_SCENARIO_CHECK_HANG);
	cmd_targets_free(&t);
	return rc;
}

/* ---- git-style external commands --------------------------------------------------- */

static int dispatch(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		char path[PATH_MAX];
		if (slash && snprintf(path, sizeof(path), "%.*s/faultline-%s", (int)(slash - self),
				      self, argv[1]) < (int)sizeof(path) &&
		    strchr(argv[1], '/') == NULL && access(path, X_OK) == 0) {
			argv[1] = path;
			execv(path, argv + 1);
			fprintf(stderr, "faultline: cannot run %s: %s\n", path, strerror(errno));
			return EXIT_USAGE;
		}
	}
	(void)argc;
	fprintf(stderr, "faultline: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

/* ---- report merge ---------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

static fl_err *merge_json(const char *out, char **in, int n)
{
	fl_report *acc = NULL; /* set only when loading succeeds */
	fl_err *err = fl_report_load_json(in[0], &acc);
	for (int i = 1; i < n && !err; i++) {
		fl_report *r;
		if ((err = fl_report_load_json(in[i], &r)))
			break;
		if ((err = fl_report_merge(acc, r)))
			err = fl_err_wrap(err, "merging %s", in[i]);
		fl_report_free(r);
	}
	if (!err)
		err = fl_report_write_json(acc, out);
	fl_report_free(acc);
	return err;
}

/* faultline report merge OUT IN... (argv: OUT IN...). */
static int cmd_merge(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "faultline report merge: expected OUT IN...\n");
		return EXIT_USAGE;
	}
	const char *out = argv[0];
	bool hlog = ends_with(out, ".hlog");
	if (!hlog && !ends_with(out, ".json")) {
		fprintf(stderr, "faultline: report merge: OUT must end in .json or .hlog: '%s'\n",
			out);
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++)
		if (!ends_with(argv[i], hlog ? ".hlog" : ".json")) {
			fprintf(stderr, "faultline: report merge: '%s' is not a %s file\n", argv[i],
				hlog ? ".hlog" : ".json");
			return EXIT_USAGE;
		}
	fl_err *err = hlog ? fl_report_merge_hlogs(out, (const char *const *)(argv + 1),
						   (size_t)(argc - 1))
			   : merge_json(out, argv + 1, argc - 1);
	if (err) {
		fprintf(stderr, "faultline: report merge: ");
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return EXIT_USAGE;
	}
	printf("merged %d file%s into %s\n", argc - 1, argc == 2 ? "" : "s", out);
	return EXIT_PASS;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *c = argv[1];
	if (strcmp(c, "help") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0) {
		usage(stdout);
		return EXIT_PASS;
	}
	if (strcmp(c, "list") == 0)
		return cmd_list(argc - 2, argv + 2);
	if (strcmp(c, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(c, "stress") == 0)
		return cmd_stress(argc - 2, argv + 2);
	if (strcmp(c, "replay") == 0)
		return cmd_replay(argc - 2, argv + 2);
	if (strcmp(c, "sweep") == 0)
		return cmd_sweep(argc - 2, argv + 2);
	if (strcmp(c, "report") == 0) {
		if (argc >= 3 && strcmp(argv[2], "compare") == 0)
			return cmd_compare(argc - 3, argv + 3);
		if (argc >= 3 && strcmp(argv[2], "merge") == 0)
			return cmd_merge(argc - 3, argv + 3);
		fprintf(stderr, "faultline report: expected 'compare BASE NEW' or 'merge OUT IN...'\n");
		return EXIT_USAGE;
	}
	if (c[0] == '-') {
		fprintf(stderr, "faultline: expected a command, got '%s'\n", c);
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(argc, argv);
}

/*
 * options.c - what the faultline verbs share: the targets a command line
 * names (catalogue scenarios, job files, FILE:SECTION), the common options,
 * the backend check, shell quoting for printed commands, and the
 * parameters of one stress iteration (which replay must reproduce). Every
 * verb calls down into this file; it calls none of them.
 */
#include "cli_internal.h"
#include "fl_version_internal.h"

#include <fl/fault.h>
#include <fl/task.h>

#include <errno.h>
#include <inttypes.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the program's name ------------------------------------------------------------ */

const char *fl__cli_prog = "faultline";
const char *fl__cli_argv0 = "faultline";

void fl__cli_set_prog(const char *argv0)
{
	if (!argv0 || !argv0[0])
		return;
	const char *slash = strrchr(argv0, '/');
	fl__cli_argv0 = argv0;
	fl__cli_prog = slash && slash[1] ? slash + 1 : argv0;
}

/* ---- targets -------------------------------------------------------------------- */

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_one(fl__cli_targets *t, const fl_scenario *s, const char *spec)
{
	if (t->n == FL__CLI_MAX_TARGETS) {
		fprintf(stderr, "%s: more than %d scenarios\n", fl__cli_prog, FL__CLI_MAX_TARGETS);
		return EXIT_USAGE;
	}
	snprintf(t->specbuf[t->n], sizeof(t->specbuf[0]), "%s", spec);
	t->spec[t->n] = t->specbuf[t->n];
	t->s[t->n++] = s;
	return 0;
}

static fl_jobs *load_file(fl__cli_targets *t, const char *path)
{
	if (t->nfiles == sizeof(t->files) / sizeof(t->files[0])) {
		fprintf(stderr, "%s: too many job files\n", fl__cli_prog);
		return NULL;
	}
	fl_jobs *jobs;
	fl_err *err = fl_jobs_load(path, &jobs);
	if (err) {
		fprintf(stderr, "%s: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return NULL;
	}
	t->files[t->nfiles++] = jobs;
	return jobs;
}

/* A glob over the catalogue's names ("chaos*", "saga_?"): every match, in
 * catalogue order, exploration targets left out; none is an error. */
static int add_glob(fl__cli_targets *t, const char *pattern)
{
	size_t n, found = 0;
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		if (cat[i]->explore_target || fnmatch(pattern, cat[i]->name, 0) != 0)
			continue;
		found++;
		if (add_one(t, cat[i], cat[i]->name))
			return EXIT_USAGE;
	}
	if (!found) {
		fprintf(stderr, "%s: no scenario matches '%s' (see: %s list)\n", fl__cli_prog,
			pattern, fl__cli_prog);
		return EXIT_USAGE;
	}
	return 0;
}

int fl__cli_target_add(fl__cli_targets *t, const char *arg)
{
	if (strpbrk(arg, "*?[") && !strchr(arg, '/') && !is_file(arg))
		return add_glob(t, arg);
	const fl_scenario *s = fl_scenario_find(arg);
	if (!s && strcmp(arg, "catalogue") == 0) {
		size_t before = t->n;
		fl__cli_target_all(t);
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
				fprintf(stderr, "%s: %s has no section [%s]\n", fl__cli_prog, path,
					colon + 1);
				return EXIT_USAGE;
			}
			return add_one(t, s, arg);
		}
	}
	if (!is_file(arg) && !strchr(arg, '/') && !strstr(arg, ".ini")) {
		fprintf(stderr, "%s: no scenario '%s' (see: %s list)\n", fl__cli_prog, arg,
			fl__cli_prog);
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

void fl__cli_target_all(fl__cli_targets *t)
{
	size_t n;
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	for (size_t i = 0; i < n; i++)
		if (!cat[i]->explore_target && add_one(t, cat[i], cat[i]->name))
			break;
}

void fl__cli_targets_free(fl__cli_targets *t)
{
	for (size_t i = 0; i < t->nfiles; i++)
		fl_jobs_free(t->files[i]);
	t->nfiles = 0;
}

/* ---- options -------------------------------------------------------------------- */

bool fl__cli_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

bool fl__cli_duration(const char *s, int64_t max_ns, int64_t *out)
{
	char *end;
	double d = strtod(s, &end);
	double m = strcmp(end, "ms") == 0           ? 1e6
		   : strcmp(end, "s") == 0 || !*end ? 1e9
		   : strcmp(end, "m") == 0          ? 60e9
						    : -1;
	if (end == s || m < 0 || !(d > 0 && d * m <= (double)max_ns)) /* NaN fails both */
		return false;
	*out = (int64_t)(d * m);
	return true;
}

/* The verbs' options, for getopt_long: --opt value, --opt=value, and any
 * unambiguous prefix (--iter 5). Targets may come before, between or after
 * them; `--` ends the options. */
static const struct option longopts[] = {{"seed", required_argument, NULL, 's'},
					 {"backend", required_argument, NULL, 'b'},
					 {"faults", required_argument, NULL, 'f'},
					 {"iterations", required_argument, NULL, 'n'},
					 {"duration", required_argument, NULL, 'd'},
					 {"report", required_argument, NULL, 'r'},
					 {"json", required_argument, NULL, 'j'},
					 {"junit", required_argument, NULL, 'J'},
					 {"batch", required_argument, NULL, 'B'},
					 {"action", required_argument, NULL, 'a'},
					 {"skip-timing", no_argument, NULL, 'T'},
					 {"no-isolate", no_argument, NULL, 'I'},
					 {"alloc", no_argument, NULL, 'A'},
					 {"max", required_argument, NULL, 'M'},
					 {"strategy", required_argument, NULL, 'S'},
					 {"depth", required_argument, NULL, 'D'},
					 {"steps", required_argument, NULL, 'K'},
					 {"runs", required_argument, NULL, 'R'},
					 {"keep-going", no_argument, NULL, 'G'},
					 {"check-determinism", no_argument, NULL, 'X'},
					 {"schedule", required_argument, NULL, 'F'},
					 {"preemptions", required_argument, NULL, 'P'},
					 {"shrink-runs", required_argument, NULL, 'W'},
					 {"no-shrink", no_argument, NULL, 'N'},
					 {NULL, 0, NULL, 0}};

/* Stores option c's value v into o; false when v is not a valid value. */
static bool set_opt(fl__cli_opts *o, int c, const char *v)
{
	uint64_t u;
	switch (c) {
	case 's': o->seed_set = true; return fl__cli_parse_u64(v, &o->seed);
	case 'b': o->backend = v; return true;
	case 'f': o->faults = v; return true;
	case 'n':
		o->iterations = fl__cli_parse_u64(v, &u) && u >= 1 && u <= 100000000 ? (int)u : 0;
		return o->iterations > 0;
	case 'd': return fl__cli_duration(v, FL_SEC(1000000), &o->duration_ns);
	case 'r': o->report_dir = v; return true;
	case 'j': o->json = v; return true;
	case 'J': o->junit = v; return true;
	case 'B':
		o->batch = fl__cli_parse_u64(v, &u) && u >= 1 && u <= 1000000 ? (int)u : 0;
		return o->batch > 0;
	case 'a': o->action = v; return true;
	case 'T': o->skip_timing = true; return true;
	case 'I': o->no_isolate = true; return true;
	case 'A': o->alloc = true; return true;
	case 'M': return fl__cli_parse_u64(v, &o->max) && o->max >= 1;
	case 'S':
		o->strategy = v;
		return strcmp(v, "random") == 0 || strcmp(v, "pct") == 0 || strcmp(v, "pos") == 0 ||
		       strcmp(v, "dfs") == 0;
	case 'D':
		if (strcmp(v, "auto") == 0)
			return (o->depth = FL__CLI_DEPTH_AUTO) != 0;
		o->depth = fl__cli_parse_u64(v, &u) && u >= 1 && u <= 16 ? (int)u : 0;
		return o->depth > 0;
	case 'P':
		o->preemptions_set = true;
		o->preemptions = fl__cli_parse_u64(v, &u) && u <= 64 ? (int)u : -1;
		return o->preemptions >= 0;
	case 'K': o->steps_set = true; return fl__cli_parse_u64(v, &o->steps);
	case 'R':
		o->runs = fl__cli_parse_u64(v, &u) && u >= 1 && u <= 100000000 ? (long)u : 0;
		return o->runs > 0;
	case 'G': o->keep_going = true; return true;
	case 'X': o->check_determinism = true; return true;
	case 'F': o->schedule = v; return true;
	case 'W':
		o->shrink_runs = fl__cli_parse_u64(v, &u) && u >= 1 && u <= 1000000 ? (long)u : 0;
		return o->shrink_runs > 0;
	case 'N': o->no_shrink = true; return true;
	default: return false;
	}
}

/* getopt_long over a copy of the verb's arguments (it permutes them), with
 * the program's name in front as it expects. */
static int parse_opts(int argc, char **argv, fl__cli_opts *o, fl__cli_targets *t, const char *cmd)
{
	char **av = calloc((size_t)argc + 2, sizeof(*av));
	if (!av) {
		fprintf(stderr, "%s %s: out of memory\n", fl__cli_prog, cmd);
		return EXIT_USAGE;
	}
	av[0] = (char *)fl__cli_prog;
	memcpy(av + 1, argv, (size_t)argc * sizeof(*av));
	int rc = 0, c, idx;
	opterr = 0;
	optind = 0; /* glibc: start over, as fl_main may be called again */
	while (!rc && (c = getopt_long(argc + 1, av, "-:", longopts, &idx)) != -1) {
		const char *bad = optind >= 1 && optind - 1 <= argc ? av[optind - 1] : "?";
		if (c == 1) { /* a target, in its place ("-" in optstring) */
			if (t && fl__cli_target_add(t, optarg))
				rc = EXIT_USAGE;
			else if (!t)
				fprintf(stderr, "%s %s: unexpected argument '%s'\n", fl__cli_prog,
					cmd, optarg),
					rc = EXIT_USAGE;
		} else if (c == '?') {
			fprintf(stderr, "%s %s: unknown or ambiguous option '%s' (%s %s --help)\n",
				fl__cli_prog, cmd, bad, fl__cli_prog, cmd);
			rc = EXIT_USAGE;
		} else if (c == ':') {
			fprintf(stderr, "%s %s: %s needs a value\n", fl__cli_prog, cmd, bad);
			rc = EXIT_USAGE;
		} else if (!set_opt(o, c, optarg)) {
			fprintf(stderr, "%s %s: --%s: bad value '%s'\n", fl__cli_prog, cmd,
				longopts[idx].name, optarg);
			rc = EXIT_USAGE;
		}
	}
	for (int i = optind; !rc && i <= argc; i++) { /* after `--` */
		if (t && fl__cli_target_add(t, av[i]))
			rc = EXIT_USAGE;
		else if (!t)
			fprintf(stderr, "%s %s: unexpected argument '%s'\n", fl__cli_prog, cmd,
				av[i]),
				rc = EXIT_USAGE;
	}
	free(av);
	return rc;
}

/*
 * With "-" for --json or --junit, standard output carries that document
 * alone, so a CI step can pipe it into a parser: from parsing on, what the
 * verb prints for people goes to standard error (descriptor 1 is pointed
 * there), and the real standard output, kept in report_fd, is put back
 * only while the report is written.
 */
static int report_fd = -1;

static bool stdout_for_report(const fl__cli_opts *o)
{
	bool dash =
		(o->json && strcmp(o->json, "-") == 0) || (o->junit && strcmp(o->junit, "-") == 0);
	if (!dash || report_fd >= 0)
		return true;
	fflush(stdout);
	report_fd = dup(STDOUT_FILENO);
	return report_fd >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) >= 0;
}

/* Runs while the report goes to the real standard output (see above). */
static void report_stdout(bool on)
{
	if (report_fd < 0)
		return;
	fflush(stdout);
	(void)dup2(on ? report_fd : STDERR_FILENO, STDOUT_FILENO);
}

/* The options that belong to explore and replay only, checked against
 * cmd; false after printing why. */
static bool strategy_opts_ok(const fl__cli_opts *o, const char *cmd)
{
	bool strat_verb = strcmp(cmd, "explore") == 0 || strcmp(cmd, "replay") == 0;
	if (!strat_verb && (o->strategy || o->depth || o->steps_set)) {
		fprintf(stderr,
			"%s %s: --strategy, --depth and --steps belong to explore and replay\n",
			fl__cli_prog, cmd);
		return false;
	}
	if ((o->depth || o->steps_set) && !(o->strategy && strcmp(o->strategy, "pct") == 0)) {
		fprintf(stderr, "%s %s: --depth and --steps go with --strategy pct\n", fl__cli_prog,
			cmd);
		return false;
	}
	if (o->preemptions_set && !(o->strategy && strcmp(o->strategy, "dfs") == 0)) {
		fprintf(stderr, "%s %s: --preemptions goes with --strategy dfs\n", fl__cli_prog,
			cmd);
		return false;
	}
	if (strcmp(cmd, "replay") != 0 && o->check_determinism) {
		fprintf(stderr, "%s %s: --check-determinism belongs to replay\n", fl__cli_prog,
			cmd);
		return false;
	}
	if (strcmp(cmd, "explore") != 0 && o->schedule) {
		fprintf(stderr,
			"%s %s: --schedule FILE: explore writes one, `replay --schedule FILE` "
			"replays it\n",
			fl__cli_prog, cmd);
		return false;
	}
	if (strcmp(cmd, "explore") != 0 &&
	    (o->runs || o->keep_going || o->shrink_runs || o->no_shrink)) {
		fprintf(stderr,
			"%s %s: --runs, --keep-going, --shrink-runs and --no-shrink belong to "
			"explore\n",
			fl__cli_prog, cmd);
		return false;
	}
	return true;
}

int fl__cli_parse(int argc, char **argv, fl__cli_opts *o, fl__cli_targets *t, const char *cmd)
{
	int rc = parse_opts(argc, argv, o, t, cmd);
	if (rc)
		return rc;
	if ((o->alloc || o->max) && strcmp(cmd, "sweep --alloc") != 0) {
		fprintf(stderr, "%s %s: --alloc and --max belong to `%s sweep --alloc TARGET`\n",
			fl__cli_prog, cmd, fl__cli_prog);
		return EXIT_USAGE;
	}
	if (o->json && o->junit && strcmp(o->json, "-") == 0 && strcmp(o->junit, "-") == 0) {
		fprintf(stderr, "%s %s: --json and --junit cannot both be standard output (-)\n",
			fl__cli_prog, cmd);
		return EXIT_USAGE;
	}
	if (!stdout_for_report(o)) {
		fprintf(stderr, "%s %s: keeping standard output for the report: %s\n", fl__cli_prog,
			cmd, strerror(errno));
		return EXIT_USAGE;
	}
	if (!strategy_opts_ok(o, cmd))
		return EXIT_USAGE;
	if (o->faults) {
		fl_err *err = fl_fault_check(o->faults);
		if (err) {
			fprintf(stderr, "%s %s: --faults: ", fl__cli_prog, cmd);
			fl_err_print(stderr, err);
			fl_err_drop(err);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int fl__cli_backend(const char *backend, bool fallback_ok)
{
	if (!backend)
		return 0;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) { /* the parent never starts the scheduler itself */
		struct fl_sched_opts so = {.backend = backend};
		fl_err *err = fl_sched_init(&so);
		if (err && !fallback_ok) { /* names the valid backends, or what failed */
			fprintf(stderr, "%s: --backend %s: ", fl__cli_prog, backend);
			fl_err_print(stderr, err);
			fflush(stderr);
		}
		_exit(err ? 2 : 0);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		if (fallback_ok) {
			fprintf(stderr,
				"%s: backend '%s' is not available in this build; "
				"replaying on the default backend with the same seed\n",
				fl__cli_prog, backend);
			return 0;
		}
		return EXIT_USAGE;
	}
	setenv("FAULTLINE_BACKEND", backend, 1);
	return 0;
}

void fl__cli_shell_quote(const char *s, char *out, size_t cap)
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

/* ---- the iteration stress runs and replay reruns ------------------------------------ */

fl_scenario_params fl__cli_iter_params(const fl_scenario *s, uint64_t seed, const char *plan)
{
	return (fl_scenario_params){.iterations = 1,
				    .seed = seed,
				    .faults = plan,
				    .skip_timing = true,
				    .hang_ns = s->hang_ns ? s->hang_ns : FL_SEC(10),
				    .heap_tolerance = s->heap_tolerance,
				    .sim_reseed = true};
}

void fl__cli_strategy_spec(const fl__cli_opts *o, char *buf, size_t cap)
{
	if (o->strategy && strcmp(o->strategy, "pct") == 0 && o->depth == FL__CLI_DEPTH_AUTO)
		snprintf(buf, cap, "pct:auto:3:%" PRIu64, o->steps);
	else if (o->strategy && strcmp(o->strategy, "dfs") == 0)
		snprintf(buf, cap, "dfs:%d", o->preemptions_set ? o->preemptions : 2);
	else if (o->strategy && strcmp(o->strategy, "pct") == 0 && o->steps_set)
		snprintf(buf, cap, "pct:%d:%" PRIu64, o->depth ? o->depth : 3, o->steps);
	else if (o->strategy && strcmp(o->strategy, "pct") == 0)
		snprintf(buf, cap, "pct:%d", o->depth ? o->depth : 3);
	else
		snprintf(buf, cap, "%s", o->strategy ? o->strategy : "random");
}

double fl__cli_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

struct fl_report_opts fl__cli_report_opts(const fl__cli_opts *o, const char *plan)
{
	return (struct fl_report_opts){.git_rev = FL_REVISION,
				       .seed = o->seed,
				       .fault_plan = plan ? plan : o->faults,
				       .backend = fl_sched_backend_chosen()};
}

fl_err *fl__cli_write_report(const fl__cli_opts *o, const fl_report *rep)
{
	fl_err *err = NULL;
	if (o->report_dir && !(err = fl_report_mkdir_p(o->report_dir)))
		err = fl_report_write_all(rep, o->report_dir);
	report_stdout(true);
	if (!err && o->json)
		err = fl_report_write_json(rep, o->json);
	if (!err && o->junit)
		err = fl_report_write_junit(rep, o->junit);
	report_stdout(false);
	return err;
}

/*
 * flags.c - fl-bench's flags, backend choice, size defaults and the facts
 * every line records (version, workers, driver).
 *
 * Flags follow Go's flag package (-n 1000, -n=1000, --n 1000) and carry the
 * Go peer's names; singular aliases (-limit, -cap, -run_for) are accepted
 * too. Every command also takes --backend NAME (else FAULTLINE_BACKEND,
 * else the runtime's default) and --sched-workers N, which go to
 * fl_sched_init and are recorded in the output, so future backends run the
 * suite unchanged.
 *
 * Sizes: a size flag left at -1 takes flb_default(), which is the Go peer's
 * value unless the running backend has a scaled-down entry in `scaled`
 * below. The threads backend pays an OS wake-up per channel hand-off and per
 * spawned task, so the Go sizes would take minutes per process; the scaled
 * sizes keep a process under about 20 s. Only the count of operations
 * changes, never the work per operation, so ns_per_op stays comparable, and
 * the actual size is always printed in params.
 *
 * Layering: the workload files and report.c call this file; it calls only
 * base.c (flb_must_ok) and the runtime.
 */
#include "peer_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_version_internal.h"

static const char *opt_backend;         /* --backend, or NULL */
static int64_t opt_sched_workers;       /* --sched-workers */
static const char *opt_driver = "task"; /* --driver: task or thread */

/* Per-backend sizes; anything not listed uses the Go peer's default. */
static const struct {
	const char *backend, *key;
	int64_t value;
} scaled[] = {
	{"threads", "spawn.n", 30000},     {"threads", "trygo.n", 30000},
	{"threads", "pipeline.n", 50000},  {"threads", "fanout.n", 100000},
	{"threads", "pingpong.n", 100000}, {"threads", "cancel-err.reps", 200},
};

int64_t flb_default(const char *key, int64_t go_value)
{
	const char *be = fl_sched_backend();
	for (size_t i = 0; i < sizeof scaled / sizeof scaled[0]; i++)
		if (strcmp(scaled[i].backend, be) == 0 && strcmp(scaled[i].key, key) == 0)
			return scaled[i].value;
	return go_value;
}

void flb_resolve(int64_t *v, const char *key, int64_t go_value)
{
	if (*v == -1)
		*v = flb_default(key, go_value);
}

const char *flb_version(void)
{
#ifdef FL_HAVE_JEMALLOC
	const char *alloc = "jemalloc";
#else
	const char *alloc = "libc-malloc";
#endif
	static char buf[160];
	snprintf(buf, sizeof buf, "faultline %s %s cc %s %s", FL_VERSION, FL_REVISION, __VERSION__,
		 alloc);
	return buf;
}

int flb_sched_workers(void) { return (int)opt_sched_workers; }

bool flb_driver_task(void) { return strcmp(opt_driver, "thread") != 0; }

double flb_ms(int64_t ns) { return (double)ns / 1e6; }

/* ---- durations and lists ------------------------------------------------ */

static const struct {
	const char *unit;
	double ns;
} units[] = {
	{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
	{"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
};

/* Parses one "<number><unit>" at *p; advances *p. */
static bool dur_term(const char **p, double *ns)
{
	char *end;
	errno = 0;
	double x = strtod(*p, &end);
	if (end == *p || errno || x < 0)
		return false;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t n = strlen(units[i].unit);
		/* "m" must not match the start of "ms" */
		if (strncmp(end, units[i].unit, n) == 0 &&
		    !(n == 1 && end[0] == 'm' && end[1] == 's')) {
			*ns += x * units[i].ns;
			*p = end + n;
			return true;
		}
	}
	return false;
}

bool flb_parse_dur(const char *s, int64_t *out_ns)
{
	if (strcmp(s, "0") == 0) {
		*out_ns = 0;
		return true;
	}
	double ns = 0;
	const char *p = s;
	while (*p)
		if (!dur_term(&p, &ns))
			return false;
	*out_ns = (int64_t)ns;
	return p != s;
}

static size_t list_parse(const char *s, int64_t *out, size_t cap, bool dur)
{
	char buf[256];
	size_t n = 0;
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		while (*t == ' ')
			t++;
		bool ok = n < cap;
		if (ok && dur)
			ok = flb_parse_dur(t, &out[n]) && out[n] > 0;
		else if (ok)
			out[n] = strtoll(t, &end, 10), ok = end != t && *end == '\0';
		if (!ok) {
			fprintf(stderr, "fl-bench: bad %s list \"%s\"\n",
				dur ? "duration" : "integer", s);
			exit(2);
		}
		n++;
	}
	return n;
}

size_t flb_int_list(const char *s, int64_t *out, size_t cap)
{
	return list_parse(s, out, cap, false);
}
size_t flb_dur_list(const char *s, int64_t *out, size_t cap)
{
	return list_parse(s, out, cap, true);
}

/* ---- flags ---------------------------------------------------------------- */

static void flags_usage(const char *cmd, const struct flb_flag *flags, size_t n)
{
	fprintf(stderr, "usage: fl-bench %s [flags]\n", cmd);
	for (size_t i = 0; i < n; i++) {
		const char *a = flags[i].alias;
		fprintf(stderr, "  -%-14s %s%s%s%s\n", flags[i].name, flags[i].help,
			a ? "  (alias -" : "", a ? a : "", a ? ")" : "");
	}
	exit(2);
}

static bool flag_set(const struct flb_flag *f, const char *v)
{
	char *end;
	switch (f->kind) {
	case FLB_INT: *(int64_t *)f->dst = strtoll(v, &end, 10); return end != v && *end == '\0';
	case FLB_U64:
		*(uint64_t *)f->dst = strtoull(v, &end, 10);
		return end != v && *end == '\0' && v[0] != '-';
	case FLB_STR: *(const char **)f->dst = v; return true;
	case FLB_DUR: return flb_parse_dur(v, (int64_t *)f->dst);
	}
	return false;
}

static const struct flb_flag *flag_find(const struct flb_flag *flags, size_t n, const char *name,
					size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = flags[i].alias;
		if ((strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) ||
		    (a && strlen(a) == len && strncmp(a, name, len) == 0))
			return &flags[i];
	}
	return NULL;
}

/* Parses argv into flags; exits 2 on anything it does not understand. */
static void flags_parse(const char *cmd, const struct flb_flag *flags, size_t n, int argc,
			char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			flags_usage(cmd, flags, n);
		a += a[1] == '-' ? 2 : 1;
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct flb_flag *f = flag_find(flags, n, a, len);
		if (!f)
			flags_usage(cmd, flags, n);
		const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!v || !flag_set(f, v)) {
			fprintf(stderr, "fl-bench %s: bad value for -%s\n", cmd, f->name);
			exit(2);
		}
	}
}

int flb_setup(const char *cmd, struct flb_flag *flags, size_t n, int argc, char **argv,
	      int default_runs)
{
	int64_t runs = default_runs;
	struct flb_flag all[32];
	if (n + 4 > sizeof all / sizeof all[0])
		abort();
	memcpy(all, flags, n * sizeof flags[0]);
	all[n] = (struct flb_flag){"runs", NULL, FLB_INT, &runs, "timed runs per variant"};
	all[n + 1] =
		(struct flb_flag){"backend", NULL, FLB_STR, &opt_backend,
				  "scheduler backend (default: $FAULTLINE_BACKEND, else fibers)"};
	all[n + 2] = (struct flb_flag){"sched-workers", NULL, FLB_INT, &opt_sched_workers,
				       "worker threads for M:N backends (0: one per core)"};
	all[n + 3] = (struct flb_flag){
		"driver", NULL, FLB_STR, &opt_driver,
		"where each run's driver runs: task (as Go's main goroutine) or thread [task]"};
	flags_parse(cmd, all, n + 4, argc, argv);
	if (strcmp(opt_driver, "task") != 0 && strcmp(opt_driver, "thread") != 0) {
		fprintf(stderr, "fl-bench %s: -driver must be task or thread\n", cmd);
		exit(2);
	}
	const char *env_runs = getenv("RUNS");
	if (env_runs && *env_runs && runs == default_runs)
		runs = strtol(env_runs, NULL, 10);
	struct fl_sched_opts so = {.backend = opt_backend, .workers = (int)opt_sched_workers};
	flb_must_ok(fl_sched_init(&so), "fl_sched_init");
	if (runs < 1 || runs > 64) {
		fprintf(stderr, "fl-bench %s: -runs must be 1..64\n", cmd);
		exit(2);
	}
	return (int)runs;
}

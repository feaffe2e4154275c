/*
 * test_job_props.c - job files generated from a seed across every key's
 * documented range (docs/scenarios.md, the key table of scenarios/src/job),
 * parsed, and the valid ones run.
 *
 * Properties:
 *   - parsing any generated file either succeeds or fails with
 *     FL_ERR_INVAL naming "<file>:<line>: " (the file's own line), never
 *     crashes (the asan gate runs this under ASan+UBSan);
 *   - every key alone at the edges of its range (lowest, highest) parses;
 *   - a file generated with sizes kept tiny (items, iterations, work,
 *     waits) runs to its end on the test's backend: not hung, no leak of
 *     live objects, whatever its verdicts.
 * FL_JOB_PROPS sets the number of files (default 40 in each mode), and
 * FL_JOB_PROPS_SEED the seed; the counts are printed.
 */
#include <fl/job.h>
#include <fl/scenario.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_test.h"

enum kind { INT, DUR, DBL, ENUM, BOOL, WAIT, PLAN, PLANS, STAGE, TEXT };

typedef struct spec {
	const char *name;
	enum kind kind;
	double lo, hi;  /* documented range (DUR in ns) */
	double tiny_hi; /* the top of the range in a run (0: as hi) */
	const char *const *names;
} spec;

static const char *const modes[] = {"first-error", "collect-all", "per-item", NULL};
static const char *const expects[] = {"none", "any", "injected", "canceled", "inval", NULL};
static const char *const plants[] = {"none",          "leak",  "lose-item", "breach-limit",
				     "swallow-error", "crash", NULL};
static const char *const plans[] = {"*=2% error(inval)", "*=1% drop", "*=@3 error(again)",
				    "*=5% sleep(20us)",  "*=1% dup",  NULL};

/* Every key but shape and stages (always written first). */
static const spec specs[] = {
	{"description", TEXT, 0, 0, 0, NULL},
	{"workers", INT, 1, 256, 8, NULL},
	{"width", INT, 1, 256, 8, NULL}, /* diamond: 64, below */
	{"buffer", INT, 0, 65536, 0, NULL},
	{"group_limit", INT, 0, 4096, 0, NULL},
	{"items", INT, 1, 100000000, 16, NULL},
	{"rate", DBL, 0, 1e9, 0, NULL}, /* in a run: 0 or >= 1e4 */
	{"work", DUR, 0, 60e9, 50e3, NULL},
	{"error_mode", ENUM, 0, 0, 0, modes},
	{"iterations", INT, 1, 10000000, 2, NULL},
	{"retry", INT, 0, 100, 3, NULL},
	{"retry_backoff", DUR, 0, 60e9, 50e3, NULL},
	{"hedge", DUR, 0, 60e9, 1e6, NULL},
	{"breaker", INT, 0, 1000000, 0, NULL},
	{"breaker_cooldown", DUR, 0, 3600e9, 1e6, NULL},
	{"budget", INT, 0, 100, 0, NULL},
	{"bulkhead", INT, 0, 4096, 0, NULL},
	{"tenants", INT, 1, 64, 0, NULL},
	{"bulkhead_wait", WAIT, 0, 3600e9, 1e6, NULL},
	{"dlq", BOOL, 0, 0, 0, NULL},
	{"faults", PLAN, 0, 0, 0, NULL},
	{"stress_faults", PLANS, 0, 0, 0, NULL},
	{"cancel_at", INT, 0, 100000000, 16, NULL},
	{"cancel_p50", DUR, 0, 3600e9, 0, NULL},
	{"cancel_p99", DUR, 0, 3600e9, 0, NULL},
	{"cancel_max", DUR, 0, 3600e9, 0, NULL},
	{"cancel_hang", DUR, 1e6, 3600e9, 0, NULL},
	{"slo_p50", DUR, 0, 3600e9, 0, NULL},
	{"slo_p99", DUR, 0, 3600e9, 0, NULL},
	{"slo_p999", DUR, 0, 3600e9, 0, NULL},
	{"slo_max", DUR, 0, 3600e9, 0, NULL},
	{"heap_tolerance", INT, 0, 1e12, 0, NULL},
	{"expect_error", ENUM, 0, 0, 0, expects},
	{"expect_stage", STAGE, 0, 0, 0, NULL},
	{"plant", ENUM, 0, 0, 0, plants},
};
enum { NSPECS = sizeof(specs) / sizeof(specs[0]) };
static const char *const shapes[] = {"linear", "fan-out", "fan-in", "diamond", "per-item"};

/* ---- generating ------------------------------------------------------------ */

typedef struct gen {
	uint64_t s;
	char buf[16384];
	size_t len;
	int line;
} gen;

static uint64_t rnd(gen *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * 2685821657736338717ULL;
}

static long pick(gen *g, long lo, long hi) { return lo + (long)(rnd(g) % (uint64_t)(hi - lo + 1)); }

/* A value in [lo, hi]: the edges a quarter of the time each. */
static double value_in(gen *g, double lo, double hi)
{
	switch (rnd(g) % 4) {
	case 0: return lo;
	case 1: return hi;
	default: return lo + (hi - lo) * (double)(rnd(g) >> 11) / 9007199254740992.0;
	}
}

static void put(gen *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(g->buf + g->len, sizeof(g->buf) - g->len, fmt, ap);
	va_end(ap);
	ASSERT(n > 0 && (size_t)n < sizeof(g->buf) - g->len);
	g->len += (size_t)n;
	for (int i = 0; i < n; i++)
		g->line += g->buf[g->len - (size_t)n + (size_t)i] == '\n';
}

/* A duration of ns in a unit that holds it exactly (0 bare). */
static void put_dur(gen *g, const char *key, double ns)
{
	long long v = (long long)ns;
	static const struct {
		const char *u;
		long long m;
	} units[] = {{"h", 3600000000000LL}, {"m", 60000000000LL}, {"s", 1000000000LL},
		     {"ms", 1000000},        {"us", 1000},         {"ns", 1}};
	if (v == 0) {
		put(g, "%s = 0\n", key);
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (v % units[i].m == 0) {
			put(g, "%s = %lld%s\n", key, v / units[i].m, units[i].u);
			return;
		}
}

/* A numeric key's value for a section, in its range (tiny: kept small). */
static double draw_value(gen *g, const spec *k, bool tiny, const char *shape)
{
	double lo = k->lo, hi = tiny && k->tiny_hi > 0 ? k->tiny_hi : k->hi;
	if (strcmp(k->name, "width") == 0 && strcmp(shape, "diamond") == 0)
		hi = tiny ? 8 : 64;
	/* A run's own cancel watchdog judges real time on threads and fibers:
	 * 1 ms to join dozens of tasks is a hang by the file's own rule. */
	if (tiny && strcmp(k->name, "cancel_hang") == 0)
		lo = 1e9;
	double v = value_in(g, lo, hi);
	if (k->kind == DBL)
		return tiny && v > 0 && v < 1e4 ? 1e4 : v; /* tiny: no long schedule */
	return (double)(long long)v;
}

static void put_key(gen *g, const spec *k, double v, bool tiny, int nstages)
{
	int n = 0;
	switch (k->kind) {
	case INT: put(g, "%s = %.0f\n", k->name, v); break;
	case DUR: put_dur(g, k->name, v); break;
	case DBL: put(g, "%s = %.17g\n", k->name, v); break;
	case ENUM:
		while (k->names[n])
			n++;
		/* in a run, no planted bug (a crash or a leak on purpose) */
		put(g, "%s = %s\n", k->name,
		    tiny && strcmp(k->name, "plant") == 0 ? "none" : k->names[pick(g, 0, n - 1)]);
		break;
	case BOOL: put(g, "%s = %s\n", k->name, rnd(g) % 2 ? "true" : "false"); break;
	case WAIT:
		if (rnd(g) % 3 == 0)
			put(g, "%s = forever\n", k->name);
		else
			put_dur(g, k->name, v);
		break;
	case PLAN: put(g, "%s = %s\n", k->name, plans[pick(g, 0, 4)]); break;
	case PLANS:
		put(g, "%s = %s | %s\n", k->name, plans[pick(g, 0, 4)], plans[pick(g, 0, 4)]);
		break;
	case STAGE: put(g, "%s = s%ld\n", k->name, pick(g, 0, nstages - 1)); break;
	case TEXT: put(g, "%s = generated section, seed-chosen keys\n", k->name); break;
	}
}

static int spec_index(const char *name)
{
	for (int i = 0; i < NSPECS; i++)
		if (strcmp(specs[i].name, name) == 0)
			return i;
	FL_FAIL("no key %s", name);
	return -1;
}

/* The documented rules between keys (docs/scenarios.md): bulkhead only
 * for fan-out and per-item and never with group_limit; tenants and
 * bulkhead_wait only with a bulkhead; cancel_at below the items delivered
 * (items x width for a diamond). */
static void follow_rules(bool set[], double val[], const char *shape)
{
	int bh = spec_index("bulkhead"), gl = spec_index("group_limit");
	bool dispatcher = strcmp(shape, "fan-out") == 0 || strcmp(shape, "per-item") == 0;
	if (!dispatcher || (set[bh] && val[bh] == 0))
		set[bh] = false;
	if (set[bh])
		set[gl] = false;
	if (!set[bh])
		set[spec_index("tenants")] = set[spec_index("bulkhead_wait")] = false;
	int it = spec_index("items"), w = spec_index("width"), ca = spec_index("cancel_at");
	double delivered = (set[it] ? val[it] : 100) *
			   (strcmp(shape, "diamond") == 0 ? (set[w] ? val[w] : 3) : 1);
	if (set[ca])
		val[ca] = (double)((long long)val[ca] % (long long)delivered);
}

/* One file of 1-3 sections, each key present with probability 1/2; nine
 * sections in ten follow the rules between keys, the tenth may not. */
static void gen_file(gen *g, bool tiny)
{
	g->len = 0;
	g->line = 1;
	g->buf[0] = 0;
	long nsec = pick(g, 1, 3);
	for (long s = 0; s < nsec; s++) {
		const char *shape = shapes[pick(g, 0, 4)];
		bool rules = rnd(g) % 10 != 0;
		bool dispatcher = strcmp(shape, "fan-out") == 0 || strcmp(shape, "per-item") == 0;
		int nst = (int)pick(g, rules && dispatcher ? 3 : 2, 6);
		bool set[NSPECS];
		double val[NSPECS];
		for (int i = 0; i < NSPECS; i++) {
			set[i] = rnd(g) % 2;
			val[i] = draw_value(g, &specs[i], tiny, shape);
		}
		if (rules)
			follow_rules(set, val, shape);
		put(g, "[job%ld]\nshape = %s\nstages = s0", s, shape);
		for (int i = 1; i < nst; i++)
			put(g, ", s%d", i);
		put(g, "\n");
		for (int i = 0; i < NSPECS; i++)
			if (set[i])
				put_key(g, &specs[i], val[i], tiny, nst);
	}
}

/* ---- properties -------------------------------------------------------------- */

/* Parses g's file: NULL and a clean refusal are both fine. */
static fl_jobs *parse_clean(const gen *g, long *refused)
{
	fl_jobs *j = NULL;
	fl_err *e = fl_jobs_parse(g->buf, "gen.ini", &j);
	if (!e)
		return j;
	char msg[1024];
	fl_err_format(e, msg, sizeof(msg));
	int line = 0;
	if (!fl_err_is(e, FL_ERR_INVAL) || sscanf(msg, "gen.ini:%d:", &line) != 1 || line < 0 ||
	    line > g->line)
		FL_FAIL("unclean refusal \"%s\" of:\n%s", msg, g->buf);
	if (getenv("FL_JOB_PROPS_VERBOSE"))
		fprintf(stderr, "refused: %s\n", msg);
	fl_err_drop(e);
	(*refused)++;
	return NULL;
}

static long count_env(const char *name, long def)
{
	const char *v = getenv(name);
	return v && atol(v) > 0 ? atol(v) : def;
}

static uint64_t seed_env(void)
{
	const char *v = getenv("FL_JOB_PROPS_SEED");
	uint64_t s = v && *v ? strtoull(v, NULL, 0) : 0x10bf11e5ULL;
	return s ? s : 1;
}

/* Files with values anywhere in the documented ranges: parse or refuse
 * cleanly. */
FL_TEST(full_range_files_parse_or_refuse_cleanly)
{
	gen g = {.s = seed_env()};
	long n = count_env("FL_JOB_PROPS", 40), ok = 0, refused = 0;
	for (long i = 0; i < n; i++) {
		gen_file(&g, false);
		fl_jobs *j = parse_clean(&g, &refused);
		if (j) {
			ok++;
			for (size_t s = 0; s < fl_jobs_count(j); s++) {
				fl_job_pipeline p;
				ASSERT(fl_jobs_pipeline(j, s, &p));
				ASSERT(p.nstages >= 2 && p.nstages <= 6);
				ASSERT(fl_jobs_find(j, p.name) == fl_jobs_scenario(j, s));
			}
			fl_jobs_free(j);
		}
	}
	fprintf(stderr, "job props (seed %#llx): %ld full-range files, %ld parsed, %ld refused\n",
		(unsigned long long)seed_env(), n, ok, refused);
	ASSERT_GT(ok, 0);
}

/* Every key alone at each edge of its documented range parses. */
FL_TEST(every_key_at_its_edges_parses)
{
	int edges = 0;
	for (int i = 0; i < NSPECS; i++) {
		const spec *k = &specs[i];
		if (k->kind != INT && k->kind != DUR && k->kind != DBL && k->kind != WAIT)
			continue;
		for (int e = 0; e < 2; e++) {
			gen g = {.line = 1};
			double v = e ? k->hi : k->lo;
			bool bh = strcmp(k->name, "tenants") == 0 ||
				  strcmp(k->name, "bulkhead_wait") == 0;
			put(&g, "[edge]\nshape = %s\nstages = s0, s1, s2\n",
			    strcmp(k->name, "width") == 0            ? "fan-in"
			    : bh || strcmp(k->name, "bulkhead") == 0 ? "fan-out"
								     : "linear");
			if (bh)
				put(&g, "bulkhead = 4\n"); /* they need one */
			if (strcmp(k->name, "cancel_at") == 0 && e)
				put(&g, "items = 100000000\n"), v = k->hi - 1; /* below items */
			if (k->kind == DUR || k->kind == WAIT)
				put_dur(&g, k->name, v);
			else
				put(&g, "%s = %.17g\n", k->name, v);
			fl_jobs *j = NULL;
			fl_err *err = fl_jobs_parse(g.buf, "edge.ini", &j);
			if (err) {
				char msg[1024];
				fl_err_format(err, msg, sizeof(msg));
				FL_FAIL("%s = %g refused: %s\n%s", k->name, v, msg, g.buf);
			}
			fl_jobs_free(j);
			edges++;
		}
	}
	fprintf(stderr, "job props: %d key edges parsed\n", edges);
}

/* Files with tiny sizes run to their end: not hung, nothing leaked. */
FL_TEST(tiny_files_run_without_hang_or_leak)
{
	gen g = {.s = seed_env() ^ 0x9e3779b97f4a7c15ULL};
	long n = count_env("FL_JOB_PROPS", 40), ran = 0, refused = 0, passed = 0;
	for (long i = 0; i < n; i++) {
		gen_file(&g, true);
		fl_jobs *j = parse_clean(&g, &refused);
		if (!j)
			continue;
		for (size_t s = 0; s < fl_jobs_count(j); s++) {
			const fl_scenario *sc = fl_jobs_scenario(j, s);
			fl_scenario_params p = {.skip_timing = true, .seed = (uint64_t)i + 1};
			fl_scenario_result r;
			fl_scenario_result_init(&r, sc);
			fl_err_drop(fl_scenario_run(sc, &p, &r));
			if (r.hung)
				FL_FAIL("file %ld section %s hung:\n%s", i, sc->name, g.buf);
			for (size_t c = 0; c < r.nchecks; c++)
				if (strcmp(r.checks[c].name, FL_SCENARIO_CHECK_LEAKS) == 0 &&
				    r.checks[c].verdict != FL_REPORT_PASS)
					FL_FAIL("file %ld section %s leaked: %s\n%s", i, sc->name,
						r.checks[c].message, g.buf);
			passed += fl_scenario_result_passed(&r);
			ran++;
			fl_scenario_result_destroy(&r);
		}
		fl_jobs_free(j);
	}
	fprintf(stderr,
		"job props (seed %#llx): %ld tiny files, %ld refused, %ld sections ran,"
		" %ld passed every check\n",
		(unsigned long long)seed_env(), n, refused, ran, passed);
	ASSERT_GT(ran, 0);
}

/* Negative control of parse_clean's line check: a value out of range on
 * line 4 (after an empty line) is refused naming line 4, so a message
 * with a wrong or missing line would fail the check. */
FL_TEST(refusals_name_the_right_line)
{
	gen g = {.line = 1};
	put(&g, "[a]\nshape = linear\n\nworkers = 999\n");
	fl_jobs *j = NULL;
	fl_err *e = fl_jobs_parse(g.buf, "gen.ini", &j);
	ASSERT_NOT_NULL(e);
	char msg[512];
	fl_err_format(e, msg, sizeof(msg));
	int line = 0;
	ASSERT_EQ(sscanf(msg, "gen.ini:%d:", &line), 1);
	ASSERT_EQ(line, 4);
	fl_err_drop(e);
}

/* Lines of every length around the line reader's buffer sizes (inih
 * starts at 200 bytes and doubles): a line of exactly 199 bytes wrote its
 * "\n" one byte past the buffer (found by fuzz_job_parse; ASan in the asan
 * gate). Every such file parses, and the key after the line is read. */
FL_TEST(lines_at_buffer_boundaries)
{
	static const int bases[] = {200, 400, 800, 1600};
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (int len = bases[b] - 4; len <= bases[b] + 2; len++)
			for (int kind = 0; kind < 2; kind++) {
				gen g = {.line = 1};
				put(&g, "[a]\nshape = linear\n");
				/* a comment line, or a plan line with an inline comment
				 * (a value inih hands over), len bytes before its "\n" */
				const char *head = kind ? "faults = *=1% drop #" : "#";
				char fill[2048];
				int pad = len - (int)strlen(head);
				ASSERT(pad > 0 && pad < (int)sizeof(fill));
				memset(fill, 'x', (size_t)pad);
				fill[pad] = '\0';
				put(&g, "%s%s\n", head, fill);
				put(&g, "items = 7\n");
				fl_jobs *j = NULL;
				fl_err *e = fl_jobs_parse(g.buf, "len.ini", &j);
				if (e) {
					char msg[512];
					fl_err_format(e, msg, sizeof(msg));
					FL_FAIL("a %d-byte line (kind %d): %s", len, kind, msg);
				}
				fl_job_pipeline p;
				ASSERT(fl_jobs_pipeline(j, 0, &p));
				ASSERT_EQ(p.items, 7);
				fl_jobs_free(j);
			}
}

/* Numbers far beyond a key's range are refused by name. An integer key's
 * integrality test cast 4.9e83 to long long before the range test
 * (undefined behaviour, found by fuzz_job_parse: clang's UBSan checks
 * float-to-int casts; gcc's -fsanitize=undefined, the asan gate's, does
 * not, and x86 happened to refuse the value anyway, so here the refusal
 * is what is checked). */
FL_TEST(huge_numbers_refused_by_name)
{
	static const char *const lines[] = {
		"group_limit = 488888888888888888888888888888888888888888888888888888888888888888888888",
		"items = 1e300",
		"workers = -1e300",
		"retry = inf",
		"cancel_at = -inf",
		"rate = 1e300",
		"work = 1e300s",
		"heap_tolerance = 9.3e18"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		gen g = {.line = 1};
		put(&g, "[a]\nshape = fan-out\nstages = a, b, c\n%s\n", lines[i]);
		fl_jobs *j = NULL;
		fl_err *e = fl_jobs_parse(g.buf, "big.ini", &j);
		if (!e)
			FL_FAIL("accepted: %s", lines[i]);
		char msg[512], key[64];
		fl_err_format(e, msg, sizeof(msg));
		snprintf(key, sizeof(key), "big.ini:4: key '%.*s'", (int)strcspn(lines[i], " "),
			 lines[i]);
		if (!fl_err_is(e, FL_ERR_INVAL) || strncmp(msg, key, strlen(key)) != 0)
			FL_FAIL("%s: %s", lines[i], msg);
		fl_err_drop(e);
	}
}

FL_TEST_MAIN(FL_CASE(lines_at_buffer_boundaries), FL_CASE(huge_numbers_refused_by_name),
	     FL_CASE(full_range_files_parse_or_refuse_cleanly),
	     FL_CASE(every_key_at_its_edges_parses), FL_CASE(tiny_files_run_without_hang_or_leak),
	     FL_CASE(refusals_name_the_right_line))

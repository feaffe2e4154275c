/*
 * job.c - INI job files into scenarios (inih does the INI syntax).
 *
 * inih calls back once per key; the keys themselves are a table (name,
 * kind, bounds, field offset), so every key is parsed and range-checked by
 * the same few functions and an unknown key is simply one not in the
 * table. inih does not report line numbers or empty sections through the
 * Debian build's handler, so the parser reads the text through its own
 * line reader: it knows the current line for every callback and sees
 * section headers itself (for "[s] declared twice" and for naming the
 * section's line when a required key is missing).
 *
 * [global] keys go into a prototype copied into every section that starts
 * after them. Only the first error is kept: later callbacks return at once.
 */
#include "job_internal.h"

#include <fl/fault.h>

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

/* ---- the key table ------------------------------------------------------ */

enum kind {
	K_INT,
	K_LONG,
	K_DOUBLE,
	K_DURATION,
	K_WAIT,
	K_ENUM,
	K_BOOL,
	K_TEXT,
	K_STAGES,
	K_PLAN,
	K_PLANS,
	K_STAGE
};

typedef struct key {
	const char *name;
	enum kind kind;
	size_t off;
	double lo, hi;            /* numbers: inclusive bounds */
	const char *const *names; /* K_ENUM: NULL-terminated */
	size_t cap;               /* K_TEXT: buffer size */
} key;

static const char *const shapes[] = {"linear", "fan-out", "fan-in", "diamond", "per-item", NULL};
static const char *const modes[] = {"first-error", "collect-all", "per-item", NULL};
static const char *const plants[] =
	{"none",         "leak",          "leak-heap", "lose-item",       "breach-limit",
	 "starve-limit", "swallow-error", "crash",     "shared-bulkhead", NULL};
static const char *const expects[] = {"none",   "any",    "injected", "canceled", "deadline",
				      "nomem",  "closed", "limit",    "inval",    "again",
				      "misuse", "panic",  "system",   NULL};

#define O(f) offsetof(fl__job, f)
#define BIG 1e12
static const key keys[] = {
	{"description", K_TEXT, O(description), 0, 0, NULL, sizeof(((fl__job *)0)->description)},
	{"shape", K_ENUM, O(shape), 0, 0, shapes, 0},
	{"stages", K_STAGES, O(stages), 2, FL__JOB_MAX_STAGES, NULL, 0},
	{"workers", K_INT, O(workers), 1, 256, NULL, 0},
	{"width", K_INT, O(width), 1, 256, NULL, 0},
	{"buffer", K_INT, O(buffer), 0, 65536, NULL, 0},
	{"group_limit", K_INT, O(group_limit), 0, 4096, NULL, 0},
	{"items", K_LONG, O(items), 1, 100000000, NULL, 0},
	{"rate", K_DOUBLE, O(rate), 0, 1e9, NULL, 0},
	{"work", K_DURATION, O(work_ns), 0, 60e9, NULL, 0},
	{"error_mode", K_ENUM, O(mode), 0, 0, modes, 0},
	{"iterations", K_INT, O(iterations), 1, 10000000, NULL, 0},
	{"retry", K_INT, O(retry), 0, 100, NULL, 0},
	{"retry_backoff", K_DURATION, O(retry_backoff_ns), 0, 60e9, NULL, 0},
	{"hedge", K_DURATION, O(hedge_ns), 0, 60e9, NULL, 0},
	{"breaker", K_INT, O(breaker), 0, 1000000, NULL, 0},
	{"breaker_cooldown", K_DURATION, O(breaker_cooldown_ns), 0, 3600e9, NULL, 0},
	{"budget", K_INT, O(budget), 0, 100, NULL, 0},
	{"bulkhead", K_INT, O(bulkhead), 0, 4096, NULL, 0},
	{"tenants", K_INT, O(tenants), 1, FL__JOB_MAX_TENANTS, NULL, 0},
	{"bulkhead_wait", K_WAIT, O(bulkhead_wait_ns), 0, 3600e9, NULL, 0},
	{"dlq", K_BOOL, O(dlq), 0, 0, NULL, 0},
	{"faults", K_PLAN, O(faults), 0, 0, NULL, 0},
	{"stress_faults", K_PLANS, O(stress), 0, 0, NULL, 0},
	{"cancel_at", K_LONG, O(cancel_at), 0, 100000000, NULL, 0},
	{"cancel_p50", K_DURATION, O(cancel_p50_ns), 0, 3600e9, NULL, 0},
	{"cancel_p99", K_DURATION, O(cancel_p99_ns), 0, 3600e9, NULL, 0},
	{"cancel_max", K_DURATION, O(cancel_max_ns), 0, 3600e9, NULL, 0},
	{"cancel_hang", K_DURATION, O(cancel_hang_ns), 1e6, 3600e9, NULL, 0},
	{"slo_p50", K_DURATION, O(slo_ns[0]), 0, 3600e9, NULL, 0},
	{"slo_p99", K_DURATION, O(slo_ns[1]), 0, 3600e9, NULL, 0},
	{"slo_p999", K_DURATION, O(slo_ns[2]), 0, 3600e9, NULL, 0},
	{"slo_max", K_DURATION, O(slo_ns[3]), 0, 3600e9, NULL, 0},
	{"heap_tolerance", K_LONG, O(heap_tolerance), 0, BIG, NULL, 0},
	{"expect_error", K_ENUM, O(expect_error), 0, 0, expects, 0},
	{"expect_stage", K_STAGE, O(expect_stage), 0, 0, NULL, 0},
	{"plant", K_ENUM, O(plant), 0, 0, plants, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= FL__JOB_MAX_KEYS, "the parser keeps keys in a 64-bit mask");

static int key_index(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- parser state --------------------------------------------------------- */

typedef struct parser {
	const char *file;
	const char *text, *pos; /* the reader's cursor */
	const char *line_end;   /* the current line's content end */
	int line;               /* of the line inih is handling */
	bool mid_line;          /* the reader stopped inside a line */
	char section[FL_SCENARIO_NAME_MAX];
	int section_line;
	bool in_global;
	fl__job global;      /* defaults so far */
	uint64_t global_set; /* keys set in the current [global] */
	fl__job *cur;        /* the section being filled */
	uint64_t cur_set;    /* keys set in it */
	fl_jobs *jobs;
	char seen[64][FL_SCENARIO_NAME_MAX]; /* section names, for duplicates */
	int nseen;
	fl_err *err; /* the first error */
} parser;

static void fail(parser *ps, int line, const char *keyname, const char *fmt, ...) FL_PRINTF(4, 5);
static void fail(parser *ps, int line, const char *keyname, const char *fmt, ...)
{
	if (ps->err)
		return;
	char what[480];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (keyname)
		ps->err = fl_err_wrap(FL_ERR_INVAL, "%s:%d: key '%s': %s", ps->file, line, keyname,
				      what);
	else
		ps->err = fl_err_wrap(FL_ERR_INVAL, "%s:%d: %s", ps->file, line, what);
}

static void job_defaults(fl__job *j)
{
	memset(j, 0, sizeof(*j));
	j->shape = -1;
	static const char *const def[] = {"source", "work", "sink"};
	for (int i = 0; i < 3; i++)
		snprintf(j->stages[i], FL__JOB_STAGE_NAME, "%s", def[i]);
	j->nstages = 3;
	j->workers = 1;
	j->width = 3;
	j->items = 100;
	j->iterations = 1;
	j->cancel_p99_ns = FL_MS(100);
	j->cancel_hang_ns = FL_SEC(2);
	j->retry_backoff_ns = FL_US(100);
	j->mode = JOB_FIRST_ERROR;
	j->bulkhead_wait_ns = -1; /* forever */
}

/* ---- values ----------------------------------------------------------------- */

static bool parse_number(const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || d != d)
		return false;
	*out = d;
	return true;
}

/* "250ns", "10us", "5ms", "2s", "1m", "1h", "0": nanoseconds. */
static bool parse_duration(const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || d < 0 || d != d)
		return false;
	static const struct {
		const char *u;
		double m;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	if (!*end) {
		if (d != 0)
			return false; /* a bare number needs a unit, except 0 */
		*out = 0;
		return true;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].u) == 0) {
			*out = d * units[i].m;
			return true;
		}
	return false;
}

static bool stage_name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= FL__JOB_STAGE_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static void set_stages(parser *ps, const key *k, fl__job *j, const char *v)
{
	int n = 0;
	for (const char *p = v;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, ",");
		size_t t = len;
		while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
			t--;
		if (!stage_name_ok(p, t))
			return fail(ps, ps->line, k->name,
				    "bad stage name '%.*s' (letters, digits, _ and -, up to %d)",
				    (int)t, p, FL__JOB_STAGE_NAME - 1);
		if (n == FL__JOB_MAX_STAGES)
			return fail(ps, ps->line, k->name, "more than %d stages",
				    FL__JOB_MAX_STAGES);
		snprintf(j->stages[n], FL__JOB_STAGE_NAME, "%.*s", (int)t, p);
		for (int i = 0; i < n; i++)
			if (strcmp(j->stages[i], j->stages[n]) == 0)
				return fail(ps, ps->line, k->name, "stage '%s' listed twice",
					    j->stages[n]);
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (n < 2)
		return fail(ps, ps->line, k->name, "needs at least 2 stages (a source and a sink)");
	j->nstages = n;
}

static void set_plan(parser *ps, const key *k, char *dst, const char *v)
{
	if (strlen(v) >= FL__JOB_PLAN_MAX)
		return fail(ps, ps->line, k->name, "plan longer than %d bytes",
			    FL__JOB_PLAN_MAX - 1);
	fl_err *e = fl_fault_check(v);
	if (e) {
		char msg[400];
		fl_err_format(e, msg, sizeof(msg));
		fl_err_drop(e);
		return fail(ps, ps->line, k->name, "%s", msg);
	}
	snprintf(dst, FL__JOB_PLAN_MAX, "%s", v);
}

/* stress_faults = plan | plan | ... */
static void set_plans(parser *ps, const key *k, fl__job *j, const char *v)
{
	j->nstress = 0;
	char buf[FL__JOB_PLAN_MAX * 2];
	if (strlen(v) >= sizeof(buf))
		return fail(ps, ps->line, k->name, "too long");
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save = NULL, *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n && t[n - 1] == ' ')
			t[--n] = '\0';
		if (j->nstress == FL__JOB_MAX_STRESS)
			return fail(ps, ps->line, k->name, "more than %d plans",
				    FL__JOB_MAX_STRESS);
		set_plan(ps, k, j->stress[j->nstress], t);
		if (ps->err)
			return;
		j->nstress++;
	}
}

static void set_value(parser *ps, const key *k, fl__job *j, const char *v)
{
	char *field = (char *)j + k->off;
	double d;
	switch (k->kind) {
	case K_INT:
	case K_LONG:
	case K_DOUBLE:
	case K_DURATION:
	case K_WAIT: {
		bool dur = k->kind == K_DURATION || k->kind == K_WAIT;
		if (k->kind == K_WAIT && strcmp(v, "forever") == 0) {
			*(int64_t *)field = -1;
			return;
		}
		bool ok = dur ? parse_duration(v, &d) : parse_number(v, &d);
		if (!ok)
			return fail(ps, ps->line, k->name, "'%s' is not a %s", v,
				    k->kind == K_WAIT ? "duration (e.g. 250us, 5ms, 2s) or forever"
				    : dur             ? "duration (e.g. 250us, 5ms, 2s)"
						      : "number");
		/* the range first: casting a double beyond long long is undefined */
		if (d < k->lo || d > k->hi ||
		    (k->kind != K_DOUBLE && !dur && d != (double)(long long)d))
			return fail(ps, ps->line, k->name, "'%s' out of range (%s %.0f..%.0f)", v,
				    dur ? "ns" : "integer", k->lo, k->hi);
		if (k->kind == K_INT)
			*(int *)field = (int)d;
		else if (k->kind == K_LONG)
			*(long *)field = (long)d;
		else if (k->kind == K_DOUBLE)
			*(double *)field = d;
		else
			*(int64_t *)field = (int64_t)d;
		return;
	}
	case K_ENUM:
		for (int i = 0; k->names[i]; i++)
			if (strcmp(v, k->names[i]) == 0) {
				if (k->names == expects)
					snprintf(field, sizeof(j->expect_error), "%s", v);
				else
					*(int *)field = i;
				return;
			}
		{
			char list[256] = "";
			size_t len = 0;
			for (int i = 0; k->names[i] && len < sizeof(list); i++)
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
							i ? ", " : "", k->names[i]);
			return fail(ps, ps->line, k->name, "'%s' is not one of %s", v, list);
		}
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
			*(bool *)field = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
			*(bool *)field = false;
		else
			return fail(ps, ps->line, k->name, "'%s' is not a boolean (true/false)", v);
		return;
	case K_TEXT:
		if (strlen(v) >= k->cap)
			return fail(ps, ps->line, k->name, "longer than %zu bytes", k->cap - 1);
		snprintf(field, k->cap, "%s", v);
		return;
	case K_STAGES: return set_stages(ps, k, j, v);
	case K_PLAN: return set_plan(ps, k, field, v);
	case K_PLANS: return set_plans(ps, k, j, v);
	case K_STAGE:
		if (!stage_name_ok(v, strlen(v)))
			return fail(ps, ps->line, k->name, "bad stage name '%s'", v);
		snprintf(field, FL__JOB_STAGE_NAME, "%s", v);
		return;
	}
}

/* ---- sections ------------------------------------------------------------- */

static bool section_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= FL_SCENARIO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* The bulkhead keys, each error at the line of the key at fault (which
 * may be in a [global] section). Fills in the default tenants. */
static bool bulkhead_ok(parser *ps, fl__job *j)
{
	int kb = key_index("bulkhead");
	if (j->bulkhead > 0 && j->shape != JOB_FANOUT && j->shape != JOB_PERITEM) {
		fail(ps, j->key_line[kb], "bulkhead",
		     "only for shapes fan-out and per-item (a dispatcher starting one task per "
		     "item); section [%s] is %s",
		     j->name, shapes[j->shape]);
		return false;
	}
	static const char *const needs[] = {"tenants", "bulkhead_wait"};
	for (int i = 0; i < 2; i++) {
		int k = key_index(needs[i]);
		if (j->bulkhead == 0 && j->key_line[k]) {
			fail(ps, j->key_line[k], needs[i], "needs bulkhead (section [%s] has none)",
			     j->name);
			return false;
		}
	}
	int kg = key_index("group_limit");
	if (j->bulkhead > 0 && j->group_limit > 0) {
		fail(ps, j->key_line[kb], "bulkhead",
		     "cannot be used with group_limit (line %d): a dispatcher limits either "
		     "per tenant or as a whole",
		     j->key_line[kg]);
		return false;
	}
	if (j->plant == PLANT_SHARED_BULKHEAD && j->bulkhead == 0) {
		fail(ps, j->key_line[key_index("plant")], "plant",
		     "shared-bulkhead needs bulkhead (section [%s] has none)", j->name);
		return false;
	}
	if (j->bulkhead > 0 && j->tenants == 0)
		j->tenants = 4;
	return true;
}

/* Validates the finished section and adds it to the set. */
static void finish_section(parser *ps)
{
	fl__job *j = ps->cur;
	if (!j)
		return;
	ps->cur = NULL;
	if (ps->err) {
		free(j);
		return;
	}
	int line = j->line;
	if (j->shape < 0) {
		fail(ps, line, "shape", "section [%s] is missing this required key", j->name);
		free(j);
		return;
	}
	const char *why = NULL, *kname = NULL;
	if (j->expect_stage[0]) {
		bool found = false;
		for (int i = 0; i < j->nstages; i++)
			found |= strcmp(j->stages[i], j->expect_stage) == 0;
		if (!found)
			why = "is not one of the section's stages", kname = "expect_stage";
	}
	if (!why && (j->shape == JOB_FANOUT || j->shape == JOB_PERITEM) && j->nstages < 3)
		why = "fan-out and per-item need 3 or more stages (source, work..., sink)",
		kname = "stages";
	if (!why && j->cancel_at >= j->items * (j->shape == JOB_DIAMOND ? j->width : 1))
		why = "must be less than the items delivered", kname = "cancel_at";
	if (!why && j->shape == JOB_DIAMOND && j->width > 64)
		why = "of a diamond is at most 64 (its sink selects over a channel per branch)",
		kname = "width";
	/* The open-loop schedule must fit in int64 nanoseconds (146 years of
	 * arrivals): a tiny rate once overflowed and was silently ignored. */
	if (!why && j->rate > 0 && (double)j->items * 1e9 / j->rate > 0x1p62)
		why = "is so low that the items' schedule would last over 146 years",
		kname = "rate";
	if (why) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s %s", kname, why);
		free(j);
		return fail(ps, line, kname, "%s", msg + strlen(kname) + 1);
	}
	if (!bulkhead_ok(ps, j)) {
		free(j);
		return;
	}
	if (ps->jobs->n == ps->jobs->cap) {
		size_t cap = ps->jobs->cap ? ps->jobs->cap * 2 : 4;
		fl__job **a = fl__realloc(ps->jobs->jobs, cap * sizeof(*a));
		if (!a) {
			free(j);
			ps->err = fl_err_wrap(FL_ERR_NOMEM, "%s", ps->file);
			return;
		}
		ps->jobs->jobs = a;
		ps->jobs->cap = cap;
	}
	fl__job_declare(j);
	ps->jobs->jobs[ps->jobs->n++] = j;
}

/* A "[name]" line: closes the previous section, opens the next. */
static void open_section(parser *ps, const char *name)
{
	finish_section(ps);
	if (ps->err)
		return;
	for (int i = 0; i < ps->nseen; i++)
		if (strcmp(ps->seen[i], name) == 0 && strcmp(name, "global") != 0)
			return fail(ps, ps->line, NULL, "section [%s] declared twice", name);
	if (strlen(name) >= sizeof(ps->section))
		return fail(ps, ps->line, NULL, "section name longer than %zu bytes",
			    sizeof(ps->section) - 1);
	snprintf(ps->section, sizeof(ps->section), "%.*s", (int)sizeof(ps->section) - 1, name);
	ps->section_line = ps->line;
	if (strcmp(name, "global") == 0) {
		ps->in_global = true;
		ps->global_set = 0;
		return;
	}
	if (!section_name_ok(name))
		return fail(ps, ps->line, NULL,
			    "bad section name [%s] (lower-case letters, digits and _, up to %d)",
			    name, FL_SCENARIO_NAME_MAX - 1);
	if (ps->nseen == (int)(sizeof(ps->seen) / sizeof(ps->seen[0])))
		return fail(ps, ps->line, NULL, "more than 64 sections");
	snprintf(ps->seen[ps->nseen++], FL_SCENARIO_NAME_MAX, "%s", name);
	ps->in_global = false;
	fl__job *j = fl__malloc(sizeof(*j));
	if (!j) {
		ps->err = fl_err_wrap(FL_ERR_NOMEM, "%s", ps->file);
		return;
	}
	*j = ps->global;
	snprintf(j->name, sizeof(j->name), "%s", name);
	j->line = ps->line;
	ps->cur = j;
	ps->cur_set = 0;
}

/* inih's line reader: counts lines and spots section headers. */
/* Opens the section a whole line declares, if it does: "[name]" after
 * blanks. A line without its "]" is left to inih, which names it. */
static void section_of_line(parser *ps, const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '[')
		return;
	const char *e = memchr(p, ']', (size_t)(end - p));
	if (e) {
		char name[FL_SCENARIO_NAME_MAX * 2];
		snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
		open_section(ps, name);
	}
}

/*
 * inih's line source. It hands inih one line at a time, ending it with
 * "\n" whatever the file used ("\n", "\r\n" or a lone "\r"), after a UTF-8
 * byte order mark is skipped, so inih's line numbers are the file's. A line
 * longer than inih's buffer goes in pieces (inih grows the buffer and asks
 * again); the section it declares is read from the whole line before the
 * first piece, so a long header is never missed.
 */
static char *reader(char *str, int num, void *stream)
{
	parser *ps = stream;
	if (num < 2)
		return NULL;
	if (!ps->mid_line) {
		if (ps->pos == ps->text && strncmp(ps->pos, "\xEF\xBB\xBF", 3) == 0)
			ps->pos += 3;
		if (!*ps->pos)
			return NULL;
		ps->line_end = ps->pos + strcspn(ps->pos, "\r\n");
		ps->line++;
		section_of_line(ps, ps->pos, ps->line_end);
	}
	/* The line ends here if it fits with its "\n"; else fill the buffer
	 * (inih asks for more only when a piece fills it to the last byte),
	 * and the "\n" comes with the next piece even when the text is all
	 * taken (a line of exactly num - 1 bytes). */
	size_t left = (size_t)(ps->line_end - ps->pos);
	bool fits = left <= (size_t)num - 2;
	size_t take = fits ? left : (size_t)num - 1;
	memcpy(str, ps->pos, take);
	ps->pos += take;
	ps->mid_line = !fits;
	if (!ps->mid_line) {
		str[take++] = '\n';
		if (ps->pos[0] == '\r' && ps->pos[1] == '\n')
			ps->pos += 2;
		else if (*ps->pos == '\r' || *ps->pos == '\n')
			ps->pos++;
	}
	str[take] = '\0';
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	parser *ps = user;
	(void)section; /* the reader already tracked it */
	if (ps->err)
		return 1;
	if (!ps->section[0])
		return fail(ps, ps->line, name, "outside any section"), 1;
	size_t i;
	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			break;
	if (i == NKEYS)
		return fail(ps, ps->line, name,
			    "unknown key in section [%s] (see docs/scenarios.md)", ps->section),
		       1;
	uint64_t *set = ps->in_global ? &ps->global_set : &ps->cur_set;
	if (*set & ((uint64_t)1 << i))
		return fail(ps, ps->line, name, "set twice in section [%s]", ps->section), 1;
	*set |= (uint64_t)1 << i;
	fl__job *tj = ps->in_global ? &ps->global : ps->cur;
	if (tj)
		tj->key_line[i] = ps->line;
	if (ps->in_global)
		set_value(ps, &keys[i], &ps->global, value);
	else if (ps->cur)
		set_value(ps, &keys[i], ps->cur, value);
	return 1;
}

/* ---- public ----------------------------------------------------------------- */

fl_err *fl_jobs_parse(const char *text, const char *name, fl_jobs **out)
{
	if (!text || !name || !out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_jobs_parse: NULL argument");
	parser *ps = fl__calloc(1, sizeof(*ps));
	fl_jobs *jobs = fl__calloc(1, sizeof(*jobs));
	if (!ps || !jobs) {
		free(ps);
		free(jobs);
		return fl_err_wrap(FL_ERR_NOMEM, "%s", name);
	}
	ps->file = name;
	ps->text = ps->pos = text;
	ps->jobs = jobs;
	job_defaults(&ps->global);
	/* Debian's inih takes its options at run time. Plans separate terms
	 * with ';', so only '#' starts an inline comment; continuation lines
	 * are off (an indented line is its own key), and lines may be long. */
	static char hash[] = "#";
	ini_inline_comment_prefixes = hash;
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 1 << 16;
	int rc = ini_parse_stream(reader, ps, handler, ps);
	if (rc > 0)
		fail(ps, rc, NULL, "not INI syntax (expected [section] or key = value)");
	else if (rc < 0)
		fail(ps, 0, NULL, "cannot parse (out of memory)");
	finish_section(ps);
	if (!ps->err && jobs->n == 0)
		fail(ps, ps->line, NULL, "no scenario sections (only [global])");
	fl_err *err = ps->err;
	free(ps);
	if (err) {
		fl_jobs_free(jobs);
		return err;
	}
	*out = jobs;
	return NULL;
}

bool fl_jobs_pipeline(const fl_jobs *jobs, size_t i, fl_job_pipeline *out)
{
	if (!jobs || i >= jobs->n)
		return false;
	const fl__job *j = jobs->jobs[i];
	fl_job_pipeline p = {
		.name = j->name,
		.shape = j->shape >= 0 ? shapes[j->shape] : "",
		.nstages = j->nstages,
		.workers = j->workers,
		.width = j->width,
		.buffer = j->buffer,
		.group_limit = j->group_limit,
		.items = j->items,
		.rate = j->rate,
		.work_ns = j->work_ns,
		.faults = j->faults,
		.slo_p99_ns = j->slo_ns[1],
	};
	for (int k = 0; k < j->nstages && k < 6; k++)
		p.stages[k] = j->stages[k];
	*out = p;
	return true;
}

void fl_jobs_free(fl_jobs *jobs)
{
	if (!jobs)
		return;
	for (size_t i = 0; i < jobs->n; i++)
		free(jobs->jobs[i]);
	free(jobs->jobs);
	free(jobs);
}

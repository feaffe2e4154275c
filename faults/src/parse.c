/*
 * parse.c - the plan language: text to an immutable spec.
 *
 * Problem: plans come from people (environment variables, a control FIFO,
 * test code), so every mistake must be reported precisely - line, column,
 * the item it is in and what was expected - and nothing may be silently
 * ignored: an unknown action or error name is an error.
 *
 * Structure: a hand-written recursive-descent parser over a cursor, one
 * function per production of the EBNF in docs/faults.md. Items are separated
 * by ';' or newlines; a term is modifiers then an action; terms chain with
 * "->". Numbers are parsed by hand (no strtod: no locale, no "inf", no
 * exponents). The first error wins and stops the parse; the partial spec
 * is destroyed, so fl__fault_parse either fills *out completely or leaves
 * it empty.
 *
 * Invariant: cur.p never moves past the terminating NUL.
 */
#include "fault_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

#define MAX_DUR_NS 1e18 /* about 31 years */

struct cur {
	const char *p;     /* next character */
	const char *line0; /* first character of the current line */
	int line;          /* 1-based */
	const char *item;  /* first character of the current item */
	fl_err *err;       /* the first error, or NULL */
};

static const char ACTIONS[] =
	"error, panic, sleep, delay, hang, stuck, slow, drop, dup, oom, yield, print, off";

/* ---- errors ---------------------------------------------------------------- */

/* Copies the current item (trimmed, at most 60 chars) into buf. */
static void item_text(const struct cur *c, char *buf, size_t cap)
{
	const char *s = c->item, *e = s;
	while (*e && *e != ';' && *e != '\n')
		e++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	size_t n = (size_t)(e - s);
	if (n > 60)
		snprintf(buf, cap, "%.57s...", s);
	else
		snprintf(buf, cap, "%.*s", (int)n, s);
}

/* Records an error at position at; returns false for `return fail(...)`. */
static bool fail(struct cur *c, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool fail(struct cur *c, const char *at, const char *fmt, ...)
{
	if (c->err)
		return false;
	char what[512], term[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	item_text(c, term, sizeof(term));
	c->err = fl_err_wrap(FL_ERR_INVAL, "plan:%d:%d: in term '%s': %s", c->line,
			     (int)(at - c->line0) + 1, term, what);
	return false;
}

/* ---- lexing ---------------------------------------------------------------- */

static void skip_ws(struct cur *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')
		c->p++;
}

/* Skips blanks, newlines and empty items (';'). */
static void skip_separators(struct cur *c)
{
	for (;; c->p++) {
		if (*c->p == '\n') {
			c->line++;
			c->line0 = c->p + 1;
		} else if (*c->p != ';' && !isspace((unsigned char)*c->p)) {
			return;
		}
	}
}

static bool is_ident_start(char ch) { return isalpha((unsigned char)ch) || ch == '_'; }

static bool is_ident(char ch) { return isalnum((unsigned char)ch) || ch == '_'; }

/* Reads an identifier; returns its length (0 if none). */
static size_t ident(struct cur *c, const char **start)
{
	*start = c->p;
	if (!is_ident_start(*c->p))
		return 0;
	while (is_ident(*c->p))
		c->p++;
	return (size_t)(c->p - *start);
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && memcmp(w, kw, n) == 0;
}

/* Expects the character ch after optional blanks. */
static bool expect(struct cur *c, char ch)
{
	skip_ws(c);
	if (*c->p == ch) {
		c->p++;
		return true;
	}
	return fail(c, c->p, "expected '%c'", ch);
}

/* ---- numbers and durations ------------------------------------------------- */

/* Reads digits[.digits] (or .digits) into *v; *is_int says there was no
 * fraction. A '.' not followed by a digit is left alone ("3..5"). */
static bool number(struct cur *c, double *v, bool *is_int, uint64_t *u)
{
	skip_ws(c);
	const char *s = c->p;
	uint64_t ip = 0;
	bool big = false;
	while (isdigit((unsigned char)*c->p)) {
		unsigned d = (unsigned)(*c->p++ - '0');
		big |= ip > (UINT64_MAX - d) / 10;
		ip = ip * 10 + d;
	}
	double frac = 0, scale = 1;
	*is_int = !(c->p[0] == '.' && isdigit((unsigned char)c->p[1]));
	if (!*is_int) {
		c->p++;
		while (isdigit((unsigned char)*c->p))
			frac += (*c->p++ - '0') * (scale /= 10);
	}
	if (c->p == s)
		return fail(c, s, "expected number");
	if (big)
		return fail(c, s, "expected number below 2^64");
	*v = (double)ip + frac;
	if (u)
		*u = ip;
	return true;
}

/* Reads an unsigned integer (decimal, or 0x-hex when hex is set). */
static bool uinteger(struct cur *c, uint64_t *out, bool hex)
{
	skip_ws(c);
	if (hex && c->p[0] == '0' && (c->p[1] == 'x' || c->p[1] == 'X')) {
		const char *s = c->p += 2;
		uint64_t v = 0;
		while (isxdigit((unsigned char)*c->p) && c->p - s < 16) {
			int ch = tolower((unsigned char)*c->p++);
			v = v * 16 + (uint64_t)(isdigit(ch) ? ch - '0' : ch - 'a' + 10);
		}
		if (c->p == s || isxdigit((unsigned char)*c->p))
			return fail(c, s, "expected up to 16 hex digits");
		*out = v;
		return true;
	}
	double d;
	bool is_int;
	const char *s = c->p;
	if (!number(c, &d, &is_int, out))
		return false;
	return is_int || fail(c, s, "expected integer");
}

static const struct {
	const char *name;
	double ns;
} UNITS[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};

/* Reads a duration: number then a unit (ns, us, ms, s, m, h), as job files. */
static bool duration(struct cur *c, int64_t *out)
{
	double v;
	bool is_int;
	skip_ws(c);
	const char *s = c->p;
	if (!isdigit((unsigned char)*s) && *s != '.')
		return fail(c, s, "expected duration (e.g. 5ms; units ns, us, ms, s, m, h)");
	if (!number(c, &v, &is_int, NULL))
		return false;
	const char *u;
	size_t n = ident(c, &u);
	for (size_t i = 0; i < sizeof(UNITS) / sizeof(UNITS[0]); i++) {
		if (!word_is(u, n, UNITS[i].name))
			continue;
		if (v * UNITS[i].ns > MAX_DUR_NS)
			return fail(c, s, "expected duration of at most 1e18ns");
		*out = (int64_t)(v * UNITS[i].ns + 0.5);
		return true;
	}
	return fail(c, u, "expected duration unit (ns, us, ms, s, m, h)");
}

/* Reads a positive real (slow factor, sigma, alpha). */
static bool positive(struct cur *c, double *out, bool allow_zero)
{
	bool is_int;
	skip_ws(c);
	const char *s = c->p;
	if (!number(c, out, &is_int, NULL))
		return false;
	if (*out > 0 || (allow_zero && *out == 0))
		return true;
	return fail(c, s, "expected number %s 0", allow_zero ? ">=" : ">");
}

/* ---- modifiers -------------------------------------------------------------- */

/* Marks modifier m present; rejects a second one. */
static bool once(struct cur *c, fl__fault_term *t, unsigned m, const char *at, const char *name)
{
	if (t->mods & m)
		return fail(c, at, "expected each modifier once ('%s' given twice)", name);
	t->mods |= m;
	return true;
}

/* "@N" or "@N..M": the '@' is consumed. */
static bool mod_at(struct cur *c, fl__fault_term *t, const char *at)
{
	if (!once(c, t, FL__FAULT_M_AT, at, "@") || !uinteger(c, &t->at_lo, false))
		return false;
	if (t->at_lo == 0)
		return fail(c, at + 1, "expected evaluation index >= 1 (indexes are 1-based)");
	t->at_hi = t->at_lo;
	if (c->p[0] != '.' || c->p[1] != '.')
		return true;
	c->p += 2;
	const char *s = c->p;
	if (!uinteger(c, &t->at_hi, false))
		return false;
	return t->at_hi >= t->at_lo ||
	       fail(c, s, "expected range end >= %llu", (unsigned long long)t->at_lo);
}

/* "items(a..b)" or "items(a)": after the word. */
static bool mod_items(struct cur *c, fl__fault_term *t)
{
	uint64_t lo, hi;
	if (!expect(c, '(') || !uinteger(c, &lo, false))
		return false;
	hi = lo;
	skip_ws(c);
	if (c->p[0] == '.' && c->p[1] == '.') {
		c->p += 2;
		const char *s = c->p;
		if (!uinteger(c, &hi, false))
			return false;
		if (hi < lo)
			return fail(c, s, "expected range end >= %llu", (unsigned long long)lo);
	}
	if (hi > INT64_MAX)
		return fail(c, c->p, "expected item index below 2^63");
	t->item_lo = (int64_t)lo;
	t->item_hi = (int64_t)hi;
	return expect(c, ')');
}

/* "every(N)", "after(d)", "until(d)": after the word. */
static bool mod_paren(struct cur *c, fl__fault_term *t, unsigned m)
{
	if (!expect(c, '('))
		return false;
	if (m == FL__FAULT_M_EVERY) {
		const char *s = c->p;
		if (!uinteger(c, &t->every, false))
			return false;
		if (t->every == 0)
			return fail(c, s, "expected every(N) with N >= 1");
	} else {
		int64_t *w = m == FL__FAULT_M_AFTER ? &t->after_ns : &t->until_ns;
		if (!duration(c, w))
			return false;
	}
	return expect(c, ')');
}

/* A number followed by '%' (probability) or '*' (count). */
static bool mod_number(struct cur *c, fl__fault_term *t)
{
	const char *s = c->p;
	double v;
	bool is_int;
	uint64_t u;
	if (!number(c, &v, &is_int, &u))
		return false;
	if (*c->p == '%') {
		c->p++;
		if (!once(c, t, FL__FAULT_M_PCT, s, "%"))
			return false;
		if (v > 100)
			return fail(c, s, "expected percentage between 0 and 100");
		t->pct_always = v >= 100;
		if (!t->pct_always)
			t->pct_threshold = (uint64_t)(v / 100 * 18446744073709551616.0);
		return true;
	}
	if (*c->p == '*') {
		c->p++;
		if (!once(c, t, FL__FAULT_M_CNT, s, "*"))
			return false;
		t->cnt = u;
		return is_int || fail(c, s, "expected integer count before '*'");
	}
	return fail(c, c->p, "expected '%%' or '*' after a number");
}

static const struct {
	const char *name;
	unsigned mod;
} MODS[] = {{"every", FL__FAULT_M_EVERY},
	    {"after", FL__FAULT_M_AFTER},
	    {"until", FL__FAULT_M_UNTIL},
	    {"items", FL__FAULT_M_ITEMS},
	    {"peritem", FL__FAULT_M_PERITEM}};

/* A keyword modifier; returns 0 if w is not one, 1 on success, -1 on error. */
static int mod_word(struct cur *c, fl__fault_term *t, const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(MODS) / sizeof(MODS[0]); i++) {
		if (!word_is(w, n, MODS[i].name))
			continue;
		unsigned m = MODS[i].mod;
		if (!once(c, t, m, w, MODS[i].name))
			return -1;
		if (m == FL__FAULT_M_PERITEM)
			return 1;
		bool ok = m == FL__FAULT_M_ITEMS ? mod_items(c, t) : mod_paren(c, t, m);
		return ok ? 1 : -1;
	}
	return 0;
}

/* ---- actions ---------------------------------------------------------------- */

static const char *const ACTION_NAMES[FL_FAULT_NACTIONS] = {
	[FL_FAULT_ACT_OFF] = "off",     [FL_FAULT_ACT_ERROR] = "error",
	[FL_FAULT_ACT_PANIC] = "panic", [FL_FAULT_ACT_SLEEP] = "sleep",
	[FL_FAULT_ACT_DELAY] = "delay", [FL_FAULT_ACT_HANG] = "hang",
	[FL_FAULT_ACT_STUCK] = "stuck", [FL_FAULT_ACT_SLOW] = "slow",
	[FL_FAULT_ACT_DROP] = "drop",   [FL_FAULT_ACT_DUP] = "dup",
	[FL_FAULT_ACT_OOM] = "oom",     [FL_FAULT_ACT_YIELD] = "yield",
	[FL_FAULT_ACT_PRINT] = "print",
};

const char *fl_fault_action_name(enum fl_fault_action a)
{
	return (unsigned)a < FL_FAULT_NACTIONS ? ACTION_NAMES[a] : "?";
}

/* "(name)" of error(...). */
static bool act_error(struct cur *c, fl__fault_term *t)
{
	if (!expect(c, '('))
		return false;
	skip_ws(c);
	const char *w;
	size_t n = ident(c, &w);
	if (n == 0)
		return fail(c, w, "expected error name");
	t->err = fl__fault_error_lookup(w, n);
	if (!t->err)
		return fail(c, w,
			    "unknown error name '%.*s' (expected canceled, deadline, nomem, "
			    "closed, limit, inval, again, misuse, panic, system, or a name "
			    "registered before arming with fl_fault_register_error(\"%.*s\", "
			    "sentinel))",
			    (int)n, w, (int)n, w);
	t->text = fl__strndup(w, n);
	if (!t->text)
		return fail(c, w, "out of memory");
	return expect(c, ')');
}

/* Optional "(message)" of panic and print: any text but ')', ';', newline. */
static bool act_message(struct cur *c, fl__fault_term *t)
{
	skip_ws(c);
	if (*c->p != '(')
		return true;
	const char *s = ++c->p;
	while (*c->p && *c->p != ')' && *c->p != ';' && *c->p != '\n')
		c->p++;
	if (*c->p != ')')
		return fail(c, c->p, "expected ')' to end the message");
	t->text = fl__strndup(s, (size_t)(c->p - s));
	c->p++;
	return t->text != NULL || fail(c, s, "out of memory");
}

/* A named distribution's arguments, after the name. */
static bool dist_args(struct cur *c, fl__fault_dist *d)
{
	if (!expect(c, '(') || !duration(c, &d->a_ns))
		return false;
	if (d->kind == FL__FAULT_EXP)
		return expect(c, ')');
	if (!expect(c, ','))
		return false;
	if (d->kind == FL__FAULT_UNIFORM) {
		const char *s = c->p;
		if (!duration(c, &d->b_ns))
			return false;
		if (d->b_ns < d->a_ns)
			return fail(c, s, "expected uniform(a,b) with b >= a");
	} else if (!positive(c, &d->shape, d->kind == FL__FAULT_LOGNORMAL)) {
		return false;
	}
	return expect(c, ')');
}

/* A distribution: a duration or uniform/exp/lognormal/pareto(...), then an
 * optional "~jitter". */
static bool dist(struct cur *c, fl__fault_dist *d)
{
	static const char *const names[] = {"uniform", "exp", "lognormal", "pareto"};
	static const enum fl__fault_dist_kind kinds[] = {FL__FAULT_UNIFORM, FL__FAULT_EXP,
							 FL__FAULT_LOGNORMAL, FL__FAULT_PARETO};
	skip_ws(c);
	const char *w;
	size_t n = ident(c, &w);
	d->kind = FL__FAULT_FIXED;
	for (size_t i = 0; n && i < 4; i++)
		if (word_is(w, n, names[i]))
			d->kind = kinds[i];
	if (n && d->kind == FL__FAULT_FIXED)
		return fail(c, w,
			    "expected distribution (a duration, uniform, exp, lognormal "
			    "or pareto)");
	if (!(d->kind == FL__FAULT_FIXED ? duration(c, &d->a_ns) : dist_args(c, d)))
		return false;
	skip_ws(c);
	if (*c->p == '~') {
		c->p++;
		return duration(c, &d->jitter_ns);
	}
	return true;
}

/* "(duration)" of delay and stuck. */
static bool act_duration(struct cur *c, fl__fault_term *t)
{
	t->dist.kind = FL__FAULT_FIXED;
	return expect(c, '(') && duration(c, &t->dist.a_ns) && expect(c, ')');
}

/* The arguments of action a, after its name. */
static bool act_args(struct cur *c, fl__fault_term *t)
{
	switch (t->action) {
	case FL_FAULT_ACT_ERROR: return act_error(c, t);
	case FL_FAULT_ACT_PANIC:
	case FL_FAULT_ACT_PRINT: return act_message(c, t);
	case FL_FAULT_ACT_SLEEP: return expect(c, '(') && dist(c, &t->dist) && expect(c, ')');
	case FL_FAULT_ACT_DELAY:
	case FL_FAULT_ACT_STUCK: return act_duration(c, t);
	case FL_FAULT_ACT_SLOW:
		return expect(c, '(') && positive(c, &t->factor, false) && expect(c, ')');
	default: return true;
	}
}

/* ---- terms, rules, plans ---------------------------------------------------- */

/* Modifiers then an action. */
static bool term(struct cur *c, fl__fault_term *t)
{
	for (;;) {
		skip_ws(c);
		const char *at = c->p;
		if (*at == '@') {
			c->p++;
			if (!mod_at(c, t, at))
				return false;
			continue;
		}
		if (isdigit((unsigned char)*at) || *at == '.') {
			if (!mod_number(c, t))
				return false;
			continue;
		}
		const char *w;
		size_t n = ident(c, &w);
		int r = n ? mod_word(c, t, w, n) : 0;
		if (r < 0)
			return false;
		if (r > 0)
			continue;
		for (int a = 0; n && a < FL_FAULT_NACTIONS; a++) {
			if (word_is(w, n, ACTION_NAMES[a])) {
				t->action = (enum fl_fault_action)a;
				return act_args(c, t);
			}
		}
		return fail(c, at, "expected action name (%s)", ACTIONS);
	}
}

/* Grows *arr (of elements of size sz) so that it can hold n + 1. */
static bool grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *p = fl__realloc(*(void **)arr, ncap * sz);
	if (!p)
		return false;
	memset((char *)p + *cap * sz, 0, (ncap - *cap) * sz);
	*(void **)arr = p;
	*cap = ncap;
	return true;
}

/* term { "->" term } into r. */
static bool terms(struct cur *c, fl__fault_rule *r)
{
	size_t cap = 0;
	for (;;) {
		if (!grow(&r->terms, &cap, r->nterms, sizeof(*r->terms)))
			return fail(c, c->p, "out of memory");
		fl__fault_term *t = &r->terms[r->nterms++];
		t->after_ns = t->until_ns = -1;
		if (!term(c, t))
			return false;
		r->peritem |= (t->mods & FL__FAULT_M_PERITEM) != 0;
		skip_ws(c);
		if (c->p[0] != '-' || c->p[1] != '>')
			break;
		c->p += 2;
	}
	if (*c->p == ';' || *c->p == '\n' || *c->p == '\0')
		return true;
	return fail(c, c->p, "expected '->', ';' or end of plan");
}

static bool is_pattern(char ch)
{
	return isalnum((unsigned char)ch) || strchr("_.:/-*", ch) != NULL;
}

/* The point pattern of an item. */
static bool pattern(struct cur *c, fl__fault_rule *r)
{
	const char *s = c->p;
	while (*c->p && is_pattern(*c->p)) {
		if (c->p[0] == '*' && c->p[1] == '*' && c->p[2] == '*')
			return fail(c, c->p, "expected at most two '*' in a row");
		c->p++;
	}
	if (c->p == s)
		return fail(c, s, "expected point name or 'seed'");
	r->pattern = fl__strndup(s, (size_t)(c->p - s));
	return r->pattern != NULL || fail(c, s, "out of memory");
}

/* "seed=N", after the word. */
static bool seed_item(struct cur *c, fl__fault_spec *spec)
{
	if (!expect(c, '='))
		return false;
	if (!uinteger(c, &spec->seed, true))
		return false;
	spec->has_seed = true;
	skip_ws(c);
	if (*c->p == ';' || *c->p == '\n' || *c->p == '\0')
		return true;
	return fail(c, c->p, "expected ';' or end of plan after the seed");
}

/* One item: "seed=N" or pattern=terms. */
static bool item(struct cur *c, fl__fault_spec *spec, size_t *cap)
{
	const char *w = c->p;
	while (is_ident(*c->p))
		c->p++;
	const char *after = c->p;
	skip_ws(c);
	if (word_is(w, (size_t)(after - w), "seed") && *c->p == '=')
		return seed_item(c, spec);
	c->p = w;
	if (!grow(&spec->rules, cap, spec->nrules, sizeof(*spec->rules)))
		return fail(c, w, "out of memory");
	fl__fault_rule *r = &spec->rules[spec->nrules++];
	if (!pattern(c, r) || !expect(c, '='))
		return false;
	return terms(c, r);
}

fl_err *fl__fault_parse(const char *text, fl__fault_spec *out)
{
	memset(out, 0, sizeof(*out));
	if (!text)
		return fl_err_wrap(FL_ERR_INVAL, "plan: NULL text");
	struct cur c = {.p = text, .line0 = text, .line = 1, .item = text};
	size_t cap = 0;
	for (;;) {
		skip_separators(&c);
		if (*c.p == '\0')
			return NULL;
		c.item = c.p;
		if (!item(&c, out, &cap))
			break;
	}
	fl__fault_spec_destroy(out);
	return c.err;
}

void fl__fault_spec_destroy(fl__fault_spec *spec)
{
	for (size_t i = 0; i < spec->nrules; i++) {
		fl__fault_rule *r = &spec->rules[i];
		for (size_t j = 0; j < r->nterms; j++)
			free(r->terms[j].text);
		free(r->terms);
		free(r->pattern);
	}
	free(spec->rules);
	memset(spec, 0, sizeof(*spec));
}

fl_err *fl_fault_check(const char *text)
{
	fl__fault_spec spec;
	fl_err *e = fl__fault_parse(text, &spec);
	fl__fault_spec_destroy(&spec);
	return e;
}

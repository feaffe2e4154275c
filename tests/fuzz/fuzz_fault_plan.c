/*
 * fuzz_fault_plan.c - libFuzzer target for the fault-plan parser and globs.
 *
 * Standalone: it needs only faults/src/parse.c, faults/src/names.c and the
 * runtime's err.c and sync.c (tests/fuzz/run.sh builds it with clang
 * -fsanitize=fuzzer,address,undefined). For every input:
 *   - the parser either fails with an FL_ERR_INVAL error whose message
 *     starts "plan:<line>:<col>: in term '" with a column inside the
 *     input's line, or returns a spec whose fields satisfy the grammar's
 *     invariants (ranges ordered, indexes 1-based, shapes positive...);
 *   - the glob matcher, fed "pattern\nname" from the input, agrees with a
 *     naive backtracking matcher (on short strings, where that is cheap).
 */
#include "fault_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static void check_term(const fl__fault_term *t)
{
	must((unsigned)t->action < FL_FAULT_NACTIONS, "action in range");
	if (t->mods & FL__FAULT_M_AT)
		must(t->at_lo >= 1 && t->at_lo <= t->at_hi, "@N..M ordered, 1-based");
	if (t->mods & FL__FAULT_M_EVERY)
		must(t->every >= 1, "every >= 1");
	if (t->mods & FL__FAULT_M_ITEMS)
		must(t->item_lo >= 0 && t->item_lo <= t->item_hi, "items ordered");
	must(!(t->mods & FL__FAULT_M_AFTER) || t->after_ns >= 0, "after >= 0");
	must(!(t->mods & FL__FAULT_M_UNTIL) || t->until_ns >= 0, "until >= 0");
	must(t->action != FL_FAULT_ACT_ERROR || (t->err && t->text), "error has a sentinel");
	must(t->dist.a_ns >= 0 && t->dist.jitter_ns >= 0, "durations >= 0");
	if (t->dist.kind == FL__FAULT_UNIFORM)
		must(t->dist.b_ns >= t->dist.a_ns, "uniform ordered");
	if (t->dist.kind == FL__FAULT_PARETO)
		must(t->dist.shape > 0, "pareto alpha > 0");
	if (t->action == FL_FAULT_ACT_SLOW)
		must(t->factor > 0, "slow factor > 0");
}

static void check_error(const fl_err *e, const char *text)
{
	must(fl_err_is(e, FL_ERR_INVAL), "parse errors match FL_ERR_INVAL");
	const char *m = fl_err_msg(e);
	int line = 0, col = 0, n = 0;
	must(sscanf(m, "plan:%d:%d: in term '%n", &line, &col, &n) == 2 && n > 0,
	     "message names line and column");
	const char *l = text;
	for (int i = 1; i < line; i++) {
		l = strchr(l, '\n');
		must(l != NULL, "line inside the input");
		l++;
	}
	const char *eol = strchr(l, '\n');
	size_t len = eol ? (size_t)(eol - l) : strlen(l);
	must(col >= 1 && (size_t)col <= len + 1, "column inside the line");
}

/* The reference matcher: plain backtracking (exponential, so short input). */
static bool naive(const char *p, const char *s)
{
	if (!*p)
		return !*s;
	if (p[0] == '*' && p[1] == '*') {
		if (p[2] == '/' && naive(p + 3, s))
			return true;
		for (const char *t = s;; t++) {
			if (naive(p + 2, t))
				return true;
			if (!*t)
				return false;
		}
	}
	if (p[0] == '*') {
		for (const char *t = s;; t++) {
			if (naive(p + 1, t))
				return true;
			if (!*t || *t == '/')
				return false;
		}
	}
	return *s && *s == *p && naive(p + 1, s + 1);
}

static void check_glob(const char *text)
{
	const char *nl = strchr(text, '\n');
	if (!nl)
		return;
	size_t pl = (size_t)(nl - text);
	if (pl > 12 || strlen(nl + 1) > 16)
		return;
	char pat[16];
	memcpy(pat, text, pl);
	pat[pl] = '\0';
	must(fl__fault_glob(pat, nl + 1) == naive(pat, nl + 1), "glob agrees with reference");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fl__fault_spec spec;
	fl_err *e = fl__fault_parse(text, &spec);
	if (e) {
		check_error(e, text);
		must(spec.nrules == 0 && spec.rules == NULL, "failed parse leaves nothing");
		fl_err_drop(e);
	}
	for (size_t i = 0; i < spec.nrules; i++) {
		must(spec.rules[i].nterms >= 1, "a rule has a term");
		for (size_t j = 0; j < spec.rules[i].nterms; j++)
			check_term(&spec.rules[i].terms[j]);
		(void)fl__fault_glob(spec.rules[i].pattern, text);
	}
	fl__fault_spec_destroy(&spec);
	check_glob(text);
	free(text);
	return 0;
}

/*
 * describe.c - a parsed plan handed out term by term (fl_fault_describe),
 * with the glob and the draw, for tools that execute plans where the fault
 * library does not run (faultline wrap's preloaded library).
 */
#include "fault_internal.h"

_Static_assert((int)FL_FAULT_MOD_AT == (int)FL__FAULT_M_AT &&
		       (int)FL_FAULT_MOD_EVERY == (int)FL__FAULT_M_EVERY &&
		       (int)FL_FAULT_MOD_AFTER == (int)FL__FAULT_M_AFTER &&
		       (int)FL_FAULT_MOD_UNTIL == (int)FL__FAULT_M_UNTIL &&
		       (int)FL_FAULT_MOD_ITEMS == (int)FL__FAULT_M_ITEMS &&
		       (int)FL_FAULT_MOD_PERITEM == (int)FL__FAULT_M_PERITEM &&
		       (int)FL_FAULT_MOD_PCT == (int)FL__FAULT_M_PCT &&
		       (int)FL_FAULT_MOD_CNT == (int)FL__FAULT_M_CNT,
	       "public and private modifier bits agree");
_Static_assert((int)FL_FAULT_DIST_FIXED == (int)FL__FAULT_FIXED &&
		       (int)FL_FAULT_DIST_UNIFORM == (int)FL__FAULT_UNIFORM &&
		       (int)FL_FAULT_DIST_EXP == (int)FL__FAULT_EXP &&
		       (int)FL_FAULT_DIST_LOGNORMAL == (int)FL__FAULT_LOGNORMAL &&
		       (int)FL_FAULT_DIST_PARETO == (int)FL__FAULT_PARETO,
	       "public and private distribution kinds agree");

static void fill(const fl__fault_rule *r, size_t ri, size_t ti, fl_fault_term_desc *d)
{
	const fl__fault_term *t = &r->terms[ti];
	*d = (fl_fault_term_desc){
		.pattern = r->pattern,
		.rule = ri,
		.term = ti,
		.action = t->action,
		.mods = t->mods,
		.at_lo = t->at_lo,
		.at_hi = t->at_hi,
		.every = t->every,
		.cnt = t->cnt,
		.pct_threshold = t->pct_threshold,
		.pct_always = t->pct_always,
		.text = t->text,
		.dist_kind = (int)t->dist.kind,
		.dist_a_ns = t->dist.a_ns,
		.dist_b_ns = t->dist.b_ns,
		.dist_jitter_ns = t->dist.jitter_ns,
		.dist_shape = t->dist.shape,
		.factor = t->factor,
	};
}

fl_err *fl_fault_describe(const char *text, fl_err *(*fn)(void *arg, const fl_fault_term_desc *t),
			  void *arg, uint64_t *seed, bool *has_seed)
{
	fl__fault_spec spec;
	fl_err *e = fl__fault_parse(text, &spec);
	if (e)
		return e;
	if (seed)
		*seed = spec.seed;
	if (has_seed)
		*has_seed = spec.has_seed;
	for (size_t i = 0; i < spec.nrules && !e; i++) {
		for (size_t j = 0; j < spec.rules[i].nterms && !e; j++) {
			fl_fault_term_desc d;
			fill(&spec.rules[i], i, j, &d);
			e = fn(arg, &d);
		}
	}
	fl__fault_spec_destroy(&spec);
	return e;
}

bool fl_fault_pattern_match(const char *pattern, const char *name)
{
	return fl__fault_glob(pattern, name);
}

uint64_t fl_fault_draw(uint64_t seed, uint64_t stream, uint64_t index, uint64_t draw)
{
	return fl__fault_mix64(fl__fault_mix64(fl__fault_mix64(seed ^ stream) + index) + draw);
}

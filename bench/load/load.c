/*
 * load.c - the load model's pieces: durations, service-time distributions,
 * rate schedules, and the arrival sequence both clocks share.
 *
 * Every random number is a pure function of (seed, stream, index) through
 * a splitmix64 finaliser, so the virtual clock, the real clock, shards and
 * repetitions all draw the same values for the same item, whatever order
 * the items are processed in. Stream 0 is the arrivals; stream s >= 1 is
 * the service time at stage s.
 */
#include <fl/bench.h>

#include "load_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t fl__bench_mix(uint64_t seed, uint64_t stream, uint64_t i)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL ^ (stream + 1) * 0xc2b2ae3d27d4eb4fULL ^
		     (i + 1) * 0x165667b19e3779f9ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double fl__bench_unit(uint64_t seed, uint64_t stream, uint64_t i)
{
	/* 53 bits into (0, 1): never 0, so log() is finite. */
	return ((double)(fl__bench_mix(seed, stream, i) >> 11) + 0.5) * 0x1.0p-53;
}

/* ---- durations ------------------------------------------------------------------ */

fl_err *fl_bench_parse_duration(const char *what, const char *text, int64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	double mul = 1e9;
	if (end != text) {
		if (strcmp(end, "ns") == 0)
			mul = 1;
		else if (strcmp(end, "us") == 0)
			mul = 1e3;
		else if (strcmp(end, "ms") == 0)
			mul = 1e6;
		else if (strcmp(end, "s") == 0 || *end == '\0')
			mul = 1e9;
		else
			end = (char *)text;
	}
	if (errno || end == text || !(v >= 0) || v * mul > 9e18)
		return fl_err_wrap(FL_ERR_INVAL, "%s: not a duration: '%s' (e.g. 250us, 2ms, 5s)",
				   what, text);
	*ns = (int64_t)llround(v * mul);
	return NULL;
}

/* ---- distributions ----------------------------------------------------------- */

static const struct {
	const char *name;
	enum fl_bench_dist_kind kind;
	int nargs;
} dists[] = {
	{"const", FL_BENCH_CONST, 1},
	{"exp", FL_BENCH_EXP, 1},
	{"lognormal", FL_BENCH_LOGNORMAL, 2},
	{"uniform", FL_BENCH_UNIFORM, 2},
};

fl_err *fl_bench_dist_parse(const char *text, fl_bench_dist *out)
{
	const char *open = strchr(text, '(');
	size_t len = strlen(text);
	if (!open || len < 3 || text[len - 1] != ')')
		goto bad;
	for (size_t k = 0; k < sizeof(dists) / sizeof(dists[0]); k++) {
		if (strlen(dists[k].name) != (size_t)(open - text) ||
		    strncmp(text, dists[k].name, (size_t)(open - text)) != 0)
			continue;
		char args[128];
		size_t alen = len - (size_t)(open - text) - 2;
		if (alen >= sizeof(args))
			goto bad;
		memcpy(args, open + 1, alen);
		args[alen] = '\0';
		char *comma = strchr(args, ',');
		if ((dists[k].nargs == 2) != (comma != NULL))
			goto bad;
		if (comma)
			*comma = '\0';
		int64_t a, b = 0;
		fl_err *e = fl_bench_parse_duration("--service", args, &a);
		if (e)
			return e;
		if (dists[k].kind == FL_BENCH_LOGNORMAL) {
			char *end;
			double sigma = strtod(comma + 1, &end);
			if (end == comma + 1 || *end || !(sigma >= 0) || sigma > 5)
				goto bad;
			*out = (fl_bench_dist){dists[k].kind, (double)a, sigma};
			return NULL;
		}
		if (comma && (e = fl_bench_parse_duration("--service", comma + 1, &b)))
			return e;
		if (dists[k].kind == FL_BENCH_UNIFORM && b < a)
			goto bad;
		*out = (fl_bench_dist){dists[k].kind, (double)a, (double)b};
		return NULL;
	}
bad:
	return fl_err_wrap(FL_ERR_INVAL,
			   "--service: cannot parse '%s' (expected const(D), exp(MEAN), "
			   "lognormal(MEDIAN,SIGMA) or uniform(LO,HI))",
			   text);
}

int64_t fl_bench_dist_draw(const fl_bench_dist *d, uint64_t seed, uint64_t stream, uint64_t i)
{
	double u = fl__bench_unit(seed, stream, 2 * i), v;
	switch (d->kind) {
	case FL_BENCH_EXP: v = -d->a * log(u); break;
	case FL_BENCH_LOGNORMAL: {
		double u2 = fl__bench_unit(seed, stream, 2 * i + 1);
		v = d->a * exp(d->b * sqrt(-2 * log(u)) * cos(2 * M_PI * u2));
		break;
	}
	case FL_BENCH_UNIFORM: v = d->a + u * (d->b - d->a); break;
	default: v = d->a;
	}
	return v > 1e15 ? (int64_t)1e15 : (int64_t)llround(v);
}

double fl_bench_dist_mean(const fl_bench_dist *d)
{
	switch (d->kind) {
	case FL_BENCH_LOGNORMAL: return d->a * exp(d->b * d->b / 2);
	case FL_BENCH_UNIFORM: return (d->a + d->b) / 2;
	default: return d->a;
	}
}

/* ---- schedules ----------------------------------------------------------------- */

void fl_bench_schedule_const(fl_bench_schedule *s, double rate, int64_t dur_ns)
{
	s->n = 1;
	s->seg[0] = (fl_bench_segment){rate, rate, dur_ns};
}

static fl_err *segment_parse(const char *seg, fl_bench_segment *out)
{
	char buf[96];
	if (strlen(seg) >= sizeof(buf))
		goto bad;
	strcpy(buf, seg);
	char *at = strchr(buf, '@');
	if (!at)
		goto bad;
	*at = '\0';
	char *end, *dots = strstr(buf, "..");
	if (dots)
		*dots = '\0'; /* "1000." would read as a number */
	double r0 = strtod(buf, &end);
	if (end == buf || *end != '\0')
		goto bad;
	double r1 = r0;
	if (dots) {
		r1 = strtod(dots + 2, &end);
		if (end == dots + 2 || *end)
			goto bad;
	}
	if (!(r0 > 0) || !(r1 > 0) || r0 > 1e8 || r1 > 1e8)
		goto bad;
	fl_err *e = fl_bench_parse_duration("--schedule", at + 1, &out->dur_ns);
	if (e)
		return e;
	if (out->dur_ns <= 0)
		goto bad;
	out->rate0 = r0;
	out->rate1 = r1;
	return NULL;
bad:
	return fl_err_wrap(FL_ERR_INVAL,
			   "--schedule: bad segment '%s' (expected RATE@DUR or RATE..RATE@DUR, "
			   "rates in (0, 1e8] items/s)",
			   seg);
}

fl_err *fl_bench_schedule_parse(const char *text, fl_bench_schedule *out)
{
	char buf[1024];
	if (strlen(text) >= sizeof(buf))
		return fl_err_wrap(FL_ERR_INVAL, "--schedule: too long");
	strcpy(buf, text);
	fl_bench_schedule s = {.n = 0};
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (s.n == FL_BENCH_MAX_SEGMENTS)
			return fl_err_wrap(FL_ERR_INVAL, "--schedule: more than %d segments",
					   FL_BENCH_MAX_SEGMENTS);
		fl_err *e = segment_parse(tok, &s.seg[s.n]);
		if (e)
			return e;
		s.n++;
	}
	if (s.n == 0)
		return fl_err_wrap(FL_ERR_INVAL, "--schedule: empty");
	*out = s;
	return NULL;
}

/* ---- options --------------------------------------------------------------------- */

void fl_bench_load_defaults(struct fl_bench_load_opts *o)
{
	memset(o, 0, sizeof(*o));
	fl_bench_schedule_const(&o->schedule, 1000, FL_BENCH_SEC(5));
	o->warmup_ns = FL_BENCH_SEC(1);
	o->stages = 1;
	o->workers = 1;
	o->buffer = 64;
	o->service = (fl_bench_dist){FL_BENCH_EXP, 50e3, 0};
	o->seed = 1;
}

fl_err *fl_bench_load_check(const struct fl_bench_load_opts *o)
{
	if (o->stages < 1 || o->stages > 64)
		return fl_err_wrap(FL_ERR_INVAL, "--stages: %d not in 1..64", o->stages);
	if (o->workers < 1 || o->workers > 4096)
		return fl_err_wrap(FL_ERR_INVAL, "--workers: %d not in 1..4096", o->workers);
	if (o->buffer < 0 || o->buffer > 1 << 24)
		return fl_err_wrap(FL_ERR_INVAL, "--buffer: %d not in 0..16777216", o->buffer);
	if (o->limit < 0)
		return fl_err_wrap(FL_ERR_INVAL, "--limit: %d is negative", o->limit);
	if (o->schedule.n == 0)
		return fl_err_wrap(FL_ERR_INVAL, "the rate schedule is empty");
	if (o->warmup_ns < 0 || o->max_items < 0 || o->interval_ns < 0)
		return fl_err_wrap(FL_ERR_INVAL, "negative --warmup, --items or interval");
	if (o->serve && o->virtual_clock)
		return fl_err_wrap(FL_ERR_INVAL,
				   "--clock virtual: a user load runs in real time, "
				   "which the virtual clock cannot measure (use --clock real)");
	if (o->timeout_ns < 0 || (o->timeout_ns > 0 && !o->serve))
		return fl_err_wrap(FL_ERR_INVAL, "--timeout: for a user load, and > 0");
	if (o->serve && o->stages != 1)
		return fl_err_wrap(FL_ERR_INVAL, "--stages: a user load is one stage, not %d",
				   o->stages);
	return NULL;
}

/* ---- arrivals -------------------------------------------------------------------- */

void fl__bench_arrivals_init(fl__bench_arrivals *a, const struct fl_bench_load_opts *o)
{
	memset(a, 0, sizeof(*a));
	a->o = o;
	a->end_ns = o->warmup_ns;
	for (size_t k = 0; k < o->schedule.n; k++)
		a->end_ns += o->schedule.seg[k].dur_ns;
}

/* The rate at offset t from the start (warm-up included). */
static double rate_at(const struct fl_bench_load_opts *o, int64_t t)
{
	const fl_bench_schedule *s = &o->schedule;
	if (t < o->warmup_ns)
		return s->seg[0].rate0;
	t -= o->warmup_ns;
	for (size_t k = 0; k < s->n; k++) {
		const fl_bench_segment *g = &s->seg[k];
		if (t < g->dur_ns)
			return g->rate0 + (g->rate1 - g->rate0) * (double)t / (double)g->dur_ns;
		t -= g->dur_ns;
	}
	return s->seg[s->n - 1].rate1;
}

bool fl__bench_arrivals_next(fl__bench_arrivals *a, int64_t *at_ns, bool *measured)
{
	const struct fl_bench_load_opts *o = a->o;
	int64_t t = a->next_ns;
	bool meas = t >= o->warmup_ns;
	if (meas && o->max_items > 0 ? a->measured >= o->max_items : t >= a->end_ns)
		return false;
	double gap = 1e9 / rate_at(o, t);
	if (o->poisson)
		gap *= -log(fl__bench_unit(o->seed, 0, a->index));
	a->index++;
	a->next_ns = t + (int64_t)llround(gap < 1 ? 1 : gap);
	if (meas)
		a->measured++;
	*at_ns = t;
	*measured = meas;
	return true;
}

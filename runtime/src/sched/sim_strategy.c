/*
 * sim_strategy.c - the sim backend's scheduling strategies: which of the
 * runnable tasks runs at each step.
 *
 * Problem: a uniformly random choice at every step finds shallow ordering
 * bugs and rarely the ones that need two or three specific preemptions.
 * The strategies, chosen per run (fl_sim_strategy, FAULTLINE_STRATEGY):
 *   - random: each step draws uniformly among the runnable tasks from the
 *     backend's generator; exactly the choices (and traces) the sim made
 *     before strategies existed.
 *   - pct:D (Burckhardt et al., ASPLOS 2010, as Coyote ships it): every
 *     task gets a random priority when it spawns and the highest-priority
 *     runnable task always runs; D-1 change points are drawn uniformly in
 *     [1, k], k the most steps an earlier run took (or the bound given);
 *     at a change point the task that would run drops below every other.
 *     A change point that comes with a single runnable task moves to the
 *     next step with a choice. A bug of depth D is hit with probability at
 *     least 1/(n k^(D-1)) per run, n the tasks.
 *     pct:auto:DMAX cycles the depth, 1 + seed mod DMAX, for when the
 *     bug's depth is unknown (iterative deepening).
 *   - pos (partial-order sampling, Yuan et al.; Fray, OOPSLA 2025): a task
 *     draws a fresh random priority each time it becomes runnable, and the
 *     highest runs.
 *   - dfs:P: every schedule with at most P preemptions, one per run
 *     (sim_dfs.c, which choose() hands the step to); schedule:PATH: the
 *     choices of a schedule file.
 * Priorities come from a generator of their own, seeded from the run's
 * seed, so the backend's generator (select, timer ties, fl_rand_u64) sees
 * the same draws under every strategy. Tasks are named by their per-run
 * sequence numbers (0 the root), which index the priority table.
 */
#include "sim_strategy_internal.h"
#include "sim_dfs_internal.h"
#include "sim_schedule_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_alloc_internal.h"

#define MAX_DEPTH 16
#define MAX_PREEMPTIONS 64
#define HIGH (1ull << 63) /* random priorities are at or above; lowered ones below */

static struct {
	fl__strat_spec spec;    /* as set */
	uint64_t k;             /* the step bound of the run under way */
	uint64_t max_steps;     /* most steps of a finished run */
	uint64_t steps;         /* steps in the run under way */
	uint64_t tasks;         /* tasks of the run under way, the root included */
	uint64_t rng;           /* priorities and change points */
	uint64_t cp[MAX_DEPTH]; /* change points, sorted */
	int ncp, cp_done;
	int depth;      /* PCT's depth for the run under way (pct:auto cycles it) */
	uint64_t low;   /* next lowered priority (counts down) */
	uint64_t *prio; /* by task seq */
	size_t cap;
	uint32_t *sched; /* schedule:PATH's decisions (owned) */
	size_t nsched, at;
	bool diverged;
	uint32_t last;        /* the task the previous step ran (0, the root, at begin) */
	uint64_t preemptions; /* steps that switched away from a still-runnable task */
} P = {.spec = {.kind = FL__STRAT_RANDOM, .depth = 3}};

static uint64_t next(void)
{
	uint64_t z = (P.rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t random_prio(void) { return next() | HIGH; }

static bool reserve(uint32_t seq)
{
	if (seq < P.cap)
		return true;
	size_t n = P.cap ? P.cap : 64;
	while (n <= seq)
		n *= 2;
	uint64_t *a = fl__realloc(P.prio, n * sizeof(*a));
	if (!a)
		return false;
	memset(a + P.cap, 0, (n - P.cap) * sizeof(*a));
	P.prio = a;
	P.cap = n;
	return true;
}

static bool parse_num(const char *s, const char *end, uint64_t *out)
{
	if (s == end)
		return false;
	uint64_t v = 0;
	for (const char *c = s; c < end; c++) {
		if (*c < '0' || *c > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	*out = v;
	return true;
}

/* "dfs" or "dfs:P". */
static fl_err *parse_dfs(const char *text, fl__strat_spec *s)
{
	uint64_t p = 2;
	if (text[3] && (text[3] != ':' || !parse_num(text + 4, text + strlen(text), &p) ||
			p > MAX_PREEMPTIONS))
		return fl_err_wrap(FL_ERR_INVAL,
				   "strategy '%s': expected dfs or dfs:P, P (preemptions) 0 to %d",
				   text, MAX_PREEMPTIONS);
	s->kind = FL__STRAT_DFS;
	s->depth = (int)p;
	return NULL;
}

/* After "pct:": "D", "D:K", "auto", "auto:DMAX" or "auto:DMAX:K". */
static fl_err *parse_pct(const char *text, const char *d, fl__strat_spec *s)
{
	bool autod = strncmp(d, "auto", 4) == 0 && (d[4] == 0 || d[4] == ':');
	if (autod) {
		s->autod = 3;
		if (!d[4])
			return NULL;
		d += 5;
	}
	const char *colon = strchr(d, ':');
	const char *dend = colon ? colon : d + strlen(d);
	uint64_t depth;
	if (!parse_num(d, dend, &depth) || depth < 1 || depth > MAX_DEPTH)
		return fl_err_wrap(FL_ERR_INVAL, "strategy '%s': depth '%.*s' is not 1 to %d", text,
				   (int)(dend - d), d, MAX_DEPTH);
	if (autod)
		s->autod = (int)depth;
	else
		s->depth = (int)depth;
	if (colon && !parse_num(colon + 1, colon + 1 + strlen(colon + 1), &s->steps))
		return fl_err_wrap(FL_ERR_INVAL,
				   "strategy '%s': step bound '%s' is not a whole number", text,
				   colon + 1);
	return NULL;
}

fl_err *fl__strat_parse(const char *text, fl__strat_spec *out)
{
	fl__strat_spec s = {.kind = FL__STRAT_RANDOM, .depth = 3};
	fl_err *err = NULL;
	if (text && strncmp(text, "schedule:", 9) == 0) {
		s.kind = FL__STRAT_FILE;
		err = fl__schedfile_load(text + 9, &s.sched, &s.nsched);
	} else if (!text || strcmp(text, "random") == 0 || strcmp(text, "pos") == 0) {
		s.kind = text && text[1] == 'o' ? FL__STRAT_POS : FL__STRAT_RANDOM;
	} else if (strncmp(text, "dfs", 3) == 0) {
		err = parse_dfs(text, &s);
	} else if (strncmp(text, "pct", 3) != 0 || (text[3] && text[3] != ':')) {
		err = fl_err_wrap(FL_ERR_INVAL,
				  "strategy '%s': expected random, pct, pct:D, pct:D:K, pct:auto, "
				  "pct:auto:DMAX, pos, dfs or dfs:P",
				  text);
	} else {
		s.kind = FL__STRAT_PCT;
		if (text[3])
			err = parse_pct(text, text + 4, &s);
	}
	if (!err)
		*out = s;
	return err;
}

void fl__strat_format(const fl__strat_spec *s, char *buf, size_t cap)
{
	if (s->kind == FL__STRAT_PCT && s->autod)
		snprintf(buf, cap, "pct:auto:%d:%" PRIu64, s->autod, s->steps);
	else if (s->kind == FL__STRAT_PCT)
		snprintf(buf, cap, "pct:%d:%" PRIu64, s->depth, s->steps);
	else if (s->kind == FL__STRAT_DFS)
		snprintf(buf, cap, "dfs:%d", s->depth);
	else
		snprintf(buf, cap, "%s",
			 s->kind == FL__STRAT_POS    ? "pos"
			 : s->kind == FL__STRAT_FILE ? "schedule"
						     : "random");
}

void fl__strat_set(const fl__strat_spec *spec)
{
	free(P.sched);
	P.sched = spec->sched;
	P.nsched = spec->nsched;
	P.spec = *spec;
	P.spec.sched = NULL;
	if (spec->kind == FL__STRAT_DFS)
		fl__dfs_reset((uint64_t)spec->depth);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void fl__strat_begin(uint64_t seed)
{
	if (P.steps > P.max_steps)
		P.max_steps = P.steps;
	P.steps = 0;
	P.tasks = 1;
	P.rng = seed ^ 0x5DEECE66Dull;
	P.low = HIGH - 1;
	P.k = P.spec.steps > P.max_steps ? P.spec.steps : P.max_steps;
	P.ncp = P.cp_done = 0;
	P.at = 0;
	P.diverged = false;
	P.last = 0;
	P.preemptions = 0;
	fl__schedfile_begin();
	/* pct:auto:DMAX: depth 1 + seed mod DMAX, so that consecutive seeds
	 * (explore's runs) give every depth its share. */
	P.depth = P.spec.autod ? 1 + (int)(seed % (uint64_t)P.spec.autod) : P.spec.depth;
	if (P.spec.kind == FL__STRAT_DFS)
		fl__dfs_begin();
	if (P.spec.kind == FL__STRAT_RANDOM || P.spec.kind == FL__STRAT_DFS)
		return;
	if (P.spec.kind == FL__STRAT_PCT && P.k > 0) {
		for (int i = 0; i < P.depth - 1; i++)
			P.cp[P.ncp++] = 1 + next() % P.k;
		qsort(P.cp, (size_t)P.ncp, sizeof(P.cp[0]), cmp_u64);
	}
	if (reserve(0))
		P.prio[0] = random_prio();
}

void fl__strat_current(fl__strat_spec *out)
{
	*out = P.spec;
	out->steps = P.spec.kind == FL__STRAT_PCT ? P.k : 0;
	if (P.spec.kind == FL__STRAT_PCT) {
		out->depth = P.depth; /* pct:auto's run: the depth it drew */
		out->autod = 0;
	}
}

bool fl__strat_spawned(uint32_t seq)
{
	if (seq + 1u > P.tasks)
		P.tasks = seq + 1u;
	if (P.spec.kind == FL__STRAT_RANDOM)
		return true;
	if (!reserve(seq))
		return false;
	P.prio[seq] = random_prio();
	return true;
}

void fl__strat_ready(uint32_t seq)
{
	if (P.spec.kind == FL__STRAT_POS && seq < P.cap)
		P.prio[seq] = random_prio();
}

static uint64_t prio_of(uint32_t seq) { return seq < P.cap ? P.prio[seq] : 0; }

static size_t highest(const uint32_t *seq, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (prio_of(seq[i]) > prio_of(seq[best]))
			best = i;
	return best;
}

/* schedule:PATH: the task the file names for this step; past its end, or
 * when that task is not runnable (the program changed), the first one. */
static size_t from_file(const uint32_t *seq, size_t n)
{
	if (P.at < P.nsched) {
		uint32_t want = P.sched[P.at++];
		for (size_t i = 0; i < n; i++)
			if (seq[i] == want)
				return i;
	}
	if (!P.diverged)
		fprintf(stderr,
			"faultline sim: the schedule file %s at step %" PRIu64
			"; the run goes on without it\n",
			P.at <= P.nsched && P.at > 0 ? "names a task that is not runnable"
						     : "has no more steps",
			P.steps);
	P.diverged = true;
	return 0;
}

static bool runnable(const uint32_t *seq, size_t n, uint32_t task, size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (seq[i] == task) {
			*at = i;
			return true;
		}
	return false;
}

static size_t choose(const uint32_t *seq, size_t n, uint64_t (*pick)(uint64_t))
{
	if (P.spec.kind == FL__STRAT_RANDOM)
		return (size_t)pick(n);
	if (P.spec.kind == FL__STRAT_FILE)
		return from_file(seq, n);
	if (P.spec.kind == FL__STRAT_DFS) {
		size_t at;
		return fl__dfs_choose(seq, n, fl__strat_default(seq, n),
				      runnable(seq, n, P.last, &at), P.preemptions);
	}
	/* PCT's change points due by this step, when there is a choice. */
	while (n > 1 && P.cp_done < P.ncp && P.cp[P.cp_done] <= P.steps) {
		uint32_t top = seq[highest(seq, n)];
		if (top < P.cap)
			P.prio[top] = P.low--;
		P.cp_done++;
	}
	return highest(seq, n);
}

size_t fl__strat_default(const uint32_t *seq, size_t n)
{
	size_t i = 0;
	if (runnable(seq, n, P.last, &i))
		return i;
	for (size_t j = 1; j < n; j++)
		if (seq[j] < seq[i])
			i = j;
	return i;
}

size_t fl__strat_choose(const uint32_t *seq, size_t n, uint64_t (*pick)(uint64_t))
{
	P.steps++;
	size_t i = choose(seq, n, pick), at;
	if (seq[i] != P.last && runnable(seq, n, P.last, &at))
		P.preemptions++;
	P.last = seq[i];
	fl__schedfile_step(seq[i]);
	return i;
}

bool fl__strat_exhausted(void) { return P.spec.kind == FL__STRAT_DFS && fl__dfs_exhausted(); }

uint64_t fl__strat_preemptions(void) { return P.preemptions; }

uint64_t fl__strat_steps(void) { return P.steps; }

uint64_t fl__strat_tasks(void) { return P.tasks; }

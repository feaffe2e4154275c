/*
 * sim_dfs.c - the dfs strategy: every schedule of a program with at most
 * P preemptions, one per run, depth first (as loom and Shuttle do).
 *
 * Problem: random and PCT sample schedules, so they cannot say that none
 * is left; for a small scenario the schedules within a preemption bound
 * can all be run. Every run uses the same seed (timer ties, select's poll
 * order and fl_rand_u64 come from it), so the same choices reproduce the
 * same runnable sets. The search keeps a trail: for each step of the last
 * run, the runnable set (seqs), the default choice (fl__strat_default),
 * which alternative was taken, the preemptions before the step and whether
 * the previous task was still runnable (any other choice then preempts
 * it). Run 1 takes the default at every step. Between runs the search
 * backs up to the deepest step with an alternative left whose preemption
 * stays within the bound, takes it, and the next run replays the trail up
 * to that step, then takes defaults (and records them). Alternatives are
 * tried default first, then in the run set's order. When no step has one
 * left, the space is exhausted. A runnable set that differs from the
 * recorded one while replaying means the program did something the seed
 * does not control: the sim says so once per run and the search goes on
 * from there with defaults. The trail lives in this process: a search
 * that spans processes has to run in one (explore runs dfs in one child).
 */
#include "sim_dfs_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_alloc_internal.h"

typedef struct node {
	size_t off;       /* its runnable set in D.pool */
	uint32_t n, d, k; /* set size, default index, alternative taken (0: default) */
	uint64_t pre;     /* preemptions before this step */
	bool last_runs;   /* the previous step's task is in the set */
} node;

static struct {
	node *t;
	size_t len, cap;
	uint32_t *pool;
	size_t plen, pcap;
	size_t at; /* step of the run under way */
	uint64_t bound;
	bool stepped, advanced, exhausted, warned;
} D;

void fl__dfs_reset(uint64_t bound)
{
	free(D.t);
	free(D.pool);
	memset(&D, 0, sizeof(D));
	D.bound = bound;
}

/* The index the k-th alternative names: the default first, then the
 * others in the set's order. */
static size_t alternative(const node *x)
{
	if (x->k == 0)
		return x->d;
	uint32_t j = x->k - 1;
	return j < x->d ? j : j + 1;
}

static void advance(void)
{
	D.advanced = true;
	while (D.len > 0) {
		node *x = &D.t[D.len - 1];
		if (x->k + 1 < x->n && x->pre + (x->last_runs ? 1 : 0) <= D.bound) {
			x->k++;
			D.plen = x->off + x->n;
			return;
		}
		D.plen = x->off;
		D.len--;
	}
	D.exhausted = true;
}

void fl__dfs_begin(void)
{
	if (D.stepped && !D.advanced)
		advance();
	if (D.exhausted)
		D.len = D.plen = 0;
	D.exhausted = D.stepped = D.advanced = D.warned = false;
	D.at = 0;
}

bool fl__dfs_exhausted(void)
{
	if (D.stepped && !D.advanced)
		advance();
	return D.exhausted;
}

static bool append(const uint32_t *seq, size_t n, size_t dflt, bool last_runs, uint64_t pre)
{
	if (D.len == D.cap) {
		size_t c = D.cap ? 2 * D.cap : 256;
		node *t = fl__realloc(D.t, c * sizeof(*t));
		if (!t)
			return false;
		D.t = t, D.cap = c;
	}
	if (D.plen + n > D.pcap) {
		size_t c = D.pcap ? 2 * D.pcap : 1024;
		while (c < D.plen + n)
			c *= 2;
		uint32_t *p = fl__realloc(D.pool, c * sizeof(*p));
		if (!p)
			return false;
		D.pool = p, D.pcap = c;
	}
	memcpy(D.pool + D.plen, seq, n * sizeof(*seq));
	D.t[D.len++] = (node){.off = D.plen,
			      .n = (uint32_t)n,
			      .d = (uint32_t)dflt,
			      .pre = pre,
			      .last_runs = last_runs};
	D.plen += n;
	return true;
}

size_t fl__dfs_choose(const uint32_t *seq, size_t n, size_t dflt, bool last_runs,
		      uint64_t preempted)
{
	D.stepped = true;
	size_t s = D.at++;
	if (s < D.len) {
		node *x = &D.t[s];
		if (x->n == n && memcmp(D.pool + x->off, seq, n * sizeof(*seq)) == 0)
			return alternative(x);
		if (!D.warned)
			fprintf(stderr,
				"faultline sim: dfs: step %zu's runnable tasks differ from the "
				"previous runs' (something the seed does not control); the "
				"search goes on from there\n",
				s + 1);
		D.warned = true;
		D.len = s;
		D.plen = x->off;
	}
	if (s == D.len)
		(void)append(seq, n, dflt, last_runs, preempted);
	return dflt;
}

/*
 * growth.c - does the heap grow with a scenario's pipeline runs?
 *
 * A leak far below the heap check's tolerance (4 MiB) still shows as a
 * straight line when the heap is sampled after every pipeline run: 384 KB
 * lost per run is 384 KB more at each sample. fl_scenario_run makes a
 * growth record current on its thread (fl__scn_growth_begin); every
 * fl_scenario_note_err (a pipeline's end, on the scenario's thread) adds
 * one sample of fl_leak_heap_bytes. The record is a fixed array: when it
 * fills, every other sample is dropped and only every second later one is
 * taken (stride doubles), so a run of a million iterations costs the same
 * memory as one of 256 and no allocation of ours shows in the samples.
 *
 * The fit (fl__scn_growth_fit) skips the first fifth of the samples (at
 * least two) as warm-up, where pools and caches fill, and fits a least-
 * squares line through the rest against the sample's ordinal: the slope is
 * bytes per pipeline run, and R^2 says whether the heap follows the line
 * or only wanders. The runner fails the check when the slope is above
 * FL_SCENARIO_HEAP_GROWTH_TOL with R^2 >= 0.8 over at least 8 fitted runs.
 *
 * The current record is thread-local: runs on different threads sample
 * into their own records. No locking: one thread owns a record.
 */
#include "scn_internal.h"

#include <fl/leak.h>

#include <string.h>

static _Thread_local fl__scn_growth *current;

void fl__scn_growth_begin(fl__scn_growth *g)
{
	memset(g, 0, sizeof(*g));
	g->stride = 1;
	g->source = "none";
	if (fl_leak_heap_bytes(&g->source) >= 0)
		current = g;
}

void fl__scn_growth_end(fl__scn_growth *g)
{
	if (current == g)
		current = NULL;
}

void fl__scn_growth_sample(void)
{
	fl__scn_growth *g = current;
	if (!g)
		return;
	int64_t ordinal = g->seen++;
	if (ordinal % g->stride != 0)
		return;
	if (g->n == FL__SCN_GROWTH_CAP) { /* keep every other sample */
		for (int i = 0; i < g->n / 2; i++) {
			g->x[i] = g->x[2 * i];
			g->y[i] = g->y[2 * i];
		}
		g->n /= 2;
		g->stride *= 2;
		if (ordinal % g->stride != 0)
			return;
	}
	int64_t h = fl_leak_heap_bytes(NULL);
	if (h < 0)
		return;
	g->x[g->n] = ordinal;
	/* the run's fault log grows with its fires, its series with its
	 * time: the result keeps both */
	g->y[g->n] = h - (int64_t)fl__scn_faults_bytes() - (int64_t)fl__scn_series_bytes();
	g->n++;
}

bool fl__scn_growth_fit(const fl__scn_growth *g, fl__scn_fit *f)
{
	memset(f, 0, sizeof(*f));
	f->samples = (int)g->seen;
	int warm = g->n / 5 < 2 ? 2 : g->n / 5;
	if (g->n - warm < FL__SCN_GROWTH_MIN)
		return false;
	f->warmup = warm;
	f->used = g->n - warm;
	/* Centred sums: heap sizes of gigabytes squared stay exact enough. */
	double mx = 0, my = 0;
	for (int i = warm; i < g->n; i++) {
		mx += (double)g->x[i];
		my += (double)(g->y[i] - g->y[warm]);
	}
	mx /= f->used;
	my /= f->used;
	double sxx = 0, sxy = 0, syy = 0;
	for (int i = warm; i < g->n; i++) {
		double dx = (double)g->x[i] - mx, dy = (double)(g->y[i] - g->y[warm]) - my;
		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	if (sxx <= 0)
		return false;
	f->slope = sxy / sxx;
	f->r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 0;
	return true;
}

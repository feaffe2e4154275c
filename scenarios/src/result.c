/*
 * result.c - recording into a scenario result, and reading it back.
 *
 * A result is caller storage with fixed-capacity tables (checks, counters,
 * histograms, groups) looked up by name with a linear scan: a scenario has
 * a dozen entries at most, and fixed tables mean recording cannot fail, so
 * scenario code needs no error path for its own bookkeeping. Overflowing a
 * table or an over-long name is a catalogue bug and aborts.
 *
 * Checks merge over iterations: the first failure sticks (its values and
 * message are what a reader needs), otherwise the latest pass wins.
 *
 * No locking: only the scenario's own thread touches a result, except
 * fl_scenario_record (series.c), which takes a lock of its own.
 */
#include "scn_internal.h"

#include <fl/hdr.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fl__scn_abort(const char *what, const char *name)
{
	fprintf(stderr, "faultline: scenario misuse: %s '%s'\n", what, name);
	abort();
}

static void name_copy(char *dst, const char *name)
{
	if (!name || !name[0] || strlen(name) >= FL_SCENARIO_NAME_MAX)
		fl__scn_abort("bad name", name ? name : "(null)");
	strcpy(dst, name);
}

void fl_scenario_result_init(fl_scenario_result *r, const fl_scenario *s)
{
	memset(r, 0, sizeof(*r));
	r->scenario = s;
}

void fl_scenario_result_destroy(fl_scenario_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nhists; i++) {
		fl_hdr_free(r->hists[i].hdr);
		fl__scn_series_free(&r->hists[i].series);
	}
	r->nhists = 0;
	free(r->faults);
	r->faults = NULL;
	r->nfaults = 0;
}

/* ---- checks --------------------------------------------------------------- */

int64_t fl__scn_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Charges c with the wall time since the run's last check record. The
 * wall clock, not fl_now: the parent records checks too and must not
 * start the scheduler, and CI wants the time it waited. */
static void charge_time(fl_scenario_result *r, fl_scenario_verdict *c)
{
	if (!r->check_mark_ns)
		return;
	int64_t now = fl__scn_wall_ns();
	if (now > r->check_mark_ns)
		c->time_ns += now - r->check_mark_ns;
	r->check_mark_ns = now;
}

static fl_scenario_verdict *check_slot(fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	if (r->nchecks == FL_SCENARIO_MAX_CHECKS)
		fl__scn_abort("too many checks at", name);
	fl_scenario_verdict *c = &r->checks[r->nchecks++];
	memset(c, 0, sizeof(*c));
	name_copy(c->name, name);
	c->verdict = FL_REPORT_SKIP;
	c->measured = c->threshold = NAN;
	return c;
}

bool fl_scenario_check(fl_scenario_result *r, const char *name, bool pass, double measured,
		       double threshold, const char *unit, const char *fmt, ...)
{
	fl_scenario_verdict *c = check_slot(r, name);
	charge_time(r, c);
	c->evals++;
	if (!pass)
		c->fails++;
	/* Keep the first failure; otherwise the latest evaluation. */
	if (c->verdict == FL_REPORT_FAIL)
		return pass;
	c->verdict = pass ? FL_REPORT_PASS : FL_REPORT_FAIL;
	c->measured = measured;
	c->threshold = threshold;
	snprintf(c->unit, sizeof(c->unit), "%s", unit ? unit : "");
	c->message[0] = '\0';
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->message, sizeof(c->message), fmt, ap);
		va_end(ap);
	}
	return pass;
}

bool fl_scenario_judge_timing(const fl_scenario_params *p)
{
	return !p->skip_timing || fl__scn_virtual_time();
}

void fl_scenario_skip(fl_scenario_result *r, const char *name, const char *why)
{
	fl_scenario_verdict *c = check_slot(r, name);
	charge_time(r, c);
	if (c->evals > 0)
		return; /* evaluated elsewhere: a verdict beats a skip */
	c->verdict = FL_REPORT_SKIP;
	snprintf(c->message, sizeof(c->message), "%s", why ? why : "");
}

const fl_scenario_verdict *fl_scenario_find_check(const fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	return NULL;
}

bool fl_scenario_result_passed(const fl_scenario_result *r)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (r->checks[i].verdict == FL_REPORT_FAIL)
			return false;
	return r->run_err[0] == '\0';
}

/* ---- counters ------------------------------------------------------------- */

static fl_scenario_counter *counter_slot(fl_scenario_result *r, const char *name, bool *fresh)
{
	*fresh = false;
	for (size_t i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return &r->counters[i];
	if (r->ncounters == FL_SCENARIO_MAX_COUNTERS)
		fl__scn_abort("too many counters at", name);
	fl_scenario_counter *c = &r->counters[r->ncounters++];
	name_copy(c->name, name);
	c->value = 0;
	*fresh = true;
	return c;
}

void fl_scenario_count(fl_scenario_result *r, const char *name, int64_t delta)
{
	bool fresh;
	counter_slot(r, name, &fresh)->value += delta;
}

void fl_scenario_set(fl_scenario_result *r, const char *name, int64_t value)
{
	bool fresh;
	counter_slot(r, name, &fresh)->value = value;
}

void fl_scenario_max(fl_scenario_result *r, const char *name, int64_t value)
{
	bool fresh;
	fl_scenario_counter *c = counter_slot(r, name, &fresh);
	if (fresh || value > c->value)
		c->value = value;
}

const fl_scenario_counter *fl_scenario_find_counter(const fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return &r->counters[i];
	return NULL;
}

int64_t fl_scenario_counter_value(const fl_scenario_result *r, const char *name)
{
	const fl_scenario_counter *c = fl_scenario_find_counter(r, name);
	return c ? c->value : -1;
}

/* ---- histograms, groups, errors -------------------------------------------- */

fl_err *fl_scenario_hist(fl_scenario_result *r, const char *name, fl_hdr **out)
{
	for (size_t i = 0; i < r->nhists; i++)
		if (strcmp(r->hists[i].name, name) == 0) {
			*out = r->hists[i].hdr;
			return NULL;
		}
	if (r->nhists == FL_SCENARIO_MAX_HISTS)
		fl__scn_abort("too many histograms at", name);
	fl_hdr *h;
	fl_err *err = fl_hdr_new(1, FL_SEC(3600), 3, &h);
	if (err)
		return fl_err_wrap(err, "histogram %s", name);
	fl_scenario_hist_entry *slot = &r->hists[r->nhists++];
	name_copy(slot->name, name);
	slot->hdr = h;
	*out = h;
	return NULL;
}

const fl_hdr *fl_scenario_find_hist(const fl_scenario_result *r, const char *name)
{
	for (size_t i = 0; i < r->nhists; i++)
		if (strcmp(r->hists[i].name, name) == 0)
			return r->hists[i].hdr;
	return NULL;
}

void fl_scenario_note_group(fl_scenario_result *r, const char *name, int limit, int hwm)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		fl_scenario_group *g = &r->groups[i];
		if (strcmp(g->name, name) == 0) {
			if (hwm > g->hwm)
				g->hwm = hwm;
			if (limit > g->limit)
				g->limit = limit;
			return;
		}
	}
	if (r->ngroups == FL_SCENARIO_MAX_GROUPS)
		fl__scn_abort("too many groups at", name);
	fl_scenario_group *g = &r->groups[r->ngroups++];
	name_copy(g->name, name);
	g->limit = limit;
	g->hwm = hwm;
}

void fl_scenario_note_group_saturated(fl_scenario_result *r, const char *name, int limit, int hwm)
{
	fl_scenario_note_group(r, name, limit, hwm);
	for (size_t i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i].name, name) == 0)
			r->groups[i].saturated = true;
}

void fl_scenario_note_err(fl_scenario_result *r, const fl_scenario_params *p, const char *what,
			  const fl_err *err)
{
	r->err_text[0] = '\0';
	if (err)
		fl_err_format(err, r->err_text, sizeof(r->err_text));
	/* A pipeline ended: one heap sample (growth.c), before observe, whose
	 * own bookkeeping is the caller's and not the scenario's. */
	fl__scn_growth_sample();
	if (p && p->observe)
		p->observe(what, err, p->observe_arg);
}

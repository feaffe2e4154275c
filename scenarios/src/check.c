/*
 * check.c - the pipeline checks any scenario body may call (fl/check.h):
 * prompt cancellation, conservation, error identity and latency SLOs.
 *
 * They sit below the job engine and the catalogue, which both judge with
 * them, and above result.c, which records: a check is a function from
 * what a run measured to one fl_scenario_check (or fl_scenario_skip)
 * call, so its verdict merges over iterations like any other check.
 *
 * Recording may happen on any task. The cancel recorder keeps its
 * latencies in one of the result's HDR histograms (so they land in the
 * report) and counts marks issued and joined, all under its own mutex: a
 * leaf lock held for a histogram update, never across a blocking call. The
 * item counts are relaxed atomics in caller storage: the tasks' joins
 * order them before the judge reads them. Judging runs on the scenario's
 * thread only, like every other write to a result.
 */
#include "scn_internal.h"

#include <fl/check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

/* ---- prompt cancellation ---------------------------------------------------------- */

struct fl_check_cancel {
	fl_scenario_result *r;
	fl_hdr *h; /* mu; owned by r */
	struct fl_check_cancel_opts o;
	char check[FL_SCENARIO_NAME_MAX];
	char none_why[FL_SCENARIO_MSG_MAX];
	pthread_mutex_t mu;
	int64_t issued; /* mu: marks issued */
	int64_t joined; /* mu: marks joined (and records) */
};

fl_err *fl_check_cancel_new(fl_scenario_result *r, const struct fl_check_cancel_opts *o,
			    fl_check_cancel **out)
{
	if (!r || !out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_check_cancel_new: NULL argument");
	struct fl_check_cancel_opts d = o ? *o : (struct fl_check_cancel_opts){0};
	const char *check = d.check ? d.check : FL_CHECK_CANCEL;
	const char *hist = d.hist ? d.hist : "cancel";
	if (!check[0] || strlen(check) >= FL_SCENARIO_NAME_MAX || !hist[0] ||
	    strlen(hist) >= FL_SCENARIO_NAME_MAX)
		return fl_err_wrap(FL_ERR_INVAL,
				   "fl_check_cancel_new: empty or over-long name "
				   "(check '%.80s', histogram '%.80s')",
				   check, hist);
	fl_check_cancel *c = fl__calloc(1, sizeof(*c));
	if (!c)
		return fl_err_wrap(FL_ERR_NOMEM, "cancel check %s", check);
	fl_err *err = fl_scenario_hist(r, hist, &c->h);
	if (err) {
		free(c);
		return err;
	}
	c->r = r;
	c->o = d;
	snprintf(c->check, sizeof(c->check), "%s", check);
	snprintf(c->none_why, sizeof(c->none_why), "%s",
		 d.none_why ? d.none_why : "no cancellation happened");
	c->o.check = c->check;
	c->o.none_why = c->none_why;
	c->o.hist = NULL; /* not kept: the caller's string may go */
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return NULL;
}

void fl_check_cancel_free(fl_check_cancel *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int64_t fl_check_cancel_issued(fl_check_cancel *c)
{
	pthread_mutex_lock(&c->mu);
	c->issued++;
	pthread_mutex_unlock(&c->mu);
	return fl_now();
}

static void cancel_add(fl_check_cancel *c, int64_t ns, bool also_issued)
{
	pthread_mutex_lock(&c->mu);
	(void)fl_scenario_record(c->r, c->h, ns < 1 ? 1 : ns); /* and its series */
	c->joined++;
	c->issued += also_issued;
	pthread_mutex_unlock(&c->mu);
}

void fl_check_cancel_joined(fl_check_cancel *c, int64_t mark)
{
	cancel_add(c, fl_now() - mark, false);
}

void fl_check_cancel_record(fl_check_cancel *c, int64_t latency_ns)
{
	cancel_add(c, latency_ns, true);
}

bool fl_check_cancel_judge(fl_check_cancel *c, const fl_scenario_params *p)
{
	fl_scenario_result *r = c->r;
	const struct fl_check_cancel_opts *o = &c->o;
	pthread_mutex_lock(&c->mu);
	int64_t issued = c->issued, joined = c->joined, n = fl_hdr_total_count(c->h);
	int64_t p50 = fl_hdr_value_at_percentile(c->h, 50);
	int64_t p99 = fl_hdr_value_at_percentile(c->h, 99), max = fl_hdr_max(c->h);
	pthread_mutex_unlock(&c->mu);
	double th = o->p99_ns > 0 ? (double)o->p99_ns : NAN;
	if (issued == 0) {
		fl_scenario_skip(r, c->check, c->none_why);
		return true;
	}
	if (joined < issued)
		return fl_scenario_check(r, c->check, false, (double)(issued - joined), th, NULL,
					 "%lld of %lld cancels never joined",
					 (long long)(issued - joined), (long long)issued);
	char a[24], b[24], m[24], msg[160];
	fl_report_format_ns((double)p50, true, a, sizeof(a));
	fl_report_format_ns((double)p99, true, b, sizeof(b));
	fl_report_format_ns((double)max, true, m, sizeof(m));
	snprintf(msg, sizeof(msg), "%lld cancels: p50 %s, p99 %s, max %s", (long long)n, a, b, m);
	if (!fl_scenario_judge_timing(p)) {
		if (!o->timing_only)
			return fl_scenario_check(r, c->check, true, (double)p99, NAN, "ns",
						 "%s; every join returned (thresholds not judged: "
						 "skip_timing)",
						 msg);
		char why[FL_SCENARIO_MSG_MAX];
		snprintf(why, sizeof(why), "timing goal (skip_timing): %s", msg);
		fl_scenario_skip(r, c->check, why);
		return true;
	}
	bool ok50 = o->p50_ns <= 0 || p50 <= o->p50_ns;
	bool ok99 = o->p99_ns <= 0 || p99 <= o->p99_ns;
	bool okmax = o->max_ns <= 0 || max <= o->max_ns;
	bool ok = ok50 && ok99 && okmax;
	char lim[80] = "";
	if (!ok) {
		const char *what = !ok50 ? "p50" : !ok99 ? "p99" : "max";
		int64_t bound = !ok50 ? o->p50_ns : !ok99 ? o->p99_ns : o->max_ns;
		fl_report_format_ns((double)bound, true, a, sizeof(a));
		snprintf(lim, sizeof(lim), " (%s over its threshold %s)", what, a);
	}
	return fl_scenario_check(r, c->check, ok, (double)p99, th, "ns", "%s%s", msg, lim);
}

/* ---- conservation ---------------------------------------------------------------- */

static const char *const fate_names[FL_ITEM_NFATES] = {"produced",      "duplicated", "done",
						       "failed",        "skipped",    "shed",
						       "dead_lettered", "cancelled"};

const char *fl_check_fate_name(enum fl_check_fate f)
{
	return (unsigned)f < FL_ITEM_NFATES ? fate_names[f] : "?";
}

void fl_check_items_init(fl_check_items *c)
{
	for (int f = 0; f < FL_ITEM_NFATES; f++)
		atomic_init(&c->n_[f], 0);
}

void fl_check_items_add(fl_check_items *c, enum fl_check_fate f, int64_t n)
{
	if ((unsigned)f >= FL_ITEM_NFATES)
		fl__scn_abort("fl_check_items_add: no such fate", "?");
	atomic_fetch_add_explicit(&c->n_[f], n, memory_order_relaxed);
}

int64_t fl_check_items_get(const fl_check_items *c, enum fl_check_fate f)
{
	if ((unsigned)f >= FL_ITEM_NFATES)
		return 0;
	return atomic_load_explicit(&((fl_check_items *)c)->n_[f], memory_order_relaxed);
}

bool fl_check_items_judge(const fl_check_items *c, fl_scenario_result *r, const char *check)
{
	int64_t n[FL_ITEM_NFATES];
	for (int f = 0; f < FL_ITEM_NFATES; f++)
		n[f] = fl_check_items_get(c, (enum fl_check_fate)f);
	int64_t in = n[FL_ITEM_PRODUCED] + n[FL_ITEM_DUPLICATED], out = 0;
	for (int f = FL_ITEM_DONE; f < FL_ITEM_NFATES; f++)
		out += n[f];
	char list[FL_SCENARIO_MSG_MAX];
	size_t len = 0;
	for (int f = 0; f < FL_ITEM_NFATES && len < sizeof(list); f++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s %lld", f ? ", " : "",
					fate_names[f], (long long)n[f]);
	char head[48];
	if (in == out)
		snprintf(head, sizeof(head), "all %lld accounted for", (long long)in);
	else if (out < in)
		snprintf(head, sizeof(head), "lost %lld", (long long)(in - out));
	else
		snprintf(head, sizeof(head), "%lld too many", (long long)(out - in));
	return fl_scenario_check(r, check ? check : FL_CHECK_CONSERVATION, in == out, (double)out,
				 (double)in, NULL, "%s: %s", head, list);
}

void fl_check_items_count(const fl_check_items *c, fl_scenario_result *r, const char *prefix)
{
	char name[FL_SCENARIO_NAME_MAX];
	for (int f = 0; f < FL_ITEM_NFATES; f++) {
		snprintf(name, sizeof(name), "%s%s", prefix ? prefix : "", fate_names[f]);
		fl_scenario_count(r, name, fl_check_items_get(c, (enum fl_check_fate)f));
	}
}

/* ---- error identity ----------------------------------------------------------------- */

bool fl_check_err_verdict(fl_scenario_result *r, const char *check, bool ok, double measured,
			  const char *expected, const fl_err *got)
{
	char text[FL_SCENARIO_MSG_MAX / 2] = "<nil>";
	if (got)
		fl_err_format(got, text, sizeof(text));
	return fl_scenario_check(r, check ? check : FL_CHECK_ERROR, ok, measured, NAN, NULL,
				 "%s; got %s", expected ? expected : "expected an error", text);
}

bool fl_check_err_is(fl_scenario_result *r, const char *check, const fl_err *got,
		     const fl_err *want)
{
	char w[FL_SCENARIO_MSG_MAX / 2] = "<nil>", exp[FL_SCENARIO_MSG_MAX / 2 + 16];
	if (want)
		fl_err_format(want, w, sizeof(w));
	snprintf(exp, sizeof(exp), "expected %s", w);
	bool ok = want ? fl_err_is(got, want) : got == NULL;
	return fl_check_err_verdict(r, check, ok, NAN, exp, got);
}

bool fl_check_err_as(fl_scenario_result *r, const char *check, const fl_err *got,
		     const fl_err_type *type, bool (*match)(const void *payload, void *arg),
		     void *arg, const void **payload)
{
	const void *pl = type ? fl_err_as(got, type) : NULL;
	if (payload)
		*payload = pl;
	char exp[FL_SCENARIO_MSG_MAX / 2];
	snprintf(exp, sizeof(exp), "expected a %s%s", type && type->name ? type->name : "(null)",
		 match ? " that matches" : "");
	bool ok = pl && (!match || match(pl, arg));
	if (pl && !ok)
		snprintf(exp, sizeof(exp), "expected a %s that matches (its payload does not)",
			 type->name ? type->name : "(null)");
	return fl_check_err_verdict(r, check, ok, NAN, exp, got);
}

bool fl_check_err_returned(fl_scenario_result *r, const char *check, const fl_err *got,
			   const char *why)
{
	char exp[FL_SCENARIO_MSG_MAX / 2];
	snprintf(exp, sizeof(exp), "%s", why ? why : "an error was expected");
	if (got)
		return fl_check_err_verdict(r, check, true, NAN, exp, got);
	return fl_scenario_check(r, check ? check : FL_CHECK_ERROR, false, NAN, NAN, NULL,
				 "%s; got <nil>: the error was swallowed", exp);
}

/* ---- latency SLOs ---------------------------------------------------------------------- */

bool fl_check_slo(fl_scenario_result *r, const fl_scenario_params *p, const char *check,
		  const char *hist, double pct, int64_t bound_ns)
{
	if (!(pct > 0 && pct <= 100))
		fl__scn_abort("fl_check_slo: percentile out of (0, 100] for", hist ? hist : "?");
	check = check ? check : FL_CHECK_SLO;
	const fl_hdr *h = hist ? fl_scenario_find_hist(r, hist) : NULL;
	char label[16], m[24], b[24];
	if (pct == 100)
		snprintf(label, sizeof(label), "max");
	else
		snprintf(label, sizeof(label), "p%g", pct);
	fl_report_format_ns((double)bound_ns, true, b, sizeof(b));
	int64_t n = h ? fl_hdr_total_count(h) : 0;
	bool judged = fl_scenario_judge_timing(p);
	if (n == 0 && !judged) {
		char why[FL_SCENARIO_MSG_MAX];
		snprintf(why, sizeof(why), "timing goal (skip_timing): no samples in %s", hist);
		fl_scenario_skip(r, check, why);
		return true;
	}
	if (n == 0)
		return fl_scenario_check(r, check, false, NAN, (double)bound_ns, "ns",
					 "no samples in %s (%s <= %s)", hist ? hist : "(null)",
					 label, b);
	int64_t v = pct == 100 ? fl_hdr_max(h) : fl_hdr_value_at_percentile(h, pct);
	fl_report_format_ns((double)v, true, m, sizeof(m));
	if (!judged) {
		char why[FL_SCENARIO_MSG_MAX];
		snprintf(why, sizeof(why),
			 "timing goal (skip_timing): %s %s %s, bound %s (%lld "
			 "samples)",
			 hist, label, m, b, (long long)n);
		fl_scenario_skip(r, check, why);
		return true;
	}
	bool ok = v <= bound_ns;
	return fl_scenario_check(r, check, ok, (double)v, (double)bound_ns, "ns",
				 "%s %s %s %s %s (%lld samples)", hist, label, m, ok ? "<=" : ">",
				 b, (long long)n);
}

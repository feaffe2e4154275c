/*
 * report.c - scenario results into an fl_report.
 *
 * One report per run of the command, whatever the number of scenarios:
 * each result's entries are prefixed with its scenario's name, so one
 * JSON/JUnit/Markdown/HTML set shows the whole suite. Nothing is summed
 * across scenarios: each keeps its own "<scenario>.items", since items of
 * unrelated pipelines are not one throughput. Fault events are placed on
 * the suite's timeline (each run's offset is the runs before it: they run
 * one after another), and so are the series of the histograms
 * (fl_scenario_record's intervals, as "<scenario>.<hist>": the HTML's
 * throughput and p99 over time). Histograms are
 * cloned so that the report owns everything it points to and outlives the
 * results. A scenario whose run stopped early gets a failed "ran" check
 * carrying the reason.
 */
#include "scn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fl_err *add_checks(fl_report *rep, const fl_scenario_result *r, const char *sn)
{
	fl_err *err = NULL;
	char name[FL_SCENARIO_NAME_MAX * 2 + 4], msg[FL_SCENARIO_MSG_MAX + 64];
	if (r->run_err[0]) {
		snprintf(name, sizeof(name), "%s: ran", sn);
		err = fl_report_add_check(rep, name, FL_REPORT_FAIL, NAN, NAN, NULL, r->run_err);
	}
	for (size_t i = 0; i < r->nchecks && !err; i++) {
		const fl_scenario_verdict *c = &r->checks[i];
		snprintf(name, sizeof(name), "%s: %s", sn, c->name);
		if (c->fails > 0 && c->evals > 1)
			snprintf(msg, sizeof(msg), "%s (failed %d of %d evaluations)", c->message,
				 c->fails, c->evals);
		else
			snprintf(msg, sizeof(msg), "%s", c->message);
		err = fl_report_add_check(rep, name, c->verdict, c->measured, c->threshold, c->unit,
					  msg);
		if (!err)
			rep->checks[rep->nchecks - 1].time_ns = c->time_ns;
	}
	return err;
}

/*
 * A histogram's series as the report's series name: every interval from
 * the run's start to the last one recorded into, an empty one as a count
 * of 0 (a stall is a throughput of 0, not a gap), the last one cut at the
 * run's end; offset_ns places them on the suite's timeline. The report
 * keeps each interval's summary (count, percentiles), not a copy of its
 * histogram: that is all the plots and tables read, and an interval's
 * histogram costs about 37 KB (a suite's series hold thousands of them).
 */
static fl_err *add_series(fl_report *rep, const fl_scenario_result *r, const fl_scenario_series *s,
			  const char *name, int64_t offset_ns)
{
	fl_err *err = NULL;
	for (size_t j = 0; j < s->nivs && !err; j++) {
		int64_t start = (int64_t)j * s->width_ns, len = s->width_ns;
		if (j + 1 == s->nivs && r->duration_ns > start && r->duration_ns - start < len)
			len = r->duration_ns - start;
		fl_report_stats st = {0};
		if (s->ivs[j])
			fl_report_interval_stats(&(fl_report_interval){.hdr = s->ivs[j]}, &st);
		err = fl_report_add_series_interval_stats(rep, name, offset_ns + start, len, &st);
	}
	return err;
}

static fl_err *add_hists(fl_report *rep, const fl_scenario_result *r, const char *sn,
			 int64_t offset_ns)
{
	char name[FL_SCENARIO_NAME_MAX * 2 + 2];
	for (size_t i = 0; i < r->nhists; i++) {
		fl_hdr *copy;
		fl_err *err = fl_hdr_clone(r->hists[i].hdr, &copy);
		if (err)
			return err;
		snprintf(name, sizeof(name), "%s.%s", sn, r->hists[i].name);
		if ((err = fl_report_add_hist(rep, name, copy, FL_REPORT_TAKE))) {
			fl_hdr_free(copy);
			return err;
		}
		if ((err = add_series(rep, r, &r->hists[i].series, name, offset_ns)))
			return err;
	}
	if (r->series_dropped) {
		snprintf(name, sizeof(name), "%s.series_dropped", sn);
		return fl_report_add_counter(rep, name, (int64_t)r->series_dropped);
	}
	return NULL;
}

/* Fault events as "<scenario>: <point>", offset_ns into the report. */
static fl_err *add_faults(fl_report *rep, const fl_scenario_result *r, const char *sn,
			  int64_t offset_ns)
{
	char point[FL_SCENARIO_NAME_MAX * 2 + 4];
	fl_err *err = NULL;
	for (size_t i = 0; i < r->nfaults && !err; i++) {
		snprintf(point, sizeof(point), "%s: %s", sn, r->faults[i].point);
		err = fl_report_add_fault_event(rep, offset_ns + r->faults[i].at_ns, point,
						r->faults[i].action);
	}
	if (!err && r->faults_unlogged) {
		snprintf(point, sizeof(point), "%s.faults_unlogged", sn);
		err = fl_report_add_counter(rep, point, (int64_t)r->faults_unlogged);
	}
	return err;
}

static fl_err *add_result(fl_report *rep, const fl_scenario_result *r, int64_t offset_ns)
{
	if (!rep || !r || !r->scenario)
		return fl_err_wrap(FL_ERR_INVAL, "fl_scenario_report_add: NULL argument");
	const char *sn = r->scenario->name;
	fl_err *err = add_checks(rep, r, sn);
	if (!err)
		err = add_faults(rep, r, sn, offset_ns);
	char name[FL_SCENARIO_NAME_MAX * 2 + 2];
	for (size_t i = 0; i < r->ncounters && !err; i++) {
		snprintf(name, sizeof(name), "%s.%s", sn, r->counters[i].name);
		err = fl_report_add_counter(rep, name, r->counters[i].value);
	}
	if (!err) { /* the scenario's own time (JUnit's testsuite time) */
		snprintf(name, sizeof(name), "%s.duration_ns", sn);
		err = fl_report_add_counter(rep, name, r->duration_ns);
	}
	if (!err)
		err = add_hists(rep, r, sn, offset_ns);
	return fl_err_wrap(err, "report scenario %s", sn);
}

fl_err *fl_scenario_report_add(fl_report *rep, const fl_scenario_result *r)
{
	return add_result(rep, r, 0);
}

fl_err *fl_scenario_report_new(const char *name, const fl_scenario_result *const *results, size_t n,
			       const struct fl_report_opts *opts, fl_report **out)
{
	if (!name || !out || (n && !results))
		return fl_err_wrap(FL_ERR_INVAL, "fl_scenario_report_new: NULL argument");
	struct fl_report_opts o = opts ? *opts : (struct fl_report_opts){0};
	if (!o.backend) /* never started here: the parent of isolated runs owns no scheduler */
		o.backend = fl_sched_backend_chosen();
	fl_report *rep;
	fl_err *err = fl_report_new(name, &o, &rep);
	if (err)
		return err;
	int64_t total = 0;
	if ((err = fl_report_detect_host(rep)))
		goto err_rep;
	for (size_t i = 0; i < n; i++) {
		if ((err = add_result(rep, results[i], total)))
			goto err_rep;
		total += results[i]->duration_ns;
	}
	if ((err = fl_report_set_duration(rep, total)))
		goto err_rep;
	*out = rep;
	return NULL;

err_rep:
	fl_report_free(rep);
	return err;
}

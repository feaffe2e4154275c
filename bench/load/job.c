/*
 * job.c - a job file's pipeline (fl/job.h) as open-loop load options.
 *
 * The engine of scenarios/ runs a job closed-loop or at a paced rate from
 * inside the pipeline's source; here the generator plays the source and
 * completion plays the sink, so only the middle stages become stages.
 * Shapes map onto the driver's stages x workers: linear and fan-in keep
 * `workers` per stage (fan-in's producers are the generator), fan-out and
 * per-item become `group_limit` workers (a task per item under the limit
 * is a pool of that many). A diamond tees each item to parallel branches,
 * which this driver does not model, so it is refused rather than
 * approximated.
 */
#include <fl/bench.h>
#include <fl/job.h>

#include "load_internal.h"

#include <string.h>

fl_err *fl_bench_load_from_job(const char *path, const char *section, struct fl_bench_load_opts *o,
			       const char *names[6], const char **plan_out, int64_t *slo_ns,
			       fl_jobs **jobs_out)
{
	fl_jobs *jobs;
	fl_err *e = fl_jobs_load(path, &jobs);
	if (e)
		return e;
	size_t idx = 0;
	if (section) {
		for (idx = 0; idx < fl_jobs_count(jobs); idx++)
			if (strcmp(fl_jobs_scenario(jobs, idx)->name, section) == 0)
				break;
	}
	fl_job_pipeline p;
	if (!fl_jobs_pipeline(jobs, idx, &p)) {
		fl_jobs_free(jobs);
		return fl_err_wrap(FL_ERR_INVAL, "%s: no section [%s]", path, section);
	}
	if (strcmp(p.shape, "diamond") == 0) {
		/* p's strings live in jobs: word the error before freeing it. */
		e = fl_err_wrap(FL_ERR_INVAL,
				"%s: [%s]: shape diamond has no open-loop "
				"equivalent in faultline-bench (use linear, fan-out, fan-in or "
				"per-item)",
				path, p.name);
		fl_jobs_free(jobs);
		return e;
	}
	bool pool = strcmp(p.shape, "fan-out") == 0 || strcmp(p.shape, "per-item") == 0;
	int middle = p.nstages > 2 ? p.nstages - 2 : 1;
	/* Two stages (source, sink) have no middle: the sink is the one stage. */
	for (int k = 0; k < middle; k++)
		names[k] = p.nstages > 2 ? p.stages[k + 1] : p.stages[p.nstages - 1];
	o->stage_names = names;
	o->stages = middle;
	o->workers =
		pool ? (p.group_limit > 0 ? p.group_limit : 64) : (p.workers > 0 ? p.workers : 1);
	o->buffer = p.buffer;
	o->service = (fl_bench_dist){FL_BENCH_CONST, (double)p.work_ns, 0};
	if (p.rate > 0) {
		int64_t dur = (int64_t)((double)p.items / p.rate * 1e9);
		fl_bench_schedule_const(&o->schedule, p.rate, dur > 0 ? dur : FL_BENCH_SEC(1));
	} else {
		o->schedule.n = 0; /* closed loop: the caller must give a rate */
	}
	o->max_items = p.items;
	*plan_out = p.faults[0] ? p.faults : NULL;
	if (p.slo_p99_ns > 0)
		*slo_ns = p.slo_p99_ns;
	*jobs_out = jobs;
	return NULL;
}

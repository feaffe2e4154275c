/*
 * fl/job.h - INI job files: pipelines described as data, run by a generic
 * shape-driven engine with the same checks as the built-in scenarios.
 *
 * A job file (in the spirit of fio) has an optional [global] section of
 * defaults and one [name] section per scenario; docs/scenarios.md lists
 * every key. Example:
 *
 *     [global]
 *     items = 500
 *     buffer = 4
 *
 *     [etl]
 *     shape = fan-out
 *     stages = read, parse, store
 *     group_limit = 8
 *     work = 50us
 *     faults = parse=1% error(inval)
 *     error_mode = collect-all
 *
 * [global] keys apply to the sections after it (several [global] sections
 * may refine the defaults as the file goes on). Every stage has a fault
 * point named after it, so plans target stages by name. Unknown keys, bad
 * values, duplicate keys or sections and missing required keys are errors
 * naming the file, the line and the key.
 *
 * Thread safety: a loaded job set is immutable and may be read by any
 * thread; its scenarios run like any other (fl_scenario_run).
 */
#ifndef FL_JOB_H
#define FL_JOB_H

#include <fl/err.h>
#include <fl/scenario.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_jobs fl_jobs;

/*
 * Loads the job file at path. *out only on success.
 * Errors: an errno error naming the path when it cannot be read;
 * FL_ERR_INVAL wrapped as "path:line: key 'k': what" (or "section [s]:
 * ...") for the first problem found; FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_jobs_load(const char *path, fl_jobs **out);

/* As fl_jobs_load, from text; name stands for the path in messages. */
FL_MUST_CHECK fl_err *fl_jobs_parse(const char *text, const char *name, fl_jobs **out);

/* The number of scenarios (sections other than [global]), >= 1. */
size_t fl_jobs_count(const fl_jobs *jobs);

/* Scenario i (0-based, file order), valid until fl_jobs_free. */
const fl_scenario *fl_jobs_scenario(const fl_jobs *jobs, size_t i);

/* The scenario named name, or NULL. */
const fl_scenario *fl_jobs_find(const fl_jobs *jobs, const char *name);

/*
 * The pipeline a job section describes, for drivers other than the engine
 * (the open-loop load generator of bench/). Strings are borrowed from the
 * job set and valid until fl_jobs_free.
 */
typedef struct fl_job_pipeline {
	const char *name;      /* the section */
	const char *shape;     /* "linear", "fan-out", "fan-in", "diamond", "per-item" */
	const char *stages[6]; /* source, middle stages..., sink */
	int nstages;           /* 2..6 */
	int workers;           /* per middle stage (linear, fan-in) */
	int width;             /* fan-in producers, diamond branches */
	int buffer;            /* channel capacity */
	int group_limit;       /* fan-out / per-item group limit; 0: none */
	long items;            /* per iteration */
	double rate;           /* items/s; 0: closed loop */
	int64_t work_ns;       /* service time per item per middle stage */
	const char *faults;    /* the plan; "" when none */
	int64_t slo_p99_ns;    /* 0: none */
} fl_job_pipeline;

/* Fills *out with the pipeline of scenario i. Returns false (and leaves
 * *out alone) when i is out of range. */
bool fl_jobs_pipeline(const fl_jobs *jobs, size_t i, fl_job_pipeline *out);

/* Frees a job set. NULL is ignored. */
void fl_jobs_free(fl_jobs *jobs);

#ifdef __cplusplus
}
#endif
#endif

/*
 * job_internal.h - a parsed job section (job.c) and the engine that runs
 * it (engine.c).
 */
#ifndef FL_JOB_INTERNAL_H
#define FL_JOB_INTERNAL_H

#include <fl/check.h>
#include <fl/job.h>

#include "scn_internal.h"

#define FL__JOB_MAX_STAGES 6
#define FL__JOB_STAGE_NAME 24
#define FL__JOB_PLAN_MAX 512
#define FL__JOB_FILE_MAX (16 << 20) /* bytes of a job file */
#define FL__JOB_MAX_STRESS 8
#define FL__JOB_MAX_TENANTS 64
#define FL__JOB_MAX_KEYS 64 /* the parser's key table (a bit mask) */

enum fl__job_shape { JOB_LINEAR, JOB_FANOUT, JOB_FANIN, JOB_DIAMOND, JOB_PERITEM };
enum fl__job_mode { JOB_FIRST_ERROR, JOB_COLLECT_ALL, JOB_PER_ITEM };
/* Deliberate bugs for the checks' negative controls (docs/scenarios.md). */
enum fl__job_plant {
	PLANT_NONE,
	PLANT_LEAK,
	PLANT_LEAK_HEAP,
	PLANT_LOSE_ITEM,
	PLANT_BREACH_LIMIT,
	PLANT_STARVE_LIMIT,
	PLANT_SWALLOW_ERROR,
	PLANT_CRASH,
	PLANT_SHARED_BULKHEAD
};

typedef struct fl__job {
	fl_scenario scn; /* scn.data points back here */
	char name[FL_SCENARIO_NAME_MAX];
	char description[160];
	int line; /* of the section header */

	int shape; /* enum fl__job_shape; -1 until set */
	char stages[FL__JOB_MAX_STAGES][FL__JOB_STAGE_NAME];
	int nstages;
	int workers;     /* per middle stage (linear, fan-in) */
	int width;       /* fan-in producers, diamond branches */
	int buffer;      /* channel capacity */
	int group_limit; /* fan-out / per-item group limit */
	long items;      /* per iteration (per producer: /width) */
	double rate;     /* items/s, open loop; 0: closed loop */
	int64_t work_ns; /* service time per item per stage */
	int mode;        /* enum fl__job_mode */
	int iterations;

	/* policies */
	int retry; /* extra attempts per item and stage */
	int64_t retry_backoff_ns;
	int64_t hedge_ns; /* parsed; see docs/scenarios.md */
	int breaker;
	int64_t breaker_cooldown_ns;
	int budget;               /* percent */
	int bulkhead;             /* per-tenant compartment limit; 0: off */
	int tenants;              /* item id % tenants; 0: unset */
	int64_t bulkhead_wait_ns; /* wait for a full compartment's slot,
					     then shed; < 0: forever */
	bool dlq;

	char faults[FL__JOB_PLAN_MAX];
	char stress[FL__JOB_MAX_STRESS][FL__JOB_PLAN_MAX];
	int nstress;
	const char *stress_ptrs[FL__JOB_MAX_STRESS + 1];

	/* checks */
	long cancel_at; /* cancel the parent after this many
					     delivered items; 0: never */
	int64_t cancel_p50_ns, cancel_p99_ns, cancel_max_ns, cancel_hang_ns;
	int64_t slo_ns[4]; /* p50, p99, p99.9, max; 0: none */
	int64_t heap_tolerance;
	char expect_error[24]; /* "" / none / any / injected / a name */
	char expect_stage[FL__JOB_STAGE_NAME];
	int plant; /* enum fl__job_plant */

	int key_line[FL__JOB_MAX_KEYS]; /* line a key was set on; 0: not set */
	/* "bulkhead STAGE hwm <= N" and "bulkhead STAGE reaches N" per
	 * dispatching stage (fan-out: middle stages; per-item: index 1) */
	char bh_checks[FL__JOB_MAX_STAGES][2][FL_SCENARIO_NAME_MAX];
	const char *checks[16]; /* the scenario's declared checks */
} fl__job;

/* A parsed set of jobs (job.c fills it, job_file.c answers about it). */
struct fl_jobs {
	fl__job **jobs;
	size_t n, cap;
};

/* The engine's scenario body (scn.run of every job). */
fl_err *fl__job_run(const fl_scenario_params *p, fl_scenario_result *r);
/* Fills j->checks (and scn) once the section is complete. */
void fl__job_declare(fl__job *j);

/* Check names the engine records: the public checks' defaults (fl/check.h). */
#define JOB_CHECK_CANCEL FL_CHECK_CANCEL
#define JOB_CHECK_CONSERVE FL_CHECK_CONSERVATION
#define JOB_CHECK_ERROR FL_CHECK_ERROR
#define JOB_CHECK_SLO FL_CHECK_SLO
#define JOB_CHECK_ISOLATION "tenant isolation"

#endif

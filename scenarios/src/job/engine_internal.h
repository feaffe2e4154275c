/*
 * engine_internal.h - what the job engine's files share (see engine.c for
 * the design): an item, the fates it is counted in, the state of one
 * iteration (fl__eng), and the functions each concern offers the others.
 *
 * The files, bottom to top: policy.c (one item through the stage's
 * resilience patterns), item.c (what a stage does with an item's outcome),
 * stages.c (source, middle, branch and sink bodies), dispatch.c (nested
 * groups and bulkheads: one task per item), shape.c (channels and tasks
 * for the job's shape), checks.c (the verdicts), engine.c (an iteration,
 * the scenario). Each calls only files before it in that list.
 */
#ifndef FL_ENGINE_INTERNAL_H
#define FL_ENGINE_INTERNAL_H

#include "job_internal.h"

#include <fl/breaker.h>
#include <fl/dlq.h>
#include <fl/fault.h>
#include <fl/retry.h>

#include <stdatomic.h>

/* An item as it flows through the pipeline. */
typedef struct fl__eng_item {
	long id;
	int64_t intended_ns; /* open loop: when it should have started */
	int64_t start_ns;    /* when the source actually produced it */
} fl__eng_item;

/* Item fates come first: they are also counted per tenant (NFATE). */
enum {
	C_PRODUCED,
	C_DELIVERED,
	C_SKIPPED,
	C_SHED,
	C_FAILED,
	C_DLQ,
	C_CANCELLED,
	C_DUPS,
	NFATE,
	C_INJECTED = NFATE,
	C_ABSORBED,
	C_RETRIES,
	C_HEDGES,
	C_REJECTED,
	NCOUNT
};

/* A bulkhead dispatcher's compartments, per dispatching stage. */
typedef struct fl__eng_bh {
	bool ran;
	int hwm[FL__JOB_MAX_TENANTS]; /* by key index (0: the planted shared key) */
	bool saturated[FL__JOB_MAX_TENANTS], used[FL__JOB_MAX_TENANTS];
} fl__eng_bh;

/* One iteration of a job: its pipeline, counters and histograms. */
typedef struct fl__eng {
	const fl__job *j;
	const fl_scenario_params *p;
	fl_scenario_result *r; /* fl__eng_record's series only */
	fl_group *g;
	fl_ctx *gctx, *parent;
	fl_fault_plan *plan;         /* the job's faults; NULL: none */
	fl_chan **ch;                /* chcap slots, set up before start */
	int nch, chcap;              /* made; allocated (eng_new) */
	fl_chan *flowing;            /* cancel_at token; sink closes */
	struct fl__eng_tasks *tasks; /* the started tasks' arguments */
	fl_fault_site sites[FL__JOB_MAX_STAGES];
	atomic_long n[NCOUNT];
	atomic_int *left;        /* chcap: writers left per channel */
	_Atomic int64_t fail_ns; /* first failure's time; 0: none */
	int64_t t0, work_ns;
	int64_t t_start;    /* before the plan was armed */
	pthread_mutex_t mu; /* guards the fields below */
	fl_hdr *stage_h[FL__JOB_MAX_STAGES], *e2e, *svc;
	fl_err *errs[64]; /* collect-all: item errors */
	size_t nerrs;
	long extra_errs;      /* beyond errs[] (still counted) */
	int inner_hwm, limit; /* fan-out / per-item groups */
	bool saturated;
	fl__scn_watchdog wd;
	fl_dlq *dlq;                              /* dlq = true: poison items */
	fl_breaker *breakers[FL__JOB_MAX_STAGES]; /* breaker: middle stages */
	fl_retry_budget *budget;                  /* budget: shared by all stages */

	/* bulkhead: tenants, their fault points and fates */
	int ntenants;                        /* 0: no bulkhead */
	char tkeys[FL__JOB_MAX_TENANTS][12]; /* "t0".."t63": compartment keys */
	char tpoints[FL__JOB_MAX_TENANTS][FL__JOB_MAX_STAGES][FL__JOB_STAGE_NAME + 16];
	fl_fault_site tsites[FL__JOB_MAX_TENANTS][FL__JOB_MAX_STAGES]; /* "tK/STAGE" */
	atomic_long tn[NFATE][FL__JOB_MAX_TENANTS];
	atomic_bool hit[FL__JOB_MAX_TENANTS]; /* a fault the engine saw met an item */
	fl__eng_bh bh[FL__JOB_MAX_STAGES];    /* mu: per dispatching stage */
	fl_err *contained;                    /* mu: failures kept in compartments */
} fl__eng;

/*
 * An item a task holds while a fault point may panic: a captured panic
 * unwinds the task past every counter, so a cleanup registered once per
 * task (fl_defer) counts the held item as failed. In a bulkhead's
 * compartment (failed set) a failure is contained: it marks the
 * compartment instead of starting the pipeline's cancel measurement.
 */
typedef struct fl__eng_hold {
	fl__eng *e;
	int n;               /* items held inside process(); only its own task touches it */
	long id;             /* the held item */
	atomic_bool *failed; /* a compartment's task: its key's failure mark */
} fl__eng_hold;

/* A pipeline task's argument: its stage and channels. */
typedef struct fl__eng_task {
	fl__eng *e;
	int stage, in, out;
	long lo, hi;       /* sources: item ids [lo, hi) */
	int nout;          /* diamond source: branch channels out..out+nout-1 */
	fl__eng_hold hold; /* the task's held item (panics) */
} fl__eng_task;

/* The arguments of an iteration's tasks: they outlive the tasks. */
typedef struct fl__eng_tasks {
	fl__eng_task args[FL__JOB_MAX_STAGES * 256 + 8];
	int nargs;
} fl__eng_tasks;

/* ---- counting (any task) ------------------------------------------------------ */

static inline void fl__eng_count(fl__eng *e, int c, long d) { atomic_fetch_add(&e->n[c], d); }
static inline long fl__eng_total(fl__eng *e, int c) { return atomic_load(&e->n[c]); }
static inline int fl__eng_tenant_of(const fl__eng *e, long id) { return (int)(id % e->ntenants); }

/* Counts d items of fate c, and for item id's tenant too (bulkhead). */
static inline void fl__eng_count_item(fl__eng *e, int c, long id, long d)
{
	fl__eng_count(e, c, d);
	if (e->ntenants && c < NFATE)
		atomic_fetch_add(&e->tn[c][fl__eng_tenant_of(e, id)], d);
}

/* Records v (at least 1) into h and its series (fl_scenario_record) under
 * e->mu. */
static inline void fl__eng_record(fl__eng *e, fl_hdr *h, int64_t v)
{
	pthread_mutex_lock(&e->mu);
	(void)fl_scenario_record(e->r, h, v < 1 ? 1 : v);
	pthread_mutex_unlock(&e->mu);
}

/* The first failure: stamp it and start the cancel watchdog. */
static inline void fl__eng_note_failure(fl__eng *e)
{
	int64_t zero = 0;
	if (atomic_compare_exchange_strong(&e->fail_ns, &zero, fl_now()))
		fl__scn_watchdog_kick(&e->wd);
}

/* Writer done with channel c: the last one closes it. */
static inline void fl__eng_done_writing(fl__eng *e, int c)
{
	if (atomic_fetch_sub(&e->left[c], 1) == 1)
		fl_err_drop(fl_chan_close(e->ch[c]));
}

/* ---- policy.c ------------------------------------------------------------------- */

/*
 * Runs stage s on one item. Returns NULL (and the verdict), or the item's
 * error (stage-typed). A cancellation, or a fault's wait cut short by one,
 * comes back untyped: the item was cancelled, not failed.
 */
FL_MUST_CHECK fl_err *fl__eng_process(fl__eng *e, int s, const fl__eng_item *it, fl_ctx *ctx,
				      enum fl_fault_verdict *v);

/* ---- item.c ---------------------------------------------------------------------- */

/* Registers h's cleanup for the calling task (out of memory: ran at once). */
void fl__eng_hold_start(fl__eng_hold *h, fl__eng *e);
/* Counts a held item as failed (a captured panic unwound its task). */
void fl__eng_hold_cleanup(void *arg);
/* Sends it n times on channel c; counts unsent copies as cancelled. */
FL_MUST_CHECK fl_err *fl__eng_forward(fl__eng *e, int c, fl__eng_item *it, int n, fl_ctx *ctx,
				      const char *who);
/*
 * One item through stage s, then on to channel out (-1: the caller keeps
 * it). Returns NULL to continue, or the error that ends the stage.
 * *copies is how many copies should go on (0: none; 2: duplicated).
 */
FL_MUST_CHECK fl_err *fl__eng_handle(fl__eng *e, int s, fl__eng_item *it, int out, fl_ctx *ctx,
				     int *copies, fl__eng_hold *h);

/* ---- stages.c, dispatch.c: task bodies (arg: an fl__eng_task) -------------------- */

fl_err *fl__eng_source_fn(fl_ctx *ctx, void *arg);
fl_err *fl__eng_middle_fn(fl_ctx *ctx, void *arg);
fl_err *fl__eng_branch_fn(fl_ctx *ctx, void *arg);
fl_err *fl__eng_sink_fn(fl_ctx *ctx, void *arg);
/* A fan-out stage or the per-item layer: one task per item, in a nested
 * group or in its tenant's bulkhead compartment. */
fl_err *fl__eng_dispatch_fn(fl_ctx *ctx, void *arg);

/* ---- shape.c ------------------------------------------------------------------- */

/* Builds the shape's channels and starts its tasks in e->g. */
FL_MUST_CHECK fl_err *fl__eng_build(fl__eng *e);
/* Drains what is left in the channels: cancelled in flight. */
void fl__eng_drain(fl__eng *e);
/* Frees the channels fl__eng_build made. */
void fl__eng_unbuild(fl__eng *e);

/* ---- checks.c ------------------------------------------------------------------- */

void fl__eng_check_conservation(fl__eng *e, fl_scenario_result *r);
void fl__eng_check_error(fl__eng *e, fl_scenario_result *r, const fl_err *err, bool cancelled);
void fl__eng_check_bulkheads(fl__eng *e, fl_scenario_result *r);
void fl__eng_check_isolation(fl__eng *e, fl_scenario_result *r, bool cancelled);
/* Per-tenant fates as counters "tenant.tK.FATE". */
void fl__eng_count_tenants(fl__eng *e, fl_scenario_result *r);
/* Over every iteration: the cancel latencies and the end-to-end SLO. */
void fl__eng_check_cancel(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			  fl_check_cancel *c);
void fl__eng_check_slo(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r);

#endif

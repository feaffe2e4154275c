/*
 * fl/fault.h - fault points in stage code, and the plans that make them fire.
 *
 * A fault point is one line in a stage that names a place where something can
 * go wrong:
 *
 *     fl_err *e = FL_FAULT(ctx, "enrich");          if (e) return e;
 *     fl_err *e = FL_FAULT_ITEM(ctx, "enrich", i, &v);  (v: keep, drop, dup)
 *     if (FL_FAULT_ALLOC(ctx, "parse.buf")) return FL_ERR_NOMEM;
 *     e = FL_FAULT_WORK(ctx, "enrich", measured_ns);   (slow(x) stretches it)
 *
 * Nothing happens at a point until a plan is armed. A plan is text in the
 * fail(9) term language with extensions (docs/faults.md has the EBNF):
 *
 *     enrich=@3..5 error(ETIMEOUT); sink=1% sleep(exp(2ms)); seed=7
 *
 * Cost: compiled out (-DFL_FAULTS_OFF) a point is a constant. Compiled in
 * with nothing armed it is one acquire load (a plain load on x86; the first
 * evaluation in a process also looks at FAULTLINE_FAULTS once, see
 * fl_fault_init_from_env). With a plan armed, a point
 * whose name no armed plan matches costs a second load (a per-site cache of
 * the name's resolution, valid for one plan generation); a matching point
 * takes one stripe of the registry lock (its thread's, so evaluating
 * threads do not contend) and draws its decision from a
 * counter-based random stream keyed by (seed, point name, evaluation index),
 * so a seed reproduces the same decisions per point however threads
 * interleave.
 *
 * The runtime knows nothing about faults: this module calls only the
 * runtime's public API (contexts, channels, fl_now, fl_sleep_until,
 * fl_panic). Reports are built by the scenarios layer from the plain
 * accounting structs below.
 *
 * Thread safety: every function may be called from any task or thread,
 * unless its comment says otherwise.
 */
#ifndef FL_FAULT_H
#define FL_FAULT_H

#include <fl/ctx.h>
#include <fl/err.h>
#include <fl/task.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- actions and verdicts ----------------------------------------------- */

/* What a fired term does. The order is stable: stats index fires by it. */
enum fl_fault_action {
	FL_FAULT_ACT_OFF = 0, /* fire, but do nothing (ends the term list) */
	FL_FAULT_ACT_ERROR,   /* return an injected error wrapping a sentinel */
	FL_FAULT_ACT_PANIC,   /* fl_panic with a message */
	FL_FAULT_ACT_SLEEP,   /* sleep a drawn duration; wakes on cancel */
	FL_FAULT_ACT_DELAY,   /* busy-wait a duration on fl_now() */
	FL_FAULT_ACT_HANG,    /* block until ctx is cancelled or disarm */
	FL_FAULT_ACT_STUCK,   /* block a duration, ignoring cancellation */
	FL_FAULT_ACT_SLOW,    /* multiply the stage's own work time */
	FL_FAULT_ACT_DROP,    /* verdict: drop the current item */
	FL_FAULT_ACT_DUP,     /* verdict: emit the current item twice */
	FL_FAULT_ACT_OOM,     /* fail the (next) guarded allocation */
	FL_FAULT_ACT_YIELD,   /* fl_yield */
	FL_FAULT_ACT_PRINT,   /* print point, eval index and message to stderr */
	FL_FAULT_NACTIONS
};

/* The action's name as written in plans ("error", "sleep", ...). */
const char *fl_fault_action_name(enum fl_fault_action a);

/* What FL_FAULT_ITEM tells the stage to do with the current item. */
enum fl_fault_verdict {
	FL_FAULT_KEEP = 0, /* process the item normally */
	FL_FAULT_DROP = 1, /* silently lose it */
	FL_FAULT_DUP = 2,  /* process (emit) it twice */
};

/* ---- points ------------------------------------------------------------- */

/*
 * A fault point site: the name plus a cache of what the armed plans make of
 * it. FL_FAULT and friends declare one static site per use; a stage whose
 * point names are built at run time ("tenant/a/enrich") keeps its own,
 * initialised with FL_FAULT_SITE_INIT or fl_fault_site_init.
 * Ownership: name is borrowed and must outlive the site. A site owns no
 * memory and needs no destroy. Thread safety: any number of tasks may
 * evaluate one site concurrently.
 */
typedef struct fl_fault_site {
	const char *name;       /* immutable */
	_Atomic uint64_t cache; /* (plan generation << 1) | matches */
	void *entry;            /* interned name (registry write side) */
} fl_fault_site;

#define FL_FAULT_SITE_INIT(point_name) \
	{                              \
		(point_name), 0, NULL  \
	}

/* Initialises a caller-owned site for the point called name. */
void fl_fault_site_init(fl_fault_site *site, const char *name);

/* Private fast-path state, public only for the inline checks below:
 * (plan generation << 1) | (a plan is armed, or FAULTLINE_FAULTS has not
 * been looked at yet). Do not touch. */
extern _Atomic uint64_t fl__fault_state;

/* Site kinds: which actions apply where (see docs/faults.md). */
enum { FL__FAULT_POINT, FL__FAULT_ITEM, FL__FAULT_ALLOC, FL__FAULT_SLOW, FL__FAULT_WORK };

/* Results other than the error, filled by fl__fault_eval. */
struct fl__fault_out {
	enum fl_fault_verdict verdict;
	bool fail_alloc;
	double slow;
};

/* The slow path of every point kind (private; call the macros). */
FL_MUST_CHECK fl_err *fl__fault_eval(fl_fault_site *site, fl_ctx *ctx, int kind, int64_t item,
				     int64_t work_ns, struct fl__fault_out *out);

/* True when no armed plan can act on site: nothing armed, or the site's
 * cached resolution for the current generation says "no match". */
static inline bool fl__fault_skip(fl_fault_site *site)
{
	uint64_t g = atomic_load_explicit(&fl__fault_state, memory_order_acquire);
	if (__builtin_expect(!(g & 1), 1))
		return true;
	uint64_t c = atomic_load_explicit(&site->cache, memory_order_relaxed);
	return c == (g & ~(uint64_t)1);
}

/*
 * Evaluates a plain point. Returns NULL to proceed, or an injected error
 * (one reference) that matches the plan's sentinel with fl_err_is and
 * carries an fl_fault_info for fl_err_as. Sleep and hang actions that end
 * because ctx was cancelled return an injected error wrapping ctx's cause.
 * Blocks: only while a sleep, hang, stuck or delay action runs.
 * ctx may be NULL: then only unscoped plans apply and waits ignore it.
 */
static inline FL_MUST_CHECK fl_err *fl_fault_point(fl_fault_site *site, fl_ctx *ctx)
{
	if (fl__fault_skip(site))
		return NULL;
	return fl__fault_eval(site, ctx, FL__FAULT_POINT, -1, 0, NULL);
}

/*
 * Evaluates a point for item number item (>= 0): as fl_fault_point, and
 * also sets *verdict (FL_FAULT_KEEP unless drop or dup fired). The item
 * index feeds items(..) selectors and peritem counters.
 */
static inline FL_MUST_CHECK fl_err *fl_fault_item(fl_fault_site *site, fl_ctx *ctx, int64_t item,
						  enum fl_fault_verdict *verdict)
{
	*verdict = FL_FAULT_KEEP;
	if (fl__fault_skip(site))
		return NULL;
	struct fl__fault_out o = {FL_FAULT_KEEP, false, 1.0};
	fl_err *e = fl__fault_eval(site, ctx, FL__FAULT_ITEM, item, 0, &o);
	*verdict = o.verdict;
	return e;
}

/*
 * Evaluates an allocation guard. Returns true if the stage must treat this
 * allocation as failed (an oom term fired here, or an oom fired earlier at a
 * plain point of the same name and is pending). error actions do not apply.
 */
static inline bool fl_fault_alloc(fl_fault_site *site, fl_ctx *ctx)
{
	if (fl__fault_skip(site))
		return false;
	struct fl__fault_out o = {FL_FAULT_KEEP, false, 1.0};
	fl_err_drop(fl__fault_eval(site, ctx, FL__FAULT_ALLOC, -1, 0, &o));
	return o.fail_alloc;
}

/*
 * Evaluates a slow-down point. Returns the factor by which the stage should
 * multiply its own measured work (1.0 unless slow(x) fired). error actions
 * do not apply; timing actions (sleep, delay, hang, stuck) still run.
 */
static inline double fl_fault_slow(fl_fault_site *site, fl_ctx *ctx)
{
	if (fl__fault_skip(site))
		return 1.0;
	struct fl__fault_out o = {FL_FAULT_KEEP, false, 1.0};
	fl_err_drop(fl__fault_eval(site, ctx, FL__FAULT_SLOW, -1, 0, &o));
	return o.slow;
}

/*
 * Evaluates a point placed after work_ns of the stage's own work: as
 * fl_fault_point, and if slow(x) fires, waits (x - 1) * work_ns more
 * (cancellably, like sleep) so the stage appears x times slower.
 */
static inline FL_MUST_CHECK fl_err *fl_fault_work(fl_fault_site *site, fl_ctx *ctx, int64_t work_ns)
{
	if (fl__fault_skip(site))
		return NULL;
	return fl__fault_eval(site, ctx, FL__FAULT_WORK, -1, work_ns, NULL);
}

/*
 * The one-line point macros. name must be a string literal; each use gets
 * its own static site. With -DFL_FAULTS_OFF they expand to constants and
 * evaluate none of their arguments (except that FL_FAULT_ITEM still stores
 * FL_FAULT_KEEP through its verdict pointer).
 */
#ifndef FL_FAULTS_OFF
#define FL__FAULT_SITE_(n) static fl_fault_site fl__site_ = FL_FAULT_SITE_INIT("" n "")
#define FL_FAULT(ctx, name)                        \
	__extension__({                            \
		FL__FAULT_SITE_(name);             \
		fl_fault_point(&fl__site_, (ctx)); \
	})
#define FL_FAULT_ITEM(ctx, name, item, verdict)                      \
	__extension__({                                              \
		FL__FAULT_SITE_(name);                               \
		fl_fault_item(&fl__site_, (ctx), (item), (verdict)); \
	})
#define FL_FAULT_ALLOC(ctx, name)                  \
	__extension__({                            \
		FL__FAULT_SITE_(name);             \
		fl_fault_alloc(&fl__site_, (ctx)); \
	})
#define FL_FAULT_SLOW(ctx, name)                  \
	__extension__({                           \
		FL__FAULT_SITE_(name);            \
		fl_fault_slow(&fl__site_, (ctx)); \
	})
#define FL_FAULT_WORK(ctx, name, work_ns)                    \
	__extension__({                                      \
		FL__FAULT_SITE_(name);                       \
		fl_fault_work(&fl__site_, (ctx), (work_ns)); \
	})
#else
#define FL_FAULT(ctx, name) ((void)sizeof(ctx), (fl_err *)NULL)
#define FL_FAULT_ITEM(ctx, name, item, verdict) \
	((void)sizeof(ctx), (void)sizeof(item), *(verdict) = FL_FAULT_KEEP, (fl_err *)NULL)
#define FL_FAULT_ALLOC(ctx, name) ((void)sizeof(ctx), false)
#define FL_FAULT_SLOW(ctx, name) ((void)sizeof(ctx), 1.0)
#define FL_FAULT_WORK(ctx, name, work_ns) ((void)sizeof(ctx), (void)sizeof(work_ns), (fl_err *)NULL)
#endif

/* ---- injected errors ---------------------------------------------------- */

/* The payload of every injected error (type fl_fault_info_type). */
typedef struct fl_fault_info {
	char point[96];              /* the point's name (truncated) */
	enum fl_fault_action action; /* error, or sleep/hang cut short */
	uint64_t eval;               /* 1-based evaluation index at the point */
	int64_t item;                /* item index, or -1 */
	uint64_t plan_id;            /* the plan that fired (see fl_fault_plan_id) */
} fl_fault_info;
extern const fl_err_type fl_fault_info_type;

/*
 * Makes error(name) in plans return sentinel. name: [A-Za-z_][A-Za-z0-9_]*.
 * Names resolve when a plan is parsed, so register before the plan is
 * armed: at the top of main, before fl_fault_init_from_env and before the
 * first fault point (which arms FAULTLINE_FAULTS if init was not called),
 * or in a constructor (__attribute__((constructor))), which needs nothing
 * initialised first.
 * Built-in names (canceled, deadline, nomem, closed, limit, inval, again,
 * misuse, panic, system) map to the FL_ERR_* sentinels and cannot be
 * redefined. Registering the same pair again is a no-op. A reference to
 * sentinel is kept for the life of the process.
 * Errors: FL_ERR_INVAL (bad or built-in name, NULL sentinel, name already
 * bound to another error), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_fault_register_error(const char *name, fl_err *sentinel);

/* ---- plans -------------------------------------------------------------- */

typedef struct fl_fault_plan fl_fault_plan;

/*
 * Parses plan text without arming it.
 * Errors: FL_ERR_INVAL, wrapped in a message naming line, column, term and
 * what was expected, e.g.
 *   plan:1:11: in term 'enrich=50%%x(': expected action name (error, ...)
 * FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_fault_check(const char *text);

/*
 * Parses and arms a plan for every task in the process. seed is used unless
 * the text has a seed=N item. *out receives the handle (only on success);
 * the plan stays armed until fl_fault_disarm or fl_fault_plan_free.
 * Errors: those of fl_fault_check.
 */
FL_MUST_CHECK fl_err *fl_fault_arm(const char *text, uint64_t seed, fl_fault_plan **out);

/*
 * As fl_fault_arm, but the plan acts only on evaluations whose ctx has
 * scope as an ancestor (fl_ctx_has_ancestor), so concurrently armed plans
 * with disjoint scopes never see each other's evaluations. scope must stay
 * alive until the plan is disarmed. Errors: as fl_fault_arm; FL_ERR_INVAL
 * for a NULL scope.
 */
FL_MUST_CHECK fl_err *fl_fault_arm_scoped(const char *text, uint64_t seed, fl_ctx *scope,
					  fl_fault_plan **out);

/*
 * Stops a plan from acting and wakes every task blocked in its hang, sleep
 * or stuck actions (they proceed as if the wait ended normally). The handle
 * stays valid for accounting until fl_fault_plan_free. Idempotent.
 */
void fl_fault_disarm(fl_fault_plan *plan);
/*
 * fl_fault_disarm on every plan armed in the process, whoever armed it:
 * a watchdog that declares a run hung frees every stuck action, the job
 * file's own plans as well as the runner's. Returns how many it disarmed.
 * Thread-safe; blocks on the registry lock only.
 */
int fl_fault_disarm_all(void);

/* Disarms (if armed) and releases the handle. NULL is ignored. Tasks still
 * inside one of the plan's actions keep it alive until they leave. */
void fl_fault_plan_free(fl_fault_plan *plan);

/* The seed in force (the text's seed=N, else the one given to arm). */
uint64_t fl_fault_plan_seed(const fl_fault_plan *plan);
/* The plan text as given (borrowed; lives as long as the handle). */
const char *fl_fault_plan_text(const fl_fault_plan *plan);
/* A process-unique id, also found in fl_fault_info. */
uint64_t fl_fault_plan_id(const fl_fault_plan *plan);

/*
 * Prints every armed plan (id, seed, scope, text) with the per-point counts
 * of its points so far, then every point name evaluated while any plan was
 * armed. One item per line.
 */
void fl_fault_list(FILE *out);

/*
 * Arms the plan in the environment variable FAULTLINE_FAULTS (if set and
 * not empty) with the seed in FAULTLINE_SEED (decimal or 0x-hex; default
 * 0). *out (may be NULL: then the plan stays armed for the life of the
 * process) receives the handle, or NULL when the variable is unset.
 * Calling it is optional: in a process that has not called it, the first
 * fault point evaluated arms the same plan for the life of the process
 * (once, thread-safe), and a plan that does not parse there is one stderr
 * line naming the variable, the error and the point, then exit status 2.
 * Call it yourself to get parse errors as a value, or the handle for
 * accounting: if a point already armed the plan (or an earlier call with
 * out NULL did), this call hands that plan over instead of arming a
 * second one; and a call with out NULL arms nothing once the plan is
 * armed or its handle was handed out (so a library calling it before its
 * baseline does not double a plan main armed). Register your error names
 * (fl_fault_register_error) first.
 * Errors: FL_ERR_INVAL with the variable's name and the parse error
 * ("FAULTLINE_FAULTS: plan:1:8: in term ..."), FL_ERR_NOMEM.
 * Ownership: *out is the caller's (fl_fault_plan_free). Thread-safe.
 * Blocks: on a leaf lock and the registry's write side only.
 */
FL_MUST_CHECK fl_err *fl_fault_init_from_env(fl_fault_plan **out);

/*
 * Opts the process out of the environment's plan: no fault point arms
 * FAULTLINE_FAULTS lazily, and a plan one already armed that way (and not
 * handed to a caller by fl_fault_init_from_env) is disarmed and freed.
 * fl_fault_init_from_env still arms it when called. For programs that read
 * FAULTLINE_FAULTS for a purpose of their own; unsetting the variable
 * before the first fault point does the same. Thread-safe; idempotent.
 */
void fl_fault_env_ignore(void);

/* ---- scoped guard ------------------------------------------------------- */

/* Caller storage for a plan armed for one block of code. */
typedef struct fl_fault_guard {
	fl_fault_plan *plan; /* the armed plan, for accounting; NULL after end */
} fl_fault_guard;

/*
 * Arms text (scoped to scope, or process-wide if scope is NULL) into g.
 * Errors: those of fl_fault_arm; g->plan is then NULL and end is a no-op.
 */
FL_MUST_CHECK fl_err *fl_fault_guard_begin(fl_fault_guard *g, const char *text, uint64_t seed,
					   fl_ctx *scope);
/* Disarms and frees the guard's plan, waking anything blocked in its
 * hang/sleep/stuck actions. Safe to call twice. */
void fl_fault_guard_end(fl_fault_guard *g);

/* ---- accounting --------------------------------------------------------- */

/* Counts for one point under one plan (a snapshot). */
typedef struct fl_fault_point_stats {
	const char *point;                 /* interned: valid for the process */
	uint64_t evals;                    /* evaluations seen by this plan */
	uint64_t fires[FL_FAULT_NACTIONS]; /* fires per action */
	uint64_t fires_total;
	int64_t delay_ns; /* time spent in injected waits */
} fl_fault_point_stats;

/* Calls fn once per point the plan has seen, in first-seen order. fn runs
 * without any fault lock held and may call anything. */
void fl_fault_stats_foreach(const fl_fault_plan *plan,
			    void (*fn)(const fl_fault_point_stats *st, void *arg), void *arg);
/* Fills *out for point (exact name). Returns false (and zeroes *out) if the
 * plan never saw it. */
bool fl_fault_stats_get(const fl_fault_plan *plan, const char *point, fl_fault_point_stats *out);

/* One fire, as kept in the plan's bounded log. */
typedef struct fl_fault_event {
	int64_t t_ns;         /* fl_now() at the fire */
	int64_t since_arm_ns; /* t_ns minus the plan's arm time */
	const char *point;    /* interned: valid for the process */
	enum fl_fault_action action;
	uint64_t eval;    /* 1-based evaluation index at the point */
	int64_t item;     /* item index, or -1 */
	int term;         /* 0-based term index in the point's rule */
	int64_t delay_ns; /* the drawn duration (sleep/delay/stuck/slow) */
} fl_fault_event;

/*
 * Writes what ev did into buf (cap bytes, truncated, NUL-terminated): the
 * action's name, then for a timed action its drawn duration ("error",
 * "sleep 1.25ms", "stuck 30s"). Returns buf. Thread safety: any thread.
 */
char *fl_fault_event_describe(const fl_fault_event *ev, char *buf, size_t cap);

/* Capacity of a plan's fire log; older entries are overwritten. */
#define FL_FAULT_LOG_CAP 4096

/* Calls fn for every retained event, oldest first, without locks held. */
void fl_fault_log_foreach(const fl_fault_plan *plan,
			  void (*fn)(const fl_fault_event *ev, void *arg), void *arg);
/* Events overwritten because the log was full. */
uint64_t fl_fault_log_overflows(const fl_fault_plan *plan);

/*
 * Watching every fire of every plan (the runner's, a job file's, a
 * scenario's own): fn(ev, arg) is called on the firing thread, after the
 * plan's log took the event and before the action runs, with no fault lock
 * held. One observer per process: a call replaces the previous one;
 * fl_fault_observe(NULL, NULL) removes it and returns only once no call
 * of the old observer is still running, so its arg may be freed then.
 * fn must be thread-safe, must not block and must not call
 * fl_fault_observe. ev is valid for the call only. Thread safety: any
 * thread. Blocks: only to wait for running observer calls.
 */
void fl_fault_observe(void (*fn)(const fl_fault_event *ev, void *arg), void *arg);

/*
 * Forced decisions, for replaying a run's recorded firings (schedule
 * files, docs/explore.md): while a set is installed, an armed plan's point
 * fires at its evaluation k exactly when (point, k) is in the set, running
 * the first term of its rule with the listed action that applies at the
 * site; probabilities, @N, every, items, windows and cnt are not consulted.
 * fl_fault_force copies fires (n entries; the caller keeps its own) and
 * replaces any set installed before; n = 0 installs an empty set (nothing
 * fires). Returns NULL, FL_ERR_NOMEM or FL_ERR_INVAL (an action out of
 * range), installing nothing on error. fl_fault_force_clear returns to the
 * plans' own decisions. Thread safety: call both while no evaluation runs
 * (before the runs, or in a child before it starts them). Neither blocks.
 */
typedef struct fl_fault_forced {
	const char *point;
	uint64_t eval; /* 1-based evaluation index at the point */
	enum fl_fault_action action;
} fl_fault_forced;
FL_MUST_CHECK fl_err *fl_fault_force(const fl_fault_forced *fires, size_t n);
void fl_fault_force_clear(void);

/* ---- Nth-hit sweep ------------------------------------------------------ */

/* A scenario run by a sweep: run everything under ctx, return its error. */
typedef fl_err *(*fl_fault_run_fn)(fl_ctx *ctx, void *arg);

/* The outcome of one sweep run. */
typedef struct fl_fault_sweep_result {
	uint64_t n;        /* the evaluation that was made to fail (1-based) */
	const fl_err *err; /* what run returned (borrowed for the callback) */
	bool fired;        /* the fault fired in this run */
	uint64_t evals;    /* evaluations of the point in this run */
} fl_fault_sweep_result;

/*
 * SQLite-style exhaustive failure: for n = 1, 2, ... arms
 * "<point>=@n <action>" scoped to a fresh context, calls run(ctx, arg),
 * and reports the run to report(result, arg), until a run in which the
 * fault did not fire (it saw fewer than n evaluations). That last run is
 * reported too, so a point evaluated k times gives k + 1 runs.
 * Errors: the plan's parse error (before any run), FL_ERR_LIMIT after
 * 1,000,000 runs, FL_ERR_NOMEM. Blocks: for the runs.
 */
FL_MUST_CHECK fl_err *fl_fault_sweep(const char *point, const char *action, fl_fault_run_fn run,
				     void (*report)(const fl_fault_sweep_result *r, void *arg),
				     void *arg);

/* ---- remote control FIFO ------------------------------------------------ */

typedef struct fl_fault_fifo fl_fault_fifo;

/*
 * Starts a control thread listening on a FIFO. Creates a private directory
 * (mode 0700, mkdtemp "faultline-<pid>-XXXXXX" under dir, or under $TMPDIR
 * or /tmp when dir is NULL) holding two FIFOs of mode 0600: "ctl", which
 * takes one command per line, and "reply", where each command's answer is
 * written:
 *   arm <plan>   arms <plan> (replacing the FIFO's previous plan)
 *                -> "ok plan <id> seed <seed>" or "error: plan:1:5: ..."
 *   disarm       -> "ok" or "error: nothing armed"
 *   list         -> fl_fault_list lines, then "ok"
 * anything else  -> "error: 1:1: unknown command '<word>' (expected arm,
 *                   disarm or list)"
 * Before creating it, it removes from the same base directory the FIFO
 * directories left by processes that died without fl_fault_fifo_stop
 * (SIGKILL): those of this user whose owner pid is no longer alive and that
 * hold nothing but the two FIFOs; never one of a live process. Two starts
 * at once may both try the same stale directory, which is harmless.
 * Errors: FL_ERR_SYSTEM (mkdtemp, mkfifo, open, thread), FL_ERR_NOMEM,
 * FL_ERR_MISUSE under the sim backend (one thread only). Blocks: briefly,
 * on directory I/O.
 */
FL_MUST_CHECK fl_err *fl_fault_fifo_start(const char *dir, fl_fault_fifo **out);
/* The control FIFO's path (borrowed). */
const char *fl_fault_fifo_ctl_path(const fl_fault_fifo *f);
/* The reply FIFO's path (borrowed). */
const char *fl_fault_fifo_reply_path(const fl_fault_fifo *f);
/* Stops the thread, disarms its plan, removes both FIFOs and the directory,
 * and frees f. NULL is ignored. */
void fl_fault_fifo_stop(fl_fault_fifo *f);

/* ---- a plan's terms, for tools that run plans elsewhere ------------------ */

/* Which modifiers a described term has (fl_fault_term_desc.mods). */
enum {
	FL_FAULT_MOD_AT = 1 << 0,      /* @N..M: at_lo, at_hi */
	FL_FAULT_MOD_EVERY = 1 << 1,   /* every(N): every */
	FL_FAULT_MOD_AFTER = 1 << 2,   /* after(d) */
	FL_FAULT_MOD_UNTIL = 1 << 3,   /* until(d) */
	FL_FAULT_MOD_ITEMS = 1 << 4,   /* items(a..b) */
	FL_FAULT_MOD_PERITEM = 1 << 5, /* peritem */
	FL_FAULT_MOD_PCT = 1 << 6,     /* p%: pct_threshold, pct_always */
	FL_FAULT_MOD_CNT = 1 << 7,     /* cnt*: cnt */
};

/* A duration distribution's kind (fl_fault_term_desc.dist_kind). */
enum {
	FL_FAULT_DIST_FIXED,
	FL_FAULT_DIST_UNIFORM,
	FL_FAULT_DIST_EXP,
	FL_FAULT_DIST_LOGNORMAL,
	FL_FAULT_DIST_PARETO
};

/* One term of a parsed plan, as fl_fault_describe hands it out. Every
 * pointer is borrowed and valid only during the callback. */
typedef struct fl_fault_term_desc {
	const char *pattern; /* the rule's pattern */
	size_t rule, term;   /* 0-based indexes */
	enum fl_fault_action action;
	unsigned mods;         /* FL_FAULT_MOD_* */
	uint64_t at_lo, at_hi; /* @N..M, 1-based, inclusive */
	uint64_t every, cnt;
	uint64_t pct_threshold; /* fires when a 64-bit draw is below it */
	bool pct_always;        /* p >= 100 */
	const char *text;       /* error: its name; panic, print: the message; or NULL */
	int dist_kind;          /* sleep, delay, stuck: FL_FAULT_DIST_* */
	int64_t dist_a_ns, dist_b_ns, dist_jitter_ns;
	double dist_shape, factor; /* factor: slow(x) */
} fl_fault_term_desc;

/*
 * Parses plan text and calls fn on each term, rule by rule in order, for
 * a tool that executes plans somewhere the fault library is not (faultline
 * wrap's preloaded library). *seed and *has_seed receive a seed=N item
 * (either may be NULL). The draws a term's pct_threshold is compared with
 * are those of fl_fault_draw.
 * Returns: NULL; the parse errors of fl_fault_check; or the first error fn
 * returns (parsing stops there; the error is handed back as is).
 */
FL_MUST_CHECK fl_err *fl_fault_describe(const char *text,
					fl_err *(*fn)(void *arg, const fl_fault_term_desc *t),
					void *arg, uint64_t *seed, bool *has_seed);

/* Whether a plan pattern matches a point name ('*' within a '/' segment,
 * '**' across them), as the fault library matches it. */
bool fl_fault_pattern_match(const char *pattern, const char *name);

/* The fault library's random draw: SplitMix64's finaliser applied three
 * times to (seed ^ stream, index, draw number). Pure; a tool executing a
 * described plan elsewhere draws the same numbers from it. */
uint64_t fl_fault_draw(uint64_t seed, uint64_t stream, uint64_t index, uint64_t draw);

#ifdef __cplusplus
}
#endif
#endif

/*
 * fl/check.h - the pipeline checks as building blocks for any scenario
 * body: prompt cancellation, conservation of items, error identity and
 * latency SLOs per named histogram. The job-file engine and the built-in
 * catalogue use these same functions; a user's scenario (fl/scenario.h)
 * gets the same verdicts and messages by calling them.
 *
 * Every check records into an fl_scenario_result under a check name, as
 * fl_scenario_check does: evaluations of one name merge over iterations
 * (the first failure sticks), and every name a scenario records must be
 * listed in its fl_scenario.checks. The FL_CHECK_* names below are the
 * defaults; pass your own to hold several of one kind in one scenario.
 *
 * Which check for what (docs/scenarios.md has the long form):
 *   - a cancel must reach every task and every join must return soon:
 *     fl_check_cancel (marks "cancel issued" and "join returned", an HDR
 *     histogram of the intervals, p50/p99/max against thresholds);
 *   - no item may vanish: fl_check_items (produced = done + failed +
 *     skipped + shed + dead-lettered + cancelled, counted from any task);
 *   - the run returned the right error, or any error at all (none
 *     swallowed): fl_check_err_is, fl_check_err_as, fl_check_err_returned;
 *   - a latency goal on any histogram of the result, per stage or end to
 *     end: fl_check_slo.
 * The runner adds the rest by itself (fl/scenario.h): the leak and heap
 * checks, the watchdog's FL_SCENARIO_CHECK_HANG, crash isolation, and the
 * SetLimit caps for every group noted with fl_scenario_note_group
 * ("group G hwm <= L") or fl_scenario_note_group_saturated (also
 * "group G reaches L": a limit that starves fails like one that breaks).
 *
 * Timing goals (the cancel thresholds, SLOs) follow
 * fl_scenario_judge_timing: always judged on the sim backend, where time is
 * virtual and a verdict does not depend on the machine's load; on a real
 * clock only without params.skip_timing. A goal that is not judged is
 * recorded as skipped (or, for the cancel check, held on its joins alone)
 * with the measured values in its message. Bounds are used as given: scale
 * a real-time budget by params.time_scale yourself if slow checkers
 * (valgrind) should stretch it.
 *
 * A join that never returns cannot be measured: the runner's whole-run
 * watchdog (params.hang_ns) catches it. When nothing progresses for that
 * long it dumps the live tasks, fails FL_SCENARIO_CHECK_HANG with the stuck
 * tasks' names (fl_group_go_named gives them), disarms every fault plan so
 * tasks held by stuck() faults return, and sets result.hung (the command
 * exits 3). A task that disarming cannot free (blocked without a context
 * outside any fault) keeps the run from ending: one period later the
 * process exits 3, and under fl_scenario_run_isolated (as the command runs
 * every scenario) the parent's FL_SCENARIO_CHECK_HANG still names it.
 *
 * Thread safety: the recording calls say which may run on any thread (the
 * marks and the counts); every judging call runs on the scenario's thread
 * after the tasks it judges have joined, as fl_scenario_check does.
 * Blocking: none of these calls blocks; the cancel marks take a short
 * internal lock (a leaf, never held across a wait). Errors: only
 * fl_check_cancel_new is fallible; misuse (a NULL result, an unknown fate,
 * a percentile out of range, a name too long for the result) aborts with
 * its name, as the result's recording calls do.
 */
#ifndef FL_CHECK_H
#define FL_CHECK_H

#include <fl/err.h>
#include <fl/scenario.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default check names (the job engine's). */
#define FL_CHECK_CANCEL "prompt cancellation"
#define FL_CHECK_CONSERVATION "conservation"
#define FL_CHECK_ERROR "error identity"
#define FL_CHECK_SLO "latency slo"

/* ---- prompt cancellation ----------------------------------------------------- */

typedef struct fl_check_cancel fl_check_cancel;

/* The all-zero value means defaults. */
struct fl_check_cancel_opts {
	const char *check; /* check name; NULL: FL_CHECK_CANCEL */
	const char *hist;  /* result histogram of the latencies; NULL: "cancel" */
	int64_t p50_ns;    /* thresholds, each held when > 0 */
	int64_t p99_ns;
	int64_t max_ns;
	bool timing_only;     /* the check is a timing goal alone: skipped, not
				 held on its joins, when timing is not judged */
	const char *none_why; /* the skip's reason when nothing was recorded;
				 NULL: "no cancellation happened" */
};

/*
 * A cancel-latency recorder for result r: its latencies go into r's
 * histogram o->hist (created if new, so they land in the report). o may be
 * NULL (defaults). *out only on success; free with fl_check_cancel_free
 * after judging (r must outlive it). The recorder's lock guards that
 * histogram: record into it through this recorder only.
 * Errors: FL_ERR_INVAL (NULL r or out, a check or histogram name of
 * FL_SCENARIO_NAME_MAX bytes or more), FL_ERR_NOMEM.
 * Thread safety: call on the scenario's thread.
 */
FL_MUST_CHECK fl_err *fl_check_cancel_new(fl_scenario_result *r,
					  const struct fl_check_cancel_opts *o,
					  fl_check_cancel **out);
/* Frees c (not the histogram: r owns it). Accepts NULL. */
void fl_check_cancel_free(fl_check_cancel *c);

/*
 * Marks a cancel as issued, now: call it just before fl_ctx_cancel or
 * fl_group_cancel. Returns the mark, to pass to fl_check_cancel_joined.
 * Any number of cancels may be in flight. Thread safety: any thread.
 * Does not block (a short internal lock).
 */
int64_t fl_check_cancel_issued(fl_check_cancel *c);
/*
 * Marks the join for the cancel issued at mark as returned, now (call it
 * right after fl_group_wait, or the last join, returns): records
 * now - mark. Thread safety: any thread. Does not block.
 */
void fl_check_cancel_joined(fl_check_cancel *c, int64_t mark);
/* Records one issued-and-joined cancel whose latency the caller measured
 * (values below 1 ns count as 1 ns). Thread safety: any thread. */
void fl_check_cancel_record(fl_check_cancel *c, int64_t latency_ns);

/*
 * Judges the cancels recorded so far into the result (p: the run's
 * parameters, not NULL). Nothing recorded:
 * skipped (o->none_why). A cancel issued and never joined fails the check
 * ("1 of 3 cancels never joined"). Otherwise, where timing is judged
 * (fl_scenario_judge_timing(p)), p50/p99/max must be within the thresholds
 * set; where it is not, the check passes on its joins (or is skipped with
 * timing_only). The message gives the count, p50, p99 and max; measured is
 * p99 and threshold p99_ns (NaN when unset), in ns.
 * Returns whether the check held (a skip counts as held).
 * Thread safety: the scenario's thread, after the joins.
 */
bool fl_check_cancel_judge(fl_check_cancel *c, const fl_scenario_params *p);

/* ---- conservation -------------------------------------------------------------- */

/* What may happen to an item. DUPLICATED counts extra copies a stage made:
 * they come in beside PRODUCED, as items of their own. */
enum fl_check_fate {
	FL_ITEM_PRODUCED,
	FL_ITEM_DUPLICATED,
	FL_ITEM_DONE,
	FL_ITEM_FAILED,
	FL_ITEM_SKIPPED,
	FL_ITEM_SHED,
	FL_ITEM_DEAD_LETTERED,
	FL_ITEM_CANCELLED,
	FL_ITEM_NFATES
};

/*
 * The item counts of one pipeline run. Caller storage: zero it (or
 * fl_check_items_init), count from any task with fl_check_items_add, judge
 * once every task has joined. Fields are private: read them with
 * fl_check_items_get.
 */
typedef struct fl_check_items {
	_Atomic int64_t n_[FL_ITEM_NFATES]; /* atomics, by fate */
} fl_check_items;

/* Zeroes c (also fine: `fl_check_items c = {0};`). Not concurrently with
 * fl_check_items_add. */
void fl_check_items_init(fl_check_items *c);
/* Adds n items of fate f. Thread safety: any thread (atomic, relaxed).
 * An out-of-range f aborts (a caller bug). */
void fl_check_items_add(fl_check_items *c, enum fl_check_fate f, int64_t n);
/* The count of fate f so far. Thread safety: any thread. */
int64_t fl_check_items_get(const fl_check_items *c, enum fl_check_fate f);
/* The fate's name as used in messages and counters: "produced",
 * "duplicated", "done", "failed", "skipped", "shed", "dead_lettered",
 * "cancelled"; "?" when out of range. Static storage; any thread. */
const char *fl_check_fate_name(enum fl_check_fate f);

/*
 * Records check (NULL: FL_CHECK_CONSERVATION): produced + duplicated ==
 * done + failed + skipped + shed + dead_lettered + cancelled. The message
 * names every count and the difference: "lost 1: produced 100, done 97,
 * failed 2, ..." ("2 too many: ..." when more came out than went in, "all
 * 100 accounted for: ..." when it holds). measured is what came out,
 * threshold what went in. Returns whether it held. The counts do not land
 * in the result by themselves (a scenario may name its own counters): call
 * fl_check_items_count for that.
 * Thread safety: the scenario's thread, after every counting task joined.
 */
bool fl_check_items_judge(const fl_check_items *c, fl_scenario_result *r, const char *check);
/* Adds each count to the result's counter "<prefix><fate name>" (prefix
 * NULL: none), e.g. "produced", "done"; the names must fit
 * FL_SCENARIO_NAME_MAX. Thread safety: the scenario's thread. */
void fl_check_items_count(const fl_check_items *c, fl_scenario_result *r, const char *prefix);

/* ---- error identity ------------------------------------------------------------- */

/*
 * Records check (NULL: FL_CHECK_ERROR): got matches want with fl_err_is
 * (through wraps and joins); want NULL: got must be NULL (no error
 * expected). The message has both errors' texts: "expected <want>; got
 * <got>" ("<nil>" for none). got and want are borrowed. Returns whether it
 * held. Thread safety: the scenario's thread.
 */
bool fl_check_err_is(fl_scenario_result *r, const char *check, const fl_err *got,
		     const fl_err *want);
/*
 * Records check (NULL: FL_CHECK_ERROR): got carries a payload of type
 * (fl_err_as) and, when match is not NULL, match(payload, arg) is true
 * (a stage name, an item index...). *payload (may be NULL) receives the
 * payload, borrowed from got, or NULL. The message names the type and
 * got's text. Returns whether it held. Thread safety: the scenario's thread.
 */
bool fl_check_err_as(fl_scenario_result *r, const char *check, const fl_err *got,
		     const fl_err_type *type, bool (*match)(const void *payload, void *arg),
		     void *arg, const void **payload);
/*
 * "No error swallowed": records check (NULL: FL_CHECK_ERROR) as holding
 * when an error was expected (why says why, e.g. "3 injected errors
 * escaped"; NULL: "an error was expected") and got is not NULL; a NULL got
 * fails with "<why>; got <nil>: the error was swallowed". got is
 * borrowed. Returns whether it held. Thread safety: the scenario's thread.
 */
bool fl_check_err_returned(fl_scenario_result *r, const char *check, const fl_err *got,
			   const char *why);
/*
 * An error-identity verdict ok the caller computed (an expectation with
 * alternatives, say "canceled or an injected fault"), recorded in the
 * same form: "<expected>; got <got text>". measured may be NaN; got is
 * borrowed. Returns ok. Thread safety: the scenario's thread.
 */
bool fl_check_err_verdict(fl_scenario_result *r, const char *check, bool ok, double measured,
			  const char *expected, const fl_err *got);

/* ---- latency SLOs -------------------------------------------------------------------- */

/*
 * Records check (NULL: FL_CHECK_SLO): the percentile pct (0 < pct <= 100;
 * 100 is the max) of the result's histogram hist is <= bound_ns. Judged
 * per fl_scenario_judge_timing(p) (p not NULL); not judged, it is skipped
 * with the measured value. Judged, a histogram that is missing or empty
 * fails ("no samples in <hist>"). The message gives the histogram, measured value, bound and
 * sample count: "stage.enrich p99 1.20 ms <= 2.00 ms (1000 samples)".
 * Several goals may share one check name (they merge). Returns whether it
 * held (a skip counts as held). An out-of-range pct aborts.
 * Thread safety: the scenario's thread, after the recording tasks joined.
 */
bool fl_check_slo(fl_scenario_result *r, const fl_scenario_params *p, const char *check,
		  const char *hist, double pct, int64_t bound_ns);

#ifdef __cplusplus
}
#endif
#endif
